/*
 * tf_generate.h: generation options (defaults, overrides, checks) and
 * greedy and beam search over any encoder-decoder that offers a TfDecoder,
 * as Hugging Face's generate() does them in transformers v4.57
 * (GenerationMixin._sample without sampling; _beam_search, rewritten in
 * v4.50 without BeamSearchScorer). Where v4.57 differs from v4.46, v4.57 is
 * followed (the one difference in results is marked below). A Marian
 * checkpoint's default options: tf_generation_config.h.
 *
 * Semantics kept:
 *  - decoding starts from decoder_start_token_id; max_length counts it;
 *  - logits processors, in HF's order: banned tokens (bad_words_ids, the
 *    eos left out) -> -inf; eos -> -inf while shorter than min_length; at
 *    length max_length - 1 every token but forced_eos_token_id -> -inf and
 *    it -> 0; renormalize_logits: log-softmax again after them. Greedy
 *    applies them to the logits, beam search to their log-softmax;
 *  - greedy: argmax (the first maximum), a sequence stops at eos or
 *    max_length;
 *  - beam search: the best 2 * num_beams continuations over all beams; one
 *    that ends (eos, or max_length reached) and ranks within the first
 *    num_beams joins the finished list with score sum_logprobs /
 *    generated_length^length_penalty (eos counted, the start token not);
 *    the best num_beams that do not end continue; early_stopping true stops
 *    a source once num_beams have finished; false once num_beams have
 *    finished and the best continuing beam's sum / current generated
 *    length^penalty cannot beat the worst finished one (v4.57; v4.46 took
 *    the best candidate, which may be one that just ended); "never" the same
 *    with max_length - 1 when penalty > 0. A source that stops adds no more
 *    finished hypotheses; the best finished one is the output;
 *  - without an eos (TfDecoder.eos_id -1) only max_length ends a sequence.
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
	int32_t		eos_id;			/* ends a hypothesis; -1: none */
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
 * eos included when one was generated. out_rows: NULL, or out_rows[i]
 * receives a tf_alloc'd int32[out_lens[i]]: for each generated token, the
 * row its hypothesis occupied in the decoder step that produced it (what
 * Hugging Face's beam_indices give), to find that step's attention.
 */
void		tf_generate(const TfDecoder *dec, const TfGenerateOptions *opts,
						const int32_t *const *src, const int *src_lens, int n,
						int32_t **out, int *out_lens, int32_t **out_rows);

#endif							/* TF_GENERATE_H */
