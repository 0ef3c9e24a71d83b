/*
 * tf_generation_config.h: the decoding defaults of a Marian checkpoint, the
 * values transformers' generate() uses when it is given no options.
 *
 * Rules, as transformers v4.57 applies them (configuration_utils.py,
 * generation/configuration_utils.py, generation/utils.py, MarianConfig):
 *
 *  - With generation_config.json, that file alone (GenerationConfig.
 *    from_pretrained replaces the config-derived one): a key it omits or
 *    sets to null takes GenerationConfig()'s default, never config.json's:
 *    max_length 20, num_beams 1, min_length 0, length_penalty 1.0,
 *    early_stopping false, renormalize_logits false, and no eos, bos,
 *    decoder start, forced eos or bad words.
 *  - Without it, GenerationConfig.from_model_config(MarianConfig(**config)):
 *    a key config.json omits takes the constructor default of MarianConfig
 *    (eos_token_id 0, pad_token_id 58100, decoder_start_token_id 58100,
 *    forced_eos_token_id 0) or PretrainedConfig (max_length 20, num_beams 1,
 *    min_length 0, length_penalty 1.0, early_stopping false, no bad words);
 *    a key set to null is dropped, so GenerationConfig()'s default (None)
 *    applies: "forced_eos_token_id": null forces nothing, while an absent
 *    key forces </s> (id 0) at max_length - 1.
 *  - generate() then: decoding starts from decoder_start_token_id, else
 *    bos_token_id (neither: an error); max_new_tokens, when set, gives
 *    max_length = max_new_tokens + 1; else a max_length of exactly 20 (set
 *    or defaulted, the caller passing none) becomes min(21,
 *    max_position_embeddings); bad_words_ids equal to an eos id are dropped.
 *
 * Every value is checked: ids within the target vocabulary, counts in range,
 * length_penalty finite; options we do not implement (sampling, repetition
 * penalties, ...) must be absent or at their inert value.
 */
#ifndef TF_GENERATION_CONFIG_H
#define TF_GENERATION_CONFIG_H

#include "tf_marian.h"

/* Fill m->generation, m->decoder_start_id, m->generation_eos_id,
 * m->forced_eos_id and m->banned from the checkpoint in `dir` (m's
 * vocabulary sizes and max_positions already set); false with dir->err
 * filled when a value is invalid or unsupported. */
bool		tf_generation_config_load(TfModelDir *dir, TfMarianModel *m);

#endif							/* TF_GENERATION_CONFIG_H */
