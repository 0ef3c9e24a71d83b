/*
 * test_json.c: the JSON reader (tf_json.c) on good, damaged and hostile
 * input: exact values where the input is valid, a TF_ERR_FORMAT (never a
 * crash or an out-of-bounds read) where it is not.
 *
 *   test_json [FIXTURE_DIR]   default: test/fixtures/bert-odd
 */
#include <stdlib.h>

#include "fixture.h"
#include "tf_json.h"

/* Parse text; true when it parsed (err filled otherwise). */
static bool
parses(const char *text, TfError *err)
{
	TfJson	   *j = tf_json_parse(text, strlen(text), err);

	tf_json_free(j);
	return j != NULL;
}

/* The number of a one-value document (NaN when it does not parse). */
static double
number_of(const char *text)
{
	TfError		err;
	TfJson	   *j = tf_json_parse(text, strlen(text), &err);
	double		d = j && j->type == TF_JSON_NUMBER ? j->number : NAN;

	tf_json_free(j);
	return d;
}

/* NaN, Infinity and overflowing numbers parse (Python writes them) and
 * tf_json_int_value, which every size and index goes through, refuses them. */
static void
check_non_finite(void)
{
	static const char *const not_int[] = {
		"NaN", "Infinity", "-Infinity", "1e400", "-1e400", "0.5", "-1e-300", "9223372036854775808",
		"-1e19", "1e19", NULL
	};
	char		digits[200];
	TfError		err;
	TfJson	   *j;
	int64_t		v = 0;
	int			refused = 0;

	ok(isnan(number_of("NaN")) && number_of("Infinity") == INFINITY && number_of("-Infinity") == -INFINITY,
	   "NaN, Infinity and -Infinity parse, as Python's json writes them");
	ok(number_of("1e400") == INFINITY && number_of("-1e400") == -INFINITY && number_of("1e-400") == 0,
	   "numbers beyond the double range become +-Infinity (and 0), as in Python");
	memset(digits, '7', sizeof(digits) - 1);
	digits[sizeof(digits) - 1] = '\0';
	ok(number_of(digits) > 7e198 && number_of(digits) < 8e198,
	   "a 199-digit number parses (no fixed-size buffer limit)");
	for (int i = 0; not_int[i] != NULL; i++)
	{
		j = tf_json_parse(not_int[i], strlen(not_int[i]), &err);
		if (j != NULL && !tf_json_int_value(j, INT64_MIN, INT64_MAX, &v))
			refused++;
		else
			diag("taken as an integer: %s", not_int[i]);
		tf_json_free(j);
	}
	ok(refused == 10, "non-finite, fractional and out-of-int64 numbers are not integers (%d/10)", refused);
	j = tf_json_parse("[-9223372036854775808, 4, -0]", 29, &err);
	ok(j && tf_json_int_value(&j->children[0], INT64_MIN, 0, &v) && v == INT64_MIN &&
	   tf_json_int_value(&j->children[1], 4, 4, &v) && v == 4 && !tf_json_int_value(&j->children[1], 0, 3, &v) &&
	   tf_json_int_value(&j->children[2], 0, 0, &v) && v == 0,
	   "integers are range-checked, -2^63 and -0 included");
	tf_json_free(j);
}

static void
check_json(void)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\" 1}", "{\"a\":}", "tru", "\"unterminated", "\"bad \\x escape\"",
		"\"\\u12\"", "[1] 2", "{\"a\":1,}", "01x", "\"ctl \x01\"", "nul", "[\"\\ud800\\u",
		/* numbers outside RFC 8259's grammar, which strtod alone would take */
		"01", "+1", ".5", "1.", "1e", "1e+", "-", "--1", "- 1", "1.e5", "-Inf", "nan", "inf", NULL
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
	ok(rejected == 28, "28 malformed documents rejected with TF_ERR_FORMAT (%d)", rejected);

	check_non_finite();

	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	ok(!parses(deep, &err) && strstr(err.message, "too deep") != NULL, "399 nested arrays are refused, not a stack overflow");
}

/* Every truncation of a real tokenizer.json is refused cleanly. */
static void
check_truncated(const char *dir)
{
	TfError		err;
	size_t		len;
	char	   *json = fixture_file(dir, "tokenizer.json", &len);
	int			refused = 0,
				tried = 0;

	if (json == NULL)
		return;
	for (size_t cut = 0; cut < len; cut += 1 + len / 300)
	{
		TfJson	   *j = tf_json_parse(json, cut, &err);

		tried++;
		refused += j == NULL && err.code == TF_ERR_FORMAT;
		tf_json_free(j);
	}
	ok(refused == tried, "every truncation of tokenizer.json is refused (%d/%d)", refused, tried);

	tf_free(json);
}

static void
check_all(const char *dir)
{
	check_json();
	check_truncated(dir);
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = {"test/fixtures/bert-odd"};

	return fixture_main(argc, argv, defaults, 1, check_all);
}
