/*
 * test_bert.c: the C BERT embedder against the PyTorch reference
 * (test/reference/bert.py) on the random-weight fixtures.
 *
 *   test_bert [FIXTURE_DIR...]   default: test/fixtures/bert-{minilm,odd,bf16}
 *
 * For each fixture: token ids identical to the reference tokenizer's;
 * embeddings of all sentences in one packed batch within 1e-4 (max abs) of
 * the reference; each sentence embedded alone equal to its batched result;
 * and the batch again at every instruction set this CPU has (scalar: all
 * products in OpenBLAS; AVX2; AVX-512) on 1 and 2 threads, each within the
 * same 1e-4 of the reference.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "tap.h"
#include "tf_bert.h"
#include "tf_cpu.h"
#include "tf_parallel.h"

#define TOLERANCE 1e-4

/*
 * The sentences over and over in one batch of at least 4,096 tokens, so that
 * it spans several 1,024-token chunks and texts that do not fit one open
 * the next: every copy equals the embedding emb[n_sent, hidden] computed
 * in one smaller batch.
 */
static void
check_chunks(const TfArena *arena, const TfBertModel *m, const char *const *sentences,
			 const size_t *lens, int n_sent, const float *emb, const char *dir)
{
	int			tokens = 0,
				copies,
				n;
	const char **many;			/* texts[copies * n_sent] */
	size_t	   *many_lens;
	float	   *out;			/* float[copies * n_sent, hidden] */
	int32_t    *ids = calloc(m->max_tokens, sizeof(int32_t));
	double		worst = 0;
	TfError		err;

	for (int i = 0; i < n_sent; i++)
		tokens += tf_bert_tokenize(arena->base, m, sentences[i], lens[i], ids);
	copies = 4096 / tokens + 1;
	n = copies * n_sent;
	many = calloc(n, sizeof(char *));
	many_lens = calloc(n, sizeof(size_t));
	out = calloc((size_t) n * m->hidden, sizeof(float));
	for (int i = 0; i < n; i++)
	{
		many[i] = sentences[i % n_sent];
		many_lens[i] = lens[i % n_sent];
	}
	ok(tf_bert_embed(arena->base, m, many, many_lens, n, out, &err), "%s: a batch of %d texts embeds", dir, n);
	for (int i = 0; i < n; i++)
	{
		double		d = max_abs_diff(out + (size_t) i * m->hidden,
									 emb + (size_t) (i % n_sent) * m->hidden, m->hidden);

		worst = d > worst ? d : worst;
	}
	ok(worst <= 1e-5, "%s: a batch of %d texts (%d tokens) equals the smaller one (max abs diff %.3g)",
	   dir, n, copies * tokens, worst);
	free(many);
	free(many_lens);
	free(out);
	free(ids);
}

/* All sentences in one call at each level and thread count, against the
 * reference's embeddings expect[n_sent, hidden]. */
static void
check_paths(const TfArena *arena, const TfBertModel *m, const char *const *sentences,
			const size_t *lens, int n_sent, const float *expect, const char *dir)
{
	float	   *emb = calloc((size_t) n_sent * m->hidden, sizeof(float));
	TfError		err;

	for (int level = TF_ISA_SCALAR; level <= (int) tf_cpu_hardware_level(); level++)
		for (int threads = 1; threads <= 2; threads++)
		{
			bool		done;

			tf_cpu_set_cap((TfIsa) level);
			tf_parallel_set_threads(threads);
			done = tf_bert_embed(arena->base, m, sentences, lens, n_sent, emb, &err);
			ok(done && max_abs_diff(emb, expect, (size_t) n_sent * m->hidden) <= TOLERANCE,
			   "%s: at %s on %d thread%s, within %g of the reference (max abs diff %.3g)", dir,
			   tf_cpu_name((TfIsa) level), threads, threads > 1 ? "s" : "", TOLERANCE,
			   max_abs_diff(emb, expect, (size_t) n_sent * m->hidden));
		}
	tf_cpu_reset_cap();
	tf_parallel_set_threads(1);
	free(emb);
}

static void
check_fixture(const char *dir)
{
	TfArena		arena;
	char	  **sentences,
			  **ref;
	int			n_sent;
	const TfBertModel *m;
	size_t	   *lens;
	float	   *emb,
			   *ref_emb,	/* float[n_sent, hidden]: the reference */
			   *one;
	int32_t    *ids;
	double	   *vals;
	int			ids_ok = 0;
	double		worst = 0,
				worst_single = 0;
	TfError		err;

	if (!fixture_open(dir, 2, &arena, &sentences, &n_sent, &ref))
		return;
	m = TF_AT(arena.base, ((TfImageHeader *) arena.base)->model, TfBertModel);

	lens = calloc(n_sent, sizeof(size_t));
	emb = calloc((size_t) n_sent * m->hidden, sizeof(float));
	ref_emb = calloc((size_t) n_sent * m->hidden, sizeof(float));
	one = calloc(m->hidden, sizeof(float));
	ids = calloc(m->max_tokens, sizeof(int32_t));
	vals = calloc(m->max_tokens > m->hidden ? m->max_tokens : m->hidden, sizeof(double));
	for (int i = 0; i < n_sent; i++)
	{
		int			n = tf_bert_tokenize(arena.base, m, sentences[i], strlen(sentences[i]), ids);
		int			n_expected = fixture_numbers(ref[2 * i], "ids", vals, m->max_tokens);
		bool		same = n == n_expected;

		for (int j = 0; same && j < n; j++)
			same = ids[j] == (int32_t) vals[j];
		if (same)
			ids_ok++;
		else if (ids_ok + 3 > i)
			diag("ids differ on sentence %d: got %d ids, expected %d", i, n, n_expected);
		lens[i] = strlen(sentences[i]);
	}
	ok(ids_ok == n_sent, "%s: token ids identical on %d/%d sentences", dir, ids_ok, n_sent);

	ok(tf_bert_embed(arena.base, m, (const char *const *) sentences, lens, n_sent, emb, &err),
	   "%s: %d sentences embed in one call", dir, n_sent);
	for (int i = 0; i < n_sent; i++)
	{
		float	   *expect = ref_emb + (size_t) i * m->hidden;
		double		d;

		if (fixture_numbers(ref[2 * i + 1], "emb", vals, m->hidden) != m->hidden)
			diag("sentence %d: bad reference embedding", i);
		for (int j = 0; j < m->hidden; j++)
			expect[j] = (float) vals[j];
		d = max_abs_diff(emb + (size_t) i * m->hidden, expect, m->hidden);
		worst = d > worst ? d : worst;
		tf_bert_embed(arena.base, m, (const char *const *) &sentences[i], &lens[i], 1, one, &err);
		d = max_abs_diff(emb + (size_t) i * m->hidden, one, m->hidden);
		worst_single = d > worst_single ? d : worst_single;
	}
	ok(worst <= TOLERANCE, "%s: embeddings within %g of the reference (max abs diff %.3g)",
	   dir, TOLERANCE, worst);
	ok(worst_single <= 1e-5, "%s: alone equals batched (max abs diff %.3g)", dir, worst_single);
	check_chunks(&arena, m, (const char *const *) sentences, lens, n_sent, emb, dir);
	check_paths(&arena, m, (const char *const *) sentences, lens, n_sent, ref_emb, dir);
	free(ref_emb);
	free(lens);
	free(emb);
	free(one);
	free(ids);
	free(vals);
	tf_arena_free(&arena);
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = {
		"test/fixtures/bert-minilm", "test/fixtures/bert-odd", "test/fixtures/bert-bf16"
	};

	return fixture_main(argc, argv, defaults, sizeof(defaults) / sizeof(defaults[0]), check_fixture);
}
