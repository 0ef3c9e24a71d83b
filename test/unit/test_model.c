/*
 * test_model.c: loading model directories whose config files hold hostile
 * values: NaN, +-Infinity, 1e400, negative, huge, fractional, wrong types,
 * paths that lead out. Each case copies a fixture, changes one file and
 * expects tf_model_load to refuse it with a message naming the problem, or,
 * for the values Hugging Face writes itself, to load it.
 *
 * The whole test runs under an address-space limit of 3 GiB more than it
 * started with, so a loader that sizes memory from a config value before
 * checking the value against the weights file aborts here instead of
 * taking gigabytes (a preloaded model is loaded in the postmaster).
 *
 *   test_model [FIXTURE_DIR]   default: test/fixtures
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tap.h"
#include "tf_model.h"

/* One altered copy of a fixture and what loading it must give. */
typedef struct Case
{
	const char *fixture;		/* directory under FIXTURE_DIR */
	const char *file;			/* the file changed */
	const char *from;			/* text replaced (NULL: the whole file) */
	const char *to;				/* its replacement */
	const char *expect;			/* part of the error message, or NULL: loads */
} Case;

static const Case cases[] = {
	/* generation_config.json: a banned id indexes a row of logits */
	{"marian-odd", "generation_config.json", NULL, "{\"bad_words_ids\": [[NaN]]}", "bad_words_ids"},
	{"marian-odd", "generation_config.json", NULL, "{\"bad_words_ids\": [[Infinity]]}", "bad_words_ids"},
	{"marian-odd", "generation_config.json", NULL, "{\"bad_words_ids\": [[1.5]]}", "bad_words_ids"},
	{"marian-odd", "generation_config.json", NULL, "{\"bad_words_ids\": [[-1]]}", "bad_words_ids"},
	{"marian-odd", "generation_config.json", NULL, "{\"bad_words_ids\": [[5000]]}", "bad_words_ids"},
	{"marian-odd", "generation_config.json", NULL, "{\"bad_words_ids\": [[4999]], \"decoder_start_token_id\": 2}", NULL},
	{"marian-odd", "generation_config.json", NULL, "{\"length_penalty\": NaN}", "\"length_penalty\""},
	{"marian-odd", "generation_config.json", NULL, "{\"num_beams\": 1e400}", "\"num_beams\""},
	{"marian-odd", "generation_config.json", NULL, "{\"max_length\": -Infinity}", "\"max_length\""},
	{"marian-odd", "generation_config.json", NULL, "{\"renormalize_logits\": 1}", "\"renormalize_logits\""},
	/* tokenizer_config.json: model_max_length was cast from any double */
	{"marian-odd", "tokenizer_config.json", NULL,
	"{\"separate_vocabs\": true, \"model_max_length\": -1e10}", "\"model_max_length\""},
	{"marian-odd", "tokenizer_config.json", NULL,
	"{\"separate_vocabs\": true, \"model_max_length\": NaN}", "\"model_max_length\""},
	{"marian-odd", "tokenizer_config.json", NULL,
	"{\"separate_vocabs\": true, \"model_max_length\": 0.5}", "\"model_max_length\""},
	{"marian-odd", "tokenizer_config.json", NULL,
	"{\"separate_vocabs\": true, \"model_max_length\": \"512\"}", "\"model_max_length\""},
	{"marian-odd", "tokenizer_config.json", NULL,
	"{\"separate_vocabs\": true, \"model_max_length\": 1000000000000000019884624838656}", NULL},
	{"marian-odd", "tokenizer_config.json", NULL, "{\"separate_vocabs\": \"true\"}", "\"separate_vocabs\""},
	/* config.json */
	{"marian-odd", "config.json", "\"scale_embedding\": false", "\"scale_embedding\": 0", "\"scale_embedding\""},
	{"marian-odd", "config.json", "\"max_position_embeddings\": 64", "\"max_position_embeddings\": 65536, \"d_model\": 1536",
	"position table"},
	{"bert-odd", "config.json", "\"hidden_size\": 120", "\"hidden_size\": 65535", "wrong shape"},
	{"bert-odd", "config.json", "\"vocab_size\": 30522", "\"vocab_size\": 1e400", "\"vocab_size\""},
	{"bert-odd", "config.json", "\"vocab_size\": 30522", "\"vocab_size\": -30522", "\"vocab_size\""},
	{"bert-odd", "config.json", "\"vocab_size\": 30522", "\"vocab_size\": 30522.5", "\"vocab_size\""},
	{"bert-odd", "config.json", "\"layer_norm_eps\": 1e-06", "\"layer_norm_eps\": NaN", "\"layer_norm_eps\""},
	{"bert-odd", "config.json", "\"layer_norm_eps\": 1e-06", "\"layer_norm_eps\": -1", "\"layer_norm_eps\""},
	{"bert-odd", "config.json", "\"hidden_act\": \"gelu_new\"", "\"hidden_act\": 5", "\"hidden_act\""},
	/* a NaN where no number is read is harmless: Python writes such files */
	{"bert-odd", "config.json", "\"initializer_range\": 0.02", "\"initializer_range\": NaN", NULL},
	/* tokenizer files */
	{"bert-odd", "tokenizer_config.json", "\"do_lower_case\": true", "\"do_lower_case\": \"yes\"", "\"do_lower_case\""},
	{"bert-odd", "tokenizer.json", "\"max_input_chars_per_word\": 100", "\"max_input_chars_per_word\": 1e300",
	"\"max_input_chars_per_word\""},
	{"bert-odd", "tokenizer.json", "\"lowercase\": true", "\"lowercase\": null", NULL},
	/* sentence-transformers modules */
	{"bert-odd", "modules.json", "\"path\": \"1_Pooling\"", "\"path\": \"../bert-odd/1_Pooling\"", "module path"},
	{"bert-odd", "modules.json", "\"path\": \"1_Pooling\"", "\"path\": \"/etc\"", "module path"},
	{"bert-odd", "modules.json", "\"path\": \"1_Pooling\"", "\"path\": [\"1_Pooling\"]", "\"path\""},
	{"bert-odd", "1_Pooling/config.json", "\"pooling_mode_cls_token\": true", "\"pooling_mode_cls_token\": 1",
	"\"pooling_mode_cls_token\""},
	{"bert-odd", "sentence_bert_config.json", "\"max_seq_length\": 256", "\"max_seq_length\": -Infinity",
	"\"max_seq_length\""},
};

/* Write `text` to path as a new file (the copy's file may share nothing
 * with the fixture's, but replace it anyway rather than write through). */
static bool
write_text(const char *path, const char *text)
{
	FILE	   *f;

	unlink(path);
	f = fopen(path, "w");
	if (f == NULL)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

/* In file dir/name, replace the first `from` by `to` (the whole file when
 * from is NULL); false when the file cannot be read or lacks `from`. */
static bool
patch_file(const char *dir, const char *name, const char *from, const char *to)
{
	char		path[4096];
	TfError		err;
	size_t		len;
	char	   *text;
	char	   *at;
	char	   *patched;
	bool		done;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (from == NULL)
		return write_text(path, to);
	text = tf_read_file(path, &len, &err);
	if (text == NULL || (at = strstr(text, from)) == NULL)
	{
		tf_free(text);
		return false;
	}
	patched = tf_alloc(len + strlen(to) + 1);
	memcpy(patched, text, at - text);
	strcpy(patched + (at - text), to);
	strcat(patched, at + strlen(from));
	done = write_text(path, patched);
	tf_free(patched);
	tf_free(text);
	return done;
}

/* Copy fixture_dir/c->fixture to work/<fixture>, alter it, load it. */
static void
check_case(const char *fixture_dir, const char *work, const Case *c)
{
	char		copy[2048];
	char		command[8192];
	TfArena		arena;
	TfError		err;
	bool		loaded;

	snprintf(copy, sizeof(copy), "%s/%s", work, c->fixture);
	snprintf(command, sizeof(command), "rm -rf '%s' && cp -r '%s/%s' '%s'", copy, fixture_dir, c->fixture, copy);
	if (system(command) != 0 || !patch_file(copy, c->file, c->from, c->to))
	{
		ok(false, "%s/%s: could not make the altered copy", c->fixture, c->file);
		return;
	}
	loaded = tf_model_load(copy, TF_PRECISION_EXACT, &arena, &err);
	if (loaded)
		tf_arena_free(&arena);
	if (c->expect == NULL)
	{
		if (!ok(loaded, "%s/%s with %s loads", c->fixture, c->file, c->to))
			diag("%s (%s)", err.message, err.detail);
	}
	else if (!ok(!loaded && strstr(err.message, c->expect) != NULL,
				 "%s/%s with %s is refused: %s", c->fixture, c->file, c->to, loaded ? "(loaded)" : err.message))
		diag("expected a message containing %s", c->expect);
}

/* Limit the address space to what the process has now plus `extra` bytes. */
static void
limit_address_space(size_t extra)
{
	unsigned long pages = 0;
	FILE	   *f = fopen("/proc/self/statm", "r");
	struct rlimit lim;

	if (f == NULL || fscanf(f, "%lu", &pages) != 1)
	{
		diag("no /proc/self/statm: running without an address-space limit");
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	lim.rlim_cur = lim.rlim_max = pages * (size_t) sysconf(_SC_PAGESIZE) + extra;
	if (setrlimit(RLIMIT_AS, &lim) != 0)
		diag("setrlimit failed: running without an address-space limit");
}

int
main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "test/fixtures";
	char		work[] = "/tmp/test_model.XXXXXX";
	char		command[1100];

	if (mkdtemp(work) == NULL)
	{
		printf("Bail out! cannot make a temporary directory\n");
		return 1;
	}
	limit_address_space((size_t) 3 << 30);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(fixtures, work, &cases[i]);
	snprintf(command, sizeof(command), "rm -rf '%s'", work);
	if (system(command) != 0)
		diag("could not remove %s", work);
	return done_testing();
}
