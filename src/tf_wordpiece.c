/*
 * tf_wordpiece.c: BERT's WordPiece tokenizer (see tf_wordpiece.h).
 *
 * Encoding streams over the input once. Code points are cleaned and
 * collected into a chunk until whitespace, a CJK ideograph or a special
 * token ends it; the chunk is then lower-cased, accent-stripped, split
 * around punctuation, and each word goes through WordPiece. Lower-casing
 * works on whole chunks because final sigma looks at its neighbours, and
 * punctuation splitting comes after accent stripping because NFD can turn
 * a symbol into ASCII punctuation (U+1FEF becomes '`'). Scratch buffers
 * grow with the longest chunk, so memory is O(input length).
 */
#include "tf_wordpiece.h"

#include <string.h>
#include <utf8proc.h>

#define REPLACEMENT_CHAR 0xFFFD

/* A growing array of code points: int32[cap], the first n in use. */
typedef struct CpBuf
{
	int32_t    *v;
	size_t		n;
	size_t		cap;
} CpBuf;

/* State of one tf_wordpiece_encode call. */
typedef struct Encoder
{
	const void *image;
	const TfWordPiece *wp;
	int32_t    *ids;			/* int32[max_ids], the caller's output */
	int32_t		max_ids;
	int32_t		n_ids;			/* ids produced so far (may pass max_ids
								 * inside a word, see emit) */
	CpBuf		chunk;			/* cleaned code points of the current chunk */
	CpBuf		lower;			/* the chunk lower-cased */
	CpBuf		nfd;			/* then decomposed, accents dropped */
	CpBuf		sort_tmp;		/* scratch for canonical ordering */
	char	   *word;			/* char[prefix_len + 4 * word_cap]: UTF-8 of one
								 * word, with room for the prefix in front */
	uint32_t   *word_off;		/* uint32[word_cap + 1]: byte offset of each
								 * code point of the word in `word` */
	size_t		word_cap;		/* code points `word` has room for */
	uint32_t	steps;			/* code points handled, for
								 * tf_check_interrupts_every */
} Encoder;

/* Make room for at least `need` code points in b, growing it by doubling. */
static void
cp_reserve(CpBuf *b, size_t need)
{
	if (need <= b->cap)
		return;
	while (b->cap < need)
		b->cap = b->cap ? 2 * b->cap : 64;
	b->v = tf_realloc(b->v, b->cap * sizeof(int32_t));
}

/* Append code point c to b. */
static void
cp_push(CpBuf *b, int32_t c)
{
	cp_reserve(b, b->n + 1);
	b->v[b->n++] = c;
}

/*
 * Decode the code point at s[*pos] (*pos < len) and advance *pos. Returns -1
 * for ill-formed input after consuming one maximal subpart of it (at least
 * one byte), so that a lossy decoder's single U+FFFD stands for it.
 */
static int32_t
utf8_next(const unsigned char *s, size_t len, size_t *pos)
{
	size_t		i = *pos;
	unsigned char b = s[i++];
	unsigned char lo = 0x80,
				hi = 0xBF;		/* allowed range of the next byte */
	int			need;
	int32_t		cp;

	if (b < 0x80)
	{
		*pos = i;
		return b;
	}
	if (b >= 0xC2 && b <= 0xDF)
	{
		need = 1;
		cp = b & 0x1F;
	}
	else if (b >= 0xE0 && b <= 0xEF)
	{
		need = 2;
		cp = b & 0x0F;
		if (b == 0xE0)
			lo = 0xA0;			/* no overlong forms */
		else if (b == 0xED)
			hi = 0x9F;			/* no surrogates */
	}
	else if (b >= 0xF0 && b <= 0xF4)
	{
		need = 3;
		cp = b & 0x07;
		if (b == 0xF0)
			lo = 0x90;
		else if (b == 0xF4)
			hi = 0x8F;			/* nothing above U+10FFFF */
	}
	else
	{
		*pos = i;
		return -1;
	}
	while (need-- > 0)
	{
		if (i >= len || s[i] < lo || s[i] > hi)
		{
			*pos = i;
			return -1;
		}
		cp = (cp << 6) | (s[i++] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*pos = i;
	return cp;
}

/* Write code point c (a Unicode scalar value) as UTF-8 at out; returns the
 * number of bytes (1 to 4). */
static size_t
utf8_put(int32_t c, char *out)
{
	unsigned char *o = (unsigned char *) out;

	if (c < 0x80)
	{
		o[0] = (unsigned char) c;
		return 1;
	}
	if (c < 0x800)
	{
		o[0] = (unsigned char) (0xC0 | (c >> 6));
		o[1] = (unsigned char) (0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000)
	{
		o[0] = (unsigned char) (0xE0 | (c >> 12));
		o[1] = (unsigned char) (0x80 | ((c >> 6) & 0x3F));
		o[2] = (unsigned char) (0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (unsigned char) (0xF0 | (c >> 18));
	o[1] = (unsigned char) (0x80 | ((c >> 12) & 0x3F));
	o[2] = (unsigned char) (0x80 | ((c >> 6) & 0x3F));
	o[3] = (unsigned char) (0x80 | (c & 0x3F));
	return 4;
}

/* Unicode White_Space (what Rust's char::is_whitespace and, after control
 * characters are removed, JavaScript's \s and Python's str.split use). */
static bool
is_whitespace(int32_t c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 ||
		c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
		c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Control character as BERT's clean_text sees it: categories Cc, Cf, Co, Cs,
 * but tab, newline and carriage return count as whitespace. (Python's slow
 * tokenizer also drops unassigned code points, Cn; the tokenizer.json
 * implementations, Rust and JavaScript, keep them, and so do we.) */
static bool
is_control(int32_t c)
{
	if (c == '\t' || c == '\n' || c == '\r')
		return false;
	switch (utf8proc_category(c))
	{
		case UTF8PROC_CATEGORY_CC:
		case UTF8PROC_CATEGORY_CF:
		case UTF8PROC_CATEGORY_CO:
		case UTF8PROC_CATEGORY_CS:
			return true;
		default:
			return false;
	}
}

/* Punctuation for BERT: all ASCII non-alphanumeric printable characters
 * ($, +, <, ^, ` ... are symbols in Unicode) plus Unicode categories P*. */
static bool
is_punctuation(int32_t c)
{
	if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
		(c >= 91 && c <= 96) || (c >= 123 && c <= 126))
		return true;
	switch (utf8proc_category(c))
	{
		case UTF8PROC_CATEGORY_PC:
		case UTF8PROC_CATEGORY_PD:
		case UTF8PROC_CATEGORY_PS:
		case UTF8PROC_CATEGORY_PE:
		case UTF8PROC_CATEGORY_PI:
		case UTF8PROC_CATEGORY_PF:
		case UTF8PROC_CATEGORY_PO:
			return true;
		default:
			return false;
	}
}

/* A CJK ideograph, in the blocks BERT's _is_chinese_char lists. */
static bool
is_chinese_char(int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
		(c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
		(c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
		(c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Unicode Case_Ignorable: Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter,
 * MidNumLet and Single_Quote (listed here; utf8proc lacks Word_Break). */
static bool
is_case_ignorable(int32_t c)
{
	switch (utf8proc_category(c))
	{
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_ME:
		case UTF8PROC_CATEGORY_CF:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_SK:
			return true;
		default:
			break;
	}
	switch (c)
	{
		case 0x0027:
		case 0x002E:
		case 0x003A:
		case 0x00B7:
		case 0x0387:
		case 0x055F:
		case 0x05F4:
		case 0x2018:
		case 0x2019:
		case 0x2024:
		case 0x2027:
		case 0xFE13:
		case 0xFE52:
		case 0xFE55:
		case 0xFF07:
		case 0xFF0E:
		case 0xFF1A:
			return true;
		default:
			return false;
	}
}

/* Unicode Cased: Lu, Ll, Lt, anything with a case mapping (Roman numerals,
 * circled letters), and the few Other_Lowercase/Other_Uppercase characters
 * without one that are not case-ignorable anyway. */
static bool
is_cased(int32_t c)
{
	switch (utf8proc_category(c))
	{
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
			return true;
		default:
			break;
	}
	return utf8proc_tolower(c) != c || utf8proc_toupper(c) != c ||
		c == 0xAA || c == 0xBA || (c >= 0x1F130 && c <= 0x1F149) ||
		(c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189);
}

/* Whether the capital sigma at s[i] (s: int32[n]) ends a word, by Unicode's
 * Final_Sigma condition: a cased letter before it and none after it,
 * skipping case-ignorable characters both ways. */
static bool
is_final_sigma(const int32_t *s, size_t n, size_t i)
{
	size_t		j = i;

	while (j > 0 && is_case_ignorable(s[j - 1]))
		j--;
	if (j == 0 || !is_cased(s[j - 1]))
		return false;
	for (j = i + 1; j < n && is_case_ignorable(s[j]); j++)
		;
	return j == n || !is_cased(s[j]);
}

/* Append the full lower-case mapping of s[i] (s: int32[n]) to out, as
 * JavaScript's toLowerCase and Python's str.lower do: simple mappings plus
 * SpecialCasing's U+0130 and final sigma. */
static void
push_lower(CpBuf *out, const int32_t *s, size_t n, size_t i)
{
	int32_t		c = s[i];

	if (c == 0x0130)
	{
		cp_push(out, 'i');
		cp_push(out, 0x0307);
	}
	else if (c == 0x03A3)
		cp_push(out, is_final_sigma(s, n, i) ? 0x03C2 : 0x03C3);
	else
		cp_push(out, utf8proc_tolower(c));
}

/* Append the canonical decomposition of c to out (not yet reordered). */
static void
push_nfd(CpBuf *out, int32_t c)
{
	utf8proc_int32_t d[8];		/* canonical decompositions are at most 4
								 * long */
	int			boundclass = 0;
	utf8proc_ssize_t k = utf8proc_decompose_char(c, d, 8, UTF8PROC_DECOMPOSE, &boundclass);

	if (k < 1 || k > 8)
	{
		cp_push(out, c);
		return;
	}
	for (utf8proc_ssize_t j = 0; j < k; j++)
		cp_push(out, d[j]);
}

/* Canonical combining class of c. */
static int
ccc(int32_t c)
{
	return utf8proc_get_property(c)->combining_class;
}

/*
 * Stable sort of v[n], a run of non-starters, by combining class: insertion
 * sort for short runs, counting sort (with tmp as scratch) for long ones so
 * that a hostile run of marks stays linear (and polls for interrupts,
 * counting in *steps).
 */
static void
sort_run(int32_t *v, size_t n, CpBuf *tmp, uint32_t *steps)
{
	if (n <= 16)
	{
		for (size_t i = 1; i < n; i++)
		{
			int32_t		c = v[i];
			int			cc = ccc(c);
			size_t		j = i;

			for (; j > 0 && ccc(v[j - 1]) > cc; j--)
				v[j] = v[j - 1];
			v[j] = c;
		}
	}
	else
	{
		size_t		start[257] = {0};	/* first slot of each class */

		for (size_t i = 0; i < n; i++)
		{
			start[ccc(v[i]) + 1]++;
			tf_check_interrupts_every(steps);
		}
		for (int k = 1; k < 257; k++)
			start[k] += start[k - 1];
		cp_reserve(tmp, n);
		for (size_t i = 0; i < n; i++)
		{
			tmp->v[start[ccc(v[i])]++] = v[i];
			tf_check_interrupts_every(steps);
		}
		memcpy(v, tmp->v, n * sizeof(int32_t));
	}
}

/* Put b's code points in canonical order (NFD's last step) and then drop
 * the nonspacing marks (Mn): BERT's strip-accents. Polls for interrupts,
 * counting in *steps. */
static void
order_and_strip_marks(CpBuf *b, CpBuf *tmp, uint32_t *steps)
{
	size_t		kept = 0;

	for (size_t i = 0; i < b->n;)
	{
		size_t		j = i;		/* b->v[i..j) is a run of non-starters */

		while (j < b->n && ccc(b->v[j]) != 0)
		{
			j++;
			tf_check_interrupts_every(steps);
		}
		tf_check_interrupts_every(steps);
		if (j - i > 1)
			sort_run(b->v + i, j - i, tmp, steps);
		i = j + 1;				/* past the starter that ends the run */
	}
	for (size_t i = 0; i < b->n; i++)
	{
		if (utf8proc_category(b->v[i]) != UTF8PROC_CATEGORY_MN)
			b->v[kept++] = b->v[i];
		tf_check_interrupts_every(steps);
	}
	b->n = kept;
}

/* Record one output id. Ids past max_ids are counted but not stored, so that
 * a word that turns out unknown can still take back its pieces. */
static void
emit(Encoder *e, int32_t id)
{
	if (e->n_ids < e->max_ids)
		e->ids[e->n_ids] = id;
	e->n_ids++;
}

/* WordPiece one word (w: int32[n] code points): greedy longest match first,
 * continuation pieces looked up with the prefix; [UNK] for the whole word if
 * it is too long or some remainder matches nothing. */
static void
wordpiece(Encoder *e, const int32_t *w, size_t n)
{
	const TfWordPiece *wp = e->wp;
	const char *prefix = TF_AT(e->image, wp->prefix, const char);
	size_t		plen = wp->prefix_len;
	int32_t		first = e->n_ids;
	size_t		end;

	if (n > (size_t) wp->max_input_chars_per_word)
	{
		emit(e, wp->unk_id);
		return;
	}
	if (n > e->word_cap)
	{
		e->word_cap = n;
		e->word = tf_realloc(e->word, plen + 4 * n);
		e->word_off = tf_realloc(e->word_off, (n + 1) * sizeof(uint32_t));
	}
	e->word_off[0] = (uint32_t) plen;
	for (size_t k = 0; k < n; k++)
		e->word_off[k + 1] = e->word_off[k] + (uint32_t) utf8_put(w[k], e->word + e->word_off[k]);

	for (size_t s = 0; s < n; s = end)
	{
		/* a continuation piece is looked up as prefix + text: write the
		 * prefix over the bytes just before it, which are consumed */
		size_t		from = s > 0 ? e->word_off[s] - plen : e->word_off[s];
		int32_t		id = -1;

		if (s > 0)
			memcpy(e->word + from, prefix, plen);
		for (end = n; end > s; end--)
		{
			size_t		bytes = e->word_off[end] - from;

			if (bytes <= wp->max_token_bytes &&
				(id = tf_vocab_lookup(e->image, &wp->vocab, e->word + from, bytes)) >= 0)
				break;
		}
		if (id < 0)
		{
			e->n_ids = first;
			emit(e, wp->unk_id);
			return;
		}
		emit(e, id);
	}
}

/* Finish the current chunk: lower-case, strip accents, split around
 * punctuation and WordPiece each part. */
static void
flush_chunk(Encoder *e)
{
	const TfWordPiece *wp = e->wp;
	CpBuf	   *src = &e->chunk;
	size_t		start = 0;

	if (e->chunk.n == 0)
		return;
	if (wp->lowercase)
	{
		e->lower.n = 0;
		for (size_t i = 0; i < src->n; i++)
		{
			push_lower(&e->lower, src->v, src->n, i);
			tf_check_interrupts_every(&e->steps);
		}
		src = &e->lower;
	}
	if (wp->strip_accents)
	{
		e->nfd.n = 0;
		for (size_t i = 0; i < src->n; i++)
		{
			push_nfd(&e->nfd, src->v[i]);
			tf_check_interrupts_every(&e->steps);
		}
		order_and_strip_marks(&e->nfd, &e->sort_tmp, &e->steps);
		src = &e->nfd;
	}
	for (size_t i = 0; i < src->n; i++)
	{
		tf_check_interrupts_every(&e->steps);
		if (!is_punctuation(src->v[i]))
			continue;
		if (i > start)
			wordpiece(e, src->v + start, i - start);
		wordpiece(e, src->v + i, 1);
		start = i + 1;
	}
	if (start < src->n)
		wordpiece(e, src->v + start, src->n - start);
	e->chunk.n = 0;
}

/* Take one input code point through clean-text and CJK spacing into the
 * current chunk, ending the chunk where a space would split it. */
static void
feed(Encoder *e, int32_t c)
{
	const TfWordPiece *wp = e->wp;

	if (wp->clean_text && (c == 0 || c == REPLACEMENT_CHAR || is_control(c)))
		return;
	if (is_whitespace(c))
		flush_chunk(e);
	else if (wp->tokenize_chinese_chars && is_chinese_char(c))
	{
		flush_chunk(e);
		cp_push(&e->chunk, c);
		flush_chunk(e);
	}
	else
		cp_push(&e->chunk, c);
}

/* Id of the longest special token that text[0..left) starts with, its
 * length in *mlen; -1 if none. */
static int32_t
match_special(const void *image, const TfWordPiece *wp, const char *text, size_t left,
			  uint32_t *mlen)
{
	const int32_t *special = TF_AT(image, wp->special_ids, const int32_t);
	int32_t		best = -1;

	*mlen = 0;
	for (int32_t k = 0; k < wp->n_special; k++)
	{
		uint32_t	len;
		const char *tok = tf_vocab_token(image, &wp->vocab, special[k], &len);

		if (len > *mlen && len <= left && tok[0] == text[0] && memcmp(tok, text, len) == 0)
		{
			best = special[k];
			*mlen = len;
		}
	}
	return best;
}

/* Tokenize text[len] into at most max_ids ids (see tf_wordpiece.h). */
int32_t
tf_wordpiece_encode(const void *image, const TfWordPiece *wp, const char *text, size_t len,
					int32_t *ids, int32_t max_ids)
{
	Encoder		e;
	size_t		pos = 0;

	if (max_ids <= 0)
		return 0;
	memset(&e, 0, sizeof(e));
	e.image = image;
	e.wp = wp;
	e.ids = ids;
	e.max_ids = max_ids;

	while (pos < len && e.n_ids < max_ids)
	{
		uint32_t	mlen;
		int32_t		special = match_special(image, wp, text + pos, len - pos, &mlen);
		int32_t		c;

		if (special >= 0)
		{
			flush_chunk(&e);
			emit(&e, special);
			pos += mlen;
			continue;
		}
		c = utf8_next((const unsigned char *) text, len, &pos);
		feed(&e, c < 0 ? REPLACEMENT_CHAR : c);
		tf_check_interrupts_every(&e.steps);
	}
	if (e.n_ids < max_ids)
		flush_chunk(&e);

	tf_free(e.chunk.v);
	tf_free(e.lower.v);
	tf_free(e.nfd.v);
	tf_free(e.sort_tmp.v);
	tf_free(e.word);
	tf_free(e.word_off);
	return e.n_ids < max_ids ? e.n_ids : max_ids;
}

/* bert-base-uncased's options, no special tokens. */
TfWordPieceOptions
tf_wordpiece_default_options(void)
{
	TfWordPieceOptions o;

	memset(&o, 0, sizeof(o));
	o.lowercase = true;
	o.strip_accents = -1;
	o.tokenize_chinese_chars = true;
	o.clean_text = true;
	o.unk_token = "[UNK]";
	o.continuing_prefix = "##";
	o.max_input_chars_per_word = 100;
	return o;
}

/* Id of the NUL-terminated token s in the vocabulary being built, or a
 * TF_ERR_FORMAT error naming `what`. */
static bool
lookup_required(const TfArena *arena, const TfVocab *vocab, const char *s, const char *what,
				int32_t *id, TfError *err)
{
	*id = tf_vocab_lookup(arena->base, vocab, s, strlen(s));
	if (*id < 0)
	{
		tf_fail(err, TF_ERR_FORMAT, "%s \"%s\" is not in the vocabulary", what, s);
		return tf_fail_detail(err, "Every special token of a WordPiece tokenizer must be one of its vocabulary entries.");
	}
	return true;
}

/* Build the vocabulary and tables into the arena; fill *out. */
bool
tf_wordpiece_build(TfArena *arena, const char *const *tokens, const uint32_t *lens,
				   int32_t n, const TfWordPieceOptions *opts, TfWordPiece *out, TfError *err)
{
	TfWordPiece wp;
	int32_t    *special;		/* int32[n_special], outside the arena */

	if (opts->unk_token == NULL || opts->continuing_prefix == NULL ||
		opts->n_special < 0 || (opts->n_special > 0 && opts->special_tokens == NULL))
		return tf_fail(err, TF_ERR_INPUT, "incomplete WordPiece options");
	if (opts->max_input_chars_per_word <= 0)
		return tf_fail(err, TF_ERR_INPUT, "max_input_chars_per_word must be positive, not %d",
					   opts->max_input_chars_per_word);
	if (strlen(opts->continuing_prefix) > 64)
		return tf_fail(err, TF_ERR_INPUT, "continuing subword prefix is too long");

	memset(&wp, 0, sizeof(wp));
	if (!tf_vocab_build(arena, tokens, lens, n, &wp.vocab, err))
		return false;
	wp.lowercase = opts->lowercase;
	wp.strip_accents = opts->strip_accents < 0 ? opts->lowercase : opts->strip_accents != 0;
	wp.tokenize_chinese_chars = opts->tokenize_chinese_chars;
	wp.clean_text = opts->clean_text;
	wp.max_input_chars_per_word = opts->max_input_chars_per_word;
	for (int32_t i = 0; i < n; i++)
		if (lens[i] > wp.max_token_bytes)
			wp.max_token_bytes = lens[i];
	if (!lookup_required(arena, &wp.vocab, opts->unk_token, "unknown token", &wp.unk_id, err))
		return false;

	special = tf_alloc(sizeof(int32_t) * (opts->n_special + 1));
	for (int i = 0; i < opts->n_special; i++)
	{
		if (!lookup_required(arena, &wp.vocab, opts->special_tokens[i], "special token",
							 &special[i], err))
		{
			tf_free(special);
			return false;
		}
	}
	wp.n_special = opts->n_special;
	wp.special_ids = tf_arena_push(arena, special, sizeof(int32_t) * opts->n_special, 8);
	tf_free(special);

	wp.prefix_len = (uint32_t) strlen(opts->continuing_prefix);
	wp.prefix = tf_arena_push(arena, opts->continuing_prefix, wp.prefix_len, 1);
	*out = wp;
	return true;
}

/* Split vocab.txt into lines (ids by line number) and build from them. */
bool
tf_wordpiece_build_from_vocab_txt(TfArena *arena, const char *data, size_t len,
								  const TfWordPieceOptions *opts, TfWordPiece *out,
								  TfError *err)
{
	const char **tokens;		/* const char *[max_lines]: line starts in data */
	uint32_t   *lens;			/* uint32[max_lines]: line lengths, no line end */
	size_t		max_lines = 1;
	int32_t		n = 0;
	size_t		pos = 0;
	bool		ok;

	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n' || data[i] == '\r')
			max_lines++;
	if (max_lines > ((size_t) 1 << 28))
		return tf_fail(err, TF_ERR_LIMIT, "vocabulary is too large (%zu lines)", max_lines);

	tokens = tf_alloc(sizeof(char *) * max_lines);
	lens = tf_alloc(sizeof(uint32_t) * max_lines);
	while (pos < len)
	{
		size_t		start = pos;

		while (pos < len && data[pos] != '\n' && data[pos] != '\r')
		{
			if (utf8_next((const unsigned char *) data, len, &pos) < 0)
			{
				tf_free(tokens);
				tf_free(lens);
				tf_fail(err, TF_ERR_FORMAT, "vocab.txt is not valid UTF-8 (line %d)", n + 1);
				return tf_fail_detail(err, "The invalid sequence ends at byte offset %zu.", pos);
			}
		}
		tokens[n] = data + start;
		lens[n] = (uint32_t) (pos - start);
		n++;
		/* skip the line end: \r\n, \r or \n */
		if (pos + 1 < len && data[pos] == '\r' && data[pos + 1] == '\n')
			pos += 2;
		else if (pos < len)
			pos++;
	}
	ok = tf_wordpiece_build(arena, tokens, lens, n, opts, out, err);
	tf_free(tokens);
	tf_free(lens);
	return ok;
}

/* Is id one of the tokenizer's special tokens? */
static bool
is_special(const void *image, const TfWordPiece *wp, int32_t id)
{
	const int32_t *special = TF_AT(image, wp->special_ids, const int32_t);

	for (int32_t k = 0; k < wp->n_special; k++)
		if (special[k] == id)
			return true;
	return false;
}

/* Append s[0..n) to out with the WordPiece decoder's cleanup applied: each
 * pair (from, to) replaced everywhere, in turn. */
static void
append_cleaned(TfBuffer *out, const char *s, size_t n)
{
	static const char *const cleanup[][2] = {
		{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
		{" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
	};
	TfBuffer	cur,
				next;

	tf_buffer_init(&cur, n + 1);
	tf_buffer_append(&cur, s, n);
	for (size_t r = 0; r < sizeof(cleanup) / sizeof(cleanup[0]); r++)
	{
		size_t		flen = strlen(cleanup[r][0]);

		tf_buffer_init(&next, cur.len + 1);
		for (size_t i = 0; i < cur.len;)
		{
			if (i + flen <= cur.len && memcmp(cur.data + i, cleanup[r][0], flen) == 0)
			{
				tf_buffer_append(&next, cleanup[r][1], strlen(cleanup[r][1]));
				i += flen;
			}
			else
				tf_buffer_append(&next, cur.data + i++, 1);
		}
		tf_free(cur.data);
		cur = next;
	}
	tf_buffer_append(out, cur.data, cur.len);
	tf_free(cur.data);
}

char *
tf_wordpiece_decode(const void *image, const TfWordPiece *wp, const int32_t *ids, int32_t n,
					bool skip_special, size_t *len)
{
	const char *prefix = TF_AT(image, wp->prefix, const char);
	TfBuffer	out;
	TfBuffer	piece;
	int32_t		kept = 0;

	tf_buffer_init(&out, 64);
	tf_buffer_init(&piece, 64);
	for (int32_t i = 0; i < n; i++)
	{
		uint32_t	tlen;
		const char *tok;

		if (skip_special && is_special(image, wp, ids[i]))
			continue;
		tok = tf_vocab_token(image, &wp->vocab, ids[i], &tlen);
		piece.len = 0;
		/* after the first token: a continuation loses its prefix, any other
		 * token is preceded by a space */
		if (kept > 0 && wp->prefix_len > 0 && tlen >= wp->prefix_len &&
			memcmp(tok, prefix, wp->prefix_len) == 0)
			tf_buffer_append(&piece, tok + wp->prefix_len, tlen - wp->prefix_len);
		else
		{
			if (kept > 0)
				tf_buffer_append(&piece, " ", 1);
			tf_buffer_append(&piece, tok, tlen);
		}
		append_cleaned(&out, piece.data, piece.len);
		kept++;
	}
	tf_free(piece.data);
	*len = out.len;
	return out.data;
}
