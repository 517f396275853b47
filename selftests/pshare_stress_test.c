// SPDX-License-Identifier: GPL-2.0
/*
 * Integrity under sharing: worker threads rewrite pages of several regions
 * while the scanner merges and unmerges them as fast as it can, and check
 * that no page ever holds anything but what its owner last wrote.
 *
 * Each worker owns a disjoint set of pages and keeps a shadow copy of them.
 * It writes whole pages drawn from a few patterns (so that many pages are
 * identical and get merged) or zeros, changes a few bytes, punches pages or
 * parts of pages, and verifies random pages against the shadow through the
 * mapping and with pread(). Writes go through the mapping (CPU stores, copy
 * on write from the fault path) and through pwrite(). Meanwhile the main
 * thread runs the scanner with sleep_millisecs=0, with the hash cut to 4
 * bits for the first third of the run (collisions everywhere: only full
 * compares keep different pages apart) and full hashes after that, and now
 * and then unmerges everything (run=2) and restarts it.
 *
 * The run lasts PSHARE_STRESS_SECONDS (default 20). At the end every page
 * must equal its shadow, and merging must have happened (pages_sharing > 0
 * was seen), or the test exercised nothing.
 *
 * The soak variant runs the same on more regions (8, two sharing domains)
 * for PSHARE_SOAK_SECONDS (default 60; `make soak` runs it for minutes),
 * with a backing file per region and limit_pages at an eighth of what the
 * regions would hold (sharing and zero pages often save more than half),
 * so pages go out and come back in all the time, and
 * with balloon-style punches of runs of up to 64 pages. Workers then own
 * runs of 64 pages instead of single pages, so that a run punched is one
 * worker's. It must have paged out and in, besides merging.
 */
#include "pshare_share.h"

#include <pthread.h>
#include <sys/mount.h>

#define MAX_REGIONS	8
#define NTHREADS	4
#define NPATTERNS	6

#define STRESS_SECONDS_MAX	3000

enum op {
	OP_STORE,	/* whole pattern page through the mapping */
	OP_PWRITE,	/* whole pattern page with pwrite */
	OP_ZERO,	/* a page of zeros, through the mapping or pwrite */
	OP_PARTIAL,	/* a few random bytes, through the mapping or pwrite */
	OP_PUNCH,	/* punch the whole page, or a part of it */
	OP_BALLOON,	/* punch a run of pages, as a balloon inflating (soak) */
	OP_VERIFY,	/* compare with the shadow, mapping and pread */
	OP_MAX,
};

static const char *const op_names[OP_MAX] = {
	"store", "pwrite", "zero", "partial", "punch", "balloon", "verify",
};

struct stress {
	int nregions;
	unsigned long region_pages;
	unsigned long total;		/* pages of all regions */
	unsigned long chunk;		/* a worker owns runs of this many pages */
	bool balloon;
	int fd[MAX_REGIONS];
	int backing[MAX_REGIONS];	/* -1: none */
	unsigned char *map[MAX_REGIONS];
	unsigned char *shadow;		/* total pages */
	unsigned char pattern[NPATTERNS][PS_PAGE];
	struct ps_run_state run;
};

struct worker {
	pthread_t tid;
	int id;
	struct stress *s;
	uint64_t rnd;
	unsigned long ops[OP_MAX];
	unsigned long long bytes_verified;
	struct ps_failure fail;
};

static unsigned char *shadow_of(struct stress *s, unsigned long g)
{
	return s->shadow + g * PS_PAGE;
}

static unsigned char *map_of(struct stress *s, unsigned long g)
{
	return s->map[g / s->region_pages] + (g % s->region_pages) * PS_PAGE;
}

static int fd_of(struct stress *s, unsigned long g)
{
	return s->fd[g / s->region_pages];
}

static off_t off_of(struct stress *s, unsigned long g)
{
	return (off_t)(g % s->region_pages) * PS_PAGE;
}

/* The worker that owns page @g. */
static int owner_of(struct stress *s, unsigned long g)
{
	return (g / s->chunk) % NTHREADS;
}

static size_t first_diff(const unsigned char *a, const unsigned char *b)
{
	size_t i;

	for (i = 0; i < PS_PAGE; i++)
		if (a[i] != b[i])
			return i;
	return PS_PAGE;
}

/* Compare page @g with its shadow through the mapping and with pread. */
static bool verify_page(struct worker *w, unsigned long g, const char *when)
{
	struct stress *s = w->s;
	unsigned char buf[PS_PAGE];
	const unsigned char *want = shadow_of(s, g);
	ssize_t n;
	size_t d;

	if (memcmp(map_of(s, g), want, PS_PAGE)) {
		d = first_diff(map_of(s, g), want);
		ps_fail(&w->fail, "%s: region %lu page %lu through the mapping: byte %zu is %#x, expected %#x",
		     when, g / s->region_pages, g % s->region_pages, d,
		     map_of(s, g)[d], want[d]);
		return false;
	}
	n = pread(fd_of(s, g), buf, PS_PAGE, off_of(s, g));
	if (n != (ssize_t)PS_PAGE) {
		ps_fail(&w->fail, "%s: pread of region %lu page %lu: %zd (%s)", when,
		     g / s->region_pages, g % s->region_pages, n, strerror(errno));
		return false;
	}
	if (memcmp(buf, want, PS_PAGE)) {
		d = first_diff(buf, want);
		ps_fail(&w->fail, "%s: region %lu page %lu with pread: byte %zu is %#x, expected %#x",
		     when, g / s->region_pages, g % s->region_pages, d, buf[d], want[d]);
		return false;
	}
	w->bytes_verified += 2 * PS_PAGE;
	return true;
}

static bool do_pwrite(struct worker *w, unsigned long g, const void *p,
		      size_t len, size_t off)
{
	struct stress *s = w->s;
	ssize_t n = pwrite(fd_of(s, g), p, len, off_of(s, g) + off);

	if (n != (ssize_t)len) {
		ps_fail(&w->fail, "pwrite of %zu bytes at region %lu page %lu + %zu: %zd (%s)",
		     len, g / s->region_pages, g % s->region_pages, off, n,
		     strerror(errno));
		return false;
	}
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	static const unsigned char zeros[PS_PAGE];
	unsigned char bytes[64];

	while (!atomic_load(&s->run.stop)) {
		uint64_t r = ps_rnd(&w->rnd);
		/* One of this worker's runs: (run number % NTHREADS) == id. */
		unsigned long run = w->id + NTHREADS *
				    (r % (s->total / s->chunk / NTHREADS));
		unsigned long g = run * s->chunk + (r >> 20) % s->chunk;
		unsigned int dice = (r >> 32) % 100;
		unsigned char *sh = shadow_of(s, g);
		bool by_map = (r >> 40) & 1;
		enum op op;

		if (dice < 25)
			op = OP_STORE;
		else if (dice < 45)
			op = OP_PWRITE;
		else if (dice < 53)
			op = OP_ZERO;
		else if (dice < 61)
			op = OP_PARTIAL;
		else if (dice < 63 || (dice < 65 && !s->balloon))
			op = OP_PUNCH;
		else if (dice < 65)
			op = OP_BALLOON;
		else
			op = OP_VERIFY;
		w->ops[op]++;

		switch (op) {
		case OP_STORE:
		case OP_PWRITE: {
			const unsigned char *pat = s->pattern[(r >> 48) % NPATTERNS];

			if (op == OP_STORE)
				memcpy(map_of(s, g), pat, PS_PAGE);
			else if (!do_pwrite(w, g, pat, PS_PAGE, 0))
				break;
			memcpy(sh, pat, PS_PAGE);
			break;
		}
		case OP_ZERO:
			if (by_map)
				memset(map_of(s, g), 0, PS_PAGE);
			else if (!do_pwrite(w, g, zeros, PS_PAGE, 0))
				break;
			memset(sh, 0, PS_PAGE);
			break;
		case OP_PARTIAL: {
			size_t len = 1 + (r >> 48) % sizeof(bytes);
			size_t off = ps_rnd(&w->rnd) % (PS_PAGE - len + 1);
			size_t i;

			for (i = 0; i < len; i++)
				bytes[i] = ps_rnd(&w->rnd);
			if (by_map)
				memcpy(map_of(s, g) + off, bytes, len);
			else if (!do_pwrite(w, g, bytes, len, off))
				break;
			memcpy(sh + off, bytes, len);
			break;
		}
		case OP_PUNCH: {
			/* Half the time the whole page, else a part of it. */
			size_t len = by_map ? PS_PAGE : 1 + (r >> 48) % (PS_PAGE - 1);
			size_t off = ps_rnd(&w->rnd) % (PS_PAGE - len + 1);

			if (fallocate(fd_of(s, g),
				      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      off_of(s, g) + off, len)) {
				ps_fail(&w->fail, "punching %zu bytes at region %lu page %lu + %zu: %s",
				     len, g / s->region_pages, g % s->region_pages,
				     off, strerror(errno));
				break;
			}
			memset(sh + off, 0, len);
			break;
		}
		case OP_BALLOON: {
			/* From g to at most the end of its run. */
			unsigned long n = 1 + (r >> 48) % (s->chunk - g % s->chunk);

			if (fallocate(fd_of(s, g),
				      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      off_of(s, g), n * PS_PAGE)) {
				ps_fail(&w->fail, "punching %lu pages at region %lu page %lu: %s",
				     n, g / s->region_pages, g % s->region_pages,
				     strerror(errno));
				break;
			}
			memset(sh, 0, n * PS_PAGE);
			break;
		}
		case OP_VERIFY:
			verify_page(w, g, "during the run");
			break;
		case OP_MAX:
			break;
		}
	}
	return NULL;
}

FIXTURE(stress) {
	struct ps_knobs knobs;
	bool knobs_set;
	long long limit_found;		/* -1: limit_pages untouched */
	struct stress s;
	char path[MAX_REGIONS][PATH_MAX];
	char mnt2[64];
	struct ps_counters base;
};

/* The plain run and the soak: sizes, length, paging and balloon punches. */
FIXTURE_VARIANT(stress) {
	int nregions;
	unsigned long region_pages;
	unsigned long chunk;
	const char *seconds_env;
	int seconds;
	bool paging;		/* backing files, limit_pages at an eighth */
};

FIXTURE_VARIANT_ADD(stress, plain) {
	.nregions = 3,
	.region_pages = 1024,		/* 4 MiB each */
	.chunk = 1,
	.seconds_env = "PSHARE_STRESS_SECONDS",
	.seconds = 20,
	.paging = false,
};

FIXTURE_VARIANT_ADD(stress, soak) {
	.nregions = MAX_REGIONS,
	.region_pages = 512,		/* 2 MiB each */
	.chunk = 64,
	.seconds_env = "PSHARE_SOAK_SECONDS",
	.seconds = 60,
	.paging = true,
};

FIXTURE_SETUP(stress)
{
	const char *why;
	int i;

	for (i = 0; i < MAX_REGIONS; i++)
		self->s.fd[i] = self->s.backing[i] = -1;
	self->limit_found = -1;
	self->s.nregions = variant->nregions;
	self->s.region_pages = variant->region_pages;
	self->s.total = variant->nregions * variant->region_pages;
	self->s.chunk = variant->chunk;
	self->s.balloon = variant->chunk > 1;
	PS_REQUIRE_ENV();
	why = ps_sharing_missing();
	if (why)
		PS_SKIP("%s", why);
	ps_knobs_save(_metadata, &self->knobs);
	self->knobs_set = true;
	ps_scan_fast(_metadata, &self->knobs, 0);
	ps_counters(_metadata, &self->base);

	/* The last region in a mount of its own: another sharing domain. */
	strcpy(self->mnt2, "/tmp/pshare-stress.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->mnt2));
	if (mount("pshare", self->mnt2, "pshare", 0, NULL)) {
		rmdir(self->mnt2);
		self->mnt2[0] = 0;
		ASSERT_TRUE(false) TH_LOG("mount -t pshare: %s", strerror(errno));
	}
	/* The last region (soak: the last quarter) in that other mount. */
	for (i = 0; i < self->s.nregions; i++) {
		size_t bytes = self->s.region_pages * PS_PAGE;

		snprintf(self->path[i], PATH_MAX, "%s/stress.XXXXXX",
			 i >= self->s.nregions - (self->s.nregions + 3) / 4 ?
			 self->mnt2 : ps_mnt());
		self->s.fd[i] = mkstemp(self->path[i]);
		ASSERT_LE(0, self->s.fd[i]) TH_LOG("mkstemp: %s", strerror(errno));
		ASSERT_EQ(0, ftruncate(self->s.fd[i], bytes));
		self->s.map[i] = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				      MAP_SHARED, self->s.fd[i], 0);
		ASSERT_NE(MAP_FAILED, self->s.map[i]);
	}
	if (variant->paging) {
		int dev = open(PS_DEV, O_RDWR);

		ASSERT_LE(0, dev);
		for (i = 0; i < self->s.nregions; i++) {
			struct pshare_region_backing b = { .argsz = sizeof(b) };

			self->s.backing[i] = open("/tmp", O_TMPFILE | O_RDWR, 0600);
			ASSERT_LE(0, self->s.backing[i]);
			b.fd = self->s.fd[i];
			b.backing_fd = self->s.backing[i];
			ASSERT_EQ(0, ioctl(dev, PSHARE_IOC_REGION_SET_BACKING, &b))
				TH_LOG("SET_BACKING: %s", strerror(errno));
		}
		close(dev);
		self->limit_found = ps_sysfs("limit_pages");
		ASSERT_LE(0, self->limit_found);
	}
	/* Holes read as zeros: so does the shadow. */
	self->s.shadow = calloc(self->s.total, PS_PAGE);
	ASSERT_NE(NULL, self->s.shadow);
	for (i = 0; i < NPATTERNS; i++)
		ps_fill(self->s.pattern[i], PS_PAGE, 200 + i);
}

FIXTURE_TEARDOWN(stress)
{
	int i;

	if (self->limit_found >= 0)
		ps_knob_set_num("limit_pages", self->limit_found);
	for (i = 0; i < self->s.nregions; i++) {
		if (self->s.map[i] && self->s.map[i] != MAP_FAILED)
			munmap(self->s.map[i], self->s.region_pages * PS_PAGE);
		if (self->s.fd[i] >= 0) {
			close(self->s.fd[i]);
			unlink(self->path[i]);
		}
		if (self->s.backing[i] >= 0)
			close(self->s.backing[i]);
	}
	free(self->s.shadow);
	if (self->knobs_set)
		ps_knobs_restore(&self->knobs);
	if (self->mnt2[0]) {
		umount(self->mnt2);
		rmdir(self->mnt2);
	}
}

static int stress_seconds(const FIXTURE_VARIANT(stress) *variant)
{
	const char *e = getenv(variant->seconds_env);
	int sec = e && *e ? atoi(e) : variant->seconds;

	if (sec < 1)
		sec = 1;
	return sec > STRESS_SECONDS_MAX ? STRESS_SECONDS_MAX : sec;
}

/*
 * The region stats ioctl reads a region's four page counts as one
 * snapshot: taken while the workers write, the scanner merges and the
 * reclaimer pages out and in, they never add up to more than the region.
 */
struct count_check {
	int dev;
	unsigned long snapshots;
	unsigned long over;
	unsigned long errors;
	int err;
	char first_over[160];
};

static void check_counts(struct stress *s, struct count_check *cc)
{
	struct pshare_region_stats st;
	int i;

	for (i = 0; i < s->nregions; i++) {
		if (ps_stats(cc->dev, s->fd[i], &st)) {
			cc->err = errno;
			cc->errors++;
			continue;
		}
		cc->snapshots++;
		if (ps_pages_counted(&st) > s->region_pages && !cc->over++)
			snprintf(cc->first_over, sizeof(cc->first_over),
				 "region %d: private %llu + zero %llu + shared %llu + paged %llu > %lu pages",
				 i, (unsigned long long)st.pages_private,
				 (unsigned long long)st.pages_zero,
				 (unsigned long long)st.pages_shared,
				 (unsigned long long)st.pages_paged, s->region_pages);
	}
}

TEST_F_TIMEOUT(stress, integrity, STRESS_SECONDS_MAX + 600)
{
	struct worker w[NTHREADS];
	long long sharing, max_sharing = 0, max_zero = 0, zero;
	unsigned long long bytes = 0, ops = 0, op_total[OP_MAX] = { 0 };
	double start, end, next_toggle;
	bool collisions = false;
	int sec = stress_seconds(variant), toggles = 0, i;
	long long out0 = ps_sysfs("paged_out"), in0 = ps_sysfs("paged_in");
	long long out = 0, in = 0;
	struct ps_counters c, end_c;
	struct count_check cc = { .dev = -1 };
	uint64_t seed;
	unsigned long g;

	seed = (uint64_t)time(NULL) * 2654435761u ^ getpid();
	PS_NOTE("stress: %d s, %d threads, %d regions of %lu pages%s, seed %#llx",
		sec, NTHREADS, self->s.nregions, self->s.region_pages,
		variant->paging ? ", paging" : "", (unsigned long long)seed);
	if (variant->paging) {
		char v[32];

		/*
		 * An eighth of what the regions would hold, on top of what is
		 * held: at half, a run whose merging and zero pages saved more
		 * than half never reached the limit (paged_out +0).
		 */
		snprintf(v, sizeof(v), "%lld", ps_sysfs("pages_private") +
			 ps_sysfs("pages_shared") + (long long)self->s.total / 8);
		PS_KNOB_SET("limit_pages", v);
	}
	if (self->knobs.hash_bits >= 0) {
		ASSERT_EQ(0, ps_write_file(PS_HASH_BITS, "4"));
		collisions = true;
	}
	PS_KNOB_SET("run", "1");

	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		w[i].s = &self->s;
		w[i].fail.run = &self->s.run;
		w[i].rnd = seed + 0x9e3779b97f4a7c15ULL * (i + 1);
		ASSERT_EQ(0, pthread_create(&w[i].tid, NULL, worker_main, &w[i]));
	}

	cc.dev = open(PS_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, cc.dev) TH_LOG("%s: %s", PS_DEV, strerror(errno));
	start = ps_now();
	end = start + sec;
	next_toggle = start + 2;
	while (ps_now() < end && !atomic_load(&self->s.run.failed)) {
		check_counts(&self->s, &cc);
		sharing = ps_sysfs("pages_sharing");
		zero = ps_sysfs("pages_zero");
		if (sharing > max_sharing)
			max_sharing = sharing;
		if (zero > max_zero)
			max_zero = zero;
		if (collisions && ps_now() >= start + sec / 3.0) {
			EXPECT_EQ(0, ps_write_file(PS_HASH_BITS, "64"));
			collisions = false;
		}
		if (ps_now() >= next_toggle) {
			/* Unmerge everything under the writers' feet. */
			EXPECT_EQ(0, ps_knob_set("run", "2"));
			EXPECT_EQ(0, ps_knob_set("run", "1"));
			toggles++;
			next_toggle = ps_now() + 2 + toggles % 3;
		}
		usleep(20 * 1000);
	}
	atomic_store(&self->s.run.stop, 1);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(w[i].tid, NULL);
	close(cc.dev);
	EXPECT_EQ(0, cc.errors) TH_LOG("region stats failed: %s", strerror(cc.err));
	EXPECT_EQ(0, cc.over) TH_LOG("%s", cc.first_over);
	EXPECT_LT(0, cc.snapshots);
	if (collisions)
		EXPECT_EQ(0, ps_write_file(PS_HASH_BITS, "64"));
	sharing = ps_sysfs("pages_sharing");
	if (sharing > max_sharing)
		max_sharing = sharing;

	/* Every page, first with the scanner still at work, then unmerged. */
	for (g = 0; g < self->s.total && !atomic_load(&self->s.run.failed); g++)
		verify_page(&w[owner_of(&self->s, g)], g, "at the end");
	ps_counters(_metadata, &c);
	if (variant->paging) {
		out = ps_sysfs("paged_out") - out0;
		in = ps_sysfs("paged_in") - in0;
		PS_KNOB_SET("limit_pages", "0");
	}
	PS_KNOB_SET("run", "2");
	for (g = 0; g < self->s.total && !atomic_load(&self->s.run.failed); g++)
		verify_page(&w[owner_of(&self->s, g)], g, "after unmerging");
	EXPECT_EQ(0, ps_sysfs("pages_shared"));
	EXPECT_EQ(0, ps_sysfs("pages_sharing"));

	/* Gone, the regions leave no frame behind. */
	for (i = 0; i < self->s.nregions; i++) {
		munmap(self->s.map[i], self->s.region_pages * PS_PAGE);
		self->s.map[i] = NULL;
		close(self->s.fd[i]);
		self->s.fd[i] = -1;
		unlink(self->path[i]);
	}
	ps_wait_regions(self->base.regions);
	ps_counters(_metadata, &end_c);
	EXPECT_EQ(self->base.regions, end_c.regions);
	EXPECT_EQ(self->base.pages_private, end_c.pages_private);
	EXPECT_EQ(self->base.pages_zero, end_c.pages_zero);

	for (i = 0; i < NTHREADS; i++) {
		int o;

		EXPECT_EQ(0, w[i].fail.why[0]) TH_LOG("worker %d: %s", i, w[i].fail.why);
		for (o = 0; o < OP_MAX; o++) {
			op_total[o] += w[i].ops[o];
			ops += w[i].ops[o];
		}
		bytes += w[i].bytes_verified;
	}
	{
		char line[512];
		size_t len = 0;

		for (i = 0; i < OP_MAX; i++)
			len += snprintf(line + len, sizeof(line) - len, "%s%s %llu",
					i ? ", " : "", op_names[i], op_total[i]);
		PS_NOTE("stress: %d s: %llu operations (%s), %llu bytes verified, %d unmerges",
			sec, ops, line, bytes, toggles);
	}
	PS_NOTE("stress: max pages_sharing %lld, max pages_zero %lld; during the run: cow_breaks +%lld, false_matches +%lld, hint_hits +%lld, stale_hints +%lld, merge_busy +%lld, pages_scanned +%lld, paged_out +%lld, paged_in +%lld",
		max_sharing, max_zero, c.cow_breaks - self->base.cow_breaks,
		c.false_matches - self->base.false_matches,
		c.hint_hits - self->base.hint_hits,
		c.stale_hints - self->base.stale_hints,
		c.merge_busy - self->base.merge_busy,
		c.pages_scanned - self->base.pages_scanned, out, in);
	PS_NOTE("stress: %lu snapshots of the regions' page counts, none above the region size",
		cc.snapshots);
	EXPECT_GT(max_sharing, 0) TH_LOG("nothing was ever merged: the run tested nothing");
	if (variant->paging) {
		EXPECT_GT(out, 0) TH_LOG("nothing was paged out: the limit did not bite");
		EXPECT_GT(in, 0) TH_LOG("nothing was paged back in");
	}
	EXPECT_GT(c.cow_breaks - self->base.cow_breaks, 0);
	EXPECT_LT(0, ops);
}

TEST_HARNESS_MAIN
