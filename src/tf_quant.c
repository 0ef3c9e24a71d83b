/*
 * tf_quant.c: int8 quantization and products (tf_quant.h).
 *
 * tf_int8_dot computes a block of int32 sums with a register tile of rows
 * of xq by rows of wq (4 x 4 on VNNI, 4 x 2 with vpmaddwd): each load of a
 * row of one serves every row of the other, and a tile's rows of wq stay in
 * the L1 cache while every row of xq passes over them.
 *
 * tf_int8_linear_packed runs on weights packed in panels of 16 channels
 * (tf_quant.h): on VNNI a tile of 4 rows by 4 panels keeps 16 registers of
 * 16 channel sums each, fed per k-group by one load of each panel and a
 * broadcast of 4 bytes of each row, and dequantizes them straight from the
 * registers, with no reduction across lanes. (A tile of 24 registers, 12
 * rows by 2 panels, would load less per product, but GCC then copies and
 * spills the sums in the inner loop and it runs at half the speed.) The
 * panels are taken in blocks of 64 kB that stay in the L2 cache while every
 * tile of rows passes over them. The other paths compute a panel's 16 sums
 * for 2 rows at a time (vpmaddwd or plain C) and dequantize them as
 * tf_int8_linear does.
 */
#include "tf_quant.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "tf_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define BLOCK 64				/* rows of x and of w per tf_int8_dot call in tf_int8_linear */

int
tf_quant_stride(int in)
{
	return (in + TF_QUANT_ALIGN - 1) / TF_QUANT_ALIGN * TF_QUANT_ALIGN;
}

/* Nearest integer to v (ties to even), clamped to [lo, hi]. */
static inline int
round_clamp(float v, int lo, int hi)
{
	long		r = lrintf(v);

	return r < lo ? lo : r > hi ? hi : (int) r;
}

void
tf_quantize_weights(const float *w, int rows, int in, int ld,
					int8_t *wq, float *ws, int32_t *wsum)
{
	for (int r = 0; r < rows; r++)
	{
		const float *row = w + (size_t) r * in;
		int8_t	   *q = wq + (size_t) r * ld;
		float		amax = 0;
		int32_t		sum = 0;

		for (int k = 0; k < in; k++)
			amax = fmaxf(amax, fabsf(row[k]));
		for (int k = 0; k < in; k++)
		{
			q[k] = amax > 0 ? (int8_t) round_clamp(row[k] * (127.0f / amax), -127, 127) : 0;
			sum += q[k];
		}
		memset(q + in, 0, ld - in);
		ws[r] = amax / 127.0f;
		wsum[r] = sum;
	}
}

/* The scale and zero point of a row whose range is [lo, hi] (lo <= 0 <=
 * hi): false when the row is all zero or not finite (it contributes
 * nothing), else *inv = 1 / scale. */
static inline bool
row_scale(float lo, float hi, float *scale, float *inv, int *zero)
{
	*scale = (hi - lo) / 255.0f;
	if (!(*scale > 0) || !isfinite(*scale))
		return false;
	*inv = 1.0f / *scale;
	*zero = round_clamp(-lo * *inv, 0, 255);
	return true;
}

/* One row x[in] into q[ld] (padding zeroed), plain C. */
static void
quantize_row_scalar(const float *x, int in, int ld, uint8_t *q, float *xs, int32_t *xz)
{
	float		lo = 0,
				hi = 0,
				scale,
				inv;
	int			zero;

	for (int k = 0; k < in; k++)
	{
		lo = fminf(lo, x[k]);
		hi = fmaxf(hi, x[k]);
	}
	if (!row_scale(lo, hi, &scale, &inv, &zero))
	{
		memset(q, 0, ld);
		*xs = 0;
		*xz = 0;
		return;
	}
	for (int k = 0; k < in; k++)
		q[k] = (uint8_t) round_clamp(x[k] * inv + (float) zero, 0, 255);
	memset(q + in, 0, ld - in);
	*xs = scale;
	*xz = zero;
}

#if defined(__x86_64__)

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq")))

/*
 * quantize_row_scalar on AVX-512, bit for bit: min/max ignore NaN as
 * fminf/fmaxf do (vminps returns its second operand when either is NaN),
 * the product and sum are rounded apart (the _round_ forms are never fused
 * into an FMA), and vcvtps2dq rounds to nearest even as lrintf does (NaN
 * gives INT_MIN, clamped to 0 as lrintf's LONG_MIN is).
 */
static AVX512 void
quantize_row_avx512(const float *x, int in, int ld, uint8_t *q, float *xs, int32_t *xz)
{
	__m512		lo = _mm512_setzero_ps(),
				hi = _mm512_setzero_ps(),
				inv_v,
				zero_v;
	__m512i		top = _mm512_set1_epi32(255),
				bottom = _mm512_setzero_si512();
	float		scale,
				inv;
	int			zero;

	for (int k = 0; k < in; k += 16)
	{
		/* lanes past the row read as 0, which is inside every range */
		__m512		v = _mm512_maskz_loadu_ps(in - k >= 16 ? 0xffff : (1u << (in - k)) - 1, x + k);

		lo = _mm512_min_ps(v, lo);
		hi = _mm512_max_ps(v, hi);
	}
	if (!row_scale(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), &scale, &inv, &zero))
	{
		memset(q, 0, ld);
		*xs = 0;
		*xz = 0;
		return;
	}
	inv_v = _mm512_set1_ps(inv);
	zero_v = _mm512_set1_ps((float) zero);
	for (int k = 0; k < ld; k += 16)
	{
		__mmask16	m = in - k >= 16 ? 0xffff : in > k ? (1u << (in - k)) - 1 : 0;
		__m512		v = _mm512_maskz_loadu_ps(m, x + k);
		__m512		t = _mm512_add_round_ps(_mm512_mul_round_ps(v, inv_v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
											zero_v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		__m512i		r = _mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(t), top), bottom);

		/* padding (lanes past the row) is zero */
		_mm_storeu_si128((__m128i *) (q + k), _mm512_maskz_cvtepi32_epi8(m, r));
	}
	*xs = scale;
	*xz = zero;
}

#endif

void
tf_quantize_rows(const float *x, int n, int in, int ld,
				 uint8_t *xq, float *xs, int32_t *xz)
{
	for (int i = 0; i < n; i++)
	{
#if defined(__x86_64__)
		if (tf_cpu_level() >= TF_ISA_AVX512)
		{
			quantize_row_avx512(x + (size_t) i * in, in, ld, xq + (size_t) i * ld, xs + i, xz + i);
			continue;
		}
#endif
		quantize_row_scalar(x + (size_t) i * in, in, ld, xq + (size_t) i * ld, xs + i, xz + i);
	}
}

void
tf_int8_dot_naive(const uint8_t *xq, int n, int ld, const int8_t *wq, int cols,
				  int32_t *acc, int ldacc)
{
	for (int i = 0; i < n; i++)
		for (int c = 0; c < cols; c++)
		{
			int32_t		sum = 0;

			for (int k = 0; k < ld; k++)
				sum += (int32_t) xq[(size_t) i * ld + k] * wq[(size_t) c * ld + k];
			acc[(size_t) i * ldacc + c] = sum;
		}
}

/*
 * The tiles of one path over a block: xq[n, ld] by wq[cols, ld] into
 * acc[n, ldacc], with tile(x, w, ld, acc, ldacc, rows, cols) inlined for
 * rows <= TR, cols <= TC (constants, so that its loops unroll).
 */
#define DOT_BLOCK(name, target, tile, TR, TC) \
static target void \
name(const uint8_t *xq, int n, int ld, const int8_t *wq, int cols, int32_t *acc, int ldacc) \
{ \
	int			c = 0; \
 \
	for (; c + TC <= cols; c += TC) \
	{ \
		int			i = 0; \
 \
		for (; i + TR <= n; i += TR) \
			tile(xq + (size_t) i * ld, wq + (size_t) c * ld, ld, acc + (size_t) i * ldacc + c, ldacc, TR, TC); \
		for (; i < n; i++) \
			tile(xq + (size_t) i * ld, wq + (size_t) c * ld, ld, acc + (size_t) i * ldacc + c, ldacc, 1, TC); \
	} \
	for (; c < cols; c++) \
	{ \
		int			i = 0; \
 \
		for (; i + TR <= n; i += TR) \
			tile(xq + (size_t) i * ld, wq + (size_t) c * ld, ld, acc + (size_t) i * ldacc + c, ldacc, TR, 1); \
		for (; i < n; i++) \
			tile(xq + (size_t) i * ld, wq + (size_t) c * ld, ld, acc + (size_t) i * ldacc + c, ldacc, 1, 1); \
	} \
}

#if defined(__x86_64__)

#define AVX2 __attribute__((target("avx2")))
#define VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vnni")))

/* Sum of the eight int32 lanes of v. */
static inline AVX2 int32_t
lane_sum_epi32(__m256i v)
{
	__m128i		s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));

	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(s);
}

/* acc[r, c] = xq[r, :] . wq[c, :] by vpmaddwd on operands widened to
 * int16, 16 bytes of k per step (rows <= 4, cols <= 2). */
static inline AVX2 __attribute__((always_inline)) void
tile_avx2(const uint8_t *x, const int8_t *w, int ld, int32_t *acc, int ldacc, int rows, int cols)
{
	__m256i		a[4][2];		/* a[r][c]: 8 partial int32 sums */

#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
		for (int c = 0; c < cols; c++)
			a[r][c] = _mm256_setzero_si256();
	for (int k = 0; k < ld; k += 16)
	{
		__m256i		xv[4];

#pragma GCC unroll 4
		for (int r = 0; r < rows; r++)
			xv[r] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (x + (size_t) r * ld + k)));
#pragma GCC unroll 2
		for (int c = 0; c < cols; c++)
		{
			__m256i		wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (w + (size_t) c * ld + k)));

#pragma GCC unroll 4
			for (int r = 0; r < rows; r++)
				a[r][c] = _mm256_add_epi32(a[r][c], _mm256_madd_epi16(xv[r], wv));
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
		for (int c = 0; c < cols; c++)
			acc[(size_t) r * ldacc + c] = lane_sum_epi32(a[r][c]);
}

/* The lane sums of v[0..3], in that order: the four reductions done
 * together (nine instructions, against eight each apart). */
static inline VNNI __m128i
sum4_epi32(const __m512i *v)
{
	__m512i		s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]),
									   _mm512_unpackhi_epi32(v[0], v[1]));
	__m512i		s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]),
									   _mm512_unpackhi_epi32(v[2], v[3]));
	/* each 128-bit lane now holds partial sums of v0, v1, v2, v3 */
	__m512i		s = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
	__m256i		h = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));

	return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* acc[r, c] = xq[r, :] . wq[c, :] by vpdpbusd, 64 bytes of k per step
 * (rows <= 4, cols <= 4). */
static inline VNNI __attribute__((always_inline)) void
tile_vnni(const uint8_t *x, const int8_t *w, int ld, int32_t *acc, int ldacc, int rows, int cols)
{
	__m512i		a[4][4];		/* a[r][c]: 16 partial int32 sums */

#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
		for (int c = 0; c < cols; c++)
			a[r][c] = _mm512_setzero_si512();
	for (int k = 0; k < ld; k += 64)
	{
		__m512i		xv[4];

#pragma GCC unroll 4
		for (int r = 0; r < rows; r++)
			xv[r] = _mm512_loadu_si512(x + (size_t) r * ld + k);
#pragma GCC unroll 4
		for (int c = 0; c < cols; c++)
		{
			__m512i		wv = _mm512_loadu_si512(w + (size_t) c * ld + k);

#pragma GCC unroll 4
			for (int r = 0; r < rows; r++)
				a[r][c] = _mm512_dpbusd_epi32(a[r][c], xv[r], wv);
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
	{
		if (cols == 4)
			_mm_storeu_si128((__m128i *) (acc + (size_t) r * ldacc), sum4_epi32(a[r]));
		else
#pragma GCC unroll 4
			for (int c = 0; c < cols; c++)
				acc[(size_t) r * ldacc + c] = _mm512_reduce_add_epi32(a[r][c]);
	}
}

DOT_BLOCK(dot_avx2, AVX2, tile_avx2, 4, 2)
DOT_BLOCK(dot_vnni, VNNI, tile_vnni, 4, 4)

#endif

void
tf_int8_dot(const uint8_t *xq, int n, int ld, const int8_t *wq, int cols,
			int32_t *acc, int ldacc)
{
#if defined(__x86_64__)
	if (tf_cpu_has_vnni())
		dot_vnni(xq, n, ld, wq, cols, acc, ldacc);
	else if (tf_cpu_level() >= TF_ISA_AVX2)
		dot_avx2(xq, n, ld, wq, cols, acc, ldacc);
	else
#endif
		tf_int8_dot_naive(xq, n, ld, wq, cols, acc, ldacc);
}

/* yrow[c] += xs ws[c] (acc[c] - xz wsum[c]) for c < cols: one row of
 * int32 sums dequantized, plain C. */
static void
dequantize_row_scalar(const int32_t *acc, int cols, float xs, int32_t xz,
					  const float *ws, const int32_t *wsum, float *yrow)
{
	for (int c = 0; c < cols; c++)
		yrow[c] += xs * ws[c] * (float) (acc[c] - xz * wsum[c]);
}

#if defined(__x86_64__)

/*
 * The terms xs ws[c] (acc[c] - xz wsum[c]) of 16 channels (the lanes in m;
 * ws, wsum point at the first lane's channel) as dequantize_row_scalar
 * computes them, bit for bit: each product rounded apart, in the same order.
 */
static inline AVX512 __m512
dequantized_avx512(__m512i acc, __mmask16 m, __m512 xs_v, __m512i xz_v,
				   const float *ws, const int32_t *wsum)
{
	__m512i		sum = _mm512_sub_epi32(acc, _mm512_mullo_epi32(xz_v, _mm512_maskz_loadu_epi32(m, wsum)));
	__m512		scale = _mm512_mul_round_ps(xs_v, _mm512_maskz_loadu_ps(m, ws),
											_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);

	return _mm512_mul_round_ps(scale, _mm512_cvtepi32_ps(sum), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* dequantize_row_scalar on AVX-512, bit for bit (the sum rounded apart). */
static AVX512 void
dequantize_row_avx512(const int32_t *acc, int cols, float xs, int32_t xz,
					  const float *ws, const int32_t *wsum, float *yrow)
{
	__m512		xs_v = _mm512_set1_ps(xs);
	__m512i		xz_v = _mm512_set1_epi32(xz);

	for (int c = 0; c < cols; c += 16)
	{
		__mmask16	m = cols - c >= 16 ? 0xffff : (1u << (cols - c)) - 1;
		__m512		term = dequantized_avx512(_mm512_maskz_loadu_epi32(m, acc + c), m, xs_v, xz_v,
											  ws + c, wsum + c);

		_mm512_mask_storeu_ps(yrow + c, m,
							  _mm512_add_round_ps(_mm512_maskz_loadu_ps(m, yrow + c), term,
												  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
	}
}

#endif

/* dequantize_row_scalar on the best path the CPU level allows. */
static void
dequantize_row(const int32_t *acc, int cols, float xs, int32_t xz,
			   const float *ws, const int32_t *wsum, float *yrow)
{
#if defined(__x86_64__)
	if (tf_cpu_level() >= TF_ISA_AVX512)
	{
		dequantize_row_avx512(acc, cols, xs, xz, ws, wsum, yrow);
		return;
	}
#endif
	dequantize_row_scalar(acc, cols, xs, xz, ws, wsum, yrow);
}

void
tf_int8_linear(const uint8_t *xq, const float *xs, const int32_t *xz, int n, int ld,
			   const int8_t *wq, const float *ws, const int32_t *wsum, int cols,
			   float *y, int ldy)
{
	int32_t		acc[BLOCK * BLOCK];	/* acc[rows, block cols] */

	for (int c0 = 0; c0 < cols; c0 += BLOCK)
	{
		int			bc = cols - c0 < BLOCK ? cols - c0 : BLOCK;

		for (int i0 = 0; i0 < n; i0 += BLOCK)
		{
			int			br = n - i0 < BLOCK ? n - i0 : BLOCK;

			tf_int8_dot(xq + (size_t) i0 * ld, br, ld, wq + (size_t) c0 * ld, bc, acc, BLOCK);
			for (int i = 0; i < br; i++)
				dequantize_row(acc + i * BLOCK, bc, xs[i0 + i], xz[i0 + i], ws + c0, wsum + c0,
							   y + (size_t) (i0 + i) * ldy + c0);
		}
	}
}

/* ---- packed weights (tf_int8_pack, tf_int8_linear_packed) ---- */

#define PANEL TF_QUANT_PANEL
#define PACKED_ROWS 4			/* rows of a VNNI tile */
#define PACKED_PANELS 4			/* panels of a VNNI tile: 16 accumulators */
#define PACKED_BLOCK_BYTES (64 * 1024)	/* packed weights per pass of the row tiles */

size_t
tf_int8_packed_bytes(int rows, int ld)
{
	return (size_t) ((rows + PANEL - 1) / PANEL * PANEL) * ld;
}

void
tf_int8_pack(const int8_t *wq, int rows, int ld, int8_t *wp)
{
	int			panels = (rows + PANEL - 1) / PANEL;

	for (int p = 0; p < panels; p++)
		for (int g = 0; g < ld / 4; g++)
			for (int c = 0; c < PANEL; c++)
				for (int j = 0; j < 4; j++)
				{
					int			r = p * PANEL + c;

					wp[(((size_t) p * (ld / 4) + g) * PANEL + c) * 4 + j] =
						r < rows ? wq[(size_t) r * ld + 4 * g + j] : 0;
				}
}

/* The arguments of tf_int8_linear_packed, passed down to its tiles. */
typedef struct PackedLayer
{
	const uint8_t *xq;			/* xq[n, ld] */
	const float *xs;			/* xs[n] */
	const int32_t *xz;			/* xz[n] */
	int			n;
	int			ld;
	const int8_t *wp;			/* the packed weights, panels of PANEL * ld bytes */
	const float *ws;			/* ws[channel] */
	const int32_t *wsum;		/* wsum[channel] */
	int			c0;				/* channels [c0, c1) are computed */
	int			c1;
	float	   *y;				/* y[n, ldy], column 0 is channel c0 */
	int			ldy;
} PackedLayer;

/* The channels [*lo, *hi) of panel p that lie in [c0, c1). */
static inline void
panel_channels(const PackedLayer *L, int p, int *lo, int *hi)
{
	*lo = L->c0 > p * PANEL ? L->c0 : p * PANEL;
	*hi = L->c1 < (p + 1) * PANEL ? L->c1 : (p + 1) * PANEL;
}

/* acc[r][c] = xq[r, :] . (channel c of panel w) for r < rows, plain C. */
static void
panel_sums_scalar(const uint8_t *x, int ld, const int8_t *w, int rows, int32_t acc[][PANEL])
{
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < PANEL; c++)
		{
			int32_t		sum = 0;

			for (int g = 0; g < ld / 4; g++)
				for (int j = 0; j < 4; j++)
					sum += (int32_t) x[(size_t) r * ld + 4 * g + j] * w[((size_t) g * PANEL + c) * 4 + j];
			acc[r][c] = sum;
		}
}

#if defined(__x86_64__)

/*
 * panel_sums_scalar by vpmaddwd (rows <= 2, a constant where inlined): a
 * k-group of the panel is 4 loads of 4 channels x 4 bytes widened to int16,
 * multiplied by the row's 4 bytes widened and repeated; each int32 lane
 * holds the sum of a channel's products at j = 0, 1 or at j = 2, 3, and the
 * two are added at the end.
 */
static inline AVX2 __attribute__((always_inline)) void
panel_sums_avx2_tile(const uint8_t *x, int ld, const int8_t *w, int rows, int32_t acc[][PANEL])
{
	__m256i		a[2][4];		/* a[r][q]: channels 4q .. 4q + 3, two lanes each */

#pragma GCC unroll 2
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
		for (int q = 0; q < 4; q++)
			a[r][q] = _mm256_setzero_si256();
	for (int g = 0; g < ld / 4; g++)
	{
		__m256i		xv[2];

#pragma GCC unroll 2
		for (int r = 0; r < rows; r++)
		{
			int32_t		four;

			memcpy(&four, x + (size_t) r * ld + 4 * g, 4);
			xv[r] = _mm256_cvtepu8_epi16(_mm_set1_epi32(four));
		}
#pragma GCC unroll 4
		for (int q = 0; q < 4; q++)
		{
			__m256i		wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (w + (size_t) g * 64 + 16 * q)));

#pragma GCC unroll 2
			for (int r = 0; r < rows; r++)
				a[r][q] = _mm256_add_epi32(a[r][q], _mm256_madd_epi16(xv[r], wv));
		}
	}
#pragma GCC unroll 2
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
		for (int q = 0; q < 4; q += 2)
		{
			/* hadd: channels 4q, 4q + 1, 4q + 4, 4q + 5 | 4q + 2, 4q + 3, 4q + 6, 4q + 7 */
			__m256i		s = _mm256_hadd_epi32(a[r][q], a[r][q + 1]);

			_mm256_storeu_si256((__m256i *) (acc[r] + 4 * q),
								_mm256_permute4x64_epi64(s, _MM_SHUFFLE(3, 1, 2, 0)));
		}
}

/* panel_sums_scalar by vpmaddwd, rows <= 2. */
static AVX2 void
panel_sums_avx2(const uint8_t *x, int ld, const int8_t *w, int rows, int32_t acc[][PANEL])
{
	if (rows == 2)
		panel_sums_avx2_tile(x, ld, w, 2, acc);
	else
		panel_sums_avx2_tile(x, ld, w, 1, acc);
}

/*
 * y[r, lo - c0 ...] += the dequantized sums a (one panel, p, of one row:
 * xs, xz) for the panel's channels [lo, hi) in [c0, c1): a whole panel by
 * plain loads and stores, a partial one by a mask (expanded from and
 * compressed into its place in y).
 */
static inline VNNI __attribute__((always_inline)) void
store_panel_vnni(const PackedLayer *L, __m512i a, int p, float xs, int32_t xz, float *yrow)
{
	int			lo,
				hi,
				base = p * PANEL;
	__m512		xs_v = _mm512_set1_ps(xs);
	__m512i		xz_v = _mm512_set1_epi32(xz);
	float	   *yp;

	panel_channels(L, p, &lo, &hi);
	yp = yrow + (lo - L->c0);
	if (hi - lo == PANEL)
	{
		__m512		term = dequantized_avx512(a, 0xffff, xs_v, xz_v, L->ws + base, L->wsum + base);

		_mm512_storeu_ps(yp, _mm512_add_round_ps(_mm512_loadu_ps(yp), term,
												 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
	}
	else
	{
		__mmask16	m = (__mmask16) (((1u << (hi - base)) - 1) & ~((1u << (lo - base)) - 1));
		__m512		term = dequantized_avx512(a, m, xs_v, xz_v, L->ws + base, L->wsum + base);

		_mm512_mask_compressstoreu_ps(yp, m,
									  _mm512_add_round_ps(_mm512_maskz_expandloadu_ps(m, yp), term,
														  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
	}
}

/*
 * Rows i .. i + rows - 1 by panels p .. p + panels - 1 (constants where
 * inlined; rows <= PACKED_ROWS, panels <= PACKED_PANELS): per k-group, one 64-byte load of each
 * panel, a broadcast of each row's 4 bytes, and a vpdpbusd per row and
 * panel into 16 channel sums; then the sums dequantized into y.
 */
static inline VNNI __attribute__((always_inline)) void
tile_packed_vnni(const PackedLayer *L, int i, int rows, int p, int panels)
{
	size_t		panel_bytes = (size_t) PANEL * L->ld;
	const uint8_t *x = L->xq + (size_t) i * L->ld;
	const int8_t *w = L->wp + p * panel_bytes;
	__m512i		a[PACKED_ROWS][PACKED_PANELS];	/* a[r][q]: the sums of row r, panel p + q */

#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
		for (int q = 0; q < panels; q++)
			a[r][q] = _mm512_setzero_si512();
	for (int g = 0; g < L->ld / 4; g++)
	{
		__m512i		wv[PACKED_PANELS];

#pragma GCC unroll 4
		for (int q = 0; q < panels; q++)
			wv[q] = _mm512_loadu_si512(w + q * panel_bytes + (size_t) g * 64);
#pragma GCC unroll 4
		for (int r = 0; r < rows; r++)
		{
			int32_t		four;
			__m512i		xv;

			memcpy(&four, x + (size_t) r * L->ld + 4 * g, 4);
			xv = _mm512_set1_epi32(four);
#pragma GCC unroll 4
			for (int q = 0; q < panels; q++)
				a[r][q] = _mm512_dpbusd_epi32(a[r][q], xv, wv[q]);
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
		for (int q = 0; q < panels; q++)
			store_panel_vnni(L, a[r][q], p + q, L->xs[i + r], L->xz[i + r],
							 L->y + (size_t) (i + r) * L->ldy);
}

/* Rows i .. i + rows - 1 (a constant where inlined) by panels [pb, pe),
 * PACKED_PANELS a tile, then the last 2 and 1. */
static inline VNNI __attribute__((always_inline)) void
tile_row_packed_vnni(const PackedLayer *L, int i, int rows, int pb, int pe)
{
	int			p = pb;

	for (; p + PACKED_PANELS <= pe; p += PACKED_PANELS)
		tile_packed_vnni(L, i, rows, p, PACKED_PANELS);
	if (p + 2 <= pe)
	{
		tile_packed_vnni(L, i, rows, p, 2);
		p += 2;
	}
	if (p < pe)
		tile_packed_vnni(L, i, rows, p, 1);
}

/*
 * tf_int8_linear_packed on AVX-512 VNNI: the panels in blocks of about
 * PACKED_BLOCK_BYTES, which stay in the L2 cache while every tile of rows
 * passes over them.
 */
static VNNI void
linear_packed_vnni(const PackedLayer *L)
{
	int			p0 = L->c0 / PANEL,
				p1 = (L->c1 + PANEL - 1) / PANEL;
	int			block = PACKED_BLOCK_BYTES / (PANEL * L->ld);

	block = block < PACKED_PANELS ? PACKED_PANELS : block - block % PACKED_PANELS;
	for (int pb = p0; pb < p1; pb += block)
	{
		int			pe = p1 - pb < block ? p1 : pb + block;
		int			i;

		for (i = 0; i + PACKED_ROWS <= L->n; i += PACKED_ROWS)
			tile_row_packed_vnni(L, i, PACKED_ROWS, pb, pe);
		/* the last rows, fewer than a tile, in one pass over the block */
		switch (L->n - i)
		{
			case 3:
				tile_row_packed_vnni(L, i, 3, pb, pe);
				break;
			case 2:
				tile_row_packed_vnni(L, i, 2, pb, pe);
				break;
			case 1:
				tile_row_packed_vnni(L, i, 1, pb, pe);
				break;
		}
	}
}

#endif

void
tf_int8_linear_packed(const uint8_t *xq, const float *xs, const int32_t *xz, int n, int ld,
					  const int8_t *wp, const float *ws, const int32_t *wsum, int c0, int c1,
					  float *y, int ldy)
{
	PackedLayer L = {xq, xs, xz, n, ld, wp, ws, wsum, c0, c1, y, ldy};
	int32_t		acc[2][PANEL];	/* acc[row][channel of the panel] */

	if (n <= 0 || c1 <= c0)
		return;
#if defined(__x86_64__)
	if (tf_cpu_has_vnni())
	{
		linear_packed_vnni(&L);
		return;
	}
#endif
	/* the other paths: each panel's int32 sums for 2 rows at a time, then dequantized */
	for (int p = c0 / PANEL; p < (c1 + PANEL - 1) / PANEL; p++)
	{
		const int8_t *w = wp + (size_t) p * PANEL * ld;
		int			lo,
					hi;

		panel_channels(&L, p, &lo, &hi);
		for (int i = 0; i < n; i += 2)
		{
			int			rows = n - i < 2 ? n - i : 2;

#if defined(__x86_64__)
			if (tf_cpu_level() >= TF_ISA_AVX2)
				panel_sums_avx2(xq + (size_t) i * ld, ld, w, rows, acc);
			else
#endif
				panel_sums_scalar(xq + (size_t) i * ld, ld, w, rows, acc);
			for (int r = 0; r < rows; r++)
				dequantize_row(acc[r] + (lo - p * PANEL), hi - lo, xs[i + r], xz[i + r], ws + lo,
							   wsum + lo, y + (size_t) (i + r) * ldy + (lo - c0));
		}
	}
}
