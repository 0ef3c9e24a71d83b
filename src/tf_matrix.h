/*
 * tf_matrix.h: weight matrices in the format they are stored in, and the
 * products and row look-ups over them.
 *
 * Each matrix of a model (the linear layers, the embedding tables, the
 * output projection) is a TfMatrix in the image, in one of four formats:
 *   F32   float32, as a float32 checkpoint stores it;
 *   F16   IEEE half, kept as an F16 checkpoint stores it (half the memory);
 *   BF16  bfloat16, likewise;
 *   INT8  int8 per output channel (tf_quant.h), for models loaded with
 *         precision 'int8' (a quarter of the memory).
 * By default (TF_PRECISION_EXACT) a matrix keeps its checkpoint's dtype;
 * TF_PRECISION_FLOAT32 widens every matrix at load, TF_PRECISION_INT8
 * quantizes it. Vectors (biases,
 * LayerNorm) stay float32.
 *
 * A matrix that is only ever multiplied (a linear layer's weights, not an
 * embedding table that is also looked up by rows) is loaded "packed": cut
 * in panels of 16 rows for the product kernels, which then keep whole
 * outputs in registers (tf_packed.h for F32, F16 and BF16, widening 16-bit
 * weights as they read them; tf_quant.h's tf_int8_pack for INT8). Other
 * F16 and BF16 products widen blocks of weight rows into a float buffer
 * (tf_widen.h) and run the float32 kernels over them; either way their
 * numbers are those of the float32 weights. INT8 products run tf_quant.c's
 * kernels, packed or not with the same floats.
 */
#ifndef TF_MATRIX_H
#define TF_MATRIX_H

#include "tf_checkpoint.h"

typedef enum TfFormat
{
	TF_FORMAT_F32 = 0,
	TF_FORMAT_F16,
	TF_FORMAT_BF16,
	TF_FORMAT_INT8
} TfFormat;

typedef struct TfMatrix
{
	TfFormat	format;
	int32_t		rows;			/* output channels */
	int32_t		cols;			/* inputs */
	int32_t		ld;				/* elements from one row to the next: cols, or
								 * tf_quant_stride(cols) for INT8 */
	bool		packed;			/* data in panels (tf_packed.h), else by rows */
	TfOffset	data;			/* [rows, ld] of float, uint16 (F16, BF16) or
								 * int8; packed: tf_packed_elements(rows, cols)
								 * floats or uint16, tf_int8_packed_bytes(rows,
								 * ld) int8 */
	TfOffset	scales;			/* INT8: float[rows], row r = scales[r] * data[r] */
	TfOffset	sums;			/* INT8: int32[rows], the sum of data[r] */
} TfMatrix;

/*
 * Floats of scratch tf_matrix_product needs (for F16 and BF16: a block of
 * widened weight rows).
 */
#define TF_MATRIX_SCRATCH_FLOATS (128 * 1024)

/*
 * The tensors parts[n_parts] (each [rows_i, cols], found by tf_weight_find)
 * stacked by rows into one matrix in dir->arena, in the format
 * dir->precision asks for; dir->n_params grows by their elements.
 * linear_only: the matrix is only multiplied, never looked up by rows
 * (tf_matrix_row), so it may be packed.
 */
void		tf_matrix_load(TfModelDir *dir, const TfTensorInfo *const *parts, int n_parts,
						   bool linear_only, TfMatrix *out);

/* tf_weight_find of prefix+name as [rows, cols], then tf_matrix_load; false
 * with dir->err filled when missing or of the wrong shape. */
bool		tf_matrix_load_named(TfModelDir *dir, const char *const *prefixes, const char *name,
								 int64_t rows, int64_t cols, bool linear_only, TfMatrix *out);

/* Name of a format ("float32", "float16", "bfloat16", "int8"). */
const char *tf_format_name(TfFormat format);

/* dst[cols] = row r of m as float32 (an embedding look-up; m not packed). */
void		tf_matrix_row(const void *image, const TfMatrix *m, int r, float *dst);

/*
 * y[n, r1 - r0] = x[n, cols] @ m[r0 : r1]^T + b[r1 - r0] (b may be NULL):
 * a linear layer over weight rows r0 .. r1 - 1 of m, its output columns
 * split over tf_parallel_threads() threads whatever the format.
 */
void		tf_matrix_linear_rows(const void *image, const TfMatrix *m, int r0, int r1,
								  const float *x, int n, const float *b, float *y);

/* The same over every row of m: y[n, rows]. */
void		tf_matrix_linear(const void *image, const TfMatrix *m, const float *x, int n,
							 const float *b, float *y);

/*
 * Activations x[n, cols] prepared for products with a matrix of format
 * `format`: for INT8, quantized (tf_quantize_rows) once for all ranges.
 */
typedef struct TfMatrixInput
{
	const float *x;				/* float[n, cols] */
	int			n;
	int			cols;
	int			ld;				/* INT8: row stride of xq */
	uint8_t    *xq;				/* INT8: uint8[n, ld], else NULL */
	float	   *xs;				/* INT8: float[n] scales */
	int32_t    *xz;				/* INT8: int32[n] zero points */
} TfMatrixInput;

void		tf_matrix_input_init(TfMatrixInput *in, TfFormat format, const float *x, int n,
								 int cols);
void		tf_matrix_input_free(TfMatrixInput *in);

/*
 * y[i, j - r0] += x[i] . m[j] for j in r0 .. r1 - 1 (y with row stride
 * ldy): one range of a product, single-threaded; a caller may run disjoint
 * ranges in parallel, each with its own scratch[TF_MATRIX_SCRATCH_FLOATS].
 * m not packed (tf_packed_product computes those).
 */
void		tf_matrix_product(const void *image, const TfMatrix *m, const TfMatrixInput *in,
							  int r0, int r1, float *y, int ldy, float *scratch);

#endif							/* TF_MATRIX_H */
