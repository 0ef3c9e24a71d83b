/*
 * tf_mlm_head.h: a BERT checkpoint's masked-language-model head, as Hugging
 * Face's BertForMaskedLM (BertOnlyMLMHead) computes it:
 *   logits = decoder(LayerNorm(act(dense(h)))) + bias
 * with dense hidden -> hidden (cls.predictions.transform.dense), act the
 * config's hidden_act, LayerNorm (cls.predictions.transform.LayerNorm,
 * layer_norm_eps), the decoder hidden -> vocabulary tied to the word
 * embeddings (tie_word_embeddings, true by default) or, untied, its own
 * cls.predictions.decoder.weight, and the vocabulary bias
 * cls.predictions.bias (older checkpoints: cls.predictions.decoder.bias).
 *
 * The head is optional: a sentence-transformers BertModel has none and
 * still embeds; the model records which tensor it lacks, for the error of
 * the functions that need the head.
 */
#ifndef TF_MLM_HEAD_H
#define TF_MLM_HEAD_H

#include "tf_checkpoint.h"
#include "tf_kernels.h"
#include "tf_matrix.h"

typedef struct TfMlmHead
{
	bool		present;
	char		missing[96];	/* when !present: the first tensor not found */
	TfMatrix	dense_w;		/* [hidden, hidden] */
	TfOffset	dense_b;		/* float[hidden] */
	TfOffset	norm_g;			/* float[hidden] */
	TfOffset	norm_b;			/* float[hidden] */
	TfMatrix	decoder;		/* [vocab, hidden]: the word embeddings when tied */
	TfOffset	bias;			/* float[vocab] */
} TfMlmHead;

/* Load the head of a vocab x hidden BERT whose word embeddings are at
 * *word_emb. A head that is absent, wholly or in part, is no error
 * (out->present false, out->missing named); a head tensor of the wrong
 * shape or dtype is (false, dir->err filled). */
bool		tf_mlm_head_load(TfModelDir *dir, int32_t vocab, int32_t hidden,
							 const TfMatrix *word_emb, TfMlmHead *out);

/* Vocabulary probabilities (softmax of the logits) of n final hidden
 * states: h[n, hidden] -> probs[n, vocab]. */
void		tf_mlm_head_probs(const void *image, const TfMlmHead *head, const float *h, int n,
							  int32_t hidden, int32_t vocab, TfActivation act, float eps,
							  float *probs);

#endif							/* TF_MLM_HEAD_H */
