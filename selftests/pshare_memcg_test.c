// SPDX-License-Identifier: GPL-2.0
/*
 * pshare memory cgroup tests: region frames are charged to the memory
 * cgroup of the task that faults them in, so memory.current of a cgroup v2
 * group grows with what its task touches, and memory.max stops a task that
 * touches more (the memcg OOM killer sends it SIGKILL).
 *
 * Each test makes its own child cgroup under /sys/fs/cgroup and moves one
 * forked child into it; the test process itself never joins it.
 */
#include "pshare_selftest.h"

#include <sys/uio.h>

#include <signal.h>

#define CG_ROOT		"/sys/fs/cgroup"
#define CGROUP2_MAGIC	0x63677270
#define MIB		(1UL << 20)

FIXTURE(memcg) {
	int dev;
	struct ps_region r;
	char cg[128];
	bool enabled_memory;
	pid_t child;
	int go[2], done[2];
};

/* Read a whole small file into @buf; 0 on success. */
static int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* Is @word one of the space-separated words of @list? */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

static long long cg_read(FIXTURE_DATA(memcg) *self, const char *file)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "%s/%s", self->cg, file);
	if (read_text(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

/* The "key value" line @key of a flat-keyed file such as memory.events. */
static long long cg_read_key(FIXTURE_DATA(memcg) *self, const char *file,
			     const char *key)
{
	char path[256], buf[1024], *p;
	size_t n = strlen(key);

	snprintf(path, sizeof(path), "%s/%s", self->cg, file);
	if (read_text(path, buf, sizeof(buf)))
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, n) && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

static int cg_write(FIXTURE_DATA(memcg) *self, const char *file,
		    const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", self->cg, file);
	return ps_write_file(path, val);
}

FIXTURE_SETUP(memcg)
{
	char buf[512];
	struct statfs sfs;

	self->dev = -1;
	self->r.fd = -1;
	self->go[0] = self->go[1] = self->done[0] = self->done[1] = -1;
	PS_REQUIRE_ENV();
	if (statfs(CG_ROOT, &sfs) || sfs.f_type != CGROUP2_MAGIC)
		PS_SKIP("no cgroup v2 hierarchy at " CG_ROOT);
	if (read_text(CG_ROOT "/cgroup.controllers", buf, sizeof(buf)) ||
	    !has_word(buf, "memory"))
		PS_SKIP("memory controller not available (CONFIG_MEMCG)");
	ASSERT_EQ(0, read_text(CG_ROOT "/cgroup.subtree_control", buf, sizeof(buf)));
	if (!has_word(buf, "memory")) {
		if (ps_write_file(CG_ROOT "/cgroup.subtree_control", "+memory"))
			PS_SKIP("cannot enable +memory in " CG_ROOT
				"/cgroup.subtree_control: %s", strerror(errno));
		self->enabled_memory = true;
	}
	snprintf(self->cg, sizeof(self->cg), CG_ROOT "/pshare-selftest.%d",
		 getpid());
	ASSERT_EQ(0, mkdir(self->cg, 0755)) TH_LOG("mkdir %s: %s", self->cg,
						    strerror(errno));
	ASSERT_LE(0, cg_read(self, "memory.current"))
		TH_LOG("no memory.current in %s", self->cg);

	self->dev = open(PS_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	ps_region_create(_metadata, &self->r, 0);
	ASSERT_EQ(0, pipe(self->go));
	ASSERT_EQ(0, pipe(self->done));
}

FIXTURE_TEARDOWN(memcg)
{
	int i;

	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	for (i = 0; i < 2; i++) {
		if (self->go[i] >= 0)
			close(self->go[i]);
		if (self->done[i] >= 0)
			close(self->done[i]);
	}
	/* Free the frames first: they are charged to the group. */
	ps_region_destroy(&self->r);
	if (self->dev >= 0)
		close(self->dev);
	if (self->cg[0])
		rmdir(self->cg);
	if (self->enabled_memory)
		ps_write_file(CG_ROOT "/cgroup.subtree_control", "-memory");
}

/* What a child does in the group: returns its exit status on failure. */
typedef int (*cg_work_fn)(FIXTURE_DATA(memcg) *self, size_t a, size_t b);

/*
 * Fork a child that waits to be moved into the group, then runs @work,
 * reports on "done" and waits on "go" again before exiting.
 */
static void spawn_child(struct __test_metadata *_metadata,
			FIXTURE_DATA(memcg) *self, cg_work_fn work, size_t a, size_t b)
{
	char c, pid[32];

	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		int err;

		ps_write_file("/proc/self/oom_score_adj", "1000");
		if (read(self->go[0], &c, 1) != 1)
			_exit(2);
		err = work(self, a, b);
		if (err)
			_exit(err);
		if (write(self->done[1], "t", 1) != 1)
			_exit(4);
		if (read(self->go[0], &c, 1) != 1)
			_exit(5);
		_exit(0);
	}
	/* Only the child writes "done" and reads "go": EOF if it dies. */
	close(self->done[1]);
	self->done[1] = -1;
	close(self->go[0]);
	self->go[0] = -1;
	snprintf(pid, sizeof(pid), "%d", self->child);
	ASSERT_EQ(0, cg_write(self, "cgroup.procs", pid))
		TH_LOG("moving %d into %s: %s", self->child, self->cg,
		       strerror(errno));
}

/* Map the region (@mib MiB) and write one byte into each page of the first @touch MiB. */
static int touch_work(FIXTURE_DATA(memcg) *self, size_t mib, size_t touch)
{
	unsigned char *p;
	size_t i;

	p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, self->r.fd, 0);
	if (p == MAP_FAILED)
		return 3;
	for (i = 0; i < touch * MIB; i += PS_PAGE)
		p[i] = (unsigned char)(i / PS_PAGE + 1);
	return 0;
}

static void spawn_toucher(struct __test_metadata *_metadata,
			  FIXTURE_DATA(memcg) *self, size_t mib, size_t touch)
{
	ASSERT_EQ(0, ftruncate(self->r.fd, mib * MIB));
	spawn_child(_metadata, self, touch_work, mib, touch);
}

/*
 * Let the spawned child do its work in the group and exit; returns how
 * much memory.current grew while it worked.
 */
static long long run_child_measured(struct __test_metadata *_metadata,
				    FIXTURE_DATA(memcg) *self)
{
	long long before, after;
	int status;
	char c;

	before = cg_read(self, "memory.current");
	EXPECT_LE(0, before);
	EXPECT_EQ(1, write(self->go[1], "g", 1));
	EXPECT_EQ(1, read(self->done[0], &c, 1))
		TH_LOG("the child died before it finished its work");
	after = cg_read(self, "memory.current");
	EXPECT_EQ(1, write(self->go[1], "g", 1));
	EXPECT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = 0;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child status %#x", status);
	TH_LOG("memory.current %lld -> %lld", before, after);
	return after - before;
}

/*
 * Let the spawned child work in a group limited to @max MiB, where it must
 * be OOM-killed before it finishes.
 */
static void expect_child_oom_killed(struct __test_metadata *_metadata,
				    FIXTURE_DATA(memcg) *self, size_t max)
{
	long long kills, peak;
	int status;
	char c;

	EXPECT_EQ(1, write(self->go[1], "g", 1));
	/* A child that survives its work reports and waits on "go". */
	if (read(self->done[0], &c, 1) == 1) {
		TH_LOG("the child finished its work under memory.max=%zu MiB", max);
		EXPECT_TRUE(false);
		EXPECT_EQ(1, write(self->go[1], "g", 1));
	}
	EXPECT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = 0;
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("child status %#x, expected SIGKILL", status);
	kills = cg_read_key(self, "memory.events", "oom_kill");
	EXPECT_LE(1, kills) TH_LOG("memory.events oom_kill %lld", kills);
	peak = cg_read(self, "memory.peak");
	if (peak >= 0)
		EXPECT_GE((long long)(max * MIB), peak);
}

/*
 * Through a 2 MiB window moving over @windows windows, read one byte of
 * every 64th page: each read fault on a hole makes a zero entry, which
 * costs no frame but a pmap node of its own (64 entries per node). The
 * window is unmapped before it moves, so its page tables go with it and
 * what stays charged is the pmap.
 */
#define CG_WINDOW	(2 * MIB)
#define CG_STRIDE	(64 * PS_PAGE)

static int window_work(FIXTURE_DATA(memcg) *self, size_t windows, size_t unused)
{
	volatile unsigned char *p;
	unsigned char sum = 0;
	size_t w, i;

	(void)unused;
	for (w = 0; w < windows; w++) {
		p = mmap(NULL, CG_WINDOW, PROT_READ, MAP_SHARED, self->r.fd, w * CG_WINDOW);
		if (p == MAP_FAILED)
			return 3;
		for (i = 0; i < CG_WINDOW; i += CG_STRIDE)
			sum += p[i];
		munmap((void *)p, CG_WINDOW);
	}
	return sum ? 6 : 0;	/* holes read as zeros */
}

TEST_F_TIMEOUT(memcg, touch_charges_group, 120)
{
	const size_t n = 16;	/* MiB touched */
	const long long slack = 1 * MIB;
	struct pshare_region_stats s;
	long long grown;

	spawn_toucher(_metadata, self, 2 * n, n);
	grown = run_child_measured(_metadata, self);
	TH_LOG("+%lld KiB charged for %zu MiB touched", grown / 1024, n);
	EXPECT_LE((long long)(n * MIB) - slack, grown)
		TH_LOG("frames were not charged to the toucher's cgroup");
	EXPECT_GE((long long)(n * MIB + n * MIB / 2), grown)
		TH_LOG("charged far more than was touched");

	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(n * MIB / PS_PAGE, s.pages_private);
}

TEST_F_TIMEOUT(memcg, memory_max_oom_kills_toucher, 180)
{
	const size_t max = 8, n = 64;	/* MiB */
	struct pshare_region_stats s;
	char val[32];

	snprintf(val, sizeof(val), "%zu", max * MIB);
	ASSERT_EQ(0, cg_write(self, "memory.max", val))
		TH_LOG("memory.max: %s", strerror(errno));
	spawn_toucher(_metadata, self, n, n);
	expect_child_oom_killed(_metadata, self, max);
	PS_STATS(self->dev, self->r.fd, &s);
	TH_LOG("region holds %llu pages after the kill",
	       (unsigned long long)s.pages_private);
	EXPECT_GE(max * MIB / PS_PAGE, s.pages_private);
}

/* The pmap's nodes for zero entries are charged to the faulting task's group. */
TEST_F_TIMEOUT(memcg, zero_entries_charge_group, 300)
{
	const size_t windows = 4096, reads = windows * (CG_WINDOW / CG_STRIDE);
	struct pshare_region_stats s;
	long long grown;

	ASSERT_EQ(0, ftruncate(self->r.fd, (off_t)(windows * CG_WINDOW)));
	spawn_child(_metadata, self, window_work, windows, 0);
	grown = run_child_measured(_metadata, self);

	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(reads, s.pages_zero);
	EXPECT_EQ(0, s.pages_private);
	TH_LOG("+%lld KiB charged for %zu zero entries, one pmap node each",
	       grown / 1024, reads);
	/* A node is 576 bytes on x86-64; ask for half of that. */
	EXPECT_LE((long long)(reads * 288), grown)
		TH_LOG("the pmap's nodes were not charged to the reader's cgroup");
}

/* ... so memory.max stops a task that piles them up, as it stops frames. */
TEST_F_TIMEOUT(memcg, memory_max_stops_zero_entries, 300)
{
	const size_t max = 16, windows = 32768;	/* 144 MiB of nodes wanted */
	char val[32];

	snprintf(val, sizeof(val), "%zu", max * MIB);
	ASSERT_EQ(0, cg_write(self, "memory.max", val))
		TH_LOG("memory.max: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(self->r.fd, (off_t)(windows * CG_WINDOW)));
	spawn_child(_metadata, self, window_work, windows, 0);
	expect_child_oom_killed(_metadata, self, max);
}

/*
 * The OOM victim of a group: a region of its own (unlinked, so its frames
 * go when the victim does) with @zero_mib MiB of zero entries and
 * @write_mib MiB written after them.
 */
static int victim_work(FIXTURE_DATA(memcg) *self, size_t zero_mib, size_t write_mib)
{
	volatile unsigned char *p;
	char path[512];
	size_t i, len = (zero_mib + write_mib) * MIB;
	unsigned char sum = 0;
	int fd;

	(void)self;
	snprintf(path, sizeof(path), "%s/pshare-victim.%d", ps_mnt(), getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 3;
	unlink(path);
	if (ftruncate(fd, len))
		return 3;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 3;
	for (i = 0; i < zero_mib * MIB; i += PS_PAGE)
		sum += p[i];
	for (; i < len; i += PS_PAGE)
		p[i] = 1;
	return sum ? 6 : 0;
}

/*
 * A group at its limit, where the faulting task writes zero pages through
 * GUP (as KVM does) and the OOM killer picks another member whose region
 * holds zero entries: the victim's region is torn down while the writer
 * waits for memory, and the writer goes on once it is. Were the zero
 * frame's lock held across the writer's allocation, the teardown (which
 * takes that lock for zero entries) would wait for the writer, and the
 * writer for the teardown's memory until it gave up.
 */
TEST_F_TIMEOUT(memcg, oom_victim_teardown_completes, 300)
{
	const size_t max = 32, wmib = 16;	/* MiB */
	int go[2], res[2], status, i;
	unsigned long failed = 0;
	char val[32], pid[32];
	pid_t writer;
	long long kills;

	snprintf(val, sizeof(val), "%zu", max * MIB);
	ASSERT_EQ(0, cg_write(self, "memory.max", val));
	spawn_child(_metadata, self, victim_work, 8, 20);
	ASSERT_EQ(1, write(self->go[1], "g", 1));
	ASSERT_EQ(1, read(self->done[0], val, 1)) TH_LOG("the victim died while filling its region");

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(res));
	ASSERT_EQ(0, ftruncate(self->r.fd, 2 * wmib * MIB));
	writer = fork();
	ASSERT_LE(0, writer);
	if (writer == 0) {
		unsigned char one = 1, *p;
		struct iovec local = { &one, 1 }, remote;
		unsigned long bad = 0;
		volatile unsigned char sum = 0;
		size_t off;
		char c;

		ps_write_file("/proc/self/oom_score_adj", "-1000");
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		p = mmap(NULL, 2 * wmib * MIB, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->r.fd, 0);
		if (p == MAP_FAILED)
			_exit(3);
		for (off = 0; off < 2 * wmib * MIB; off += PS_PAGE)
			sum += p[off];
		for (off = 0; off < wmib * MIB; off += PS_PAGE) {
			remote.iov_base = p + off;
			remote.iov_len = 1;
			if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) != 1) {
				if (errno == ENOSYS)
					_exit(5);
				bad++;
			}
		}
		_exit(write(res[1], &bad, sizeof(bad)) == sizeof(bad) ? 0 : 4);
	}
	close(go[0]);
	close(res[1]);
	snprintf(pid, sizeof(pid), "%d", writer);
	ASSERT_EQ(0, cg_write(self, "cgroup.procs", pid));
	ASSERT_EQ(1, write(go[1], "g", 1));

	/* The writer finishes (or dies) and tells; the victim is gone by then. */
	if (read(res[0], &failed, sizeof(failed)) != (ssize_t)sizeof(failed)) {
		ASSERT_EQ(writer, waitpid(writer, &status, 0));
		if (WIFEXITED(status) && WEXITSTATUS(status) == 5)
			PS_SKIP("no process_vm_writev (CONFIG_CROSS_MEMORY_ATTACH)");
		ASSERT_TRUE(false) TH_LOG("the writer died (status %#x)", status);
	}
	ASSERT_EQ(writer, waitpid(writer, &status, 0));
	close(go[1]);
	close(res[0]);
	for (i = 0; i < 1200 && waitpid(self->child, &status, WNOHANG) == 0; i++)
		usleep(100 * 1000);
	ASSERT_LT(i, 1200) TH_LOG("the OOM victim did not finish dying in 120 s");
	self->child = 0;
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("victim status %#x, expected SIGKILL", status);
	kills = cg_read_key(self, "memory.events", "oom_kill");
	TH_LOG("writer: %lu of %zu page writes through GUP failed; oom_kill %lld",
	       failed, wmib * MIB / PS_PAGE, kills);
	EXPECT_EQ(0, failed);
	EXPECT_LE(1, kills);
}

TEST_HARNESS_MAIN
