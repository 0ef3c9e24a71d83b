/*
 * tf_generate.c: generation options, and greedy and beam search over a
 * TfDecoder (see tf_generate.h for the exact semantics followed).
 *
 * All sources of a call decode together: each step runs the decoder once
 * over every running hypothesis of every unfinished source. A source whose
 * result can no longer change leaves the batch.
 */
#include "tf_generate.h"

#include "tf_kernels.h"

#include <math.h>
#include <string.h>

#define NOT_A_SCORE (-1.0e9f)	/* Hugging Face's stand-in for "no score" */

/* Decoding state of one source. */
typedef struct SourceState
{
	int			index;			/* source number in the batch */
	bool		done;
	bool		improvable;		/* early-stop heuristic not yet satisfied */
	int			n_running;		/* beams decoding (1 for greedy) */
	int32_t    *tokens;			/* int32[beams, max_length]: running beams, [0] = start */
	int32_t    *history;		/* int32[beams, max_length]: cache row at each step */
	float	   *score;			/* float[beams]: running sums of log-probabilities */
	int			n_finished;
	int32_t    *fin_tokens;		/* int32[beams, max_length]: finished hypotheses, best first */
	int32_t    *fin_history;	/* int32[beams, max_length]: their cache rows at each step */
	int		   *fin_len;		/* int[beams]: their lengths, start token included */
	float	   *fin_score;		/* float[beams]: length-penalised scores */
} SourceState;

/* A continuation candidate in a beam step. */
typedef struct Candidate
{
	float		score;			/* running sum of log-probabilities with the new token */
	int			beam;			/* parent beam */
	int32_t		token;
} Candidate;

bool
tf_generate_options_check(const TfGenerateOptions *opts, int32_t vocab, TfError *err)
{
	if (opts->num_beams < 1 || opts->num_beams > TF_GENERATE_MAX_BEAMS)
	{
		tf_fail(err, TF_ERR_INPUT, "num_beams must be between 1 and %d", TF_GENERATE_MAX_BEAMS);
		return tf_fail_detail(err, "num_beams was %d.", opts->num_beams);
	}
	if (opts->max_length < 2)
	{
		tf_fail(err, TF_ERR_INPUT, "max_length must be at least 2");
		return tf_fail_detail(err, "max_length was %d; it counts the decoder start token.", opts->max_length);
	}
	if (opts->min_length < 0 || !isfinite(opts->length_penalty))
		return tf_fail(err, TF_ERR_INPUT, "min_length must not be negative and length_penalty must be finite");
	/* a beam step ranks 2 * num_beams continuations */
	if (2 * opts->num_beams > vocab)
		return tf_fail(err, TF_ERR_INPUT, "num_beams %d is too large for a vocabulary of %d",
					   opts->num_beams, vocab);
	return true;
}

/* Apply one layer of overrides to o. */
static void
apply_overrides(TfGenerateOptions *o, const TfGenerateOverrides *over)
{
	if (over == NULL)
		return;
	if (over->has_num_beams)
		o->num_beams = over->num_beams;
	if (over->has_max_length)
		o->max_length = over->max_length;
}

bool
tf_generate_options_merge(const TfGenerateOptions *defaults, const TfGenerateOverrides *session,
						  const TfGenerateOverrides *call, int32_t vocab,
						  TfGenerateOptions *out, TfError *err)
{
	*out = *defaults;
	apply_overrides(out, session);
	apply_overrides(out, call);
	return tf_generate_options_check(out, vocab, err);
}

/* Apply the logits processors to one row of V scores at length cur_len. */
static void
process_scores(const TfDecoder *dec, const TfGenerateOptions *o, float *scores, int cur_len)
{
	for (int i = 0; i < dec->n_banned; i++)
		scores[dec->banned[i]] = -INFINITY;
	if (cur_len < o->min_length && dec->eos_id >= 0)
		scores[dec->eos_id] = -INFINITY;
	if (dec->forced_eos_id >= 0 && cur_len == o->max_length - 1)
	{
		for (int v = 0; v < dec->vocab; v++)
			scores[v] = -INFINITY;
		scores[dec->forced_eos_id] = 0.0f;
	}
}

/* Greedy step for one source: its single row of logits at length cur_len. */
static void
greedy_step(const TfDecoder *dec, const TfGenerateOptions *o,
			SourceState *st, float *logits, int row, int cur_len)
{
	int32_t		best = 0;

	process_scores(dec, o, logits, cur_len);
	for (int32_t v = 1; v < dec->vocab; v++)
		if (logits[v] > logits[best])
			best = v;			/* first maximum, as torch.argmax */
	st->tokens[cur_len] = best;
	st->history[cur_len - 1] = row;
	if (best == dec->eos_id || cur_len + 1 >= o->max_length)
	{
		st->done = true;
		st->fin_len[0] = cur_len + 1;
		memcpy(st->fin_tokens, st->tokens, sizeof(int32_t) * (cur_len + 1));
		memcpy(st->fin_history, st->history, sizeof(int32_t) * cur_len);
		st->n_finished = 1;
	}
}

/* Keep cand[0..*n) the best k candidates, sorted by score descending. */
static void
keep_best(Candidate *cand, int *n, int k, Candidate c)
{
	int			i;

	if (*n == k && c.score <= cand[k - 1].score)
		return;
	i = *n < k ? (*n)++ : k - 1;
	while (i > 0 && cand[i - 1].score < c.score)
	{
		cand[i] = cand[i - 1];
		i--;
	}
	cand[i] = c;
}

/* Insert a finished hypothesis (len tokens, the start included, and the
 * cache row of each of its len - 1 steps) into the source's best-first
 * list of at most `beams`. */
static void
add_finished(SourceState *st, int beams, int max_length, const int32_t *tokens,
			 const int32_t *history, int len, float score)
{
	int			i;

	if (st->n_finished == beams && score <= st->fin_score[beams - 1])
		return;
	i = st->n_finished < beams ? st->n_finished++ : beams - 1;
	while (i > 0 && st->fin_score[i - 1] < score)
	{
		st->fin_score[i] = st->fin_score[i - 1];
		st->fin_len[i] = st->fin_len[i - 1];
		memcpy(st->fin_tokens + (size_t) i * max_length, st->fin_tokens + (size_t) (i - 1) * max_length,
			   sizeof(int32_t) * max_length);
		memcpy(st->fin_history + (size_t) i * max_length, st->fin_history + (size_t) (i - 1) * max_length,
			   sizeof(int32_t) * max_length);
		i--;
	}
	st->fin_score[i] = score;
	st->fin_len[i] = len;
	memcpy(st->fin_tokens + (size_t) i * max_length, tokens, sizeof(int32_t) * len);
	memcpy(st->fin_history + (size_t) i * max_length, history, sizeof(int32_t) * (len - 1));
}

/*
 * Beam step for one source: logits[beams, V] of its running beams, which
 * sat at cache rows first_row .. first_row + beams - 1; cur_len tokens so
 * far (start included). new_tokens/new_history: scratch of the beams' size.
 */
static void
beam_step(const TfDecoder *dec, const TfGenerateOptions *o,
		  SourceState *st, float *logits, int first_row, int cur_len,
		  int32_t *new_tokens, int32_t *new_history)
{
	int			beams = o->num_beams,
				L = o->max_length,
				V = dec->vocab;
	Candidate	cand[2 * TF_GENERATE_MAX_BEAMS];
	Candidate	next[TF_GENERATE_MAX_BEAMS];
	int			n_cand = 0,
				n_next = 0;
	bool		last = cur_len + 1 >= L;
	float		denominator = (float) pow((double) cur_len, (double) o->length_penalty);

	for (int b = 0; b < beams; b++)
	{
		float	   *row = logits + (size_t) b * V;

		tf_log_softmax(row, V);
		process_scores(dec, o, row, cur_len);
		if (o->renormalize)
			tf_log_softmax(row, V);
		for (int32_t v = 0; v < V; v++)
		{
			float		score = row[v] + st->score[b];

			/* most of the vocabulary falls below the current k-th best */
			if (n_cand == 2 * beams && score <= cand[n_cand - 1].score)
				continue;
			keep_best(cand, &n_cand, 2 * beams, (Candidate) {score, b, v});
		}
	}

	/* a candidate that ends joins the finished list if it ranks in the
	 * first num_beams; the best num_beams that go on become the new beams
	 * (ended ones too, penalised, when fewer go on) */
	for (int k = 0; k < n_cand; k++)
	{
		bool		ends = cand[k].token == dec->eos_id || last;

		if (ends && k < beams)
		{
			/* new_tokens and new_history borrowed as scratch */
			int32_t    *t = new_tokens,
					   *h = new_history;

			memcpy(t, st->tokens + (size_t) cand[k].beam * L, sizeof(int32_t) * cur_len);
			t[cur_len] = cand[k].token;
			memcpy(h, st->history + (size_t) cand[k].beam * L, sizeof(int32_t) * (cur_len - 1));
			h[cur_len - 1] = first_row + cand[k].beam;
			add_finished(st, beams, L, t, h, cur_len + 1, cand[k].score / denominator);
		}
		if (ends)
			cand[k].score += NOT_A_SCORE;
	}
	for (int k = 0; k < n_cand; k++)
		keep_best(next, &n_next, beams, cand[k]);

	for (int b = 0; b < n_next; b++)
	{
		int			p = next[b].beam;

		memcpy(new_tokens + (size_t) b * L, st->tokens + (size_t) p * L, sizeof(int32_t) * cur_len);
		new_tokens[(size_t) b * L + cur_len] = next[b].token;
		memcpy(new_history + (size_t) b * L, st->history + (size_t) p * L, sizeof(int32_t) * (cur_len - 1));
		new_history[(size_t) b * L + cur_len - 1] = first_row + p;
		st->score[b] = next[b].score;
	}
	memcpy(st->tokens, new_tokens, sizeof(int32_t) * beams * L);
	memcpy(st->history, new_history, sizeof(int32_t) * beams * L);

	/* stopping rules, evaluated at the new length */
	if (st->n_finished == beams)
	{
		int			generated = cur_len;	/* new length minus the start token */
		double		best;

		if (o->early_stopping == TF_STOP_EARLY)
			st->done = true;
		if (o->early_stopping == TF_STOP_NEVER && o->length_penalty > 0)
			generated = L - 1;
		/* bounded by the best beam that goes on (v4.57), not the best
		 * candidate, which may just have ended (v4.46) */
		best = next[0].score / (float) pow((double) generated, (double) o->length_penalty);
		if (!(best > st->fin_score[beams - 1]))
			st->improvable = false;
		if (!st->improvable)
			st->done = true;
	}
	if (last)
		st->done = true;
}

void
tf_generate(const TfDecoder *dec, const TfGenerateOptions *opts,
			const int32_t *const *src, const int *src_lens, int n,
			int32_t **out, int *out_lens, int32_t **out_rows)
{
	TfGenerateOptions o = *opts;
	bool		greedy = o.num_beams == 1;
	int			beams = o.num_beams;
	int			L;
	SourceState *st = tf_alloc(sizeof(SourceState) * n);	/* SourceState[n] */
	int			max_rows = n * beams;
	int32_t    *step_tokens = tf_alloc(sizeof(int32_t) * max_rows);	/* int32[rows] */
	int		   *step_src = tf_alloc(sizeof(int) * max_rows);	/* int[rows] */
	int32_t    *step_history;	/* int32[rows, max_length] */
	float	   *logits = tf_alloc_raw(sizeof(float) * (size_t) max_rows * dec->vocab);	/* float[rows, V] */
	int32_t    *scratch_tokens,
			   *scratch_history;	/* int32[beams, max_length] each */

	/* the decoder has max_positions positions; HF would fail beyond them */
	if (o.max_length > dec->max_positions)
		o.max_length = dec->max_positions;
	L = o.max_length;
	step_history = tf_alloc(sizeof(int32_t) * (size_t) max_rows * L);
	scratch_tokens = tf_alloc(sizeof(int32_t) * (size_t) beams * L);
	scratch_history = tf_alloc(sizeof(int32_t) * (size_t) beams * L);

	for (int i = 0; i < n; i++)
	{
		SourceState *s = &st[i];

		s->index = i;
		s->improvable = true;
		s->n_running = beams;
		s->tokens = tf_alloc(sizeof(int32_t) * (size_t) beams * L);
		s->history = tf_alloc(sizeof(int32_t) * (size_t) beams * L);
		s->score = tf_alloc(sizeof(float) * beams);
		s->fin_tokens = tf_alloc(sizeof(int32_t) * (size_t) beams * L);
		s->fin_history = tf_alloc(sizeof(int32_t) * (size_t) beams * L);
		s->fin_len = tf_alloc(sizeof(int) * beams);
		s->fin_score = tf_alloc(sizeof(float) * beams);
		for (int b = 0; b < beams; b++)
		{
			s->tokens[(size_t) b * L] = dec->start_id;
			/* only beam 0 is live at first, so the first step fans out */
			s->score[b] = b == 0 ? 0.0f : NOT_A_SCORE;
		}
	}

	dec->encode(dec->state, src, src_lens, n);
	for (int cur_len = 1; cur_len < L; cur_len++)
	{
		int			rows = 0;

		tf_check_interrupts();
		for (int i = 0; i < n; i++)
			for (int b = 0; !st[i].done && b < beams; b++)
			{
				step_tokens[rows] = st[i].tokens[(size_t) b * L + cur_len - 1];
				step_src[rows] = i;
				memcpy(step_history + (size_t) rows * L, st[i].history + (size_t) b * L,
					   sizeof(int32_t) * (cur_len - 1));
				rows++;
			}
		if (rows == 0)
			break;
		dec->step(dec->state, rows, step_tokens, step_src, step_history, L, logits);
		for (int r = 0; r < rows; r += beams)
		{
			SourceState *s = &st[step_src[r]];

			tf_check_interrupts();

			if (greedy)
				greedy_step(dec, &o, s, logits + (size_t) r * dec->vocab, r, cur_len);
			else
				beam_step(dec, &o, s, logits + (size_t) r * dec->vocab, r, cur_len,
						  scratch_tokens, scratch_history);
		}
	}

	for (int i = 0; i < n; i++)
	{
		SourceState *s = &st[i];
		int			len = s->n_finished > 0 ? s->fin_len[0] - 1 : 0;

		out_lens[i] = len;
		out[i] = tf_alloc(sizeof(int32_t) * (len + 1));
		if (len > 0)
			memcpy(out[i], s->fin_tokens + 1, sizeof(int32_t) * len);
		if (out_rows != NULL)
		{
			out_rows[i] = tf_alloc(sizeof(int32_t) * (len + 1));
			memcpy(out_rows[i], s->fin_history, sizeof(int32_t) * len);
		}
		tf_free(s->tokens);
		tf_free(s->history);
		tf_free(s->score);
		tf_free(s->fin_tokens);
		tf_free(s->fin_history);
		tf_free(s->fin_len);
		tf_free(s->fin_score);
	}
	dec->finish(dec->state);
	tf_free(st);
	tf_free(step_tokens);
	tf_free(step_src);
	tf_free(step_history);
	tf_free(logits);
	tf_free(scratch_tokens);
	tf_free(scratch_history);
}
