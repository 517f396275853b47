// SPDX-License-Identifier: GPL-2.0
/*
 * pshare and NUMA memory policy: a region mapping bound with mbind() to a
 * node gets its frames from that node, whichever way the frame is made (a
 * write fault on a hole, a write after a read that mapped the zero frame),
 * and /proc/self/numa_maps counts them there. move_pages() with no target
 * nodes reports each page's node; asked to move pages, it, mbind() with
 * MPOL_MF_MOVE and migrate_pages() report what they did, which the admin
 * guide documents.
 *
 * The test VM has NUMA nodes only when asked for (PSHARE_VM_NUMA=2, see
 * scripts/vm.sh): with fewer than two nodes with memory every test skips.
 * The test runs on a CPU of another node than the one it binds to, so a
 * frame allocated without regard to the policy lands on the wrong node.
 * mbind(), move_pages() and migrate_pages() are called as raw system
 * calls: no libnuma.
 */
#include "pshare_selftest.h"

#include <sched.h>
#include <sys/syscall.h>
#include <linux/mempolicy.h>

/* Pages each test binds and writes. */
#define NUMA_PAGES	64

/* A set of node or CPU numbers, as /sys/devices/system/node lists them. */
typedef unsigned long long ps_set;

/*
 * Read a list like "0-1,3" from @path into *@set. Numbers past 63 are
 * ignored: the test VM has two nodes and a few CPUs. Returns -1 when the
 * file cannot be read.
 */
static int ps_read_set(const char *path, ps_set *set)
{
	char buf[256], *p, *end;
	unsigned long a, b;
	FILE *f = fopen(path, "r");

	*set = 0;
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p)
		return -1;
	while (*p >= '0' && *p <= '9') {
		a = strtoul(p, &end, 10);
		b = a;
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		for (; a <= b && a < 64; a++)
			*set |= 1ULL << a;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* Run this process on the CPUs of @node; false when it has none. */
static bool ps_run_on_node(int node)
{
	char path[96];
	cpu_set_t cpus;
	ps_set set;
	int c;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 node);
	if (ps_read_set(path, &set) || !set)
		return false;
	CPU_ZERO(&cpus);
	for (c = 0; c < 64; c++)
		if (set & (1ULL << c))
			CPU_SET(c, &cpus);
	return sched_setaffinity(0, sizeof(cpus), &cpus) == 0;
}

static long ps_mbind(void *addr, size_t len, int mode, int node)
{
	unsigned long mask = 1UL << node;

	return syscall(SYS_mbind, addr, len, mode, &mask,
		       sizeof(mask) * 8, 0);
}

static long ps_move_pages(size_t n, void **addrs, const int *nodes,
			  int *status, int flags)
{
	return syscall(SYS_move_pages, 0, n, addrs, nodes, status, flags);
}

/*
 * The count after "N<node>=" on the line of /proc/self/numa_maps for the
 * mapping at @addr: 0 when the line has none, -1 when there is no line.
 * The whole line goes to *@line for the log.
 */
static long ps_numa_maps_count(void *addr, int node, char *line, size_t len)
{
	char start[32], key[16], *p;
	long count = -1;
	FILE *f;

	snprintf(start, sizeof(start), "%lx ", (unsigned long)addr);
	snprintf(key, sizeof(key), " N%d=", node);
	line[0] = 0;
	f = fopen("/proc/self/numa_maps", "r");
	if (!f)
		return -1;
	while (fgets(line, len, f)) {
		if (strncmp(line, start, strlen(start)))
			continue;
		line[strcspn(line, "\n")] = 0;
		p = strstr(line, key);
		count = p ? strtol(p + strlen(key), NULL, 10) : 0;
		break;
	}
	fclose(f);
	if (count < 0)
		line[0] = 0;
	return count;
}

FIXTURE(numa) {
	int dev;
	struct ps_region r;
	unsigned char *m;
	size_t mlen;
};

FIXTURE_SETUP(numa)
{
	ps_set nodes;

	self->m = NULL;
	ps_dev_region_open(_metadata, &self->dev, &self->r, 0);
	if (ps_read_set("/sys/devices/system/node/has_memory", &nodes) ||
	    (nodes & 3) != 3)
		PS_SKIP("needs NUMA nodes 0 and 1 with memory (test VM: PSHARE_VM_NUMA=2)");
	self->mlen = NUMA_PAGES * PS_PAGE;
	ASSERT_EQ(0, ftruncate(self->r.fd, self->mlen));
	self->m = mmap(NULL, self->mlen, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, self->m) TH_LOG("mmap: %s", strerror(errno));
}

FIXTURE_TEARDOWN(numa)
{
	if (self->m && self->m != MAP_FAILED)
		munmap(self->m, self->mlen);
	ps_dev_region_close(self->dev, &self->r);
}

/*
 * Bind the fixture's mapping to @node from a CPU of the other node, make
 * a frame for every page (after a read of each first if @read_first, so
 * that the write breaks the zero frame's copy-on-write), and check where
 * move_pages() and numa_maps say the frames are.
 */
static void bind_and_check(struct __test_metadata *_metadata,
			   FIXTURE_DATA(numa) *self, int node, bool read_first)
{
	void *addrs[NUMA_PAGES];
	int status[NUMA_PAGES];
	long wrong = 0, count;
	char line[512];
	size_t i;

	if (!ps_run_on_node(!node))
		PS_NOTE("node %d has no CPU: running anywhere", !node);
	ASSERT_EQ(0, ps_mbind(self->m, self->mlen, MPOL_BIND, node))
		TH_LOG("mbind: %s", strerror(errno));
	for (i = 0; read_first && i < NUMA_PAGES; i++)
		ps_touch(self->m + i * PS_PAGE);
	ps_fill(self->m, self->mlen, node + 1);

	for (i = 0; i < NUMA_PAGES; i++)
		addrs[i] = self->m + i * PS_PAGE;
	ASSERT_EQ(0, ps_move_pages(NUMA_PAGES, addrs, NULL, status, 0))
		TH_LOG("move_pages: %s", strerror(errno));
	for (i = 0; i < NUMA_PAGES; i++) {
		if (status[i] == node)
			continue;
		if (!wrong++)
			PS_NOTE("page %zu is on node %d, not %d", i, status[i], node);
	}
	EXPECT_EQ(0, wrong) TH_LOG("%ld of %d pages not on node %d", wrong,
				   NUMA_PAGES, node);

	count = ps_numa_maps_count(self->m, node, line, sizeof(line));
	PS_NOTE("numa_maps: %s", line);
	EXPECT_EQ(NUMA_PAGES, count);
	EXPECT_EQ(-1, ps_check(self->m, self->mlen, node + 1));
}

/* Write faults on holes, bound to node 1. */
TEST_F(numa, bind_node1)
{
	bind_and_check(_metadata, self, 1, false);
}

/* The same bound to node 0, from a CPU of node 1. */
TEST_F(numa, bind_node0)
{
	bind_and_check(_metadata, self, 0, false);
}

/* Reads map the zero frame; the writes after them break it on node 1. */
TEST_F(numa, zero_break_node1)
{
	bind_and_check(_metadata, self, 1, true);
}

/*
 * What mbind() with MPOL_MF_MOVE, move_pages() asked to move frames to
 * another node, and migrate_pages() do: logged for the admin guide, which
 * says what they return. Whatever they report, a page is where move_pages() then
 * says it is and its data is intact.
 */
TEST_F(numa, migrate_reports)
{
	void *addrs[NUMA_PAGES];
	int status[NUMA_PAGES], nodes[NUMA_PAGES];
	unsigned long from = 1UL << 1, to = 1UL << 0;
	long ret;
	size_t i;

	bind_and_check(_metadata, self, 1, false);
	for (i = 0; i < NUMA_PAGES; i++) {
		addrs[i] = self->m + i * PS_PAGE;
		nodes[i] = 0;
		status[i] = 1000;
	}
	ret = syscall(SYS_mbind, self->m, self->mlen, MPOL_BIND, &to,
		      sizeof(to) * 8, MPOL_MF_MOVE | MPOL_MF_STRICT);
	PS_NOTE("mbind(node 0, MPOL_MF_MOVE | MPOL_MF_STRICT) = %ld (%s)", ret,
		ret < 0 ? strerror(errno) : "ok");
	ret = ps_move_pages(NUMA_PAGES, addrs, nodes, status, MPOL_MF_MOVE);
	PS_NOTE("move_pages(to node 0) = %ld (%s), status[0] = %d", ret,
		ret < 0 ? strerror(errno) : "ok", status[0]);
	ret = syscall(SYS_migrate_pages, 0, sizeof(from) * 8, &from, &to);
	PS_NOTE("migrate_pages(node 1 to node 0) = %ld (%s)", ret,
		ret < 0 ? strerror(errno) : "ok");

	ASSERT_EQ(0, ps_move_pages(NUMA_PAGES, addrs, NULL, status, 0));
	for (i = 0; i < NUMA_PAGES; i++) {
		ASSERT_TRUE(status[i] == 0 || status[i] == 1)
			TH_LOG("page %zu: status %d", i, status[i]);
	}
	PS_NOTE("after both: page 0 on node %d", status[0]);
	EXPECT_EQ(-1, ps_check(self->m, self->mlen, 2));
}

TEST_HARNESS_MAIN
