/*
 * tf_rowgemm.h: products of a few rows with row-major weights, read in
 * place.
 *
 * A linear layer multiplies activations x[n, in] by the transpose of a
 * weight matrix w[out, in] kept row by row, as checkpoints store it. A
 * general GEMM (OpenBLAS) first copies ("packs") the whole of w into a
 * work buffer on every call: for the few rows of one short sentence or of
 * one decoding step, that copy costs more than the arithmetic, and the
 * buffer's pages stay private to every backend that ever used it. This
 * kernel reads w where it lies (in shared memory), in blocks that stay in
 * the core's cache while every row of x passes over them, and needs no
 * buffer at all.
 */
#ifndef TF_ROWGEMM_H
#define TF_ROWGEMM_H

#include <stdbool.h>

/*
 * Whether this CPU runs the kernel (x86-64 with AVX2 and FMA); elsewhere
 * callers use tf_sgemm.
 */
bool		tf_rowgemm_available(void);

/*
 * y[n, out] += x[n, in] @ w[out, in]^T, all row-major and dense (row
 * strides in, in and out). Only when tf_rowgemm_available().
 */
void		tf_rowgemm(const float *x, int n, int in, const float *w, int out, float *y);

#endif							/* TF_ROWGEMM_H */
