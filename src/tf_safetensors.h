/*
 * tf_safetensors.h: reading Hugging Face's model.safetensors.
 *
 * The format: an unsigned 64-bit little-endian header length N, then N
 * bytes of JSON mapping each tensor name to {"dtype", "shape",
 * "data_offsets": [begin, end]} (offsets relative to the byte after the
 * header), optionally "__metadata__", then the raw little-endian data.
 *
 * tf_safetensors_open() checks everything a corrupt or truncated file could
 * get wrong (header length, JSON, dtype names, shape products against byte
 * ranges, ranges inside the file) before any tensor is touched.
 * tf_weight_load() then copies one tensor, converted to float32, into a
 * model image after checking its name, dtype and shape against what the
 * model expects, and reports got vs expected when they differ.
 */
#ifndef TF_SAFETENSORS_H
#define TF_SAFETENSORS_H

#include <stdbool.h>
#include <stdint.h>

#include "tf_arena.h"
#include "tf_json.h"
#include "tf_runtime.h"

#define TF_MAX_DIMS 8
#define TF_MAX_ELEMENTS ((int64_t) 1 << 48)	/* per tensor: beyond any real file */

typedef enum TfDtype
{
	TF_DTYPE_F32,
	TF_DTYPE_F16,
	TF_DTYPE_BF16,
	TF_DTYPE_OTHER				/* a valid dtype we cannot use as a weight */
} TfDtype;

typedef struct TfTensorInfo
{
	const char *name;			/* points into the parsed header */
	TfDtype		dtype;
	const char *dtype_name;		/* as written in the file, e.g. "F16" */
	int			ndim;
	int64_t		shape[TF_MAX_DIMS];
	uint64_t	begin;			/* byte range in the data section */
	uint64_t	end;
} TfTensorInfo;

typedef struct TfSafeTensors
{
	const char *path;			/* for error messages */
	const uint8_t *data;		/* start of the data section */
	uint64_t	data_len;
	int32_t		count;
	TfTensorInfo *tensors;		/* TfTensorInfo[count], tf_alloc'd */
	TfJson	   *header;			/* parsed header (owns the names) */
} TfSafeTensors;

/* Validate and index a safetensors file held in memory (file[0..len)). The
 * caller keeps `file` alive while `out` is used. */
bool		tf_safetensors_open(const uint8_t *file, size_t len, const char *path,
								TfSafeTensors *out, TfError *err);

/* Release the index (not the file bytes). */
void		tf_safetensors_close(TfSafeTensors *st);

/* Tensor `name`, or NULL. */
const TfTensorInfo *tf_safetensors_find(const TfSafeTensors *st, const char *name);

/* Convert a tensor's elements to float32 into dst[product of shape]. */
void		tf_tensor_to_f32(const TfSafeTensors *st, const TfTensorInfo *t, float *dst);

/*
 * The tensor prefix+name (each prefix in `prefixes`, a NULL-terminated list,
 * is tried in turn; "" means none), checked to have `ndim` dimensions equal
 * to `shape` and a float dtype; NULL with err filled (missing, wrong shape
 * or dtype). Loaders check a tensor this way before they size anything by
 * its shape, so that memory follows the file, never the config alone.
 */
const TfTensorInfo *tf_weight_find(const TfSafeTensors *st, const char *const *prefixes,
								   const char *name, int ndim, const int64_t *shape,
								   TfError *err);

/* Number of elements of a tensor (its shape's product). */
int64_t		tf_tensor_elements(const TfTensorInfo *t);

/* Convert a found tensor to float32 into dst[its elements]; *n_params (if
 * not NULL) grows by its element count. */
void		tf_weight_copy(const TfSafeTensors *st, const TfTensorInfo *t, float *dst,
						   int64_t *n_params);

/* tf_weight_find, then tf_weight_copy into dst[product of shape]. */
bool		tf_weight_read(const TfSafeTensors *st, const char *const *prefixes,
						   const char *name, int ndim, const int64_t *shape,
						   float *dst, int64_t *n_params, TfError *err);

/*
 * Copy the tensor found under prefix+name (each prefix in `prefixes`, a
 * NULL-terminated list, is tried in turn; "" means none) into the arena as
 * float32, after checking it has `ndim` dimensions equal to `shape`.
 * Returns its offset, or 0 with err filled (missing, wrong shape or dtype).
 * *n_params (if not NULL) grows by the tensor's element count.
 */
TfOffset	tf_weight_load(TfArena *arena, const TfSafeTensors *st, const char *const *prefixes,
						   const char *name, int ndim, const int64_t *shape,
						   int64_t *n_params, TfError *err);

#endif							/* TF_SAFETENSORS_H */
