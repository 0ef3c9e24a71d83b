/*
 * pg_embed.c: embed(text), embed(text[]) and cosine_distance(real[], real[]).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "pg_transformer.h"
#include "tf_bert.h"

static char *embedding_model_setting = NULL;	/* transformer.embedding_model */

PG_FUNCTION_INFO_V1(embed);
PG_FUNCTION_INFO_V1(embed_batch);
PG_FUNCTION_INFO_V1(cosine_distance);

void
pgtf_embed_init(void)
{
	DefineCustomStringVariable("transformer.embedding_model",
							   "Model that embed() and tokenize() use when none is named.",
							   NULL, &embedding_model_setting, "bert-embed-en",
							   PGC_USERSET, 0, NULL, NULL, NULL);
}

/* real[] from floats v[n] */
static ArrayType *
float_array(const float *v, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		elems[i] = Float4GetDatum(v[i]);
	return construct_array(elems, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
}

/* Embed texts[n] (UTF-8, lens[n] bytes) with `ref` into out[n, dim], all
 * scratch memory in a context of its own. */
static void
run_embed(const PgtfModelRef *ref, const char *const *texts, const size_t *lens, int n, float *out)
{
	MemoryContext scratch = pgtf_compute_begin();
	TfError		err;

	if (!tf_bert_embed(ref->image, ref->model, texts, lens, n, out, &err))
		pgtf_report(&err);
	pgtf_compute_end(scratch);
}

/*
 * embed(input text, model text DEFAULT NULL) RETURNS real[]
 * NULL input gives NULL; a NULL model means transformer.embedding_model.
 */
Datum
embed(PG_FUNCTION_ARGS)
{
	PgtfModelRef	ref;
	const char *utf8;
	size_t		len;
	float	   *out;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ref = pgtf_model_lookup(pgtf_model_arg(fcinfo, 1), TF_ARCH_BERT, "transformer.embedding_model");
	utf8 = pgtf_text_utf8(PG_GETARG_TEXT_PP(0), &len);
	out = palloc(sizeof(float) * ref.header->dim);
	run_embed(&ref, &utf8, &len, 1, out);
	PG_RETURN_ARRAYTYPE_P(float_array(out, ref.header->dim));
}

/*
 * embed(inputs text[], model text DEFAULT NULL) RETURNS SETOF real[]:
 * one embedding per element, in order (NULL for a NULL element), all
 * computed in batched forward passes.
 */
Datum
embed_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool	   *nulls;
	int			n,
				k,
				dim;
	const char **texts;
	size_t	   *lens;
	float	   *out;
	PgtfModelRef	ref;

	/* a set of scalars: the executor's expected one-column descriptor */
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	ref = pgtf_model_lookup(pgtf_model_arg(fcinfo, 1), TF_ARCH_BERT, "transformer.embedding_model");
	dim = ref.header->dim;
	k = pgtf_text_array_utf8(PG_GETARG_ARRAYTYPE_P(0), &n, &nulls, &texts, &lens);
	out = palloc(sizeof(float) * ((size_t) k * dim + 1));
	if (k > 0)
		run_embed(&ref, texts, lens, k, out);
	k = 0;
	for (int i = 0; i < n; i++)
	{
		Datum		value = (Datum) 0;
		bool		isnull = nulls[i];

		if (!isnull)
			value = PointerGetDatum(float_array(out + (size_t) (k++) * dim, dim));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	return (Datum) 0;
}

/* The elements of a one-dimensional real[] without NULLs; *n its length. */
static const float4 *
vector_arg(ArrayType *a, const char *which, int *n)
{
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s argument of cosine_distance must be a one-dimensional array", which)));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s argument of cosine_distance contains NULL elements", which)));
	*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	return (const float4 *) ARR_DATA_PTR(a);
}

/*
 * cosine_distance(a real[], b real[]) RETURNS double precision:
 * 1 - a.b / (|a| |b|), as pgvector's <=> (NaN when a vector is all zeros).
 */
Datum
cosine_distance(PG_FUNCTION_ARGS)
{
	int			na,
				nb;
	const float4 *a = vector_arg(PG_GETARG_ARRAYTYPE_P(0), "first", &na);
	const float4 *b = vector_arg(PG_GETARG_ARRAYTYPE_P(1), "second", &nb);
	double		dot = 0,
				aa = 0,
				bb = 0,
				sim;

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different array lengths %d and %d", na, nb)));
	for (int i = 0; i < na; i++)
	{
		dot += (double) a[i] * b[i];
		aa += (double) a[i] * a[i];
		bb += (double) b[i] * b[i];
	}
	if (aa == 0 || bb == 0)
		PG_RETURN_FLOAT8(get_float8_nan());
	sim = dot / sqrt(aa * bb);
	/* keep within [-1, 1] against rounding */
	if (sim > 1)
		sim = 1;
	else if (sim < -1)
		sim = -1;
	PG_RETURN_FLOAT8(1 - sim);
}
