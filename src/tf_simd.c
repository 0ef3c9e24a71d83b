/*
 * tf_simd.c: the AVX2/FMA and AVX-512 kernels (see tf_simd.h for why each
 * exists). The rows kernel is written once (tf_rowgemm.inc) and built here
 * for each vector width; tf_rowgemm takes the widest tf_cpu_level() allows.
 */
#include "tf_simd.h"

#include "tf_cpu.h"

#include <math.h>
#include <stddef.h>

#if defined(__x86_64__)

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

/* glibc's libmvec, by vector-ABI names: expf of 8 floats at once (AVX2),
 * erff of 8 (AVX2) and 16 (AVX-512) */
extern __attribute__((target("avx2"))) __m256 _ZGVdN8v_expf(__m256 x);
extern __attribute__((target("avx2"))) __m256 _ZGVdN8v_erff(__m256 x);
extern __attribute__((target("avx512f"))) __m512 _ZGVeN16v_erff(__m512 x);

bool
tf_simd_available(void)
{
	return tf_cpu_level() >= TF_ISA_AVX2;
}

/* The sum of v's eight lanes. */
static inline AVX2 float
lane_sum_avx2(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* AVX2: 3 x 4 tiles, 12 accumulators of the 16 registers */
#define RG_NAME rowgemm_avx2
#define RG_TARGET AVX2
#define RG_VEC __m256
#define RG_WIDTH 8
#define RG_ZERO() _mm256_setzero_ps()
#define RG_LOAD(p) _mm256_loadu_ps(p)
#define RG_FMA(a, b, acc) _mm256_fmadd_ps(a, b, acc)
#define RG_SUM(v) lane_sum_avx2(v)
#define RG_TILE_ROWS 3
#define RG_TILE_COLS 4
#include "tf_rowgemm.inc"

/* AVX-512: 4 x 6 tiles, 24 accumulators of the 32 registers, 16 floats
 * each: half the loads per multiply-add of the AVX2 tile */
#define RG_NAME rowgemm_avx512
#define RG_TARGET AVX512
#define RG_VEC __m512
#define RG_WIDTH 16
#define RG_ZERO() _mm512_setzero_ps()
#define RG_LOAD(p) _mm512_loadu_ps(p)
#define RG_FMA(a, b, acc) _mm512_fmadd_ps(a, b, acc)
#define RG_SUM(v) _mm512_reduce_add_ps(v)
#define RG_TILE_ROWS 4
#define RG_TILE_COLS 6
#include "tf_rowgemm.inc"

bool
tf_rowgemm_suits(int rows)
{
	TfIsa		level = tf_cpu_level();

	return level >= TF_ISA_AVX512 || (level == TF_ISA_AVX2 && rows <= TF_ROWGEMM_MAX_ROWS);
}

void
tf_rowgemm(const float *x, int n, int in, const float *w, int out, float *y, int ldy)
{
	if (tf_cpu_level() >= TF_ISA_AVX512)
		rowgemm_avx512(x, n, in, w, out, y, ldy);
	else
		rowgemm_avx2(x, n, in, w, out, y, ldy);
}

/* Eight exponentials per call of libmvec's expf, one lane each. */
static AVX2 int
exp_lanes_avx2(const float *x, int n, float max, float lanes[8])
{
	__m256		acc = _mm256_loadu_ps(lanes);
	__m256		shift = _mm256_set1_ps(max);
	int			i;

	for (i = 0; i + 8 <= n; i += 8)
		acc = _mm256_add_ps(acc, _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(x + i), shift)));
	_mm256_storeu_ps(lanes, acc);
	return i;
}

int
tf_exp_lanes(const float *x, int n, float max, float lanes[8])
{
	return tf_simd_available() ? exp_lanes_avx2(x, n, max, lanes) : 0;
}

/*
 * Defines NAME(x, n), the exact GELU 0.5 x (1 + erf(x / sqrt 2)) over the
 * leading multiple of WIDTH floats of x[n], returning that count: VEC is
 * the vector type (GCC's vector arithmetic applies to it), LOADU and STOREU
 * its unaligned load and store, ERF libmvec's erff over it.
 */
#define GELU_LANES(NAME, TARGET, VEC, WIDTH, LOADU, STOREU, ERF) \
static TARGET int \
NAME(float *x, int n) \
{ \
	int			i; \
\
	for (i = 0; i + WIDTH <= n; i += WIDTH) \
	{ \
		VEC			v = LOADU(x + i); \
\
		STOREU(x + i, 0.5f * v * (1.0f + ERF(v * (float) M_SQRT1_2))); \
	} \
	return i; \
}

GELU_LANES(gelu_avx2, AVX2, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _ZGVdN8v_erff)
GELU_LANES(gelu_avx512, AVX512, __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _ZGVeN16v_erff)

int
tf_gelu_lanes(float *x, int n)
{
	TfIsa		level = tf_cpu_level();

	return level >= TF_ISA_AVX512 ? gelu_avx512(x, n) : level == TF_ISA_AVX2 ? gelu_avx2(x, n) : 0;
}

#else							/* not x86-64: callers use tf_sgemm and scalar code */

bool
tf_simd_available(void)
{
	return false;
}

bool
tf_rowgemm_suits(int rows)
{
	return false;
}

int
tf_exp_lanes(const float *x, int n, float max, float lanes[8])
{
	return 0;
}

int
tf_gelu_lanes(float *x, int n)
{
	return 0;
}

#endif

/*
 * LayerNorm rows (tf_layernorm_row), built for every level from one
 * definition over GCC's generic vectors of 16 floats, which each level
 * lowers to its own registers (AVX-512: one, AVX2: two, SSE2: four):
 * the same operations lane by lane, with no multiply-add fused (the
 * function's fp-contract=off), so every level gives the same floats bit
 * for bit. The sums of the mean and the variance are kept in 16 float
 * lanes and added up in double in lane order; the tail past the last
 * whole vector is added in double.
 */
typedef float LayerNormVec __attribute__((vector_size(64), aligned(4), may_alias));
#define LN_WIDTH 16

/* no fused multiply-adds from here on (clang: the rest of this file) */
#if defined(__clang__)
#pragma clang fp contract(off)
#define NO_CONTRACTION
#else
#define NO_CONTRACTION __attribute__((optimize("fp-contract=off")))
#endif

#define LAYERNORM_ROW(NAME, TARGET) \
static TARGET NO_CONTRACTION void \
NAME(float *row, const float *residual, int d, const float *gamma, const float *beta, float eps) \
{ \
	LayerNormVec lanes = {0}; \
	double		mean = 0, \
				var = 0; \
	float		m, \
				inv; \
	int			j; \
\
	for (j = 0; j + LN_WIDTH <= d; j += LN_WIDTH) \
	{ \
		LayerNormVec *v = (LayerNormVec *) (row + j); \
\
		if (residual != NULL) \
			*v += *(const LayerNormVec *) (residual + j); \
		lanes += *v; \
	} \
	for (int i = 0; i < LN_WIDTH; i++) \
		mean += lanes[i]; \
	for (; j < d; j++) \
		mean += residual != NULL ? (row[j] += residual[j]) : row[j]; \
	m = (float) (mean / d); \
	lanes = (LayerNormVec) {0}; \
	for (j = 0; j + LN_WIDTH <= d; j += LN_WIDTH) \
	{ \
		LayerNormVec t = *(const LayerNormVec *) (row + j) - m; \
\
		lanes += t * t; \
	} \
	for (int i = 0; i < LN_WIDTH; i++) \
		var += lanes[i]; \
	for (; j < d; j++) \
		var += ((double) row[j] - m) * ((double) row[j] - m); \
	inv = (float) (1.0 / sqrt(var / d + eps)); \
	for (j = 0; j + LN_WIDTH <= d; j += LN_WIDTH) \
	{ \
		LayerNormVec *v = (LayerNormVec *) (row + j); \
\
		*v = (*v - m) * inv * *(const LayerNormVec *) (gamma + j) + *(const LayerNormVec *) (beta + j); \
	} \
	for (; j < d; j++) \
		row[j] = (row[j] - m) * inv * gamma[j] + beta[j]; \
}

LAYERNORM_ROW(layernorm_plain, )

#if defined(__x86_64__)
LAYERNORM_ROW(layernorm_avx2, AVX2)
LAYERNORM_ROW(layernorm_avx512, AVX512)
#endif

void
tf_layernorm_row(float *row, const float *residual, int d, const float *gamma,
				 const float *beta, float eps)
{
#if defined(__x86_64__)
	TfIsa		level = tf_cpu_level();

	if (level >= TF_ISA_AVX512)
		layernorm_avx512(row, residual, d, gamma, beta, eps);
	else if (level == TF_ISA_AVX2)
		layernorm_avx2(row, residual, d, gamma, beta, eps);
	else
#endif
		layernorm_plain(row, residual, d, gamma, beta, eps);
}
