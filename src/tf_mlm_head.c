/*
 * tf_mlm_head.c: the masked-language-model head of BERT (see tf_mlm_head.h).
 */
#include "tf_mlm_head.h"

#include <stdio.h>
#include <string.h>

/* Head tensors are named from the checkpoint's root (BertForMaskedLM). */
static const char *const head_prefixes[] = {"", NULL};

/* Is tensor `name` in the checkpoint? If not, head->missing names it. */
static bool
present(TfModelDir *dir, const char *name, TfMlmHead *head)
{
	if (tf_safetensors_find(&dir->weights, name) != NULL)
		return true;
	snprintf(head->missing, sizeof(head->missing), "%s", name);
	return false;
}

/* Load vector `name` of n floats into *out when present; *fatal when
 * present but wrong. */
static bool
load_vector(TfModelDir *dir, const char *name, int64_t n, TfMlmHead *head, TfOffset *out, bool *fatal)
{
	if (!present(dir, name, head))
		return false;
	*out = tf_weight_load(dir->arena, &dir->weights, head_prefixes, name, 1, &n,
						  &dir->n_params, dir->err);
	*fatal = *out == 0;
	return !*fatal;
}

/* Load matrix `name` [rows, cols] into *out when present; *fatal when
 * present but wrong. */
static bool
load_matrix(TfModelDir *dir, const char *name, int64_t rows, int64_t cols, TfMlmHead *head,
			TfMatrix *out, bool *fatal)
{
	if (!present(dir, name, head))
		return false;
	*fatal = !tf_matrix_load_named(dir, head_prefixes, name, rows, cols, true, out);
	return !*fatal;
}

bool
tf_mlm_head_load(TfModelDir *dir, int32_t vocab, int32_t hidden, const TfMatrix *word_emb,
				 TfMlmHead *out)
{
	const char *bias_name = "cls.predictions.bias";
	bool		tied;
	bool		fatal = false;

	memset(out, 0, sizeof(*out));
	if (!tf_config_bool(dir, dir->config, "tie_word_embeddings", true, &tied))
		return false;
	/* checkpoints saved before the bias moved keep only the decoder's */
	if (tf_safetensors_find(&dir->weights, bias_name) == NULL &&
		tf_safetensors_find(&dir->weights, "cls.predictions.decoder.bias") != NULL)
		bias_name = "cls.predictions.decoder.bias";
	out->decoder = *word_emb;
	out->present =
		load_matrix(dir, "cls.predictions.transform.dense.weight", hidden, hidden, out, &out->dense_w, &fatal) &&
		load_vector(dir, "cls.predictions.transform.dense.bias", hidden, out, &out->dense_b, &fatal) &&
		load_vector(dir, "cls.predictions.transform.LayerNorm.weight", hidden, out, &out->norm_g, &fatal) &&
		load_vector(dir, "cls.predictions.transform.LayerNorm.bias", hidden, out, &out->norm_b, &fatal) &&
		load_vector(dir, bias_name, vocab, out, &out->bias, &fatal) &&
		(tied || load_matrix(dir, "cls.predictions.decoder.weight", vocab, hidden, out, &out->decoder, &fatal));
	return !fatal;
}

void
tf_mlm_head_probs(const void *image, const TfMlmHead *head, const float *h, int n,
				  int32_t hidden, int32_t vocab, TfActivation act, float eps, float *probs)
{
	float	   *t = tf_alloc_raw(sizeof(float) * (size_t) n * hidden);	/* float[n, hidden] */

	tf_matrix_linear(image, &head->dense_w, h, n, TF_AT(image, head->dense_b, const float), t);
	tf_activate(t, (size_t) n * hidden, act);
	tf_add_layernorm(t, NULL, n, hidden, TF_AT(image, head->norm_g, const float),
					 TF_AT(image, head->norm_b, const float), eps);
	tf_matrix_linear(image, &head->decoder, t, n, TF_AT(image, head->bias, const float), probs);
	tf_softmax_rows(probs, n, vocab);
	tf_free(t);
}
