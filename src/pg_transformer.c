/*
 * pg_transformer.c: module entry point. Each file of the PostgreSQL layer
 * owns its settings and hooks; _PG_init asks each to register them.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "pg_transformer.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	pgtf_core_init();
	pgtf_store_init();
	pgtf_embed_init();
	pgtf_translate_init();
	pgtf_jobs_init();
	MarkGUCPrefixReserved("transformer");
}
