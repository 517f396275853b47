// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl metrics: the global figures of sysfs and the per-region ones
 * of the debugfs table in the Prometheus text exposition format (0.0.4),
 * for node_exporter's textfile collector. Families are named pshare_...;
 * page counts become bytes, milliseconds seconds, percent and permille
 * ratios; figures the module counts since it was loaded ("ever") are
 * counters named ..._total, the rest gauges. --output writes a file
 * atomically (a temporary file in the same directory, fsync, rename), so
 * that the collector never reads half of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "psharectl.h"

/* What a raw value counts, and so how it becomes a base unit. */
enum unit {
	UNIT_ONE,		/* a number of things, as it is */
	UNIT_PAGES,		/* 4 KiB pages: bytes */
	UNIT_MILLI,		/* milliseconds: seconds */
	UNIT_PERCENT,		/* percent: a ratio */
	UNIT_PERMILLE,		/* permille: a ratio */
};

/* A raw value times mult, divided by div, is the metric's value. */
static const struct {
	unsigned long long mult;
	unsigned int div;
} units[] = {
	[UNIT_ONE] = { 1, 1 },
	[UNIT_PAGES] = { PSHARE_PAGE_SIZE, 1 },
	[UNIT_MILLI] = { 1, 1000 },
	[UNIT_PERCENT] = { 1, 100 },
	[UNIT_PERMILLE] = { 1, 1000 },
};

/**
 * struct metric - one family made of one figure
 * @src:	the sysfs file, or the region table's column
 * @name:	the family's name
 * @type:	"gauge" or "counter" (then @name ends in _total)
 * @help:	its HELP text (no backslash or newline)
 * @unit:	what the raw value counts
 * @offset:	per-region ones: where the column is in struct region_row
 */
struct metric {
	const char *src;
	const char *name;
	const char *type;
	const char *help;
	enum unit unit;
	size_t offset;
};

#define GAUGE(file, name, unit, help) \
	{ file, "pshare_" name, "gauge", help, unit, 0 }
#define COUNTER(file, name, unit, help) \
	{ file, "pshare_" name "_total", "counter", help, unit, 0 }

/* The numeric files of /sys/kernel/mm/pshare; memory_state is apart. */
static const struct metric global_metrics[] = {
	GAUGE("regions", "regions", UNIT_ONE,
	      "Region files alive in all pshare mounts, unlinked ones still in use included."),
	GAUGE("pages_private", "pages_private_bytes", UNIT_PAGES,
	      "Memory in private frames of all regions."),
	GAUGE("pages_zero", "pages_zero_bytes", UNIT_PAGES,
	      "Guest memory mapped to the one zero frame (holds no memory)."),
	GAUGE("pages_shared", "pages_shared_bytes", UNIT_PAGES,
	      "Memory in shared frames: frames two or more pages map."),
	GAUGE("pages_sharing", "pages_sharing_bytes", UNIT_PAGES,
	      "Memory saved by sharing: pages that map a shared frame, minus the frames."),
	GAUGE("pages_hinted", "pages_hinted", UNIT_ONE,
	      "Hints in the sharing hash table: scanned pages that matched nothing yet."),
	COUNTER("pages_scanned", "pages_scanned", UNIT_ONE,
		"Pages the scanner has hashed."),
	COUNTER("full_scans", "full_scans", UNIT_ONE,
		"Complete passes of the scanner over all regions."),
	COUNTER("skipped_unchanged", "skipped_unchanged", UNIT_ONE,
		"Scanner visits skipped: the page was unchanged and not written since (smart_scan)."),
	COUNTER("skipped_volatile", "skipped_volatile", UNIT_ONE,
		"Scanner visits skipped: the page changed at every recent visit (smart_scan)."),
	COUNTER("cold_woken", "cold_woken", UNIT_ONE,
		"Writes to pages the scanner was skipping as unchanged."),
	COUNTER("hint_hits", "hint_hits", UNIT_ONE,
		"Hash hits on an unchanged hint: candidate pairs compared in full."),
	COUNTER("stale_hints", "stale_hints", UNIT_ONE,
		"Hash hits on a hint whose page had changed or was gone."),
	COUNTER("false_matches", "false_matches", UNIT_ONE,
		"Full compares that found different content behind equal hashes."),
	COUNTER("merge_busy", "merge_busy", UNIT_ONE,
		"Merges skipped because the page had references pshare does not own."),
	COUNTER("cow_breaks", "cow_breaks", UNIT_ONE,
		"Copy-on-write breaks of zero-frame or shared pages in all regions."),
	GAUGE("pages_paged", "pages_paged_bytes", UNIT_PAGES,
	      "Guest memory now in backing files."),
	COUNTER("paged_out", "paged_out_bytes", UNIT_PAGES,
		"Bytes written to backing files."),
	COUNTER("paged_in", "paged_in_bytes", UNIT_PAGES,
		"Bytes read back from backing files."),
	COUNTER("fault_nomem_retries", "fault_nomem_retries", UNIT_ONE,
		"Guest faults through get_user_pages that failed to allocate and were retried."),
	GAUGE("run", "run", UNIT_ONE,
	      "The scanner knob: 0 stopped, 1 running, 2 unmerged."),
	GAUGE("pages_to_scan", "pages_to_scan", UNIT_ONE,
	      "Pages the scanner hashes per batch."),
	GAUGE("sleep_millisecs", "sleep_seconds", UNIT_MILLI,
	      "Pause of the scanner between batches."),
	GAUGE("smart_scan", "smart_scan", UNIT_ONE,
	      "1 if the scanner skips unchanged and volatile pages."),
	GAUGE("auto_scan", "auto_scan", UNIT_ONE,
	      "1 if the scanner sets its own rate (target_scan_secs, max_cpu_percent)."),
	GAUGE("target_scan_secs", "target_scan_seconds", UNIT_ONE,
	      "With auto_scan, the time a full pass should take."),
	GAUGE("max_cpu_percent", "max_cpu_ratio", UNIT_PERCENT,
	      "With auto_scan, the most of one CPU the scanner may use."),
	GAUGE("min_pages_to_scan", "min_pages_to_scan", UNIT_ONE,
	      "With auto_scan, the smallest batch of the scanner."),
	GAUGE("max_pages_to_scan", "max_pages_to_scan", UNIT_ONE,
	      "With auto_scan, the largest batch of the scanner."),
	GAUGE("merge_across_domains", "merge_across_domains", UNIT_ONE,
	      "1 if pages merge across sharing domains."),
	GAUGE("limit_pages", "limit_bytes", UNIT_PAGES,
	      "Most memory all regions may hold together (private plus shared frames); 0 for no limit."),
	GAUGE("idle_tax_percent", "idle_tax_ratio", UNIT_PERCENT,
	      "The idle memory tax rate."),
	GAUGE("sample_period_secs", "sample_period_seconds", UNIT_ONE,
	      "Length of one sampling period of the active memory estimate."),
	GAUGE("sample_pages", "sample_pages", UNIT_ONE,
	      "Pages sampled per region in each sampling period."),
};

#define REGION(col, name, type, unit, help)				\
	{ #col, "pshare_region_" name, type, help, unit,		\
	  offsetof(struct region_row, st.col) }

/* The columns of the region table; domain is a label. */
static const struct metric region_metrics[] = {
	REGION(size, "size_bytes", "gauge", UNIT_ONE,
	       "Size of the region file: the guest RAM it backs."),
	REGION(pages_private, "private_bytes", "gauge", UNIT_PAGES,
	       "Memory the region holds in private frames."),
	REGION(pages_zero, "zero_bytes", "gauge", UNIT_PAGES,
	       "Guest memory of the region mapped to the zero frame."),
	REGION(pages_shared, "shared_bytes", "gauge", UNIT_PAGES,
	       "Guest memory of the region mapped to shared frames."),
	REGION(cow_breaks, "cow_breaks_total", "counter", UNIT_ONE,
	       "Copy-on-write breaks in the region."),
	REGION(shares, "shares", "gauge", UNIT_ONE,
	       "Allocation shares of the region."),
	REGION(min_pages, "min_bytes", "gauge", UNIT_PAGES,
	       "Memory never reclaimed from the region."),
	REGION(max_pages, "max_bytes", "gauge", UNIT_PAGES,
	       "Most memory the region may hold."),
	REGION(target_pages, "target_bytes", "gauge", UNIT_PAGES,
	       "Memory the allocator wants the region to hold: its balloon target."),
	REGION(active_permille, "active_ratio", "gauge", UNIT_PERMILLE,
	       "Estimated active fraction the allocator uses."),
	REGION(active_fast, "active_fast_ratio", "gauge", UNIT_PERMILLE,
	       "Fast moving average of the sampled active fraction."),
	REGION(active_slow, "active_slow_ratio", "gauge", UNIT_PERMILLE,
	       "Slow moving average of the sampled active fraction."),
	REGION(active_current, "active_current_ratio", "gauge", UNIT_PERMILLE,
	       "Active fraction sampled in the current period so far."),
	REGION(pages_paged, "paged_bytes", "gauge", UNIT_PAGES,
	       "Guest memory of the region now in its backing file."),
	REGION(paged_out, "paged_out_bytes_total", "counter", UNIT_PAGES,
	       "Bytes written to the region's backing file."),
	REGION(paged_in, "paged_in_bytes_total", "counter", UNIT_PAGES,
	       "Bytes read back from the region's backing file."),
};

/* The values memory_state takes, in order of rising pressure. */
static const char *const memory_states[] = { "high", "soft", "hard", "low" };

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value(FILE *f, const struct metric *m, unsigned long long v)
{
	if (units[m->unit].div == 1)
		fprintf(f, " %llu\n", v * units[m->unit].mult);
	else
		fprintf(f, " %.6g\n", (double)v * units[m->unit].mult /
			units[m->unit].div);
}

/* A label value, escaped as the format wants: backslash, quote, newline. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void print_global(FILE *f, const struct status *s)
{
	const struct sysfs_entry *e;
	bool known = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(global_metrics); i++) {
		const struct metric *m = &global_metrics[i];

		e = sysfs_find(s, m->src);
		if (!e || !e->is_num)
			continue;	/* an older module, or unreadable */
		family(f, m->name, m->type, m->help);
		fputs(m->name, f);
		value(f, m, e->num);
	}

	e = sysfs_find(s, "memory_state");
	if (!e)
		return;
	family(f, "pshare_memory_state", "gauge",
	       "The host's free memory state: 1 for the state it is in, 0 for the others.");
	for (i = 0; i < ARRAY_SIZE(memory_states); i++) {
		known |= !strcmp(e->value, memory_states[i]);
		fprintf(f, "pshare_memory_state{state=\"%s\"} %d\n",
			memory_states[i], !strcmp(e->value, memory_states[i]));
	}
	if (!known) {
		fputs("pshare_memory_state{state=\"", f);
		label_value(f, e->value);
		fputs("\"} 1\n", f);
	}
}

/*
 * Each family once, one series per region. ino is a label too: two
 * regions of one name exist in two mounts, and unlinked regions are all
 * "(deleted)"; without it their series would collide.
 */
static void print_regions(FILE *f, const struct status *s)
{
	unsigned long long v;
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(region_metrics); i++) {
		const struct metric *m = &region_metrics[i];

		family(f, m->name, m->type, m->help);
		for (j = 0; j < s->nr_rows; j++) {
			const struct region_row *r = &s->rows[j];

			memcpy(&v, (const char *)r + m->offset, sizeof(v));
			fprintf(f, "%s{region=\"", m->name);
			label_value(f, r->name);
			fprintf(f, "\",domain=\"%llu\",ino=\"%llu\"}",
				r->st.domain, r->ino);
			value(f, m, v);
		}
	}
}

static void print_metrics(FILE *f, const struct status *s)
{
	print_global(f, s);
	if (s->have_rows)
		print_regions(f, s);
	else
		fprintf(f, "# pshare per-region metrics omitted: %s\n", s->why);
}

/* Write @s into @path atomically: @path.tmp, fsync, rename. */
static int write_file(const char *path, const struct status *s)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, dfd, err = 0;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		err_msg("%s: name too long", path);
		return EXIT_ERR;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_msg("%s: %s", tmp, strerror(errno));
		return EXIT_ERR;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		goto fail;
	}
	print_metrics(f, s);
	if (fflush(f) || ferror(f) || fsync(fd))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err)
		goto fail;
	/* The rename itself lasts once the directory is on disk. */
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return EXIT_OK;
fail:
	err_msg("writing %s: %s", tmp, strerror(err));
	unlink(tmp);
	return EXIT_ERR;
}

static int opt_output(const struct psharectl_cmd *cmd, int opt,
		      const char *arg, void *data)
{
	(void)opt;
	if (!*arg)
		return bad_value(cmd, "--output", arg, "a file name");
	*(const char **)data = arg;
	return -1;
}

static int cmd_metrics(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	const char *output = NULL;
	struct status s;
	int rc;

	rc = parse_opts(cmd, argc, argv, opt_output, &output);
	if (rc >= 0)
		return rc;

	/* Without the table (debugfs, root) the global figures still count. */
	if (read_status(&s, true, false) < 0)
		return EXIT_ERR;
	if (output) {
		rc = write_file(output, &s);
	} else {
		print_metrics(stdout, &s);
		rc = finish_output(EXIT_OK);
	}
	status_free(&s);
	return rc;
}

static const struct option metrics_longopts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

const struct psharectl_cmd psharectl_metrics_cmd = {
	.name = "metrics",
	.args = "[--output FILE]",
	.summary = "Global and per-region figures for Prometheus.",
	.help =
"\n"
"Prints the figures of /sys/kernel/mm/pshare and of the region table\n"
"/sys/kernel/debug/pshare/regions in the Prometheus text exposition\n"
"format (0.0.4), for node_exporter's textfile collector. Every family has\n"
"# HELP and # TYPE lines and is named pshare_...; sizes are in bytes,\n"
"times in seconds, fractions as ratios (0..1); counters since the module\n"
"was loaded end in _total. Per-region families (pshare_region_...) have\n"
"the labels region (the file name, \"(deleted)\" for an unlinked region),\n"
"domain (its sharing domain) and ino (its inode number).\n"
"\n"
"The region table needs debugfs and root; without it the global figures\n"
"are printed, a comment line says why the others are missing, and the\n"
"exit status is still 0. Without the module the exit status is 1.\n"
"\n"
"  -o, --output FILE  write FILE atomically instead of printing: FILE.tmp\n"
"                     in the same directory, fsync, rename; e.g.\n"
"                     /var/lib/prometheus/node-exporter/pshare.prom\n",
	.longopts = metrics_longopts,
	.shortopts = "o:",
	.nargs = 0,
	.run = cmd_metrics,
};
