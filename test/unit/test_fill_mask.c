/*
 * test_fill_mask.c: the C fill-mask (masked-LM head, top-k, filled-in text)
 * against the PyTorch reference (test/reference/fill_mask.py, from Hugging
 * Face's fill-mask pipeline) on the fixtures with a head.
 *
 *   test_fill_mask [FIXTURE_DIR...]
 *        default: test/fixtures/bert-{odd,untied,embed-en}
 *
 * For each input of the fixture's fill_mask.txt: token ids and [MASK]
 * positions identical; the 10 predictions of each [MASK] the same tokens in
 * the same order (two whose reference probabilities lie within the
 * tolerance may trade places) with probabilities within 1e-5 (and 1e-4
 * relative, as a random head's are all small); the token
 * strings and filled-in texts identical. Then the errors: a model without
 * the head (bert-minilm), top_k out of range.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "tap.h"
#include "tf_fill_mask.h"

#define TOLERANCE 1e-5
#define REL_TOLERANCE 1e-4		/* random heads spread probability thin: also relative */
#define TOP_K 10

/* One reference prediction: "pred\t<id>\t<score>\t<token>\t<sequence>". */
typedef struct RefPred
{
	int32_t		id;
	double		score;
	const char *token;
	const char *sequence;
} RefPred;

/* Split a "pred" line in place; false when malformed. */
static bool
parse_pred(char *line, RefPred *p)
{
	char	   *f[5];

	for (int i = 0; i < 5; i++)
	{
		f[i] = line;
		line = strchr(line, '\t');
		if (line == NULL && i < 4)
			return false;
		if (line != NULL)
			*line++ = '\0';
	}
	p->id = (int32_t) strtol(f[1], NULL, 10);
	p->score = strtod(f[2], NULL);
	p->token = f[3];
	p->sequence = f[4];
	return strcmp(f[0], "pred") == 0;
}

/* Index in ref[TOP_K] of the prediction of token id whose reference
 * probability is within TOLERANCE of ref[rank]'s (rank itself first), or -1. */
static int
matching_rank(const RefPred *ref, int rank, int32_t id)
{
	if (ref[rank].id == id)
		return rank;
	for (int r = 0; r < TOP_K; r++)
		if (ref[r].id == id && fabs(ref[r].score - ref[rank].score) <= TOLERANCE)
			return r;
	return -1;
}

/* Compare one input's predictions with its reference lines from *line on;
 * advances *line past them. Returns the count of mismatches (diagnosed). */
static int
check_input(const TfArena *arena, const TfBertModel *m, char **lines, int n_lines, int *line,
			double *worst, double *worst_rel, int *n_masks_seen)
{
	const char *text = lines[*line] + 5;
	int32_t    *ids = calloc(m->max_tokens, sizeof(int32_t));
	int			n_ids = parse_ids(lines[*line + 1] + 4, ids, m->max_tokens);
	int			bad = 0;
	int			mask = 0;
	TfFillMask	r;
	TfError		err;

	*line += 2;
	if (!tf_fill_mask(arena->base, m, text, strlen(text), TOP_K, &r, &err))
	{
		diag("\"%s\": %s", text, err.message);
		free(ids);
		return 1;
	}
	if (r.n_tokens != n_ids || memcmp(r.ids, ids, sizeof(int32_t) * n_ids) != 0)
	{
		diag("\"%s\": token ids differ", text);
		diag_ids("got", r.ids, r.n_tokens);
		diag_ids("expected", ids, n_ids);
		bad++;
	}
	for (; *line < n_lines && strncmp(lines[*line], "mask ", 5) == 0; mask++)
	{
		RefPred		ref[TOP_K];
		int			position = atoi(lines[*line] + 5);

		for (int k = 0; k < TOP_K; k++)
			if (*line + 1 + k >= n_lines || !parse_pred(lines[*line + 1 + k], &ref[k]))
			{
				diag("\"%s\": bad reference lines", text);
				free(ids);
				tf_fill_mask_free(&r);
				return bad + 1;
			}
		*line += 1 + TOP_K;
		if (mask >= r.n_masks || r.positions[mask] != position)
		{
			diag("\"%s\": mask %d not found at token %d", text, mask, position);
			bad++;
			continue;
		}
		for (int k = 0; k < TOP_K; k++)
		{
			int32_t		id = r.token_ids[mask * r.top_k + k];
			int			at = matching_rank(ref, k, id);
			double		d = fabs(r.scores[mask * r.top_k + k] - ref[k].score);
			size_t		len;
			char	   *token,
					   *sequence;

			*worst = d > *worst ? d : *worst;
			*worst_rel = d / ref[k].score > *worst_rel ? d / ref[k].score : *worst_rel;
			if (at < 0)
			{
				diag("\"%s\" mask %d rank %d: token %d, expected %d", text, mask, k, id, ref[k].id);
				bad++;
				continue;
			}
			token = tf_wordpiece_decode(arena->base, &m->tokenizer, &id, 1, false, &len);
			sequence = tf_fill_mask_sequence(arena->base, m, &r, mask, k, &len);
			if (strcmp(token, ref[at].token) != 0 || strcmp(sequence, ref[at].sequence) != 0)
			{
				diag("\"%s\" mask %d rank %d: \"%s\" / \"%s\", expected \"%s\" / \"%s\"",
					 text, mask, k, token, sequence, ref[at].token, ref[at].sequence);
				bad++;
			}
			tf_free(token);
			tf_free(sequence);
		}
	}
	if (mask != r.n_masks)
	{
		diag("\"%s\": %d masks, expected %d", text, r.n_masks, mask);
		bad++;
	}
	*n_masks_seen += mask;
	tf_fill_mask_free(&r);
	free(ids);
	return bad;
}

static void
check_fixture(const char *dir)
{
	TfArena		arena;
	TfError		err;
	char		path[1024];
	char	  **lines;
	int			n_lines = 0,
				n_inputs = 0,
				n_masks = 0,
				bad = 0;
	double		worst = 0,
				worst_rel = 0;
	const TfBertModel *m;
	TfFillMask	r;

	if (!ok(tf_model_load(dir, TF_PRECISION_EXACT, &arena, &err), "%s: loads", dir))
	{
		diag("%s (%s)", err.message, err.detail);
		return;
	}
	m = TF_AT(arena.base, ((TfImageHeader *) arena.base)->model, TfBertModel);
	ok(m->mlm.present, "%s: has a masked-LM head", dir);
	snprintf(path, sizeof(path), "%s/fill_mask.txt", dir);
	lines = fixture_lines(path, &n_lines);
	if (!ok(lines != NULL && n_lines > 0, "read %s", path))
		return;
	for (int line = 0; line < n_lines;)
	{
		if (strncmp(lines[line], "text ", 5) != 0 || line + 1 >= n_lines)
		{
			diag("%s line %d: expected \"text ...\"", path, line + 1);
			bad++;
			break;
		}
		bad += check_input(&arena, m, lines, n_lines, &line, &worst, &worst_rel, &n_masks);
		n_inputs++;
	}
	ok(bad == 0 && n_inputs >= 10, "%s: %d inputs, %d masks: tokens, order, strings and texts as the reference",
	   dir, n_inputs, n_masks);
	ok(worst <= TOLERANCE && worst_rel <= REL_TOLERANCE,
	   "%s: probabilities within %g and %g relative of the reference (max abs diff %.3g, relative %.3g)",
	   dir, TOLERANCE, REL_TOLERANCE, worst, worst_rel);

	ok(tf_fill_mask(arena.base, m, "no mask here", 12, 5, &r, &err) && r.n_masks == 0,
	   "%s: a text without [MASK] gives no masks", dir);
	tf_fill_mask_free(&r);
	ok(!tf_fill_mask(arena.base, m, "[MASK]", 6, 0, &r, &err) && err.code == TF_ERR_INPUT,
	   "%s: top_k 0 is refused: %s", dir, err.message);
	ok(!tf_fill_mask(arena.base, m, "[MASK]", 6, TF_FILL_MASK_MAX_TOP_K + 1, &r, &err) &&
	   err.code == TF_ERR_INPUT, "%s: top_k %d is refused", dir, TF_FILL_MASK_MAX_TOP_K + 1);
	ok(tf_fill_mask(arena.base, m, "[MASK]", 6, TF_FILL_MASK_MAX_TOP_K, &r, &err) &&
	   r.n_masks == 1 && r.top_k == TF_FILL_MASK_MAX_TOP_K &&
	   r.scores[0] >= r.scores[TF_FILL_MASK_MAX_TOP_K - 1],
	   "%s: top_k %d gives that many, best first", dir, TF_FILL_MASK_MAX_TOP_K);
	tf_fill_mask_free(&r);
	tf_arena_free(&arena);
}

/* A checkpoint without the head loads (it embeds) but cannot fill masks. */
static void
check_headless(void)
{
	TfArena		arena;
	TfError		err;
	TfFillMask	r;
	const TfBertModel *m;

	if (!ok(tf_model_load("test/fixtures/bert-minilm", TF_PRECISION_EXACT, &arena, &err), "bert-minilm (no head) loads"))
		return;
	m = TF_AT(arena.base, ((TfImageHeader *) arena.base)->model, TfBertModel);
	ok(!m->mlm.present && strcmp(m->mlm.missing, "cls.predictions.transform.dense.weight") == 0,
	   "bert-minilm: no head, the first missing tensor named (%s)", m->mlm.missing);
	ok(!tf_fill_mask(arena.base, m, "a [MASK].", 9, 5, &r, &err) && err.code == TF_ERR_UNSUPPORTED &&
	   strstr(err.detail, "cls.predictions.transform.dense.weight") != NULL,
	   "bert-minilm: fill-mask errors naming the missing tensor: %s %s", err.message, err.detail);
	tf_arena_free(&arena);
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = {
		"test/fixtures/bert-odd", "test/fixtures/bert-untied", "test/fixtures/bert-embed-en"
	};

	if (argc == 1)
		check_headless();
	return fixture_main(argc, argv, defaults, sizeof(defaults) / sizeof(defaults[0]), check_fixture);
}
