/*
 * fuzz_spm_text.c: SentencePiece encoding and decoding of arbitrary bytes
 * with the real opus-mt-en-mg models (source.spm and target.spm: 32,000
 * pieces and the full precompiled_charsmap).
 *
 * Input: the first byte picks the model (bit 0) and the direction (bit 1);
 * the rest is the text to encode, or little-endian int32 ids to decode.
 * Checks: every id is a piece of the model; encoding with a cap gives a
 * prefix of the full result; decoding gives valid UTF-8, whatever the
 * text or the ids (invalid bytes become U+FFFD, unknown ids are skipped).
 */
#include "fuzz_common.h"
#include "tf_sentencepiece.h"

typedef struct Model
{
	TfArena		arena;
	TfSentencePiece sp;
} Model;

static Model models[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const files[2] = {"opus-mt-en-mg/source.spm", "opus-mt-en-mg/target.spm"};

	for (int m = 0; m < 2; m++)
	{
		size_t		len;
		char	   *bytes = fuzz_read(FUZZ_TOKENIZER_FILE(files[m]), &len);
		TfError		err;

		tf_arena_init(&models[m].arena, 1 << 20);
		if (!tf_spm_build(&models[m].arena, (const uint8_t *) bytes, len, &models[m].sp, &err))
		{
			fprintf(stderr, "%s: %s\n", files[m], err.message);
			exit(1);
		}
		tf_free(bytes);
	}
	return 0;
}

/* Decode ids[n] and check the text. */
static void
check_decode(const Model *m, const int32_t *ids, int32_t n)
{
	size_t		len;
	char	   *text = tf_spm_decode(m->arena.base, &m->sp, ids, n, &len);

	FUZZ_CHECK(text[len] == '\0' && fuzz_utf8_valid(text, len), "decoded text is not UTF-8");
	tf_free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const Model *m;
	const char *text = (const char *) data + 1;
	size_t		len = size - 1;

	if (size < 1)
		return 0;
	m = &models[data[0] & 1];
	if (data[0] & 2)
	{
		int32_t    *ids = malloc(len + 4);

		memcpy(ids, text, len);
		check_decode(m, ids, (int32_t) (len / 4));
		free(ids);
	}
	else
	{
		int32_t		n;
		int32_t    *ids = tf_spm_encode_all(m->arena.base, &m->sp, text, len, &n);
		int32_t    *capped;
		int32_t		cap,
					k;

		FUZZ_CHECK(ids != NULL, "a text of %zu bytes is too long", len);
		for (int32_t i = 0; i < n; i++)
			FUZZ_CHECK(ids[i] >= 0 && ids[i] < m->sp.pieces.size, "id %d", ids[i]);
		cap = n / 2;
		capped = malloc(sizeof(int32_t) * (cap + 1));
		k = tf_spm_encode(m->arena.base, &m->sp, text, len, capped, cap);
		FUZZ_CHECK(k == cap && memcmp(capped, ids, sizeof(int32_t) * cap) == 0, "a capped encoding is not a prefix");
		free(capped);
		check_decode(m, ids, n);
		tf_free(ids);
	}
	return 0;
}
