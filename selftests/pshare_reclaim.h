/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the reclaim selftests share: the reclaim knobs they save and put
 * back, wrappers of the policy and backing ioctls, page patterns, and the
 * "reclaim" fixture (two regions, no limit, the knobs as found), so that
 * every test keeps its name reclaim.<test> in whichever program it runs.
 *
 * Pressure is made with limit_pages (the test VM has plenty of memory and
 * stays in the "high" state). Backing files live on /tmp. Every test saves
 * the knobs it may touch in its fixture and puts them back in the teardown;
 * the scanner is stopped (PS_REQUIRE_ENV), so no page is shared behind the
 * tests' backs and pages_private counts exactly what they wrote.
 *
 * Conditions are waited for with generous timeouts (the VM runs under TCG,
 * and the debug kernel is slower still): a test fails on what it sees, not
 * on how fast it saw it.
 *
 * Each program includes this header once: the fixture is defined here.
 */
#ifndef PSHARE_RECLAIM_H
#define PSHARE_RECLAIM_H

#include "pshare_selftest.h"	/* first: it defines _GNU_SOURCE */

/* Longest wait for the reclaimer or the sampler to do something. */
#define RC_WAIT_S		120

/* Length of the paging stress and page-in race: PSHARE_RECLAIM_SECONDS. */
#define RC_RECLAIM_SECONDS_DEFAULT	15
#define RC_RECLAIM_SECONDS_MAX		3000

/* Knobs of /sys/kernel/mm/pshare that the tests change. */
static const char *const rc_knob_names[] = {
	"limit_pages", "idle_tax_percent", "sample_period_secs", "sample_pages",
};
#define RC_NKNOBS	(sizeof(rc_knob_names) / sizeof(rc_knob_names[0]))

#define RC_KNOB(name, val) \
	ASSERT_EQ(0, ps_knob_set_num(name, val)) \
		TH_LOG("writing %llu to %s: %s", (unsigned long long)(val), \
		       name, strerror(errno))

static inline int rc_reclaim_seconds(void)
{
	const char *e = getenv("PSHARE_RECLAIM_SECONDS");
	int sec = e && *e ? atoi(e) : RC_RECLAIM_SECONDS_DEFAULT;

	if (sec < 1)
		sec = 1;
	return sec > RC_RECLAIM_SECONDS_MAX ? RC_RECLAIM_SECONDS_MAX : sec;
}

/* Why the reclaim features cannot be tested here, or NULL. */
static inline const char *rc_missing(void)
{
	const char *why = ps_features_missing(PSHARE_FEATURE_POLICY |
					      PSHARE_FEATURE_SAMPLING |
					      PSHARE_FEATURE_PAGING,
					      "the module lacks PSHARE_FEATURE_POLICY, _SAMPLING or _PAGING");
	unsigned int i;

	if (why)
		return why;
	for (i = 0; i < RC_NKNOBS; i++)
		if (ps_sysfs(rc_knob_names[i]) < 0)
			return PS_SYSFS " lacks a reclaim knob (limit_pages, idle_tax_percent, sample_period_secs, sample_pages)";
	return NULL;
}

static inline int rc_policy(int dev, int fd, __u32 flags, __u64 shares,
			    __u64 min, __u64 max)
{
	struct pshare_region_policy p = {
		.argsz = sizeof(p), .flags = flags, .fd = fd,
		.shares = shares, .min_pages = min, .max_pages = max,
	};

	return ioctl(dev, PSHARE_IOC_REGION_SET_POLICY, &p);
}

static inline int rc_backing(int dev, int fd, int backing_fd)
{
	struct pshare_region_backing b = {
		.argsz = sizeof(b), .fd = fd, .backing_fd = backing_fd,
	};

	return ioctl(dev, PSHARE_IOC_REGION_SET_BACKING, &b);
}

/* Result of an ioctl expected to fail: errno, or 0 if it succeeded. */
#define RC_ERRNO(call) ((call) == 0 ? 0 : errno)

#define RC_STATS(st) PS_STATS(self->dev, self->r[0].fd, st)

/* A field of the region statistics of @fd, or -1 when the ioctl fails. */
#define RC_FIELD(dev, fd, field) ({					\
	struct pshare_region_stats __st;				\
	ps_stats(dev, fd, &__st) ? -1LL : (long long)__st.field;	\
})

/*
 * Wait up to @secs for @cond, re-evaluated every 20 ms; evaluates to
 * whether it held. The caller then checks the state it needs.
 */
#define RC_WAIT(secs, cond) ({						\
	double __end = ps_now() + (secs);				\
	bool __ok;							\
	while (!(__ok = (cond)) && ps_now() < __end)			\
		usleep(20 * 1000);					\
	__ok;								\
})

/* A backing file on /tmp, open O_RDWR, already unlinked. */
static inline int rc_tmpfile(struct __test_metadata *_metadata, int flags)
{
	char path[] = "/tmp/pshare-backing.XXXXXX";
	int fd = mkostemp(path, flags);

	EXPECT_LE(0, fd) TH_LOG("mkostemp in /tmp: %s", strerror(errno));
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Pattern fill that differs per page and per generation, cheaply. */
static inline void rc_fill(void *p, uint64_t seed)
{
	uint64_t *w = p, x = seed * 0x9e3779b97f4a7c15ULL + 1;
	size_t i;

	for (i = 0; i < PS_PAGE / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

#define RC_PAGEIN_DELAY	"/sys/kernel/debug/pshare/pagein_delay_ms"
#define RC_RECLAIM_NOW	"/sys/kernel/debug/pshare/reclaim_now"

#define RC_NREGIONS	2

/* A scratch file system a test made, removed by the teardown. */
static struct ps_scratch_fs rc_disk;

FIXTURE(reclaim) {
	int dev;
	long long knobs[RC_NKNOBS];
	bool saved;
	struct ps_region r[RC_NREGIONS];
	int backing[RC_NREGIONS];
};

FIXTURE_SETUP(reclaim)
{
	const char *why;
	unsigned int i;

	self->dev = -1;
	self->saved = false;
	for (i = 0; i < RC_NREGIONS; i++) {
		self->r[i].fd = -1;
		self->r[i].path[0] = 0;
		self->backing[i] = -1;
	}
	PS_REQUIRE_ENV();
	why = rc_missing();
	if (why)
		PS_SKIP("%s", why);
	for (i = 0; i < RC_NKNOBS; i++)
		self->knobs[i] = ps_sysfs(rc_knob_names[i]);
	self->saved = true;
	/* A limit left by an earlier, crashed program would skew everything. */
	RC_KNOB("limit_pages", 0);
	self->dev = open(PS_DEV, O_RDWR);
	ASSERT_LE(0, self->dev) TH_LOG("open " PS_DEV ": %s", strerror(errno));
	for (i = 0; i < RC_NREGIONS; i++)
		ps_region_create(_metadata, &self->r[i], 0);
}

FIXTURE_TEARDOWN(reclaim)
{
	unsigned int i;

	/* No limit first: then nothing is paged out while regions go. */
	if (self->saved)
		ps_knob_set("limit_pages", "0");
	for (i = 0; i < RC_NREGIONS; i++) {
		ps_region_destroy(&self->r[i]);
		if (self->backing[i] >= 0)
			close(self->backing[i]);
	}
	if (self->dev >= 0)
		close(self->dev);
	ps_scratch_fs_remove(&rc_disk);
	if (self->saved)
		for (i = 0; i < RC_NKNOBS; i++)
			ps_knob_set_num(rc_knob_names[i], self->knobs[i]);
}

/* Size region @i to @pages and write a distinct pattern into every page. */
static inline void rc_fill_region(struct __test_metadata *_metadata,
				  FIXTURE_DATA(reclaim) *self, int i,
				  unsigned long pages)
{
	unsigned char *buf = malloc(256 * PS_PAGE);
	unsigned long pg, k, n;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, ftruncate(self->r[i].fd, pages * PS_PAGE));
	for (pg = 0; pg < pages; pg += n) {
		n = pages - pg < 256 ? pages - pg : 256;
		for (k = 0; k < n; k++)
			rc_fill(buf + k * PS_PAGE, (i + 1) * 1000003UL + pg + k);
		ASSERT_EQ((ssize_t)(n * PS_PAGE),
			  pwrite(self->r[i].fd, buf, n * PS_PAGE, pg * PS_PAGE))
			TH_LOG("pwrite: %s", strerror(errno));
	}
	free(buf);
}

/* Every page of region @i holds what rc_fill_region() wrote (pread). */
static inline void rc_check_region(struct __test_metadata *_metadata,
				   FIXTURE_DATA(reclaim) *self, int i,
				   unsigned long pages)
{
	unsigned char got[PS_PAGE], want[PS_PAGE];
	unsigned long pg, bad = 0;

	for (pg = 0; pg < pages; pg++) {
		rc_fill(want, (i + 1) * 1000003UL + pg);
		ASSERT_EQ((ssize_t)PS_PAGE,
			  pread(self->r[i].fd, got, PS_PAGE, pg * PS_PAGE))
			TH_LOG("pread page %lu: %s", pg, strerror(errno));
		if (memcmp(got, want, PS_PAGE) && bad++ < 5)
			TH_LOG("region %d page %lu lost its data", i, pg);
	}
	EXPECT_EQ(0, bad) TH_LOG("%lu of %lu pages differ", bad, pages);
}

#endif /* PSHARE_RECLAIM_H */
