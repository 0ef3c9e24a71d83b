/*
 * tf_translate.h: the translation task, end to end: texts in, texts out,
 * every failure a TfError. The same path serves SQL's translate() and the
 * unit tests.
 */
#ifndef TF_TRANSLATE_H
#define TF_TRANSLATE_H

#include "tf_generate.h"
#include "tf_marian.h"

/*
 * Translate n texts (texts[i]: lens[i] bytes of UTF-8) with Marian model m
 * of `image`: tokenize each, decode them in batches of at most
 * TF_ROWGEMM_MAX_ROWS hypotheses, detokenize. The options are the model's
 * generation config overridden by `session`, then by `call` (either may be
 * NULL; see tf_generate_options_merge). out[i] receives a tf_alloc'd,
 * NUL-terminated translation of out_lens[i] bytes. False with err filled
 * when the options are unusable or a text is too long; n may be 0 (the
 * options are still checked).
 */
bool		tf_marian_translate(const void *image, const TfMarianModel *m,
								const TfGenerateOverrides *session, const TfGenerateOverrides *call,
								const char *const *texts, const size_t *lens, int n,
								char **out, size_t *out_lens, TfError *err);

#endif							/* TF_TRANSLATE_H */
