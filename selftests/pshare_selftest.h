/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pshare selftests: finding the mount, skipping when
 * the module is not there, making a throwaway region, reading the region
 * statistics ioctl, the global sysfs counters and "key value" files, filling
 * and checking pages with patterns that differ from page to page, and the
 * random numbers and failure record of the multi-threaded tests.
 *
 * Functions that assert take the harness's _metadata as first argument, so
 * the ASSERT_* and EXPECT_* macros work inside them. Those macros expand to
 * more than one statement: always brace them under if/else/for.
 */
#ifndef PSHARE_SELFTEST_H
#define PSHARE_SELFTEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/loop.h>
#include <linux/pshare.h>

#include "kselftest_harness.h"

/* pshare pages are always 4 KiB, whatever the architecture calls a page. */
#define PS_PAGE		4096UL

#define PS_SYSFS	"/sys/kernel/mm/pshare"
#define PS_DEBUGFS	"/sys/kernel/debug/pshare/regions"
#define PS_DEV		"/dev/pshare"

/*
 * SKIP() that really skips. In the 6.1 harness a SKIP() in FIXTURE_SETUP
 * returns from the setup with "passed" still set, so the test body runs
 * anyway on a half-built fixture (fixed upstream later). Jumping back to the
 * harness's setjmp() ends the test instead: the harness then sees the skip
 * flag and reports "ok N # SKIP reason". From a test body the teardown still
 * runs, as after a failed ASSERT.
 */
#define PS_SKIP(fmt, ...) \
	SKIP(longjmp(_metadata->env, 1), fmt, ##__VA_ARGS__)

/*
 * A "# ..." line on stdout, flushed at once: the harness ends each test's
 * process with _exit(), which would drop whatever stdio still buffers.
 */
#define PS_NOTE(fmt, ...) do {						\
	printf("# " fmt "\n", ##__VA_ARGS__);				\
	fflush(stdout);							\
} while (0)

/* Write all of a small string to a file (cgroup and sysfs knobs). */
static inline int ps_write_file(const char *path, const char *s)
{
	int fd, err;
	ssize_t n;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* The number a small file holds, or -1 when it cannot be read. */
static inline long long ps_read_number(const char *path)
{
	char buf[64];
	long long v;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (sscanf(buf, "%lld", &v) != 1)
		return -1;
	return v;
}

/*
 * The number after @key in a file of "key value" lines, or -1 when the file
 * or the key is not there. The key may end in a colon and the number may be
 * followed by a unit, so one reader serves /proc/vmstat ("pgscan_kswapd 12"),
 * /proc/self/status ("VmLck:	0 kB", in kB) and pshare's debugfs table
 * ("rebuilds 3"). Only whole keys match: "frames" is not "frames_free".
 */
static inline long long ps_file_number(const char *path, const char *key)
{
	size_t len = strlen(key);
	long long v = -1;
	char line[256];
	const char *p;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, len))
			continue;
		p = line + len;
		if (*p == ':')
			p++;
		if (*p != ' ' && *p != '\t')
			continue;
		v = strtoll(p, NULL, 10);
		break;
	}
	fclose(f);
	return v;
}

/*
 * NULL when the loaded module has every PSHARE_FEATURE_* bit of @features,
 * else why not: @lacking when it lacks one, or what went wrong asking.
 */
static inline const char *ps_features_missing(__u64 features,
					      const char *lacking)
{
	struct pshare_api api = { .argsz = sizeof(api) };
	int dev, err;

	dev = open(PS_DEV, O_RDWR);
	if (dev < 0)
		return "cannot open " PS_DEV;
	err = ioctl(dev, PSHARE_IOC_API, &api);
	close(dev);
	if (err)
		return "PSHARE_IOC_API failed";
	return (api.features & features) == features ? NULL : lacking;
}

/* One counter of /sys/kernel/mm/pshare/, or -1 when it cannot be read. */
static inline long long ps_sysfs(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), PS_SYSFS "/%s", name);
	return ps_read_number(path);
}

/* Write @val to knob @name of /sys/kernel/mm/pshare; 0 or -1 with errno. */
static inline int ps_knob_set(const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), PS_SYSFS "/%s", name);
	return ps_write_file(path, val);
}

#define PS_KNOB_SET(name, val) \
	ASSERT_EQ(0, ps_knob_set(name, val)) \
		TH_LOG("writing %s to %s: %s", val, name, strerror(errno))

/* ps_knob_set() of a number: puts back a value that ps_sysfs() read. */
static inline int ps_knob_set_num(const char *name, long long val)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", val);
	return ps_knob_set(name, v);
}

/*
 * Wait up to 30 s for the regions counter to read @want: the scanner, the
 * sampler or the reclaimer may hold the last reference to a closed and
 * unlinked region a moment longer, and free it when they let go.
 */
static inline long long ps_wait_regions(long long want)
{
	long long now;
	int i;

	for (i = 0; i < 3000 && (now = ps_sysfs("regions")) != want; i++)
		usleep(10 * 1000);
	return now;
}

/* The pshare mount the tests work in: $PSHARE_MNT, else /run/pshare. */
static inline const char *ps_mnt(void)
{
	const char *m = getenv("PSHARE_MNT");

	return m && *m ? m : "/run/pshare";
}

/*
 * Is @dir the mount point of a filesystem of @type? The mount table says:
 * statfs(2) will not for every type (9p reports its server's filesystem).
 */
static inline bool ps_mounted_as(const char *dir, const char *type)
{
	char mp[PATH_MAX], t[64];
	bool found = false;
	FILE *f = fopen("/proc/self/mounts", "r");

	if (!f)
		return false;
	while (!found && fscanf(f, "%*s %4095s %63s %*[^\n]", mp, t) == 2)
		found = !strcmp(mp, dir) && !strcmp(t, type);
	fclose(f);
	return found;
}

/*
 * Why the tests cannot run here, or NULL when they can: root, a pshare
 * filesystem at ps_mnt() and the control device.
 */
static inline const char *ps_env_missing(void)
{
	static char why[512];
	struct statfs sfs;

	if (geteuid() != 0)
		return "must run as root";
	if (statfs(ps_mnt(), &sfs) || sfs.f_type != PSHARE_FS_MAGIC) {
		snprintf(why, sizeof(why),
			 "no pshare filesystem at %.150s (insmod pshare.ko; mount -t pshare pshare %.150s, or set PSHARE_MNT)",
			 ps_mnt(), ps_mnt());
		return why;
	}
	if (access(PS_DEV, R_OK | W_OK))
		return PS_DEV " is missing (is pshare.ko loaded?)";
	return NULL;
}

/*
 * The exact counts these tests expect assume that no scanner merges pages
 * behind their back: stop it (run=0 keeps what is merged, and the tests'
 * regions are fresh) if an earlier program left it running.
 */
static inline void ps_stop_scanner(struct __test_metadata *_metadata)
{
	long long run = ps_sysfs("run");

	if (run > 0) {
		ASSERT_EQ(0, ps_write_file(PS_SYSFS "/run", "0"))
			TH_LOG("cannot stop the scanner: %s", strerror(errno));
	}
}

#define PS_REQUIRE_ENV() do {						\
	const char *__why = ps_env_missing();				\
	if (__why)							\
		PS_SKIP("%s", __why);					\
	ps_stop_scanner(_metadata);					\
} while (0)

/* One region file made for one test. */
struct ps_region {
	int fd;			/* O_RDWR, -1 when closed */
	bool unlinked;		/* path already removed */
	char path[PATH_MAX];
};

/* Create a fresh region in the mount (mkstemp, as QEMU does) of @size. */
static inline void ps_region_create(struct __test_metadata *_metadata,
				    struct ps_region *r, off_t size)
{
	snprintf(r->path, sizeof(r->path), "%s/selftest.XXXXXX", ps_mnt());
	r->unlinked = false;
	r->fd = mkstemp(r->path);
	ASSERT_LE(0, r->fd) TH_LOG("mkstemp(%s): %s", r->path, strerror(errno));
	if (size)
		ASSERT_EQ(0, ftruncate(r->fd, size))
			TH_LOG("ftruncate: %s", strerror(errno));
}

static inline void ps_region_destroy(struct ps_region *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->path[0] && !r->unlinked)
		unlink(r->path);
	r->unlinked = true;
}

/*
 * The fixture of most single-region tests: skip without pshare, else open
 * /dev/pshare into *@dev and create @r of @size bytes. Both start at -1
 * first, so that ps_dev_region_close() is safe after a skip or a failure.
 */
static inline void ps_dev_region_open(struct __test_metadata *_metadata,
				      int *dev, struct ps_region *r, off_t size)
{
	*dev = -1;
	r->fd = -1;
	PS_REQUIRE_ENV();
	*dev = open(PS_DEV, O_RDWR);
	ASSERT_LE(0, *dev) TH_LOG("open %s: %s", PS_DEV, strerror(errno));
	ps_region_create(_metadata, r, size);
}

static inline void ps_dev_region_close(int dev, struct ps_region *r)
{
	ps_region_destroy(r);
	if (dev >= 0)
		close(dev);
}

/* Pages a region's four page counts add up to (holes are in none). */
static inline unsigned long long
ps_pages_counted(const struct pshare_region_stats *st)
{
	return st->pages_private + st->pages_zero + st->pages_shared +
	       st->pages_paged;
}

/* PSHARE_IOC_REGION_STATS on @fd; returns the ioctl's result. */
static inline int ps_stats(int dev, int fd, struct pshare_region_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->argsz = sizeof(*st);
	st->fd = fd;
	return ioctl(dev, PSHARE_IOC_REGION_STATS, st);
}

/* Same, asserting success. */
#define PS_STATS(dev, fd, st) \
	ASSERT_EQ(0, ps_stats(dev, fd, st)) \
		TH_LOG("REGION_STATS: %s", strerror(errno))

/* The global counters, read together. */
struct ps_global {
	long long regions;
	long long pages_private;
	long long pages_zero;
};

static inline void ps_global(struct __test_metadata *_metadata,
			     struct ps_global *g)
{
	g->regions = ps_sysfs("regions");
	g->pages_private = ps_sysfs("pages_private");
	g->pages_zero = ps_sysfs("pages_zero");
	ASSERT_LE(0, g->regions) TH_LOG("cannot read " PS_SYSFS "/regions");
	ASSERT_LE(0, g->pages_private)
		TH_LOG("cannot read " PS_SYSFS "/pages_private");
	ASSERT_LE(0, g->pages_zero) TH_LOG("cannot read " PS_SYSFS "/pages_zero");
}

/* The pattern byte @i of page @seed: differs between pages and offsets. */
static inline unsigned char ps_pat(unsigned long seed, size_t i)
{
	return (unsigned char)(seed * 131 + i * 7 + (i >> 8) + 1);
}

static inline void ps_fill(void *p, size_t len, unsigned long seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		c[i] = ps_pat(seed, i);
}

/* Offset of the first byte that differs from the pattern, or -1. */
static inline long ps_check(const void *p, size_t len, unsigned long seed)
{
	const volatile unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i] != ps_pat(seed, i))
			return (long)i;
	return -1;
}

/* Offset of the first nonzero byte, or -1. */
static inline long ps_nonzero(const void *p, size_t len)
{
	const volatile unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i])
			return (long)i;
	return -1;
}

/* Read one byte through a mapping so the compiler cannot drop it. */
static inline unsigned char ps_touch(const void *p)
{
	return *(const volatile unsigned char *)p;
}

/* Write a page of pattern @seed at page @pg of @fd with pwrite. */
static inline void ps_pwrite_page(struct __test_metadata *_metadata, int fd,
				  unsigned long pg, unsigned long seed)
{
	unsigned char buf[PS_PAGE];

	ps_fill(buf, sizeof(buf), seed);
	ASSERT_EQ((ssize_t)PS_PAGE, pwrite(fd, buf, PS_PAGE, pg * PS_PAGE))
		TH_LOG("pwrite page %lu: %s", pg, strerror(errno));
}

/* Check page @pg of @fd with pread: pattern @seed, or zeros if @seed < 0. */
static inline void ps_pread_page(struct __test_metadata *_metadata, int fd,
				 unsigned long pg, long seed)
{
	unsigned char buf[PS_PAGE];

	ASSERT_EQ((ssize_t)PS_PAGE, pread(fd, buf, PS_PAGE, pg * PS_PAGE))
		TH_LOG("pread page %lu: %s", pg, strerror(errno));
	if (seed < 0) {
		EXPECT_EQ(-1, ps_nonzero(buf, PS_PAGE))
			TH_LOG("page %lu should read zeros", pg);
	} else {
		EXPECT_EQ(-1, ps_check(buf, PS_PAGE, seed))
			TH_LOG("page %lu does not hold pattern %ld", pg, seed);
	}
}

/*
 * A scratch ext4 file system on a loop device over an image in /tmp: a
 * disk file system for tests whose I/O must go through the page cache and
 * the block layer.
 */
struct ps_scratch_fs {
	char img[64];
	char dir[64];		/* the mount point */
	char loopdev[64];
	bool mounted;
};

/* Run a shell command with its output discarded; its wait status. */
static inline int ps_run_quiet(const char *cmd)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	return system(buf);
}

/* Undo what ps_scratch_fs_make() made; safe on a partly made one. */
static inline void ps_scratch_fs_remove(struct ps_scratch_fs *fs)
{
	int fd;

	if (fs->mounted)
		umount2(fs->dir, MNT_DETACH);
	fs->mounted = false;
	if (fs->dir[0])
		rmdir(fs->dir);
	fs->dir[0] = 0;
	if (fs->loopdev[0]) {
		fd = open(fs->loopdev, O_RDONLY);
		if (fd >= 0) {
			ioctl(fd, LOOP_CLR_FD, 0);
			close(fd);
		}
	}
	fs->loopdev[0] = 0;
	if (fs->img[0])
		unlink(fs->img);
	fs->img[0] = 0;
}

/*
 * Make and mount a scratch file system of @mib MiB. Returns NULL when it
 * is mounted on fs->dir, or why it could not be made (a reason to skip;
 * nothing is left behind then).
 */
static inline const char *ps_scratch_fs_make(struct ps_scratch_fs *fs, unsigned int mib)
{
	static const char * const fstypes[] = { "ext4", "ext2" };
	char cmd[256];
	size_t i;
	FILE *f;
	int fd;

	memset(fs, 0, sizeof(*fs));
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	if (ps_run_quiet("command -v mke2fs") || ps_run_quiet("command -v losetup"))
		return "mke2fs or losetup not installed (e2fsprogs, util-linux)";

	strcpy(fs->img, "/tmp/pshare-scratch.XXXXXX");
	fd = mkstemp(fs->img);
	if (fd < 0 || ftruncate(fd, (off_t)mib << 20)) {
		if (fd >= 0)
			close(fd);
		ps_scratch_fs_remove(fs);
		return "cannot make an image file in /tmp";
	}
	close(fd);
	/* No journal, lazy tables: quick even on a slow debug kernel. */
	snprintf(cmd, sizeof(cmd),
		 "mke2fs -q -F -t ext4 -O ^has_journal -E lazy_itable_init=1 %s", fs->img);
	if (ps_run_quiet(cmd)) {
		ps_scratch_fs_remove(fs);
		return "mke2fs -t ext4 failed on an image in /tmp";
	}

	ps_run_quiet("modprobe loop");
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s 2>/dev/null", fs->img);
	f = popen(cmd, "r");
	if (f) {
		if (!fgets(fs->loopdev, sizeof(fs->loopdev), f))
			fs->loopdev[0] = 0;
		pclose(f);
	}
	fs->loopdev[strcspn(fs->loopdev, "\n")] = 0;
	if (!fs->loopdev[0]) {
		ps_scratch_fs_remove(fs);
		return "no loop device (CONFIG_BLK_DEV_LOOP, modprobe loop)";
	}

	strcpy(fs->dir, "/tmp/pshare-scratch-mnt.XXXXXX");
	if (!mkdtemp(fs->dir)) {
		fs->dir[0] = 0;
		ps_scratch_fs_remove(fs);
		return "cannot make a mount point in /tmp";
	}
	for (i = 0; i < sizeof(fstypes) / sizeof(fstypes[0]) && !fs->mounted; i++)
		if (!mount(fs->loopdev, fs->dir, fstypes[i], 0, NULL))
			fs->mounted = true;
	if (!fs->mounted) {
		ps_scratch_fs_remove(fs);
		return "cannot mount ext4/ext2 from a loop device (CONFIG_EXT4_FS?)";
	}
	return NULL;
}

/* Seconds on the monotonic clock, for deadlines and rates. */
static inline double ps_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * xorshift64* (Vigna, 2016): a fast generator whose stream a seed fully
 * determines, so that a failing run of a random test can be replayed from
 * the seed it printed. @x is the caller's state, never 0.
 */
static inline uint64_t ps_rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dULL;
}

/*
 * What the worker threads of a test share about failing: @failed says that
 * one of them did, @stop asks all of them to end (set on a failure, and by
 * the main thread when time is up).
 */
struct ps_run_state {
	atomic_int stop;
	atomic_int failed;
};

/* One worker's failure: the first message, reported by the main thread. */
struct ps_failure {
	struct ps_run_state *run;
	char why[768];
};

/*
 * Record a worker's failure and stop every worker. Only the first message
 * is kept: what goes wrong after it is most often its consequence, and the
 * harness's thread cannot ASSERT for a worker anyway.
 */
static inline void ps_fail(struct ps_failure *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void ps_fail(struct ps_failure *f, const char *fmt, ...)
{
	va_list ap;

	if (f->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	atomic_store(&f->run->failed, 1);
	atomic_store(&f->run->stop, 1);
}

#endif /* PSHARE_SELFTEST_H */
