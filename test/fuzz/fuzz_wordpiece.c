/*
 * fuzz_wordpiece.c: WordPiece (BERT's basic tokenizer, then greedy longest
 * match) on arbitrary bytes, with the real bert-base-uncased vocab.txt.
 *
 * Input: the first byte picks one of four option sets (uncased as
 * bert-base-uncased; cased; cased with accents stripped; no CJK split and
 * no text cleaning); the rest is the text. Checks: every id is in the
 * vocabulary; a capped encoding is a prefix of the full one.
 */
#include "fuzz_common.h"
#include "tf_wordpiece.h"

#define N_TOKENIZERS 4

static TfArena arenas[N_TOKENIZERS];
static TfWordPiece tokenizers[N_TOKENIZERS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const specials[] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
	size_t		len;
	char	   *vocab = fuzz_read(FUZZ_TOKENIZER_FILE("bert-base-uncased/vocab.txt"), &len);

	for (int i = 0; i < N_TOKENIZERS; i++)
	{
		TfWordPieceOptions opts = tf_wordpiece_default_options();
		TfError		err;

		opts.special_tokens = specials;
		opts.n_special = 5;
		opts.lowercase = i == 0 || i == 3;
		opts.strip_accents = i == 2 ? 1 : -1;
		opts.tokenize_chinese_chars = i != 3;
		opts.clean_text = i != 3;
		tf_arena_init(&arenas[i], 1 << 20);
		if (!tf_wordpiece_build_from_vocab_txt(&arenas[i], vocab, len, &opts, &tokenizers[i], &err))
		{
			fprintf(stderr, "vocab.txt: %s\n", err.message);
			exit(1);
		}
	}
	tf_free(vocab);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const TfWordPiece *wp;
	const void *image;
	int32_t		max_ids;
	int32_t    *ids;
	int32_t    *capped;
	int32_t		n,
				k;

	if (size < 1)
		return 0;
	wp = &tokenizers[data[0] % N_TOKENIZERS];
	image = arenas[data[0] % N_TOKENIZERS].base;
	/* room for more than the text can give: every token covers a byte at least */
	max_ids = (int32_t) size + 8;
	ids = malloc(sizeof(int32_t) * max_ids);
	n = tf_wordpiece_encode(image, wp, (const char *) data + 1, size - 1, ids, max_ids);
	FUZZ_CHECK(n >= 0 && n <= (int32_t) size - 1, "%d ids from %zu bytes", n, size - 1);
	for (int32_t i = 0; i < n; i++)
		FUZZ_CHECK(ids[i] >= 0 && ids[i] < wp->vocab.size, "id %d", ids[i]);
	capped = malloc(sizeof(int32_t) * (n / 2 + 1));
	k = tf_wordpiece_encode(image, wp, (const char *) data + 1, size - 1, capped, n / 2);
	FUZZ_CHECK(k == n / 2 && memcmp(capped, ids, sizeof(int32_t) * k) == 0, "a capped encoding is not a prefix");
	free(capped);
	free(ids);
	return 0;
}
