/*
 * test_marian_tokenizer.c: tf_marian_tokenize and tf_marian_detokenize (the
 * calls the server's tokenize() and translate() make) against
 * MarianTokenizer on multilingual text, with the real opus-mt-en-mg
 * tokenizer files of the marian-ende-size fixture.
 *
 *   test_marian_tokenizer [FIXTURE_DIR...], run from the repository root;
 *   default test/fixtures/marian-ende-size (make fixtures).
 *
 * Agreement (required: every line identical): each line of
 * test/data/marian_corpus.txt (fourteen scripts, unknown characters, language
 * codes, lines past the 511-id truncation) tokenized to the ids of
 * marian_peer_ids.txt, and those ids decoded to the text of
 * marian_peer_decoded.txt. test/tokenizers/make_marian_corpus.py writes the
 * corpus, test/tokenizers/marian_reference.py the expected files (from
 * spm_encode and Python's sentencepiece, which agree on every line).
 */
#include <stdio.h>
#include <stdlib.h>

#include "data_paths.h"
#include "fixture.h"
#include "tap.h"
#include "tf_marian.h"

#define SENTINEL (-7)			/* written past the ids buffer, must survive */

/* Every corpus line's ids, and the text its expected ids decode to. */
static void
check_corpus(const void *image, const TfMarianModel *m, const char *data_dir)
{
	char		path[1024];
	char	  **corpus,
			  **peer_ids,
			  **peer_text;
	int			n_corpus = 0,
				n_ids = 0,
				n_text = 0;
	int			same_ids = 0,
				same_text = 0,
				truncated = 0,
				shown = 0;
	bool		in_bounds = true;
	int32_t    *want = calloc(m->max_source_tokens + 1, sizeof(int32_t));	/* int32[max + 1] */
	int32_t    *got = calloc(m->max_source_tokens + 1, sizeof(int32_t));	/* int32[max + 1] */

	snprintf(path, sizeof(path), "%s/marian_corpus.txt", data_dir);
	corpus = fixture_lines(path, &n_corpus);
	snprintf(path, sizeof(path), "%s/marian_peer_ids.txt", data_dir);
	peer_ids = fixture_lines(path, &n_ids);
	snprintf(path, sizeof(path), "%s/marian_peer_decoded.txt", data_dir);
	peer_text = fixture_lines(path, &n_text);
	if (!ok(corpus && peer_ids && peer_text && n_ids == n_corpus && n_text == n_corpus,
			"%s: corpus and expected files, one line per text (%d, %d, %d)", data_dir,
			n_corpus, n_ids, n_text))
		return;

	for (int i = 0; i < n_corpus; i++)
	{
		int			nw = parse_ids(peer_ids[i], want, m->max_source_tokens + 1);
		int32_t		n;
		size_t		len;
		char	   *text;

		got[m->max_source_tokens] = SENTINEL;
		n = tf_marian_tokenize(image, m, corpus[i], strlen(corpus[i]), got);
		in_bounds &= got[m->max_source_tokens] == SENTINEL;
		truncated += nw == m->max_source_tokens;
		if (n == nw && memcmp(got, want, sizeof(int32_t) * n) == 0)
			same_ids++;
		else if (shown++ < 5)
		{
			diag("line %d differs: [%.120s]", i + 1, corpus[i]);
			diag_ids("ours", got, n);
			diag_ids("MarianTokenizer", want, nw);
		}

		text = tf_marian_detokenize(image, m, want, nw, &len);
		if (strlen(peer_text[i]) == len && memcmp(text, peer_text[i], len) == 0)
			same_text++;
		else if (shown++ < 5)
			diag("line %d decodes to [%.120s], MarianTokenizer.decode to [%.120s]", i + 1, text,
				 peer_text[i]);
		tf_free(text);
	}
	ok(same_ids == n_corpus, "source ids identical to MarianTokenizer on %d/%d lines",
	   same_ids, n_corpus);
	ok(same_text == n_corpus, "decoded text identical to MarianTokenizer.decode on %d/%d lines",
	   same_text, n_corpus);
	ok(truncated >= 20, "%d lines are truncated to max_source_tokens = %d ids", truncated,
	   m->max_source_tokens);
	ok(in_bounds, "no line writes past max_source_tokens ids");
	free(want);
	free(got);
}

/* Load a Marian fixture with opus-mt-en-mg's tokenizer files, check it. */
static void
check_fixture(const char *dir)
{
	TfArena		arena;
	TfError		err;
	const TfMarianModel *m;

	if (!ok(tf_model_load(dir, TF_PRECISION_EXACT, &arena, &err), "%s: loads", dir))
	{
		diag("%s (%s)", err.message, err.detail);
		return;
	}
	m = TF_AT(arena.base, ((TfImageHeader *) arena.base)->model, TfMarianModel);
	/* the expected files are made with model_max_length 512 */
	if (ok(m->max_source_tokens == 512 && m->source_vocab.size == 54688,
		   "%s: opus-mt-en-mg's 54,688-piece vocab.json, 512 source ids (%d, %d)", dir,
		   m->source_vocab.size, m->max_source_tokens))
		check_corpus(arena.base, m, TEST_DATA_DIR);
	tf_arena_free(&arena);
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = {"test/fixtures/marian-ende-size"};

	return fixture_main(argc, argv, defaults, 1, check_fixture);
}
