/*
 * tf_generation_config.c: a Marian checkpoint's decoding defaults (see
 * tf_generation_config.h for the rules and the transformers version they
 * follow).
 */
#include "tf_generation_config.h"

#include <math.h>
#include <string.h>

#define NO_TOKEN (-1)			/* Hugging Face's None for a token id */
#define HF_DEFAULT_MAX_LENGTH 20	/* GenerationConfig().max_length */

/* Where the generation keys come from. */
typedef struct GenerationSource
{
	const TfJson *json;
	const char *file;			/* its name, for messages */
	bool		model_config;	/* config.json through MarianConfig, not
								 * generation_config.json */
} GenerationSource;

/*
 * Special token ids with their default when the key is absent: MarianConfig's
 * constructor default for config.json (PretrainedConfig's None where
 * MarianConfig sets none); GenerationConfig()'s default, always None, for
 * generation_config.json. A null value is None in both.
 */
typedef struct TokenKey
{
	const char *key;
	int32_t		marian_default;
} TokenKey;

static const TokenKey eos_key = {"eos_token_id", 0};
static const TokenKey decoder_start_key = {"decoder_start_token_id", 58100};
static const TokenKey bos_key = {"bos_token_id", NO_TOKEN};
static const TokenKey forced_eos_key = {"forced_eos_token_id", 0};

/* Integer options: GenerationConfig's default, which PretrainedConfig's
 * equals, and the accepted range. */
typedef struct IntKey
{
	const char *key;
	int32_t		fallback;
	int32_t		min;
	int32_t		max;
} IntKey;

static const IntKey num_beams_key = {"num_beams", 1, 1, TF_GENERATE_MAX_BEAMS};
static const IntKey max_length_key = {"max_length", HF_DEFAULT_MAX_LENGTH, 1, 1 << 20};
static const IntKey min_length_key = {"min_length", 0, 0, 1 << 20};
static const IntKey max_new_tokens_key = {"max_new_tokens", NO_TOKEN, 1, 1 << 20};

/*
 * Options we do not implement, with the value at which they do nothing in
 * greedy and beam search (GenerationConfig's default): absent or null is
 * fine too. number_value applies to numbers, bool_value to booleans; a
 * kind of value not listed is never inert.
 */
typedef enum InertKind
{
	INERT_NULL,					/* only absent or null */
	INERT_NUMBER,
	INERT_BOOL
} InertKind;

typedef struct InertKey
{
	const char *key;
	InertKind	kind;
	double		number_value;
	bool		bool_value;
} InertKey;

static const InertKey inert_keys[] = {
	{"do_sample", INERT_BOOL, 0, false},
	{"num_beam_groups", INERT_NUMBER, 1, false},
	{"diversity_penalty", INERT_NUMBER, 0, false},
	{"num_return_sequences", INERT_NUMBER, 1, false},
	{"repetition_penalty", INERT_NUMBER, 1, false},
	{"encoder_repetition_penalty", INERT_NUMBER, 1, false},
	{"no_repeat_ngram_size", INERT_NUMBER, 0, false},
	{"encoder_no_repeat_ngram_size", INERT_NUMBER, 0, false},
	{"remove_invalid_values", INERT_BOOL, 0, false},
	{"forced_bos_token_id", INERT_NULL, 0, false},
	{"min_new_tokens", INERT_NULL, 0, false},
	{"suppress_tokens", INERT_NULL, 0, false},
	{"begin_suppress_tokens", INERT_NULL, 0, false},
	{"forced_decoder_ids", INERT_NULL, 0, false},
	{"exponential_decay_length_penalty", INERT_NULL, 0, false},
	{"sequence_bias", INERT_NULL, 0, false},
	{"constraints", INERT_NULL, 0, false},
	{"force_words_ids", INERT_NULL, 0, false},
	{"guidance_scale", INERT_NULL, 0, false},
	{"max_time", INERT_NULL, 0, false},
	{"stop_strings", INERT_NULL, 0, false},
	{"penalty_alpha", INERT_NULL, 0, false},
	{"watermarking_config", INERT_NULL, 0, false},
};

/* Is an option we do not implement absent or at its inert value? */
static bool
check_inert(TfModelDir *dir, const GenerationSource *src, const InertKey *k)
{
	const TfJson *v = tf_json_get(src->json, k->key);

	if (v == NULL || v->type == TF_JSON_NULL ||
		(k->kind == INERT_NUMBER && v->type == TF_JSON_NUMBER && v->number == k->number_value) ||
		(k->kind == INERT_BOOL && v->type == TF_JSON_BOOL && v->boolean == k->bool_value))
		return true;
	tf_fail(dir->err, TF_ERR_UNSUPPORTED, "unsupported generation option \"%s\" in \"%s/%s\"",
			k->key, dir->path, src->file);
	if (k->kind == INERT_NULL)
		return tf_fail_detail(dir->err, "Only greedy and beam search are implemented; remove the option or set it to null.");
	if (k->kind == INERT_BOOL)
		return tf_fail_detail(dir->err, "Only greedy and beam search are implemented; the option must be %s.",
							  k->bool_value ? "true" : "false");
	return tf_fail_detail(dir->err, "Only greedy and beam search are implemented; the option must be %g.",
						  k->number_value);
}

/* A token id (a number, or a list of one as GenerationConfig allows for
 * eos) -> *out; NO_TOKEN for null, the source's default when absent. */
static bool
read_token_id(TfModelDir *dir, const GenerationSource *src, const TokenKey *k, int32_t vocab,
			  int32_t *out)
{
	const TfJson *v = tf_json_get(src->json, k->key);

	if (v == NULL)
	{
		*out = src->model_config ? k->marian_default : NO_TOKEN;
		if (*out >= vocab)
		{
			tf_fail(dir->err, TF_ERR_FORMAT, "\"%s/%s\" has no \"%s\" and the default %d is outside the vocabulary",
					dir->path, src->file, k->key, *out);
			return tf_fail_detail(dir->err, "MarianConfig's default applies to a missing key; the target vocabulary has %d entries.",
								  vocab);
		}
		return true;
	}
	if (v->type == TF_JSON_ARRAY && v->count == 1)
		v = &v->children[0];
	if (v->type == TF_JSON_NULL)
	{
		*out = NO_TOKEN;
		return true;
	}
	if (v->type != TF_JSON_NUMBER || v->number != floor(v->number) || v->number < 0 || v->number >= vocab)
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "invalid \"%s\" in \"%s/%s\"", k->key, dir->path, src->file);
		return tf_fail_detail(dir->err, "It must be a token id from 0 to %d, or null.", vocab - 1);
	}
	*out = (int32_t) v->number;
	return true;
}

/* An integer option in its range; the key's fallback when absent or null. */
static bool
read_int(TfModelDir *dir, const GenerationSource *src, const IntKey *k, int32_t *out)
{
	const TfJson *v = tf_json_get(src->json, k->key);

	if (v == NULL || v->type == TF_JSON_NULL)
	{
		*out = k->fallback;
		return true;
	}
	return tf_config_int(dir, src->json, k->key, k->min, k->min, k->max, out);
}

/* early_stopping: true, false or "never" (GenerationConfig.validate's set). */
static bool
read_early_stopping(TfModelDir *dir, const GenerationSource *src, TfEarlyStopping *out)
{
	const TfJson *v = tf_json_get(src->json, "early_stopping");

	*out = TF_STOP_HEURISTIC;
	if (v == NULL || v->type == TF_JSON_NULL || (v->type == TF_JSON_BOOL && !v->boolean))
		return true;
	if (v->type == TF_JSON_BOOL)
		*out = TF_STOP_EARLY;
	else if (v->type == TF_JSON_STRING && strcmp(v->string, "never") == 0)
		*out = TF_STOP_NEVER;
	else
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "invalid \"early_stopping\" in \"%s/%s\"", dir->path, src->file);
		return tf_fail_detail(dir->err, "It must be true, false or \"never\".");
	}
	return true;
}

/* length_penalty: a finite number, 1.0 when absent or null. */
static bool
read_length_penalty(TfModelDir *dir, const GenerationSource *src, float *out)
{
	bool		ok = true;
	double		d = tf_json_number(src->json, "length_penalty", 1.0, &ok);

	if (!ok || !isfinite(d) || fabs(d) > 1e6)
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "invalid \"length_penalty\" in \"%s/%s\"", dir->path, src->file);
		return tf_fail_detail(dir->err, "It must be a number between -1e6 and 1e6.");
	}
	*out = (float) d;
	return true;
}

/* renormalize_logits: a boolean, false when absent or null. */
static bool
read_bool(TfModelDir *dir, const GenerationSource *src, const char *key, bool *out)
{
	bool		ok = true;

	*out = tf_json_bool(src->json, key, false, &ok);
	if (!ok)
		return tf_fail(dir->err, TF_ERR_FORMAT, "invalid \"%s\" in \"%s/%s\": it must be true or false",
					   key, dir->path, src->file);
	return true;
}

/* bad_words_ids: [[id], ...] -> m->banned, leaving out the generation eos
 * as NoBadWordsLogitsProcessor does; only single-token entries. */
static bool
read_bad_words(TfModelDir *dir, const GenerationSource *src, TfMarianModel *m)
{
	const TfJson *bad = tf_json_get(src->json, "bad_words_ids");
	int32_t    *banned;

	m->n_banned = 0;
	if (bad == NULL || bad->type == TF_JSON_NULL)
		return true;
	if (bad->type != TF_JSON_ARRAY)
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "invalid \"bad_words_ids\" in \"%s/%s\"", dir->path, src->file);
		return tf_fail_detail(dir->err, "It must be a list of lists of token ids.");
	}
	m->banned = tf_arena_alloc(dir->arena, sizeof(int32_t) * (bad->count + 1), 8);
	banned = TF_ARENA_AT(dir->arena, m->banned, int32_t);
	for (int32_t i = 0; i < bad->count; i++)
	{
		const TfJson *w = &bad->children[i];
		double		id;

		if (w->type != TF_JSON_ARRAY || w->count != 1 || w->children[0].type != TF_JSON_NUMBER)
		{
			tf_fail(dir->err, TF_ERR_UNSUPPORTED, "unsupported \"bad_words_ids\" in \"%s/%s\"", dir->path, src->file);
			return tf_fail_detail(dir->err, "Only bans of single token ids are supported.");
		}
		id = w->children[0].number;
		if (id != floor(id) || id < 0 || id >= m->tgt_vocab)
		{
			tf_fail(dir->err, TF_ERR_FORMAT, "invalid \"bad_words_ids\" in \"%s/%s\"", dir->path, src->file);
			return tf_fail_detail(dir->err, "Token ids must be integers from 0 to %d.", m->tgt_vocab - 1);
		}
		if ((int32_t) id != m->generation_eos_id)
			banned[m->n_banned++] = (int32_t) id;
	}
	return true;
}

/* generate()'s length rule when the caller passes no max_length. */
static int32_t
effective_max_length(int32_t max_length, int32_t max_new_tokens, int32_t max_positions)
{
	if (max_new_tokens != NO_TOKEN)
		return max_new_tokens + 1;	/* the decoder start token counted */
	if (max_length == HF_DEFAULT_MAX_LENGTH)
		return HF_DEFAULT_MAX_LENGTH + 1 < max_positions ? HF_DEFAULT_MAX_LENGTH + 1 : max_positions;
	return max_length;
}

bool
tf_generation_config_load(TfModelDir *dir, TfMarianModel *m)
{
	TfJson	   *gen = tf_dir_json(dir, "generation_config.json", false);
	GenerationSource src = {gen, "generation_config.json", false};
	TfGenerateOptions *g = &m->generation;
	int32_t		bos,
				max_new_tokens;
	bool		ok = true;

	if (dir->err->code != TF_OK)
		return false;
	if (gen == NULL)
		src = (GenerationSource) {dir->config, "config.json", true};
	for (size_t i = 0; ok && i < sizeof(inert_keys) / sizeof(inert_keys[0]); i++)
		ok = check_inert(dir, &src, &inert_keys[i]);
	ok = ok &&
		read_token_id(dir, &src, &eos_key, m->tgt_vocab, &m->generation_eos_id) &&
		read_token_id(dir, &src, &forced_eos_key, m->tgt_vocab, &m->forced_eos_id) &&
		read_token_id(dir, &src, &decoder_start_key, m->tgt_vocab, &m->decoder_start_id) &&
		read_token_id(dir, &src, &bos_key, m->tgt_vocab, &bos) &&
		read_int(dir, &src, &num_beams_key, &g->num_beams) &&
		read_int(dir, &src, &max_length_key, &g->max_length) &&
		read_int(dir, &src, &min_length_key, &g->min_length) &&
		read_int(dir, &src, &max_new_tokens_key, &max_new_tokens) &&
		read_length_penalty(dir, &src, &g->length_penalty) &&
		read_early_stopping(dir, &src, &g->early_stopping) &&
		read_bool(dir, &src, "renormalize_logits", &g->renormalize) &&
		read_bad_words(dir, &src, m);
	if (ok && m->decoder_start_id == NO_TOKEN)
		m->decoder_start_id = bos;
	if (ok && m->decoder_start_id == NO_TOKEN)
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "\"%s/%s\" sets neither \"decoder_start_token_id\" nor \"bos_token_id\"",
				dir->path, src.file);
		ok = tf_fail_detail(dir->err, "Decoding needs a start token; Hugging Face's generate() refuses such a model too.");
	}
	if (ok)
		g->max_length = effective_max_length(g->max_length, max_new_tokens, m->max_positions);
	tf_json_free(gen);
	return ok;
}
