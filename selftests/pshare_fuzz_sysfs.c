// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's knob writes: numbers in and out of range and garbage into
 * the sysfs knobs and the debugfs hash_bits knob, each checked against the
 * knob's range and put back to the run's value at once.
 *
 * Part of pshare_fuzz.c, which includes it (see pshare_fuzz.h).
 */
#include "pshare_fuzz.h"

/* ----------------------------------------------------------------------
 * sysfs and debugfs knobs
 * ---------------------------------------------------------------------- */

/* The knobs, their ranges and the values the run holds them at. */
static struct fz_knob fz_knobs[] = {
	{ .name = "run", .min = 0, .max = 2, .run_value = "1" },
	{ .name = "pages_to_scan", .min = 1, .max = 1 << 20, .run_value = "4096" },
	{ .name = "sleep_millisecs", .min = 0, .max = 60000, .run_value = "0" },
	{ .name = "merge_across_domains", .min = 0, .max = 1, .run_value = "0" },
	/* max: 64 x RAM, set in setup */
	{ .name = "limit_pages", .min = 0, .max = 0, .run_value = NULL },
	{ .name = "idle_tax_percent", .min = 0, .max = 99, .run_value = "75" },
	{ .name = "sample_period_secs", .min = 1, .max = 3600, .run_value = "1" },
	{ .name = "sample_pages", .min = 1, .max = 4096, .run_value = "4096" },
	/*
	 * Not auto_scan (pages_to_scan refuses writes while it is on) nor
	 * its page bounds (each is checked against the other): share_test
	 * covers those.
	 */
	{ .name = "smart_scan", .min = 0, .max = 1, .run_value = "1" },
	{ .name = "max_cpu_percent", .min = 1, .max = 100, .run_value = "10" },
	{ .name = "target_scan_secs", .min = 1, .max = 86400, .run_value = "200" },
};
#define NKNOBS		(sizeof(fz_knobs) / sizeof(fz_knobs[0]))
#define FZ_RUN		0	/* fz_knobs[] index of run */
#define FZ_ACROSS	3	/* fz_knobs[] index of merge_across_domains */

/*
 * A random value for a knob: a decimal number the knob must take, or a
 * string it must refuse, or one whose fate is not worth predicting (very
 * long strings, which the kernel may cut). *@want: 1 accept, 0 refuse,
 * -1 either.
 */
static size_t fz_knob_value(struct fz_thread *t, const struct fz_knob *k,
			    char *s, size_t size, int *want)
{
	unsigned long long v = fz_value(t);
	size_t n, i;

	*want = -1;
	switch (below(t, 10)) {
	case 0:
		n = snprintf(s, size, "%llu", k->min + below(t, k->max - k->min + 1));
		*want = 1;
		break;
	case 1:
		n = snprintf(s, size, "%llu\n", k->max);
		*want = 1;
		break;
	case 2:
		n = snprintf(s, size, "+%llu", k->min);
		*want = 1;
		break;
	case 3:
		n = snprintf(s, size, "%llu", v);
		*want = v >= k->min && v <= k->max;
		break;
	case 4:
		if (k->max < ~0ULL)
			n = snprintf(s, size, "%llu", k->max + 1 + below(t, 1000));
		else
			n = snprintf(s, size, "-1");
		*want = 0;
		break;
	case 5:
		n = snprintf(s, size, "-%llu", (unsigned long long)(1 + below(t, 100)));
		*want = 0;
		break;
	case 6: {
		static const char *const bad[] = {
			"0x10", " 1", "1 ", "1\n\n", "abc", "1a", "\n", "1.5",
			"99999999999999999999999", "--1", "+", "1,2",
		};

		n = snprintf(s, size, "%s", bad[below(t, sizeof(bad) / sizeof(bad[0]))]);
		*want = 0;
		break;
	}
	case 7:
		/* Garbage bytes, NULs included. */
		n = 1 + below(t, 64);
		for (i = 0; i < n; i++)
			s[i] = rnd(t);
		s[0] = 'x';
		*want = 0;
		break;
	default:
		/* Longer than a page: digits, or garbage. */
		n = size - 1 - below(t, 64);
		for (i = 0; i < n; i++)
			s[i] = below(t, 2) ? '0' + below(t, 10) : rnd(t);
		break;
	}
	return n;
}

/*
 * Restoring @k at @path failed: merge_across_domains changes only while nothing is
 * shared, and the scanner may have merged since the random value went in.
 * Then unmerge (run=2), restore, and put run back. True if that restored it.
 */
static bool fz_restore_across(struct fz_knob *k, const char *path,
			      const char *restore)
{
	bool done;

	if (errno != EBUSY || k != &fz_knobs[FZ_ACROSS])
		return false;
	done = !ps_write_file(PS_SYSFS "/run", "2") &&
	       !ps_write_file(path, restore);
	if (ps_write_file(PS_SYSFS "/run", fz_knobs[FZ_RUN].during))
		done = false;
	return done;
}

static void fz_sysfs(struct fz_thread *t)
{
	static char s[8192 + 64];
	char path[256];
	struct fz_knob *k;
	struct fz_knob hb = { .name = "hash_bits", .min = 1, .max = 64 };
	const char *restore;
	long long now;
	int fd, want;
	ssize_t n, len;

	pthread_mutex_lock(&fz.knob_lock);
	if (fz.hash_bits_found >= 0 && below(t, NKNOBS + 1) == 0) {
		k = &hb;
		snprintf(path, sizeof(path), "%s", PS_HASH_BITS);
		restore = "8";
	} else {
		k = &fz_knobs[below(t, NKNOBS)];
		snprintf(path, sizeof(path), PS_SYSFS "/%s", k->name);
		restore = k->during;
	}
	len = fz_knob_value(t, k, s, sizeof(s), &want);
	if (k == &hb)
		want = -1;	/* kstrtoull base 0, cut to 23 bytes: range only */
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		ps_fail(&t->fail, "open %s: %s", path, strerror(errno));
		goto out;
	}
	errno = 0;
	n = write(fd, s, len);
	close(fd);
	/* sysfs takes at most a page of a longer write. */
	if (n == len || (len > 4096 && n == 4096)) {
		atomic_fetch_add(&fz.knob_writes_ok, 1);
		if (!want)
			ps_fail(&t->fail, "%s took \"%.40s\" (%zd bytes)", k->name, s, len);
	} else if (n >= 0 || (errno != EINVAL && errno != EBUSY &&
			      errno != ENOMEM && errno != EINTR &&
			      /* debugfs passes kstrtoull()'s overflow on */
			      !(k == &hb && errno == ERANGE))) {
		ps_fail(&t->fail, "%s: writing %zd bytes returned %zd (%s)", k->name, len,
		     n, strerror(errno));
	} else if (want == 1 && errno == EINVAL) {
		ps_fail(&t->fail, "%s refused \"%.40s\": %s", k->name, s, strerror(errno));
	}
	now = ps_read_number(path);
	if (now < (long long)k->min || (unsigned long long)now > k->max)
		ps_fail(&t->fail, "%s reads %lld after \"%.40s\", outside %llu..%llu",
		     k->name, now, s, k->min, k->max);
	/* The random value lasts a moment, then the run's value returns. */
	usleep(below(t, 2000));
	if (ps_write_file(path, restore) && !fz_restore_across(k, path, restore))
		ps_fail(&t->fail, "restoring %s=%s: %s", k->name, restore, strerror(errno));
out:
	pthread_mutex_unlock(&fz.knob_lock);
}
