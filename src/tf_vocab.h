/*
 * tf_vocab.h: an id <-> string table with a hash index, stored in a model
 * image (see tf_arena.h). It serves WordPiece vocabularies, SentencePiece
 * pieces and Marian's vocab.json alike.
 *
 * Layout in the image:
 *   text_offsets  uint32[size + 1]   token i is text[text_offsets[i] .. text_offsets[i+1])
 *   text          char[]             all tokens, UTF-8, concatenated, no terminators
 *   slots         int32[hash_size]   open-addressing index: a token id, or -1 if empty
 * When a token occurs twice the later id wins on lookup, as a Python dict
 * built in file order does.
 */
#ifndef TF_VOCAB_H
#define TF_VOCAB_H

#include <stdbool.h>
#include <stdint.h>

#include "tf_arena.h"
#include "tf_runtime.h"

typedef struct TfVocab
{
	int32_t		size;			/* number of ids */
	uint32_t	hash_size;		/* slots, a power of two >= 2 * size */
	TfOffset	text_offsets;	/* uint32[size + 1] */
	TfOffset	text;			/* char[text_offsets[size]] */
	TfOffset	slots;			/* int32[hash_size] */
} TfVocab;

/* Build a vocabulary of n tokens (token i gets id i) into the arena and fill
 * *out (a struct outside the arena, for the caller to embed). */
bool		tf_vocab_build(TfArena *arena, const char *const *tokens, const uint32_t *lens,
						   int32_t n, TfVocab *out, TfError *err);

/* Id of the token s[0..len), or -1. */
int32_t		tf_vocab_lookup(const void *image, const TfVocab *vocab, const char *s, size_t len);

/* Text of token `id` (not NUL-terminated), its byte length in *len. */
const char *tf_vocab_token(const void *image, const TfVocab *vocab, int32_t id, uint32_t *len);

#endif							/* TF_VOCAB_H */
