/*
 * tf_kernels.c: layer kernels; matrix products go to tf_sgemm (OpenBLAS),
 * or to tf_rowgemm (tf_simd.c) for linear layers over a few rows.
 */
#include "tf_kernels.h"

#include <math.h>
#include <string.h>

#include "tf_blas.h"
#include "tf_simd.h"

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

void
tf_linear(const float *x, int n, int in, const float *w, const float *b, int out, float *y)
{
	bool		rows = n <= TF_ROWGEMM_MAX_ROWS && tf_blas_threads() == 1 && tf_simd_available();

	if (b != NULL)
		for (int i = 0; i < n; i++)
			memcpy(y + (size_t) i * out, b, sizeof(float) * out);
	else if (rows)
		memset(y, 0, sizeof(float) * (size_t) n * out);
	/* the rows kernel is single-threaded: more threads go to OpenBLAS */
	if (rows)
		tf_rowgemm(x, n, in, w, out, y);
	else
		tf_sgemm(false, true, n, out, in, 1.0f, x, in, w, in, b != NULL ? 1.0f : 0.0f, y, out);
}

void
tf_add_layernorm(float *x, const float *residual, int n, int d,
				 const float *gamma, const float *beta, float eps)
{
	for (int i = 0; i < n; i++)
	{
		float	   *row = x + (size_t) i * d;
		double		mean = 0,
					var = 0;
		float		inv;

		if (residual != NULL)
			for (int j = 0; j < d; j++)
				row[j] += residual[(size_t) i * d + j];
		for (int j = 0; j < d; j++)
			mean += row[j];
		mean /= d;
		for (int j = 0; j < d; j++)
			var += (row[j] - mean) * (row[j] - mean);
		var /= d;
		inv = (float) (1.0 / sqrt(var + eps));
		for (int j = 0; j < d; j++)
			row[j] = ((float) (row[j] - mean)) * inv * gamma[j] + beta[j];
	}
}

void
tf_activate(float *x, size_t n, TfActivation act)
{
	switch (act)
	{
		case TF_ACT_GELU:
			for (size_t i = 0; i < n; i++)
				x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float) M_SQRT1_2));
			break;
		case TF_ACT_GELU_TANH:
			for (size_t i = 0; i < n; i++)
				x[i] = 0.5f * x[i] * (1.0f + tanhf(0.7978845608028654f *
												   (x[i] + 0.044715f * x[i] * x[i] * x[i])));
			break;
		case TF_ACT_RELU:
			for (size_t i = 0; i < n; i++)
				x[i] = x[i] > 0 ? x[i] : 0;
			break;
		case TF_ACT_SILU:
			for (size_t i = 0; i < n; i++)
				x[i] = x[i] / (1.0f + expf(-x[i]));
			break;
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
tf_attention(const float *q, int ldq, const float *k, int ldk,
			 const float *v, int ldv, float *out, int ldo,
			 int Tq, int Tk, int heads, int head_dim, float scale,
			 float *scratch, float *probs)
{
	for (int h = 0; h < heads; h++)
	{
		size_t		col = (size_t) h * head_dim;

		/* scratch[Tq, Tk] = scale * q_h[Tq, hd] @ k_h[Tk, hd]^T */
		tf_sgemm(false, true, Tq, Tk, head_dim, scale, q + col, ldq, k + col, ldk,
				 0.0f, scratch, Tk);
		tf_softmax_rows(scratch, Tq, Tk);
		if (probs != NULL)
			memcpy(probs + (size_t) h * Tq * Tk, scratch, sizeof(float) * Tq * Tk);
		/* out_h[Tq, hd] = scratch[Tq, Tk] @ v_h[Tk, hd] */
		tf_sgemm(false, false, Tq, head_dim, Tk, 1.0f, scratch, Tk, v + col, ldv,
				 0.0f, out + col, ldo);
	}
}

void
tf_sinusoidal_positions(float *out, int n_pos, int dim)
{
	int			sentinel = (dim + 1) / 2;

	for (int p = 0; p < n_pos; p++)
		for (int j = 0; j < dim; j++)
		{
			/* column j < sentinel holds even index 2j, the rest odd 2(j-s)+1 */
			int			idx = j < sentinel ? 2 * j : 2 * (j - sentinel) + 1;
			double		angle = p / pow(10000.0, 2.0 * (idx / 2) / dim);

			out[(size_t) p * dim + j] = (float) (j < sentinel ? sin(angle) : cos(angle));
		}
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
