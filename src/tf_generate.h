/*
 * tf_generate.h: greedy and beam search for Marian translators, as Hugging
 * Face's generate() does them (transformers v4.46: GenerationMixin._sample
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

#include "tf_marian.h"

/*
 * Translate n tokenized sources (src[i]: src_lens[i] ids, </s> included)
 * with the given options. out[i] receives a tf_alloc'd int32[out_lens[i]]:
 * the generated ids after the start token, the final eos included when one
 * was generated.
 */
void		tf_generate(const void *image, const TfMarianModel *m, const TfGenerateOptions *opts,
						const int32_t *const *src, const int *src_lens, int n,
						int32_t **out, int *out_lens);

/* Check options a caller supplies; false with err filled when absurd. */
bool		tf_generate_options_check(const TfGenerateOptions *opts, TfError *err);

#endif							/* TF_GENERATE_H */
