// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim selftests, targets: under a limit a region never drops below its
 * min, a region over its max is paged down to it without any limit, and a
 * region without a backing file only gets a lower (balloon) target.
 */
#include "pshare_reclaim.h"

#include <pthread.h>

/* ---------------------------------------------------------------------- */
/* Targets, min and max                                                   */

/* Reads random pages of a mapping until told to stop: page-ins. */
struct rc_reader {
	pthread_t tid;
	const unsigned char *map;
	unsigned long pages;
	atomic_int stop;
	unsigned long reads;
};

static void *rc_reader_main(void *arg)
{
	struct rc_reader *rd = arg;
	uint64_t x = 88172645463325252ULL;

	while (!atomic_load(&rd->stop)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ps_touch(rd->map + (x % rd->pages) * PS_PAGE);
		rd->reads++;
	}
	return NULL;
}

/*
 * A region with min M and a backing file, a limit far below: pages_private
 * never drops below M, also while a reader keeps paging pages back in.
 */
TEST_F_TIMEOUT(reclaim, min_never_violated, 600)
{
	const unsigned long pages = 2048, min = 1536;
	struct rc_reader rd = { 0 };
	struct pshare_region_stats st;
	long long p, lowest = LLONG_MAX;
	int fd = self->r[0].fd;
	unsigned char *map;
	double end;

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MIN, 0, min, 0));

	RC_KNOB("limit_pages", 64);
	/* Paging starts within a reclaim round or two; watch it closely. */
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, fd, pages_paged) > 0));
	end = ps_now() + 5;
	while (ps_now() < end) {
		p = RC_FIELD(self->dev, fd, pages_private);
		if (p < lowest)
			lowest = p;
		usleep(1000);
	}
	RC_STATS(&st);
	EXPECT_EQ(min, st.target_pages);
	EXPECT_EQ(min, st.pages_private);
	EXPECT_EQ(pages - min, st.pages_paged);

	/* Now with a reader bringing pages back in under the reclaimer. */
	map = mmap(NULL, pages * PS_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	rd.map = map;
	rd.pages = pages;
	ASSERT_EQ(0, pthread_create(&rd.tid, NULL, rc_reader_main, &rd));
	end = ps_now() + 8;
	while (ps_now() < end) {
		p = RC_FIELD(self->dev, fd, pages_private);
		if (p < lowest)
			lowest = p;
		usleep(1000);
	}
	atomic_store(&rd.stop, 1);
	pthread_join(rd.tid, NULL);
	RC_STATS(&st);
	TH_LOG("reader: %lu reads, paged_in %llu, paged_out %llu", rd.reads,
	       (unsigned long long)st.paged_in,
	       (unsigned long long)st.paged_out);
	EXPECT_LT(0, st.paged_in) TH_LOG("the reader brought nothing back");
	EXPECT_GE(lowest, (long long)min)
		TH_LOG("pages_private fell to %lld, min %lu", lowest, min);
	munmap(map, pages * PS_PAGE);
	RC_KNOB("limit_pages", 0);
	rc_check_region(_metadata, self, 0, pages);
}

/* A region over its max is paged down to it, without any limit. */
TEST_F_TIMEOUT(reclaim, over_max_trimmed, 600)
{
	const unsigned long pages = 2048, max = 512;
	struct pshare_region_stats st;
	int fd = self->r[0].fd;

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	RC_STATS(&st);
	EXPECT_EQ(pages, st.target_pages);

	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0, max));
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, fd, pages_private) <=
				       (long long)max));
	RC_STATS(&st);
	EXPECT_EQ(max, st.pages_private);
	EXPECT_EQ(max, st.target_pages);
	EXPECT_EQ(pages - max, st.pages_paged);
	EXPECT_EQ(0, ps_sysfs("limit_pages"));

	/* A bigger max: nothing is paged out any more, reads bring it back. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0,
			       PSHARE_POLICY_DEFAULT));
	rc_check_region(_metadata, self, 0, pages);
	RC_STATS(&st);
	EXPECT_EQ(pages, st.pages_private);
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd, target_pages) ==
			    (long long)pages));
}

/*
 * Without a backing file nothing can be paged: a region over its max, or
 * over the limit, only gets a lower target (its balloon target).
 */
TEST_F_TIMEOUT(reclaim, targets_without_backing, 600)
{
	const unsigned long pages = 1024;
	struct pshare_region_stats s0, s1;
	int fd0 = self->r[0].fd, fd1 = self->r[1].fd;

	rc_fill_region(_metadata, self, 0, pages);
	rc_fill_region(_metadata, self, 1, pages);

	/* Over max: the target is the max, the pages stay. */
	ASSERT_EQ(0, rc_policy(self->dev, fd0, PSHARE_POLICY_MAX, 0, 0, 300));
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) == 300));
	PS_STATS(self->dev, fd0, &s0);
	EXPECT_EQ(pages, s0.pages_private);
	EXPECT_EQ(0, s0.pages_paged);
	ASSERT_EQ(0, rc_policy(self->dev, fd0, PSHARE_POLICY_MAX, 0, 0,
			       PSHARE_POLICY_DEFAULT));
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) ==
			    (long long)pages));

	/*
	 * Equal shares, no idle tax, limit at half: each should get about
	 * half. Region 0 with a min of 700 keeps that much; region 1 gives
	 * the rest.
	 */
	RC_KNOB("idle_tax_percent", 0);
	RC_KNOB("limit_pages", pages);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) < (long long)pages &&
			    RC_FIELD(self->dev, fd1, target_pages) < (long long)pages));
	PS_STATS(self->dev, fd0, &s0);
	PS_STATS(self->dev, fd1, &s1);
	TH_LOG("limit %lu: targets %llu and %llu", pages,
	       (unsigned long long)s0.target_pages,
	       (unsigned long long)s1.target_pages);
	EXPECT_EQ(pages, s0.target_pages + s1.target_pages);
	EXPECT_GE(s0.target_pages, pages / 2 - 8);
	EXPECT_LE(s0.target_pages, pages / 2 + 8);
	EXPECT_EQ(pages, s0.pages_private);
	EXPECT_EQ(pages, s1.pages_private);

	ASSERT_EQ(0, rc_policy(self->dev, fd0, PSHARE_POLICY_MIN, 0, 700, 0));
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) == 700));
	PS_STATS(self->dev, fd1, &s1);
	EXPECT_EQ(pages - 700, s1.target_pages);

	/* Pressure gone: targets back to the max. */
	RC_KNOB("limit_pages", 0);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, target_pages) == (long long)pages &&
			    RC_FIELD(self->dev, fd1, target_pages) == (long long)pages));
}

TEST_HARNESS_MAIN
