/*
 * tf_sentencepiece.c: SentencePiece unigram tokenizer (see tf_sentencepiece.h).
 *
 * Written from the behaviour of sentencepiece 0.1.97 (normalizer.cc,
 * unigram_model.cc EncodeOptimized, sentencepiece_processor.cc Encode and
 * Decode); the comments name the spm function each part mirrors.
 *
 * Everything read from the .spm file is bounds-checked while parsing; the
 * charsmap's double array is checked on every step of the walk, since its
 * contents cannot be validated up front.
 */
#include "tf_sentencepiece.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_SYMBOL "\xe2\x96\x81"	/* U+2581, what spaces become */
#define SPACE_SYMBOL_LEN 3
#define REPLACEMENT_CHAR "\xef\xbf\xbd"	/* U+FFFD */
#define UNK_PENALTY 10.0f		/* spm's kUnkPenalty */

/* ---------------------------------------------------------------------
 * Small helpers
 * --------------------------------------------------------------------- */

/* Little-endian uint32 at p (any alignment). */
static uint32_t
load_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
		(uint32_t) p[3] << 24;
}

/*
 * Length of the UTF-8 character at s[0..n) if it is valid by spm's rules
 * (string_util::DecodeUTF8: no overlongs, no surrogates, <= U+10FFFF), else
 * 0. n must be >= 1.
 */
static int
utf8_valid_len(const uint8_t *s, size_t n)
{
	uint32_t	cp;

	if (s[0] < 0x80)
		return 1;
	if (n >= 2 && (s[0] & 0xE0) == 0xC0)
	{
		cp = (uint32_t) (s[0] & 0x1F) << 6 | (s[1] & 0x3F);
		return ((s[1] & 0xC0) == 0x80 && cp >= 0x80) ? 2 : 0;
	}
	if (n >= 3 && (s[0] & 0xF0) == 0xE0)
	{
		cp = (uint32_t) (s[0] & 0x0F) << 12 | (uint32_t) (s[1] & 0x3F) << 6 |
			(s[2] & 0x3F);
		return ((s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
				cp >= 0x800 && (cp < 0xD800 || cp >= 0xE000)) ? 3 : 0;
	}
	if (n >= 4 && (s[0] & 0xF8) == 0xF0)
	{
		cp = (uint32_t) (s[0] & 0x07) << 18 | (uint32_t) (s[1] & 0x3F) << 12 |
			(uint32_t) (s[2] & 0x3F) << 6 | (s[3] & 0x3F);
		return ((s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
				(s[3] & 0xC0) == 0x80 && cp >= 0x10000 && cp <= 0x10FFFF) ? 4 : 0;
	}
	return 0;
}

/* Character length from the lead byte alone (spm's OneCharLen). */
static int
utf8_lead_len(uint8_t c)
{
	return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* The byte a BYTE piece stands for ("<0x41>" -> 0x41), or -1. */
static int
piece_byte(const char *s, size_t len)
{
	int			v = 0;

	if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
		return -1;
	for (int i = 3; i < 5; i++)
	{
		char		c = s[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -1;			/* spm accepts upper-case hex only */
	}
	return v;
}

/*
 * Append s[0..n) to out with every occurrence of `from` replaced by `to`
 * (from_len 0: plain copy). Serves ' ' -> U+2581 when normalizing and
 * U+2581 -> ' ' when decoding.
 */
static void
buf_append_replacing(TfBuffer *out, const char *s, size_t n,
					 const char *from, size_t from_len,
					 const char *to, size_t to_len)
{
	size_t		run = 0;		/* start of the bytes not yet copied */

	for (size_t i = 0; from_len > 0 && i + from_len <= n;)
	{
		if (memcmp(s + i, from, from_len) == 0)
		{
			tf_buffer_append(out, s + run, i - run);
			tf_buffer_append(out, to, to_len);
			i += from_len;
			run = i;
		}
		else
			i++;
	}
	tf_buffer_append(out, s + run, n - run);
}

/* ---------------------------------------------------------------------
 * Protobuf wire format (only what ModelProto needs)
 * --------------------------------------------------------------------- */

typedef struct PbReader
{
	const uint8_t *p;			/* next unread byte */
	const uint8_t *end;			/* one past the message */
	const uint8_t *base;		/* first byte of the file, for error offsets */
	const char *what;			/* message being read, for errors */
	TfError    *err;
} PbReader;

typedef struct PbField
{
	uint32_t	number;			/* field number */
	int			wire;			/* 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
	uint64_t	value;			/* wire 0, 1 and 5 */
	const uint8_t *data;		/* wire 2: payload */
	size_t		len;			/* wire 2: payload bytes */
} PbField;

/* A string or bytes field; data is NULL while the field is absent. */
typedef struct PbBytes
{
	const uint8_t *data;
	size_t		len;
} PbBytes;

/* Reader over the sub-message carried by field f (wire type 2). */
static PbReader
pb_sub(const PbReader *parent, const PbField *f, const char *what)
{
	PbReader	r = {f->data, f->data + f->len, parent->base, what, parent->err};

	return r;
}

/* Read a varint of at most 10 bytes; false if truncated or too long. */
static bool
pb_varint(PbReader *r, uint64_t *v)
{
	uint64_t	x = 0;

	for (int shift = 0; shift <= 63; shift += 7)
	{
		uint8_t		b;

		if (r->p >= r->end)
			return false;
		b = *r->p++;
		x |= (uint64_t) (b & 0x7F) << shift;
		if (b < 0x80)
		{
			*v = x;
			return true;
		}
	}
	return false;
}

/* Fill err for a malformed field at the reader's position; returns false. */
static bool
pb_corrupt(const PbReader *r, const char *why)
{
	tf_fail(r->err, TF_ERR_FORMAT, "sentencepiece model is truncated or corrupt");
	return tf_fail_detail(r->err, "%s in %s at byte %zu of the file.",
						  why, r->what, (size_t) (r->p - r->base));
}

/* Read the next field of the message; false (err filled) if malformed. */
static bool
pb_next(PbReader *r, PbField *f)
{
	uint64_t	tag;
	uint64_t	len;

	if (!pb_varint(r, &tag))
		return pb_corrupt(r, "A field tag is cut short");
	if ((tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF)
		return pb_corrupt(r, "A field number is out of range");
	f->number = (uint32_t) (tag >> 3);
	f->wire = (int) (tag & 7);
	switch (f->wire)
	{
		case 0:
			if (!pb_varint(r, &f->value))
				return pb_corrupt(r, "A varint is cut short or longer than 10 bytes");
			return true;
		case 1:
			if (r->end - r->p < 8)
				return pb_corrupt(r, "A 64-bit field is cut short");
			f->value = load_le32(r->p) | (uint64_t) load_le32(r->p + 4) << 32;
			r->p += 8;
			return true;
		case 2:
			if (!pb_varint(r, &len))
				return pb_corrupt(r, "A length is cut short");
			if (len > (uint64_t) (r->end - r->p))
				return pb_corrupt(r, "A field runs past the end of its message");
			f->data = r->p;
			f->len = (size_t) len;
			r->p += len;
			return true;
		case 5:
			if (r->end - r->p < 4)
				return pb_corrupt(r, "A 32-bit field is cut short");
			f->value = load_le32(r->p);
			r->p += 4;
			return true;
		default:
			return pb_corrupt(r, "A field has an unknown or group wire type");
	}
}

/* The payload of a wire-type-2 field as a PbBytes. */
static PbBytes
pb_bytes(const PbField *f)
{
	PbBytes		b = {f->data, f->len};

	return b;
}

/* ---------------------------------------------------------------------
 * ModelProto parsing
 *
 * As in protobuf, a field with an unexpected wire type or an enum value
 * outside the enum is skipped, a repeated scalar keeps its last value, and a
 * repeated sub-message is merged into the earlier one.
 * --------------------------------------------------------------------- */

/* NormalizerSpec fields we use. */
typedef struct SpmNormSpec
{
	PbBytes		charsmap;		/* precompiled_charsmap */
	bool		add_dummy_prefix;
	bool		remove_extra_whitespaces;
	bool		escape_whitespaces;
} SpmNormSpec;

/* Everything read from the file apart from the pieces. */
typedef struct SpmSpec
{
	int32_t		n_pieces;
	bool		has_trainer;	/* trainer_spec present */
	bool		has_normalizer; /* normalizer_spec present */
	uint64_t	model_type;		/* TrainerSpec.ModelType, 1 = UNIGRAM */
	bool		ws_as_suffix;	/* treat_whitespace_as_suffix */
	bool		byte_fallback;
	PbBytes		unk_surface;
	PbBytes		bos_piece;
	PbBytes		eos_piece;
	PbBytes		pad_piece;
	SpmNormSpec norm;
	SpmNormSpec denorm;
} SpmSpec;

/* Merge one TrainerSpec message into spec. */
static bool
parse_trainer_spec(PbReader r, SpmSpec *spec)
{
	PbField		f;

	while (r.p < r.end)
	{
		if (!pb_next(&r, &f))
			return false;
		if (f.wire == 0)
		{
			if (f.number == 3 && f.value >= 1 && f.value <= 4)
				spec->model_type = f.value;
			else if (f.number == 24)
				spec->ws_as_suffix = f.value != 0;
			else if (f.number == 35)
				spec->byte_fallback = f.value != 0;
		}
		else if (f.wire == 2)
		{
			if (f.number == 44)
				spec->unk_surface = pb_bytes(&f);
			else if (f.number == 46)
				spec->bos_piece = pb_bytes(&f);
			else if (f.number == 47)
				spec->eos_piece = pb_bytes(&f);
			else if (f.number == 48)
				spec->pad_piece = pb_bytes(&f);
		}
	}
	return true;
}

/* Merge one NormalizerSpec message into ns. */
static bool
parse_normalizer_spec(PbReader r, SpmNormSpec *ns)
{
	PbField		f;

	while (r.p < r.end)
	{
		if (!pb_next(&r, &f))
			return false;
		if (f.wire == 2 && f.number == 2)
			ns->charsmap = pb_bytes(&f);
		else if (f.wire == 0 && f.number == 3)
			ns->add_dummy_prefix = f.value != 0;
		else if (f.wire == 0 && f.number == 4)
			ns->remove_extra_whitespaces = f.value != 0;
		else if (f.wire == 0 && f.number == 5)
			ns->escape_whitespaces = f.value != 0;
	}
	return true;
}

/* Read one SentencePiece message (text, score, type; defaults "", 0, NORMAL). */
static bool
parse_piece(PbReader r, PbBytes *text, float *score, uint8_t *type)
{
	PbField		f;

	*text = (PbBytes) {(const uint8_t *) "", 0};
	*score = 0.0f;
	*type = TF_SPM_NORMAL;
	while (r.p < r.end)
	{
		if (!pb_next(&r, &f))
			return false;
		if (f.wire == 2 && f.number == 1)
			*text = pb_bytes(&f);
		else if (f.wire == 5 && f.number == 2)
		{
			uint32_t	bits = (uint32_t) f.value;

			memcpy(score, &bits, sizeof(float));
		}
		else if (f.wire == 0 && f.number == 3 &&
				 f.value >= TF_SPM_NORMAL && f.value <= TF_SPM_BYTE)
			*type = (uint8_t) f.value;
	}
	return true;
}

/* First pass over ModelProto: count pieces, read the specs. */
static bool
parse_model(PbReader r, SpmSpec *spec)
{
	PbField		f;

	memset(spec, 0, sizeof(*spec));
	spec->model_type = 1;
	spec->norm.add_dummy_prefix = spec->norm.remove_extra_whitespaces =
		spec->norm.escape_whitespaces = true;
	spec->denorm = spec->norm;
	while (r.p < r.end)
	{
		if (!pb_next(&r, &f))
			return false;
		if (f.wire != 2)
			continue;
		switch (f.number)
		{
			case 1:
				if (spec->n_pieces == (1 << 28))
					return tf_fail(r.err, TF_ERR_LIMIT,
								   "sentencepiece model has too many pieces");
				spec->n_pieces++;
				break;
			case 2:
				spec->has_trainer = true;
				if (!parse_trainer_spec(pb_sub(&r, &f, "TrainerSpec"), spec))
					return false;
				break;
			case 3:
				spec->has_normalizer = true;
				if (!parse_normalizer_spec(pb_sub(&r, &f, "NormalizerSpec"), &spec->norm))
					return false;
				break;
			case 5:
				if (!parse_normalizer_spec(pb_sub(&r, &f, "denormalizer_spec"), &spec->denorm))
					return false;
				break;
		}
	}
	return true;
}

/* Second pass: read every piece into the caller's arrays of n_pieces. */
static bool
parse_pieces(PbReader r, const char **texts, uint32_t *lens, float *scores,
			 uint8_t *types)
{
	PbField		f;
	int32_t		i = 0;

	while (r.p < r.end)
	{
		PbBytes		text;

		if (!pb_next(&r, &f))
			return false;
		if (f.wire != 2 || f.number != 1)
			continue;
		if (!parse_piece(pb_sub(&r, &f, "SentencePiece"), &text, &scores[i], &types[i]))
			return false;
		if (text.len == 0)
			return tf_fail(r.err, TF_ERR_FORMAT, "sentencepiece piece %d is empty", i);
		if (text.len > UINT32_MAX)
			return tf_fail(r.err, TF_ERR_LIMIT, "sentencepiece piece %d is too long", i);
		texts[i] = (const char *) text.data;
		lens[i] = (uint32_t) text.len;
		i++;
	}
	return true;
}

/* Check the settings spm would refuse or that we do not implement. */
static bool
check_spec(const SpmSpec *spec, TfError *err)
{
	static const char *const type_names[] = {"", "unigram", "bpe", "word", "char"};

	if (!spec->has_trainer || !spec->has_normalizer)
	{
		tf_fail(err, TF_ERR_FORMAT, "sentencepiece model has no %s",
				spec->has_trainer ? "normalizer_spec" : "trainer_spec");
		return tf_fail_detail(err, "Every model spm_train writes has one; the file is probably truncated.");
	}
	if (spec->n_pieces == 0)
		return tf_fail(err, TF_ERR_FORMAT, "sentencepiece model has no pieces");
	if (spec->model_type != 1)
	{
		tf_fail(err, TF_ERR_UNSUPPORTED, "sentencepiece model type \"%s\" is not supported",
				type_names[spec->model_type]);
		return tf_fail_detail(err, "Only unigram models are implemented.");
	}
	if (spec->ws_as_suffix)
		return tf_fail(err, TF_ERR_UNSUPPORTED,
					   "sentencepiece option treat_whitespace_as_suffix is not supported");
	if (spec->denorm.charsmap.len > 0)
		return tf_fail(err, TF_ERR_UNSUPPORTED,
					   "sentencepiece denormalizer rules are not supported");
	if (spec->norm.charsmap.len > 0)
	{
		const PbBytes *cm = &spec->norm.charsmap;

		/* spm's DecodePrecompiledCharsMap, plus the bound it leaves out */
		if (cm->len <= 4 || load_le32(cm->data) > cm->len - 4)
			return tf_fail(err, TF_ERR_FORMAT,
						   "sentencepiece precompiled_charsmap is corrupt");
		if (cm->len > UINT32_MAX)
			return tf_fail(err, TF_ERR_LIMIT,
						   "sentencepiece precompiled_charsmap is too large");
	}
	return true;
}

/*
 * Check the pieces as spm's ModelInterface::InitializePieces does; set
 * unk_id, min/max score and the flags in *out.
 */
static bool
check_pieces(const char *const *texts, const uint32_t *lens, const float *scores,
			 const uint8_t *types, int32_t n, bool byte_fallback,
			 TfSentencePiece *out, TfError *err)
{
	bool		byte_seen[256] = {false};
	int			n_bytes = 0;

	out->unk_id = -1;
	out->min_score = FLT_MAX;
	out->max_score = FLT_MIN;
	for (int32_t i = 0; i < n; i++)
	{
		if (types[i] == TF_SPM_NORMAL)
		{
			/* std::min / std::max, NaN handling included */
			out->min_score = scores[i] < out->min_score ? scores[i] : out->min_score;
			out->max_score = out->max_score < scores[i] ? scores[i] : out->max_score;
		}
		else if (types[i] == TF_SPM_USER_DEFINED)
			out->has_user_defined = true;
		else if (types[i] == TF_SPM_UNKNOWN)
		{
			if (out->unk_id >= 0)
				return tf_fail(err, TF_ERR_FORMAT,
							   "sentencepiece model has two unknown pieces (%d and %d)",
							   out->unk_id, i);
			out->unk_id = i;
		}
		else if (types[i] == TF_SPM_BYTE)
		{
			int			b = piece_byte(texts[i], lens[i]);

			if (!byte_fallback || b < 0)
				return tf_fail(err, TF_ERR_FORMAT,
							   "sentencepiece byte piece %d \"%.*s\" is %s", i,
							   (int) (lens[i] > 32 ? 32 : lens[i]), texts[i],
							   byte_fallback ? "invalid" : "present although byte_fallback is off");
			if (!byte_seen[b])
				n_bytes++;
			byte_seen[b] = true;
		}
	}
	if (out->unk_id < 0)
		return tf_fail(err, TF_ERR_FORMAT, "sentencepiece model has no unknown piece");
	if (byte_fallback && n_bytes != 256)
		return tf_fail(err, TF_ERR_FORMAT,
					   "sentencepiece model has byte_fallback but %d of the 256 byte pieces",
					   n_bytes);
	return true;
}

/* ---------------------------------------------------------------------
 * Piece trie
 * --------------------------------------------------------------------- */

/* A piece to put in the trie. */
typedef struct TrieKey
{
	const uint8_t *s;
	uint32_t	len;
	int32_t		id;
} TrieKey;

/* The sorted keys [lo, hi) share their first `depth` bytes: one trie node. */
typedef struct TrieRange
{
	uint32_t	lo;
	uint32_t	hi;
	uint32_t	depth;
} TrieRange;

/* qsort order for TrieKey: bytewise, a prefix before its extensions. */
static int
trie_key_cmp(const void *a, const void *b)
{
	const TrieKey *x = a;
	const TrieKey *y = b;
	int			c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/*
 * Build the trie of the NORMAL, USER_DEFINED and UNUSED pieces (spm's
 * pieces_ map) into the arena. Piece texts must be distinct.
 */
static bool
build_trie(TfArena *arena, const char *const *texts, const uint32_t *lens,
		   const uint8_t *types, int32_t n, TfSentencePiece *out, TfError *err)
{
	TrieKey    *keys = tf_alloc(sizeof(TrieKey) * n);	/* TrieKey[n_keys] */
	uint32_t	n_keys = 0;
	size_t		max_nodes = 1;
	TfSpmTrieNode *nodes;		/* TfSpmTrieNode[max_nodes] */
	TrieRange  *ranges;			/* TrieRange[max_nodes] */
	uint32_t	next = 1;

	for (int32_t i = 0; i < n; i++)
	{
		if (types[i] != TF_SPM_NORMAL && types[i] != TF_SPM_USER_DEFINED &&
			types[i] != TF_SPM_UNUSED)
			continue;
		keys[n_keys].s = (const uint8_t *) texts[i];
		keys[n_keys].len = lens[i];
		keys[n_keys].id = i;
		max_nodes += lens[i];
		n_keys++;
	}
	if (n_keys == 0)
	{
		tf_free(keys);
		return tf_fail(err, TF_ERR_FORMAT, "sentencepiece model has no normal pieces");
	}
	if (max_nodes > UINT32_MAX)
	{
		tf_free(keys);
		return tf_fail(err, TF_ERR_LIMIT, "sentencepiece pieces are too large");
	}
	qsort(keys, n_keys, sizeof(TrieKey), trie_key_cmp);

	/* breadth first: a node's children are made together, so contiguous */
	nodes = tf_alloc(sizeof(TfSpmTrieNode) * max_nodes);
	ranges = tf_alloc(sizeof(TrieRange) * max_nodes);
	ranges[0] = (TrieRange) {0, n_keys, 0};
	for (uint32_t k = 0; k < next; k++)
	{
		uint32_t	i = ranges[k].lo;
		uint32_t	hi = ranges[k].hi;
		uint32_t	depth = ranges[k].depth;

		nodes[k].id = -1;
		if (keys[i].len == depth)	/* sorts first; unique, so alone */
			nodes[k].id = keys[i++].id;
		nodes[k].first_child = next;
		while (i < hi)
		{
			uint8_t		c = keys[i].s[depth];
			uint32_t	j = i + 1;

			while (j < hi && keys[j].s[depth] == c)
				j++;
			nodes[next].label = c;
			ranges[next] = (TrieRange) {i, j, depth + 1};
			next++;
			i = j;
		}
		nodes[k].n_children = (uint16_t) (next - nodes[k].first_child);
	}
	out->n_trie = next;
	out->trie = tf_arena_push(arena, nodes, sizeof(TfSpmTrieNode) * next, 8);
	tf_free(ranges);
	tf_free(nodes);
	tf_free(keys);
	return true;
}

/* Child of trie node `node` along byte c, or -1. */
static int32_t
trie_child(const TfSpmTrieNode *trie, int32_t node, uint8_t c)
{
	uint32_t	lo = trie[node].first_child;
	uint32_t	end = lo + trie[node].n_children;
	uint32_t	hi = end;

	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;

		if (trie[mid].label < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < end && trie[lo].label == c) ? (int32_t) lo : -1;
}

/* ---------------------------------------------------------------------
 * Building the image
 * --------------------------------------------------------------------- */

/* spm's bos_id()/eos_id()/pad_id(): the named piece if it is CONTROL, else -1. */
static int32_t
control_id(const TfArena *arena, const TfSentencePiece *out, const uint8_t *types,
		   PbBytes name, const char *default_name)
{
	int32_t		id;

	if (name.len == 0)
		name = (PbBytes) {(const uint8_t *) default_name, strlen(default_name)};
	id = tf_vocab_lookup(arena->base, &out->pieces, (const char *) name.data, name.len);
	return (id >= 0 && types[id] == TF_SPM_CONTROL) ? id : -1;
}

bool
tf_spm_build(TfArena *arena, const uint8_t *model, size_t len,
			 TfSentencePiece *out, TfError *err)
{
	PbReader	r = {model, model + len, model, "ModelProto", err};
	SpmSpec		spec;
	int32_t		n;
	const char **texts = NULL;	/* const char *[n]: piece texts in `model` */
	uint32_t   *lens = NULL;	/* uint32_t[n] */
	float	   *scores = NULL;	/* float[n] */
	uint8_t    *types = NULL;	/* uint8_t[n] */
	bool		ok = false;

	memset(out, 0, sizeof(*out));
	if (!parse_model(r, &spec) || !check_spec(&spec, err))
		return false;
	n = spec.n_pieces;
	texts = tf_alloc(sizeof(char *) * n);
	lens = tf_alloc(sizeof(uint32_t) * n);
	scores = tf_alloc(sizeof(float) * n);
	types = tf_alloc(n);
	if (!parse_pieces(r, texts, lens, scores, types) ||
		!check_pieces(texts, lens, scores, types, n, spec.byte_fallback, out, err) ||
		!tf_vocab_build(arena, texts, lens, n, &out->pieces, err))
		goto done;

	/* spm refuses a piece defined twice; the later id wins a lookup */
	for (int32_t i = 0; i < n; i++)
	{
		int32_t		other = tf_vocab_lookup(arena->base, &out->pieces, texts[i], lens[i]);

		if (other != i)
		{
			tf_fail(err, TF_ERR_FORMAT, "sentencepiece piece \"%.*s\" is defined twice (ids %d and %d)",
					(int) (lens[i] > 32 ? 32 : lens[i]), texts[i], i, other);
			goto done;
		}
	}
	if (!build_trie(arena, texts, lens, types, n, out, err))
		goto done;

	out->scores = tf_arena_push(arena, scores, sizeof(float) * n, 8);
	out->types = tf_arena_push(arena, types, n, 8);
	out->byte_fallback = spec.byte_fallback;
	if (spec.byte_fallback)
	{
		int32_t		byte_ids[256];	/* piece id of <0xXX> */

		for (int32_t i = 0; i < n; i++)
			if (types[i] == TF_SPM_BYTE)
				byte_ids[piece_byte(texts[i], lens[i])] = i;
		out->byte_ids = tf_arena_push(arena, byte_ids, sizeof(byte_ids), 8);
	}
	if (spec.norm.charsmap.len > 0)
	{
		out->charsmap = tf_arena_push(arena, spec.norm.charsmap.data,
									  spec.norm.charsmap.len, 8);
		out->charsmap_size = (uint32_t) spec.norm.charsmap.len;
	}
	out->add_dummy_prefix = spec.norm.add_dummy_prefix;
	out->remove_extra_whitespaces = spec.norm.remove_extra_whitespaces;
	out->escape_whitespaces = spec.norm.escape_whitespaces;
	if (spec.unk_surface.data == NULL)
		spec.unk_surface = (PbBytes) {(const uint8_t *) " \xe2\x81\x87 ", 5};
	if (spec.unk_surface.len > UINT32_MAX)
	{
		tf_fail(err, TF_ERR_LIMIT, "sentencepiece unk_surface is too long");
		goto done;
	}
	out->unk_surface = tf_arena_push(arena, spec.unk_surface.data,
									 spec.unk_surface.len, 1);
	out->unk_surface_len = (uint32_t) spec.unk_surface.len;
	out->bos_id = control_id(arena, out, types, spec.bos_piece, "<s>");
	out->eos_id = control_id(arena, out, types, spec.eos_piece, "</s>");
	out->pad_id = control_id(arena, out, types, spec.pad_piece, "<pad>");
	ok = true;

done:
	tf_free(texts);
	tf_free(lens);
	tf_free(scores);
	tf_free(types);
	return ok;
}

/* ---------------------------------------------------------------------
 * Normalization (spm's normalizer.cc)
 * --------------------------------------------------------------------- */

/* The model's arrays, resolved against the image for one call. */
typedef struct SpmView
{
	const TfSentencePiece *sp;
	const float *scores;		/* float[n_pieces] */
	const uint8_t *types;		/* uint8_t[n_pieces] */
	const TfSpmTrieNode *trie;	/* TfSpmTrieNode[n_trie] */
	const int32_t *byte_ids;	/* int32_t[256], or NULL */
	const uint8_t *units;		/* uint32 little-endian [n_units], charsmap trie */
	uint32_t	n_units;
	const char *repl;			/* char[repl_len]: NUL-terminated replacements */
	size_t		repl_len;
} SpmView;

/* Resolve sp's offsets against image. */
static void
spm_view(const void *image, const TfSentencePiece *sp, SpmView *v)
{
	memset(v, 0, sizeof(*v));
	v->sp = sp;
	v->scores = TF_AT(image, sp->scores, const float);
	v->types = TF_AT(image, sp->types, const uint8_t);
	v->trie = TF_AT(image, sp->trie, const TfSpmTrieNode);
	if (sp->byte_ids)
		v->byte_ids = TF_AT(image, sp->byte_ids, const int32_t);
	if (sp->charsmap)
	{
		const uint8_t *blob = TF_AT(image, sp->charsmap, const uint8_t);
		uint32_t	trie_bytes = load_le32(blob);	/* checked by tf_spm_build */

		v->units = blob + 4;
		v->n_units = trie_bytes / 4;
		v->repl = (const char *) blob + 4 + trie_bytes;
		v->repl_len = sp->charsmap_size - 4 - trie_bytes;
	}
}

/*
 * Longest charsmap key that is a prefix of s[0..n): returns its length (0 if
 * none) and its replacement in *out / *out_len. This is Darts-clone's
 * commonPrefixSearch over the units, with every index checked.
 */
static size_t
charsmap_match(const SpmView *v, const uint8_t *s, size_t n,
			   const char **out, size_t *out_len)
{
	size_t		best = 0;
	uint32_t	value = 0;
	uint32_t	pos;
	uint32_t	unit;

#define DARTS_OFFSET(u) (((u) >> 10) << (((u) & (1U << 9)) >> 6))
	if (v->n_units == 0)
		return 0;
	unit = load_le32(v->units);
	pos = DARTS_OFFSET(unit);
	for (size_t i = 0; i < n; i++)
	{
		pos ^= s[i];
		if (pos >= v->n_units)
			break;
		unit = load_le32(v->units + 4 * (size_t) pos);
		if ((unit & ((1U << 31) | 0xFF)) != s[i])	/* label */
			break;
		pos ^= DARTS_OFFSET(unit);
		if ((unit >> 8) & 1)	/* has a leaf: a key ends here */
		{
			if (pos >= v->n_units)
				break;
			best = i + 1;
			value = load_le32(v->units + 4 * (size_t) pos) & ((1U << 31) - 1);
		}
	}
#undef DARTS_OFFSET
	if (best > 0)
	{
		const char *nul;

		/* a value or string outside the blob reads as empty / clipped */
		*out = value < v->repl_len ? v->repl + value : "";
		nul = memchr(*out, '\0', value < v->repl_len ? v->repl_len - value : 0);
		*out_len = nul ? (size_t) (nul - *out) :
			(value < v->repl_len ? v->repl_len - value : 0);
	}
	return best;
}

/* Length of the longest USER_DEFINED piece that is a prefix of s[0..n), or 0. */
static size_t
user_defined_prefix(const SpmView *v, const uint8_t *s, size_t n)
{
	size_t		best = 0;
	int32_t		node = 0;

	for (size_t i = 0; i < n && (node = trie_child(v->trie, node, s[i])) >= 0; i++)
	{
		int32_t		id = v->trie[node].id;

		if (id >= 0 && v->types[id] == TF_SPM_USER_DEFINED)
			best = i + 1;
	}
	return best;
}

/*
 * spm's Normalizer::NormalizePrefix: what the start of s[0..n) (n >= 1)
 * becomes, in *out / *out_len; returns the input bytes consumed (>= 1).
 */
static size_t
normalize_prefix(const SpmView *v, const uint8_t *s, size_t n,
				 const char **out, size_t *out_len)
{
	size_t		used = 0;

	if (v->sp->has_user_defined && (used = user_defined_prefix(v, s, n)) > 0)
	{
		*out = (const char *) s;	/* user-defined pieces pass unchanged */
		*out_len = used;
		return used;
	}
	if (v->n_units > 0 && (used = charsmap_match(v, s, n, out, out_len)) > 0)
		return used;
	used = utf8_valid_len(s, n);
	if (used == 0)
	{
		*out = REPLACEMENT_CHAR;	/* one invalid byte -> U+FFFD */
		*out_len = 3;
		return 1;
	}
	*out = (const char *) s;
	*out_len = used;
	return used;
}

/*
 * spm's Normalizer::Normalize: in[0..len) -> *out (tf_alloc'd, caller
 * frees). Returns false once the result exceeds TF_SPM_MAX_NORMALIZED.
 */
static bool
normalize(const SpmView *v, const uint8_t *in, size_t len, TfBuffer *out)
{
	const TfSentencePiece *sp = v->sp;
	const char *space = sp->escape_whitespaces ? SPACE_SYMBOL : " ";
	size_t		space_len = sp->escape_whitespaces ? SPACE_SYMBOL_LEN : 1;
	size_t		pos = 0;
	bool		is_prev_space;
	uint32_t	steps = 0;
	const char *rep;
	size_t		rep_len;

	tf_buffer_init(out, len < TF_SPM_MAX_NORMALIZED ? len + len / 2 + 16 : TF_SPM_MAX_NORMALIZED);
	if (len == 0)
		return true;
	if (sp->add_dummy_prefix)
		tf_buffer_append(out, space, space_len);

	/*
	 * spm first skips the characters that normalize to " "; starting with
	 * is_prev_space set drops them just the same, and an input that was all
	 * whitespace loses its dummy prefix to the trailing-space strip below.
	 */
	is_prev_space = sp->remove_extra_whitespaces;
	while (pos < len)
	{
		pos += normalize_prefix(v, in + pos, len - pos, &rep, &rep_len);
		while (is_prev_space && rep_len > 0 && rep[0] == ' ')
		{
			rep++;
			rep_len--;
		}
		if (rep_len > 0)
		{
			buf_append_replacing(out, rep, rep_len, " ", sp->escape_whitespaces ? 1 : 0,
								 SPACE_SYMBOL, SPACE_SYMBOL_LEN);
			is_prev_space = rep[rep_len - 1] == ' ';
		}
		if (!sp->remove_extra_whitespaces)
			is_prev_space = false;
		if (out->len > TF_SPM_MAX_NORMALIZED)
			return false;
		tf_check_interrupts_every(&steps);
	}

	if (sp->remove_extra_whitespaces)
	{
		/* trailing spaces (and literal U+2581s when escaping) */
		while (out->len >= space_len &&
			   memcmp(out->data + out->len - space_len, space, space_len) == 0)
			out->len -= space_len;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Segmentation (spm's unigram Model::EncodeOptimized)
 * --------------------------------------------------------------------- */

/* Best path ending at one byte position of the normalized text. */
typedef struct PathEnd
{
	float		score;			/* total score of the best path ending here */
	int32_t		start;			/* where its last piece starts; -1: none yet */
	int32_t		id;				/* its last piece */
} PathEnd;

/*
 * Segment norm[0..n) into piece ids, writing at most max_ids ids and, for
 * each, where in norm the piece ends (ends[i]; piece i starts where piece
 * i - 1 ends, the first at 0); returns the number written. After the
 * Viterbi pass, runs of unknown pieces are merged into one piece covering
 * the whole run (or, with byte_fallback, spelled as one byte piece per
 * byte) as spm's PopulateSentencePieceText does.
 *
 * The arithmetic follows spm exactly: a piece's candidate score is computed
 * in double (score + path score) and compared with the stored float path
 * score, an unknown piece's in float; earlier starts win ties.
 */
static int32_t
segment(const SpmView *v, const uint8_t *norm, int32_t n, int32_t *ids, int32_t *ends,
		int32_t max_ids)
{
	const TfSentencePiece *sp = v->sp;
	const float unk_score = sp->min_score - UNK_PENALTY;
	PathEnd    *best;			/* PathEnd[n + 1] */
	int32_t		count = 0;
	int32_t		next;
	int32_t		start;
	bool		prev_unk = false;
	uint32_t	steps = 0;

	if (n == 0)
		return 0;
	best = tf_alloc(sizeof(PathEnd) * ((size_t) n + 1));
	for (int32_t i = 0; i <= n; i++)
	{
		best[i].start = -1;
		tf_check_interrupts_every(&steps);
	}

	for (int32_t s = 0, mblen; s < n; s += mblen)
	{
		const float till = best[s].score;
		bool		has_single = false;
		int32_t		node = 0;

		mblen = utf8_lead_len(norm[s]);
		if (mblen > n - s)
			mblen = n - s;
		for (int32_t e = s; e < n;)
		{
			int32_t		id;
			double		cand;

			node = trie_child(v->trie, node, norm[e++]);
			if (node < 0)
				break;
			id = v->trie[node].id;
			if (id < 0 || v->types[id] == TF_SPM_UNUSED)
				continue;
			/* user-defined pieces get a bonus so that they always win */
			cand = (v->types[id] == TF_SPM_USER_DEFINED ?
					(float) (e - s) * sp->max_score - 0.1 : (double) v->scores[id]) + till;
			if (best[e].start < 0 || cand > best[e].score)
			{
				best[e].score = (float) cand;
				best[e].start = s;
				best[e].id = id;
			}
			if (e - s == mblen)
				has_single = true;
		}
		if (!has_single)
		{
			PathEnd    *t = &best[s + mblen];
			const float cand = unk_score + till;

			if (t->start < 0 || cand > t->score)
			{
				t->score = cand;
				t->start = s;
				t->id = sp->unk_id;
			}
		}
		tf_check_interrupts_every(&steps);
	}

	/*
	 * Reverse the back links in place: afterwards best[e].start of each
	 * piece end e on the path holds the end of the following piece (-1 after
	 * the last), and `next` the end of the first piece.
	 */
	next = -1;
	for (int32_t e = n; e > 0;)
	{
		int32_t		prev = best[e].start;

		best[e].start = next;
		next = e;
		e = prev;
		tf_check_interrupts_every(&steps);
	}

#define EMIT(x, end) do { if (count == max_ids) goto done; \
		ids[count] = (x); ends[count++] = (end); } while (0)
	for (start = 0; next > 0; start = next, next = best[next].start)
	{
		int32_t		id = best[next].id;

		tf_check_interrupts_every(&steps);
		if (id != sp->unk_id)
		{
			EMIT(id, next);
			prev_unk = false;
			continue;
		}
		if (sp->byte_fallback)
			for (int32_t b = start; b < next; b++)
				EMIT(v->byte_ids[norm[b]], b + 1);
		else if (!prev_unk)
			EMIT(id, next);
		else
			ends[count - 1] = next; /* the run's one piece grows */
		prev_unk = true;
	}
#undef EMIT
done:
	tf_free(best);
	return count;
}

/* ---------------------------------------------------------------------
 * Public entry points
 * --------------------------------------------------------------------- */

bool
tf_spm_encode_pieces(const void *image, const TfSentencePiece *sp,
					 const char *text, size_t len, TfSpmPieces *out)
{
	SpmView		v;
	TfBuffer	norm;

	memset(out, 0, sizeof(*out));
	spm_view(image, sp, &v);
	if (!normalize(&v, (const uint8_t *) text, len, &norm))
	{
		tf_free(norm.data);
		return false;
	}
	/* one piece per normalized byte at most */
	out->ids = tf_alloc(sizeof(int32_t) * (norm.len + 1));
	out->ends = tf_alloc(sizeof(int32_t) * (norm.len + 1));
	out->n = segment(&v, (const uint8_t *) norm.data, (int32_t) norm.len, out->ids, out->ends,
					 (int32_t) norm.len);
	out->normalized = norm.data;
	return true;
}

void
tf_spm_pieces_free(TfSpmPieces *pieces)
{
	tf_free(pieces->ids);
	tf_free(pieces->ends);
	tf_free(pieces->normalized);
	memset(pieces, 0, sizeof(*pieces));
}

int32_t *
tf_spm_encode_all(const void *image, const TfSentencePiece *sp,
				  const char *text, size_t len, int32_t *n_ids)
{
	TfSpmPieces pieces;
	int32_t    *ids;

	if (!tf_spm_encode_pieces(image, sp, text, len, &pieces))
	{
		*n_ids = -1;
		return NULL;
	}
	ids = pieces.ids;
	*n_ids = pieces.n;
	pieces.ids = NULL;
	tf_spm_pieces_free(&pieces);
	return ids;
}

int32_t
tf_spm_encode(const void *image, const TfSentencePiece *sp,
			  const char *text, size_t len, int32_t *ids, int32_t max_ids)
{
	int32_t		n;
	int32_t    *all = tf_spm_encode_all(image, sp, text, len, &n);

	if (all == NULL)
		return -1;
	if (n > max_ids)
		n = max_ids < 0 ? 0 : max_ids;
	if (n > 0)
		memcpy(ids, all, sizeof(int32_t) * n);
	tf_free(all);
	return n;
}

/* Append a run of byte pieces' bytes as UTF-8, each invalid byte as U+FFFD
 * (spm's ProcessBytePieces); empties `bytes`. */
static void
flush_bytes(TfBuffer *out, TfBuffer *bytes)
{
	for (size_t i = 0; i < bytes->len;)
	{
		int			m = utf8_valid_len((const uint8_t *) bytes->data + i, bytes->len - i);

		if (m == 0)
		{
			tf_buffer_append(out, REPLACEMENT_CHAR, 3);
			i++;
		}
		else
		{
			tf_buffer_append(out, bytes->data + i, m);
			i += m;
		}
	}
	bytes->len = 0;
}

/* A decoding in progress: what tf_spm_decode and tf_spm_decode_pieces share. */
typedef struct SpmDecoder
{
	TfBuffer	out;			/* the text so far */
	TfBuffer	bytes;			/* pending run of byte pieces */
	bool		may_drop_ws;	/* no leading U+2581 dropped yet, or
								 * remove_extra_whitespaces */
} SpmDecoder;

/* Start decoding about n pieces. */
static void
decoder_init(SpmDecoder *d, int32_t n)
{
	tf_buffer_init(&d->out, n > 0 ? ((size_t) n < 65536 ? (size_t) n * 8 : 1 << 19) : 16);
	tf_buffer_init(&d->bytes, 16);
	d->may_drop_ws = true;
}

/*
 * Add piece `id`, whose text is piece[0..plen). id -1 is a piece the model
 * does not have: spm's DecodePieces maps it to the unknown id and, since its
 * text is not the unknown piece's, prints that text as it is.
 */
static void
decoder_add(const void *image, const TfSentencePiece *sp, SpmDecoder *d, int32_t id,
			const char *piece, uint32_t plen)
{
	const uint8_t *types = TF_AT(image, sp->types, const uint8_t);

	if (id >= 0 && types[id] == TF_SPM_BYTE)
	{
		uint8_t		b = (uint8_t) piece_byte(piece, plen);

		tf_buffer_append(&d->bytes, &b, 1);
		return;
	}
	flush_bytes(&d->out, &d->bytes);
	if (id < 0)
		tf_buffer_append(&d->out, piece, plen);
	else if (types[id] == TF_SPM_CONTROL)
		return;
	else if (types[id] == TF_SPM_UNKNOWN)
		tf_buffer_append(&d->out, TF_AT(image, sp->unk_surface, const char), sp->unk_surface_len);
	else
	{
		/*
		 * While nothing has been output, a piece's leading U+2581 is the
		 * dummy prefix: drop it, only once unless remove_extra_whitespaces
		 * (then every leading space goes).
		 */
		if (d->may_drop_ws && d->out.len == 0 &&
			(sp->add_dummy_prefix || sp->remove_extra_whitespaces) &&
			plen >= SPACE_SYMBOL_LEN && memcmp(piece, SPACE_SYMBOL, SPACE_SYMBOL_LEN) == 0)
		{
			piece += SPACE_SYMBOL_LEN;
			plen -= SPACE_SYMBOL_LEN;
			d->may_drop_ws = sp->remove_extra_whitespaces;
		}
		buf_append_replacing(&d->out, piece, plen, SPACE_SYMBOL, SPACE_SYMBOL_LEN, " ", 1);
	}
}

/* The decoded text (tf_alloc'd, NUL-terminated, *len bytes). */
static char *
decoder_finish(SpmDecoder *d, size_t *len)
{
	flush_bytes(&d->out, &d->bytes);
	tf_free(d->bytes.data);
	d->out.data[d->out.len] = '\0';
	*len = d->out.len;
	return d->out.data;
}

char *
tf_spm_decode(const void *image, const TfSentencePiece *sp,
			  const int32_t *ids, int32_t n, size_t *len)
{
	SpmDecoder	d;

	decoder_init(&d, n);
	for (int32_t i = 0; i < n; i++)
	{
		uint32_t	plen;
		const char *piece;

		if (ids[i] < 0 || ids[i] >= sp->pieces.size)
			continue;
		piece = tf_vocab_token(image, &sp->pieces, ids[i], &plen);
		decoder_add(image, sp, &d, ids[i], piece, plen);
	}
	return decoder_finish(&d, len);
}

char *
tf_spm_decode_pieces(const void *image, const TfSentencePiece *sp,
					 const char *const *pieces, const uint32_t *lens, int32_t n, size_t *len)
{
	SpmDecoder	d;

	decoder_init(&d, n);
	for (int32_t i = 0; i < n; i++)
		decoder_add(image, sp, &d, tf_vocab_lookup(image, &sp->pieces, pieces[i], lens[i]),
					pieces[i], lens[i]);
	return decoder_finish(&d, len);
}
