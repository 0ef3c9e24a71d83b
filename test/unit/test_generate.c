/*
 * test_generate.c: generation options (defaults, overrides, checks) and
 * greedy and beam search over a toy TfDecoder whose probabilities are
 * worked out by hand, so that each rule of the search (argmax, the best
 * 2 * num_beams continuations, length-penalised finished hypotheses,
 * banned ids, min_length, the forced eos) decides a known outcome.
 * The search on a real model is checked against PyTorch in test_marian.c.
 *
 *   test_generate
 */
#include <math.h>
#include <stdlib.h>

#include "tap.h"
#include "tf_generate.h"

/* Toy vocabulary: 0 start, 1 eos, 2 "a", 3 "b". */
#define TOY_VOCAB 4
#define TOY_START 0
#define TOY_EOS 1
#define TOY_A 2
#define TOY_B 3
#define TOY_MAX_STEPS 16

/*
 * A Markov chain: the next token's probability depends on the last one.
 *   after start: a 0.5, b 0.4, eos 0.1
 *   after a:     a 0.4, b 0.3, eos 0.3
 *   after b:     a 0.05, b 0.05, eos 0.9
 * Greedy takes a, a; two beams find b, eos (0.36 > 0.2).
 */
static const double toy_next[TOY_VOCAB][TOY_VOCAB] = {
	[TOY_START] = {1e-6, 0.1, 0.5, 0.4},
	[TOY_EOS] = {1e-6, 0.97, 0.01, 0.02},
	[TOY_A] = {1e-6, 0.3, 0.4, 0.3},
	[TOY_B] = {1e-6, 0.9, 0.05, 0.05},
};

/* The toy's state: what it saw, to check the search's bookkeeping. */
typedef struct Toy
{
	int			n_sources;
	int			steps;
	int			rows[TOY_MAX_STEPS];	/* hypotheses at each step */
	int			bad_history;	/* history rows outside their step */
	int			bad_order;		/* a source's hypotheses not adjacent */
	bool		finished;
} Toy;

static void
toy_encode(void *state, const int32_t *const *src, const int *src_lens, int n)
{
	Toy		   *t = state;

	t->n_sources = n;
}

static void
toy_step(void *state, int nh, const int32_t *tokens, const int *src,
		 const int32_t *history, int history_stride, float *logits)
{
	Toy		   *t = state;

	for (int i = 0; i < nh; i++)
	{
		for (int s = 0; s < t->steps; s++)
			if (history[(size_t) i * history_stride + s] < 0 ||
				history[(size_t) i * history_stride + s] >= t->rows[s])
				t->bad_history++;
		if (i > 0 && src[i] < src[i - 1])
			t->bad_order++;
		for (int v = 0; v < TOY_VOCAB; v++)
			logits[(size_t) i * TOY_VOCAB + v] = (float) log(toy_next[tokens[i]][v]);
	}
	t->rows[t->steps++] = nh;
}

static void
toy_finish(void *state)
{
	((Toy *) state)->finished = true;
}

/* A toy decoder over state t. */
static TfDecoder
toy_decoder(Toy *t)
{
	TfDecoder	dec = {
		.state = t, .vocab = TOY_VOCAB, .max_positions = TOY_MAX_STEPS,
		.start_id = TOY_START, .eos_id = TOY_EOS, .forced_eos_id = -1,
		.encode = toy_encode, .step = toy_step, .finish = toy_finish,
	};

	memset(t, 0, sizeof(*t));
	return dec;
}

/* Options: beams, max_length, the rest Hugging Face's defaults. */
static TfGenerateOptions
options(int beams, int max_length)
{
	TfGenerateOptions o = {.num_beams = beams, .max_length = max_length, .min_length = 0,
	.length_penalty = 1.0f, .early_stopping = TF_STOP_HEURISTIC, .renormalize = false};

	return o;
}

/* Generate for n identical sources with dec and o; true when every output
 * equals expected[n_expected]. */
static bool
generates(const TfDecoder *dec, const TfGenerateOptions *o, int n, const int32_t *expected,
		  int n_expected)
{
	int32_t		src_ids[2] = {5, TOY_EOS};
	const int32_t *src[8];
	int			src_lens[8];
	int32_t    *out[8];
	int			out_lens[8];
	bool		same = true;

	for (int i = 0; i < n; i++)
	{
		src[i] = src_ids;
		src_lens[i] = 2;
	}
	tf_generate(dec, o, src, src_lens, n, out, out_lens, NULL);
	for (int i = 0; i < n; i++)
	{
		if (out_lens[i] != n_expected || memcmp(out[i], expected, sizeof(int32_t) * n_expected) != 0)
		{
			diag("source %d: %d tokens, first %d", i, out_lens[i], out_lens[i] > 0 ? out[i][0] : -1);
			same = false;
		}
		tf_free(out[i]);
	}
	return same;
}

static void
check_options(void)
{
	TfGenerateOptions defaults = options(4, 512),
				o;
	TfGenerateOverrides session = {.has_num_beams = true, .num_beams = 2},
				call = {.has_max_length = true, .max_length = 40};
	TfError		err;

	ok(tf_generate_options_merge(&defaults, NULL, NULL, 100, &o, &err) && o.num_beams == 4 &&
	   o.max_length == 512, "no overrides: the model's own options");
	ok(tf_generate_options_merge(&defaults, &session, &call, 100, &o, &err) && o.num_beams == 2 &&
	   o.max_length == 40, "the session sets num_beams, the call max_length");
	call.has_num_beams = true;
	call.num_beams = 1;
	ok(tf_generate_options_merge(&defaults, &session, &call, 100, &o, &err) && o.num_beams == 1,
	   "the call's num_beams wins over the session's");
	call.num_beams = 0;
	ok(!tf_generate_options_merge(&defaults, &session, &call, 100, &o, &err) &&
	   err.code == TF_ERR_INPUT && strstr(err.message, "between 1 and 64") != NULL,
	   "num_beams 0 given by a call is refused, not taken as unset: %s", err.message);
	call.num_beams = TF_GENERATE_MAX_BEAMS + 1;
	ok(!tf_generate_options_merge(&defaults, NULL, &call, 1000, &o, &err) && err.code == TF_ERR_INPUT,
	   "num_beams %d is refused", TF_GENERATE_MAX_BEAMS + 1);
	call.num_beams = 3;
	ok(!tf_generate_options_merge(&defaults, NULL, &call, 5, &o, &err) &&
	   strcmp(err.message, "num_beams 3 is too large for a vocabulary of 5") == 0,
	   "2 * num_beams beyond the vocabulary is refused: %s", err.message);
	call.num_beams = 2;
	call.max_length = 1;
	ok(!tf_generate_options_merge(&defaults, NULL, &call, 100, &o, &err) &&
	   strcmp(err.message, "max_length must be at least 2") == 0, "max_length 1 is refused");
	defaults.length_penalty = NAN;
	ok(!tf_generate_options_check(&defaults, 100, &err), "a NaN length_penalty is refused");
}

static void
check_search(void)
{
	Toy			toy;
	TfDecoder	dec = toy_decoder(&toy);
	TfGenerateOptions o = options(1, 3);
	int32_t		banned[1] = {TOY_A};

	ok(generates(&dec, &o, 1, (int32_t[]) {TOY_A, TOY_A}, 2),
	   "greedy: a, a (the most likely token each step), cut at max_length");
	ok(toy.finished && toy.n_sources == 1 && toy.steps == 2, "one encode, two steps, one finish");

	o = options(2, 3);
	dec = toy_decoder(&toy);
	ok(generates(&dec, &o, 1, (int32_t[]) {TOY_B, TOY_EOS}, 2),
	   "two beams: b, eos (0.36 beats a, a at 0.2)");
	ok(toy.rows[0] == 2 && toy.rows[1] == 2, "beam search decodes num_beams hypotheses a step");

	dec = toy_decoder(&toy);
	ok(generates(&dec, &o, 3, (int32_t[]) {TOY_B, TOY_EOS}, 2) && toy.rows[0] == 6,
	   "three sources decode together, each as alone");
	ok(toy.bad_history == 0 && toy.bad_order == 0,
	   "histories point at rows of their step; a source's hypotheses adjacent");

	o = options(1, 3);
	dec = toy_decoder(&toy);
	dec.banned = banned;
	dec.n_banned = 1;
	ok(generates(&dec, &o, 1, (int32_t[]) {TOY_B, TOY_EOS}, 2), "greedy with a banned: b, eos");

	dec = toy_decoder(&toy);
	dec.forced_eos_id = TOY_EOS;
	ok(generates(&dec, &o, 1, (int32_t[]) {TOY_A, TOY_EOS}, 2), "greedy with eos forced at max_length - 1");

	o = options(2, 4);
	o.min_length = 3;
	dec = toy_decoder(&toy);
	/* b, eos is banned at length 2; then b, b, eos? 0.4 * 0.05 * 0.9 = 0.018
	 * against a, b, eos 0.5 * 0.3 * 0.9 = 0.135 */
	ok(generates(&dec, &o, 1, (int32_t[]) {TOY_A, TOY_B, TOY_EOS}, 3),
	   "two beams with min_length 3: a, b, eos");

	o = options(1, 40);
	dec = toy_decoder(&toy);
	dec.max_positions = 5;
	ok(generates(&dec, &o, 1, (int32_t[]) {TOY_A, TOY_A, TOY_A, TOY_A}, 4),
	   "max_length beyond the decoder's positions is cut to them");
}

int
main(void)
{
	check_options();
	check_search();
	return done_testing();
}
