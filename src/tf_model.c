/*
 * tf_model.c: checkpoint directories -> model images; dispatch on model_type.
 */
#include "tf_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tf_bert.h"
#include "tf_marian.h"

const char *
tf_arch_name(TfArch arch)
{
	switch (arch)
	{
		case TF_ARCH_BERT:
			return "bert";
		case TF_ARCH_MARIAN:
			return "marian";
	}
	return "unknown";
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

const TfImageHeader *
tf_image_header(const void *image, size_t size, TfError *err)
{
	const TfImageHeader *h = image;

	if (image == NULL || size < sizeof(TfImageHeader) || h->magic != TF_IMAGE_MAGIC ||
		h->version != TF_IMAGE_VERSION || h->image_bytes != size)
	{
		tf_fail(err, TF_ERR_FORMAT, "not a model image");
		return NULL;
	}
	return h;
}

/* Open config.json and model.safetensors, the two files every model has. */
static bool
open_checkpoint(TfModelDir *dir)
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

bool
tf_model_load(const char *path, TfArena *arena, TfError *err)
{
	TfModelDir	dir = {.path = path, .arena = arena, .err = err};
	TfOffset	header;
	TfOffset	model = 0;
	TfArch		arch = 0;
	int32_t		dim = 0;
	bool		ok;

	err->code = TF_OK;
	tf_arena_init(arena, 1 << 20);
	header = tf_arena_alloc(arena, sizeof(TfImageHeader), 64);
	ok = open_checkpoint(&dir);
	if (ok)
	{
		const char *type = tf_json_string(dir.config, "model_type", "", NULL);

		if (strcmp(type, "bert") == 0)
		{
			arch = TF_ARCH_BERT;
			model = tf_bert_load(&dir, &dim);
		}
		else if (strcmp(type, "marian") == 0)
		{
			arch = TF_ARCH_MARIAN;
			model = tf_marian_load(&dir, &dim);
		}
		else
		{
			tf_fail(err, TF_ERR_UNSUPPORTED, "unsupported model_type \"%s\" in \"%s/config.json\"", type, path);
			tf_fail_detail(err, "Supported model types are \"bert\" (sentence embeddings) and \"marian\" (translation).");
		}
		ok = model != 0;
	}
	tf_safetensors_close(&dir.weights);
	tf_free(dir.weights_file);
	tf_json_free(dir.config);
	if (!ok)
	{
		tf_arena_free(arena);
		return false;
	}
	{
		TfImageHeader *h = TF_ARENA_AT(arena, header, TfImageHeader);

		h->magic = TF_IMAGE_MAGIC;
		h->version = TF_IMAGE_VERSION;
		h->arch = arch;
		h->dim = dim;
		h->n_params = dir.n_params;
		h->image_bytes = arena->size;
		h->model = model;
	}
	return true;
}
