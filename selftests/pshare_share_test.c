// SPDX-License-Identifier: GPL-2.0
/*
 * Content-based page sharing: the scanner merges identical pages of a
 * sharing domain into one read-only frame, all-zero pages into the zero
 * frame, and a write breaks copy-on-write for that page only.
 *
 * Each test prepares its pages with the scanner stopped, so the counts
 * before are exact, then runs it as fast as it goes and waits for full
 * scans (never sleeps). Whether two pages share a frame is read from
 * /proc/self/pagemap. Every test ends with run=2 (unmerge) and the knobs
 * as they were, so tests do not depend on each other.
 */
#include "pshare_share.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/uio.h>

/* Tests wait for the scanner; the debug kernel under TCG is slow. */
#define SHARE_TIMEOUT	300

/* Scans to wait for a merge before giving up; and to see none happen. */
#define MERGE_SCANS	200
#define QUIET_SCANS	4

#define NREG	2

FIXTURE(share) {
	int dev;
	struct ps_knobs knobs;
	struct ps_region r[NREG];
	unsigned char *map[NREG];
	size_t npages[NREG];
	char mnt2[64];		/* a second pshare mount, "" if none */
	struct ps_counters base;	/* global counters at the start */
};

FIXTURE_SETUP(share)
{
	const char *why;
	int i;

	self->dev = -1;
	for (i = 0; i < NREG; i++) {
		self->r[i].fd = -1;
		self->r[i].path[0] = 0;
		self->map[i] = NULL;
	}
	PS_REQUIRE_ENV();
	why = ps_sharing_missing();
	if (why)
		PS_SKIP("%s", why);
	self->dev = open(PS_DEV, O_RDWR);
	ASSERT_LE(0, self->dev) TH_LOG("open %s: %s", PS_DEV, strerror(errno));
	ps_knobs_save(_metadata, &self->knobs);
	ps_scan_fast(_metadata, &self->knobs, 0);
	ps_counters(_metadata, &self->base);
	ASSERT_EQ(0, self->base.pages_shared)
		TH_LOG("shared frames left after run=2");
}

FIXTURE_TEARDOWN(share)
{
	int i;

	for (i = 0; i < NREG; i++) {
		if (self->map[i])
			munmap(self->map[i], self->npages[i] * PS_PAGE);
		ps_region_destroy(&self->r[i]);
	}
	/* Knobs first: run=2 also waits for the scanner to let go of regions. */
	ps_knobs_restore(&self->knobs);
	if (self->mnt2[0]) {
		umount(self->mnt2);
		rmdir(self->mnt2);
	}
	if (self->dev >= 0)
		close(self->dev);
}

/* Page @pg of region @i through its mapping. */
#define PG(i, pg)	(self->map[i] + (size_t)(pg) * PS_PAGE)

/* Create region @i of @npages in directory @dir and map it. */
static void region_map(struct __test_metadata *_metadata,
		       FIXTURE_DATA(share) *self, int i, const char *dir,
		       size_t npages)
{
	ps_region_make_mapped(_metadata, &self->r[i], dir, "share", npages,
			      &self->map[i]);
	self->npages[i] = npages;
}

static void region_unmap(FIXTURE_DATA(share) *self, int i)
{
	munmap(self->map[i], self->npages[i] * PS_PAGE);
	self->map[i] = NULL;
}

/* Fill page @pg of region @i through the mapping: pattern @seed. */
static void fill(FIXTURE_DATA(share) *self, int i, size_t pg, unsigned long seed)
{
	ps_fill(PG(i, pg), PS_PAGE, seed);
}

/* A private frame that holds only zeros (a write, then zeros). */
static void fill_zero(FIXTURE_DATA(share) *self, int i, size_t pg)
{
	memset(PG(i, pg), 0xff, PS_PAGE);
	memset(PG(i, pg), 0, PS_PAGE);
}

static void stats(struct __test_metadata *_metadata, FIXTURE_DATA(share) *self,
		  int i, struct pshare_region_stats *st)
{
	PS_STATS(self->dev, self->r[i].fd, st);
}

/* One field of region @i's statistics (for PS_WAIT_FOR conditions). */
#define RSTAT(i, field) ({						\
	struct pshare_region_stats __st;				\
	ps_stats(self->dev, self->r[i].fd, &__st) ? -1LL :		\
		(long long)__st.field;					\
})

/* A global counter relative to its value at the start of the test. */
#define DELTA(name)	(ps_sysfs(#name) - self->base.name)

static void scan_start(struct __test_metadata *_metadata)
{
	PS_KNOB_SET("run", "1");
}

/*
 * Unmerge everything and keep the scanner stopped. Returns the knob to
 * where a test can change domains and merge_across_domains.
 */
static void scan_unmerge(struct __test_metadata *_metadata)
{
	PS_KNOB_SET("run", "2");
	EXPECT_EQ(PS_RUN_UNMERGE, ps_sysfs("run"));
}

/* Check every page of region @i against @seeds (-1: zeros), two ways. */
static void check_content(struct __test_metadata *_metadata,
			  FIXTURE_DATA(share) *self, int i, const long *seeds)
{
	unsigned char buf[PS_PAGE];
	size_t pg;

	for (pg = 0; pg < self->npages[i]; pg++) {
		ASSERT_EQ((ssize_t)PS_PAGE,
			  pread(self->r[i].fd, buf, PS_PAGE, pg * PS_PAGE));
		if (seeds[pg] < 0) {
			EXPECT_EQ(-1, ps_nonzero(buf, PS_PAGE))
				TH_LOG("region %d page %zu should read zeros", i, pg);
			if (self->map[i])
				EXPECT_EQ(-1, ps_nonzero(PG(i, pg), PS_PAGE))
					TH_LOG("region %d page %zu mapped", i, pg);
		} else {
			EXPECT_EQ(-1, ps_check(buf, PS_PAGE, seeds[pg]))
				TH_LOG("region %d page %zu lost pattern %ld", i,
				       pg, seeds[pg]);
			if (self->map[i])
				EXPECT_EQ(-1, ps_check(PG(i, pg), PS_PAGE, seeds[pg]))
					TH_LOG("region %d page %zu mapped", i, pg);
		}
	}
}

/* A mount of its own: a sharing domain of its own. */
static void mount_second(struct __test_metadata *_metadata,
			 FIXTURE_DATA(share) *self)
{
	strcpy(self->mnt2, "/tmp/pshare-share.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->mnt2));
	if (mount("pshare", self->mnt2, "pshare", 0, NULL)) {
		rmdir(self->mnt2);
		self->mnt2[0] = 0;
		ASSERT_TRUE(false) TH_LOG("mount -t pshare: %s", strerror(errno));
	}
}

static int set_domain(int dev, int fd, __u32 domain)
{
	struct pshare_region_domain d = {
		.argsz = sizeof(d), .fd = fd, .domain = domain,
	};

	return ioctl(dev, PSHARE_IOC_REGION_SET_DOMAIN, &d);
}

/*
 * Identical pages of one region merge: one frame per content, the pages
 * saved counted exactly, unique pages left alone.
 */
TEST_F_TIMEOUT(share, merge_within_region, SHARE_TIMEOUT)
{
	long seeds[16];
	struct pshare_region_stats st;
	uint64_t pfn[16];
	size_t pg, q;

	region_map(_metadata, self, 0, ps_mnt(), 16);
	for (pg = 0; pg < 16; pg++) {
		seeds[pg] = pg < 8 ? 1 : pg < 12 ? 2 : 10 + pg;
		fill(self, 0, pg, seeds[pg]);
	}
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(16, st.pages_private);
	EXPECT_EQ(0, st.pages_shared);
	EXPECT_EQ(16, DELTA(pages_private));

	scan_start(_metadata);
	/* 8 + 4 PPNs on two frames: 7 + 3 pages saved. */
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, RSTAT(0, pages_shared) == 12 &&
				DELTA(pages_sharing) == 10));
	ps_wait_scans(_metadata, QUIET_SCANS);

	stats(_metadata, self, 0, &st);
	EXPECT_EQ(12, st.pages_shared);
	EXPECT_EQ(4, st.pages_private);
	EXPECT_EQ(0, st.pages_zero);
	EXPECT_EQ(2, DELTA(pages_shared));
	EXPECT_EQ(10, DELTA(pages_sharing));
	EXPECT_EQ(4, DELTA(pages_private));
	EXPECT_EQ(0, DELTA(pages_zero));
	/* The table in debugfs agrees. */
	if (ps_file_number(PS_TABLE, "frames") >= 0)
		EXPECT_EQ(ps_sysfs("pages_shared"), ps_file_number(PS_TABLE, "frames"));

	for (pg = 0; pg < 16; pg++) {
		pfn[pg] = ps_pfn(PG(0, pg));
		ASSERT_NE(0, pfn[pg]) TH_LOG("no PFN for page %zu (not root?)", pg);
	}
	for (pg = 0; pg < 16; pg++) {
		for (q = pg + 1; q < 16; q++) {
			unsigned long long a = pfn[pg], b = pfn[q];

			EXPECT_EQ(seeds[pg] == seeds[q], a == b)
				TH_LOG("pages %zu and %zu: PFN %#llx and %#llx",
				       pg, q, a, b);
		}
	}
	check_content(_metadata, self, 0, seeds);
}

/* Regions of one mount are one domain: their pages merge. */
TEST_F_TIMEOUT(share, merge_across_regions, SHARE_TIMEOUT)
{
	long seeds[4] = { 3, 3, 3, 3 };
	struct pshare_region_stats st0, st1;
	int i;

	for (i = 0; i < 2; i++) {
		region_map(_metadata, self, i, ps_mnt(), 4);
		for (int pg = 0; pg < 4; pg++)
			fill(self, i, pg, 3);
	}
	stats(_metadata, self, 0, &st0);
	stats(_metadata, self, 1, &st1);
	EXPECT_EQ(st0.domain, st1.domain);

	scan_start(_metadata);
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) == 7));
	ps_wait_scans(_metadata, QUIET_SCANS);

	EXPECT_EQ(1, DELTA(pages_shared));
	EXPECT_EQ(7, DELTA(pages_sharing));
	EXPECT_EQ(0, DELTA(pages_private));
	stats(_metadata, self, 0, &st0);
	stats(_metadata, self, 1, &st1);
	EXPECT_EQ(4, st0.pages_shared);
	EXPECT_EQ(4, st1.pages_shared);
	EXPECT_EQ(0, st0.pages_private + st1.pages_private);
	EXPECT_EQ(ps_pfn(PG(0, 0)), ps_pfn(PG(1, 3)));
	check_content(_metadata, self, 0, seeds);
	check_content(_metadata, self, 1, seeds);
}

/*
 * Two mounts are two domains: their pages do not merge with each other,
 * until merge_across_domains=1 (which needs nothing shared to change).
 */
TEST_F_TIMEOUT(share, domains_of_two_mounts, SHARE_TIMEOUT)
{
	long seeds[4] = { 4, 4, 4, 4 };
	struct pshare_region_stats st0, st1;
	int i, pg;

	mount_second(_metadata, self);
	region_map(_metadata, self, 0, ps_mnt(), 4);
	region_map(_metadata, self, 1, self->mnt2, 4);
	for (i = 0; i < 2; i++)
		for (pg = 0; pg < 4; pg++)
			fill(self, i, pg, 4);
	stats(_metadata, self, 0, &st0);
	stats(_metadata, self, 1, &st1);
	EXPECT_NE(st0.domain, st1.domain);

	/* Each region merges within itself only: two frames, 3 + 3 saved. */
	scan_start(_metadata);
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) >= 6));
	ps_wait_scans(_metadata, QUIET_SCANS);
	EXPECT_EQ(2, DELTA(pages_shared));
	EXPECT_EQ(6, DELTA(pages_sharing));
	EXPECT_EQ(ps_pfn(PG(0, 0)), ps_pfn(PG(0, 3)));
	EXPECT_EQ(ps_pfn(PG(1, 0)), ps_pfn(PG(1, 3)));
	EXPECT_NE(ps_pfn(PG(0, 0)), ps_pfn(PG(1, 0)));

	/* Not while anything is shared. */
	EXPECT_EQ(-1, ps_knob_set("merge_across_domains", "1"));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, ps_sysfs("merge_across_domains"));

	scan_unmerge(_metadata);
	PS_KNOB_SET("merge_across_domains", "1");
	EXPECT_EQ(1, ps_sysfs("merge_across_domains"));
	scan_start(_metadata);
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) == 7));
	ps_wait_scans(_metadata, QUIET_SCANS);
	EXPECT_EQ(1, DELTA(pages_shared));
	EXPECT_EQ(7, DELTA(pages_sharing));
	EXPECT_EQ(ps_pfn(PG(0, 0)), ps_pfn(PG(1, 0)));
	check_content(_metadata, self, 0, seeds);
	check_content(_metadata, self, 1, seeds);
	/* The teardown unmerges and sets merge_across_domains back. */
}

/*
 * Regions 0 and 1 of 4 pages each, region 1 moved to region 0's domain +
 * @apart, every page filled with @seed: once scanned, each region has one
 * shared frame of its own (2 shared, 6 sharing) and none in common.
 * Returns region 0's domain.
 */
static __u32 merge_in_two_domains(struct __test_metadata *_metadata,
				FIXTURE_DATA(share) *self, __u32 apart, long seed)
{
	struct pshare_region_stats st0, st1;
	int i, pg;

	region_map(_metadata, self, 0, ps_mnt(), 4);
	region_map(_metadata, self, 1, ps_mnt(), 4);
	stats(_metadata, self, 0, &st0);
	EXPECT_EQ(0, set_domain(self->dev, self->r[1].fd, st0.domain + apart))
		TH_LOG("SET_DOMAIN: %s", strerror(errno));
	stats(_metadata, self, 1, &st1);
	EXPECT_EQ(st0.domain + apart, st1.domain);
	for (i = 0; i < 2; i++)
		for (pg = 0; pg < 4; pg++)
			fill(self, i, pg, seed);

	scan_start(_metadata);
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) >= 6));
	ps_wait_scans(_metadata, QUIET_SCANS);
	EXPECT_EQ(2, DELTA(pages_shared));
	EXPECT_EQ(6, DELTA(pages_sharing));
	EXPECT_NE(ps_pfn(PG(0, 0)), ps_pfn(PG(1, 0)))
		TH_LOG("domains %u and %u share a frame", st0.domain, st1.domain);
	return st0.domain;
}

/* A region moved to another domain by the ioctl merges only there. */
TEST_F_TIMEOUT(share, domain_ioctl_separates, SHARE_TIMEOUT)
{
	long seeds[4] = { 5, 5, 5, 5 };
	struct pshare_region_stats st1;
	__u32 d0 = merge_in_two_domains(_metadata, self, 1000, 5);

	/* Busy while the region uses shared frames; nothing changes. */
	EXPECT_EQ(-1, set_domain(self->dev, self->r[1].fd, d0));
	EXPECT_EQ(EBUSY, errno);
	stats(_metadata, self, 1, &st1);
	EXPECT_EQ(d0 + 1000, st1.domain);

	/* Unmerged, it can move back, and then merges with region 0. */
	scan_unmerge(_metadata);
	ASSERT_EQ(0, set_domain(self->dev, self->r[1].fd, d0))
		TH_LOG("SET_DOMAIN after unmerge: %s", strerror(errno));
	stats(_metadata, self, 1, &st1);
	EXPECT_EQ(d0, st1.domain);
	scan_start(_metadata);
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) == 7));
	ps_wait_scans(_metadata, QUIET_SCANS);
	EXPECT_EQ(1, DELTA(pages_shared));
	EXPECT_EQ(ps_pfn(PG(0, 0)), ps_pfn(PG(1, 0)));
	check_content(_metadata, self, 0, seeds);
	check_content(_metadata, self, 1, seeds);
}

/*
 * Domains stay apart when the debug knob shortens the hash: domains D and
 * D + 256 have salts equal in their low 8 bits, so with hash_bits = 8 a
 * key salted after the cut would be the same for the same content in both.
 */
TEST_F_TIMEOUT(share, domains_apart_with_short_hash, SHARE_TIMEOUT)
{
	long seeds[4] = { 7, 7, 7, 7 };

	if (self->knobs.hash_bits < 0)
		PS_SKIP("no " PS_HASH_BITS " (debugfs not mounted?)");
	ASSERT_EQ(0, ps_write_file(PS_HASH_BITS, "8"));
	merge_in_two_domains(_metadata, self, 256, 7);
	check_content(_metadata, self, 0, seeds);
	check_content(_metadata, self, 1, seeds);
	ASSERT_EQ(0, ps_write_file(PS_HASH_BITS, "64"));
}

#define PS_REBUILD_DELAY	"/sys/kernel/debug/pshare/rebuild_delay_ms"

/* Writes the hash_bits knob (a rebuild that drops every hint), then says so. */
struct rebuild_writer {
	pthread_t tid;
	int err;
	atomic_int done;
};

static void *rebuild_writer_main(void *arg)
{
	struct rebuild_writer *w = arg;

	w->err = ps_write_file(PS_HASH_BITS, "64");
	atomic_store(&w->done, 1);
	return NULL;
}

/*
 * A rebuild of a large hash table lets the table's lock go between its
 * steps. Held up after its first step (debugfs rebuild_delay_ms, as a
 * rebuild of millions of entries takes long), it does not hold up a
 * copy-on-write break of a shared page, which takes the frame out of the
 * table under that lock.
 */
TEST_F_TIMEOUT(share, table_rebuild_lets_cow_through, SHARE_TIMEOUT)
{
	const size_t pages = 16384;	/* hints: several steps of old slots */
	struct rebuild_writer w;
	long long rebuilds;
	size_t pg;
	int i;

	if (self->knobs.hash_bits < 0 || access(PS_REBUILD_DELAY, W_OK))
		PS_SKIP("no " PS_REBUILD_DELAY " (debugfs not mounted, or an older module)");
	region_map(_metadata, self, 0, ps_mnt(), pages);
	region_map(_metadata, self, 1, ps_mnt(), 1);
	/*
	 * ps_fill() patterns repeat every 256 seeds: the page number makes
	 * each page unique.
	 */
	for (pg = 1; pg < pages; pg++) {
		fill(self, 0, pg, 1000 + pg);
		memcpy(PG(0, pg), &pg, sizeof(pg));
	}
	fill(self, 0, 0, 42);
	fill(self, 1, 0, 42);
	scan_start(_metadata);
	/* Hints come and go with the scan generations: half is plenty. */
	ASSERT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_shared) == 1 &&
				ps_sysfs("pages_hinted") >= (long long)pages / 2))
		TH_LOG("pages_shared +%lld, pages_hinted %lld", DELTA(pages_shared),
		       ps_sysfs("pages_hinted"));

	/* Stopped, the scanner neither grows the table nor takes the delay. */
	PS_KNOB_SET("run", "0");
	rebuilds = ps_file_number(PS_TABLE, "rebuilds");
	ASSERT_EQ(0, ps_write_file(PS_REBUILD_DELAY, "8000"));
	memset(&w, 0, sizeof(w));
	ASSERT_EQ(0, pthread_create(&w.tid, NULL, rebuild_writer_main, &w));
	/* The rebuild took the delay once the knob reads 0 again. */
	for (i = 0; i < 1000 && ps_read_number(PS_REBUILD_DELAY) != 0; i++)
		usleep(10 * 1000);
	ASSERT_EQ(0, ps_read_number(PS_REBUILD_DELAY));

	/* The second write is the frame's last user taking it back. */
	memset(PG(0, 0), 0x5a, PS_PAGE);
	memset(PG(1, 0), 0xa5, PS_PAGE);
	/* Still under way: had the breaks waited for it, it would be done. */
	EXPECT_EQ(rebuilds, ps_file_number(PS_TABLE, "rebuilds"))
		TH_LOG("the copy-on-write breaks waited for the whole rebuild");
	EXPECT_EQ(0, atomic_load(&w.done));
	pthread_join(w.tid, NULL);
	EXPECT_EQ(0, w.err);
	EXPECT_EQ(0, DELTA(pages_shared));
	EXPECT_EQ(0x5a, PG(0, 0)[PS_PAGE - 1]);
	EXPECT_EQ(0xa5, PG(1, 0)[PS_PAGE - 1]);
}

/* Every documented error of PSHARE_IOC_REGION_SET_DOMAIN. */
TEST_F_TIMEOUT(share, domain_ioctl_errors, SHARE_TIMEOUT)
{
	struct {
		struct pshare_region_domain d;
		unsigned char tail[8];
	} big;
	struct pshare_region_domain d;
	struct pshare_region_stats st;
	int fd, pipefd[2], closed;
	__u64 domain;

	region_map(_metadata, self, 0, ps_mnt(), 2);
	stats(_metadata, self, 0, &st);
	domain = st.domain;

	/* Open read-only: the fd does not carry the right to change it. */
	fd = open(self->r[0].path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, set_domain(self->dev, fd, 77));
	EXPECT_EQ(EACCES, errno);
	close(fd);

	/* Not a region: a pipe, /dev/null, a pshare directory. */
	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(-1, set_domain(self->dev, pipefd[1], 77));
	EXPECT_EQ(ENODEV, errno);
	close(pipefd[0]);
	close(pipefd[1]);
	fd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, set_domain(self->dev, fd, 77));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	fd = open(ps_mnt(), O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, set_domain(self->dev, fd, 77));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	EXPECT_EQ(-1, set_domain(self->dev, self->dev, 77));
	EXPECT_EQ(ENODEV, errno);

	/* Not open at all. */
	closed = dup(self->r[0].fd);
	ASSERT_LE(0, closed);
	close(closed);
	EXPECT_EQ(-1, set_domain(self->dev, closed, 77));
	EXPECT_EQ(EBADF, errno);

	/* Bad argument structs. */
	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.fd = self->r[0].fd;
	d.domain = 77;
	d.flags = 1;
	EXPECT_EQ(-1, ioctl(self->dev, PSHARE_IOC_REGION_SET_DOMAIN, &d));
	EXPECT_EQ(EINVAL, errno);
	d.flags = 0;
	d.argsz = offsetof(struct pshare_region_domain, domain);
	EXPECT_EQ(-1, ioctl(self->dev, PSHARE_IOC_REGION_SET_DOMAIN, &d));
	EXPECT_EQ(EINVAL, errno);
	memset(&big, 0, sizeof(big));
	big.d = (struct pshare_region_domain){
		.argsz = sizeof(big), .fd = self->r[0].fd, .domain = 77,
	};
	big.tail[3] = 1;
	EXPECT_EQ(-1, ioctl(self->dev, PSHARE_IOC_REGION_SET_DOMAIN, &big));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->dev, PSHARE_IOC_REGION_SET_DOMAIN, (void *)8));
	EXPECT_EQ(EFAULT, errno);

	stats(_metadata, self, 0, &st);
	EXPECT_EQ(domain, st.domain) TH_LOG("a failed SET_DOMAIN changed the domain");

	/* Zero trailing bytes are fine. */
	big.tail[3] = 0;
	big.d.domain = domain + 1;
	EXPECT_EQ(0, ioctl(self->dev, PSHARE_IOC_REGION_SET_DOMAIN, &big));
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(domain + 1, st.domain);

	/* Busy while shared. */
	fill(self, 0, 0, 6);
	fill(self, 0, 1, 6);
	scan_start(_metadata);
	ASSERT_TRUE(PS_WAIT_FOR(MERGE_SCANS, RSTAT(0, pages_shared) == 2));
	EXPECT_EQ(-1, set_domain(self->dev, self->r[0].fd, domain));
	EXPECT_EQ(EBUSY, errno);
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(domain + 1, st.domain);
}

/* merge_across_domains changes only while nothing is shared. */
TEST_F_TIMEOUT(share, across_domains_busy, SHARE_TIMEOUT)
{
	region_map(_metadata, self, 0, ps_mnt(), 2);
	fill(self, 0, 0, 7);
	fill(self, 0, 1, 7);
	scan_start(_metadata);
	ASSERT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_shared) == 1));

	EXPECT_EQ(-1, ps_knob_set("merge_across_domains", "1"));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, ps_sysfs("merge_across_domains"));
	/* Writing the current value is no change: fine even now. */
	EXPECT_EQ(0, ps_knob_set("merge_across_domains", "0"));

	scan_unmerge(_metadata);
	EXPECT_EQ(0, ps_sysfs("pages_shared"));
	EXPECT_EQ(0, ps_knob_set("merge_across_domains", "1"));
	EXPECT_EQ(1, ps_sysfs("merge_across_domains"));
	EXPECT_EQ(0, ps_knob_set("merge_across_domains", "0"));
	EXPECT_EQ(0, ps_sysfs("merge_across_domains"));
}

/* All-zero private pages go to the zero frame and free their frames. */
TEST_F_TIMEOUT(share, zero_pages_to_zero_frame, SHARE_TIMEOUT)
{
	struct pshare_region_stats st;
	long seeds[32];
	uint64_t zpfn;
	int pg;

	region_map(_metadata, self, 0, ps_mnt(), 32);
	for (pg = 0; pg < 32; pg++) {
		seeds[pg] = pg < 24 ? -1 : 40 + pg;
		if (seeds[pg] < 0)
			fill_zero(self, 0, pg);
		else
			fill(self, 0, pg, seeds[pg]);
	}
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(32, st.pages_private);
	EXPECT_EQ(0, st.pages_zero);
	EXPECT_EQ(32, DELTA(pages_private));

	scan_start(_metadata);
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, RSTAT(0, pages_zero) == 24));
	ps_wait_scans(_metadata, QUIET_SCANS);
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(24, st.pages_zero);
	EXPECT_EQ(8, st.pages_private);
	EXPECT_EQ(0, st.pages_shared);
	EXPECT_EQ(24, DELTA(pages_zero));
	EXPECT_EQ(8, DELTA(pages_private));
	EXPECT_EQ(0, DELTA(pages_shared));
	EXPECT_EQ(0, DELTA(pages_sharing));

	zpfn = ps_pfn(PG(0, 0));
	ASSERT_NE(0, zpfn);
	for (pg = 1; pg < 32; pg++)
		EXPECT_EQ(seeds[pg] < 0, ps_pfn(PG(0, pg)) == zpfn)
			TH_LOG("page %d", pg);
	check_content(_metadata, self, 0, seeds);

	/*
	 * Writing a zero-mapped page breaks away from the zero frame. The
	 * scanner stops first: the new frame is all zeros until the store
	 * lands, and a scan in between would merge it back (a second break).
	 */
	PS_KNOB_SET("run", "0");
	PG(0, 5)[0] = 1;
	EXPECT_NE(zpfn, ps_pfn(PG(0, 5)));
	EXPECT_EQ(1, DELTA(cow_breaks));
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(23, st.pages_zero);
	EXPECT_EQ(1, st.cow_breaks);
}

/* Merge four equal pages of region 0; return their shared PFN. */
static uint64_t merge_four(struct __test_metadata *_metadata,
			   FIXTURE_DATA(share) *self, unsigned long seed)
{
	int pg;

	region_map(_metadata, self, 0, ps_mnt(), 4);
	for (pg = 0; pg < 4; pg++)
		fill(self, 0, pg, seed);
	scan_start(_metadata);
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, RSTAT(0, pages_shared) == 4 &&
				DELTA(pages_sharing) == 3));
	EXPECT_EQ(1, DELTA(pages_shared));
	for (pg = 1; pg < 4; pg++)
		EXPECT_EQ(ps_pfn(PG(0, 0)), ps_pfn(PG(0, pg)));
	return ps_pfn(PG(0, 0));
}

/* Page @pg holds pattern @seed but for @len bytes @val at @off. */
static void check_modified(struct __test_metadata *_metadata,
			   const unsigned char *p, unsigned long seed,
			   size_t off, size_t len, int val)
{
	unsigned char want[PS_PAGE];

	ps_fill(want, PS_PAGE, seed);
	memset(want + off, val, len);
	EXPECT_EQ(0, memcmp(p, want, PS_PAGE));
}

/*
 * A CPU store to a shared page copies it for that PPN alone; the last
 * user takes the frame back in place, without a copy.
 */
TEST_F_TIMEOUT(share, cow_cpu_write, SHARE_TIMEOUT)
{
	struct pshare_region_stats st;
	long seeds[4] = { 8, 8, 8, 8 };
	unsigned long pg;
	uint64_t shared;

	shared = merge_four(_metadata, self, 8);
	ASSERT_NE(0, shared);
	PS_KNOB_SET("run", "0");	/* nothing may merge again */

	PG(0, 1)[100] = ~PG(0, 1)[100];
	EXPECT_NE(shared, ps_pfn(PG(0, 1)));
	EXPECT_EQ(shared, ps_pfn(PG(0, 0)));
	EXPECT_EQ(1, DELTA(cow_breaks));
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(1, st.cow_breaks);
	EXPECT_EQ(3, st.pages_shared);
	EXPECT_EQ(1, st.pages_private);
	EXPECT_EQ(2, DELTA(pages_sharing));
	EXPECT_EQ(1, DELTA(pages_shared));
	check_modified(_metadata, PG(0, 1), 8, 100, 1, (unsigned char)~ps_pat(8, 100));
	seeds[1] = -2;
	for (pg = 0; pg < 4; pg++)
		if (seeds[pg] >= 0)
			EXPECT_EQ(-1, ps_check(PG(0, pg), PS_PAGE, 8));

	/* Two more copies; the fourth page is the last user. */
	PG(0, 0)[200] = 1;
	PG(0, 2)[300] = 2;
	EXPECT_EQ(3, DELTA(cow_breaks));
	EXPECT_EQ(0, DELTA(pages_sharing));
	EXPECT_EQ(1, DELTA(pages_shared));
	PG(0, 3)[400] = 3;
	EXPECT_EQ(3, DELTA(cow_breaks)) TH_LOG("the last user should not copy");
	EXPECT_EQ(shared, ps_pfn(PG(0, 3)));
	EXPECT_EQ(0, DELTA(pages_shared));
	EXPECT_EQ(0, DELTA(pages_sharing));
	EXPECT_EQ(4, DELTA(pages_private));
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(0, st.pages_shared);
	EXPECT_EQ(4, st.pages_private);
	check_modified(_metadata, PG(0, 0), 8, 200, 1, 1);
	check_modified(_metadata, PG(0, 2), 8, 300, 1, 2);
	check_modified(_metadata, PG(0, 3), 8, 400, 1, 3);
}

/* pwrite(2) into a shared page copies it first, like a store. */
TEST_F_TIMEOUT(share, cow_pwrite, SHARE_TIMEOUT)
{
	unsigned char buf[PS_PAGE];
	uint64_t shared;
	int pg;

	shared = merge_four(_metadata, self, 9);
	ASSERT_NE(0, shared);
	PS_KNOB_SET("run", "0");

	ASSERT_EQ(3, pwrite(self->r[0].fd, "xyz", 3, 2 * PS_PAGE + 1000));
	EXPECT_EQ(1, DELTA(cow_breaks));
	EXPECT_EQ(2, DELTA(pages_sharing));
	EXPECT_EQ(0, memcmp(PG(0, 2) + 1000, "xyz", 3));
	EXPECT_NE(shared, ps_pfn(PG(0, 2)));
	ASSERT_EQ((ssize_t)PS_PAGE, pread(self->r[0].fd, buf, PS_PAGE, 2 * PS_PAGE));
	EXPECT_EQ(0, memcmp(buf + 1000, "xyz", 3));
	EXPECT_EQ(0, memcmp(buf, PG(0, 2), PS_PAGE));
	for (pg = 0; pg < 4; pg++) {
		if (pg == 2)
			continue;
		EXPECT_EQ(-1, ps_check(PG(0, pg), PS_PAGE, 9)) TH_LOG("page %d", pg);
		EXPECT_EQ(shared, ps_pfn(PG(0, pg)));
	}
}

/* Punching part of a shared page zeroes that part of one copy. */
TEST_F_TIMEOUT(share, cow_partial_punch, SHARE_TIMEOUT)
{
	struct pshare_region_stats st;
	uint64_t shared;
	int pg;

	shared = merge_four(_metadata, self, 10);
	ASSERT_NE(0, shared);
	PS_KNOB_SET("run", "0");

	ASSERT_EQ(0, fallocate(self->r[0].fd,
			       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       3 * PS_PAGE + 100, 200))
		TH_LOG("fallocate: %s", strerror(errno));
	EXPECT_EQ(1, DELTA(cow_breaks));
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(3, st.pages_shared);
	EXPECT_EQ(1, st.pages_private);
	check_modified(_metadata, PG(0, 3), 10, 100, 200, 0);
	EXPECT_NE(shared, ps_pfn(PG(0, 3)));
	for (pg = 0; pg < 3; pg++)
		EXPECT_EQ(-1, ps_check(PG(0, pg), PS_PAGE, 10)) TH_LOG("page %d", pg);
}

/*
 * Punching whole pages and truncating drop only those PPNs' references:
 * the other region keeps the frame and its content.
 */
TEST_F_TIMEOUT(share, punch_truncate_shared, SHARE_TIMEOUT)
{
	long seeds[4] = { 11, 11, 11, 11 };
	long punched[4] = { -1, -1, 11, 11 };
	struct pshare_region_stats st;
	int i, pg;

	for (i = 0; i < 2; i++) {
		region_map(_metadata, self, i, ps_mnt(), 4);
		for (pg = 0; pg < 4; pg++)
			fill(self, i, pg, 11);
	}
	scan_start(_metadata);
	ASSERT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) == 7));
	PS_KNOB_SET("run", "0");
	EXPECT_EQ(1, DELTA(pages_shared));

	ASSERT_EQ(0, fallocate(self->r[0].fd,
			       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, 2 * PS_PAGE));
	EXPECT_EQ(5, DELTA(pages_sharing));
	EXPECT_EQ(1, DELTA(pages_shared));
	EXPECT_EQ(0, DELTA(cow_breaks));
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(2, st.pages_shared);
	EXPECT_EQ(0, st.pages_private);
	check_content(_metadata, self, 0, punched);
	check_content(_metadata, self, 1, seeds);

	/* Truncate region 0 to nothing (unmapped first: a mapping pins size). */
	region_unmap(self, 0);
	ASSERT_EQ(0, ftruncate(self->r[0].fd, 0));
	EXPECT_EQ(3, DELTA(pages_sharing));
	EXPECT_EQ(1, DELTA(pages_shared));
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(0, st.pages_shared);
	check_content(_metadata, self, 1, seeds);

	/* Region 1 down to one page: the last user still holds the frame. */
	region_unmap(self, 1);
	self->npages[1] = 1;
	ASSERT_EQ(0, ftruncate(self->r[1].fd, PS_PAGE));
	EXPECT_EQ(0, DELTA(pages_sharing));
	EXPECT_EQ(1, DELTA(pages_shared));
	stats(_metadata, self, 1, &st);
	EXPECT_EQ(1, st.pages_shared);
	check_content(_metadata, self, 1, seeds);
	ASSERT_EQ(0, ftruncate(self->r[1].fd, 0));
	EXPECT_EQ(0, DELTA(pages_shared));
	EXPECT_EQ(0, DELTA(pages_private));
	EXPECT_EQ(0, DELTA(pages_zero));
}

/* Unlinking a region on shared frames leaves the other one whole. */
TEST_F_TIMEOUT(share, unlink_shared, SHARE_TIMEOUT)
{
	long seeds[4] = { 12, 12, 12, 13 };
	struct ps_counters end;
	int i, pg;

	for (i = 0; i < 2; i++) {
		region_map(_metadata, self, i, ps_mnt(), 4);
		for (pg = 0; pg < 4; pg++)
			fill(self, i, pg, seeds[pg]);
	}
	EXPECT_EQ(2, DELTA(regions));
	scan_start(_metadata);
	/* 6 PPNs on the frame of 12, 2 on the frame of 13. */
	ASSERT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) == 6));
	EXPECT_EQ(2, DELTA(pages_shared));

	region_unmap(self, 0);
	ps_region_destroy(&self->r[0]);
	/* The scanner may hold the inode until it moves on: one pass. */
	ps_wait_scans(_metadata, 1);
	EXPECT_EQ(1, DELTA(regions));
	EXPECT_EQ(2, DELTA(pages_shared));
	EXPECT_EQ(2, DELTA(pages_sharing));
	EXPECT_EQ(0, DELTA(pages_private));
	check_content(_metadata, self, 1, seeds);
	/* The scanner keeps going over what is left, harmlessly. */
	ps_wait_scans(_metadata, QUIET_SCANS);
	check_content(_metadata, self, 1, seeds);

	region_unmap(self, 1);
	ps_region_destroy(&self->r[1]);
	ps_wait_scans(_metadata, 1);
	ps_counters(_metadata, &end);
	EXPECT_EQ(self->base.regions, end.regions);
	EXPECT_EQ(self->base.pages_private, end.pages_private);
	EXPECT_EQ(self->base.pages_zero, end.pages_zero);
	EXPECT_EQ(self->base.pages_shared, end.pages_shared);
	EXPECT_EQ(self->base.pages_sharing, end.pages_sharing);
}

/* run=2 gives every shared page a private frame again; zeros stay zero. */
TEST_F_TIMEOUT(share, unmerge_all, SHARE_TIMEOUT)
{
	long seeds[8] = { 14, 14, 14, 14, 15, 15, -1, -1 };
	struct pshare_region_stats st;
	uint64_t pfn[6];
	int pg, q;

	region_map(_metadata, self, 0, ps_mnt(), 8);
	for (pg = 0; pg < 8; pg++) {
		if (seeds[pg] < 0)
			fill_zero(self, 0, pg);
		else
			fill(self, 0, pg, seeds[pg]);
	}
	scan_start(_metadata);
	ASSERT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) == 4 &&
				RSTAT(0, pages_zero) == 2));
	EXPECT_EQ(2, DELTA(pages_shared));

	scan_unmerge(_metadata);
	EXPECT_EQ(PS_RUN_UNMERGE, ps_sysfs("run"));
	EXPECT_EQ(0, ps_sysfs("pages_shared"));
	EXPECT_EQ(0, ps_sysfs("pages_sharing"));
	EXPECT_EQ(0, ps_sysfs("pages_hinted"));
	stats(_metadata, self, 0, &st);
	EXPECT_EQ(0, st.pages_shared);
	EXPECT_EQ(6, st.pages_private);
	EXPECT_EQ(2, st.pages_zero);
	EXPECT_EQ(6, DELTA(pages_private));
	check_content(_metadata, self, 0, seeds);
	for (pg = 0; pg < 6; pg++) {
		pfn[pg] = ps_pfn(PG(0, pg));
		for (q = 0; q < pg; q++)
			EXPECT_NE(pfn[q], pfn[pg]) TH_LOG("pages %d and %d", q, pg);
	}
	/* Stopped after the unmerge: nothing merges again. */
	usleep(200 * 1000);
	EXPECT_EQ(0, ps_sysfs("pages_shared"));
}

/*
 * Take a reference to the page at @addr, as a GUP user would: vmsplice()
 * holds it until the pipe (@pipefd, opened here) is read or closed.
 */
static void hold_page(struct __test_metadata *_metadata, void *addr,
		      int pipefd[2])
{
	struct iovec iov = { .iov_base = addr, .iov_len = PS_PAGE };

	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ((ssize_t)PS_PAGE, vmsplice(pipefd[1], &iov, 1, 0))
		TH_LOG("vmsplice: %s", strerror(errno));
}

/*
 * With the hash cut to 2 bits nearly every page collides with pages of
 * other content: the full compare must keep them apart.
 */
TEST_F_TIMEOUT(share, forced_collisions_never_merge, SHARE_TIMEOUT)
{
	enum { N = 64 };
	uint64_t pfn[N];
	long seeds[N];
	int pg, q, merged = 0;
	long long fm;

	if (self->knobs.hash_bits < 0)
		PS_SKIP("no " PS_HASH_BITS " (debugfs not mounted?)");
	ASSERT_EQ(0, ps_write_file(PS_HASH_BITS, "2"));
	EXPECT_EQ(2, ps_hash_bits());

	region_map(_metadata, self, 0, ps_mnt(), N);
	/* 48 contents: pages 0-15 have a twin at 48-63. */
	for (pg = 0; pg < N; pg++) {
		seeds[pg] = 20 + pg % 48;
		fill(self, 0, pg, seeds[pg]);
	}
	scan_start(_metadata);
	ASSERT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(false_matches) > 0));
	ps_wait_scans(_metadata, 8);
	PS_KNOB_SET("run", "0");
	fm = DELTA(false_matches);

	check_content(_metadata, self, 0, seeds);
	for (pg = 0; pg < N; pg++)
		pfn[pg] = ps_pfn(PG(0, pg));
	for (pg = 0; pg < N; pg++)
		for (q = pg + 1; q < N; q++) {
			if (pfn[pg] != pfn[q])
				continue;
			merged++;
			EXPECT_EQ(seeds[pg], seeds[q])
				TH_LOG("pages %d and %d of different content share PFN %#llx",
				       pg, q, (unsigned long long)pfn[pg]);
		}
	TH_LOG("%lld false matches, %d pairs of twins merged", fm, merged);
	EXPECT_LE(merged, 16);
	EXPECT_EQ(merged, DELTA(pages_sharing));

	ASSERT_EQ(0, ps_write_file(PS_HASH_BITS, "64"));
	EXPECT_EQ(64, ps_hash_bits());
}

/* Pages that somebody else holds a reference to (GUP) are not merged. */
TEST_F_TIMEOUT(share, gup_reference_blocks_merge, SHARE_TIMEOUT)
{
	unsigned char buf[PS_PAGE];
	int pipefd[2];

	region_map(_metadata, self, 0, ps_mnt(), 2);
	fill(self, 0, 0, 16);
	fill(self, 0, 1, 16);
	hold_page(_metadata, PG(0, 0), pipefd);

	scan_start(_metadata);
	ASSERT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(merge_busy) > 0));
	ps_wait_scans(_metadata, QUIET_SCANS);
	EXPECT_EQ(0, DELTA(pages_shared));
	/* Stopped: a running scanner keeps unmapping the two to try again. */
	PS_KNOB_SET("run", "0");
	EXPECT_NE(ps_pfn(PG(0, 0)), ps_pfn(PG(0, 1)));
	scan_start(_metadata);

	/* Released, the page merges. */
	ASSERT_EQ((ssize_t)PS_PAGE, read(pipefd[0], buf, PS_PAGE));
	EXPECT_EQ(-1, ps_check(buf, PS_PAGE, 16));
	close(pipefd[0]);
	close(pipefd[1]);
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) == 1));
	EXPECT_EQ(ps_pfn(PG(0, 0)), ps_pfn(PG(0, 1)));
}

/*
 * Unmounting while the scanner works must wait for it to let go: it holds
 * inode references (igrab) while it scans a region. Without that,
 * generic_shutdown_super() finds the region's inode busy ("VFS: Busy
 * inodes after unmount of pshare") and 6.1 BUGs at fs/super.c:503.
 */
TEST_F_TIMEOUT(share, umount_while_scanning, SHARE_TIMEOUT)
{
	unsigned char buf[PS_PAGE];
	char path[PATH_MAX];
	int round, fd, pg;

	scan_start(_metadata);
	for (round = 0; round < 20; round++) {
		mount_second(_metadata, self);
		snprintf(path, sizeof(path), "%s/region", self->mnt2);
		fd = open(path, O_CREAT | O_RDWR, 0600);
		ASSERT_LE(0, fd);
		/* Distinct pages: every pass hashes them all. */
		for (pg = 0; pg < 1024; pg++) {
			ps_fill(buf, PS_PAGE, pg);
			memcpy(buf, &round, sizeof(round));
			ASSERT_EQ((ssize_t)PS_PAGE,
				  pwrite(fd, buf, PS_PAGE, pg * PS_PAGE));
		}
		close(fd);
		ps_wait_scans(_metadata, 1);
		usleep(round * 1000);
		ASSERT_EQ(0, umount(self->mnt2)) TH_LOG("umount: %s", strerror(errno));
		rmdir(self->mnt2);
		self->mnt2[0] = 0;
	}
	ps_wait_scans(_metadata, 2);
	EXPECT_EQ(0, DELTA(regions));
	EXPECT_EQ(0, DELTA(pages_private));
}

/* Every knob refuses bad values with EINVAL and keeps its value. */
/* ----------------------------------------------------------------------
 * smart_scan and auto_scan
 * ---------------------------------------------------------------------- */

#define SMART_PAGES	64

#define REQUIRE_KNOB(knob) do {						\
	if (ps_sysfs(knob) < 0)						\
		SKIP(return, "the module has no " knob " knob");	\
} while (0)

/*
 * smart_scan on, and one pass of @pages a batch every 20 ms: flat out,
 * passes over a few cold pages go by faster than full_scans is polled,
 * and a test could not tell one pass from ten.
 */
static void smart_scan_paced(struct __test_metadata *_metadata, size_t pages)
{
	PS_KNOB_SET("smart_scan", "1");
	ASSERT_EQ(0, ps_knob_set_num("pages_to_scan", pages));
	PS_KNOB_SET("sleep_millisecs", "20");
}

/* Region 0 of SMART_PAGES pages, page i holding seed @seed0 + i. */
static void smart_scan_region(struct __test_metadata *_metadata,
			      FIXTURE_DATA(share) *self, long *seeds, long seed0)
{
	size_t pg;

	smart_scan_paced(_metadata, SMART_PAGES);
	region_map(_metadata, self, 0, ps_mnt(), SMART_PAGES);
	for (pg = 0; pg < SMART_PAGES; pg++) {
		seeds[pg] = seed0 + pg;
		fill(self, 0, pg, seeds[pg]);
	}
}

/*
 * Start the scanner and let 3 passes go by (one hints every page, the next
 * finds them unchanged); then what the next 4 passes hashed and skipped
 * as unchanged.
 */
static void smart_scan_settled(struct __test_metadata *_metadata,
			       long long *scanned, long long *skipped)
{
	long long sc, sk;

	scan_start(_metadata);
	ps_wait_scans(_metadata, 3);
	sc = ps_sysfs("pages_scanned");
	sk = ps_sysfs("skipped_unchanged");
	ps_wait_scans(_metadata, 4);
	*scanned = ps_sysfs("pages_scanned") - sc;
	*skipped = ps_sysfs("skipped_unchanged") - sk;
}

#define PS_MERGE_DELAY	"/sys/kernel/debug/pshare/merge_delay_ms"

/*
 * A page written between its hash and the full compare (through a PTE
 * still mapped then, as a guest writes) is a changed page, not a false
 * match: false_matches counts only contents that collide, and with the
 * full 64-bit hash there are none. The scanner is held up after hashing
 * the page (debugfs merge_delay_ms), and the test writes it then.
 */
TEST_F_TIMEOUT(share, write_after_hash_is_no_false_match, SHARE_TIMEOUT)
{
	long seeds[3] = { 40, 40, 40 };
	long long delay = -1;
	double deadline;

	if (access(PS_MERGE_DELAY, W_OK))
		PS_SKIP("no " PS_MERGE_DELAY " (debugfs not mounted, or an older module)");
	region_map(_metadata, self, 0, ps_mnt(), 3);
	fill(self, 0, 0, seeds[0]);
	fill(self, 0, 1, seeds[1]);
	fill(self, 0, 2, seeds[2]);
	scan_start(_metadata);
	ASSERT_TRUE(PS_WAIT_FOR(MERGE_SCANS, DELTA(pages_sharing) == 2));

	/* Page 2 private again, same content, mapped writable. */
	PS_KNOB_SET("run", "0");
	fill(self, 0, 2, seeds[2]);
	ASSERT_EQ(1, DELTA(pages_sharing));
	/* The only page a visit hashes is page 2: it takes the delay. */
	ASSERT_EQ(0, ps_write_file(PS_MERGE_DELAY, "3000"));
	scan_start(_metadata);
	deadline = ps_now() + 60;
	while (delay && ps_now() < deadline) {
		usleep(1000);
		delay = ps_read_number(PS_MERGE_DELAY);
	}
	ASSERT_EQ(0, delay) TH_LOG("the scanner never hashed page 2");
	/* The scanner sleeps now, between the hash and the compare. */
	seeds[2] = 41;
	fill(self, 0, 2, seeds[2]);
	ps_wait_scans(_metadata, 2);
	PS_KNOB_SET("run", "0");

	EXPECT_EQ(0, DELTA(false_matches))
		TH_LOG("a page written after its hash counted as a false match");
	EXPECT_EQ(1, DELTA(pages_sharing));
	check_content(_metadata, self, 0, seeds);
}

/*
 * A page found unchanged at its second visit goes cold and is not hashed
 * again for 8 passes; with smart_scan=0 every pass hashes every page.
 */
TEST_F_TIMEOUT(share, smart_scan_skips_unchanged, SHARE_TIMEOUT)
{
	long long scanned, skipped;
	long seeds[SMART_PAGES];

	REQUIRE_KNOB("smart_scan");
	smart_scan_region(_metadata, self, seeds, 100);
	smart_scan_settled(_metadata, &scanned, &skipped);
	EXPECT_EQ(0, scanned) TH_LOG("cold pages were hashed again");
	EXPECT_LE(3 * SMART_PAGES, skipped);
	EXPECT_EQ(0, DELTA(pages_sharing));

	PS_KNOB_SET("smart_scan", "0");
	ps_wait_scans(_metadata, 1);
	scanned = ps_sysfs("pages_scanned");
	ps_wait_scans(_metadata, 2);
	EXPECT_LE(SMART_PAGES, ps_sysfs("pages_scanned") - scanned)
		TH_LOG("smart_scan=0 still skips pages");
	check_content(_metadata, self, 0, seeds);
}

/*
 * A page someone else holds (a GUP reference: vmsplice() here, a pin or
 * KVM's own mappings in real life) could be written behind pshare's back:
 * it never goes cold, and every pass visits it while its neighbours, made
 * cold in one run with it, are skipped.
 */
TEST_F_TIMEOUT(share, smart_scan_held_page_stays_warm, SHARE_TIMEOUT)
{
	long long scanned, skipped;
	long seeds[SMART_PAGES];
	int pipefd[2];

	REQUIRE_KNOB("smart_scan");
	smart_scan_region(_metadata, self, seeds, 300);
	hold_page(_metadata, PG(0, 5), pipefd);
	smart_scan_settled(_metadata, &scanned, &skipped);
	EXPECT_LE(4, scanned) TH_LOG("the held page went cold");
	EXPECT_GT(SMART_PAGES, scanned)
		TH_LOG("pages beside the held page stayed warm");
	EXPECT_LE(3 * (SMART_PAGES - 1), skipped);
	close(pipefd[0]);
	close(pipefd[1]);
	check_content(_metadata, self, 0, seeds);
}

/*
 * A write to a cold page warms it: the next pass visits it, and it merges
 * with a cold twin, whose hint lives while the twin is skipped.
 */
TEST_F_TIMEOUT(share, smart_scan_write_wakes_cold_page, SHARE_TIMEOUT)
{
	long seeds[8];
	long long woken;
	size_t pg;

	REQUIRE_KNOB("smart_scan");
	smart_scan_paced(_metadata, 8);
	region_map(_metadata, self, 0, ps_mnt(), 8);
	for (pg = 0; pg < 8; pg++) {
		seeds[pg] = 200 + pg;
		fill(self, 0, pg, seeds[pg]);
	}
	scan_start(_metadata);
	ps_wait_scans(_metadata, 3);
	woken = ps_sysfs("cold_woken");
	EXPECT_EQ(0, DELTA(pages_sharing));

	seeds[0] = seeds[1];
	fill(self, 0, 0, seeds[0]);
	/* More than once if a visit came between the fault and the write. */
	EXPECT_LE(1, ps_sysfs("cold_woken") - woken);
	/* Within one whole pass of the write: at most two wraps. */
	EXPECT_TRUE(PS_WAIT_FOR(2, DELTA(pages_sharing) == 1))
		TH_LOG("the written page did not merge with its cold twin in a pass");
	check_content(_metadata, self, 0, seeds);
}

struct churn {
	pthread_t tid;
	unsigned char *page;
	atomic_int stop;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	unsigned long seed = 1000;

	while (!atomic_load(&c->stop))
		ps_fill(c->page, PS_PAGE, seed++);
	return NULL;
}

/*
 * A page that changes at every visit is visited less often; once it holds
 * still with a twin's content, it merges within 8 passes.
 */
TEST_F_TIMEOUT(share, smart_scan_volatile_backoff, SHARE_TIMEOUT)
{
	long long skipped;
	long seeds[2] = { 301, 301 };
	struct churn c = { .page = NULL };

	REQUIRE_KNOB("smart_scan");
	PS_KNOB_SET("smart_scan", "1");
	/* One page a batch: a pass takes long enough for the writer. */
	PS_KNOB_SET("pages_to_scan", "1");
	PS_KNOB_SET("sleep_millisecs", "10");
	region_map(_metadata, self, 0, ps_mnt(), 2);
	fill(self, 0, 1, seeds[1]);
	c.page = PG(0, 0);
	ASSERT_EQ(0, pthread_create(&c.tid, NULL, churn_main, &c));
	skipped = ps_sysfs("skipped_volatile");
	scan_start(_metadata);
	ps_wait_scans(_metadata, 16);
	atomic_store(&c.stop, 1);
	pthread_join(c.tid, NULL);
	EXPECT_LT(0, ps_sysfs("skipped_volatile") - skipped)
		TH_LOG("a page rewritten all the time was visited every pass");

	fill(self, 0, 0, seeds[0]);
	EXPECT_TRUE(PS_WAIT_FOR(10, DELTA(pages_sharing) == 1))
		TH_LOG("the page did not merge within 8 passes of holding still");
	check_content(_metadata, self, 0, seeds);
}

/* The scanner thread's CPU time in ns (schedstat), -1 if not found. */
static long long scand_cpu_ns(void)
{
	char path[300], comm[32];
	long long ns = -1;
	struct dirent *de;
	DIR *proc;
	FILE *f;

	proc = opendir("/proc");
	if (!proc)
		return -1;
	while (ns < 0 && (de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f) || strcmp(comm, "pshare_scand\n")) {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%s/schedstat", de->d_name);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%lld", &ns) != 1)
				ns = -1;
			fclose(f);
		}
	}
	closedir(proc);
	return ns;
}

#define AUTO_PAGES	16384
#define AUTO_CPU	5	/* max_cpu_percent */
#define AUTO_MIN	16
#define AUTO_MAX	256

/*
 * auto_scan: pages_to_scan stays within its bounds and cannot be set by
 * hand; the scanner thread uses at most max_cpu_percent of a CPU (within
 * a tenth of it) when the target would need more; auto_scan=0 gives the
 * hand-set rate back.
 */
TEST_F_TIMEOUT(share, auto_scan_bounds_and_budget, SHARE_TIMEOUT)
{
	long long cpu0, cpu1, scanned, p;
	double t0, t1, share;
	size_t pg;

	REQUIRE_KNOB("auto_scan");
	ASSERT_LE(0, scand_cpu_ns()) TH_LOG("no /proc/<pshare_scand>/schedstat");
	/* Every page hashed at every visit: the scanner has work. */
	PS_KNOB_SET("smart_scan", "0");
	region_map(_metadata, self, 0, ps_mnt(), AUTO_PAGES);
	/* ps_fill() has 256 patterns: the page number makes each unique. */
	for (pg = 0; pg < AUTO_PAGES; pg++) {
		fill(self, 0, pg, pg);
		memcpy(PG(0, pg), &pg, sizeof(pg));
	}
	PS_KNOB_SET("sleep_millisecs", "20");
	PS_KNOB_SET("min_pages_to_scan", "1");
	PS_KNOB_SET("max_pages_to_scan", "256");
	PS_KNOB_SET("min_pages_to_scan", "16");
	PS_KNOB_SET("target_scan_secs", "1");
	PS_KNOB_SET("max_cpu_percent", "5");
	PS_KNOB_SET("auto_scan", "1");
	EXPECT_EQ(-1, ps_knob_set("pages_to_scan", "100"));
	EXPECT_EQ(EBUSY, errno);
	scan_start(_metadata);

	usleep(500 * 1000);
	scanned = ps_sysfs("pages_scanned");
	cpu0 = scand_cpu_ns();
	t0 = ps_now();
	while (ps_now() < t0 + 5) {
		p = ps_sysfs("pages_to_scan");
		EXPECT_LE(AUTO_MIN, p);
		EXPECT_GE(AUTO_MAX, p);
		usleep(50 * 1000);
	}
	cpu1 = scand_cpu_ns();
	t1 = ps_now();
	share = (cpu1 - cpu0) / 1e9 / (t1 - t0) * 100;
	PS_NOTE("auto_scan: scanner used %.2f%% of a CPU (max_cpu_percent %d), hashed %lld pages in %.1f s, pages_to_scan %lld",
		share, AUTO_CPU, ps_sysfs("pages_scanned") - scanned, t1 - t0,
		ps_sysfs("pages_to_scan"));
	EXPECT_LT(0, ps_sysfs("pages_scanned") - scanned);
	EXPECT_EQ(0, DELTA(pages_sharing));
	EXPECT_GE(AUTO_CPU * 1.1, share);

	/* The whole CPU allowed: the target sets the pace (a figure only). */
	PS_KNOB_SET("max_cpu_percent", "100");
	PS_KNOB_SET("target_scan_secs", "2");
	PS_KNOB_SET("max_pages_to_scan", "1048576");
	ps_wait_scans(_metadata, 1);
	t0 = ps_now();
	ps_wait_scans(_metadata, 2);
	PS_NOTE("auto_scan: with target_scan_secs=2 a pass over %d pages took %.2f s",
		AUTO_PAGES, (ps_now() - t0) / 2);

	PS_KNOB_SET("auto_scan", "0");
	EXPECT_EQ(strtoll(PS_FAST_PAGES_TO_SCAN, NULL, 10),
		  ps_sysfs("pages_to_scan"));
	PS_KNOB_SET("pages_to_scan", "100");
}

TEST_F_TIMEOUT(share, knob_validation, SHARE_TIMEOUT)
{
	static const struct {
		const char *knob;
		const char *bad[8];
		const char *good[3];
	} cases[] = {
		{ "run", { "3", "-1", "abc", "\n", "1x", "4294967297", "0x1", NULL },
		  { "0", NULL } },
		{ "pages_to_scan", { "0", "1048577", "-5", "abc", "99999999999",
				     "\n", NULL },
		  { "1", "1048576", NULL } },
		{ "sleep_millisecs", { "60001", "-1", "x", "\n", "4294967296", NULL },
		  { "1", "0", NULL } },
		{ "merge_across_domains", { "2", "-1", "yes", "\n", "10", NULL },
		  { "0", NULL } },
		{ "smart_scan", { "2", "-1", "on", "\n", NULL }, { "0", "1", NULL } },
		{ "auto_scan", { "2", "-1", "on", "\n", NULL }, { "1", "0", NULL } },
		{ "max_cpu_percent", { "0", "101", "-1", "5%", NULL },
		  { "1", "100", NULL } },
		{ "target_scan_secs", { "0", "86401", "-1", "1s", NULL },
		  { "86400", "1", NULL } },
		{ "min_pages_to_scan", { "0", "1048577", "x", NULL },
		  { "1", NULL } },
		{ "max_pages_to_scan", { "0", "1048577", "x", NULL },
		  { "1048576", NULL } },
	};
	size_t c, i;

	PS_KNOB_SET("run", "0");
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		long long before = ps_sysfs(cases[c].knob);

		ASSERT_LE(0, before) TH_LOG("cannot read %s", cases[c].knob);
		for (i = 0; cases[c].bad[i]; i++) {
			errno = 0;
			EXPECT_EQ(-1, ps_knob_set(cases[c].knob, cases[c].bad[i]))
				TH_LOG("%s accepted '%s'", cases[c].knob, cases[c].bad[i]);
			EXPECT_EQ(EINVAL, errno)
				TH_LOG("%s '%s': %s", cases[c].knob,
				       cases[c].bad[i], strerror(errno));
			EXPECT_EQ(before, ps_sysfs(cases[c].knob))
				TH_LOG("%s changed by '%s'", cases[c].knob,
				       cases[c].bad[i]);
		}
		for (i = 0; cases[c].good[i]; i++) {
			EXPECT_EQ(0, ps_knob_set(cases[c].knob, cases[c].good[i]))
				TH_LOG("%s refused '%s': %s", cases[c].knob,
				       cases[c].good[i], strerror(errno));
			EXPECT_EQ(strtoll(cases[c].good[i], NULL, 10),
				  ps_sysfs(cases[c].knob));
		}
	}
	/* The bounds of auto_scan: a minimum above the maximum is refused. */
	if (ps_sysfs("max_pages_to_scan") >= 0) {
		PS_KNOB_SET("max_pages_to_scan", "100");
		PS_KNOB_SET("min_pages_to_scan", "100");
		errno = 0;
		EXPECT_EQ(-1, ps_knob_set("min_pages_to_scan", "101"));
		EXPECT_EQ(EINVAL, errno);
		errno = 0;
		EXPECT_EQ(-1, ps_knob_set("max_pages_to_scan", "99"));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(100, ps_sysfs("min_pages_to_scan"));
		EXPECT_EQ(100, ps_sysfs("max_pages_to_scan"));
		/* pages_to_scan belongs to auto_scan while it is on. */
		PS_KNOB_SET("pages_to_scan", "7");
		PS_KNOB_SET("auto_scan", "1");
		errno = 0;
		EXPECT_EQ(-1, ps_knob_set("pages_to_scan", "8"));
		EXPECT_EQ(EBUSY, errno);
		PS_KNOB_SET("auto_scan", "0");
		EXPECT_EQ(7, ps_sysfs("pages_to_scan"));
	}
	/* The counters are read-only. */
	EXPECT_EQ(-1, ps_knob_set("pages_sharing", "0"));
	EXPECT_EQ(-1, ps_knob_set("skipped_unchanged", "0"));
	EXPECT_EQ(-1, ps_knob_set("full_scans", "0"));

	if (self->knobs.hash_bits >= 0) {
		EXPECT_EQ(-1, ps_write_file(PS_HASH_BITS, "0"));
		EXPECT_EQ(-1, ps_write_file(PS_HASH_BITS, "65"));
		EXPECT_EQ(64, ps_hash_bits());
		EXPECT_EQ(0, ps_write_file(PS_HASH_BITS, "1"));
		EXPECT_EQ(1, ps_hash_bits());
		EXPECT_EQ(0, ps_write_file(PS_HASH_BITS, "64"));
	}
}

TEST_HARNESS_MAIN
