/*
 * tf_model.h: loading a Hugging Face checkpoint directory into a model image.
 *
 * Image layout (one relocatable block, see tf_arena.h):
 *   offset 0      TfImageHeader
 *   header.model  TfBertModel or TfMarianModel (by header.arch), whose
 *                 members reference weights (64-byte aligned) and
 *                 tokenizer tables elsewhere in the same block.
 * Weight matrices keep the checkpoint's dtype (F32, F16, BF16) or are
 * quantized to int8 at load (tf_matrix.h); vectors are float32.
 */
#ifndef TF_MODEL_H
#define TF_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "tf_arena.h"
#include "tf_checkpoint.h"
#include "tf_runtime.h"

#define TF_IMAGE_MAGIC 0x31465254	/* "TRF1" */
#define TF_IMAGE_VERSION 2

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
	TfPrecision precision;		/* asked for at load */
	uint32_t	formats;		/* bit (1 << TfFormat) of each weight matrix format */
	uint64_t	image_bytes;	/* size of the whole image */
	TfOffset	model;			/* TfBertModel or TfMarianModel */
} TfImageHeader;

/*
 * Load the checkpoint in directory `path` into a fresh arena, its weight
 * matrices in `precision`: on success arena->base is the finished image
 * (arena->size bytes) and true is returned; on failure err says why and
 * the arena is freed.
 */
bool		tf_model_load(const char *path, TfPrecision precision, TfArena *arena, TfError *err);

/* "exact", "float32" or "int8" <-> TfPrecision; parse returns false on others. */
bool		tf_precision_parse(const char *name, TfPrecision *out);
const char *tf_precision_name(TfPrecision precision);

/*
 * The formats of an image's weight matrices, as users see them:
 * "float16", "int8", or several joined by "+" ("float16+float32") when a
 * checkpoint mixes dtypes; written into buf[size].
 */
void		tf_image_formats(const TfImageHeader *h, char *buf, size_t size);

/* Header of an image, or NULL (err set) if `image` is not one. */
const TfImageHeader *tf_image_header(const void *image, size_t size, TfError *err);

/* Name of an architecture, as shown to users ("bert", "marian"). */
const char *tf_arch_name(TfArch arch);

#endif							/* TF_MODEL_H */
