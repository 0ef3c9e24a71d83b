/*
 * rowgemm.c: the rows kernel (src/tf_simd.c) and the product over packed
 * panels (src/tf_packed.c) against OpenBLAS's cblas_sgemm on the linear
 * layers of the benchmarked models, one thread.
 *
 *   rowgemm [REPEATS]      default 5
 *
 * For each layer shape (out x in weights, row-major as checkpoints store
 * them, and packed once as the model loader packs linear layers) and each
 * row count M, all three compute y[M, out] = x[M, in] @ w^T; a repeat
 * times each for about 20 ms of CPU, back to back, and the table gives the
 * median GFLOP per CPU-second of each and the medians of the per-repeat
 * ratios to OpenBLAS (above 1: faster than OpenBLAS). The weights are
 * reused from call to call, as a model's are.
 */
#include <stdio.h>

#include "bench_util.h"
#include "tf_blas.h"
#include "tf_packed.h"
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
	{"Marian feed-forward in", 2048, 512},
	{"marian-en-de logits", 8000, 256},
	{"opus-mt-en-de logits", 54688, 512},
};
static const int row_counts[] = {1, 4, 16, 32, 64, 128, 512};

/* The three products timed. */
typedef enum Kernel
{
	KERNEL_ROWS,
	KERNEL_PACKED,
	KERNEL_BLAS
} Kernel;

/* GFLOP per CPU-second of `calls` products of M x in by out x in (w
 * row-major, wp the same packed). */
static double
time_product(Kernel kernel, int calls, int M, int in, const float *x, const float *w,
			 const float *wp, int out, float *y)
{
	double		t0 = seconds(CLOCK_PROCESS_CPUTIME_ID);

	for (int c = 0; c < calls; c++)
		if (kernel == KERNEL_ROWS)
			tf_rowgemm(x, M, in, w, out, y, out);
		else if (kernel == KERNEL_PACKED)
			tf_packed_product(TF_FORMAT_F32, x, M, in, wp, 0, out, NULL, y, out);
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
	printf("  %-36s %5s %12s %12s %12s %11s %11s\n", "layer (out x in)", "rows", "rows GFLOP/s",
		   "packed", "BLAS", "rows / BLAS", "packed/BLAS");
	for (size_t s = 0; s < sizeof(shapes) / sizeof(*shapes); s++)
	{
		const LayerShape *l = &shapes[s];
		float	   *w = random_floats((size_t) l->out * l->in, 1);
		float	   *wp = malloc(sizeof(float) * tf_packed_elements(l->out, l->in));

		for (size_t r = 0; r < sizeof(row_counts) / sizeof(*row_counts); r++)
		{
			int			M = row_counts[r];
			float	   *x = random_floats((size_t) M * l->in, 2);
			float	   *y = calloc((size_t) M * l->out, sizeof(float));
			double		flops = 2.0 * M * l->out * l->in;
			/* about 1 GFLOP per timing: 10 to 20 ms at this machine's rates */
			int			calls = flops >= 1e9 ? 1 : flops < 5e5 ? 2000 : (int) (1e9 / flops);
			double		ours[MAX_REPEATS],
						packed[MAX_REPEATS],
						blas[MAX_REPEATS],
						ratio[MAX_REPEATS],
						packed_ratio[MAX_REPEATS];
			char		label[80];

			if (w == NULL || wp == NULL || x == NULL || y == NULL)
			{
				fprintf(stderr, "rowgemm: out of memory\n");
				return 1;
			}
			if (r == 0)
				tf_pack_panels(w, l->out, l->in, sizeof(float), wp);
			time_product(KERNEL_BLAS, 1, M, l->in, x, w, wp, l->out, y);	/* warm up */
			for (int k = 0; k < repeats; k++)
			{
				ours[k] = time_product(KERNEL_ROWS, calls, M, l->in, x, w, wp, l->out, y);
				packed[k] = time_product(KERNEL_PACKED, calls, M, l->in, x, w, wp, l->out, y);
				blas[k] = time_product(KERNEL_BLAS, calls, M, l->in, x, w, wp, l->out, y);
				ratio[k] = ours[k] / blas[k];
				packed_ratio[k] = packed[k] / blas[k];
			}
			snprintf(label, sizeof(label), "%s (%d x %d)", l->name, l->out, l->in);
			printf("  %-36s %5d %12.1f %12.1f %12.1f %11.2f %11.2f\n", r == 0 ? label : "", M,
				   median(ours, repeats), median(packed, repeats), median(blas, repeats),
				   median(ratio, repeats), median(packed_ratio, repeats));
			free(x);
			free(y);
		}
		free(w);
		free(wp);
	}
	return 0;
}
