// SPDX-License-Identifier: GPL-2.0
/*
 * pshare fault path tests: shared mappings of regions and how they agree
 * with read()/write(), the zero frame and copy-on-write away from it,
 * SIGBUS past the end, hole punching and truncation under live mappings,
 * unlink while mapped, fork and two independent mappers, madvise, O_DIRECT
 * (GUP) into a region buffer, and exact resident counts.
 *
 * Tests run one after another, so a difference of a global sysfs counter
 * taken inside one test is exactly what that test caused.
 */
#include "pshare_selftest.h"

#include <signal.h>
#include <time.h>
#include <sys/mount.h>
#include <linux/falloc.h>

#define PUNCH (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)

FIXTURE(map) {
	int dev;
	struct ps_region r;
	unsigned char *m;
	size_t mlen;
};

FIXTURE_SETUP(map)
{
	ps_dev_region_open(_metadata, &self->dev, &self->r, 0);
}

FIXTURE_TEARDOWN(map)
{
	if (self->m)
		munmap(self->m, self->mlen);
	ps_dev_region_close(self->dev, &self->r);
}

/* Size the fixture's region to @npages and map all of it read-write. */
static void map_region(struct __test_metadata *_metadata,
		       FIXTURE_DATA(map) *self, size_t npages)
{
	self->mlen = npages * PS_PAGE;
	ASSERT_EQ(0, ftruncate(self->r.fd, self->mlen));
	self->m = mmap(NULL, self->mlen, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, self->m) TH_LOG("mmap: %s", strerror(errno));
}

#define PG(self, n) ((self)->m + (n) * PS_PAGE)

static sigjmp_buf bus_env;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_env, 1);
}

/* Does reading (or writing) *@p raise SIGBUS? */
static bool raises_sigbus(unsigned char *p, bool write)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool hit;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_env, 1) == 0) {
		if (write)
			*(volatile unsigned char *)p = 0x5a;
		else
			ps_touch(p);
		hit = false;
	} else {
		hit = true;
	}
	sigaction(SIGBUS, &old, NULL);
	return hit;
}

TEST_F(map, private_mapping_refused)
{
	void *p;

	ASSERT_EQ(0, ftruncate(self->r.fd, 4 * PS_PAGE));
	p = mmap(NULL, 4 * PS_PAGE, PROT_READ, MAP_PRIVATE, self->r.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 4 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 self->r.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

/* read()/write() and the mapping see the same frames, both ways. */
TEST_F(map, coherent_with_read_write)
{
	unsigned char buf[PS_PAGE];

	map_region(_metadata, self, 4);

	/* pwrite -> mapping */
	ps_pwrite_page(_metadata, self->r.fd, 0, 100);
	EXPECT_EQ(-1, ps_check(PG(self, 0), PS_PAGE, 100));

	/* mapping -> pread */
	ps_fill(PG(self, 1), PS_PAGE, 101);
	ps_pread_page(_metadata, self->r.fd, 1, 101);

	/* A hole mapped by a read fault, then written with pwrite. */
	EXPECT_EQ(0, ps_touch(PG(self, 2)));
	ps_pwrite_page(_metadata, self->r.fd, 2, 102);
	EXPECT_EQ(-1, ps_check(PG(self, 2), PS_PAGE, 102));

	/* Overwrite mapped data with pwrite, then with the mapping. */
	ps_pwrite_page(_metadata, self->r.fd, 1, 103);
	EXPECT_EQ(-1, ps_check(PG(self, 1), PS_PAGE, 103));
	ps_fill(PG(self, 0), PS_PAGE, 104);
	ASSERT_EQ((ssize_t)PS_PAGE, pread(self->r.fd, buf, PS_PAGE, 0));
	EXPECT_EQ(-1, ps_check(buf, PS_PAGE, 104));

	/* A small write in the middle of a mapped page. */
	ASSERT_EQ(3, pwrite(self->r.fd, "abc", 3, 3 * PS_PAGE + 4000));
	EXPECT_EQ(0, memcmp(PG(self, 3) + 4000, "abc", 3));
	EXPECT_EQ(-1, ps_nonzero(PG(self, 3), 4000));
}

TEST_F(map, readonly_mapping_of_rdonly_fd)
{
	unsigned char *p;
	int fd;

	ASSERT_EQ(0, ftruncate(self->r.fd, 2 * PS_PAGE));
	ps_pwrite_page(_metadata, self->r.fd, 0, 7);
	fd = open(self->r.path, O_RDONLY);
	ASSERT_LE(0, fd);

	p = mmap(NULL, 2 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);

	p = mmap(NULL, 2 * PS_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	close(fd);
	EXPECT_EQ(-1, ps_check(p, PS_PAGE, 7));
	EXPECT_EQ(-1, ps_nonzero(p + PS_PAGE, PS_PAGE));
	/* Later writes through the region fd show through. */
	ps_pwrite_page(_metadata, self->r.fd, 1, 8);
	EXPECT_EQ(-1, ps_check(p + PS_PAGE, PS_PAGE, 8));
	EXPECT_EQ(-1, mprotect(p, 2 * PS_PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, 2 * PS_PAGE);
}

TEST_F(map, mapping_at_page_offset)
{
	unsigned char *p;
	unsigned long i;

	ASSERT_EQ(0, ftruncate(self->r.fd, 8 * PS_PAGE));
	for (i = 0; i < 8; i++)
		ps_pwrite_page(_metadata, self->r.fd, i, 10 + i);

	p = mmap(NULL, 2 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->r.fd, 3 * PS_PAGE);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap at page 3: %s", strerror(errno));
	EXPECT_EQ(-1, ps_check(p, PS_PAGE, 13));
	EXPECT_EQ(-1, ps_check(p + PS_PAGE, PS_PAGE, 14));
	ps_fill(p + PS_PAGE, PS_PAGE, 50);
	ps_pread_page(_metadata, self->r.fd, 4, 50);
	ps_pread_page(_metadata, self->r.fd, 5, 15);
	munmap(p, 2 * PS_PAGE);

	/* The last page, mapped alone. */
	p = mmap(NULL, PS_PAGE, PROT_READ, MAP_SHARED, self->r.fd, 7 * PS_PAGE);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, ps_check(p, PS_PAGE, 17));
	munmap(p, PS_PAGE);
}

TEST_F(map, sigbus_beyond_eof)
{
	unsigned char *p;

	ASSERT_EQ(0, ftruncate(self->r.fd, PS_PAGE));
	p = mmap(NULL, 3 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));

	EXPECT_FALSE(raises_sigbus(p, false));
	EXPECT_FALSE(raises_sigbus(p + PS_PAGE - 1, true));
	EXPECT_TRUE(raises_sigbus(p + PS_PAGE, false));
	EXPECT_TRUE(raises_sigbus(p + 2 * PS_PAGE, true));

	/* Grow the file: the same addresses now work and read zeros. */
	ASSERT_EQ(0, ftruncate(self->r.fd, 3 * PS_PAGE));
	EXPECT_FALSE(raises_sigbus(p + PS_PAGE, false));
	EXPECT_EQ(0, ps_touch(p + PS_PAGE));
	EXPECT_FALSE(raises_sigbus(p + 2 * PS_PAGE, true));
	EXPECT_EQ(0x5a, ps_touch(p + 2 * PS_PAGE));
	munmap(p, 3 * PS_PAGE);

	/* A mapping that starts past the end. */
	p = mmap(NULL, PS_PAGE, PROT_READ, MAP_SHARED, self->r.fd, 5 * PS_PAGE);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap past EOF: %s", strerror(errno));
	EXPECT_TRUE(raises_sigbus(p, false));
	munmap(p, PS_PAGE);
}

/*
 * A region mapping is an ordinary file mapping: mremap() may grow it (the
 * new pages beyond EOF are SIGBUS until the file grows), and mlock()
 * locks it (QEMU's mem-lock=on: VmLck counts it).
 */
TEST_F(map, mremap_grows_and_mlock_locks)
{
	unsigned char *p;
	long long locked;

	map_region(_metadata, self, 2);
	memset(PG(self, 0), 0x11, PS_PAGE);
	p = mremap(self->m, self->mlen, 4 * PS_PAGE, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mremap: %s", strerror(errno));
	self->m = p;
	self->mlen = 4 * PS_PAGE;
	EXPECT_EQ(0x11, ps_touch(PG(self, 0)));
	EXPECT_TRUE(raises_sigbus(PG(self, 3), false));
	ASSERT_EQ(0, ftruncate(self->r.fd, 4 * PS_PAGE));
	EXPECT_FALSE(raises_sigbus(PG(self, 3), true));

	ASSERT_EQ(0, mlock(self->m, self->mlen)) TH_LOG("mlock: %s", strerror(errno));
	locked = ps_file_number("/proc/self/status", "VmLck");
	EXPECT_EQ(4 * PS_PAGE / 1024, locked) TH_LOG("VmLck %lld kB", locked);
	EXPECT_EQ(0, munlock(self->m, self->mlen));
	EXPECT_EQ(0, ps_file_number("/proc/self/status", "VmLck"));
}

/* A read fault on a hole maps the zero frame and allocates nothing. */
TEST_F(map, read_fault_maps_zero_frame)
{
	struct pshare_region_stats s;
	struct ps_global g0, g1;
	unsigned long i;

	ps_global(_metadata, &g0);
	map_region(_metadata, self, 16);
	for (i = 0; i < 16; i += 3) {
		EXPECT_EQ(-1, ps_nonzero(PG(self, i), PS_PAGE));
	}
	/* A second read of the same pages changes nothing. */
	for (i = 0; i < 16; i += 3) {
		EXPECT_EQ(0, ps_touch(PG(self, i) + 100));
	}
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(0, s.pages_private);
	EXPECT_EQ(6, s.pages_zero);
	EXPECT_EQ(0, s.pages_shared);
	EXPECT_EQ(0, s.cow_breaks);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private, g1.pages_private);
	EXPECT_EQ(g0.pages_zero + 6, g1.pages_zero);
}

/* Writing a page that was read-mapped breaks it away from the zero frame. */
TEST_F(map, cow_break_from_zero_frame)
{
	struct pshare_region_stats s0, s1;
	struct ps_global g0, g1;
	unsigned long i;

	map_region(_metadata, self, 4);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, ps_touch(PG(self, i)));
	}
	PS_STATS(self->dev, self->r.fd, &s0);
	EXPECT_EQ(4, s0.pages_zero);
	EXPECT_EQ(0, s0.pages_private);
	ps_global(_metadata, &g0);

	ps_fill(PG(self, 1), PS_PAGE, 77);

	PS_STATS(self->dev, self->r.fd, &s1);
	EXPECT_EQ(3, s1.pages_zero);
	EXPECT_EQ(1, s1.pages_private);
	EXPECT_EQ(s0.cow_breaks + 1, s1.cow_breaks);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_zero - 1, g1.pages_zero);
	EXPECT_EQ(g0.pages_private + 1, g1.pages_private);

	/* The other pages still read zeros, the written one its data. */
	EXPECT_EQ(-1, ps_nonzero(PG(self, 0), PS_PAGE));
	EXPECT_EQ(-1, ps_nonzero(PG(self, 2), PS_PAGE));
	EXPECT_EQ(-1, ps_nonzero(PG(self, 3), PS_PAGE));
	EXPECT_EQ(-1, ps_check(PG(self, 1), PS_PAGE, 77));
	ps_pread_page(_metadata, self->r.fd, 1, 77);
	ps_pread_page(_metadata, self->r.fd, 2, -1);

	/* Writing the same page again is no new break. */
	PG(self, 1)[5] = 1;
	PS_STATS(self->dev, self->r.fd, &s0);
	EXPECT_EQ(s1.cow_breaks, s0.cow_breaks);
	EXPECT_EQ(1, s0.pages_private);
}

/* A write fault on a never-touched page gives it a private frame. */
TEST_F(map, write_fault_allocates)
{
	struct pshare_region_stats s;
	struct ps_global g0, g1;
	struct stat st;

	ps_global(_metadata, &g0);
	map_region(_metadata, self, 8);
	ps_fill(PG(self, 2), PS_PAGE, 9);
	PG(self, 5)[PS_PAGE - 1] = 0xee;
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(2, s.pages_private);
	EXPECT_EQ(0, s.pages_zero);
	EXPECT_EQ(0, s.cow_breaks);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(16, st.st_blocks);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + 2, g1.pages_private);
	ps_pread_page(_metadata, self->r.fd, 2, 9);
}

/* Punching a mapped range drops the mapped data and frees the frames. */
TEST_F(map, punch_mapped_range)
{
	unsigned char want[PS_PAGE];
	struct pshare_region_stats s;
	struct ps_global g0, g1;
	unsigned long i;

	map_region(_metadata, self, 4);
	for (i = 0; i < 4; i++)
		ps_fill(PG(self, i), PS_PAGE, 30 + i);
	ps_global(_metadata, &g0);
	ASSERT_EQ(0, fallocate(self->r.fd, PUNCH, PS_PAGE, 2 * PS_PAGE))
		TH_LOG("punch: %s", strerror(errno));
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private - 2, g1.pages_private);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(2, s.pages_private);

	EXPECT_EQ(-1, ps_check(PG(self, 0), PS_PAGE, 30));
	EXPECT_EQ(-1, ps_nonzero(PG(self, 1), PS_PAGE));
	EXPECT_EQ(-1, ps_nonzero(PG(self, 2), PS_PAGE));
	EXPECT_EQ(-1, ps_check(PG(self, 3), PS_PAGE, 33));

	/* Writing the punched page again gives it a new, coherent frame. */
	ps_fill(PG(self, 1), PS_PAGE, 40);
	ps_pread_page(_metadata, self->r.fd, 1, 40);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(3, s.pages_private);

	/* A partial punch zeroes only its range, also in the mapping. */
	ASSERT_EQ(0, fallocate(self->r.fd, PUNCH, 3 * PS_PAGE + 8, 16));
	ps_fill(want, PS_PAGE, 33);
	memset(want + 8, 0, 16);
	EXPECT_EQ(0, memcmp(PG(self, 3), want, PS_PAGE));
	ps_pread_page(_metadata, self->r.fd, 0, 30);
}

TEST_F(map, madv_dontneed_keeps_data)
{
	struct pshare_region_stats s0, s1;
	struct ps_global g0, g1;
	unsigned long i;

	map_region(_metadata, self, 4);
	for (i = 0; i < 3; i++)
		ps_fill(PG(self, i), PS_PAGE, 60 + i);
	EXPECT_EQ(0, ps_touch(PG(self, 3)));
	PS_STATS(self->dev, self->r.fd, &s0);
	ps_global(_metadata, &g0);

	ASSERT_EQ(0, madvise(self->m, self->mlen, MADV_DONTNEED));

	PS_STATS(self->dev, self->r.fd, &s1);
	ps_global(_metadata, &g1);
	EXPECT_EQ(3, s1.pages_private);
	EXPECT_EQ(s0.pages_private, s1.pages_private);
	EXPECT_EQ(s0.pages_zero, s1.pages_zero);
	EXPECT_EQ(g0.pages_private, g1.pages_private);
	EXPECT_EQ(g0.pages_zero, g1.pages_zero);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-1, ps_check(PG(self, i), PS_PAGE, 60 + i));
	}
	EXPECT_EQ(-1, ps_nonzero(PG(self, 3), PS_PAGE));
	PS_STATS(self->dev, self->r.fd, &s1);
	EXPECT_EQ(3, s1.pages_private);
}

TEST_F(map, madv_remove_punches)
{
	struct pshare_region_stats s;
	struct ps_global g0, g1;
	unsigned long i;

	map_region(_metadata, self, 4);
	for (i = 0; i < 4; i++)
		ps_fill(PG(self, i), PS_PAGE, 70 + i);
	ps_global(_metadata, &g0);
	ASSERT_EQ(0, madvise(PG(self, 1), 2 * PS_PAGE, MADV_REMOVE))
		TH_LOG("MADV_REMOVE: %s", strerror(errno));
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private - 2, g1.pages_private);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(2, s.pages_private);
	EXPECT_EQ(4 * PS_PAGE, s.size);
	EXPECT_EQ(-1, ps_check(PG(self, 0), PS_PAGE, 70));
	EXPECT_EQ(-1, ps_nonzero(PG(self, 1), PS_PAGE));
	EXPECT_EQ(-1, ps_nonzero(PG(self, 2), PS_PAGE));
	EXPECT_EQ(-1, ps_check(PG(self, 3), PS_PAGE, 73));
	ps_pread_page(_metadata, self->r.fd, 1, -1);
	ps_pread_page(_metadata, self->r.fd, 2, -1);
}

/* No shrink below a live mapping; after munmap the shrink works. */
TEST_F(map, shrink_below_mapping_ebusy)
{
	struct pshare_region_stats s;
	struct stat st;
	unsigned long i;

	map_region(_metadata, self, 4);
	for (i = 0; i < 4; i++)
		ps_fill(PG(self, i), PS_PAGE, 80 + i);

	EXPECT_EQ(-1, ftruncate(self->r.fd, 2 * PS_PAGE));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, ftruncate(self->r.fd, 3 * PS_PAGE));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, ftruncate(self->r.fd, 0));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(4 * PS_PAGE, (unsigned long)st.st_size);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(4, s.pages_private);
	EXPECT_EQ(4 * PS_PAGE, s.size);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(-1, ps_check(PG(self, i), PS_PAGE, 80 + i));
	}

	/*
	 * A cut inside the last mapped page removes no page: allowed, and
	 * the cut bytes read zero through the mapping afterwards.
	 */
	ASSERT_EQ(0, ftruncate(self->r.fd, 4 * PS_PAGE - 1))
		TH_LOG("shrink within the last page: %s", strerror(errno));
	EXPECT_EQ(0, PG(self, 3)[PS_PAGE - 1]);
	EXPECT_EQ(-1, ps_check(PG(self, 3), PS_PAGE - 1, 83));
	ASSERT_EQ(0, ftruncate(self->r.fd, 4 * PS_PAGE));
	EXPECT_EQ(0, PG(self, 3)[PS_PAGE - 1]);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(4, s.pages_private);

	/* Growing is fine, and so is a shrink that the mapping does not reach. */
	ASSERT_EQ(0, ftruncate(self->r.fd, 8 * PS_PAGE));
	ps_pwrite_page(_metadata, self->r.fd, 6, 86);
	ASSERT_EQ(0, ftruncate(self->r.fd, 4 * PS_PAGE))
		TH_LOG("shrink to the mapping's end: %s", strerror(errno));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(4, s.pages_private);

	ASSERT_EQ(0, munmap(self->m, self->mlen));
	self->m = NULL;
	ASSERT_EQ(0, ftruncate(self->r.fd, 2 * PS_PAGE))
		TH_LOG("shrink after munmap: %s", strerror(errno));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(2 * PS_PAGE, s.size);
	EXPECT_EQ(2, s.pages_private);
	ps_pread_page(_metadata, self->r.fd, 1, 81);
}

/* A mapping of the first page only does not stop a shrink above it. */
TEST_F(map, shrink_above_partial_mapping)
{
	struct stat st;
	unsigned char *p;

	ASSERT_EQ(0, ftruncate(self->r.fd, 4 * PS_PAGE));
	p = mmap(NULL, PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_EQ(0, ftruncate(self->r.fd, PS_PAGE))
		TH_LOG("shrink above the mapping: %s", strerror(errno));
	EXPECT_EQ(-1, ftruncate(self->r.fd, 0));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ(PS_PAGE, (unsigned long)st.st_size);
	EXPECT_EQ(1, p[0]);
	munmap(p, PS_PAGE);
}

/* Unlinked and closed but still mapped: alive until the munmap. */
TEST_F(map, unlink_while_mapped)
{
	struct ps_global g0, g1, g2;
	struct ps_region a = { .fd = -1 };
	unsigned char *p;
	unsigned long i;

	ps_global(_metadata, &g0);
	ps_region_create(_metadata, &a, 4 * PS_PAGE);
	p = mmap(NULL, 4 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < 3; i++)
		ps_fill(p + i * PS_PAGE, PS_PAGE, 90 + i);
	ps_region_destroy(&a);		/* close + unlink */
	ASSERT_EQ(-1, access(a.path, F_OK));

	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.regions + 1, g1.regions);
	EXPECT_EQ(g0.pages_private + 3, g1.pages_private);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-1, ps_check(p + i * PS_PAGE, PS_PAGE, 90 + i));
	}
	ps_fill(p + 3 * PS_PAGE, PS_PAGE, 93);
	EXPECT_EQ(-1, ps_check(p + 3 * PS_PAGE, PS_PAGE, 93));
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + 4, g1.pages_private);

	ASSERT_EQ(0, munmap(p, 4 * PS_PAGE));
	ps_global(_metadata, &g2);
	EXPECT_EQ(g0.regions, g2.regions);
	EXPECT_EQ(g0.pages_private, g2.pages_private);
	EXPECT_EQ(g0.pages_zero, g2.pages_zero);
}

/* fork() keeps the shared mapping: each side sees the other's writes. */
TEST_F(map, fork_shares_mapping)
{
	struct pshare_region_stats s;
	int status;
	pid_t pid;

	map_region(_metadata, self, 2);
	ps_fill(PG(self, 0), PS_PAGE, 110);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (ps_check(PG(self, 0), PS_PAGE, 110) != -1)
			_exit(1);
		ps_fill(PG(self, 1), PS_PAGE, 111);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("child did not see page 0");
	EXPECT_EQ(-1, ps_check(PG(self, 1), PS_PAGE, 111));
	ps_pread_page(_metadata, self->r.fd, 1, 111);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(2, s.pages_private);
}

/* Two processes with their own open() and mmap() of one region. */
TEST_F(map, two_processes_independent_maps)
{
	int go[2], done[2], status;
	unsigned char *p;
	char c;
	pid_t pid;

	ASSERT_EQ(0, ftruncate(self->r.fd, 2 * PS_PAGE));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = open(self->r.path, O_RDWR);

		if (fd < 0)
			_exit(2);
		p = mmap(NULL, 2 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (p == MAP_FAILED)
			_exit(3);
		close(fd);
		/* Mapped: tell the parent, wait for its write. */
		if (write(done[1], "m", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(4);
		if (ps_check(p, PS_PAGE, 120) != -1)
			_exit(5);
		ps_fill(p + PS_PAGE, PS_PAGE, 121);
		_exit(0);
	}
	close(go[0]);
	close(done[1]);
	ASSERT_EQ(1, read(done[0], &c, 1)) TH_LOG("child failed to map");

	p = mmap(NULL, 2 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ps_fill(p, PS_PAGE, 120);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("child step %d failed",
						 WEXITSTATUS(status));
	EXPECT_EQ(-1, ps_check(p + PS_PAGE, PS_PAGE, 121));
	munmap(p, 2 * PS_PAGE);
	close(go[1]);
	close(done[0]);
}

/* The counts are exactly the pages written and the holes read. */
TEST_F(map, resident_counts_exact)
{
	static const unsigned long wr[] = { 3, 17, 64, 100, 200, 255 };
	static const unsigned long rd[] = { 0, 1, 50, 99, 101, 128, 150, 199, 254 };
	const size_t nw = sizeof(wr) / sizeof(wr[0]);
	const size_t nr = sizeof(rd) / sizeof(rd[0]);
	struct pshare_region_stats s, s2;
	struct ps_global g0, g1;
	struct stat st;
	size_t i;

	ps_global(_metadata, &g0);
	map_region(_metadata, self, 256);
	for (i = 0; i < nw; i++) {
		if (i % 2) {
			ps_pwrite_page(_metadata, self->r.fd, wr[i], wr[i]);
		} else {
			ps_fill(PG(self, wr[i]), PS_PAGE, wr[i]);
		}
	}
	for (i = 0; i < nr; i++) {
		EXPECT_EQ(0, ps_touch(PG(self, rd[i]) + 11));
	}
	PS_STATS(self->dev, self->r.fd, &s);
	/* A first write to a hole is an allocation, not a break. */
	EXPECT_EQ(0, s.cow_breaks);
	EXPECT_EQ(256 * PS_PAGE, s.size);
	EXPECT_EQ(nw, s.pages_private);
	EXPECT_EQ(nr, s.pages_zero);
	EXPECT_EQ(0, s.pages_shared);
	ASSERT_EQ(0, fstat(self->r.fd, &st));
	EXPECT_EQ((blkcnt_t)(8 * nw), st.st_blocks);
	ps_global(_metadata, &g1);
	EXPECT_EQ(g0.pages_private + (long long)nw, g1.pages_private);
	EXPECT_EQ(g0.pages_zero + (long long)nr, g1.pages_zero);

	/* Two of the zero pages written: two breaks. */
	PG(self, rd[2])[0] = 1;
	PG(self, rd[5])[0] = 1;
	PS_STATS(self->dev, self->r.fd, &s2);
	EXPECT_EQ(nw + 2, s2.pages_private);
	EXPECT_EQ(nr - 2, s2.pages_zero);
	EXPECT_EQ(s.cow_breaks + 2, s2.cow_breaks);

	for (i = 0; i < nw; i++) {
		EXPECT_EQ(-1, ps_check(PG(self, wr[i]), PS_PAGE, wr[i]));
	}
}

/*
 * O_DIRECT between a file on ext4 (on a loop device) and a buffer mapped
 * from a region: the block layer pins the region's pages with GUP.
 */
FIXTURE(odirect) {
	int dev;
	struct ps_region r;
	struct ps_scratch_fs fs;
};

/* Undo what the setup made; also called before a skip from the setup. */
static void odirect_cleanup(FIXTURE_DATA(odirect) *self)
{
	ps_dev_region_close(self->dev, &self->r);
	self->dev = -1;
	ps_scratch_fs_remove(&self->fs);
}

FIXTURE_SETUP(odirect)
{
	time_t t0 = time(NULL);
	const char *why;

	self->dev = -1;
	self->r.fd = -1;
	PS_REQUIRE_ENV();
	why = ps_scratch_fs_make(&self->fs, 16);
	if (why)
		PS_SKIP("%s", why);
	TH_LOG("%lds: ext4 on %s mounted on %s", time(NULL) - t0, self->fs.loopdev,
	       self->fs.dir);
	self->dev = open(PS_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	ps_region_create(_metadata, &self->r, 0);
}

FIXTURE_TEARDOWN(odirect)
{
	odirect_cleanup(self);
}

TEST_F_TIMEOUT(odirect, read_into_region_buffer, 300)
{
	const size_t n = 8;	/* pages read */
	struct pshare_region_stats s;
	char path[128], path2[128];
	unsigned char *buf, *m, *back;
	unsigned long i;
	int fd;

	/* The source file, written through the page cache and synced. */
	buf = malloc(n * PS_PAGE);
	back = malloc(n * PS_PAGE);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	for (i = 0; i < n; i++)
		ps_fill(buf + i * PS_PAGE, PS_PAGE, 200 + i);
	snprintf(path, sizeof(path), "%s/pattern", self->fs.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)(n * PS_PAGE), write(fd, buf, n * PS_PAGE));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ps_write_file("/proc/sys/vm/drop_caches", "3");
	TH_LOG("source file written and synced");

	/* Region buffer: pages 2-3 read-mapped (zero frame), 4-9 holes. */
	ASSERT_EQ(0, ftruncate(self->r.fd, 16 * PS_PAGE));
	m = mmap(NULL, 16 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0, ps_touch(m + 2 * PS_PAGE));
	EXPECT_EQ(0, ps_touch(m + 3 * PS_PAGE));

	fd = open(path, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd) TH_LOG("O_DIRECT open: %s", strerror(errno));
	ASSERT_EQ((ssize_t)(n * PS_PAGE), read(fd, m + 2 * PS_PAGE, n * PS_PAGE))
		TH_LOG("O_DIRECT read: %s", strerror(errno));
	close(fd);
	TH_LOG("O_DIRECT read done");

	/* The data landed in the region: through the map and through pread. */
	for (i = 0; i < n; i++) {
		EXPECT_EQ(-1, ps_check(m + (2 + i) * PS_PAGE, PS_PAGE, 200 + i));
		ps_pread_page(_metadata, self->r.fd, 2 + i, 200 + i);
	}
	ps_pread_page(_metadata, self->r.fd, 1, -1);
	ps_pread_page(_metadata, self->r.fd, 10, -1);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(n, s.pages_private);
	EXPECT_EQ(0, s.pages_zero);
	EXPECT_EQ(2, s.cow_breaks) TH_LOG("pages 2-3 left the zero frame");

	/* And the other way: O_DIRECT write from the region buffer. */
	snprintf(path2, sizeof(path2), "%s/copy", self->fs.dir);
	fd = open(path2, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)(n * PS_PAGE), write(fd, m + 2 * PS_PAGE, n * PS_PAGE))
		TH_LOG("O_DIRECT write: %s", strerror(errno));
	close(fd);
	fd = open(path2, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)(n * PS_PAGE), read(fd, back, n * PS_PAGE));
	close(fd);
	EXPECT_EQ(0, memcmp(buf, back, n * PS_PAGE));

	munmap(m, 16 * PS_PAGE);
	free(buf);
	free(back);
}

TEST_HARNESS_MAIN
