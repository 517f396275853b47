/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the page sharing selftests (pshare_share_test.c and
 * pshare_stress_test.c): the scanner's knobs (saved, set fast, restored),
 * waiting for full scans instead of sleeping, the sharing counters, and
 * physical frame numbers from /proc/self/pagemap to tell whether two
 * virtual pages share a frame, as the kernel's KSM selftests do.
 */
#ifndef PSHARE_SHARE_H
#define PSHARE_SHARE_H

#include "pshare_selftest.h"	/* first: it defines _GNU_SOURCE */

#define PS_HASH_BITS	"/sys/kernel/debug/pshare/hash_bits"
#define PS_TABLE	"/sys/kernel/debug/pshare/table"

/* Pages the scanner visits per batch while a test runs. */
#define PS_FAST_PAGES_TO_SCAN	"4096"

/* Wall-clock bound on any wait for the scanner (TCG, debug kernel). */
#define PS_SCAN_TIMEOUT_S	180

/* run knob values */
#define PS_RUN_STOP	0
#define PS_RUN_MERGE	1
#define PS_RUN_UNMERGE	2

/* The hash_bits debug knob: -1 when debugfs does not have it. */
static inline long long ps_hash_bits(void)
{
	return ps_read_number(PS_HASH_BITS);
}

/* Knob values as they were before a test changed them. */
struct ps_knobs {
	long long run;
	long long pages_to_scan;
	long long sleep_millisecs;
	long long merge_across_domains;
	long long hash_bits;	/* -1: no debugfs */
	/* The scanner's rate and skipping: -1 where the module lacks them. */
	long long smart_scan;
	long long auto_scan;
	long long max_cpu_percent;
	long long target_scan_secs;
	long long min_pages_to_scan;
	long long max_pages_to_scan;
};

/* Why sharing cannot be tested here, or NULL. */
static inline const char *ps_sharing_missing(void)
{
	const char *why = ps_features_missing(PSHARE_FEATURE_SHARING |
					      PSHARE_FEATURE_DOMAINS,
					      "the module lacks PSHARE_FEATURE_SHARING or _DOMAINS");

	if (why)
		return why;
	if (ps_sysfs("full_scans") < 0 || ps_sysfs("run") < 0)
		return PS_SYSFS "/full_scans or run is missing";
	return NULL;
}

static inline void ps_knobs_save(struct __test_metadata *_metadata,
				 struct ps_knobs *k)
{
	k->run = ps_sysfs("run");
	k->pages_to_scan = ps_sysfs("pages_to_scan");
	k->sleep_millisecs = ps_sysfs("sleep_millisecs");
	k->merge_across_domains = ps_sysfs("merge_across_domains");
	k->hash_bits = ps_hash_bits();
	k->smart_scan = ps_sysfs("smart_scan");
	k->auto_scan = ps_sysfs("auto_scan");
	k->max_cpu_percent = ps_sysfs("max_cpu_percent");
	k->target_scan_secs = ps_sysfs("target_scan_secs");
	k->min_pages_to_scan = ps_sysfs("min_pages_to_scan");
	k->max_pages_to_scan = ps_sysfs("max_pages_to_scan");
	ASSERT_LE(0, k->run);
	ASSERT_LE(1, k->pages_to_scan);
	ASSERT_LE(0, k->sleep_millisecs);
	ASSERT_LE(0, k->merge_across_domains);
}

/*
 * Unmerge whatever an earlier test left shared, then set the scanner to run
 * as fast as it can, with full hashes and domains respected. @run: whether
 * it starts now (1) or stays stopped (0) until the test has set up its
 * pages.
 */
static inline void ps_scan_fast(struct __test_metadata *_metadata,
				const struct ps_knobs *k, int run)
{
	PS_KNOB_SET("run", "2");
	if (k->merge_across_domains)
		PS_KNOB_SET("merge_across_domains", "0");
	if (k->hash_bits >= 0 && k->hash_bits != 64)
		ASSERT_EQ(0, ps_write_file(PS_HASH_BITS, "64"));
	/* The rate by hand; smart_scan stays as the module has it. */
	if (k->auto_scan > 0)
		PS_KNOB_SET("auto_scan", "0");
	PS_KNOB_SET("pages_to_scan", PS_FAST_PAGES_TO_SCAN);
	PS_KNOB_SET("sleep_millisecs", "0");
	PS_KNOB_SET("run", run ? "1" : "0");
}

/*
 * Put the knobs back: unmerge first (merge_across_domains can only change
 * while nothing is shared), then the saved values. No asserts: this runs
 * in teardowns, also after a failure.
 */
/* Set knob @name to @val, unless it was missing (-1). */
static inline void ps_knob_restore(const char *name, long long val)
{
	if (val >= 0)
		ps_knob_set_num(name, val);
}

static inline void ps_knobs_restore(const struct ps_knobs *k)
{
	char v[32];

	ps_knob_set("run", "2");
	/* pages_to_scan takes a value only with auto_scan off. */
	ps_knob_restore("auto_scan", k->auto_scan >= 0 ? 0 : -1);
	ps_knob_restore("smart_scan", k->smart_scan);
	ps_knob_restore("max_cpu_percent", k->max_cpu_percent);
	ps_knob_restore("target_scan_secs", k->target_scan_secs);
	/* The widest bounds first, so that neither is refused. */
	ps_knob_restore("min_pages_to_scan", k->min_pages_to_scan >= 0 ? 1 : -1);
	ps_knob_restore("max_pages_to_scan", k->max_pages_to_scan);
	ps_knob_restore("min_pages_to_scan", k->min_pages_to_scan);
	snprintf(v, sizeof(v), "%lld", k->merge_across_domains);
	ps_knob_set("merge_across_domains", v);
	if (k->hash_bits > 0) {
		snprintf(v, sizeof(v), "%lld", k->hash_bits);
		ps_write_file(PS_HASH_BITS, v);
	}
	snprintf(v, sizeof(v), "%lld", k->pages_to_scan);
	ps_knob_set("pages_to_scan", v);
	snprintf(v, sizeof(v), "%lld", k->sleep_millisecs);
	ps_knob_set("sleep_millisecs", v);
	ps_knob_restore("auto_scan", k->auto_scan);
	/* After the unmerge run reads 2; a stopped scanner stays stopped. */
	ps_knob_set("run", k->run == PS_RUN_MERGE ? "1" : "0");
}

/*
 * Wait until full_scans has advanced by @n: after a change, two passes
 * guarantee that one whole pass saw it. Fails the test on a timeout.
 */
static inline void ps_wait_scans(struct __test_metadata *_metadata, long n)
{
	long long start = ps_sysfs("full_scans"), now = start;
	double deadline = ps_now() + PS_SCAN_TIMEOUT_S;

	ASSERT_LE(0, start) TH_LOG("cannot read " PS_SYSFS "/full_scans");
	while (now < start + n) {
		ASSERT_LT(ps_now(), deadline)
			TH_LOG("full_scans went from %lld to %lld in %d s, waiting for +%ld (run=%lld)",
			       start, now, PS_SCAN_TIMEOUT_S, n, ps_sysfs("run"));
		usleep(2000);
		now = ps_sysfs("full_scans");
	}
}

/*
 * Wait for @cond (an expression re-evaluated after every full scan) to
 * hold, for at most @max_scans scans. Evaluates to whether it held; the
 * test then checks the exact state.
 */
#define PS_WAIT_FOR(max_scans, cond) ({					\
	long __i;							\
	bool __ok = false;						\
	for (__i = 0; __i < (max_scans); __i++) {			\
		ps_wait_scans(_metadata, 1);				\
		if (cond) {						\
			__ok = true;					\
			break;						\
		}							\
	}								\
	__ok;								\
})

/* The physical frame behind @addr (touched first), 0 if not present. */
static inline uint64_t ps_pfn(const void *addr)
{
	uint64_t ent;
	int fd;

	ps_touch(addr);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent),
		  (uintptr_t)addr / getpagesize() * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	/* Bit 63: present; bits 0-54: the PFN (shown to root only). */
	if (!(ent & (1ULL << 63)))
		return 0;
	return ent & ((1ULL << 55) - 1);
}

/* The global sharing counters, read together. */
struct ps_counters {
	long long regions;
	long long pages_private;
	long long pages_zero;
	long long pages_shared;
	long long pages_sharing;
	long long cow_breaks;
	long long false_matches;
	long long merge_busy;
	long long hint_hits;
	long long stale_hints;
	long long pages_scanned;
};

_Static_assert(sizeof(struct ps_counters) == 11 * sizeof(long long),
	       "ps_counters() fills the fields as an array");

static inline void ps_counters(struct __test_metadata *_metadata,
			       struct ps_counters *c)
{
	static const char *const names[] = {
		"regions", "pages_private", "pages_zero", "pages_shared",
		"pages_sharing", "cow_breaks", "false_matches", "merge_busy",
		"hint_hits", "stale_hints", "pages_scanned",
	};
	long long *v = &c->regions;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v[i] = ps_sysfs(names[i]);
		ASSERT_LE(0, v[i]) TH_LOG("cannot read " PS_SYSFS "/%s", names[i]);
	}
}

/*
 * Create region @r of @npages in directory @dir (mkstemp, as QEMU does,
 * with @tag in its name) and map all of it read-write at *@map.
 */
static inline void ps_region_make_mapped(struct __test_metadata *_metadata,
					 struct ps_region *r, const char *dir,
					 const char *tag, size_t npages,
					 unsigned char **map)
{
	snprintf(r->path, sizeof(r->path), "%s/%s.XXXXXX", dir, tag);
	r->unlinked = false;
	r->fd = mkstemp(r->path);
	ASSERT_LE(0, r->fd) TH_LOG("mkstemp(%s): %s", r->path, strerror(errno));
	ASSERT_EQ(0, ftruncate(r->fd, npages * PS_PAGE));
	*map = mmap(NULL, npages * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    r->fd, 0);
	ASSERT_NE(MAP_FAILED, *map) TH_LOG("mmap: %s", strerror(errno));
}

#endif /* PSHARE_SHARE_H */
