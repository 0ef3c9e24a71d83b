/*
 * fuzz_model_dir.c: loading a model directory whose configuration files are
 * the fuzzed input, laid over a valid tiny checkpoint (make_inputs.py), then
 * using the loaded model as the server would.
 *
 * Input, a "bundle": one JSON object whose members are files, e.g.
 *   {"config.json": {...}, "generation_config.json": {...}, "modules.json": [...],
 *    "1_Pooling/config.json": {...}, "tokenizer.json": null, "vocab.txt": "[PAD]\n..."}
 * A member that is JSON null removes that file, a string is written as the
 * file's raw bytes (so files that are not JSON get tried too), anything
 * else is written as JSON; a file the bundle does not name keeps the tiny
 * checkpoint's content. The weights and .spm files are never changed. The
 * tiny Marian checkpoint is the base when config.json says model_type
 * "marian", the tiny BERT otherwise; input that is not a JSON object is
 * written as a BERT config.json.
 *
 * A model that loads then embeds three texts (BERT), or translates two with
 * its own generation settings, max_length capped at 10 (Marian), through
 * the task functions SQL's embed() and translate() call. Checks: a refusal carries an error; every
 * id produced lies in its vocabulary; no allocation exceeds
 * -malloc_limit_mb (test/fuzz/run sets 512: the checkpoint is 20 KB, so
 * anything near that was sized from a config value, not from the file).
 * Files go to a per-process directory in /dev/shm. With FUZZ_VERBOSE set,
 * each input's outcome is printed (to see why a seed is refused).
 */
#define _GNU_SOURCE				/* nftw */
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "json_mutator.h"
#include "tf_bert.h"
#include "tf_blas.h"
#include "tf_model.h"
#include "tf_translate.h"

/* The files a bundle may replace. */
static const char *const bundle_files[] = {
	"config.json", "tokenizer_config.json", "generation_config.json", "modules.json",
	"1_Pooling/config.json", "sentence_bert_config.json", "tokenizer.json", "vocab.json", "vocab.txt",
};
#define N_FILES (sizeof(bundle_files) / sizeof(bundle_files[0]))

/* The files of a base checkpoint that no bundle changes (linked, not copied). */
static const char *const fixed_files[] = {"model.safetensors", "source.spm", "target.spm"};

/* Member names and string values the structural mutations try: what the
 * loaders read, and the file names of a bundle. */
static const char *const words[] = {
	"config.json", "tokenizer_config.json", "generation_config.json", "modules.json",
	"1_Pooling/config.json", "sentence_bert_config.json", "tokenizer.json", "vocab.json", "vocab.txt",
	"activation_function", "bad_words_ids", "clean_text", "cls_token", "content", "continuing_subword_prefix",
	"d_model", "decoder_attention_heads", "decoder_ffn_dim", "decoder_layers", "decoder_start_token_id",
	"decoder_vocab_size", "do_lower_case", "early_stopping", "encoder_attention_heads", "encoder_ffn_dim",
	"encoder_layers", "eos_token_id", "forced_eos_token_id", "handle_chinese_chars", "hidden_act",
	"hidden_size", "intermediate_size", "layer_norm_eps", "length_penalty", "lowercase", "mask_token",
	"max_input_chars_per_word", "max_length", "max_position_embeddings", "max_seq_length", "min_length",
	"model", "model_max_length", "model_type", "normalizer", "num_attention_heads", "num_beams",
	"num_hidden_layers", "pad_token", "pad_token_id", "path", "pooling_mode_cls_token",
	"pooling_mode_max_tokens", "pooling_mode_mean_tokens", "pooling_mode_mean_sqrt_len_tokens",
	"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken", "position_embedding_type",
	"renormalize_logits", "scale_embedding", "sep_token", "separate_vocabs", "share_encoder_decoder_embeddings",
	"strip_accents", "tie_word_embeddings", "tokenize_chinese_chars", "type", "type_vocab_size", "unk_token",
	"vocab", "vocab_size", "normalize_before", "normalize_embedding", "add_final_layer_norm",
	"add_bias_logits", "bert", "marian", "gelu", "gelu_new", "relu", "swish", "silu", "tanh", "absolute",
	"relative_key", "never", "WordPiece", "BPE", "[UNK]", "[CLS]", "[SEP]", "<unk>", "</s>", "<pad>",
	"1_Pooling", "2_Normalize", "../1_Pooling", "/tmp", ".", "sentence_transformers.models.Transformer",
	"sentence_transformers.models.Pooling", "sentence_transformers.models.Normalize",
	"sentence_transformers.models.Dense", "##", NULL
};

/* One base checkpoint: its bundle files' original bytes and what the
 * working copy's files hold now (NULL: absent). */
typedef struct Base
{
	char		dir[512];		/* the working copy */
	char	   *original[N_FILES];
	size_t		original_len[N_FILES];
	char	   *current[N_FILES];	/* malloc'd, or NULL: absent */
	size_t		current_len[N_FILES];
} Base;

static Base bases[2];			/* 0: BERT, 1: Marian */
static char work[256];			/* this process's directory of both */
static bool verbose;			/* FUZZ_VERBOSE set: say why each input is refused */

/* Put `bytes` (or nothing, when NULL) in file i of base b, if it differs. */
static void
set_file(Base *b, size_t i, const char *bytes, size_t len)
{
	char		path[1024];
	FILE	   *f;

	if (bytes == NULL ? b->current[i] == NULL :
		b->current[i] != NULL && b->current_len[i] == len && memcmp(b->current[i], bytes, len) == 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", b->dir, bundle_files[i]);
	free(b->current[i]);
	b->current[i] = NULL;
	if (bytes == NULL)
	{
		FUZZ_CHECK(unlink(path) == 0 || errno == ENOENT, "cannot remove %s", path);
		return;
	}
	b->current[i] = malloc(len + 1);
	memcpy(b->current[i], bytes, len);
	b->current_len[i] = len;
	f = fopen(path, "wb");
	FUZZ_CHECK(f != NULL && fwrite(bytes, 1, len, f) == len && fclose(f) == 0, "cannot write %s", path);
}

/* Make the working copy of base checkpoint `name` in `work`. */
static void
make_base(Base *b, const char *work, const char *name)
{
	char		from[1024],
				to[1024];
	struct stat st;

	snprintf(b->dir, sizeof(b->dir), "%s/%s", work, name);
	snprintf(to, sizeof(to), "%s/1_Pooling", b->dir);
	FUZZ_CHECK(mkdir(b->dir, 0700) == 0 && mkdir(to, 0700) == 0, "cannot make %s", to);
	for (size_t i = 0; i < sizeof(fixed_files) / sizeof(fixed_files[0]); i++)
	{
		snprintf(from, sizeof(from), "models/%s/%s", name, fixed_files[i]);
		snprintf(from, sizeof(from), "%s", FUZZ_INPUT_FILE(from));
		snprintf(to, sizeof(to), "%s/%s", b->dir, fixed_files[i]);
		if (stat(from, &st) == 0)
		{
			char		absolute[4096];

			FUZZ_CHECK(realpath(from, absolute) != NULL && symlink(absolute, to) == 0, "cannot link %s", to);
		}
	}
	for (size_t i = 0; i < N_FILES; i++)
	{
		snprintf(from, sizeof(from), "models/%s/%s", name, bundle_files[i]);
		snprintf(from, sizeof(from), "%s", FUZZ_INPUT_FILE(from));
		if (stat(from, &st) == 0)
			b->original[i] = fuzz_read(from, &b->original_len[i]);
		set_file(b, i, b->original[i], b->original_len[i]);
	}
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* At exit: the working copies go (a crash leaves them for inspection). */
static void
remove_work(void)
{
	nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	TfError		err;

	if (!tf_blas_init(&err))
	{
		fprintf(stderr, "%s\n", err.message);
		exit(1);
	}
	tf_blas_set_threads(1);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	snprintf(work, sizeof(work), "%s/fuzz_model_dir.%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
			 (int) getpid());
	FUZZ_CHECK(mkdir(work, 0700) == 0, "cannot make %s", work);
	atexit(remove_work);
	make_base(&bases[0], work, "bert");
	make_base(&bases[1], work, "marian");
	return 0;
}

/* A tokenizer's answer: between min_n and max_n ids, each below vocab. */
static void
check_ids(const int32_t *ids, int32_t n, int32_t min_n, int32_t max_n, int32_t vocab)
{
	FUZZ_CHECK(n >= min_n && n <= max_n, "%d ids for %d to %d", n, min_n, max_n);
	for (int32_t k = 0; k < n; k++)
		FUZZ_CHECK(ids[k] >= 0 && ids[k] < vocab, "id %d of %d", ids[k], vocab);
}

/* Embed three texts as embed() would. */
static void
use_bert(const void *image, const TfBertModel *m)
{
	static const char *const texts[] = {
		"", "Hello world, the cat sat on the mat!", "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 [MASK] \xff unknownwordsareunk"
	};
	size_t		lens[3];
	TfError		err;
	float	   *out = malloc(sizeof(float) * 3 * (size_t) m->hidden);
	int32_t    *ids = malloc(sizeof(int32_t) * (size_t) m->max_tokens);

	for (int i = 0; i < 3; i++)
	{
		lens[i] = strlen(texts[i]);
		check_ids(ids, tf_bert_tokenize(image, m, texts[i], lens[i], ids), 2, m->max_tokens, m->vocab_size);
	}
	if (!tf_bert_embed(image, m, texts, lens, 3, out, &err))
		fuzz_check_error(&err);
	free(ids);
	free(out);
}

/* Translate two texts as translate() does, max_length capped at 10. */
static void
use_marian(const void *image, const TfMarianModel *m)
{
	static const char *const texts[] = {">>fr<< the cat sat on the mat", "\xef\xbc\xa1\xef\xbc\xa2 \xff"};
	size_t		lens[2];
	TfGenerateOverrides call = {false, 0, true, m->generation.max_length < 10 ? m->generation.max_length : 10};
	char	   *out[2];
	size_t		out_lens[2];
	int32_t    *ids = malloc(sizeof(int32_t) * (size_t) m->max_source_tokens);
	TfError		err;

	for (int i = 0; i < 2; i++)
	{
		lens[i] = strlen(texts[i]);
		check_ids(ids, tf_marian_tokenize(image, m, texts[i], lens[i], ids), 1, m->max_source_tokens,
				  m->src_vocab);
	}
	free(ids);
	if (!tf_marian_translate(image, m, NULL, &call, texts, lens, 2, out, out_lens, &err))
	{
		fuzz_check_error(&err);
		return;
	}
	for (int i = 0; i < 2; i++)
	{
		FUZZ_CHECK(strlen(out[i]) <= out_lens[i], "translation not terminated");
		tf_free(out[i]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TfError		err;
	TfJson	   *bundle = tf_json_parse((const char *) data, size, &err);
	const TfJson *config;
	Base	   *b;
	TfArena		arena;
	FuzzRng		rng;

	if (bundle != NULL && bundle->type != TF_JSON_OBJECT)
	{
		tf_json_free(bundle);
		bundle = NULL;
	}
	config = tf_json_get(bundle, "config.json");
	b = &bases[strcmp(tf_json_string(config, "model_type", "", NULL), "marian") == 0];
	fuzz_rng_init(&rng, (unsigned int) size);
	for (size_t i = 0; i < N_FILES; i++)
	{
		const TfJson *member = tf_json_get(bundle, bundle_files[i]);

		if (bundle == NULL && i == 0)
			set_file(b, i, (const char *) data, size);
		else if (member == NULL)
			set_file(b, i, b->original[i], b->original_len[i]);
		else if (member->type == TF_JSON_NULL)
			set_file(b, i, NULL, 0);
		else if (member->type == TF_JSON_STRING)
			set_file(b, i, member->string, member->string_len);
		else
		{
			size_t		len;
			char	   *text = fuzz_json_text(member, &rng, &len);

			set_file(b, i, text, len);
			free(text);
		}
	}
	tf_json_free(bundle);

	if (!tf_model_load(b->dir, TF_PRECISION_EXACT, &arena, &err))
	{
		fuzz_check_error(&err);
		if (verbose)
			fprintf(stderr, "refused: %s (%s)\n", err.message, err.detail);
		return 0;
	}
	if (verbose)
		fprintf(stderr, "loaded\n");
	{
		const TfImageHeader *h = tf_image_header(arena.base, arena.size, &err);

		FUZZ_CHECK(h != NULL, "a loaded model is no image");
		if (h->arch == TF_ARCH_BERT)
			use_bert(arena.base, TF_AT(arena.base, h->model, const TfBertModel));
		else
			use_marian(arena.base, TF_AT(arena.base, h->model, const TfMarianModel));
	}
	tf_arena_free(&arena);
	return 0;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	return fuzz_json_mutate(data, size, max_size, seed, words);
}
