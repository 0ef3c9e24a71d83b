/*
 * tf_pages.h: read-only copies of model images in 2 MB pages, for a
 * process to hand down to the processes it forks.
 *
 * A process reading a model image for the first time takes a page fault on
 * each few of its 4 kB pages and fills a page table entry for each one of
 * them (in a virtual machine with shadow paging the hypervisor fills its own
 * as well): for a 90 MB model that is 22,000 pages, on every new PostgreSQL
 * connection. In 2 MB pages the same image is 45 pages, and private memory
 * in huge pages is handed down at fork() together with its page table
 * entries (one per 2 MB), so a child reads it without a single fault, and
 * the pages stay shared as long as nobody writes them (they are made
 * read-only). Linux only: transparent huge pages and MADV_COLLAPSE (6.1).
 */
#ifndef TF_PAGES_H
#define TF_PAGES_H

#include <stdbool.h>
#include <stddef.h>

/* Size of the pages tf_pages_copy_huge maps (x86-64 and arm64 with 4 kB
 * base pages). */
#define TF_HUGE_PAGE_SIZE ((size_t) 2 << 20)

/*
 * Copy src[size] into a new private mapping held entirely in 2 MB pages,
 * aligned to 2 MB, then make it read-only. NULL with errno set when the
 * kernel cannot give huge pages for all of it (no transparent huge page
 * support, or no free 2 MB pages); nothing stays mapped then. The copy is
 * never unmapped: it lives as long as the process (and its children).
 */
void	   *tf_pages_copy_huge(const void *src, size_t size);

/*
 * Whether the kernel refuses to overcommit memory (vm.overcommit_memory 2,
 * which PostgreSQL's documentation recommends). Then every fork() is
 * charged the full size of the private copies it inherits, shared or not,
 * and a server with many connections would run out of commit charge: do
 * not make copies to hand down then.
 */
bool		tf_pages_strict_overcommit(void);

#endif							/* TF_PAGES_H */
