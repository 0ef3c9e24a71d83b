/*
 * tf_safetensors.c: safetensors index, validation and float32 conversion.
 */
#include "tf_safetensors.h"

#include <stdio.h>
#include <string.h>

#include "tf_widen.h"

/* Bytes per element of a dtype name, or 0 when the name is unknown. */
static int
dtype_size(const char *name, TfDtype *dtype)
{
	static const struct
	{
		const char *name;
		int			size;
		TfDtype		dtype;
	}			known[] = {
		{"F32", 4, TF_DTYPE_F32}, {"F16", 2, TF_DTYPE_F16}, {"BF16", 2, TF_DTYPE_BF16},
		{"F64", 8, TF_DTYPE_OTHER}, {"I64", 8, TF_DTYPE_OTHER}, {"I32", 4, TF_DTYPE_OTHER},
		{"I16", 2, TF_DTYPE_OTHER}, {"I8", 1, TF_DTYPE_OTHER}, {"U8", 1, TF_DTYPE_OTHER},
		{"BOOL", 1, TF_DTYPE_OTHER}, {"U16", 2, TF_DTYPE_OTHER}, {"U32", 4, TF_DTYPE_OTHER},
		{"U64", 8, TF_DTYPE_OTHER}, {"F8_E4M3", 1, TF_DTYPE_OTHER}, {"F8_E5M2", 1, TF_DTYPE_OTHER},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].name, name) == 0)
		{
			*dtype = known[i].dtype;
			return known[i].size;
		}
	return 0;
}

/* Fill *t from one header entry; false (err set) when it is malformed. */
static bool
index_tensor(const TfJson *entry, uint64_t data_len, const char *path,
			 TfTensorInfo *t, TfError *err)
{
	const TfJson *dtype = tf_json_get(entry, "dtype");
	const TfJson *shape = tf_json_get(entry, "shape");
	const TfJson *offsets = tf_json_get(entry, "data_offsets");
	uint64_t	elements = 1;
	int			size;

	t->name = entry->key;
	if (entry->type != TF_JSON_OBJECT || dtype == NULL || dtype->type != TF_JSON_STRING ||
		shape == NULL || shape->type != TF_JSON_ARRAY || offsets == NULL ||
		offsets->type != TF_JSON_ARRAY || offsets->count != 2)
		return tf_fail(err, TF_ERR_FORMAT, "corrupt safetensors header in \"%s\": bad entry for tensor \"%s\"",
					   path, entry->key);
	size = dtype_size(dtype->string, &t->dtype);
	if (size == 0)
		return tf_fail(err, TF_ERR_FORMAT, "corrupt safetensors header in \"%s\": unknown dtype \"%s\" for tensor \"%s\"",
					   path, dtype->string, entry->key);
	t->dtype_name = dtype->string;
	if (shape->count > TF_MAX_DIMS)
		return tf_fail(err, TF_ERR_UNSUPPORTED, "tensor \"%s\" in \"%s\" has %d dimensions, at most %d are supported",
					   entry->key, path, shape->count, TF_MAX_DIMS);
	t->ndim = shape->count;
	for (int i = 0; i < shape->count; i++)
	{
		if (!tf_json_int_value(&shape->children[i], 0, TF_MAX_ELEMENTS, &t->shape[i]))
			return tf_fail(err, TF_ERR_FORMAT, "corrupt safetensors header in \"%s\": bad shape for tensor \"%s\"",
						   path, entry->key);
		/* checked before multiplying, so the product cannot wrap */
		if (t->shape[i] != 0 && elements > TF_MAX_ELEMENTS / (uint64_t) t->shape[i])
			return tf_fail(err, TF_ERR_FORMAT, "corrupt safetensors header in \"%s\": tensor \"%s\" is impossibly large",
						   path, entry->key);
		elements *= (uint64_t) t->shape[i];
	}
	for (int i = 0; i < 2; i++)
	{
		int64_t		off;

		if (!tf_json_int_value(&offsets->children[i], 0, INT64_MAX, &off))
			return tf_fail(err, TF_ERR_FORMAT, "corrupt safetensors header in \"%s\": bad data_offsets for tensor \"%s\"",
						   path, entry->key);
		if (i == 0)
			t->begin = (uint64_t) off;
		else
			t->end = (uint64_t) off;
	}
	if (t->end < t->begin || t->end - t->begin != elements * (uint64_t) size)
		return tf_fail(err, TF_ERR_FORMAT, "corrupt safetensors header in \"%s\": tensor \"%s\" spans %llu bytes, its shape needs %llu",
					   path, entry->key, (unsigned long long) (t->end - t->begin),
					   (unsigned long long) (elements * size));
	if (t->end > data_len)
	{
		tf_fail(err, TF_ERR_FORMAT, "safetensors file \"%s\" is truncated", path);
		return tf_fail_detail(err, "Tensor \"%s\" ends at byte %llu of the data section, which has %llu bytes.",
							  entry->key, (unsigned long long) t->end, (unsigned long long) data_len);
	}
	return true;
}

bool
tf_safetensors_open(const uint8_t *file, size_t len, const char *path,
					TfSafeTensors *out, TfError *err)
{
	uint64_t	header_len = 0;

	memset(out, 0, sizeof(*out));
	out->path = path;
	if (len < 8)
		return tf_fail(err, TF_ERR_FORMAT, "safetensors file \"%s\" is truncated", path);
	for (int i = 7; i >= 0; i--)
		header_len = (header_len << 8) | file[i];
	if (header_len > len - 8)
	{
		tf_fail(err, TF_ERR_FORMAT, "safetensors file \"%s\" is truncated or corrupt", path);
		return tf_fail_detail(err, "The header claims %llu bytes but the file has %zu.",
							  (unsigned long long) header_len, len);
	}
	out->header = tf_json_parse((const char *) file + 8, header_len, err);
	if (out->header == NULL)
	{
		TfError		inner = *err;

		tf_fail(err, TF_ERR_FORMAT, "corrupt safetensors header in \"%s\"", path);
		return tf_fail_detail(err, "%s.", inner.message);
	}
	if (out->header->type != TF_JSON_OBJECT)
	{
		tf_safetensors_close(out);
		return tf_fail(err, TF_ERR_FORMAT, "corrupt safetensors header in \"%s\": not a JSON object", path);
	}
	out->data = file + 8 + header_len;
	out->data_len = len - 8 - header_len;
	out->tensors = tf_alloc(sizeof(TfTensorInfo) * (out->header->count + 1));
	for (int32_t i = 0; i < out->header->count; i++)
	{
		const TfJson *entry = &out->header->children[i];

		if (strcmp(entry->key, "__metadata__") == 0)
			continue;
		if (!index_tensor(entry, out->data_len, path, &out->tensors[out->count], err))
		{
			tf_safetensors_close(out);
			return false;
		}
		out->count++;
	}
	return true;
}

void
tf_safetensors_close(TfSafeTensors *st)
{
	tf_free(st->tensors);
	tf_json_free(st->header);
	st->tensors = NULL;
	st->header = NULL;
	st->count = 0;
}

const TfTensorInfo *
tf_safetensors_find(const TfSafeTensors *st, const char *name)
{
	for (int32_t i = 0; i < st->count; i++)
		if (strcmp(st->tensors[i].name, name) == 0)
			return &st->tensors[i];
	return NULL;
}

void
tf_tensor_to_f32(const TfSafeTensors *st, const TfTensorInfo *t, float *dst)
{
	const uint8_t *src = st->data + t->begin;
	size_t		n = (size_t) (t->end - t->begin) / (t->dtype == TF_DTYPE_F32 ? 4 : 2);

	/* byte-wise reads: the data section need not be aligned */
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	bits;

		switch (t->dtype)
		{
			case TF_DTYPE_F32:
				bits = (uint32_t) src[4 * i] | (uint32_t) src[4 * i + 1] << 8 |
					(uint32_t) src[4 * i + 2] << 16 | (uint32_t) src[4 * i + 3] << 24;
				memcpy(&dst[i], &bits, 4);
				break;
			case TF_DTYPE_F16:
				dst[i] = tf_f16_to_f32((uint16_t) (src[2 * i] | src[2 * i + 1] << 8));
				break;
			case TF_DTYPE_BF16:
				dst[i] = tf_bf16_to_f32((uint16_t) (src[2 * i] | src[2 * i + 1] << 8));
				break;
			case TF_DTYPE_OTHER:
				return;
		}
	}
}

/* "[a, b, c]" into buf. */
static void
format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
	size_t		n = snprintf(buf, size, "[");

	for (int i = 0; i < ndim && n < size; i++)
		n += snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long) shape[i]);
	if (n < size)
		snprintf(buf + n, size - n, "]");
}

const TfTensorInfo *
tf_weight_find(const TfSafeTensors *st, const char *const *prefixes,
			   const char *name, int ndim, const int64_t *shape, TfError *err)
{
	const TfTensorInfo *t = NULL;
	char		full[512];
	char		got[128],
				want[128];

	for (int i = 0; prefixes[i] != NULL && t == NULL; i++)
	{
		snprintf(full, sizeof(full), "%s%s", prefixes[i], name);
		t = tf_safetensors_find(st, full);
	}
	if (t == NULL)
	{
		tf_fail(err, TF_ERR_SHAPE, "tensor \"%s%s\" is missing from \"%s\"",
				prefixes[0], name, st->path);
		return NULL;
	}
	format_shape(want, sizeof(want), ndim, shape);
	format_shape(got, sizeof(got), t->ndim, t->shape);
	if (strcmp(got, want) != 0)
	{
		tf_fail(err, TF_ERR_SHAPE, "tensor \"%s\" in \"%s\" has the wrong shape", t->name, st->path);
		tf_fail_detail(err, "Expected %s from config.json, found %s.", want, got);
		return NULL;
	}
	if (t->dtype == TF_DTYPE_OTHER)
	{
		tf_fail(err, TF_ERR_UNSUPPORTED, "tensor \"%s\" in \"%s\" has unsupported dtype %s",
				t->name, st->path, t->dtype_name);
		tf_fail_detail(err, "Weights must be F32, F16 or BF16.");
		return NULL;
	}
	return t;
}

int64_t
tf_tensor_elements(const TfTensorInfo *t)
{
	int64_t		elements = 1;

	for (int i = 0; i < t->ndim; i++)
		elements *= t->shape[i];
	return elements;
}

void
tf_weight_copy(const TfSafeTensors *st, const TfTensorInfo *t, float *dst, int64_t *n_params)
{
	tf_tensor_to_f32(st, t, dst);
	if (n_params)
		*n_params += tf_tensor_elements(t);
}

bool
tf_weight_read(const TfSafeTensors *st, const char *const *prefixes,
			   const char *name, int ndim, const int64_t *shape,
			   float *dst, int64_t *n_params, TfError *err)
{
	const TfTensorInfo *t = tf_weight_find(st, prefixes, name, ndim, shape, err);

	if (t == NULL)
		return false;
	tf_weight_copy(st, t, dst, n_params);
	return true;
}

TfOffset
tf_weight_load(TfArena *arena, const TfSafeTensors *st, const char *const *prefixes,
			   const char *name, int ndim, const int64_t *shape,
			   int64_t *n_params, TfError *err)
{
	const TfTensorInfo *t = tf_weight_find(st, prefixes, name, ndim, shape, err);
	TfOffset	off;

	/* sized only once the file is known to hold it: a config's numbers
	 * alone never decide how much memory is taken */
	if (t == NULL)
		return 0;
	off = tf_arena_alloc(arena, (size_t) tf_tensor_elements(t) * sizeof(float), 64);
	tf_weight_copy(st, t, TF_ARENA_AT(arena, off, float), n_params);
	return off;
}
