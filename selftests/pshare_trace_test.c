// SPDX-License-Identifier: GPL-2.0
/*
 * pshare's tracepoints (events/pshare/ in tracefs): each event is made to
 * happen and must then be in the trace, with fields that say what really
 * happened: the region's inode number, the PPNs the test used, a merge
 * kind, a COW break's origin, sample counts within bounds, a reclaim target
 * below what the region held, the pages paged out and back in.
 *
 * Events are recorded in a trace instance of their own, so the global
 * trace buffer and anybody using it are left alone. Without tracefs or
 * event tracing in the kernel the tests skip; with them, a missing
 * events/pshare/ directory is a failure.
 *
 * The global record-cmd option is off while the tests run (and put back
 * after). With it on, enabling the first event anywhere registers the
 * sched_switch probe that records task names, which live-patches the call
 * in __schedule() while the other CPUs run through it. On the test VM
 * (QEMU's TCG) a CPU in __schedule() can then spin on the int3 that
 * text_poke_bp() planted, with interrupts off, and never answer the IPI the
 * patching CPU waits for: both CPUs stay stuck (soft lockup, RCU stall).
 * Events of our own still patch our own call sites only. Lines then show
 * "<...>" for a task name, which the tests do not read.
 */
#include "pshare_selftest.h"
#include "pshare_share.h"

#include <sys/mount.h>

#define TR_TRACEFS	"/sys/kernel/tracing"
#define TR_RECORD_CMD	TR_TRACEFS "/options/record-cmd"
#define TR_EVENTS	8192
#define TR_LINE		512
/* Longest wait for the sampler or the reclaimer (they run every second). */
#define TR_WAIT_S	30

/* One parsed event of ours: the fields every event has, then the rest. */
struct tr_event {
	char name[32];
	unsigned long region;
	unsigned long ino;
	char rest[TR_LINE];
};

FIXTURE(trace) {
	char inst[PATH_MAX];	/* the trace instance directory, "" if none */
	long long record_cmd;	/* the global option before the test, or -1 */
	int dev;
	struct ps_knobs knobs;
	bool knobs_saved;
	long long limit_pages, sample_period, sample_pages;
	struct ps_region r;
	int backing;
	struct tr_event *ev;
	int nev;
};

/* Is tracefs at TR_TRACEFS? Mount it there if the kernel has it. */
static const char *tr_tracefs_missing(void)
{
	struct stat st;

	if (!stat(TR_TRACEFS "/events", &st))
		return NULL;
	if (mount("tracefs", TR_TRACEFS, "tracefs", 0, NULL) &&
	    stat(TR_TRACEFS "/events", &st))
		return "no tracefs at " TR_TRACEFS " (kernel without CONFIG_TRACING?)";
	if (stat(TR_TRACEFS "/events", &st))
		return "tracefs has no events/ (kernel without CONFIG_EVENT_TRACING)";
	return NULL;
}

static int tr_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return ps_write_file(path, val);
}

/* Enable pshare event @name (or "" for all of them) in the instance. */
static void tr_enable(struct __test_metadata *_metadata,
		      FIXTURE_DATA(trace) *self, const char *name)
{
	char file[128];

	snprintf(file, sizeof(file), "events/pshare/%s%senable", name,
		 *name ? "/" : "");
	ASSERT_EQ(0, tr_write(self->inst, file, "1"))
		TH_LOG("enabling %s in %s: %s", file, self->inst, strerror(errno));
}

/*
 * Read the instance's trace (without consuming it) into self->ev: only
 * pshare events of our region's inode.
 */
static void tr_read(struct __test_metadata *_metadata,
		    FIXTURE_DATA(trace) *self)
{
	char path[PATH_MAX + 8], line[TR_LINE];
	struct stat st;
	FILE *f;

	ASSERT_EQ(0, fstat(self->r.fd, &st));
	snprintf(path, sizeof(path), "%s/trace", self->inst);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	self->nev = 0;
	while (fgets(line, sizeof(line), f) && self->nev < TR_EVENTS) {
		struct tr_event *e = &self->ev[self->nev];
		/* After "<task>-<pid> [cpu] <flags> <time>: "; the task may be
		 * pshare_scand itself.
		 */
		char *p = strstr(line, ": pshare_");
		int n = 0;

		if (line[0] == '#' || !p)
			continue;
		if (sscanf(p + 2, "%31[a-z_]: region=%lu ino=%lu %n", e->name,
			   &e->region, &e->ino, &n) != 3 || !n)
			continue;
		if (e->ino != (unsigned long)st.st_ino)
			continue;
		snprintf(e->rest, sizeof(e->rest), "%s", p + 2 + n);
		self->nev++;
	}
	fclose(f);
}

/* How many of our events are named @name and satisfy @cond (on e). */
#define TR_COUNT(_event, _cond) ({					\
	int __i, __n = 0;						\
	for (__i = 0; __i < self->nev; __i++) {				\
		struct tr_event *e = &self->ev[__i];			\
		if (!strcmp(e->name, (_event)) && (_cond))		\
			__n++;						\
	}								\
	__n;								\
})

/* Pages the reclaim events of how=page say they took. */
static long tr_taken(FIXTURE_DATA(trace) *self)
{
	long taken, sum = 0;
	const char *p;
	int i;

	for (i = 0; i < self->nev; i++) {
		if (strcmp(self->ev[i].name, "pshare_reclaim") ||
		    !strstr(self->ev[i].rest, "how=page"))
			continue;
		p = strstr(self->ev[i].rest, "taken=");
		if (p && sscanf(p, "taken=%ld", &taken) == 1 && taken > 0)
			sum += taken;
	}
	return sum;
}

/* Print what was recorded, for a failing test's log. */
static void tr_dump(struct __test_metadata *_metadata,
		    FIXTURE_DATA(trace) *self)
{
	int i;

	TH_LOG("%d events of this region:", self->nev);
	for (i = 0; i < self->nev && i < 40; i++)
		TH_LOG("  %s region=%lu %s", self->ev[i].name,
		       self->ev[i].region, self->ev[i].rest);
}

FIXTURE_SETUP(trace)
{
	const char *why;
	struct stat st;

	self->inst[0] = '\0';
	self->dev = -1;
	self->r.fd = -1;
	self->r.path[0] = '\0';
	self->backing = -1;
	self->knobs_saved = false;
	self->record_cmd = -1;
	self->ev = calloc(TR_EVENTS, sizeof(*self->ev));
	ASSERT_NE(NULL, self->ev);

	PS_REQUIRE_ENV();
	why = ps_sharing_missing();
	if (why)
		PS_SKIP("%s", why);
	why = tr_tracefs_missing();
	if (why)
		PS_SKIP("%s", why);
	/* The kernel traces events: then the module must have its own. */
	ASSERT_EQ(0, stat(TR_TRACEFS "/events/pshare", &st))
		TH_LOG("pshare.ko is loaded but " TR_TRACEFS "/events/pshare is missing");

	/* An instance takes the option's value when it is created. */
	self->record_cmd = ps_read_number(TR_RECORD_CMD);
	if (self->record_cmd > 0)
		ASSERT_EQ(0, ps_write_file(TR_RECORD_CMD, "0"))
			TH_LOG("%s: %s", TR_RECORD_CMD, strerror(errno));

	snprintf(self->inst, sizeof(self->inst),
		 TR_TRACEFS "/instances/pshare-selftest-%d", getpid());
	ASSERT_EQ(0, mkdir(self->inst, 0700))
		TH_LOG("mkdir %s: %s", self->inst, strerror(errno));

	self->dev = open(PS_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	ps_knobs_save(_metadata, &self->knobs);
	self->limit_pages = ps_sysfs("limit_pages");
	self->sample_period = ps_sysfs("sample_period_secs");
	self->sample_pages = ps_sysfs("sample_pages");
	ASSERT_LE(0, self->limit_pages);
	ASSERT_LE(1, self->sample_period);
	ASSERT_LE(1, self->sample_pages);
	self->knobs_saved = true;
	ps_scan_fast(_metadata, &self->knobs, 0);
	ps_region_create(_metadata, &self->r, 0);
}

FIXTURE_TEARDOWN(trace)
{
	if (self->inst[0]) {
		tr_write(self->inst, "events/pshare/enable", "0");
		rmdir(self->inst);
	}
	if (self->record_cmd > 0)
		ps_write_file(TR_RECORD_CMD, "1");
	if (self->knobs_saved) {
		ps_knob_set_num("limit_pages", self->limit_pages);
		ps_knob_set_num("sample_period_secs", self->sample_period);
		ps_knob_set_num("sample_pages", self->sample_pages);
		ps_knobs_restore(&self->knobs);
	}
	ps_region_destroy(&self->r);
	if (self->backing >= 0)
		close(self->backing);
	if (self->dev >= 0)
		close(self->dev);
	free(self->ev);
}

/* Every event has its format file, with the fields the admin guide names. */
TEST_F(trace, formats)
{
	static const char *const fields[][3] = {
		{ "pshare_merge", "ppn", "kind" },
		{ "pshare_cow_break", "ppn", "from_zero" },
		{ "pshare_sample", "touched", "estimate" },
		{ "pshare_reclaim", "target", "how" },
		{ "pshare_page_out", "ppn", "ino" },
		{ "pshare_page_in", "ppn", "ino" },
	};
	char path[PATH_MAX], buf[8192];
	unsigned int i, j;
	ssize_t n;
	int fd;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		snprintf(path, sizeof(path), TR_TRACEFS "/events/pshare/%s/format",
			 fields[i][0]);
		fd = open(path, O_RDONLY);
		ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		ASSERT_LT(0, n);
		buf[n] = '\0';
		for (j = 1; j < 3; j++) {
			const char *field = fields[i][j];

			EXPECT_NE(NULL, strstr(buf, field))
				TH_LOG("%s lacks field %s", path, field);
		}
		EXPECT_NE(NULL, strstr(buf, "field:u32 region"))
			TH_LOG("%s lacks field region", path);
	}
}

/*
 * Three pages of one content and one of zeros: the first content page is
 * hinted, the second merges with it (kind=hint, it becomes the shared
 * frame), the third merges with that frame (kind=frame), the zero page
 * with the zero frame (kind=zero). Then writes break the sharing: one to a
 * shared page, one to a hole that a read mapped to the zero frame.
 */
TEST_F(trace, merge_and_cow_break)
{
	unsigned long hint_pfn = 0, frame_pfn = 0, ppn, pfn;
	unsigned char zeros[PS_PAGE] = { 0 };
	struct pshare_region_stats st;
	unsigned char *map;
	char kind[16];
	int i;

	ASSERT_EQ(0, ftruncate(self->r.fd, 8 * PS_PAGE));
	for (i = 0; i < 3; i++)
		ps_pwrite_page(_metadata, self->r.fd, i, 77);
	ASSERT_EQ((ssize_t)PS_PAGE, pwrite(self->r.fd, zeros, PS_PAGE, 3 * PS_PAGE));
	tr_enable(_metadata, self, "");
	PS_KNOB_SET("run", "1");
	ASSERT_TRUE(PS_WAIT_FOR(20, !ps_stats(self->dev, self->r.fd, &st) &&
				st.pages_shared == 3 && st.pages_zero == 1))
		TH_LOG("pages did not merge: shared %llu zero %llu",
		       (unsigned long long)st.pages_shared,
		       (unsigned long long)st.pages_zero);
	PS_KNOB_SET("run", "0");

	tr_read(_metadata, self);
	for (i = 0; i < self->nev; i++) {
		struct tr_event *e = &self->ev[i];

		if (strcmp(e->name, "pshare_merge"))
			continue;
		ASSERT_EQ(3, sscanf(e->rest, "ppn=%lu pfn=%lx kind=%15s", &ppn,
				    &pfn, kind)) TH_LOG("bad fields: %s", e->rest);
		EXPECT_NE(0, e->region);
		EXPECT_NE(0, pfn);
		if (!strcmp(kind, "zero")) {
			EXPECT_EQ(3, ppn);
		} else if (!strcmp(kind, "hint")) {
			EXPECT_GT(3, ppn);
			hint_pfn = pfn;
		} else if (!strcmp(kind, "frame")) {
			EXPECT_GT(3, ppn);
			frame_pfn = pfn;
		} else {
			EXPECT_TRUE(false) TH_LOG("unknown merge kind %s", kind);
		}
	}
	EXPECT_EQ(1, TR_COUNT("pshare_merge", strstr(e->rest, "kind=zero")));
	EXPECT_EQ(1, TR_COUNT("pshare_merge", strstr(e->rest, "kind=hint")));
	EXPECT_EQ(1, TR_COUNT("pshare_merge", strstr(e->rest, "kind=frame")));
	/* The frame the third page merged with is the one the hint made. */
	EXPECT_EQ(hint_pfn, frame_pfn);

	/* A write to a shared page; a read maps page 5 to the zero frame. */
	ps_pwrite_page(_metadata, self->r.fd, 1, 78);
	map = mmap(NULL, 8 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, ps_touch(map + 5 * PS_PAGE));
	map[5 * PS_PAGE] = 1;
	munmap(map, 8 * PS_PAGE);

	tr_read(_metadata, self);
	EXPECT_EQ(1, TR_COUNT("pshare_cow_break",
			      !strcmp(e->rest, "ppn=1 from=shared\n")));
	EXPECT_EQ(1, TR_COUNT("pshare_cow_break",
			      !strcmp(e->rest, "ppn=5 from=zero\n")));
	EXPECT_EQ(2, TR_COUNT("pshare_cow_break", true));
	if (!_metadata->passed)
		tr_dump(_metadata, self);
}

/*
 * sample_period_secs=1 and a thread of ours touching every page: closed
 * periods report how many samples were touched, never more than were
 * sampled, and an estimate at least as high as that period's share.
 */
TEST_F(trace, sample)
{
	const unsigned long pages = 64;
	unsigned int touched, sampled, estimate;
	int i, good = 0, busy = 0, bad = 0;
	unsigned char *map;
	unsigned long pg;
	double end;

	ASSERT_EQ(0, ftruncate(self->r.fd, pages * PS_PAGE));
	for (pg = 0; pg < pages; pg++)
		ps_pwrite_page(_metadata, self->r.fd, pg, pg + 1);
	map = mmap(NULL, pages * PS_PAGE, PROT_READ, MAP_SHARED, self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	tr_enable(_metadata, self, "pshare_sample");
	PS_KNOB_SET("sample_pages", "16");
	PS_KNOB_SET("sample_period_secs", "1");

	end = ps_now() + TR_WAIT_S;
	while (ps_now() < end) {
		for (pg = 0; pg < pages; pg++)
			ps_touch(map + pg * PS_PAGE);
		usleep(50 * 1000);
		tr_read(_metadata, self);
		if (TR_COUNT("pshare_sample", true) >= 3)
			break;
	}
	munmap(map, pages * PS_PAGE);

	for (i = 0; i < self->nev; i++) {
		struct tr_event *e = &self->ev[i];

		if (strcmp(e->name, "pshare_sample"))
			continue;
		if (sscanf(e->rest, "touched=%u sampled=%u estimate=%u",
			   &touched, &sampled, &estimate) != 3 ||
		    !sampled || sampled > 16 || touched > sampled ||
		    estimate > 1000 || estimate < touched * 1000 / sampled) {
			bad++;
			TH_LOG("insane sample event: %s", e->rest);
			continue;
		}
		good++;
		if (touched)
			busy++;
	}
	EXPECT_LE(1, good) TH_LOG("no pshare_sample event in %d s", TR_WAIT_S);
	EXPECT_EQ(0, bad);
	/* The pages were touched all along: some samples must have seen it. */
	EXPECT_LE(1, busy);
}

/*
 * A limit far below what the region holds: reclaim publishes a target
 * (how=balloon) and, the region having a backing file, pages out
 * (how=page, with one page_out event per page); reading the pages back
 * pages them in.
 */
TEST_F(trace, reclaim_page_out_page_in)
{
	const unsigned long pages = 256, limit = 64;
	unsigned long long held, target;
	int i, balloon = 0, paged = 0, outs, ins;
	struct pshare_region_backing b = { .argsz = sizeof(b) };
	char path[] = "/tmp/pshare-trace-backing.XXXXXX";
	unsigned long ppn, pg;
	long taken;
	char how[16];

	self->backing = mkstemp(path);
	ASSERT_LE(0, self->backing) TH_LOG("mkstemp: %s", strerror(errno));
	unlink(path);
	b.fd = self->r.fd;
	b.backing_fd = self->backing;
	ASSERT_EQ(0, ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING, &b))
		TH_LOG("REGION_SET_BACKING: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(self->r.fd, pages * PS_PAGE));
	for (pg = 0; pg < pages; pg++)
		ps_pwrite_page(_metadata, self->r.fd, pg, pg + 1000);
	tr_enable(_metadata, self, "pshare_reclaim");
	tr_enable(_metadata, self, "pshare_page_out");
	tr_enable(_metadata, self, "pshare_page_in");
	PS_KNOB_SET("limit_pages", "64");

	/* Wait until paging brought the region down to the limit. */
	for (i = 0; i < TR_WAIT_S * 10; i++) {
		struct pshare_region_stats st;

		PS_STATS(self->dev, self->r.fd, &st);
		if (st.pages_private <= limit)
			break;
		usleep(100 * 1000);
	}
	PS_KNOB_SET("limit_pages", "0");
	/*
	 * A round that read the old limit may still be paging: its page_out
	 * events come before its reclaim event. Wait until they agree.
	 */
	for (i = 0; i < TR_WAIT_S * 10; i++) {
		tr_read(_metadata, self);
		if (tr_taken(self) == TR_COUNT("pshare_page_out", true))
			break;
		usleep(100 * 1000);
	}
	for (i = 0; i < self->nev; i++) {
		struct tr_event *e = &self->ev[i];

		if (strcmp(e->name, "pshare_reclaim"))
			continue;
		ASSERT_EQ(4, sscanf(e->rest, "held=%llu target=%llu taken=%ld how=%15s",
				    &held, &target, &taken, how))
			TH_LOG("bad fields: %s", e->rest);
		EXPECT_GE(pages, held);
		EXPECT_GT(held, target);
		EXPECT_GE(limit, target);
		if (!strcmp(how, "balloon")) {
			EXPECT_EQ(0, taken);
			balloon++;
		} else if (!strcmp(how, "page")) {
			EXPECT_LT(0, taken);
			EXPECT_GE(held - target, (unsigned long long)taken);
			paged += taken > 0 ? taken : 0;
		} else {
			EXPECT_TRUE(false) TH_LOG("unknown reclaim how %s", how);
		}
	}
	outs = TR_COUNT("pshare_page_out",
			sscanf(e->rest, "ppn=%lu", &ppn) == 1 && ppn < pages);
	EXPECT_LE(1, balloon);
	EXPECT_LE((int)(pages - limit), paged);
	/* One page_out event per page the reclaim events say they took. */
	EXPECT_EQ(paged, outs);
	EXPECT_EQ(outs, TR_COUNT("pshare_page_out", true));

	/* Read everything back: every paged-out page comes in once. */
	for (pg = 0; pg < pages; pg++)
		ps_pread_page(_metadata, self->r.fd, pg, pg + 1000);
	tr_read(_metadata, self);
	ins = TR_COUNT("pshare_page_in",
		       sscanf(e->rest, "ppn=%lu", &ppn) == 1 && ppn < pages);
	EXPECT_EQ(outs, ins);
	EXPECT_EQ(ins, TR_COUNT("pshare_page_in", true));
	if (!_metadata->passed)
		tr_dump(_metadata, self);
}

TEST_HARNESS_MAIN
