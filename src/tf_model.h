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
#include "tf_runtime.h"

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

#endif							/* TF_MODEL_H */
