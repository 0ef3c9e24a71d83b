/*
 * sgemm_peak.c: the machine's own single-precision matrix product peak,
 * measured with the same OpenBLAS the extension uses.
 *
 *   sgemm_peak [N [THREADS [REPEATS]]]     defaults: 2048 1 5
 *
 * Loads OpenBLAS through the extension's own src/tf_blas.c (dlopen), caps it at THREADS threads, runs one untimed product to
 * start the threads and fault the pages in, then times REPEATS products
 * C[N, N] = A[N, N] @ B[N, N] (2 N^3 floating-point operations each) and
 * prints one line:
 *
 *   threads T n N median_gflops X best_gflops Y cpu_gflops Z fma_gflops F isa I
 *
 * X and Y are wall-clock rates (median and best of the repeats); Z is the
 * total of all products' operations over the process CPU time they took
 * (all threads), i.e. the rate per busy core-second, which a machine shared
 * with other jobs changes much less than the wall-clock rate. F is the
 * arithmetic peak of one core: independent fused multiply-adds on
 * registers at the widest vector instruction set I the kernels may use
 * (tf_cpu_level), per CPU-second of one thread.
 */
#include <stdio.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bench_util.h"
#include "tf_blas.h"
#include "tf_cpu.h"

/* Chains of multiply-adds kept in flight at once: enough to cover the
 * FMA latency (4 cycles) on two pipes. */
#define FMA_CHAINS 12
#define FMA_STEPS 20000000		/* per chain: about 0.2 to 0.5 s */

#if defined(__x86_64__)
/*
 * Defines NAME(void): FLOP per CPU-second of FMA_CHAINS chains of FMAs on
 * vectors of WIDTH floats (VEC, SET1 and FMADD its intrinsics), with the
 * function attribute TARGET. The chains' lane 0 is printed if it ever
 * equals an unlikely value, so that the loop is not optimized away.
 */
#define FMA_PEAK(NAME, TARGET, VEC, WIDTH, SET1, FMADD, STORE) \
static __attribute__((target(TARGET))) double \
NAME(void) \
{ \
	VEC			acc[FMA_CHAINS]; \
	VEC			m = SET1(0.999999f), \
				a = SET1(1e-7f); \
	double		t0 = seconds(CLOCK_THREAD_CPUTIME_ID); \
	float		lanes[WIDTH], \
				sink = 0; \
\
	for (int c = 0; c < FMA_CHAINS; c++) \
		acc[c] = SET1((float) c); \
	for (long i = 0; i < FMA_STEPS; i++) \
		_Pragma("GCC unroll 12")	/* FMA_CHAINS */ \
		for (int c = 0; c < FMA_CHAINS; c++) \
			acc[c] = FMADD(acc[c], m, a); \
	for (int c = 0; c < FMA_CHAINS; c++) \
	{ \
		STORE(lanes, acc[c]); \
		sink += lanes[0]; \
	} \
	if (sink == 12345.0f) \
		printf(" "); \
	return 2.0 * WIDTH * FMA_CHAINS * FMA_STEPS / (seconds(CLOCK_THREAD_CPUTIME_ID) - t0); \
}

FMA_PEAK(fma_peak_avx512, "avx512f", __m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_storeu_ps)
FMA_PEAK(fma_peak_avx2, "avx2,fma", __m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps)
#endif

/* One core's FMA peak in GFLOP per CPU-second at the current level (0
 * without vector FMA). */
static double
fma_peak_gflops(void)
{
#if defined(__x86_64__)
	if (tf_cpu_level() >= TF_ISA_AVX512)
		return fma_peak_avx512() / 1e9;
	if (tf_cpu_level() == TF_ISA_AVX2)
		return fma_peak_avx2() / 1e9;
#endif
	return 0;
}

int
main(int argc, char **argv)
{
	int			n = argc > 1 ? atoi(argv[1]) : 2048;
	int			threads = argc > 2 ? atoi(argv[2]) : 1;
	int			repeats = argc > 3 ? atoi(argv[3]) : 5;
	TfError		err;
	float	   *a,
			   *b,
			   *c;
	double	   *gflops;			/* double[repeats] */
	double		flops = 2.0 * n * n * n;
	double		cpu0,
				mid;

	if (n < 1 || threads < 1 || repeats < 1)
	{
		fprintf(stderr, "usage: sgemm_peak [N [THREADS [REPEATS]]] (all >= 1)\n");
		return 2;
	}
	if (!tf_blas_init(&err))
	{
		fprintf(stderr, "sgemm_peak: %s\n", err.message);
		return 1;
	}
	tf_blas_set_threads(threads);

	a = random_floats((size_t) n * n, 1);
	b = random_floats((size_t) n * n, 2);
	c = calloc((size_t) n * n, sizeof(float));
	gflops = calloc(repeats, sizeof(double));
	if (a == NULL || b == NULL || c == NULL || gflops == NULL)
	{
		fprintf(stderr, "sgemm_peak: out of memory\n");
		return 1;
	}

	tf_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
	cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
	for (int r = 0; r < repeats; r++)
	{
		double		t0 = seconds(CLOCK_MONOTONIC);

		tf_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
		gflops[r] = flops / (seconds(CLOCK_MONOTONIC) - t0) / 1e9;
	}
	cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	mid = median(gflops, repeats);	/* sorts gflops */
	printf("threads %d n %d median_gflops %.2f best_gflops %.2f cpu_gflops %.2f fma_gflops %.2f isa %s\n",
		   threads, n, mid, gflops[repeats - 1], flops * repeats / cpu0 / 1e9, fma_peak_gflops(),
		   tf_cpu_name(tf_cpu_level()));

	free(a);
	free(b);
	free(c);
	free(gflops);
	return 0;
}
