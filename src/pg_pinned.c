/*
 * pg_pinned.c: model references pinned to a checkpoint, for IMMUTABLE
 * computations.
 *
 * embed() and translate() are STABLE and VOLATILE: their model argument is a
 * name, and what a name refers to changes when another checkpoint is loaded
 * under it (or when the default-model settings change). A reference
 * 'name@hash' names the checkpoint by its content hash as well
 * (pg_model_hash.c), and every lookup checks that the loaded checkpoint is
 * that one, else ERRORs. So embed_pinned() and translate_pinned(), which
 * take only such references and ignore the session's settings, return the
 * same result for the same arguments or none at all: IMMUTABLE in the sense
 * PostgreSQL needs for generated columns, index expressions and Citus'
 * push-down of writes to the workers.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "pg_transformer.h"

/* Shortest hash prefix accepted: 12 hex digits (48 bits), as
 * transformer.model_ref() writes them. */
#define MIN_HASH_PREFIX 12

PG_FUNCTION_INFO_V1(embed_pinned);
PG_FUNCTION_INFO_V1(translate_pinned);

bool
pgtf_split_model_ref(const char *ref, char **name, char **hash_prefix)
{
	const char *at = strchr(ref, '@');
	size_t		len;

	if (at == NULL)
		return false;
	len = strlen(at + 1);
	if (len < MIN_HASH_PREFIX || len > PGTF_CONTENT_HASH_LEN ||
		strspn(at + 1, "0123456789abcdef") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model reference \"%s\"", ref),
				 errdetail("The part after \"@\" must be %d to %d lowercase hexadecimal digits of the checkpoint's content hash.",
						   MIN_HASH_PREFIX, PGTF_CONTENT_HASH_LEN),
				 errhint("transformer.model_ref(name) gives the reference of a loaded model.")));
	*name = pnstrdup(ref, at - ref);
	*hash_prefix = pstrdup(at + 1);
	return true;
}

/* ERROR unless argument 1 (the model) is a pinned reference 'name@hash'. */
static void
require_pinned_model(FunctionCallInfo fcinfo, const char *function)
{
	char	   *ref = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *name;
	char	   *hash_prefix;

	if (!pgtf_split_model_ref(ref, &name, &hash_prefix))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() needs a pinned model reference, not \"%s\"", function, ref),
				 errdetail("An immutable function must name the checkpoint by its content hash: 'name@hash'."),
				 errhint("transformer.model_ref('%s') gives the reference of the loaded model.", ref)));
}

/*
 * embed_pinned(input text, model_ref text) RETURNS real[], IMMUTABLE
 * STRICT: embed() with a model reference 'name@hash'.
 */
Datum
embed_pinned(PG_FUNCTION_ARGS)
{
	require_pinned_model(fcinfo, "embed_pinned");
	return embed(fcinfo);
}

/*
 * translate_pinned(input text, model_ref text, num_beams int DEFAULT NULL,
 * max_length int DEFAULT NULL) RETURNS text, IMMUTABLE: translate() with a
 * model reference 'name@hash'; NULL options are the checkpoint's own
 * generation config, never the session's settings.
 */
Datum
translate_pinned(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("translate_pinned() needs a pinned model reference, not NULL"),
				 errhint("transformer.model_ref(name) gives the reference of a loaded model.")));
	require_pinned_model(fcinfo, "translate_pinned");
	return pgtf_translate_call(fcinfo, false, false);
}
