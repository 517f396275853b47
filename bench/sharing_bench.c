// SPDX-License-Identifier: GPL-2.0
/*
 * sharing_bench - pshare's page sharing against the kernel's KSM on the same
 * content, in one kernel boot. Figures only: nothing here passes or fails.
 *
 * Content: N pages; page i is "unique" (its own pseudo-random content) when
 * i % U == U - 1, otherwise one of K distinct pseudo-random patterns. No page
 * is all zeros (both KSM and pshare treat those specially). The same content
 * is written, with 8-byte stores, into
 *   KSM     an anonymous private mapping (MADV_NOHUGEPAGE, so that both
 *           sides work on 4 KiB pages), then madvise(MADV_MERGEABLE);
 *   pshare  a region file in the pshare mount, mapped MAP_SHARED.
 * For each side in turn: pages_to_scan high, sleep_millisecs 0, run=1; poll
 * pages_sharing and full_scans every 100 ms until pages_sharing has not
 * changed for CONV_SCANS full scans (bounded by -t seconds); note the wall
 * time and the scanner thread's CPU time (ksmd / pshare_scand, from
 * /proc/<pid>/schedstat, cross-checked with utime+stime of /proc/<pid>/stat)
 * at the first poll that saw the final pages_sharing; stop the scanner
 * (run=0); read the metadata; time COW breaks; run=2 (unmerge).
 *
 * Metadata: KSM does not report its own; it is computed from struct sizes:
 * one struct ksm_rmap_item per scanned page (64 bytes on x86-64 6.1; the
 * count is pages_shared + pages_sharing + pages_unshared + pages_volatile,
 * which is how ksm.c derives pages_volatile) plus one struct ksm_stable_node
 * (48 bytes) per KSM page and per stable_node_chain. The object sizes are
 * read from /sys/kernel/slab/<cache>/object_size when SLUB exposes them.
 * pshare's is metadata_bytes of /sys/kernel/debug/pshare/table (its hash
 * table: shared frames and hints). Neither counts page tables, the pmap
 * xarray or KSM's per-mm slot.
 *
 * Floor: xxh64 (implemented here from the public specification) over the
 * same pages in user space, ns per page, against the scanner CPU ns per
 * scanned page of both.
 *
 * COW break latency: after the scanner stopped, every page is read once (so
 * both sides have a PTE), pages on a shared frame are found by their PFN
 * (/proc/self/pagemap: a PFN used by two or more pages of the mapping), then
 * one byte is written to each of up to -c such pages, timed one at a time.
 * The same is done for unmerged (unique) pages of the same mapping, and for
 * a plain private anonymous page that is already mapped writable.
 *
 * Usage: sharing_bench [-d DIR] [-s MiB] [-k K] [-u U] [-c SAMPLES] [-t SEC]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/pshare.h>

#include "bench.h"

#define KSM_SYSFS	"/sys/kernel/mm/ksm"
#define PSHARE_SYSFS	"/sys/kernel/mm/pshare"
#define PSHARE_TABLE	"/sys/kernel/debug/pshare/table"

/* pages_sharing must stay put for this many full scans to count as done */
#define CONV_SCANS	3
#define POLL_US		100000
#define SCAN_PAGES	10000

/* Settled passes: at least this many full scans and this long. */
#define SETTLED_SCANS	3
#define SETTLED_SECS	2.0
#define SETTLED_POLL_US	1000

/* Struct sizes on x86-64 Linux 6.1 when /sys/kernel/slab does not say. */
#define KSM_RMAP_ITEM_BYTES	64
#define KSM_STABLE_NODE_BYTES	48

enum side { S_KSM, S_PSHARE, S_NR };
static const char *const side_name[S_NR] = { "KSM", "pshare" };

enum lat { L_MERGED, L_UNMERGED, L_NR };

/* What one side's run gave. */
struct result {
	int valid;			/* the side ran */
	int converged;			/* pages_sharing settled in time */
	const char *why;		/* reason when !valid */
	long shared, sharing;		/* pages_shared, pages_sharing */
	long scans;			/* full scans until the end of polling */
	double wall_conv, cpu_conv;	/* s, at the poll that saw the final value */
	double wall_total, cpu_total;	/* s, until the scanner was stopped */
	double cpu_ticks_total;		/* s, utime+stime, until stopped */
	double scanned;			/* pages scanned until stopped */
	int scanned_exact;		/* 0: full_scans * N estimate */
	double meta_bytes;
	const char *meta_how;
	long cow_breaks;		/* pshare: cow_breaks delta of the merged samples */
	int nlat[L_NR];
	double lat_med[L_NR], lat_p90[L_NR];
	/* settled passes, smart scan as it was [0] and off [1] */
	int settled[2];			/* measured */
	long smart;			/* the smart_scan knob, -1: none */
	double settled_visit_ns[2];	/* scanner CPU ns per page visit */
	double settled_hashed[2];	/* pages hashed per visit, -1: unknown */
};

static const char *bench_dir = "/run/pshare";
static size_t npages = 16384;
static unsigned int npatterns = 16;
static unsigned int unique_every = 4;
static unsigned int nsamples = 1000;
static unsigned int timeout_s = 300;
static long page_size;

/* ----------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Sorts @v in place; returns the q-quantile (nearest rank). */
static double quantile(double *v, int n, double q)
{
	int i;

	qsort(v, n, sizeof(*v), bench_cmp_double);
	i = (int)(q * n);
	if (i >= n)
		i = n - 1;
	return v[i];
}

static int read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Reads a number from DIR/NAME; -1 when it cannot. */
static long read_long(const char *dir, const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_str(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

static int write_long(const char *dir, const char *name, long val)
{
	char path[256];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "sharing_bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	err = fprintf(f, "%ld\n", val) < 0;
	err |= fclose(f) != 0;
	if (err)
		fprintf(stderr, "sharing_bench: writing %ld to %s: %s\n", val, path,
			strerror(errno));
	return err ? -1 : 0;
}

/* pid of the kernel thread named @comm, or -1 */
static long find_kthread(const char *comm)
{
	char path[300], buf[64];
	struct dirent *de;
	long pid = -1;
	DIR *d = opendir("/proc");

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (read_str(path, buf, sizeof(buf)) == 0 && !strcmp(buf, comm)) {
			pid = strtol(de->d_name, NULL, 10);
			break;
		}
	}
	closedir(d);
	return pid;
}

/* CPU seconds of @pid from utime+stime (clock ticks). */
static double cpu_ticks(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (read_str(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');	/* comm may hold spaces */
	/* after ")": state(3) ppid ... utime is field 14, stime 15 */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* CPU seconds of @pid, in ns resolution from schedstat, else from stat. */
static double cpu_secs(long pid)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
	if (read_str(path, buf, sizeof(buf)) == 0)
		return strtoull(buf, NULL, 10) / 1e9;
	return cpu_ticks(pid);
}

/* ----------------------------------------------------------------------
 * xxh64, from the public specification (xxHash's doc/xxhash_spec.md)
 * ---------------------------------------------------------------------- */

#define XXH_P1 0x9E3779B185EBCA87ULL
#define XXH_P2 0xC2B2AE3D27D4EB4FULL
#define XXH_P3 0x165667B19E3779F9ULL
#define XXH_P4 0x85EBCA77C2B2AE63ULL
#define XXH_P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);	/* x86-64: little-endian, as the spec reads */
	return v;
}

static inline uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t xxh_round(uint64_t acc, uint64_t lane)
{
	acc += lane * XXH_P2;
	acc = rotl64(acc, 31);
	return acc * XXH_P1;
}

static inline uint64_t xxh_merge(uint64_t acc, uint64_t v)
{
	acc ^= xxh_round(0, v);
	return acc * XXH_P1 + XXH_P4;
}

static uint64_t xxh64(const void *input, size_t len, uint64_t seed)
{
	const unsigned char *p = input, *end = p + len;
	uint64_t acc;

	if (len >= 32) {
		uint64_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2;
		uint64_t v3 = seed, v4 = seed - XXH_P1;

		do {
			v1 = xxh_round(v1, get64(p));
			v2 = xxh_round(v2, get64(p + 8));
			v3 = xxh_round(v3, get64(p + 16));
			v4 = xxh_round(v4, get64(p + 24));
			p += 32;
		} while (end - p >= 32);
		acc = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
		acc = xxh_merge(acc, v1);
		acc = xxh_merge(acc, v2);
		acc = xxh_merge(acc, v3);
		acc = xxh_merge(acc, v4);
	} else {
		acc = seed + XXH_P5;
	}
	acc += len;
	for (; end - p >= 8; p += 8) {
		acc ^= xxh_round(0, get64(p));
		acc = rotl64(acc, 27) * XXH_P1 + XXH_P4;
	}
	if (end - p >= 4) {
		acc ^= (uint64_t)get32(p) * XXH_P1;
		acc = rotl64(acc, 23) * XXH_P2 + XXH_P3;
		p += 4;
	}
	for (; p < end; p++) {
		acc ^= *p * XXH_P5;
		acc = rotl64(acc, 11) * XXH_P1;
	}
	acc ^= acc >> 33;
	acc *= XXH_P2;
	acc ^= acc >> 29;
	acc *= XXH_P3;
	acc ^= acc >> 32;
	return acc;
}

/*
 * Known answers: the empty input and "abc" from the specification's
 * examples, and two from the reference library (libxxhash 0.8.1) over the
 * buffer b[i] = (i * 131 + 7) & 0xff.
 */
static int xxh64_selftest(void)
{
	static unsigned char b[4109];
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (i * 131 + 7) & 0xff;
	return xxh64("", 0, 0) == 0xEF46DB3751D8E999ULL &&
	       xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ULL &&
	       xxh64(b, 4096, 0) == 0xCF05ADF75ACA30CFULL &&
	       xxh64(b, 4109, 0x1234) == 0xAFDE1B6AF63016CEULL ? 0 : -1;
}

/* ----------------------------------------------------------------------
 * Content
 * ---------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static int page_is_unique(size_t i)
{
	return unique_every && i % unique_every == unique_every - 1;
}

/* Pattern of a duplicate page: a hash of its index, so all K occur. */
static unsigned int page_pattern(size_t i)
{
	uint64_t s = i;

	return splitmix64(&s) % npatterns;
}

/* Fill page @i of @base with its content, 8-byte stores (see pshare_bench). */
static void fill_page(char *base, size_t i)
{
	volatile uint64_t *w = (volatile uint64_t *)(base + i * page_size);
	uint64_t seed, x;
	size_t j;

	if (page_is_unique(i))
		seed = 0x756e697175650000ULL + i;	/* distinct per page */
	else
		seed = (uint64_t)page_pattern(i) + 1;
	for (j = 0; j < page_size / sizeof(*w); j++) {
		x = splitmix64(&seed);
		w[j] = x ? x : 1;	/* never an all-zero page */
	}
}

static void fill(char *base)
{
	size_t i;

	for (i = 0; i < npages; i++)
		fill_page(base, i);
}

static size_t count_unique(void)
{
	size_t i, n = 0;

	for (i = 0; i < npages; i++)
		n += page_is_unique(i);
	return n;
}

/* Distinct patterns that occur at all (small -k with few pages). */
static size_t count_patterns(void)
{
	char *seen = calloc(npatterns, 1);
	size_t i, n = 0;

	if (!seen)
		return npatterns;
	for (i = 0; i < npages; i++)
		if (!page_is_unique(i))
			seen[page_pattern(i)] = 1;
	for (i = 0; i < npatterns; i++)
		n += seen[i];
	free(seen);
	return n;
}

/* ----------------------------------------------------------------------
 * Scanner run: shared by both sides
 * ---------------------------------------------------------------------- */

struct scanner {
	const char *sysfs;
	const char *thread;
	long pid;
	long saved_pages_to_scan, saved_sleep;
};

static int scanner_start(struct scanner *s)
{
	s->saved_pages_to_scan = read_long(s->sysfs, "pages_to_scan");
	s->saved_sleep = read_long(s->sysfs, "sleep_millisecs");
	if (write_long(s->sysfs, "pages_to_scan", SCAN_PAGES) < 0 ||
	    write_long(s->sysfs, "sleep_millisecs", 0) < 0)
		return -1;
	return write_long(s->sysfs, "run", 1);
}

/* Stop, unmerge, put the knobs back. */
static void scanner_restore(struct scanner *s)
{
	write_long(s->sysfs, "run", 2);
	write_long(s->sysfs, "run", 0);
	if (s->saved_pages_to_scan > 0)
		write_long(s->sysfs, "pages_to_scan", s->saved_pages_to_scan);
	if (s->saved_sleep >= 0)
		write_long(s->sysfs, "sleep_millisecs", s->saved_sleep);
}

/*
 * Run the scanner until pages_sharing has stayed put for CONV_SCANS full
 * scans, or the timeout; then stop it (run=0, merged pages stay merged).
 */
static int scanner_converge(struct scanner *s, struct result *r)
{
	double t0, cpu0, tick0, t, cpu;
	long fs0, fs, fs_change, sharing, last = -1, sc0;

	fs0 = read_long(s->sysfs, "full_scans");
	sc0 = read_long(s->sysfs, "pages_scanned");	/* pshare only */
	cpu0 = cpu_secs(s->pid);
	tick0 = cpu_ticks(s->pid);
	t0 = bench_now();
	if (fs0 < 0 || cpu0 < 0 || scanner_start(s) < 0)
		return -1;
	fs_change = fs0;
	for (;;) {
		usleep(POLL_US);
		t = bench_now();
		cpu = cpu_secs(s->pid);
		sharing = read_long(s->sysfs, "pages_sharing");
		fs = read_long(s->sysfs, "full_scans");
		if (sharing != last) {
			last = sharing;
			fs_change = fs;
			r->wall_conv = t - t0;
			r->cpu_conv = cpu - cpu0;
		}
		if (fs - fs_change >= CONV_SCANS && fs - fs0 >= CONV_SCANS) {
			r->converged = 1;
			break;
		}
		if (t - t0 > timeout_s)
			break;
	}
	write_long(s->sysfs, "run", 0);
	r->wall_total = bench_now() - t0;
	r->cpu_total = cpu_secs(s->pid) - cpu0;
	r->cpu_ticks_total = cpu_ticks(s->pid) - tick0;
	r->scans = read_long(s->sysfs, "full_scans") - fs0;
	if (sc0 >= 0) {
		r->scanned = read_long(s->sysfs, "pages_scanned") - sc0;
		r->scanned_exact = 1;
	} else {
		r->scanned = (double)r->scans * npages;
	}
	r->shared = read_long(s->sysfs, "pages_shared");
	r->sharing = read_long(s->sysfs, "pages_sharing");
	return 0;
}

/* Wait until full_scans moves past @from; returns it, or -1 after timeout_s. */
static long wait_wrap(struct scanner *s, long from, double t0)
{
	long fs;

	for (;;) {
		fs = read_long(s->sysfs, "full_scans");
		if (fs < 0 || fs != from)
			return fs;
		if (bench_now() - t0 > timeout_s)
			return -1;
		usleep(SETTLED_POLL_US);
	}
}

/*
 * After convergence, with nothing left to merge: the scanner's CPU per
 * page visit over whole full scans (from one wrap to another, read at a
 * 1 ms poll), with smart_scan as it is (@i = 0) or off (@i = 1). What a
 * pass costs once a guest has settled, apart from the one-time work of
 * merging. Pages hashed per visit from the pages_scanned counters (KSM has
 * one since 6.6). Leaves the scanner stopped and smart_scan as it was.
 */
static void scanner_settled(struct scanner *s, struct result *r, int i)
{
	double t0, cpu0, cpu;
	long fs0, fs, sc0, sc;

	if (i == 1 && r->smart < 0)
		return;			/* no smart scan to turn off */
	if (i == 1 && write_long(s->sysfs, "smart_scan", 0) < 0)
		return;
	if (write_long(s->sysfs, "run", 1) < 0)
		goto out;
	t0 = bench_now();
	fs0 = wait_wrap(s, read_long(s->sysfs, "full_scans"), t0);
	cpu0 = cpu_secs(s->pid);
	sc0 = read_long(s->sysfs, "pages_scanned");
	if (fs0 < 0 || cpu0 < 0)
		goto stop;
	fs = fs0;
	do {
		fs = wait_wrap(s, fs, t0);
		cpu = cpu_secs(s->pid);
		sc = read_long(s->sysfs, "pages_scanned");
		if (fs < 0 || cpu < 0)
			goto stop;
	} while (fs - fs0 < SETTLED_SCANS || bench_now() - t0 < SETTLED_SECS);
	r->settled[i] = 1;
	r->settled_visit_ns[i] = (cpu - cpu0) * 1e9 / ((double)(fs - fs0) * npages);
	r->settled_hashed[i] = sc0 >= 0 && sc >= 0 ?
			       (double)(sc - sc0) / ((double)(fs - fs0) * npages) : -1;
stop:
	write_long(s->sysfs, "run", 0);
out:
	if (i == 1)
		write_long(s->sysfs, "smart_scan", r->smart);
}

static void scanner_settle(struct scanner *s, struct result *r)
{
	r->smart = read_long(s->sysfs, "smart_scan");
	scanner_settled(s, r, 0);
	scanner_settled(s, r, 1);
}

/* ----------------------------------------------------------------------
 * COW break latency
 * ---------------------------------------------------------------------- */

struct pfn_ent {
	uint64_t pfn;
	size_t page;
};

static int cmp_pfn(const void *a, const void *b)
{
	const struct pfn_ent *x = a, *y = b;

	return (x->pfn > y->pfn) - (x->pfn < y->pfn);
}

/*
 * Read every page of @base (so it has a PTE) and mark in @shared the pages
 * whose PFN another page of the mapping uses too. Returns 0 or -1.
 */
static int find_shared(char *base, char *shared)
{
	struct pfn_ent *e = calloc(npages, sizeof(*e));
	uint64_t *pm = calloc(npages, sizeof(*pm));
	volatile char *vp = base;
	size_t i, j;
	int fd, ret = -1;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (!e || !pm || fd < 0)
		goto out;
	for (i = 0; i < npages; i++)
		(void)vp[i * page_size];
	if (pread(fd, pm, npages * sizeof(*pm),
		  (uintptr_t)base / page_size * sizeof(*pm)) !=
	    (ssize_t)(npages * sizeof(*pm)))
		goto out;
	for (i = 0; i < npages; i++) {
		/* bit 63 present, bits 0-54 PFN (0 without CAP_SYS_ADMIN) */
		e[i].pfn = (pm[i] >> 63) ? pm[i] & ((1ULL << 55) - 1) : 0;
		e[i].page = i;
		shared[i] = 0;
	}
	qsort(e, npages, sizeof(*e), cmp_pfn);
	for (i = 0; i < npages; i = j) {
		for (j = i + 1; j < npages && e[j].pfn == e[i].pfn; j++)
			;
		if (e[i].pfn && j - i > 1)
			for (; i < j; i++)
				shared[e[i].page] = 1;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(e);
	free(pm);
	return ret;
}

/* Time a one-byte write to each of @n pages; median and p90 in ns. */
static int time_writes(char *base, const size_t *pages, int n,
		       double *med, double *p90)
{
	double *v = calloc(n ? n : 1, sizeof(*v));
	volatile char *vp = base;
	uint64_t t0, t1;
	int i;

	if (!v || !n) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		volatile char *c = vp + pages[i] * page_size + 64;

		t0 = now_ns();
		__asm__ volatile("" ::: "memory");
		*c = (char)(*c + 1);
		__asm__ volatile("" ::: "memory");
		t1 = now_ns();
		v[i] = (double)(t1 - t0);
	}
	*med = quantile(v, n, 0.5);
	*p90 = quantile(v, n, 0.9);
	free(v);
	return 0;
}

/* Pick up to nsamples pages, evenly spread, with shared[i] == want. */
static int pick(const char *shared, int want, size_t *out)
{
	size_t i, cand = 0, step;
	int n = 0;

	for (i = 0; i < npages; i++)
		cand += shared[i] == want && page_is_unique(i) == !want;
	if (!cand)
		return 0;
	step = cand > nsamples ? cand / nsamples : 1;
	cand = 0;
	for (i = 0; i < npages && n < (int)nsamples; i++) {
		if (shared[i] != want || page_is_unique(i) != !want)
			continue;
		if (cand++ % step == 0)
			out[n++] = i;
	}
	return n;
}

/* COW latency of merged pages and write latency of unmerged pages. */
static void measure_writes(char *base, struct result *r, const char *sysfs,
			   const char *name)
{
	char *shared = calloc(npages, 1);
	size_t *pages = calloc(nsamples, sizeof(*pages));
	long cow0;
	int n, l;

	if (!shared || !pages || find_shared(base, shared) < 0) {
		fprintf(stderr, "sharing_bench: %s: cannot read /proc/self/pagemap\n",
			name);
		goto out;
	}
	for (l = 0; l < L_NR; l++) {
		n = pick(shared, l == L_MERGED, pages);
		cow0 = sysfs ? read_long(sysfs, "cow_breaks") : -1;
		if (n && time_writes(base, pages, n, &r->lat_med[l],
				     &r->lat_p90[l]) == 0)
			r->nlat[l] = n;
		if (l == L_MERGED)
			r->cow_breaks = cow0 >= 0 ?
				read_long(sysfs, "cow_breaks") - cow0 : -1;
	}
out:
	free(shared);
	free(pages);
}

/* ----------------------------------------------------------------------
 * The two sides
 * ---------------------------------------------------------------------- */

/*
 * Bytes a slab object of @cache really takes (slab_size), or -1. SLUB may
 * merge KSM's caches with others of similar size: then this is the merged
 * cache's, e.g. a 48-byte stable node in a 64-byte object.
 */
static long slab_size(const char *cache)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s", cache);
	return read_long(path, "slab_size");
}

static void run_ksm(struct result *r)
{
	struct scanner s = { .sysfs = KSM_SYSFS, .thread = "ksmd" };
	size_t bytes = npages * page_size;
	long items, chains, unshared, volatile_;
	char *p;

	if (read_long(KSM_SYSFS, "run") < 0) {
		r->why = "no " KSM_SYSFS " (CONFIG_KSM off)";
		return;
	}
	s.pid = find_kthread(s.thread);
	if (s.pid < 0) {
		r->why = "no ksmd thread";
		return;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		r->why = "mmap failed";
		return;
	}
	madvise(p, bytes, MADV_NOHUGEPAGE);
	fill(p);
	if (madvise(p, bytes, MADV_MERGEABLE) < 0) {
		r->why = "madvise(MADV_MERGEABLE) failed";
		goto out;
	}
	if (scanner_converge(&s, r) < 0) {
		r->why = "cannot drive " KSM_SYSFS;
		goto restore;
	}
	r->valid = 1;
	/* ksm.c: pages_volatile = rmap_items - shared - sharing - unshared */
	unshared = read_long(KSM_SYSFS, "pages_unshared");
	volatile_ = read_long(KSM_SYSFS, "pages_volatile");
	items = r->shared + r->sharing + unshared + volatile_;
	chains = read_long(KSM_SYSFS, "stable_node_chains");
	if (chains < 0)
		chains = 0;
	r->meta_bytes = (double)items * KSM_RMAP_ITEM_BYTES +
			(double)(r->shared + chains) * KSM_STABLE_NODE_BYTES;
	r->meta_how = "computed from struct sizes: rmap_items x 64 B (struct ksm_rmap_item) + (pages_shared + stable_node_chains) x 48 B (struct ksm_stable_node), x86-64 6.1";
	printf("# KSM: rmap_items %ld = shared %ld + sharing %ld + unshared %ld + volatile %ld; stable_node_chains %ld; slab_size ksm_rmap_item %ld B, ksm_stable_node %ld B\n",
	       items, r->shared, r->sharing, unshared, volatile_, chains,
	       slab_size("ksm_rmap_item"), slab_size("ksm_stable_node"));
	scanner_settle(&s, r);
	measure_writes(p, r, NULL, "KSM");
restore:
	scanner_restore(&s);
out:
	munmap(p, bytes);
}

/* metadata_bytes from the debugfs table file, or -1 */
static double pshare_metadata(void)
{
	char line[256];
	double v = -1;
	FILE *f = fopen(PSHARE_TABLE, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "metadata_bytes ", 15))
			v = strtod(line + 15, NULL);
	fclose(f);
	return v;
}

static void run_pshare(struct result *r)
{
	struct scanner s = { .sysfs = PSHARE_SYSFS, .thread = "pshare_scand" };
	size_t bytes = npages * page_size;
	char path[4096];
	char *p;
	int fd;

	if (!bench_is_pshare_dir(bench_dir)) {
		r->why = "no pshare mount (give it with -d)";
		return;
	}
	if (read_long(PSHARE_SYSFS, "run") < 0) {
		r->why = "no " PSHARE_SYSFS;
		return;
	}
	s.pid = find_kthread(s.thread);
	if (s.pid < 0) {
		r->why = "no pshare_scand thread";
		return;
	}
	snprintf(path, sizeof(path), "%s/sharing_bench.XXXXXX", bench_dir);
	fd = mkstemp(path);
	if (fd < 0) {
		r->why = "cannot create a region file";
		return;
	}
	p = MAP_FAILED;
	if (ftruncate(fd, bytes) == 0)
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		r->why = "cannot size or map the region";
		goto out;
	}
	fill(p);
	if (scanner_converge(&s, r) < 0) {
		r->why = "cannot drive " PSHARE_SYSFS;
		goto restore;
	}
	r->valid = 1;
	r->meta_bytes = pshare_metadata();
	r->meta_how = "metadata_bytes of " PSHARE_TABLE " (hash table: frames and hints)";
	printf("# pshare: pages_hinted %ld, hint_hits %ld, false_matches %ld, merge_busy %ld, pages_zero %ld\n",
	       read_long(PSHARE_SYSFS, "pages_hinted"),
	       read_long(PSHARE_SYSFS, "hint_hits"),
	       read_long(PSHARE_SYSFS, "false_matches"),
	       read_long(PSHARE_SYSFS, "merge_busy"),
	       read_long(PSHARE_SYSFS, "pages_zero"));
	scanner_settle(&s, r);
	measure_writes(p, r, PSHARE_SYSFS, "pshare");
restore:
	scanner_restore(&s);
	munmap(p, bytes);
out:
	close(fd);
	unlink(path);
}

/* ----------------------------------------------------------------------
 * Floors and baselines
 * ---------------------------------------------------------------------- */

/* Best of 3 passes of xxh64 over the content, ns per page. */
static double xxh64_floor(uint64_t *sink)
{
	size_t bytes = npages * page_size, i;
	double best = -1, t;
	uint64_t h = 0;
	char *p;
	int rep;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	fill(p);
	for (rep = 0; rep < 3; rep++) {
		t = bench_now();
		for (i = 0; i < npages; i++)
			h ^= xxh64(p + i * page_size, page_size, 0);
		t = (bench_now() - t) * 1e9 / npages;
		if (best < 0 || t < best)
			best = t;
	}
	munmap(p, bytes);
	*sink = h;
	return best;
}

/*
 * One-byte writes to private anonymous pages already mapped writable,
 * prepared like the others: written once, then every page read once.
 * Runs last, next to the pshare figures, since TCG's timing drifts.
 */
static int private_baseline(double *med, double *p90)
{
	size_t n = nsamples, i, *pages = calloc(n, sizeof(*pages));
	char *p = mmap(NULL, n * page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret = -1;

	if (p != MAP_FAILED && pages) {
		madvise(p, n * page_size, MADV_NOHUGEPAGE);
		for (i = 0; i < n; i++) {
			p[i * page_size] = 1;
			pages[i] = i;
		}
		for (i = 0; i < n; i++)
			(void)((volatile char *)p)[i * page_size];
		ret = time_writes(p, pages, n, med, p90);
	}
	if (p != MAP_FAILED)
		munmap(p, n * page_size);
	free(pages);
	return ret;
}

/* Median cost of the two clock reads around each timed write. */
static double timer_overhead(void)
{
	double v[1001];
	uint64_t t0;
	int i;

	for (i = 0; i < 1001; i++) {
		t0 = now_ns();
		__asm__ volatile("" ::: "memory");
		v[i] = (double)(now_ns() - t0);
	}
	return quantile(v, 1001, 0.5);
}

/* ----------------------------------------------------------------------
 * Report
 * ---------------------------------------------------------------------- */

static void row(const char *name, const char *fmt, const struct result *r,
		const double *v, int ratio)
{
	char buf[S_NR][32];
	int s;

	for (s = 0; s < S_NR; s++) {
		if (r[s].valid && v[s] >= 0)
			snprintf(buf[s], sizeof(buf[s]), fmt, v[s]);
		else
			snprintf(buf[s], sizeof(buf[s]), "n/a");
	}
	printf("%-46s %14s %14s", name, buf[S_KSM], buf[S_PSHARE]);
	if (ratio && r[S_KSM].valid && r[S_PSHARE].valid &&
	    v[S_KSM] > 0 && v[S_PSHARE] >= 0)
		printf(" %12.2f", v[S_PSHARE] / v[S_KSM]);
	else if (ratio)
		printf(" %12s", "n/a");
	printf("\n");
}

#define ROW(name, fmt, expr, ratio)					\
	do {								\
		double _v[S_NR];					\
		int _s;							\
		for (_s = 0; _s < S_NR; _s++) {				\
			const struct result *x = &res[_s];		\
			_v[_s] = (expr);				\
		}							\
		row(name, fmt, res, _v, ratio);				\
	} while (0)

static void report(const struct result *res, double floor_ns,
		   double base_med, double base_p90, double tmr)
{
	double mib = (double)page_size / (1 << 20);
	double mem = (double)npages * page_size;
	size_t uniq = count_unique();
	size_t expect = npages - uniq - count_patterns();
	int s, l;

	printf("\n%-46s %14s %14s %12s\n", "", "KSM", "pshare", "pshare/KSM");
	ROW("converged (pages_sharing settled)", "%.0f", x->converged ? 1.0 : 0.0, 0);
	ROW("pages_shared", "%.0f", (double)x->shared, 0);
	ROW("pages_sharing (pages saved)", "%.0f", (double)x->sharing, 1);
	ROW("  of the ideal saving (%)", "%.1f", expect ? 100.0 * x->sharing / expect : -1, 1);
	ROW("wall time to converge (s)", "%.2f", x->wall_conv, 1);
	ROW("scanner CPU to converge (s)", "%.2f", x->cpu_conv, 1);
	ROW("MiB saved per scanner CPU-second", "%.1f",
	    x->cpu_conv > 0 ? x->sharing * mib / x->cpu_conv : -1, 1);
	ROW("full scans until stopped", "%.0f", (double)x->scans, 0);
	ROW("scanner CPU until stopped (s)", "%.2f", x->cpu_total, 1);
	ROW("  same from utime+stime (s)", "%.2f", x->cpu_ticks_total, 1);
	ROW("page visits (full scans x N)", "%.0f", (double)x->scans * npages, 1);
	ROW("scanner CPU ns per page visit", "%.0f",
	    x->scans > 0 ? x->cpu_total * 1e9 / ((double)x->scans * npages) : -1, 1);
	ROW("  / user-space xxh64 floor", "%.1f",
	    x->scans > 0 && floor_ns > 0 ?
	    x->cpu_total * 1e9 / ((double)x->scans * npages) / floor_ns : -1, 1);
	ROW("pages_scanned counter (pshare)", "%.0f", x->scanned_exact ? x->scanned : -1, 0);
	ROW("  scanner CPU ns per counted page", "%.0f",
	    x->scanned_exact && x->scanned > 0 ? x->cpu_total * 1e9 / x->scanned : -1, 0);
	ROW("  / user-space xxh64 floor", "%.1f",
	    x->scanned_exact && x->scanned > 0 && floor_ns > 0 ?
	    x->cpu_total * 1e9 / x->scanned / floor_ns : -1, 0);
	for (l = 0; l < 2; l++) {
		ROW(l ? "settled pass, smart scan off: CPU ns/visit" :
			"settled pass, smart scan as set: CPU ns/visit", "%.0f",
		    x->settled[l] ? x->settled_visit_ns[l] : -1, 1);
		ROW("  / user-space xxh64 floor", "%.2f",
		    x->settled[l] && floor_ns > 0 ? x->settled_visit_ns[l] / floor_ns : -1, 1);
		ROW("  pages hashed per visit", "%.3f",
		    x->settled[l] ? x->settled_hashed[l] : -1, 0);
		ROW("  CPU ns per page hashed / floor", "%.2f",
		    x->settled[l] && x->settled_hashed[l] > 0 && floor_ns > 0 ?
		    x->settled_visit_ns[l] / x->settled_hashed[l] / floor_ns : -1, 1);
	}
	ROW("metadata bytes", "%.0f", x->meta_bytes, 1);
	ROW("metadata bytes per page scanned (N)", "%.2f",
	    x->meta_bytes >= 0 ? x->meta_bytes / npages : -1, 1);
	ROW("metadata % of memory scanned", "%.3f",
	    x->meta_bytes >= 0 ? 100.0 * x->meta_bytes / mem : -1, 1);
	for (l = 0; l < L_NR; l++) {
		const char *what = l == L_MERGED ? "COW break (merged page)" :
						   "write to unmerged page";
		char name[64];

		snprintf(name, sizeof(name), "%s: samples", what);
		ROW(name, "%.0f", x->nlat[l] ? (double)x->nlat[l] : -1, 0);
		snprintf(name, sizeof(name), "  median ns");
		ROW(name, "%.0f", x->nlat[l] ? x->lat_med[l] : -1, 1);
		snprintf(name, sizeof(name), "  p90 ns");
		ROW(name, "%.0f", x->nlat[l] ? x->lat_p90[l] : -1, 1);
		snprintf(name, sizeof(name), "  median ns, minus clock overhead");
		ROW(name, "%.0f", x->nlat[l] ? x->lat_med[l] - tmr : -1, 1);
	}
	ROW("cow_breaks counted (pshare)", "%.0f",
	    x == &res[S_PSHARE] ? (double)x->cow_breaks : -1, 0);

	printf("\nuser-space xxh64 floor: %.0f ns/page (best of 3 passes over the same %zu pages)\n",
	       floor_ns, npages);
	printf("plain write, private anon page mapped writable: median %.0f ns, p90 %.0f ns (%u samples),\n"
	       "  median minus clock overhead %.0f ns; COW break / plain write (net medians): KSM %.0fx, pshare %.0fx\n",
	       base_med, base_p90, nsamples, base_med - tmr,
	       base_med - tmr > 0 && res[S_KSM].nlat[L_MERGED] ?
	       (res[S_KSM].lat_med[L_MERGED] - tmr) / (base_med - tmr) : 0,
	       base_med - tmr > 0 && res[S_PSHARE].nlat[L_MERGED] ?
	       (res[S_PSHARE].lat_med[L_MERGED] - tmr) / (base_med - tmr) : 0);
	printf("clock_gettime pair overhead (included in every latency): median %.0f ns\n", tmr);
	printf("ideal saving: %zu duplicate pages - %zu patterns = %zu pages\n",
	       npages - uniq, count_patterns(), expect);
	for (s = 0; s < S_NR; s++) {
		if (!res[s].valid)
			printf("%s: not measured: %s\n", side_name[s], res[s].why);
		else
			printf("%s metadata: %s\n", side_name[s], res[s].meta_how);
		if (res[s].valid && res[s].smart >= 0)
			printf("%s smart_scan as set: %ld\n", side_name[s], res[s].smart);
	}
	printf("\n# Notes: TCG emulation, and a host shared with other jobs: timings are noisy\n"
	       "# and far from bare metal; compare ratios, and rerun before trusting a digit.\n"
	       "# CPU 'to converge' is read at the 100 ms poll that first saw the final\n"
	       "# pages_sharing; 'until stopped' includes the %d settling scans.\n"
	       "# Page visits: KSM 6.1 has no scanned-pages counter, so both sides are\n"
	       "# compared per full_scans x N; pshare's pages_scanned counts fewer (it does\n"
	       "# not count PPNs already on shared frames, nor visits smart_scan skipped),\n"
	       "# so its per-counted-page cost is higher.\n"
	       "# Settled passes: after convergence, nothing left to merge, the scanner's\n"
	       "# CPU over whole full scans (at least %d and %.0f s, wraps read at a 1 ms\n"
	       "# poll) per page visit (full scans x N): what a pass costs a settled host,\n"
	       "# apart from the one-time work of merging; 'smart scan off' hashes every\n"
	       "# page not on a shared frame at every pass (KSM before 6.7 has no knob).\n"
	       "# COW latencies: one timed store per page, after every page was read once\n"
	       "# and the scanners were stopped; a 'write to unmerged page' may or may not\n"
	       "# fault (KSM write-protects pages it tried to merge; pshare's smart_scan\n"
	       "# leaves the pages it found unchanged mapped read-only, so that it sees\n"
	       "# their next write: one fault each).\n"
	       "# KSM merges at most max_page_sharing (%ld) pages per KSM page, pshare has no such cap.\n",
	       CONV_SCANS, SETTLED_SCANS, SETTLED_SECS, read_long(KSM_SYSFS, "max_page_sharing"));
}

int main(int argc, char **argv)
{
	static struct result res[S_NR];
	double floor_ns, base_med = -1, base_p90 = -1, tmr;
	struct utsname uts;
	uint64_t sink = 0;
	int opt;

	while ((opt = getopt(argc, argv, "d:s:k:u:c:t:h")) != -1) {
		switch (opt) {
		case 'd':
			bench_dir = optarg;
			break;
		case 's':
			npages = (strtoul(optarg, NULL, 10) << 20) / 4096;
			break;
		case 'k':
			npatterns = strtoul(optarg, NULL, 10);
			break;
		case 'u':
			unique_every = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			nsamples = strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout_s = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-d PSHARE_DIR] [-s MiB] [-k PATTERNS] [-u UNIQUE_EVERY] [-c SAMPLES] [-t TIMEOUT_S]\n"
				"  every page is one of PATTERNS contents, except every UNIQUE_EVERY-th (0: none)\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	page_size = sysconf(_SC_PAGESIZE);
	if (page_size != 4096 || npages < 64 || npatterns < 1 || nsamples < 1 ||
	    unique_every == 1 || timeout_s < 1) {
		fprintf(stderr, "sharing_bench: need 4 KiB pages, -s >= 1, -k >= 1, -c >= 1, -u 0 or >= 2, -t >= 1\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "sharing_bench: run as root (sysfs knobs, PFNs in /proc/self/pagemap)\n");
		return 2;
	}
	if (xxh64_selftest() < 0) {
		fprintf(stderr, "sharing_bench: xxh64 gives wrong answers on known inputs\n");
		return 1;
	}

	uname(&uts);
	printf("# sharing_bench: %s %s; %zu pages (%zu MiB); %u patterns; every %u-th page unique (%zu)\n",
	       uts.sysname, uts.release, npages, npages * page_size >> 20,
	       npatterns, unique_every, count_unique());
	printf("# scanners: pages_to_scan %d, sleep_millisecs 0; settled after %d full scans without change; timeout %u s\n",
	       SCAN_PAGES, CONV_SCANS, timeout_s);
	fflush(stdout);

	tmr = timer_overhead();
	floor_ns = xxh64_floor(&sink);
	run_ksm(&res[S_KSM]);
	fflush(stdout);
	run_pshare(&res[S_PSHARE]);
	private_baseline(&base_med, &base_p90);
	report(res, floor_ns, base_med, base_p90, tmr);
	printf("# (xxh64 checksum of the content: %016llx)\n", (unsigned long long)sink);
	return 0;
}
