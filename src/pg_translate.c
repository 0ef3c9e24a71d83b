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
#include "tf_generate.h"
#include "tf_simd.h"

static char *translation_model_setting = NULL;	/* transformer.translation_model */
static int	num_beams_setting = 0;	/* transformer.num_beams; 0: the model's own */
static int	max_length_setting = 0; /* transformer.max_length; 0: the model's own */

PG_FUNCTION_INFO_V1(translate_text);
PG_FUNCTION_INFO_V1(translate_batch);

/* Most hypotheses (sources x beams) decoded together: bounds memory and
 * the time between two interrupt checks. As many as the rows kernel takes:
 * each step's output layer then reads its weights once for all of them,
 * about 50 ms for opus-mt's 58k words at 64 rows here. */
#define TRANSLATE_MAX_ROWS TF_ROWGEMM_MAX_ROWS

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
							&num_beams_setting, 0, 0, 64,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("transformer.max_length",
							"Longest translation in tokens (start token included); 0 uses the model's own.",
							NULL, &max_length_setting, 0, 0, 65536,
							PGC_USERSET, 0, NULL, NULL, NULL);
}

/* Decoding options: the model's generation config, then the session's
 * settings, then this call's arguments (num_beams at 2, max_length at 3). */
static TfGenerateOptions
decoding_options(FunctionCallInfo fcinfo, const TfMarianModel *m)
{
	TfGenerateOptions o = m->generation;
	TfError		err;

	if (num_beams_setting > 0)
		o.num_beams = num_beams_setting;
	if (max_length_setting > 0)
		o.max_length = max_length_setting;
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		o.num_beams = PG_GETARG_INT32(2);
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		o.max_length = PG_GETARG_INT32(3);
	if (!tf_generate_options_check(&o, &err))
		pgtf_report(&err);
	if (2 * o.num_beams > m->tgt_vocab)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("num_beams %d is too large for a vocabulary of %d", o.num_beams, m->tgt_vocab)));
	return o;
}

/*
 * Translate texts[n] (UTF-8) into results[n] (text values), decoding at
 * most TRANSLATE_MAX_ROWS hypotheses at a time; scratch memory in a
 * context of its own.
 */
static void
run_translate(const PgtfModelRef *ref, const TfGenerateOptions *o, const char *const *texts,
			  const size_t *lens, int n, text **results)
{
	const TfMarianModel *m = ref->model;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext scratch;
	int			per_call = Max(1, TRANSLATE_MAX_ROWS / o->num_beams);
	int32	  **src = palloc(sizeof(int32 *) * n);
	int		   *src_lens = palloc(sizeof(int) * n);
	int32	  **out = palloc(sizeof(int32 *) * n);
	int		   *out_lens = palloc(sizeof(int) * n);

	scratch = pgtf_compute_begin();
	for (int i = 0; i < n; i++)
	{
		src[i] = palloc(sizeof(int32) * m->max_source_tokens);
		src_lens[i] = tf_marian_tokenize(ref->image, m, texts[i], lens[i], src[i]);
		if (src_lens[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("input text is too long to translate"),
					 errdetail("The text has %zu bytes.", lens[i])));
	}
	for (int first = 0; first < n; first += per_call)
		tf_generate(ref->image, m, o, (const int32 *const *) src + first, src_lens + first,
					Min(per_call, n - first), out + first, out_lens + first);
	for (int i = 0; i < n; i++)
	{
		size_t		len;
		char	   *s = tf_marian_detokenize(ref->image, m, out[i], out_lens[i], &len);

		MemoryContextSwitchTo(caller);
		results[i] = pgtf_utf8_text(s, len);
		MemoryContextSwitchTo(scratch);
	}
	pgtf_compute_end(scratch);
}

/*
 * translate(input text, model text DEFAULT NULL, num_beams int DEFAULT
 * NULL, max_length int DEFAULT NULL) RETURNS text
 */
Datum
translate_text(PG_FUNCTION_ARGS)
{
	PgtfModelRef	ref;
	TfGenerateOptions o;
	const char *utf8;
	size_t		len;
	text	   *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ref = pgtf_model_lookup(pgtf_model_arg(fcinfo, 1), TF_ARCH_MARIAN, "transformer.translation_model");
	o = decoding_options(fcinfo, ref.model);
	utf8 = pgtf_text_utf8(PG_GETARG_TEXT_PP(0), &len);
	run_translate(&ref, &o, &utf8, &len, 1, &result);
	PG_RETURN_TEXT_P(result);
}

/*
 * translate(inputs text[], ...) RETURNS text[]: the translations in the
 * same positions (NULL for NULL), decoded in batches.
 */
Datum
translate_batch(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				k;
	const char **texts;
	size_t	   *lens;
	text	  **results;
	PgtfModelRef	ref;
	TfGenerateOptions o;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	arr = PG_GETARG_ARRAYTYPE_P(0);
	ref = pgtf_model_lookup(pgtf_model_arg(fcinfo, 1), TF_ARCH_MARIAN, "transformer.translation_model");
	o = decoding_options(fcinfo, ref.model);
	k = pgtf_text_array_utf8(arr, &n, &nulls, &texts, &lens);
	results = palloc(sizeof(text *) * (k + 1));
	elems = palloc(sizeof(Datum) * (n + 1));
	if (k > 0)
		run_translate(&ref, &o, texts, lens, k, results);
	k = 0;
	for (int i = 0; i < n; i++)
		elems[i] = nulls[i] ? (Datum) 0 : PointerGetDatum(results[k++]);
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, nulls, ARR_NDIM(arr), ARR_DIMS(arr),
											 ARR_LBOUND(arr), TEXTOID, -1, false, TYPALIGN_INT));
}
