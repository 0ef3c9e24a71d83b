/*
 * tf_checkpoint.c: the files of a checkpoint directory (see tf_checkpoint.h).
 */
#include "tf_checkpoint.h"

#include <errno.h>
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

bool
tf_config_int(TfModelDir *dir, const TfJson *obj, const char *key,
			  int64_t fallback, int64_t min, int64_t max, int32_t *out)
{
	const TfJson *v = tf_json_get(obj, key);
	double		d;

	if (v == NULL || v->type == TF_JSON_NULL)
	{
		if (fallback < min || fallback > max)
			return tf_fail(dir->err, TF_ERR_FORMAT, "\"%s\" is missing from the configuration in \"%s\"",
						   key, dir->path);
		*out = (int32_t) fallback;
		return true;
	}
	d = v->number;
	if (v->type != TF_JSON_NUMBER || d != floor(d) || d < (double) min || d > (double) max)
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "invalid \"%s\" in the configuration in \"%s\"", key, dir->path);
		return tf_fail_detail(dir->err, "It must be an integer from %lld to %lld.",
							  (long long) min, (long long) max);
	}
	*out = (int32_t) d;
	return true;
}
