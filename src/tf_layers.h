/*
 * tf_layers.h: the post-LayerNorm transformer blocks that BERT and Marian
 * share: multi-head attention + residual + LayerNorm, and a feed-forward
 * block + residual + LayerNorm ("Attention is all you need", section 3).
 *
 * Sequences are packed without padding: a batch of n sequences is one
 * float[T, d] matrix (T = total tokens), sequence i occupying rows
 * starts[i] .. starts[i] + lens[i]. Linear layers run over all T rows;
 * attention runs per sequence over its own rows only.
 */
#ifndef TF_LAYERS_H
#define TF_LAYERS_H

#include "tf_kernels.h"
#include "tf_checkpoint.h"
#include "tf_matrix.h"

/* Attention with its output projection and the LayerNorm that follows. */
typedef struct TfAttentionBlock
{
	TfMatrix	qkv_w;			/* [3 * d, d]: query, key, value rows stacked */
	TfOffset	qkv_b;			/* float[3 * d] */
	TfMatrix	out_w;			/* [d, d] */
	TfOffset	out_b;			/* float[d] */
	TfOffset	norm_g;			/* float[d] */
	TfOffset	norm_b;			/* float[d] */
} TfAttentionBlock;

/* Two linear layers around an activation, and the LayerNorm that follows. */
typedef struct TfFeedForwardBlock
{
	TfMatrix	in_w;			/* [ffn, d] */
	TfOffset	in_b;			/* float[ffn] */
	TfMatrix	out_w;			/* [d, ffn] */
	TfOffset	out_b;			/* float[d] */
	TfOffset	norm_g;			/* float[d] */
	TfOffset	norm_b;			/* float[d] */
} TfFeedForwardBlock;

/* Checkpoint tensor names of one attention block, in the order of the
 * struct: q, k, v (weight, bias each), out (weight, bias), norm (g, b). */
typedef struct TfAttentionNames
{
	const char *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *out_w, *out_b, *norm_g, *norm_b;
} TfAttentionNames;

/* Checkpoint tensor names of a feed-forward block. */
typedef struct TfFeedForwardNames
{
	const char *in_w, *in_b, *out_w, *out_b, *norm_g, *norm_b;
} TfFeedForwardNames;

/* Sequences packed into T rows. */
typedef struct TfPacked
{
	int			n;				/* sequences */
	int			T;				/* rows in all */
	const int  *starts;			/* int[n]: first row of each */
	const int  *lens;			/* int[n]: rows of each */
} TfPacked;

/* Scratch for blocks over up to `rows` rows (see tf_layer_scratch_init). */
typedef struct TfLayerScratch
{
	float	   *tmp;			/* float[rows, d] */
	float	   *ctx;			/* float[rows, d] */
	float	   *qkv;			/* float[rows, 3 * d] */
	float	   *ffn;			/* float[rows, ffn] */
	float	   *scores;			/* float[threads, score_size]: threads as
								 * tf_parallel_threads() at init */
	size_t		score_size;		/* max_len * max_len */
} TfLayerScratch;

/* Load an attention block of width d; `layer` is substituted for the %d in
 * each name. False with dir->err filled when a tensor is missing or wrong. */
bool		tf_attention_block_load(TfModelDir *dir, const char *const *prefixes,
									const TfAttentionNames *names, int layer, int d,
									TfAttentionBlock *out);

/* Load a feed-forward block d -> ffn -> d, names as above. */
bool		tf_feed_forward_block_load(TfModelDir *dir, const char *const *prefixes,
									   const TfFeedForwardNames *names, int layer, int d,
									   int ffn, TfFeedForwardBlock *out);

/* Allocate scratch for `rows` rows of width d, ffn inner width, sequences
 * up to max_len; tf_layer_scratch_free releases it. */
void		tf_layer_scratch_init(TfLayerScratch *s, int rows, int d, int ffn, int max_len);
void		tf_layer_scratch_free(TfLayerScratch *s);

/*
 * Self-attention over packed sequences: *h[T, d] becomes
 * LayerNorm(h + out_proj(attention(h))). The result is written to s->tmp
 * and the two buffers are swapped, so *h points at it on return.
 * probs: NULL, or (one sequence only: seqs->n == 1) float[heads, T, T]
 * that receives the attention probabilities.
 */
void		tf_self_attention_forward(const void *image, const TfAttentionBlock *b,
									  float **h, int d, int heads, float eps,
									  const TfPacked *seqs, TfLayerScratch *s, float *probs);

/* The end of an attention block: the attention's output s->ctx[n, d]
 * projected, added to *h[n, d] and normalised, swapping as above. */
void		tf_attention_output(const void *image, const TfAttentionBlock *b,
								float **h, int n, int d, float eps, TfLayerScratch *s);

/* *h[T, d] becomes LayerNorm(h + out(act(in(h)))), swapping as above. */
void		tf_feed_forward_forward(const void *image, const TfFeedForwardBlock *b,
									float **h, int T, int d, int ffn, TfActivation act,
									float eps, TfLayerScratch *s);

#endif							/* TF_LAYERS_H */
