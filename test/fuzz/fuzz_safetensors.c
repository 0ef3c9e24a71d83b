/*
 * fuzz_safetensors.c: the safetensors reader (tf_safetensors_open, then the
 * float32 conversion of every tensor it accepted) on arbitrary bytes.
 *
 * Checks, for every accepted tensor, by arithmetic of its own in 128 bits:
 * its element count times its dtype's size is exactly its byte range, and
 * the range lies inside the data section; then every float tensor is
 * converted (under ASan: no byte outside the range is read).
 *
 * The custom mutator keeps the layout: it parses the header JSON, mutates
 * it structurally (json_mutator.h) or gives one tensor a shape that agrees
 * with its byte range only in wrapping 64-bit arithmetic, writes it back
 * with its length, and now and then truncates or extends the data section
 * or garbles the length.
 */
#include <math.h>

#include "fuzz_common.h"
#include "json_mutator.h"
#include "tf_safetensors.h"

static const char *const words[] = {
	"dtype", "shape", "data_offsets", "__metadata__", "F32", "F16", "BF16", "F64", "I64", "I32", "I16",
	"I8", "U8", "BOOL", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F4", "format", "pt", NULL
};

/* Bytes per element by dtype name, independent of the reader's table. */
static int
element_size(const char *dtype)
{
	static const char *const sizes[][2] = {
		{"F32", "4"}, {"F16", "2"}, {"BF16", "2"}, {"F64", "8"}, {"I64", "8"}, {"I32", "4"}, {"I16", "2"},
		{"I8", "1"}, {"U8", "1"}, {"BOOL", "1"}, {"U16", "2"}, {"U32", "4"}, {"U64", "8"},
		{"F8_E4M3", "1"}, {"F8_E5M2", "1"},
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (strcmp(sizes[i][0], dtype) == 0)
			return sizes[i][1][0] - '0';
	return 0;
}

/*
 * Give one tensor of the header 2 to 4 power-of-two dims whose product
 * times the dtype size is 2^64, and an empty byte range: a header whose
 * sizes agree if the products wrap, as a crafted file's would.
 */
static void
wrap_shape(TfJson *header, FuzzRng *rng)
{
	TfJson	   *entry;
	TfJson	   *shape;
	TfJson	   *offsets;
	double		dims[4];
	double		range[2];
	int			bits = 64;
	int			ndim = 2 + (int) fuzz_rand(rng, 3);

	if (header->type != TF_JSON_OBJECT || header->count == 0)
		return;
	entry = &header->children[fuzz_rand(rng, (uint32_t) header->count)];
	shape = (TfJson *) tf_json_get(entry, "shape");
	offsets = (TfJson *) tf_json_get(entry, "data_offsets");
	if (shape == NULL || offsets == NULL || offsets->count != 2 || offsets->children[0].type != TF_JSON_NUMBER ||
		element_size(tf_json_string(entry, "dtype", "", NULL)) == 0)
		return;
	for (int size = element_size(tf_json_string(entry, "dtype", "", NULL)); size > 1; size /= 2)
		bits--;
	for (int i = 0; i < ndim; i++)
	{
		/* the last dim takes the bits left; the others up to 62 each */
		int			e = i == ndim - 1 ? bits : (int) fuzz_rand(rng, (uint32_t) (bits < 62 ? bits : 62) + 1);

		dims[i] = ldexp(1.0, e);
		bits -= e;
	}
	range[0] = range[1] = offsets->children[0].number;
	fuzz_json_set_numbers(shape, dims, ndim);
	fuzz_json_set_numbers(offsets, range, 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TfSafeTensors st;
	TfError		err;

	if (!tf_safetensors_open(data, size, "fuzz.safetensors", &st, &err))
	{
		fuzz_check_error(&err);
		tf_safetensors_close(&st);
		return 0;
	}
	FUZZ_CHECK(st.data + st.data_len == data + size, "the data section does not end the file");
	for (int32_t i = 0; i < st.count; i++)
	{
		const TfTensorInfo *t = &st.tensors[i];
		unsigned __int128 elements = 1;
		int			bytes = element_size(t->dtype_name);

		for (int d = 0; d < t->ndim; d++)
		{
			FUZZ_CHECK(t->shape[d] >= 0, "tensor \"%s\" has a negative dimension", t->name);
			elements *= (unsigned __int128) t->shape[d];
		}
		FUZZ_CHECK(bytes > 0, "tensor \"%s\" has unknown dtype %s", t->name, t->dtype_name);
		FUZZ_CHECK(t->begin <= t->end && t->end <= st.data_len &&
				   elements * (unsigned) bytes == (unsigned __int128) (t->end - t->begin),
				   "tensor \"%s\": bytes %llu..%llu of %llu do not fit its shape and dtype", t->name,
				   (unsigned long long) t->begin, (unsigned long long) t->end,
				   (unsigned long long) st.data_len);
		FUZZ_CHECK(tf_safetensors_find(&st, t->name) != NULL, "tensor \"%s\" not found by name", t->name);
		if (t->dtype != TF_DTYPE_OTHER)
		{
			float	   *dst = malloc(sizeof(float) * (size_t) elements + 1);
			int64_t		n_params = 0;

			tf_weight_copy(&st, t, dst, &n_params);
			FUZZ_CHECK(n_params == (int64_t) elements, "%lld parameters counted", (long long) n_params);
			free(dst);
		}
	}
	tf_safetensors_close(&st);
	return 0;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	FuzzRng		rng;
	uint64_t	old_header = 0;
	uint64_t	new_header;
	TfError		err;
	TfJson	   *header;
	char	   *text;
	size_t		text_len,
				old_data,
				new_data,
				kept,
				total;

	fuzz_rng_init(&rng, seed);
	for (int i = 7; size >= 8 && i >= 0; i--)
		old_header = (old_header << 8) | data[i];
	if (size < 8 || old_header > size - 8 || fuzz_rand(&rng, 8) == 0 ||
		(header = tf_json_parse((const char *) data + 8, old_header, &err)) == NULL)
		return LLVMFuzzerMutate(data, size, max_size);
	if (fuzz_rand(&rng, 8) == 0)
		wrap_shape(header, &rng);
	else
		fuzz_json_mutate_tree(header, &rng, words);
	text = fuzz_json_text(header, &rng, &text_len);
	tf_json_free(header);

	/* the data section: kept, cut short or grown (with zeros) */
	old_data = new_data = size - 8 - old_header;
	if (fuzz_rand(&rng, 8) == 0)
		new_data = old_data > 0 ? fuzz_rand(&rng, (uint32_t) old_data) : 0;
	else if (fuzz_rand(&rng, 8) == 0)
		new_data += fuzz_rand(&rng, 64);
	total = 8 + text_len + new_data;
	if (total > max_size)
	{
		free(text);
		return LLVMFuzzerMutate(data, size, max_size);
	}
	/* the data moves first: the new header may be longer or shorter */
	kept = old_data < new_data ? old_data : new_data;
	memmove(data + 8 + text_len, data + 8 + old_header, kept);
	memset(data + 8 + text_len + kept, 0, new_data - kept);
	memcpy(data + 8, text, text_len);
	/* the length, now and then wrong by a few bytes */
	new_header = (uint64_t) ((int64_t) text_len + (fuzz_rand(&rng, 16) == 0 ? (int64_t) fuzz_rand(&rng, 16) - 8 : 0));
	for (int i = 0; i < 8; i++)
		data[i] = (uint8_t) (new_header >> (8 * i));
	free(text);
	return total;
}
