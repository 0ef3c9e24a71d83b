/*
 * tap.h: a few Test Anything Protocol helpers for the core's C unit tests,
 * so that `prove` runs them beside the pgTAP suites.
 */
#ifndef TAP_H
#define TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int	tap_count, tap_failed;

/* Report one check; returns cond so callers can chain diagnostics. */
static inline int
ok(int cond, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

/* A diagnostic line, shown by prove on failure. */
static inline void
diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Parse space-separated ids from the NUL-terminated s into ids (room for
 * cap); returns the count. */
static inline int
parse_ids(const char *s, int32_t *ids, int cap)
{
	int			n = 0;
	char	   *end;

	while (n < cap)
	{
		long		v = strtol(s, &end, 10);

		if (end == s)
			break;
		ids[n++] = (int32_t) v;
		s = end;
	}
	return n;
}

/* Print up to 16 ids of a sequence as a diagnostic. */
static inline void
diag_ids(const char *who, const int32_t *ids, int n)
{
	char		buf[256];
	int			pos = 0;

	for (int i = 0; i < n && i < 16 && pos < 220; i++)
		pos += snprintf(buf + pos, sizeof(buf) - pos, " %d", ids[i]);
	diag("  %s (%d ids):%s%s", who, n, buf, n > 16 ? " ..." : "");
}

/* Largest |a[i] - b[i]| over n floats. */
static inline double
max_abs_diff(const float *a, const float *b, size_t n)
{
	double		m = 0;

	for (size_t i = 0; i < n; i++)
	{
		double		d = fabs((double) a[i] - (double) b[i]);

		if (d > m || isnan(d))
			m = isnan(d) ? INFINITY : d;
	}
	return m;
}

/* Seconds since an arbitrary start, for timings. */
static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Print the plan and return the exit status. */
static inline int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif							/* TAP_H */
