/*
 * bench_util.h: clocks, medians and test matrices for the C benchmark
 * programs (sgemm_peak.c, rowgemm.c).
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* Seconds on `clock` (CLOCK_MONOTONIC or CLOCK_PROCESS_CPUTIME_ID). */
static double
seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* qsort comparator for doubles, ascending. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* The median of v[n] (sorts v). */
static double
median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* float[count] of small deterministic pseudo-random values, or NULL when
 * out of memory. */
static float *
random_floats(size_t count, unsigned seed)
{
	float	   *m = malloc(sizeof(float) * (count ? count : 1));

	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < count; i++)
	{
		seed = seed * 1103515245u + 12345u;
		m[i] = (float) ((seed >> 16) & 0x7fff) / 32768.0f - 0.5f;
	}
	return m;
}

#endif							/* BENCH_UTIL_H */
