/*
 * tf_simd.c: the AVX2/FMA kernels (see tf_simd.h for why each exists).
 *
 * tf_rowgemm: y += x @ w^T for a few rows of x, straight from row-major
 * weights. Each output y[i, j] is the dot product of row i of x with row j of w, so
 * the inner loop runs along both rows at unit stride, 8 floats at a time.
 * A tile of 3 rows of x by 4 rows of w keeps 12 accumulators in AVX
 * registers (12 multiply-adds per 7 loads); the rows of w are taken in
 * blocks of about 128 kB, which stay in the core's L2 cache while every
 * tile of x passes over them, so w is read from memory once per call.
 */
#include "tf_simd.h"

#include "tf_cpu.h"

#include <stddef.h>

#if defined(__x86_64__)

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define TILE_ROWS 3				/* rows of x per tile */
#define TILE_COLS 4				/* rows of w per tile */
#define BLOCK_BYTES (128 * 1024)	/* rows of w kept in cache together */

/* glibc's libmvec: expf of 8 floats at once (AVX2), by its vector-ABI name */
extern __attribute__((target("avx2"))) __m256 _ZGVdN8v_expf(__m256 x);

bool
tf_simd_available(void)
{
	return tf_cpu_level() >= TF_ISA_AVX2;
}

/* The sum of v's eight lanes. */
static inline AVX2 float
lane_sum(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/*
 * y[r, c] += x[r, :in] . w[c, :in] for r < rows, c < cols (rows <=
 * TILE_ROWS, cols <= TILE_COLS; x, w, y with row strides in, in, ldy).
 * Inlined with constant rows and cols, so that the loops unroll and the
 * accumulators live in registers.
 */
static inline AVX2 __attribute__((always_inline)) void
tile(const float *x, const float *w, int in, float *y, int ldy, int rows, int cols)
{
	__m256		acc[TILE_ROWS][TILE_COLS];	/* acc[r][c]: 8 partial sums */
	int			k;

#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
		for (int c = 0; c < cols; c++)
			acc[r][c] = _mm256_setzero_ps();
	for (k = 0; k + 8 <= in; k += 8)
	{
		__m256		xv[TILE_ROWS];

#pragma GCC unroll 4
		for (int r = 0; r < rows; r++)
			xv[r] = _mm256_loadu_ps(x + (size_t) r * in + k);
#pragma GCC unroll 4
		for (int c = 0; c < cols; c++)
		{
			__m256		wv = _mm256_loadu_ps(w + (size_t) c * in + k);

#pragma GCC unroll 4
			for (int r = 0; r < rows; r++)
				acc[r][c] = _mm256_fmadd_ps(xv[r], wv, acc[r][c]);
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
		for (int c = 0; c < cols; c++)
		{
			float		sum = lane_sum(acc[r][c]);

			for (int t = k; t < in; t++)
				sum += x[(size_t) r * in + t] * w[(size_t) c * in + t];
			y[(size_t) r * ldy + c] += sum;
		}
}

/* The tiles for rows x[0 : rows] (rows <= TILE_ROWS, a constant where
 * inlined) against the block w[0 : cols]. */
static inline AVX2 __attribute__((always_inline)) void
tile_row(const float *x, int rows, const float *w, int cols, int in, float *y, int ldy)
{
	int			c;

	for (c = 0; c + TILE_COLS <= cols; c += TILE_COLS)
		tile(x, w + (size_t) c * in, in, y + c, ldy, rows, TILE_COLS);
	for (; c < cols; c++)
		tile(x, w + (size_t) c * in, in, y + c, ldy, rows, 1);
}

AVX2 void
tf_rowgemm(const float *x, int n, int in, const float *w, int out, float *y)
{
	/* rows of w per block, a multiple of the tile width */
	int			block = BLOCK_BYTES / (int) (sizeof(float) * (in > 0 ? in : 1));

	block = block < TILE_COLS ? TILE_COLS : block - block % TILE_COLS;
	for (int j0 = 0; j0 < out; j0 += block)
	{
		int			cols = out - j0 < block ? out - j0 : block;
		const float *wb = w + (size_t) j0 * in;
		int			i;

		for (i = 0; i + TILE_ROWS <= n; i += TILE_ROWS)
			tile_row(x + (size_t) i * in, TILE_ROWS, wb, cols, in, y + (size_t) i * out + j0, out);
		for (; i < n; i++)
			tile_row(x + (size_t) i * in, 1, wb, cols, in, y + (size_t) i * out + j0, out);
	}
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

#else							/* not x86-64: callers use tf_sgemm and scalar code */

bool
tf_simd_available(void)
{
	return false;
}

int
tf_exp_lanes(const float *x, int n, float max, float lanes[8])
{
	return 0;
}

/* Not called where tf_simd_available() is false; kept correct. */
void
tf_rowgemm(const float *x, int n, int in, const float *w, int out, float *y)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < out; j++)
			for (int k = 0; k < in; k++)
				y[(size_t) i * out + j] += x[(size_t) i * in + k] * w[(size_t) j * in + k];
}

#endif
