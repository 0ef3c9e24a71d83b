/*
 * tf_matrix.c: weight matrices by format (tf_matrix.h).
 */
#include "tf_matrix.h"

#include <stdlib.h>
#include <string.h>

#include "tf_blas.h"
#include "tf_kernels.h"
#include "tf_packed.h"
#include "tf_parallel.h"
#include "tf_quant.h"
#include "tf_simd.h"
#include "tf_widen.h"

/* Most weight rows one widened block of the rows kernel holds (it stays
 * in cache while every row of the activations passes over it). */
#define ROWS_BLOCK 256

/* Rows per thread from which a product over packed weights is split by
 * rows rather than by output columns (tf_matrix_linear_rows), and the
 * multiple its ranges keep (the packed kernel's tile height). */
#define ROW_SPLIT_ROWS 48
#define ROW_SPLIT_ALIGN 12

const char *
tf_format_name(TfFormat format)
{
	switch (format)
	{
		case TF_FORMAT_F32:
			return "float32";
		case TF_FORMAT_F16:
			return "float16";
		case TF_FORMAT_BF16:
			return "bfloat16";
		case TF_FORMAT_INT8:
			return "int8";
	}
	return "unknown";
}

/* The format the parts keep under exact precision: their common 16-bit
 * dtype, else float32. */
static TfFormat
exact_format(const TfTensorInfo *const *parts, int n_parts)
{
	for (int p = 1; p < n_parts; p++)
		if (parts[p]->dtype != parts[0]->dtype)
			return TF_FORMAT_F32;
	return parts[0]->dtype == TF_DTYPE_F16 ? TF_FORMAT_F16 :
		parts[0]->dtype == TF_DTYPE_BF16 ? TF_FORMAT_BF16 : TF_FORMAT_F32;
}

void
tf_matrix_load(TfModelDir *dir, const TfTensorInfo *const *parts, int n_parts, bool linear_only,
			   TfMatrix *out)
{
	TfArena    *a = dir->arena;
	int64_t		row = 0;
	size_t		elem;			/* bytes of an element of data */
	char	   *by_rows = NULL; /* packed: the matrix by rows, [rows, ld] */

	out->cols = (int32_t) parts[0]->shape[1];
	out->rows = 0;
	for (int p = 0; p < n_parts; p++)
		out->rows += (int32_t) parts[p]->shape[0];
	out->format = dir->precision == TF_PRECISION_INT8 ? TF_FORMAT_INT8 :
		dir->precision == TF_PRECISION_FLOAT32 ? TF_FORMAT_F32 : exact_format(parts, n_parts);
	out->ld = out->format == TF_FORMAT_INT8 ? tf_quant_stride(out->cols) : out->cols;
	out->packed = linear_only;
	dir->formats |= 1u << out->format;
	out->scales = out->sums = 0;
	elem = out->format == TF_FORMAT_F32 ? sizeof(float) :
		out->format == TF_FORMAT_INT8 ? sizeof(int8_t) : sizeof(uint16_t);
	if (out->packed)
	{
		by_rows = tf_alloc_raw(elem * ((size_t) out->rows * out->ld + 1));
		out->data = tf_arena_alloc(a, out->format == TF_FORMAT_INT8 ?
								   tf_int8_packed_bytes(out->rows, out->ld) :
								   elem * tf_packed_elements(out->rows, out->cols), 64);
	}
	else
		out->data = tf_arena_alloc(a, elem * (size_t) out->rows * out->ld, 64);
	if (out->format == TF_FORMAT_INT8)
	{
		out->scales = tf_arena_alloc(a, sizeof(float) * out->rows, 64);
		out->sums = tf_arena_alloc(a, sizeof(int32_t) * out->rows, 64);
	}
	for (int p = 0; p < n_parts; p++)
	{
		const TfTensorInfo *t = parts[p];
		int			rows = (int) t->shape[0];
		/* where this part's rows go (the arena may have moved since) */
		char	   *dst = (by_rows ? by_rows : TF_ARENA_AT(a, out->data, char)) + elem * row * out->ld;
		float	   *wide;

		switch (out->format)
		{
			case TF_FORMAT_F32:
				tf_weight_copy(&dir->weights, t, (float *) dst, &dir->n_params);
				break;
			case TF_FORMAT_F16:
			case TF_FORMAT_BF16:
				/* the file's little-endian 16-bit values, as they are */
				memcpy(dst, dir->weights.data + t->begin, t->end - t->begin);
				dir->n_params += tf_tensor_elements(t);
				break;
			case TF_FORMAT_INT8:
				wide = tf_alloc_raw(sizeof(float) * (size_t) tf_tensor_elements(t));
				tf_weight_copy(&dir->weights, t, wide, &dir->n_params);
				tf_quantize_weights(wide, rows, out->cols, out->ld, (int8_t *) dst,
									TF_ARENA_AT(a, out->scales, float) + row,
									TF_ARENA_AT(a, out->sums, int32_t) + row);
				tf_free(wide);
				break;
		}
		row += rows;
	}
	if (by_rows != NULL)
	{
		if (out->format == TF_FORMAT_INT8)
			tf_int8_pack((const int8_t *) by_rows, out->rows, out->ld, TF_ARENA_AT(a, out->data, int8_t));
		else
			tf_pack_panels(by_rows, out->rows, out->cols, elem, TF_ARENA_AT(a, out->data, char));
		tf_free(by_rows);
	}
}

bool
tf_matrix_load_named(TfModelDir *dir, const char *const *prefixes, const char *name,
					 int64_t rows, int64_t cols, bool linear_only, TfMatrix *out)
{
	int64_t		shape[2] = {rows, cols};
	const TfTensorInfo *t = tf_weight_find(&dir->weights, prefixes, name, 2, shape, dir->err);

	if (t == NULL)
		return false;
	tf_matrix_load(dir, &t, 1, linear_only, out);
	return true;
}

/* Rows r0 .. r0 + rows - 1 of a 16-bit matrix widened into dst[rows, cols]. */
static void
widen_rows(const void *image, const TfMatrix *m, int r0, int rows, float *dst)
{
	const uint16_t *src = TF_AT(image, m->data, const uint16_t) + (size_t) r0 * m->ld;

	if (m->format == TF_FORMAT_F16)
		tf_widen_f16(src, (size_t) rows * m->cols, dst);
	else
		tf_widen_bf16(src, (size_t) rows * m->cols, dst);
}

void
tf_matrix_row(const void *image, const TfMatrix *m, int r, float *dst)
{
	switch (m->format)
	{
		case TF_FORMAT_F32:
			memcpy(dst, TF_AT(image, m->data, const float) + (size_t) r * m->ld,
				   sizeof(float) * m->cols);
			break;
		case TF_FORMAT_F16:
		case TF_FORMAT_BF16:
			widen_rows(image, m, r, 1, dst);
			break;
		case TF_FORMAT_INT8:
			{
				const int8_t *q = TF_AT(image, m->data, const int8_t) + (size_t) r * m->ld;
				float		scale = TF_AT(image, m->scales, const float)[r];

				for (int k = 0; k < m->cols; k++)
					dst[k] = scale * q[k];
			}
			break;
	}
}

void
tf_matrix_input_init(TfMatrixInput *in, TfFormat format, const float *x, int n, int cols)
{
	memset(in, 0, sizeof(*in));
	in->x = x;
	in->n = n;
	in->cols = cols;
	if (format == TF_FORMAT_INT8)
	{
		in->ld = tf_quant_stride(cols);
		in->xq = tf_alloc_raw((size_t) n * in->ld);
		in->xs = tf_alloc_raw(sizeof(float) * n);
		in->xz = tf_alloc_raw(sizeof(int32_t) * n);
		tf_quantize_rows(x, n, cols, in->ld, in->xq, in->xs, in->xz);
	}
}

void
tf_matrix_input_free(TfMatrixInput *in)
{
	tf_free(in->xq);
	tf_free(in->xs);
	tf_free(in->xz);
}

/* The float32 product of x with weight rows w[rows, cols] (row-major,
 * dense), added to y[n, ldy]. */
static void
float_product(const TfMatrixInput *in, const float *w, int rows, float *y, int ldy)
{
	if (tf_rowgemm_suits(in->n))
		tf_rowgemm(in->x, in->n, in->cols, w, rows, y, ldy);
	else
		tf_sgemm(false, true, in->n, rows, in->cols, 1.0f, in->x, in->cols, w, in->cols,
				 1.0f, y, ldy);
}

void
tf_matrix_product(const void *image, const TfMatrix *m, const TfMatrixInput *in,
				  int r0, int r1, float *y, int ldy, float *scratch)
{
	switch (m->format)
	{
		case TF_FORMAT_F32:
			float_product(in, TF_AT(image, m->data, const float) + (size_t) r0 * m->ld,
						  r1 - r0, y, ldy);
			break;
		case TF_FORMAT_F16:
		case TF_FORMAT_BF16:
			{
				/* widened blocks of weight rows, then their product */
				int			block = TF_MATRIX_SCRATCH_FLOATS / (m->cols > 0 ? m->cols : 1);

				if (block > ROWS_BLOCK && tf_rowgemm_suits(in->n))
					block = ROWS_BLOCK;
				if (block < 1)
					block = 1;
				for (int j = r0; j < r1; j += block)
				{
					int			rows = r1 - j < block ? r1 - j : block;

					widen_rows(image, m, j, rows, scratch);
					float_product(in, scratch, rows, y + (j - r0), ldy);
				}
			}
			break;
		case TF_FORMAT_INT8:
			tf_int8_linear(in->xq, in->xs, in->xz, in->n, in->ld,
						   TF_AT(image, m->data, const int8_t) + (size_t) r0 * m->ld,
						   TF_AT(image, m->scales, const float) + r0,
						   TF_AT(image, m->sums, const int32_t) + r0, r1 - r0, y, ldy);
			break;
	}
}

/*
 * The scratch of 16-bit products: one block of TF_MATRIX_SCRATCH_FLOATS per
 * thread of tf_parallel_for, for the life of the process, taken from malloc
 * by the caller before the threads start (a range function must not
 * allocate). Allocating it per call cost more than the product itself at
 * batch 1 (half a megabyte is mapped and faulted in anew each time).
 */
static float *worker_scratch[TF_PARALLEL_MAX_THREADS];

/* A linear layer over a packed or non-float32 matrix, to be computed a
 * range of output columns (weight rows r0 + begin .. r0 + end - 1) at a
 * time. */
typedef struct MatrixJob
{
	const void *image;
	const TfMatrix *m;
	const TfMatrixInput *in;
	int			r0;
	const float *b;				/* float[r1 - r0], or NULL */
	float	   *y;				/* float[n, r1 - r0] */
	int			out;			/* r1 - r0: y's row stride */
	float	   *const *scratch; /* scratch[worker] for 16-bit rows, else NULL */
} MatrixJob;

/* y[rows, width] (row stride ldy) = the bias b[width] in every row, or 0. */
static void
fill_bias(float *y, int rows, int ldy, const float *b, int width)
{
	for (int i = 0; i < rows; i++)
	{
		if (b != NULL)
			memcpy(y + (size_t) i * ldy, b, sizeof(float) * width);
		else
			memset(y + (size_t) i * ldy, 0, sizeof(float) * width);
	}
}

/* Rows [i0, i1) by columns [begin, end) of a MatrixJob over a packed
 * matrix: the bias and the product in one pass (int8: the bias, then the
 * product added). */
static void
packed_block(const MatrixJob *job, int i0, int i1, int begin, int end)
{
	const TfMatrix *m = job->m;
	const TfMatrixInput *in = job->in;
	const float *b = job->b != NULL ? job->b + begin : NULL;
	float	   *y = job->y + (size_t) i0 * job->out + begin;

	if (m->format != TF_FORMAT_INT8)
	{
		tf_packed_product(m->format, in->x + (size_t) i0 * in->cols, i1 - i0, in->cols,
						  TF_AT(job->image, m->data, const void), job->r0 + begin,
						  job->r0 + end, b, y, job->out);
		return;
	}
	fill_bias(y, i1 - i0, job->out, b, end - begin);
	tf_int8_linear_packed(in->xq + (size_t) i0 * in->ld, in->xs + i0, in->xz + i0, i1 - i0, in->ld,
						  TF_AT(job->image, m->data, const int8_t),
						  TF_AT(job->image, m->scales, const float),
						  TF_AT(job->image, m->sums, const int32_t),
						  job->r0 + begin, job->r0 + end, y, job->out);
}

/* Columns [begin, end) of a MatrixJob: the bias (or 0), then the product. */
static void
matrix_range(void *ctx, int begin, int end, int worker)
{
	const MatrixJob *job = ctx;
	float	   *y = job->y + begin;

	if (job->m->packed)
	{
		packed_block(job, 0, job->in->n, begin, end);
		return;
	}
	fill_bias(y, job->in->n, job->out, job->b != NULL ? job->b + begin : NULL, end - begin);
	tf_matrix_product(job->image, job->m, job->in, job->r0 + begin, job->r0 + end, y,
					  job->out, job->scratch != NULL ? job->scratch[worker] : NULL);
}

/* Rows [begin, end) of a MatrixJob over a packed matrix, every column. */
static void
packed_rows_range(void *ctx, int begin, int end, int worker)
{
	const MatrixJob *job = ctx;

	packed_block(job, begin, end, 0, job->out);
}

void
tf_matrix_linear_rows(const void *image, const TfMatrix *m, int r0, int r1,
					  const float *x, int n, const float *b, float *y)
{
	int			out = r1 - r0;
	int			threads = tf_parallel_threads();
	TfMatrixInput in;
	float	   *scratch[TF_PARALLEL_MAX_THREADS] = {0};
	bool		own[TF_PARALLEL_MAX_THREADS] = {0};
	MatrixJob	job = {image, m, &in, r0, b, y, out, NULL};

	if (m->format == TF_FORMAT_F32 && !m->packed)
	{
		/* the float32 kernels read the weights in place */
		tf_linear(x, n, m->cols, TF_AT(image, m->data, const float) + (size_t) r0 * m->ld,
				  b, out, y);
		return;
	}
	tf_matrix_input_init(&in, m->format, x, n, m->cols);
	if (m->format != TF_FORMAT_INT8 && !m->packed)
	{
		for (int w = 0; w < threads; w++)
		{
			if (worker_scratch[w] == NULL)
				worker_scratch[w] = malloc(sizeof(float) * TF_MATRIX_SCRATCH_FLOATS);
			scratch[w] = worker_scratch[w];
			/* where malloc failed, the host's allocator (which fails as it does) */
			own[w] = scratch[w] == NULL;
			if (own[w])
				scratch[w] = tf_alloc_raw(sizeof(float) * TF_MATRIX_SCRATCH_FLOATS);
		}
		job.scratch = scratch;
	}
	/*
	 * Many rows over packed weights: each thread takes rows, every column,
	 * so that it reads the rows it (or the layer before) wrote, from its
	 * own cache; split by columns, every thread reads every row, half of
	 * them from the other core's cache (2 threads ran a batch of 32 texts
	 * 1.5 times as fast as one). Each output is computed by the same code
	 * either way.
	 */
	if (m->packed && threads > 1 && n >= ROW_SPLIT_ROWS * threads)
		tf_parallel_for(n, ROW_SPLIT_ALIGN, packed_rows_range, &job);
	else
		tf_parallel_for(out, TF_LINEAR_ALIGN, matrix_range, &job);
	for (int w = 0; w < threads; w++)
		if (own[w])
			tf_free(scratch[w]);
	tf_matrix_input_free(&in);
}

void
tf_matrix_linear(const void *image, const TfMatrix *m, const float *x, int n,
				 const float *b, float *y)
{
	tf_matrix_linear_rows(image, m, 0, m->rows, x, n, b, y);
}
