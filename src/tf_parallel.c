/*
 * tf_parallel.c: the worker pool behind tf_parallel_for (tf_parallel.h).
 *
 * One job at a time: the caller publishes it under the mutex, bumps the
 * generation and wakes the workers; worker w runs range w + 1 (the caller
 * runs range 0), and the last one to finish wakes the caller. Workers
 * sleep on a condition variable between jobs: the cores may be shared,
 * and spinning would take them from other processes.
 */
#include "tf_parallel.h"

#include <pthread.h>
#include <signal.h>

static int	threads_wanted = 1;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t job_done = PTHREAD_COND_INITIALIZER;
static int	workers_started = 0;

/* The job being run, under lock */
static struct
{
	TfRangeFn	fn;
	void	   *ctx;
	int			n;
	int			align;
	int			parts;			/* ranges, the caller's included */
	int			pending;		/* workers' ranges not yet finished */
	unsigned	generation;		/* bumped for each job */
}			job;

/* Start of range `part` of the current job: the ceil(n / align) chunks
 * of align items shared out evenly (so no range is empty when there are
 * at least as many chunks as parts); n for part == parts. */
static int
range_start(int part)
{
	int			chunks = (job.n + job.align - 1) / job.align;

	if (part >= job.parts)
		return job.n;
	return (int) ((long) chunks * part / job.parts) * job.align;
}

/* A worker: waits for each new generation and runs its own range of it. */
static void *
worker_main(void *arg)
{
	int			worker = (int) (long) arg;
	unsigned	seen = 0;

	pthread_mutex_lock(&lock);
	for (;;)
	{
		while (job.generation == seen)
			pthread_cond_wait(&job_ready, &lock);
		seen = job.generation;
		if (worker < job.parts)
		{
			TfRangeFn	fn = job.fn;
			void	   *ctx = job.ctx;
			int			begin = range_start(worker),
						end = range_start(worker + 1);

			pthread_mutex_unlock(&lock);
			fn(ctx, begin, end, worker);
			pthread_mutex_lock(&lock);
			if (--job.pending == 0)
				pthread_cond_signal(&job_done);
		}
	}
	return NULL;
}

/* Start workers until `count` run (fewer if the system refuses); returns
 * how many run. Signals are blocked around pthread_create, so the new
 * threads inherit a full mask. */
static int
start_workers(int count)
{
	sigset_t	all,
				saved;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	while (workers_started < count)
	{
		pthread_t	thread;

		/* workers are numbered from 1: range 0 is the caller's */
		if (pthread_create(&thread, NULL, worker_main, (void *) (long) (workers_started + 1)) != 0)
			break;
		pthread_detach(thread);
		workers_started++;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return workers_started;
}

void
tf_parallel_set_threads(int threads)
{
	threads_wanted = threads < 1 ? 1 :
		threads > TF_PARALLEL_MAX_THREADS ? TF_PARALLEL_MAX_THREADS : threads;
}

int
tf_parallel_threads(void)
{
	return threads_wanted;
}

void
tf_parallel_for(int n, int align, TfRangeFn fn, void *ctx)
{
	int			parts = threads_wanted;
	int			chunks;

	if (align < 1)
		align = 1;
	chunks = (n + align - 1) / align;
	if (parts > chunks)
		parts = chunks;
	if (parts > 1)
		parts = start_workers(parts - 1) + 1;
	if (parts <= 1)
	{
		if (n > 0)
			fn(ctx, 0, n, 0);
		return;
	}

	pthread_mutex_lock(&lock);
	job.fn = fn;
	job.ctx = ctx;
	job.n = n;
	job.align = align;
	job.parts = parts;
	job.pending = parts - 1;
	job.generation++;
	pthread_cond_broadcast(&job_ready);
	pthread_mutex_unlock(&lock);

	fn(ctx, 0, range_start(1), 0);

	pthread_mutex_lock(&lock);
	while (job.pending > 0)
		pthread_cond_wait(&job_done, &lock);
	pthread_mutex_unlock(&lock);
}
