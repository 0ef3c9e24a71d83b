/*
 * pg_cluster_jobs.c: what the jobs on Citus distributed tables
 * (sql/60_cluster_jobs.sql) need from C.
 *
 * create_job on a distributed table commits work on the nodes at once,
 * through connections of its own, so it must not run inside a transaction
 * block that a rollback would undo around it. PL/pgSQL cannot tell an
 * explicit block (BEGIN ...) from the transaction of a single statement;
 * IsTransactionBlock() can, whatever the protocol the client speaks.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"

PG_FUNCTION_INFO_V1(job_in_transaction_block);

/* _job_in_transaction_block() RETURNS boolean: is this statement inside
 * BEGIN ... COMMIT, or one of several statements of a query string? */
Datum
job_in_transaction_block(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(IsTransactionBlock());
}
