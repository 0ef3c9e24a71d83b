/*
 * tf_wordpiece.h: BERT's WordPiece tokenizer, as Hugging Face's
 * BertTokenizer / tokenizer.json (BertNormalizer + BertPreTokenizer +
 * WordPiece) computes it.
 *
 * Pipeline for one input text (UTF-8; invalid bytes read as U+FFFD, one per
 * maximal invalid subsequence, as a lossy UTF-8 decoder does):
 *   1. special tokens ([CLS], [MASK], ...) are found verbatim in the raw text,
 *      leftmost and then longest first, and kept whole; the text between them
 *      goes through steps 2-6 on its own;
 *   2. clean text: drop U+0000, U+FFFD and control characters (categories
 *      Cc, Cf, Co, Cs except tab, newline, carriage return), turn whitespace
 *      into a space;
 *   3. put spaces around CJK ideographs;
 *   4. split on whitespace into chunks; lower-case each chunk (full Unicode
 *      lower-casing: U+0130 becomes "i" + U+0307, capital sigma becomes final
 *      sigma at the end of a word), then strip accents (NFD, drop Mn);
 *   5. split each chunk around punctuation (ASCII ! to /, : to @, [ to `,
 *      { to ~, and Unicode categories P*), each punctuation mark a word;
 *   6. WordPiece each word: greedy longest match first, continuation pieces
 *      carry the prefix "##"; a word longer than max_input_chars_per_word
 *      code points, or with an unmatched remainder, becomes [UNK].
 * Unicode properties come from libutf8proc.
 *
 * Hugging Face's three implementations (Python BertTokenizer, Rust
 * tokenizers, JavaScript transformers.js) disagree in corners; we follow
 * the majority, which includes Python in the first two:
 *   - final sigma: Python and JavaScript lower-case "ΟΔΟΣ" to "οδος", Rust
 *     (per-character lower-casing) to "οδοσ";
 *   - CJK ideographs above U+FFFF: Python and Rust split them off,
 *     JavaScript (testing UTF-16 code units) does not;
 *   - unassigned code points: Rust and JavaScript keep them, Python's
 *     clean_text drops them (category Cn starts with "C").
 * Character properties follow utf8proc's Unicode version (15.0 for 2.8);
 * Rust's tables are older, so it differs on recently assigned characters.
 *
 * Image layout (all inside the caller's model image, see tf_arena.h):
 *   TfWordPiece   embedded by the caller in its own image structures
 *   vocab         a TfVocab (tf_vocab.h)
 *   prefix        char[prefix_len]          continuation prefix, e.g. "##"
 *   special_ids   int32[n_special]          vocabulary ids of special tokens
 */
#ifndef TF_WORDPIECE_H
#define TF_WORDPIECE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tf_arena.h"
#include "tf_runtime.h"
#include "tf_vocab.h"

/* Build options; the field names follow Hugging Face's BertTokenizer. */
typedef struct TfWordPieceOptions
{
	bool		lowercase;		/* do_lower_case */
	int			strip_accents;	/* -1: follow lowercase (HF default None); 0: no; 1: yes */
	bool		tokenize_chinese_chars; /* HF default true */
	bool		clean_text;		/* HF default true */
	const char *unk_token;		/* "[UNK]" */
	const char *continuing_prefix;	/* "##" */
	int			max_input_chars_per_word;	/* 100 */
	const char *const *special_tokens;	/* const char *[n_special]: tokens
										 * matched verbatim in raw input and
										 * never split, e.g. [CLS] [SEP] [PAD]
										 * [MASK] [UNK]; each must be in the
										 * vocabulary */
	int			n_special;
} TfWordPieceOptions;

/* A built tokenizer; lives inside a model image (no pointers). */
typedef struct TfWordPiece
{
	TfVocab		vocab;			/* id <-> token */
	bool		lowercase;
	bool		strip_accents;	/* resolved: -1 became lowercase */
	bool		tokenize_chinese_chars;
	bool		clean_text;
	int32_t		unk_id;			/* id of unk_token */
	int32_t		max_input_chars_per_word;
	uint32_t	max_token_bytes;	/* longest vocabulary entry in bytes */
	uint32_t	prefix_len;		/* bytes in prefix */
	TfOffset	prefix;			/* char[prefix_len] */
	int32_t		n_special;
	TfOffset	special_ids;	/* int32[n_special] */
} TfWordPiece;

/* Options as bert-base-uncased's tokenizer_config.json sets them, without
 * special tokens (callers add those). */
TfWordPieceOptions tf_wordpiece_default_options(void);

/* Build from tokens in id order (token i has id i) into the arena; fill *out.
 * tokens: const char *[n], lens: uint32[n] (bytes, no terminator needed). */
bool		tf_wordpiece_build(TfArena *arena, const char *const *tokens, const uint32_t *lens,
							   int32_t n, const TfWordPieceOptions *opts, TfWordPiece *out,
							   TfError *err);

/* Same, from the bytes of a vocab.txt file: one token per line, as Hugging
 * Face's load_vocab reads it (lines end at \n, \r\n or \r; only the line end
 * is stripped; the file must be valid UTF-8). */
bool		tf_wordpiece_build_from_vocab_txt(TfArena *arena, const char *data, size_t len,
											  const TfWordPieceOptions *opts, TfWordPiece *out,
											  TfError *err);

/* Tokenize UTF-8 text[len] into ids WITHOUT [CLS]/[SEP]. Writes at most
 * max_ids ids to ids (int32[max_ids]) and returns how many it wrote: the
 * first max_ids ids of the full result. Stops reading once ids is full.
 * Reentrant; scratch memory through tf_alloc, O(len), freed before return. */
int32_t		tf_wordpiece_encode(const void *image, const TfWordPiece *wp, const char *text,
								size_t len, int32_t *ids, int32_t max_ids);

/*
 * Text of ids[n], as Hugging Face's tokenizer.json WordPiece decoder gives
 * it (tokenizer.decode with the fast tokenizer): special tokens dropped when
 * skip_special; after the first kept token, a continuation piece loses its
 * prefix and any other token gets a space before it; then the decoder's
 * cleanup on each token (" ." -> ".", " ," -> ",", " 's" -> "'s", ...).
 * Returns tf_alloc'd UTF-8, NUL-terminated; *len its bytes.
 */
char	   *tf_wordpiece_decode(const void *image, const TfWordPiece *wp, const int32_t *ids,
								int32_t n, bool skip_special, size_t *len);

#endif							/* TF_WORDPIECE_H */
