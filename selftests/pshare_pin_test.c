// SPDX-License-Identifier: GPL-2.0
/*
 * Long-term pins of pshare mappings, as an RDMA memory region or a VFIO
 * DMA mapping takes them, and the "noshare" mount option that makes them
 * coherent.
 *
 * A read-only long-term pin of a page that maps the zero frame or a shared
 * frame keeps that frame: the guest's next write breaks copy-on-write onto
 * a new frame, which the pinned one never shows. In a noshare mount a read
 * fault on a hole gets a private frame, the scanner merges nothing, and
 * writable long-term pins are allowed (the mapping needs no dirty
 * tracking), so a pin and the mapping always see one frame.
 *
 * The pins are taken through /dev/pshare_pin, the test helper
 * pshare_pin.ko (module/pin_test.c), loaded from build/$PSHARE_KERNEL/ when
 * it is not loaded yet. Each test mounts scratch pshare filesystems of its
 * own under /tmp (one default, and one noshare for the noshare tests) and
 * unmounts them in its teardown.
 */
#include "pshare_share.h"	/* first: it defines _GNU_SOURCE */

#include <libgen.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "../module/pin_test.h"

#define PIN_DEV		"/dev/pshare_pin"
#define PIN_KO		"pshare_pin.ko"

/* The scanner tests wait for full scans; the debug kernel is slow. */
#define PIN_TIMEOUT	300
#define MERGE_SCANS	200
#define QUIET_SCANS	4

/* Scratch mounts: [MNT_DEFAULT] shares pages, [MNT_NOSHARE] does not. */
enum { MNT_DEFAULT, MNT_NOSHARE, NMNT };
#define NREG	2

/* What every fixture of this file holds; each part -1/NULL/"" when unset. */
struct pin_env {
	int dev;			/* /dev/pshare */
	int pin;			/* /dev/pshare_pin */
	char mnt[NMNT][64];		/* mount points, "" if not made */
	bool mounted[NMNT];
	struct ps_region r[NREG];
	unsigned char *map[NREG];
	size_t npages[NREG];
	struct ps_knobs knobs;
	bool knobs_saved;		/* restore them in the teardown */
};

/* ------------------------------------------------------------------ */
/* The helper module                                                   */

/* The work tree: $PSHARE_TOP, else the parent of this program's directory. */
static const char *pin_top(char *buf, size_t size)
{
	const char *top = getenv("PSHARE_TOP");
	ssize_t n;

	if (top && *top)
		return top;
	n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0)
		return ".";
	buf[n] = 0;
	return dirname(dirname(buf));
}

/*
 * Load pshare_pin.ko unless /dev/pshare_pin is there; skip when there is
 * no module to load. A module that is there and does not load is a
 * failure: scripts/build.sh built it for this very kernel.
 */
static void pin_module_require(struct __test_metadata *_metadata)
{
	const char *kernel = getenv("PSHARE_KERNEL");
	char exe[PATH_MAX], ko[PATH_MAX + 64];
	int fd, err, i;

	if (!access(PIN_DEV, F_OK))
		return;
	if (!kernel || !*kernel)
		PS_SKIP(PIN_DEV " is missing and PSHARE_KERNEL is not set (run in the test VM, or insmod build/<kernel>/" PIN_KO ")");
	snprintf(ko, sizeof(ko), "%s/build/%s/" PIN_KO,
		 pin_top(exe, sizeof(exe)), kernel);
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		PS_SKIP("%.600s: %s (scripts/build.sh %.30s builds it)", ko,
			strerror(errno), kernel);
	err = syscall(SYS_finit_module, fd, "", 0) ? errno : 0;
	close(fd);
	/* EEXIST: loaded meanwhile. */
	ASSERT_TRUE(!err || err == EEXIST)
		TH_LOG("loading %s: %s", ko, strerror(err));
	for (i = 0; i < 500 && access(PIN_DEV, F_OK); i++)
		usleep(10 * 1000);
	ASSERT_EQ(0, access(PIN_DEV, F_OK))
		TH_LOG(PIN_KO " is loaded but " PIN_DEV " did not appear");
}

/* PSHARE_PIN_IOC_PIN over [@addr, @addr + @len): 0 or -1 with errno. */
static int pin_range(int pin, const void *addr, size_t len, bool write)
{
	struct pshare_pin_args a = {
		.addr = (uintptr_t)addr,
		.len = len,
		.flags = write ? PSHARE_PIN_WRITE : 0,
	};

	return ioctl(pin, PSHARE_PIN_IOC_PIN, &a);
}

#define PIN(env, addr, len, write) \
	ASSERT_EQ(0, pin_range((env)->pin, addr, len, write)) \
		TH_LOG("%s long-term pin: %s", (write) ? "writable" : "read-only", \
		       strerror(errno))

#define UNPIN(env) \
	ASSERT_EQ(0, ioctl((env)->pin, PSHARE_PIN_IOC_UNPIN)) \
		TH_LOG("UNPIN: %s", strerror(errno))

/* Page @pg of the pinned range, read through the pin into @buf. */
#define PIN_READ(env, pg, buf) \
	ASSERT_EQ((ssize_t)PS_PAGE, pread((env)->pin, buf, PS_PAGE, (pg) * PS_PAGE)) \
		TH_LOG("pread through the pin: %s", strerror(errno))

/* ------------------------------------------------------------------ */
/* Mounts and regions                                                  */

/* Does the mount at @dir list option @opt (a whole comma-separated word)? */
static bool mount_has_option(const char *dir, const char *opt)
{
	char mp[PATH_MAX], t[64], opts[1024], *tok, *save;
	bool found = false, seen = false;
	FILE *f = fopen("/proc/self/mounts", "r");

	if (!f)
		return false;
	while (!seen && fscanf(f, "%*s %4095s %63s %1023s %*[^\n]", mp, t, opts) == 3) {
		if (strcmp(mp, dir) || strcmp(t, "pshare"))
			continue;
		seen = true;
		for (tok = strtok_r(opts, ",", &save); tok && !found;
		     tok = strtok_r(NULL, ",", &save))
			found = !strcmp(tok, opt);
	}
	fclose(f);
	return found;
}

/* Unmount (retrying while the scanner lets go of a region) and remove. */
static void env_unmount(struct pin_env *e, int m)
{
	int i;

	if (e->mounted[m]) {
		for (i = 0; i < 200 && umount(e->mnt[m]) && errno == EBUSY; i++)
			usleep(25 * 1000);
		if (ps_mounted_as(e->mnt[m], "pshare"))
			umount2(e->mnt[m], MNT_DETACH);
		e->mounted[m] = false;
	}
	if (e->mnt[m][0])
		rmdir(e->mnt[m]);
	e->mnt[m][0] = 0;
}

/* Mount a scratch pshare filesystem, with @opts, as mount @m. */
static int env_mount(struct pin_env *e, int m, const char *opts)
{
	strcpy(e->mnt[m], "/tmp/pshare-pin.XXXXXX");
	if (!mkdtemp(e->mnt[m])) {
		e->mnt[m][0] = 0;
		return -1;
	}
	if (mount("pshare", e->mnt[m], "pshare", 0, opts))
		return -1;
	e->mounted[m] = true;
	return 0;
}

/* Undo env_setup() and what the test made; no asserts, safe on a partial one. */
static void env_teardown(struct pin_env *e)
{
	int i;

	/* Unpin first: the pinned frames are the regions'. */
	if (e->pin >= 0)
		close(e->pin);
	e->pin = -1;
	for (i = 0; i < NREG; i++) {
		if (e->map[i])
			munmap(e->map[i], e->npages[i] * PS_PAGE);
		e->map[i] = NULL;
		ps_region_destroy(&e->r[i]);
	}
	/* Knobs first: run=2 also makes the scanner let go of the regions. */
	if (e->knobs_saved)
		ps_knobs_restore(&e->knobs);
	e->knobs_saved = false;
	for (i = 0; i < NMNT; i++)
		env_unmount(e, i);
	if (e->dev >= 0)
		close(e->dev);
	e->dev = -1;
}

/*
 * Skip without pshare or the helper module, else open both devices and
 * mount a default scratch mount, and a noshare one if @noshare. The
 * harness runs no teardown after a failed setup: a failure here undoes
 * what was made before it fails the test.
 */
static void env_setup(struct __test_metadata *_metadata, struct pin_env *e,
		      bool noshare)
{
	char why[256] = "";
	int i;

	e->dev = e->pin = -1;
	for (i = 0; i < NREG; i++) {
		e->r[i].fd = -1;
		e->r[i].path[0] = 0;
		e->r[i].unlinked = true;
	}
	PS_REQUIRE_ENV();
	pin_module_require(_metadata);

	e->dev = open(PS_DEV, O_RDWR);
	if (e->dev < 0)
		snprintf(why, sizeof(why), "open %s: %s", PS_DEV, strerror(errno));
	if (!why[0]) {
		e->pin = open(PIN_DEV, O_RDWR);
		if (e->pin < 0)
			snprintf(why, sizeof(why), "open %s: %s", PIN_DEV,
				 strerror(errno));
	}
	if (!why[0] && env_mount(e, MNT_DEFAULT, NULL))
		snprintf(why, sizeof(why), "mount -t pshare at %s: %s",
			 e->mnt[MNT_DEFAULT], strerror(errno));
	if (!why[0] && noshare && env_mount(e, MNT_NOSHARE, "noshare"))
		snprintf(why, sizeof(why), "mount -t pshare -o noshare at %s: %s",
			 e->mnt[MNT_NOSHARE], strerror(errno));
	if (why[0]) {
		env_teardown(e);
		ASSERT_TRUE(false) TH_LOG("%s", why);
	}
}

/* Create region @i of @npages in mount @m and map all of it read-write. */
static void region_map(struct __test_metadata *_metadata, struct pin_env *e,
		       int i, int m, size_t npages)
{
	char dir[sizeof(e->mnt[m])];

	/* A copy: gcc cannot tell that r->path and e->mnt[m] are apart. */
	strcpy(dir, e->mnt[m]);
	ps_region_make_mapped(_metadata, &e->r[i], dir, "pin", npages, &e->map[i]);
	e->npages[i] = npages;
}

/* Page @pg of region @i through its mapping. */
#define PG(e, i, pg)	((e)->map[i] + (size_t)(pg) * PS_PAGE)

/* One field of region @i's statistics, -1 if they cannot be read. */
#define RSTAT(e, i, field) ({						\
	struct pshare_region_stats __st;				\
	ps_stats((e)->dev, (e)->r[i].fd, &__st) ? -1LL :		\
		(long long)__st.field;					\
})

/* A private frame that holds only zeros (a write, then zeros). */
static void fill_zero(void *p)
{
	memset(p, 0xff, PS_PAGE);
	memset(p, 0, PS_PAGE);
}

/* Set the scanner to run fast (@run: now, or only when a test says). */
static void scanner_fast(struct __test_metadata *_metadata, struct pin_env *e,
			 int run)
{
	const char *why = ps_sharing_missing();

	if (why)
		PS_SKIP("%s", why);
	ps_knobs_save(_metadata, &e->knobs);
	e->knobs_saved = true;
	ps_scan_fast(_metadata, &e->knobs, run);
}

/* Linux @major.@minor or later? */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/* ------------------------------------------------------------------ */
/* The helper device itself                                            */

FIXTURE(pin_device) {
	int pin;
	unsigned char *m;
};

FIXTURE_SETUP(pin_device)
{
	self->pin = -1;
	if (geteuid() != 0)
		PS_SKIP("must run as root");
	pin_module_require(_metadata);
	self->m = mmap(NULL, 4 * PS_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->m);
	self->pin = open(PIN_DEV, O_RDWR);
	if (self->pin < 0) {
		munmap(self->m, 4 * PS_PAGE);
		ASSERT_LE(0, self->pin) TH_LOG("open " PIN_DEV ": %s", strerror(errno));
	}
}

FIXTURE_TEARDOWN(pin_device)
{
	if (self->pin >= 0)
		close(self->pin);
	munmap(self->m, 4 * PS_PAGE);
}

/* The helper refuses what it should, so the other tests can trust it. */
TEST_F(pin_device, arguments)
{
	struct pshare_pin_args a = { .addr = (uintptr_t)self->m, .len = PS_PAGE };
	unsigned char buf[PS_PAGE];
	struct stat st;

	ASSERT_EQ(0, stat(PIN_DEV, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	memset(self->m, 0x5a, 4 * PS_PAGE);

	/* Nothing pinned yet. */
	EXPECT_EQ(-1, ioctl(self->pin, PSHARE_PIN_IOC_UNPIN));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, pread(self->pin, buf, PS_PAGE, 0));
	EXPECT_EQ(ENXIO, errno);

	/* Bad ranges and flags. */
	EXPECT_EQ(-1, pin_range(self->pin, self->m + 1, PS_PAGE, false));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pin_range(self->pin, self->m, PS_PAGE / 2, false));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pin_range(self->pin, self->m, 0, false));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pin_range(self->pin, self->m,
				(PSHARE_PIN_MAX_PAGES + 1) * PS_PAGE, false));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 2;
	EXPECT_EQ(-1, ioctl(self->pin, PSHARE_PIN_IOC_PIN, &a));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 0;
	a.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->pin, PSHARE_PIN_IOC_PIN, &a));
	EXPECT_EQ(EINVAL, errno);

	/* A range that is only partly mapped: refused, and nothing kept. */
	ASSERT_EQ(0, munmap(self->m + 3 * PS_PAGE, PS_PAGE));
	EXPECT_EQ(-1, pin_range(self->pin, self->m + 2 * PS_PAGE, 2 * PS_PAGE, false));
	EXPECT_EQ(EFAULT, errno);

	/* A read-only pin: read, not written, one at a time, bounded. */
	ASSERT_EQ(0, pin_range(self->pin, self->m, 2 * PS_PAGE, false))
		TH_LOG("PIN: %s", strerror(errno));
	EXPECT_EQ(-1, pin_range(self->pin, self->m, PS_PAGE, false));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ((ssize_t)PS_PAGE, pread(self->pin, buf, PS_PAGE, PS_PAGE));
	EXPECT_EQ(0x5a, buf[0]);
	EXPECT_EQ(0x5a, buf[PS_PAGE - 1]);
	EXPECT_EQ(100, pread(self->pin, buf, PS_PAGE, 2 * PS_PAGE - 100));
	EXPECT_EQ(0, pread(self->pin, buf, PS_PAGE, 2 * PS_PAGE));
	EXPECT_EQ(-1, pwrite(self->pin, buf, 1, 0));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(0, ioctl(self->pin, PSHARE_PIN_IOC_UNPIN));

	/* A writable pin: writes reach the memory, up to its end. */
	ASSERT_EQ(0, pin_range(self->pin, self->m, 2 * PS_PAGE, true))
		TH_LOG("writable PIN of anonymous memory: %s", strerror(errno));
	EXPECT_EQ(3, pwrite(self->pin, "pin", 3, PS_PAGE + 10));
	EXPECT_EQ(0, memcmp(self->m + PS_PAGE + 10, "pin", 3));
	EXPECT_EQ(2, pwrite(self->pin, "end", 3, 2 * PS_PAGE - 2));
	EXPECT_EQ(-1, pwrite(self->pin, "x", 1, 2 * PS_PAGE));
	EXPECT_EQ(ENOSPC, errno);
	/* Closing the file unpins (the teardown closes it while pinned). */
}

/* ------------------------------------------------------------------ */
/* noshare mounts                                                      */

FIXTURE(noshare) {
	struct pin_env e;
};

FIXTURE_SETUP(noshare)
{
	env_setup(_metadata, &self->e, true);
}

FIXTURE_TEARDOWN(noshare)
{
	env_teardown(&self->e);
}

TEST_F(noshare, mount_option_shown)
{
	EXPECT_TRUE(mount_has_option(self->e.mnt[MNT_NOSHARE], "noshare"))
		TH_LOG("/proc/mounts shows no noshare for %s", self->e.mnt[MNT_NOSHARE]);
	EXPECT_FALSE(mount_has_option(self->e.mnt[MNT_DEFAULT], "noshare"))
		TH_LOG("/proc/mounts shows noshare for the default mount %s",
		       self->e.mnt[MNT_DEFAULT]);
}

/* A read fault on a hole gets a frame of its own, not the zero frame. */
TEST_F(noshare, read_fault_gets_private_frame)
{
	struct pin_env *e = &self->e;
	struct pshare_region_stats st;

	region_map(_metadata, e, 0, MNT_NOSHARE, 4);
	EXPECT_EQ(0, ps_touch(PG(e, 0, 1)));
	EXPECT_EQ(-1, ps_nonzero(PG(e, 0, 1), PS_PAGE));
	PS_STATS(e->dev, e->r[0].fd, &st);
	EXPECT_EQ(1, st.pages_private);
	EXPECT_EQ(0, st.pages_zero);
	EXPECT_EQ(0, st.pages_shared);

	/* Writing it needs no copy. */
	ps_fill(PG(e, 0, 1), PS_PAGE, 1);
	PS_STATS(e->dev, e->r[0].fd, &st);
	EXPECT_EQ(1, st.pages_private);
	EXPECT_EQ(0, st.pages_zero);
	EXPECT_EQ(0, st.cow_breaks);
	ps_pread_page(_metadata, e->r[0].fd, 1, 1);
}

/*
 * The same pages in a default and a noshare region, scanned: the default
 * region's identical pages share a frame and its zero pages map the zero
 * frame; the noshare region's all stay private.
 */
TEST_F_TIMEOUT(noshare, never_merged, PIN_TIMEOUT)
{
	struct pin_env *e = &self->e;
	struct pshare_region_stats st;
	uint64_t pfn[4];
	int i, pg, q;

	scanner_fast(_metadata, e, 0);
	/* Pages 0-3 alike, 4-5 written with zeros, 6-7 holes read. */
	for (i = 0; i < NREG; i++) {
		region_map(_metadata, e, i, i == 0 ? MNT_DEFAULT : MNT_NOSHARE, 8);
		for (pg = 0; pg < 4; pg++)
			ps_fill(PG(e, i, pg), PS_PAGE, 3);
		fill_zero(PG(e, i, 4));
		fill_zero(PG(e, i, 5));
		ps_touch(PG(e, i, 6));
		ps_touch(PG(e, i, 7));
	}
	PS_STATS(e->dev, e->r[1].fd, &st);
	EXPECT_EQ(8, st.pages_private);

	PS_KNOB_SET("run", "1");
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, RSTAT(e, 0, pages_shared) == 4 &&
				RSTAT(e, 0, pages_zero) == 4))
		TH_LOG("the default region was not merged: %lld shared, %lld zero",
		       RSTAT(e, 0, pages_shared), RSTAT(e, 0, pages_zero));
	ps_wait_scans(_metadata, QUIET_SCANS);

	PS_STATS(e->dev, e->r[1].fd, &st);
	EXPECT_EQ(8, st.pages_private);
	EXPECT_EQ(0, st.pages_shared);
	EXPECT_EQ(0, st.pages_zero);
	for (pg = 0; pg < 4; pg++) {
		pfn[pg] = ps_pfn(PG(e, 1, pg));
		ASSERT_NE(0, pfn[pg]) TH_LOG("no PFN for page %d", pg);
		for (q = 0; q < pg; q++)
			EXPECT_NE(pfn[q], pfn[pg])
				TH_LOG("noshare pages %d and %d share PFN %#llx", q,
				       pg, (unsigned long long)pfn[pg]);
	}
	for (pg = 0; pg < 8; pg++)
		ps_pread_page(_metadata, e->r[1].fd, pg, pg < 4 ? 3 : -1);
}

/*
 * Read a page, pin it read-only, write it through the mapping: the pin
 * sees the write, for a hole read first and for a page whose content
 * another page has too, scanned.
 */
TEST_F_TIMEOUT(noshare, ro_pin_sees_writes, PIN_TIMEOUT)
{
	struct pin_env *e = &self->e;
	unsigned char buf[PS_PAGE];
	uint64_t pfn;

	scanner_fast(_metadata, e, 0);
	region_map(_metadata, e, 0, MNT_NOSHARE, 4);

	/* A hole, read. */
	EXPECT_EQ(0, ps_touch(PG(e, 0, 0)));
	pfn = ps_pfn(PG(e, 0, 0));
	PIN(e, PG(e, 0, 0), PS_PAGE, false);
	ps_fill(PG(e, 0, 0), PS_PAGE, 11);
	PIN_READ(e, 0, buf);
	EXPECT_EQ(-1, ps_check(buf, PS_PAGE, 11))
		TH_LOG("the read-only pin of a hole read does not see the write");
	EXPECT_EQ(pfn, ps_pfn(PG(e, 0, 0)));
	UNPIN(e);

	/* Pages 1 and 2 alike, scanned. */
	ps_fill(PG(e, 0, 1), PS_PAGE, 12);
	ps_fill(PG(e, 0, 2), PS_PAGE, 12);
	PS_KNOB_SET("run", "1");
	ps_wait_scans(_metadata, QUIET_SCANS);
	PS_KNOB_SET("run", "0");
	EXPECT_EQ(0, RSTAT(e, 0, pages_shared));
	EXPECT_EQ(-1, ps_check(PG(e, 0, 1), PS_PAGE, 12));
	pfn = ps_pfn(PG(e, 0, 1));
	PIN(e, PG(e, 0, 1), PS_PAGE, false);
	ps_fill(PG(e, 0, 1), PS_PAGE, 13);
	PIN_READ(e, 0, buf);
	EXPECT_EQ(-1, ps_check(buf, PS_PAGE, 13))
		TH_LOG("the read-only pin of a scanned page does not see the write");
	EXPECT_EQ(pfn, ps_pfn(PG(e, 0, 1)));
	ps_pread_page(_metadata, e->r[0].fd, 1, 13);
	ps_pread_page(_metadata, e->r[0].fd, 2, 12);
}

/* A writable long-term pin is allowed, and it and the mapping agree. */
TEST_F(noshare, rw_pin_allowed_and_coherent)
{
	struct pin_env *e = &self->e;
	struct pshare_region_stats st;
	unsigned char buf[PS_PAGE];

	region_map(_metadata, e, 0, MNT_NOSHARE, 4);
	/* Page 0 written, page 1 a hole read, page 2 untouched. */
	ps_fill(PG(e, 0, 0), PS_PAGE, 21);
	ps_touch(PG(e, 0, 1));
	PIN(e, PG(e, 0, 0), 3 * PS_PAGE, true);

	PIN_READ(e, 0, buf);
	EXPECT_EQ(-1, ps_check(buf, PS_PAGE, 21));
	ps_fill(buf, PS_PAGE, 22);
	ASSERT_EQ((ssize_t)PS_PAGE, pwrite(e->pin, buf, PS_PAGE, PS_PAGE));
	ps_fill(buf, PS_PAGE, 23);
	ASSERT_EQ((ssize_t)PS_PAGE, pwrite(e->pin, buf, PS_PAGE, 2 * PS_PAGE));
	EXPECT_EQ(-1, ps_check(PG(e, 0, 1), PS_PAGE, 22))
		TH_LOG("the mapping does not see a write through the pin");
	EXPECT_EQ(-1, ps_check(PG(e, 0, 2), PS_PAGE, 23))
		TH_LOG("the mapping does not see a write through the pin");
	ps_pread_page(_metadata, e->r[0].fd, 1, 22);
	ps_pread_page(_metadata, e->r[0].fd, 2, 23);

	ps_fill(PG(e, 0, 0), PS_PAGE, 24);
	PIN_READ(e, 0, buf);
	EXPECT_EQ(-1, ps_check(buf, PS_PAGE, 24))
		TH_LOG("the pin does not see a write through the mapping");

	PS_STATS(e->dev, e->r[0].fd, &st);
	EXPECT_EQ(3, st.pages_private);
	EXPECT_EQ(0, st.pages_zero);
	EXPECT_EQ(0, st.pages_shared);
	UNPIN(e);
	ps_pread_page(_metadata, e->r[0].fd, 0, 24);
	ps_pread_page(_metadata, e->r[0].fd, 1, 22);
}

/* ------------------------------------------------------------------ */
/* Default mounts: what noshare is for                                 */

FIXTURE(default_mount) {
	struct pin_env e;
};

FIXTURE_SETUP(default_mount)
{
	env_setup(_metadata, &self->e, false);
}

FIXTURE_TEARDOWN(default_mount)
{
	env_teardown(&self->e);
}

/*
 * Pin page @pg of region 0 read-only, write pattern @seed through the
 * mapping, and say whether the pin saw it (not asserted: a default mount
 * does not promise it).
 */
static void report_ro_pin(struct __test_metadata *_metadata, struct pin_env *e,
			  int pg, unsigned long seed, const char *what)
{
	unsigned char buf[PS_PAGE];
	uint64_t before, after;

	before = ps_pfn(PG(e, 0, pg));
	PIN(e, PG(e, 0, pg), PS_PAGE, false);
	ps_fill(PG(e, 0, pg), PS_PAGE, seed);
	EXPECT_EQ(-1, ps_check(PG(e, 0, pg), PS_PAGE, seed));
	ps_pread_page(_metadata, e->r[0].fd, pg, seed);
	after = ps_pfn(PG(e, 0, pg));
	PIN_READ(e, 0, buf);
	PS_NOTE("default mount, %s: the read-only pin %s (PFN %#llx, after the write %#llx)",
		what, ps_check(buf, PS_PAGE, seed) == -1 ? "saw the write" :
		"did not see the write: copy-on-write moved the page",
		(unsigned long long)before, (unsigned long long)after);
	UNPIN(e);
}

TEST_F(default_mount, ro_pin_on_zero_page)
{
	struct pin_env *e = &self->e;

	region_map(_metadata, e, 0, MNT_DEFAULT, 2);
	EXPECT_EQ(0, ps_touch(PG(e, 0, 0)));
	PS_NOTE("default mount: a hole read maps %s",
		RSTAT(e, 0, pages_zero) == 1 ? "the zero frame" : "a private frame");
	report_ro_pin(_metadata, e, 0, 31, "zero-mapped page");
}

TEST_F_TIMEOUT(default_mount, ro_pin_on_shared_page, PIN_TIMEOUT)
{
	struct pin_env *e = &self->e;

	scanner_fast(_metadata, e, 0);
	region_map(_metadata, e, 0, MNT_DEFAULT, 2);
	ps_fill(PG(e, 0, 0), PS_PAGE, 32);
	ps_fill(PG(e, 0, 1), PS_PAGE, 32);
	PS_KNOB_SET("run", "1");
	EXPECT_TRUE(PS_WAIT_FOR(MERGE_SCANS, RSTAT(e, 0, pages_shared) == 2))
		TH_LOG("two identical pages were not merged");
	PS_KNOB_SET("run", "0");
	report_ro_pin(_metadata, e, 0, 33, "shared page");
	ps_pread_page(_metadata, e->r[0].fd, 1, 32);
}

/* Refused since 6.5 (the mapping needs dirty tracking), allowed before. */
TEST_F(default_mount, rw_pin)
{
	struct pin_env *e = &self->e;
	bool refused = kernel_at_least(6, 5);
	unsigned char buf[PS_PAGE];
	int ret;

	region_map(_metadata, e, 0, MNT_DEFAULT, 1);
	ps_fill(PG(e, 0, 0), PS_PAGE, 41);
	ret = pin_range(e->pin, PG(e, 0, 0), PS_PAGE, true);
	if (refused) {
		EXPECT_EQ(-1, ret) TH_LOG("a writable long-term pin was allowed on 6.5+");
		EXPECT_EQ(EFAULT, errno);
		PS_NOTE("default mount: writable long-term pin refused (%s), as on every kernel since 6.5",
			ret ? strerror(errno) : "no error");
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("writable long-term pin before 6.5: %s", strerror(errno));
	PS_NOTE("default mount: writable long-term pin allowed (before 6.5)");
	ps_fill(buf, PS_PAGE, 42);
	ASSERT_EQ((ssize_t)PS_PAGE, pwrite(e->pin, buf, PS_PAGE, 0));
	EXPECT_EQ(-1, ps_check(PG(e, 0, 0), PS_PAGE, 42));
	UNPIN(e);
}

TEST_HARNESS_MAIN
