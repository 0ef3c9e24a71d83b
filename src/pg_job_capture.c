/*
 * pg_job_capture.c: how a table job learns of inserted rows, cheaply enough
 * for bulk loads.
 *
 * One queue row per inserted row (a statement trigger's INSERT ... SELECT
 * from its transition table) nearly doubled the time of a 100,000-row
 * INSERT; even an empty statement trigger with a transition table costs
 * about 9%, as it copies every whole row. Instead, for a job on a plain
 * table:
 *   - a BEFORE INSERT row trigger (job_capture_row) copies the row's
 *     primary key into a buffer of this backend: no tuple is fetched or
 *     copied;
 *   - an AFTER INSERT statement trigger (job_capture_flush) writes the keys
 *     the statement buffered as one row of arrays, with the (sub)transaction
 *     id that inserted them, into the job's table
 *     transformer.job_<id>_inserted, inside the writing transaction: durable
 *     and atomic with the rows;
 *   - a worker later moves them into the job's queue (_job_expand_step,
 *     sql/10_jobs.sql), off the writer's path.
 * A BEFORE row trigger sees rows that are not inserted in the end: ones
 * that ON CONFLICT DO NOTHING skips, or that DO UPDATE turns into an update
 * of an existing row. The latter fires a BEFORE UPDATE row trigger
 * (job_capture_upsert), which takes the key back; the expansion skips the
 * former (rows older than the capture with a target already).
 *
 * The buffer follows the transaction: keys appended in a subtransaction
 * that aborts go with it, a flush writes only the keys of the current
 * subtransaction and its committed children (an outer statement's keys
 * wait for its own flush), and keys still buffered at commit (the flush
 * trigger disabled alone) abort the commit rather than be lost. A
 * statement that buffers a million keys flushes them early.
 *
 * The triggers' arguments: the job's id and the key column names. The flush
 * writes as the owner of job_<id>_inserted, the job's owner, as the job's
 * SQL functions run (no role oid in the arguments, which a dump and
 * restore would make another role's).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "pg_transformer.h"

PG_FUNCTION_INFO_V1(job_capture_row);
PG_FUNCTION_INFO_V1(job_capture_upsert);
PG_FUNCTION_INFO_V1(job_capture_flush);

/* Keys buffered before a BEFORE trigger writes them out itself. */
#define CAPTURE_FLUSH_KEYS 1000000

/* The keys one job buffered in this transaction. */
typedef struct CaptureBuffer
{
	int64		job_id;
	Oid			relid;			/* the table attnums refer to */
	int			nkeys;			/* key columns */
	AttrNumber	attnums[INDEX_MAX_KEYS];
	Oid			types[INDEX_MAX_KEYS];
	int16		typlens[INDEX_MAX_KEYS];
	bool		typbyvals[INDEX_MAX_KEYS];
	char		typaligns[INDEX_MAX_KEYS];
	int64		count;			/* keys buffered */
	int64		capacity;
	Datum	   *keys;			/* [capacity][nkeys]: key columns of row i at i * nkeys */
	SubTransactionId *subids;	/* [capacity]: the subtransaction that buffered row i */
	MemoryContext key_memory;	/* copies of by-reference keys: emptied when the buffer is */
	struct CaptureBuffer *next;
} CaptureBuffer;

/* A prepared INSERT INTO job_<id>_inserted, kept for the backend's life
 * (in TopMemoryContext; the plan cache re-plans it after DDL). */
typedef struct CapturePlan
{
	int64		job_id;
	int			nargs;
	Oid			argtypes[INDEX_MAX_KEYS + 1];	/* xid, then an array type per key column */
	SPIPlanPtr	plan;
	struct CapturePlan *next;
} CapturePlan;

static CapturePlan *capture_plans = NULL;

/* This transaction's buffers, in capture_context (a child of
 * TopTransactionContext); NULL between transactions. */
static CaptureBuffer *buffers = NULL;
static MemoryContext capture_context = NULL;
static bool callbacks_registered = false;

/* At the end of a transaction: keys still buffered at commit were never
 * written (their flush trigger did not fire): ERROR, aborting the commit.
 * The buffers go with TopTransactionContext. */
static void
capture_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
	{
		for (CaptureBuffer *b = buffers; b != NULL; b = b->next)
			if (b->count > 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("table job %lld captured inserted rows that were never recorded",
								(long long) b->job_id),
						 errdetail("The job's trigger job_%lld_flush did not fire after its trigger zz_job_%lld_insert.",
								   (long long) b->job_id, (long long) b->job_id),
						 errhint("Enable both triggers, or disable both (ALTER TABLE ... DISABLE TRIGGER), or drop the job.")));
		return;
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT)
	{
		buffers = NULL;
		capture_context = NULL;
	}
}

/* At the abort of subtransaction `subid`: drop the keys it and its
 * children buffered (ids above it were all started inside it). */
static void
capture_subxact_callback(SubXactEvent event, SubTransactionId subid,
						 SubTransactionId parent_subid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	for (CaptureBuffer *b = buffers; b != NULL; b = b->next)
	{
		int64		kept = 0;

		for (int64 i = 0; i < b->count; i++)
		{
			if (b->subids[i] >= subid)
				continue;
			if (kept != i)
			{
				memmove(&b->keys[kept * b->nkeys], &b->keys[i * b->nkeys], b->nkeys * sizeof(Datum));
				b->subids[kept] = b->subids[i];
			}
			kept++;
		}
		b->count = kept;
	}
}

/* The trigger's data and job id, checking that `function` was
 * called by a trigger firing on `event` (TRIGGER_EVENT_* bits: operation,
 * timing, row) described by `event_name`. */
static TriggerData *
capture_trigger_args(FunctionCallInfo fcinfo, const char *function, TriggerEvent event,
					 const char *event_name, int64 *job_id)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() was not called by a trigger", function),
				 errhint("It is part of a table job; create_job installs it.")));
	if ((trigdata->tg_event & (TRIGGER_EVENT_OPMASK | TRIGGER_EVENT_TIMINGMASK | TRIGGER_EVENT_ROW)) != event)
		elog(ERROR, "%s() must fire %s", function, event_name);
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs < 2)
		elog(ERROR, "%s(): trigger \"%s\" needs the job id and key columns",
			 function, trigger->tgname);
	*job_id = strtoll(trigger->tgargs[0], NULL, 10);
	return trigdata;
}

/* The buffer of job `job_id` on the trigger's table, made on first use,
 * its key columns looked up in the table (attnums may differ between
 * tables). */
static CaptureBuffer *
capture_buffer(TriggerData *trigdata, int64 job_id)
{
	Relation	rel = trigdata->tg_relation;
	Trigger    *trigger = trigdata->tg_trigger;
	CaptureBuffer *b;

	for (b = buffers; b != NULL; b = b->next)
		if (b->job_id == job_id && b->relid == RelationGetRelid(rel))
			return b;

	if (!callbacks_registered)
	{
		RegisterXactCallback(capture_xact_callback, NULL);
		RegisterSubXactCallback(capture_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (capture_context == NULL)
		capture_context = AllocSetContextCreate(TopTransactionContext, "transformer job capture",
												ALLOCSET_DEFAULT_SIZES);
	b = MemoryContextAllocZero(capture_context, sizeof(CaptureBuffer));
	b->job_id = job_id;
	b->relid = RelationGetRelid(rel);
	b->nkeys = trigger->tgnargs - 1;
	if (b->nkeys > INDEX_MAX_KEYS)
		elog(ERROR, "trigger \"%s\": too many key columns", trigger->tgname);
	for (int k = 0; k < b->nkeys; k++)
	{
		int			attnum = SPI_fnumber(RelationGetDescr(rel), trigger->tgargs[k + 1]);
		Form_pg_attribute att;

		if (attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("table job %lld: key column \"%s\" of %s does not exist",
							(long long) job_id, trigger->tgargs[k + 1], RelationGetRelationName(rel)),
					 errhint("Drop the job and create it again.")));
		att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
		b->attnums[k] = attnum;
		b->types[k] = att->atttypid;
		b->typlens[k] = att->attlen;
		b->typbyvals[k] = att->attbyval;
		b->typaligns[k] = att->attalign;
	}
	b->capacity = 1024;
	b->keys = MemoryContextAllocHuge(capture_context, b->capacity * b->nkeys * sizeof(Datum));
	b->subids = MemoryContextAllocHuge(capture_context, b->capacity * sizeof(SubTransactionId));
	b->key_memory = AllocSetContextCreate(capture_context, "transformer job capture keys",
										  ALLOCSET_DEFAULT_SIZES);
	b->next = buffers;
	buffers = b;
	return b;
}

/* The owner of transformer.job_<id>_inserted: the job's owner. */
static Oid
capture_owner(int64 job_id)
{
	char		name[NAMEDATALEN];
	Oid			relid;
	HeapTuple	tup;
	Oid			owner;

	snprintf(name, sizeof(name), "job_%lld_inserted", (long long) job_id);
	relid = get_relname_relid(name, get_namespace_oid("transformer", false));
	tup = OidIsValid(relid) ? SearchSysCache1(RELOID, ObjectIdGetDatum(relid)) : NULL;
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table job %lld has lost its table transformer.%s", (long long) job_id, name),
				 errhint("Drop the job (transformer.drop_job) and create it again.")));
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* The INSERT of a row of `b`'s job_<id>_inserted (tf_xid, then an array
 * per key column), prepared on first use; inside SPI. */
static SPIPlanPtr
capture_insert_plan(CaptureBuffer *b)
{
	Oid			argtypes[INDEX_MAX_KEYS + 1];
	int			nargs = b->nkeys + 1;
	StringInfoData sql;
	CapturePlan *p;
	MemoryContext old;

	argtypes[0] = XIDOID;
	for (int k = 0; k < b->nkeys; k++)
		argtypes[k + 1] = get_array_type(b->types[k]);
	for (p = capture_plans; p != NULL; p = p->next)
		if (p->job_id == b->job_id && p->nargs == nargs &&
			memcmp(p->argtypes, argtypes, nargs * sizeof(Oid)) == 0)
			return p->plan;

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO transformer.job_%lld_inserted VALUES ($1", (long long) b->job_id);
	for (int k = 1; k < nargs; k++)
		appendStringInfo(&sql, ", $%d", k + 1);
	appendStringInfoChar(&sql, ')');
	old = MemoryContextSwitchTo(TopMemoryContext);
	p = palloc0(sizeof(CapturePlan));
	MemoryContextSwitchTo(old);
	p->plan = SPI_prepare(sql.data, nargs, argtypes);
	if (p->plan == NULL)
		elog(ERROR, "table job %lld: could not prepare its capture: %s",
			 (long long) b->job_id, SPI_result_code_string(SPI_result));
	SPI_keepplan(p->plan);
	p->job_id = b->job_id;
	p->nargs = nargs;
	memcpy(p->argtypes, argtypes, nargs * sizeof(Oid));
	p->next = capture_plans;
	capture_plans = p;
	return p->plan;
}

/*
 * Write buffered keys of `b` as rows of transformer.job_<id>_inserted
 * (tf_xid, then one array per key column), CAPTURE_FLUSH_KEYS keys a row,
 * as the job's owner: the keys of the current subtransaction and of its
 * committed children; an outer statement's stay buffered.
 */
static void
capture_write(CaptureBuffer *b)
{
	SubTransactionId current = GetCurrentSubTransactionId();
	TransactionId xid;
	Oid			saved_user;
	int			saved_security;
	int64		kept = 0;
	int64		written = 0;
	Datum	   *column;
	Datum		values[INDEX_MAX_KEYS + 1];
	SPIPlanPtr	plan;

	if (b->count == 0)
		return;
	/* the inserting (sub)transaction: its rows carry it as xmin */
	xid = GetCurrentTransactionId();
	GetUserIdAndSecContext(&saved_user, &saved_security);
	SetUserIdAndSecContext(capture_owner(b->job_id),
						   saved_security | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the arrays go with SPI's memory at SPI_finish */
	plan = capture_insert_plan(b);
	column = palloc(Min(b->count, CAPTURE_FLUSH_KEYS) * sizeof(Datum));
	values[0] = TransactionIdGetDatum(xid);
	while (written < b->count)
	{
		int64		chunk_end = written;
		int			n = 0;

		/* the next keys of this subtransaction (or its children) */
		while (chunk_end < b->count && n < CAPTURE_FLUSH_KEYS)
		{
			if (b->subids[chunk_end] >= current)
				n++;
			chunk_end++;
		}
		if (n > 0)
		{
			for (int k = 0; k < b->nkeys; k++)
			{
				int			m = 0;

				for (int64 i = written; i < chunk_end; i++)
					if (b->subids[i] >= current)
						column[m++] = b->keys[i * b->nkeys + k];
				values[k + 1] = PointerGetDatum(construct_array(column, n, b->types[k], b->typlens[k],
																b->typbyvals[k], b->typaligns[k]));
			}
			if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "table job %lld: could not record inserted rows", (long long) b->job_id);
		}
		written = chunk_end;
	}
	/* keep the outer statements' keys */
	for (int64 i = 0; i < b->count; i++)
	{
		if (b->subids[i] >= current)
			continue;
		memmove(&b->keys[kept * b->nkeys], &b->keys[i * b->nkeys], b->nkeys * sizeof(Datum));
		b->subids[kept++] = b->subids[i];
	}
	b->count = kept;
	if (kept == 0)
		MemoryContextReset(b->key_memory);
	SPI_finish();
	SetUserIdAndSecContext(saved_user, saved_security);
	pgtf_job_wake_at_commit();
}

/* Does the job's flush trigger (job_<id>_flush) on `rel` fire as the
 * calling row trigger does? Without it the buffered keys would never be
 * written: the row trigger refuses the insert then. */
static bool
flush_trigger_fires(Relation rel, int64 job_id)
{
	TriggerDesc *triggers = rel->trigdesc;
	char		name[NAMEDATALEN];

	snprintf(name, sizeof(name), "job_%lld_flush", (long long) job_id);
	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
	{
		Trigger    *t = &triggers->triggers[i];

		if (strcmp(t->tgname, name) != 0)
			continue;
		if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
			return t->tgenabled == TRIGGER_FIRES_ON_REPLICA || t->tgenabled == TRIGGER_FIRES_ALWAYS;
		return t->tgenabled == TRIGGER_FIRES_ON_ORIGIN || t->tgenabled == TRIGGER_FIRES_ALWAYS;
	}
	return false;
}

/* Key column `k`'s `value`, copied into the buffer's memory (varlena
 * values detoasted: arrays hold no toasted elements). */
static Datum
capture_copy(CaptureBuffer *b, int k, Datum value)
{
	MemoryContext old;
	Datum		copy;

	if (b->typbyvals[k])
		return value;
	old = MemoryContextSwitchTo(b->key_memory);
	if (b->typlens[k] == -1)
		copy = PointerGetDatum(PG_DETOAST_DATUM_COPY(value));
	else
		copy = datumCopy(value, false, b->typlens[k]);
	MemoryContextSwitchTo(old);
	return copy;
}

/*
 * job_capture_row(): BEFORE INSERT FOR EACH ROW. Buffers the new row's key;
 * returns the row unchanged. It must see the key the row will have: its
 * name (zz_job_<id>_insert) makes it fire after the table's other BEFORE
 * triggers, which may set the key.
 */
Datum
job_capture_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	HeapTuple	tuple;
	CaptureBuffer *b;
	int64		job_id;
	Datum	   *row;

	trigdata = capture_trigger_args(fcinfo, "job_capture_row",
									TRIGGER_EVENT_INSERT | TRIGGER_EVENT_BEFORE | TRIGGER_EVENT_ROW,
									"BEFORE INSERT FOR EACH ROW", &job_id);
	tuple = trigdata->tg_trigtuple;
	b = capture_buffer(trigdata, job_id);
	if (b->count == 0 && !flush_trigger_fires(trigdata->tg_relation, job_id))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table job %lld cannot record rows inserted into %s: its trigger job_%lld_flush does not fire",
						(long long) job_id, RelationGetRelationName(trigdata->tg_relation), (long long) job_id),
				 errhint("Enable both of the job's triggers zz_job_%lld_insert and job_%lld_flush, or disable both, or drop the job.",
						 (long long) job_id, (long long) job_id)));
	if (b->count == b->capacity)
	{
		b->capacity *= 2;
		b->keys = repalloc_huge(b->keys, b->capacity * b->nkeys * sizeof(Datum));
		b->subids = repalloc_huge(b->subids, b->capacity * sizeof(SubTransactionId));
	}
	row = &b->keys[b->count * b->nkeys];
	for (int k = 0; k < b->nkeys; k++)
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, b->attnums[k], trigdata->tg_relation->rd_att, &isnull);

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("table job %lld: an inserted row of %s has no primary key yet",
							(long long) job_id, RelationGetRelationName(trigdata->tg_relation)),
					 errdetail("The job reads the key in its trigger zz_job_%lld_insert, which fires after the table's other BEFORE INSERT triggers in name order.",
							   (long long) job_id),
					 errhint("Give the key a default, or set it in a trigger whose name sorts before that one.")));
		row[k] = capture_copy(b, k, value);
	}
	b->subids[b->count++] = GetCurrentSubTransactionId();
	if (b->count >= CAPTURE_FLUSH_KEYS)
		capture_write(b);
	PG_RETURN_POINTER(tuple);
}

/*
 * job_capture_upsert(): BEFORE UPDATE FOR EACH ROW. When INSERT ... ON
 * CONFLICT DO UPDATE turns the row just buffered into an update of the
 * existing row with that key, the key leaves the buffer: nothing was
 * inserted (the job's UPDATE trigger queues the row if its input changes).
 * Returns the new row unchanged.
 */
Datum
job_capture_upsert(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	int64		job_id;

	trigdata = capture_trigger_args(fcinfo, "job_capture_upsert",
									TRIGGER_EVENT_UPDATE | TRIGGER_EVENT_BEFORE | TRIGGER_EVENT_ROW,
									"BEFORE UPDATE FOR EACH ROW", &job_id);
	for (CaptureBuffer *b = buffers; b != NULL; b = b->next)
	{
		Datum	   *last;
		bool		same = true;

		if (b->job_id != job_id || b->relid != RelationGetRelid(trigdata->tg_relation) || b->count == 0 ||
			b->subids[b->count - 1] != GetCurrentSubTransactionId())
			continue;
		last = &b->keys[(b->count - 1) * b->nkeys];
		for (int k = 0; k < b->nkeys && same; k++)
		{
			bool		isnull;
			Datum		old_key = heap_getattr(trigdata->tg_trigtuple, b->attnums[k],
											   trigdata->tg_relation->rd_att, &isnull);

			same = !isnull && datumIsEqual(old_key, last[k], b->typbyvals[k], b->typlens[k]);
		}
		if (same)
			b->count--;
	}
	PG_RETURN_POINTER(trigdata->tg_newtuple);
}

/*
 * job_capture_flush(): AFTER INSERT FOR EACH STATEMENT. Records the keys
 * the statement buffered in transformer.job_<id>_inserted and wakes the
 * job's workers at commit.
 */
Datum
job_capture_flush(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	int64		job_id;

	trigdata = capture_trigger_args(fcinfo, "job_capture_flush", TRIGGER_EVENT_INSERT | TRIGGER_EVENT_AFTER,
									"AFTER INSERT FOR EACH STATEMENT", &job_id);
	for (CaptureBuffer *b = buffers; b != NULL; b = b->next)
		if (b->job_id == job_id && b->relid == RelationGetRelid(trigdata->tg_relation))
			capture_write(b);
	PG_RETURN_POINTER(NULL);
}
