/*
 * tf_simd.h: the kernels written for x86-64 AVX2/FMA and AVX-512, behind
 * one CPU check (tf_cpu.h: the level, which TRANSFORMER_ISA can cap).
 *
 * tf_rowgemm: products of a few rows with row-major weights, read in place.
 * A linear layer multiplies activations x[n, in] by the transpose of a
 * weight matrix w[out, in] kept row by row, as checkpoints store it. A
 * general GEMM (OpenBLAS) first copies ("packs") the whole of w into a
 * work buffer on every call: for the few rows of one short sentence or of
 * one decoding step, that copy costs more than the arithmetic, and the
 * buffer's pages stay private to every backend that ever used it. This
 * kernel reads w where it lies (in shared memory), in blocks that stay in
 * the core's cache while every row of x passes over them, and needs no
 * buffer at all.
 *
 * tf_exp_lanes: the exponential sums of a log-softmax over a vocabulary,
 * eight at a time (glibc's libmvec). tf_gelu_lanes: the exact GELU of
 * BERT's feed-forward layers, 8 or 16 at a time (libmvec's erff).
 * tf_layernorm_row: LayerNorm, 16 floats at a time at every level.
 */
#ifndef TF_SIMD_H
#define TF_SIMD_H

#include <stdbool.h>

/*
 * Most rows tf_linear hands to the AVX2 rows kernel rather than to
 * OpenBLAS: below this it is faster on every layer shape measured
 * (bench/rowgemm.c), at 64 rows about as fast, beyond it OpenBLAS gains up
 * to 15%. The AVX-512 kernel is faster than OpenBLAS at every row count
 * measured (1.2 to 1.7x at 32 to 512 rows): it takes any number. Batched
 * decoding takes this many hypotheses at a time.
 */
#define TF_ROWGEMM_MAX_ROWS 64

/*
 * Whether this CPU runs these kernels (x86-64 with AVX2 and FMA);
 * elsewhere callers use tf_sgemm and scalar code.
 */
bool		tf_simd_available(void);

/* Whether tf_linear should give a product of `rows` rows to tf_rowgemm
 * (else OpenBLAS), at the current level. */
bool		tf_rowgemm_suits(int rows);

/*
 * y[n, out] += x[n, in] @ w[out, in]^T, all row-major (row strides in,
 * in and ldy >= out: y may be a column slice of a wider matrix). AVX-512
 * where tf_cpu_level() allows it, else AVX2. Only when
 * tf_simd_available().
 */
void		tf_rowgemm(const float *x, int n, int in, const float *w, int out,
					   float *y, int ldy);

/*
 * lanes[j] += exp(x[i] - max) for every i < the returned count with
 * i % 8 == j; the count is a multiple of 8 (0 where the CPU lacks the
 * kernels), and the caller adds the rest.
 */
int			tf_exp_lanes(const float *x, int n, float max, float lanes[8]);

/*
 * x[i] = 0.5 x[i] (1 + erf(x[i] / sqrt 2)), the exact GELU, for i below
 * the returned count (a multiple of the vector width, 0 where the CPU
 * lacks the kernels); the caller does the rest. Within 2e-6 of the
 * GELU in double precision (test_kernels), as the scalar erff.
 */
int			tf_gelu_lanes(float *x, int n);

/*
 * One row of tf_add_layernorm (tf_kernels.h): row[d] += residual[d] (NULL:
 * none), then normalized to mean 0 and variance 1 and scaled by gamma[d]
 * and beta[d]; 16 floats at a time, the same floats at every level.
 */
void		tf_layernorm_row(float *row, const float *residual, int d, const float *gamma,
							 const float *beta, float eps);

#endif							/* TF_SIMD_H */
