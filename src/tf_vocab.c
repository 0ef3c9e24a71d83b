/*
 * tf_vocab.c: hashed string table in a model image (see tf_vocab.h).
 */
#include "tf_vocab.h"

#include <string.h>

/* FNV-1a, 64-bit: simple, and good enough for vocabulary strings. */
static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

bool
tf_vocab_build(TfArena *arena, const char *const *tokens, const uint32_t *lens,
			   int32_t n, TfVocab *out, TfError *err)
{
	uint64_t	total = 0;
	uint32_t	hash_size = 2;

	if (n <= 0)
		return tf_fail(err, TF_ERR_FORMAT, "vocabulary is empty");
	for (int32_t i = 0; i < n; i++)
		total += lens[i];
	if (total >= UINT32_MAX || n > (1 << 28))
		return tf_fail(err, TF_ERR_LIMIT, "vocabulary is too large (%d tokens, %llu bytes)",
					   n, (unsigned long long) total);
	while (hash_size < 2 * (uint32_t) n)
		hash_size *= 2;

	out->size = n;
	out->hash_size = hash_size;
	out->text_offsets = tf_arena_alloc(arena, sizeof(uint32_t) * (n + 1), 8);
	out->text = tf_arena_alloc(arena, total ? total : 1, 8);
	out->slots = tf_arena_alloc(arena, sizeof(int32_t) * hash_size, 8);

	{
		uint32_t   *offsets = TF_ARENA_AT(arena, out->text_offsets, uint32_t);
		char	   *text = TF_ARENA_AT(arena, out->text, char);
		int32_t    *slots = TF_ARENA_AT(arena, out->slots, int32_t);
		uint32_t	pos = 0;

		memset(slots, 0xff, sizeof(int32_t) * hash_size);	/* all -1 */
		for (int32_t i = 0; i < n; i++)
		{
			uint32_t	slot = (uint32_t) hash_bytes(tokens[i], lens[i]) & (hash_size - 1);

			offsets[i] = pos;
			memcpy(text + pos, tokens[i], lens[i]);
			pos += lens[i];
			offsets[i + 1] = pos;
			/* probe until an empty slot or the same token (later id wins) */
			while (slots[slot] >= 0)
			{
				int32_t		other = slots[slot];

				if (offsets[other + 1] - offsets[other] == lens[i] &&
					memcmp(text + offsets[other], tokens[i], lens[i]) == 0)
					break;
				slot = (slot + 1) & (hash_size - 1);
			}
			slots[slot] = i;
		}
	}
	return true;
}

int32_t
tf_vocab_lookup(const void *image, const TfVocab *vocab, const char *s, size_t len)
{
	const uint32_t *offsets = TF_AT(image, vocab->text_offsets, const uint32_t);
	const char *text = TF_AT(image, vocab->text, const char);
	const int32_t *slots = TF_AT(image, vocab->slots, const int32_t);
	uint32_t	mask = vocab->hash_size - 1;
	uint32_t	slot = (uint32_t) hash_bytes(s, len) & mask;

	for (;;)
	{
		int32_t		id = slots[slot];

		if (id < 0)
			return -1;
		if (offsets[id + 1] - offsets[id] == len && memcmp(text + offsets[id], s, len) == 0)
			return id;
		slot = (slot + 1) & mask;
	}
}

const char *
tf_vocab_token(const void *image, const TfVocab *vocab, int32_t id, uint32_t *len)
{
	const uint32_t *offsets = TF_AT(image, vocab->text_offsets, const uint32_t);

	if (id < 0 || id >= vocab->size)
	{
		*len = 0;
		return "";
	}
	*len = offsets[id + 1] - offsets[id];
	return TF_AT(image, vocab->text, const char) + offsets[id];
}
