/*
 * tf_model.c: checkpoint directories -> model images; dispatch on model_type.
 */
#include "tf_model.h"

#include <stdio.h>
#include <string.h>

#include "tf_bert.h"
#include "tf_marian.h"
#include "tf_matrix.h"

static const char *const precision_names[] = {"exact", "float32", "int8"};

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

bool
tf_precision_parse(const char *name, TfPrecision *out)
{
	for (int p = TF_PRECISION_EXACT; p <= TF_PRECISION_INT8; p++)
		if (strcmp(name, precision_names[p]) == 0)
		{
			*out = (TfPrecision) p;
			return true;
		}
	return false;
}

const char *
tf_precision_name(TfPrecision precision)
{
	return precision_names[precision];
}

void
tf_image_formats(const TfImageHeader *h, char *buf, size_t size)
{
	size_t		n = 0;

	buf[0] = '\0';
	for (int f = TF_FORMAT_F32; f <= TF_FORMAT_INT8; f++)
		if ((h->formats & (1u << f)) && n < size)
			n += snprintf(buf + n, size - n, "%s%s", n > 0 ? "+" : "", tf_format_name((TfFormat) f));
}

bool
tf_model_load(const char *path, TfPrecision precision, TfArena *arena, TfError *err)
{
	TfModelDir	dir = {.path = path, .arena = arena, .precision = precision, .err = err};
	TfOffset	header;
	TfOffset	model = 0;
	TfArch		arch = 0;
	int32_t		dim = 0;
	bool		ok;

	err->code = TF_OK;
	tf_arena_init(arena, 1 << 20);
	header = tf_arena_alloc(arena, sizeof(TfImageHeader), 64);
	ok = tf_dir_open(&dir);
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
	tf_dir_close(&dir);
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
		h->precision = precision;
		h->formats = dir.formats;
		h->image_bytes = arena->size;
		h->model = model;
	}
	return true;
}
