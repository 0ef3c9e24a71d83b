/*
 * fixture.h: reading the parity fixtures that test/reference/make_*_fixtures.py
 * write: a model directory with sentences.txt (one input per line) and
 * reference.txt (per input, lines "<key> <numbers...>" in a fixed order).
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tf_blas.h"
#include "tf_model.h"
#include "tf_runtime.h"

/* The lines of a file, '\n' removed; *n their count. NULL if unreadable. */
static inline char **
fixture_lines(const char *path, int *n)
{
	TfError		err;
	size_t		len;
	char	   *text = tf_read_file(path, &len, &err);
	char	  **lines;
	int			count = 0;

	if (text == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		count += text[i] == '\n';
	if (len > 0 && text[len - 1] != '\n')
		count++;
	lines = tf_alloc(sizeof(char *) * (count + 1));
	*n = 0;
	for (char *p = text; *n < count;)
	{
		char	   *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		lines[(*n)++] = p;
		p = nl ? nl + 1 : p + strlen(p);
	}
	return lines;
}

/* Parse "key v1 v2 ..." into doubles; returns the count (-1 when the key
 * differs). vals must hold max values. */
static inline int
fixture_numbers(const char *line, const char *key, double *vals, int max)
{
	size_t		k = strlen(key);
	const char *p = line + k;
	int			n = 0;

	if (strncmp(line, key, k) != 0 || (line[k] != ' ' && line[k] != '\0'))
		return -1;
	while (n < max)
	{
		char	   *end;
		double		v = strtod(p, &end);

		if (end == p)
			break;
		vals[n++] = v;
		p = end;
	}
	return n;
}

/* Load the model of fixture `dir` and read its sentences.txt and
 * reference.txt (per_sentence lines for each sentence), reporting both as
 * checks; false when anything is missing. */
static inline bool
fixture_open(const char *dir, int per_sentence, TfArena *arena, char ***sentences, int *n_sent,
			 char ***ref)
{
	char		path[1024];
	TfError		err;
	int			n_ref = 0;

	*n_sent = 0;
	if (!ok(tf_model_load(dir, TF_PRECISION_EXACT, arena, &err), "%s: loads", dir))
	{
		diag("%s (%s)", err.message, err.detail);
		return false;
	}
	snprintf(path, sizeof(path), "%s/sentences.txt", dir);
	*sentences = fixture_lines(path, n_sent);
	snprintf(path, sizeof(path), "%s/reference.txt", dir);
	*ref = fixture_lines(path, &n_ref);
	return ok(*sentences && *ref && n_ref == per_sentence * *n_sent,
			  "%s: %d sentences with references", dir, *n_sent);
}

/* A Marian fixture: fixture_open (three reference lines a sentence) and
 * translations.txt, one a sentence. The model, or NULL when anything is
 * missing. */
static inline const void *
fixture_open_marian(const char *dir, TfArena *arena, char ***sentences, int *n_sent, char ***ref,
					char ***texts)
{
	char		path[1024];
	int			n_texts = 0;

	if (!fixture_open(dir, 3, arena, sentences, n_sent, ref))
		return NULL;
	snprintf(path, sizeof(path), "%s/translations.txt", dir);
	*texts = fixture_lines(path, &n_texts);
	if (!ok(*texts && n_texts == *n_sent, "%s: %d reference translations", dir, n_texts))
		return NULL;
	return TF_AT(arena->base, ((TfImageHeader *) arena->base)->model, void);
}

/* The Marian fixtures: the opus-mt-en-de size and an odd shape. */
static const char *const fixture_marian_dirs[] = {"test/fixtures/marian-ende-size", "test/fixtures/marian-odd",
"test/fixtures/marian-nogen", "test/fixtures/marian-genpartial"};

#define FIXTURE_MARIAN_N ((int) (sizeof(fixture_marian_dirs) / sizeof(fixture_marian_dirs[0])))

/*
 * Beam outputs that may differ from the reference's. Float32 engines sum in
 * different orders, and on the random Marian fixtures (sharp random
 * attention) that noise grows to some 5e-3 in the scores of long outputs:
 * PyTorch's own float32 and float64 disagree as much there. So a sentence
 * whose beam output the reference decided by a score gap (margins.txt)
 * below FIXTURE_NEAR_TIE may flip; at most FIXTURE_MAX_FLIPS per fixture,
 * and every other sentence must match exactly.
 */
#define FIXTURE_NEAR_TIE 0.0075
#define FIXTURE_MAX_FLIPS 2

/* Whether sentence i of dir was decided by a beam gap below
 * FIXTURE_NEAR_TIE (margins.txt: a header, then "greedy G beam B" per
 * sentence). */
static inline bool
fixture_beam_near_tie(const char *dir, int i)
{
	char		path[1024];
	char	  **lines;
	int			n;
	double		gap;
	bool		near = false;

	snprintf(path, sizeof(path), "%s/margins.txt", dir);
	lines = fixture_lines(path, &n);
	if (lines == NULL)
		return false;
	if (i + 1 < n && sscanf(lines[i + 1], "greedy %*f beam %lf", &gap) == 1)
		near = gap < FIXTURE_NEAR_TIE;
	if (n > 0)
		tf_free(lines[0]);		/* the file's text, which the lines point into */
	tf_free(lines);
	return near;
}

/* dir/name read whole (reported as a check), or NULL. */
static inline char *
fixture_file(const char *dir, const char *name, size_t *len)
{
	char		path[1024];
	TfError		err;
	char	   *data;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	data = tf_read_file(path, len, &err);
	ok(data != NULL, "read %s", path);
	return data;
}

/* A fixture test's main: load OpenBLAS (one thread), then check each
 * directory named on the command line, or the defaults; TAP exit status. */
static inline int
fixture_main(int argc, char **argv, const char *const *defaults, int n_defaults,
			 void (*check) (const char *dir))
{
	TfError		err;

	if (!tf_blas_init(&err))
	{
		printf("Bail out! %s\n", err.message);
		return 1;
	}
	tf_blas_set_threads(1);
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			check(argv[i]);
	else
		for (int i = 0; i < n_defaults; i++)
			check(defaults[i]);
	return done_testing();
}

#endif							/* FIXTURE_H */
