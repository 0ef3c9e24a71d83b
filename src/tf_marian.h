/*
 * tf_marian.h: Marian encoder-decoder translators (Hugging Face
 * MarianMTModel, every Helsinki-NLP opus-mt checkpoint).
 *
 * As modeling_marian.py: token embeddings scaled by sqrt(d_model) when
 * scale_embedding, plus static sinusoidal positions (sin half, cos half;
 * computed where used rather than kept in the image);
 * post-LN encoder layers (self-attention, feed-forward); post-LN decoder
 * layers (causal self-attention, cross-attention to the encoder output,
 * feed-forward); logits = h @ lm_head^T + final_logits_bias.
 *
 * Decoding keeps a cache: the cross-attention keys and values of each
 * source are computed once (TfMarianBatch), and each step's self-attention
 * keys and values are appended to a TfMarianCache. Beam search reorders
 * hypotheses without copying the cache: each hypothesis carries its
 * history, the row it occupied at every earlier step.
 */
#ifndef TF_MARIAN_H
#define TF_MARIAN_H

#include "tf_checkpoint.h"
#include "tf_generate.h"
#include "tf_layers.h"
#include "tf_sentencepiece.h"
#include "tf_vocab.h"

typedef struct TfMarianLayer
{
	TfAttentionBlock self_attn;
	TfAttentionBlock cross_attn;	/* decoder only: q from the decoder, k v from the encoder */
	TfFeedForwardBlock ffn;
} TfMarianLayer;

typedef struct TfMarianModel
{
	int32_t		src_vocab;		/* vocab_size */
	int32_t		tgt_vocab;		/* decoder_vocab_size */
	int32_t		d_model;
	int32_t		enc_layers;
	int32_t		dec_layers;
	int32_t		enc_heads;
	int32_t		dec_heads;
	int32_t		enc_ffn;
	int32_t		dec_ffn;
	int32_t		max_positions;
	int32_t		max_source_tokens;	/* source ids per text, </s> included */
	TfActivation act;
	float		embed_scale;	/* sqrt(d_model) or 1 */
	int32_t		pad_id;			/* config.json's, for detokenizing */
	int32_t		eos_id;			/* config.json's: ends a source, skipped when detokenizing */
	int32_t		unk_id;
	/* generation (tf_generation_config.h says where each comes from) */
	int32_t		decoder_start_id;
	int32_t		generation_eos_id;	/* ends a hypothesis; -1: none */
	int32_t		forced_eos_id;	/* -1: none */
	int32_t		n_banned;
	TfOffset	banned;			/* int32[n_banned]: bad_words_ids of one token */
	TfGenerateOptions generation;	/* the checkpoint's defaults */
	TfMatrix	enc_embed;		/* [src_vocab, d_model] */
	TfMatrix	dec_embed;		/* [src_vocab, d_model] (often = enc_embed) */
	TfMatrix	lm_head;		/* [tgt_vocab, d_model], or dec_embed (of which
								 * the first tgt_vocab rows are used) */
	TfOffset	final_logits_bias;	/* float[tgt_vocab] */
	TfOffset	enc_layer;		/* TfMarianLayer[enc_layers] */
	TfOffset	dec_layer;		/* TfMarianLayer[dec_layers] */
	TfSentencePiece source_spm;	/* source.spm */
	TfSentencePiece target_spm;	/* target.spm */
	TfVocab		source_vocab;	/* vocab.json */
	TfVocab		target_vocab;	/* target_vocab.json, or the same as source_vocab */
	TfOffset	spm_to_source;	/* int32[source_spm.pieces.size]: vocab id of each piece */
} TfMarianModel;

/* Encoder output of a batch of sources, kept for decoding. */
typedef struct TfMarianBatch
{
	int			n;				/* sources */
	int			T;				/* their tokens in all */
	int		   *starts;			/* int[n]: first row of source i */
	int		   *lens;			/* int[n]: its token count */
	float	   *cross_kv;		/* float[dec_layers, T, 2 * d]: cross keys, values */
} TfMarianBatch;

/* Self-attention keys and values of every decoding step so far. */
typedef struct TfMarianCache
{
	int			steps;			/* steps stored */
	int			capacity;		/* steps allocated */
	float	  **kv;				/* per step: float[dec_layers, rows, 2 * d] */
	int		   *rows;			/* per step: hypotheses decoded at that step */
	/* step scratch, allocated at the first step for its row count (later
	 * steps have no more rows: finished sources leave) */
	int			scratch_rows;
	float	   *x;				/* float[scratch_rows, d]: the hidden states */
	float	   *q;				/* float[scratch_rows, d]: cross-attention queries */
	float	   *weights;		/* float[scratch_rows, max(max_positions, T)] */
	TfLayerScratch blocks;		/* for scratch_rows rows */
} TfMarianCache;

/* Read a Marian checkpoint into dir->arena; the TfMarianModel's offset, or
 * 0 on error. *dim is d_model. */
TfOffset	tf_marian_load(TfModelDir *dir, int32_t *dim);

/* Source ids of one text, as MarianTokenizer (transformers 4.46) with
 * truncation: a leading >>xx<< language code as one vocab.json piece, every
 * >>..<< cut from the text, the source SentencePiece pieces (spm's
 * EncodeAsPieces: an unknown piece is the text it covers) through vocab.json
 * (missing -> <unk>), truncated to max_source_tokens - 1, then </s>.
 * ids: int32[m->max_source_tokens]; returns the count, or -1 when the text
 * is too long for tf_spm_encode_pieces. Not reproduced (nor by
 * test/reference/marian_tokenizer.py): MarianTokenizer first splits the text
 * at literal "</s>", "<unk>" and "<pad>", which become those tokens. */
int32_t		tf_marian_tokenize(const void *image, const TfMarianModel *m, const char *text,
							   size_t len, int32_t *ids);

/* The same, and *truncated says whether pieces were cut. */
int32_t		tf_marian_tokenize_checked(const void *image, const TfMarianModel *m,
									   const char *text, size_t len, int32_t *ids,
									   bool *truncated);

/* Target ids -> text as MarianTokenizer.decode(skip_special_tokens=True):
 * eos, pad and unk dropped, the pieces joined by the target spm's
 * DecodePieces (a piece target.spm lacks, e.g. a source-language piece of
 * a shared vocab.json, comes out verbatim), U+2581 -> space, stripped.
 * Result tf_alloc'd and NUL-terminated. */
char	   *tf_marian_detokenize(const void *image, const TfMarianModel *m, const int32_t *ids,
								 int n, size_t *len);

/* Run the encoder over n sources (ids[i], lens[i] tokens each) and compute
 * every decoder layer's cross-attention keys and values. probs: NULL, or
 * (one source, n == 1) float[enc_layers, enc_heads, T, T] that receives
 * the encoder's self-attention probabilities. */
void		tf_marian_encode(const void *image, const TfMarianModel *m, const int32_t *const *ids,
							 const int *lens, int n, TfMarianBatch *out, float *probs);
void		tf_marian_batch_free(TfMarianBatch *batch);

void		tf_marian_cache_init(TfMarianCache *cache);
void		tf_marian_cache_free(TfMarianCache *cache);

/*
 * One decoding step (the `cache->steps`-th position) for nh hypotheses:
 * hypothesis i feeds token tokens[i], attends to source src[i] (hypotheses
 * of one source must be adjacent), and to its own earlier steps through
 * history[i * history_stride + s], its row at step s. Appends this step's
 * keys and values to the cache (hypothesis i at row i) and writes
 * logits[nh, tgt_vocab]. cross_probs: NULL, or (one source, batch->n == 1)
 * float[dec_layers, dec_heads, nh, batch->T] that receives the
 * cross-attention probabilities of every hypothesis.
 */
void		tf_marian_decode_step(const void *image, const TfMarianModel *m,
								  const TfMarianBatch *batch, TfMarianCache *cache, int nh,
								  const int32_t *tokens, const int *src, const int32_t *history,
								  int history_stride, float *logits, float *cross_probs);

/* The cross-attention of every decoding step of one source, kept on
 * request (tf_alignment.c picks the chosen hypothesis' rows from it). */
typedef struct TfMarianCrossRecord
{
	int			steps;			/* steps recorded */
	int			capacity;		/* steps allocated */
	int		   *rows;			/* int[steps]: hypotheses decoded at each step */
	float	  **p;				/* per step: float[dec_layers, dec_heads, rows, source length] */
} TfMarianCrossRecord;

void		tf_marian_cross_record_free(TfMarianCrossRecord *record);

/* The state behind a Marian TfDecoder: the encoded sources and the cache. */
typedef struct TfMarianDecoder
{
	const void *image;
	const TfMarianModel *m;
	TfMarianBatch batch;
	TfMarianCache cache;
	TfMarianCrossRecord *record;	/* NULL, or where each step's cross-attention
									 * goes (one source per search) */
} TfMarianDecoder;

/* Model m as a TfDecoder for tf_generate; its state lives in *state, which
 * must outlive the search. */
TfDecoder	tf_marian_decoder(const void *image, const TfMarianModel *m, TfMarianDecoder *state);

#endif							/* TF_MARIAN_H */
