/*
 * test_quant.c: the weight formats' kernels on every instruction-set path
 * (tf_cpu_set_cap: scalar, avx2, avx512 with VNNI where the CPU has it).
 *
 *  - F16 and BF16 widening: all 65,536 bit patterns against the scalar
 *    converters, bit for bit (NaN as NaN).
 *  - F16 and BF16 products (tf_matrix_linear): the float32 product of the
 *    widened weights, bit for bit up to the rows kernel's limit (64 rows),
 *    and beyond it, where OpenBLAS takes blocks of widened rows and its
 *    order of summation may differ with the block's width, within 1e-6 of
 *    sum |x| |w| (float rounding over 256 terms is ~1e-7 of it); whole and
 *    over sub-ranges of rows.
 *  - int8 sums (tf_int8_dot): exactly the naive int32 sums, over odd
 *    shapes (rows and columns not multiples of the tiles, several depths)
 *    and the edge values 0, 255 x -128 and 127 (the largest sums).
 *  - Quantization: every value within half a step of its quantized value,
 *    0 exact, zero rows with scale 0; the int8 linear layer against the
 *    float formula of the scheme in double (relative 1e-5), and against the
 *    float32 product within the scheme's own error bound.
 *  - Packed int8 weights (tf_int8_pack, tf_int8_linear_packed): the layout
 *    byte for byte; the layer over many shapes and channel sub-ranges equal
 *    bit for bit to the naive sums dequantized in plain C, sums exact.
 */
#include <stdlib.h>

#include "tap.h"
#include "tf_blas.h"
#include "tf_cpu.h"
#include "tf_kernels.h"
#include "tf_matrix.h"
#include "tf_parallel.h"
#include "tf_quant.h"
#include "tf_simd.h"
#include "tf_widen.h"

static unsigned rng = 12345;

/* Deterministic pseudo-random 31-bit value. */
static unsigned
next_random(void)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 1) & 0x7fffffff;
}

/* float in [-scale, scale). */
static float
random_float(float scale)
{
	return ((float) (next_random() % 65536) / 32768.0f - 1.0f) * scale;
}

/* Same bits, or both NaN. */
static bool
same_float(float a, float b)
{
	return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof(float)) == 0;
}

/* Every 16-bit pattern widened by the current path = the scalar converter. */
static void
check_widen(const char *path)
{
	uint16_t   *h = malloc(sizeof(uint16_t) * 65536 + 2);
	float	   *f = malloc(sizeof(float) * 65536 + 4);
	int			bad16 = 0,
				bad_b = 0;

	/* an odd start: the kernels must not need alignment */
	for (int i = 0; i < 65536; i++)
		h[i + 1] = (uint16_t) i;
	tf_widen_f16(h + 1, 65536, f + 1);
	for (int i = 0; i < 65536; i++)
		bad16 += !same_float(f[i + 1], tf_f16_to_f32((uint16_t) i));
	tf_widen_bf16(h + 1, 65536, f + 1);
	for (int i = 0; i < 65536; i++)
		bad_b += !same_float(f[i + 1], tf_bf16_to_f32((uint16_t) i));
	ok(bad16 == 0, "%s: F16 widening of all 65,536 values exact (%d differ)", path, bad16);
	ok(bad_b == 0, "%s: BF16 widening of all 65,536 values exact (%d differ)", path, bad_b);
	ok(tf_f16_to_f32(0x3C00) == 1.0f && tf_f16_to_f32(0xC000) == -2.0f &&
	   tf_f16_to_f32(0x0001) == ldexpf(1, -24) && isinf(tf_f16_to_f32(0x7C00)) &&
	   tf_bf16_to_f32(0x3F80) == 1.0f, "known F16 and BF16 values");
	free(h);
	free(f);
}

/* Outputs y[n, out] that differ from ref: any bit when `exact`, else by
 * more than 1e-6 of the largest sum |x| |w| (inputs below 1 and 1.0 in
 * magnitude: at most `depth`). */
static int
count_differing(const float *y, const float *ref, int n, int out, bool exact, int depth)
{
	int			diff = 0;

	for (size_t i = 0; i < (size_t) n * out; i++)
		diff += exact ? !same_float(y[i], ref[i]) : fabsf(y[i] - ref[i]) > 1e-6f * depth;
	return diff;
}

/* How many of y[n, m->rows] (tf_matrix_linear's at one thread) differ from
 * the same product at 3 threads (each takes a range of output columns):
 * count_differing's test with `exact` (the rows kernel and the int8 sums
 * compute a column the same way in any range; OpenBLAS's edge kernels may
 * not). */
static int
count_differing_threaded(const char *image, const TfMatrix *m, const float *x, int n,
						 const float *b, const float *y, bool exact)
{
	float	   *threaded = malloc(sizeof(float) * (size_t) n * m->rows);
	int			differ;

	tf_parallel_set_threads(3);
	tf_matrix_linear(image, m, x, n, b, threaded);
	tf_parallel_set_threads(1);
	differ = count_differing(threaded, y, n, m->rows, exact, m->cols);
	free(threaded);
	return differ;
}

/*
 * A 16-bit matrix [rows, cols] of random weights in an image, its float32
 * twin wide[rows, cols]: tf_matrix_linear over it must equal tf_linear over
 * the twin bit for bit, whole and over rows r0 .. r1.
 */
static void
check_half_linear(const char *path, TfFormat format, int n, int rows, int cols)
{
	size_t		elems = (size_t) rows * cols;
	char	   *image = malloc(64 + 2 * elems);
	uint16_t   *half = (uint16_t *) (image + 64);
	float	   *wide = malloc(sizeof(float) * elems);
	float	   *x = malloc(sizeof(float) * (size_t) n * cols);
	float	   *b = malloc(sizeof(float) * rows);
	float	   *y = malloc(sizeof(float) * (size_t) n * rows);
	float	   *ref = malloc(sizeof(float) * (size_t) n * rows);
	TfMatrix	m = {.format = format, .rows = rows, .cols = cols, .ld = cols, .data = 64};
	int			r0 = rows / 3,
				r1 = rows - rows / 5;
	int			diff = 0,
				threads_diff;
	bool		rows_kernel = tf_rowgemm_suits(n);

	for (size_t i = 0; i < elems; i++)
	{
		/* values of magnitude about 2^-7 .. 2^0, either sign */
		half[i] = (uint16_t) (format == TF_FORMAT_F16 ? 0x2000 + next_random() % 0x1C00
							  : 0x3C00 + next_random() % 0x0380) | (next_random() & 0x8000);
		wide[i] = format == TF_FORMAT_F16 ? tf_f16_to_f32(half[i]) : tf_bf16_to_f32(half[i]);
	}
	for (size_t i = 0; i < (size_t) n * cols; i++)
		x[i] = random_float(1);
	for (int i = 0; i < rows; i++)
		b[i] = random_float(1);
	tf_matrix_linear(image, &m, x, n, b, y);
	threads_diff = count_differing_threaded(image, &m, x, n, b, y, rows_kernel);
	tf_linear(x, n, cols, wide, b, rows, ref);
	diff += count_differing(y, ref, n, rows, rows_kernel, cols);
	/* rows r0 .. r1 - 1, no bias */
	tf_matrix_linear_rows(image, &m, r0, r1, x, n, NULL, y);
	tf_linear(x, n, cols, wide + (size_t) r0 * cols, NULL, r1 - r0, ref);
	diff += count_differing(y, ref, n, r1 - r0, rows_kernel, cols);
	ok(diff == 0, "%s: %s linear %d x %d by %d x %d equals float32%s (%d differ)", path,
	   tf_format_name(format), n, cols, rows, cols, rows_kernel ? " bit for bit" : " within 1e-6",
	   diff);
	ok(threads_diff == 0, "%s: %s linear %d x %d by %d x %d the same at 3 threads%s (%d differ)",
	   path, tf_format_name(format), n, cols, rows, cols, rows_kernel ? ", bit for bit" : "",
	   threads_diff);
	free(image), free(wide), free(x), free(b), free(y), free(ref);
}

/* tf_int8_dot = naive sums; fill: 0 random, 1 extreme (255 x -128), 2 zero x,
 * 3 127 everywhere. */
static void
check_dot(const char *path, int n, int cols, int in, int fill)
{
	int			ld = tf_quant_stride(in);
	uint8_t    *xq = malloc((size_t) n * ld);
	int8_t	   *wq = malloc((size_t) cols * ld);
	int32_t    *acc = malloc(sizeof(int32_t) * (size_t) n * (cols + 3));
	int32_t    *ref = malloc(sizeof(int32_t) * (size_t) n * (cols + 3));
	int			diff = 0;

	for (size_t i = 0; i < (size_t) n * ld; i++)
		xq[i] = fill == 1 ? 255 : fill == 2 ? 0 : fill == 3 ? 127 : (uint8_t) next_random();
	for (size_t i = 0; i < (size_t) cols * ld; i++)
		wq[i] = fill == 1 ? -128 : fill == 3 ? 127 : (int8_t) next_random();
	/* padding of weights is zero, as tf_quantize_weights leaves it */
	for (int c = 0; c < cols; c++)
		memset(wq + (size_t) c * ld + in, 0, ld - in);
	tf_int8_dot(xq, n, ld, wq, cols, acc, cols + 3);
	tf_int8_dot_naive(xq, n, ld, wq, cols, ref, cols + 3);
	for (int i = 0; i < n; i++)
		for (int c = 0; c < cols; c++)
			diff += acc[(size_t) i * (cols + 3) + c] != ref[(size_t) i * (cols + 3) + c];
	if (fill == 1 && diff == 0)
		diff += ref[0] != -255 * 128 * in;
	ok(diff == 0, "%s: int8 sums %d x %d by %d x %d (fill %d) exact (%d differ)", path, n, in,
	   cols, in, fill, diff);
	free(xq), free(wq), free(acc), free(ref);
}

/* Quantization within half a step, 0 exact, zero rows. */
static void
check_quantize(void)
{
	int			n = 5,
				in = 77,
				ld = tf_quant_stride(in);
	float	   *x = malloc(sizeof(float) * n * in);
	uint8_t    *xq = malloc((size_t) n * ld);
	int8_t	   *wq = malloc((size_t) n * ld);
	float		xs[5],
				ws[5];
	int32_t		xz[5],
				wsum[5];
	int			bad_x = 0,
				bad_w = 0,
				bad_pad = 0;

	for (int i = 0; i < n * in; i++)
		x[i] = random_float(3) + (i / in == 1 ? 3 : 0);	/* row 1: all positive */
	for (int k = 0; k < in; k++)
		x[2 * in + k] = 0;		/* row 2: zero */
	x[3 * in + 5] = 0;
	tf_quantize_rows(x, n, in, ld, xq, xs, xz);
	tf_quantize_weights(x, n, in, ld, wq, ws, wsum);
	for (int i = 0; i < n; i++)
	{
		int32_t		sum = 0;

		for (int k = 0; k < in; k++)
		{
			float		v = x[i * in + k];

			bad_x += fabsf(v - xs[i] * (xq[i * ld + k] - xz[i])) > xs[i] * 0.5001f;
			bad_w += fabsf(v - ws[i] * wq[i * ld + k]) > ws[i] * 0.5001f || wq[i * ld + k] < -127;
			sum += wq[i * ld + k];
		}
		bad_w += sum != wsum[i];
		for (int k = in; k < ld; k++)
			bad_pad += xq[i * ld + k] != 0 || wq[i * ld + k] != 0;
	}
	ok(bad_x == 0, "activations within half a step of their quantized values");
	ok(bad_w == 0, "weights within half a step, in [-127, 127], sums right");
	ok(bad_pad == 0, "padding zeroed");
	ok(xs[2] == 0 && ws[2] == 0 && xz[2] == 0, "a zero row has scale 0");
	ok(xq[3 * ld + 5] == xz[3], "0 is exact: its quantized value is the zero point");
	ok(xz[1] == 0, "an all-positive row has zero point 0");
	free(x), free(xq), free(wq);
}

/*
 * tf_quantize_rows at `path` = the scalar path, bit for bit (every byte of
 * xq, padding included, every scale and zero point), on rows of every
 * length up to 70 and of 1030 floats, with odd contents: one sign, zero,
 * a NaN (ignored by the range, quantized to 0), an infinity (the row is
 * zeroed), tiny and huge magnitudes, exact halves that round to even.
 */
static void
check_quantize_paths(const char *path)
{
	int			n = 12,
				max_in = 1030;
	int			ld = tf_quant_stride(max_in);
	float	   *x = malloc(sizeof(float) * n * max_in);
	uint8_t    *xq = malloc((size_t) n * ld),
			   *ref_q = malloc((size_t) n * ld);
	float		xs[12],
				ref_s[12];
	int32_t		xz[12],
				ref_z[12];
	int			differ = 0;
	TfIsa		level = tf_cpu_level();

	for (int in = 1; in <= max_in; in = in < 70 ? in + 1 : in < max_in ? max_in : max_in + 1)
	{
		int			row_ld = tf_quant_stride(in);

		for (int i = 0; i < n; i++)
			for (int k = 0; k < in; k++)
			{
				float	   *v = &x[i * in + k];

				*v = random_float(i < 4 ? 3 : 1000) + (i == 1 ? 5 : i == 2 ? -5 : 0);
				if (i == 3)
					*v = 0;
				else if (i == 5 && k == in / 2)
					*v = NAN;
				else if (i == 6 && k == in - 1)
					*v = INFINITY;
				else if (i == 7)
					*v *= 1e-30f;
				else if (i == 8)
					*v *= 1e30f;
				else if (i == 9)
					*v = (float) ((k % 11) - 5) * 0.5f;	/* halves of the 255 steps */
			}
		memset(xq, 0xab, (size_t) n * ld);
		memset(ref_q, 0xcd, (size_t) n * ld);
		tf_quantize_rows(x, n, in, row_ld, xq, xs, xz);
		tf_cpu_set_cap(TF_ISA_SCALAR);
		tf_quantize_rows(x, n, in, row_ld, ref_q, ref_s, ref_z);
		tf_cpu_set_cap(level);
		differ += memcmp(xq, ref_q, (size_t) n * row_ld) != 0 ||
			memcmp(xs, ref_s, sizeof(float) * n) != 0 || memcmp(xz, ref_z, sizeof(int32_t) * n) != 0;
	}
	ok(differ == 0, "%s: activations quantized as the scalar path does, bit for bit (%d lengths differ)",
	   path, differ);
	free(x), free(xq), free(ref_q);
}

/*
 * An int8 matrix quantized from random float weights w[rows, cols]: the
 * linear layer against (a) the scheme's formula in double from the same
 * quantized values, relative 1e-5, and (b) the float32 product within the
 * scheme's error bound: per term |x| ws/2 + |w| xs/2 + xs ws/4.
 */
static void
check_int8_linear(const char *path, int n, int rows, int cols)
{
	int			ld = tf_quant_stride(cols);
	char	   *image = malloc(64 + (size_t) rows * ld + 8 * (size_t) rows + 128);
	TfMatrix	m = {.format = TF_FORMAT_INT8, .rows = rows, .cols = cols, .ld = ld, .data = 64};
	float	   *w = malloc(sizeof(float) * (size_t) rows * cols);
	float	   *x = malloc(sizeof(float) * (size_t) n * cols);
	float	   *b = malloc(sizeof(float) * rows);
	float	   *y = malloc(sizeof(float) * (size_t) n * rows);
	float	   *exact = malloc(sizeof(float) * (size_t) n * rows);
	uint8_t    *xq = malloc((size_t) n * ld);
	float	   *xs = malloc(sizeof(float) * n);
	int32_t    *xz = malloc(sizeof(int32_t) * n);
	int			bad_formula = 0,
				bad_bound = 0,
				threads_diff;

	m.scales = 64 + (size_t) rows * ld;
	m.sums = m.scales + sizeof(float) * rows;
	for (size_t i = 0; i < (size_t) rows * cols; i++)
		w[i] = random_float(0.2f);
	for (size_t i = 0; i < (size_t) n * cols; i++)
		x[i] = random_float(2) + (i % 17 == 0 ? 6 : 0);	/* some outliers */
	for (int r = 0; r < rows; r++)
		b[r] = random_float(1);
	for (int k = 0; k < cols; k++)
		x[k] = 0;				/* row 0: zero */
	tf_quantize_weights(w, rows, cols, ld, TF_AT(image, m.data, int8_t),
						TF_AT(image, m.scales, float), TF_AT(image, m.sums, int32_t));
	tf_quantize_rows(x, n, cols, ld, xq, xs, xz);
	tf_matrix_linear(image, &m, x, n, b, y);
	threads_diff = count_differing_threaded(image, &m, x, n, b, y, true);
	tf_linear(x, n, cols, w, b, rows, exact);
	for (int i = 0; i < n; i++)
		for (int r = 0; r < rows; r++)
		{
			const int8_t *wq = TF_AT(image, m.data, int8_t) + (size_t) r * ld;
			float		ws = TF_AT(image, m.scales, float)[r];
			double		formula = 0,
						bound = 1e-5;
			double		got = y[(size_t) i * rows + r];

			for (int k = 0; k < cols; k++)
			{
				formula += (double) xs[i] * ws * ((int) xq[(size_t) i * ld + k] - xz[i]) * wq[k];
				bound += fabs(x[(size_t) i * cols + k]) * ws / 2 +
					fabs(w[(size_t) r * cols + k]) * xs[i] / 2 + xs[i] * ws / 4;
			}
			formula += b[r];
			bad_formula += fabs(got - formula) > 1e-5 * (1 + fabs(formula));
			bad_bound += fabs(got - exact[(size_t) i * rows + r]) > bound;
			if (i == 0)
				bad_formula += got != b[r];
		}
	ok(bad_formula == 0, "%s: int8 linear %d x %d by %d x %d = the scheme's formula (%d differ)",
	   path, n, cols, rows, cols, bad_formula);
	ok(bad_bound == 0, "%s: int8 linear %d x %d by %d x %d within the quantization bound of float32 (%d out)",
	   path, n, cols, rows, cols, bad_bound);
	ok(threads_diff == 0, "%s: int8 linear %d x %d by %d x %d the same at 3 threads, bit for bit (%d differ)",
	   path, n, cols, rows, cols, threads_diff);
	free(image), free(w), free(x), free(b), free(y), free(exact), free(xq), free(xs), free(xz);
}

/*
 * tf_int8_pack's layout: every byte where tf_quant.h says (channels past
 * rows zero), and tf_int8_packed_bytes.
 */
static void
check_pack_layout(void)
{
	int			rows = 37,
				ld = 128;
	int8_t	   *wq = malloc((size_t) rows * ld);
	int8_t	   *wp = malloc(tf_int8_packed_bytes(rows, ld));
	int			bad = 0;

	for (size_t i = 0; i < (size_t) rows * ld; i++)
		wq[i] = (int8_t) (next_random() % 255 - 127);
	tf_int8_pack(wq, rows, ld, wp);
	for (int p = 0; p < 3; p++)
		for (int g = 0; g < ld / 4; g++)
			for (int c = 0; c < 16; c++)
				for (int j = 0; j < 4; j++)
					bad += wp[((p * (ld / 4) + g) * 16 + c) * 4 + j] !=
						(16 * p + c < rows ? wq[(16 * p + c) * ld + 4 * g + j] : 0);
	ok(tf_int8_packed_bytes(rows, ld) == 48 * 128 && tf_int8_packed_bytes(16, 64) == 16 * 64,
	   "packed bytes: rows rounded up to 16, times ld");
	ok(bad == 0, "packed layout as documented, channels past rows zero (%d bytes differ)", bad);
	free(wq), free(wp);
}

/*
 * tf_int8_linear_packed on the current path, over channels [c0, c1) for
 * c0 in {0, 16, 5} and c1 in {rows, rows - 1, c0 + 1}, against the naive
 * int32 sums (tf_int8_dot_naive on the row-major weights) dequantized by
 * the formula in plain C, in the order every path uses (xs ws first, then
 * times the sum, then added to y): bit for bit, y's columns past c1 - c0
 * untouched; over all channels, also equal to tf_int8_linear on the
 * row-major weights (applied twice, once each, to the same y). Then the sums alone (xs = ws = 1, xz = 0, y = 0: y is the
 * sum converted to float), exact whenever |sum| < 2^24, i.e. ld <= 512.
 * fill 0: random bytes with the extremes mixed in; 1: only extremes (xq 0
 * or 255, wq -127 or 127). Returns the number of differing values.
 */
static int
check_packed(int n, int rows, int in, int fill)
{
	int			ld = tf_quant_stride(in);
	uint8_t    *xq = malloc((size_t) n * ld);
	int8_t	   *wq = malloc((size_t) rows * ld);
	int8_t	   *wp = malloc(tf_int8_packed_bytes(rows, ld));
	int32_t    *sums = malloc(sizeof(int32_t) * (size_t) n * rows);	/* sums[n, rows] */
	float	   *xs = malloc(sizeof(float) * n),
			   *ws = malloc(sizeof(float) * rows),
			   *ones = malloc(sizeof(float) * (n > rows ? n : rows));
	int32_t    *xz = malloc(sizeof(int32_t) * n),
			   *wsum = calloc(rows, sizeof(int32_t)),
			   *zeros = calloc(n, sizeof(int32_t));
	int			ldy = rows + 3;
	float	   *y = malloc(sizeof(float) * (size_t) n * ldy),
			   *ref = malloc(sizeof(float) * (size_t) n * ldy);
	static const int starts[] = {0, 16, 5};
	int			differ = 0;

	for (size_t i = 0; i < (size_t) n * ld; i++)
	{
		unsigned	v = next_random();

		xq[i] = fill == 1 || v % 7 == 0 ? (v & 8 ? 255 : 0) : (uint8_t) (v >> 4);
	}
	for (int r = 0; r < rows; r++)
		for (int k = 0; k < ld; k++)
		{
			unsigned	v = next_random();
			int8_t		w = fill == 1 || v % 5 == 0 ? (v & 8 ? 127 : -127) : (int8_t) (v % 255 - 127);

			wq[(size_t) r * ld + k] = k < in ? w : 0;
			wsum[r] += wq[(size_t) r * ld + k];
		}
	for (int i = 0; i < n; i++)
	{
		xs[i] = random_float(0.05f) + 0.06f;
		xz[i] = (int32_t) (next_random() % 256);
	}
	for (int r = 0; r < rows; r++)
		ws[r] = random_float(0.004f) + 0.005f;
	for (int i = 0; i < (n > rows ? n : rows); i++)
		ones[i] = 1;
	tf_int8_dot_naive(xq, n, ld, wq, rows, sums, rows);
	tf_int8_pack(wq, rows, ld, wp);
	for (int s = 0; s < 3; s++)
		for (int e = 0; e < 3; e++)
		{
			int			c0 = starts[s],
						c1 = e == 0 ? rows : e == 1 ? rows - 1 : c0 + 1;

			if (c0 >= c1 || c1 > rows)
				continue;
			for (size_t i = 0; i < (size_t) n * ldy; i++)
				y[i] = ref[i] = random_float(1);
			for (int i = 0; i < n; i++)
				for (int c = c0; c < c1; c++)
				{
					float		scale = xs[i] * ws[c];
					float		term = scale * (float) (sums[(size_t) i * rows + c] - xz[i] * wsum[c]);

					ref[(size_t) i * ldy + c - c0] += term;
				}
			tf_int8_linear_packed(xq, xs, xz, n, ld, wp, ws, wsum, c0, c1, y, ldy);
			for (size_t i = 0; i < (size_t) n * ldy; i++)
				differ += !same_float(y[i], ref[i]);
			if (c0 == 0 && c1 == rows)
			{
				/* and tf_int8_linear on the row-major weights gives the same */
				for (size_t i = 0; i < (size_t) n * ldy; i++)
					ref[i] = y[i];
				tf_int8_linear(xq, xs, xz, n, ld, wq, ws, wsum, rows, ref, ldy);
				tf_int8_linear_packed(xq, xs, xz, n, ld, wp, ws, wsum, 0, rows, y, ldy);
				for (size_t i = 0; i < (size_t) n * ldy; i++)
					differ += !same_float(y[i], ref[i]);
			}
		}
	if (ld <= 512)
	{
		memset(y, 0, sizeof(float) * (size_t) n * ldy);
		tf_int8_linear_packed(xq, ones, zeros, n, ld, wp, ones, wsum, 0, rows, y, ldy);
		for (int i = 0; i < n; i++)
			for (int c = 0; c < rows; c++)
				differ += y[(size_t) i * ldy + c] != (float) sums[(size_t) i * rows + c];
	}
	free(xq), free(wq), free(wp), free(sums), free(xs), free(ws), free(ones);
	free(xz), free(wsum), free(zeros), free(y), free(ref);
	return differ;
}

/* check_packed over n x rows (in cycled over the depths), and extremes. */
static void
check_packed_shapes(const char *path)
{
	static const int ns[] = {1, 2, 3, 5, 11, 12, 13, 24, 25, 64, 100};
	static const int rows[] = {1, 15, 16, 17, 31, 32, 33, 100, 384, 1152};
	static const int ins[] = {1, 3, 63, 64, 65, 384, 1536};

	for (size_t a = 0; a < sizeof(ns) / sizeof(int); a++)
	{
		int			differ = 0;

		for (size_t b = 0; b < sizeof(rows) / sizeof(int); b++)
			differ += check_packed(ns[a], rows[b], ins[(a + b) % 7], 0);
		ok(differ == 0, "%s: packed int8 linear, %d rows by 1 to 1152 channels, sub-ranges, "
		   "= naive sums dequantized, bit for bit (%d differ)", path, ns[a], differ);
	}
	for (size_t c = 0; c < sizeof(ins) / sizeof(int); c++)
	{
		int			differ = check_packed(13, 33, ins[c], 1) + check_packed(1, 47, ins[c], 1);

		ok(differ == 0, "%s: packed int8 linear at depth %d, extremes only (0, 255 x -127, 127), "
		   "bit for bit (%d differ)", path, ins[c], differ);
	}
}

int
main(void)
{
	TfError		err;
	static const int dot_n[] = {1, 2, 3, 4, 5, 7, 9, 64};
	static const int dot_cols[] = {1, 2, 3, 4, 5, 6, 9, 17};
	static const int dot_in[] = {1, 63, 64, 65, 200, 1024};

	if (!tf_blas_init(&err))
	{
		printf("1..0 # skip %s\n", err.message);
		return 0;
	}
	tf_blas_set_threads(1);
	check_quantize();
	check_pack_layout();
	for (int level = TF_ISA_SCALAR; level <= (int) tf_cpu_hardware_level(); level++)
	{
		char		path[32];

		tf_cpu_set_cap((TfIsa) level);
		snprintf(path, sizeof(path), "%s%s", tf_cpu_name((TfIsa) level),
				 tf_cpu_has_vnni() ? " (VNNI)" : "");
		check_widen(path);
		check_quantize_paths(path);
		for (int f = TF_FORMAT_F16; f <= TF_FORMAT_BF16; f++)
		{
			check_half_linear(path, (TfFormat) f, 1, 37, 45);
			check_half_linear(path, (TfFormat) f, 3, 300, 64);
			check_half_linear(path, (TfFormat) f, 64, 130, 100);
			check_half_linear(path, (TfFormat) f, 65, 600, 33);
			check_half_linear(path, (TfFormat) f, 200, 1500, 256);
		}
		for (size_t a = 0; a < sizeof(dot_n) / sizeof(int); a++)
			for (size_t c = 0; c < sizeof(dot_cols) / sizeof(int); c++)
				check_dot(path, dot_n[a], dot_cols[c], dot_in[(a + c) % 6], 0);
		for (int fill = 1; fill <= 3; fill++)
		{
			check_dot(path, 5, 7, 4096, fill);
			check_dot(path, 4, 4, 63, fill);
		}
		check_int8_linear(path, 1, 1, 1);
		check_int8_linear(path, 3, 70, 45);
		check_int8_linear(path, 67, 130, 256);
		check_int8_linear(path, 130, 67, 1030);
		check_packed_shapes(path);
	}
	tf_cpu_reset_cap();
	return done_testing();
}
