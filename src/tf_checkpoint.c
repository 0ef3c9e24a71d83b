/*
 * tf_checkpoint.c: the files of a checkpoint directory (see tf_checkpoint.h).
 */
#include "tf_checkpoint.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

bool
tf_dir_open(TfModelDir *dir)
{
	size_t		len;

	dir->config = tf_dir_json(dir, "config.json", true);
	if (dir->config == NULL)
		return false;
	if (dir->config->type != TF_JSON_OBJECT)
		return tf_fail(dir->err, TF_ERR_FORMAT, "\"%s/config.json\" is not a JSON object", dir->path);
	dir->weights_file = tf_dir_read(dir, "model.safetensors", true, &len);
	if (dir->weights_file == NULL)
	{
		tf_fail_detail(dir->err, "Only the safetensors format is supported; convert pytorch_model.bin with Hugging Face's save_pretrained(safe_serialization=True).");
		return false;
	}
	return tf_safetensors_open((const uint8_t *) dir->weights_file, len, "model.safetensors",
							   &dir->weights, dir->err);
}

void
tf_dir_close(TfModelDir *dir)
{
	tf_safetensors_close(&dir->weights);
	tf_free(dir->weights_file);
	tf_json_free(dir->config);
	dir->weights_file = NULL;
	dir->config = NULL;
}

char *
tf_dir_read(TfModelDir *dir, const char *name, bool required, size_t *len)
{
	char		path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir->path, name);
	/* absence is not an error for optional files */
	if (!required && stat(path, &st) != 0 && errno == ENOENT)
		return NULL;
	return tf_read_file(path, len, dir->err);
}

TfJson *
tf_dir_json(TfModelDir *dir, const char *name, bool required)
{
	size_t		len;
	char	   *text = tf_dir_read(dir, name, required, &len);
	TfJson	   *json;

	if (text == NULL)
		return NULL;
	json = tf_json_parse(text, len, dir->err);
	tf_free(text);
	if (json == NULL)
	{
		TfError		inner = *dir->err;

		tf_fail(dir->err, TF_ERR_FORMAT, "could not parse \"%s/%s\"", dir->path, name);
		tf_fail_detail(dir->err, "%s.", inner.message);
	}
	return json;
}

/* The member `key` of obj, or NULL when it is absent or JSON null. */
static const TfJson *
config_member(const TfJson *obj, const char *key)
{
	const TfJson *v = tf_json_get(obj, key);

	return v == NULL || v->type == TF_JSON_NULL ? NULL : v;
}

/* Report member `key` as invalid; `rule` (a sentence) says what it must be. */
static bool
config_invalid(TfModelDir *dir, const char *key, const char *rule)
{
	tf_fail(dir->err, TF_ERR_FORMAT, "invalid \"%s\" in the configuration in \"%s\"", key, dir->path);
	return tf_fail_detail(dir->err, "%s", rule);
}

bool
tf_config_int(TfModelDir *dir, const TfJson *obj, const char *key,
			  int64_t fallback, int64_t min, int64_t max, int32_t *out)
{
	const TfJson *v = config_member(obj, key);
	int64_t		value = fallback;
	char		rule[128];

	if (v == NULL && (fallback < min || fallback > max))
		return tf_fail(dir->err, TF_ERR_FORMAT, "\"%s\" is missing from the configuration in \"%s\"",
					   key, dir->path);
	if (v != NULL && !tf_json_int_value(v, min, max, &value))
	{
		snprintf(rule, sizeof(rule), "It must be an integer from %lld to %lld.",
				 (long long) min, (long long) max);
		return config_invalid(dir, key, rule);
	}
	*out = (int32_t) value;
	return true;
}

/* Member key, when present, as a number in [min, max] (NaN never is; an
 * integer when `integer`) into *out; false with the error filled when it
 * is something else. *out is untouched when the member is absent or null. */
static bool
config_number(TfModelDir *dir, const TfJson *obj, const char *key, double min, double max,
			  bool integer, double *out)
{
	const TfJson *v = config_member(obj, key);
	char		rule[128];

	if (v == NULL)
		return true;
	if (v->type == TF_JSON_NUMBER && v->number >= min && v->number <= max &&
		(!integer || v->number == floor(v->number)))
	{
		*out = v->number;
		return true;
	}
	if (!integer)
		snprintf(rule, sizeof(rule), "It must be a number from %g to %g.", min, max);
	else if (max < DBL_MAX)
		snprintf(rule, sizeof(rule), "It must be an integer from %.0f to %.0f.", min, max);
	else
		snprintf(rule, sizeof(rule), "It must be an integer of at least %.0f.", min);
	return config_invalid(dir, key, rule);
}

bool
tf_config_limit(TfModelDir *dir, const TfJson *obj, const char *key,
				int32_t fallback, int32_t min, int32_t cap, int32_t *out)
{
	double		value = fallback;

	/* any integer from min up: Hugging Face writes int(1e30) for "no limit" */
	if (!config_number(dir, obj, key, min, DBL_MAX, true, &value))
		return false;
	*out = value > cap ? cap : (int32_t) value;
	return true;
}

bool
tf_config_float(TfModelDir *dir, const TfJson *obj, const char *key,
				double fallback, double min, double max, double *out)
{
	*out = fallback;
	return config_number(dir, obj, key, min, max, false, out);
}

bool
tf_config_bool(TfModelDir *dir, const TfJson *obj, const char *key, bool fallback, bool *out)
{
	const TfJson *v = config_member(obj, key);

	*out = fallback;
	if (v == NULL)
		return true;
	if (v->type != TF_JSON_BOOL)
		return config_invalid(dir, key, "It must be true or false.");
	*out = v->boolean;
	return true;
}

bool
tf_config_string(TfModelDir *dir, const TfJson *obj, const char *key, const char *fallback,
				 const char **out)
{
	const TfJson *v = config_member(obj, key);

	*out = fallback;
	if (v == NULL)
		return true;
	if (v->type != TF_JSON_STRING)
		return config_invalid(dir, key, "It must be a string.");
	*out = v->string;
	return true;
}

bool
tf_dir_vocab(TfModelDir *dir, const char *name, const TfJson *obj,
			 const char ***tokens, uint32_t **lens)
{
	if (obj == NULL || obj->type != TF_JSON_OBJECT || obj->count == 0)
		return tf_fail(dir->err, TF_ERR_FORMAT, "\"%s/%s\" is not a vocabulary object", dir->path, name);
	*tokens = tf_alloc(sizeof(char *) * obj->count);
	*lens = tf_alloc(sizeof(uint32_t) * obj->count);
	for (int32_t i = 0; i < obj->count; i++)
	{
		const TfJson *e = &obj->children[i];
		double		id = e->number;

		if (e->type != TF_JSON_NUMBER || id < 0 || id >= obj->count || id != floor(id) ||
			(*tokens)[(int32_t) id] != NULL)
		{
			tf_free(*tokens);
			tf_free(*lens);
			*tokens = NULL;
			*lens = NULL;
			tf_fail(dir->err, TF_ERR_FORMAT, "\"%s/%s\" has a bad vocabulary", dir->path, name);
			return tf_fail_detail(dir->err, "Token \"%s\" has id %g; ids must be 0 to %d, each used once.",
								  e->key, id, obj->count - 1);
		}
		(*tokens)[(int32_t) id] = e->key;
		(*lens)[(int32_t) id] = (uint32_t) e->key_len;
	}
	return true;
}
