/*
 * tf_quant.h: int8 products for models loaded with precision 'int8'.
 *
 * Scheme (what every path computes, exactly):
 *   weights      w[r, k] ~ ws[r] * wq[r, k], wq in [-127, 127]: symmetric,
 *                one scale per output channel (row), ws[r] = max|w[r, :]| / 127,
 *                quantized once at load;
 *   activations  x[i, k] ~ xs[i] * (xq[i, k] - xz[i]), xq in [0, 255]:
 *                asymmetric, one scale and zero point per row, quantized at
 *                every product over the row's own range [min(0, x), max(0, x)]
 *                (0 stays exact, and a row of one sign uses all 256 levels);
 *   product      y[i, r] = xs[i] ws[r] (sum_k xq[i, k] wq[r, k] - xz[i] sum_k wq[r, k])
 *                with the sums exact in int32 (|sum| <= 255 * 128 * in < 2^31
 *                for in < 65,000), wsum[r] = sum_k wq[r, k] kept from load.
 *
 * The unsigned-times-signed sum is what AVX-512 VNNI's vpdpbusd computes, 64
 * products per instruction with no intermediate saturation. The AVX2 path
 * widens both operands to int16 and uses vpmaddwd (pairs of int16 products
 * summed into int32), which cannot saturate; vpmaddubsw would be twice as
 * fast but saturates its int16 pair sums (255 * 127 * 2 > 32767). The scalar
 * path is plain C. All three give the same int32 sums, bit for bit.
 *
 * Rows of wq and xq are stored TF_QUANT_ALIGN-padded (row stride `ld`, a
 * multiple of 64 bytes): the padding of wq is zero, so whatever xq's padding
 * holds adds nothing, and the kernels need no tail loop.
 */
#ifndef TF_QUANT_H
#define TF_QUANT_H

#include <stddef.h>
#include <stdint.h>

#define TF_QUANT_ALIGN 64

/* in rounded up to a multiple of TF_QUANT_ALIGN: the row stride of wq, xq. */
int			tf_quant_stride(int in);

/*
 * Quantize weights w[rows, in] into wq[rows, ld] (padding zeroed), scale
 * ws[rows], wsum[rows]. A zero row gets scale 0.
 */
void		tf_quantize_weights(const float *w, int rows, int in, int ld,
								int8_t *wq, float *ws, int32_t *wsum);

/*
 * Quantize activations x[n, in] into xq[n, ld] (padding zeroed), scale
 * xs[n] and zero point xz[n] as above.
 */
void		tf_quantize_rows(const float *x, int n, int in, int ld,
							 uint8_t *xq, float *xs, int32_t *xz);

/*
 * acc[i, c] = sum_k xq[i, k] * wq[c, k] over k < ld, for i < n, c < cols;
 * acc has row stride ldacc. Single-threaded, on the best path the CPU level
 * allows (VNNI at avx512 when the CPU has it, else vpmaddwd at avx2 or
 * avx512, else scalar).
 */
void		tf_int8_dot(const uint8_t *xq, int n, int ld, const int8_t *wq, int cols,
						int32_t *acc, int ldacc);

/* The same sums by plain loops: the reference for tests. */
void		tf_int8_dot_naive(const uint8_t *xq, int n, int ld, const int8_t *wq, int cols,
							  int32_t *acc, int ldacc);

/*
 * y[i, c] += xs[i] ws[c] (acc - xz[i] wsum[c]) for c < cols, where acc is
 * the int32 sum of tf_int8_dot: the int8 product of quantized rows xq[n, ld]
 * with weight rows wq[cols, ld] (scales ws[cols], sums wsum[cols]), written
 * into y[n, ldy]. Single-threaded: callers that split a product over
 * threads give each a range of weight rows.
 */
void		tf_int8_linear(const uint8_t *xq, const float *xs, const int32_t *xz, int n, int ld,
						   const int8_t *wq, const float *ws, const int32_t *wsum, int cols,
						   float *y, int ldy);

/*
 * Packed weights: the layout the int8 linear layers of a model run on. The
 * output channels are taken in panels of TF_QUANT_PANEL; within a panel,
 * each group of 4 consecutive k holds those 4 bytes of each of the 16
 * channels in turn, so one 64-byte load gives vpdpbusd 4 products to sum
 * for each of 16 channels: the kernel broadcasts 4 bytes of an activation
 * row against it and keeps one int32 sum per channel in each lane, with no
 * reduction across lanes, and dequantizes 16 channels at once.
 */
#define TF_QUANT_PANEL 16		/* output channels per packed panel */

/* Bytes of the packed form of wq[rows, ld]: rows rounded up to a multiple
 * of TF_QUANT_PANEL, times ld. */
size_t		tf_int8_packed_bytes(int rows, int ld);

/*
 * Pack row-major wq[rows, ld] (ld a multiple of TF_QUANT_ALIGN, padding
 * zero) into wp: wp[((p * (ld / 4) + g) * 16 + c) * 4 + j] = wq[16 p + c,
 * 4 g + j] for panel p, k-group g, channel c < 16, j < 4; channels at or
 * past rows are zero.
 */
void		tf_int8_pack(const int8_t *wq, int rows, int ld, int8_t *wp);

/*
 * The int8 linear layer on packed weights, for output channels [c0, c1) of
 * the matrix (c0 need not be a multiple of 16: a partial panel stores only
 * its channels):
 *   y[i, c - c0] += xs[i] ws[c] (sum_k xq[i,k] wq[c,k] - xz[i] wsum[c])
 * for i < n, c0 <= c < c1; xq[n, ld] as tf_quantize_rows gives; ws, wsum
 * indexed by absolute channel c; y has row stride ldy. The same int32 sums
 * and the same floats as tf_int8_linear, bit for bit, on every path (VNNI
 * at avx512 when the CPU has it, else vpmaddwd at avx2 or avx512, else
 * scalar). Single-threaded (callers split channel ranges over threads,
 * ranges multiples of 16 except the last).
 */
void		tf_int8_linear_packed(const uint8_t *xq, const float *xs, const int32_t *xz, int n, int ld,
								  const int8_t *wp, const float *ws, const int32_t *wsum, int c0, int c1,
								  float *y, int ldy);

#endif							/* TF_QUANT_H */
