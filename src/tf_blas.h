/*
 * tf_blas.h: OpenBLAS, loaded on first use.
 *
 * OpenBLAS starts its worker threads when the library is loaded. The
 * PostgreSQL postmaster must stay single-threaded, so transformer.so does not
 * link OpenBLAS: tf_blas_init() dlopen()s it with OPENBLAS_NUM_THREADS=1, so
 * that loading starts no thread at all (the postmaster does this when the
 * extension is preloaded, and backends inherit the loaded library). The
 * kernels keep it at one thread and run it on their own threads
 * (tf_parallel.h); only the benchmark of its peak asks it for more
 * (tf_blas_set_threads). Signals are blocked whenever threads may start,
 * so that worker threads inherit a full signal mask and SIGINT, SIGTERM
 * and the timeout signal always reach the backend's main thread.
 */
#ifndef TF_BLAS_H
#define TF_BLAS_H

#include <stdbool.h>

#include "tf_runtime.h"

/* Load OpenBLAS if not loaded yet; false with err filled if it cannot be. */
bool		tf_blas_init(TfError *err);

/* Cap the threads one BLAS call may use (1 .. cores). */
void		tf_blas_set_threads(int threads);

/*
 * Row-major C[M, N] = alpha * op(A) @ op(B) + beta * C, where op(A) is
 * A[M, K] (lda >= K), or A[K, M] transposed when trans_a (lda >= M); op(B)
 * likewise B[K, N] or B[N, K] transposed. tf_blas_init must have succeeded.
 */
void		tf_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
					 const float *A, int lda, const float *B, int ldb,
					 float beta, float *C, int ldc);

/* The same product by three plain loops: the reference kernel for tests. */
void		tf_sgemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
						   const float *A, int lda, const float *B, int ldb,
						   float beta, float *C, int ldc);

#endif							/* TF_BLAS_H */
