/*
 * test_loaders.c: the JSON and safetensors readers on good, damaged and
 * hostile input: exact values where the input is valid, a TF_ERR_FORMAT
 * (never a crash or an out-of-bounds read) where it is not.
 *
 *   test_loaders [FIXTURE_DIR]   default: test/fixtures/bert-odd
 */
#include <stdlib.h>

#include "fixture.h"
#include "tf_json.h"
#include "tf_safetensors.h"

/* Parse text; true when it parsed (err filled otherwise). */
static bool
parses(const char *text, TfError *err)
{
	TfJson	   *j = tf_json_parse(text, strlen(text), err);

	tf_json_free(j);
	return j != NULL;
}

static void
check_json(void)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\" 1}", "{\"a\":}", "tru", "\"unterminated", "\"bad \\x escape\"",
		"\"\\u12\"", "[1] 2", "{\"a\":1,}", "01x", "\"ctl \x01\"", "nul", "[\"\\ud800\\u", NULL
	};
	TfError		err;
	const char *doc = "{\"n\": -1.5e3, \"s\": \"a\\u00e9\\ud83d\\ude00\\n\", \"b\": true, "
		"\"z\": null, \"a\": [1, [2, {}], \"x\"], \"s\": \"dup\"}";
	TfJson	   *j = tf_json_parse(doc, strlen(doc), &err);
	char		deep[400];
	int			rejected = 0;

	ok(j != NULL, "a valid document parses");
	ok(tf_json_number(j, "n", 0, NULL) == -1500.0, "numbers");
	ok(strcmp(tf_json_string(j, "s", "", NULL), "dup") == 0, "the last duplicate key wins");
	ok(tf_json_bool(j, "b", false, NULL) && tf_json_get(j, "z")->type == TF_JSON_NULL, "booleans and null");
	ok(tf_json_get(j, "a")->count == 3 && tf_json_get(j, "a")->children[1].children[1].type == TF_JSON_OBJECT,
	   "nested arrays and objects");
	tf_json_free(j);
	j = tf_json_parse("\"a\\u00e9\\ud83d\\ude00\"", 21, &err);
	ok(j && strcmp(j->string, "a\xc3\xa9\xf0\x9f\x98\x80") == 0, "\\u escapes and surrogate pairs become UTF-8");
	tf_json_free(j);

	for (int i = 0; bad[i] != NULL; i++)
		if (!parses(bad[i], &err) && err.code == TF_ERR_FORMAT)
			rejected++;
		else
			diag("accepted invalid JSON: %s", bad[i]);
	ok(rejected == 15, "15 malformed documents rejected with TF_ERR_FORMAT (%d)", rejected);

	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	ok(!parses(deep, &err) && strstr(err.message, "too deep") != NULL, "399 nested arrays are refused, not a stack overflow");
}

/* Truncate or flip bytes of a real tokenizer.json / safetensors file and
 * make sure every variant is either accepted or refused cleanly. */
static void
check_damaged(const char *dir)
{
	char		path[1024];
	TfError		err;
	size_t		len;
	char	   *json;
	uint8_t    *st;
	int			refused = 0,
				tried = 0;
	TfSafeTensors parsed;

	snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
	json = tf_read_file(path, &len, &err);
	if (!ok(json != NULL, "read %s", path))
		return;
	for (size_t cut = 0; cut < len; cut += 1 + len / 300)
	{
		TfJson	   *j = tf_json_parse(json, cut, &err);

		tried++;
		refused += j == NULL && err.code == TF_ERR_FORMAT;
		tf_json_free(j);
	}
	ok(refused == tried, "every truncation of tokenizer.json is refused (%d/%d)", refused, tried);

	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	st = (uint8_t *) tf_read_file(path, &len, &err);
	if (!ok(st != NULL, "read %s", path))
		return;
	ok(tf_safetensors_open(st, len, "model.safetensors", &parsed, &err), "the intact file opens");
	tf_safetensors_close(&parsed);
	refused = tried = 0;
	for (size_t cut = 0; cut < len; cut += 1 + len / 200)
	{
		tried++;
		if (!tf_safetensors_open(st, cut, "model.safetensors", &parsed, &err) && err.code == TF_ERR_FORMAT)
			refused++;
		tf_safetensors_close(&parsed);
	}
	ok(refused == tried, "every truncation of model.safetensors is refused (%d/%d)", refused, tried);

	/* random byte flips in the header: accepted or refused, never a crash */
	srand(7);
	tried = 0;
	for (int round = 0; round < 2000; round++)
	{
		uint8_t    *copy = malloc(len);
		size_t		header = 8 + (st[0] | st[1] << 8 | st[2] << 16);
		bool		opened;

		memcpy(copy, st, len);
		for (int k = 0; k < 1 + rand() % 4; k++)
			copy[rand() % header] ^= (uint8_t) (1 << (rand() % 8));
		opened = tf_safetensors_open(copy, len, "model.safetensors", &parsed, &err);
		if (opened)
		{
			/* whatever was accepted must be readable within bounds */
			for (int32_t t = 0; t < parsed.count; t++)
				if (parsed.tensors[t].dtype != TF_DTYPE_OTHER && parsed.tensors[t].end <= parsed.data_len)
					tried += parsed.tensors[t].end >= parsed.tensors[t].begin;
			tf_safetensors_close(&parsed);
		}
		free(copy);
	}
	ok(true, "2000 randomly damaged headers handled without a crash");
	tf_free(json);
	tf_free(st);
}

static void
check_all(const char *dir)
{
	check_json();
	check_damaged(dir);
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = {"test/fixtures/bert-odd"};

	return fixture_main(argc, argv, defaults, 1, check_all);
}
