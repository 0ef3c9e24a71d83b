/*
 * pg_job_input.c: the checks create_job makes in C: what a job's input
 * expression reads, and who is calling.
 *
 * A job's input is an SQL expression over the source table's row (a column
 * name, or e.g. title || E'\n' || body). It is parsed and analyzed against
 * the table here, once, at create_job: it must be one scalar expression of
 * a string type, deterministic within a statement (not volatile: a write
 * checks that the row's input still equals the input that was computed,
 * which a volatile expression never does), with no subquery, aggregate,
 * window or set-returning function. The columns it reads are what the
 * job's UPDATE trigger watches.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "pg_transformer.h"

PG_FUNCTION_INFO_V1(job_input_columns);
PG_FUNCTION_INFO_V1(job_caller);

/* ERROR about the input expression `input`, with a hint. */
static void
input_error(const char *input, const char *message, const char *hint) pg_attribute_noreturn();

static void
input_error(const char *input, const char *message, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("job input %s", message),
			 errdetail("The input is: %s", input),
			 errhint("%s", hint)));
	pg_unreachable();
}

/*
 * The raw parse tree of "SELECT <input>", checked to be exactly one target
 * and nothing else (no FROM, WHERE, second statement...): the input cannot
 * smuggle in more than an expression.
 */
static SelectStmt *
parse_input(const char *input)
{
	char	   *sql = psprintf("SELECT %s", input);
	List	   *raw;
	RawStmt    *rs;
	SelectStmt *select;

	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		input_error(input, "is not one expression", "Give a column name or one SQL expression over the row, such as title || ' ' || body.");
	rs = linitial_node(RawStmt, raw);
	if (!IsA(rs->stmt, SelectStmt))
		input_error(input, "is not one expression", "Give a column name or one SQL expression over the row.");
	select = (SelectStmt *) rs->stmt;
	if (list_length(select->targetList) != 1 || select->fromClause != NIL ||
		select->whereClause != NULL || select->groupClause != NIL ||
		select->havingClause != NULL || select->windowClause != NIL ||
		select->distinctClause != NIL || select->sortClause != NIL ||
		select->limitCount != NULL || select->limitOffset != NULL ||
		select->lockingClause != NIL || select->withClause != NULL ||
		select->valuesLists != NIL || select->intoClause != NULL ||
		select->op != SETOP_NONE ||
		((ResTarget *) linitial(select->targetList))->name != NULL)
		input_error(input, "is not one expression", "Give a column name or one SQL expression over the row, without a FROM, an alias or a second clause.");
	return select;
}

/*
 * _job_input_columns(source regclass, input text, search_path text)
 * RETURNS text[]: the columns of `source` that the expression `input`
 * reads, in column order, after checking it as the file's comment says,
 * analyzed under `search_path` (the job's, where its functions are found).
 * The expression may name the table (docs.body) or not (body).
 */
Datum
job_input_columns(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *input = text_to_cstring(PG_GETARG_TEXT_PP(1));
	SelectStmt *select = parse_input(input);
	char	   *relname = get_rel_name(relid);
	RawStmt    *rs = makeNode(RawStmt);
	Query	   *query;
	TargetEntry *te;
	Node	   *expr;
	Oid			type;
	char		category;
	bool		preferred;
	Bitmapset  *attnos = NULL;
	int			k = -1;
	Datum	   *names;
	int			n = 0;
	int			nest_level = NewGUCNestLevel();

	/* the job's search_path for the analysis only (reset on error too) */
	(void) set_config_option("search_path", text_to_cstring(PG_GETARG_TEXT_PP(2)),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	select->fromClause = list_make1(makeRangeVar(get_namespace_name(get_rel_namespace(relid)),
												 relname, -1));
	rs->stmt = (Node *) select;
	rs->stmt_location = 0;
	rs->stmt_len = 0;
	query = parse_analyze_fixedparams(rs, psprintf("SELECT %s", input), NULL, 0, NULL);
	if (query->hasSubLinks || query->hasAggs || query->hasWindowFuncs || query->hasTargetSRFs)
		input_error(input, "may not contain a subquery, an aggregate, a window or a set-returning function",
					"Give an expression over the row's own columns.");
	te = linitial_node(TargetEntry, query->targetList);
	expr = (Node *) te->expr;
	type = exprType(expr);
	get_type_category_preferred(getBaseType(type), &category, &preferred);
	if (category != TYPCATEGORY_STRING)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("job input must be text, not %s", format_type_be(type)),
				 errdetail("The input is: %s", input),
				 errhint("Cast it to text, for example (%s)::text.", input)));
	if (contain_volatile_functions(expr))
		input_error(input, "may not call volatile functions",
					"A job writes a row only while its input is still the one it read; use stable or immutable functions.");
	pull_varattnos(expr, 1, &attnos);
	if (bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attnos))
		input_error(input, "may not read the whole row", "Name the columns it reads.");
	if (bms_is_empty(attnos))
		input_error(input, "reads no column of the table", "Give a column name or an expression over the row's columns.");
	names = palloc(sizeof(Datum) * (bms_num_members(attnos) + 1));
	while ((k = bms_next_member(attnos, k)) >= 0)
	{
		AttrNumber	attno = k + FirstLowInvalidHeapAttributeNumber;

		if (attno <= 0)
			input_error(input, "may not read system columns", "Read only the table's own columns.");
		names[n++] = CStringGetTextDatum(get_attname(relid, attno, false));
	}
	AtEOXact_GUC(true, nest_level);
	PG_RETURN_ARRAYTYPE_P(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * _job_caller() RETURNS regrole: the role that called, as SET ROLE left it,
 * also inside a SECURITY DEFINER function (GetOuterUserId): the job
 * functions run as the extension's owner and check with it that the caller
 * may act on a job.
 */
Datum
job_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}
