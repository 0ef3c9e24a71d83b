/*
 * tf_attention.c: attention maps (see tf_attention.h).
 */
#include "tf_attention.h"

#include <string.h>

#include "tf_runtime.h"

void
tf_attention_maps_init(TfAttentionMaps *maps, int layers, int heads,
					   const int32_t *query_ids, int queries,
					   const int32_t *key_ids, int keys)
{
	maps->layers = layers;
	maps->heads = heads;
	maps->queries = queries;
	maps->keys = keys;
	maps->truncated = false;
	maps->query_ids = tf_alloc(sizeof(int32_t) * (queries + 1));
	maps->key_ids = tf_alloc(sizeof(int32_t) * (keys + 1));
	memcpy(maps->query_ids, query_ids, sizeof(int32_t) * queries);
	memcpy(maps->key_ids, key_ids, sizeof(int32_t) * keys);
	maps->p = tf_alloc(sizeof(float) * (size_t) layers * heads * queries * keys + 1);
}

void
tf_attention_maps_free(TfAttentionMaps *maps)
{
	tf_free(maps->query_ids);
	tf_free(maps->key_ids);
	tf_free(maps->p);
	memset(maps, 0, sizeof(*maps));
}

const float *
tf_attention_map(const TfAttentionMaps *maps, int layer, int head)
{
	return maps->p + ((size_t) layer * maps->heads + head) * maps->queries * maps->keys;
}

void
tf_attention_head_average(const TfAttentionMaps *maps, int layer, float *out)
{
	size_t		cells = (size_t) maps->queries * maps->keys;

	for (size_t c = 0; c < cells; c++)
	{
		double		sum = 0;

		for (int h = 0; h < maps->heads; h++)
			sum += tf_attention_map(maps, layer, h)[c];
		out[c] = (float) (sum / maps->heads);
	}
}
