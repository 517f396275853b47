// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading pshare.ko: refused while anything holds it, clean when nothing
 * does, and loadable again in the same boot.
 *
 * The module must stay loaded while a pshare filesystem is mounted, while
 * a region is still mapped or open after a lazy umount, and while
 * /dev/pshare is open: delete_module() then fails with EWOULDBLOCK (what
 * rmmod reports as "in use") and everything keeps working. Once the last
 * of them is gone it unloads; kmemleak (debug kernel) then finds nothing,
 * and the module loads again with fresh counters. A few more load/unload
 * cycles follow.
 *
 * Runs only in the test VM (PSHARE_KERNEL set by scripts/vm.sh), where it
 * reloads build/$PSHARE_KERNEL/pshare.ko. It puts back what it found: the
 * module loaded, every pshare mount with its options, the knob values.
 */
#include "pshare_selftest.h"

#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>

#define MAX_MOUNTS	8
#define CYCLES		3
#define KMEMLEAK	"/sys/kernel/debug/kmemleak"

static const char *const knob_names[] = {
	"run", "pages_to_scan", "sleep_millisecs", "merge_across_domains",
	"limit_pages", "idle_tax_percent", "sample_period_secs", "sample_pages",
};
#define NKNOBS	(sizeof(knob_names) / sizeof(knob_names[0]))

FIXTURE(unload) {
	char ko[PATH_MAX];
	int nmounts;
	char mnt[MAX_MOUNTS][PATH_MAX];
	char opts[MAX_MOUNTS][256];
	long long knobs[NKNOBS];
	bool armed;		/* teardown must restore */
};

static bool module_loaded(void)
{
	return !access("/sys/module/pshare", F_OK);
}

static int unload(void)
{
	return syscall(SYS_delete_module, "pshare", O_NONBLOCK);
}

static int load(const char *ko)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), ret, err;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

/*
 * Mount options as the kernel shows them, minus the generic flags that
 * mount(2) takes as flags, not as data.
 */
static void pshare_only_opts(const char *all, char *out, size_t len)
{
	char copy[256], *tok, *save;

	out[0] = 0;
	snprintf(copy, sizeof(copy), "%s", all);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "uid=", 4) && strncmp(tok, "gid=", 4) &&
		    strncmp(tok, "mode=", 5))
			continue;
		if (out[0])
			strncat(out, ",", len - strlen(out) - 1);
		strncat(out, tok, len - strlen(out) - 1);
	}
}

/* Load the module and mount what was mounted, if that is not so now. */
static void restore(FIXTURE_DATA(unload) *self)
{
	char path[256], v[32];
	size_t k;
	int i;

	if (!module_loaded() && load(self->ko))
		PS_NOTE("reloading %s: %s", self->ko, strerror(errno));
	for (i = 0; i < self->nmounts; i++)
		if (!ps_mounted_as(self->mnt[i], "pshare") &&
		    mount("pshare", self->mnt[i], "pshare", 0, self->opts[i]))
			PS_NOTE("remounting %s: %s", self->mnt[i], strerror(errno));
	for (k = 0; k < NKNOBS; k++) {
		if (self->knobs[k] < 0 || ps_sysfs(knob_names[k]) == self->knobs[k])
			continue;
		snprintf(path, sizeof(path), PS_SYSFS "/%s", knob_names[k]);
		snprintf(v, sizeof(v), "%lld", self->knobs[k]);
		if (ps_write_file(path, v))
			PS_NOTE("restoring %s=%s: %s", knob_names[k], v,
				strerror(errno));
	}
}

FIXTURE_SETUP(unload)
{
	char dev[64], mp[PATH_MAX], type[64], opts[256];
	const char *top = getenv("PSHARE_TOP"), *kernel = getenv("PSHARE_KERNEL");
	FILE *f;
	size_t k;

	self->armed = false;
	self->nmounts = 0;
	PS_REQUIRE_ENV();
	if (!kernel || !*kernel || !top || !*top)
		PS_SKIP("only in the test VM (PSHARE_KERNEL and PSHARE_TOP unset): it unloads the module");
	snprintf(self->ko, sizeof(self->ko), "%s/build/%s/pshare.ko", top, kernel);
	if (access(self->ko, R_OK))
		PS_SKIP("%.900s is missing: cannot load the module again", self->ko);
	if (!access("/sys/module/pshare/holders/pshare_kunit", F_OK))
		PS_SKIP("pshare_kunit is loaded and holds pshare");

	f = fopen("/proc/mounts", "r");
	ASSERT_NE(NULL, f);
	while (fscanf(f, "%63s %4095s %63s %255s %*[^\n]", dev, mp, type, opts) == 4) {
		if (strcmp(type, "pshare"))
			continue;
		ASSERT_LT(self->nmounts, MAX_MOUNTS);
		snprintf(self->mnt[self->nmounts], PATH_MAX, "%s", mp);
		pshare_only_opts(opts, self->opts[self->nmounts], sizeof(self->opts[0]));
		self->nmounts++;
	}
	fclose(f);
	ASSERT_LT(0, self->nmounts);
	for (k = 0; k < NKNOBS; k++)
		self->knobs[k] = ps_sysfs(knob_names[k]);
	self->armed = true;
}

FIXTURE_TEARDOWN(unload)
{
	if (self->armed)
		restore(self);
}

/* Refused while held: the module stays live. */
static void expect_refused(struct __test_metadata *_metadata, const char *why)
{
	char buf[32] = "";
	int fd;

	errno = 0;
	EXPECT_EQ(-1, unload()) TH_LOG("unloaded while %s", why);
	EXPECT_EQ(EWOULDBLOCK, errno) TH_LOG("while %s: %s", why, strerror(errno));
	fd = open("/sys/module/pshare/initstate", O_RDONLY);
	ASSERT_LE(0, fd) TH_LOG("the module is gone after a refused unload (%s)", why);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	EXPECT_EQ(0, strncmp(buf, "live", 4)) TH_LOG("initstate %s while %s", buf, why);
}

/* Unload, waiting a little for deferred releases (task work, RCU). */
static void expect_unloads(struct __test_metadata *_metadata, const char *when)
{
	int tries;

	for (tries = 0; tries < 100 && unload(); tries++) {
		ASSERT_EQ(EWOULDBLOCK, errno) TH_LOG("%s: %s", when, strerror(errno));
		usleep(100 * 1000);
	}
	ASSERT_FALSE(module_loaded()) TH_LOG("%s: still held after 10 s", when);
	EXPECT_NE(0, access(PS_DEV, F_OK)) TH_LOG("%s: %s still exists", when, PS_DEV);
	EXPECT_NE(0, access(PS_SYSFS, F_OK)) TH_LOG("%s: %s still exists", when, PS_SYSFS);
}

/* kmemleak's report after a fresh scan: unreferenced objects, or -1. */
static int kmemleak_count(void)
{
	char line[512];
	int n = 0;
	FILE *f;

	if (ps_write_file(KMEMLEAK, "scan"))
		return -1;
	f = fopen(KMEMLEAK, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "unreferenced object"))
			n++;
		printf("# kmemleak: %s", line);
		fflush(stdout);
	}
	fclose(f);
	return n;
}

/* A region works: write, read back, map, statistics. */
static void region_works(struct __test_metadata *_metadata, const char *when)
{
	struct pshare_region_stats st;
	struct ps_region r;
	unsigned char *p;
	int dev;

	ps_region_create(_metadata, &r, 2 * PS_PAGE);
	ps_pwrite_page(_metadata, r.fd, 0, 71);
	ps_pread_page(_metadata, r.fd, 0, 71);
	p = mmap(NULL, 2 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("%s: mmap: %s", when, strerror(errno));
	ps_fill(p + PS_PAGE, PS_PAGE, 72);
	EXPECT_EQ(-1, ps_check(p, PS_PAGE, 71));
	munmap(p, 2 * PS_PAGE);
	ps_pread_page(_metadata, r.fd, 1, 72);
	dev = open(PS_DEV, O_RDWR);
	ASSERT_LE(0, dev) TH_LOG("%s: open %s: %s", when, PS_DEV, strerror(errno));
	PS_STATS(dev, r.fd, &st);
	EXPECT_EQ(2, st.pages_private) TH_LOG("%s", when);
	close(dev);
	ps_region_destroy(&r);
}

TEST_F_TIMEOUT(unload, refused_while_held_then_reload, 600)
{
	unsigned char *map;
	struct ps_region r;
	int i, dev, leaks, cycle;
	struct timespec t0, t1;

	/* Mounted: refused. */
	expect_refused(_metadata, "mounted");
	region_works(_metadata, "after a refused unload");

	/* A mapped region keeps its mount, lazily unmounted, and the module. */
	ps_region_create(_metadata, &r, 4 * PS_PAGE);
	ps_pwrite_page(_metadata, r.fd, 3, 73);
	map = mmap(NULL, 4 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ps_fill(map, PS_PAGE, 74);
	ASSERT_EQ(0, unlink(r.path));
	r.unlinked = true;
	close(r.fd);
	r.fd = -1;
	for (i = 0; i < self->nmounts; i++) {
		if (!strcmp(self->mnt[i], ps_mnt()))
			EXPECT_EQ(-1, umount(self->mnt[i]));	/* busy */
		ASSERT_EQ(0, umount2(self->mnt[i], MNT_DETACH))
			TH_LOG("umount -l %s: %s", self->mnt[i], strerror(errno));
	}
	expect_refused(_metadata, "a region of a lazily unmounted pshare is mapped");
	EXPECT_EQ(-1, ps_check(map, PS_PAGE, 74));
	EXPECT_EQ(-1, ps_check(map + 3 * PS_PAGE, PS_PAGE, 73));
	ps_fill(map + PS_PAGE, PS_PAGE, 75);	/* faults still work */
	EXPECT_EQ(-1, ps_check(map + PS_PAGE, PS_PAGE, 75));

	/* /dev/pshare open: refused too. */
	dev = open(PS_DEV, O_RDWR);
	ASSERT_LE(0, dev);
	munmap(map, 4 * PS_PAGE);
	expect_refused(_metadata, PS_DEV " is open");
	close(dev);

	/* Nothing holds it now. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_unloads(_metadata, "after the last mapping and the device closed");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	PS_NOTE("unloaded %.2f s after the last user went",
		(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	{
		FILE *f = fopen("/proc/filesystems", "r");
		char line[128];

		ASSERT_NE(NULL, f);
		while (fgets(line, sizeof(line), f))
			EXPECT_EQ(NULL, strstr(line, "\tpshare\n"))
				TH_LOG("pshare still registered as a filesystem");
		fclose(f);
	}

	/* Reload, fresh, and put the mounts back. */
	ASSERT_EQ(0, load(self->ko)) TH_LOG("insmod %s: %s", self->ko, strerror(errno));
	EXPECT_EQ(0, ps_sysfs("regions"));
	EXPECT_EQ(0, ps_sysfs("pages_private"));
	EXPECT_EQ(0, ps_sysfs("pages_paged"));
	restore(self);
	for (i = 0; i < self->nmounts; i++)
		ASSERT_TRUE(ps_mounted_as(self->mnt[i], "pshare")) TH_LOG("%s", self->mnt[i]);
	region_works(_metadata, "after a reload");

	/* More cycles: mount, use, umount, unload, load. */
	for (cycle = 0; cycle < CYCLES; cycle++) {
		for (i = 0; i < self->nmounts; i++)
			ASSERT_EQ(0, umount(self->mnt[i]))
				TH_LOG("cycle %d: umount %s: %s", cycle,
				       self->mnt[i], strerror(errno));
		expect_unloads(_metadata, "after umount");
		ASSERT_EQ(0, load(self->ko))
			TH_LOG("cycle %d: insmod: %s", cycle, strerror(errno));
		restore(self);
		region_works(_metadata, "in a load/unload cycle");
	}
	PS_NOTE("%d load/unload cycles after the first", CYCLES);

	/* Whatever the unloads left behind, kmemleak sees now. */
	leaks = kmemleak_count();
	if (leaks < 0) {
		PS_NOTE("kmemleak not available: leaks not checked here");
	} else {
		EXPECT_EQ(0, leaks) TH_LOG("kmemleak reports %d unreferenced objects", leaks);
		PS_NOTE("kmemleak: %d unreferenced objects after the unloads", leaks);
	}
}

TEST_HARNESS_MAIN
