/*
 * test_pages.c: tf_pages_copy_huge: the copy is exact, 2 MB aligned, held
 * in huge pages (/proc/self/smaps), read-only, and a forked child reads all
 * of it without a page fault, where it faults on a copy in shared 4 kB
 * pages (the control that shows the fault count is measured).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "tf_pages.h"

#define IMAGE_BYTES ((size_t) 5 * 1024 * 1024 + 123)
#define SMALL_PAGE 4096

/* The AnonHugePages of the mapping that holds `start`, in bytes (-1: not
 * found). */
static long
anon_huge_bytes(const void *start)
{
	FILE	   *f = fopen("/proc/self/smaps", "r");
	char		line[512];
	bool		in_range = false;
	long		kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
	{
		unsigned long lo,
					hi;

		/* a mapping's first line: "lo-hi perms offset ..." */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in_range = lo <= (uintptr_t) start && (uintptr_t) start < hi;
		else if (in_range && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* Minor page faults a forked child takes reading one byte of every 4 kB
 * page of p[size] (-1 on failure). */
static long
child_read_faults(const unsigned char *p, size_t size)
{
	int			fds[2];
	long		faults = -1;
	pid_t		pid;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0)
	{
		struct rusage before,
					after;
		volatile unsigned sum = 0;
		long		n;

		getrusage(RUSAGE_SELF, &before);
		for (size_t i = 0; i < size; i += SMALL_PAGE)
			sum += p[i];
		getrusage(RUSAGE_SELF, &after);
		n = after.ru_minflt - before.ru_minflt;
		_exit(write(fds[1], &n, sizeof(n)) == sizeof(n) ? 0 : 1);
	}
	close(fds[1]);
	if (pid > 0 && read(fds[0], &faults, sizeof(faults)) != sizeof(faults))
		faults = -1;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return faults;
}

/* Whether a forked child writing p[0] dies of SIGSEGV. */
static bool
child_write_faults(unsigned char *p)
{
	int			status;
	pid_t		pid = fork();

	if (pid == 0)
	{
		p[0] = 1;
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

int
main(void)
{
	unsigned char *image = malloc(IMAGE_BYTES);
	unsigned char *shared = mmap(NULL, IMAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned char *copy;
	size_t		pages = IMAGE_BYTES / SMALL_PAGE;
	long		faults;

	for (size_t i = 0; i < IMAGE_BYTES; i++)
		image[i] = (unsigned char) (i * 2654435761u >> 13);
	copy = tf_pages_copy_huge(image, IMAGE_BYTES);
	if (copy == NULL && (errno == EINVAL || errno == EAGAIN || errno == ENOMEM))
	{
		/* a kernel without MADV_COLLAPSE or without free 2 MB pages: the
		 * PostgreSQL layer falls back to its shared memory segment */
		printf("1..0 # SKIP no huge pages here: %s\n", strerror(errno));
		return 0;
	}
	ok(copy != NULL, "the copy is made (%s)", copy ? "ok" : strerror(errno));
	if (copy == NULL)
		return done_testing();
	ok(memcmp(copy, image, IMAGE_BYTES) == 0, "it equals the source");
	ok((uintptr_t) copy % TF_HUGE_PAGE_SIZE == 0, "it starts on a 2 MB boundary");
	ok(anon_huge_bytes(copy) >= 3 * (long) TF_HUGE_PAGE_SIZE,
	   "it is held in three 2 MB pages (AnonHugePages %ld bytes)", anon_huge_bytes(copy));

	memcpy(shared, image, IMAGE_BYTES);
	faults = child_read_faults(shared, IMAGE_BYTES);
	ok(faults >= (long) pages / 32, "control: a child reading a shared 4 kB-page copy faults (%ld faults, %zu pages)",
	   faults, pages);
	faults = child_read_faults(copy, IMAGE_BYTES);
	ok(faults >= 0 && faults <= 4, "a child reads the huge-page copy without faults on it (%ld faults, %zu pages)",
	   faults, pages);
	ok(child_write_faults(copy), "the copy is read-only: a write is a segmentation fault");
	ok(!child_write_faults(shared), "control: the writable copy takes the write");
	free(image);
	return done_testing();
}
