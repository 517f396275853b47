// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim selftests, backing files: PSHARE_IOC_REGION_SET_BACKING's
 * descriptor checks, when a backing file may change and how pages are laid
 * out in it, and pages lost when a backing file is cut short (EIO).
 */
#include "pshare_reclaim.h"

/* ---------------------------------------------------------------------- */
/* Backing files                                                          */

TEST_F(reclaim, backing_bad_fds)
{
	struct pshare_region_backing b;
	int fd = self->r[0].fd, bfd, pipefd[2], tmp;
	char path[] = "/tmp/pshare-backing-ro.XXXXXX";

	ASSERT_EQ(0, ftruncate(fd, 64 * PS_PAGE));

	tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EISDIR, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);

	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, pipefd[0])));
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, pipefd[1])));
	close(pipefd[0]);
	close(pipefd[1]);

	tmp = open("/dev/null", O_RDWR);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);

	/* A regular file, but open only for reading, or only for writing. */
	tmp = mkstemp(path);
	ASSERT_LE(0, tmp);
	close(tmp);
	tmp = open(path, O_RDONLY);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);
	tmp = open(path, O_WRONLY);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);
	tmp = open(path, O_RDWR | O_APPEND);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, tmp)));
	close(tmp);
	unlink(path);

	/* A pshare file (even another region) cannot back a region. */
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, self->r[1].fd)));
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_backing(self->dev, fd, fd)));

	/* Not open. */
	bfd = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, bfd);
	close(bfd);
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, fd, bfd)));
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, fd, -2)));

	/* Bad argument structs. */
	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	b.fd = fd;
	b.backing_fd = -1;
	b.flags = 1;
	EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING,
					 &b)));
	b.flags = 0;
	b.argsz = offsetof(struct pshare_region_backing, backing_fd);
	EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING,
					 &b)));

	/* A good one, replaced and removed while nothing is out. */
	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	EXPECT_EQ(0, rc_backing(self->dev, fd, self->backing[0]))
		TH_LOG("%s", strerror(errno));
	bfd = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, bfd);
	EXPECT_EQ(0, rc_backing(self->dev, fd, bfd)) TH_LOG("%s", strerror(errno));
	/* One file backs one region: a second region is refused, also by another fd. */
	ASSERT_EQ(0, ftruncate(self->r[1].fd, 64 * PS_PAGE));
	EXPECT_EQ(EBUSY, RC_ERRNO(rc_backing(self->dev, self->r[1].fd, bfd)));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", bfd);
	tmp = open(path, O_RDWR);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EBUSY, RC_ERRNO(rc_backing(self->dev, self->r[1].fd, tmp)));
	close(tmp);
	/* The module keeps its own reference. */
	close(bfd);
	EXPECT_EQ(0, rc_backing(self->dev, fd, -1)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, rc_backing(self->dev, fd, -1)) TH_LOG("%s", strerror(errno));
}

/*
 * Page out with a limit, then: the backing file cannot be replaced or
 * removed while pages are out (EBUSY); the data comes back intact; page n
 * sits at offset n * 4096 of the backing file; once everything is read back
 * the backing file can go.
 */
TEST_F_TIMEOUT(reclaim, backing_busy_and_layout, 600)
{
	const unsigned long pages = 2048;
	struct pshare_region_stats st;
	unsigned char got[PS_PAGE], want[PS_PAGE];
	unsigned long pg, in_file = 0, bad = 0;
	int fd = self->r[0].fd, other;

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	RC_STATS(&st);
	EXPECT_EQ(pages, st.pages_private);
	EXPECT_EQ(0, st.pages_paged);

	RC_KNOB("limit_pages", pages / 4);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, fd, pages_private) <=
				       (long long)pages / 4))
		TH_LOG("pages_private %lld, limit %lu",
		       RC_FIELD(self->dev, fd, pages_private), pages / 4);
	RC_STATS(&st);
	ASSERT_LT(0, st.pages_paged) TH_LOG("nothing was paged out");
	EXPECT_EQ(pages, st.pages_private + st.pages_paged);
	EXPECT_EQ(st.paged_out, st.pages_paged + st.paged_in);
	EXPECT_LE(st.target_pages, pages / 4);
	EXPECT_LE(st.pages_paged, ps_sysfs("pages_paged"));
	EXPECT_LE(st.paged_out, ps_sysfs("paged_out"));

	other = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, other);
	EXPECT_EQ(EBUSY, RC_ERRNO(rc_backing(self->dev, fd, other)));
	EXPECT_EQ(EBUSY, RC_ERRNO(rc_backing(self->dev, fd, -1)));
	close(other);

	/* Page n at offset n * 4096: what was paged out is there. */
	for (pg = 0; pg < pages; pg++) {
		ssize_t n = pread(self->backing[0], got, PS_PAGE, pg * PS_PAGE);

		ASSERT_LE(0, n);
		rc_fill(want, 1000003UL + pg);
		if (n == PS_PAGE && !memcmp(got, want, PS_PAGE))
			in_file++;
		else if (n > 0 && ps_nonzero(got, n) >= 0 && bad++ < 5)
			TH_LOG("backing file offset %lu holds something else",
			       pg * PS_PAGE);
	}
	EXPECT_EQ(0, bad);
	EXPECT_LE(st.pages_paged, in_file);

	/* No limit: reading everything back brings every page in. */
	RC_KNOB("limit_pages", 0);
	rc_check_region(_metadata, self, 0, pages);
	RC_STATS(&st);
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_EQ(pages, st.pages_private);
	EXPECT_EQ(st.paged_out, st.paged_in);
	EXPECT_LT(0, st.paged_in);
	EXPECT_EQ(0, rc_backing(self->dev, fd, -1)) TH_LOG("%s", strerror(errno));
	rc_check_region(_metadata, self, 0, pages);
}

/*
 * A backing file cut short behind pshare's back (here truncated to
 * nothing): the pages that were out in it are lost, and reading one must
 * say so with EIO (SIGBUS through a mapping), never hand back zeros.
 */
TEST_F_TIMEOUT(reclaim, backing_cut_short, 600)
{
	const unsigned long pages = 256;
	unsigned char got[PS_PAGE], want[PS_PAGE];
	unsigned long pg, eio = 0, intact = 0, bad = 0;
	int fd = self->r[0].fd;
	long long paged;

	self->backing[0] = rc_tmpfile(_metadata, 0);
	ASSERT_LE(0, self->backing[0]);
	ASSERT_EQ(0, rc_backing(self->dev, fd, self->backing[0]));
	rc_fill_region(_metadata, self, 0, pages);
	RC_KNOB("limit_pages", pages / 4);
	EXPECT_TRUE(RC_WAIT(RC_WAIT_S, RC_FIELD(self->dev, fd, pages_paged) >=
				       (long long)pages / 2));
	/*
	 * Hold what is out there: no more page-outs, no read-back yet. A
	 * round of our own waits for the reclaimer's (one mutex): a page-out
	 * still under way after the cut would write the file long again, and
	 * the pages before it would read back as zeros (a hole), not short.
	 */
	RC_KNOB("limit_pages", 0);
	if (!access(RC_RECLAIM_NOW, W_OK)) {
		ASSERT_EQ(0, ps_write_file(RC_RECLAIM_NOW, "1"));
	} else {
		sleep(5);
	}
	paged = RC_FIELD(self->dev, fd, pages_paged);
	ASSERT_LT(0, paged) TH_LOG("nothing was paged out");
	ASSERT_EQ(0, ftruncate(self->backing[0], 0));

	for (pg = 0; pg < pages; pg++) {
		ssize_t n = pread(fd, got, PS_PAGE, pg * PS_PAGE);

		rc_fill(want, 1000003UL + pg);
		if (n < 0 && errno == EIO)
			eio++;
		else if (n == PS_PAGE && !memcmp(got, want, PS_PAGE))
			intact++;
		else if (bad++ < 5)
			TH_LOG("page %lu: read %zd (%s)%s", pg, n, n < 0 ? strerror(errno) : "-",
			       n == PS_PAGE && ps_nonzero(got, PS_PAGE) < 0 ? ", all zeros" : "");
	}
	EXPECT_EQ(0, bad) TH_LOG("%lu pages neither intact nor EIO", bad);
	EXPECT_EQ((unsigned long)paged, eio);
	EXPECT_EQ(pages - paged, intact);
}

TEST_HARNESS_MAIN
