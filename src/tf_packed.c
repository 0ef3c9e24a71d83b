/*
 * tf_packed.c: packing weights in panels, and the product over them
 * (tf_packed.h): the kernel (tf_packed.inc) built for AVX-512 and AVX2,
 * each for float32, F16 and BF16 weights, and a plain C path.
 */
#include "tf_packed.h"

#include <string.h>

#include "tf_cpu.h"
#include "tf_widen.h"

size_t
tf_packed_elements(int rows, int in)
{
	return (size_t) ((rows + TF_PANEL - 1) / TF_PANEL) * TF_PANEL * (size_t) in;
}

void
tf_pack_panels(const void *w, int rows, int in, size_t elem_size, void *wp)
{
	const char *src = w;
	char	   *dst = wp;

	memset(wp, 0, tf_packed_elements(rows, in) * elem_size);
	for (int r = 0; r < rows; r++)
	{
		size_t		panel = (size_t) (r / TF_PANEL) * in * TF_PANEL;

		for (int k = 0; k < in; k++)
			memcpy(dst + (panel + (size_t) k * TF_PANEL + r % TF_PANEL) * elem_size,
				   src + ((size_t) r * in + k) * elem_size, elem_size);
	}
}

/* Weight k of channel c of the packed matrix wp[?, in], as a float. */
static inline float
packed_weight(TfFormat format, const void *wp, int in, int c, int k)
{
	size_t		i = ((size_t) (c / TF_PANEL) * in + k) * TF_PANEL + c % TF_PANEL;

	switch (format)
	{
		case TF_FORMAT_F16:
			return tf_f16_to_f32(((const uint16_t *) wp)[i]);
		case TF_FORMAT_BF16:
			return tf_bf16_to_f32(((const uint16_t *) wp)[i]);
		default:
			return ((const float *) wp)[i];
	}
}

/* tf_packed_product in plain C, summing as the vector paths do: the bias,
 * then the sum of each block of TF_PACKED_KBLOCK inputs in order. */
static void
packed_product_scalar(TfFormat format, const float *x, int n, int in, const void *wp,
					  int c0, int c1, const float *b, float *y, int ldy)
{
	for (int i = 0; i < n; i++)
		for (int c = c0; c < c1; c++)
		{
			float		out = b != NULL ? b[c - c0] : 0.0f;

			for (int k0 = 0; k0 < in; k0 += TF_PACKED_KBLOCK)
			{
				float		sum = 0;

				for (int k = k0; k < in && k < k0 + TF_PACKED_KBLOCK; k++)
					sum += x[(size_t) i * in + k] * packed_weight(format, wp, in, c, k);
				out += sum;
			}
			y[(size_t) i * ldy + c - c0] = out;
		}
}

#if defined(__x86_64__)

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

/* AVX-512: tiles of 12 rows by 2 panels, 24 accumulators of the 32 registers */
#define PK_TARGET AVX512
#define PK_VEC __m512
#define PK_WIDTH 16
#define PK_ZERO() _mm512_setzero_ps()
#define PK_SET1(f) _mm512_set1_ps(f)
#define PK_FMA(a, b, acc) _mm512_fmadd_ps(a, b, acc)
#define PK_LOADU(p) _mm512_loadu_ps(p)
#define PK_STOREU(p, v) _mm512_storeu_ps(p, v)
#define PK_ADD(a, b) _mm512_add_ps(a, b)
#define PK_TILE_ROWS 12
#define PK_ACCS 24

#define PK_NAME packed_f32_avx512
#define PK_ELEM float
#define PK_LOADW(p) _mm512_loadu_ps(p)
#include "tf_packed.inc"

#define PK_NAME packed_f16_avx512
#define PK_ELEM uint16_t
#define PK_LOADW(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p)))
#include "tf_packed.inc"

#define PK_NAME packed_bf16_avx512
#define PK_ELEM uint16_t
#define PK_LOADW(p) \
	_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (p))), 16))
#include "tf_packed.inc"

#undef PK_TARGET
#undef PK_VEC
#undef PK_WIDTH
#undef PK_ZERO
#undef PK_SET1
#undef PK_FMA
#undef PK_LOADU
#undef PK_STOREU
#undef PK_ADD
#undef PK_TILE_ROWS
#undef PK_ACCS

/* AVX2: tiles of 3 rows by 2 panels (4 vectors each), 12 accumulators of
 * the 16 registers */
#define PK_TARGET AVX2
#define PK_VEC __m256
#define PK_WIDTH 8
#define PK_ZERO() _mm256_setzero_ps()
#define PK_SET1(f) _mm256_set1_ps(f)
#define PK_FMA(a, b, acc) _mm256_fmadd_ps(a, b, acc)
#define PK_LOADU(p) _mm256_loadu_ps(p)
#define PK_STOREU(p, v) _mm256_storeu_ps(p, v)
#define PK_ADD(a, b) _mm256_add_ps(a, b)
#define PK_TILE_ROWS 3
#define PK_ACCS 12

#define PK_NAME packed_f32_avx2
#define PK_ELEM float
#define PK_LOADW(p) _mm256_loadu_ps(p)
#include "tf_packed.inc"

#define PK_NAME packed_f16_avx2
#define PK_ELEM uint16_t
#define PK_LOADW(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p)))
#include "tf_packed.inc"

#define PK_NAME packed_bf16_avx2
#define PK_ELEM uint16_t
#define PK_LOADW(p) \
	_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) (p))), 16))
#include "tf_packed.inc"

/* The paths of each level, by format (TfFormat's F32, F16, BF16). */
typedef void (*PackedPath) (const float *x, int n, int in, const void *weights, int c0, int c1,
							const float *b, float *y, int ldy);
static const PackedPath avx512_paths[] = {
	[TF_FORMAT_F32] = packed_f32_avx512, [TF_FORMAT_F16] = packed_f16_avx512,
	[TF_FORMAT_BF16] = packed_bf16_avx512
};
static const PackedPath avx2_paths[] = {
	[TF_FORMAT_F32] = packed_f32_avx2, [TF_FORMAT_F16] = packed_f16_avx2,
	[TF_FORMAT_BF16] = packed_bf16_avx2
};

void
tf_packed_product(TfFormat format, const float *x, int n, int in, const void *wp,
				  int c0, int c1, const float *b, float *y, int ldy)
{
	TfIsa		level = tf_cpu_level();

	if (level >= TF_ISA_AVX512)
		avx512_paths[format](x, n, in, wp, c0, c1, b, y, ldy);
	else if (level == TF_ISA_AVX2)
		avx2_paths[format](x, n, in, wp, c0, c1, b, y, ldy);
	else
		packed_product_scalar(format, x, n, in, wp, c0, c1, b, y, ldy);
}

#else							/* not x86-64: plain C */

void
tf_packed_product(TfFormat format, const float *x, int n, int in, const void *wp,
				  int c0, int c1, const float *b, float *y, int ldy)
{
	packed_product_scalar(format, x, n, in, wp, c0, c1, b, y, ldy);
}

#endif
