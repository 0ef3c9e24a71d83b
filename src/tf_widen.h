/*
 * tf_widen.h: 16-bit floats (IEEE half "F16", bfloat16 "BF16") widened to
 * float32, exactly.
 *
 * Checkpoints stored in F16 or BF16 keep that format in the model image,
 * halving its memory; the kernels widen rows of weights into a small float
 * buffer just before they use them (tf_matrix.c). Widening is exact, so the
 * numbers are those of a float32 image of the same weights, as Hugging Face
 * computes them after loading such a checkpoint in float32.
 *
 * Paths, chosen by tf_cpu_level(): AVX-512 (vcvtph2ps on 16 halves; bfloat16
 * by a 16-bit shift), AVX2 with F16C (8 at a time), and scalar C. The
 * AVX-512 BF16 dot-product instruction (vdpbf16ps) is not used: it would
 * round the activations to bfloat16 as well, changing the results.
 */
#ifndef TF_WIDEN_H
#define TF_WIDEN_H

#include <stddef.h>
#include <stdint.h>

/* One IEEE half / bfloat16 (its bits) as a float: subnormals, infinities
 * and NaN included. */
float		tf_f16_to_f32(uint16_t h);
float		tf_bf16_to_f32(uint16_t h);

/* dst[n] = src[n] widened (any alignment). */
void		tf_widen_f16(const uint16_t *src, size_t n, float *dst);
void		tf_widen_bf16(const uint16_t *src, size_t n, float *dst);

#endif							/* TF_WIDEN_H */
