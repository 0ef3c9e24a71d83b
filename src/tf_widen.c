/*
 * tf_widen.c: F16 and BF16 -> float32 (tf_widen.h), one path per
 * instruction-set level.
 */
#include "tf_widen.h"

#include <math.h>
#include <string.h>

#include "tf_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

float
tf_f16_to_f32(uint16_t h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exp = (h >> 10) & 0x1F;
	uint32_t	mant = h & 0x3FF;
	uint32_t	bits;
	float		f;

	if (exp == 0)
	{
		/* zero or subnormal: mant * 2^-24 */
		f = ldexpf((float) mant, -24);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7F800000 | (mant << 13);
	else
		bits = sign | ((exp + 112) << 23) | (mant << 13);
	memcpy(&f, &bits, sizeof(f));
	return f;
}

float
tf_bf16_to_f32(uint16_t h)
{
	uint32_t	bits = (uint32_t) h << 16;
	float		f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

#if defined(__x86_64__)

#define AVX2 __attribute__((target("avx2,f16c")))
#define AVX512 __attribute__((target("avx512f,avx512bw")))

/* The first i elements, 16 at a time; returns i. */
static AVX512 size_t
widen_f16_avx512(const uint16_t *src, size_t n, float *dst)
{
	size_t		i;

	for (i = 0; i + 16 <= n; i += 16)
		_mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (src + i))));
	return i;
}

static AVX512 size_t
widen_bf16_avx512(const uint16_t *src, size_t n, float *dst)
{
	size_t		i;

	for (i = 0; i + 16 <= n; i += 16)
	{
		__m512i		wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (src + i)));

		_mm512_storeu_si512(dst + i, _mm512_slli_epi32(wide, 16));
	}
	return i;
}

/* The first i elements, 8 at a time; returns i. */
static AVX2 size_t
widen_f16_avx2(const uint16_t *src, size_t n, float *dst)
{
	size_t		i;

	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (src + i))));
	return i;
}

static AVX2 size_t
widen_bf16_avx2(const uint16_t *src, size_t n, float *dst)
{
	size_t		i;

	for (i = 0; i + 8 <= n; i += 8)
	{
		__m256i		wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) (src + i)));

		_mm256_storeu_si256((__m256i *) (dst + i), _mm256_slli_epi32(wide, 16));
	}
	return i;
}

#endif

void
tf_widen_f16(const uint16_t *src, size_t n, float *dst)
{
	size_t		i = 0;

#if defined(__x86_64__)
	if (tf_cpu_level() >= TF_ISA_AVX512)
		i = widen_f16_avx512(src, n, dst);
	else if (tf_cpu_level() >= TF_ISA_AVX2)
		i = widen_f16_avx2(src, n, dst);
#endif
	for (; i < n; i++)
		dst[i] = tf_f16_to_f32(src[i]);
}

void
tf_widen_bf16(const uint16_t *src, size_t n, float *dst)
{
	size_t		i = 0;

#if defined(__x86_64__)
	if (tf_cpu_level() >= TF_ISA_AVX512)
		i = widen_bf16_avx512(src, n, dst);
	else if (tf_cpu_level() >= TF_ISA_AVX2)
		i = widen_bf16_avx2(src, n, dst);
#endif
	for (; i < n; i++)
		dst[i] = tf_bf16_to_f32(src[i]);
}
