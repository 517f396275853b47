/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the benchmark programs share: the clock their rates are taken
 * with, sorting figures for medians and quantiles, and telling a pshare
 * mount from a directory that is not one (a benchmark then prints no
 * pshare figures rather than figures of some other file system).
 */
#ifndef PSHARE_BENCH_H
#define PSHARE_BENCH_H

#include <sys/statfs.h>
#include <time.h>

#include <linux/pshare.h>

/* Seconds on the monotonic clock: rates must not jump with the wall clock. */
static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* qsort() comparison of two doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Is @dir the root or a directory of a pshare mount? */
static inline int bench_is_pshare_dir(const char *dir)
{
	struct statfs sfs;

	return statfs(dir, &sfs) == 0 && sfs.f_type == PSHARE_FS_MAGIC;
}

#endif /* PSHARE_BENCH_H */
