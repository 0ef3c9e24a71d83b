/*
 * test_marian.c: the C Marian engine and search against the PyTorch
 * reference (test/reference/marian.py + generate.py) on the random-weight
 * fixtures: identical source ids, identical greedy token ids and identical
 * beam-search token ids (the fixture's own num_beams, length penalty and
 * max_length, as the checkpoint's configuration gives them: marian-nogen has
 * no generation_config.json and marian-genpartial one that omits keys, so
 * their options come from the defaults of tf_generation_config.h), sentence
 * by sentence, all sentences decoded in one batch.
 *
 *   test_marian [FIXTURE_DIR...]   default: test/fixtures/marian-{ende-size,odd,nogen,genpartial}
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "tap.h"
#include "tf_marian.h"

#define SINGLES 6				/* sentences also decoded alone */

/* Do ids[n] equal the numbers on reference line `line` after `key`? */
static bool
same_ids(const char *line, const char *key, const int32_t *ids, int n, double *buf, int cap)
{
	int			expected = fixture_numbers(line, key, buf, cap);

	if (expected != n)
		return false;
	for (int i = 0; i < n; i++)
		if (ids[i] != (int32_t) buf[i])
			return false;
	return true;
}

/* Decode all sources with opts; count sentences whose ids match `key`.
 * With `texts` (the reference's decoded outputs), *same_text counts the
 * sentences whose detokenized output equals them. Beam outputs that
 * differ on a near tie of fixture `dir` (fixture.h) count in *flips
 * instead; src[0] is the fixture's sentence `first`. */
static int
check_search(const char *dir, int first, const TfArena *arena, const TfMarianModel *m, TfGenerateOptions opts,
			 char **ref, int32_t **src, int *src_lens, int n, const char *key, double *buf, int cap,
			 int *too_long, char **texts, int *same_text, int *flips)
{
	int32_t   **out = calloc(n, sizeof(int32_t *));
	int		   *lens = calloc(n, sizeof(int));
	int			matches = 0;
	TfMarianDecoder state;
	TfDecoder	dec = tf_marian_decoder(arena->base, m, &state);

	tf_generate(&dec, &opts, (const int32_t *const *) src, src_lens, n, out, lens, NULL);
	for (int i = 0; i < n; i++)
	{
		if (same_ids(ref[3 * i + (key[0] == 'g' ? 1 : 2)], key, out[i], lens[i], buf, cap))
			matches++;
		else if (key[0] == 'b' && fixture_beam_near_tie(dir, first + i))
		{
			(*flips)++;
			diag("beam ids differ on sentence %d, a near tie (margins.txt)", first + i);
		}
		else if (matches + 3 > i)
			diag("%s ids differ on sentence %d (%d tokens)", key, i, lens[i]);
		if (lens[i] > opts.max_length - 1)
			(*too_long)++;
		if (texts != NULL)
		{
			size_t		len;
			char	   *text = tf_marian_detokenize(arena->base, m, out[i], lens[i], &len);

			if (strcmp(text, texts[i]) == 0)
				(*same_text)++;
			else if (*same_text + 3 > i)
				diag("text differs on sentence %d: \"%s\" vs \"%s\"", i, text, texts[i]);
			tf_free(text);
		}
		tf_free(out[i]);
	}
	free(out);
	free(lens);
	return matches;
}

static void
check_fixture(const char *dir)
{
	TfArena		arena;
	char	  **sentences,
			  **ref,
			  **texts;
	int			n_sent;
	const TfMarianModel *m;
	int32_t   **src;
	int		   *src_lens;
	double	   *buf;
	int			cap,
				src_ok = 0,
				too_long = 0,
				same_text = 0,
				flips = 0,
				matches;
	TfGenerateOptions greedy;

	m = fixture_open_marian(dir, &arena, &sentences, &n_sent, &ref, &texts);
	if (m == NULL)
		return;
	cap = m->max_source_tokens > m->generation.max_length ? m->max_source_tokens : m->generation.max_length;
	buf = calloc(cap + 1, sizeof(double));
	src = calloc(n_sent, sizeof(int32_t *));
	src_lens = calloc(n_sent, sizeof(int));
	for (int i = 0; i < n_sent; i++)
	{
		src[i] = calloc(m->max_source_tokens, sizeof(int32_t));
		src_lens[i] = tf_marian_tokenize(arena.base, m, sentences[i], strlen(sentences[i]), src[i]);
		if (same_ids(ref[3 * i], "src", src[i], src_lens[i], buf, cap))
			src_ok++;
		else if (src_ok + 3 > i)
			diag("source ids differ on sentence %d", i);
	}
	ok(src_ok == n_sent, "%s: source ids identical on %d/%d sentences", dir, src_ok, n_sent);

	greedy = m->generation;
	greedy.num_beams = 1;
	matches = check_search(dir, 0, &arena, m, greedy, ref, src, src_lens, n_sent, "greedy", buf, cap,
						   &too_long, NULL, NULL, &flips);
	ok(matches == n_sent, "%s: greedy ids identical on %d/%d sentences", dir, matches, n_sent);
	flips = 0;
	matches = check_search(dir, 0, &arena, m, m->generation, ref, src, src_lens, n_sent, "beam", buf, cap,
						   &too_long, texts, &same_text, &flips);
	ok(matches + flips == n_sent && flips <= FIXTURE_MAX_FLIPS,
	   "%s: beam-%d ids identical on %d/%d sentences (%d near ties flipped, at most %d)", dir,
	   m->generation.num_beams, matches, n_sent, flips, FIXTURE_MAX_FLIPS);
	ok(same_text + flips >= n_sent, "%s: detokenized text identical to MarianTokenizer.decode on %d/%d", dir,
	   same_text, n_sent);
	/* one sentence at a time gives the same as the batch (the first few) */
	matches = 0;
	flips = 0;
	for (int i = 0; i < SINGLES; i++)
		matches += check_search(dir, i, &arena, m, m->generation, ref + 3 * i, src + i, src_lens + i, 1,
								"beam", buf, cap, &too_long, NULL, NULL, &flips);
	ok(matches + flips == SINGLES && flips <= FIXTURE_MAX_FLIPS,
	   "%s: beam search one sentence at a time: %d/%d identical (%d near ties flipped)", dir, matches,
	   SINGLES, flips);
	ok(too_long == 0, "%s: no output longer than max_length - 1 = %d", dir, m->generation.max_length - 1);

	for (int i = 0; i < n_sent; i++)
		free(src[i]);
	free(src);
	free(src_lens);
	free(buf);
	tf_arena_free(&arena);
}

int
main(int argc, char **argv)
{
	return fixture_main(argc, argv, fixture_marian_dirs, FIXTURE_MARIAN_N, check_fixture);
}
