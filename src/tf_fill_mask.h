/*
 * tf_fill_mask.h: the fill-mask task of a BERT model with a masked-LM head,
 * as Hugging Face's fill-mask pipeline computes it: the text is tokenized
 * ([CLS] pieces [SEP], truncated to the model's length as tf_bert_tokenize
 * does), encoded once, and for each [MASK] token the head's softmax over the
 * vocabulary gives the top_k tokens, best first (ties: lower id first).
 * A [MASK] cut off by the truncation gets no predictions.
 */
#ifndef TF_FILL_MASK_H
#define TF_FILL_MASK_H

#include "tf_bert.h"

/* Most predictions asked per [MASK]: bounds the output and the selection. */
#define TF_FILL_MASK_MAX_TOP_K 1000

/* The predictions for one text. */
typedef struct TfFillMask
{
	int32_t		n_tokens;
	int32_t    *ids;			/* int32[n_tokens]: the text as the model reads it */
	int32_t		n_masks;
	int32_t    *positions;		/* int32[n_masks]: token index of each [MASK] */
	int32_t		top_k;			/* predictions per [MASK] (at most the vocabulary) */
	int32_t    *token_ids;		/* int32[n_masks, top_k]: best first */
	float	   *scores;			/* float[n_masks, top_k]: their probabilities */
} TfFillMask;

/*
 * Predict the top_k (1 .. TF_FILL_MASK_MAX_TOP_K; more than the vocabulary
 * gives the whole vocabulary) tokens of every [MASK] in UTF-8 text[len].
 * False with err filled when the model has no masked-LM head or no mask
 * token, or top_k is out of range. Zero masks is no error (out->n_masks 0).
 * tf_fill_mask_free releases *out.
 */
bool		tf_fill_mask(const void *image, const TfBertModel *m, const char *text, size_t len,
						 int top_k, TfFillMask *out, TfError *err);

void		tf_fill_mask_free(TfFillMask *r);

/*
 * The filled-in text of prediction `rank` (0-based) of mask `mask`: the
 * token ids with that [MASK] replaced and [PAD] dropped, decoded as the
 * pipeline does (special tokens skipped when the text has one [MASK] only,
 * kept, other [MASK]s included, when it has several). tf_alloc'd,
 * NUL-terminated; *len its bytes.
 */
char	   *tf_fill_mask_sequence(const void *image, const TfBertModel *m, const TfFillMask *r,
								  int mask, int rank, size_t *len);

#endif							/* TF_FILL_MASK_H */
