/*
 * test_generation_config.c: where a Marian checkpoint's decoding defaults
 * come from (tf_generation_config.h), worked out by hand from transformers
 * v4.57 for each rule: a config.json alone (MarianConfig's and
 * PretrainedConfig's defaults for what it omits, null meaning None), a
 * generation_config.json that omits keys (GenerationConfig's defaults,
 * config.json ignored), generate()'s length rules, and the values refused.
 * The same rules decide the marian-nogen and marian-genpartial fixtures,
 * whose translations test_marian compares with the PyTorch reference.
 *
 *   test_generation_config      (writes scratch directories under /tmp)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "tf_generation_config.h"

/* A scratch model directory holding at most a generation_config.json. */
static char dir_path[64];

/* The outcome of loading one configuration pair. */
typedef struct Loaded
{
	bool		ok;
	TfError		err;
	TfMarianModel m;
	int32_t		banned[8];		/* the first n_banned banned ids */
} Loaded;

/* Load generation defaults for config.json text `config` and, unless NULL,
 * generation_config.json text `gen`, a vocabulary of `vocab` ids and
 * `max_positions` decoder positions. */
static Loaded
load(const char *config, const char *gen, int32_t vocab, int32_t max_positions)
{
	Loaded		r;
	TfArena		arena;
	TfModelDir	dir;
	char		path[128];

	memset(&r, 0, sizeof(r));
	memset(&dir, 0, sizeof(dir));
	snprintf(path, sizeof(path), "%s/generation_config.json", dir_path);
	unlink(path);
	if (gen != NULL)
	{
		FILE	   *f = fopen(path, "w");

		fputs(gen, f);
		fclose(f);
	}
	tf_arena_init(&arena, 4096);
	dir.path = dir_path;
	dir.arena = &arena;
	dir.err = &r.err;
	dir.config = tf_json_parse(config, strlen(config), &r.err);
	r.m.src_vocab = r.m.tgt_vocab = vocab;
	r.m.max_positions = max_positions;
	r.ok = dir.config != NULL && tf_generation_config_load(&dir, &r.m);
	for (int i = 0; r.ok && i < r.m.n_banned && i < 8; i++)
		r.banned[i] = TF_ARENA_AT(&arena, r.m.banned, int32_t)[i];
	tf_json_free(dir.config);
	tf_arena_free(&arena);
	return r;
}

/* Loading fails with `code` and a message containing `words`. */
static void
refused(const char *config, const char *gen, TfStatus code, const char *words, const char *what)
{
	Loaded		r = load(config, gen, 100, 512);

	if (!ok(!r.ok && r.err.code == code && strstr(r.err.message, words) != NULL, "refused: %s", what))
		diag("ok %d, code %d, message \"%s\"", r.ok, r.err.code, r.err.message);
}

/* A config.json alone: MarianConfig's defaults fill what it omits. */
static void
check_model_config(void)
{
	Loaded		r = load("{}", NULL, 58101, 512);

	ok(r.ok && r.m.generation_eos_id == 0 && r.m.forced_eos_id == 0 && r.m.decoder_start_id == 58100,
	   "config.json without token ids: eos 0, forced eos 0, decoder start 58100 (MarianConfig)");
	ok(r.ok && r.m.generation.num_beams == 1 && r.m.generation.max_length == 21 &&
	   r.m.generation.min_length == 0 && r.m.generation.length_penalty == 1.0f &&
	   r.m.generation.early_stopping == TF_STOP_HEURISTIC && !r.m.generation.renormalize && r.m.n_banned == 0,
	   "and PretrainedConfig's: 1 beam, max_length 20 -> 21, min_length 0, penalty 1, no bad words");
	r = load("{\"forced_eos_token_id\": null, \"decoder_start_token_id\": 5, \"num_beams\": 4, "
			 "\"max_length\": 512, \"bad_words_ids\": [[7]]}", NULL, 100, 512);
	ok(r.ok && r.m.forced_eos_id == -1 && r.m.decoder_start_id == 5 && r.m.generation.num_beams == 4 &&
	   r.m.generation.max_length == 512 && r.m.n_banned == 1 && r.banned[0] == 7,
	   "config.json's null forced_eos_token_id forces nothing; its other keys apply");
	r = load("{\"decoder_start_token_id\": null, \"bos_token_id\": 3}", NULL, 100, 512);
	ok(r.ok && r.m.decoder_start_id == 3, "a null decoder_start_token_id falls back to bos_token_id");
	refused("{}", NULL, TF_ERR_FORMAT, "decoder_start_token_id",
			"no decoder_start_token_id with a vocabulary smaller than MarianConfig's default 58100");
}

/* A generation_config.json: GenerationConfig's defaults, config.json ignored. */
static void
check_generation_config(void)
{
	const char *config = "{\"forced_eos_token_id\": 0, \"max_length\": 40, \"num_beams\": 5, "
		"\"length_penalty\": 2.0, \"decoder_start_token_id\": 9}";
	Loaded		r = load(config, "{\"decoder_start_token_id\": 2, \"eos_token_id\": 0}", 100, 512);

	ok(r.ok && r.m.forced_eos_id == -1 && r.m.generation.max_length == 21 && r.m.generation.num_beams == 1 &&
	   r.m.generation.length_penalty == 1.0f && r.m.decoder_start_id == 2 && r.m.generation_eos_id == 0,
	   "omitted keys take GenerationConfig's defaults, not config.json's");
	r = load(config, "{\"bos_token_id\": 4}", 100, 512);
	ok(r.ok && r.m.generation_eos_id == -1 && r.m.decoder_start_id == 4,
	   "no eos_token_id: no eos; no decoder_start_token_id: bos_token_id");
	refused(config, "{\"eos_token_id\": 0}", TF_ERR_FORMAT, "neither", "neither a decoder start nor a bos");
	r = load(config, "{\"bos_token_id\": 4, \"eos_token_id\": [0], \"bad_words_ids\": [[0], [2]]}", 100, 512);
	ok(r.ok && r.m.generation_eos_id == 0 && r.m.n_banned == 1 && r.banned[0] == 2,
	   "eos as a list of one; a bad word equal to eos is left out");
	r = load(config, "{\"bos_token_id\": 4, \"early_stopping\": \"never\", \"renormalize_logits\": true, "
			 "\"min_length\": 3, \"length_penalty\": -0.5}", 100, 512);
	ok(r.ok && r.m.generation.early_stopping == TF_STOP_NEVER && r.m.generation.renormalize &&
	   r.m.generation.min_length == 3 && r.m.generation.length_penalty == -0.5f,
	   "early_stopping \"never\", renormalize_logits, min_length, a negative length_penalty");
}

/* generate()'s length rules when the caller passes no max_length. */
static void
check_lengths(void)
{
	const char *gen_fmt = "{\"bos_token_id\": 4, %s}";
	static const struct
	{
		const char *keys;
		int32_t		max_positions;
		int32_t		expected;
	}			cases[] = {
		{"\"max_length\": 20", 512, 21},
		{"\"max_length\": 20", 16, 16},
		{"\"max_length\": 30", 16, 30},
		{"\"max_length\": 19", 512, 19},
		{"\"max_new_tokens\": 5, \"max_length\": 40", 512, 6},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		gen[128];
		Loaded		r;

		snprintf(gen, sizeof(gen), gen_fmt, cases[i].keys);
		r = load("{}", gen, 100, cases[i].max_positions);
		ok(r.ok && r.m.generation.max_length == cases[i].expected, "%s, %d positions: max_length %d (got %d)",
		   cases[i].keys, cases[i].max_positions, cases[i].expected, r.m.generation.max_length);
	}
}

/* Values refused, from either file. */
static void
check_refused(void)
{
	static const struct
	{
		const char *gen;		/* generation_config.json; NULL: the keys go in config.json */
		const char *config;
		TfStatus	code;
		const char *words;		/* in the message */
		const char *what;
	}			cases[] = {
		{"\"eos_token_id\": 100", NULL, TF_ERR_FORMAT, "eos_token_id", "an eos id outside the vocabulary"},
		{"\"forced_eos_token_id\": 1.5", NULL, TF_ERR_FORMAT, "forced_eos_token_id", "a fractional forced eos id"},
		{"\"eos_token_id\": -1e300", NULL, TF_ERR_FORMAT, "eos_token_id", "a huge negative eos id"},
		{"\"num_beams\": 0", NULL, TF_ERR_FORMAT, "num_beams", "num_beams 0"},
		{"\"num_beams\": 1e10", NULL, TF_ERR_FORMAT, "num_beams", "num_beams 1e10"},
		{"\"max_length\": -3", NULL, TF_ERR_FORMAT, "max_length", "max_length -3"},
		{"\"max_new_tokens\": 0", NULL, TF_ERR_FORMAT, "max_new_tokens", "max_new_tokens 0"},
		{"\"length_penalty\": 1e400", NULL, TF_ERR_FORMAT, "length_penalty", "an infinite length_penalty"},
		{"\"length_penalty\": \"1\"", NULL, TF_ERR_FORMAT, "length_penalty", "a length_penalty string"},
		{"\"early_stopping\": \"sometimes\"", NULL, TF_ERR_FORMAT, "early_stopping", "early_stopping \"sometimes\""},
		{"\"renormalize_logits\": 1", NULL, TF_ERR_FORMAT, "renormalize_logits", "renormalize_logits 1"},
		{"\"bad_words_ids\": [[-1]]", NULL, TF_ERR_FORMAT, "bad_words_ids", "a negative bad word"},
		{"\"bad_words_ids\": [[1, 2]]", NULL, TF_ERR_UNSUPPORTED, "bad_words_ids", "a bad word of two tokens"},
		{"\"bad_words_ids\": 3", NULL, TF_ERR_FORMAT, "bad_words_ids", "bad_words_ids not a list"},
		{"\"do_sample\": true", NULL, TF_ERR_UNSUPPORTED, "do_sample", "sampling"},
		{"\"forced_bos_token_id\": 3", NULL, TF_ERR_UNSUPPORTED, "forced_bos_token_id", "forced_bos_token_id"},
		{NULL, "{\"decoder_start_token_id\": 2, \"no_repeat_ngram_size\": 3}", TF_ERR_UNSUPPORTED,
		"no_repeat_ngram_size", "no_repeat_ngram_size in config.json"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		gen[160];

		snprintf(gen, sizeof(gen), "{\"bos_token_id\": 4, %s}", cases[i].gen ? cases[i].gen : "");
		refused(cases[i].gen ? "{\"decoder_start_token_id\": 2}" : cases[i].config, cases[i].gen ? gen : NULL,
				cases[i].code, cases[i].words, cases[i].what);
	}
	{
		Loaded		r = load("{}", "{\"bos_token_id\": 4, \"do_sample\": false, \"repetition_penalty\": 1.0, "
							 "\"top_k\": 50, \"forced_bos_token_id\": null}", 100, 512);

		ok(r.ok, "inert values of options we do not implement are accepted");
	}
}

int
main(void)
{
	snprintf(dir_path, sizeof(dir_path), "/tmp/test_generation_config.%d", (int) getpid());
	if (mkdir(dir_path, 0700) != 0)
	{
		perror(dir_path);
		return 1;
	}
	check_model_config();
	check_generation_config();
	check_lengths();
	check_refused();
	{
		char		path[128];

		snprintf(path, sizeof(path), "%s/generation_config.json", dir_path);
		unlink(path);
		rmdir(dir_path);
	}
	return done_testing();
}
