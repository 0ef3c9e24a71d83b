/*
 * json_mutator.c: structure-aware JSON mutations (see json_mutator.h).
 *
 * The tree is the core's own TfJson: every string, key and children array
 * is tf_alloc'd, so that tf_json_free releases a mutated tree as it does a
 * parsed one.
 */
#include "json_mutator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Numbers a careless or hostile config holds: non-finite, signed zero,
 * fractions, the edges of int32, uint32, 2^53 and int64, huge and tiny. */
static const double hostile_numbers[] = {
	NAN, INFINITY, -INFINITY, 0.0, -0.0, 1, -1, 2, 3, 0.5, 1.5, -0.5, 8, 64, 100, 255, 256, 512, 1024,
	65535, 65536, 65537, 1e10, -1e10, 2147483647.0, 2147483648.0, -2147483648.0, -2147483649.0,
	4294967295.0, 4294967296.0, 1e15, 9007199254740993.0, 9223372036854775807.0, 1.8446744073709552e19,
	1e30, -1e30, 1e300, 1e308, -1e308, 1e-300, 5e-324, 1e-12, 1e-6,
};

void
fuzz_rng_init(FuzzRng *rng, unsigned int seed)
{
	rng->state = 0x9E3779B97F4A7C15ull ^ seed;
	if (rng->state == 0)
		rng->state = 1;
}

uint32_t
fuzz_rand(FuzzRng *rng, uint32_t n)
{
	rng->state ^= rng->state << 13;
	rng->state ^= rng->state >> 7;
	rng->state ^= rng->state << 17;
	return (uint32_t) (rng->state % n);
}

/* ------------------------------------------------------------ tree edits */

static char *
copy_bytes(const char *s, size_t n)
{
	char	   *c = tf_alloc(n + 1);

	memcpy(c, s, n);
	return c;
}

/* Free a node's value (children, string), keeping its key. */
static void
clear_value(TfJson *n)
{
	for (int32_t i = 0; i < n->count; i++)
	{
		clear_value(&n->children[i]);
		tf_free(n->children[i].key);
	}
	tf_free(n->children);
	tf_free(n->string);
	n->children = NULL;
	n->string = NULL;
	n->count = 0;
	n->type = TF_JSON_NULL;
}

/* A deep copy of src's value (not its key) into the cleared node dst. */
static void
copy_value(TfJson *dst, const TfJson *src)
{
	char	   *key = dst->key;
	size_t		key_len = dst->key_len;

	*dst = *src;
	dst->key = key;
	dst->key_len = key_len;
	if (src->string)
		dst->string = copy_bytes(src->string, src->string_len);
	if (src->count > 0)
	{
		dst->children = tf_alloc(sizeof(TfJson) * src->count);
		for (int32_t i = 0; i < src->count; i++)
		{
			if (src->children[i].key)
			{
				dst->children[i].key = copy_bytes(src->children[i].key, src->children[i].key_len);
				dst->children[i].key_len = src->children[i].key_len;
			}
			copy_value(&dst->children[i], &src->children[i]);
		}
	}
	else
		dst->children = NULL;
}

/* dst's value := a copy of src's, which may contain dst (copied first). */
static void
copy_into(TfJson *dst, const TfJson *src)
{
	TfJson		copy;

	memset(&copy, 0, sizeof(copy));
	copy_value(&copy, src);
	clear_value(dst);
	copy.key = dst->key;
	copy.key_len = dst->key_len;
	*dst = copy;
}

static void
set_key(TfJson *n, const char *key)
{
	tf_free(n->key);
	n->key_len = strlen(key);
	n->key = copy_bytes(key, n->key_len);
}

/* Insert a null child at position pos of container parent; returns it. */
static TfJson *
insert_child(TfJson *parent, int32_t pos)
{
	parent->children = tf_realloc(parent->children, sizeof(TfJson) * (parent->count + 1));
	memmove(&parent->children[pos + 1], &parent->children[pos], sizeof(TfJson) * (parent->count - pos));
	memset(&parent->children[pos], 0, sizeof(TfJson));
	parent->count++;
	return &parent->children[pos];
}

static void
delete_child(TfJson *parent, int32_t pos)
{
	clear_value(&parent->children[pos]);
	tf_free(parent->children[pos].key);
	memmove(&parent->children[pos], &parent->children[pos + 1], sizeof(TfJson) * (parent->count - pos - 1));
	parent->count--;
}

/* n := [n] (the key stays outside). */
static void
wrap(TfJson *n)
{
	TfJson		inner = *n;

	inner.key = NULL;
	inner.key_len = 0;
	n->type = TF_JSON_ARRAY;
	n->string = NULL;
	n->count = 1;
	n->children = tf_alloc(sizeof(TfJson));
	n->children[0] = inner;
}

/* n := its first child (the key stays). */
static void
unwrap(TfJson *n)
{
	TfJson		inner = n->children[0];
	char	   *key = n->key;
	size_t		key_len = n->key_len;

	for (int32_t i = 1; i < n->count; i++)
	{
		clear_value(&n->children[i]);
		tf_free(n->children[i].key);
	}
	tf_free(n->children);
	tf_free(inner.key);
	*n = inner;
	n->key = key;
	n->key_len = key_len;
}

/* A random node of the tree, its parent (NULL for the root) and its index. */
typedef struct Pick
{
	TfJson	   *node;
	TfJson	   *parent;
	int32_t		index;
	uint32_t	seen;
} Pick;

/* Reservoir-sample one node of the subtree at n (uniform over nodes). */
static void
pick_node(TfJson *n, TfJson *parent, int32_t index, FuzzRng *rng, Pick *pick)
{
	pick->seen++;
	if (fuzz_rand(rng, pick->seen) == 0)
	{
		pick->node = n;
		pick->parent = parent;
		pick->index = index;
	}
	for (int32_t i = 0; i < n->count; i++)
		pick_node(&n->children[i], n, i, rng, pick);
}

static Pick
random_node(TfJson *root, FuzzRng *rng)
{
	Pick		pick = {root, NULL, 0, 0};

	pick_node(root, NULL, 0, rng, &pick);
	return pick;
}

static const char *
random_word(FuzzRng *rng, const char *const *words)
{
	uint32_t	n = 0;

	while (words[n] != NULL)
		n++;
	return n > 0 ? words[fuzz_rand(rng, n)] : "x";
}

/* Give the cleared node n a hostile scalar, or an empty container. */
static void
set_hostile(TfJson *n, FuzzRng *rng, const char *const *words)
{
	uint32_t	choice = fuzz_rand(rng, 10);
	const char *word;

	clear_value(n);
	if (choice < 6)
	{
		n->type = TF_JSON_NUMBER;
		n->number = hostile_numbers[fuzz_rand(rng, sizeof(hostile_numbers) / sizeof(hostile_numbers[0]))];
		return;
	}
	switch (choice)
	{
		case 6:
			n->type = TF_JSON_BOOL;
			n->boolean = fuzz_rand(rng, 2);
			break;
		case 7:
			n->type = TF_JSON_STRING;
			word = fuzz_rand(rng, 4) == 0 ? "" : random_word(rng, words);
			n->string_len = strlen(word);
			n->string = copy_bytes(word, n->string_len);
			break;
		case 8:
			n->type = fuzz_rand(rng, 2) ? TF_JSON_ARRAY : TF_JSON_OBJECT;
			break;
		default:
			n->type = TF_JSON_NULL;
			break;
	}
}

/* A number near v: off by one, doubled, negated, halved, fractional. */
static double
nudge(double v, FuzzRng *rng)
{
	switch (fuzz_rand(rng, 8))
	{
		case 0:
			return v + 1;
		case 1:
			return v - 1;
		case 2:
			return v * 2;
		case 3:
			return -v;
		case 4:
			return v / 2;
		case 5:
			return v + 0.5;
		case 6:
			return v * 65536;
		default:
			return (double) (int64_t) fuzz_rand(rng, 70) - 3;
	}
}

/* One structural change at a random node. */
static void
mutate_once(TfJson *root, FuzzRng *rng, const char *const *words)
{
	Pick		p = random_node(root, rng);
	TfJson	   *n = p.node;

	switch (fuzz_rand(rng, 10))
	{
		case 0:
		case 1:
			set_hostile(n, rng, words);
			break;
		case 2:
			if (n->type == TF_JSON_NUMBER)
				n->number = nudge(n->number, rng);
			else
				set_hostile(n, rng, words);
			break;
		case 3:
			if (p.parent != NULL)
				delete_child(p.parent, p.index);
			break;
		case 4:
			/* a duplicate: the same key twice, the later one hostile */
			if (p.parent != NULL)
			{
				TfJson	   *dup = insert_child(p.parent, p.index + 1);

				if (p.parent->children[p.index].key)
					set_key(dup, p.parent->children[p.index].key);
				copy_into(dup, &p.parent->children[p.index]);
				if (fuzz_rand(rng, 2))
					set_hostile(dup, rng, words);
			}
			break;
		case 5:
			/* a member under a key the readers look up */
			if (n->type != TF_JSON_OBJECT && p.parent != NULL && p.parent->type == TF_JSON_OBJECT)
				n = p.parent;
			if (n->type == TF_JSON_OBJECT)
			{
				TfJson	   *member = insert_child(n, (int32_t) fuzz_rand(rng, (uint32_t) n->count + 1));
				Pick		source = random_node(root, rng);

				set_key(member, random_word(rng, words));
				if (fuzz_rand(rng, 2))
					copy_into(member, source.node);
				else
					set_hostile(member, rng, words);
			}
			break;
		case 6:
			/* another subtree copied over this one */
			copy_into(n, random_node(root, rng).node);
			break;
		case 7:
			if ((n->type == TF_JSON_ARRAY || n->type == TF_JSON_OBJECT) && n->count > 0 && fuzz_rand(rng, 2))
				unwrap(n);
			else
				wrap(n);
			break;
		case 8:
			if (p.parent != NULL && p.parent->type == TF_JSON_OBJECT)
				set_key(n, random_word(rng, words));
			else
				set_hostile(n, rng, words);
			break;
		default:
			if (n->type == TF_JSON_STRING || fuzz_rand(rng, 2))
			{
				const char *word = random_word(rng, words);

				clear_value(n);
				n->type = TF_JSON_STRING;
				n->string_len = strlen(word);
				n->string = copy_bytes(word, n->string_len);
			}
			else
				set_hostile(n, rng, words);
			break;
	}
}

void
fuzz_json_mutate_tree(TfJson *root, FuzzRng *rng, const char *const *words)
{
	int			rounds = 1 + (int) fuzz_rand(rng, 3);

	for (int i = 0; i < rounds; i++)
		mutate_once(root, rng, words);
}

void
fuzz_json_set_numbers(TfJson *n, const double *values, int n_values)
{
	clear_value(n);
	n->type = TF_JSON_ARRAY;
	n->count = n_values;
	n->children = tf_alloc(sizeof(TfJson) * (n_values > 0 ? n_values : 1));
	for (int i = 0; i < n_values; i++)
	{
		n->children[i].type = TF_JSON_NUMBER;
		n->children[i].number = values[i];
	}
}

/* --------------------------------------------------------------- writing */

static void
write_string(FILE *out, const char *s, size_t n)
{
	putc('"', out);
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			putc(c, out);
	}
	putc('"', out);
}

/* The shortest of %.15g / %.17g that reads back as the same double. */
static void
write_number(FILE *out, double d, FuzzRng *rng)
{
	char		text[40];

	if (isnan(d))
		snprintf(text, sizeof(text), "NaN");
	else if (isinf(d))
		snprintf(text, sizeof(text), "%s%s", d < 0 ? "-" : "", fuzz_rand(rng, 2) ? "Infinity" : "1e400");
	else
	{
		snprintf(text, sizeof(text), "%.15g", d);
		if (strtod(text, NULL) != d || (d == 0 && signbit(d) != signbit(strtod(text, NULL))))
			snprintf(text, sizeof(text), "%.17g", d);
	}
	fputs(text, out);
}

void
fuzz_json_write(FILE *out, const TfJson *v, FuzzRng *rng)
{
	switch (v->type)
	{
		case TF_JSON_NULL:
			fputs("null", out);
			break;
		case TF_JSON_BOOL:
			fputs(v->boolean ? "true" : "false", out);
			break;
		case TF_JSON_NUMBER:
			write_number(out, v->number, rng);
			break;
		case TF_JSON_STRING:
			write_string(out, v->string, v->string_len);
			break;
		case TF_JSON_ARRAY:
		case TF_JSON_OBJECT:
			putc(v->type == TF_JSON_ARRAY ? '[' : '{', out);
			for (int32_t i = 0; i < v->count; i++)
			{
				if (i > 0)
					putc(',', out);
				if (v->type == TF_JSON_OBJECT)
				{
					write_string(out, v->children[i].key ? v->children[i].key : "",
								 v->children[i].key ? v->children[i].key_len : 0);
					putc(':', out);
				}
				fuzz_json_write(out, &v->children[i], rng);
			}
			putc(v->type == TF_JSON_ARRAY ? ']' : '}', out);
			break;
	}
}

char *
fuzz_json_text(const TfJson *v, FuzzRng *rng, size_t *len)
{
	char	   *text = NULL;
	FILE	   *out = open_memstream(&text, len);

	fuzz_json_write(out, v, rng);
	fclose(out);
	return text;
}

size_t
fuzz_json_mutate(uint8_t *data, size_t size, size_t max_size, unsigned int seed,
				 const char *const *words)
{
	FuzzRng		rng;
	TfError		err;
	TfJson	   *root;
	char	   *text;
	size_t		n;

	fuzz_rng_init(&rng, seed);
	if (fuzz_rand(&rng, 8) == 0 ||
		(root = tf_json_parse((const char *) data, size, &err)) == NULL)
		return LLVMFuzzerMutate(data, size, max_size);
	fuzz_json_mutate_tree(root, &rng, words);
	text = fuzz_json_text(root, &rng, &n);
	tf_json_free(root);
	if (n > max_size)
	{
		free(text);
		return LLVMFuzzerMutate(data, size, max_size);
	}
	memcpy(data, text, n);
	free(text);
	return n;
}
