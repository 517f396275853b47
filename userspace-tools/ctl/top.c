// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl top: the module's counters, their rates and the regions,
 * read every interval. Three forms: a refreshed screen, a vmstat-like
 * log line per interval, and a JSON object per interval.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "psharectl.h"

enum top_mode {
	TOP_SCREEN,	/* a refreshed page: globals, rates, region table */
	TOP_LOG,	/* one line per interval */
	TOP_JSON,	/* one JSON object per interval */
};

/* @b's counter @name minus @a's (negative after a module reload). */
static long long sysfs_delta(const struct status *a, const struct status *b,
			     const char *name)
{
	return (long long)(sysfs_num(b, name, 0) - sysfs_num(a, name, 0));
}

static double sysfs_rate(const struct status *a, const struct status *b,
			 const char *name)
{
	double dt = b->when - a->when;

	return dt > 0 ? sysfs_delta(a, b, name) / dt : 0;
}

static const struct region_row *find_row(const struct status *s,
					 unsigned long long ino)
{
	size_t i;

	for (i = 0; s->have_rows && i < s->nr_rows; i++)
		if (s->rows[i].ino == ino)
			return &s->rows[i];
	return NULL;
}

/* Per-second rate of a region counter between two readings; 0 if new. */
static double row_rate(const struct status *a, const struct status *b,
		       const struct region_row *r, size_t off)
{
	const struct region_row *old = find_row(a, r->ino);
	double dt = b->when - a->when;
	unsigned long long now, then;

	if (!old || dt <= 0)
		return 0;
	memcpy(&now, (const char *)r + off, sizeof(now));
	memcpy(&then, (const char *)old + off, sizeof(then));
	return ((long long)(now - then)) / dt;
}

static int cmp_rows_private(const void *a, const void *b)
{
	const struct region_row *x = a, *y = b;

	if (x->st.pages_private != y->st.pages_private)
		return x->st.pages_private < y->st.pages_private ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void top_screen(const struct status *a, struct status *b,
		       double interval, bool tty, const char *rows_err)
{
	char t[16], h[8][32];
	struct derived d;
	size_t i, w;

	derive(b, &d);
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("psharectl top  %s  every %.1fs  memory_state %s  limit %s\n\n",
	       clock_str(t, sizeof(t)), interval, d.state,
	       limit_str(h[0], 32, d.limit));
	printf("regions %llu  held %s  private %s  shared frames %s  saved %s (ratio %s)  zero %s  paged %s\n",
	       sysfs_num(b, "regions", 0), hpages(h[0], 32, d.held),
	       hpages(h[1], 32, sysfs_num(b, "pages_private", 0)),
	       hpages(h[2], 32, sysfs_num(b, "pages_shared", 0)),
	       hpages(h[3], 32, d.saved),
	       ratio_str(h[4], 32, d.sharing_ratio),
	       hpages(h[5], 32, d.zero), hpages(h[6], 32, d.paged));
	printf("scanner run %llu: scanned/s %.0f  skipped/s %.0f cold, %.0f volatile  full_scans %llu  merged %+lld  hinted %llu  hint_hits %llu  stale_hints %llu  false_matches %llu  merge_busy %llu\n",
	       sysfs_num(b, "run", 0), sysfs_rate(a, b, "pages_scanned"),
	       sysfs_rate(a, b, "skipped_unchanged"),
	       sysfs_rate(a, b, "skipped_volatile"),
	       sysfs_num(b, "full_scans", 0),
	       sysfs_delta(a, b, "pages_sharing"),
	       sysfs_num(b, "pages_hinted", 0), sysfs_num(b, "hint_hits", 0),
	       sysfs_num(b, "stale_hints", 0),
	       sysfs_num(b, "false_matches", 0),
	       sysfs_num(b, "merge_busy", 0));
	printf("cow_breaks/s %.1f  paged out/s %.1f  paged in/s %.1f\n\n",
	       sysfs_rate(a, b, "cow_breaks"), sysfs_rate(a, b, "paged_out"),
	       sysfs_rate(a, b, "paged_in"));

	if (!b->have_rows) {
		printf("(no region table: %s)\n", rows_err);
		return;
	}
	qsort(b->rows, b->nr_rows, sizeof(*b->rows), cmp_rows_private);
	w = name_width(b, 4);
	printf("%-*s %6s %7s %6s %6s %6s %6s %5s %7s %7s %7s\n", (int)w, "NAME",
	       "SIZE", "PRIVATE", "SHARED", "ZERO", "PAGED", "TARGET", "ACT%",
	       "COW/s", "OUT/s", "IN/s");
	for (i = 0; i < b->nr_rows; i++) {
		const struct region_row *r = &b->rows[i];

		printf("%-*.*s %6s %7s %6s %6s %6s %6s %5s %7.1f %7.1f %7.1f\n",
		       (int)w, (int)w, r->name, human(h[0], 32, r->st.size),
		       hpages(h[1], 32, r->st.pages_private), hpages(h[2], 32, r->st.pages_shared),
		       hpages(h[3], 32, r->st.pages_zero), hpages(h[4], 32, r->st.pages_paged),
		       hpages(h[5], 32, r->st.target_pages),
		       pct_str(h[6], 32, r->st.active_permille),
		       row_rate(a, b, r, offsetof(struct region_row, st.cow_breaks)),
		       row_rate(a, b, r, offsetof(struct region_row, st.paged_out)),
		       row_rate(a, b, r, offsetof(struct region_row, st.paged_in)));
	}
	if (!b->nr_rows)
		printf("(no regions)\n");
}

static void top_log_header(void)
{
	printf("%-8s %7s %10s %9s %9s %9s %9s %5s %9s %8s %7s %7s %7s\n",
	       "time", "regions", "private", "shared", "sharing", "zero",
	       "paged", "state", "scanned/s", "merged", "cow/s", "out/s",
	       "in/s");
}

static void top_log_line(const struct status *a, const struct status *b)
{
	const struct sysfs_entry *st = sysfs_find(b, "memory_state");
	char t[16];

	printf("%-8s %7llu %10llu %9llu %9llu %9llu %9llu %5.5s %9.0f %+8lld %7.1f %7.1f %7.1f\n",
	       clock_str(t, sizeof(t)), sysfs_num(b, "regions", 0),
	       sysfs_num(b, "pages_private", 0),
	       sysfs_num(b, "pages_shared", 0),
	       sysfs_num(b, "pages_sharing", 0),
	       sysfs_num(b, "pages_zero", 0), sysfs_num(b, "pages_paged", 0),
	       st ? st->value : "?", sysfs_rate(a, b, "pages_scanned"),
	       sysfs_delta(a, b, "pages_sharing"),
	       sysfs_rate(a, b, "cow_breaks"), sysfs_rate(a, b, "paged_out"),
	       sysfs_rate(a, b, "paged_in"));
}

/* The rates of the interval from @a to @b. */
static void rates_json(struct json_writer *w, const struct status *a,
		       const struct status *b)
{
	jw_name(w, "rates");
	jw_begin_object(w);
	jw_double_field(w, "scanned_per_s", sysfs_rate(a, b, "pages_scanned"),
			1);
	jw_double_field(w, "skipped_cold_per_s",
			sysfs_rate(a, b, "skipped_unchanged"), 1);
	jw_double_field(w, "skipped_volatile_per_s",
			sysfs_rate(a, b, "skipped_volatile"), 1);
	jw_s64_field(w, "merged", sysfs_delta(a, b, "pages_sharing"));
	jw_double_field(w, "cow_breaks_per_s", sysfs_rate(a, b, "cow_breaks"),
			1);
	jw_double_field(w, "paged_out_per_s", sysfs_rate(a, b, "paged_out"),
			1);
	jw_double_field(w, "paged_in_per_s", sysfs_rate(a, b, "paged_in"), 1);
	jw_s64_field(w, "full_scans", sysfs_delta(a, b, "full_scans"));
	jw_end_object(w);
}

static void top_json(const struct status *a, const struct status *b)
{
	struct json_writer w;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	jw_init(&w, stdout);
	jw_begin_object(&w);
	/* Seconds since the epoch, to the millisecond (truncated). */
	jw_double_field(&w, "time",
			ts.tv_sec + (ts.tv_nsec / 1000000) / 1000.0, 3);
	jw_double_field(&w, "interval_s", b->when - a->when, 3);
	sysfs_json(&w, b);
	rates_json(&w, a, b);
	derived_json(&w, b);
	rows_json(&w, b);
	jw_end_object(&w);
}

/**
 * struct top_opts - what the options of top ask for
 * @mode:	screen, log or JSON
 * @interval:	seconds between readings
 * @count:	intervals to show, 0 for no end
 * @once:	--once: one interval
 */
struct top_opts {
	enum top_mode mode;
	double interval;
	unsigned long long count;
	bool once;
};

static int top_opt(const struct psharectl_cmd *cmd, int opt, const char *arg,
		   void *data)
{
	struct top_opts *o = data;

	switch (opt) {
	case 'd':
		if (!parse_secs(arg, 0.1, &o->interval))
			return bad_value(cmd, "-d", arg, "seconds, at least 0.1");
		break;
	case 'n':
		if (!parse_u64(arg, &o->count) || !o->count)
			return bad_value(cmd, "-n", arg,
					 "a count of at least 1");
		break;
	case '1':
		o->once = true;
		break;
	case 'l':
		o->mode = TOP_LOG;
		break;
	case 'j':
		o->mode = TOP_JSON;
		break;
	}
	return -1;
}

static int cmd_top(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct top_opts o = { .mode = TOP_SCREEN, .interval = 1.0 };
	char rows_err[PATH_MAX + 64] = "";
	struct status prev, cur;
	unsigned long long n;
	double next;
	bool tty;
	int rc;

	rc = parse_opts(cmd, argc, argv, top_opt, &o);
	if (rc >= 0)
		return rc;
	if (o.once)
		o.count = 1;
	tty = isatty(STDOUT_FILENO) && o.mode == TOP_SCREEN && !o.once;
	if (o.mode == TOP_LOG && !isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.mode == TOP_JSON)
		setvbuf(stdout, NULL, _IOLBF, 0);

	/* The log mode needs only sysfs; the others show the table too. */
	rc = read_status(&prev, o.mode != TOP_LOG, true);
	if (rc < 0)
		return EXIT_ERR;
	if (rc > 0) {
		char path[PATH_MAX];

		/* Say once why, then go on with the global counters. */
		snprintf(path, sizeof(path), "%s/pshare/regions", debugfs_mnt());
		status_free(&prev);
		if (read_status(&prev, true, false) < 0)
			return EXIT_ERR;
		snprintf(rows_err, sizeof(rows_err),
			 "%s unreadable, see the message above", path);
	}
	catch_stop_signals();
	if (o.mode == TOP_LOG)
		top_log_header();

	next = prev.when + o.interval;
	for (n = 0; !o.count || n < o.count; n++) {
		sleep_until(next);
		if (psharectl_stop)
			break;
		next += o.interval;
		if (read_status(&cur, o.mode != TOP_LOG, true) < 0) {
			status_free(&prev);
			return EXIT_ERR;
		}
		switch (o.mode) {
		case TOP_SCREEN:
			if (n && !tty)
				putchar('\n');
			top_screen(&prev, &cur, o.interval, tty, rows_err);
			break;
		case TOP_LOG:
			if (n && n % 20 == 0 && isatty(STDOUT_FILENO))
				top_log_header();
			top_log_line(&prev, &cur);
			break;
		case TOP_JSON:
			top_json(&prev, &cur);
			break;
		}
		status_free(&prev);
		prev = cur;
		if (fflush(stdout) != 0 || ferror(stdout))
			break;
	}
	status_free(&prev);
	return finish_output(EXIT_OK);
}

static const struct option top_longopts[] = {
	{ "delay", required_argument, NULL, 'd' },
	{ "count", required_argument, NULL, 'n' },
	{ "once", no_argument, NULL, '1' },
	{ "log", no_argument, NULL, 'l' },
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

const struct psharectl_cmd psharectl_top_cmd = {
	.name = "top",
	.args = "[-d SECS] [-n COUNT] [--once] [--log|--json]",
	.summary = "Live view of counters, rates and regions.",
	.help =
"\n"
"Reads the module every interval and shows what changed:\n"
"  scanned/s  pages the scanner hashed per second (pages_scanned)\n"
"  skipped/s  visits smart_scan skipped per second: cold pages (not\n"
"             written since found unchanged) and volatile ones\n"
"  merged     change of pages_sharing over the interval (negative when\n"
"             shared pages were broken, freed or unmerged)\n"
"  cow/s      copy-on-write breaks per second\n"
"  out/s in/s pages paged out to / in from backing files per second\n"
"and, per region (sorted by private memory), size, private, shared, zero,\n"
"paged, target, active%, and its cow, page-out and page-in rates.\n"
"On a terminal the screen is cleared before each refresh (plain ANSI, no\n"
"curses); otherwise refreshes follow each other. Ctrl-C ends it.\n"
"\n"
"  -d, --delay SECS   interval, default 1 (fractions allowed, >= 0.1)\n"
"  -n, --count COUNT  stop after COUNT intervals (default: run until killed)\n"
"      --once         one refresh after one interval, then exit\n"
"  -l, --log          vmstat-like: one line per interval, page counts\n"
"                     (private, shared frames, sharing, zero, paged), memory\n"
"                     state and the rates; needs only sysfs (any user)\n"
"  -j, --json         one JSON object per interval (one line each): time,\n"
"                     interval_s, sysfs, rates, derived, regions\n"
"Rates are measured over the interval, so the first output comes after\n"
"one interval.\n",
	.longopts = top_longopts,
	.shortopts = "d:n:1lj",
	.nargs = 0,
	.run = cmd_top,
};
