/*
 * test_translate.c: the translation task, tf_marian_translate, on the path
 * SQL's translate() takes (tokenize, batches of at most 64 hypotheses,
 * search, detokenize), against the PyTorch reference on the random-weight
 * fixtures: beam search with the model's own options gives exactly the
 * reference's decoded texts (translations.txt); greedy decoding, asked for
 * by a call override, gives the reference's greedy ids detokenized. And
 * its failures: a text too long, unusable options.
 *
 *   test_translate [FIXTURE_DIR...]   default: test/fixtures/marian-{ende-size,odd}
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "tap.h"
#include "tf_sentencepiece.h"
#include "tf_translate.h"

/* The reference's greedy ids of sentence i, detokenized by the model. */
static char *
greedy_reference_text(const void *image, const TfMarianModel *m, char **ref, int i, double *buf,
					  int cap)
{
	int			n = fixture_numbers(ref[3 * i + 1], "greedy", buf, cap);
	int32_t    *ids = calloc(n > 0 ? n : 1, sizeof(int32_t));
	size_t		len;
	char	   *text;

	for (int j = 0; j < n; j++)
		ids[j] = (int32_t) buf[j];
	text = tf_marian_detokenize(image, m, ids, n < 0 ? 0 : n, &len);
	free(ids);
	return text;
}

/* Count the outputs out[n] equal to expected[n], freeing them. With
 * `near_ties_of` (a fixture directory: beam outputs), outputs that differ
 * on a near tie of that fixture (fixture.h) count in *flips instead. */
static int
count_same(char **out, char **expected, int n, const char *what, const char *near_ties_of,
		   int *flips)
{
	int			same = 0;

	for (int i = 0; i < n; i++)
	{
		if (strcmp(out[i], expected[i]) == 0)
			same++;
		else if (near_ties_of != NULL && fixture_beam_near_tie(near_ties_of, i))
		{
			(*flips)++;
			diag("%s differs on sentence %d, a near tie (margins.txt)", what, i);
		}
		else if (same + 3 > i)
			diag("%s differs on sentence %d: \"%s\" vs \"%s\"", what, i, out[i], expected[i]);
		tf_free(out[i]);
	}
	return same;
}

static void
check_fixture(const char *dir)
{
	TfArena		arena;
	char	  **sentences,
			  **ref,
			  **texts,
			  **greedy_texts,
			  **out;
	size_t	   *lens,
			   *out_lens;
	int			n_sent,
				cap,
				same,
				flips = 0;
	const TfMarianModel *m;
	double	   *buf;
	TfError		err;
	TfGenerateOverrides greedy = {.has_num_beams = true, .num_beams = 1};
	TfGenerateOverrides too_many = {.has_num_beams = true};
	size_t		huge_len = TF_SPM_MAX_NORMALIZED + 1;
	char	   *huge;

	m = fixture_open_marian(dir, &arena, &sentences, &n_sent, &ref, &texts);
	if (m == NULL)
		return;
	cap = m->generation.max_length + 1;
	buf = calloc(cap, sizeof(double));
	lens = calloc(n_sent, sizeof(size_t));
	out = calloc(n_sent, sizeof(char *));
	out_lens = calloc(n_sent, sizeof(size_t));
	greedy_texts = calloc(n_sent, sizeof(char *));
	for (int i = 0; i < n_sent; i++)
	{
		lens[i] = strlen(sentences[i]);
		greedy_texts[i] = greedy_reference_text(arena.base, m, ref, i, buf, cap);
	}

	ok(tf_marian_translate(arena.base, m, NULL, NULL, (const char *const *) sentences, lens, n_sent,
						   out, out_lens, &err), "%s: %d sentences translate in one call", dir, n_sent);
	same = count_same(out, texts, n_sent, "beam", dir, &flips);
	ok(same + flips == n_sent && flips <= FIXTURE_MAX_FLIPS,
	   "%s: beam-%d translations equal the reference's on %d/%d (%d to a batch; %d near ties flipped)",
	   dir, m->generation.num_beams, same, n_sent, 64 / m->generation.num_beams, flips);

	ok(tf_marian_translate(arena.base, m, NULL, &greedy, (const char *const *) sentences, lens, n_sent,
						   out, out_lens, &err), "%s: greedy, as a call asks", dir);
	same = count_same(out, greedy_texts, n_sent, "greedy", NULL, NULL);
	ok(same == n_sent, "%s: greedy translations equal the reference's on %d/%d", dir, same, n_sent);

	ok(tf_marian_translate(arena.base, m, NULL, NULL, NULL, NULL, 0, out, out_lens, &err),
	   "%s: no texts, no work", dir);
	too_many.num_beams = m->tgt_vocab / 2 + 1;
	ok(!tf_marian_translate(arena.base, m, NULL, &too_many, (const char *const *) sentences, lens, 1,
							out, out_lens, &err) && err.code == TF_ERR_INPUT,
	   "%s: num_beams %d refused: %s", dir, too_many.num_beams, err.message);

	huge = malloc(huge_len);
	memset(huge, 'a', huge_len);
	ok(!tf_marian_translate(arena.base, m, NULL, NULL, (const char *const *) &huge, &huge_len, 1,
							out, out_lens, &err) && err.code == TF_ERR_LIMIT &&
	   strcmp(err.message, "input text is too long to translate") == 0,
	   "%s: a text over %zu bytes is refused: %s", dir, huge_len - 1, err.message);
	free(huge);

	tf_arena_free(&arena);
	for (int i = 0; i < n_sent; i++)
		tf_free(greedy_texts[i]);
	free(greedy_texts);
	free(out);
	free(out_lens);
	free(lens);
	free(buf);
}

int
main(int argc, char **argv)
{
	return fixture_main(argc, argv, fixture_marian_dirs, FIXTURE_MARIAN_N, check_fixture);
}
