/*
 * test_wordpiece.c: the WordPiece tokenizer against Hugging Face.
 *
 *   test_wordpiece [VOCAB_TXT [DATA_DIR]]
 *
 * VOCAB_TXT is bert-base-uncased's vocab.txt (by default the real one under
 * test/data/tokenizers, run from the repository root: data_paths.h);
 * DATA_DIR (test/data) holds wordpiece_corpus.txt and wordpiece_peer_ids.txt
 * (test/data), written by test/tokenizers/make_corpus.py and
 * peer_wordpiece.mjs (Hugging Face's JavaScript tokenizer). Every corpus
 * line must give exactly the peer's ids. Focused checks follow: options,
 * truncation, invalid UTF-8, a 1 MB input, vocab.txt parsing, a relocated
 * image, and concurrent calls.
 */
#define _POSIX_C_SOURCE 200809L	/* clock_gettime, strtok_r under -std=c11 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data_paths.h"
#include "polling.h"
#include "tap.h"
#include "tf_arena.h"
#include "tf_runtime.h"
#include "tf_wordpiece.h"

#define MAX_IDS 4096			/* more than any corpus line needs */

static const char *const bert_specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

/* Whole file as a NUL-terminated buffer (length in *len), or NULL. */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		size;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(size + 1);
	if (fread(buf, 1, size, f) != (size_t) size)
	{
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[size] = '\0';
	*len = (size_t) size;
	return buf;
}

/* Split buf[len] in place at each "\n" (the only separator); a final "\n"
 * ends the last line. Fills lines (char *[cap]) and lens (size_t[cap]);
 * returns the count. */
static int
split_lines(char *buf, size_t len, char **lines, size_t *lens, int cap)
{
	int			n = 0;
	size_t		start = 0;

	for (size_t i = 0; i < len && n < cap; i++)
	{
		if (buf[i] != '\n')
			continue;
		buf[i] = '\0';
		lines[n] = buf + start;
		lens[n++] = i - start;
		start = i + 1;
	}
	if (start < len && n < cap)
	{
		lines[n] = buf + start;
		lens[n++] = len - start;
	}
	return n;
}

/* Text s[len] with non-printable bytes escaped, into out[cap]. */
static const char *
escape(const char *s, size_t len, char *out, size_t cap)
{
	size_t		o = 0;

	for (size_t i = 0; i < len && o + 8 < cap; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c == 0x7F)
			o += snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char) c;
	}
	out[o] = '\0';
	return out;
}

/* ids (int32[n]) as text into out[cap]. */
static const char *
ids_text(const int32_t *ids, int n, char *out, size_t cap)
{
	size_t		o = 0;

	out[0] = '\0';
	for (int i = 0; i < n && o + 12 < cap; i++)
		o += snprintf(out + o, cap - o, "%s%d", i ? " " : "", ids[i]);
	return out;
}

/* Whether a[na] and b[nb] hold the same ids. */
static bool
same_ids(const int32_t *a, int na, const int32_t *b, int nb)
{
	return na == nb && (na == 0 || memcmp(a, b, sizeof(int32_t) * na) == 0);
}

/* A tokenizer built into its own arena. */
typedef struct Tok
{
	TfArena		arena;
	TfWordPiece wp;
} Tok;

/* Encode NUL-terminated s with t, at most MAX_IDS ids. */
static int
enc(const Tok *t, const char *s, int32_t *ids)
{
	return tf_wordpiece_encode(t->arena.base, &t->wp, s, strlen(s), ids, MAX_IDS);
}

/* Whether s encodes to exactly the tokens named in `want` (space-separated
 * vocabulary entries), diagnosing a difference. */
static bool
encodes_as(const Tok *t, const char *s, const char *want)
{
	int32_t		got[MAX_IDS],
				exp[64];		/* ids of the tokens in want */
	int			n = enc(t, s, got),
				m = 0;
	char		buf[512],
				gtxt[1024],
				etxt[1024];
	char	   *save;

	snprintf(buf, sizeof(buf), "%s", want);
	for (char *w = strtok_r(buf, " ", &save); w && m < 64; w = strtok_r(NULL, " ", &save))
		exp[m++] = tf_vocab_lookup(t->arena.base, &t->wp.vocab, w, strlen(w));
	if (same_ids(got, n, exp, m))
		return true;
	diag("input \"%s\": got [%s], want [%s] (%s)", s, ids_text(got, n, gtxt, sizeof(gtxt)),
		 ids_text(exp, m, etxt, sizeof(etxt)), want);
	return false;
}

/* Whether s encodes to the same ids as `like`, diagnosing a difference. */
static bool
encodes_like(const Tok *t, const char *s, const char *like)
{
	int32_t		got[MAX_IDS],
				exp[MAX_IDS];
	int			n = enc(t, s, got),
				m = enc(t, like, exp);
	char		gtxt[1024],
				etxt[1024];

	if (same_ids(got, n, exp, m))
		return true;
	diag("input \"%s\": got [%s], want [%s] (as \"%s\")", s, ids_text(got, n, gtxt, sizeof(gtxt)),
		 ids_text(exp, m, etxt, sizeof(etxt)), like);
	return false;
}

/* Build a tokenizer from a small vocabulary (tokens: const char *[n]). */
static bool
build_small(Tok *t, const char *const *tokens, int n, const TfWordPieceOptions *opts)
{
	uint32_t	lens[64];
	TfError		err;

	for (int i = 0; i < n; i++)
		lens[i] = (uint32_t) strlen(tokens[i]);
	tf_arena_init(&t->arena, 1024);
	if (!tf_wordpiece_build(&t->arena, tokens, lens, n, opts, &t->wp, &err))
	{
		diag("build failed: %s", err.message);
		return false;
	}
	return true;
}

/* Every line against the peer's ids; returns the number of lines. */
static int
check_corpus(const Tok *bert, const char *data_dir)
{
	char		path[4096];
	size_t		clen,
				plen;
	char	   *corpus,
			   *peer;
	static char *cl[8192],	/* corpus lines, their lengths in cll */
			   *pl[8192];		/* peer lines, their lengths in pll */
	static size_t cll[8192],
				pll[8192];
	int			nc,
				np,
				agree = 0,
				shown = 0;
	int32_t		got[MAX_IDS],
				want[MAX_IDS];

	snprintf(path, sizeof(path), "%s/wordpiece_corpus.txt", data_dir);
	corpus = read_file(path, &clen);
	snprintf(path, sizeof(path), "%s/wordpiece_peer_ids.txt", data_dir);
	peer = read_file(path, &plen);
	if (!ok(corpus && peer, "corpus and peer ids readable in %s", data_dir))
		return 0;
	nc = split_lines(corpus, clen, cl, cll, 8192);
	np = split_lines(peer, plen, pl, pll, 8192);
	ok(nc == np && nc >= 2000, "corpus has %d lines, peer file %d (want equal, >= 2000)", nc, np);

	for (int i = 0; i < nc && i < np; i++)
	{
		int			n = tf_wordpiece_encode(bert->arena.base, &bert->wp, cl[i], cll[i], got, MAX_IDS);
		int			m = parse_ids(pl[i], want, MAX_IDS);

		if (same_ids(got, n, want, m))
			agree++;
		else if (shown++ < 10)
		{
			static char t[2048],
						g[8192],
						w[8192];

			diag("line %d \"%s\"", i + 1, escape(cl[i], cll[i], t, sizeof(t)));
			diag("  got  %s", ids_text(got, n, g, sizeof(g)));
			diag("  peer %s", ids_text(want, m, w, sizeof(w)));
		}
	}
	ok(agree == nc && nc == np, "%d/%d corpus lines identical to the peer", agree, nc);
	free(corpus);
	free(peer);
	return nc;
}

/* Empty, blank and invisible inputs give no ids. */
static void
check_empty(const Tok *bert)
{
	int32_t		ids[MAX_IDS];

	ok(tf_wordpiece_encode(bert->arena.base, &bert->wp, "", 0, ids, MAX_IDS) == 0,
	   "empty string gives no ids");
	ok(tf_wordpiece_encode(bert->arena.base, &bert->wp, NULL, 0, ids, MAX_IDS) == 0,
	   "NULL text of length 0 gives no ids");
	ok(enc(bert, " \t\r\n\v\f\xc2\xa0\xe3\x80\x80\xe2\x80\xa8 ", ids) == 0,
	   "only whitespace gives no ids");
	ok(enc(bert, "\xe2\x80\x8b\xe2\x80\x8d\xef\xbb\xbf\x01\x7f\xcc\x81", ids) == 0,
	   "only zero-width, control characters and a lone accent give no ids");
	ok(tf_wordpiece_encode(bert->arena.base, &bert->wp, "hello", 5, ids, 0) == 0,
	   "max_ids 0 gives no ids");
}

/* Truncation: the first k ids of the full result, for every k. */
static void
check_truncation(const Tok *bert)
{
	static const char *const texts[] = {
		"The quick brown fox jumps over the lazy dog, unaffably.",
		"[CLS] a [MASK] b [SEP] \xe4\xb8\xad\xe6\x96\x87 tokenization",
		"abc\xe2\x98\x83 unaffable",	/* a word that turns [UNK] late */
	};
	bool		all = true;

	for (int t = 0; t < 3; t++)
	{
		int32_t		full[MAX_IDS],
					part[MAX_IDS + 1];
		int			n = enc(bert, texts[t], full);

		for (int k = 0; k <= n + 1; k++)
		{
			int			m;

			part[k] = -7;		/* must stay untouched */
			m = tf_wordpiece_encode(bert->arena.base, &bert->wp, texts[t], strlen(texts[t]), part, k);
			if (m != (k < n ? k : n) || !same_ids(part, m, full, m) || (k <= n && part[k] != -7))
			{
				diag("\"%s\" with max_ids %d: got %d ids", texts[t], k, m);
				all = false;
			}
		}
	}
	ok(all, "truncated results are prefixes of the full result, nothing written past max_ids");
	ok(encodes_as(bert, "abc\xe2\x98\x83", "[UNK]"),
	   "a word whose remainder matches nothing is one [UNK], even when truncated to 1 id");
}

/* Ill-formed UTF-8 must not crash; each ill-formed sequence reads as U+FFFD,
 * which clean_text drops (as after Python's errors="replace" decoding). */
static void
check_invalid_utf8(const Tok *bert)
{
	static const char *const bad[] = {
		"\xff", "\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xf0\x9f\x98", "\xe2\x82", "\xc3", "\xfe\xfe\xff\xff", "\xf8\x88\x80\x80\x80",
	};
	bool		all = true;
	int32_t		ids[MAX_IDS];

	for (int i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++)
	{
		char		s[64];

		snprintf(s, sizeof(s), "ab%scd", bad[i]);
		if (!encodes_like(bert, s, "abcd") || enc(bert, bad[i], ids) != 0)
			all = false;
	}
	ok(all, "ill-formed UTF-8 reads as U+FFFD and is dropped (11 kinds)");
	ok(encodes_as(bert, "\xe2[MASK]\xe2\x82", "[MASK]"),
	   "a special token right after a truncated sequence is still found");
	ok(tf_wordpiece_encode(bert->arena.base, &bert->wp, "a\0b c", 5, ids, MAX_IDS) == 2,
	   "NUL inside the text is dropped like in Hugging Face");
}

/* Cases where Hugging Face's implementations disagree, or that need a
 * hand-made vocabulary. Expected tokens follow Python's BertTokenizer. */
static void
check_semantics(const Tok *bert)
{
	/* U+20000 is a CJK ideograph (Extension B): Python's BertTokenizer and
	 * the Rust tokenizers split it off; the JavaScript port does not (it
	 * tests UTF-16 code units), so it is not in the peer corpus. */
	ok(encodes_as(bert, "ab\xf0\xa0\x80\x80" "cd", "ab [UNK] cd"),
	   "supplementary CJK ideographs are split off like BMP ones");
	/* unassigned code points: kept by the Rust and JavaScript tokenizers
	 * (Python's slow one drops them as category C) */
	ok(encodes_as(bert, "x\xcd\xb8y", "[UNK]"), "an unassigned code point is kept in its word");
	ok(encodes_as(bert, "\xce\x9f\xce\x94\xce\x9f\xce\xa3", "ο ##δ ##ος"),
	   "capital sigma lower-cases to final sigma at the end of a word");
	ok(encodes_like(bert, "\xce\xa3\xce\x91 \xce\x91\xce\xa3'\xce\x91", "σα ασ'α"),
	   "and to medial sigma before a letter, also across an apostrophe");
	ok(encodes_as(bert, "\xc4\xb0stanbul", "istanbul"),
	   "U+0130 lower-cases to i + U+0307, then loses the dot");
	ok(encodes_as(bert, "\xe1\xbf\xaf" "a", "` a"),
	   "punctuation made by NFD (U+1FEF to `) is split off");
}

/* Options, on a small vocabulary where each choice shows. */
static void
check_options(void)
{
	static const char *const vocab[] = {
		"[PAD]", "[UNK]", "[MASK]", "cafe", "café", "Café", "Cafe", "caf", "##e", "##é",
		"中", "中文", "a", "##b", ",", "b", "x", "##x", "@@x",
	};
	const int	nv = (int) (sizeof(vocab) / sizeof(vocab[0]));
	TfWordPieceOptions o = tf_wordpiece_default_options();
	Tok			t;
	static const char *const specials[] = {"[MASK]"};

	o.special_tokens = specials;
	o.n_special = 1;
	if (build_small(&t, vocab, nv, &o))
	{
		ok(encodes_as(&t, "CAFÉ café Café", "cafe cafe cafe"), "default: lower-case, strip accents");
		ok(encodes_as(&t, "中文", "中 [UNK]"), "default: CJK ideographs split");
		ok(encodes_as(&t, "a\xe2\x80\x8b" "b", "a ##b"), "default: zero-width space dropped");
		ok(encodes_as(&t, "xxxx", "x ##x ##x ##x"), "default: \"##\" continuation");
		ok(encodes_as(&t, "a[MASK]b", "a [MASK] b"), "default: special token kept whole");
		tf_arena_free(&t.arena);
	}
	o.strip_accents = 0;
	if (build_small(&t, vocab, nv, &o))
	{
		ok(encodes_as(&t, "CAFÉ", "café"), "strip_accents 0: lower-case only");
		tf_arena_free(&t.arena);
	}
	o.lowercase = false;
	o.strip_accents = -1;
	if (build_small(&t, vocab, nv, &o))
	{
		ok(encodes_as(&t, "Café café", "Café café"), "lowercase false: accents kept by default");
		tf_arena_free(&t.arena);
	}
	o.strip_accents = 1;
	if (build_small(&t, vocab, nv, &o))
	{
		ok(encodes_as(&t, "Café", "Cafe"), "lowercase false, strip_accents 1");
		tf_arena_free(&t.arena);
	}
	o = tf_wordpiece_default_options();
	o.tokenize_chinese_chars = false;
	o.clean_text = false;
	o.continuing_prefix = "@@";
	o.max_input_chars_per_word = 3;
	if (build_small(&t, vocab, nv, &o))
	{
		ok(encodes_as(&t, "中文", "中文"), "tokenize_chinese_chars false");
		ok(encodes_as(&t, "a\xe2\x80\x8b" "b", "[UNK]"), "clean_text false keeps U+200B");
		ok(encodes_as(&t, "xxx xxxx", "x @@x @@x [UNK]"),
		   "custom prefix, max_input_chars_per_word 3");
		ok(encodes_as(&t, "a[MASK]b", "a [UNK] [UNK] [UNK] b"),
		   "no special tokens configured: [MASK] is split as text");
		tf_arena_free(&t.arena);
	}
}

/* NFD's canonical reordering, seen through spacing marks (Mc) that
 * strip-accents keeps: U+1D165 (class 216) goes before U+1D16D (226), in a
 * short run and in a run long enough for the counting sort. */
static void
check_canonical_order(void)
{
	char		in_short[32],
				want_short[32],
				in_long[128],
				want_long[128];
	const char *vocab[] = {"[UNK]", want_short, want_long};
	TfWordPieceOptions o = tf_wordpiece_default_options();
	Tok			t;

	snprintf(in_short, sizeof(in_short), "x\xf0\x9d\x85\xad\xf0\x9d\x85\xa5");
	snprintf(want_short, sizeof(want_short), "x\xf0\x9d\x85\xa5\xf0\x9d\x85\xad");
	strcpy(in_long, "y");
	strcpy(want_long, "y");
	for (int i = 0; i < 10; i++)
		strcat(in_long, "\xf0\x9d\x85\xad\xf0\x9d\x85\xa5");
	for (int i = 0; i < 10; i++)
		strcat(want_long, "\xf0\x9d\x85\xa5");
	for (int i = 0; i < 10; i++)
		strcat(want_long, "\xf0\x9d\x85\xad");
	if (build_small(&t, vocab, 3, &o))
	{
		ok(encodes_as(&t, in_short, want_short), "two combining marks are put in canonical order");
		ok(encodes_as(&t, in_long, want_long), "twenty combining marks are put in canonical order");
		tf_arena_free(&t.arena);
	}
}

/* vocab.txt parsing as Hugging Face's load_vocab, and build errors. */
static void
check_vocab_txt(void)
{
	static const char txt[] = "[PAD]\r\n[UNK]\rfoo\n\n##bar\nfoo\nlast";
	TfWordPieceOptions o = tf_wordpiece_default_options();
	Tok			t;
	TfError		err;

	tf_arena_init(&t.arena, 256);
	if (ok(tf_wordpiece_build_from_vocab_txt(&t.arena, txt, sizeof(txt) - 1, &o, &t.wp, &err),
		   "vocab.txt with \\r\\n, \\r and \\n line ends builds"))
	{
		const char *base = t.arena.base;

		ok(t.wp.vocab.size == 7 && t.wp.unk_id == 1 &&
		   tf_vocab_lookup(base, &t.wp.vocab, "", 0) == 3 &&
		   tf_vocab_lookup(base, &t.wp.vocab, "foo", 3) == 5 &&
		   tf_vocab_lookup(base, &t.wp.vocab, "last", 4) == 6,
		   "7 lines; an empty line is a token; a repeated token keeps its later id");
		ok(encodes_as(&t, "foobar", "foo ##bar"), "and it tokenizes");
	}
	tf_arena_free(&t.arena);

	tf_arena_init(&t.arena, 256);
	ok(!tf_wordpiece_build_from_vocab_txt(&t.arena, "[UNK]\nb\xffz\n", 9, &o, &t.wp, &err) &&
	   err.code == TF_ERR_FORMAT, "invalid UTF-8 in vocab.txt is an error: %s", err.message);
	tf_arena_free(&t.arena);

	tf_arena_init(&t.arena, 256);
	ok(!tf_wordpiece_build_from_vocab_txt(&t.arena, "a\nb\n", 4, &o, &t.wp, &err) &&
	   err.code == TF_ERR_FORMAT, "a vocabulary without [UNK] is an error: %s", err.message);
	tf_arena_free(&t.arena);

	tf_arena_init(&t.arena, 256);
	ok(!tf_wordpiece_build_from_vocab_txt(&t.arena, "", 0, &o, &t.wp, &err),
	   "an empty vocab.txt is an error: %s", err.message);
	tf_arena_free(&t.arena);
}

/* 1 MB inputs: corpus lines joined by spaces give the concatenation of
 * their ids; hostile shapes finish quickly. */
static void
check_large(const Tok *bert, const char *data_dir)
{
	enum
	{
		MB = 1 << 20
	};
	char		path[4096];
	size_t		clen;
	char	   *corpus;
	char	   *big = malloc(MB + 1);
	int32_t    *ids = malloc(sizeof(int32_t) * MB);
	int32_t    *cat = malloc(sizeof(int32_t) * MB);
	int			ncat = 0,
				n;
	size_t		blen = 0;
	double		t0;

	snprintf(path, sizeof(path), "%s/wordpiece_corpus.txt", data_dir);
	corpus = read_file(path, &clen);
	if (corpus != NULL)
	{
		/* whole corpus lines, space-separated, until 1 MB */
		for (size_t i = 0, start = 0; blen < MB - 4096; i = (i + 1) % clen)
		{
			if (corpus[i] != '\n')
				continue;
			if (i - start + 1 <= MB - blen)
			{
				memcpy(big + blen, corpus + start, i - start);
				blen += i - start;
				big[blen++] = ' ';
				ncat += tf_wordpiece_encode(bert->arena.base, &bert->wp, corpus + start, i - start,
											cat + ncat, MB - ncat);
			}
			start = i + 1 == clen ? 0 : i + 1;
		}
		t0 = now();
		n = tf_wordpiece_encode(bert->arena.base, &bert->wp, big, blen, ids, MB);
		ok(same_ids(ids, n, cat, ncat), "%zu bytes of corpus lines: %d ids, the concatenation of "
		   "each line's (%.0f ms)", blen, n, (now() - t0) * 1e3);
		free(corpus);
	}

	memset(big, 'a', MB);
	t0 = now();
	n = tf_wordpiece_encode(bert->arena.base, &bert->wp, big, MB, ids, MB);
	ok(n == 1 && ids[0] == bert->wp.unk_id, "one 1 MB word is one [UNK] (%.0f ms)",
	   (now() - t0) * 1e3);

	for (size_t i = 0; i < MB; i += 2)
		memcpy(big + i, "a,", 2);
	t0 = now();
	n = tf_wordpiece_encode(bert->arena.base, &bert->wp, big, MB, ids, MB);
	ok(n == MB, "1 MB of \"a,\" gives %d ids (%.0f ms)", n, (now() - t0) * 1e3);

	/* combining marks in descending class order: the canonical reordering
	 * must not go quadratic (U+0301 class 230, U+0316 class 220) */
	big[0] = 'a';
	for (size_t i = 1; i + 4 <= MB; i += 4)
		memcpy(big + i, "\xcc\x81\xcc\x96", 4);
	t0 = now();
	n = tf_wordpiece_encode(bert->arena.base, &bert->wp, big, MB - 3, ids, MB);
	ok(n == 1 && ids[0] == tf_vocab_lookup(bert->arena.base, &bert->wp.vocab, "a", 1) &&
	   now() - t0 < 2.0, "'a' and 1 MB of combining marks is \"a\" (%.0f ms)", (now() - t0) * 1e3);

	free(big);
	free(ids);
	free(cat);
}

/* The image holds offsets only: a copy elsewhere, with the arena gone,
 * tokenizes the same. */
static void
check_relocation(const Tok *bert)
{
	static const char text[] = "Relocated images still tokenize: [MASK] caf\xc3\xa9 \xe4\xb8\xad!";
	char	   *copy = malloc(bert->arena.size);
	int32_t		a[MAX_IDS],
				b[MAX_IDS];
	int			na,
				nb;

	memcpy(copy, bert->arena.base, bert->arena.size);
	na = enc(bert, text, a);
	memset(bert->arena.base, 0xAB, bert->arena.size);	/* poison the original */
	nb = tf_wordpiece_encode(copy, &bert->wp, text, strlen(text), b, MAX_IDS);
	memcpy(bert->arena.base, copy, bert->arena.size);
	ok(na > 5 && same_ids(a, na, b, nb), "a copied image gives the same %d ids", na);
	free(copy);
}

/* Arguments and result of one concurrent encoding run. */
typedef struct ThreadJob
{
	const Tok  *tok;
	const char *text;
	size_t		len;
	int32_t    *ids;			/* int32[MAX_IDS * 64] */
	int			n;
} ThreadJob;

/* Encode job->text repeatedly; the result of the last run stays. */
static void *
thread_main(void *arg)
{
	ThreadJob  *job = arg;

	for (int r = 0; r < 200; r++)
		job->n = tf_wordpiece_encode(job->tok->arena.base, &job->tok->wp, job->text, job->len,
									 job->ids, MAX_IDS * 64);
	return NULL;
}

/* Four threads on different texts at once get what one thread gets. */
static void
check_threads(const Tok *bert)
{
	static const char *const texts[] = {
		"\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3 caf\xc3\xa9 Ce\xcc\x81",
		"\xe6\x88\x91\xe7\x88\xb1\xe8\x87\xaa\xe7\x84\xb6\xe8\xaf\xad\xe8\xa8\x80 [MASK] 123",
		"unaffable pneumonoultramicroscopicsilicovolcanoconiosis, really!",
		"\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xf0\x9f\x98\x80 https://example.com/x?y=z",
	};
	pthread_t	th[4];
	ThreadJob	jobs[4];
	bool		all = true;

	for (int i = 0; i < 4; i++)
	{
		jobs[i].tok = bert;
		jobs[i].text = texts[i];
		jobs[i].len = strlen(texts[i]);
		jobs[i].ids = malloc(sizeof(int32_t) * MAX_IDS * 64);
		pthread_create(&th[i], NULL, thread_main, &jobs[i]);
	}
	for (int i = 0; i < 4; i++)
	{
		int32_t		one[MAX_IDS];
		int			n;

		pthread_join(th[i], NULL);
		n = enc(bert, texts[i], one);
		all = all && n > 2 && same_ids(one, n, jobs[i].ids, jobs[i].n);
		free(jobs[i].ids);
	}
	ok(all, "concurrent calls agree with single calls");
}

/* A Tok's tf_wordpiece_encode of text[len], for ok_polls_all_along. */
static void
encode_polled(const void *tokenizer, const char *text, size_t len)
{
	const Tok  *tok = tokenizer;
	int32_t		ids[128];		/* a BERT model's usual max_seq_length */

	tf_wordpiece_encode(tok->arena.base, &tok->wp, text, len, ids, 128);
}

/* The k-th input shape of check_polling in text[len]; its length in use. */
static size_t
fill_shape(char *text, size_t len, int k)
{
	for (size_t i = 0; i < len; i++)
		switch (k)
		{
			case 0:
				text[i] = ' ';
				break;
			case 1:
				text[i] = i % 2 ? '\x01' : ' ';
				break;
			case 2:
				text[i] = 'x';
				break;
			case 3:
				text[i] = i % 2 ? ',' : 'x';
				break;
			default:			/* 'a', then U+0301 (UTF-8 cc 81) */
				text[i] = i == 0 ? 'a' : i % 2 ? '\xcc' : '\x81';
				break;
		}
	return k == 4 ? len - 1 : len;	/* whole accents only */
}

/*
 * 8 MB inputs that give few tokens, so that the whole text is read: spaces,
 * control characters, one word, "x," repeated (one chunk split at every
 * comma), one letter and then combining accents (a run of non-starters to
 * sort and strip). Each pass over the text must poll for interrupts.
 */
static void
check_polling(const Tok *bert)
{
	const size_t len = 8 << 20;
	char	   *text = malloc(len);
	const char *shapes[] = {"spaces", "control characters", "one word", "x, repeated",
	"one letter and accents"};

	for (int k = 0; k < 5; k++)
		ok_polls_all_along(shapes[k], encode_polled, bert, text, fill_shape(text, len, k));
	free(text);
}

/* Build bert-base-uncased's tokenizer from argv[1], data from argv[2]. */
int
main(int argc, char **argv)
{
	const char *vocab_path = argc > 1 ? argv[1] : BERT_VOCAB_TXT;
	const char *data_dir = argc > 2 ? argv[2] : TEST_DATA_DIR;
	TfWordPieceOptions o = tf_wordpiece_default_options();
	Tok			bert;
	TfError		err;
	size_t		vlen;
	char	   *vocab = read_file(vocab_path, &vlen);

	if (vocab == NULL)
	{
		printf("Bail out! cannot read %s (usage: test_wordpiece VOCAB_TXT DATA_DIR)\n", vocab_path);
		return 1;
	}
	o.special_tokens = bert_specials;
	o.n_special = 5;
	tf_arena_init(&bert.arena, 1 << 20);
	if (!ok(tf_wordpiece_build_from_vocab_txt(&bert.arena, vocab, vlen, &o, &bert.wp, &err),
			"bert-base-uncased vocab.txt builds"))
	{
		diag("%s", err.message);
		return done_testing();
	}
	free(vocab);
	ok(bert.wp.vocab.size == 30522 && bert.wp.unk_id == 100,
	   "30522 entries, [UNK] is id 100 (got %d, %d)", bert.wp.vocab.size, bert.wp.unk_id);

	check_corpus(&bert, data_dir);
	check_empty(&bert);
	check_truncation(&bert);
	check_invalid_utf8(&bert);
	check_semantics(&bert);
	check_options();
	check_canonical_order();
	check_vocab_txt();
	check_large(&bert, data_dir);
	check_relocation(&bert);
	check_threads(&bert);
	check_polling(&bert);
	tf_arena_free(&bert.arena);
	return done_testing();
}
