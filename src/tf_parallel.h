/*
 * tf_parallel.h: a parallel-for over a small pool of worker threads.
 *
 * A kernel that can be split writes one function over a range [begin,
 * end) of its items (for a linear layer: the output columns, that is the
 * weight rows), and tf_parallel_for runs the ranges at once, the calling
 * thread taking the first. tf_linear (tf_kernels.c) is the example: any
 * kernel, of any weight format, plugs in the same way.
 *
 * The pool is started lazily, by the first call that needs more than one
 * thread, and kept for the life of the process. Workers start with every
 * signal blocked, so that signals (query cancel, timeouts) always reach
 * the main thread. A range function runs on a worker: it must not call
 * the host (no tf_alloc, no tf_check_interrupts, no PostgreSQL) nor
 * tf_parallel_for, only compute into memory the caller prepared.
 */
#ifndef TF_PARALLEL_H
#define TF_PARALLEL_H

/* Most threads one call may use (the setting transformer.threads goes to
 * 256, more than this is capped). */
#define TF_PARALLEL_MAX_THREADS 64

/*
 * Compute items [begin, end) of a split kernel; `worker` in [0, threads)
 * says which thread runs it (0: the caller), for per-thread scratch.
 */
typedef void (*TfRangeFn) (void *ctx, int begin, int end, int worker);

/* Threads the next tf_parallel_for calls may use (1: the caller alone).
 * Starts no thread by itself. */
void		tf_parallel_set_threads(int threads);
int			tf_parallel_threads(void);

/*
 * fn(ctx, begin, end, worker) over [0, n) cut into at most
 * tf_parallel_threads() ranges of about equal size, each boundary a
 * multiple of `align` (n itself excepted), and no range empty; returns
 * when every range is done. With one range, fn runs in the caller alone.
 */
void		tf_parallel_for(int n, int align, TfRangeFn fn, void *ctx);

#endif							/* TF_PARALLEL_H */
