/*
 * tf_sentencepiece.h: SentencePiece unigram tokenizer, output identical to
 * the reference implementation's spm_encode / spm_decode (checked against
 * sentencepiece 0.1.97 by test/unit/test_sentencepiece.c).
 *
 * Input format: a `.spm` file is a serialized sentencepiece.ModelProto
 * (protobuf, proto2; see sentencepiece_model.proto upstream). Fields read:
 *   ModelProto       1 pieces (repeated), 2 trainer_spec, 3 normalizer_spec,
 *                    5 denormalizer_spec
 *   SentencePiece    1 piece, 2 score (float), 3 type (enum TfSpmPieceType)
 *   TrainerSpec      3 model_type, 24 treat_whitespace_as_suffix,
 *                    35 byte_fallback, 44 unk_surface, 46-48 bos/eos/pad piece
 *   NormalizerSpec   2 precompiled_charsmap, 3 add_dummy_prefix,
 *                    4 remove_extra_whitespaces, 5 escape_whitespaces
 * Every other field is skipped, as protobuf skips unknown fields. Rejected
 * with TF_ERR_UNSUPPORTED: model types other than UNIGRAM,
 * treat_whitespace_as_suffix, a denormalizer with its own charsmap. Rejected
 * with TF_ERR_FORMAT: malformed protobuf, a missing trainer_spec or
 * normalizer_spec (which is how truncation shows), empty or duplicate pieces,
 * not exactly one UNKNOWN piece, byte pieces that do not match byte_fallback,
 * a broken charsmap header. (Stricter than spm in two corners: spm lets a
 * CONTROL/UNKNOWN/BYTE piece share its text with a normal piece, and loads
 * files without the two specs.)
 *
 * precompiled_charsmap layout (little-endian):
 *   uint32 trie_bytes, then a Darts-clone double array of trie_bytes / 4
 *   uint32 units over UTF-8 prefixes, then NUL-terminated replacement strings
 *   that the trie's values index.
 *
 * Encoding (tf_spm_encode):
 *   1. normalize: at each position the longest user-defined piece is kept as
 *      is, else the charsmap's longest prefix is replaced, else one UTF-8
 *      character is copied (an invalid byte becomes U+FFFD); then
 *      remove_extra_whitespaces (strip both ends, collapse runs),
 *      add_dummy_prefix, and ' ' -> U+2581 when escape_whitespaces;
 *   2. segment: Viterbi over the normalized bytes, as spm's optimized
 *      unigram encoder does (same float/double arithmetic, same tie-breaks):
 *      NORMAL pieces score their own score, USER_DEFINED pieces
 *      bytes * max_score - 0.1, UNUSED pieces never match, a character no
 *      piece covers becomes the unknown piece at min_score - 10;
 *   3. consecutive unknown pieces are merged into one, or with byte_fallback
 *      each unknown piece becomes its <0xXX> byte pieces.
 * CONTROL pieces (<s>, </s>, <pad>) are never produced from text.
 *
 * Image layout written by tf_spm_build (all referenced by TfOffset):
 *   pieces       TfVocab                  spm id <-> piece text
 *   scores       float[n_pieces]
 *   types        uint8_t[n_pieces]        TfSpmPieceType
 *   trie         TfSpmTrieNode[n_trie]    NORMAL, USER_DEFINED and UNUSED pieces
 *   byte_ids     int32_t[256]             id of <0xXX>, only with byte_fallback
 *   charsmap     uint8_t[charsmap_size]   precompiled_charsmap as stored
 *   unk_surface  char[unk_surface_len]    what decoding prints for <unk>
 */
#ifndef TF_SENTENCEPIECE_H
#define TF_SENTENCEPIECE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tf_arena.h"
#include "tf_runtime.h"
#include "tf_vocab.h"

/* ModelProto.SentencePiece.Type */
typedef enum TfSpmPieceType
{
	TF_SPM_NORMAL = 1,
	TF_SPM_UNKNOWN = 2,
	TF_SPM_CONTROL = 3,
	TF_SPM_USER_DEFINED = 4,
	TF_SPM_UNUSED = 5,
	TF_SPM_BYTE = 6
} TfSpmPieceType;

/*
 * One node of the piece trie. The children of a node are contiguous in the
 * node array and sorted by label; node 0 is the root.
 */
typedef struct TfSpmTrieNode
{
	uint32_t	first_child;	/* index of the first child */
	int32_t		id;				/* piece that ends here, or -1 */
	uint16_t	n_children;		/* 0 .. 256 */
	uint8_t		label;			/* byte on the edge from the parent */
	uint8_t		pad;
} TfSpmTrieNode;

/* Longest normalized text tf_spm_encode accepts (bytes): the lattice takes
 * 12 bytes per normalized byte, which keeps it below PostgreSQL's 1 GB
 * allocation limit. */
#define TF_SPM_MAX_NORMALIZED ((size_t) 64 << 20)

typedef struct TfSentencePiece
{								/* lives inside a model image */
	TfVocab		pieces;			/* spm id <-> piece text */
	TfOffset	scores;			/* float[pieces.size] */
	TfOffset	types;			/* uint8_t[pieces.size]: TfSpmPieceType */
	int32_t		unk_id;			/* the UNKNOWN piece */
	int32_t		bos_id;			/* CONTROL piece bos_piece ("<s>"), or -1 */
	int32_t		eos_id;			/* CONTROL piece eos_piece ("</s>"), or -1 */
	int32_t		pad_id;			/* CONTROL piece pad_piece ("<pad>"), or -1 */
	float		min_score;		/* lowest NORMAL score (FLT_MAX if none) */
	float		max_score;		/* highest NORMAL score (FLT_MIN if none) */
	bool		byte_fallback;	/* unknown pieces become <0xXX> pieces */
	bool		has_user_defined;	/* some piece is USER_DEFINED */
	uint32_t	n_trie;			/* trie nodes, >= 1 */
	TfOffset	trie;			/* TfSpmTrieNode[n_trie] */
	TfOffset	byte_ids;		/* int32_t[256], or 0 without byte_fallback */
	/* normalizer */
	TfOffset	charsmap;		/* uint8_t[charsmap_size], or 0 if none */
	uint32_t	charsmap_size;
	bool		add_dummy_prefix;
	bool		remove_extra_whitespaces;
	bool		escape_whitespaces;
	/* decoder */
	TfOffset	unk_surface;	/* char[unk_surface_len] */
	uint32_t	unk_surface_len;
} TfSentencePiece;

/* Parse a .spm file's bytes into the arena; fill *out. */
bool		tf_spm_build(TfArena *arena, const uint8_t *model, size_t len,
						 TfSentencePiece *out, TfError *err);

/*
 * Normalize and segment UTF-8 text into spm piece ids (no bos/eos); writes
 * at most max_ids ids and returns the number written, or -1 when the
 * normalized text would exceed TF_SPM_MAX_NORMALIZED.
 */
int32_t		tf_spm_encode(const void *image, const TfSentencePiece *sp,
						  const char *text, size_t len,
						  int32_t *ids, int32_t max_ids);

/*
 * Same, returning all ids in a tf_alloc'd int32_t[*n_ids]; NULL (and
 * *n_ids = -1) when the normalized text would exceed TF_SPM_MAX_NORMALIZED.
 */
int32_t    *tf_spm_encode_all(const void *image, const TfSentencePiece *sp,
							  const char *text, size_t len, int32_t *n_ids);

/*
 * The pieces of a text with the normalized text each covers, which is what
 * spm's EncodeAsPieces (Python: encode(text, out_type=str)) returns: a
 * known piece covers its own text, an unknown piece the run of characters
 * no piece covers (e.g. "\xe0\xb8\xa9" for Thai U+0E29, or two adjacent
 * unknown Devanagari letters as one piece), a byte piece one byte.
 */
typedef struct TfSpmPieces
{
	int32_t		n;				/* pieces */
	int32_t    *ids;			/* int32_t[n]: spm ids */
	int32_t    *ends;			/* int32_t[n]: piece i covers normalized[ends[i - 1]
								 * (0 for i = 0) .. ends[i]) */
	char	   *normalized;		/* char[ends[n - 1]]: the normalized text */
} TfSpmPieces;

/*
 * Normalize and segment text into *out (tf_alloc'd; release with
 * tf_spm_pieces_free); false when the normalized text would exceed
 * TF_SPM_MAX_NORMALIZED.
 */
bool		tf_spm_encode_pieces(const void *image, const TfSentencePiece *sp,
								 const char *text, size_t len, TfSpmPieces *out);
void		tf_spm_pieces_free(TfSpmPieces *pieces);

/*
 * Turn piece ids back into text as spm's DecodeIds does (U+2581 -> space,
 * the leading space removed, <unk> -> unk_surface, control pieces dropped,
 * runs of byte pieces -> their UTF-8, invalid bytes -> U+FFFD). Ids outside
 * [0, pieces.size) are skipped (spm fails on them). The result is tf_alloc'd,
 * NUL-terminated, *len bytes.
 */
char	   *tf_spm_decode(const void *image, const TfSentencePiece *sp,
						  const int32_t *ids, int32_t n, size_t *len);

/*
 * Turn piece texts (pieces[i], lens[i] bytes) into text as spm's
 * DecodePieces does: as tf_spm_decode for the pieces the model has, and a
 * piece it lacks printed as it is (U+2581 kept), which also ends the
 * dropping of leading spaces. Result as tf_spm_decode's.
 */
char	   *tf_spm_decode_pieces(const void *image, const TfSentencePiece *sp,
								 const char *const *pieces, const uint32_t *lens, int32_t n,
								 size_t *len);

#endif							/* TF_SENTENCEPIECE_H */
