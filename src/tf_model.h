/*
 * tf_model.h: loading a Hugging Face checkpoint directory into a model image.
 *
 * Image layout (one relocatable block, see tf_arena.h):
 *   offset 0      TfImageHeader
 *   header.model  TfBertModel or TfMarianModel (by header.arch), whose
 *                 members reference weights (float32, 64-byte aligned) and
 *                 tokenizer tables elsewhere in the same block.
 * Weights are converted to float32 at load, whatever their dtype on disk.
 */
#ifndef TF_MODEL_H
#define TF_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "tf_arena.h"
#include "tf_json.h"
#include "tf_runtime.h"
#include "tf_safetensors.h"

#define TF_IMAGE_MAGIC 0x31465254	/* "TRF1" */
#define TF_IMAGE_VERSION 1

typedef enum TfArch
{
	TF_ARCH_BERT = 1,			/* sentence embedder */
	TF_ARCH_MARIAN = 2			/* translator */
} TfArch;

typedef struct TfImageHeader
{
	uint32_t	magic;
	uint32_t	version;
	TfArch		arch;
	int32_t		dim;			/* embedding size (BERT) or d_model (Marian) */
	int64_t		n_params;		/* weights loaded, counted once when tied */
	uint64_t	image_bytes;	/* size of the whole image */
	TfOffset	model;			/* TfBertModel or TfMarianModel */
} TfImageHeader;

/* A checkpoint directory being read into an arena (used by the loaders). */
typedef struct TfModelDir
{
	const char *path;
	TfArena    *arena;
	TfJson	   *config;			/* config.json */
	char	   *weights_file;	/* model.safetensors bytes */
	TfSafeTensors weights;
	int64_t		n_params;
	TfError    *err;
} TfModelDir;

/*
 * Load the checkpoint in directory `path` into a fresh arena: on success
 * arena->base is the finished image (arena->size bytes) and true is
 * returned; on failure err says why and the arena is freed.
 */
bool		tf_model_load(const char *path, TfArena *arena, TfError *err);

/* Header of an image, or NULL (err set) if `image` is not one. */
const TfImageHeader *tf_image_header(const void *image, size_t size, TfError *err);

/* Name of an architecture, as shown to users ("bert", "marian"). */
const char *tf_arch_name(TfArch arch);

/* Read dir/name into memory; NULL when absent (err->code stays TF_OK
 * unless `required`) or unreadable (err set). */
char	   *tf_dir_read(TfModelDir *dir, const char *name, bool required, size_t *len);

/* Parse the JSON file dir/name; NULL when absent (and not required) or on
 * error, told apart by dir->err->code. */
TfJson	   *tf_dir_json(TfModelDir *dir, const char *name, bool required);

/* Integer member of a config object, checked to lie in [min, max];
 * `fallback` when absent (use a value outside the range to require it). */
bool		tf_config_int(TfModelDir *dir, const TfJson *obj, const char *key,
						  int64_t fallback, int64_t min, int64_t max, int32_t *out);

#endif							/* TF_MODEL_H */
