// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim selftests, paging: when pshare must not page (routine reclaim of
 * the page cache, mlocked pages), page-ins that cross a backing switch or
 * wait on a slow disk without holding the mmap lock, and page-ins racing
 * page-outs of the same pages.
 */
#include "pshare_reclaim.h"

#include <pthread.h>

/* ---------------------------------------------------------------------- */
/* When not to page                                                       */

/*
 * Routine reclaim is not a shortage: a file streamed through the page
 * cache, larger than RAM, keeps kswapd busy while most memory stays
 * available (clean page cache). pshare must neither page out nor lower
 * any balloon target for that; its shrinker offers nothing until the host
 * leaves the high state.
 */
TEST_F_TIMEOUT(reclaim, page_cache_stream_no_paging, 900)
{
	const unsigned long pages = 16384;
	const size_t chunk = 1 << 20;
	struct ps_scratch_fs *fs = &rc_disk;
	struct pshare_region_stats st;
	long long kswapd0, kswapd1, out0;
	__u64 lowest = ~0ULL;
	unsigned long long total;
	char path[128];
	const char *why;
	off_t off, len;
	char *buf;
	ssize_t n;
	int fd;

	total = (unsigned long long)sysconf(_SC_PHYS_PAGES) * PS_PAGE;
	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, self->r[0].fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	why = ps_scratch_fs_make(fs, 16);
	if (why)
		PS_SKIP("%s", why);

	/* A sparse file: reading it fills the page cache without any I/O. */
	snprintf(path, sizeof(path), "%s/stream", fs->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	len = (off_t)(total + total / 2);
	ASSERT_EQ(0, ftruncate(fd, len));

	out0 = ps_sysfs("paged_out");
	kswapd0 = ps_file_number("/proc/vmstat", "pgscan_kswapd");
	/*
	 * read(), not readahead(): readahead(2) reads at most the device's
	 * readahead window (128 KiB) a call, whatever length it is asked.
	 */
	buf = malloc(chunk);
	ASSERT_NE(NULL, buf);
	for (off = 0; off < len; off += n) {
		n = read(fd, buf, chunk);
		ASSERT_LT(0, n) TH_LOG("read at %lld: %s", (long long)off, strerror(errno));
		/* A lowered target is what a balloon agent would inflate to. */
		if (!(off & ((8 << 20) - 1))) {
			RC_STATS(&st);
			if (st.target_pages < lowest)
				lowest = st.target_pages;
		}
	}
	free(buf);
	/* A round or two of the reclaim worker after the stream. */
	sleep(3);
	kswapd1 = ps_file_number("/proc/vmstat", "pgscan_kswapd");
	close(fd);
	ps_scratch_fs_remove(fs);

	RC_STATS(&st);
	TH_LOG("streamed %lld MiB through the page cache: kswapd scanned %lld pages, "
	       "pshare paged out %lld, lowest target %llu of %llu pages",
	       (long long)(len >> 20), kswapd1 - kswapd0,
	       ps_sysfs("paged_out") - out0, (unsigned long long)lowest,
	       (unsigned long long)st.max_pages);
	if (kswapd1 <= kswapd0)
		PS_SKIP("the stream never woke kswapd (nothing to check)");
	EXPECT_EQ(st.max_pages, lowest) TH_LOG("the stream lowered the region's target");
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_EQ(out0, ps_sysfs("paged_out"));
	EXPECT_EQ(pages, st.pages_private);
	rc_check_region(_metadata, self, 0, pages);
}

/*
 * mlock() (QEMU's mem-lock=on) keeps a region's pages resident: under a
 * limit that pages out an unlocked region beside it, the locked one keeps
 * every page until it is unlocked.
 */
TEST_F_TIMEOUT(reclaim, mlocked_never_paged, 600)
{
	const unsigned long pages = 1024;
	long long locked_paged, other_paged;
	unsigned char *m;
	int i;

	for (i = 0; i < 2; i++) {
		self->backing[i] = rc_tmpfile(_metadata, 0);
		ASSERT_LE(0, self->backing[i]);
		ASSERT_EQ(0, rc_backing(self->dev, self->r[i].fd, self->backing[i]));
		rc_fill_region(_metadata, self, i, pages);
	}
	m = mmap(NULL, pages * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->r[0].fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, mlock(m, pages * PS_PAGE)) TH_LOG("mlock: %s", strerror(errno));

	RC_KNOB("limit_pages", pages / 2);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, self->r[1].fd, pages_paged) >=
				       (long long)pages / 2))
		TH_LOG("the unlocked region was not paged out: no pressure to test with");
	sleep(2);	/* more rounds, with the locked region still over its target */
	locked_paged = RC_FIELD(self->dev, self->r[0].fd, pages_paged);
	other_paged = RC_FIELD(self->dev, self->r[1].fd, pages_paged);
	TH_LOG("under limit_pages=%lu: locked region %lld pages out, unlocked %lld",
	       pages / 2, locked_paged, other_paged);
	EXPECT_EQ(0, locked_paged);

	/* Unlocked, it is a candidate like any other. */
	ASSERT_EQ(0, munlock(m, pages * PS_PAGE));
	RC_KNOB("limit_pages", pages / 4);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, self->r[0].fd, pages_paged) > 0))
		TH_LOG("the region was not paged out once unlocked");
	RC_KNOB("limit_pages", 0);
	munmap(m, pages * PS_PAGE);
	rc_check_region(_metadata, self, 0, pages);
	rc_check_region(_metadata, self, 1, pages);
}


/* Page the one-page region @fd out now: max 0, one reclaim round, max back. */
static void rc_page_out_now(struct __test_metadata *_metadata,
			    FIXTURE_DATA(reclaim) *self, int fd)
{
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0, 0));
	ASSERT_EQ(0, ps_write_file(RC_RECLAIM_NOW, "1"));
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0, PSHARE_POLICY_DEFAULT));
	ASSERT_EQ(1, RC_FIELD(self->dev, fd, pages_paged));
}

struct rc_slow_reader {
	pthread_t tid;
	int fd;
	unsigned char buf[PS_PAGE];
	ssize_t n;
};

static void *rc_slow_reader_main(void *arg)
{
	struct rc_slow_reader *t = arg;

	t->n = pread(t->fd, t->buf, PS_PAGE, 0);
	return NULL;
}

/*
 * A page-in that started before the backing file was switched must not
 * read the page from the old file once the page is out in the new one. A
 * one-shot delay (debugfs pagein_delay_ms) holds the slow reader inside its
 * page-in while the page is read back, rewritten, the backing file
 * switched and the page written out to the new file.
 */
TEST_F_TIMEOUT(reclaim, page_in_across_backing_switch, 120)
{
	unsigned char v2[PS_PAGE], got[PS_PAGE];
	struct rc_slow_reader t;
	int fd = self->r[0].fd, b;

	if (access(RC_PAGEIN_DELAY, W_OK) || access(RC_RECLAIM_NOW, W_OK))
		PS_SKIP("no " RC_PAGEIN_DELAY " (debugfs not mounted, or an older module)");
	self->backing[0] = rc_tmpfile(_metadata, 0);	/* file A */
	b = rc_tmpfile(_metadata, 0);			/* file B */
	ASSERT_LE(0, self->backing[0]);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, 1);		/* v1 */
	rc_page_out_now(_metadata, self, fd);		/* v1 in A */

	ASSERT_EQ(0, ps_write_file(RC_PAGEIN_DELAY, "1500"));
	memset(&t, 0, sizeof(t));
	t.fd = fd;
	ASSERT_EQ(0, pthread_create(&t.tid, NULL, rc_slow_reader_main, &t));
	/* The reader took the delay once it reads 0 again. */
	ASSERT_TRUE(RC_WAIT(10, ps_read_number(RC_PAGEIN_DELAY) == 0));

	rc_fill(v2, 77);
	ASSERT_EQ((ssize_t)PS_PAGE, pwrite(fd, v2, PS_PAGE, 0));	/* in, then v2 */
	ASSERT_EQ(0, RC_FIELD(self->dev, fd, pages_paged));
	ASSERT_EQ(0, rc_backing(self->dev, fd, b)) TH_LOG("switch to B: %s", strerror(errno));
	rc_page_out_now(_metadata, self, fd);		/* v2 in B */

	pthread_join(t.tid, NULL);
	ASSERT_EQ((ssize_t)PS_PAGE, t.n) TH_LOG("the slow read: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(t.buf, v2, PS_PAGE))
		TH_LOG("the slow page-in returned the page from the old backing file");
	ASSERT_EQ((ssize_t)PS_PAGE, pread(fd, got, PS_PAGE, 0));
	EXPECT_EQ(0, memcmp(got, v2, PS_PAGE)) TH_LOG("the region holds the old content");
	close(b);
}

/* Touches one page, then says it is done. */
struct rc_slow_toucher {
	pthread_t tid;
	const unsigned char *p;
	unsigned char got;
	atomic_int done;
};

static void *rc_slow_toucher_main(void *arg)
{
	struct rc_slow_toucher *t = arg;

	t->got = ps_touch(t->p);
	atomic_store(&t->done, 1);
	return NULL;
}

/*
 * A fault that pages in waits for the backing file with neither mmap_lock
 * nor the region's invalidate_lock held, as filemap_fault() waits for a
 * read: while a toucher is held up in its page-in (debugfs
 * pagein_delay_ms, a slow disk), its process can still map and unmap
 * memory, and the page being read in can be punched out, after which the
 * toucher sees the hole.
 */
TEST_F_TIMEOUT(reclaim, page_in_leaves_mmap_lock, 120)
{
	struct rc_slow_toucher t;
	int fd = self->r[0].fd;
	unsigned char *map;
	long long in0;
	void *anon;

	if (access(RC_PAGEIN_DELAY, W_OK) || access(RC_RECLAIM_NOW, W_OK))
		PS_SKIP("no " RC_PAGEIN_DELAY " (debugfs not mounted, or an older module)");
	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, 1);
	rc_page_out_now(_metadata, self, fd);
	map = mmap(NULL, PS_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);

	/* Long enough that nothing below can outlast it by chance. */
	ASSERT_EQ(0, ps_write_file(RC_PAGEIN_DELAY, "8000"));
	memset(&t, 0, sizeof(t));
	t.p = map;
	ASSERT_EQ(0, pthread_create(&t.tid, NULL, rc_slow_toucher_main, &t));
	ASSERT_TRUE(RC_WAIT(10, ps_read_number(RC_PAGEIN_DELAY) == 0));

	/*
	 * mmap() and munmap() take mmap_lock for writing: had the page-in
	 * held it, they would return only once the page was in.
	 */
	in0 = RC_FIELD(self->dev, fd, paged_in);
	anon = mmap(NULL, PS_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	ASSERT_EQ(0, munmap(anon, PS_PAGE));
	EXPECT_EQ(1, RC_FIELD(self->dev, fd, pages_paged))
		TH_LOG("mmap waited for the page-in: mmap_lock held across the read");
	/* A punch takes invalidate_lock exclusive: the same. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PS_PAGE));
	EXPECT_EQ(in0, RC_FIELD(self->dev, fd, paged_in))
		TH_LOG("the punch waited for the page-in: invalidate_lock held across the read");
	EXPECT_EQ(0, atomic_load(&t.done));
	pthread_join(t.tid, NULL);
	/* The page-in found its entry punched, and the fault the hole. */
	EXPECT_EQ(0, t.got) TH_LOG("the toucher read the punched page's old content");
	EXPECT_EQ(in0, RC_FIELD(self->dev, fd, paged_in));
	EXPECT_EQ(0, RC_FIELD(self->dev, fd, pages_paged));
	munmap(map, PS_PAGE);
}


/* ---------------------------------------------------------------------- */
/* Page-in racing page-out                                                */

#define PR_PAGES	32UL
#define PR_READERS	2

struct pr_shared {
	int fd;
	atomic_int stop;
	atomic_ulong reads;
	atomic_ulong rounds;
	atomic_int pager_err;
};

/* Page the region out, round after round, beside the writer. */
static void *pr_pager_main(void *arg)
{
	struct pr_shared *s = arg;

	while (!atomic_load(&s->stop)) {
		if (ps_write_file(RC_RECLAIM_NOW, "1")) {
			atomic_store(&s->pager_err, errno);
			break;
		}
		atomic_fetch_add(&s->rounds, 1);
	}
	return NULL;
}

/* Read pages of the region, so page-ins run in several tasks at once. */
static void *pr_reader_main(void *arg)
{
	struct pr_shared *s = arg;
	unsigned char buf[PS_PAGE];
	unsigned long pg = 0;

	while (!atomic_load(&s->stop)) {
		if (pread(s->fd, buf, PS_PAGE, (pg++ % PR_PAGES) * PS_PAGE) ==
		    (ssize_t)PS_PAGE)
			atomic_fetch_add(&s->reads, 1);
	}
	return NULL;
}

/*
 * Two readers page a small region in over and over, this task gives each
 * page a new generation of content (its write pages the page in first) or
 * every third time punches it, and a pager thread pages everything out as
 * fast as it can. A page-in that read the backing file, then lost the CPU
 * while the page came in by another task, was rewritten and paged out
 * again, must not install the old copy it read; a punch racing a page-out
 * must not leave the page paged out. Before each write the writer checks
 * that the page holds what it last wrote (zeros after a punch).
 */
TEST_F_TIMEOUT(reclaim, page_in_races_page_out, 600)
{
	struct pr_shared s = { .fd = self->r[0].fd };
	unsigned char want[PS_PAGE], got[PS_PAGE];
	unsigned long gen[PR_PAGES] = { 0 }, writes = 0, punches = 0, pg;
	bool punched[PR_PAGES] = { false };
	pthread_t readers[PR_READERS], pager;
	struct pshare_region_stats st;
	int sec = rc_reclaim_seconds(), i;
	char stale[160] = "";
	double end;

	if (access(RC_RECLAIM_NOW, W_OK))
		PS_SKIP("no " RC_RECLAIM_NOW " (debugfs not mounted, or an older module)");
	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, s.fd, self->backing[0]));
	ASSERT_EQ(0, ftruncate(s.fd, PR_PAGES * PS_PAGE));
	for (pg = 0; pg < PR_PAGES; pg++) {
		rc_fill(want, pg << 32);
		ASSERT_EQ((ssize_t)PS_PAGE, pwrite(s.fd, want, PS_PAGE, pg * PS_PAGE));
	}
	RC_KNOB("limit_pages", 1);
	for (i = 0; i < PR_READERS; i++)
		ASSERT_EQ(0, pthread_create(&readers[i], NULL, pr_reader_main, &s));
	ASSERT_EQ(0, pthread_create(&pager, NULL, pr_pager_main, &s));

	end = ps_now() + sec;
	for (pg = 0; ps_now() < end && !stale[0]; pg = (pg + 1) % PR_PAGES) {
		ASSERT_EQ((ssize_t)PS_PAGE, pread(s.fd, got, PS_PAGE, pg * PS_PAGE));
		if (punched[pg])
			memset(want, 0, PS_PAGE);
		else
			rc_fill(want, pg << 32 | gen[pg]);
		if (memcmp(got, want, PS_PAGE)) {
			for (i = 0; i <= (int)gen[pg]; i++) {
				rc_fill(want, pg << 32 | i);
				if (!memcmp(got, want, PS_PAGE))
					break;
			}
			snprintf(stale, sizeof(stale),
				 "page %lu holds generation %d, not %lu%s (-1: none)",
				 pg, i <= (int)gen[pg] ? i : -1, gen[pg],
				 punched[pg] ? " punched" : "");
			break;
		}
		punched[pg] = !punched[pg] && gen[pg] % 3 == 2;
		if (punched[pg]) {
			ASSERT_EQ(0, fallocate(s.fd, FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE,
					       pg * PS_PAGE, PS_PAGE));
			punches++;
			continue;
		}
		rc_fill(want, pg << 32 | ++gen[pg]);
		ASSERT_EQ((ssize_t)PS_PAGE, pwrite(s.fd, want, PS_PAGE, pg * PS_PAGE));
		writes++;
	}
	atomic_store(&s.stop, 1);
	pthread_join(pager, NULL);
	for (i = 0; i < PR_READERS; i++)
		pthread_join(readers[i], NULL);
	RC_KNOB("limit_pages", 0);
	PS_STATS(self->dev, s.fd, &st);
	TH_LOG("%lu writes, %lu punches, %lu reclaim rounds, %lu reads by the readers; paged out %llu, in %llu",
	       writes, punches, (unsigned long)atomic_load(&s.rounds),
	       (unsigned long)atomic_load(&s.reads),
	       (unsigned long long)st.paged_out, (unsigned long long)st.paged_in);
	EXPECT_EQ(0, atomic_load(&s.pager_err))
		TH_LOG("reclaim_now: %s", strerror(atomic_load(&s.pager_err)));
	EXPECT_EQ(0, stale[0]) TH_LOG("stale page: %s", stale);
	EXPECT_LT(0, st.paged_out);
	EXPECT_LT(0, st.paged_in);
}

TEST_HARNESS_MAIN
