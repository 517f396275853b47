// SPDX-License-Identifier: GPL-2.0
/*
 * Permissions, seen by an unprivileged user (uid and gid 65534, no
 * supplementary groups, no capabilities):
 *
 * - /dev/pshare is a root-only character device (mode 0600, owner root);
 * - region files honour their mode and owner like any file: who cannot
 *   open a region cannot name it to /dev/pshare either, since a region is
 *   only ever named by an open descriptor;
 * - reading a region's statistics needs the region open for reading, and
 *   every policy change (domain, policy, backing file) needs it open for
 *   writing, whoever holds the control device;
 * - a descriptor that grants no access (O_PATH) names no region: EBADF,
 *   as for read(2) on it;
 * - the sysfs knobs and the debugfs files refuse the user.
 *
 * Each case forks a child that drops to the user and reports every failed
 * check on stdout; the parent counts them. Root sets up the files first.
 */
#include "pshare_selftest.h"

#include <grp.h>

#define NOBODY	65534

FIXTURE(perm) {
	int dev;		/* root's /dev/pshare, inherited by the child */
	char dir[PATH_MAX];	/* a directory owned by the user */
	char priv[PATH_MAX];	/* root's region, mode 0600 */
	char pub[PATH_MAX];	/* root's region, mode 0644 */
};

/* A region of root's in the mount: 4 pages, @mode, page 0 of pattern @seed. */
static void root_region(struct __test_metadata *_metadata, char *path,
			const char *name, mode_t mode, unsigned long seed)
{
	int fd;

	snprintf(path, PATH_MAX, "%s/%s.XXXXXX", ps_mnt(), name);
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fchmod(fd, mode));
	ASSERT_EQ(0, ftruncate(fd, 4 * PS_PAGE));
	ps_pwrite_page(_metadata, fd, 0, seed);
	close(fd);
}

FIXTURE_SETUP(perm)
{
	self->dev = -1;
	self->dir[0] = self->priv[0] = self->pub[0] = 0;
	PS_REQUIRE_ENV();
	self->dev = open(PS_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev) TH_LOG("open %s: %s", PS_DEV, strerror(errno));

	snprintf(self->dir, sizeof(self->dir), "%s/perm.XXXXXX", ps_mnt());
	ASSERT_NE(NULL, mkdtemp(self->dir)) TH_LOG("mkdtemp: %s", strerror(errno));
	ASSERT_EQ(0, chown(self->dir, NOBODY, NOBODY));
	ASSERT_EQ(0, chmod(self->dir, 0755));

	root_region(_metadata, self->priv, "priv", 0600, 61);
	root_region(_metadata, self->pub, "pub", 0644, 62);
}

FIXTURE_TEARDOWN(perm)
{
	char path[PATH_MAX + 16];

	if (self->dir[0]) {
		snprintf(path, sizeof(path), "%s/mine", self->dir);
		unlink(path);
		rmdir(self->dir);
	}
	if (self->priv[0])
		unlink(self->priv);
	if (self->pub[0])
		unlink(self->pub);
	if (self->dev >= 0)
		close(self->dev);
}

/* Checks made in the child: a failure prints a line and counts. */
static int child_failures;

#define CHILD_FAIL(fmt, ...) do {					\
	printf("#   as uid %d: " fmt "\n", NOBODY, ##__VA_ARGS__);	\
	fflush(stdout);							\
	child_failures++;						\
} while (0)

/* @expr must fail with errno @err. */
#define CHILD_ERRNO(expr, err) do {					\
	long __r;							\
	errno = 0;							\
	__r = (long)(expr);						\
	if (__r != -1 || errno != (err))				\
		CHILD_FAIL("%s: returned %ld (%s), expected %s", #expr,	\
			   __r, strerror(errno), strerror(err));	\
} while (0)

/* @expr must succeed (not return -1). */
#define CHILD_OK(expr) do {						\
	long __r;							\
	errno = 0;							\
	__r = (long)(expr);						\
	if (__r == -1)							\
		CHILD_FAIL("%s failed: %s", #expr, strerror(errno));	\
} while (0)

/*
 * Run @fn as the unprivileged user in a child and assert that it found
 * nothing wrong. The child keeps the parent's descriptors (root's
 * /dev/pshare among them): what matters is what the user can open.
 */
static void as_nobody(struct __test_metadata *_metadata,
		      FIXTURE_DATA(perm) *self,
		      void (*fn)(FIXTURE_DATA(perm) *self))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY)) {
			PS_NOTE("  dropping to uid %d: %s", NOBODY, strerror(errno));
			_exit(100);
		}
		if (geteuid() != NOBODY || getegid() != NOBODY) {
			PS_NOTE("  still uid %d gid %d", geteuid(), getegid());
			_exit(100);
		}
		umask(022);
		fn(self);
		fflush(stdout);
		_exit(child_failures > 99 ? 99 : child_failures);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("%d checks failed as uid %d (see above)",
		       WEXITSTATUS(status), NOBODY);
}

TEST_F(perm, device_root_only)
{
	struct stat st;

	ASSERT_EQ(0, stat(PS_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777) TH_LOG("mode %o", st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
}

static void device_as_user(FIXTURE_DATA(perm) *self __attribute__((unused)))
{
	CHILD_ERRNO(open(PS_DEV, O_RDONLY), EACCES);
	CHILD_ERRNO(open(PS_DEV, O_RDWR), EACCES);
	CHILD_ERRNO(open(PS_DEV, O_WRONLY), EACCES);
}

TEST_F(perm, device_refuses_user)
{
	as_nobody(_metadata, self, device_as_user);
}

static void regions_as_user(FIXTURE_DATA(perm) *self)
{
	char mine[PATH_MAX + 16], moved[PATH_MAX + 16];
	unsigned char buf[PS_PAGE];
	struct stat st;
	void *p;
	int fd;

	/* Mode 0600, root's: no way in. */
	CHILD_ERRNO(open(self->priv, O_RDONLY), EACCES);
	CHILD_ERRNO(open(self->priv, O_RDWR), EACCES);
	CHILD_ERRNO(truncate(self->priv, 0), EACCES);
	CHILD_ERRNO(chmod(self->priv, 0666), EPERM);
	CHILD_ERRNO(chown(self->priv, NOBODY, NOBODY), EPERM);
	/* Root's mount directory (0755): no new region, no unlink, no rename. */
	snprintf(mine, sizeof(mine), "%s/by-nobody", ps_mnt());
	CHILD_ERRNO(open(mine, O_RDWR | O_CREAT | O_EXCL, 0600), EACCES);
	CHILD_ERRNO(unlink(self->pub), EACCES);
	snprintf(moved, sizeof(moved), "%s/mine", self->dir);
	CHILD_ERRNO(rename(self->pub, moved), EACCES);

	/* Mode 0644: reading and a read-only shared mapping only. */
	fd = open(self->pub, O_RDONLY);
	if (fd < 0) {
		CHILD_FAIL("open %s O_RDONLY: %s", self->pub, strerror(errno));
	} else {
		if (pread(fd, buf, PS_PAGE, 0) != (ssize_t)PS_PAGE ||
		    ps_check(buf, PS_PAGE, 62) != -1)
			CHILD_FAIL("pread of the 0644 region did not return its data");
		CHILD_ERRNO(pwrite(fd, buf, 1, 0), EBADF);
		CHILD_ERRNO(ftruncate(fd, 0), EINVAL);
		CHILD_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      0, PS_PAGE), EBADF);
		errno = 0;
		p = mmap(NULL, PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED || errno != EACCES)
			CHILD_FAIL("writable shared mmap of an O_RDONLY region: %s",
				   p == MAP_FAILED ? strerror(errno) : "succeeded");
		p = mmap(NULL, PS_PAGE, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			CHILD_FAIL("read-only shared mmap: %s", strerror(errno));
		} else {
			if (ps_check(p, PS_PAGE, 62) != -1)
				CHILD_FAIL("the read-only mapping does not show the data");
			if (!mprotect(p, PS_PAGE, PROT_READ | PROT_WRITE))
				CHILD_FAIL("mprotect made an O_RDONLY mapping writable");
			munmap(p, PS_PAGE);
		}
		close(fd);
	}
	CHILD_ERRNO(open(self->pub, O_WRONLY), EACCES);
	CHILD_ERRNO(open(self->pub, O_RDWR), EACCES);

	/* In its own directory the user makes regions, owned by itself. */
	snprintf(mine, sizeof(mine), "%s/mine", self->dir);
	fd = open(mine, O_RDWR | O_CREAT | O_EXCL, 0666);
	if (fd < 0) {
		CHILD_FAIL("creating %s in the user's directory: %s", mine,
			   strerror(errno));
		return;
	}
	CHILD_OK(fstat(fd, &st));
	if (st.st_uid != NOBODY || st.st_gid != NOBODY ||
	    (st.st_mode & 07777) != 0644)
		CHILD_FAIL("new region: uid %d gid %d mode %o, expected %d %d 644",
			   st.st_uid, st.st_gid, st.st_mode & 07777, NOBODY,
			   NOBODY);
	CHILD_OK(ftruncate(fd, 2 * PS_PAGE));
	ps_fill(buf, PS_PAGE, 63);
	if (pwrite(fd, buf, PS_PAGE, PS_PAGE) != (ssize_t)PS_PAGE)
		CHILD_FAIL("pwrite to the user's own region: %s", strerror(errno));
	CHILD_OK(fchmod(fd, 0600));
	CHILD_ERRNO(fchown(fd, 0, 0), EPERM);
	close(fd);
}

TEST_F(perm, region_mode_and_owner)
{
	char mine[PATH_MAX + 16];
	struct stat st;
	int fd;

	as_nobody(_metadata, self, regions_as_user);

	/* Root sees what the user left: its own file, its mode, its data. */
	snprintf(mine, sizeof(mine), "%s/mine", self->dir);
	ASSERT_EQ(0, stat(mine, &st));
	EXPECT_EQ(NOBODY, st.st_uid);
	EXPECT_EQ(NOBODY, st.st_gid);
	EXPECT_EQ(0600, st.st_mode & 07777);
	fd = open(mine, O_RDONLY);
	ASSERT_LE(0, fd);
	ps_pread_page(_metadata, fd, 1, 63);
	close(fd);
	/* And the user changed nothing of root's. */
	fd = open(self->pub, O_RDONLY);
	ASSERT_LE(0, fd);
	ps_pread_page(_metadata, fd, 0, 62);
	close(fd);
}

/*
 * The ioctls the user tries with root's /dev/pshare on descriptors it could
 * get: each needs the right access mode on the region.
 */
static void ioctls_as_user(FIXTURE_DATA(perm) *self)
{
	struct pshare_region_stats st;
	struct pshare_region_policy pol;
	struct pshare_region_domain dom;
	struct pshare_region_backing bk;
	char mine[PATH_MAX + 16];
	int ro, path, own_ro, own_rw, tmp;

	memset(&pol, 0, sizeof(pol));
	pol.argsz = sizeof(pol);
	pol.flags = PSHARE_POLICY_SHARES;
	pol.shares = 7;
	memset(&dom, 0, sizeof(dom));
	dom.argsz = sizeof(dom);
	dom.domain = 4242;
	memset(&bk, 0, sizeof(bk));
	bk.argsz = sizeof(bk);
	bk.backing_fd = -1;

	/* Root's 0600 region: not even a descriptor to name it with. */
	CHILD_ERRNO(open(self->priv, O_RDONLY), EACCES);
	/* O_PATH needs no access to the file, and is no descriptor to act on. */
	path = open(self->priv, O_PATH);
	if (path < 0) {
		CHILD_FAIL("O_PATH open: %s", strerror(errno));
	} else {
		CHILD_ERRNO(ps_stats(self->dev, path, &st), EBADF);
		pol.fd = dom.fd = bk.fd = path;
		CHILD_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY, &pol), EBADF);
		CHILD_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_DOMAIN, &dom), EBADF);
		CHILD_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING, &bk), EBADF);
		close(path);
	}

	/* Root's 0644 region, open for reading: statistics yes, changes no. */
	ro = open(self->pub, O_RDONLY);
	if (ro < 0) {
		CHILD_FAIL("open %s O_RDONLY: %s", self->pub, strerror(errno));
	} else {
		CHILD_OK(ps_stats(self->dev, ro, &st));
		pol.fd = dom.fd = bk.fd = ro;
		CHILD_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY, &pol), EACCES);
		CHILD_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_DOMAIN, &dom), EACCES);
		CHILD_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING, &bk), EACCES);
		close(ro);
	}

	/* Its own region: write access grants the changes, as for root. */
	snprintf(mine, sizeof(mine), "%s/mine", self->dir);
	own_rw = open(mine, O_RDWR | O_CREAT, 0600);
	own_ro = open(mine, O_RDONLY);
	if (own_rw < 0 || own_ro < 0) {
		CHILD_FAIL("opening the user's own region: %s", strerror(errno));
		return;
	}
	CHILD_OK(ftruncate(own_rw, 8 * PS_PAGE));
	pol.fd = dom.fd = bk.fd = own_ro;
	CHILD_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY, &pol), EACCES);
	CHILD_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_DOMAIN, &dom), EACCES);
	pol.fd = dom.fd = bk.fd = own_rw;
	CHILD_OK(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY, &pol));
	CHILD_OK(ioctl(self->dev, PSHARE_IOC_REGION_SET_DOMAIN, &dom));
	CHILD_OK(ps_stats(self->dev, own_rw, &st));
	if (st.shares != 7 || st.domain != 4242)
		CHILD_FAIL("own region: shares %llu domain %llu, expected 7 4242",
			   (unsigned long long)st.shares,
			   (unsigned long long)st.domain);
	/* A backing file the user owns, opened read-write: accepted. */
	tmp = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (tmp < 0) {
		CHILD_FAIL("O_TMPFILE in /tmp: %s", strerror(errno));
	} else {
		bk.backing_fd = tmp;
		CHILD_OK(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING, &bk));
		bk.backing_fd = -1;
		CHILD_OK(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING, &bk));
		close(tmp);
	}
	/* Write-only: changes yes, statistics no. */
	close(own_ro);
	own_ro = open(mine, O_WRONLY);
	if (own_ro < 0) {
		CHILD_FAIL("O_WRONLY open of the own region: %s", strerror(errno));
	} else {
		CHILD_ERRNO(ps_stats(self->dev, own_ro, &st), EACCES);
		close(own_ro);
	}
	close(own_rw);
}

TEST_F(perm, policy_needs_write_access)
{
	struct pshare_region_stats st;
	int fd;

	as_nobody(_metadata, self, ioctls_as_user);

	/* Root's regions kept their policy. */
	fd = open(self->pub, O_RDONLY);
	ASSERT_LE(0, fd);
	PS_STATS(self->dev, fd, &st);
	EXPECT_EQ(4, st.shares);	/* default: the size in pages */
	EXPECT_NE(4242, st.domain);
	close(fd);
	fd = open(self->priv, O_RDONLY);
	ASSERT_LE(0, fd);
	PS_STATS(self->dev, fd, &st);
	EXPECT_EQ(4, st.shares);
	EXPECT_NE(4242, st.domain);
	close(fd);
}

/* Every writable sysfs knob and the debugfs files refuse the user. */
static void knobs_as_user(FIXTURE_DATA(perm) *self __attribute__((unused)))
{
	static const char *const knobs[] = {
		"run", "pages_to_scan", "sleep_millisecs",
		"merge_across_domains", "limit_pages", "idle_tax_percent",
		"sample_period_secs", "sample_pages", "smart_scan", "auto_scan",
		"max_cpu_percent", "target_scan_secs", "min_pages_to_scan",
		"max_pages_to_scan",
	};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		snprintf(path, sizeof(path), PS_SYSFS "/%s", knobs[i]);
		CHILD_ERRNO(open(path, O_WRONLY), EACCES);
		/* The counters and knobs stay readable by anyone. */
		if (ps_sysfs(knobs[i]) < 0)
			CHILD_FAIL("%s is not readable", path);
	}
	if (ps_sysfs("pages_private") < 0)
		CHILD_FAIL(PS_SYSFS "/pages_private is not readable");
	CHILD_ERRNO(open("/sys/kernel/debug/pshare/regions", O_RDONLY), EACCES);
	CHILD_ERRNO(open("/sys/kernel/debug/pshare/hash_bits", O_WRONLY), EACCES);
}

TEST_F(perm, knobs_refuse_user)
{
	if (access("/sys/kernel/debug/pshare/regions", F_OK))
		PS_SKIP("debugfs is not mounted at /sys/kernel/debug");
	as_nobody(_metadata, self, knobs_as_user);
}

TEST_HARNESS_MAIN
