/*
 * tf_generate.h: generation options (defaults, overrides, checks) and
 * greedy and beam search over any encoder-decoder that offers a TfDecoder,
 * as Hugging Face's generate() does them (transformers v4.46: GenerationMixin._sample
 * without sampling, _beam_search with BeamSearchScorer / BeamHypotheses).
 *
 * Semantics kept:
 *  - decoding starts from decoder_start_token_id; max_length counts it;
 *  - logits processors: banned tokens (bad_words_ids) -> -inf; eos -> -inf
 *    while shorter than min_length; at length max_length - 1 every token but
 *    forced_eos_token_id -> -inf (with 0 for it in beam search, whose scores
 *    are log-softmaxed before the processors run);
 *  - greedy: argmax, a sequence stops at eos or max_length;
 *  - beam search: the best 2 * num_beams continuations over all beams; one
 *    that ends (eos, or max_length reached) and ranks within the first
 *    num_beams joins the finished list with score sum_logprobs /
 *    generated_length^length_penalty (eos counted, the start token not);
 *    the best num_beams that do not end continue; early_stopping true stops
 *    a source once num_beams have finished, false once the best candidate's
 *    sum / current generated length^penalty cannot beat the worst finished
 *    one, "never" the same with max_length - 1 when penalty > 0; at
 *    max_length the open beams join the finished ones.
 */
#ifndef TF_GENERATE_H
#define TF_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "tf_runtime.h"

/* Most beams a search keeps: sizes the candidate arrays of a beam step. */
#define TF_GENERATE_MAX_BEAMS 64

/* When beam search stops (generation_config "early_stopping"). */
typedef enum TfEarlyStopping
{
	TF_STOP_HEURISTIC,			/* false: when no running beam can beat the finished */
	TF_STOP_EARLY,				/* true: as soon as num_beams hypotheses finished */
	TF_STOP_NEVER				/* "never": only when no better one is possible */
} TfEarlyStopping;

/* Decoding options; defaults come from the checkpoint's generation config. */
typedef struct TfGenerateOptions
{
	int32_t		num_beams;		/* 1 = greedy */
	int32_t		max_length;		/* decoder tokens, the start token included */
	int32_t		min_length;		/* eos banned while shorter */
	float		length_penalty; /* beam score = sum log p / length^penalty */
	TfEarlyStopping early_stopping;
	bool		renormalize;	/* log-softmax again after the processors */
} TfGenerateOptions;

/* Options a session or a call sets over the model's own: each applies only
 * when its has_ flag is set. */
typedef struct TfGenerateOverrides
{
	bool		has_num_beams;
	int32_t		num_beams;
	bool		has_max_length;
	int32_t		max_length;
} TfGenerateOverrides;

/*
 * What search needs of a model (tf_marian.c implements it): encode the
 * sources once, then decode one step at a time for the running hypotheses.
 * Beam search reorders hypotheses without moving the model's cache: each
 * hypothesis carries its history, the row it occupied at every earlier
 * step, and the model reads its past through it.
 */
typedef struct TfDecoder
{
	void	   *state;			/* the model's own, passed to every call */
	int32_t		vocab;			/* logits per hypothesis */
	int32_t		max_positions;	/* longest sequence it decodes, start token included */
	int32_t		start_id;		/* decoder_start_token_id */
	int32_t		eos_id;
	int32_t		forced_eos_id;	/* forced at max_length - 1; -1: none */
	int32_t		n_banned;
	const int32_t *banned;		/* int32[n_banned]: ids never generated (bad_words_ids) */

	/* Encode n sources (src[i]: src_lens[i] ids) for the steps that follow. */
	void		(*encode) (void *state, const int32_t *const *src, const int *src_lens, int n);

	/* One step for nh hypotheses: hypothesis i feeds tokens[i], decodes
	 * source src[i] (hypotheses of one source adjacent), and its earlier
	 * steps are the rows history[i * history_stride + s] of step s. Writes
	 * logits[nh, vocab]; this step's rows are 0 .. nh - 1, in order. */
	void		(*step) (void *state, int nh, const int32_t *tokens, const int *src,
						 const int32_t *history, int history_stride, float *logits);

	/* Release what encode and the steps kept. */
	void		(*finish) (void *state);
} TfDecoder;

/*
 * The options of one generation: the model's own `defaults`, then the
 * session's overrides, then the call's (either may be NULL), checked for a
 * decoder of `vocab` ids. False with err filled when they are unusable.
 */
bool		tf_generate_options_merge(const TfGenerateOptions *defaults,
									  const TfGenerateOverrides *session,
									  const TfGenerateOverrides *call, int32_t vocab,
									  TfGenerateOptions *out, TfError *err);

/* Check options for a decoder of `vocab` ids; false with err filled when
 * they are unusable. */
bool		tf_generate_options_check(const TfGenerateOptions *opts, int32_t vocab, TfError *err);

/*
 * Decode n tokenized sources (src[i]: src_lens[i] ids, </s> included)
 * with options already checked. out[i] receives a tf_alloc'd
 * int32[out_lens[i]]: the generated ids after the start token, the final
 * eos included when one was generated.
 */
void		tf_generate(const TfDecoder *dec, const TfGenerateOptions *opts,
						const int32_t *const *src, const int *src_lens, int n,
						int32_t **out, int *out_lens);

#endif							/* TF_GENERATE_H */
