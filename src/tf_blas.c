/*
 * tf_blas.c: dlopen()ed OpenBLAS with signals kept on the main thread
 * (see tf_blas.h for why).
 */
#include "tf_blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>

/* CBLAS enum values, fixed by the CBLAS standard */
#define CBLAS_ROW_MAJOR 101
#define CBLAS_NO_TRANS 111
#define CBLAS_TRANS 112

typedef void (*sgemm_fn) (int order, int trans_a, int trans_b, int M, int N, int K,
						  float alpha, const float *A, int lda, const float *B, int ldb,
						  float beta, float *C, int ldc);
typedef void (*set_threads_fn) (int threads);
typedef int (*get_threads_fn) (void);

static sgemm_fn blas_sgemm;
static set_threads_fn blas_set_threads;
static get_threads_fn blas_get_threads;

/* Shared-object names tried in turn: Debian's alternatives, then the
 * pthread variant's own directory. */
static const char *const blas_libraries[] = {
	"libopenblas.so.0",
	"libopenblas.so",
	"/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
	"/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
	NULL
};

bool
tf_blas_init(TfError *err)
{
	sigset_t	all,
				saved;
	void	   *lib = NULL;
	bool		preset;

	if (blas_sgemm != NULL)
		return true;

	/*
	 * Start with one thread: worker threads, and the work buffers each
	 * keeps, come only when tf_blas_set_threads asks for more (a backend
	 * that never does saves them). Threads created inside dlopen would
	 * inherit the blocked signal mask.
	 */
	preset = getenv("OPENBLAS_NUM_THREADS") != NULL;
	if (!preset)
		setenv("OPENBLAS_NUM_THREADS", "1", 1);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	for (int i = 0; blas_libraries[i] != NULL && lib == NULL; i++)
		lib = dlopen(blas_libraries[i], RTLD_NOW | RTLD_LOCAL);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (!preset)
		unsetenv("OPENBLAS_NUM_THREADS");

	if (lib == NULL)
	{
		tf_fail(err, TF_ERR_IO, "could not load OpenBLAS");
		return tf_fail_detail(err, "Install Debian's libopenblas0 package (%s).", dlerror());
	}
	blas_set_threads = (set_threads_fn) dlsym(lib, "openblas_set_num_threads");
	blas_get_threads = (get_threads_fn) dlsym(lib, "openblas_get_num_threads");
	blas_sgemm = (sgemm_fn) dlsym(lib, "cblas_sgemm");
	if (blas_sgemm == NULL || blas_set_threads == NULL || blas_get_threads == NULL)
	{
		blas_sgemm = NULL;
		return tf_fail(err, TF_ERR_IO, "the loaded BLAS library is not OpenBLAS");
	}
	return true;
}

void
tf_blas_set_threads(int threads)
{
	sigset_t	all,
				saved;

	if (blas_set_threads == NULL || threads < 1 || threads == blas_get_threads())
		return;
	/* raising the count may start new worker threads */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	blas_set_threads(threads);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

void
tf_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
		 const float *A, int lda, const float *B, int ldb,
		 float beta, float *C, int ldc)
{
	blas_sgemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS,
			   trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, M, N, K, alpha, A, lda, B, ldb,
			   beta, C, ldc);
}

void
tf_sgemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
			   const float *A, int lda, const float *B, int ldb,
			   float beta, float *C, int ldc)
{
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++)
		{
			double		acc = 0;

			for (int k = 0; k < K; k++)
			{
				float		a = trans_a ? A[(size_t) k * lda + i] : A[(size_t) i * lda + k];
				float		b = trans_b ? B[(size_t) j * ldb + k] : B[(size_t) k * ldb + j];

				acc += (double) a * b;
			}
			C[(size_t) i * ldc + j] = (float) (alpha * acc + (beta == 0 ? 0 : beta * C[(size_t) i * ldc + j]));
		}
}
