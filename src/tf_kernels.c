/*
 * tf_kernels.c: layer kernels; matrix products go to tf_sgemm (OpenBLAS,
 * always at one thread), or to tf_rowgemm (tf_simd.c) for linear layers
 * over a few rows. Linear layers, activations and LayerNorm are split over
 * tf_parallel_threads() threads (tf_parallel.h).
 */
#include "tf_kernels.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "tf_blas.h"
#include "tf_parallel.h"
#include "tf_simd.h"

/* Elementwise work below this many floats per thread is not split: the
 * hand-over would cost more than it saves. */
#define ELEMENTWISE_GRAIN 16384

bool
tf_activation_parse(const char *name, TfActivation *out)
{
	if (strcmp(name, "gelu") == 0)
		*out = TF_ACT_GELU;
	else if (strcmp(name, "gelu_new") == 0 || strcmp(name, "gelu_pytorch_tanh") == 0 ||
			 strcmp(name, "gelu_fast") == 0)
		*out = TF_ACT_GELU_TANH;
	else if (strcmp(name, "relu") == 0)
		*out = TF_ACT_RELU;
	else if (strcmp(name, "swish") == 0 || strcmp(name, "silu") == 0)
		*out = TF_ACT_SILU;
	else
		return false;
	return true;
}

/* A linear layer y[n, out] = x[n, in] @ w[out, in]^T + b[out], to be
 * computed a range of output columns at a time. */
typedef struct LinearJob
{
	const float *x;
	int			n;
	int			in;
	const float *w;
	const float *b;				/* may be NULL */
	int			out;
	float	   *y;
	bool		rows;			/* the rows kernel, else OpenBLAS */
} LinearJob;

/* Columns [begin, end) of a LinearJob: weight rows begin .. end - 1. */
static void
linear_range(void *ctx, int begin, int end, int worker)
{
	const LinearJob *job = ctx;
	int			cols = end - begin;
	const float *w = job->w + (size_t) begin * job->in;
	float	   *y = job->y + begin;

	for (int i = 0; i < job->n; i++)
	{
		if (job->b != NULL)
			memcpy(y + (size_t) i * job->out, job->b + begin, sizeof(float) * cols);
		else if (job->rows)
			memset(y + (size_t) i * job->out, 0, sizeof(float) * cols);
	}
	if (job->rows)
		tf_rowgemm(job->x, job->n, job->in, w, cols, y, job->out);
	else
		tf_sgemm(false, true, job->n, cols, job->in, 1.0f, job->x, job->in, w, job->in,
				 job->b != NULL ? 1.0f : 0.0f, y, job->out);
}

void
tf_linear(const float *x, int n, int in, const float *w, const float *b, int out, float *y)
{
	LinearJob	job = {x, n, in, w, b, out, y,
	tf_rowgemm_suits(n)};

	tf_parallel_for(out, TF_LINEAR_ALIGN, linear_range, &job);
}

/* Arguments of tf_add_layernorm, split by rows. */
typedef struct LayerNormJob
{
	float	   *x;
	const float *residual;
	int			d;
	const float *gamma;
	const float *beta;
	float		eps;
} LayerNormJob;

/* Rows [begin, end) of a LayerNormJob. */
static void
layernorm_range(void *ctx, int begin, int end, int worker)
{
	const LayerNormJob *job = ctx;

	for (int i = begin; i < end; i++)
		tf_layernorm_row(job->x + (size_t) i * job->d,
						 job->residual != NULL ? job->residual + (size_t) i * job->d : NULL,
						 job->d, job->gamma, job->beta, job->eps);
}

void
tf_add_layernorm(float *x, const float *residual, int n, int d,
				 const float *gamma, const float *beta, float eps)
{
	LayerNormJob job = {x, residual, d, gamma, beta, eps};

	tf_parallel_for(n, 1 + ELEMENTWISE_GRAIN / (d > 0 ? d : 1), layernorm_range, &job);
}

/* Arguments of tf_activate, split by elements. */
typedef struct ActivationJob
{
	float	   *x;
	TfActivation act;
} ActivationJob;

/* x[begin, end) = act(x[begin, end)) */
static void
activate_range(void *ctx, int begin, int end, int worker)
{
	const ActivationJob *job = ctx;
	float	   *x = job->x;

	switch (job->act)
	{
		case TF_ACT_GELU:
			for (int i = begin + tf_gelu_lanes(x + begin, end - begin); i < end; i++)
				x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float) M_SQRT1_2));
			break;
		case TF_ACT_GELU_TANH:
			for (int i = begin; i < end; i++)
				x[i] = 0.5f * x[i] * (1.0f + tanhf(0.7978845608028654f *
												   (x[i] + 0.044715f * x[i] * x[i] * x[i])));
			break;
		case TF_ACT_RELU:
			for (int i = begin; i < end; i++)
				x[i] = x[i] > 0 ? x[i] : 0;
			break;
		case TF_ACT_SILU:
			for (int i = begin; i < end; i++)
				x[i] = x[i] / (1.0f + expf(-x[i]));
			break;
	}
}

void
tf_activate(float *x, size_t n, TfActivation act)
{
	ActivationJob job = {x, act};

	/* ranges are ints: split longer arrays in pieces */
	for (size_t done = 0; done < n; done += INT_MAX / 2)
	{
		job.x = x + done;
		tf_parallel_for((int) (n - done < INT_MAX / 2 ? n - done : INT_MAX / 2),
						ELEMENTWISE_GRAIN, activate_range, &job);
	}
}

/* Largest of x[n] (n >= 1). */
static float
max_of(const float *x, int n)
{
	float		max = x[0];

	for (int i = 1; i < n; i++)
		if (x[i] > max)
			max = x[i];
	return max;
}

void
tf_softmax_rows(float *x, int rows, int cols)
{
	for (int i = 0; i < rows; i++)
	{
		float	   *row = x + (size_t) i * cols;
		float		max = max_of(row, cols);
		double		sum = 0;
		float		inv;

		for (int j = 0; j < cols; j++)
		{
			row[j] = expf(row[j] - max);
			sum += row[j];
		}
		inv = (float) (1.0 / sum);
		for (int j = 0; j < cols; j++)
			row[j] *= inv;
	}
}

void
tf_log_softmax(float *x, int n)
{
	float		max = max_of(x, n);
	float		lanes[8] = {0};
	double		sum = 0;
	float		lse;

	/* eight float partial sums: fast over a 50k-word vocabulary (eight
	 * exponentials at a time where the CPU has AVX2), and as accurate as
	 * torch's own float reduction */
	for (int i = tf_exp_lanes(x, n, max, lanes); i < n; i++)
		lanes[i & 7] += expf(x[i] - max);
	for (int i = 0; i < 8; i++)
		sum += lanes[i];
	lse = max + (float) log(sum);
	for (int i = 0; i < n; i++)
		x[i] -= lse;
}

void
tf_attention_head(const float *q, int ldq, const float *k, int ldk,
				  const float *v, int ldv, float *out, int ldo,
				  int Tq, int Tk, int head_dim, float scale, float *scratch, float *probs)
{
	/* scratch[Tq, Tk] = scale * q_h[Tq, hd] @ k_h[Tk, hd]^T */
	tf_sgemm(false, true, Tq, Tk, head_dim, scale, q, ldq, k, ldk, 0.0f, scratch, Tk);
	tf_softmax_rows(scratch, Tq, Tk);
	if (probs != NULL)
		memcpy(probs, scratch, sizeof(float) * Tq * Tk);
	/* out_h[Tq, hd] = scratch[Tq, Tk] @ v_h[Tk, hd] */
	tf_sgemm(false, false, Tq, head_dim, Tk, 1.0f, scratch, Tk, v, ldv, 0.0f, out, ldo);
}

void
tf_attention(const float *q, int ldq, const float *k, int ldk,
			 const float *v, int ldv, float *out, int ldo,
			 int Tq, int Tk, int heads, int head_dim, float scale,
			 float *scratch, float *probs)
{
	for (int h = 0; h < heads; h++)
	{
		size_t		col = (size_t) h * head_dim;

		tf_attention_head(q + col, ldq, k + col, ldk, v + col, ldv, out + col, ldo,
						  Tq, Tk, head_dim, scale, scratch,
						  probs ? probs + (size_t) h * Tq * Tk : NULL);
	}
}

void
tf_sinusoidal_positions(float *out, int first, int n_pos, int dim)
{
	int			sentinel = (dim + 1) / 2;
	double	   *period = tf_alloc_raw(sizeof(double) * (dim > 0 ? dim : 1));	/* double[dim] */

	for (int j = 0; j < dim; j++)
	{
		/* column j < sentinel holds even index 2j, the rest odd 2(j-s)+1 */
		int			idx = j < sentinel ? 2 * j : 2 * (j - sentinel) + 1;

		period[j] = pow(10000.0, 2.0 * (idx / 2) / dim);
	}
	for (int p = 0; p < n_pos; p++)
		for (int j = 0; j < dim; j++)
		{
			double		angle = (first + p) / period[j];

			out[(size_t) p * dim + j] = (float) (j < sentinel ? sin(angle) : cos(angle));
		}
	tf_free(period);
}

void
tf_l2_normalize(float *x, int n)
{
	double		sum = 0;
	double		norm;

	for (int i = 0; i < n; i++)
		sum += (double) x[i] * x[i];
	norm = sqrt(sum);
	if (norm < 1e-12)
		norm = 1e-12;
	for (int i = 0; i < n; i++)
		x[i] = (float) (x[i] / norm);
}
