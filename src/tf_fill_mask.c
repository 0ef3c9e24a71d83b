/*
 * tf_fill_mask.c: fill-mask with a BERT masked-LM head (see tf_fill_mask.h).
 */
#include "tf_fill_mask.h"

#include <string.h>

/* Does (score a, id ia) rank before (score b, id ib)? Higher first, then lower id. */
static inline bool
ranks_before(float a, int32_t ia, float b, int32_t ib)
{
	return a > b || (a == b && ia < ib);
}

/* The k best of probs[vocab] into ids[k], scores[k], best first: one pass
 * keeping a sorted list (k is small beside the vocabulary). */
static void
top_k(const float *probs, int32_t vocab, int k, int32_t *ids, float *scores)
{
	int			n = 0;

	for (int32_t v = 0; v < vocab; v++)
	{
		int			i;

		if (n == k && !ranks_before(probs[v], v, scores[k - 1], ids[k - 1]))
			continue;
		i = n < k ? n++ : k - 1;
		for (; i > 0 && ranks_before(probs[v], v, scores[i - 1], ids[i - 1]); i--)
		{
			scores[i] = scores[i - 1];
			ids[i] = ids[i - 1];
		}
		scores[i] = probs[v];
		ids[i] = v;
	}
}

bool
tf_fill_mask(const void *image, const TfBertModel *m, const char *text, size_t len,
			 int k, TfFillMask *out, TfError *err)
{
	float	   *hidden;			/* float[n_tokens, hidden] */
	float	   *at_masks;		/* float[n_masks, hidden] */
	float	   *probs;			/* float[n_masks, vocab] */
	int			H = m->hidden;

	memset(out, 0, sizeof(*out));
	if (!m->mlm.present)
	{
		tf_fail(err, TF_ERR_UNSUPPORTED, "the model has no masked-language-model head");
		return tf_fail_detail(err, "Its checkpoint lacks the tensor \"%s\"; fill-mask needs a "
							  "BertForMaskedLM checkpoint with its cls.predictions.* head.", m->mlm.missing);
	}
	if (m->mask_id < 0)
		return tf_fail(err, TF_ERR_UNSUPPORTED, "the model's vocabulary has no mask token");
	if (k < 1 || k > TF_FILL_MASK_MAX_TOP_K)
	{
		tf_fail(err, TF_ERR_INPUT, "top_k %d is out of range", k);
		return tf_fail_detail(err, "top_k must be between 1 and %d.", TF_FILL_MASK_MAX_TOP_K);
	}
	out->top_k = k < m->vocab_size ? k : m->vocab_size;
	out->ids = tf_alloc(sizeof(int32_t) * m->max_tokens);
	out->n_tokens = tf_bert_hidden_states(image, m, text, len, out->ids, &hidden);
	out->positions = tf_alloc(sizeof(int32_t) * out->n_tokens);
	for (int32_t i = 0; i < out->n_tokens; i++)
		if (out->ids[i] == m->mask_id)
			out->positions[out->n_masks++] = i;

	at_masks = tf_alloc_raw(sizeof(float) * ((size_t) out->n_masks * H + 1));
	for (int32_t j = 0; j < out->n_masks; j++)
		memcpy(at_masks + (size_t) j * H, hidden + (size_t) out->positions[j] * H, sizeof(float) * H);
	tf_free(hidden);
	probs = tf_alloc_raw(sizeof(float) * ((size_t) out->n_masks * m->vocab_size + 1));
	if (out->n_masks > 0)
		tf_mlm_head_probs(image, &m->mlm, at_masks, out->n_masks, H, m->vocab_size, m->act,
						  m->layer_norm_eps, probs);
	out->token_ids = tf_alloc(sizeof(int32_t) * ((size_t) out->n_masks * out->top_k + 1));
	out->scores = tf_alloc(sizeof(float) * ((size_t) out->n_masks * out->top_k + 1));
	for (int32_t j = 0; j < out->n_masks; j++)
		top_k(probs + (size_t) j * m->vocab_size, m->vocab_size, out->top_k,
			  out->token_ids + (size_t) j * out->top_k, out->scores + (size_t) j * out->top_k);
	tf_free(at_masks);
	tf_free(probs);
	return true;
}

void
tf_fill_mask_free(TfFillMask *r)
{
	tf_free(r->ids);
	tf_free(r->positions);
	tf_free(r->token_ids);
	tf_free(r->scores);
	memset(r, 0, sizeof(*r));
}

char *
tf_fill_mask_sequence(const void *image, const TfBertModel *m, const TfFillMask *r,
					  int mask, int rank, size_t *len)
{
	int32_t    *ids = tf_alloc(sizeof(int32_t) * r->n_tokens);	/* int32[n_tokens] */
	int32_t		n = 0;
	char	   *s;

	for (int32_t i = 0; i < r->n_tokens; i++)
	{
		int32_t		id = i == r->positions[mask] ? r->token_ids[(size_t) mask * r->top_k + rank] : r->ids[i];

		if (id != m->pad_id)
			ids[n++] = id;
	}
	s = tf_wordpiece_decode(image, &m->tokenizer, ids, n, r->n_masks == 1, len);
	tf_free(ids);
	return s;
}
