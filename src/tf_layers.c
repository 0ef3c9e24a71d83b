/*
 * tf_layers.c: shared post-LN attention and feed-forward blocks.
 */
#include "tf_layers.h"

#include <math.h>
#include <stdio.h>

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
	out->qkv_w = tf_arena_alloc(a, sizeof(float) * 3 * (size_t) d * d, 64);
	out->qkv_b = tf_arena_alloc(a, sizeof(float) * 3 * (size_t) d, 64);
	for (int j = 0; j < 3; j++)
	{
		tf_weight_copy(&dir->weights, w[j], TF_ARENA_AT(a, out->qkv_w, float) + (size_t) j * d * d,
					   &dir->n_params);
		tf_weight_copy(&dir->weights, b[j], TF_ARENA_AT(a, out->qkv_b, float) + (size_t) j * d,
					   &dir->n_params);
	}
	return (out->out_w = load_named(dir, prefixes, names->out_w, layer, 2, dd)) != 0 &&
		(out->out_b = load_named(dir, prefixes, names->out_b, layer, 1, d1)) != 0 &&
		(out->norm_g = load_named(dir, prefixes, names->norm_g, layer, 1, d1)) != 0 &&
		(out->norm_b = load_named(dir, prefixes, names->norm_b, layer, 1, d1)) != 0;
}

bool
tf_feed_forward_block_load(TfModelDir *dir, const char *const *prefixes,
						   const TfFeedForwardNames *names, int layer, int d,
						   int ffn, TfFeedForwardBlock *out)
{
	int64_t		fd[2] = {ffn, d},
				df[2] = {d, ffn},
				f1[1] = {ffn},
				d1[1] = {d};

	return (out->in_w = load_named(dir, prefixes, names->in_w, layer, 2, fd)) != 0 &&
		(out->in_b = load_named(dir, prefixes, names->in_b, layer, 1, f1)) != 0 &&
		(out->out_w = load_named(dir, prefixes, names->out_w, layer, 2, df)) != 0 &&
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
	s->scores = tf_alloc_raw(sizeof(float) * (size_t) max_len * max_len);
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

void
tf_self_attention_forward(const void *image, const TfAttentionBlock *b,
						  float **h, int d, int heads, float eps,
						  const TfPacked *seqs, TfLayerScratch *s, float *probs)
{
	int			hd = d / heads;

	tf_linear(*h, seqs->T, d, TF_AT(image, b->qkv_w, const float),
			  TF_AT(image, b->qkv_b, const float), 3 * d, s->qkv);
	for (int i = 0; i < seqs->n; i++)
	{
		const float *q = s->qkv + (size_t) seqs->starts[i] * 3 * d;

		tf_attention(q, 3 * d, q + d, 3 * d, q + 2 * d, 3 * d, s->ctx + (size_t) seqs->starts[i] * d, d,
					 seqs->lens[i], seqs->lens[i], heads, hd, 1.0f / sqrtf((float) hd), s->scores,
					 probs);
	}
	tf_attention_output(image, b, h, seqs->T, d, eps, s);
}

void
tf_attention_output(const void *image, const TfAttentionBlock *b,
					float **h, int n, int d, float eps, TfLayerScratch *s)
{
	float	   *swap;

	tf_linear(s->ctx, n, d, TF_AT(image, b->out_w, const float),
			  TF_AT(image, b->out_b, const float), d, s->tmp);
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

	tf_linear(*h, T, d, TF_AT(image, b->in_w, const float), TF_AT(image, b->in_b, const float),
			  ffn, s->ffn);
	tf_activate(s->ffn, (size_t) T * ffn, act);
	tf_linear(s->ffn, T, ffn, TF_AT(image, b->out_w, const float),
			  TF_AT(image, b->out_b, const float), d, s->tmp);
	tf_add_layernorm(s->tmp, *h, T, d, TF_AT(image, b->norm_g, const float),
					 TF_AT(image, b->norm_b, const float), eps);
	swap = *h, *h = s->tmp, s->tmp = swap;
}
