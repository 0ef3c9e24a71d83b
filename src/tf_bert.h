/*
 * tf_bert.h: BERT sentence embedders (Hugging Face BertModel, with the
 * sentence-transformers Pooling and Normalize modules).
 *
 * Forward pass, as modeling_bert.py: word + position + token-type (0)
 * embeddings, LayerNorm; N post-LN layers of multi-head self-attention and
 * a GELU feed-forward block; then mean, CLS or max pooling over the tokens
 * and optional L2 normalisation. A batch is packed without padding: the
 * linear layers run over all tokens of all texts at once, attention runs
 * per text over its own tokens only (equivalent to the additive padding
 * mask, since masked keys get exactly zero weight).
 */
#ifndef TF_BERT_H
#define TF_BERT_H

#include "tf_attention.h"
#include "tf_kernels.h"
#include "tf_layers.h"
#include "tf_checkpoint.h"
#include "tf_mlm_head.h"
#include "tf_wordpiece.h"

typedef enum TfPooling
{
	TF_POOL_MEAN,
	TF_POOL_CLS,
	TF_POOL_MAX
} TfPooling;

typedef struct TfBertLayer
{
	TfAttentionBlock attn;		/* self-attention, d = hidden */
	TfFeedForwardBlock ffn;		/* hidden -> intermediate -> hidden */
} TfBertLayer;

typedef struct TfBertModel
{
	int32_t		vocab_size;
	int32_t		hidden;
	int32_t		layers;
	int32_t		heads;
	int32_t		intermediate;
	int32_t		max_positions;
	int32_t		type_vocab_size;
	int32_t		max_tokens;		/* per text, [CLS] and [SEP] included */
	float		layer_norm_eps;
	TfActivation act;
	TfPooling	pooling;
	bool		normalize;
	int32_t		cls_id;
	int32_t		sep_id;
	int32_t		mask_id;		/* -1: the vocabulary has no mask token */
	int32_t		pad_id;			/* -1: nor a padding token */
	TfMatrix	word_emb;		/* [vocab_size, hidden] */
	TfMatrix	pos_emb;		/* [max_positions, hidden] */
	TfMatrix	type_emb;		/* [type_vocab_size, hidden] */
	TfOffset	emb_norm_g;		/* float[hidden] */
	TfOffset	emb_norm_b;		/* float[hidden] */
	TfOffset	layer;			/* TfBertLayer[layers] */
	TfMlmHead	mlm;			/* masked-LM head, when the checkpoint has one */
	TfWordPiece tokenizer;
} TfBertModel;

/* Read a BERT checkpoint (config, weights, tokenizer, sentence-transformers
 * modules) into dir->arena; returns the TfBertModel's offset, 0 on error.
 * *dim is the embedding size. */
TfOffset	tf_bert_load(TfModelDir *dir, int32_t *dim);

/* Token ids of one text as the model sees it: [CLS] pieces [SEP],
 * truncated to m->max_tokens. ids: int32[m->max_tokens]; returns the count. */
int32_t		tf_bert_tokenize(const void *image, const TfBertModel *m, const char *text,
							 size_t len, int32_t *ids);

/* The embedding task, end to end: tokenize n texts (texts[i]: lens[i]
 * bytes of UTF-8; too long ones truncated as the model truncates), encode
 * them in packed batches, pool: out[n, hidden]. False with err filled on
 * failure. The same path serves SQL's embed() and the unit tests. */
bool		tf_bert_embed(const void *image, const TfBertModel *m, const char *const *texts,
						  const size_t *lens, int n, float *out, TfError *err);

/* The final hidden states of one text (tokenized and truncated as
 * tf_bert_tokenize does into ids[m->max_tokens]): returns the token count
 * n and sets *hidden to tf_alloc'd float[n, m->hidden] (tf_free it). */
int32_t		tf_bert_hidden_states(const void *image, const TfBertModel *m, const char *text,
								  size_t len, int32_t *ids, float **hidden);

/* The self-attention of one text (tokenized and truncated as
 * tf_bert_tokenize does): out receives every layer's and head's
 * probabilities over its tokens, [CLS] and [SEP] included, as
 * BertModel(output_attentions=True) gives them; tf_attention_maps_free
 * releases them. */
void		tf_bert_attention(const void *image, const TfBertModel *m, const char *text,
							  size_t len, TfAttentionMaps *out);

#endif							/* TF_BERT_H */
