/*
 * test_sentencepiece.c: the SentencePiece tokenizer against the real peer.
 *
 * Usage: test_sentencepiece [SOURCE.spm TARGET.spm [DATA_DIR]], run from the
 *   repository root; the models default to the real opus-mt-en-mg
 *   {source,target}.spm under test/data/tokenizers, DATA_DIR to test/data
 *   (data_paths.h).
 *
 * Agreement (required: every line identical): for each model, every line of
 * DATA_DIR/spm_corpus.txt is encoded and compared with the ids spm_encode
 * gave (spm_peer_ids.<model>.txt), and decode(encode(line)) with the text
 * spm_decode gave for those ids (spm_peer_decoded.<model>.txt), and
 * tf_spm_encode_pieces must give the same ids with each piece's stretch of
 * normalized text (what spm_encode --output_format=piece prints). The same is
 * done for variants of the source model, each made by appending the
 * protobuf bytes of spm_variant_<name>.bin to source.spm (protobuf merges
 * them: other normalizer flags, no charsmap, user-defined, unused and byte
 * pieces). Decoding is also checked alone, on random id sequences
 * (spm_decode_ids.txt) with the "extras" variant, which has every piece
 * type. test/tokenizers/make_spm_corpus.py writes the corpus, the id
 * sequences and the variants, test/tokenizers/spm_reference.sh the peer
 * files.
 *
 * Focused checks: empty and whitespace-only input, truncation at max_ids,
 * invalid UTF-8, 1 MB inputs, a relocated image, and corrupt model files:
 * truncations must give TF_ERR_FORMAT, random byte flips must either load or
 * fail with a format/unsupported/limit error, and never crash (run it under
 * -fsanitize=address,undefined to check the "never reads out of bounds").
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "data_paths.h"
#include "polling.h"
#include "tap.h"
#include "tf_sentencepiece.h"

/* A file split into lines at '\n', each '\n' replaced by NUL (other bytes,
 * NUL included, are kept). */
typedef struct Lines
{
	char	   *data;			/* the file, char[size] */
	size_t		size;
	int			n;				/* lines */
	char	  **text;			/* char *[n]: line starts in data */
	size_t	   *len;			/* size_t[n] */
} Lines;

/* A built model: its image and the tokenizer struct. */
typedef struct Model
{
	TfArena		arena;
	TfSentencePiece sp;
} Model;

/* Read a whole file into *data (malloc'd); false if it cannot be read. */
static bool
read_file(const char *path, char **data, size_t *size)
{
	FILE	   *f = fopen(path, "rb");
	long		n;

	if (f == NULL)
		return false;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*data = malloc(n + 1);
	*size = fread(*data, 1, n, f);
	fclose(f);
	(*data)[*size] = '\0';
	return *size == (size_t) n;
}

/* Read path and split it into lines; false if it cannot be read. */
static bool
read_lines(const char *path, Lines *l)
{
	size_t		start = 0;

	if (!read_file(path, &l->data, &l->size))
		return false;
	l->n = 0;
	for (size_t i = 0; i < l->size; i++)
		l->n += l->data[i] == '\n';
	l->text = malloc(sizeof(char *) * (l->n + 1));
	l->len = malloc(sizeof(size_t) * (l->n + 1));
	l->n = 0;
	for (size_t i = 0; i < l->size; i++)
		if (l->data[i] == '\n')
		{
			l->data[i] = '\0';
			l->text[l->n] = l->data + start;
			l->len[l->n++] = i - start;
			start = i + 1;
		}
	return true;
}

/* Free what read_lines allocated. */
static void
free_lines(Lines *l)
{
	free(l->data);
	free(l->text);
	free(l->len);
}

/* Build a model from bytes; false (err filled) on failure. */
static bool
load_model(const uint8_t *bytes, size_t len, Model *m, TfError *err)
{
	tf_arena_init(&m->arena, len + 1024);
	if (!tf_spm_build(&m->arena, bytes, len, &m->sp, err))
	{
		tf_arena_free(&m->arena);
		return false;
	}
	return true;
}

/*
 * Whether tf_spm_encode_pieces gives ids[n] too, each piece covering a
 * non-empty stretch of the normalized text that is its own text (a byte
 * piece: its byte; an unknown piece: text no piece spells), the stretches
 * following each other from 0.
 */
static bool
same_pieces(const Model *m, const char *text, size_t len, const int32_t *ids, int32_t n)
{
	const uint8_t *types = TF_AT(m->arena.base, m->sp.types, const uint8_t);
	TfSpmPieces p;
	bool		same;

	if (!tf_spm_encode_pieces(m->arena.base, &m->sp, text, len, &p))
		return n < 0;
	same = p.n == n && memcmp(p.ids, ids, sizeof(int32_t) * n) == 0;
	for (int32_t i = 0; same && i < n; i++)
	{
		int32_t		start = i > 0 ? p.ends[i - 1] : 0;
		uint32_t	plen;
		const char *piece = tf_vocab_token(m->arena.base, &m->sp.pieces, ids[i], &plen);

		if (types[ids[i]] == TF_SPM_BYTE)
			same = p.ends[i] == start + 1 &&
				strtol(piece + 3, NULL, 16) == (uint8_t) p.normalized[start];
		else if (types[ids[i]] == TF_SPM_UNKNOWN)
			same = p.ends[i] > start;
		else
			same = p.ends[i] - start == (int32_t) plen &&
				memcmp(p.normalized + start, piece, plen) == 0;
	}
	tf_spm_pieces_free(&p);
	return same;
}

/*
 * The agreement check: every corpus line's ids and decoded text against the
 * peer's files for `name`. Returns false if the peer files are missing.
 */
static bool
check_agreement(const char *name, const Model *m, const Lines *corpus,
				const char *data_dir)
{
	char		path[1024];
	Lines		peer_ids;
	Lines		peer_text;
	int			enc_ok = 0;
	int			dec_ok = 0;
	int			pieces_ok = 0;
	int			shown = 0;
	int32_t    *want = malloc(sizeof(int32_t) * 100000);	/* int32_t[100000] */

	snprintf(path, sizeof(path), "%s/spm_peer_ids.%s.txt", data_dir, name);
	if (!read_lines(path, &peer_ids))
	{
		ok(0, "%s: peer ids %s readable", name, path);
		free(want);
		return false;
	}
	snprintf(path, sizeof(path), "%s/spm_peer_decoded.%s.txt", data_dir, name);
	if (!read_lines(path, &peer_text))
	{
		ok(0, "%s: peer text %s readable", name, path);
		free_lines(&peer_ids);
		free(want);
		return false;
	}
	ok(peer_ids.n == corpus->n && peer_text.n == corpus->n,
	   "%s: peer files have one line per corpus line (%d, %d, %d)",
	   name, corpus->n, peer_ids.n, peer_text.n);

	for (int i = 0; i < corpus->n && i < peer_ids.n && i < peer_text.n; i++)
	{
		int32_t		n;
		int32_t    *got = tf_spm_encode_all(m->arena.base, &m->sp, corpus->text[i],
											corpus->len[i], &n);
		int			nw = parse_ids(peer_ids.text[i], want, 100000);
		size_t		tlen;
		char	   *text = tf_spm_decode(m->arena.base, &m->sp, got, n, &tlen);
		bool		enc_same = n == nw && memcmp(got, want, sizeof(int32_t) * n) == 0;
		bool		dec_same = tlen == peer_text.len[i] &&
			memcmp(text, peer_text.text[i], tlen) == 0;

		enc_ok += enc_same;
		dec_ok += dec_same;
		pieces_ok += same_pieces(m, corpus->text[i], corpus->len[i], got, n);
		if ((!enc_same || !dec_same) && shown++ < 5)
		{
			diag("%s line %d (%zu bytes) differs: %s%s", name, i + 1, corpus->len[i],
				 enc_same ? "" : "ids ", dec_same ? "" : "text");
			diag_ids("ours", got, n);
			diag_ids("peer", want, nw);
			diag("  ours text: [%.*s]", (int) (tlen < 160 ? tlen : 160), text);
			diag("  peer text: [%.*s]", (int) (peer_text.len[i] < 160 ? peer_text.len[i] : 160),
				 peer_text.text[i]);
		}
		tf_free(got);
		tf_free(text);
	}
	ok(enc_ok == corpus->n, "%s: encode matches spm_encode on %d/%d lines",
	   name, enc_ok, corpus->n);
	ok(dec_ok == corpus->n, "%s: decode(encode(x)) matches spm_decode on %d/%d lines",
	   name, dec_ok, corpus->n);
	ok(pieces_ok == corpus->n, "%s: encode_pieces gives those ids, each covering its own text, on %d/%d lines",
	   name, pieces_ok, corpus->n);
	free_lines(&peer_ids);
	free_lines(&peer_text);
	free(want);
	return true;
}

/*
 * Decoding alone: the random id sequences of spm_decode_ids.txt against the
 * text spm_decode gave for them with model `name`.
 */
static void
check_decode_only(const char *name, const Model *m, const char *data_dir)
{
	char		path[1024];
	Lines		cases;
	Lines		peer;
	int			same = 0;
	int			shown = 0;
	int32_t		ids[256];

	snprintf(path, sizeof(path), "%s/spm_decode_ids.txt", data_dir);
	if (!ok(read_lines(path, &cases), "%s readable", path))
		return;
	snprintf(path, sizeof(path), "%s/spm_peer_decoded_ids.%s.txt", data_dir, name);
	if (!ok(read_lines(path, &peer), "%s readable", path))
	{
		free_lines(&cases);
		return;
	}
	for (int i = 0; i < cases.n && i < peer.n; i++)
	{
		int			n = parse_ids(cases.text[i], ids, 256);
		size_t		tlen;
		char	   *text = tf_spm_decode(m->arena.base, &m->sp, ids, n, &tlen);

		if (tlen == peer.len[i] && memcmp(text, peer.text[i], tlen) == 0)
			same++;
		else if (shown++ < 5)
		{
			diag("%s decode case %d differs", name, i + 1);
			diag_ids("ids", ids, n);
			diag("  ours: [%.*s]", (int) (tlen < 160 ? tlen : 160), text);
			diag("  peer: [%.*s]", (int) (peer.len[i] < 160 ? peer.len[i] : 160), peer.text[i]);
		}
		tf_free(text);
	}
	ok(same == cases.n && peer.n == cases.n,
	   "%s: decoding random id sequences matches spm_decode on %d/%d lines",
	   name, same, cases.n);
	free_lines(&cases);
	free_lines(&peer);
}

/* Ids of text (len bytes) equal the ids of other (other_len bytes). */
static bool
same_encoding(const Model *m, const char *text, size_t len, const char *other,
			  size_t other_len)
{
	int32_t		n1;
	int32_t		n2;
	int32_t    *a = tf_spm_encode_all(m->arena.base, &m->sp, text, len, &n1);
	int32_t    *b = tf_spm_encode_all(m->arena.base, &m->sp, other, other_len, &n2);
	bool		same = n1 == n2 && memcmp(a, b, sizeof(int32_t) * n1) == 0;

	tf_free(a);
	tf_free(b);
	return same;
}

/* Encode and decode a big input; check that it gives ids and text. */
static void
check_big(const Model *m, const char *what, char *buf, size_t len)
{
	int32_t		n;
	double		t0 = now();
	int32_t    *ids = tf_spm_encode_all(m->arena.base, &m->sp, buf, len, &n);
	double		t1 = now();
	size_t		tlen = 0;
	char	   *text = tf_spm_decode(m->arena.base, &m->sp, ids, n, &tlen);
	double		t2 = now();

	ok(ids != NULL && n > 0 && tlen > 0,
	   "1 MB of %s: %d ids, %zu bytes decoded (encode %.3f s, decode %.3f s)",
	   what, n, tlen, t1 - t0, t2 - t1);
	tf_free(ids);
	tf_free(text);
}

/* A Model's tf_spm_encode of text[len], for ok_polls_all_along. */
static void
encode_polled(const void *tokenizer, const char *text, size_t len)
{
	const Model *m = tokenizer;
	int32_t		ids[512];		/* a Marian model's source length */

	tf_spm_encode(m->arena.base, &m->sp, text, len, ids, 512);
}

/*
 * 8 MB inputs, read whole although only the first 512 ids are kept: words,
 * and one word (one long path of pieces, whose back links are walked
 * twice). Each pass over the text must poll for interrupts. (Spaces
 * normalize to nothing in a few ms: too short a call to judge its gaps.)
 */
static void
check_polling(const Model *m)
{
	const size_t len = 8 << 20;
	char	   *text = malloc(len);
	const char *shapes[] = {"words", "one word"};

	for (int k = 0; k < 2; k++)
	{
		for (size_t i = 0; i < len; i++)
			text[i] = k == 0 ? "a man rides a bike "[i % 19] : 'x';
		ok_polls_all_along(shapes[k], encode_polled, m, text, len);
	}
	free(text);
}

/* Deterministic pseudo-random numbers (xorshift64*), for the fuzz checks. */
static uint64_t
next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

/* Focused checks on the source model. */
static void
check_focused(const Model *m, const Lines *corpus)
{
	int32_t		ids[64];
	int32_t		n;
	int32_t    *full;
	size_t		tlen;
	char	   *text;
	int			longest = 0;
	bool		trunc_ok = true;
	static const char *const invalid[] = {
		"\xff", "\xfe\xff", "abc\x80" "def", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xe2\x82", "\xf0\x9f\x98", "\xc3", "x\xf8\x88\x80\x80\x80y",
	};

	ok(m->sp.pieces.size == 32000 && m->sp.unk_id == 0 && m->sp.bos_id == 1 &&
	   m->sp.eos_id == 2 && m->sp.pad_id == -1,
	   "source.spm: 32000 pieces, unk 0, bos 1, eos 2, no pad (got %d, %d, %d, %d, %d)",
	   m->sp.pieces.size, m->sp.unk_id, m->sp.bos_id, m->sp.eos_id, m->sp.pad_id);

	ok(tf_spm_encode(m->arena.base, &m->sp, "", 0, ids, 64) == 0, "empty string: no ids");
	{
		static const char ws[] = " \t \xc2\xa0 \xe3\x80\x80 \r \xe2\x80\x8b ";

		ok(tf_spm_encode(m->arena.base, &m->sp, ws, sizeof(ws) - 1, ids, 64) == 0,
		   "whitespace only (space, tab, NBSP, U+3000, CR, U+200B): no ids");
	}
	text = tf_spm_decode(m->arena.base, &m->sp, ids, 0, &tlen);
	ok(tlen == 0 && text[0] == '\0', "decoding no ids gives an empty string");
	tf_free(text);
	n = tf_spm_encode(m->arena.base, &m->sp, "<s> hi </s> <pad>", 17, ids, 64);
	{
		bool		no_control = true;

		for (int i = 0; i < n; i++)
			no_control &= ids[i] != m->sp.bos_id && ids[i] != m->sp.eos_id;
		ok(n > 0 && no_control, "\"<s> hi </s>\" gives no control ids (%d ids)", n);
	}
	{
		int32_t		bad[] = {-1, 5, 32000, 1 << 30, 5};

		text = tf_spm_decode(m->arena.base, &m->sp, bad, 5, &tlen);
		ok(tlen > 0 && strlen(text) == tlen, "decode skips ids out of range: \"%s\"", text);
		tf_free(text);
	}

	/* truncation at max_ids, against the full encoding of the line with most ids */
	n = 0;
	for (int i = 0; i < corpus->n; i++)
	{
		int32_t		ni;

		tf_free(tf_spm_encode_all(m->arena.base, &m->sp, corpus->text[i], corpus->len[i], &ni));
		if (ni > n)
		{
			n = ni;
			longest = i;
		}
	}
	full = tf_spm_encode_all(m->arena.base, &m->sp, corpus->text[longest],
							 corpus->len[longest], &n);
	{
		int32_t		limits[] = {0, 1, 2, 7, n - 1, n, n + 5};

		for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++)
		{
			int32_t    *buf = malloc(sizeof(int32_t) * (n + 6));
			int32_t		want = limits[k] < n ? limits[k] : n;
			int32_t		got;

			for (int i = 0; i < n + 6; i++)
				buf[i] = -7;
			got = tf_spm_encode(m->arena.base, &m->sp, corpus->text[longest],
								corpus->len[longest], buf, limits[k]);
			if (got != want || memcmp(buf, full, sizeof(int32_t) * want) != 0 ||
				buf[want] != -7)
			{
				diag("max_ids %d: got %d ids, want %d", limits[k], got, want);
				trunc_ok = false;
			}
			free(buf);
		}
	}
	ok(trunc_ok && n > 20, "max_ids truncates to a prefix of the full %d ids and writes no further", n);
	tf_free(full);

	/*
	 * invalid UTF-8: spm turns each byte that starts no valid character into
	 * U+FFFD (after the charsmap), so which invalid byte it was cannot matter
	 */
	{
		bool		all_same = true;

		for (size_t k = 0; k < sizeof(invalid) / sizeof(invalid[0]); k++)
		{
			const char *s = invalid[k];
			size_t		len = strlen(s);
			char	   *other = malloc(len);

			/* replace every byte that starts no valid character by 0xFF */
			for (size_t i = 0; i < len;)
			{
				unsigned char c = s[i];
				size_t		want = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 :
					(c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
				bool		valid = want > 0 && i + want <= len;

				for (size_t j = 1; valid && j < want; j++)
					valid = ((unsigned char) s[i + j] & 0xC0) == 0x80;
				/* the overlongs, surrogates and > U+10FFFF in this list */
				if (valid && (c == 0xC0 || c == 0xC1 ||
							  (c == 0xED && (unsigned char) s[i + 1] >= 0xA0) ||
							  (c == 0xF4 && (unsigned char) s[i + 1] >= 0x90)))
					valid = false;
				if (valid)
				{
					memcpy(other + i, s + i, want);
					i += want;
				}
				else
					other[i++] = (char) 0xFF;
			}
			if (!same_encoding(m, s, len, other, len))
			{
				diag("invalid UTF-8 case %zu encodes unlike its 0xFF spelling", k);
				all_same = false;
			}
			free(other);
		}
		ok(all_same, "invalid UTF-8: every bad byte counts as one U+FFFD (%zu cases)",
		   sizeof(invalid) / sizeof(invalid[0]));
	}

	/* 1 MB inputs */
	{
		size_t		size = 1 << 20;
		char	   *buf = malloc(size);
		uint64_t	state = 42;
		size_t		pos = 0;

		for (int i = 0; pos < size; i = (i + 1) % corpus->n)
		{
			size_t		take = corpus->len[i] < size - pos ? corpus->len[i] : size - pos;

			memcpy(buf + pos, corpus->text[i], take);
			pos += take;
			if (pos < size)
				buf[pos++] = ' ';
		}
		check_big(m, "corpus text", buf, size);
		memset(buf, 'a', size);
		check_big(m, "one letter", buf, size);
		for (size_t i = 0; i < size; i++)
			buf[i] = (char) next_random(&state);
		check_big(m, "random bytes", buf, size);
		free(buf);
	}
}

/*
 * Whether a model built from bytes loads (returned true) or fails with an
 * allowed code; after a successful load, a few lines are encoded and decoded
 * to exercise the (possibly damaged) tables.
 */
static bool
try_model(const uint8_t *bytes, size_t len, const Lines *corpus, TfError *err)
{
	Model		m;

	memset(err, 0, sizeof(*err));
	if (!load_model(bytes, len, &m, err))
		return false;
	for (int i = 0; i < corpus->n; i += corpus->n / 16)
	{
		int32_t		n;
		size_t		tlen;
		int32_t    *ids = tf_spm_encode_all(m.arena.base, &m.sp, corpus->text[i],
											corpus->len[i], &n);
		char	   *text = tf_spm_decode(m.arena.base, &m.sp, ids, n, &tlen);

		tf_free(ids);
		tf_free(text);
	}
	tf_arena_free(&m.arena);
	return true;
}

/* Appending protobuf fields to a real model: merges, rejections. */
static void
check_appended(const uint8_t *model, size_t len, const Lines *corpus)
{
	static const struct
	{
		const char *what;
		const char *bytes;
		size_t		len;
		TfStatus	want;
	}			cases[] = {
		{"trainer_spec {model_type: UNIGRAM}", "\x12\x02\x18\x01", 4, TF_OK},
		{"trainer_spec {model_type: BPE}", "\x12\x02\x18\x02", 4, TF_ERR_UNSUPPORTED},
		{"trainer_spec {model_type: CHAR}", "\x12\x02\x18\x04", 4, TF_ERR_UNSUPPORTED},
		{"trainer_spec {treat_whitespace_as_suffix: true}", "\x12\x03\xc0\x01\x01", 5,
		TF_ERR_UNSUPPORTED},
		{"denormalizer_spec {precompiled_charsmap: 8 bytes}",
		"\x2a\x0a\x12\x08" "abcdefgh", 12, TF_ERR_UNSUPPORTED},
		{"normalizer_spec {precompiled_charsmap: 4 bytes}", "\x1a\x06\x12\x04" "abcd", 8,
		TF_ERR_FORMAT},
		{"normalizer_spec {precompiled_charsmap: trie larger than blob}",
		"\x1a\x0a\x12\x08\xff\x00\x00\x00" "abcd", 12, TF_ERR_FORMAT},
		{"a second UNKNOWN piece", "\x0a\x09\x0a\x05" "<unk>" "\x18\x02", 11, TF_ERR_FORMAT},
		{"a duplicate NORMAL piece \"\xe2\x96\x81the\"", "\x0a\x08\x0a\x06\xe2\x96\x81" "the",
		10, TF_ERR_FORMAT},
		{"an empty piece", "\x0a\x02\x18\x01", 4, TF_ERR_FORMAT},
		{"a BYTE piece without byte_fallback", "\x0a\x0a\x0a\x06<0x41>\x18\x06", 12,
		TF_ERR_FORMAT},
		{"trainer_spec {byte_fallback: true} without byte pieces", "\x12\x03\x98\x02\x01", 5,
		TF_ERR_FORMAT},
		{"a group wire type", "\x0b", 1, TF_ERR_FORMAT},
		{"an over-long varint", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12,
		TF_ERR_FORMAT},
		{"field number 0", "\x00\x00", 2, TF_ERR_FORMAT},
		{"an unknown field", "\xa0\x06\x05", 3, TF_OK},
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
	{
		uint8_t    *buf = malloc(len + cases[k].len);
		TfError		err;
		bool		loaded;

		memcpy(buf, model, len);
		memcpy(buf + len, cases[k].bytes, cases[k].len);
		loaded = try_model(buf, len + cases[k].len, corpus, &err);
		ok(cases[k].want == TF_OK ? loaded : (!loaded && err.code == cases[k].want),
		   "appending %s: %s%s%s", cases[k].what, loaded ? "loads" : err.message,
		   err.detail[0] ? "; " : "", err.detail);
		free(buf);
	}
}

/* Truncated files and random byte flips. */
static void
check_corrupt(const uint8_t *model, size_t len, const Lines *corpus)
{
	uint64_t	state = 20240521;
	int			n_trunc = 0;
	int			trunc_ok = 0;
	int			counts[TF_ERR_LIMIT + 1] = {0};
	int			n_flips = 400;
	uint8_t    *buf = malloc(len);
	size_t		fixed[] = {0, 1, 2, 3, 5, 10, 100, 1000, 4096, len / 4, len / 2, 3 * len / 4,
		len - 237545, len - 237540, len - 100000, len - 1000, len - 10, len - 2, len - 1};

	/* truncations: the last top-level field is normalizer_spec, so every cut shows */
	for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]) + 30; k++)
	{
		size_t		cut = k < sizeof(fixed) / sizeof(fixed[0]) ? fixed[k] :
			next_random(&state) % len;
		TfError		err;
		bool		loaded = try_model(model, cut, corpus, &err);

		n_trunc++;
		if (!loaded && err.code == TF_ERR_FORMAT)
			trunc_ok++;
		else
			diag("truncated to %zu bytes: %s", cut, loaded ? "loads" : err.message);
	}
	ok(trunc_ok == n_trunc, "%d/%d truncated files rejected with TF_ERR_FORMAT",
	   trunc_ok, n_trunc);

	/* byte flips: half anywhere, half in the charsmap (the file's last 237 kB) */
	for (int k = 0; k < n_flips; k++)
	{
		int			n_bytes = 1 + (int) (next_random(&state) % 4);
		size_t		region = k % 2 ? 237540 : len;
		TfError		err;

		memcpy(buf, model, len);
		for (int j = 0; j < n_bytes; j++)
			buf[len - 1 - next_random(&state) % region] ^= (uint8_t) (1 + next_random(&state) % 255);
		if (try_model(buf, len, corpus, &err))
			counts[TF_OK]++;
		else if (err.code == TF_ERR_FORMAT || err.code == TF_ERR_UNSUPPORTED ||
				 err.code == TF_ERR_LIMIT)
			counts[err.code]++;
		else
			diag("flip %d: unexpected error code %d: %s", k, err.code, err.message);
	}
	ok(counts[TF_OK] + counts[TF_ERR_FORMAT] + counts[TF_ERR_UNSUPPORTED] +
	   counts[TF_ERR_LIMIT] == n_flips,
	   "%d files with random byte flips: %d load and tokenize, %d format, %d unsupported, %d limit errors",
	   n_flips, counts[TF_OK], counts[TF_ERR_FORMAT], counts[TF_ERR_UNSUPPORTED],
	   counts[TF_ERR_LIMIT]);

	/* random garbage */
	{
		TfError		err;
		bool		loaded;

		for (size_t i = 0; i < 4096; i++)
			buf[i] = (uint8_t) next_random(&state);
		loaded = try_model(buf, 4096, corpus, &err);
		ok(!loaded && err.code == TF_ERR_FORMAT, "4 kB of random bytes: %s",
		   loaded ? "loads" : err.message);
	}
	free(buf);
}

/* Encoding from a copy of the image at another address gives the same ids. */
static void
check_relocated(const Model *m, const Lines *corpus)
{
	char	   *copy = malloc(m->arena.size);
	int			same = 0;
	int			total = 0;

	memcpy(copy, m->arena.base, m->arena.size);
	for (int i = 0; i < corpus->n; i += 10, total++)
	{
		int32_t		n1;
		int32_t		n2;
		int32_t    *a = tf_spm_encode_all(m->arena.base, &m->sp, corpus->text[i],
										  corpus->len[i], &n1);
		int32_t    *b = tf_spm_encode_all(copy, &m->sp, corpus->text[i], corpus->len[i], &n2);

		same += n1 == n2 && memcmp(a, b, sizeof(int32_t) * n1) == 0;
		tf_free(a);
		tf_free(b);
	}
	ok(same == total, "a copy of the image (%zu bytes) at another address encodes the same (%d/%d)",
	   m->arena.size, same, total);
	free(copy);
}

int
main(int argc, char **argv)
{
	const char *paths[] = {
		argc > 1 ? argv[1] : MARIAN_SOURCE_SPM,
		argc > 2 ? argv[2] : MARIAN_TARGET_SPM,
	};
	const char *data_dir = argc > 3 ? argv[3] : TEST_DATA_DIR;
	const char *names[] = {"source", "target"};
	static const char *const variants[] = {"nodummy", "keepspace", "noescape", "identity",
	"extras"};
	char		path[1024];
	Lines		corpus;
	char	   *bytes[2];
	size_t		len[2];
	Model		models[2];
	TfError		err;

	snprintf(path, sizeof(path), "%s/spm_corpus.txt", data_dir);
	if (!read_lines(path, &corpus))
	{
		fprintf(stderr, "cannot read %s\n", path);
		return 2;
	}
	for (int k = 0; k < 2; k++)
	{
		if (!read_file(paths[k], &bytes[k], &len[k]))
		{
			fprintf(stderr, "cannot read %s\n", paths[k]);
			return 2;
		}
		if (!load_model((uint8_t *) bytes[k], len[k], &models[k], &err))
		{
			fprintf(stderr, "%s: %s %s\n", paths[k], err.message, err.detail);
			return 1;
		}
		ok(true, "%s.spm builds (%zu-byte image, %u trie nodes)", names[k],
		   models[k].arena.size, models[k].sp.n_trie);
	}
	for (int k = 0; k < 2; k++)
		check_agreement(names[k], &models[k], &corpus, data_dir);

	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++)
	{
		char	   *suffix;
		size_t		suffix_len;
		char	   *joined;
		Model		m;

		snprintf(path, sizeof(path), "%s/spm_variant_%s.bin", data_dir, variants[v]);
		if (!ok(read_file(path, &suffix, &suffix_len), "variant %s readable", variants[v]))
			continue;
		joined = malloc(len[0] + suffix_len);
		memcpy(joined, bytes[0], len[0]);
		memcpy(joined + len[0], suffix, suffix_len);
		if (ok(load_model((uint8_t *) joined, len[0] + suffix_len, &m, &err),
			   "variant %s builds", variants[v]))
		{
			check_agreement(variants[v], &m, &corpus, data_dir);
			if (strcmp(variants[v], "extras") == 0)
				check_decode_only(variants[v], &m, data_dir);
			tf_arena_free(&m.arena);
		}
		else
			diag("%s: %s", err.message, err.detail);
		free(joined);
		free(suffix);
	}

	check_focused(&models[0], &corpus);
	check_polling(&models[0]);
	check_relocated(&models[0], &corpus);
	check_appended((uint8_t *) bytes[0], len[0], &corpus);
	check_corrupt((uint8_t *) bytes[0], len[0], &corpus);

	for (int k = 0; k < 2; k++)
	{
		tf_arena_free(&models[k].arena);
		free(bytes[k]);
	}
	free_lines(&corpus);
	return done_testing();
}
