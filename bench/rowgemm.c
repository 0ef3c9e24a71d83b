/*
 * rowgemm.c: the rows kernel (src/tf_simd.c) against OpenBLAS's
 * cblas_sgemm on the linear layers of the benchmarked models, one thread.
 *
 *   rowgemm [REPEATS]      default 5
 *
 * For each layer shape (out x in weights, row-major as checkpoints store
 * them) and each row count M, both compute y[M, out] = x[M, in] @ w^T; a
 * repeat times each for about 20 ms of CPU, back to back, and the table
 * gives the median GFLOP per CPU-second of each and the median of the
 * per-repeat ratios (rows kernel / OpenBLAS; above 1: the rows kernel is
 * faster). The weights are reused from call to call, as a model's are.
 */
#include <stdio.h>

#include "bench_util.h"
#include "tf_blas.h"
#include "tf_simd.h"

#define MAX_REPEATS 32

typedef struct LayerShape
{
	const char *name;
	int			out;
	int			in;
} LayerShape;

static const LayerShape shapes[] = {
	{"MiniLM Q,K,V", 1152, 384},
	{"MiniLM attention out", 384, 384},
	{"MiniLM feed-forward in", 1536, 384},
	{"MiniLM feed-forward out", 384, 1536},
	{"marian-en-de logits", 8000, 256},
	{"opus-mt-en-de logits", 54688, 512},
};
static const int row_counts[] = {1, 4, 16, 32, 64, 128, 512};

/* GFLOP per CPU-second of `calls` products of M x in by out x in. */
static double
time_product(bool rows, int calls, int M, int in, const float *x, const float *w, int out, float *y)
{
	double		t0 = seconds(CLOCK_PROCESS_CPUTIME_ID);

	for (int c = 0; c < calls; c++)
		if (rows)
			tf_rowgemm(x, M, in, w, out, y, out);
		else
			tf_sgemm(false, true, M, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
	return 2.0 * M * out * in * calls / (seconds(CLOCK_PROCESS_CPUTIME_ID) - t0) / 1e9;
}

int
main(int argc, char **argv)
{
	int			repeats = argc > 1 ? atoi(argv[1]) : 5;
	TfError		err;

	if (repeats < 1 || repeats > MAX_REPEATS)
	{
		fprintf(stderr, "usage: rowgemm [REPEATS] (1 to %d)\n", MAX_REPEATS);
		return 2;
	}
	if (!tf_blas_init(&err))
	{
		fprintf(stderr, "rowgemm: %s\n", err.message);
		return 1;
	}
	if (!tf_simd_available())
	{
		printf("  this CPU lacks AVX2/FMA: every product goes to OpenBLAS\n");
		return 0;
	}
	tf_blas_set_threads(1);
	printf("  %-36s %5s %12s %12s %11s\n", "layer (out x in)", "rows", "rows GFLOP/s",
		   "BLAS GFLOP/s", "rows / BLAS");
	for (size_t s = 0; s < sizeof(shapes) / sizeof(*shapes); s++)
	{
		const LayerShape *l = &shapes[s];
		float	   *w = random_floats((size_t) l->out * l->in, 1);

		for (size_t r = 0; r < sizeof(row_counts) / sizeof(*row_counts); r++)
		{
			int			M = row_counts[r];
			float	   *x = random_floats((size_t) M * l->in, 2);
			float	   *y = calloc((size_t) M * l->out, sizeof(float));
			double		flops = 2.0 * M * l->out * l->in;
			/* about 1 GFLOP per timing: 10 to 20 ms at this machine's rates */
			int			calls = flops >= 1e9 ? 1 : flops < 5e5 ? 2000 : (int) (1e9 / flops);
			double		ours[MAX_REPEATS],
						blas[MAX_REPEATS],
						ratio[MAX_REPEATS];
			char		label[80];

			if (w == NULL || x == NULL || y == NULL)
			{
				fprintf(stderr, "rowgemm: out of memory\n");
				return 1;
			}
			time_product(false, 1, M, l->in, x, w, l->out, y);	/* warm up */
			for (int k = 0; k < repeats; k++)
			{
				ours[k] = time_product(true, calls, M, l->in, x, w, l->out, y);
				blas[k] = time_product(false, calls, M, l->in, x, w, l->out, y);
				ratio[k] = ours[k] / blas[k];
			}
			snprintf(label, sizeof(label), "%s (%d x %d)", l->name, l->out, l->in);
			printf("  %-36s %5d %12.1f %12.1f %11.2f\n", r == 0 ? label : "", M,
				   median(ours, repeats), median(blas, repeats), median(ratio, repeats));
			free(x);
			free(y);
		}
		free(w);
	}
	return 0;
}
