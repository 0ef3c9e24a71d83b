/*
 * test_checkpoint.c: reading a checkpoint directory (tf_checkpoint.c):
 * optional and required files, JSON that does not parse, integer config
 * values against their range, and vocabulary objects laid out by id.
 *
 *   test_checkpoint
 */
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "tf_checkpoint.h"

/* Write `text` to dir/name. */
static void
write_file(const char *dir, const char *name, const char *text)
{
	char		path[1024];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Does tf_dir_vocab accept the JSON `text`? On success first[] holds the
 * token of id 0. */
static bool
vocab_of(TfModelDir *dir, const char *text, char first[16])
{
	TfJson	   *json = tf_json_parse(text, strlen(text), dir->err);
	const char **tokens = NULL;
	uint32_t   *lens = NULL;
	bool		ok = json != NULL && tf_dir_vocab(dir, "vocab.json", json, &tokens, &lens);

	if (ok)
		snprintf(first, 16, "%.*s", (int) lens[0], tokens[0]);
	tf_free(tokens);
	tf_free(lens);
	tf_json_free(json);
	return ok;
}

/* Remove dir/name. */
static void
remove_file(const char *dir, const char *name)
{
	char		path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

int
main(void)
{
	char		root[] = "/tmp/test_checkpoint.XXXXXX";
	TfError		err;
	TfModelDir	dir = {.err = &err};
	TfJson	   *config;
	size_t		len;
	int32_t		v = 0;
	char		first[16];

	if (mkdtemp(root) == NULL)
	{
		printf("Bail out! no temporary directory\n");
		return 1;
	}
	dir.path = root;
	write_file(root, "config.json", "{\"hidden_size\": 64, \"layers\": 2.5, \"heads\": -1, \"name\": \"x\"}");
	write_file(root, "broken.json", "{\"a\": ");

	err.code = TF_OK;
	ok(tf_dir_read(&dir, "absent.json", false, &len) == NULL && err.code == TF_OK,
	   "an optional file that is absent: NULL, no error");
	ok(tf_dir_read(&dir, "absent.json", true, &len) == NULL && err.code == TF_ERR_IO,
	   "a required file that is absent: TF_ERR_IO");
	err.code = TF_OK;
	ok(tf_dir_json(&dir, "broken.json", true) == NULL && err.code == TF_ERR_FORMAT &&
	   strstr(err.message, "could not parse") != NULL && strstr(err.message, "broken.json") != NULL,
	   "JSON that does not parse names its file: %s", err.message);

	err.code = TF_OK;
	config = tf_dir_json(&dir, "config.json", true);
	ok(config != NULL, "config.json parses");
	ok(tf_config_int(&dir, config, "hidden_size", -1, 1, 1 << 16, &v) && v == 64, "an integer in range");
	ok(tf_config_int(&dir, config, "absent", 12, 1, 100, &v) && v == 12, "an absent key takes the fallback");
	ok(!tf_config_int(&dir, config, "absent", -1, 1, 100, &v) && strstr(err.message, "missing") != NULL,
	   "a fallback outside the range makes the key required: %s", err.message);
	ok(!tf_config_int(&dir, config, "layers", 1, 1, 100, &v) && err.code == TF_ERR_FORMAT,
	   "a fractional value is refused: %s", err.message);
	ok(!tf_config_int(&dir, config, "heads", 1, 1, 100, &v), "a value below the range is refused");
	ok(!tf_config_int(&dir, config, "name", 1, 1, 100, &v), "a string is refused");
	tf_json_free(config);

	ok(vocab_of(&dir, "{\"b\": 1, \"a\": 0, \"c\": 2}", first) && strcmp(first, "a") == 0,
	   "a vocabulary object is laid out by id");
	ok(!vocab_of(&dir, "{\"a\": 0, \"b\": 0}", first) && strstr(err.detail, "each used once") != NULL,
	   "an id used twice is refused: %s", err.detail);
	ok(!vocab_of(&dir, "{\"a\": 0, \"b\": 2}", first), "an id beyond the count is refused");
	ok(!vocab_of(&dir, "{\"a\": 0.5}", first), "a fractional id is refused");
	ok(!vocab_of(&dir, "{\"a\": \"0\"}", first), "a string id is refused");
	ok(!vocab_of(&dir, "[\"a\"]", first) && strstr(err.message, "not a vocabulary object") != NULL,
	   "an array is not a vocabulary: %s", err.message);
	ok(!vocab_of(&dir, "{}", first), "an empty object is not a vocabulary");

	remove_file(root, "config.json");
	remove_file(root, "broken.json");
	rmdir(root);
	return done_testing();
}
