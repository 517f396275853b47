// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim selftests: per-region policy (shares, min, max) through
 * PSHARE_IOC_REGION_SET_POLICY, backing files (PSHARE_IOC_REGION_SET_BACKING)
 * and paging to them, balloon targets under limit_pages, active memory
 * sampling, and the global reclaim knobs.
 *
 * Pressure is made with limit_pages (the test VM has plenty of memory and
 * stays in the "high" state). Backing files live on /tmp. Every test saves
 * the knobs it may touch in its fixture and puts them back in the teardown;
 * the scanner is stopped (PS_REQUIRE_ENV), so no page is shared behind the
 * tests' backs and pages_private counts exactly what they wrote.
 *
 * Conditions are waited for with generous timeouts (the VM runs under TCG,
 * and the debug kernel is slower still): a test fails on what it sees, not
 * on how fast it saw it. The paging stress runs PSHARE_RECLAIM_SECONDS
 * (default 15).
 */
#include "pshare_selftest.h"	/* first: it defines _GNU_SOURCE */

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>

/* Longest wait for the reclaimer or the sampler to do something. */
#define RC_WAIT_S		120

#define RC_RECLAIM_SECONDS_DEFAULT	15
#define RC_RECLAIM_SECONDS_MAX		3000

/* The policy limits of the uapi header's documentation. */
#define RC_SHARES_MAX		(1ULL << 30)
#define RC_PAGES_MAX		(1ULL << 28)

/* Knobs of /sys/kernel/mm/pshare that the tests change. */
static const char *const rc_knob_names[] = {
	"limit_pages", "idle_tax_percent", "sample_period_secs", "sample_pages",
};
#define RC_NKNOBS	(sizeof(rc_knob_names) / sizeof(rc_knob_names[0]))

static double rc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int rc_knob_set(const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), PS_SYSFS "/%s", name);
	return ps_write_file(path, val);
}

static int rc_knob_set_ull(const char *name, unsigned long long val)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu", val);
	return rc_knob_set(name, v);
}

#define RC_KNOB(name, val) \
	ASSERT_EQ(0, rc_knob_set_ull(name, val)) \
		TH_LOG("writing %llu to %s: %s", (unsigned long long)(val), \
		       name, strerror(errno))

/* Why the reclaim features cannot be tested here, or NULL. */
static const char *rc_missing(void)
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

static int rc_policy(int dev, int fd, __u32 flags, __u64 shares, __u64 min,
		     __u64 max)
{
	struct pshare_region_policy p = {
		.argsz = sizeof(p), .flags = flags, .fd = fd,
		.shares = shares, .min_pages = min, .max_pages = max,
	};

	return ioctl(dev, PSHARE_IOC_REGION_SET_POLICY, &p);
}

static int rc_backing(int dev, int fd, int backing_fd)
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
	double __end = rc_now() + (secs);				\
	bool __ok;							\
	while (!(__ok = (cond)) && rc_now() < __end)			\
		usleep(20 * 1000);					\
	__ok;								\
})

/* A backing file on /tmp, open O_RDWR, already unlinked. */
static int rc_tmpfile(struct __test_metadata *_metadata, int flags)
{
	char path[] = "/tmp/pshare-backing.XXXXXX";
	int fd = mkostemp(path, flags);

	EXPECT_LE(0, fd) TH_LOG("mkostemp in /tmp: %s", strerror(errno));
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Pattern fill that differs per page and per generation, cheaply. */
static void rc_fill(void *p, uint64_t seed)
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
		rc_knob_set("limit_pages", "0");
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
			rc_knob_set_ull(rc_knob_names[i], self->knobs[i]);
}

/* Size region @i to @pages and write a distinct pattern into every page. */
static void rc_fill_region(struct __test_metadata *_metadata,
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
static void rc_check_region(struct __test_metadata *_metadata,
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

/* ---------------------------------------------------------------------- */
/* Policy ioctl                                                           */

TEST_F(reclaim, policy_defaults)
{
	struct pshare_region_stats st;

	ASSERT_EQ(0, ftruncate(self->r[0].fd, 64 * PS_PAGE));
	RC_STATS(&st);
	EXPECT_EQ(64, st.shares);
	EXPECT_EQ(64, st.max_pages);
	EXPECT_EQ(0, st.min_pages);
	/* No pressure: the target is the max. */
	EXPECT_EQ(64, st.target_pages);
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_EQ(0, st.paged_out);
	EXPECT_EQ(0, st.paged_in);
	/* A new region counts as fully active until sampled. */
	EXPECT_EQ(1000, st.active_fast);
	EXPECT_EQ(1000, st.active_slow);
	EXPECT_LE(st.active_current, 1000);
	EXPECT_LE(st.active_permille, 1000);
	EXPECT_GE(st.active_permille, st.active_fast);

	/* The defaults follow the size. */
	ASSERT_EQ(0, ftruncate(self->r[0].fd, 100 * PS_PAGE));
	RC_STATS(&st);
	EXPECT_EQ(100, st.shares);
	EXPECT_EQ(100, st.max_pages);
	/* A partial last page is a page. */
	ASSERT_EQ(0, ftruncate(self->r[0].fd, 100 * PS_PAGE + 1));
	RC_STATS(&st);
	EXPECT_EQ(101, st.shares);
	EXPECT_EQ(101, st.max_pages);
}

TEST_F(reclaim, policy_set_read_back)
{
	struct pshare_region_stats st;
	int fd = self->r[0].fd;

	ASSERT_EQ(0, ftruncate(fd, 64 * PS_PAGE));

	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_SHARES, 123, 0, 0))
		TH_LOG("SET_POLICY shares: %s", strerror(errno));
	RC_STATS(&st);
	EXPECT_EQ(123, st.shares);
	EXPECT_EQ(0, st.min_pages);
	EXPECT_EQ(64, st.max_pages);

	/* Fields not named in flags stay as they are. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 999, 999, 40));
	RC_STATS(&st);
	EXPECT_EQ(123, st.shares);
	EXPECT_EQ(0, st.min_pages);
	EXPECT_EQ(40, st.max_pages);

	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MIN, 999, 7, 999));
	RC_STATS(&st);
	EXPECT_EQ(123, st.shares);
	EXPECT_EQ(7, st.min_pages);
	EXPECT_EQ(40, st.max_pages);

	/* All three at once; min == max is allowed. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_SHARES |
			       PSHARE_POLICY_MIN | PSHARE_POLICY_MAX,
			       RC_SHARES_MAX, 20, 20));
	RC_STATS(&st);
	EXPECT_EQ(RC_SHARES_MAX, st.shares);
	EXPECT_EQ(20, st.min_pages);
	EXPECT_EQ(20, st.max_pages);

	/* An explicit max does not follow the size; it may exceed it. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0,
			       RC_PAGES_MAX));
	ASSERT_EQ(0, ftruncate(fd, 80 * PS_PAGE));
	RC_STATS(&st);
	EXPECT_EQ(RC_PAGES_MAX, st.max_pages);

	/* PSHARE_POLICY_DEFAULT: back to the size. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_SHARES |
			       PSHARE_POLICY_MAX, PSHARE_POLICY_DEFAULT, 0,
			       PSHARE_POLICY_DEFAULT));
	RC_STATS(&st);
	EXPECT_EQ(80, st.shares);
	EXPECT_EQ(80, st.max_pages);
	EXPECT_EQ(20, st.min_pages);
	ASSERT_EQ(0, ftruncate(fd, 90 * PS_PAGE));
	RC_STATS(&st);
	EXPECT_EQ(90, st.shares);
	EXPECT_EQ(90, st.max_pages);

	/* flags 0 sets nothing. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, 0, 5, 5, 5));
	RC_STATS(&st);
	EXPECT_EQ(90, st.shares);
	EXPECT_EQ(20, st.min_pages);
	EXPECT_EQ(90, st.max_pages);
}

TEST_F(reclaim, policy_einval)
{
	struct pshare_region_policy p;
	struct pshare_region_stats st;
	int fd = self->r[0].fd;
	const __u32 all = PSHARE_POLICY_SHARES | PSHARE_POLICY_MIN |
			  PSHARE_POLICY_MAX;
	static const struct {
		const char *what;
		__u32 flags;
		__u64 shares, min, max;
	} bad[] = {
		{ "unknown flag", 1U << 3, 10, 1, 40 },
		{ "high flag", 1U << 31, 10, 1, 40 },
		{ "shares above 2^30", PSHARE_POLICY_SHARES, RC_SHARES_MAX + 1, 0, 0 },
		{ "shares ~0 - 1", PSHARE_POLICY_SHARES, ~0ULL - 1, 0, 0 },
		{ "max above 2^28", PSHARE_POLICY_MAX, 0, 0, RC_PAGES_MAX + 1 },
		{ "min above 2^28", PSHARE_POLICY_MIN | PSHARE_POLICY_MAX, 0,
		  RC_PAGES_MAX + 1, PSHARE_POLICY_DEFAULT },
		{ "min above the current max", PSHARE_POLICY_MIN, 0, 41, 0 },
		{ "max below the current min", PSHARE_POLICY_MAX, 0, 0, 4 },
		{ "min above max, both set", PSHARE_POLICY_MIN | PSHARE_POLICY_MAX,
		  0, 30, 29 },
		{ "min above the size as max", PSHARE_POLICY_MIN | PSHARE_POLICY_MAX,
		  0, 65, PSHARE_POLICY_DEFAULT },
		{ "every field bad", all, RC_SHARES_MAX + 1, 50, 40 },
	};
	unsigned int i;

	ASSERT_EQ(0, ftruncate(fd, 64 * PS_PAGE));
	ASSERT_EQ(0, rc_policy(self->dev, fd, all, 10, 5, 40));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(EINVAL, RC_ERRNO(rc_policy(self->dev, fd, bad[i].flags,
						     bad[i].shares, bad[i].min,
						     bad[i].max)))
			TH_LOG("%s", bad[i].what);
		/* Nothing changed. */
		RC_STATS(&st);
		EXPECT_EQ(10, st.shares) TH_LOG("after: %s", bad[i].what);
		EXPECT_EQ(5, st.min_pages) TH_LOG("after: %s", bad[i].what);
		EXPECT_EQ(40, st.max_pages) TH_LOG("after: %s", bad[i].what);
	}

	/* Nonzero reserved field. */
	memset(&p, 0, sizeof(p));
	p.argsz = sizeof(p);
	p.flags = PSHARE_POLICY_SHARES;
	p.fd = fd;
	p.shares = 11;
	p.reserved = 1;
	EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY,
					 &p)));
	/* argsz smaller than the struct's first version. */
	p.reserved = 0;
	p.argsz = offsetof(struct pshare_region_policy, max_pages);
	EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY,
					 &p)));
	/* Unknown nonzero trailing bytes. */
	{
		struct {
			struct pshare_region_policy p;
			__u64 extra;
		} big = { .p = p, .extra = 1 };

		big.p.argsz = sizeof(big);
		EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev,
						 PSHARE_IOC_REGION_SET_POLICY,
						 &big)));
		/* Zero trailing bytes are fine. */
		big.extra = 0;
		EXPECT_EQ(0, ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY,
				   &big)) TH_LOG("%s", strerror(errno));
	}
	RC_STATS(&st);
	EXPECT_EQ(11, st.shares);

	/* The bounds themselves are allowed. */
	EXPECT_EQ(0, rc_policy(self->dev, fd, all, RC_SHARES_MAX, 0,
			       RC_PAGES_MAX)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MIN, 0,
			       RC_PAGES_MAX, 0)) TH_LOG("%s", strerror(errno));
	RC_STATS(&st);
	EXPECT_EQ(RC_SHARES_MAX, st.shares);
	EXPECT_EQ(RC_PAGES_MAX, st.min_pages);
	EXPECT_EQ(RC_PAGES_MAX, st.max_pages);
	/* Now the default max (64 pages) would be below min. */
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0,
					     0, PSHARE_POLICY_DEFAULT)));
	EXPECT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MIN |
			       PSHARE_POLICY_MAX, 0, 0, PSHARE_POLICY_DEFAULT));
}

TEST_F(reclaim, policy_fd_errors)
{
	struct pshare_region_stats st;
	int ro, pipefd[2], devnull;
	char dir[PATH_MAX];

	ASSERT_EQ(0, ftruncate(self->r[0].fd, 64 * PS_PAGE));
	ro = open(self->r[0].path, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(EACCES, RC_ERRNO(rc_policy(self->dev, ro, PSHARE_POLICY_SHARES,
					     5, 0, 0)));
	EXPECT_EQ(EACCES, RC_ERRNO(rc_backing(self->dev, ro, -1)));
	/* Reading the stats through it is fine, and shows nothing changed. */
	ASSERT_EQ(0, ps_stats(self->dev, ro, &st));
	EXPECT_EQ(64, st.shares);
	close(ro);

	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(ENODEV, RC_ERRNO(rc_policy(self->dev, pipefd[1],
					     PSHARE_POLICY_SHARES, 5, 0, 0)));
	EXPECT_EQ(ENODEV, RC_ERRNO(rc_backing(self->dev, pipefd[1], -1)));
	close(pipefd[0]);
	close(pipefd[1]);
	devnull = open("/dev/null", O_RDWR);
	ASSERT_LE(0, devnull);
	EXPECT_EQ(ENODEV, RC_ERRNO(rc_policy(self->dev, devnull,
					     PSHARE_POLICY_SHARES, 5, 0, 0)));
	EXPECT_EQ(ENODEV, RC_ERRNO(rc_policy(self->dev, self->dev,
					     PSHARE_POLICY_SHARES, 5, 0, 0)));
	close(devnull);
	/* A pshare directory is not a region. */
	snprintf(dir, sizeof(dir), "%s/reclaim-dir.XXXXXX", ps_mnt());
	ASSERT_NE(NULL, mkdtemp(dir));
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);

		EXPECT_LE(0, dfd);
		if (dfd >= 0) {
			EXPECT_EQ(ENODEV, RC_ERRNO(rc_policy(self->dev, dfd,
							     PSHARE_POLICY_SHARES,
							     5, 0, 0)));
			close(dfd);
		}
	}
	rmdir(dir);
	/* Not open at all. */
	EXPECT_EQ(EBADF, RC_ERRNO(rc_policy(self->dev, 9999,
					    PSHARE_POLICY_SHARES, 5, 0, 0)));
	EXPECT_EQ(EBADF, RC_ERRNO(rc_policy(self->dev, -1,
					    PSHARE_POLICY_SHARES, 5, 0, 0)));
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, 9999, -1)));
	/* A bad pointer. */
	EXPECT_EQ(EFAULT, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY,
					 (void *)8)));
	EXPECT_EQ(EFAULT, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING,
					 (void *)8)));
	RC_STATS(&st);
	EXPECT_EQ(64, st.shares);
}

/* ---------------------------------------------------------------------- */
/* Backing files                                                          */

TEST_F(reclaim, backing_bad_fds)
{
	struct pshare_region_backing b;
	int fd = self->r[0].fd, bfd, pipefd[2], tmp;
	char path[] = "/tmp/pshare-backing-ro.XXXXXX";

	ASSERT_EQ(0, ftruncate(fd, 64 * PS_PAGE));

	tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EISDIR, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);

	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, pipefd[0])));
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, pipefd[1])));
	close(pipefd[0]);
	close(pipefd[1]);

	tmp = open("/dev/null", O_RDWR);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);

	/* A regular file, but open only for reading, or only for writing. */
	tmp = mkstemp(path);
	ASSERT_LE(0, tmp);
	close(tmp);
	tmp = open(path, O_RDONLY);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);
	tmp = open(path, O_WRONLY);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);
	tmp = open(path, O_RDWR | O_APPEND);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);
	unlink(path);

	/* A pshare file (even another region) cannot back a region. */
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, self->r[1].fd)));
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, fd)));

	/* Not open. */
	bfd = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, bfd);
	close(bfd);
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, fd, bfd)));
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, fd, -2)));

	/* Bad argument structs. */
	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	b.fd = fd;
	b.backing_fd = -1;
	b.flags = 1;
	EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING,
					 &b)));
	b.flags = 0;
	b.argsz = offsetof(struct pshare_region_backing, backing_fd);
	EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING,
					 &b)));

	/* A good one, replaced and removed while nothing is out. */
	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	EXPECT_EQ(0, rc_backing(self->dev, fd, self->backing[0]))
		TH_LOG("%s", strerror(errno));
	bfd = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, bfd);
	EXPECT_EQ(0, rc_backing(self->dev, fd, bfd)) TH_LOG("%s", strerror(errno));
	/* One file backs one region: a second region is refused, also by another fd. */
	ASSERT_EQ(0, ftruncate(self->r[1].fd, 64 * PS_PAGE));
	EXPECT_EQ(EBUSY, RC_ERRNO(rc_backing(self->dev, self->r[1].fd, bfd)));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", bfd);
	tmp = open(path, O_RDWR);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EBUSY, RC_ERRNO(rc_backing(self->dev, self->r[1].fd, tmp)));
	close(tmp);
	/* The module keeps its own reference. */
	close(bfd);
	EXPECT_EQ(0, rc_backing(self->dev, fd, -1)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, rc_backing(self->dev, fd, -1)) TH_LOG("%s", strerror(errno));
}

/*
 * Page out with a limit, then: the backing file cannot be replaced or
 * removed while pages are out (EBUSY); the data comes back intact; page n
 * sits at offset n * 4096 of the backing file; once everything is read back
 * the backing file can go.
 */
TEST_F_TIMEOUT(reclaim, backing_busy_and_layout, 600)
{
	const unsigned long pages = 2048;
	struct pshare_region_stats st;
	unsigned char got[PS_PAGE], want[PS_PAGE];
	unsigned long pg, in_file = 0, bad = 0;
	int fd = self->r[0].fd, other;

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	RC_STATS(&st);
	EXPECT_EQ(pages, st.pages_private);
	EXPECT_EQ(0, st.pages_paged);

	RC_KNOB("limit_pages", pages / 4);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, fd, pages_private) <=
				       (long long)pages / 4))
		TH_LOG("pages_private %lld, limit %lu",
		       RC_FIELD(self->dev, fd, pages_private), pages / 4);
	RC_STATS(&st);
	ASSERT_LT(0, st.pages_paged) TH_LOG("nothing was paged out");
	EXPECT_EQ(pages, st.pages_private + st.pages_paged);
	EXPECT_EQ(st.paged_out, st.pages_paged + st.paged_in);
	EXPECT_LE(st.target_pages, pages / 4);
	EXPECT_LE(st.pages_paged, ps_sysfs("pages_paged"));
	EXPECT_LE(st.paged_out, ps_sysfs("paged_out"));

	other = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, other);
	EXPECT_EQ(EBUSY, RC_ERRNO(rc_backing(self->dev, fd, other)));
	EXPECT_EQ(EBUSY, RC_ERRNO(rc_backing(self->dev, fd, -1)));
	close(other);

	/* Page n at offset n * 4096: what was paged out is there. */
	for (pg = 0; pg < pages; pg++) {
		ssize_t n = pread(self->backing[0], got, PS_PAGE, pg * PS_PAGE);

		ASSERT_LE(0, n);
		rc_fill(want, 1000003UL + pg);
		if (n == PS_PAGE && !memcmp(got, want, PS_PAGE))
			in_file++;
		else if (n > 0 && ps_nonzero(got, n) >= 0 && bad++ < 5)
			TH_LOG("backing file offset %lu holds something else",
			       pg * PS_PAGE);
	}
	EXPECT_EQ(0, bad);
	EXPECT_LE(st.pages_paged, in_file);

	/* No limit: reading everything back brings every page in. */
	RC_KNOB("limit_pages", 0);
	rc_check_region(_metadata, self, 0, pages);
	RC_STATS(&st);
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_EQ(pages, st.pages_private);
	EXPECT_EQ(st.paged_out, st.paged_in);
	EXPECT_LT(0, st.paged_in);
	EXPECT_EQ(0, rc_backing(self->dev, fd, -1)) TH_LOG("%s", strerror(errno));
	rc_check_region(_metadata, self, 0, pages);
}

/*
 * A backing file cut short behind pshare's back (here truncated to
 * nothing): the pages that were out in it are lost, and reading one must
 * say so with EIO (SIGBUS through a mapping), never hand back zeros.
 */
TEST_F_TIMEOUT(reclaim, backing_cut_short, 600)
{
	const unsigned long pages = 256;
	unsigned char got[PS_PAGE], want[PS_PAGE];
	unsigned long pg, eio = 0, intact = 0, bad = 0;
	int fd = self->r[0].fd;
	long long paged;

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	RC_KNOB("limit_pages", pages / 4);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, fd, pages_paged) >=
				       (long long)pages / 2));
	/*
	 * Hold what is out there: no more page-outs, no read-back yet. A
	 * round of our own waits for the reclaimer's (one mutex): a page-out
	 * still under way after the cut would write the file long again, and
	 * the pages before it would read back as zeros (a hole), not short.
	 */
	RC_KNOB("limit_pages", 0);
	if (!access(RC_RECLAIM_NOW, W_OK)) {
		ASSERT_EQ(0, ps_write_file(RC_RECLAIM_NOW, "1"));
	} else {
		sleep(5);
	}
	paged = RC_FIELD(self->dev, fd, pages_paged);
	ASSERT_LT(0, paged) TH_LOG("nothing was paged out");
	ASSERT_EQ(0, ftruncate(self->backing[0], 0));

	for (pg = 0; pg < pages; pg++) {
		ssize_t n = pread(fd, got, PS_PAGE, pg * PS_PAGE);

		rc_fill(want, 1000003UL + pg);
		if (n < 0 && errno == EIO)
			eio++;
		else if (n == PS_PAGE && !memcmp(got, want, PS_PAGE))
			intact++;
		else if (bad++ < 5)
			TH_LOG("page %lu: read %zd (%s)%s", pg, n, n < 0 ? strerror(errno) : "-",
			       n == PS_PAGE && ps_nonzero(got, PS_PAGE) < 0 ? ", all zeros" : "");
	}
	EXPECT_EQ(0, bad) TH_LOG("%lu pages neither intact nor EIO", bad);
	EXPECT_EQ((unsigned long)paged, eio);
	EXPECT_EQ(pages - paged, intact);
}

/* A counter of /proc/vmstat, or -1. */
static long long rc_vmstat(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	long long v = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ' ') {
			v = atoll(line + len + 1);
			break;
		}
	fclose(f);
	return v;
}

/*
 * Routine reclaim is not a shortage: a file streamed through the page
 * cache, larger than RAM, keeps kswapd busy while most memory stays
 * available (clean page cache). pshare must neither page out nor lower
 * any balloon target for that; its shrinker offers nothing until the host
 * leaves the high state.
 */
TEST_F_TIMEOUT(reclaim, page_cache_stream_no_paging, 900)
{
	const unsigned long pages = 16384;
	const size_t chunk = 1 << 20;
	struct ps_scratch_fs *fs = &rc_disk;
	struct pshare_region_stats st;
	long long kswapd0, kswapd1, out0;
	__u64 lowest = ~0ULL;
	unsigned long long total;
	char path[128];
	const char *why;
	off_t off, len;
	char *buf;
	ssize_t n;
	int fd;

	total = (unsigned long long)sysconf(_SC_PHYS_PAGES) * PS_PAGE;
	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, self->r[0].fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	why = ps_scratch_fs_make(fs, 16);
	if (why)
		PS_SKIP("%s", why);

	/* A sparse file: reading it fills the page cache without any I/O. */
	snprintf(path, sizeof(path), "%s/stream", fs->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	len = (off_t)(total + total / 2);
	ASSERT_EQ(0, ftruncate(fd, len));

	out0 = ps_sysfs("paged_out");
	kswapd0 = rc_vmstat("pgscan_kswapd");
	/*
	 * read(), not readahead(): readahead(2) reads at most the device's
	 * readahead window (128 KiB) a call, whatever length it is asked.
	 */
	buf = malloc(chunk);
	ASSERT_NE(NULL, buf);
	for (off = 0; off < len; off += n) {
		n = read(fd, buf, chunk);
		ASSERT_LT(0, n) TH_LOG("read at %lld: %s", (long long)off, strerror(errno));
		/* A lowered target is what a balloon agent would inflate to. */
		if (!(off & ((8 << 20) - 1))) {
			RC_STATS(&st);
			if (st.target_pages < lowest)
				lowest = st.target_pages;
		}
	}
	free(buf);
	/* A round or two of the reclaim worker after the stream. */
	sleep(3);
	kswapd1 = rc_vmstat("pgscan_kswapd");
	close(fd);
	ps_scratch_fs_remove(fs);

	RC_STATS(&st);
	TH_LOG("streamed %lld MiB through the page cache: kswapd scanned %lld pages, "
	       "pshare paged out %lld, lowest target %llu of %llu pages",
	       (long long)(len >> 20), kswapd1 - kswapd0,
	       ps_sysfs("paged_out") - out0, (unsigned long long)lowest,
	       (unsigned long long)st.max_pages);
	if (kswapd1 <= kswapd0)
		PS_SKIP("the stream never woke kswapd (nothing to check)");
	EXPECT_EQ(st.max_pages, lowest) TH_LOG("the stream lowered the region's target");
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_EQ(out0, ps_sysfs("paged_out"));
	EXPECT_EQ(pages, st.pages_private);
	rc_check_region(_metadata, self, 0, pages);
}

/*
 * mlock() (QEMU's mem-lock=on) keeps a region's pages resident: under a
 * limit that pages out an unlocked region beside it, the locked one keeps
 * every page until it is unlocked.
 */
TEST_F_TIMEOUT(reclaim, mlocked_never_paged, 600)
{
	const unsigned long pages = 1024;
	long long locked_paged, other_paged;
	unsigned char *m;
	int i;

	for (i = 0; i < 2; i++) {
		self->backing[i] = rc_tmpfile(_metadata, 0);
		ASSERT_LE(0, self->backing[i]);
		ASSERT_EQ(0, rc_backing(self->dev, self->r[i].fd, self->backing[i]));
		rc_fill_region(_metadata, self, i, pages);
	}
	m = mmap(NULL, pages * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->r[0].fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, mlock(m, pages * PS_PAGE)) TH_LOG("mlock: %s", strerror(errno));

	RC_KNOB("limit_pages", pages / 2);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, self->r[1].fd, pages_paged) >=
				       (long long)pages / 2))
		TH_LOG("the unlocked region was not paged out: no pressure to test with");
	sleep(2);	/* more rounds, with the locked region still over its target */
	locked_paged = RC_FIELD(self->dev, self->r[0].fd, pages_paged);
	other_paged = RC_FIELD(self->dev, self->r[1].fd, pages_paged);
	TH_LOG("under limit_pages=%lu: locked region %lld pages out, unlocked %lld",
	       pages / 2, locked_paged, other_paged);
	EXPECT_EQ(0, locked_paged);

	/* Unlocked, it is a candidate like any other. */
	ASSERT_EQ(0, munlock(m, pages * PS_PAGE));
	RC_KNOB("limit_pages", pages / 4);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, self->r[0].fd, pages_paged) > 0))
		TH_LOG("the region was not paged out once unlocked");
	RC_KNOB("limit_pages", 0);
	munmap(m, pages * PS_PAGE);
	rc_check_region(_metadata, self, 0, pages);
	rc_check_region(_metadata, self, 1, pages);
}


/* Page the one-page region @fd out now: max 0, one reclaim round, max back. */
static void rc_page_out_now(struct __test_metadata *_metadata,
			    FIXTURE_DATA(reclaim) *self, int fd)
{
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0, 0));
	ASSERT_EQ(0, ps_write_file(RC_RECLAIM_NOW, "1"));
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0, PSHARE_POLICY_DEFAULT));
	ASSERT_EQ(1, RC_FIELD(self->dev, fd, pages_paged));
}

struct rc_slow_reader {
	pthread_t tid;
	int fd;
	unsigned char buf[PS_PAGE];
	ssize_t n;
};

static void *rc_slow_reader_main(void *arg)
{
	struct rc_slow_reader *t = arg;

	t->n = pread(t->fd, t->buf, PS_PAGE, 0);
	return NULL;
}

/*
 * A page-in that started before the backing file was switched must not
 * read the page from the old file once the page is out in the new one. A
 * one-shot delay (debugfs pagein_delay_ms) holds the slow reader inside its
 * page-in while the page is read back, rewritten, the backing file
 * switched and the page written out to the new file.
 */
TEST_F_TIMEOUT(reclaim, page_in_across_backing_switch, 120)
{
	unsigned char v2[PS_PAGE], got[PS_PAGE];
	struct rc_slow_reader t;
	int fd = self->r[0].fd, b;

	if (access(RC_PAGEIN_DELAY, W_OK) || access(RC_RECLAIM_NOW, W_OK))
		PS_SKIP("no " RC_PAGEIN_DELAY " (debugfs not mounted, or an older module)");
	self->backing[0] = rc_tmpfile(_metadata, 0);	/* file A */
	b = rc_tmpfile(_metadata, 0);			/* file B */
	ASSERT_LE(0, self->backing[0]);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, 1);		/* v1 */
	rc_page_out_now(_metadata, self, fd);		/* v1 in A */

	ASSERT_EQ(0, ps_write_file(RC_PAGEIN_DELAY, "1500"));
	memset(&t, 0, sizeof(t));
	t.fd = fd;
	ASSERT_EQ(0, pthread_create(&t.tid, NULL, rc_slow_reader_main, &t));
	/* The reader took the delay once it reads 0 again. */
	ASSERT_TRUE(RC_WAIT(10, ps_read_number(RC_PAGEIN_DELAY) == 0));

	rc_fill(v2, 77);
	ASSERT_EQ((ssize_t)PS_PAGE, pwrite(fd, v2, PS_PAGE, 0));	/* in, then v2 */
	ASSERT_EQ(0, RC_FIELD(self->dev, fd, pages_paged));
	ASSERT_EQ(0, rc_backing(self->dev, fd, b)) TH_LOG("switch to B: %s", strerror(errno));
	rc_page_out_now(_metadata, self, fd);		/* v2 in B */

	pthread_join(t.tid, NULL);
	ASSERT_EQ((ssize_t)PS_PAGE, t.n) TH_LOG("the slow read: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(t.buf, v2, PS_PAGE))
		TH_LOG("the slow page-in returned the page from the old backing file");
	ASSERT_EQ((ssize_t)PS_PAGE, pread(fd, got, PS_PAGE, 0));
	EXPECT_EQ(0, memcmp(got, v2, PS_PAGE)) TH_LOG("the region holds the old content");
	close(b);
}

/* Touches one page, then says it is done. */
struct rc_slow_toucher {
	pthread_t tid;
	const unsigned char *p;
	unsigned char got;
	atomic_int done;
};

static void *rc_slow_toucher_main(void *arg)
{
	struct rc_slow_toucher *t = arg;

	t->got = ps_touch(t->p);
	atomic_store(&t->done, 1);
	return NULL;
}

/*
 * A fault that pages in waits for the backing file with neither mmap_lock
 * nor the region's invalidate_lock held, as filemap_fault() waits for a
 * read: while a toucher is held up in its page-in (debugfs
 * pagein_delay_ms, a slow disk), its process can still map and unmap
 * memory, and the page being read in can be punched out, after which the
 * toucher sees the hole.
 */
TEST_F_TIMEOUT(reclaim, page_in_leaves_mmap_lock, 120)
{
	struct rc_slow_toucher t;
	int fd = self->r[0].fd;
	unsigned char *map;
	long long in0;
	void *anon;

	if (access(RC_PAGEIN_DELAY, W_OK) || access(RC_RECLAIM_NOW, W_OK))
		PS_SKIP("no " RC_PAGEIN_DELAY " (debugfs not mounted, or an older module)");
	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, 1);
	rc_page_out_now(_metadata, self, fd);
	map = mmap(NULL, PS_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);

	/* Long enough that nothing below can outlast it by chance. */
	ASSERT_EQ(0, ps_write_file(RC_PAGEIN_DELAY, "8000"));
	memset(&t, 0, sizeof(t));
	t.p = map;
	ASSERT_EQ(0, pthread_create(&t.tid, NULL, rc_slow_toucher_main, &t));
	ASSERT_TRUE(RC_WAIT(10, ps_read_number(RC_PAGEIN_DELAY) == 0));

	/*
	 * mmap() and munmap() take mmap_lock for writing: had the page-in
	 * held it, they would return only once the page was in.
	 */
	in0 = RC_FIELD(self->dev, fd, paged_in);
	anon = mmap(NULL, PS_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	ASSERT_EQ(0, munmap(anon, PS_PAGE));
	EXPECT_EQ(1, RC_FIELD(self->dev, fd, pages_paged))
		TH_LOG("mmap waited for the page-in: mmap_lock held across the read");
	/* A punch takes invalidate_lock exclusive: the same. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PS_PAGE));
	EXPECT_EQ(in0, RC_FIELD(self->dev, fd, paged_in))
		TH_LOG("the punch waited for the page-in: invalidate_lock held across the read");
	EXPECT_EQ(0, atomic_load(&t.done));
	pthread_join(t.tid, NULL);
	/* The page-in found its entry punched, and the fault the hole. */
	EXPECT_EQ(0, t.got) TH_LOG("the toucher read the punched page's old content");
	EXPECT_EQ(in0, RC_FIELD(self->dev, fd, paged_in));
	EXPECT_EQ(0, RC_FIELD(self->dev, fd, pages_paged));
	munmap(map, PS_PAGE);
}

/* ---------------------------------------------------------------------- */
/* Targets, min and max                                                   */

/* Reads random pages of a mapping until told to stop: page-ins. */
struct rc_reader {
	pthread_t tid;
	const unsigned char *map;
	unsigned long pages;
	atomic_int stop;
	unsigned long reads;
};

static void *rc_reader_main(void *arg)
{
	struct rc_reader *rd = arg;
	uint64_t x = 88172645463325252ULL;

	while (!atomic_load(&rd->stop)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ps_touch(rd->map + (x % rd->pages) * PS_PAGE);
		rd->reads++;
	}
	return NULL;
}

/*
 * A region with min M and a backing file, a limit far below: pages_private
 * never drops below M, also while a reader keeps paging pages back in.
 */
TEST_F_TIMEOUT(reclaim, min_never_violated, 600)
{
	const unsigned long pages = 2048, min = 1536;
	struct rc_reader rd = { 0 };
	struct pshare_region_stats st;
	long long p, lowest = LLONG_MAX;
	int fd = self->r[0].fd;
	unsigned char *map;
	double end;

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MIN, 0, min, 0));

	RC_KNOB("limit_pages", 64);
	/* Paging starts within a reclaim round or two; watch it closely. */
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, fd, pages_paged) > 0));
	end = rc_now() + 5;
	while (rc_now() < end) {
		p = RC_FIELD(self->dev, fd, pages_private);
		if (p < lowest)
			lowest = p;
		usleep(1000);
	}
	RC_STATS(&st);
	EXPECT_EQ(min, st.target_pages);
	EXPECT_EQ(min, st.pages_private);
	EXPECT_EQ(pages - min, st.pages_paged);

	/* Now with a reader bringing pages back in under the reclaimer. */
	map = mmap(NULL, pages * PS_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	rd.map = map;
	rd.pages = pages;
	ASSERT_EQ(0, pthread_create(&rd.tid, NULL, rc_reader_main, &rd));
	end = rc_now() + 8;
	while (rc_now() < end) {
		p = RC_FIELD(self->dev, fd, pages_private);
		if (p < lowest)
			lowest = p;
		usleep(1000);
	}
	atomic_store(&rd.stop, 1);
	pthread_join(rd.tid, NULL);
	RC_STATS(&st);
	TH_LOG("reader: %lu reads, paged_in %llu, paged_out %llu", rd.reads,
	       (unsigned long long)st.paged_in,
	       (unsigned long long)st.paged_out);
	EXPECT_LT(0, st.paged_in) TH_LOG("the reader brought nothing back");
	EXPECT_GE(lowest, (long long)min)
		TH_LOG("pages_private fell to %lld, min %lu", lowest, min);
	munmap(map, pages * PS_PAGE);
	RC_KNOB("limit_pages", 0);
	rc_check_region(_metadata, self, 0, pages);
}

/* A region over its max is paged down to it, without any limit. */
TEST_F_TIMEOUT(reclaim, over_max_trimmed, 600)
{
	const unsigned long pages = 2048, max = 512;
	struct pshare_region_stats st;
	int fd = self->r[0].fd;

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	RC_STATS(&st);
	EXPECT_EQ(pages, st.target_pages);

	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0, max));
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, fd, pages_private) <=
				       (long long)max));
	RC_STATS(&st);
	EXPECT_EQ(max, st.pages_private);
	EXPECT_EQ(max, st.target_pages);
	EXPECT_EQ(pages - max, st.pages_paged);
	EXPECT_EQ(0, ps_sysfs("limit_pages"));

	/* A bigger max: nothing is paged out any more, reads bring it back. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0,
			       PSHARE_POLICY_DEFAULT));
	rc_check_region(_metadata, self, 0, pages);
	RC_STATS(&st);
	EXPECT_EQ(pages, st.pages_private);
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd, target_pages) ==
			    (long long)pages));
}

/*
 * Without a backing file nothing can be paged: a region over its max, or
 * over the limit, only gets a lower target (its balloon target).
 */
TEST_F_TIMEOUT(reclaim, targets_without_backing, 600)
{
	const unsigned long pages = 1024;
	struct pshare_region_stats s0, s1;
	int fd0 = self->r[0].fd, fd1 = self->r[1].fd;

	rc_fill_region(_metadata, self, 0, pages);
	rc_fill_region(_metadata, self, 1, pages);

	/* Over max: the target is the max, the pages stay. */
	ASSERT_EQ(0, rc_policy(self->dev, fd0, PSHARE_POLICY_MAX, 0, 0, 300));
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) == 300));
	PS_STATS(self->dev, fd0, &s0);
	EXPECT_EQ(pages, s0.pages_private);
	EXPECT_EQ(0, s0.pages_paged);
	ASSERT_EQ(0, rc_policy(self->dev, fd0, PSHARE_POLICY_MAX, 0, 0,
			       PSHARE_POLICY_DEFAULT));
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) ==
			    (long long)pages));

	/*
	 * Equal shares, no idle tax, limit at half: each should get about
	 * half. Region 0 with a min of 700 keeps that much; region 1 gives
	 * the rest.
	 */
	RC_KNOB("idle_tax_percent", 0);
	RC_KNOB("limit_pages", pages);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) < (long long)pages &&
			    RC_FIELD(self->dev, fd1, target_pages) < (long long)pages));
	PS_STATS(self->dev, fd0, &s0);
	PS_STATS(self->dev, fd1, &s1);
	TH_LOG("limit %lu: targets %llu and %llu", pages,
	       (unsigned long long)s0.target_pages,
	       (unsigned long long)s1.target_pages);
	EXPECT_EQ(pages, s0.target_pages + s1.target_pages);
	EXPECT_GE(s0.target_pages, pages / 2 - 8);
	EXPECT_LE(s0.target_pages, pages / 2 + 8);
	EXPECT_EQ(pages, s0.pages_private);
	EXPECT_EQ(pages, s1.pages_private);

	ASSERT_EQ(0, rc_policy(self->dev, fd0, PSHARE_POLICY_MIN, 0, 700, 0));
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) == 700));
	PS_STATS(self->dev, fd1, &s1);
	EXPECT_EQ(pages - 700, s1.target_pages);

	/* Pressure gone: targets back to the max. */
	RC_KNOB("limit_pages", 0);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) == (long long)pages &&
			    RC_FIELD(self->dev, fd1, target_pages) == (long long)pages));
}

/* ---------------------------------------------------------------------- */
/* Paging integrity stress                                                */

#define ST_PAGES	16384UL		/* 64 MiB */
#define ST_LIMIT	3072UL		/* 12 MiB */
#define ST_THREADS	4

struct st_shared {
	int fd;
	unsigned char *map;
	unsigned char *shadow;
	atomic_int stop;
	atomic_int failed;
};

struct st_worker {
	pthread_t tid;
	int id;
	struct st_shared *s;
	uint64_t rnd;
	unsigned long ops[5];
	char why[512];
};

static uint64_t st_rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dULL;
}

static void st_fail(struct st_worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void st_fail(struct st_worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
	atomic_store(&w->s->failed, 1);
	atomic_store(&w->s->stop, 1);
}

static bool st_verify(struct st_worker *w, unsigned long pg, bool by_pread,
		      const char *when)
{
	struct st_shared *s = w->s;
	const unsigned char *want = s->shadow + pg * PS_PAGE;
	unsigned char buf[PS_PAGE];
	const unsigned char *got = s->map + pg * PS_PAGE;
	size_t d;

	if (by_pread) {
		ssize_t n = pread(s->fd, buf, PS_PAGE, pg * PS_PAGE);

		if (n != PS_PAGE) {
			st_fail(w, "%s: pread page %lu: %zd (%s)", when, pg, n,
				strerror(errno));
			return false;
		}
		got = buf;
	}
	if (!memcmp(got, want, PS_PAGE))
		return true;
	for (d = 0; d < PS_PAGE && got[d] == want[d]; d++)
		;
	st_fail(w, "%s: page %lu by %s: byte %zu is %#x, expected %#x", when,
		pg, by_pread ? "pread" : "the mapping", d,
		d < PS_PAGE ? got[d] : 0, d < PS_PAGE ? want[d] : 0);
	return false;
}

/* Worker @id owns the pages pg with pg % ST_THREADS == id. */
static void *st_worker_main(void *arg)
{
	struct st_worker *w = arg;
	struct st_shared *s = w->s;
	unsigned char buf[PS_PAGE];

	while (!atomic_load(&s->stop)) {
		uint64_t r = st_rnd(&w->rnd);
		unsigned long pg = (r >> 8) % (ST_PAGES / ST_THREADS) *
				   ST_THREADS + w->id;
		unsigned char *shadow = s->shadow + pg * PS_PAGE;
		unsigned int op = r % 10;

		if (op < 2) {
			/* A new page through the mapping (fault or page-in). */
			rc_fill(shadow, st_rnd(&w->rnd));
			memcpy(s->map + pg * PS_PAGE, shadow, PS_PAGE);
			w->ops[0]++;
		} else if (op < 4) {
			rc_fill(buf, st_rnd(&w->rnd));
			if (pwrite(s->fd, buf, PS_PAGE, pg * PS_PAGE) != PS_PAGE) {
				st_fail(w, "pwrite page %lu: %s", pg,
					strerror(errno));
				break;
			}
			memcpy(shadow, buf, PS_PAGE);
			w->ops[1]++;
		} else if (op < 5) {
			/* A few bytes of a page that may be out. */
			size_t off = st_rnd(&w->rnd) % (PS_PAGE - 8);

			shadow[off] ^= 0x5a;
			shadow[off + 7] += 3;
			s->map[pg * PS_PAGE + off] = shadow[off];
			s->map[pg * PS_PAGE + off + 7] = shadow[off + 7];
			w->ops[2]++;
		} else if (op < 8) {
			if (!st_verify(w, pg, false, "while running"))
				break;
			w->ops[3]++;
		} else {
			if (!st_verify(w, pg, true, "while running"))
				break;
			w->ops[4]++;
		}
	}
	return NULL;
}

static int rc_reclaim_seconds(void)
{
	const char *e = getenv("PSHARE_RECLAIM_SECONDS");
	int sec = e && *e ? atoi(e) : RC_RECLAIM_SECONDS_DEFAULT;

	if (sec < 1)
		sec = 1;
	return sec > RC_RECLAIM_SECONDS_MAX ? RC_RECLAIM_SECONDS_MAX : sec;
}

/*
 * A 64 MiB region paged against a 12 MiB limit while four threads write
 * random data (through the mapping, with pwrite, a few bytes at a time) and
 * verify it against shadow copies (through the mapping and with pread).
 * The sampler runs every second meanwhile, so sampled unmaps, page-outs and
 * page-ins all race with the writers. No page may ever differ from its
 * shadow, and pages must have gone out and come back in. Every page has
 * content, so the stats ioctl, one snapshot of the page counts, must find
 * each of them private or paged, never one in both or in neither.
 */
TEST_F_TIMEOUT(reclaim, paging_stress, RC_RECLAIM_SECONDS_MAX + 900)
{
	struct st_worker w[ST_THREADS];
	struct st_shared s = { .fd = self->r[0].fd };
	struct pshare_region_stats st;
	int sec = rc_reclaim_seconds(), i, tries;
	unsigned long pg, op_total[5] = { 0 }, snapshots = 0, torn = 0;
	char first_torn[128] = "";
	long long max_paged = 0;
	uint64_t seed;
	double end;

	seed = (uint64_t)time(NULL) * 2654435761u ^ getpid();
	TH_LOG("%d s, %d threads, %lu pages, limit %lu, seed %#llx", sec,
	       ST_THREADS, ST_PAGES, ST_LIMIT, (unsigned long long)seed);

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, s.fd, self->backing[0]));
	ASSERT_EQ(0, ftruncate(s.fd, ST_PAGES * PS_PAGE));
	s.map = mmap(NULL, ST_PAGES * PS_PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED, s.fd, 0);
	ASSERT_NE(MAP_FAILED, s.map);
	s.shadow = malloc(ST_PAGES * PS_PAGE);
	ASSERT_NE(NULL, s.shadow);
	/* Every page gets content first, so the whole region is in play. */
	for (pg = 0; pg < ST_PAGES; pg++) {
		rc_fill(s.shadow + pg * PS_PAGE, seed + pg);
		memcpy(s.map + pg * PS_PAGE, s.shadow + pg * PS_PAGE, PS_PAGE);
	}
	RC_KNOB("sample_period_secs", 1);
	RC_KNOB("sample_pages", 1024);
	RC_KNOB("limit_pages", ST_LIMIT);

	memset(w, 0, sizeof(w));
	for (i = 0; i < ST_THREADS; i++) {
		w[i].id = i;
		w[i].s = &s;
		w[i].rnd = seed + 0x9e3779b97f4a7c15ULL * (i + 1);
		ASSERT_EQ(0, pthread_create(&w[i].tid, NULL, st_worker_main,
					    &w[i]));
	}
	end = rc_now() + sec;
	while (rc_now() < end && !atomic_load(&s.failed)) {
		PS_STATS(self->dev, s.fd, &st);
		snapshots++;
		if (ps_pages_counted(&st) != ST_PAGES && !torn++)
			snprintf(first_torn, sizeof(first_torn),
				 "private %llu + paged %llu + zero %llu + shared %llu",
				 (unsigned long long)st.pages_private,
				 (unsigned long long)st.pages_paged,
				 (unsigned long long)st.pages_zero,
				 (unsigned long long)st.pages_shared);
		if ((long long)st.pages_paged > max_paged)
			max_paged = st.pages_paged;
		usleep(2 * 1000);
	}
	/* What paged while the writers ran: the part that races. */
	PS_STATS(self->dev, s.fd, &st);
	atomic_store(&s.stop, 1);
	for (i = 0; i < ST_THREADS; i++) {
		pthread_join(w[i].tid, NULL);
		EXPECT_EQ(0, w[i].why[0]) TH_LOG("worker %d: %s", i, w[i].why);
	}
	TH_LOG("while running: paged_out %llu, paged_in %llu, pages_paged at most %lld",
	       (unsigned long long)st.paged_out,
	       (unsigned long long)st.paged_in, max_paged);
	TH_LOG("%lu snapshots of the page counts, %lu not adding up to %lu",
	       snapshots, torn, ST_PAGES);
	EXPECT_EQ(0, torn) TH_LOG("first: %s", first_torn);
	EXPECT_LT(0, st.paged_out) TH_LOG("nothing was paged out while the writers ran: the test did not exercise paging");
	EXPECT_LT(0, st.paged_in) TH_LOG("nothing was paged in while the writers ran: the test did not exercise paging");

	/* Everything, still under the limit: pages come in and go out. */
	for (i = 0; i < ST_THREADS && !atomic_load(&s.failed); i++)
		for (pg = i; pg < ST_PAGES; pg += ST_THREADS)
			if (!st_verify(&w[i], pg, pg & 1, "at the end") ||
			    !st_verify(&w[i], pg, !(pg & 1), "at the end"))
				break;
	for (i = 0; i < ST_THREADS; i++)
		EXPECT_EQ(0, w[i].why[0]) TH_LOG("worker %d: %s", i, w[i].why);

	for (i = 0; i < ST_THREADS; i++) {
		unsigned int k;

		for (k = 0; k < 5; k++)
			op_total[k] += w[i].ops[k];
	}
	TH_LOG("ops: store %lu, pwrite %lu, poke %lu, verify-map %lu, verify-pread %lu",
	       op_total[0], op_total[1], op_total[2], op_total[3], op_total[4]);

	/*
	 * Without the limit, everything comes back intact. A reclaim round
	 * that read the old limit may still be paging out: read everything
	 * again until nothing is out.
	 */
	RC_KNOB("limit_pages", 0);
	for (tries = 0; tries < 20 && !atomic_load(&s.failed); tries++) {
		for (i = 0; i < ST_THREADS && !atomic_load(&s.failed); i++)
			for (pg = i; pg < ST_PAGES; pg += ST_THREADS)
				if (!st_verify(&w[i], pg, true,
					       "after the limit"))
					break;
		if (!RC_FIELD(self->dev, s.fd, pages_paged))
			break;
		sleep(1);
	}
	for (i = 0; i < ST_THREADS; i++)
		EXPECT_EQ(0, w[i].why[0]) TH_LOG("worker %d: %s", i, w[i].why);
	PS_STATS(self->dev, s.fd, &st);
	TH_LOG("in all: paged_out %llu, paged_in %llu, pages_paged %llu, private %llu",
	       (unsigned long long)st.paged_out, (unsigned long long)st.paged_in,
	       (unsigned long long)st.pages_paged,
	       (unsigned long long)st.pages_private);
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_EQ(st.paged_out, st.paged_in);
	EXPECT_EQ(ST_PAGES, st.pages_private);
	munmap(s.map, ST_PAGES * PS_PAGE);
	free(s.shadow);
}

/* ---------------------------------------------------------------------- */
/* Page-in racing page-out                                                */

#define PR_PAGES	32UL
#define PR_READERS	2
#define PR_RECLAIM_NOW	"/sys/kernel/debug/pshare/reclaim_now"

struct pr_shared {
	int fd;
	atomic_int stop;
	atomic_ulong reads;
	atomic_ulong rounds;
	atomic_int pager_err;
};

/* Page the region out, round after round, beside the writer. */
static void *pr_pager_main(void *arg)
{
	struct pr_shared *s = arg;

	while (!atomic_load(&s->stop)) {
		if (ps_write_file(PR_RECLAIM_NOW, "1")) {
			atomic_store(&s->pager_err, errno);
			break;
		}
		atomic_fetch_add(&s->rounds, 1);
	}
	return NULL;
}

/* Read pages of the region, so page-ins run in several tasks at once. */
static void *pr_reader_main(void *arg)
{
	struct pr_shared *s = arg;
	unsigned char buf[PS_PAGE];
	unsigned long pg = 0;

	while (!atomic_load(&s->stop)) {
		if (pread(s->fd, buf, PS_PAGE, (pg++ % PR_PAGES) * PS_PAGE) ==
		    (ssize_t)PS_PAGE)
			atomic_fetch_add(&s->reads, 1);
	}
	return NULL;
}

/*
 * Two readers page a small region in over and over, this task gives each
 * page a new generation of content (its write pages the page in first) or
 * every third time punches it, and a pager thread pages everything out as
 * fast as it can. A page-in that read the backing file, then lost the CPU
 * while the page came in by another task, was rewritten and paged out
 * again, must not install the old copy it read; a punch racing a page-out
 * must not leave the page paged out. Before each write the writer checks
 * that the page holds what it last wrote (zeros after a punch).
 */
TEST_F_TIMEOUT(reclaim, page_in_races_page_out, 600)
{
	struct pr_shared s = { .fd = self->r[0].fd };
	unsigned char want[PS_PAGE], got[PS_PAGE];
	unsigned long gen[PR_PAGES] = { 0 }, writes = 0, punches = 0, pg;
	bool punched[PR_PAGES] = { false };
	pthread_t readers[PR_READERS], pager;
	struct pshare_region_stats st;
	int sec = rc_reclaim_seconds(), i;
	char stale[160] = "";
	double end;

	if (access(PR_RECLAIM_NOW, W_OK))
		PS_SKIP("no " PR_RECLAIM_NOW " (debugfs not mounted, or an older module)");
	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, s.fd, self->backing[0]));
	ASSERT_EQ(0, ftruncate(s.fd, PR_PAGES * PS_PAGE));
	for (pg = 0; pg < PR_PAGES; pg++) {
		rc_fill(want, pg << 32);
		ASSERT_EQ((ssize_t)PS_PAGE, pwrite(s.fd, want, PS_PAGE, pg * PS_PAGE));
	}
	RC_KNOB("limit_pages", 1);
	for (i = 0; i < PR_READERS; i++)
		ASSERT_EQ(0, pthread_create(&readers[i], NULL, pr_reader_main, &s));
	ASSERT_EQ(0, pthread_create(&pager, NULL, pr_pager_main, &s));

	end = rc_now() + sec;
	for (pg = 0; rc_now() < end && !stale[0]; pg = (pg + 1) % PR_PAGES) {
		ASSERT_EQ((ssize_t)PS_PAGE, pread(s.fd, got, PS_PAGE, pg * PS_PAGE));
		if (punched[pg])
			memset(want, 0, PS_PAGE);
		else
			rc_fill(want, pg << 32 | gen[pg]);
		if (memcmp(got, want, PS_PAGE)) {
			for (i = 0; i <= (int)gen[pg]; i++) {
				rc_fill(want, pg << 32 | i);
				if (!memcmp(got, want, PS_PAGE))
					break;
			}
			snprintf(stale, sizeof(stale),
				 "page %lu holds generation %d, not %lu%s (-1: none)",
				 pg, i <= (int)gen[pg] ? i : -1, gen[pg],
				 punched[pg] ? " punched" : "");
			break;
		}
		punched[pg] = !punched[pg] && gen[pg] % 3 == 2;
		if (punched[pg]) {
			ASSERT_EQ(0, fallocate(s.fd, FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE,
					       pg * PS_PAGE, PS_PAGE));
			punches++;
			continue;
		}
		rc_fill(want, pg << 32 | ++gen[pg]);
		ASSERT_EQ((ssize_t)PS_PAGE, pwrite(s.fd, want, PS_PAGE, pg * PS_PAGE));
		writes++;
	}
	atomic_store(&s.stop, 1);
	pthread_join(pager, NULL);
	for (i = 0; i < PR_READERS; i++)
		pthread_join(readers[i], NULL);
	RC_KNOB("limit_pages", 0);
	PS_STATS(self->dev, s.fd, &st);
	TH_LOG("%lu writes, %lu punches, %lu reclaim rounds, %lu reads by the readers; paged out %llu, in %llu",
	       writes, punches, (unsigned long)atomic_load(&s.rounds),
	       (unsigned long)atomic_load(&s.reads),
	       (unsigned long long)st.paged_out, (unsigned long long)st.paged_in);
	EXPECT_EQ(0, atomic_load(&s.pager_err))
		TH_LOG("reclaim_now: %s", strerror(atomic_load(&s.pager_err)));
	EXPECT_EQ(0, stale[0]) TH_LOG("stale page: %s", stale);
	EXPECT_LT(0, st.paged_out);
	EXPECT_LT(0, st.paged_in);
}

/* ---------------------------------------------------------------------- */
/* Sampling                                                               */

struct rc_toucher {
	pthread_t tid;
	const unsigned char *map;
	unsigned long pages;
	atomic_int stop;
	unsigned long sweeps;
};

/* Touch every page of the mapping, over and over. */
static void *rc_toucher_main(void *arg)
{
	struct rc_toucher *t = arg;
	unsigned long pg;

	while (!atomic_load(&t->stop)) {
		for (pg = 0; pg < t->pages; pg++)
			ps_touch(t->map + pg * PS_PAGE);
		t->sweeps++;
	}
	return NULL;
}

/*
 * sample_period_secs=1: both regions start at 1000 and, left idle, their
 * estimates fall below 500. Then a thread touches all of region 1's pages
 * continuously: its estimate rises to >= 800 and stays there, while the
 * idle region 0 stays low.
 */
TEST_F_TIMEOUT(reclaim, sampling, 600)
{
	const unsigned long pages = 2048;
	struct rc_toucher t = { 0 };
	struct pshare_region_stats s0, s1;
	int fd0 = self->r[0].fd, fd1 = self->r[1].fd;
	long long low1 = LLONG_MAX, high0 = 0, v;
	unsigned char *map;
	double end;

	rc_fill_region(_metadata, self, 0, pages);
	rc_fill_region(_metadata, self, 1, pages);
	PS_STATS(self->dev, fd0, &s0);
	EXPECT_EQ(1000, s0.active_fast);
	EXPECT_EQ(1000, s0.active_slow);
	EXPECT_EQ(1000, s0.active_permille);

	RC_KNOB("sample_pages", 100);
	RC_KNOB("sample_period_secs", 1);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, active_permille) < 500 &&
			    RC_FIELD(self->dev, fd1, active_permille) < 500))
		TH_LOG("idle regions still at %lld and %lld",
		       RC_FIELD(self->dev, fd0, active_permille),
		       RC_FIELD(self->dev, fd1, active_permille));

	map = mmap(NULL, pages * PS_PAGE, PROT_READ, MAP_SHARED, fd1, 0);
	ASSERT_NE(MAP_FAILED, map);
	t.map = map;
	t.pages = pages;
	ASSERT_EQ(0, pthread_create(&t.tid, NULL, rc_toucher_main, &t));

	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd1, active_fast) >= 800))
		TH_LOG("busy region at fast %lld", RC_FIELD(self->dev, fd1,
							    active_fast));
	/* A few more periods: the busy one stays high, the idle one low. */
	end = rc_now() + 4;
	while (rc_now() < end) {
		v = RC_FIELD(self->dev, fd1, active_permille);
		if (v < low1)
			low1 = v;
		v = RC_FIELD(self->dev, fd0, active_permille);
		if (v > high0)
			high0 = v;
		usleep(20 * 1000);
	}
	atomic_store(&t.stop, 1);
	pthread_join(t.tid, NULL);
	PS_STATS(self->dev, fd0, &s0);
	PS_STATS(self->dev, fd1, &s1);
	TH_LOG("idle: fast %llu slow %llu current %llu; busy: fast %llu slow %llu current %llu (%lu sweeps)",
	       (unsigned long long)s0.active_fast,
	       (unsigned long long)s0.active_slow,
	       (unsigned long long)s0.active_current,
	       (unsigned long long)s1.active_fast,
	       (unsigned long long)s1.active_slow,
	       (unsigned long long)s1.active_current, t.sweeps);
	EXPECT_GE(low1, 800);
	EXPECT_LT(high0, 500);
	/* The estimate is the largest of the three. */
	EXPECT_GE(s1.active_permille, s1.active_fast);
	EXPECT_GE(s1.active_permille, s1.active_slow);
	munmap(map, pages * PS_PAGE);
}

/* ---------------------------------------------------------------------- */
/* Knobs                                                                  */

static int rc_knob_errno(const char *name, const char *val)
{
	return rc_knob_set(name, val) ? errno : 0;
}

TEST_F(reclaim, knobs)
{
	static const struct {
		const char *name, *val;
		int err;	/* 0: accepted */
	} cases[] = {
		{ "idle_tax_percent", "100", EINVAL },
		{ "idle_tax_percent", "-1", EINVAL },
		{ "idle_tax_percent", "abc", EINVAL },
		{ "idle_tax_percent", "0", 0 },
		{ "idle_tax_percent", "99", 0 },
		{ "sample_period_secs", "0", EINVAL },
		{ "sample_period_secs", "3601", EINVAL },
		{ "sample_period_secs", "1", 0 },
		{ "sample_period_secs", "3600", 0 },
		{ "sample_pages", "0", EINVAL },
		{ "sample_pages", "4097", EINVAL },
		{ "sample_pages", "1", 0 },
		{ "sample_pages", "4096", 0 },
		{ "limit_pages", "-1", EINVAL },
		{ "limit_pages", "x", EINVAL },
		{ "limit_pages", "0", 0 },
		{ "limit_pages", "1", 0 },
		{ "limit_pages", "0", 0 },
	};
	static const char *const ro[] = {
		"memory_state", "pages_paged", "paged_out", "paged_in",
	};
	unsigned long long total, max_limit;
	char buf[64], path[256];
	unsigned int i;
	FILE *f;
	int fd;
	ssize_t n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long before = ps_sysfs(cases[i].name);

		EXPECT_EQ(cases[i].err, rc_knob_errno(cases[i].name,
						      cases[i].val))
			TH_LOG("%s <- %s", cases[i].name, cases[i].val);
		if (cases[i].err) {
			EXPECT_EQ(before, ps_sysfs(cases[i].name))
				TH_LOG("%s changed by a refused write",
				       cases[i].name);
		} else {
			EXPECT_EQ(atoll(cases[i].val), ps_sysfs(cases[i].name));
		}
	}

	/* limit_pages: at most 64 times RAM (MemTotal is totalram_pages). */
	f = fopen("/proc/meminfo", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "MemTotal: %llu kB", &total));
	fclose(f);
	max_limit = total / (PS_PAGE / 1024) * 64;
	EXPECT_EQ(0, rc_knob_set_ull("limit_pages", max_limit))
		TH_LOG("limit_pages %llu (64 x RAM): %s", max_limit,
		       strerror(errno));
	EXPECT_EQ((long long)max_limit, ps_sysfs("limit_pages"));
	EXPECT_EQ(EINVAL, rc_knob_set_ull("limit_pages", max_limit + 1) ? errno : 0);
	EXPECT_EQ((long long)max_limit, ps_sysfs("limit_pages"));
	RC_KNOB("limit_pages", 0);

	/* Read-only files: readable, writes refused. */
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		snprintf(path, sizeof(path), PS_SYSFS "/%s", ro[i]);
		fd = open(path, O_RDONLY);
		EXPECT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		EXPECT_LT(1, n);
		if (n <= 0)
			continue;
		buf[n] = 0;
		EXPECT_EQ('\n', buf[n - 1]);
		if (i == 0) {
			EXPECT_TRUE(!strcmp(buf, "high\n") ||
				    !strcmp(buf, "soft\n") ||
				    !strcmp(buf, "hard\n") ||
				    !strcmp(buf, "low\n"))
				TH_LOG("memory_state '%s'", buf);
		} else {
			EXPECT_LE(0, ps_sysfs(ro[i]));
		}
		EXPECT_NE(0, ps_write_file(path, "0"));
		EXPECT_TRUE(errno == EACCES || errno == EPERM)
			TH_LOG("writing %s: %s", path, strerror(errno));
	}
}

TEST_HARNESS_MAIN
