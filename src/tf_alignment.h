/*
 * tf_alignment.h: what a Marian translator attends to: the encoder's
 * self-attention over a source text, and the alignment of a translation,
 * the decoder's cross-attention from each generated token to the source
 * tokens (Bahdanau et al.'s Figure 3).
 *
 * The alignment is recorded during the very search translate() runs, with
 * the same options: each decoding step keeps the cross-attention of every
 * running hypothesis, and the chosen hypothesis' rows are picked out
 * afterwards through the row it occupied at each step (Hugging Face's
 * generate(output_attentions=True, return_dict_in_generate=True) returns
 * cross_attentions per step for every beam, and beam_indices to pick the
 * hypothesis' own). Row k of a map is the attention of the decoder step
 * that produced generated token k, whose query is the token before it.
 */
#ifndef TF_ALIGNMENT_H
#define TF_ALIGNMENT_H

#include "tf_attention.h"
#include "tf_generate.h"
#include "tf_marian.h"

/* The encoder self-attention of one text, tokenized (and truncated) as
 * translate() does. False with err filled when the text is too long to
 * tokenize at all. */
bool		tf_marian_encoder_attention(const void *image, const TfMarianModel *m,
										const char *text, size_t len, TfAttentionMaps *out,
										TfError *err);

/*
 * Translate one text as tf_marian_translate does with the same overrides,
 * recording the cross-attention: out's queries are the generated target
 * ids (the final </s> included when generated), its keys the source ids
 * (</s> included), over dec_layers x dec_heads maps. *translation receives
 * the tf_alloc'd, NUL-terminated translation. False with err filled when
 * the options are unusable or the text too long to tokenize.
 */
bool		tf_marian_align(const void *image, const TfMarianModel *m,
							const TfGenerateOverrides *session, const TfGenerateOverrides *call,
							const char *text, size_t len, TfAttentionMaps *out,
							char **translation, size_t *translation_len, TfError *err);

#endif							/* TF_ALIGNMENT_H */
