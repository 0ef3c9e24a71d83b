/*
 * test_kernels.c: the matrix products under every layer, against plain
 * double-precision loops (tf_sgemm_naive): the rows kernel on every kind of
 * edge (rows, columns and depth that are not multiples of its tiles, weight
 * blocks that end mid-way), at each instruction set this CPU has (AVX2,
 * AVX-512), and tf_linear on both sides of the point where it hands over
 * from the rows kernel to OpenBLAS; and log-softmax (eight exponentials at
 * a time) against the same in double precision.
 *
 * Threads: tf_linear, tf_activate and tf_add_layernorm split over 2, 3 and
 * 5 threads against the same call on one thread. Each output is computed
 * by the same code on one thread or another, so the rows kernel and the
 * elementwise kernels must agree exactly; OpenBLAS's edge kernels may sum
 * differently for a column slice, so its side is held to 1e-5.
 *
 * Tolerance: max abs difference 1e-4 on values in [-0.5, 0.5) summed over
 * up to 1,536 terms (float rounding is ~1e-6 here); 1e-5 for log-softmax
 * over up to 54,688 logits in [-10, 10).
 */
#include <stdlib.h>

#include "tap.h"
#include "tf_blas.h"
#include "tf_cpu.h"
#include "tf_kernels.h"
#include "tf_parallel.h"
#include "tf_simd.h"

#define TOLERANCE 1e-4

/* float[n] of deterministic pseudo-random values in [-0.5, 0.5). */
static float *
random_floats(size_t n, unsigned seed)
{
	float	   *v = malloc(sizeof(float) * (n ? n : 1));

	for (size_t i = 0; i < n; i++)
	{
		seed = seed * 1103515245u + 12345u;
		v[i] = (float) ((seed >> 16) & 0x7fff) / 32768.0f - 0.5f;
	}
	return v;
}

/* tf_rowgemm adds x[n, in] @ w[out, in]^T to what y holds; compared with
 * the naive product plus the same starting values. */
static void
check_rowgemm(int n, int in, int out)
{
	float	   *x = random_floats((size_t) n * in, 1 + n);
	float	   *w = random_floats((size_t) out * in, 2 + out);
	float	   *start = random_floats((size_t) n * out, 3);
	float	   *y = malloc(sizeof(float) * n * out);
	float	   *ref = malloc(sizeof(float) * n * out);
	double		diff;

	memcpy(y, start, sizeof(float) * n * out);
	memcpy(ref, start, sizeof(float) * n * out);
	tf_rowgemm(x, n, in, w, out, y, out);
	tf_sgemm_naive(false, true, n, out, in, 1.0f, x, in, w, in, 1.0f, ref, out);
	diff = max_abs_diff(y, ref, (size_t) n * out);
	ok(diff <= TOLERANCE, "rows kernel (%s) %d x %d by %d x %d: max abs diff %.2g",
	   tf_cpu_name(tf_cpu_level()), n, in, out, in, diff);
	free(x), free(w), free(start), free(y), free(ref);
}

/* tf_linear with and without a bias, against the naive product. */
static void
check_linear(int n, int in, int out)
{
	float	   *x = random_floats((size_t) n * in, 4);
	float	   *w = random_floats((size_t) out * in, 5);
	float	   *b = random_floats(out, 6);
	float	   *y = malloc(sizeof(float) * n * out);
	float	   *ref = malloc(sizeof(float) * n * out);

	for (int bias = 0; bias < 2; bias++)
	{
		double		diff;

		for (int i = 0; i < n; i++)
			for (int j = 0; j < out; j++)
				ref[(size_t) i * out + j] = bias ? b[j] : 0.0f;
		for (size_t i = 0; i < (size_t) n * out; i++)
			y[i] = NAN;			/* tf_linear must overwrite every output */
		tf_linear(x, n, in, w, bias ? b : NULL, out, y);
		tf_sgemm_naive(false, true, n, out, in, 1.0f, x, in, w, in, 1.0f, ref, out);
		diff = max_abs_diff(y, ref, (size_t) n * out);
		ok(diff <= TOLERANCE, "linear %d rows, %d -> %d, %s bias: max abs diff %.2g",
		   n, in, out, bias ? "with" : "no", diff);
	}
	free(x), free(w), free(b), free(y), free(ref);
}

/* tf_linear (with bias), tf_activate (exact GELU) and tf_add_layernorm of
 * n rows, in -> out, on `threads` threads against one thread. */
static void
check_threaded(int n, int in, int out, int threads)
{
	float	   *x = random_floats((size_t) n * in, 8);
	float	   *w = random_floats((size_t) out * in, 9);
	float	   *b = random_floats(out, 10);
	float	   *g = random_floats(out, 11);
	float	   *one = malloc(sizeof(float) * n * out);
	float	   *many = malloc(sizeof(float) * n * out);
	bool		rows = tf_rowgemm_suits(n);
	double		diff;

	tf_parallel_set_threads(1);
	tf_linear(x, n, in, w, b, out, one);
	tf_parallel_set_threads(threads);
	tf_linear(x, n, in, w, b, out, many);
	diff = max_abs_diff(one, many, (size_t) n * out);
	ok(rows ? diff == 0 : diff <= 1e-5,
	   "linear %d rows, %d -> %d (%s) on %d threads: max abs diff %.2g from one thread",
	   n, in, out, rows ? "rows kernel" : "OpenBLAS", threads, diff);

	memcpy(many, one, sizeof(float) * n * out);
	tf_parallel_set_threads(1);
	tf_activate(one, (size_t) n * out, TF_ACT_GELU);
	tf_add_layernorm(one, x, n, out < in ? out : in, g, b, 1e-12f);
	tf_parallel_set_threads(threads);
	tf_activate(many, (size_t) n * out, TF_ACT_GELU);
	tf_add_layernorm(many, x, n, out < in ? out : in, g, b, 1e-12f);
	ok(max_abs_diff(one, many, (size_t) n * out) == 0,
	   "GELU and LayerNorm of %d x %d on %d threads: equal to one thread", n, out, threads);
	tf_parallel_set_threads(1);
	free(x), free(w), free(b), free(g), free(one), free(many);
}

/* tf_activate's exact GELU of n values in [-8, 8) at the current level,
 * against double precision. */
static void
check_gelu(int n)
{
	float	   *x = random_floats(n, 12 + n);
	double		worst = 0;
	float	   *in = malloc(sizeof(float) * n);

	for (int i = 0; i < n; i++)
		in[i] = x[i] *= 16.0f;
	tf_activate(x, n, TF_ACT_GELU);
	for (int i = 0; i < n; i++)
	{
		double		ref = 0.5 * in[i] * (1.0 + erf(in[i] / sqrt(2.0)));

		worst = fabs(x[i] - ref) > worst ? fabs(x[i] - ref) : worst;
	}
	ok(worst <= 2e-6, "GELU of %d values (%s): max abs diff %.2g from double precision",
	   n, tf_cpu_name(tf_cpu_level()), worst);
	free(x), free(in);
}

/* tf_log_softmax of n logits in [-10, 10) against double precision. */
static void
check_log_softmax(int n)
{
	float	   *x = random_floats(n, 7 + n);
	float	   *ref = malloc(sizeof(float) * n);
	double		max = -INFINITY,
				sum = 0,
				diff;

	for (int i = 0; i < n; i++)
	{
		x[i] *= 20.0f;
		max = x[i] > max ? x[i] : max;
	}
	for (int i = 0; i < n; i++)
		sum += exp((double) x[i] - max);
	for (int i = 0; i < n; i++)
		ref[i] = (float) (x[i] - max - log(sum));
	tf_log_softmax(x, n);
	diff = max_abs_diff(x, ref, n);
	ok(diff <= 1e-5, "log-softmax over %d: max abs diff %.2g", n, diff);
	free(x), free(ref);
}

int
main(void)
{
	static const int rows[] = {1, 2, 3, 4, 5, 7, 64};
	static const int depths[] = {1, 7, 8, 9, 33, 384};
	static const int widths[] = {1, 3, 4, 5, 9, 130};
	TfError		err;

	if (!ok(tf_blas_init(&err), "OpenBLAS loads"))
		diag("%s", err.message);
	/* the rows kernel at each vector width this CPU has */
	for (int level = TF_ISA_AVX2; level <= TF_ISA_AVX512; level++)
	{
		tf_cpu_set_cap((TfIsa) level);
		if (tf_cpu_level() != (TfIsa) level)
		{
			diag("this CPU lacks %s: its rows kernel is not used, its checks are skipped",
				 tf_cpu_name((TfIsa) level));
			continue;
		}
		for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++)
			for (size_t k = 0; k < sizeof(depths) / sizeof(*depths); k++)
				for (size_t j = 0; j < sizeof(widths) / sizeof(*widths); j++)
					check_rowgemm(rows[i], depths[k], widths[j]);
		/* weight blocks of 128 kB: 32 rows of 1,024 floats; 70 rows end
		 * two blocks and part of a third; depth 1,536 is the MiniLM FFN */
		check_rowgemm(5, 1024, 70);
		check_rowgemm(11, 1536, 384);
	}
	tf_cpu_reset_cap();
	/* tf_linear at each level: OpenBLAS alone (scalar), the AVX2 rows
	 * kernel to 64 rows and OpenBLAS beyond, the AVX-512 one throughout */
	for (int level = TF_ISA_SCALAR; level <= (int) tf_cpu_hardware_level(); level++)
	{
		tf_cpu_set_cap((TfIsa) level);
		diag("tf_linear at level %s", tf_cpu_name((TfIsa) level));
		check_linear(1, 384, 1152);
		check_linear(64, 96, 130);
		check_linear(65, 96, 130);
		check_linear(200, 384, 1536);
		/* columns not a multiple of the ranges' alignment (16), fewer
		 * columns than threads could share, both sides of the hand-over */
		check_threaded(1, 384, 1152, 2);
		check_threaded(3, 33, 17, 3);
		check_threaded(10, 384, 40, 5);
		check_threaded(64, 96, 130, 2);
		check_threaded(65, 96, 130, 2);
		check_threaded(200, 384, 1536, 3);
		check_gelu(1);
		check_gelu(31);
		check_gelu(100000);
	}
	tf_cpu_reset_cap();
	check_log_softmax(1);
	check_log_softmax(13);
	check_log_softmax(54688);
	return done_testing();
}
