// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: every allocation on pshare's paths fails in turn.
 *
 * For each path the test arms /proc/self/task/<tid>/fail-nth with n = 1,
 * 2, 3, ... and runs one operation: the n-th allocation the task makes
 * then fails (slab and page allocator alike: the fixture turns off
 * failslab's and fail_page_alloc's exemptions for sleeping, highmem and
 * order-0 allocations). The operation must fail cleanly (ENOMEM, or
 * SIGBUS for a fault) or absorb the failure (a page fault that returns
 * VM_FAULT_OOM is retried), leave the data already written intact and
 * the region's counters consistent; the loop ends at the first n that
 * injected nothing, where the operation must succeed. The number of
 * faults injected on each path is printed.
 *
 * Paths: region creation, mount, the first write fault on a hole, a read
 * fault on a hole, write(2) to a hole, copy-on-write breaks of the zero
 * frame and of a shared frame (fault and partial hole punch), unmerging,
 * merging, page-out and page-in (read(2) and fault), and every ioctl.
 * Merging and page-out run in kernel threads: the test runs them in its
 * own task through the debugfs files scan_now and reclaim_now, so fail-nth
 * reaches them. The scanner thread itself gets random failures of its own
 * allocations instead (failslab and fail_page_alloc with task-filter and
 * make-it-fail on it); the reclaim worker and the sampler, which run in
 * shared kworkers, are not made to fail. kmemleak (debug kernel, scanned
 * after the run by scripts/vm-init.sh) catches what an error path forgets
 * to free; the end of each test checks that no frame or region is left
 * behind.
 *
 * Without fault injection in the kernel (the stock Debian kernel) every
 * test reports SKIP.
 */
#include "pshare_share.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define FAILSLAB	"/sys/kernel/debug/failslab"
#define FAILPAGE	"/sys/kernel/debug/fail_page_alloc"
#define SCAN_NOW	"/sys/kernel/debug/pshare/scan_now"
#define RECLAIM_NOW	"/sys/kernel/debug/pshare/reclaim_now"
#define NP		128		/* pages of the test region */
#define FI_MAX		5000		/* attempts before giving up */
#define FI_SIGBUS	1000		/* an op's result: SIGBUS */

/*
 * Fault injection settings for the run, and the values found; a NULL
 * value is only saved and put back (the scanner thread test sets it).
 */
static struct {
	const char *path;
	const char *val;
	char found[32];
} fi_attrs[] = {
	{ .path = FAILSLAB "/ignore-gfp-wait", .val = "N" },
	{ .path = FAILSLAB "/verbose", .val = "0" },
	{ .path = FAILPAGE "/ignore-gfp-wait", .val = "N" },
	{ .path = FAILPAGE "/ignore-gfp-highmem", .val = "N" },
	{ .path = FAILPAGE "/min-order", .val = "0" },
	{ .path = FAILPAGE "/verbose", .val = "0" },
	{ .path = FAILSLAB "/task-filter" },
	{ .path = FAILSLAB "/probability" },
	{ .path = FAILSLAB "/interval" },
	{ .path = FAILSLAB "/times" },
	{ .path = FAILPAGE "/task-filter" },
	{ .path = FAILPAGE "/probability" },
	{ .path = FAILPAGE "/interval" },
	{ .path = FAILPAGE "/times" },
};

/* The scratch file system a backing file lives on, when a test made one. */
static struct ps_scratch_fs fi_disk;

/* The scanner thread while it is made to fail: its make-it-fail is reset. */
static char fi_scand_fail[64];
#define NATTRS	(sizeof(fi_attrs) / sizeof(fi_attrs[0]))

FIXTURE(fault) {
	int nth;		/* this task's fail-nth */
	int dev;
	bool attrs_set;
	struct ps_knobs knobs;
	bool knobs_saved;
	long long limit_found;
	struct ps_counters base;
	struct ps_region r;
	unsigned char *map;
	unsigned char (*shadow)[PS_PAGE];	/* NP pages */
	int backing;
	int seq;		/* names of created files and mounts */
	char dir[64];
};

static int fi_read_attr(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

FIXTURE_SETUP(fault)
{
	char path[64];
	size_t i;

	self->nth = self->dev = self->backing = -1;
	self->r.fd = -1;
	self->r.path[0] = 0;
	self->map = NULL;
	self->shadow = NULL;
	self->attrs_set = self->knobs_saved = false;
	self->dir[0] = 0;
	PS_REQUIRE_ENV();
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	self->nth = open(path, O_RDWR);
	if (self->nth < 0)
		PS_SKIP("no %s: the kernel has no fault injection (CONFIG_FAULT_INJECTION)", path);
	if (access(FAILSLAB, F_OK) || access(FAILPAGE, F_OK))
		PS_SKIP("no " FAILSLAB " or " FAILPAGE " (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS)");
	for (i = 0; i < NATTRS; i++) {
		ASSERT_EQ(0, fi_read_attr(fi_attrs[i].path, fi_attrs[i].found,
					  sizeof(fi_attrs[i].found)))
			TH_LOG("cannot read %s", fi_attrs[i].path);
	}
	self->attrs_set = true;
	for (i = 0; i < NATTRS; i++) {
		if (!fi_attrs[i].val)
			continue;
		ASSERT_EQ(0, ps_write_file(fi_attrs[i].path, fi_attrs[i].val))
			TH_LOG("%s: %s", fi_attrs[i].path, strerror(errno));
	}

	ps_knobs_save(_metadata, &self->knobs);
	self->limit_found = ps_sysfs("limit_pages");
	self->knobs_saved = true;
	PS_KNOB_SET("run", "2");
	PS_KNOB_SET("run", "0");
	ps_counters(_metadata, &self->base);

	self->dev = open(PS_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	ps_region_create(_metadata, &self->r, NP * PS_PAGE);
	self->map = mmap(NULL, NP * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	/* Data written before any fault: page 0; the rest are holes. */
	self->shadow = calloc(NP, PS_PAGE);
	ASSERT_NE(NULL, self->shadow);
	ps_fill(self->shadow[0], PS_PAGE, 90);
	ps_pwrite_page(_metadata, self->r.fd, 0, 90);
}

FIXTURE_TEARDOWN(fault)
{
	size_t i;

	if (self->nth >= 0) {
		/* Nothing armed from here on. */
		if (pwrite(self->nth, "0", 1, 0) != 1)
			TH_LOG("disarming fail-nth: %s", strerror(errno));
		close(self->nth);
	}
	free(self->shadow);
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, NP * PS_PAGE);
	ps_region_destroy(&self->r);
	if (self->backing >= 0)
		close(self->backing);
	ps_scratch_fs_remove(&fi_disk);
	if (self->dev >= 0)
		close(self->dev);
	if (self->dir[0]) {
		umount2(self->dir, MNT_DETACH);
		rmdir(self->dir);
	}
	if (fi_scand_fail[0])
		ps_write_file(fi_scand_fail, "0");
	/* The scanner no longer fails before the settings go back. */
	if (self->attrs_set)
		for (i = NATTRS; i-- > 0;)
			ps_write_file(fi_attrs[i].path, fi_attrs[i].found);
	if (self->knobs_saved) {
		ps_knob_set_num("limit_pages", self->limit_found);
		ps_knobs_restore(&self->knobs);
	}
}

/* ----------------------------------------------------------------------
 * The loop
 * ---------------------------------------------------------------------- */

static void fi_arm(FIXTURE_DATA(fault) *self, int n)
{
	char v[16];
	int len = snprintf(v, sizeof(v), "%d", n);

	if (pwrite(self->nth, v, len, 0) != len)
		abort();
}

/* Was the armed fault injected? Disarms in any case. */
static bool fi_fired(FIXTURE_DATA(fault) *self)
{
	char v[16] = "";

	if (pread(self->nth, v, sizeof(v) - 1, 0) <= 0)
		abort();
	if (pwrite(self->nth, "0", 1, 0) != 1)
		abort();
	return atoi(v) == 0;
}

/*
 * One path: how to set it up, the operation, and what must hold after.
 * After every attempt (nothing armed) each page must read as its shadow
 * says and the region's counters must add up.
 */
struct fi_path {
	const char *name;
	/* Before each attempt, nothing armed. */
	void (*prepare)(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self);
	/* The operation: 0, an errno, or FI_SIGBUS. */
	int (*op)(FIXTURE_DATA(fault) *self);
	/*
	 * After each attempt, with its result: update the shadow for what
	 * the operation did, and check what the path leaves besides pages.
	 */
	void (*done)(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
		     int res);
	/* Did an attempt that injected nothing do its work (not a worker)? */
	bool (*worked)(FIXTURE_DATA(fault) *self);
};

static void fi_verify(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
		      const char *what);
static void fi_counts(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
		      const char *what);

static const char *fi_res(int res)
{
	return res == FI_SIGBUS ? "SIGBUS" : res ? strerror(res) : "success";
}

static void fi_run(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
		   const struct fi_path *p)
{
	int n, res, injected = 0, errors = 0, sigbus = 0, races = 0;
	bool fired;

	for (n = 1; n <= FI_MAX; n++) {
		if (p->prepare)
			p->prepare(_metadata, self);
		fi_arm(self, n);
		res = p->op(self);
		fired = fi_fired(self);
		if (p->done)
			p->done(_metadata, self, res);
		fi_verify(_metadata, self, p->name);
		fi_counts(_metadata, self, p->name);
		if (!fired) {
			ASSERT_EQ(0, res) TH_LOG("%s: failed with %s and nothing injected",
						 p->name, fi_res(res));
			if (p->worked && !p->worked(self)) {
				/* A worker did it first: this n again. */
				ASSERT_LT(++races, 50) TH_LOG("%s: the worker always wins", p->name);
				n--;
				continue;
			}
			break;
		}
		injected++;
		if (res == FI_SIGBUS)
			sigbus++;
		else if (res)
			errors++;
		ASSERT_TRUE(res == 0 || res == ENOMEM || res == FI_SIGBUS)
			TH_LOG("%s: the %d-th allocation failed and it returned %s",
			       p->name, n, fi_res(res));
	}
	ASSERT_LE(n, FI_MAX) TH_LOG("%s: still injecting after %d attempts", p->name, FI_MAX);
	PS_NOTE("fault: %-42s %3d faults injected: %d ENOMEM, %d SIGBUS, %d absorbed (retried or fallen back)",
		p->name, injected, errors, sigbus, injected - errors - sigbus);
}

/* ----------------------------------------------------------------------
 * Checks
 * ---------------------------------------------------------------------- */

static __thread sigjmp_buf fi_jmp;

static void fi_on_sigbus(int sig)
{
	siglongjmp(fi_jmp, sig);
}

/* A load or a store through the mapping: 0, or FI_SIGBUS. */
static __attribute__((noinline)) int fi_access(volatile unsigned char *p,
					       bool store, unsigned char v)
{
	struct sigaction sa = { .sa_handler = fi_on_sigbus }, old;
	int res = 0;

	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(fi_jmp, 1)) {
		if (store)
			*p = v;
		else
			(void)*p;
	} else {
		res = FI_SIGBUS;
	}
	sigaction(SIGBUS, &old, NULL);
	return res;
}

/* Every page reads what the shadow says, with pread and the mapping. */
static void fi_verify(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
		      const char *what)
{
	unsigned char buf[PS_PAGE];
	int pg;

	for (pg = 0; pg < NP; pg++) {
		ASSERT_EQ((ssize_t)PS_PAGE, pread(self->r.fd, buf, PS_PAGE, pg * PS_PAGE))
			TH_LOG("%s: pread page %d: %s", what, pg, strerror(errno));
		ASSERT_EQ(0, memcmp(buf, self->shadow[pg], PS_PAGE))
			TH_LOG("%s: page %d differs (pread)", what, pg);
		ASSERT_EQ(0, memcmp(self->map + pg * PS_PAGE, self->shadow[pg], PS_PAGE))
			TH_LOG("%s: page %d differs (mapping)", what, pg);
	}
}

/*
 * The region's counters add up: no page counted twice. The ioctl reads the
 * four as one snapshot, even while the reclaim worker pages frames out and
 * in on another CPU.
 */
static void fi_counts(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
		      const char *what)
{
	struct pshare_region_stats st;

	PS_STATS(self->dev, self->r.fd, &st);
	ASSERT_GE((unsigned long long)NP, ps_pages_counted(&st))
		TH_LOG("%s: private %llu zero %llu shared %llu paged %llu in %d pages",
		       what, (unsigned long long)st.pages_private,
		       (unsigned long long)st.pages_zero,
		       (unsigned long long)st.pages_shared,
		       (unsigned long long)st.pages_paged, NP);
}

/* Punch pages @pg..@pg+@n-1: holes, reading zeros. */
static void fi_punch(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
		     int pg, int n)
{
	ASSERT_EQ(0, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       pg * PS_PAGE, n * PS_PAGE));
	memset(self->shadow[pg], 0, n * PS_PAGE);
}

/* The region and everything it held are gone when the test ends. */
static void fi_all_freed(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	struct ps_counters c;

	munmap(self->map, NP * PS_PAGE);
	self->map = NULL;
	ps_region_destroy(&self->r);
	PS_KNOB_SET("run", "2");
	PS_KNOB_SET("run", "0");
	ps_wait_regions(self->base.regions);
	ps_counters(_metadata, &c);
	EXPECT_EQ(self->base.regions, c.regions);
	EXPECT_EQ(self->base.pages_private, c.pages_private);
	EXPECT_EQ(self->base.pages_zero, c.pages_zero);
	EXPECT_EQ(0, c.pages_shared);
}

/* ----------------------------------------------------------------------
 * Creating regions and mounts
 * ---------------------------------------------------------------------- */

static int fi_last_fd = -1;
static char fi_last_path[PATH_MAX];

static int op_create(FIXTURE_DATA(fault) *self)
{
	snprintf(fi_last_path, sizeof(fi_last_path), "%s/fault.%d.%d", ps_mnt(),
		 getpid(), ++self->seq);
	fi_last_fd = open(fi_last_path, O_RDWR | O_CREAT | O_EXCL, 0600);
	return fi_last_fd < 0 ? errno : 0;
}

static void done_create(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fault) *self, int res)
{
	unsigned char buf[PS_PAGE];

	if (res) {
		EXPECT_NE(0, access(fi_last_path, F_OK))
			TH_LOG("%s exists after a failed create", fi_last_path);
		EXPECT_EQ(self->base.regions + 1, ps_sysfs("regions"));
		return;
	}
	ps_fill(buf, PS_PAGE, 91);
	ASSERT_EQ(0, ftruncate(fi_last_fd, PS_PAGE));
	ASSERT_EQ((ssize_t)PS_PAGE, pwrite(fi_last_fd, buf, PS_PAGE, 0));
	ps_pread_page(_metadata, fi_last_fd, 0, 91);
	close(fi_last_fd);
	unlink(fi_last_path);
}

static int op_mount(FIXTURE_DATA(fault) *self)
{
	return mount("pshare", self->dir, "pshare", 0, "mode=0700") ? errno : 0;
}

static void done_mount(struct __test_metadata *_metadata,
			FIXTURE_DATA(fault) *self, int res)
{
	struct statfs sfs;

	ASSERT_EQ(0, statfs(self->dir, &sfs));
	if (res) {
		EXPECT_NE(PSHARE_FS_MAGIC, sfs.f_type) TH_LOG("mounted after a failure");
		return;
	}
	EXPECT_EQ(PSHARE_FS_MAGIC, sfs.f_type);
	ASSERT_EQ(0, umount(self->dir));
}

TEST_F(fault, create_and_mount)
{
	static const struct fi_path create = {
		"region creation (open O_CREAT)", NULL, op_create, done_create, NULL,
	};
	static const struct fi_path mnt = {
		"mount", NULL, op_mount, done_mount, NULL,
	};

	fi_run(_metadata, self, &create);
	strcpy(self->dir, "/tmp/pshare-fault.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	fi_run(_metadata, self, &mnt);
	fi_verify(_metadata, self, "at the end");
	fi_all_freed(_metadata, self);
}

/*
 * GUP turns a failed fault into EFAULT, and KVM then stops the guest: a
 * shortage on the way to a paged-out page must be waited out instead.
 */
static void done_gup_never_fails(struct __test_metadata *_metadata,
				 FIXTURE_DATA(fault) *self, int res)
{
	(void)self;
	EXPECT_EQ(0, res) TH_LOG("page-in through GUP failed with %s after one failed allocation",
				 fi_res(res));
}

/* ----------------------------------------------------------------------
 * Faults and writes on holes, copy-on-write of the zero frame
 * ---------------------------------------------------------------------- */

/*
 * Pages in the upper half of the region, which is all holes before each
 * attempt: the pmap then needs a new xarray node as well as a frame.
 */
#define PG_HIGH		(NP / 2)
#define PG_WFAULT	(PG_HIGH + 6)
#define PG_RFAULT	(PG_HIGH + 16)
#define PG_WRITE	(PG_HIGH + 26)
#define PG_ZCOW		(PG_HIGH + 36)

/* Make the upper half of the region a hole again. */
static void fi_punch_high(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	fi_punch(_metadata, self, PG_HIGH, NP - PG_HIGH);
}

/* A store of one byte through the mapping: the page, the offset, the value. */
static struct {
	int pg;
	int off;
	unsigned char v;
} fi_store;

static int op_store(FIXTURE_DATA(fault) *self)
{
	return fi_access(self->map + fi_store.pg * PS_PAGE + fi_store.off, true,
			 fi_store.v);
}

static void done_store(struct __test_metadata *_metadata __attribute__((unused)),
		       FIXTURE_DATA(fault) *self, int res)
{
	if (!res)
		self->shadow[fi_store.pg][fi_store.off] = fi_store.v;
}

/* The page of the next store is a hole. */
static void prep_wfault(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	fi_store.pg = PG_WFAULT;
	fi_store.off = 17;
	fi_store.v = 0x5a;
	fi_punch_high(_metadata, self);
}

static void prep_rfault(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	fi_punch_high(_metadata, self);
}

static int op_rfault(FIXTURE_DATA(fault) *self)
{
	return fi_access(self->map + PG_RFAULT * PS_PAGE, false, 0);
}

static void prep_write(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	fi_punch_high(_metadata, self);
}

static int op_write(FIXTURE_DATA(fault) *self)
{
	unsigned char buf[PS_PAGE];
	ssize_t n;

	ps_fill(buf, PS_PAGE, 92);
	n = pwrite(self->r.fd, buf, PS_PAGE, PG_WRITE * PS_PAGE);
	if (n < 0)
		return errno;
	return n == (ssize_t)PS_PAGE ? 0 : EIO;
}

static void done_write(struct __test_metadata *_metadata __attribute__((unused)),
		       FIXTURE_DATA(fault) *self, int res)
{
	if (!res)
		ps_fill(self->shadow[PG_WRITE], PS_PAGE, 92);
}

/* The same store through GUP, as KVM writes guest RAM: process_vm_writev(). */
static int op_store_gup(FIXTURE_DATA(fault) *self)
{
	struct iovec local = { &fi_store.v, 1 };
	struct iovec remote = { self->map + fi_store.pg * PS_PAGE + fi_store.off, 1 };

	return process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == 1 ? 0 : errno;
}

static void done_store_gup(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
			   int res)
{
	done_store(_metadata, self, res);
	done_gup_never_fails(_metadata, self, res);
}

/* The page maps the zero frame (read first): a store breaks copy-on-write. */
static void prep_zcow(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	fi_store.pg = PG_ZCOW;
	fi_store.off = 99;
	fi_store.v = 0xa5;
	fi_punch_high(_metadata, self);
	ASSERT_EQ(0, ps_touch(self->map + PG_ZCOW * PS_PAGE));
}


TEST_F(fault, faults_and_writes)
{
	static const struct fi_path paths[] = {
		{ "first write fault on a hole", prep_wfault, op_store, done_store, NULL },
		{ "read fault on a hole (zero frame)", prep_rfault, op_rfault, NULL, NULL },
		{ "write(2) to a hole", prep_write, op_write, done_write, NULL },
		{ "copy-on-write of the zero frame (fault)", prep_zcow, op_store, done_store, NULL },
		{ "first write to a hole by GUP", prep_wfault, op_store_gup, done_store_gup, NULL },
		{ "copy-on-write of the zero frame by GUP", prep_zcow, op_store_gup,
		  done_store_gup, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		fi_run(_metadata, self, &paths[i]);
	fi_all_freed(_metadata, self);
}

/* ----------------------------------------------------------------------
 * Shared frames: merging, copy-on-write, partial punch, unmerging
 * ---------------------------------------------------------------------- */

#define PG_A		5	/* pages 5 and 6: one content */
#define PG_B		6
#define PG_MERGE	8	/* pages 8..NP-1: pairs of equal pages */

static int fi_scan_now(void)
{
	return ps_write_file(SCAN_NOW, "4096") ? errno : 0;
}

static long long fi_region_shared(FIXTURE_DATA(fault) *self)
{
	struct pshare_region_stats st;

	if (ps_stats(self->dev, self->r.fd, &st))
		return -1;
	return st.pages_shared;
}

/* Pages A and B hold one content and share one frame; A is mapped. */
static void prep_shared(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	int i;

	PS_KNOB_SET("run", "2");
	PS_KNOB_SET("run", "0");
	for (i = 0; i < 2; i++) {
		int pg = i ? PG_B : PG_A;

		ps_pwrite_page(_metadata, self->r.fd, pg, 93);
		ps_fill(self->shadow[pg], PS_PAGE, 93);
	}
	/* The first pass may only hint one of them. */
	for (i = 0; i < 3 && fi_region_shared(self) < 2; i++) {
		ASSERT_EQ(0, fi_scan_now());
	}
	ASSERT_EQ(2, fi_region_shared(self)) TH_LOG("pages A and B did not merge");
	/* Map the shared frame read-only: the store then breaks copy-on-write. */
	ps_touch(self->map + PG_A * PS_PAGE);
	fi_store.pg = PG_A;
	fi_store.off = 5;
	fi_store.v = 0x3c;
}


static int op_shared_punch(FIXTURE_DATA(fault) *self)
{
	return fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 PG_A * PS_PAGE + 100, 200) ? errno : 0;
}

static void done_shared_punch(struct __test_metadata *_metadata __attribute__((unused)),
			      FIXTURE_DATA(fault) *self, int res)
{
	if (!res)
		memset(self->shadow[PG_A] + 100, 0, 200);
}

static int op_unmerge(FIXTURE_DATA(fault) *self __attribute__((unused)))
{
	return ps_knob_set("run", "2") ? errno : 0;
}

static void done_unmerge(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fault) *self, int res)
{
	if (!res)
		EXPECT_EQ(0, fi_region_shared(self));
	PS_KNOB_SET("run", "0");
}

/*
 * Pairs of equal pages, nothing merged, no hints: one scan merges them,
 * after hinting more pages than the smallest table holds, so the table
 * grows on the way.
 */
static void prep_merge(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	int pg;

	PS_KNOB_SET("run", "2");
	PS_KNOB_SET("run", "0");
	/* Rewriting hash_bits drops every hint: the table grows again. */
	if (self->knobs.hash_bits > 0)
		ASSERT_EQ(0, ps_write_file(PS_HASH_BITS, "64"));
	for (pg = PG_MERGE; pg < NP; pg++) {
		ps_pwrite_page(_metadata, self->r.fd, pg, 1000 + (pg - PG_MERGE) / 2);
		ps_fill(self->shadow[pg], PS_PAGE, 1000 + (pg - PG_MERGE) / 2);
	}
}

static int op_merge(FIXTURE_DATA(fault) *self __attribute__((unused)))
{
	return fi_scan_now();
}

static bool merged(FIXTURE_DATA(fault) *self)
{
	return fi_region_shared(self) >= NP - PG_MERGE;
}

TEST_F(fault, sharing)
{
	static const struct fi_path paths[] = {
		{ "merge (scan_now)", prep_merge, op_merge, NULL, merged },
		{ "copy-on-write of a shared frame (fault)", prep_shared,
		  op_store, done_store, NULL },
		{ "partial punch of a shared page", prep_shared, op_shared_punch,
		  done_shared_punch, NULL },
		{ "unmerge (run=2)", prep_shared, op_unmerge, done_unmerge, NULL },
	};
	size_t i;

	if (access(SCAN_NOW, W_OK))
		PS_SKIP("no " SCAN_NOW " (debugfs not mounted, or an older module)");
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		fi_run(_metadata, self, &paths[i]);
		/* Only pages A and B are to merge from here on. */
		if (i == 0)
			fi_punch(_metadata, self, PG_MERGE, NP - PG_MERGE);
	}
	fi_all_freed(_metadata, self);
}

/* ----------------------------------------------------------------------
 * Paging: page-out in a reclaim round, page-in by read(2) and by a fault
 * ---------------------------------------------------------------------- */

#define PG_IN		7

static long long fi_paged(FIXTURE_DATA(fault) *self, bool out_ever)
{
	struct pshare_region_stats st;

	if (ps_stats(self->dev, self->r.fd, &st))
		return -1;
	return out_ever ? st.paged_out : st.pages_paged;
}

/*
 * Every page has content of its own; all are in memory. The reclaim
 * worker pages the region out too (once a second): read until it has
 * not interfered.
 */
static void prep_pageout(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	unsigned char buf[PS_PAGE];
	int pg, tries;

	for (tries = 0; tries < 100; tries++) {
		for (pg = 0; pg < NP; pg++) {
			ASSERT_EQ((ssize_t)PS_PAGE,
				  pread(self->r.fd, buf, PS_PAGE, pg * PS_PAGE));
		}
		if (!fi_paged(self, false))
			return;
	}
	ASSERT_TRUE(false) TH_LOG("pages stay paged out");
}

static long long fi_out_before;

static int op_pageout(FIXTURE_DATA(fault) *self)
{
	fi_out_before = fi_paged(self, true);
	return ps_write_file(RECLAIM_NOW, "1") ? errno : 0;
}

/* This round paged everything out itself (not the reclaim worker). */
static bool paged_by_us(FIXTURE_DATA(fault) *self)
{
	return fi_paged(self, true) - fi_out_before == NP;
}

/* Page PG_IN (with all others) is out in the backing file. */
static void prep_pagein(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self)
{
	int i;

	for (i = 0; i < 100 && fi_paged(self, false) < NP; i++) {
		ASSERT_EQ(0, ps_write_file(RECLAIM_NOW, "1"));
	}
	ASSERT_EQ(NP, fi_paged(self, false));
	/* Out of the page cache too, where the backing file has one. */
	ASSERT_EQ(0, fdatasync(self->backing));
	ASSERT_EQ(0, posix_fadvise(self->backing, 0, 0, POSIX_FADV_DONTNEED));
}

static int op_pagein_read(FIXTURE_DATA(fault) *self)
{
	unsigned char buf[PS_PAGE];
	ssize_t n = pread(self->r.fd, buf, PS_PAGE, PG_IN * PS_PAGE);

	if (n < 0)
		return errno;
	if (n != (ssize_t)PS_PAGE || memcmp(buf, self->shadow[PG_IN], PS_PAGE))
		return EIO;
	return 0;
}

/* The data is in the backing file: a shortage must not end in SIGBUS. */
static int op_pagein_fault(FIXTURE_DATA(fault) *self)
{
	int res = fi_access(self->map + PG_IN * PS_PAGE, false, 0);

	return res == FI_SIGBUS ? EIO : res;
}

/*
 * The page read through GUP, as KVM faults guest RAM: process_vm_readv()
 * of this process's own mapping pins it with pin_user_pages_remote().
 */
static int op_pagein_gup(FIXTURE_DATA(fault) *self)
{
	unsigned char buf[PS_PAGE];
	struct iovec local = { buf, PS_PAGE };
	struct iovec remote = { self->map + PG_IN * PS_PAGE, PS_PAGE };
	ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	if (n < 0)
		return errno;
	if (n != (ssize_t)PS_PAGE || memcmp(buf, self->shadow[PG_IN], PS_PAGE))
		return EIO;
	return 0;
}

/*
 * The paging paths with the region paging to self->backing, named by
 * @where; page-out only with @pageout (page-out fails somewhere in a batch
 * of NP pages, so it takes as many rounds as the batch allocates).
 */
static void fi_paging(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
		      const char *where, bool pageout)
{
	char names[4][64];
	struct fi_path paths[] = {
		{ names[0], prep_pageout, op_pageout, NULL, paged_by_us },
		{ names[1], prep_pagein, op_pagein_read, NULL, NULL },
		{ names[2], prep_pagein, op_pagein_fault, NULL, NULL },
		{ names[3], prep_pagein, op_pagein_gup, done_gup_never_fails, NULL },
	};
	struct pshare_region_policy pol = {
		.argsz = sizeof(pol), .flags = PSHARE_POLICY_MAX, .max_pages = 0,
	};
	struct pshare_region_backing bk = { .argsz = sizeof(bk) };
	size_t i;
	int pg;

	snprintf(names[0], sizeof(names[0]), "page-out (reclaim_now), %s", where);
	snprintf(names[1], sizeof(names[1]), "page-in by read(2), %s", where);
	snprintf(names[2], sizeof(names[2]), "page-in by a fault, %s", where);
	snprintf(names[3], sizeof(names[3]), "page-in by GUP, %s", where);
	for (pg = 1; pg < NP; pg++) {
		ps_pwrite_page(_metadata, self->r.fd, pg, 100 + pg);
		ps_fill(self->shadow[pg], PS_PAGE, 100 + pg);
	}
	bk.fd = self->r.fd;
	bk.backing_fd = self->backing;
	ASSERT_EQ(0, ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING, &bk));
	/* Above its max (0), the region pages out without any pressure. */
	pol.fd = self->r.fd;
	ASSERT_EQ(0, ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY, &pol));

	for (i = pageout ? 0 : 1; i < sizeof(paths) / sizeof(paths[0]); i++)
		fi_run(_metadata, self, &paths[i]);

	pol.max_pages = PSHARE_POLICY_DEFAULT;
	ASSERT_EQ(0, ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY, &pol));
	fi_verify(_metadata, self, "after paging");
	fi_all_freed(_metadata, self);
}

/* A backing file on tmpfs: its pages stay in memory. */
TEST_F(fault, paging)
{
	if (access(RECLAIM_NOW, W_OK))
		PS_SKIP("no " RECLAIM_NOW " (debugfs not mounted, or an older module)");
	self->backing = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	ASSERT_LE(0, self->backing);
	fi_paging(_metadata, self, "tmpfs", true);
}

/*
 * A backing file whose reads allocate on their way to storage: a file on
 * ext4 (scratch_fs: a loop device over an image in /tmp), dropped from the
 * page cache before each page-in (prep_pagein), so the read allocates page
 * cache folios and block I/O. A failed allocation there must not turn into
 * lost data: page-in returns ENOMEM (a fault retries). Page-out is left to
 * the tmpfs case: its hundreds of rounds take too long on the debug kernel.
 */
TEST_F_TIMEOUT(fault, paging_disk, 900)
{
	const char *why;

	if (access(RECLAIM_NOW, W_OK))
		PS_SKIP("no " RECLAIM_NOW " (debugfs not mounted, or an older module)");
	why = ps_scratch_fs_make(&fi_disk, 16);
	if (why)
		PS_SKIP("%s", why);
	self->backing = open(fi_disk.dir, O_TMPFILE | O_RDWR, 0600);
	ASSERT_LE(0, self->backing) TH_LOG("O_TMPFILE in %s: %s", fi_disk.dir, strerror(errno));
	fi_paging(_metadata, self, "ext4", false);
}

/* ----------------------------------------------------------------------
 * ioctls
 * ---------------------------------------------------------------------- */

static int fi_ioctl_nr;

static int op_ioctl(FIXTURE_DATA(fault) *self)
{
	union {
		struct pshare_api api;
		struct pshare_region_stats st;
		struct pshare_region_domain dom;
		struct pshare_region_policy pol;
		struct pshare_region_backing bk;
	} a;
	unsigned long cmd;

	memset(&a, 0, sizeof(a));
	switch (fi_ioctl_nr) {
	case 0:
		a.api.argsz = sizeof(a.api);
		cmd = PSHARE_IOC_API;
		break;
	case 1:
		a.st.argsz = sizeof(a.st);
		a.st.fd = self->r.fd;
		cmd = PSHARE_IOC_REGION_STATS;
		break;
	case 2:
		a.dom.argsz = sizeof(a.dom);
		a.dom.fd = self->r.fd;
		a.dom.domain = 77;
		cmd = PSHARE_IOC_REGION_SET_DOMAIN;
		break;
	case 3:
		a.pol.argsz = sizeof(a.pol);
		a.pol.fd = self->r.fd;
		a.pol.flags = PSHARE_POLICY_SHARES;
		a.pol.shares = 5;
		cmd = PSHARE_IOC_REGION_SET_POLICY;
		break;
	default:
		a.bk.argsz = sizeof(a.bk);
		a.bk.fd = self->r.fd;
		a.bk.backing_fd = fi_ioctl_nr == 4 ? self->backing : -1;
		cmd = PSHARE_IOC_REGION_SET_BACKING;
	}
	return ioctl(self->dev, cmd, &a) ? errno : 0;
}

TEST_F(fault, ioctls)
{
	static const char *const names[] = {
		"ioctl API", "ioctl REGION_STATS", "ioctl REGION_SET_DOMAIN",
		"ioctl REGION_SET_POLICY", "ioctl REGION_SET_BACKING (set)",
		"ioctl REGION_SET_BACKING (remove)",
	};
	struct fi_path p = { NULL, NULL, op_ioctl, NULL, NULL };

	self->backing = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	ASSERT_LE(0, self->backing);
	for (fi_ioctl_nr = 0; fi_ioctl_nr < 6; fi_ioctl_nr++) {
		p.name = names[fi_ioctl_nr];
		fi_run(_metadata, self, &p);
	}
	fi_all_freed(_metadata, self);
}

/* ----------------------------------------------------------------------
 * The scanner thread itself: random failures while it merges
 * ---------------------------------------------------------------------- */

/* The pid of the kernel thread named @comm, or 0. */
static pid_t fi_find_thread(const char *comm)
{
	char path[64], name[64];
	pid_t pid;
	FILE *f;

	for (pid = 2; pid < 100000; pid++) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		name[0] = 0;
		if (!fgets(name, sizeof(name), f))
			name[0] = 0;
		fclose(f);
		name[strcspn(name, "\n")] = 0;
		if (!strcmp(name, comm))
			return pid;
	}
	return 0;
}

#define FI_TIMES	3
#define PG_REPEAT	112	/* pages 112..NP-1 repeat pages 8..23 */

/*
 * fail-nth cannot reach a kernel thread. Instead failslab and
 * fail_page_alloc fail every allocation of pshare_scand alone (task-filter,
 * make-it-fail, probability 100%), FI_TIMES of each, while it scans 104
 * pages of different content and 16 repeats with hashes cut to 8 bits
 * (collisions). Its table starts at the minimum size (changing hash_bits
 * drops the hints), so hinting the pages must grow it: the first growths
 * fail and leave pages unhinted, later scans hint them and merge the
 * repeats. The data stays intact, nothing leaks, and every armed slab
 * failure was met.
 */
TEST_F_TIMEOUT(fault, scanner_thread, 900)
{
	long long left_slab, left_page;
	char v[16];
	pid_t scand;
	int pg;

	if (access(SCAN_NOW, W_OK) || self->knobs.hash_bits < 0)
		PS_SKIP("no pshare debugfs files (debugfs not mounted?)");
	scand = fi_find_thread("pshare_scand");
	ASSERT_NE(0, scand) TH_LOG("no pshare_scand thread");
	for (pg = PG_MERGE; pg < NP; pg++) {
		int seed = 2000 + (pg < PG_REPEAT ? pg : pg - PG_REPEAT + PG_MERGE);

		ps_pwrite_page(_metadata, self->r.fd, pg, seed);
		ps_fill(self->shadow[pg], PS_PAGE, seed);
	}
	ASSERT_EQ(0, ps_write_file(PS_HASH_BITS, "8"));
	snprintf(v, sizeof(v), "%d", FI_TIMES);
	ASSERT_EQ(0, ps_write_file(FAILSLAB "/task-filter", "Y"));
	ASSERT_EQ(0, ps_write_file(FAILPAGE "/task-filter", "Y"));
	ASSERT_EQ(0, ps_write_file(FAILSLAB "/interval", "1"));
	ASSERT_EQ(0, ps_write_file(FAILPAGE "/interval", "1"));
	ASSERT_EQ(0, ps_write_file(FAILSLAB "/times", v));
	ASSERT_EQ(0, ps_write_file(FAILPAGE "/times", v));
	snprintf(fi_scand_fail, sizeof(fi_scand_fail), "/proc/%d/make-it-fail", scand);
	ASSERT_EQ(0, ps_write_file(fi_scand_fail, "1"));
	ASSERT_EQ(0, ps_write_file(FAILSLAB "/probability", "100"));
	ASSERT_EQ(0, ps_write_file(FAILPAGE "/probability", "100"));

	PS_KNOB_SET("pages_to_scan", PS_FAST_PAGES_TO_SCAN);
	PS_KNOB_SET("sleep_millisecs", "0");
	PS_KNOB_SET("run", "1");
	ps_wait_scans(_metadata, 6);
	PS_KNOB_SET("run", "0");

	ASSERT_EQ(0, ps_write_file(FAILSLAB "/probability", "0"));
	ASSERT_EQ(0, ps_write_file(FAILPAGE "/probability", "0"));
	ASSERT_EQ(0, ps_write_file(fi_scand_fail, "0"));
	fi_scand_fail[0] = 0;
	left_slab = ps_read_number(FAILSLAB "/times");
	left_page = ps_read_number(FAILPAGE "/times");
	PS_NOTE("fault: %-42s %3lld faults injected (%lld slab, %lld page) in 6 full scans; %lld pages shared",
		"scanner thread (failslab, fail_page_alloc)",
		2 * FI_TIMES - left_slab - left_page, FI_TIMES - left_slab,
		FI_TIMES - left_page, fi_region_shared(self));
	EXPECT_EQ(0, left_slab) TH_LOG("the scanner met %lld of %d slab failures",
				       FI_TIMES - left_slab, FI_TIMES);
	EXPECT_LT(0, fi_region_shared(self)) TH_LOG("nothing merged after the failures");
	fi_verify(_metadata, self, "scanner thread");
	fi_counts(_metadata, self, "scanner thread");
	fi_all_freed(_metadata, self);
}

TEST_HARNESS_MAIN
