/*
 * fuzz_json.c: the JSON reader (tf_json_parse) on arbitrary bytes.
 *
 * Checks: a refusal is a TF_ERR_FORMAT or TF_ERR_LIMIT; an accepted text,
 * written back by the mutator's writer and parsed again, gives the same
 * tree (numbers bit for bit, strings byte for byte, NaN as NaN); every
 * object member is found again by tf_json_get (the last of duplicates);
 * tf_json_int_value accepts exactly the integers it should.
 */
#include <math.h>

#include "fuzz_common.h"
#include "json_mutator.h"

/* Member names and values the structural mutations try. */
static const char *const words[] = {
	"model_type", "vocab_size", "hidden_size", "bad_words_ids", "model_max_length", "dtype", "shape",
	"data_offsets", "model", "vocab", "type", "path", "", "\\", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xff",
	"a\"b", NULL
};

/* Are the two trees equal, value for value? */
static bool
same_tree(const TfJson *a, const TfJson *b)
{
	if (a->type != b->type || a->count != b->count || a->key_len != b->key_len ||
		(a->key_len > 0 && memcmp(a->key, b->key, a->key_len) != 0))
		return false;
	switch (a->type)
	{
		case TF_JSON_NUMBER:
			return isnan(a->number) ? isnan(b->number) :
				a->number == b->number && signbit(a->number) == signbit(b->number);
		case TF_JSON_BOOL:
			return a->boolean == b->boolean;
		case TF_JSON_STRING:
			return a->string_len == b->string_len && memcmp(a->string, b->string, a->string_len) == 0;
		default:
			for (int32_t i = 0; i < a->count; i++)
				if (!same_tree(&a->children[i], &b->children[i]))
					return false;
			return true;
	}
}

/* Check the lookups and typed readers over every node of the tree. */
static void
check_node(const TfJson *v)
{
	int64_t		i64;

	if (v->type == TF_JSON_STRING)
		FUZZ_CHECK(v->string[v->string_len] == '\0', "string not terminated");
	if (v->type == TF_JSON_NUMBER && tf_json_int_value(v, INT64_MIN, INT64_MAX, &i64))
		FUZZ_CHECK((double) i64 == v->number && isfinite(v->number), "%g taken as %lld", v->number, (long long) i64);
	if (v->type == TF_JSON_NUMBER && isfinite(v->number) && v->number == floor(v->number) &&
		fabs(v->number) < 9e18)
		FUZZ_CHECK(tf_json_int_value(v, INT64_MIN, INT64_MAX, &i64), "integer %g refused", v->number);
	for (int32_t i = 0; i < v->count; i++)
	{
		const TfJson *c = &v->children[i];

		if (v->type == TF_JSON_OBJECT && strlen(c->key) == c->key_len)
		{
			const TfJson *found = tf_json_get(v, c->key);

			/* the last member of that name: at or after this one */
			FUZZ_CHECK(found != NULL && found >= c && found->key_len == c->key_len,
					   "member \"%s\" not found again", c->key);
		}
		check_node(c);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TfError		err;
	TfJson	   *tree = tf_json_parse((const char *) data, size, &err);
	TfJson	   *again;
	char	   *text;
	size_t		len;
	FuzzRng		rng;

	if (tree == NULL)
	{
		FUZZ_CHECK(err.code == TF_ERR_FORMAT || err.code == TF_ERR_LIMIT, "refused with code %d", err.code);
		return 0;
	}
	check_node(tree);
	fuzz_rng_init(&rng, (unsigned int) size);
	text = fuzz_json_text(tree, &rng, &len);
	again = tf_json_parse(text, len, &err);
	FUZZ_CHECK(again != NULL && same_tree(tree, again), "written back as %.200s it reads differently (%s)",
			   text, again ? "another tree" : err.message);
	tf_json_free(again);
	tf_json_free(tree);
	free(text);
	return 0;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	/* half byte-level: the parser itself is the target here */
	if (seed % 2)
		return LLVMFuzzerMutate(data, size, max_size);
	return fuzz_json_mutate(data, size, max_size, seed / 2, words);
}
