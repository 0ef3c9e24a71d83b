/*
 * tf_arena.c: a growing buffer addressed by offsets (see tf_arena.h).
 */
#include "tf_arena.h"

#include <string.h>

#include "tf_runtime.h"

void
tf_arena_init(TfArena *arena, size_t initial)
{
	arena->capacity = initial < 64 ? 64 : initial;
	arena->base = tf_alloc(arena->capacity);
	arena->size = 0;
}

TfOffset
tf_arena_alloc(TfArena *arena, size_t bytes, size_t align)
{
	size_t		start = (arena->size + align - 1) & ~(align - 1);
	size_t		end = start + bytes;

	arena->base = tf_grow(arena->base, &arena->capacity, end);
	memset(arena->base + arena->size, 0, end - arena->size);
	arena->size = end;
	return (TfOffset) start;
}

TfOffset
tf_arena_push(TfArena *arena, const void *src, size_t bytes, size_t align)
{
	TfOffset	off = tf_arena_alloc(arena, bytes, align);

	if (bytes > 0)
		memcpy(arena->base + off, src, bytes);
	return off;
}

void
tf_arena_free(TfArena *arena)
{
	tf_free(arena->base);
	arena->base = NULL;
	arena->size = arena->capacity = 0;
}
