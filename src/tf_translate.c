/*
 * tf_translate.c: the translation task (see tf_translate.h).
 */
#include "tf_translate.h"

#include "tf_simd.h"

/* Most hypotheses (sources x beams) decoded together: bounds memory and
 * the time between two interrupt checks. As many as the rows kernel takes:
 * each step's output layer then reads its weights once for all of them,
 * about 50 ms for opus-mt's 58k words at 64 rows here. */
#define TRANSLATE_MAX_ROWS TF_ROWGEMM_MAX_ROWS

bool
tf_marian_translate(const void *image, const TfMarianModel *m,
					const TfGenerateOverrides *session, const TfGenerateOverrides *call,
					const char *const *texts, const size_t *lens, int n,
					char **out, size_t *out_lens, TfError *err)
{
	TfGenerateOptions o;
	TfMarianDecoder state;
	TfDecoder	dec;
	int			per_call;
	int32_t   **src;			/* int32[n][max_source_tokens]: source ids */
	int		   *src_lens;		/* int[n] */
	int32_t   **ids;			/* int32[n][]: generated ids */
	int		   *ids_lens;		/* int[n] */
	bool		ok = true;

	if (!tf_generate_options_merge(&m->generation, session, call, m->tgt_vocab, &o, err))
		return false;
	if (n == 0)
		return true;
	per_call = TRANSLATE_MAX_ROWS / o.num_beams > 1 ? TRANSLATE_MAX_ROWS / o.num_beams : 1;
	src = tf_alloc(sizeof(int32_t *) * n);
	src_lens = tf_alloc(sizeof(int) * n);
	ids = tf_alloc(sizeof(int32_t *) * n);
	ids_lens = tf_alloc(sizeof(int) * n);
	for (int i = 0; i < n && ok; i++)
	{
		src[i] = tf_alloc(sizeof(int32_t) * m->max_source_tokens);
		src_lens[i] = tf_marian_tokenize(image, m, texts[i], lens[i], src[i]);
		if (src_lens[i] < 0)
		{
			tf_fail(err, TF_ERR_LIMIT, "input text is too long to translate");
			ok = tf_fail_detail(err, "The text has %zu bytes.", lens[i]);
		}
	}
	dec = tf_marian_decoder(image, m, &state);
	for (int first = 0; ok && first < n; first += per_call)
		tf_generate(&dec, &o, (const int32_t *const *) src + first, src_lens + first,
					n - first < per_call ? n - first : per_call, ids + first, ids_lens + first, NULL);
	for (int i = 0; ok && i < n; i++)
		out[i] = tf_marian_detokenize(image, m, ids[i], ids_lens[i], &out_lens[i]);
	for (int i = 0; i < n; i++)
	{
		tf_free(src[i]);
		tf_free(ids[i]);
	}
	tf_free(src);
	tf_free(src_lens);
	tf_free(ids);
	tf_free(ids_lens);
	return ok;
}
