/*
 * tf_runtime.h: what the pure C core needs from its host.
 *
 * The core (every tf_*.c file) knows nothing of PostgreSQL. It allocates
 * through tf_alloc()/tf_realloc()/tf_free() and polls tf_check_interrupts()
 * between layers and decoding steps. By default these are malloc/free and a
 * no-op; the PostgreSQL layer installs palloc-based hooks and
 * CHECK_FOR_INTERRUPTS(), both of which may longjmp out of the core.
 *
 * Rule that follows for every core function: never hold a resource that
 * is not tf_alloc'd memory (an open file descriptor, a BLAS call in flight)
 * across a call to tf_alloc, tf_realloc or tf_check_interrupts.
 *
 * Errors the core detects itself are returned, not thrown: a function that
 * can fail takes a TfError * and returns false after filling it in.
 */
#ifndef TF_RUNTIME_H
#define TF_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error classes; the PostgreSQL layer maps each to an SQLSTATE. */
typedef enum TfStatus
{
	TF_OK = 0,
	TF_ERR_IO,					/* a file is missing or unreadable */
	TF_ERR_FORMAT,				/* a file is truncated or corrupt */
	TF_ERR_UNSUPPORTED,			/* valid, but a dtype/architecture we do not run */
	TF_ERR_SHAPE,				/* a tensor is missing or has the wrong shape */
	TF_ERR_INPUT,				/* bad argument from the caller */
	TF_ERR_LIMIT				/* a size limit would be exceeded */
} TfStatus;

/* An error report: a one-line lower-case message and an optional detail. */
typedef struct TfError
{
	TfStatus	code;
	char		message[256];
	char		detail[768];
} TfError;

/* Fill err (message from fmt) and return false, so callers can write
 * `return tf_fail(err, TF_ERR_FORMAT, "...", ...);`. err may be NULL. */
bool		tf_fail(TfError *err, TfStatus code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Set err's detail line (a full sentence); returns false like tf_fail. */
bool		tf_fail_detail(TfError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* Host hooks; any member left NULL keeps the default. */
typedef struct TfHooks
{
	void	   *(*alloc) (size_t size);			/* must not return NULL */
	void	   *(*realloc) (void *ptr, size_t size);	/* must not return NULL */
	void		(*free) (void *ptr);
	void		(*check_interrupts) (void);
} TfHooks;

void		tf_set_hooks(const TfHooks *hooks);

void	   *tf_alloc(size_t size);	/* zeroed memory; never NULL */
void	   *tf_alloc_raw(size_t size);	/* uninitialised: for scratch written before read */
void	   *tf_realloc(void *ptr, size_t size);
void		tf_free(void *ptr);		/* NULL is fine */
void		tf_check_interrupts(void);

/*
 * For loops over a text whose single steps (a byte, a code point) are too
 * short to poll each: tf_check_interrupts() once every 65,536 calls, *steps
 * counting them. Every loop over the whole input of a tokenizer polls, so
 * that no input, however long, delays a cancel by more than a few
 * milliseconds.
 */
static inline void
tf_check_interrupts_every(uint32_t *steps)
{
	if ((++*steps & 0xFFFF) == 0)
		tf_check_interrupts();
}

/* Grow tf_alloc'd block ptr of *cap bytes to hold at least `need`:
 * doubling up to 1 GiB, then 1 GiB at a time. Returns the block (moved or
 * not) and updates *cap; the bytes held are kept. */
void	   *tf_grow(void *ptr, size_t *cap, size_t need);

/* A growing byte buffer in tf_alloc'd memory, NUL-terminated after each
 * append (the NUL not counted in len). */
typedef struct TfBuffer
{
	char	   *data;			/* char[cap] */
	size_t		len;
	size_t		cap;
} TfBuffer;

/* Start an empty buffer ("") with room for `cap` bytes. */
void		tf_buffer_init(TfBuffer *b, size_t cap);

/* Append s[0..n). */
void		tf_buffer_append(TfBuffer *b, const void *s, size_t n);

/* Read a whole file into tf_alloc'd memory (one spare NUL byte after the
 * data); NULL with TF_ERR_IO when it cannot be read. */
char	   *tf_read_file(const char *path, size_t *len, TfError *err);

#endif							/* TF_RUNTIME_H */
