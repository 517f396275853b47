// SPDX-License-Identifier: GPL-2.0
/*
 * pshare filesystem tests: the namespace (create, O_EXCL, mkstemp, unlink,
 * rename, mkdir), sizes (ftruncate, lseek, fstat, the 1 TiB limit), read and
 * write of holes and data, hole punching, statfs, mount options, and the
 * sysfs and debugfs counters that must follow exactly what a test does.
 *
 * Tests run one after another, never concurrently, so a difference of a
 * global counter taken inside one test is exactly what that test caused.
 */
#include "pshare_selftest.h"

#include <sys/mount.h>
#include <linux/falloc.h>

#define TIB (1ULL << 40)

FIXTURE(fs) {
	int dev;
	struct ps_region r;
};

FIXTURE_SETUP(fs)
{
	ps_dev_region_open(_metadata, &self->dev, &self->r, 0);
}

FIXTURE_TEARDOWN(fs)
{
	ps_dev_region_close(self->dev, &self->r);
}

/* Map @npages of the region, read one byte of each page in @pgs. */
static void read_map_pages(struct __test_metadata *_metadata, int fd,
			   size_t npages, const unsigned long *pgs, size_t n)
{
	unsigned char *m;
	size_t i;

	m = mmap(NULL, npages * PS_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m) TH_LOG("mmap: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, ps_touch(m + pgs[i] * PS_PAGE));
	}
	munmap(m, npages * PS_PAGE);
}

TEST_F(fs, statfs_magic)
{
	struct statfs sfs;

	ASSERT_EQ(0, statfs(ps_mnt(), &sfs));
	EXPECT_EQ(PSHARE_FS_MAGIC, sfs.f_type);
	EXPECT_EQ(4096, sfs.f_bsize);
	ASSERT_EQ(0, fstatfs(self->r.fd, &sfs));
	EXPECT_EQ(PSHARE_FS_MAGIC, sfs.f_type);
}

TEST_F(fs, create_excl_unlink)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	/* O_EXCL on the name mkstemp just made. */
	EXPECT_EQ(-1, open(self->r.path, O_RDWR | O_CREAT | O_EXCL, 0600));
	EXPECT_EQ(EEXIST, errno);

	snprintf(path, sizeof(path), "%s/excl.%d", ps_mnt(), getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0640);
	ASSERT_LE(0, fd) TH_LOG("create %s: %s", path, strerror(errno));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0640, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_size);
	EXPECT_EQ(0, st.st_blocks);
	EXPECT_EQ(0, st.st_uid);
	close(fd);

	/* O_CREAT without O_EXCL opens the existing file. */
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	close(fd);

	ASSERT_EQ(0, unlink(path));
	EXPECT_EQ(-1, open(path, O_RDWR));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, unlink(path));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(fs, mkstemp_regions_counted)
{
	struct ps_global g0, g1, g2;
	struct ps_region a = { .fd = -1 }, b = { .fd = -1 };
	struct stat sa, sb;

	ps_global(_metadata, &g0);
	ps_region_create(_metadata, &a, 0);
	ps_region_create(_metadata, &b, 0);
	EXPECT_STRNE(a.path, b.path);
	ASSERT_EQ(0, fstat(a.fd, &sa));
	ASSERT_EQ(0, fstat(b.fd, &sb));
	EXPECT_TRUE(S_ISREG(sa.st_mode));
	EXPECT_NE(sa.st_ino, sb.st_ino);
	EXPECT_EQ(0600, sa.st_mode & 07777);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.regions + 2, g1.regions);

	ps_region_destroy(&a);
	ps_region_destroy(&b);
	ps_global(_metadata, &g2);
	EXPECT_EQ(g0.regions, g2.regions);
	EXPECT_EQ(g0.pages_private, g2.pages_private);
}

TEST_F(fs, mkdir_rename_rmdir)
{
	char dir[PATH_MAX], in_dir[PATH_MAX + 16], moved[PATH_MAX];
	struct ps_global g0, g1;
	struct stat st;
	int fd;

	snprintf(dir, sizeof(dir), "%s/dir.%d", ps_mnt(), getpid());
	snprintf(in_dir, sizeof(in_dir), "%s/region", dir);
	snprintf(moved, sizeof(moved), "%s/moved.%d", ps_mnt(), getpid());

	ASSERT_EQ(0, mkdir(dir, 0750)) TH_LOG("mkdir: %s", strerror(errno));
	ASSERT_EQ(0, stat(dir, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0750, st.st_mode & 07777);
	EXPECT_EQ(-1, mkdir(dir, 0750));
	EXPECT_EQ(EEXIST, errno);

	fd = open(in_dir, O_RDWR | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd) TH_LOG("create in subdir: %s", strerror(errno));
	ps_pwrite_page(_metadata, fd, 1, 11);
	close(fd);

	EXPECT_EQ(-1, rmdir(dir));
	EXPECT_EQ(ENOTEMPTY, errno);

	/* Move the region out of the directory: same inode, same data. */
	ASSERT_EQ(0, rename(in_dir, moved)) TH_LOG("rename: %s", strerror(errno));
	EXPECT_EQ(-1, access(in_dir, F_OK));
	fd = open(moved, O_RDWR);
	ASSERT_LE(0, fd);
	ps_pread_page(_metadata, fd, 0, -1);
	ps_pread_page(_metadata, fd, 1, 11);
	close(fd);

	/* Rename over an existing region replaces it: one region fewer. */
	ps_pwrite_page(_metadata, self->r.fd, 0, 12);
	close(self->r.fd);
	self->r.fd = -1;
	ps_global(_metadata, &g0);
	ASSERT_EQ(0, rename(moved, self->r.path));
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.regions - 1, g1.regions);
	EXPECT_EQ(g0.pages_private - 1, g1.pages_private);
	self->r.fd = open(self->r.path, O_RDWR);
	ASSERT_LE(0, self->r.fd);
	ps_pread_page(_metadata, self->r.fd, 1, 11);

	ASSERT_EQ(0, rmdir(dir)) TH_LOG("rmdir: %s", strerror(errno));
	EXPECT_EQ(-1, stat(dir, &st));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(fs, ftruncate_grow_shrink)
{
	struct pshare_region_stats s;
	struct ps_global g0, g1;
	struct stat st;
	unsigned long i;

	ps_global(_metadata, &g0);
	/* Growing allocates nothing. */
	ASSERT_EQ(0, ftruncate(self->r.fd, 16 * PS_PAGE));
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(16 * PS_PAGE, (unsigned long)st.st_size);
	EXPECT_EQ(0, st.st_blocks);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(16 * PS_PAGE, s.size);
	EXPECT_EQ(0, s.pages_private);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private, g1.pages_private);

	for (i = 0; i < 16; i++)
		ps_pwrite_page(_metadata, self->r.fd, i, i);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(16, s.pages_private);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + 16, g1.pages_private);

	/* Shrinking frees the frames of the cut pages. */
	ASSERT_EQ(0, ftruncate(self->r.fd, 4 * PS_PAGE));
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(4 * PS_PAGE, (unsigned long)st.st_size);
	EXPECT_EQ(4 * 8, st.st_blocks);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(4 * PS_PAGE, s.size);
	EXPECT_EQ(4, s.pages_private);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + 4, g1.pages_private);

	/* Growing again: the cut pages read zeros, the rest kept its data. */
	ASSERT_EQ(0, ftruncate(self->r.fd, 16 * PS_PAGE));
	for (i = 0; i < 16; i++)
		ps_pread_page(_metadata, self->r.fd, i, i < 4 ? (long)i : -1);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(4, s.pages_private);

	ASSERT_EQ(0, ftruncate(self->r.fd, 0));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(0, s.size);
	EXPECT_EQ(0, s.pages_private);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private, g1.pages_private);
}

/* Shrinking into the middle of a page: the cut tail reads zeros later. */
TEST_F(fs, truncate_partial_page)
{
	unsigned char buf[PS_PAGE];
	struct pshare_region_stats s;

	ps_pwrite_page(_metadata, self->r.fd, 0, 3);
	ps_pwrite_page(_metadata, self->r.fd, 1, 4);
	ASSERT_EQ(0, ftruncate(self->r.fd, PS_PAGE + 100));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(2, s.pages_private);
	ASSERT_EQ(0, ftruncate(self->r.fd, 2 * PS_PAGE));
	ASSERT_EQ((ssize_t)PS_PAGE, pread(self->r.fd, buf, PS_PAGE, PS_PAGE));
	EXPECT_EQ(-1, ps_check(buf, 100, 4));
	EXPECT_EQ(-1, ps_nonzero(buf + 100, PS_PAGE - 100));
	ps_pread_page(_metadata, self->r.fd, 0, 3);
}

TEST_F(fs, efbig_beyond_1tib)
{
	struct pshare_region_stats s;
	char c = 1;

	ASSERT_EQ(0, ftruncate(self->r.fd, TIB))
		TH_LOG("1 TiB must be allowed: %s", strerror(errno));
	EXPECT_EQ((off_t)TIB, lseek(self->r.fd, 0, SEEK_END));

	EXPECT_EQ(-1, ftruncate(self->r.fd, TIB + 1));
	EXPECT_EQ(EFBIG, errno);
	EXPECT_EQ(-1, ftruncate(self->r.fd, 2 * TIB));
	EXPECT_EQ(EFBIG, errno);
	EXPECT_EQ(-1, pwrite(self->r.fd, &c, 1, TIB));
	EXPECT_EQ(EFBIG, errno);

	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(TIB, s.size);
	EXPECT_EQ(0, s.pages_private);

	/* The last page below the limit is usable. */
	EXPECT_EQ(1, pwrite(self->r.fd, &c, 1, TIB - 1));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(1, s.pages_private);
	ASSERT_EQ(0, ftruncate(self->r.fd, 0));
}

TEST_F(fs, lseek_fstat_sizes)
{
	off_t size = 3 * PS_PAGE + 10;
	char buf[64];
	struct stat st;

	ASSERT_EQ(0, ftruncate(self->r.fd, size));
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(size, st.st_size);
	EXPECT_EQ(size, lseek(self->r.fd, 0, SEEK_END));
	EXPECT_EQ(size - 10, lseek(self->r.fd, -10, SEEK_END));
	EXPECT_EQ(5, lseek(self->r.fd, 5, SEEK_SET));
	EXPECT_EQ(15, lseek(self->r.fd, 10, SEEK_CUR));
	EXPECT_EQ(-1, lseek(self->r.fd, -1, SEEK_SET));
	EXPECT_EQ(EINVAL, errno);

	/* read() at the end returns 0, across the end returns the rest. */
	EXPECT_EQ(0, pread(self->r.fd, buf, sizeof(buf), size));
	EXPECT_EQ(6, pread(self->r.fd, buf, sizeof(buf), size - 6));
	EXPECT_EQ(-1, ps_nonzero(buf, 6));

	/* read()/write() move the file position. */
	ASSERT_EQ(size - 10, lseek(self->r.fd, size - 10, SEEK_SET));
	EXPECT_EQ(10, read(self->r.fd, buf, sizeof(buf)));
	EXPECT_EQ(size, lseek(self->r.fd, 0, SEEK_CUR));
	EXPECT_EQ(4, write(self->r.fd, "abcd", 4));
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(size + 4, st.st_size);
}

/* pwrite() past the end extends the file; the gap is a hole. */
TEST_F(fs, write_extends_size)
{
	struct pshare_region_stats s;
	unsigned char buf[100];
	struct stat st;
	unsigned long i;

	ps_fill(buf, sizeof(buf), 5);
	ASSERT_EQ(100, pwrite(self->r.fd, buf, 100, 5 * PS_PAGE + 10));
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(5 * PS_PAGE + 110, (unsigned long)st.st_size);
	EXPECT_EQ(8, st.st_blocks);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(1, s.pages_private);
	for (i = 0; i < 5; i++)
		ps_pread_page(_metadata, self->r.fd, i, -1);
	memset(buf, 0xff, sizeof(buf));
	ASSERT_EQ(100, pread(self->r.fd, buf, 100, 5 * PS_PAGE + 10));
	EXPECT_EQ(-1, ps_check(buf, 100, 5));
}

/* read() of holes returns zeros and allocates nothing. */
TEST_F(fs, hole_reads_zero_allocate_nothing)
{
	size_t len = 64 * PS_PAGE;
	struct pshare_region_stats s;
	struct ps_global g0, g1;
	unsigned char *buf;
	struct stat st;

	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	memset(buf, 0xa5, len);
	ps_global(_metadata, &g0);
	ASSERT_EQ(0, ftruncate(self->r.fd, len));
	ASSERT_EQ((ssize_t)len, pread(self->r.fd, buf, len, 0));
	EXPECT_EQ(-1, ps_nonzero(buf, len));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(0, s.pages_private);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(0, st.st_blocks);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private, g1.pages_private);
	free(buf);
}

/* The first write to a page allocates exactly one frame. */
TEST_F(fs, first_write_allocates)
{
	struct pshare_region_stats s;
	struct ps_global g0, g1;
	unsigned char buf[PS_PAGE];
	struct stat st;

	ASSERT_EQ(0, ftruncate(self->r.fd, 8 * PS_PAGE));
	ps_global(_metadata, &g0);

	ASSERT_EQ(1, pwrite(self->r.fd, "x", 1, 3 * PS_PAGE + 17));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(1, s.pages_private);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(8, st.st_blocks);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + 1, g1.pages_private);

	/* Same page again: nothing new. */
	ASSERT_EQ(1, pwrite(self->r.fd, "y", 1, 3 * PS_PAGE + 18));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(1, s.pages_private);

	/* A write across a page boundary allocates both pages. */
	ASSERT_EQ(2, pwrite(self->r.fd, "zz", 2, 6 * PS_PAGE - 1));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(3, s.pages_private);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(3 * 8, st.st_blocks);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + 3, g1.pages_private);

	ASSERT_EQ((ssize_t)PS_PAGE, pread(self->r.fd, buf, PS_PAGE, 3 * PS_PAGE));
	EXPECT_EQ(-1, ps_nonzero(buf, 17));
	EXPECT_EQ('x', buf[17]);
	EXPECT_EQ('y', buf[18]);
	EXPECT_EQ(-1, ps_nonzero(buf + 19, PS_PAGE - 19));
}

TEST_F(fs, punch_hole_frees_frames)
{
	struct pshare_region_stats s;
	struct ps_global g0, g1;
	struct stat st;
	unsigned long i;

	for (i = 0; i < 8; i++)
		ps_pwrite_page(_metadata, self->r.fd, i, 20 + i);
	ps_global(_metadata, &g0);
	ASSERT_EQ(0, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       2 * PS_PAGE, 3 * PS_PAGE))
		TH_LOG("punch: %s", strerror(errno));
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private - 3, g1.pages_private);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(5, s.pages_private);
	EXPECT_EQ(8 * PS_PAGE, s.size);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(8 * PS_PAGE, (unsigned long)st.st_size);
	EXPECT_EQ(5 * 8, st.st_blocks);
	for (i = 0; i < 8; i++)
		ps_pread_page(_metadata, self->r.fd, i,
			      i >= 2 && i < 5 ? -1 : (long)(20 + i));

	/* Punching a hole again, or past the end, changes nothing. */
	ASSERT_EQ(0, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       2 * PS_PAGE, 3 * PS_PAGE));
	ASSERT_EQ(0, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       8 * PS_PAGE, 4 * PS_PAGE));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(5, s.pages_private);
	EXPECT_EQ(8 * PS_PAGE, s.size);
}

/* Partial pages at the edges of a punch are zeroed, not freed. */
TEST_F(fs, punch_partial_pages)
{
	struct pshare_region_stats s;
	unsigned char buf[3 * PS_PAGE], want[3 * PS_PAGE];
	unsigned long i;

	for (i = 0; i < 3; i++) {
		ps_pwrite_page(_metadata, self->r.fd, i, 40 + i);
		ps_fill(want + i * PS_PAGE, PS_PAGE, 40 + i);
	}

	/* Inside one page: only [100, 300) becomes zero. */
	ASSERT_EQ(0, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       100, 200));
	memset(want + 100, 0, 200);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(3, s.pages_private);
	ASSERT_EQ((ssize_t)sizeof(buf), pread(self->r.fd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(buf)));

	/* Half of page 0, all of page 1, half of page 2: page 1 is freed. */
	ASSERT_EQ(0, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       PS_PAGE / 2, 2 * PS_PAGE));
	memset(want + PS_PAGE / 2, 0, 2 * PS_PAGE);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(2, s.pages_private);
	ASSERT_EQ((ssize_t)sizeof(buf), pread(self->r.fd, buf, sizeof(buf), 0));
	for (i = 0; i < sizeof(buf); i++)
		if (buf[i] != want[i])
			break;
	EXPECT_EQ(sizeof(buf), i) TH_LOG("first difference at byte %lu", i);
}

TEST_F(fs, fallocate_other_modes_refused)
{
	struct pshare_region_stats s;

	ps_pwrite_page(_metadata, self->r.fd, 0, 1);

	EXPECT_EQ(-1, fallocate(self->r.fd, 0, 0, 4 * PS_PAGE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, fallocate(self->r.fd, FALLOC_FL_KEEP_SIZE, 0, 4 * PS_PAGE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, fallocate(self->r.fd, FALLOC_FL_ZERO_RANGE, 0, PS_PAGE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, fallocate(self->r.fd, FALLOC_FL_COLLAPSE_RANGE, 0, PS_PAGE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* The VFS insists on KEEP_SIZE with PUNCH_HOLE. */
	EXPECT_EQ(-1, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE, 0, PS_PAGE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* Bad ranges, refused by the VFS (which says EFBIG for a wrap). */
	EXPECT_EQ(-1, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				-PS_PAGE, PS_PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				PS_PAGE, INT64_MAX));
	EXPECT_EQ(EFBIG, errno);

	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(PS_PAGE, s.size);
	EXPECT_EQ(1, s.pages_private);
	ps_pread_page(_metadata, self->r.fd, 0, 1);
}

/* st_blocks is pages_private * 8 at every step. */
TEST_F(fs, st_blocks_tracks_pages_private)
{
	static const unsigned long pgs[] = { 0, 7, 8, 31, 100 };
	struct pshare_region_stats s;
	struct stat st;
	size_t i;

	ASSERT_EQ(0, ftruncate(self->r.fd, 128 * PS_PAGE));
	for (i = 0; i < sizeof(pgs) / sizeof(pgs[0]); i++) {
		ps_pwrite_page(_metadata, self->r.fd, pgs[i], i);
		PS_STATS(self->dev, self->r.fd, &s);
		ASSERT_EQ(0, fstat(self->r.fd, &st));
		EXPECT_EQ(i + 1, s.pages_private);
		EXPECT_EQ((blkcnt_t)(s.pages_private * 8), st.st_blocks);
	}
	ASSERT_EQ(0, fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, 16 * PS_PAGE));
	PS_STATS(self->dev, self->r.fd, &s);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(2, s.pages_private);
	EXPECT_EQ(2 * 8, st.st_blocks);
	ASSERT_EQ(0, ftruncate(self->r.fd, 64 * PS_PAGE));
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(8, st.st_blocks);
}

/* An unlinked region that is still open keeps its data and its count. */
TEST_F(fs, unlinked_open_region_lives_until_close)
{
	struct ps_global g0, g1, g2;
	struct ps_region a = { .fd = -1 };

	ps_global(_metadata, &g0);
	ps_region_create(_metadata, &a, 0);
	ps_pwrite_page(_metadata, a.fd, 0, 60);
	ps_pwrite_page(_metadata, a.fd, 2, 62);
	ASSERT_EQ(0, unlink(a.path));
	a.unlinked = true;

	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.regions + 1, g1.regions);
	EXPECT_EQ(g0.pages_private + 2, g1.pages_private);
	ps_pread_page(_metadata, a.fd, 0, 60);
	ps_pread_page(_metadata, a.fd, 2, 62);
	ps_pwrite_page(_metadata, a.fd, 1, 61);
	ps_pread_page(_metadata, a.fd, 1, 61);

	ps_region_destroy(&a);
	ps_global(_metadata, &g2);
	EXPECT_EQ(g0.regions, g2.regions);
	EXPECT_EQ(g0.pages_private, g2.pages_private);
	EXPECT_EQ(g0.pages_zero, g2.pages_zero);
}

/* The sysfs counters move exactly with what the test does. */
TEST_F(fs, sysfs_counters_exact)
{
	static const unsigned long holes[] = { 1, 5 };
	struct ps_global g0, g1;
	struct ps_region a = { .fd = -1 };
	struct pshare_region_stats s;

	ps_global(_metadata, &g0);
	ps_region_create(_metadata, &a, 8 * PS_PAGE);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.regions + 1, g1.regions);
	EXPECT_EQ(g0.pages_private, g1.pages_private);
	EXPECT_EQ(g0.pages_zero, g1.pages_zero);

	ps_pwrite_page(_metadata, a.fd, 0, 1);
	ps_pwrite_page(_metadata, a.fd, 2, 2);
	ps_pwrite_page(_metadata, a.fd, 7, 3);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + 3, g1.pages_private);

	/* Read faults on two holes: two zero-frame pages, no frame. */
	read_map_pages(_metadata, a.fd, 8, holes, 2);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + 3, g1.pages_private);
	EXPECT_EQ(g0.pages_zero + 2, g1.pages_zero);
	PS_STATS(self->dev, a.fd, &s);
	EXPECT_EQ(3, s.pages_private);
	EXPECT_EQ(2, s.pages_zero);

	/* Punch one written page and one zero page. */
	ASSERT_EQ(0, fallocate(a.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, 2 * PS_PAGE));
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + 2, g1.pages_private);
	EXPECT_EQ(g0.pages_zero + 1, g1.pages_zero);

	ps_region_destroy(&a);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.regions, g1.regions);
	EXPECT_EQ(g0.pages_private, g1.pages_private);
	EXPECT_EQ(g0.pages_zero, g1.pages_zero);
}

TEST_F(fs, sysfs_counters_read_only)
{
	static const char * const names[] = {
		"regions", "pages_private", "pages_zero",
	};
	char path[128];
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), PS_SYSFS "/%s", names[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %s", path, strerror(errno));
		EXPECT_EQ(0444, st.st_mode & 07777) TH_LOG("%s", path);
		fd = open(path, O_WRONLY);
		if (fd >= 0) {
			EXPECT_EQ(-1, write(fd, "0\n", 2)) TH_LOG("%s", path);
			close(fd);
		} else {
			EXPECT_TRUE(errno == EACCES || errno == EPERM)
				TH_LOG("%s: %s", path, strerror(errno));
		}
	}
}

/* Find the debugfs line of inode @ino; false when it is not listed. */
static bool debugfs_line(struct __test_metadata *_metadata,
			 unsigned long long ino, unsigned long long col[6],
			 char *domain, char *name)
{
	char line[4096];
	bool found = false;
	int lines = 0;
	FILE *f;

	f = fopen(PS_DEBUGFS, "r");
	EXPECT_NE(NULL, f) TH_LOG("%s: %s", PS_DEBUGFS, strerror(errno));
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (lines++ == 0)
			continue;	/* header */
		if (sscanf(line, "%llu %llu %llu %llu %llu %llu %63s %4095[^\n]",
			   &col[0], &col[1], &col[2], &col[3], &col[4], &col[5],
			   domain, name) != 8) {
			TH_LOG("unparsable line: %s", line);
			EXPECT_TRUE(false);
			continue;
		}
		if (col[0] == ino) {
			found = true;
			break;
		}
	}
	fclose(f);
	EXPECT_LE(1, lines) TH_LOG("no header line");
	return found;
}

/* debugfs lists the region with its inode, size and counts. */
TEST_F(fs, debugfs_lists_region)
{
	static const unsigned long holes[] = { 3, 5 };
	char domain[64], name[PATH_MAX];
	struct pshare_region_stats s;
	unsigned long long col[6];
	unsigned char *m;
	struct statfs sfs;
	const char *base;
	struct stat st;

	if (statfs("/sys/kernel/debug", &sfs) ||
	    sfs.f_type != 0x64626720 /* DEBUGFS_MAGIC */)
		PS_SKIP("debugfs is not mounted at /sys/kernel/debug");

	ASSERT_EQ(0, ftruncate(self->r.fd, 6 * PS_PAGE));
	ps_pwrite_page(_metadata, self->r.fd, 0, 1);
	ps_pwrite_page(_metadata, self->r.fd, 4, 2);
	read_map_pages(_metadata, self->r.fd, 6, holes, 2);
	/* One zero-frame page written: a break. */
	m = mmap(NULL, PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->r.fd,
		 5 * PS_PAGE);
	ASSERT_NE(MAP_FAILED, m);
	m[0] = 1;
	munmap(m, PS_PAGE);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	base = strrchr(self->r.path, '/') + 1;
	PS_STATS(self->dev, self->r.fd, &s);

	ASSERT_TRUE(debugfs_line(_metadata, st.st_ino, col, domain, name))
		TH_LOG("inode %llu not listed", (unsigned long long)st.st_ino);
	EXPECT_EQ(6 * PS_PAGE, col[1]);
	EXPECT_EQ(3, col[2]);
	EXPECT_EQ(1, col[3]);
	EXPECT_EQ(0, col[4]);
	EXPECT_EQ(1, col[5]);
	EXPECT_EQ(s.pages_private, col[2]);
	EXPECT_EQ(s.pages_zero, col[3]);
	EXPECT_EQ(s.cow_breaks, col[5]);
	EXPECT_EQ(s.domain, strtoull(domain, NULL, 0))
		TH_LOG("domain column '%s'", domain);
	EXPECT_NE(NULL, strstr(name, base))
		TH_LOG("name '%s' does not mention %s", name, base);

	/* Unlinked but open: still listed, as "(deleted)". */
	ASSERT_EQ(0, unlink(self->r.path));
	self->r.unlinked = true;
	ASSERT_TRUE(debugfs_line(_metadata, st.st_ino, col, domain, name))
		TH_LOG("unlinked inode %llu not listed",
		       (unsigned long long)st.st_ino);
	EXPECT_NE(NULL, strstr(name, "(deleted)")) TH_LOG("name '%s'", name);
	EXPECT_EQ(3, col[2]);

	/* Closed: gone. */
	close(self->r.fd);
	self->r.fd = -1;
	EXPECT_FALSE(debugfs_line(_metadata, st.st_ino, col, domain, name));
}

/* A second mount on a temporary directory, with and without options. */
FIXTURE(mnt) {
	char dir[64];
	bool mounted;
};

FIXTURE_SETUP(mnt)
{
	PS_REQUIRE_ENV();
	strcpy(self->dir, "/tmp/pshare-mnt.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir)) TH_LOG("mkdtemp: %s", strerror(errno));
}

FIXTURE_TEARDOWN(mnt)
{
	if (self->mounted)
		umount2(self->dir, MNT_DETACH);
	rmdir(self->dir);
}

static void mount_ok(struct __test_metadata *_metadata,
		     FIXTURE_DATA(mnt) *self, const char *opts)
{
	ASSERT_EQ(0, mount("pshare", self->dir, "pshare", 0, opts))
		TH_LOG("mount -o '%s': %s", opts ? opts : "", strerror(errno));
	self->mounted = true;
}

static void umount_ok(struct __test_metadata *_metadata,
		      FIXTURE_DATA(mnt) *self)
{
	ASSERT_EQ(0, umount(self->dir)) TH_LOG("umount: %s", strerror(errno));
	self->mounted = false;
}

TEST_F(mnt, default_root)
{
	struct statfs sfs;
	struct stat st;

	mount_ok(_metadata, self, NULL);
	ASSERT_EQ(0, stat(self->dir, &st));
	EXPECT_EQ(0755, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	ASSERT_EQ(0, statfs(self->dir, &sfs));
	EXPECT_EQ(PSHARE_FS_MAGIC, sfs.f_type);
	umount_ok(_metadata, self);
}

TEST_F(mnt, uid_gid_mode)
{
	char path[128];
	struct stat st;
	int fd;

	mount_ok(_metadata, self, "uid=1234,gid=4321,mode=0710");
	ASSERT_EQ(0, stat(self->dir, &st));
	EXPECT_EQ(0710, st.st_mode & 07777);
	EXPECT_EQ(1234, st.st_uid);
	EXPECT_EQ(4321, st.st_gid);

	/* A separate instance: its files are not in the main mount. */
	snprintf(path, sizeof(path), "%s/only-here", self->dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd) TH_LOG("create: %s", strerror(errno));
	close(fd);
	snprintf(path, sizeof(path), "%s/only-here", ps_mnt());
	EXPECT_EQ(-1, access(path, F_OK));
	snprintf(path, sizeof(path), "%s/only-here", self->dir);
	ASSERT_EQ(0, unlink(path));
	umount_ok(_metadata, self);
}

TEST_F(mnt, bad_options_einval)
{
	static const char * const bad[] = {
		"bogus", "bogus=1", "uid=abc", "gid=abc", "mode=99999", "mode=abc",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = mount("pshare", self->dir, "pshare", 0, bad[i]);

		if (ret == 0) {
			self->mounted = true;
			umount_ok(_metadata, self);
		}
		EXPECT_EQ(-1, ret) TH_LOG("mount -o %s succeeded", bad[i]);
		if (ret) {
			EXPECT_EQ(EINVAL, errno) TH_LOG("mount -o %s: %s",
							bad[i], strerror(errno));
		}
	}
}

TEST_HARNESS_MAIN
