/*
 * tf_attention.h: attention maps, recorded on request.
 *
 * The forward passes take an optional pointer that receives the attention
 * probabilities (after softmax) of every layer and head; embed() and
 * translate() pass NULL and pay nothing but that test. A TfAttentionMaps
 * holds what one text's pass recorded, with the tokens on both axes:
 * BERT self-attention and Marian encoder self-attention (queries and keys
 * are the same tokens), or a translation's cross-attention (queries are
 * the generated target tokens, keys the source tokens; see
 * tf_alignment.h).
 */
#ifndef TF_ATTENTION_H
#define TF_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

typedef struct TfAttentionMaps
{
	int32_t		layers;
	int32_t		heads;
	int32_t		queries;		/* rows of each map */
	int32_t		keys;			/* columns of each map */
	int32_t    *query_ids;		/* int32[queries]: token id of each row */
	int32_t    *key_ids;		/* int32[keys]: token id of each column */
	bool		truncated;		/* the text was cut to the model's length */
	float	   *p;				/* float[layers, heads, queries, keys] */
} TfAttentionMaps;

/* Allocate maps of the given shape (p zeroed), copying the token ids. */
void		tf_attention_maps_init(TfAttentionMaps *maps, int layers, int heads,
								   const int32_t *query_ids, int queries,
								   const int32_t *key_ids, int keys);
void		tf_attention_maps_free(TfAttentionMaps *maps);

/* The map of one layer and head: float[queries, keys] inside maps->p. */
const float *tf_attention_map(const TfAttentionMaps *maps, int layer, int head);

/* out[queries, keys] = the mean over the heads of one layer. */
void		tf_attention_head_average(const TfAttentionMaps *maps, int layer, float *out);

#endif							/* TF_ATTENTION_H */
