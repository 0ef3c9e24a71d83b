/*
 * test_kernels.c: the matrix products under every layer, against plain
 * double-precision loops (tf_sgemm_naive): the rows kernel on every kind of
 * edge (rows, columns and depth that are not multiples of its tiles, weight
 * blocks that end mid-way), at each instruction set this CPU has (AVX2,
 * AVX-512), and tf_linear on both sides of the point where it hands over
 * from the rows kernel to OpenBLAS; the product over packed panels
 * (tf_packed.h) for float32, F16 and BF16 weights at every level (scalar,
 * AVX2, AVX-512), over channel ranges that start and end mid-panel; and
 * log-softmax (eight exponentials at a time) against the same in double
 * precision, and LayerNorm at every level against double precision.
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
#include "tf_matrix.h"
#include "tf_packed.h"
#include "tf_parallel.h"
#include "tf_quant.h"
#include "tf_simd.h"
#include "tf_widen.h"

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

/* ref[n, width] = the bias b[width] in every row (b NULL: zeros), where
 * the naive product adds to it; y[n, width] = NaN, which the product under
 * test must overwrite everywhere. */
static void
prepare_outputs(float *ref, float *y, int n, int width, const float *b)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < width; j++)
		{
			ref[(size_t) i * width + j] = b != NULL ? b[j] : 0.0f;
			y[(size_t) i * width + j] = NAN;
		}
}

/*
 * tf_packed_product over channels [c0, c1) of a [out, in] matrix in
 * `format`, packed, with a bias or none, against the naive product of the
 * same weights widened (16-bit formats: the float values rounded to 16
 * bits, as a checkpoint holds them) plus the bias.
 */
static void
check_packed(TfFormat format, int n, int in, int out, int c0, int c1)
{
	int			width = c1 - c0;
	float	   *x = random_floats((size_t) n * in, 13 + n);
	float	   *w = random_floats((size_t) out * in, 14 + out);
	float	   *b = random_floats(width, 15);
	float	   *y = malloc(sizeof(float) * n * width + 1);
	float	   *ref = malloc(sizeof(float) * n * width + 1);
	uint16_t   *half = malloc(sizeof(uint16_t) * out * in + 1);	/* w in 16 bits */
	void	   *wp = malloc(sizeof(float) * tf_packed_elements(out, in) + 1);

	if (format != TF_FORMAT_F32)
	{
		/* BF16: the top 16 bits; F16: a half made from w's sign and
		 * magnitude (exponent field 12: magnitudes in [1/8, 1/4)) */
		for (size_t i = 0; i < (size_t) out * in; i++)
		{
			uint32_t	bits;

			memcpy(&bits, &w[i], sizeof(bits));
			half[i] = format == TF_FORMAT_BF16 ? (uint16_t) (bits >> 16) :
				(uint16_t) ((bits >> 16 & 0x8000) | (uint32_t) (fabsf(w[i]) * 1024.0f) | 0x3000);
			w[i] = format == TF_FORMAT_BF16 ? tf_bf16_to_f32(half[i]) : tf_f16_to_f32(half[i]);
		}
		tf_pack_panels(half, out, in, sizeof(uint16_t), wp);
	}
	else
		tf_pack_panels(w, out, in, sizeof(float), wp);
	for (int bias = 0; bias < 2; bias++)
	{
		double		diff;

		prepare_outputs(ref, y, n, width, bias ? b : NULL);
		tf_packed_product(format, x, n, in, wp, c0, c1, bias ? b : NULL, y, width);
		tf_sgemm_naive(false, true, n, width, in, 1.0f, x, in, w + (size_t) c0 * in, in, 1.0f,
					   ref, width);
		diff = max_abs_diff(y, ref, (size_t) n * width);
		ok(diff <= TOLERANCE, "packed %s (%s) %d x %d by channels %d..%d of %d, %s bias: max abs diff %.2g",
		   tf_format_name(format), tf_cpu_name(tf_cpu_level()), n, in, c0, c1, out,
		   bias ? "with" : "no", diff);
	}
	free(x), free(w), free(b), free(y), free(ref), free(half), free(wp);
}

/*
 * A packed matrix (float32, or int8) of out x in in an image, through
 * tf_matrix_linear over n rows on `threads` threads against one thread:
 * equal bit for bit, whether the rows (many) or the output columns (few)
 * are shared out; and the float32 one against the naive product.
 */
static void
check_packed_matrix(TfFormat format, int n, int in, int out, int threads)
{
	float	   *x = random_floats((size_t) n * in, 20 + n);
	float	   *w = random_floats((size_t) out * in, 21);
	float	   *b = random_floats(out, 22);
	float	   *one = malloc(sizeof(float) * n * out);
	float	   *many = malloc(sizeof(float) * n * out);
	float	   *ref = malloc(sizeof(float) * n * out);
	int			ld = format == TF_FORMAT_INT8 ? tf_quant_stride(in) : in;
	int8_t	   *wq = malloc((size_t) out * ld);
	char	   *image = malloc(64 + tf_packed_elements(out, ld) * sizeof(float) + 8 * (size_t) out);
	TfMatrix	m = {.format = format, .rows = out, .cols = in, .ld = ld, .packed = true, .data = 64};

	if (format == TF_FORMAT_INT8)
	{
		m.scales = 64 + tf_int8_packed_bytes(out, ld);
		m.sums = m.scales + sizeof(float) * out;
		tf_quantize_weights(w, out, in, ld, wq, (float *) (image + m.scales),
							(int32_t *) (image + m.sums));
		tf_int8_pack(wq, out, ld, (int8_t *) (image + 64));
	}
	else
		tf_pack_panels(w, out, in, sizeof(float), image + 64);
	tf_parallel_set_threads(1);
	tf_matrix_linear(image, &m, x, n, b, one);
	tf_parallel_set_threads(threads);
	tf_matrix_linear(image, &m, x, n, b, many);
	tf_parallel_set_threads(1);
	ok(memcmp(one, many, sizeof(float) * n * out) == 0,
	   "packed %s matrix, %d rows, %d -> %d, on %d threads: equal to one thread",
	   tf_format_name(format), n, in, out, threads);
	if (format == TF_FORMAT_F32)
	{
		double		diff;

		prepare_outputs(ref, many, n, out, b);
		tf_sgemm_naive(false, true, n, out, in, 1.0f, x, in, w, in, 1.0f, ref, out);
		diff = max_abs_diff(one, ref, (size_t) n * out);
		ok(diff <= TOLERANCE, "packed float32 matrix, %d rows, %d -> %d: max abs diff %.2g",
		   n, in, out, diff);
	}
	free(x), free(w), free(b), free(one), free(many), free(ref), free(wq), free(image);
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

		prepare_outputs(ref, y, n, out, bias ? b : NULL);
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

/* tf_add_layernorm of 3 rows of d values (offset by `shift`, as hidden
 * states drift), with a residual or none, at the current level, against
 * double precision and against the plain C path (equal bit for bit: int8
 * models quantize its output, where any difference is magnified). */
static void
check_layernorm(int d, float shift, bool residual)
{
	float	   *x = random_floats((size_t) 3 * d, 16 + d);
	float	   *r = random_floats((size_t) 3 * d, 17);
	float	   *g = random_floats(d, 18);
	float	   *b = random_floats(d, 19);
	double	   *ref = malloc(sizeof(double) * 3 * d);
	float	   *plain = malloc(sizeof(float) * 3 * d);	/* x through the plain C path */
	TfIsa		level = tf_cpu_level();
	double		worst = 0;

	for (int i = 0; i < 3; i++)
	{
		double		mean = 0,
					var = 0;

		for (int j = 0; j < d; j++)
		{
			x[i * d + j] = 8.0f * x[i * d + j] + shift;
			ref[i * d + j] = (double) x[i * d + j] + (residual ? r[i * d + j] : 0.0);
			mean += ref[i * d + j] / d;
		}
		for (int j = 0; j < d; j++)
			var += (ref[i * d + j] - mean) * (ref[i * d + j] - mean) / d;
		for (int j = 0; j < d; j++)
			ref[i * d + j] = (ref[i * d + j] - mean) / sqrt(var + 1e-12) * g[j] + b[j];
	}
	memcpy(plain, x, sizeof(float) * 3 * d);
	tf_add_layernorm(x, residual ? r : NULL, 3, d, g, b, 1e-12f);
	for (int i = 0; i < 3 * d; i++)
		worst = fabs(x[i] - ref[i]) > worst ? fabs(x[i] - ref[i]) : worst;
	ok(worst <= 2e-6, "LayerNorm of 3 x %d, mean about %g, %s residual (%s): max abs diff %.2g",
	   d, shift, residual ? "with" : "no", tf_cpu_name(tf_cpu_level()), worst);
	/* the same floats as the plain C path */
	tf_cpu_set_cap(TF_ISA_SCALAR);
	tf_add_layernorm(plain, residual ? r : NULL, 3, d, g, b, 1e-12f);
	tf_cpu_set_cap(level);
	ok(memcmp(plain, x, sizeof(float) * 3 * d) == 0,
	   "LayerNorm of 3 x %d (%s): bit for bit the plain C path's", d, tf_cpu_name(level));
	free(x), free(r), free(g), free(b), free(ref), free(plain);
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
	/* the packed product at every level, in every format: row counts
	 * about every tile height (AVX-512 12, AVX2 3, four panels at few
	 * rows), channels not a multiple of the panel (16) and ranges cut
	 * mid-panel, blocks of panels (192 kB: 1,536 inputs make 2 panels) */
	for (int level = TF_ISA_SCALAR; level <= (int) tf_cpu_hardware_level(); level++)
	{
		static const TfFormat formats[] = {TF_FORMAT_F32, TF_FORMAT_F16, TF_FORMAT_BF16};
		static const int packed_rows[] = {1, 2, 3, 4, 6, 7, 11, 12, 13, 25, 64};

		tf_cpu_set_cap((TfIsa) level);
		for (size_t f = 0; f < sizeof(formats) / sizeof(*formats); f++)
		{
			for (size_t i = 0; i < sizeof(packed_rows) / sizeof(*packed_rows); i++)
				for (size_t k = 0; k < sizeof(depths) / sizeof(*depths); k++)
				{
					check_packed(formats[f], packed_rows[i], depths[k], 130, 0, 130);
					check_packed(formats[f], packed_rows[i], depths[k], 16, 0, 16);
				}
			check_packed(formats[f], 5, 33, 1, 0, 1);
			check_packed(formats[f], 13, 33, 100, 5, 37);
			check_packed(formats[f], 13, 33, 100, 17, 18);
			check_packed(formats[f], 3, 1536, 400, 48, 399);
			check_packed(formats[f], 30, 1536, 384, 0, 384);
			check_packed(formats[f], 12, 384, 1152, 0, 1152);
		}
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
		/* split by columns (few rows) and by rows (48 and more per thread,
		 * ranges of 12; a remainder), float32 and int8 */
		for (int f = 0; f < 2; f++)
		{
			TfFormat	format = f == 0 ? TF_FORMAT_F32 : TF_FORMAT_INT8;

			check_packed_matrix(format, 10, 384, 1152, 2);
			check_packed_matrix(format, 96, 33, 40, 2);
			check_packed_matrix(format, 320, 384, 384, 2);
			check_packed_matrix(format, 301, 100, 130, 3);
		}
		check_gelu(1);
		check_gelu(31);
		check_gelu(100000);
		/* shorter than a vector, a tail past the last whole one, model widths */
		for (int residual = 0; residual < 2; residual++)
		{
			check_layernorm(7, 0.0f, residual);
			check_layernorm(37, 3.0f, residual);
			check_layernorm(384, 0.0f, residual);
			check_layernorm(512, 50.0f, residual);
		}
	}
	tf_cpu_reset_cap();
	check_log_softmax(1);
	check_log_softmax(13);
	check_log_softmax(54688);
	return done_testing();
}
