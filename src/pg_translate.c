/*
 * pg_translate.c: translate(text) and translate(text[]).
 *
 * PostgreSQL's own translate(text, text, text) keeps working: ours takes
 * an int as third argument, and a call with three text (or unknown)
 * arguments resolves to the built-in one.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "pg_transformer.h"
#include "tf_translate.h"

static char *translation_model_setting = NULL;	/* transformer.translation_model */
static int	num_beams_setting = 0;	/* transformer.num_beams; 0: the model's own */
static int	max_length_setting = 0; /* transformer.max_length; 0: the model's own */

PG_FUNCTION_INFO_V1(translate_text);
PG_FUNCTION_INFO_V1(translate_batch);

void
pgtf_translate_init(void)
{
	DefineCustomStringVariable("transformer.translation_model",
							   "Model that translate() uses when none is named.",
							   NULL, &translation_model_setting, "marian-en-de",
							   PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("transformer.num_beams",
							"Beams for translate(); 0 uses the model's generation config.",
							"1 is greedy decoding.",
							&num_beams_setting, 0, 0, TF_GENERATE_MAX_BEAMS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("transformer.max_length",
							"Longest translation in tokens (start token included); 0 uses the model's own.",
							NULL, &max_length_setting, 0, 0, 65536,
							PGC_USERSET, 0, NULL, NULL, NULL);
}

void
pgtf_generate_overrides(FunctionCallInfo fcinfo, int argno, TfGenerateOverrides *session,
						TfGenerateOverrides *call)
{
	memset(session, 0, sizeof(*session));
	memset(call, 0, sizeof(*call));
	session->has_num_beams = num_beams_setting > 0;
	session->num_beams = num_beams_setting;
	session->has_max_length = max_length_setting > 0;
	session->max_length = max_length_setting;
	call->has_num_beams = PG_NARGS() > argno && !PG_ARGISNULL(argno);
	call->has_max_length = PG_NARGS() > argno + 1 && !PG_ARGISNULL(argno + 1);
	if (call->has_num_beams)
		call->num_beams = PG_GETARG_INT32(argno);
	if (call->has_max_length)
		call->max_length = PG_GETARG_INT32(argno + 1);
}

/*
 * Translate texts[n] (UTF-8) with the model `ref` into results[n] (text
 * values): the session's settings (unless `session_settings` is false),
 * then this call's arguments (num_beams
 * at 2, max_length at 3) over the model's generation config. Scratch
 * memory in a context of its own.
 */
static void
run_translate(FunctionCallInfo fcinfo, const PgtfModelRef *ref, const char *const *texts,
			  const size_t *lens, int n, bool session_settings, text **results)
{
	TfGenerateOverrides session;
	TfGenerateOverrides call;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext scratch;
	char	  **out = palloc(sizeof(char *) * (n + 1));
	size_t	   *out_lens = palloc(sizeof(size_t) * (n + 1));
	TfError		err;

	pgtf_generate_overrides(fcinfo, 2, &session, &call);
	if (!session_settings)
		memset(&session, 0, sizeof(session));
	scratch = pgtf_compute_begin();
	if (!tf_marian_translate(ref->image, ref->model, &session, &call, texts, lens, n, out, out_lens, &err))
		pgtf_report(&err);
	MemoryContextSwitchTo(caller);
	for (int i = 0; i < n; i++)
		results[i] = pgtf_utf8_text(out[i], out_lens[i]);
	pgtf_compute_end(scratch);
}

/*
 * translate() over argument 0, a text (`array` false) or a text[]: the
 * translation, or the translations in the same positions (NULL for NULL),
 * decoded in batches.
 */
Datum
pgtf_translate_call(FunctionCallInfo fcinfo, bool array, bool session_settings)
{
	ArrayType  *arr = NULL;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				k;
	const char **texts;
	size_t	   *lens;
	text	  **results;
	PgtfModelRef ref;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ref = pgtf_model_lookup(pgtf_model_arg(fcinfo, 1), TF_ARCH_MARIAN, "transformer.translation_model");
	if (array)
	{
		arr = PG_GETARG_ARRAYTYPE_P(0);
		k = pgtf_text_array_utf8(arr, &n, &nulls, &texts, &lens);
	}
	else
	{
		texts = palloc(sizeof(char *));
		lens = palloc(sizeof(size_t));
		texts[0] = pgtf_text_utf8(PG_GETARG_TEXT_PP(0), &lens[0]);
		k = n = 1;
	}
	results = palloc(sizeof(text *) * (k + 1));
	/* with k = 0 too: the options are checked all the same */
	run_translate(fcinfo, &ref, texts, lens, k, session_settings, results);
	if (!array)
		PG_RETURN_TEXT_P(results[0]);
	elems = palloc(sizeof(Datum) * (n + 1));
	k = 0;
	for (int i = 0; i < n; i++)
		elems[i] = nulls[i] ? (Datum) 0 : PointerGetDatum(results[k++]);
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, nulls, ARR_NDIM(arr), ARR_DIMS(arr),
											 ARR_LBOUND(arr), TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * translate(input text, model text DEFAULT NULL, num_beams int DEFAULT
 * NULL, max_length int DEFAULT NULL) RETURNS text
 */
Datum
translate_text(PG_FUNCTION_ARGS)
{
	return pgtf_translate_call(fcinfo, false, true);
}

/* translate(inputs text[], ...) RETURNS text[] */
Datum
translate_batch(PG_FUNCTION_ARGS)
{
	return pgtf_translate_call(fcinfo, true, true);
}
