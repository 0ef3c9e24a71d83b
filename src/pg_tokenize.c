/*
 * pg_tokenize.c: tokenize(text) -> the token ids and pieces a model sees.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "pg_transformer.h"
#include "tf_bert.h"
#include "tf_marian.h"

PG_FUNCTION_INFO_V1(tokenize);

/*
 * tokenize(input text, model text DEFAULT NULL) RETURNS TABLE(id int, token
 * text): BERT models give [CLS] pieces [SEP], Marian models the source
 * pieces and </s>, truncated as the model truncates. A NULL model means
 * transformer.embedding_model.
 */
Datum
tokenize(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgtfModelRef	ref;
	const char *utf8;
	size_t		len;
	int32	   *ids;
	int32		n;
	const TfVocab *vocab;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	ref = pgtf_model_lookup(pgtf_model_arg(fcinfo, 1), 0, "transformer.embedding_model");
	utf8 = pgtf_text_utf8(PG_GETARG_TEXT_PP(0), &len);
	if (ref.header->arch == TF_ARCH_BERT)
	{
		const TfBertModel *m = ref.model;

		ids = palloc(sizeof(int32) * m->max_tokens);
		n = tf_bert_tokenize(ref.image, m, utf8, len, ids);
		vocab = &m->tokenizer.vocab;
	}
	else
	{
		const TfMarianModel *m = ref.model;

		ids = palloc(sizeof(int32) * m->max_source_tokens);
		n = tf_marian_tokenize(ref.image, m, utf8, len, ids);
		if (n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("input text is too long to tokenize")));
		vocab = &m->source_vocab;
	}
	for (int i = 0; i < n; i++)
	{
		uint32_t	token_len;
		const char *token = tf_vocab_token(ref.image, vocab, ids[i], &token_len);
		Datum		values[2] = {Int32GetDatum(ids[i]), PointerGetDatum(pgtf_utf8_text(token, token_len))};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
