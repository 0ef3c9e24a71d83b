/*
 * polling.h: does a core function poll tf_check_interrupts() all along its
 * work? For the tokenizers, whose input can be a gigabyte of text: a cancel
 * must not wait for a whole pass over it.
 *
 * poll_gaps_run() runs a tokenizer call with a hook that records, in CPU time
 * of the calling thread (so that being descheduled on a busy machine does
 * not count), the longest stretch without a poll: from the start to the
 * first poll, between two polls, and from the last poll to the end;
 * ok_polls_all_along() checks the figures.
 */
#ifndef POLLING_H
#define POLLING_H

#include <time.h>

#include "tap.h"
#include "tf_runtime.h"

typedef struct PollGaps
{
	long		polls;			/* tf_check_interrupts() calls */
	double		longest;		/* longest stretch without one, CPU seconds */
	double		total;			/* the whole call, CPU seconds */
} PollGaps;

static double poll_last;
static PollGaps poll_gaps;

static double
poll_cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Record the stretch since the previous poll (or the start). */
static void
poll_record(void)
{
	double		now = poll_cpu_now();

	if (now - poll_last > poll_gaps.longest)
		poll_gaps.longest = now - poll_last;
	poll_last = now;
}

/* The hook outside poll_gaps_run: polls that find nothing to do. */
static void
poll_ignore(void)
{
}

static void
poll_hook(void)
{
	poll_gaps.polls++;
	poll_record();
}

/* A tokenizer call over text[len] whose polls are checked. */
typedef void (*PolledEncode) (const void *tokenizer, const char *text, size_t len);

/* Run encode(tokenizer, text, len) with the recording hook, then put the
 * no-op hook back. */
static inline PollGaps
poll_gaps_run(PolledEncode encode, const void *tokenizer, const char *text, size_t len)
{
	TfHooks		hooks = {0};
	double		start;

	hooks.check_interrupts = poll_hook;
	tf_set_hooks(&hooks);
	poll_gaps = (PollGaps) {0};
	start = poll_last = poll_cpu_now();
	encode(tokenizer, text, len);
	poll_record();
	poll_gaps.total = poll_last - start;
	hooks.check_interrupts = poll_ignore;
	tf_set_hooks(&hooks);
	return poll_gaps;
}

/*
 * Run encode(tokenizer, text, len) and check that it polled all along: at
 * least once per 128 kB of text, and no stretch without a poll taking a
 * tenth of the call's CPU time (a whole pass over the input takes a fifth
 * of it or more). `what` names the input.
 */
static inline void
ok_polls_all_along(const char *what, PolledEncode encode, const void *tokenizer,
				   const char *text, size_t len)
{
	PollGaps	gaps = poll_gaps_run(encode, tokenizer, text, len);

	ok(gaps.polls >= (long) (len >> 17) && gaps.longest < gaps.total / 10,
	   "%.0f MB of %s: polled %ld times, longest stretch without a poll %.1f ms of %.1f ms CPU",
	   len / 1048576.0, what, gaps.polls, 1000 * gaps.longest, 1000 * gaps.total);
}

#endif							/* POLLING_H */
