/*
 * fuzz_common.h: what the libFuzzer targets share: where their fixed inputs
 * are, reading them, and the checks every target makes of the core's
 * answers. Targets run from the repository root (test/fuzz/run does so).
 *
 *   FUZZ_TOKENIZERS  the real tokenizer files (default test/data/tokenizers)
 *   FUZZ_INPUTS      what make_inputs.py wrote (default test/fuzz/build)
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_runtime.h"

/* `name` under the directory that environment variable `env` names, or
 * under `fallback`; a static buffer. */
static inline const char *
fuzz_path(const char *env, const char *fallback, const char *name)
{
	static char path[4096];
	const char *dir = getenv(env);

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : fallback, name);
	return path;
}

#define FUZZ_TOKENIZER_FILE(name) fuzz_path("FUZZ_TOKENIZERS", "test/data/tokenizers", name)
#define FUZZ_INPUT_FILE(name) fuzz_path("FUZZ_INPUTS", "test/fuzz/build", name)

/* Stop the run with a message: a broken invariant is a finding, like a crash. */
#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz check failed: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, "\n"); \
			abort(); \
		} \
	} while (0)

/* A whole file, tf_alloc'd; the run stops when it cannot be read. */
static inline char *
fuzz_read(const char *path, size_t *len)
{
	TfError		err;
	char	   *data = tf_read_file(path, len, &err);

	if (data == NULL)
	{
		fprintf(stderr, "%s\n(run from the repository root after make_inputs.py; see test/fuzz/README.md)\n",
				err.message);
		exit(1);
	}
	return data;
}

/* A refusal must be one of the kinds a loader reports, with a message. */
static inline void
fuzz_check_error(const TfError *err)
{
	FUZZ_CHECK(err->code != TF_OK && err->message[0] != '\0', "a failure without an error (code %d)", err->code);
}

/* Is s[0..n) well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF)? */
static inline bool
fuzz_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *) s;

	for (size_t i = 0; i < n;)
	{
		unsigned	c = u[i];
		int			len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		unsigned	cp;

		if (len == 0 || i + len > n || (len == 2 && c < 0xC2))
			return false;
		cp = len == 1 ? c : c & (0x7F >> len);
		for (int k = 1; k < len; k++)
		{
			if ((u[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (u[i + k] & 0x3F);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
			(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += len;
	}
	return true;
}

#endif							/* FUZZ_COMMON_H */
