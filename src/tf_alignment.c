/*
 * tf_alignment.c: Marian encoder attention and translation alignments
 * (see tf_alignment.h).
 */
#include "tf_alignment.h"

#include <string.h>

/* Source ids of one text into a tf_alloc'd int32[max_source_tokens];
 * NULL with err filled when it is too long to tokenize. */
static int32_t *
source_ids(const void *image, const TfMarianModel *m, const char *text, size_t len,
		   int *n, bool *truncated, TfError *err)
{
	int32_t    *ids = tf_alloc(sizeof(int32_t) * m->max_source_tokens);

	*n = tf_marian_tokenize_checked(image, m, text, len, ids, truncated);
	if (*n < 0)
	{
		tf_free(ids);
		tf_fail(err, TF_ERR_LIMIT, "input text is too long to tokenize");
		tf_fail_detail(err, "The text has %zu bytes.", len);
		return NULL;
	}
	return ids;
}

bool
tf_marian_encoder_attention(const void *image, const TfMarianModel *m,
							const char *text, size_t len, TfAttentionMaps *out, TfError *err)
{
	int			n;
	bool		truncated;
	int32_t    *ids = source_ids(image, m, text, len, &n, &truncated, err);
	const int32_t *const src[1] = {ids};
	TfMarianBatch batch;

	if (ids == NULL)
		return false;
	tf_attention_maps_init(out, m->enc_layers, m->enc_heads, ids, n, ids, n);
	out->truncated = truncated;
	tf_marian_encode(image, m, src, &n, 1, &batch, out->p);
	tf_marian_batch_free(&batch);
	tf_free(ids);
	return true;
}

bool
tf_marian_align(const void *image, const TfMarianModel *m,
				const TfGenerateOverrides *session, const TfGenerateOverrides *call,
				const char *text, size_t len, TfAttentionMaps *out,
				char **translation, size_t *translation_len, TfError *err)
{
	TfGenerateOptions o;
	TfMarianDecoder state;
	TfMarianCrossRecord record = {0};
	TfDecoder	dec;
	int			n_src;
	bool		truncated;
	int32_t    *src;			/* int32[max_source_tokens] */
	int32_t    *tgt;			/* int32[n_tgt]: generated ids */
	int32_t    *rows;			/* int32[n_tgt]: their hypothesis' row at each step */
	int			n_tgt;
	int			H = m->dec_heads;

	if (!tf_generate_options_merge(&m->generation, session, call, m->tgt_vocab, &o, err))
		return false;
	if ((src = source_ids(image, m, text, len, &n_src, &truncated, err)) == NULL)
		return false;
	dec = tf_marian_decoder(image, m, &state);
	state.record = &record;
	tf_generate(&dec, &o, (const int32_t *const *) &src, &n_src, 1, &tgt, &n_tgt, &rows);

	tf_attention_maps_init(out, m->dec_layers, H, tgt, n_tgt, src, n_src);
	out->truncated = truncated;
	/* step k produced token k: its map rows are those of the hypothesis'
	 * row at that step, p[k] being float[dec_layers, H, rows, n_src] */
	for (int k = 0; k < n_tgt; k++)
		for (int l = 0; l < m->dec_layers; l++)
			for (int h = 0; h < H; h++)
				memcpy((float *) tf_attention_map(out, l, h) + (size_t) k * n_src,
					   record.p[k] + (((size_t) l * H + h) * record.rows[k] + rows[k]) * n_src,
					   sizeof(float) * n_src);
	*translation = tf_marian_detokenize(image, m, tgt, n_tgt, translation_len);
	tf_marian_cross_record_free(&record);
	tf_free(src);
	tf_free(tgt);
	tf_free(rows);
	return true;
}
