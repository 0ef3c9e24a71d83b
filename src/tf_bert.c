/*
 * tf_bert.c: BERT checkpoints: loading (config, tokenizer, pooling modules,
 * weights) and the packed forward pass (see tf_bert.h).
 */
#include "tf_bert.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Tensor name prefixes: sentence-transformers' BertModel, BertForMaskedLM */
static const char *const bert_prefixes[] = {"", "bert.", NULL};

/* Most tokens packed into one forward pass: bounds scratch memory and the
 * time between two interrupt checks (one per layer). */
#define BERT_CHUNK_TOKENS 1024

/* Special token string from tokenizer_config.json, or the default. Hugging
 * Face writes either "[CLS]" or {"content": "[CLS]", ...}. */
static const char *
special_token(const TfJson *tok_config, const char *key, const char *fallback)
{
	const TfJson *v = tf_json_get(tok_config, key);

	if (v != NULL && v->type == TF_JSON_STRING)
		return v->string;
	if (v != NULL && v->type == TF_JSON_OBJECT)
		return tf_json_string(v, "content", fallback, NULL);
	return fallback;
}

/* strip_accents: true, false, or null/absent for "as lowercase" (-1). */
static bool
strip_accents_option(TfModelDir *dir, const TfJson *obj, const char *key, int *out)
{
	bool		strip;

	*out = -1;
	if (tf_json_get(obj, key) == NULL || tf_json_get(obj, key)->type == TF_JSON_NULL)
		return true;
	if (!tf_config_bool(dir, obj, key, false, &strip))
		return false;
	*out = strip;
	return true;
}

/* Build the WordPiece tokenizer from tokenizer.json (preferred, as
 * AutoTokenizer's fast tokenizer) or vocab.txt + tokenizer_config.json. */
static bool
load_tokenizer(TfModelDir *dir, TfBertModel *m)
{
	TfJson	   *tok_config = tf_dir_json(dir, "tokenizer_config.json", false);
	TfJson	   *tok_json = NULL;
	const char *specials[5];
	TfWordPieceOptions opts;
	bool		ok = false;

	if (dir->err->code != TF_OK)
		return false;
	specials[0] = special_token(tok_config, "unk_token", "[UNK]");
	specials[1] = special_token(tok_config, "sep_token", "[SEP]");
	specials[2] = special_token(tok_config, "pad_token", "[PAD]");
	specials[3] = special_token(tok_config, "cls_token", "[CLS]");
	specials[4] = special_token(tok_config, "mask_token", "[MASK]");
	memset(&opts, 0, sizeof(opts));
	if (!tf_config_bool(dir, tok_config, "do_lower_case", true, &opts.lowercase) ||
		!strip_accents_option(dir, tok_config, "strip_accents", &opts.strip_accents) ||
		!tf_config_bool(dir, tok_config, "tokenize_chinese_chars", true, &opts.tokenize_chinese_chars))
		goto done;
	opts.clean_text = true;
	opts.unk_token = specials[0];
	opts.continuing_prefix = "##";
	opts.max_input_chars_per_word = 100;
	opts.special_tokens = specials;
	opts.n_special = 5;

	tok_json = tf_dir_json(dir, "tokenizer.json", false);
	if (dir->err->code != TF_OK)
		goto done;
	if (tok_json != NULL)
	{
		const TfJson *model = tf_json_get(tok_json, "model");
		const TfJson *vocab = tf_json_get(model, "vocab");
		const TfJson *norm = tf_json_get(tok_json, "normalizer");
		const char **tokens;
		uint32_t   *lens;

		if (strcmp(tf_json_string(model, "type", "", NULL), "WordPiece") != 0 ||
			vocab == NULL || vocab->type != TF_JSON_OBJECT || vocab->count == 0)
		{
			tf_fail(dir->err, TF_ERR_UNSUPPORTED, "\"%s/tokenizer.json\" is not a WordPiece tokenizer", dir->path);
			goto done;
		}
		if (norm != NULL && norm->type == TF_JSON_OBJECT &&
			(!tf_config_bool(dir, norm, "lowercase", opts.lowercase, &opts.lowercase) ||
			 !tf_config_bool(dir, norm, "handle_chinese_chars", true, &opts.tokenize_chinese_chars) ||
			 !tf_config_bool(dir, norm, "clean_text", true, &opts.clean_text) ||
			 !strip_accents_option(dir, norm, "strip_accents", &opts.strip_accents)))
			goto done;
		if (!tf_config_string(dir, model, "unk_token", opts.unk_token, &opts.unk_token) ||
			!tf_config_string(dir, model, "continuing_subword_prefix", "##", &opts.continuing_prefix) ||
			!tf_config_int(dir, model, "max_input_chars_per_word", 100, 1, INT32_MAX,
						   &opts.max_input_chars_per_word))
			goto done;

		if (!tf_dir_vocab(dir, "tokenizer.json", vocab, &tokens, &lens))
			goto done;
		ok = tf_wordpiece_build(dir->arena, tokens, lens, vocab->count, &opts, &m->tokenizer, dir->err);
		tf_free(tokens);
		tf_free(lens);
	}
	else
	{
		size_t		len;
		char	   *text = tf_dir_read(dir, "vocab.txt", false, &len);

		if (text == NULL)
		{
			if (dir->err->code == TF_OK)
			{
				tf_fail(dir->err, TF_ERR_IO, "no tokenizer in \"%s\"", dir->path);
				tf_fail_detail(dir->err, "A BERT model directory needs vocab.txt or tokenizer.json.");
			}
			goto done;
		}
		ok = tf_wordpiece_build_from_vocab_txt(dir->arena, text, len, &opts, &m->tokenizer, dir->err);
		tf_free(text);
	}
	if (ok)
	{
		const void *base = dir->arena->base;

		m->cls_id = tf_vocab_lookup(base, &m->tokenizer.vocab, specials[3], strlen(specials[3]));
		m->sep_id = tf_vocab_lookup(base, &m->tokenizer.vocab, specials[1], strlen(specials[1]));
		m->mask_id = tf_vocab_lookup(base, &m->tokenizer.vocab, specials[4], strlen(specials[4]));
		m->pad_id = tf_vocab_lookup(base, &m->tokenizer.vocab, specials[2], strlen(specials[2]));
		if (m->cls_id < 0 || m->sep_id < 0)
			ok = tf_fail(dir->err, TF_ERR_FORMAT, "the vocabulary in \"%s\" lacks \"%s\" or \"%s\"",
						 dir->path, specials[3], specials[1]);
		else if (m->tokenizer.vocab.size != m->vocab_size)
		{
			tf_fail(dir->err, TF_ERR_SHAPE, "the tokenizer in \"%s\" does not match the model", dir->path);
			ok = tf_fail_detail(dir->err, "The vocabulary has %d tokens, config.json says vocab_size %d.",
								m->tokenizer.vocab.size, m->vocab_size);
		}
	}
done:
	tf_json_free(tok_json);
	tf_json_free(tok_config);
	return ok;
}

/* A Pooling module's config.json (`name` for messages) -> *pooling. */
static bool
read_pooling(TfModelDir *dir, const TfJson *pool, const char *name, TfPooling *pooling)
{
	static const char *const unsupported[] = {
		"pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken", NULL
	};
	bool		mean,
				cls,
				max,
				other = false;

	if (!tf_config_bool(dir, pool, "pooling_mode_mean_tokens", false, &mean) ||
		!tf_config_bool(dir, pool, "pooling_mode_cls_token", false, &cls) ||
		!tf_config_bool(dir, pool, "pooling_mode_max_tokens", false, &max))
		return false;
	for (int i = 0; unsupported[i] != NULL; i++)
	{
		bool		on;

		if (!tf_config_bool(dir, pool, unsupported[i], false, &on))
			return false;
		other |= on;
	}
	if (mean + cls + max != 1 || other)
	{
		tf_fail(dir->err, TF_ERR_UNSUPPORTED, "unsupported pooling in \"%s/%s\"", dir->path, name);
		return tf_fail_detail(dir->err, "Exactly one of mean, CLS or max pooling is supported.");
	}
	*pooling = mean ? TF_POOL_MEAN : cls ? TF_POOL_CLS : TF_POOL_MAX;
	return true;
}

/* Is a module path of modules.json a relative path inside the model
 * directory? It names a file the loader reads, so it must not lead out. */
static bool
module_path_inside(TfModelDir *dir, const char *path)
{
	bool		inside = path[0] != '/';

	/* and no ".." component */
	for (const char *p = path; inside && *p != '\0';)
	{
		size_t		n = strcspn(p, "/");

		inside = !(n == 2 && p[0] == '.' && p[1] == '.');
		p += n + (p[n] == '/');
	}
	if (inside)
		return true;
	tf_fail(dir->err, TF_ERR_FORMAT, "invalid module path \"%s\" in \"%s/modules.json\"", path, dir->path);
	return tf_fail_detail(dir->err, "A module path must be relative and stay inside the model directory.");
}

/* sentence-transformers modules.json: pooling mode, Normalize, length. */
static bool
load_sentence_modules(TfModelDir *dir, TfBertModel *m)
{
	TfJson	   *modules = tf_dir_json(dir, "modules.json", false);
	TfJson	   *st_config = tf_dir_json(dir, "sentence_bert_config.json", false);
	bool		ok = true;
	int32_t		max_len = m->max_positions;

	/* without modules.json: mean pooling, as sentence-transformers does for a plain model */
	m->pooling = TF_POOL_MEAN;
	m->normalize = false;
	if (dir->err->code != TF_OK)
		ok = false;
	for (int32_t i = 0; ok && modules != NULL && i < modules->count; i++)
	{
		const TfJson *mod = &modules->children[i];
		const char *type;
		const char *path;

		if (!tf_config_string(dir, mod, "type", "", &type) ||
			!tf_config_string(dir, mod, "path", "", &path))
		{
			ok = false;
			break;
		}
		if (strcmp(type, "sentence_transformers.models.Transformer") == 0)
			continue;
		if (strcmp(type, "sentence_transformers.models.Normalize") == 0)
			m->normalize = true;
		else if (strcmp(type, "sentence_transformers.models.Pooling") == 0)
		{
			char		name[1024];
			TfJson	   *pool;

			if (!module_path_inside(dir, path))
			{
				ok = false;
				break;
			}
			snprintf(name, sizeof(name), "%s/config.json", path);
			pool = tf_dir_json(dir, name, true);
			if (pool == NULL)
			{
				ok = false;
				break;
			}
			ok = read_pooling(dir, pool, name, &m->pooling);
			tf_json_free(pool);
		}
		else
		{
			tf_fail(dir->err, TF_ERR_UNSUPPORTED, "unsupported sentence-transformers module \"%s\" in \"%s/modules.json\"",
					type, dir->path);
			tf_fail_detail(dir->err, "Supported modules are Transformer, Pooling and Normalize.");
			ok = false;
		}
	}
	if (ok && st_config != NULL)
		ok = tf_config_int(dir, st_config, "max_seq_length", max_len, 2, 1 << 20, &max_len);
	m->max_tokens = max_len < m->max_positions ? max_len : m->max_positions;
	tf_json_free(modules);
	tf_json_free(st_config);
	return ok;
}

/* Checkpoint names of a BERT layer's blocks (%d: the layer). */
static const TfAttentionNames bert_attention_names = {
	"encoder.layer.%d.attention.self.query.weight", "encoder.layer.%d.attention.self.query.bias",
	"encoder.layer.%d.attention.self.key.weight", "encoder.layer.%d.attention.self.key.bias",
	"encoder.layer.%d.attention.self.value.weight", "encoder.layer.%d.attention.self.value.bias",
	"encoder.layer.%d.attention.output.dense.weight", "encoder.layer.%d.attention.output.dense.bias",
	"encoder.layer.%d.attention.output.LayerNorm.weight", "encoder.layer.%d.attention.output.LayerNorm.bias",
};
static const TfFeedForwardNames bert_feed_forward_names = {
	"encoder.layer.%d.intermediate.dense.weight", "encoder.layer.%d.intermediate.dense.bias",
	"encoder.layer.%d.output.dense.weight", "encoder.layer.%d.output.dense.bias",
	"encoder.layer.%d.output.LayerNorm.weight", "encoder.layer.%d.output.LayerNorm.bias",
};

/* Load every weight, checked by name and shape. */
static bool
load_weights(TfModelDir *dir, TfBertModel *m)
{
	TfArena    *a = dir->arena;
	int64_t		h1[1] = {m->hidden};

	if (!tf_matrix_load_named(dir, bert_prefixes, "embeddings.word_embeddings.weight",
							  m->vocab_size, m->hidden, false, &m->word_emb) ||
		!tf_matrix_load_named(dir, bert_prefixes, "embeddings.position_embeddings.weight",
							  m->max_positions, m->hidden, false, &m->pos_emb) ||
		!tf_matrix_load_named(dir, bert_prefixes, "embeddings.token_type_embeddings.weight",
							  m->type_vocab_size, m->hidden, false, &m->type_emb) ||
		(m->emb_norm_g = tf_weight_load(a, &dir->weights, bert_prefixes, "embeddings.LayerNorm.weight",
										1, h1, &dir->n_params, dir->err)) == 0 ||
		(m->emb_norm_b = tf_weight_load(a, &dir->weights, bert_prefixes, "embeddings.LayerNorm.bias",
										1, h1, &dir->n_params, dir->err)) == 0)
		return false;

	m->layer = tf_arena_alloc(a, sizeof(TfBertLayer) * m->layers, 64);
	for (int i = 0; i < m->layers; i++)
	{
		TfBertLayer L;

		if (!tf_attention_block_load(dir, bert_prefixes, &bert_attention_names, i, m->hidden, &L.attn) ||
			!tf_feed_forward_block_load(dir, bert_prefixes, &bert_feed_forward_names, i, m->hidden,
										m->intermediate, &L.ffn))
			return false;
		TF_ARENA_AT(a, m->layer, TfBertLayer)[i] = L;
	}
	return true;
}

TfOffset
tf_bert_load(TfModelDir *dir, int32_t *dim)
{
	const TfJson *c = dir->config;
	TfBertModel m;
	TfOffset	off;
	double		eps;
	const char *act;
	const char *pos_type;

	memset(&m, 0, sizeof(m));
	if (!tf_config_int(dir, c, "vocab_size", -1, 1, 1 << 22, &m.vocab_size) ||
		!tf_config_int(dir, c, "hidden_size", -1, 1, 1 << 16, &m.hidden) ||
		!tf_config_int(dir, c, "num_hidden_layers", -1, 1, 256, &m.layers) ||
		!tf_config_int(dir, c, "num_attention_heads", -1, 1, 1024, &m.heads) ||
		!tf_config_int(dir, c, "intermediate_size", -1, 1, 1 << 18, &m.intermediate) ||
		!tf_config_int(dir, c, "max_position_embeddings", 512, 2, 1 << 16, &m.max_positions) ||
		!tf_config_int(dir, c, "type_vocab_size", 2, 1, 1024, &m.type_vocab_size))
		return 0;
	if (m.hidden % m.heads != 0)
	{
		tf_fail(dir->err, TF_ERR_FORMAT, "invalid attention heads in \"%s/config.json\"", dir->path);
		tf_fail_detail(dir->err, "hidden_size %d is not a multiple of num_attention_heads %d.", m.hidden, m.heads);
		return 0;
	}
	if (!tf_config_float(dir, c, "layer_norm_eps", 1e-12, 0, 1, &eps) ||
		!tf_config_string(dir, c, "hidden_act", "gelu", &act) ||
		!tf_config_string(dir, c, "position_embedding_type", "absolute", &pos_type))
		return 0;
	m.layer_norm_eps = (float) eps;
	if (!tf_activation_parse(act, &m.act))
	{
		tf_fail(dir->err, TF_ERR_UNSUPPORTED, "unsupported hidden_act \"%s\" in \"%s/config.json\"", act, dir->path);
		return 0;
	}
	if (strcmp(pos_type, "absolute") != 0)
	{
		tf_fail(dir->err, TF_ERR_UNSUPPORTED, "unsupported position_embedding_type \"%s\" in \"%s/config.json\"",
				pos_type, dir->path);
		return 0;
	}
	if (!load_tokenizer(dir, &m) || !load_sentence_modules(dir, &m) ||
		!load_weights(dir, &m) || !tf_mlm_head_load(dir, m.vocab_size, m.hidden, &m.word_emb, &m.mlm))
		return 0;
	off = tf_arena_push(dir->arena, &m, sizeof(m), 64);
	*dim = m.hidden;
	return off;
}

int32_t
tf_bert_tokenize(const void *image, const TfBertModel *m, const char *text,
				 size_t len, int32_t *ids)
{
	int32_t		n;

	ids[0] = m->cls_id;
	n = tf_wordpiece_encode(image, &m->tokenizer, text, len, ids + 1, m->max_tokens - 2);
	ids[n + 1] = m->sep_id;
	return n + 2;
}

/* Run the encoder over the packed texts (ids[T]) and pool each into
 * out[seqs->n, hidden] (out NULL: no pooling); *hp: float[T, hidden]
 * scratch, which the blocks may swap with s->tmp, holds the final hidden
 * states on return. probs: NULL, or (one text) float[layers, heads, T, T]
 * that receives every layer's attention probabilities. */
static void
encode_chunk(const void *image, const TfBertModel *m, const int32_t *ids, const TfPacked *seqs,
			 float **hp, TfLayerScratch *s, float *out, float *probs)
{
	float	   *h = *hp;
	const TfBertLayer *layers = TF_AT(image, m->layer, const TfBertLayer);
	int			H = m->hidden;
	float	   *pos = tf_alloc_raw(sizeof(float) * H);	/* float[H]: one position's row */
	float	   *type0 = tf_alloc_raw(sizeof(float) * H);	/* float[H]: token type 0 */

	/* embeddings: word + position + token type 0, then LayerNorm */
	tf_matrix_row(image, &m->type_emb, 0, type0);
	for (int i = 0; i < seqs->n; i++)
		for (int p = 0; p < seqs->lens[i]; p++)
		{
			float	   *row = h + (size_t) (seqs->starts[i] + p) * H;

			tf_matrix_row(image, &m->word_emb, ids[seqs->starts[i] + p], row);
			tf_matrix_row(image, &m->pos_emb, p, pos);
			for (int j = 0; j < H; j++)
				row[j] = row[j] + pos[j] + type0[j];
		}
	tf_free(pos);
	tf_free(type0);
	tf_add_layernorm(h, NULL, seqs->T, H, TF_AT(image, m->emb_norm_g, const float),
					 TF_AT(image, m->emb_norm_b, const float), m->layer_norm_eps);

	for (int l = 0; l < m->layers; l++)
	{
		tf_check_interrupts();
		tf_self_attention_forward(image, &layers[l].attn, &h, H, m->heads, m->layer_norm_eps, seqs, s,
								  probs ? probs + (size_t) l * m->heads * seqs->T * seqs->T : NULL);
		tf_feed_forward_forward(image, &layers[l].ffn, &h, seqs->T, H, m->intermediate, m->act,
								m->layer_norm_eps, s);
	}

	for (int i = 0; i < seqs->n && out != NULL; i++)
	{
		const float *x = h + (size_t) seqs->starts[i] * H;
		float	   *o = out + (size_t) i * H;
		int			len = seqs->lens[i];

		for (int j = 0; j < H; j++)
		{
			double		acc = x[j];

			/* token 0 is [CLS]; mean and max run over every token */
			for (int p = 1; p < len && m->pooling != TF_POOL_CLS; p++)
			{
				float		v = x[(size_t) p * H + j];

				acc = m->pooling == TF_POOL_MAX ? (v > acc ? v : acc) : acc + v;
			}
			o[j] = (float) (m->pooling == TF_POOL_MEAN ? acc / len : acc);
		}
		if (m->normalize)
			tf_l2_normalize(o, H);
	}
	*hp = h;
}

bool
tf_bert_embed(const void *image, const TfBertModel *m, const char *const *texts,
			  const size_t *lens, int n, float *out, TfError *err)
{
	int			max_tok = m->max_tokens;
	int			chunk = BERT_CHUNK_TOKENS > max_tok ? BERT_CHUNK_TOKENS : max_tok;
	int32_t    *ids;			/* int32[chunk + max_tok] */
	int		   *starts;			/* int[n] */
	int		   *counts;			/* int[n] */
	float	   *h = NULL;		/* float[capacity, hidden] */
	int			capacity = 0;	/* rows h and the scratch hold */
	TfLayerScratch s;
	int			first = 0;
	int			carried = 0;	/* tokens of texts[first] already at ids[0,
								 * carried): it did not fit the last chunk
								 * (a text has at least [CLS] [SEP], so 0 is
								 * none) */

	if (n < 0)
		return tf_fail(err, TF_ERR_INPUT, "cannot embed %d texts", n);
	ids = tf_alloc(sizeof(int32_t) * (chunk + max_tok));
	starts = tf_alloc(sizeof(int) * (n + 1));
	counts = tf_alloc(sizeof(int) * (n + 1));

	/* pack texts into chunks of at most `chunk` tokens; scratch is sized
	 * to the largest chunk met, so a short text costs little memory */
	while (first < n)
	{
		TfPacked	seqs = {0, 0, starts, counts};

		while (first + seqs.n < n)
		{
			int			c = carried;

			if (c == 0)
			{
				tf_check_interrupts();
				c = tf_bert_tokenize(image, m, texts[first + seqs.n], lens[first + seqs.n], ids + seqs.T);
			}
			carried = 0;
			if (seqs.n > 0 && seqs.T + c > chunk)
			{
				carried = c;	/* opens the next chunk, tokens kept */
				break;
			}
			starts[seqs.n] = seqs.T;
			counts[seqs.n] = c;
			seqs.T += c;
			seqs.n++;
		}
		if (seqs.T > capacity)
		{
			if (capacity > 0)
			{
				tf_layer_scratch_free(&s);
				tf_free(h);
			}
			capacity = seqs.T;
			h = tf_alloc_raw(sizeof(float) * (size_t) capacity * m->hidden);
			/* no sequence of a chunk is longer than the chunk */
			tf_layer_scratch_init(&s, capacity, m->hidden, m->intermediate,
								  capacity < max_tok ? capacity : max_tok);
		}
		encode_chunk(image, m, ids, &seqs, &h, &s, out + (size_t) first * m->hidden, NULL);
		memmove(ids, ids + seqs.T, sizeof(int32_t) * carried);
		first += seqs.n;
	}
	if (capacity > 0)
	{
		tf_layer_scratch_free(&s);
		tf_free(h);
	}
	tf_free(ids);
	tf_free(starts);
	tf_free(counts);
	return true;
}

int32_t
tf_bert_hidden_states(const void *image, const TfBertModel *m, const char *text,
					  size_t len, int32_t *ids, float **hidden)
{
	int			start = 0;
	int			count = tf_bert_tokenize(image, m, text, len, ids);
	TfPacked	seqs = {1, count, &start, &count};
	float	   *h = tf_alloc_raw(sizeof(float) * (size_t) count * m->hidden);	/* float[count, hidden] */
	TfLayerScratch s;

	tf_layer_scratch_init(&s, count, m->hidden, m->intermediate, count);
	encode_chunk(image, m, ids, &seqs, &h, &s, NULL, NULL);
	tf_layer_scratch_free(&s);
	*hidden = h;
	return count;
}

void
tf_bert_attention(const void *image, const TfBertModel *m, const char *text, size_t len,
				  TfAttentionMaps *out)
{
	int32_t    *ids = tf_alloc(sizeof(int32_t) * m->max_tokens);	/* int32[max_tokens] */
	int32_t		pieces;
	bool		truncated;
	int			start = 0;
	int			count;
	TfPacked	seqs = {1, 0, &start, &count};
	float	   *h;				/* float[count, hidden] */
	TfLayerScratch s;

	/* as tf_bert_tokenize, with room for one piece more to see a cut */
	ids[0] = m->cls_id;
	pieces = tf_wordpiece_encode(image, &m->tokenizer, text, len, ids + 1, m->max_tokens - 1);
	truncated = pieces > m->max_tokens - 2;
	if (truncated)
		pieces = m->max_tokens - 2;
	ids[pieces + 1] = m->sep_id;
	count = seqs.T = pieces + 2;
	tf_attention_maps_init(out, m->layers, m->heads, ids, count, ids, count);
	out->truncated = truncated;

	h = tf_alloc_raw(sizeof(float) * (size_t) count * m->hidden);
	tf_layer_scratch_init(&s, count, m->hidden, m->intermediate, count);
	encode_chunk(image, m, out->query_ids, &seqs, &h, &s, NULL, out->p);
	tf_layer_scratch_free(&s);
	tf_free(h);
	tf_free(ids);
}
