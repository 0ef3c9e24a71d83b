/*
 * pg_fill_mask.c: fill_mask(text) -> for each [MASK], the tokens a BERT
 * model's masked-LM head predicts there, with the filled-in text.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "pg_transformer.h"
#include "tf_fill_mask.h"

PG_FUNCTION_INFO_V1(fill_mask);

/* Default of fill_mask's top_k (also taken for a NULL top_k). */
#define FILL_MASK_DEFAULT_TOP_K 5

/* Occurrences of token[tlen] in text[len]: the tokenizer keeps each one
 * whole, so this is how many [MASK] tokens the full text holds. */
static int
count_occurrences(const char *text, size_t len, const char *token, size_t tlen)
{
	int			n = 0;

	for (size_t i = 0; tlen > 0 && i + tlen <= len;)
	{
		if (memcmp(text + i, token, tlen) == 0)
		{
			n++;
			i += tlen;
		}
		else
			i++;
	}
	return n;
}

/*
 * fill_mask(input text, model text DEFAULT NULL, top_k integer DEFAULT 5)
 * RETURNS TABLE(mask int, position int, rank int, token text, token_id int,
 * score double precision, sequence text): top_k rows per [MASK] (mask
 * counts them from 1 in text order, position is the token index with
 * [CLS] at 0), best first. A NULL input gives no rows; a NULL model means
 * transformer.embedding_model, a NULL top_k the default 5.
 */
Datum
fill_mask(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgtfModelRef ref;
	const TfBertModel *m;
	const char *utf8;
	size_t		len;
	int			top_k = PG_ARGISNULL(2) ? FILL_MASK_DEFAULT_TOP_K : PG_GETARG_INT32(2);
	const char *mask_token;
	uint32_t	mask_len;
	int			in_text;
	MemoryContext scratch;
	TfFillMask	r;
	TfError		err;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	ref = pgtf_model_lookup(pgtf_model_arg(fcinfo, 1), TF_ARCH_BERT, "transformer.embedding_model");
	m = ref.model;
	if (!m->mlm.present)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" has no masked-language-model head", ref.name),
				 errdetail("Its checkpoint lacks the tensor \"%s\".", m->mlm.missing),
				 errhint("fill_mask() needs a BertForMaskedLM checkpoint with its cls.predictions.* head, "
						 "such as the shipped bert-embed-en.")));
	if (m->mask_id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" has no mask token in its vocabulary", ref.name)));
	utf8 = pgtf_text_utf8(PG_GETARG_TEXT_PP(0), &len);
	mask_token = tf_vocab_token(ref.image, &m->tokenizer.vocab, m->mask_id, &mask_len);
	in_text = count_occurrences(utf8, len, mask_token, mask_len);
	if (in_text == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no %.*s token in the input", (int) mask_len, mask_token),
				 errhint("Write %.*s where a word is to be predicted, as in 'a man is riding a %.*s.'.",
						 (int) mask_len, mask_token, (int) mask_len, mask_token)));

	scratch = pgtf_compute_begin();
	/* the core checks top_k (22023) */
	if (!tf_fill_mask(ref.image, m, utf8, len, top_k, &r, &err))
		pgtf_report(&err);
	if (r.n_masks == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("every %.*s token lies beyond the first %d tokens, which is all model \"%s\" reads",
						(int) mask_len, mask_token, m->max_tokens, ref.name),
				 errdetail("The text is truncated as embed() truncates it."),
				 errhint("Shorten the text, or put %.*s nearer its start.", (int) mask_len, mask_token)));
	if (r.n_masks < in_text)
		ereport(NOTICE,
				(errmsg("%d of %d %.*s tokens lie beyond the first %d tokens that model \"%s\" reads, "
						"and get no predictions", in_text - r.n_masks, in_text,
						(int) mask_len, mask_token, m->max_tokens, ref.name)));
	for (int j = 0; j < r.n_masks; j++)
		for (int k = 0; k < r.top_k; k++)
		{
			int32_t		id = r.token_ids[(size_t) j * r.top_k + k];
			size_t		tlen;
			size_t		slen;
			char	   *token = tf_wordpiece_decode(ref.image, &m->tokenizer, &id, 1, false, &tlen);
			char	   *sequence = tf_fill_mask_sequence(ref.image, m, &r, j, k, &slen);
			Datum		values[7] = {
				Int32GetDatum(j + 1), Int32GetDatum(r.positions[j]), Int32GetDatum(k + 1),
				PointerGetDatum(pgtf_utf8_text(token, tlen)), Int32GetDatum(id),
				Float8GetDatum(r.scores[(size_t) j * r.top_k + k]),
				PointerGetDatum(pgtf_utf8_text(sequence, slen))
			};
			bool		nulls[7] = {false, false, false, false, false, false, false};

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			tf_free(token);
			tf_free(sequence);
		}
	tf_fill_mask_free(&r);
	pgtf_compute_end(scratch);
	return (Datum) 0;
}
