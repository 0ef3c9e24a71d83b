/*
 * tf_kernels.h: the numeric building blocks of transformer layers, over flat
 * row-major float arrays. Shapes are given as [rows, cols].
 */
#ifndef TF_KERNELS_H
#define TF_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum TfActivation
{
	TF_ACT_GELU,				/* exact: 0.5 x (1 + erf(x / sqrt 2)) */
	TF_ACT_GELU_TANH,			/* "gelu_new", "gelu_pytorch_tanh" */
	TF_ACT_RELU,
	TF_ACT_SILU					/* "swish", "silu": x sigmoid(x) */
} TfActivation;

/* Hugging Face's activation name (config.json) -> TfActivation. */
bool		tf_activation_parse(const char *name, TfActivation *out);

/*
 * Output columns per range of a threaded linear layer (tf_linear,
 * tf_matrix_linear_rows) are a multiple of this: whole cache lines of y,
 * and whole tiles of the rows kernel. Each output column is computed the
 * same way whatever the split, so results do not depend on the threads.
 */
#define TF_LINEAR_ALIGN 16

/* y[n, out] = x[n, in] @ w[out, in]^T + b[out] (b may be NULL); the
 * output columns split over tf_parallel_threads() threads. */
void		tf_linear(const float *x, int n, int in, const float *w, const float *b,
					  int out, float *y);

/* x[n, d] = LayerNorm(x + residual) * gamma + beta, in place; residual
 * [n, d] may be NULL. Mean and variance as torch.nn.LayerNorm (biased). */
void		tf_add_layernorm(float *x, const float *residual, int n, int d,
							 const float *gamma, const float *beta, float eps);

/* x[n] = act(x[n]) in place. */
void		tf_activate(float *x, size_t n, TfActivation act);

/* Softmax of each row of x[rows, cols], in place. */
void		tf_softmax_rows(float *x, int rows, int cols);

/* Log-softmax of x[n], in place, as torch.log_softmax. */
void		tf_log_softmax(float *x, int n);

/*
 * Multi-head scaled dot-product attention for one sequence. Head h of a
 * row occupies columns [h * head_dim, (h + 1) * head_dim), so q, k and v may
 * be column slices of wider matrices (their leading dimensions ldq, ldk,
 * ldv):
 *   q[Tq, ldq], k[Tk, ldk], v[Tk, ldv] -> out[Tq, ldo] (heads * head_dim used)
 * scores = scale * q_h k_h^T, every query seeing every key. Keys beyond a
 * sequence's length are simply not passed: that is the padding mask. (The
 * decoder's causal self-attention reads each hypothesis' own earlier
 * steps through its history: tf_marian.c, attend_history.)
 * scratch: float[Tq * Tk]. probs: NULL, or float[heads, Tq, Tk] that
 * receives the attention probabilities (after softmax) of every head.
 */
void		tf_attention(const float *q, int ldq, const float *k, int ldk,
						 const float *v, int ldv, float *out, int ldo,
						 int Tq, int Tk, int heads, int head_dim, float scale,
						 float *scratch, float *probs);

/* One head of tf_attention: q, k, v, out point at the head's first
 * column; scratch: float[Tq * Tk]; probs: NULL, or float[Tq, Tk] that
 * receives the head's probabilities. Calls no host hook, so it may run on
 * a worker thread. */
void		tf_attention_head(const float *q, int ldq, const float *k, int ldk,
							  const float *v, int ldv, float *out, int ldo,
							  int Tq, int Tk, int head_dim, float scale, float *scratch,
							  float *probs);

/* Rows first .. first + n_pos - 1 of Marian's static sinusoidal table,
 * into out[n_pos, dim]: the first ceil(dim/2) columns of row p
 * sin(p / 10000^(2j/dim)), the rest cos(...), not interleaved. */
void		tf_sinusoidal_positions(float *out, int first, int n_pos, int dim);

/* x[n] = x[n] / max(||x||_2, 1e-12), as torch.nn.functional.normalize. */
void		tf_l2_normalize(float *x, int n);

#endif							/* TF_KERNELS_H */
