/*
 * tf_layers.c: shared post-LN attention and feed-forward blocks.
 */
#include "tf_layers.h"

#include <math.h>
#include <stdio.h>

#include "tf_parallel.h"

/* Load tensor `fmt` (with the layer number substituted) into the arena. */
static TfOffset
load_named(TfModelDir *dir, const char *const *prefixes, const char *fmt, int layer,
		   int ndim, const int64_t *shape)
{
	char		name[512];

	snprintf(name, sizeof(name), fmt, layer);
	return tf_weight_load(dir->arena, &dir->weights, prefixes, name, ndim, shape,
						  &dir->n_params, dir->err);
}

/* Load matrix `fmt` (layer substituted) of shape [rows, cols]. */
static bool
load_matrix(TfModelDir *dir, const char *const *prefixes, const char *fmt, int layer,
			int64_t rows, int64_t cols, TfMatrix *out)
{
	char		name[512];

	snprintf(name, sizeof(name), fmt, layer);
	return tf_matrix_load_named(dir, prefixes, name, rows, cols, true, out);
}

bool
tf_attention_block_load(TfModelDir *dir, const char *const *prefixes,
						const TfAttentionNames *names, int layer, int d,
						TfAttentionBlock *out)
{
	const char *w_names[3] = {names->q_w, names->k_w, names->v_w};
	const char *b_names[3] = {names->q_b, names->k_b, names->v_b};
	const TfTensorInfo *w[3],
			   *b[3];
	int64_t		dd[2] = {d, d},
				d1[1] = {d};
	TfArena    *a = dir->arena;

	/* all three found with their shapes before the stack is sized */
	for (int j = 0; j < 3; j++)
	{
		char		name[512];

		snprintf(name, sizeof(name), w_names[j], layer);
		if ((w[j] = tf_weight_find(&dir->weights, prefixes, name, 2, dd, dir->err)) == NULL)
			return false;
		snprintf(name, sizeof(name), b_names[j], layer);
		if ((b[j] = tf_weight_find(&dir->weights, prefixes, name, 1, d1, dir->err)) == NULL)
			return false;
	}
	/* q, k and v stacked so that one product computes all three */
	tf_matrix_load(dir, w, 3, true, &out->qkv_w);
	out->qkv_b = tf_arena_alloc(a, sizeof(float) * 3 * (size_t) d, 64);
	for (int j = 0; j < 3; j++)
		tf_weight_copy(&dir->weights, b[j], TF_ARENA_AT(a, out->qkv_b, float) + (size_t) j * d,
					   &dir->n_params);
	return load_matrix(dir, prefixes, names->out_w, layer, d, d, &out->out_w) &&
		(out->out_b = load_named(dir, prefixes, names->out_b, layer, 1, d1)) != 0 &&
		(out->norm_g = load_named(dir, prefixes, names->norm_g, layer, 1, d1)) != 0 &&
		(out->norm_b = load_named(dir, prefixes, names->norm_b, layer, 1, d1)) != 0;
}

bool
tf_feed_forward_block_load(TfModelDir *dir, const char *const *prefixes,
						   const TfFeedForwardNames *names, int layer, int d,
						   int ffn, TfFeedForwardBlock *out)
{
	int64_t		f1[1] = {ffn},
				d1[1] = {d};

	return load_matrix(dir, prefixes, names->in_w, layer, ffn, d, &out->in_w) &&
		(out->in_b = load_named(dir, prefixes, names->in_b, layer, 1, f1)) != 0 &&
		load_matrix(dir, prefixes, names->out_w, layer, d, ffn, &out->out_w) &&
		(out->out_b = load_named(dir, prefixes, names->out_b, layer, 1, d1)) != 0 &&
		(out->norm_g = load_named(dir, prefixes, names->norm_g, layer, 1, d1)) != 0 &&
		(out->norm_b = load_named(dir, prefixes, names->norm_b, layer, 1, d1)) != 0;
}

void
tf_layer_scratch_init(TfLayerScratch *s, int rows, int d, int ffn, int max_len)
{
	s->tmp = tf_alloc_raw(sizeof(float) * (size_t) rows * d);
	s->ctx = tf_alloc_raw(sizeof(float) * (size_t) rows * d);
	s->qkv = tf_alloc_raw(sizeof(float) * (size_t) rows * 3 * d);
	s->ffn = tf_alloc_raw(sizeof(float) * (size_t) rows * ffn);
	/* one score matrix per thread: heads are attended to in parallel */
	s->score_size = (size_t) max_len * max_len;
	s->scores = tf_alloc_raw(sizeof(float) * s->score_size * tf_parallel_threads());
}

void
tf_layer_scratch_free(TfLayerScratch *s)
{
	tf_free(s->tmp);
	tf_free(s->ctx);
	tf_free(s->qkv);
	tf_free(s->ffn);
	tf_free(s->scores);
}

/* Self-attention of packed sequences, one (sequence, head) pair per item:
 * item i * heads + h is head h of sequence i. */
typedef struct SelfAttentionJob
{
	const TfPacked *seqs;
	const TfLayerScratch *s;	/* qkv[T, 3d] in, ctx[T, d] out */
	int			d;
	int			heads;
	float	   *probs;			/* NULL, or (one sequence) float[heads, T, T] */
} SelfAttentionJob;

/* Items [begin, end) of a SelfAttentionJob, with the worker's own scores. */
static void
self_attention_range(void *ctx, int begin, int end, int worker)
{
	const SelfAttentionJob *job = ctx;
	int			d = job->d;
	int			hd = d / job->heads;
	float	   *scores = job->s->scores + job->s->score_size * worker;

	for (int item = begin; item < end; item++)
	{
		int			i = item / job->heads;
		size_t		col = (size_t) (item % job->heads) * hd;
		int			len = job->seqs->lens[i];
		const float *q = job->s->qkv + (size_t) job->seqs->starts[i] * 3 * d + col;

		tf_attention_head(q, 3 * d, q + d, 3 * d, q + 2 * d, 3 * d,
						  job->s->ctx + (size_t) job->seqs->starts[i] * d + col, d,
						  len, len, hd, 1.0f / sqrtf((float) hd), scores,
						  job->probs ? job->probs + (size_t) item * len * len : NULL);
	}
}

void
tf_self_attention_forward(const void *image, const TfAttentionBlock *b,
						  float **h, int d, int heads, float eps,
						  const TfPacked *seqs, TfLayerScratch *s, float *probs)
{
	SelfAttentionJob job = {seqs, s, d, heads, probs};

	tf_matrix_linear(image, &b->qkv_w, *h, seqs->T, TF_AT(image, b->qkv_b, const float), s->qkv);
	tf_parallel_for(seqs->n * heads, 1, self_attention_range, &job);
	tf_attention_output(image, b, h, seqs->T, d, eps, s);
}

void
tf_attention_output(const void *image, const TfAttentionBlock *b,
					float **h, int n, int d, float eps, TfLayerScratch *s)
{
	float	   *swap;

	tf_matrix_linear(image, &b->out_w, s->ctx, n, TF_AT(image, b->out_b, const float), s->tmp);
	tf_add_layernorm(s->tmp, *h, n, d, TF_AT(image, b->norm_g, const float),
					 TF_AT(image, b->norm_b, const float), eps);
	swap = *h, *h = s->tmp, s->tmp = swap;
}

void
tf_feed_forward_forward(const void *image, const TfFeedForwardBlock *b,
						float **h, int T, int d, int ffn, TfActivation act,
						float eps, TfLayerScratch *s)
{
	float	   *swap;

	tf_matrix_linear(image, &b->in_w, *h, T, TF_AT(image, b->in_b, const float), s->ffn);
	tf_activate(s->ffn, (size_t) T * ffn, act);
	tf_matrix_linear(image, &b->out_w, s->ffn, T, TF_AT(image, b->out_b, const float), s->tmp);
	tf_add_layernorm(s->tmp, *h, T, d, TF_AT(image, b->norm_g, const float),
					 TF_AT(image, b->norm_b, const float), eps);
	swap = *h, *h = s->tmp, s->tmp = swap;
}
