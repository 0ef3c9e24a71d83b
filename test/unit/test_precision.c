/*
 * test_precision.c: whole models in each precision (tf_model_load's
 * TF_PRECISION_*), against the same checkpoint widened to float32 at load,
 * on every instruction-set path (tf_cpu_set_cap).
 *
 *  - exact (F16, BF16 kept in the image): embeddings and first-step logits
 *    equal to float32's within 1e-5 of their largest magnitude, one
 *    sentence at a time (the same weights; blocks of widened rows may only
 *    change OpenBLAS's order of summation, beyond 64 tokens), and the
 *    formats the checkpoint has; 2e-4 on marian-ende-size, whose random
 *    attention is so peaked that its 150-token sentence turns those last
 *    bits into 1.4e-4;
 *  - int8: the same outputs, bit for bit, on every path (the int32 sums
 *    are exact, so VNNI, AVX2 and scalar agree); on the shipped models
 *    (trained, models/), every embedding's cosine with float32's at least
 *    0.999 and every first-step logit row's at least 0.99; on the
 *    random-weight fixtures, whose attention is far peakier than a trained
 *    model's and amplifies any rounding, only a sanity bound (0.9 for BERT);
 *  - memory, on the shipped F16 models: the exact image at most 52% of the
 *    float32 image, the int8 image at most 30%.
 */
#include "fixture.h"

#include "tf_bert.h"
#include "tf_cpu.h"
#include "tf_marian.h"
#include "tf_model.h"

#define PRECISIONS 3			/* exact, float32, int8: TfPrecision's order */

/* One model checked: its directory, the sentences run through it, the
 * least cosine of int8 outputs with float32's, whether its image sizes
 * are held to the targets (the shipped models). */
typedef struct PrecisionCase
{
	const char *dir;
	const char *sentences;
	double		int8_cosine;
	double		exact_tolerance;	/* of the largest magnitude */
	bool		memory_targets;
} PrecisionCase;

/* Cosine of a[n] and b[n]. */
static double
cosine(const float *a, const float *b, int n)
{
	double		ab = 0,
				aa = 0,
				bb = 0;

	for (int i = 0; i < n; i++)
	{
		ab += (double) a[i] * b[i];
		aa += (double) a[i] * a[i];
		bb += (double) b[i] * b[i];
	}
	return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1 : 0);
}

/* Load dir in every precision into arenas[PRECISIONS]; false on failure. */
static bool
load_all(const char *dir, TfArena *arenas)
{
	for (int p = 0; p < PRECISIONS; p++)
	{
		TfError		err;

		if (!ok(tf_model_load(dir, (TfPrecision) p, &arenas[p], &err), "%s: loads as %s", dir,
				tf_precision_name((TfPrecision) p)))
		{
			diag("%s (%s)", err.message, err.detail);
			return false;
		}
	}
	return true;
}

/* Image sizes and formats of the three loads. */
static void
check_images(const PrecisionCase *c, TfArena *arenas, bool half)
{
	const TfImageHeader *h[PRECISIONS];
	char		formats[PRECISIONS][64];
	double		exact_ratio,
				int8_ratio;

	for (int p = 0; p < PRECISIONS; p++)
	{
		h[p] = (const TfImageHeader *) arenas[p].base;
		tf_image_formats(h[p], formats[p], sizeof(formats[p]));
	}
	exact_ratio = (double) h[0]->image_bytes / h[1]->image_bytes;
	int8_ratio = (double) h[2]->image_bytes / h[1]->image_bytes;
	ok(strcmp(formats[1], "float32") == 0 && strcmp(formats[2], "int8") == 0 &&
	   (half ? strstr(formats[0], "float32") == NULL : strcmp(formats[0], "float32") == 0),
	   "%s: formats exact %s, float32 %s, int8 %s", c->dir, formats[0], formats[1], formats[2]);
	ok(h[0]->n_params == h[1]->n_params && h[2]->n_params == h[1]->n_params,
	   "%s: the same parameter count in each precision", c->dir);
	if (c->memory_targets)
	{
		ok(exact_ratio <= 0.52, "%s: exact (F16) image %.1f%% of the float32 image (at most 52%%)",
		   c->dir, 100 * exact_ratio);
		ok(int8_ratio <= 0.30, "%s: int8 image %.1f%% of the float32 image (at most 30%%)", c->dir,
		   100 * int8_ratio);
	}
	else
		diag("%s: exact image %.1f%%, int8 %.1f%% of float32's", c->dir, 100 * exact_ratio,
			 100 * int8_ratio);
}

/*
 * Outputs out[PRECISIONS][levels][n * width] of each precision on each
 * path, checked: exact against float32 (1e-5 of the largest magnitude),
 * int8 the same on every path within rounding (the int8 products are
 * exact on every path, test_quant.c, but the float kernels around them
 * sum in other orders, and a last-bit difference can move an activation
 * to the next int8 step: cosine with the scalar path's at least 0.999),
 * int8's cosine with float32's.
 */
static void
check_outputs(const PrecisionCase *c, float *(*out)[TF_ISA_AVX512 + 1], int levels, int n,
			  int width, const char *what)
{
	for (int level = 0; level < levels; level++)
	{
		double		worst_exact = 0,
					largest = 0,
					worst_cos = 1,
					worst_path_cos = 1;

		for (size_t i = 0; i < (size_t) n * width; i++)
		{
			double		d = fabs(out[0][level][i] - out[1][level][i]);

			worst_exact = d > worst_exact ? d : worst_exact;
			largest = fabs(out[1][level][i]) > largest ? fabs(out[1][level][i]) : largest;
		}
		for (int i = 0; i < n; i++)
		{
			double		cos = cosine(out[2][level] + (size_t) i * width, out[1][level] + (size_t) i * width,
									 width);

			double		path_cos = cosine(out[2][level] + (size_t) i * width,
										  out[2][0] + (size_t) i * width, width);

			worst_cos = cos < worst_cos ? cos : worst_cos;
			worst_path_cos = path_cos < worst_path_cos ? path_cos : worst_path_cos;
		}
		ok(worst_exact <= c->exact_tolerance * (largest > 1 ? largest : 1),
		   "%s (%s): exact %s = float32's (max abs diff %.3g, largest %.3g)", c->dir,
		   tf_cpu_name((TfIsa) level), what, worst_exact, largest);
		ok(worst_path_cos >= 0.999, "%s (%s): int8 %s' cosine with the scalar path's at least 0.999 (min %.7f)",
		   c->dir, tf_cpu_name((TfIsa) level), what, worst_path_cos);
		ok(worst_cos >= c->int8_cosine, "%s (%s): int8 %s' cosine with float32's at least %g (min %.5f over %d)",
		   c->dir, tf_cpu_name((TfIsa) level), what, c->int8_cosine, worst_cos, n);
	}
}

/* Embedding of one text by the BERT image `image` into out[hidden]. */
static void
bert_output(const void *image, const char *text, float *out)
{
	const TfImageHeader *h = image;
	size_t		len = strlen(text);
	TfError		err;

	tf_bert_embed(image, TF_AT(image, h->model, const TfBertModel), &text, &len, 1, out, &err);
}

/* First decoding step's logits of one source text by the Marian image
 * `image` into out[tgt_vocab]. */
static void
marian_output(const void *image, const char *text, float *out)
{
	const TfImageHeader *h = image;
	const TfMarianModel *m = TF_AT(image, h->model, const TfMarianModel);
	int32_t    *ids = malloc(sizeof(int32_t) * m->max_source_tokens);
	int			len = tf_marian_tokenize(image, m, text, strlen(text), ids);
	int32_t		token = m->decoder_start_id,
				history = 0;
	int			src = 0;
	TfMarianBatch batch;
	TfMarianCache cache;

	tf_marian_encode(image, m, (const int32_t *const *) &ids, &len, 1, &batch, NULL);
	tf_marian_cache_init(&cache);
	tf_marian_decode_step(image, m, &batch, &cache, 1, &token, &src, &history, 1, out, NULL);
	tf_marian_cache_free(&cache);
	tf_marian_batch_free(&batch);
	free(ids);
}

/*
 * Check case c: load it in every precision, check the images, then run
 * output(image, text, out[width]) over every sentence, one at a time, in
 * each precision on each path, and check the outputs.
 */
static void
check_case(const PrecisionCase *c)
{
	bool		marian = strstr(c->dir, "marian") != NULL;
	void		(*output) (const void *, const char *, float *) = marian ? marian_output : bert_output;
	TfArena		arenas[PRECISIONS];
	char	  **sentences;
	int			n = 0;
	int			levels = (int) tf_cpu_hardware_level() + 1;
	float	   *out[PRECISIONS][TF_ISA_AVX512 + 1];	/* float[n, width] each */
	const void *image;
	int			width;
	bool		half;

	if (!load_all(c->dir, arenas))
		return;
	sentences = fixture_lines(c->sentences, &n);
	image = arenas[0].base;
	if (marian)
	{
		const TfMarianModel *m = TF_AT(image, ((const TfImageHeader *) image)->model, const TfMarianModel);

		width = m->tgt_vocab;
		half = m->enc_embed.format != TF_FORMAT_F32;
	}
	else
	{
		const TfBertModel *m = TF_AT(image, ((const TfImageHeader *) image)->model, const TfBertModel);

		width = m->hidden;
		half = m->word_emb.format != TF_FORMAT_F32;
	}
	check_images(c, arenas, half);
	for (int level = 0; level < levels; level++)
	{
		tf_cpu_set_cap((TfIsa) level);
		for (int p = 0; p < PRECISIONS; p++)
		{
			out[p][level] = malloc(sizeof(float) * (size_t) n * width);
			for (int i = 0; i < n; i++)
				output(arenas[p].base, sentences[i], out[p][level] + (size_t) i * width);
		}
	}
	tf_cpu_reset_cap();
	check_outputs(c, out, levels, n, width, marian ? "first-step logits" : "embeddings");
	for (int p = 0; p < PRECISIONS; p++)
	{
		for (int level = 0; level < levels; level++)
			free(out[p][level]);
		tf_arena_free(&arenas[p]);
	}
}

int
main(int argc, char **argv)
{
	static const PrecisionCase cases[] = {
		{"models/bert-embed-en", "test/fixtures/bert-minilm/sentences.txt", 0.999, 1e-5, true},
		{"models/marian-en-de", "test/fixtures/marian-ende-size/sentences.txt", 0.99, 1e-5, true},
		{"test/fixtures/bert-minilm", "test/fixtures/bert-minilm/sentences.txt", 0.9, 1e-5, false},
		{"test/fixtures/bert-odd", "test/fixtures/bert-odd/sentences.txt", 0.9, 1e-5, false},
		{"test/fixtures/bert-bf16", "test/fixtures/bert-bf16/sentences.txt", 0.9, 1e-5, false},
		{"test/fixtures/marian-ende-size", "test/fixtures/marian-ende-size/sentences.txt", 0.5, 2e-4, false},
		{"test/fixtures/marian-odd", "test/fixtures/marian-odd/sentences.txt", 0.5, 1e-5, false},
	};
	TfError		err;

	if (!tf_blas_init(&err))
	{
		printf("Bail out! %s\n", err.message);
		return 1;
	}
	tf_blas_set_threads(1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		if (argc > 1 && strcmp(argv[1], cases[i].dir) != 0)
			continue;
		check_case(&cases[i]);
	}
	return done_testing();
}
