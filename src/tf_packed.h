/*
 * tf_packed.h: weights packed in panels at load, for linear layers over
 * any number of rows.
 *
 * A linear layer computes y[n, out] = x[n, in] @ w[out, in]^T. Kept as the
 * checkpoint stores it (a row per output channel), w suits dot products:
 * every output is a sum along two rows, and each tile of sums must be
 * reduced across the vector's lanes at its end (tf_rowgemm). Packed, w is
 * cut into panels of TF_PANEL output channels, and within a panel the
 * TF_PANEL weights of one input k lie side by side:
 *
 *   wp[(p * in + k) * TF_PANEL + c] = w[p * TF_PANEL + c, k]
 *
 * so one vector load holds input k of 16 channels, and the kernel
 * multiplies it by x[i, k] broadcast, adding into 16 outputs of row i at
 * once: no lane reductions, and the outputs leave the registers as they
 * are stored. This is how optimized GEMMs lay out their B operand
 * ("packing"); OpenBLAS does it on every call, ONNX Runtime once per
 * session; here the model loader does it once, into the shared image.
 * Channels of the last panel past `rows` are zero.
 *
 * Weights are float32, or F16 / BF16 as the checkpoint has them (widened
 * inside the kernel, one vector at a time: the same float32 values as
 * tf_widen.h's). Each output is the bias, then the float32 sum of each
 * block of TF_PACKED_KBLOCK inputs (k in order) added in turn: the same
 * order whatever the tile or the batch, with fused multiply-adds on the
 * vector paths, so the paths agree within float rounding.
 */
#ifndef TF_PACKED_H
#define TF_PACKED_H

#include <stddef.h>
#include <stdint.h>

#include "tf_matrix.h"

#define TF_PANEL 16
#define TF_PACKED_KBLOCK 128		/* inputs per partial sum */

/* Elements of the packed form of a [rows, in] matrix: rows rounded up to a
 * multiple of TF_PANEL, times in. */
size_t		tf_packed_elements(int rows, int in);

/*
 * Pack w[rows, in] (row-major, elements of elem_size bytes: 4 for float32,
 * 2 for F16 and BF16, copied bit for bit) into wp[tf_packed_elements].
 */
void		tf_pack_panels(const void *w, int rows, int in, size_t elem_size, void *wp);

/*
 * y[i, c - c0] = b[c - c0] + x[i, :in] . w[c, :in] for i < n and channels
 * c0 <= c < c1 of the packed matrix wp (format F32, F16 or BF16), y with
 * row stride ldy; b NULL: no bias. c0 need not be a multiple of TF_PANEL.
 * Single-threaded, on the widest path tf_cpu_level() allows.
 */
void		tf_packed_product(TfFormat format, const float *x, int n, int in, const void *wp,
							  int c0, int c1, const float *b, float *y, int ldy);

#endif							/* TF_PACKED_H */
