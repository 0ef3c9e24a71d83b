/*
 * tf_marian.c: Marian checkpoints: loading, tokenization, the encoder and
 * the cached decoder step (see tf_marian.h). Search lives in tf_generate.c.
 */
#include "tf_marian.h"

#include "tf_generation_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* MarianMTModel keeps its modules under "model."; a bare MarianModel not. */
static const char *const marian_prefixes[] = {"model.", "", NULL};
static const char *const top_prefixes[] = {"", NULL};

#define MARIAN_LAYER_NORM_EPS 1e-5f	/* torch.nn.LayerNorm's default */
#define MARIAN_DEFAULT_PAD_ID 58100	/* MarianConfig's pad_token_id default */

/* Most floats in the sinusoidal position table (max_position_embeddings x
 * d_model): it is computed, not read, so no tensor in the file bounds it;
 * opus-mt's is 512 x 512, the largest Marian models' 1024 x 1024. */
#define MARIAN_MAX_POSITION_TABLE (1 << 26)

static const TfAttentionNames encoder_self_names = {
	"encoder.layers.%d.self_attn.q_proj.weight", "encoder.layers.%d.self_attn.q_proj.bias",
	"encoder.layers.%d.self_attn.k_proj.weight", "encoder.layers.%d.self_attn.k_proj.bias",
	"encoder.layers.%d.self_attn.v_proj.weight", "encoder.layers.%d.self_attn.v_proj.bias",
	"encoder.layers.%d.self_attn.out_proj.weight", "encoder.layers.%d.self_attn.out_proj.bias",
	"encoder.layers.%d.self_attn_layer_norm.weight", "encoder.layers.%d.self_attn_layer_norm.bias",
};
static const TfFeedForwardNames encoder_ffn_names = {
	"encoder.layers.%d.fc1.weight", "encoder.layers.%d.fc1.bias",
	"encoder.layers.%d.fc2.weight", "encoder.layers.%d.fc2.bias",
	"encoder.layers.%d.final_layer_norm.weight", "encoder.layers.%d.final_layer_norm.bias",
};
static const TfAttentionNames decoder_self_names = {
	"decoder.layers.%d.self_attn.q_proj.weight", "decoder.layers.%d.self_attn.q_proj.bias",
	"decoder.layers.%d.self_attn.k_proj.weight", "decoder.layers.%d.self_attn.k_proj.bias",
	"decoder.layers.%d.self_attn.v_proj.weight", "decoder.layers.%d.self_attn.v_proj.bias",
	"decoder.layers.%d.self_attn.out_proj.weight", "decoder.layers.%d.self_attn.out_proj.bias",
	"decoder.layers.%d.self_attn_layer_norm.weight", "decoder.layers.%d.self_attn_layer_norm.bias",
};
static const TfAttentionNames decoder_cross_names = {
	"decoder.layers.%d.encoder_attn.q_proj.weight", "decoder.layers.%d.encoder_attn.q_proj.bias",
	"decoder.layers.%d.encoder_attn.k_proj.weight", "decoder.layers.%d.encoder_attn.k_proj.bias",
	"decoder.layers.%d.encoder_attn.v_proj.weight", "decoder.layers.%d.encoder_attn.v_proj.bias",
	"decoder.layers.%d.encoder_attn.out_proj.weight", "decoder.layers.%d.encoder_attn.out_proj.bias",
	"decoder.layers.%d.encoder_attn_layer_norm.weight", "decoder.layers.%d.encoder_attn_layer_norm.bias",
};
static const TfFeedForwardNames decoder_ffn_names = {
	"decoder.layers.%d.fc1.weight", "decoder.layers.%d.fc1.bias",
	"decoder.layers.%d.fc2.weight", "decoder.layers.%d.fc2.bias",
	"decoder.layers.%d.final_layer_norm.weight", "decoder.layers.%d.final_layer_norm.bias",
};

/* ---------------------------------------------------------------- loading */

/* vocab.json ({piece: id}, ids dense from 0) -> TfVocab. */
static bool
load_vocab_json(TfModelDir *dir, const char *name, TfVocab *out)
{
	TfJson	   *json = tf_dir_json(dir, name, true);
	const char **pieces = NULL;
	uint32_t   *lens = NULL;
	bool		ok;

	if (json == NULL)
		return false;
	ok = tf_dir_vocab(dir, name, json, &pieces, &lens) &&
		tf_vocab_build(dir->arena, pieces, lens, json->count, out, dir->err);
	tf_free(pieces);
	tf_free(lens);
	tf_json_free(json);
	return ok;
}

/* The bytes of .spm file `name` of the directory -> TfSentencePiece. */
static bool
build_spm(TfModelDir *dir, const char *name, const char *bytes, size_t len, TfSentencePiece *out)
{
	if (tf_spm_build(dir->arena, (const uint8_t *) bytes, len, out, dir->err))
		return true;
	{
		TfError		inner = *dir->err;

		tf_fail(dir->err, inner.code, "could not load \"%s/%s\"", dir->path, name);
		tf_fail_detail(dir->err, "%s.", inner.message);
	}
	return false;
}

/* source.spm and target.spm; a target.spm identical to source.spm (as in
 * most pairs with one shared vocabulary) shares its tables in the image. */
static bool
load_spms(TfModelDir *dir, TfMarianModel *m)
{
	size_t		source_len,
				target_len;
	char	   *source = tf_dir_read(dir, "source.spm", true, &source_len);
	char	   *target = NULL;
	bool		ok = source != NULL && build_spm(dir, "source.spm", source, source_len, &m->source_spm);

	if (ok)
		ok = (target = tf_dir_read(dir, "target.spm", true, &target_len)) != NULL;
	if (ok && target_len == source_len && memcmp(target, source, source_len) == 0)
		m->target_spm = m->source_spm;
	else if (ok)
		ok = build_spm(dir, "target.spm", target, target_len, &m->target_spm);
	tf_free(source);
	tf_free(target);
	return ok;
}

/* to[i] = id in `to_vocab` of piece i of `from` (or `missing`). */
static TfOffset
map_pieces(TfArena *a, const TfVocab *from, const TfVocab *to, int32_t missing)
{
	TfOffset	off = tf_arena_alloc(a, sizeof(int32_t) * from->size, 8);

	for (int32_t i = 0; i < from->size; i++)
	{
		uint32_t	len;
		const char *piece = tf_vocab_token(a->base, from, i, &len);
		int32_t		id = tf_vocab_lookup(a->base, to, piece, len);

		TF_ARENA_AT(a, off, int32_t)[i] = id >= 0 ? id : missing;
	}
	return off;
}

/* Is tensor `name` stored under one of the Marian prefixes? */
static bool
has_tensor(TfModelDir *dir, const char *name)
{
	char		full[256];

	for (int i = 0; marian_prefixes[i] != NULL; i++)
	{
		snprintf(full, sizeof(full), "%s%s", marian_prefixes[i], name);
		if (tf_safetensors_find(&dir->weights, full) != NULL)
			return true;
	}
	return false;
}

/* Embeddings, output projection, layers; every tensor checked by shape. */
static bool
load_weights(TfModelDir *dir, TfMarianModel *m, bool shared, bool tied)
{
	TfArena    *a = dir->arena;
	int64_t		bias[2] = {1, m->tgt_vocab};
	const TfTensorInfo *t;

	/* MarianMTModel ties shared and encoder embeddings; either name may be
	 * the one stored */
	if (!tf_matrix_load_named(dir, marian_prefixes,
							  has_tensor(dir, "shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight",
							  m->src_vocab, m->d_model, false, &m->enc_embed))
		return false;
	/* with separate vocabularies HF deep-copies the vocab_size-row shared
	 * table for the decoder too, so it has vocab_size rows */
	if (shared)
		m->dec_embed = m->enc_embed;
	else if (!tf_matrix_load_named(dir, marian_prefixes, "decoder.embed_tokens.weight",
								   m->src_vocab, m->d_model, false, &m->dec_embed))
		return false;
	if (tf_safetensors_find(&dir->weights, "lm_head.weight") != NULL || !tied)
	{
		if (!tf_matrix_load_named(dir, top_prefixes, "lm_head.weight", m->tgt_vocab, m->d_model,
								  true, &m->lm_head))
			return false;
	}
	else
		m->lm_head = m->dec_embed;
	t = tf_safetensors_find(&dir->weights, "final_logits_bias");
	m->final_logits_bias = tf_arena_alloc(a, sizeof(float) * m->tgt_vocab, 64);
	if (t != NULL && !tf_weight_read(&dir->weights, top_prefixes, "final_logits_bias", 2, bias,
									 TF_ARENA_AT(a, m->final_logits_bias, float), &dir->n_params, dir->err))
		return false;

	m->enc_layer = tf_arena_alloc(a, sizeof(TfMarianLayer) * m->enc_layers, 64);
	for (int i = 0; i < m->enc_layers; i++)
	{
		TfMarianLayer L;

		memset(&L, 0, sizeof(L));
		if (!tf_attention_block_load(dir, marian_prefixes, &encoder_self_names, i, m->d_model, &L.self_attn) ||
			!tf_feed_forward_block_load(dir, marian_prefixes, &encoder_ffn_names, i, m->d_model,
										m->enc_ffn, &L.ffn))
			return false;
		TF_ARENA_AT(a, m->enc_layer, TfMarianLayer)[i] = L;
	}
	m->dec_layer = tf_arena_alloc(a, sizeof(TfMarianLayer) * m->dec_layers, 64);
	for (int i = 0; i < m->dec_layers; i++)
	{
		TfMarianLayer L;

		if (!tf_attention_block_load(dir, marian_prefixes, &decoder_self_names, i, m->d_model, &L.self_attn) ||
			!tf_attention_block_load(dir, marian_prefixes, &decoder_cross_names, i, m->d_model, &L.cross_attn) ||
			!tf_feed_forward_block_load(dir, marian_prefixes, &decoder_ffn_names, i, m->d_model,
										m->dec_ffn, &L.ffn))
			return false;
		TF_ARENA_AT(a, m->dec_layer, TfMarianLayer)[i] = L;
	}
	return true;
}

/* The configuration switches we do not implement must be off. */
static bool
check_unsupported_switches(TfModelDir *dir)
{
	static const char *const must_be_false[] = {
		"normalize_before", "normalize_embedding", "add_final_layer_norm", "add_bias_logits", NULL
	};

	for (int i = 0; must_be_false[i] != NULL; i++)
	{
		bool		on;

		if (!tf_config_bool(dir, dir->config, must_be_false[i], false, &on))
			return false;
		if (on)
			return tf_fail(dir->err, TF_ERR_UNSUPPORTED, "unsupported \"%s\": true in \"%s/config.json\"",
						   must_be_false[i], dir->path);
	}
	return true;
}

TfOffset
tf_marian_load(TfModelDir *dir, int32_t *dim)
{
	const TfJson *c = dir->config;
	TfJson	   *tok_config;
	TfMarianModel m;
	bool		shared,
				tied,
				separate,
				scale;
	const char *act;
	int32_t		model_max_length;
	bool		ok;

	memset(&m, 0, sizeof(m));
	if (!tf_config_int(dir, c, "vocab_size", -1, 2, 1 << 22, &m.src_vocab) ||
		!tf_config_int(dir, c, "decoder_vocab_size", m.src_vocab, 2, 1 << 22, &m.tgt_vocab) ||
		!tf_config_int(dir, c, "d_model", -1, 1, 1 << 16, &m.d_model) ||
		!tf_config_int(dir, c, "encoder_layers", -1, 1, 256, &m.enc_layers) ||
		!tf_config_int(dir, c, "decoder_layers", -1, 1, 256, &m.dec_layers) ||
		!tf_config_int(dir, c, "encoder_attention_heads", -1, 1, 1024, &m.enc_heads) ||
		!tf_config_int(dir, c, "decoder_attention_heads", -1, 1, 1024, &m.dec_heads) ||
		!tf_config_int(dir, c, "encoder_ffn_dim", -1, 1, 1 << 18, &m.enc_ffn) ||
		!tf_config_int(dir, c, "decoder_ffn_dim", -1, 1, 1 << 18, &m.dec_ffn) ||
		!tf_config_int(dir, c, "max_position_embeddings", 1024, 2, 1 << 16, &m.max_positions) ||
		!tf_config_int(dir, c, "pad_token_id", MARIAN_DEFAULT_PAD_ID, 0, m.tgt_vocab - 1, &m.pad_id) ||
		!tf_config_int(dir, c, "eos_token_id", 0, 0, m.tgt_vocab - 1, &m.eos_id) ||
		!check_unsupported_switches(dir))
		return 0;
	if (m.d_model % m.enc_heads != 0 || m.d_model % m.dec_heads != 0)
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "invalid attention heads in \"%s/config.json\"", dir->path);
		tf_fail_detail(dir->err, "d_model %d must be a multiple of the encoder and decoder head counts.", m.d_model);
		return 0;
	}
	if ((int64_t) m.max_positions * m.d_model > MARIAN_MAX_POSITION_TABLE)
	{
		tf_fail(dir->err, TF_ERR_LIMIT, "the position table of \"%s\" would be too large", dir->path);
		tf_fail_detail(dir->err, "max_position_embeddings %d times d_model %d exceeds %d.",
					   m.max_positions, m.d_model, MARIAN_MAX_POSITION_TABLE);
		return 0;
	}
	if (!tf_config_string(dir, c, "activation_function", "gelu", &act) ||
		!tf_config_bool(dir, c, "scale_embedding", false, &scale) ||
		!tf_config_bool(dir, c, "share_encoder_decoder_embeddings", true, &shared) ||
		!tf_config_bool(dir, c, "tie_word_embeddings", true, &tied))
		return 0;
	if (!tf_activation_parse(act, &m.act))
	{
		tf_fail(dir->err, TF_ERR_UNSUPPORTED, "unsupported activation_function \"%s\" in \"%s/config.json\"",
				act, dir->path);
		return 0;
	}
	m.embed_scale = scale ? sqrtf((float) m.d_model) : 1.0f;
	if ((shared && m.tgt_vocab != m.src_vocab) || m.tgt_vocab > m.src_vocab)
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "inconsistent vocabulary sizes in \"%s/config.json\"", dir->path);
		tf_fail_detail(dir->err, "decoder_vocab_size (%d) must equal vocab_size (%d) with shared embeddings, and not exceed it otherwise (the decoder's embedding table has vocab_size rows).",
					   m.tgt_vocab, m.src_vocab);
		return 0;
	}

	/* tokenizer: MarianTokenizer's files */
	tok_config = tf_dir_json(dir, "tokenizer_config.json", false);
	if (dir->err->code != TF_OK)
		return 0;
	ok = tf_config_bool(dir, tok_config, "separate_vocabs", false, &separate) &&
		tf_config_limit(dir, tok_config, "model_max_length", 512, 1, 1 << 20, &model_max_length);
	tf_json_free(tok_config);
	if (!ok)
		return 0;
	if (!load_vocab_json(dir, "vocab.json", &m.source_vocab))
		return 0;
	if (!separate)
		m.target_vocab = m.source_vocab;
	else if (!load_vocab_json(dir, "target_vocab.json", &m.target_vocab))
		return 0;
	if (m.source_vocab.size != m.src_vocab || m.target_vocab.size != m.tgt_vocab)
	{
		tf_fail(dir->err, TF_ERR_SHAPE, "the vocabularies in \"%s\" do not match the model", dir->path);
		tf_fail_detail(dir->err, "vocab.json has %d pieces and the target vocabulary %d; config.json says %d and %d.",
					   m.source_vocab.size, m.target_vocab.size, m.src_vocab, m.tgt_vocab);
		return 0;
	}
	m.unk_id = tf_vocab_lookup(dir->arena->base, &m.source_vocab, "<unk>", 5);
	if (m.unk_id < 0)
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "\"%s/vocab.json\" has no \"<unk>\" piece", dir->path);
		return 0;
	}
	if (!load_spms(dir, &m))
		return 0;
	m.spm_to_source = map_pieces(dir->arena, &m.source_spm.pieces, &m.source_vocab, m.unk_id);
	m.max_source_tokens = model_max_length < m.max_positions ? model_max_length : m.max_positions;
	if (m.max_source_tokens < 2)
		m.max_source_tokens = 2;

	if (!tf_generation_config_load(dir, &m) || !load_weights(dir, &m, shared, tied))
		return 0;
	*dim = m.d_model;
	return tf_arena_push(dir->arena, &m, sizeof(m), 64);
}

/* ----------------------------------------------------------- tokenization */

/*
 * MarianTokenizer.remove_language_code: cut every match of its
 * language_code_re, ">>.+<<", out of text[0..len). ".+" is greedy and stops
 * at a newline, so a match starts at the first ">>" of a line that has a
 * "<<" at least three bytes further on, and runs to the line's last "<<".
 * Returns the rest (tf_alloc'd, *rest_len bytes); *code_len is the length
 * of the match at the very start (the one MarianTokenizer keeps as a
 * token), or 0.
 */
static char *
remove_language_codes(const char *text, size_t len, size_t *rest_len, size_t *code_len)
{
	char	   *rest = tf_alloc(len + 1);
	size_t		w = 0;

	*code_len = 0;
	for (size_t line = 0; line < len;)
	{
		const char *nl = memchr(text + line, '\n', len - line);
		size_t		line_end = nl != NULL ? (size_t) (nl - text) : len;
		size_t		last = line_end;	/* start of the line's last "<<" */
		size_t		keep_from = line;

		for (size_t k = line; k + 1 < line_end; k++)
			if (text[k] == '<' && text[k + 1] == '<')
				last = k;
		for (size_t i = line; last < line_end && i + 3 <= last; i++)
			if (text[i] == '>' && text[i + 1] == '>')
			{
				if (i == 0)
					*code_len = last + 2;
				memcpy(rest + w, text + line, i - line);
				w += i - line;
				keep_from = last + 2;
				break;
			}
		line = nl != NULL ? line_end + 1 : len;
		memcpy(rest + w, text + keep_from, line - keep_from);
		w += line - keep_from;
	}
	rest[w] = '\0';
	*rest_len = w;
	return rest;
}

/*
 * vocab.json id of source piece i, as MarianTokenizer's
 * encoder.get(piece, unk): a known piece through spm_to_source; an unknown
 * piece's text is the characters it covers, which vocab.json often has
 * (opus-mt's holds the target language's pieces too).
 */
static int32_t
source_piece_id(const void *image, const TfMarianModel *m, const TfSpmPieces *pieces, int32_t i)
{
	int32_t		start = i > 0 ? pieces->ends[i - 1] : 0;
	int32_t		id;

	if (pieces->ids[i] != m->source_spm.unk_id)
		return TF_AT(image, m->spm_to_source, const int32_t)[pieces->ids[i]];
	id = tf_vocab_lookup(image, &m->source_vocab, pieces->normalized + start,
						 pieces->ends[i] - start);
	return id >= 0 ? id : m->unk_id;
}

int32_t
tf_marian_tokenize(const void *image, const TfMarianModel *m, const char *text,
				   size_t len, int32_t *ids)
{
	bool		truncated;

	return tf_marian_tokenize_checked(image, m, text, len, ids, &truncated);
}

int32_t
tf_marian_tokenize_checked(const void *image, const TfMarianModel *m, const char *text,
						   size_t len, int32_t *ids, bool *truncated)
{
	size_t		rest_len;
	size_t		code_len;
	char	   *rest = remove_language_codes(text, len, &rest_len, &code_len);
	TfSpmPieces pieces;
	int32_t		n = 0;

	if (code_len > 0)
	{
		int32_t		id = tf_vocab_lookup(image, &m->source_vocab, text, code_len);

		ids[n++] = id >= 0 ? id : m->unk_id;
	}
	if (!tf_spm_encode_pieces(image, &m->source_spm, rest, rest_len, &pieces))
	{
		tf_free(rest);
		return -1;
	}
	tf_free(rest);
	*truncated = n + pieces.n > m->max_source_tokens - 1;
	for (int32_t i = 0; i < pieces.n && n < m->max_source_tokens - 1; i++)
		ids[n++] = source_piece_id(image, m, &pieces, i);
	tf_spm_pieces_free(&pieces);
	ids[n++] = m->eos_id;
	return n;
}

char *
tf_marian_detokenize(const void *image, const TfMarianModel *m, const int32_t *ids,
					 int n, size_t *len)
{
	const char **pieces = tf_alloc(sizeof(char *) * (n + 1));	/* const char *[n] */
	uint32_t   *lens = tf_alloc(sizeof(uint32_t) * (n + 1));	/* uint32_t[n] */
	int			k = 0;
	size_t		raw_len;
	char	   *raw;
	char	   *out;
	size_t		start = 0,
				w = 0;

	for (int i = 0; i < n; i++)
	{
		/* skip_special_tokens: eos, pad and unk ids as MarianTokenizer has them */
		if (ids[i] == m->eos_id || ids[i] == m->pad_id || ids[i] == m->unk_id ||
			ids[i] < 0 || ids[i] >= m->tgt_vocab)
			continue;
		pieces[k] = tf_vocab_token(image, &m->target_vocab, ids[i], &lens[k]);
		k++;
	}
	/* the target spm's DecodePieces: a piece it lacks comes out verbatim */
	raw = tf_spm_decode_pieces(image, &m->target_spm, pieces, lens, k, &raw_len);
	tf_free(pieces);
	tf_free(lens);

	/* U+2581 -> space, then Python's str.strip() of ASCII whitespace */
	out = tf_alloc(raw_len + 1);
	for (size_t i = 0; i < raw_len; i++)
	{
		if ((unsigned char) raw[i] == 0xE2 && i + 2 < raw_len &&
			(unsigned char) raw[i + 1] == 0x96 && (unsigned char) raw[i + 2] == 0x81)
		{
			out[w++] = ' ';
			i += 2;
		}
		else
			out[w++] = raw[i];
	}
	tf_free(raw);
	while (start < w && strchr(" \t\n\r\f\v", out[start]) != NULL)
		start++;
	while (w > start && strchr(" \t\n\r\f\v", out[w - 1]) != NULL)
		w--;
	memmove(out, out + start, w - start);
	out[w - start] = '\0';
	*len = w - start;
	return out;
}

/* ---------------------------------------------------------------- encoder */

void
tf_marian_encode(const void *image, const TfMarianModel *m, const int32_t *const *ids,
				 const int *lens, int n, TfMarianBatch *out, float *probs)
{
	const TfMarianLayer *enc = TF_AT(image, m->enc_layer, const TfMarianLayer);
	const TfMarianLayer *dec = TF_AT(image, m->dec_layer, const TfMarianLayer);
	int			d = m->d_model;
	int			max_len = 1;
	float	   *pos;			/* float[max_len, d]: the positions' rows */
	float	   *h;				/* float[T, d] */
	TfLayerScratch s;
	TfPacked	seqs;

	out->n = n;
	out->starts = tf_alloc(sizeof(int) * n);
	out->lens = tf_alloc(sizeof(int) * n);
	out->T = 0;
	for (int i = 0; i < n; i++)
	{
		out->starts[i] = out->T;
		out->lens[i] = lens[i];
		out->T += lens[i];
		if (lens[i] > max_len)
			max_len = lens[i];
	}
	seqs.n = n;
	seqs.T = out->T;
	seqs.starts = out->starts;
	seqs.lens = out->lens;

	h = tf_alloc(sizeof(float) * (size_t) out->T * d);
	pos = tf_alloc_raw(sizeof(float) * (size_t) max_len * d);
	tf_sinusoidal_positions(pos, 0, max_len, d);
	for (int i = 0; i < n; i++)
		for (int p = 0; p < lens[i]; p++)
		{
			float	   *row = h + (size_t) (out->starts[i] + p) * d;

			tf_matrix_row(image, &m->enc_embed, ids[i][p], row);
			for (int j = 0; j < d; j++)
				row[j] = row[j] * m->embed_scale + pos[(size_t) p * d + j];
		}
	tf_free(pos);
	tf_layer_scratch_init(&s, out->T, d, m->enc_ffn, max_len);
	for (int l = 0; l < m->enc_layers; l++)
	{
		tf_check_interrupts();
		tf_self_attention_forward(image, &enc[l].self_attn, &h, d, m->enc_heads,
								  MARIAN_LAYER_NORM_EPS, &seqs, &s,
								  probs ? probs + (size_t) l * m->enc_heads * out->T * out->T : NULL);
		tf_feed_forward_forward(image, &enc[l].ffn, &h, out->T, d, m->enc_ffn, m->act,
								MARIAN_LAYER_NORM_EPS, &s);
	}
	tf_layer_scratch_free(&s);

	/* every decoder layer's cross keys and values: rows d .. 3d of its qkv */
	out->cross_kv = tf_alloc(sizeof(float) * (size_t) m->dec_layers * out->T * 2 * d);
	for (int l = 0; l < m->dec_layers; l++)
		tf_matrix_linear_rows(image, &dec[l].cross_attn.qkv_w, d, 3 * d, h, out->T,
							  TF_AT(image, dec[l].cross_attn.qkv_b, const float) + d,
							  out->cross_kv + (size_t) l * out->T * 2 * d);
	tf_free(h);
}

void
tf_marian_batch_free(TfMarianBatch *batch)
{
	tf_free(batch->starts);
	tf_free(batch->lens);
	tf_free(batch->cross_kv);
	memset(batch, 0, sizeof(*batch));
}

/* ---------------------------------------------------------------- decoder */

void
tf_marian_cache_init(TfMarianCache *cache)
{
	memset(cache, 0, sizeof(*cache));
}

void
tf_marian_cache_free(TfMarianCache *cache)
{
	for (int s = 0; s < cache->steps; s++)
		tf_free(cache->kv[s]);
	tf_free(cache->kv);
	tf_free(cache->rows);
	if (cache->scratch_rows > 0)
	{
		tf_free(cache->x);
		tf_free(cache->q);
		tf_free(cache->weights);
		tf_layer_scratch_free(&cache->blocks);
	}
	memset(cache, 0, sizeof(*cache));
}

/*
 * Causal self-attention of one query row against its own history: keys and
 * values of step s are row history[s] of cache step s (s < step), and the
 * current row `self_kv` for s = step. Not tf_attention: a hypothesis' keys
 * are scattered over the steps' blocks, one row each, where beam search
 * left them.
 * q: float[d]; out: float[d]; weights: float[step + 1] scratch.
 */
static void
attend_history(const TfMarianCache *cache, int layer, int step, const int32_t *history,
			   const float *q, const float *self_kv, int d, int heads, float *weights, float *out)
{
	int			hd = d / heads;
	float		scale = 1.0f / sqrtf((float) hd);

	for (int h = 0; h < heads; h++)
	{
		const float *qh = q + h * hd;
		float		max = -INFINITY;
		double		sum = 0;

		for (int s = 0; s <= step; s++)
		{
			const float *k = s < step
				? cache->kv[s] + ((size_t) layer * cache->rows[s] + history[s]) * 2 * d
				: self_kv;
			float		dot = 0;

			for (int j = 0; j < hd; j++)
				dot += qh[j] * k[h * hd + j];
			weights[s] = dot * scale;
			if (weights[s] > max)
				max = weights[s];
		}
		for (int s = 0; s <= step; s++)
		{
			weights[s] = expf(weights[s] - max);
			sum += weights[s];
		}
		memset(out + h * hd, 0, sizeof(float) * hd);
		for (int s = 0; s <= step; s++)
		{
			const float *v = (s < step
							  ? cache->kv[s] + ((size_t) layer * cache->rows[s] + history[s]) * 2 * d
							  : self_kv) + d;
			float		w = (float) (weights[s] / sum);

			for (int j = 0; j < hd; j++)
				out[h * hd + j] += w * v[h * hd + j];
		}
	}
}

void
tf_marian_decode_step(const void *image, const TfMarianModel *m,
					  const TfMarianBatch *batch, TfMarianCache *cache, int nh,
					  const int32_t *tokens, const int *src, const int32_t *history,
					  int history_stride, float *logits, float *cross_probs)
{
	const TfMarianLayer *layers = TF_AT(image, m->dec_layer, const TfMarianLayer);
	int			d = m->d_model;
	int			step = cache->steps;
	int			hd = d / m->dec_heads;
	float	   *x,
			   *q,
			   *weights;
	float	   *step_kv;		/* float[dec_layers, nh, 2 * d] */
	TfLayerScratch s;

	/* scratch once per decoding, not per step */
	if (cache->scratch_rows == 0)
	{
		size_t		span = m->max_positions > batch->T ? m->max_positions : batch->T;

		cache->scratch_rows = nh;
		cache->x = tf_alloc_raw(sizeof(float) * (size_t) nh * d);
		cache->q = tf_alloc_raw(sizeof(float) * (size_t) nh * d);
		cache->weights = tf_alloc_raw(sizeof(float) * span * nh);
		tf_layer_scratch_init(&cache->blocks, nh, d, m->dec_ffn, 1);
	}
	x = cache->x;
	q = cache->q;
	weights = cache->weights;
	s = cache->blocks;

	/* grow the per-step arrays, then add this step's key/value block */
	if (step == cache->capacity)
	{
		cache->capacity = cache->capacity ? cache->capacity * 2 : 32;
		cache->kv = tf_realloc(cache->kv, sizeof(float *) * cache->capacity);
		cache->rows = tf_realloc(cache->rows, sizeof(int) * cache->capacity);
	}
	/* every row of every layer is written below */
	step_kv = tf_alloc_raw(sizeof(float) * (size_t) m->dec_layers * nh * 2 * d);
	cache->kv[step] = step_kv;
	cache->rows[step] = nh;
	cache->steps++;

	/* this step's position row, in q until the cross-attention needs it */
	tf_sinusoidal_positions(q, step, 1, d);
	for (int i = 0; i < nh; i++)
	{
		float	   *row = x + (size_t) i * d;

		tf_matrix_row(image, &m->dec_embed, tokens[i], row);
		for (int j = 0; j < d; j++)
			row[j] = row[j] * m->embed_scale + q[j];
	}

	for (int l = 0; l < m->dec_layers; l++)
	{
		const TfMarianLayer *L = &layers[l];
		const float *cross_kv = batch->cross_kv + (size_t) l * batch->T * 2 * d;
		float	   *kv = step_kv + (size_t) l * nh * 2 * d;

		tf_check_interrupts();

		/* causal self-attention over each hypothesis' own history */
		tf_matrix_linear(image, &L->self_attn.qkv_w, x, nh,
						 TF_AT(image, L->self_attn.qkv_b, const float), s.qkv);
		for (int i = 0; i < nh; i++)
		{
			memcpy(kv + (size_t) i * 2 * d, s.qkv + (size_t) i * 3 * d + d, sizeof(float) * 2 * d);
			attend_history(cache, l, step, history + (size_t) i * history_stride,
						   s.qkv + (size_t) i * 3 * d, kv + (size_t) i * 2 * d, d, m->dec_heads,
						   weights, s.ctx + (size_t) i * d);
		}
		tf_attention_output(image, &L->self_attn, &x, nh, d, MARIAN_LAYER_NORM_EPS, &s);

		/* cross-attention: the hypotheses of one source share its keys */
		tf_matrix_linear_rows(image, &L->cross_attn.qkv_w, 0, d, x, nh,
							  TF_AT(image, L->cross_attn.qkv_b, const float), q);
		for (int i = 0; i < nh;)
		{
			int			j = i;
			const float *k = cross_kv + (size_t) batch->starts[src[i]] * 2 * d;

			while (j < nh && src[j] == src[i])
				j++;
			tf_attention(q + (size_t) i * d, d, k, 2 * d, k + d, 2 * d, s.ctx + (size_t) i * d, d,
						 j - i, batch->lens[src[i]], m->dec_heads, hd, 1.0f / sqrtf((float) hd),
						 weights, cross_probs ? cross_probs + (size_t) l * m->dec_heads * nh * batch->T : NULL);
			i = j;
		}
		tf_attention_output(image, &L->cross_attn, &x, nh, d, MARIAN_LAYER_NORM_EPS, &s);

		tf_feed_forward_forward(image, &L->ffn, &x, nh, d, m->dec_ffn, m->act, MARIAN_LAYER_NORM_EPS, &s);
	}
	tf_matrix_linear_rows(image, &m->lm_head, 0, m->tgt_vocab, x, nh,
						  TF_AT(image, m->final_logits_bias, const float), logits);
	/* the blocks swap buffers: keep whichever now plays which part */
	cache->x = x;
	cache->blocks = s;
}

/* --------------------------------------------------- the decoder for search */

static void
decoder_encode(void *state, const int32_t *const *src, const int *src_lens, int n)
{
	TfMarianDecoder *d = state;

	tf_marian_encode(d->image, d->m, src, src_lens, n, &d->batch, NULL);
	tf_marian_cache_init(&d->cache);
}

static void
decoder_step(void *state, int nh, const int32_t *tokens, const int *src,
			 const int32_t *history, int history_stride, float *logits)
{
	TfMarianDecoder *d = state;
	TfMarianCrossRecord *r = d->record;
	float	   *probs = NULL;

	if (r != NULL)
	{
		if (r->steps == r->capacity)
		{
			r->capacity = r->capacity ? r->capacity * 2 : 32;
			r->p = tf_realloc(r->p, sizeof(float *) * r->capacity);
			r->rows = tf_realloc(r->rows, sizeof(int) * r->capacity);
		}
		probs = tf_alloc_raw(sizeof(float) * (size_t) d->m->dec_layers * d->m->dec_heads * nh * d->batch.T);
		r->p[r->steps] = probs;
		r->rows[r->steps++] = nh;
	}
	tf_marian_decode_step(d->image, d->m, &d->batch, &d->cache, nh, tokens, src, history,
						  history_stride, logits, probs);
}

static void
decoder_finish(void *state)
{
	TfMarianDecoder *d = state;

	tf_marian_cache_free(&d->cache);
	tf_marian_batch_free(&d->batch);
}

TfDecoder
tf_marian_decoder(const void *image, const TfMarianModel *m, TfMarianDecoder *state)
{
	TfDecoder	dec = {
		.state = state,
		.vocab = m->tgt_vocab,
		.max_positions = m->max_positions,
		.start_id = m->decoder_start_id,
		.eos_id = m->generation_eos_id,
		.forced_eos_id = m->forced_eos_id,
		.n_banned = m->n_banned,
		.banned = TF_AT(image, m->banned, const int32_t),
		.encode = decoder_encode,
		.step = decoder_step,
		.finish = decoder_finish,
	};

	memset(state, 0, sizeof(*state));
	state->image = image;
	state->m = m;
	return dec;
}

void
tf_marian_cross_record_free(TfMarianCrossRecord *record)
{
	for (int s = 0; s < record->steps; s++)
		tf_free(record->p[s]);
	tf_free(record->p);
	tf_free(record->rows);
	memset(record, 0, sizeof(*record));
}
