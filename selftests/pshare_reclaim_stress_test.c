// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim selftests, paging stress: four threads write and verify a region
 * paged against a limit far below its size, with the sampler running, for
 * PSHARE_RECLAIM_SECONDS (default 15).
 */
#include "pshare_reclaim.h"

#include <pthread.h>

/* ---------------------------------------------------------------------- */
/* Paging integrity stress                                                */

#define ST_PAGES	16384UL		/* 64 MiB */
#define ST_LIMIT	3072UL		/* 12 MiB */
#define ST_THREADS	4

struct st_shared {
	int fd;
	unsigned char *map;
	unsigned char *shadow;
	struct ps_run_state run;
};

struct st_worker {
	pthread_t tid;
	int id;
	struct st_shared *s;
	uint64_t rnd;
	unsigned long ops[5];
	struct ps_failure fail;
};

static bool st_verify(struct st_worker *w, unsigned long pg, bool by_pread,
		      const char *when)
{
	struct st_shared *s = w->s;
	const unsigned char *want = s->shadow + pg * PS_PAGE;
	unsigned char buf[PS_PAGE];
	const unsigned char *got = s->map + pg * PS_PAGE;
	size_t d;

	if (by_pread) {
		ssize_t n = pread(s->fd, buf, PS_PAGE, pg * PS_PAGE);

		if (n != PS_PAGE) {
			ps_fail(&w->fail, "%s: pread page %lu: %zd (%s)", when, pg, n,
				strerror(errno));
			return false;
		}
		got = buf;
	}
	if (!memcmp(got, want, PS_PAGE))
		return true;
	for (d = 0; d < PS_PAGE && got[d] == want[d]; d++)
		;
	ps_fail(&w->fail, "%s: page %lu by %s: byte %zu is %#x, expected %#x", when,
		pg, by_pread ? "pread" : "the mapping", d,
		d < PS_PAGE ? got[d] : 0, d < PS_PAGE ? want[d] : 0);
	return false;
}

/* Worker @id owns the pages pg with pg % ST_THREADS == id. */
static void *st_worker_main(void *arg)
{
	struct st_worker *w = arg;
	struct st_shared *s = w->s;
	unsigned char buf[PS_PAGE];

	while (!atomic_load(&s->run.stop)) {
		uint64_t r = ps_rnd(&w->rnd);
		unsigned long pg = (r >> 8) % (ST_PAGES / ST_THREADS) *
				   ST_THREADS + w->id;
		unsigned char *shadow = s->shadow + pg * PS_PAGE;
		unsigned int op = r % 10;

		if (op < 2) {
			/* A new page through the mapping (fault or page-in). */
			rc_fill(shadow, ps_rnd(&w->rnd));
			memcpy(s->map + pg * PS_PAGE, shadow, PS_PAGE);
			w->ops[0]++;
		} else if (op < 4) {
			rc_fill(buf, ps_rnd(&w->rnd));
			if (pwrite(s->fd, buf, PS_PAGE, pg * PS_PAGE) != PS_PAGE) {
				ps_fail(&w->fail, "pwrite page %lu: %s", pg,
					strerror(errno));
				break;
			}
			memcpy(shadow, buf, PS_PAGE);
			w->ops[1]++;
		} else if (op < 5) {
			/* A few bytes of a page that may be out. */
			size_t off = ps_rnd(&w->rnd) % (PS_PAGE - 8);

			shadow[off] ^= 0x5a;
			shadow[off + 7] += 3;
			s->map[pg * PS_PAGE + off] = shadow[off];
			s->map[pg * PS_PAGE + off + 7] = shadow[off + 7];
			w->ops[2]++;
		} else if (op < 8) {
			if (!st_verify(w, pg, false, "while running"))
				break;
			w->ops[3]++;
		} else {
			if (!st_verify(w, pg, true, "while running"))
				break;
			w->ops[4]++;
		}
	}
	return NULL;
}

/*
 * A 64 MiB region paged against a 12 MiB limit while four threads write
 * random data (through the mapping, with pwrite, a few bytes at a time) and
 * verify it against shadow copies (through the mapping and with pread).
 * The sampler runs every second meanwhile, so sampled unmaps, page-outs and
 * page-ins all race with the writers. No page may ever differ from its
 * shadow, and pages must have gone out and come back in. Every page has
 * content, so the stats ioctl, one snapshot of the page counts, must find
 * each of them private or paged, never one in both or in neither.
 */
TEST_F_TIMEOUT(reclaim, paging_stress, RC_RECLAIM_SECONDS_MAX + 900)
{
	struct st_worker w[ST_THREADS];
	struct st_shared s = { .fd = self->r[0].fd };
	struct pshare_region_stats st;
	int sec = rc_reclaim_seconds(), i, tries;
	unsigned long pg, op_total[5] = { 0 }, snapshots = 0, torn = 0;
	char first_torn[128] = "";
	long long max_paged = 0;
	uint64_t seed;
	double end;

	seed = (uint64_t)time(NULL) * 2654435761u ^ getpid();
	TH_LOG("%d s, %d threads, %lu pages, limit %lu, seed %#llx", sec,
	       ST_THREADS, ST_PAGES, ST_LIMIT, (unsigned long long)seed);

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, s.fd, self->backing[0]));
	ASSERT_EQ(0, ftruncate(s.fd, ST_PAGES * PS_PAGE));
	s.map = mmap(NULL, ST_PAGES * PS_PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED, s.fd, 0);
	ASSERT_NE(MAP_FAILED, s.map);
	s.shadow = malloc(ST_PAGES * PS_PAGE);
	ASSERT_NE(NULL, s.shadow);
	/* Every page gets content first, so the whole region is in play. */
	for (pg = 0; pg < ST_PAGES; pg++) {
		rc_fill(s.shadow + pg * PS_PAGE, seed + pg);
		memcpy(s.map + pg * PS_PAGE, s.shadow + pg * PS_PAGE, PS_PAGE);
	}
	RC_KNOB("sample_period_secs", 1);
	RC_KNOB("sample_pages", 1024);
	RC_KNOB("limit_pages", ST_LIMIT);

	memset(w, 0, sizeof(w));
	for (i = 0; i < ST_THREADS; i++) {
		w[i].id = i;
		w[i].s = &s;
		w[i].fail.run = &s.run;
		w[i].rnd = seed + 0x9e3779b97f4a7c15ULL * (i + 1);
		ASSERT_EQ(0, pthread_create(&w[i].tid, NULL, st_worker_main,
					    &w[i]));
	}
	end = ps_now() + sec;
	while (ps_now() < end && !atomic_load(&s.run.failed)) {
		PS_STATS(self->dev, s.fd, &st);
		snapshots++;
		if (ps_pages_counted(&st) != ST_PAGES && !torn++)
			snprintf(first_torn, sizeof(first_torn),
				 "private %llu + paged %llu + zero %llu + shared %llu",
				 (unsigned long long)st.pages_private,
				 (unsigned long long)st.pages_paged,
				 (unsigned long long)st.pages_zero,
				 (unsigned long long)st.pages_shared);
		if ((long long)st.pages_paged > max_paged)
			max_paged = st.pages_paged;
		usleep(2 * 1000);
	}
	/* What paged while the writers ran: the part that races. */
	PS_STATS(self->dev, s.fd, &st);
	atomic_store(&s.run.stop, 1);
	for (i = 0; i < ST_THREADS; i++) {
		pthread_join(w[i].tid, NULL);
		EXPECT_EQ(0, w[i].fail.why[0]) TH_LOG("worker %d: %s", i, w[i].fail.why);
	}
	TH_LOG("while running: paged_out %llu, paged_in %llu, pages_paged at most %lld",
	       (unsigned long long)st.paged_out,
	       (unsigned long long)st.paged_in, max_paged);
	TH_LOG("%lu snapshots of the page counts, %lu not adding up to %lu",
	       snapshots, torn, ST_PAGES);
	EXPECT_EQ(0, torn) TH_LOG("first: %s", first_torn);
	EXPECT_LT(0, st.paged_out) TH_LOG("nothing was paged out while the writers ran: the test did not exercise paging");
	EXPECT_LT(0, st.paged_in) TH_LOG("nothing was paged in while the writers ran: the test did not exercise paging");

	/* Everything, still under the limit: pages come in and go out. */
	for (i = 0; i < ST_THREADS && !atomic_load(&s.run.failed); i++)
		for (pg = i; pg < ST_PAGES; pg += ST_THREADS)
			if (!st_verify(&w[i], pg, pg & 1, "at the end") ||
			    !st_verify(&w[i], pg, !(pg & 1), "at the end"))
				break;
	for (i = 0; i < ST_THREADS; i++)
		EXPECT_EQ(0, w[i].fail.why[0]) TH_LOG("worker %d: %s", i, w[i].fail.why);

	for (i = 0; i < ST_THREADS; i++) {
		unsigned int k;

		for (k = 0; k < 5; k++)
			op_total[k] += w[i].ops[k];
	}
	TH_LOG("ops: store %lu, pwrite %lu, poke %lu, verify-map %lu, verify-pread %lu",
	       op_total[0], op_total[1], op_total[2], op_total[3], op_total[4]);

	/*
	 * Without the limit, everything comes back intact. A reclaim round
	 * that read the old limit may still be paging out: read everything
	 * again until nothing is out.
	 */
	RC_KNOB("limit_pages", 0);
	for (tries = 0; tries < 20 && !atomic_load(&s.run.failed); tries++) {
		for (i = 0; i < ST_THREADS && !atomic_load(&s.run.failed); i++)
			for (pg = i; pg < ST_PAGES; pg += ST_THREADS)
				if (!st_verify(&w[i], pg, true,
					       "after the limit"))
					break;
		if (!RC_FIELD(self->dev, s.fd, pages_paged))
			break;
		sleep(1);
	}
	for (i = 0; i < ST_THREADS; i++)
		EXPECT_EQ(0, w[i].fail.why[0]) TH_LOG("worker %d: %s", i, w[i].fail.why);
	PS_STATS(self->dev, s.fd, &st);
	TH_LOG("in all: paged_out %llu, paged_in %llu, pages_paged %llu, private %llu",
	       (unsigned long long)st.paged_out, (unsigned long long)st.paged_in,
	       (unsigned long long)st.pages_paged,
	       (unsigned long long)st.pages_private);
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_EQ(st.paged_out, st.paged_in);
	EXPECT_EQ(ST_PAGES, st.pages_private);
	munmap(s.map, ST_PAGES * PS_PAGE);
	free(s.shadow);
}

TEST_HARNESS_MAIN
