/*
 * tf_runtime.c: default host hooks (malloc, no interrupts) and error helpers.
 */
#include "tf_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* malloc that aborts: the defaults serve tests and tools, not the server */
static void *
default_alloc(size_t size)
{
	void	   *p = calloc(1, size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "transformer: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
}

static void *
default_realloc(void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "transformer: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
}

static void
default_check_interrupts(void)
{
}

static TfHooks hooks = {default_alloc, default_realloc, free, default_check_interrupts};

/* Install host hooks; NULL members keep the defaults. */
void
tf_set_hooks(const TfHooks *h)
{
	if (h->alloc)
		hooks.alloc = h->alloc;
	if (h->realloc)
		hooks.realloc = h->realloc;
	if (h->free)
		hooks.free = h->free;
	if (h->check_interrupts)
		hooks.check_interrupts = h->check_interrupts;
}

/* Zeroed allocation through the host (palloc0 in the server). */
void *
tf_alloc(size_t size)
{
	void	   *p = hooks.alloc(size);

	if (hooks.alloc != default_alloc)
		memset(p, 0, size);
	return p;
}

void *
tf_alloc_raw(size_t size)
{
	return hooks.alloc(size);
}

void *
tf_realloc(void *ptr, size_t size)
{
	if (ptr == NULL)
		return tf_alloc(size);
	return hooks.realloc(ptr, size);
}

void
tf_free(void *ptr)
{
	if (ptr != NULL)
		hooks.free(ptr);
}

void
tf_check_interrupts(void)
{
	hooks.check_interrupts();
}

void *
tf_grow(void *ptr, size_t *cap, size_t need)
{
	size_t		c = *cap > 0 ? *cap : 16;

	if (need <= *cap)
		return ptr;
	while (c < need)
		c = c < ((size_t) 1 << 30) ? c * 2 : c + ((size_t) 1 << 30);
	*cap = c;
	return tf_realloc(ptr, c);
}

void
tf_buffer_init(TfBuffer *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->data = tf_grow(NULL, &b->cap, cap + 1);	/* zeroed: an empty string */
}

void
tf_buffer_append(TfBuffer *b, const void *s, size_t n)
{
	b->data = tf_grow(b->data, &b->cap, b->len + n + 1);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

bool
tf_fail(TfError *err, TfStatus code, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return false;
	err->code = code;
	err->detail[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

bool
tf_fail_detail(TfError *err, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return false;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return false;
}

/*
 * Read a whole file. The size comes from stat() before the file is opened,
 * so that no descriptor is open while tf_alloc may longjmp; a file that
 * changes size meanwhile is reported as an I/O error.
 */
char *
tf_read_file(const char *path, size_t *len, TfError *err)
{
	struct stat st;
	char	   *buf;
	size_t		got = 0;
	int			fd;

	if (stat(path, &st) != 0)
	{
		tf_fail(err, TF_ERR_IO, "could not read file \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
	{
		tf_fail(err, TF_ERR_IO, "could not read file \"%s\": not a regular file", path);
		return NULL;
	}
	buf = tf_alloc((size_t) st.st_size + 1);
	fd = open(path, O_RDONLY);
	if (fd < 0)
	{
		tf_fail(err, TF_ERR_IO, "could not open file \"%s\": %s", path, strerror(errno));
		tf_free(buf);
		return NULL;
	}
	while (got < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + got, (size_t) st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t) n;
	}
	close(fd);
	if (got != (size_t) st.st_size)
	{
		tf_fail(err, TF_ERR_IO, "could not read file \"%s\": read %zu of %lld bytes",
				path, got, (long long) st.st_size);
		tf_free(buf);
		return NULL;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}
