/*
 * tf_checkpoint.h: reading a Hugging Face checkpoint directory: its files,
 * its JSON configuration, its safetensors weights. The model loaders
 * (tf_bert.c, tf_marian.c) read through this unit; tf_model.c opens the
 * directory, dispatches on model_type and closes it.
 */
#ifndef TF_CHECKPOINT_H
#define TF_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "tf_arena.h"
#include "tf_json.h"
#include "tf_runtime.h"
#include "tf_safetensors.h"

/* How a model's weight matrices are stored in its image (tf_matrix.h). */
typedef enum TfPrecision
{
	TF_PRECISION_EXACT = 0,		/* as the checkpoint stores them: F32, F16, BF16 */
	TF_PRECISION_FLOAT32,		/* widened to float32 at load (twice the memory
								 * of an F16 checkpoint, the same numbers) */
	TF_PRECISION_INT8			/* int8 per output channel, quantized at load */
} TfPrecision;

/* A checkpoint directory being read into an arena (used by the loaders). */
typedef struct TfModelDir
{
	const char *path;
	TfArena    *arena;
	TfJson	   *config;			/* config.json */
	char	   *weights_file;	/* model.safetensors bytes */
	TfSafeTensors weights;
	int64_t		n_params;
	TfPrecision precision;		/* of the weight matrices */
	uint32_t	formats;		/* bit (1 << TfFormat) of each matrix format loaded */
	TfError    *err;
} TfModelDir;

/* Open config.json and model.safetensors, the two files every model has;
 * false with dir->err filled when either is missing or unreadable. */
bool		tf_dir_open(TfModelDir *dir);

/* Release what tf_dir_open read (also after a failed open). */
void		tf_dir_close(TfModelDir *dir);

/* Read dir/name into memory; NULL when absent (err->code stays TF_OK
 * unless `required`) or unreadable (err set). */
char	   *tf_dir_read(TfModelDir *dir, const char *name, bool required, size_t *len);

/* Parse the JSON file dir/name; NULL when absent (and not required) or on
 * error, told apart by dir->err->code. */
TfJson	   *tf_dir_json(TfModelDir *dir, const char *name, bool required);

/*
 * Checked readers of config members, the only way a loader reads a config
 * value. Each takes `fallback` when the member is absent or JSON null, and
 * otherwise fails (TF_ERR_FORMAT naming the key) unless the value has the
 * right type and lies in range; NaN and +-Infinity are never in range.
 */

/* Integer in [min, max]; a fallback outside the range makes it required. */
bool		tf_config_int(TfModelDir *dir, const TfJson *obj, const char *key,
						  int64_t fallback, int64_t min, int64_t max, int32_t *out);

/* Integer of at least min, any size, stored capped at `cap` (for limits
 * such as model_max_length, where Hugging Face writes int(1e30) for none). */
bool		tf_config_limit(TfModelDir *dir, const TfJson *obj, const char *key,
							int32_t fallback, int32_t min, int32_t cap, int32_t *out);

/* Finite number in [min, max]. */
bool		tf_config_float(TfModelDir *dir, const TfJson *obj, const char *key,
							double fallback, double min, double max, double *out);

/* true or false. */
bool		tf_config_bool(TfModelDir *dir, const TfJson *obj, const char *key,
						   bool fallback, bool *out);

/* A string (pointing into obj). */
bool		tf_config_string(TfModelDir *dir, const TfJson *obj, const char *key,
							 const char *fallback, const char **out);

/*
 * The keys of a vocabulary object {token: id} (vocab.json, tokenizer.json's
 * model.vocab) laid out by id: *tokens[id] and *lens[id], tf_alloc'd arrays
 * of obj->count pointing into obj. The ids must be 0 .. count - 1, each
 * used once; false with dir->err naming file `name` otherwise.
 */
bool		tf_dir_vocab(TfModelDir *dir, const char *name, const TfJson *obj,
						 const char ***tokens, uint32_t **lens);

#endif							/* TF_CHECKPOINT_H */
