/*
 * fuzz_spm_model.c: the SentencePiece model reader (tf_spm_build: protobuf,
 * pieces, trie, precompiled_charsmap) on arbitrary bytes; an accepted model
 * then encodes texts that reach every normalizer path and decodes ids.
 *
 * Checks: a refusal carries an error; every id an accepted model gives is
 * one of its pieces; encoding with a cap gives a prefix of the full result.
 * (Decoded text is not checked for valid UTF-8: a fuzzed model's pieces
 * need not be.)
 */
#include "fuzz_common.h"
#include "tf_sentencepiece.h"

/* Texts for an accepted model: ASCII, runs of spaces, full-width letters
 * and an ideographic space (charsmap rules of the seeds), combining marks,
 * a user-defined piece of a seed, invalid UTF-8, NUL. */
static const char *const texts[] = {
	"", " ", "the cat sat on the mat", "  many   spaces  ", "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\x81",
	"A\xcc\x80 \xe3\x80\x80 \xe2\x85\xa1", "caf\xc3\xa9 na\xc3\xafve", "<sep>cat<cls>", "\xff\xfe\xc3",
	"\xf0\x9f\x98\x80 emoji", "tab\tnew\nline",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TfArena		arena;
	TfSentencePiece sp;
	TfError		err;
	int32_t		all_ids[600];

	tf_arena_init(&arena, 4096);
	if (!tf_spm_build(&arena, data, size, &sp, &err))
	{
		fuzz_check_error(&err);
		tf_arena_free(&arena);
		return 0;
	}
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++)
	{
		int32_t		n;
		int32_t    *ids = tf_spm_encode_all(arena.base, &sp, texts[t], strlen(texts[t]), &n);
		int32_t		capped[4];
		int32_t		k;
		size_t		len;
		char	   *text;

		FUZZ_CHECK(ids != NULL && n >= 0, "a short text is too long");
		for (int32_t i = 0; i < n; i++)
			FUZZ_CHECK(ids[i] >= 0 && ids[i] < sp.pieces.size, "id %d of %d pieces", ids[i], sp.pieces.size);
		k = tf_spm_encode(arena.base, &sp, texts[t], strlen(texts[t]), capped, 4);
		FUZZ_CHECK(k == (n < 4 ? n : 4) && memcmp(capped, ids, sizeof(int32_t) * k) == 0,
				   "a capped encoding is not a prefix");
		text = tf_spm_decode(arena.base, &sp, ids, n, &len);
		FUZZ_CHECK(strlen(text) <= len, "decoded text not terminated");
		tf_free(text);
		tf_free(ids);
	}
	/* every piece, then ids out of range too */
	for (int32_t i = 0; i < 600; i++)
		all_ids[i] = i < sp.pieces.size ? i : sp.pieces.size + 300 - i;
	{
		size_t		len;
		char	   *text = tf_spm_decode(arena.base, &sp, all_ids, 600, &len);

		tf_free(text);
	}
	tf_arena_free(&arena);
	return 0;
}
