// SPDX-License-Identifier: GPL-2.0
/*
 * pshare_exp - the reclaim experiments of the paper, run against pshare.ko.
 *
 *   pshare_exp idle-tax [options]    Fig. 7: the idle memory tax
 *   pshare_exp sampling [options]    Fig. 6: sampled active memory
 *
 * idle-tax: two regions A and B with equal (default) shares and a backing
 * file each. A fills its memory and goes idle; B fills its memory and then
 * keeps touching a working set of --ws-mib at random, counting pages touched.
 * limit_pages is set below what both hold, and after --settle seconds each
 * region's pages_private, target and active estimate, and B's touch rate are
 * averaged over --measure seconds. One run per --tax value (a comma list).
 * Output: a per-second log (--log FILE, CSV) and a table on stdout.
 *
 * sampling: one region filled completely, then a thread touches the first
 * fraction of its pages continuously, the fraction stepping through --steps
 * (percent, comma list), --step-secs seconds each, with
 * sample_period_secs=--period. Each second prints the true working-set
 * fraction and active_fast/slow/current/permille (CSV, --log FILE, and a
 * table on stdout).
 *
 * Every knob changed is restored at exit (also on SIGINT/SIGTERM). Needs root,
 * pshare.ko loaded and a pshare mount (--mnt, default /run/pshare); backing
 * files go to --tmp (default /tmp). These are figures, not tests: nothing
 * passes or fails, except that errors of the setup end the program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pshare.h>

#define PG		4096UL
#define SYSFS		"/sys/kernel/mm/pshare"
#define MAX_TAXES	8
#define MAX_STEPS	16

static const char *const knob_names[] = {
	"limit_pages", "idle_tax_percent", "sample_period_secs", "sample_pages",
};
#define NKNOBS	(sizeof(knob_names) / sizeof(knob_names[0]))
static char knob_saved[NKNOBS][32];
static bool knobs_saved;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void restore_knobs(void);

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pshare_exp: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	restore_knobs();
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int knob_write(const char *name, const char *val)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSFS "/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static void knob_read(const char *name, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSFS "/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("cannot read %s: %s (is pshare.ko loaded?)", path,
		    strerror(errno));
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		die("cannot read %s", path);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

static void knob_set(const char *name, unsigned long val)
{
	char v[32];

	snprintf(v, sizeof(v), "%lu", val);
	if (knob_write(name, v))
		die("writing %s to " SYSFS "/%s: %s", v, name, strerror(errno));
}

static void save_knobs(void)
{
	unsigned int i;

	for (i = 0; i < NKNOBS; i++)
		knob_read(knob_names[i], knob_saved[i], sizeof(knob_saved[i]));
	knobs_saved = true;
}

/* The limit first: then nothing is paged out while the rest changes. */
static void restore_knobs(void)
{
	unsigned int i;

	if (!knobs_saved)
		return;
	knob_write("limit_pages", "0");
	for (i = 0; i < NKNOBS; i++)
		knob_write(knob_names[i], knob_saved[i]);
}

static void on_signal(int sig)
{
	restore_knobs();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* --------------------------------------------------------------------- */

static int dev = -1;

struct region {
	int fd;
	int backing;
	unsigned long pages;
	unsigned char *map;
};

static void region_create(struct region *r, const char *mnt, const char *tmp,
			  unsigned long pages, bool backing)
{
	char path[4096];
	unsigned long pg;

	snprintf(path, sizeof(path), "%s/exp.XXXXXX", mnt);
	r->fd = mkstemp(path);
	if (r->fd < 0)
		die("mkstemp %s: %s (is pshare mounted there? --mnt)", path,
		    strerror(errno));
	unlink(path);
	r->pages = pages;
	if (ftruncate(r->fd, pages * PG))
		die("ftruncate: %s", strerror(errno));
	r->backing = -1;
	if (backing) {
		struct pshare_region_backing b = {
			.argsz = sizeof(b), .fd = r->fd,
		};

		snprintf(path, sizeof(path), "%s/pshare-exp-backing.XXXXXX",
			 tmp);
		r->backing = mkstemp(path);
		if (r->backing < 0)
			die("mkstemp %s: %s", path, strerror(errno));
		unlink(path);
		b.backing_fd = r->backing;
		if (ioctl(dev, PSHARE_IOC_REGION_SET_BACKING, &b))
			die("SET_BACKING: %s", strerror(errno));
	}
	r->map = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		      r->fd, 0);
	if (r->map == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	/* Distinct nonzero content, so no page is a zero or shared page. */
	for (pg = 0; pg < pages; pg++) {
		uint64_t *w = (uint64_t *)(r->map + pg * PG);
		unsigned int i;

		for (i = 0; i < PG / 8; i++)
			w[i] = (pg << 20 | i) * 0x9e3779b97f4a7c15ULL | 1;
	}
}

static void region_destroy(struct region *r)
{
	munmap(r->map, r->pages * PG);
	close(r->fd);
	if (r->backing >= 0)
		close(r->backing);
}

static void stats(struct region *r, struct pshare_region_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->argsz = sizeof(*st);
	st->fd = r->fd;
	if (ioctl(dev, PSHARE_IOC_REGION_STATS, st))
		die("REGION_STATS: %s", strerror(errno));
}

/* Touches pages [0, ws) of a region, at random or in sweeps. */
struct toucher {
	pthread_t tid;
	struct region *r;
	atomic_ulong ws;	/* pages in the working set */
	atomic_ulong touched;
	atomic_int stop;
	bool random;
};

static void *toucher_main(void *arg)
{
	struct toucher *t = arg;
	uint64_t x = 0x2545f4914f6cdd1dULL;
	unsigned long pg = 0;

	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		unsigned long ws = atomic_load_explicit(&t->ws,
							memory_order_relaxed);
		unsigned int i;

		for (i = 0; i < 64; i++) {
			if (t->random) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				pg = x % ws;
			} else if (++pg >= ws) {
				pg = 0;
			}
			/* A read and a write, as a guest's working set does. */
			t->r->map[pg * PG + (i & 63) * 64]++;
		}
		atomic_fetch_add_explicit(&t->touched, 64,
					  memory_order_relaxed);
	}
	return NULL;
}

static void toucher_start(struct toucher *t, struct region *r,
			  unsigned long ws, bool random)
{
	t->r = r;
	atomic_store(&t->ws, ws);
	atomic_store(&t->touched, 0);
	atomic_store(&t->stop, 0);
	t->random = random;
	if (pthread_create(&t->tid, NULL, toucher_main, t))
		die("pthread_create");
}

static void toucher_stop(struct toucher *t)
{
	atomic_store(&t->stop, 1);
	pthread_join(t->tid, NULL);
}

/* Sleep until @t (a now() time). */
static void sleep_until(double t)
{
	double d = t - now();

	if (d > 0)
		usleep((useconds_t)(d * 1e6));
}

static int parse_list(const char *s, unsigned long *v, int max,
		      const char *what)
{
	char *end;
	int n = 0;

	while (*s) {
		if (n == max)
			die("%s: at most %d values", what, max);
		errno = 0;
		v[n++] = strtoul(s, &end, 10);
		if (errno || end == s || (*end && *end != ','))
			die("%s: not a comma-separated list of numbers: %s",
			    what, s);
		s = *end ? end + 1 : end;
	}
	if (!n)
		die("%s: empty list", what);
	return n;
}

/* --------------------------------------------------------------------- */
/* idle-tax                                                              */

struct idle_opts {
	const char *mnt, *tmp, *log;
	unsigned long size_mib, limit_mib, ws_mib, period, settle, measure;
	unsigned long taxes[MAX_TAXES];
	int ntaxes;
};

struct idle_result {
	unsigned long tax;
	double a_private, a_target, a_active;
	double b_private, b_target, b_active;
	double b_rate;
	unsigned long long b_paged_in;
};

static void idle_run(const struct idle_opts *o, unsigned long tax, FILE *log,
		     struct idle_result *res)
{
	const unsigned long pages = o->size_mib << 8;
	struct region a, b;
	struct toucher t;
	struct pshare_region_stats sa, sb;
	unsigned long long touched0, touched, paged_in0 = 0;
	double start, next, t_rel;
	unsigned long n = 0, sec;

	memset(res, 0, sizeof(*res));
	res->tax = tax;
	knob_set("limit_pages", 0);
	knob_set("idle_tax_percent", tax);
	knob_set("sample_period_secs", o->period);

	fprintf(stderr, "idle-tax: tax %lu%%: filling two regions of %lu MiB...\n",
		tax, o->size_mib);
	region_create(&a, o->mnt, o->tmp, pages, true);
	region_create(&b, o->mnt, o->tmp, pages, true);
	toucher_start(&t, &b, o->ws_mib << 8, true);
	knob_set("limit_pages", o->limit_mib << 8);

	start = now();
	next = start + 1;
	touched0 = atomic_load(&t.touched);
	for (sec = 1; sec <= o->settle + o->measure; sec++) {
		sleep_until(next);
		next += 1;
		touched = atomic_load(&t.touched);
		stats(&a, &sa);
		stats(&b, &sb);
		t_rel = now() - start;
		fprintf(log, "%lu,%.2f,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n",
			tax, t_rel,
			(unsigned long long)sa.pages_private,
			(unsigned long long)sa.target_pages,
			(unsigned long long)sa.active_permille,
			(unsigned long long)sb.pages_private,
			(unsigned long long)sb.target_pages,
			(unsigned long long)sb.active_permille,
			(unsigned long long)sb.paged_in,
			(unsigned long long)sb.paged_out,
			touched - touched0);
		fflush(log);
		if (sec == o->settle)
			paged_in0 = sb.paged_in;
		if (sec > o->settle) {
			res->a_private += sa.pages_private;
			res->a_target += sa.target_pages;
			res->a_active += sa.active_permille;
			res->b_private += sb.pages_private;
			res->b_target += sb.target_pages;
			res->b_active += sb.active_permille;
			res->b_rate += touched - touched0;
			n++;
		}
		touched0 = touched;
	}
	res->b_paged_in = sb.paged_in - paged_in0;
	toucher_stop(&t);
	knob_set("limit_pages", 0);
	region_destroy(&a);
	region_destroy(&b);
	if (n) {
		res->a_private /= n;
		res->a_target /= n;
		res->a_active /= n;
		res->b_private /= n;
		res->b_target /= n;
		res->b_active /= n;
		res->b_rate /= n;
	}
}

static double mib(double pages)
{
	return pages / 256;
}

static int cmd_idle_tax(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mnt", required_argument, NULL, 'm' },
		{ "tmp", required_argument, NULL, 'T' },
		{ "log", required_argument, NULL, 'l' },
		{ "size-mib", required_argument, NULL, 's' },
		{ "limit-mib", required_argument, NULL, 'L' },
		{ "ws-mib", required_argument, NULL, 'w' },
		{ "tax", required_argument, NULL, 't' },
		{ "period", required_argument, NULL, 'p' },
		{ "settle", required_argument, NULL, 'S' },
		{ "measure", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct idle_opts o = {
		.mnt = "/run/pshare", .tmp = "/tmp", .log = NULL,
		.size_mib = 64, .limit_mib = 96, .ws_mib = 56, .period = 2,
		.settle = 40, .measure = 20,
	};
	struct idle_result res[MAX_TAXES];
	FILE *log = NULL;
	int c, i;

	o.ntaxes = parse_list("0,75", o.taxes, MAX_TAXES, "--tax");
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.mnt = optarg; break;
		case 'T': o.tmp = optarg; break;
		case 'l': o.log = optarg; break;
		case 's': o.size_mib = strtoul(optarg, NULL, 10); break;
		case 'L': o.limit_mib = strtoul(optarg, NULL, 10); break;
		case 'w': o.ws_mib = strtoul(optarg, NULL, 10); break;
		case 't':
			o.ntaxes = parse_list(optarg, o.taxes, MAX_TAXES,
					      "--tax");
			break;
		case 'p': o.period = strtoul(optarg, NULL, 10); break;
		case 'S': o.settle = strtoul(optarg, NULL, 10); break;
		case 'M': o.measure = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr,
				"usage: pshare_exp idle-tax [--size-mib 64] [--limit-mib 96] [--ws-mib 56]\n"
				"         [--tax 0,75] [--period 2] [--settle 40] [--measure 20]\n"
				"         [--log FILE.csv] [--mnt /run/pshare] [--tmp /tmp]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!o.size_mib || !o.ws_mib || o.ws_mib > o.size_mib || !o.measure ||
	    !o.period)
		die("idle-tax: need 0 < --ws-mib <= --size-mib, --measure > 0, --period > 0");
	for (i = 0; i < o.ntaxes; i++)
		if (o.taxes[i] > 99)
			die("idle-tax: a tax rate is 0..99");

	if (o.log) {
		log = fopen(o.log, "w");
		if (!log)
			die("%s: %s", o.log, strerror(errno));
	} else {
		log = fopen("/dev/null", "w");
	}
	fprintf(log, "tax,t,a_private,a_target,a_active,b_private,b_target,b_active,b_paged_in,b_paged_out,b_touched\n");
	for (i = 0; i < o.ntaxes; i++)
		idle_run(&o, o.taxes[i], log, &res[i]);
	fclose(log);

	printf("Idle memory tax: regions A (idle) and B (busy, %lu MiB working set at random),\n"
	       "%lu MiB each, equal shares, limit %lu MiB, sample period %lu s; means over %lu s\n"
	       "after %lu s of settling. MiB of pages held (pages_private) / target.\n\n",
	       o.ws_mib, o.size_mib, o.limit_mib, o.period, o.measure,
	       o.settle);
	printf("%5s | %9s %9s %8s | %9s %9s %8s | %12s %10s\n", "tax%",
	       "A held", "A target", "A active", "B held", "B target",
	       "B active", "B pages/s", "B paged_in");
	for (i = 0; i < o.ntaxes; i++)
		printf("%5lu | %9.1f %9.1f %8.0f | %9.1f %9.1f %8.0f | %12.0f %10llu\n",
		       res[i].tax, mib(res[i].a_private), mib(res[i].a_target),
		       res[i].a_active, mib(res[i].b_private),
		       mib(res[i].b_target), res[i].b_active, res[i].b_rate,
		       res[i].b_paged_in);
	return 0;
}

/* --------------------------------------------------------------------- */
/* sampling                                                              */

static int cmd_sampling(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mnt", required_argument, NULL, 'm' },
		{ "log", required_argument, NULL, 'l' },
		{ "size-mib", required_argument, NULL, 's' },
		{ "steps", required_argument, NULL, 'S' },
		{ "step-secs", required_argument, NULL, 'd' },
		{ "period", required_argument, NULL, 'p' },
		{ "sample-pages", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *mnt = "/run/pshare", *logpath = NULL;
	unsigned long size_mib = 64, step_secs = 20, period = 1, nsample = 100;
	unsigned long steps[MAX_STEPS], pages, sec, total;
	struct pshare_region_stats st;
	struct toucher t;
	struct region r;
	double start, next;
	FILE *log;
	int nsteps, c;

	nsteps = parse_list("20,80,40,20", steps, MAX_STEPS, "--steps");
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': mnt = optarg; break;
		case 'l': logpath = optarg; break;
		case 's': size_mib = strtoul(optarg, NULL, 10); break;
		case 'S':
			nsteps = parse_list(optarg, steps, MAX_STEPS,
					    "--steps");
			break;
		case 'd': step_secs = strtoul(optarg, NULL, 10); break;
		case 'p': period = strtoul(optarg, NULL, 10); break;
		case 'n': nsample = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr,
				"usage: pshare_exp sampling [--size-mib 64] [--steps 20,80,40,20]\n"
				"         [--step-secs 20] [--period 1] [--sample-pages 100]\n"
				"         [--log FILE.csv] [--mnt /run/pshare]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	for (c = 0; c < nsteps; c++)
		if (!steps[c] || steps[c] > 100)
			die("sampling: steps are percentages 1..100");
	if (!size_mib || !step_secs || !period)
		die("sampling: sizes and times must be positive");

	log = logpath ? fopen(logpath, "w") : fopen("/dev/null", "w");
	if (!log)
		die("%s: %s", logpath, strerror(errno));
	fprintf(log, "t,true_permille,active_fast,active_slow,active_current,active_permille\n");

	pages = size_mib << 8;
	knob_set("limit_pages", 0);
	knob_set("sample_pages", nsample);
	fprintf(stderr, "sampling: filling a region of %lu MiB...\n", size_mib);
	region_create(&r, mnt, "/tmp", pages, false);
	toucher_start(&t, &r, pages * steps[0] / 100, false);
	/* The period starts now: its first sample is taken one period on. */
	knob_set("sample_period_secs", period);

	printf("Sampled active memory: one %lu MiB region, %lu sampled pages per %lu s period;\n"
	       "a thread touches the first <true> permille of its pages, sweeping continuously.\n\n",
	       size_mib, nsample, period);
	printf("%5s %6s %6s %6s %8s %9s\n", "t", "true", "fast", "slow",
	       "current", "estimate");
	total = step_secs * nsteps;
	start = now();
	next = start + 1;
	for (sec = 0; sec <= total; sec++) {
		unsigned long step = sec < total ? sec / step_secs :
				     (unsigned long)nsteps - 1;
		unsigned long truth;

		if (sec)
			sleep_until(next), next += 1;
		atomic_store(&t.ws, pages * steps[step] / 100);
		truth = steps[step] * 10;
		stats(&r, &st);
		printf("%5lu %6lu %6llu %6llu %8llu %9llu\n", sec, truth,
		       (unsigned long long)st.active_fast,
		       (unsigned long long)st.active_slow,
		       (unsigned long long)st.active_current,
		       (unsigned long long)st.active_permille);
		fprintf(log, "%.2f,%lu,%llu,%llu,%llu,%llu\n", now() - start,
			truth, (unsigned long long)st.active_fast,
			(unsigned long long)st.active_slow,
			(unsigned long long)st.active_current,
			(unsigned long long)st.active_permille);
		fflush(stdout);
		fflush(log);
	}
	toucher_stop(&t);
	region_destroy(&r);
	fclose(log);
	return 0;
}

int main(int argc, char **argv)
{
	struct pshare_api api = { .argsz = sizeof(api) };
	int ret;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: pshare_exp idle-tax|sampling [options] (--help for each)\n");
		return argc < 2 ? 2 : 0;
	}
	dev = open("/dev/pshare", O_RDWR);
	if (dev < 0)
		die("/dev/pshare: %s (load pshare.ko; run as root)",
		    strerror(errno));
	if (ioctl(dev, PSHARE_IOC_API, &api))
		die("PSHARE_IOC_API: %s", strerror(errno));
	if (!(api.features & PSHARE_FEATURE_POLICY) ||
	    !(api.features & PSHARE_FEATURE_SAMPLING) ||
	    !(api.features & PSHARE_FEATURE_PAGING))
		die("this pshare.ko has no policy, sampling or paging support");
	save_knobs();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (!strcmp(argv[1], "idle-tax"))
		ret = cmd_idle_tax(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "sampling"))
		ret = cmd_sampling(argc - 1, argv + 1);
	else
		die("unknown experiment '%s': idle-tax or sampling", argv[1]);
	restore_knobs();
	return ret;
}
