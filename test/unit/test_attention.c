/*
 * test_attention.c: attention maps and translation alignments against the
 * PyTorch reference (test/reference/make_attention_reference.py, from
 * Hugging Face's source), on the random fixtures (bert-minilm, bert-odd,
 * marian-ende-size, marian-odd) and the shipped models (models/bert-embed-en,
 * models/marian-en-de):
 *  - tf_bert_attention and tf_marian_encoder_attention: the token ids, and
 *    every layer's and head's self-attention;
 *  - tf_marian_align, greedy and with 4 beams: the generated ids, every
 *    cross-attention map, and a translation equal to tf_marian_translate's
 *    with the same options;
 * each map within TOLERANCE of the exact (float64) maps, or, where float32
 * itself cannot reach that (PyTorch's float32 map is farther), within
 * FLOAT32_FACTOR times PyTorch's distance (map_difference); the diagnostics
 * count the maps that needed it;
 *  - the truncation flag, the head average, and the SVG escaping.
 *
 *   test_attention [REFERENCE_FILE MODEL_DIR]...   default: the six above
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "tap.h"
#include "tf_alignment.h"
#include "tf_bert.h"
#include "tf_svg.h"
#include "tf_translate.h"

/* Largest difference allowed between a weight and the reference's... */
#define TOLERANCE 1e-5
/* ...or this many times PyTorch's own float32 distance from the exact
 * maps of the same text and kind, when that is larger (map_difference). */
#define FLOAT32_FACTOR 4

/* Most numbers on one reference line: 2 + 64 x 64 for the fixtures, the
 * shipped texts are shorter. */
#define MAX_NUMBERS (2 + 256 * 256)

static const char *const default_pairs[] = {
	"test/fixtures/bert-minilm/attention.txt", "test/fixtures/bert-minilm",
	"test/fixtures/bert-odd/attention.txt", "test/fixtures/bert-odd",
	"test/fixtures/marian-ende-size/attention.txt", "test/fixtures/marian-ende-size",
	"test/fixtures/marian-odd/attention.txt", "test/fixtures/marian-odd",
	"test/fixtures/shipped-attention/bert-embed-en.txt", "models/bert-embed-en",
	"test/fixtures/shipped-attention/marian-en-de.txt", "models/marian-en-de",
};

/* The reference file's lines and the next one to read. */
typedef struct Reader
{
	char	  **lines;
	int			n;
	int			at;
} Reader;

static double *numbers;			/* double[MAX_NUMBERS]: the line being compared */

/* The next line's ids after `key` equal ids[n]? */
static bool
same_ids(Reader *r, const char *key, const int32_t *ids, int n)
{
	int			got;

	if (r->at >= r->n)
		return false;
	got = fixture_numbers(r->lines[r->at++], key, numbers, MAX_NUMBERS);
	if (got != n)
		return false;
	for (int i = 0; i < n; i++)
		if ((int32_t) numbers[i] != ids[i])
			return false;
	return true;
}

/* Maps compared, and those that needed more than TOLERANCE. */
static int	maps_compared,
			maps_loosened;

/*
 * Compare every layer's and head's map with the next reference lines "key
 * layer head f32_error weights...": the exact (float64) weights, and how far
 * PyTorch's float32 map is from them. A weight may differ from the exact
 * one by max(TOLERANCE, FLOAT32_FACTOR x the largest f32_error of these
 * maps): as exact as PyTorch's float32, to that factor, where float32
 * cannot reach TOLERANCE (see make_attention_reference.py). Returns the largest
 * difference in units of that allowance (<= 1: within), or INFINITY when a
 * line is missing or of the wrong shape; *worst_abs: the largest absolute
 * difference.
 */
static double
map_difference(Reader *r, const char *key, const TfAttentionMaps *maps, double *worst_abs)
{
	double		worst = 0;
	int			cells = maps->queries * maps->keys;
	double		f32_error = 0;	/* PyTorch's, over all these maps */
	double		allowed;

	/* the allowance of the text's maps of this kind, from the lines ahead */
	for (int i = r->at; i < r->n && i < r->at + maps->layers * maps->heads; i++)
	{
		double		e;

		if (sscanf(r->lines[i], "%*s %*d %*d %lf", &e) == 1 && e > f32_error)
			f32_error = e;
	}
	allowed = FLOAT32_FACTOR * f32_error > TOLERANCE ? FLOAT32_FACTOR * f32_error : TOLERANCE;
	*worst_abs = 0;
	for (int l = 0; l < maps->layers; l++)
		for (int h = 0; h < maps->heads; h++)
		{
			const float *w = tf_attention_map(maps, l, h);
			double		diff = 0;

			if (r->at >= r->n ||
				fixture_numbers(r->lines[r->at++], key, numbers, MAX_NUMBERS) != 3 + cells ||
				numbers[0] != l || numbers[1] != h)
				return INFINITY;
			for (int c = 0; c < cells; c++)
				if (fabs(w[c] - numbers[3 + c]) > diff)
					diff = fabs(w[c] - numbers[3 + c]);
			maps_compared++;
			maps_loosened += diff > TOLERANCE;
			if (diff > *worst_abs)
				*worst_abs = diff;
			if (diff / allowed > worst)
				worst = diff / allowed;
		}
	return worst;
}

/* The text of a "text ..." line, or NULL. */
static const char *
next_text(Reader *r)
{
	const char *line = r->at < r->n ? r->lines[r->at] : "";

	if (strncmp(line, "text ", 5) != 0)
		return NULL;
	r->at++;
	return line + 5;
}

static void
check_bert(const char *dir, const void *image, const TfBertModel *m, Reader *r)
{
	const char *text;
	int			texts = 0,
				bad = 0;
	double		worst = 0;

	while ((text = next_text(r)) != NULL)
	{
		TfAttentionMaps maps;
		double		diff,
					abs_diff = INFINITY;
		bool		ids_ok;

		tf_bert_attention(image, m, text, strlen(text), &maps);
		ids_ok = same_ids(r, "ids", maps.query_ids, maps.queries);
		diff = ids_ok ? map_difference(r, "map", &maps, &abs_diff) : INFINITY;
		if (!(diff <= 1))
		{
			if (bad++ < 3)
				diag("%s: text %d (\"%.40s\"): ids %s, largest difference %g", dir, texts, text,
					 ids_ok ? "equal" : "differ", abs_diff);
			while (r->at < r->n && strncmp(r->lines[r->at], "text ", 5) != 0)
				r->at++;
		}
		else if (abs_diff > worst)
			worst = abs_diff;
		tf_attention_maps_free(&maps);
		texts++;
	}
	ok(texts > 0 && bad == 0 && r->at == r->n,
	   "%s: self-attention of %d texts, %d layers x %d heads, as the reference "
	   "(largest difference %.2g)", dir, texts, m->layers, m->heads, worst);
}

/* One decoding of the reference (key "greedy" or "beam4"): generated ids,
 * cross maps, and the translation tf_marian_translate gives. Returns
 * map_difference's result (INFINITY when the ids differ), *same_translation
 * whether the translations are equal. */
static double
check_alignment(const void *image, const TfMarianModel *m, const char *text, Reader *r,
				const char *key, int beams, bool *same_translation, double *abs_diff)
{
	TfGenerateOverrides call = {.has_num_beams = true, .num_beams = beams};
	TfAttentionMaps maps;
	char	   *aligned,
			   *translated;
	size_t		aligned_len,
				translated_len;
	size_t		len = strlen(text);
	TfError		err;
	double		diff;

	*abs_diff = INFINITY;
	if (!tf_marian_align(image, m, NULL, &call, text, len, &maps, &aligned, &aligned_len, &err) ||
		!tf_marian_translate(image, m, NULL, &call, &text, &len, 1, &translated, &translated_len, &err))
		return INFINITY;
	*same_translation = strcmp(aligned, translated) == 0;
	*abs_diff = INFINITY;
	diff = same_ids(r, key, maps.query_ids, maps.queries) ? map_difference(r, "cross", &maps, abs_diff) : INFINITY;
	tf_free(aligned);
	tf_free(translated);
	tf_attention_maps_free(&maps);
	return diff;
}

static void
check_marian(const char *dir, const void *image, const TfMarianModel *m, Reader *r)
{
	const char *text;
	int			texts = 0,
				bad = 0,
				translations_differ = 0;
	double		worst[3] = {0, 0, 0};	/* encoder, greedy, beam 4 */

	while ((text = next_text(r)) != NULL)
	{
		TfAttentionMaps maps;
		TfError		err;
		double		diff[3] = {INFINITY, INFINITY, INFINITY};
		double		abs_diff[3] = {INFINITY, INFINITY, INFINITY};
		bool		same[2] = {true, true};

		if (tf_marian_encoder_attention(image, m, text, strlen(text), &maps, &err))
		{
			if (same_ids(r, "src", maps.key_ids, maps.keys))
				diff[0] = map_difference(r, "encoder", &maps, &abs_diff[0]);
			tf_attention_maps_free(&maps);
		}
		diff[1] = check_alignment(image, m, text, r, "greedy", 1, &same[0], &abs_diff[1]);
		diff[2] = check_alignment(image, m, text, r, "beam4", 4, &same[1], &abs_diff[2]);
		translations_differ += !same[0] + !same[1];
		for (int k = 0; k < 3; k++)
			if (abs_diff[k] > worst[k])
				worst[k] = abs_diff[k];
		if (!(diff[0] <= 1 && diff[1] <= 1 && diff[2] <= 1))
		{
			if (bad++ < 3)
				diag("%s: text %d (\"%.40s\"): largest differences encoder %g, greedy %g, beam %g "
					 "(in units of the allowance: %g, %g, %g)", dir, texts, text,
					 abs_diff[0], abs_diff[1], abs_diff[2], diff[0], diff[1], diff[2]);
			while (r->at < r->n && strncmp(r->lines[r->at], "text ", 5) != 0)
				r->at++;
		}
		texts++;
	}
	ok(texts > 0 && bad == 0 && r->at == r->n,
	   "%s: %d texts: encoder self-attention, and the generated ids and cross-attention of greedy "
	   "and 4-beam alignments, as the reference (largest differences %.2g, %.2g, %.2g)",
	   dir, texts, worst[0], worst[1], worst[2]);
	ok(texts > 0 && translations_differ == 0,
	   "%s: each alignment's translation is translate()'s, greedy and with 4 beams", dir);
}

static void
check_pair(const char *ref_path, const char *dir)
{
	TfArena		arena;
	TfError		err;
	Reader		r = {0};
	const TfImageHeader *hdr;
	const void *model;

	r.lines = fixture_lines(ref_path, &r.n);
	if (!ok(r.lines != NULL && r.n > 0, "%s: reference read", ref_path))
		return;
	if (!ok(tf_model_load(dir, TF_PRECISION_EXACT, &arena, &err), "%s: loads", dir))
	{
		diag("%s (%s)", err.message, err.detail);
		return;
	}
	hdr = (const TfImageHeader *) arena.base;
	model = TF_AT(arena.base, hdr->model, const void);
	maps_compared = maps_loosened = 0;
	if (hdr->arch == TF_ARCH_BERT)
		check_bert(dir, arena.base, model, &r);
	else
		check_marian(dir, arena.base, model, &r);
	diag("%s: %d of %d maps within %g; the others within %d x PyTorch's own float32 error",
		 dir, maps_compared - maps_loosened, maps_compared, TOLERANCE, FLOAT32_FACTOR);
	tf_arena_free(&arena);
	tf_free(r.lines[0]);
	tf_free(r.lines);
}

/* The truncation flag: set for a text longer than the model takes, not for
 * one that just fits; and each map row sums to 1 in the head average. */
static void
check_truncation(void)
{
	TfArena		arena;
	TfError		err;
	const TfBertModel *m;
	TfAttentionMaps maps;
	char		text[4096] = "";
	float	   *avg;
	double		worst = 0;

	if (!ok(tf_model_load("test/fixtures/bert-odd", TF_PRECISION_EXACT, &arena, &err), "bert-odd loads"))
		return;
	m = TF_AT(arena.base, ((const TfImageHeader *) arena.base)->model, const TfBertModel);
	/* "a" is one piece: max_tokens - 2 of them fit exactly */
	for (int i = 0; i < m->max_tokens - 2; i++)
		strcat(text, "a ");
	tf_bert_attention(arena.base, m, text, strlen(text), &maps);
	ok(!maps.truncated && maps.queries == m->max_tokens,
	   "a text of exactly max_tokens tokens is not truncated (%d tokens)", maps.queries);
	tf_attention_maps_free(&maps);
	strcat(text, "a");
	tf_bert_attention(arena.base, m, text, strlen(text), &maps);
	ok(maps.truncated && maps.queries == m->max_tokens,
	   "one more piece is truncated to max_tokens (%d tokens)", maps.queries);
	avg = tf_alloc(sizeof(float) * maps.queries * maps.keys);
	tf_attention_head_average(&maps, maps.layers - 1, avg);
	for (int i = 0; i < maps.queries; i++)
	{
		double		sum = 0;

		for (int j = 0; j < maps.keys; j++)
			sum += avg[i * maps.keys + j];
		if (fabs(sum - 1) > worst)
			worst = fabs(sum - 1);
	}
	ok(worst < 1e-5, "every row of the head average sums to 1 (off by %.2g at most)", worst);
	tf_free(avg);
	tf_attention_maps_free(&maps);
	tf_arena_free(&arena);
}

/* XML escaping of labels and titles, and the document's parts. */
static void
check_svg(void)
{
	TfBuffer	b;
	const char *rows[2] = {"<b>&", "\x01\xff\"'"};
	const char *cols[3] = {"\xe4\xb8\xad", "x]]>", "\xef\xbf\xbe"};
	float		values[6] = {0, 0.5f, 1, 0.25f, 0.25f, 0.5f};
	TfHeatMap	map = {"m: <self> & \"all\"", "rows, columns", 2, 3, rows, cols, values};
	size_t		len;
	char	   *svg;

	tf_buffer_init(&b, 16);
	tf_svg_escape(&b, "a<b>&\"c'\x1f\xc3\xa9\xc3", 12);
	ok(strcmp(b.data, "a&lt;b&gt;&amp;&quot;c&apos;\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd") == 0,
	   "markup characters become entities; a control byte and a cut UTF-8 sequence U+FFFD");
	tf_free(b.data);
	svg = tf_svg_heatmap(&map, &len);
	ok(strlen(svg) == len && strncmp(svg, "<?xml", 5) == 0 && strstr(svg, "</svg>\n") != NULL,
	   "the heat map is one XML document of the length returned");
	ok(strstr(svg, "&lt;b&gt;&amp;") && strstr(svg, "\xef\xbf\xbd\xef\xbf\xbd&quot;&apos;") &&
	   strstr(svg, "\xe4\xb8\xad") && strstr(svg, "x]]&gt;") && !strstr(svg, "<b>") &&
	   !strstr(svg, "\xef\xbf\xbe"),
	   "labels are escaped: markup, control bytes, invalid bytes and U+FFFE");
	ok(strstr(svg, "m: &lt;self&gt; &amp; &quot;all&quot;") != NULL, "the title is escaped");
	ok(strstr(svg, "fill=\"#08306b\"") != NULL && strstr(svg, "fill=\"#ffffff\"><title>") != NULL,
	   "the largest weight is the darkest colour, 0 is white");
	tf_free(svg);
}

static void
check_default(const char *unused)
{
	(void) unused;
	for (int i = 0; i < (int) (sizeof(default_pairs) / sizeof(default_pairs[0])); i += 2)
		check_pair(default_pairs[i], default_pairs[i + 1]);
	check_truncation();
	check_svg();
}

int
main(int argc, char **argv)
{
	static const char *const none[1] = {""};

	numbers = malloc(sizeof(double) * MAX_NUMBERS);
	if (argc > 2)
	{
		TfError		err;

		if (!tf_blas_init(&err))
		{
			printf("Bail out! %s\n", err.message);
			return 1;
		}
		tf_blas_set_threads(1);
		for (int i = 1; i + 1 < argc; i += 2)
			check_pair(argv[i], argv[i + 1]);
		return done_testing();
	}
	return fixture_main(1, argv, none, 1, check_default);
}
