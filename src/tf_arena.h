/*
 * tf_arena.h: building a relocatable model image.
 *
 * A loaded model (weights, config, tokenizer tables) is one contiguous
 * block, the image. Objects inside it refer to each other by TfOffset, a
 * byte offset from the image's first byte, never by pointer: the finished
 * image is copied into PostgreSQL shared memory or a DSM segment, which each
 * backend may map at a different address. Offset 0 is the image header, so
 * 0 also serves as "none" for every other reference.
 *
 * While it is being built the image lives in a TfArena, a buffer that grows
 * by tf_realloc (its base may move; offsets stay valid).
 */
#ifndef TF_ARENA_H
#define TF_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t TfOffset;

typedef struct TfArena
{
	char	   *base;			/* start of the image being built */
	size_t		size;			/* bytes used */
	size_t		capacity;		/* bytes allocated */
} TfArena;

/* Start an empty arena with room for `initial` bytes. */
void		tf_arena_init(TfArena *arena, size_t initial);

/* Reserve `bytes` zeroed bytes aligned to `align` (a power of two);
 * returns their offset. May move arena->base. */
TfOffset	tf_arena_alloc(TfArena *arena, size_t bytes, size_t align);

/* Copy `bytes` from src into the arena; returns their offset. */
TfOffset	tf_arena_push(TfArena *arena, const void *src, size_t bytes, size_t align);

/* Release the arena's buffer (after the image was copied elsewhere). */
void		tf_arena_free(TfArena *arena);

/* Pointer to the object of `type` at offset `off` in the image at `base`. */
#define TF_AT(base, off, type) ((type *) ((char *) (base) + (off)))

/* Same, for an arena still being built (valid until the next alloc). */
#define TF_ARENA_AT(arena, off, type) TF_AT((arena)->base, off, type)

#endif							/* TF_ARENA_H */
