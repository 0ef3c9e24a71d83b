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
 *   threads T n N median_gflops X best_gflops Y cpu_gflops Z
 *
 * X and Y are wall-clock rates (median and best of the repeats); Z is the
 * total of all products' operations over the process CPU time they took
 * (all threads), i.e. the rate per busy core-second, which a machine shared
 * with other jobs changes much less than the wall-clock rate.
 */
#include <stdio.h>

#include "bench_util.h"
#include "tf_blas.h"

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
	printf("threads %d n %d median_gflops %.2f best_gflops %.2f cpu_gflops %.2f\n", threads, n,
		   mid, gflops[repeats - 1], flops * repeats / cpu0 / 1e9);

	free(a);
	free(b);
	free(c);
	free(gflops);
	return 0;
}
