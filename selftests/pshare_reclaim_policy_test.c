// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim selftests, policy: the per-region shares, min and max of
 * PSHARE_IOC_REGION_SET_POLICY (defaults, read back, every EINVAL and
 * descriptor error) and the ranges of the global reclaim knobs in sysfs.
 */
#include "pshare_reclaim.h"

/* The policy limits of the uapi header's documentation. */
#define RC_SHARES_MAX		(1ULL << 30)
#define RC_PAGES_MAX		(1ULL << 28)

/* ---------------------------------------------------------------------- */
/* Policy ioctl                                                           */

TEST_F(reclaim, policy_defaults)
{
	struct pshare_region_stats st;

	ASSERT_EQ(0, ftruncate(self->r[0].fd, 64 * PS_PAGE));
	RC_STATS(&st);
	EXPECT_EQ(64, st.shares);
	EXPECT_EQ(64, st.max_pages);
	EXPECT_EQ(0, st.min_pages);
	/* No pressure: the target is the max. */
	EXPECT_EQ(64, st.target_pages);
	EXPECT_EQ(0, st.pages_paged);
	EXPECT_EQ(0, st.paged_out);
	EXPECT_EQ(0, st.paged_in);
	/* A new region counts as fully active until sampled. */
	EXPECT_EQ(1000, st.active_fast);
	EXPECT_EQ(1000, st.active_slow);
	EXPECT_LE(st.active_current, 1000);
	EXPECT_LE(st.active_permille, 1000);
	EXPECT_GE(st.active_permille, st.active_fast);

	/* The defaults follow the size. */
	ASSERT_EQ(0, ftruncate(self->r[0].fd, 100 * PS_PAGE));
	RC_STATS(&st);
	EXPECT_EQ(100, st.shares);
	EXPECT_EQ(100, st.max_pages);
	/* A partial last page is a page. */
	ASSERT_EQ(0, ftruncate(self->r[0].fd, 100 * PS_PAGE + 1));
	RC_STATS(&st);
	EXPECT_EQ(101, st.shares);
	EXPECT_EQ(101, st.max_pages);
}

TEST_F(reclaim, policy_set_read_back)
{
	struct pshare_region_stats st;
	int fd = self->r[0].fd;

	ASSERT_EQ(0, ftruncate(fd, 64 * PS_PAGE));

	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_SHARES, 123, 0, 0))
		TH_LOG("SET_POLICY shares: %s", strerror(errno));
	RC_STATS(&st);
	EXPECT_EQ(123, st.shares);
	EXPECT_EQ(0, st.min_pages);
	EXPECT_EQ(64, st.max_pages);

	/* Fields not named in flags stay as they are. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 999, 999, 40));
	RC_STATS(&st);
	EXPECT_EQ(123, st.shares);
	EXPECT_EQ(0, st.min_pages);
	EXPECT_EQ(40, st.max_pages);

	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MIN, 999, 7, 999));
	RC_STATS(&st);
	EXPECT_EQ(123, st.shares);
	EXPECT_EQ(7, st.min_pages);
	EXPECT_EQ(40, st.max_pages);

	/* All three at once; min == max is allowed. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_SHARES |
			       PSHARE_POLICY_MIN | PSHARE_POLICY_MAX,
			       RC_SHARES_MAX, 20, 20));
	RC_STATS(&st);
	EXPECT_EQ(RC_SHARES_MAX, st.shares);
	EXPECT_EQ(20, st.min_pages);
	EXPECT_EQ(20, st.max_pages);

	/* An explicit max does not follow the size; it may exceed it. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0, 0,
			       RC_PAGES_MAX));
	ASSERT_EQ(0, ftruncate(fd, 80 * PS_PAGE));
	RC_STATS(&st);
	EXPECT_EQ(RC_PAGES_MAX, st.max_pages);

	/* PSHARE_POLICY_DEFAULT: back to the size. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_SHARES |
			       PSHARE_POLICY_MAX, PSHARE_POLICY_DEFAULT, 0,
			       PSHARE_POLICY_DEFAULT));
	RC_STATS(&st);
	EXPECT_EQ(80, st.shares);
	EXPECT_EQ(80, st.max_pages);
	EXPECT_EQ(20, st.min_pages);
	ASSERT_EQ(0, ftruncate(fd, 90 * PS_PAGE));
	RC_STATS(&st);
	EXPECT_EQ(90, st.shares);
	EXPECT_EQ(90, st.max_pages);

	/* flags 0 sets nothing. */
	ASSERT_EQ(0, rc_policy(self->dev, fd, 0, 5, 5, 5));
	RC_STATS(&st);
	EXPECT_EQ(90, st.shares);
	EXPECT_EQ(20, st.min_pages);
	EXPECT_EQ(90, st.max_pages);
}

TEST_F(reclaim, policy_einval)
{
	struct pshare_region_policy p;
	struct pshare_region_stats st;
	int fd = self->r[0].fd;
	const __u32 all = PSHARE_POLICY_SHARES | PSHARE_POLICY_MIN |
			  PSHARE_POLICY_MAX;
	static const struct {
		const char *what;
		__u32 flags;
		__u64 shares, min, max;
	} bad[] = {
		{ "unknown flag", 1U << 3, 10, 1, 40 },
		{ "high flag", 1U << 31, 10, 1, 40 },
		{ "shares above 2^30", PSHARE_POLICY_SHARES, RC_SHARES_MAX + 1, 0, 0 },
		{ "shares ~0 - 1", PSHARE_POLICY_SHARES, ~0ULL - 1, 0, 0 },
		{ "max above 2^28", PSHARE_POLICY_MAX, 0, 0, RC_PAGES_MAX + 1 },
		{ "min above 2^28", PSHARE_POLICY_MIN | PSHARE_POLICY_MAX, 0,
		  RC_PAGES_MAX + 1, PSHARE_POLICY_DEFAULT },
		{ "min above the current max", PSHARE_POLICY_MIN, 0, 41, 0 },
		{ "max below the current min", PSHARE_POLICY_MAX, 0, 0, 4 },
		{ "min above max, both set", PSHARE_POLICY_MIN | PSHARE_POLICY_MAX,
		  0, 30, 29 },
		{ "min above the size as max", PSHARE_POLICY_MIN | PSHARE_POLICY_MAX,
		  0, 65, PSHARE_POLICY_DEFAULT },
		{ "every field bad", all, RC_SHARES_MAX + 1, 50, 40 },
	};
	unsigned int i;

	ASSERT_EQ(0, ftruncate(fd, 64 * PS_PAGE));
	ASSERT_EQ(0, rc_policy(self->dev, fd, all, 10, 5, 40));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(EINVAL, RC_ERRNO(rc_policy(self->dev, fd, bad[i].flags,
						     bad[i].shares, bad[i].min,
						     bad[i].max)))
			TH_LOG("%s", bad[i].what);
		/* Nothing changed. */
		RC_STATS(&st);
		EXPECT_EQ(10, st.shares) TH_LOG("after: %s", bad[i].what);
		EXPECT_EQ(5, st.min_pages) TH_LOG("after: %s", bad[i].what);
		EXPECT_EQ(40, st.max_pages) TH_LOG("after: %s", bad[i].what);
	}

	/* Nonzero reserved field. */
	memset(&p, 0, sizeof(p));
	p.argsz = sizeof(p);
	p.flags = PSHARE_POLICY_SHARES;
	p.fd = fd;
	p.shares = 11;
	p.reserved = 1;
	EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY,
					 &p)));
	/* argsz smaller than the struct's first version. */
	p.reserved = 0;
	p.argsz = offsetof(struct pshare_region_policy, max_pages);
	EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY,
					 &p)));
	/* Unknown nonzero trailing bytes. */
	{
		struct {
			struct pshare_region_policy p;
			__u64 extra;
		} big = { .p = p, .extra = 1 };

		big.p.argsz = sizeof(big);
		EXPECT_EQ(EINVAL, RC_ERRNO(ioctl(self->dev,
						 PSHARE_IOC_REGION_SET_POLICY,
						 &big)));
		/* Zero trailing bytes are fine. */
		big.extra = 0;
		EXPECT_EQ(0, ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY,
				   &big)) TH_LOG("%s", strerror(errno));
	}
	RC_STATS(&st);
	EXPECT_EQ(11, st.shares);

	/* The bounds themselves are allowed. */
	EXPECT_EQ(0, rc_policy(self->dev, fd, all, RC_SHARES_MAX, 0,
			       RC_PAGES_MAX)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MIN, 0,
			       RC_PAGES_MAX, 0)) TH_LOG("%s", strerror(errno));
	RC_STATS(&st);
	EXPECT_EQ(RC_SHARES_MAX, st.shares);
	EXPECT_EQ(RC_PAGES_MAX, st.min_pages);
	EXPECT_EQ(RC_PAGES_MAX, st.max_pages);
	/* Now the default max (64 pages) would be below min. */
	EXPECT_EQ(EINVAL, RC_ERRNO(rc_policy(self->dev, fd, PSHARE_POLICY_MAX, 0,
					     0, PSHARE_POLICY_DEFAULT)));
	EXPECT_EQ(0, rc_policy(self->dev, fd, PSHARE_POLICY_MIN |
			       PSHARE_POLICY_MAX, 0, 0, PSHARE_POLICY_DEFAULT));
}

TEST_F(reclaim, policy_fd_errors)
{
	struct pshare_region_stats st;
	int ro, pipefd[2], devnull;
	char dir[PATH_MAX];

	ASSERT_EQ(0, ftruncate(self->r[0].fd, 64 * PS_PAGE));
	ro = open(self->r[0].path, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(EACCES, RC_ERRNO(rc_policy(self->dev, ro, PSHARE_POLICY_SHARES,
					     5, 0, 0)));
	EXPECT_EQ(EACCES, RC_ERRNO(rc_backing(self->dev, ro, -1)));
	/* Reading the stats through it is fine, and shows nothing changed. */
	ASSERT_EQ(0, ps_stats(self->dev, ro, &st));
	EXPECT_EQ(64, st.shares);
	close(ro);

	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(ENODEV, RC_ERRNO(rc_policy(self->dev, pipefd[1],
					     PSHARE_POLICY_SHARES, 5, 0, 0)));
	EXPECT_EQ(ENODEV, RC_ERRNO(rc_backing(self->dev, pipefd[1], -1)));
	close(pipefd[0]);
	close(pipefd[1]);
	devnull = open("/dev/null", O_RDWR);
	ASSERT_LE(0, devnull);
	EXPECT_EQ(ENODEV, RC_ERRNO(rc_policy(self->dev, devnull,
					     PSHARE_POLICY_SHARES, 5, 0, 0)));
	EXPECT_EQ(ENODEV, RC_ERRNO(rc_policy(self->dev, self->dev,
					     PSHARE_POLICY_SHARES, 5, 0, 0)));
	close(devnull);
	/* A pshare directory is not a region. */
	snprintf(dir, sizeof(dir), "%s/reclaim-dir.XXXXXX", ps_mnt());
	ASSERT_NE(NULL, mkdtemp(dir));
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);

		EXPECT_LE(0, dfd);
		if (dfd >= 0) {
			EXPECT_EQ(ENODEV, RC_ERRNO(rc_policy(self->dev, dfd,
							     PSHARE_POLICY_SHARES,
							     5, 0, 0)));
			close(dfd);
		}
	}
	rmdir(dir);
	/* Not open at all. */
	EXPECT_EQ(EBADF, RC_ERRNO(rc_policy(self->dev, 9999,
					    PSHARE_POLICY_SHARES, 5, 0, 0)));
	EXPECT_EQ(EBADF, RC_ERRNO(rc_policy(self->dev, -1,
					    PSHARE_POLICY_SHARES, 5, 0, 0)));
	EXPECT_EQ(EBADF, RC_ERRNO(rc_backing(self->dev, 9999, -1)));
	/* A bad pointer. */
	EXPECT_EQ(EFAULT, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_POLICY,
					 (void *)8)));
	EXPECT_EQ(EFAULT, RC_ERRNO(ioctl(self->dev, PSHARE_IOC_REGION_SET_BACKING,
					 (void *)8)));
	RC_STATS(&st);
	EXPECT_EQ(64, st.shares);
}


/* ---------------------------------------------------------------------- */
/* Knobs                                                                  */

static int rc_knob_errno(const char *name, const char *val)
{
	return ps_knob_set(name, val) ? errno : 0;
}

TEST_F(reclaim, knobs)
{
	static const struct {
		const char *name, *val;
		int err;	/* 0: accepted */
	} cases[] = {
		{ "idle_tax_percent", "100", EINVAL },
		{ "idle_tax_percent", "-1", EINVAL },
		{ "idle_tax_percent", "abc", EINVAL },
		{ "idle_tax_percent", "0", 0 },
		{ "idle_tax_percent", "99", 0 },
		{ "sample_period_secs", "0", EINVAL },
		{ "sample_period_secs", "3601", EINVAL },
		{ "sample_period_secs", "1", 0 },
		{ "sample_period_secs", "3600", 0 },
		{ "sample_pages", "0", EINVAL },
		{ "sample_pages", "4097", EINVAL },
		{ "sample_pages", "1", 0 },
		{ "sample_pages", "4096", 0 },
		{ "limit_pages", "-1", EINVAL },
		{ "limit_pages", "x", EINVAL },
		{ "limit_pages", "0", 0 },
		{ "limit_pages", "1", 0 },
		{ "limit_pages", "0", 0 },
	};
	static const char *const ro[] = {
		"memory_state", "pages_paged", "paged_out", "paged_in",
	};
	unsigned long long total, max_limit;
	char buf[64], path[256];
	unsigned int i;
	FILE *f;
	int fd;
	ssize_t n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long before = ps_sysfs(cases[i].name);

		EXPECT_EQ(cases[i].err, rc_knob_errno(cases[i].name,
						      cases[i].val))
			TH_LOG("%s <- %s", cases[i].name, cases[i].val);
		if (cases[i].err) {
			EXPECT_EQ(before, ps_sysfs(cases[i].name))
				TH_LOG("%s changed by a refused write",
				       cases[i].name);
		} else {
			EXPECT_EQ(atoll(cases[i].val), ps_sysfs(cases[i].name));
		}
	}

	/* limit_pages: at most 64 times RAM (MemTotal is totalram_pages). */
	f = fopen("/proc/meminfo", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "MemTotal: %llu kB", &total));
	fclose(f);
	max_limit = total / (PS_PAGE / 1024) * 64;
	EXPECT_EQ(0, ps_knob_set_num("limit_pages", max_limit))
		TH_LOG("limit_pages %llu (64 x RAM): %s", max_limit,
		       strerror(errno));
	EXPECT_EQ((long long)max_limit, ps_sysfs("limit_pages"));
	EXPECT_EQ(EINVAL, ps_knob_set_num("limit_pages", max_limit + 1) ? errno : 0);
	EXPECT_EQ((long long)max_limit, ps_sysfs("limit_pages"));
	RC_KNOB("limit_pages", 0);

	/* Read-only files: readable, writes refused. */
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		snprintf(path, sizeof(path), PS_SYSFS "/%s", ro[i]);
		fd = open(path, O_RDONLY);
		EXPECT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		EXPECT_LT(1, n);
		if (n <= 0)
			continue;
		buf[n] = 0;
		EXPECT_EQ('\n', buf[n - 1]);
		if (i == 0) {
			EXPECT_TRUE(!strcmp(buf, "high\n") ||
				    !strcmp(buf, "soft\n") ||
				    !strcmp(buf, "hard\n") ||
				    !strcmp(buf, "low\n"))
				TH_LOG("memory_state '%s'", buf);
		} else {
			EXPECT_LE(0, ps_sysfs(ro[i]));
		}
		EXPECT_NE(0, ps_write_file(path, "0"));
		EXPECT_TRUE(errno == EACCES || errno == EPERM)
			TH_LOG("writing %s: %s", path, strerror(errno));
	}
}

TEST_HARNESS_MAIN
