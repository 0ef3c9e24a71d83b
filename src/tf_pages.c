/*
 * tf_pages.c: read-only copies of model images in 2 MB pages.
 */
#include "tf_pages.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* Linux 6.1's uapi value, for C libraries that predate it */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

void *
tf_pages_copy_huge(const void *src, size_t size)
{
	size_t		len = (size + TF_HUGE_PAGE_SIZE - 1) & ~(TF_HUGE_PAGE_SIZE - 1);
	char	   *raw;
	char	   *p;
	size_t		head;
	int			saved_errno;

	if (size == 0)
	{
		errno = EINVAL;
		return NULL;
	}
	/* one huge page more than needed, to start on a 2 MB boundary */
	raw = mmap(NULL, len + TF_HUGE_PAGE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = (char *) (((uintptr_t) raw + TF_HUGE_PAGE_SIZE - 1) & ~(uintptr_t) (TF_HUGE_PAGE_SIZE - 1));
	head = (size_t) (p - raw);
	if (head > 0)
		munmap(raw, head);
	munmap(p + len, TF_HUGE_PAGE_SIZE - head);

	/*
	 * MADV_HUGEPAGE lets the copy fault in whole 2 MB pages; MADV_COLLAPSE
	 * then makes sure every part is in one (it works whatever the system's
	 * transparent_hugepage setting, and fails when it cannot).
	 */
	if (madvise(p, len, MADV_HUGEPAGE) != 0)
		goto fail;
	memcpy(p, src, size);
	if (madvise(p, len, MADV_COLLAPSE) != 0 || mprotect(p, len, PROT_READ) != 0)
		goto fail;
	return p;

fail:
	saved_errno = errno;
	munmap(p, len);
	errno = saved_errno;
	return NULL;
}

bool
tf_pages_strict_overcommit(void)
{
	FILE	   *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	int			mode = 0;

	if (f == NULL)
		return false;
	if (fscanf(f, "%d", &mode) != 1)
		mode = 0;
	fclose(f);
	return mode == 2;
}
