// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim selftests, sampling: the active-memory estimate of an idle region
 * falls, and that of a region whose pages are touched all the time rises
 * and stays high.
 */
#include "pshare_reclaim.h"

#include <pthread.h>

/* ---------------------------------------------------------------------- */
/* Sampling                                                               */

struct rc_toucher {
	pthread_t tid;
	const unsigned char *map;
	unsigned long pages;
	atomic_int stop;
	unsigned long sweeps;
};

/* Touch every page of the mapping, over and over. */
static void *rc_toucher_main(void *arg)
{
	struct rc_toucher *t = arg;
	unsigned long pg;

	while (!atomic_load(&t->stop)) {
		for (pg = 0; pg < t->pages; pg++)
			ps_touch(t->map + pg * PS_PAGE);
		t->sweeps++;
	}
	return NULL;
}

/*
 * sample_period_secs=1: both regions start at 1000 and, left idle, their
 * estimates fall below 500. Then a thread touches all of region 1's pages
 * continuously: its estimate rises to >= 800 and stays there, while the
 * idle region 0 stays low.
 */
TEST_F_TIMEOUT(reclaim, sampling, 600)
{
	const unsigned long pages = 2048;
	struct rc_toucher t = { 0 };
	struct pshare_region_stats s0, s1;
	int fd0 = self->r[0].fd, fd1 = self->r[1].fd;
	long long low1 = LLONG_MAX, high0 = 0, v;
	unsigned char *map;
	double end;

	rc_fill_region(_metadata, self, 0, pages);
	rc_fill_region(_metadata, self, 1, pages);
	PS_STATS(self->dev, fd0, &s0);
	EXPECT_EQ(1000, s0.active_fast);
	EXPECT_EQ(1000, s0.active_slow);
	EXPECT_EQ(1000, s0.active_permille);

	RC_KNOB("sample_pages", 100);
	RC_KNOB("sample_period_secs", 1);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd0, active_permille) < 500 &&
			    RC_FIELD(self->dev, fd1, active_permille) < 500))
		TH_LOG("idle regions still at %lld and %lld",
		       RC_FIELD(self->dev, fd0, active_permille),
		       RC_FIELD(self->dev, fd1, active_permille));

	map = mmap(NULL, pages * PS_PAGE, PROT_READ, MAP_SHARED, fd1, 0);
	ASSERT_NE(MAP_FAILED, map);
	t.map = map;
	t.pages = pages;
	ASSERT_EQ(0, pthread_create(&t.tid, NULL, rc_toucher_main, &t));

	EXPECT_TRUE(RC_WAIT(RC_WAIT_S,
			    RC_FIELD(self->dev, fd1, active_fast) >= 800))
		TH_LOG("busy region at fast %lld", RC_FIELD(self->dev, fd1,
							    active_fast));
	/* A few more periods: the busy one stays high, the idle one low. */
	end = ps_now() + 4;
	while (ps_now() < end) {
		v = RC_FIELD(self->dev, fd1, active_permille);
		if (v < low1)
			low1 = v;
		v = RC_FIELD(self->dev, fd0, active_permille);
		if (v > high0)
			high0 = v;
		usleep(20 * 1000);
	}
	atomic_store(&t.stop, 1);
	pthread_join(t.tid, NULL);
	PS_STATS(self->dev, fd0, &s0);
	PS_STATS(self->dev, fd1, &s1);
	TH_LOG("idle: fast %llu slow %llu current %llu; busy: fast %llu slow %llu current %llu (%lu sweeps)",
	       (unsigned long long)s0.active_fast,
	       (unsigned long long)s0.active_slow,
	       (unsigned long long)s0.active_current,
	       (unsigned long long)s1.active_fast,
	       (unsigned long long)s1.active_slow,
	       (unsigned long long)s1.active_current, t.sweeps);
	EXPECT_GE(low1, 800);
	EXPECT_LT(high0, 500);
	/* The estimate is the largest of the three. */
	EXPECT_GE(s1.active_permille, s1.active_fast);
	EXPECT_GE(s1.active_permille, s1.active_slow);
	munmap(map, pages * PS_PAGE);
}

TEST_HARNESS_MAIN
