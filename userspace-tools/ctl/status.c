// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl status: every sysfs file, the region table of debugfs, and
 * the figures derived from them, once.
 */
#include <string.h>

#include "psharectl.h"

/* The debugfs table, one line per region, sizes for people. */
static void print_region_table(const struct status *s)
{
	size_t i, w = name_width(s, 4);
	char h[9][32];

	printf("  %-*s %6s %7s %6s %6s %6s %4s %9s %6s %6s %6s %6s %6s\n",
	       (int)w, "NAME", "SIZE", "PRIVATE", "ZERO", "SHARED", "COW",
	       "DOM", "SHARES", "MIN", "MAX", "TARGET", "ACT%", "PAGED");
	for (i = 0; i < s->nr_rows; i++) {
		const struct region_row *r = &s->rows[i];

		printf("  %-*.*s %6s %7s %6s %6s %6llu %4llu %9llu %6s %6s %6s %6s %6s\n",
		       (int)w, (int)w, r->name, human(h[0], 32, r->st.size),
		       hpages(h[1], 32, r->st.pages_private), hpages(h[2], 32, r->st.pages_zero),
		       hpages(h[3], 32, r->st.pages_shared), r->st.cow_breaks, r->st.domain,
		       r->st.shares, hpages(h[4], 32, r->st.min_pages),
		       hpages(h[5], 32, r->st.max_pages), hpages(h[6], 32, r->st.target_pages),
		       pct_str(h[7], 32, r->st.active_permille),
		       hpages(h[8], 32, r->st.pages_paged));
	}
	if (!s->nr_rows)
		printf("  (no regions)\n");
}

/*
 * The regions nobody maps or has open, with what they hold: their memory
 * stays until the file is removed.
 */
static void print_orphans(const struct status *s)
{
	size_t i, n = 0, w = name_width(s, 4);
	char h[3][32];

	printf("\norphans (no mapping, no open file: memory stays until the file is removed):\n");
	for (i = 0; i < s->nr_rows; i++) {
		const struct region_row *r = &s->rows[i];

		if (!row_orphan(r))
			continue;
		if (!n++)
			printf("  %-*s %6s %7s %6s\n", (int)w, "NAME", "SIZE",
			       "PRIVATE", "PAGED");
		printf("  %-*.*s %6s %7s %6s\n", (int)w, (int)w, r->name,
		       human(h[0], 32, r->st.size),
		       hpages(h[1], 32, r->st.pages_private),
		       hpages(h[2], 32, r->st.pages_paged));
	}
	if (!n)
		printf("  (none)\n");
}

/* One derived figure: its name, its value, and what it means. */
static void derived_line(const char *name, const char *value,
			 const char *what)
{
	printf("  %-22s %9s  %s\n", name, value, what);
}

static void print_derived_text(const struct status *s)
{
	struct derived d;
	char h[64];

	derive(s, &d);
	printf("\nderived:\n");
	if (s->have_rows)
		derived_line("regions total size",
			     hpages(h, sizeof(h), d.size_pages),
			     "guest RAM the regions describe");
	derived_line("held", hpages(h, sizeof(h), d.held),
		     "private frames + shared frames (what limit_pages bounds)");
	derived_line("saved by sharing", hpages(h, sizeof(h), d.saved),
		     "pages_sharing");
	derived_line("sharing ratio", ratio_str(h, sizeof(h), d.sharing_ratio),
		     "pages_sharing / pages_shared: pages saved per shared frame");
	derived_line("zero pages", hpages(h, sizeof(h), d.zero),
		     "read but never written (or merged as zero): one zero frame");
	if (s->have_rows)
		derived_line("holes", hpages(h, sizeof(h), d.hole_pages),
			     "never touched or punched (balloon): no frame");
	derived_line("paged out", hpages(h, sizeof(h), d.paged),
		     "in backing files");
	if (s->have_rows)
		derived_line("overcommit ratio",
			     ratio_str(h, sizeof(h), d.overcommit),
			     "regions total size / held");
	printf("  %-22s %9s\n", "memory_state", d.state);
	printf("  %-22s %s\n", "limit", limit_str(h, sizeof(h), d.limit));
	if (d.limit)
		derived_line("headroom",
			     d.limit > d.held ?
			     hpages(h, sizeof(h), d.limit - d.held) : "0",
			     "limit - held");
}

static void print_status_text(const struct status *s)
{
	size_t i;
	char h[32];

	printf("%s:\n", sysfs_dir());
	for (i = 0; i < s->nr_sys; i++) {
		const struct sysfs_entry *e = &s->sys[i];

		if (e->err)
			printf("  %-20s (unreadable: %s)\n", e->name,
			       strerror(e->err));
		else if (is_pages(e))
			printf("  %-20s %-12s %s\n", e->name, e->value,
			       hpages(h, sizeof(h), e->num));
		else
			printf("  %-20s %s\n", e->name, e->value);
	}
	if (s->have_rows) {
		printf("\n%s/pshare/regions:\n", debugfs_mnt());
		print_region_table(s);
		if (s->have_users)
			print_orphans(s);
	}
	print_derived_text(s);
}

static void print_status_json(const struct status *s)
{
	struct json_writer w;

	jw_init(&w, stdout);
	jw_begin_object(&w);
	jw_u64_field(&w, "page_size", PSHARE_PAGE_SIZE);
	sysfs_json(&w, s);
	rows_json(&w, s);
	derived_json(&w, s);
	jw_end_object(&w);
}

static int cmd_status(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	bool json = false;
	struct status s;
	int rc;

	rc = parse_opts(cmd, argc, argv, opt_json, &json);
	if (rc >= 0)
		return rc;

	rc = read_status(&s, true, false);
	if (rc < 0)
		return EXIT_ERR;
	/* Without the table, still show the counters, then fail. */
	rc = rc ? EXIT_ERR : EXIT_OK;
	if (!pshare_mounted())
		fprintf(stderr, "psharectl: note: no pshare filesystem is mounted; QEMU needs one: %s\n",
			PSHARE_MOUNT_HINT);

	if (json)
		print_status_json(&s);
	else
		print_status_text(&s);
	status_free(&s);
	return finish_output(rc);
}

const struct psharectl_cmd psharectl_status_cmd = {
	.name = "status",
	.args = "[--json]",
	.summary = "Global knobs and counters, per-region table, derived figures.",
	.help =
"\n"
"Prints every file of /sys/kernel/mm/pshare (page counts also in bytes),\n"
"then one line per region from /sys/kernel/debug/pshare/regions:\n"
"  NAME     the region file (name, or \"(deleted)\")\n"
"  SIZE     file size = guest RAM it backs\n"
"  PRIVATE  memory held in frames of its own\n"
"  ZERO     pages mapped to the one zero frame\n"
"  SHARED   pages mapped to frames shared with other pages\n"
"  COW      copy-on-write breaks so far\n"
"  DOM      sharing domain\n"
"  SHARES   allocation shares (default: the size in pages)\n"
"  MIN MAX  pages never reclaimed / pages the region may hold\n"
"  TARGET   what the allocator wants it to hold: the balloon target\n"
"  ACT%     estimated active memory (max of fast, slow, current)\n"
"  PAGED    pages now in the region's backing file\n"
"then the orphans: regions that no process maps or has open (a QEMU that\n"
"was killed while its mem-path file stayed linked), with their size, the\n"
"memory they hold alone and what is in their backing file; that memory\n"
"stays until the file is removed (see the admin guide, \"OOM\").\n"
"then derived figures: held (private + shared frames, what limit_pages\n"
"bounds), memory saved by sharing (pages_sharing), the sharing ratio\n"
"(pages_sharing / pages_shared), zero pages, holes, paged-out pages, the\n"
"overcommit ratio (sum of region sizes / held), memory_state and the\n"
"limit. Sizes use binary units (K = 1024 bytes); one page is 4 KiB.\n"
"\n"
"The region table needs debugfs and root; without it the counters are\n"
"printed and the exit status is 1.\n"
"\n"
"  -j, --json   one JSON object: page_size, sysfs (name -> number, string,\n"
"               or null if unreadable), regions (list with every column\n"
"               and orphan: true, false, or null from a module that does\n"
"               not tell; null when the table could not be read), derived\n",
	.longopts = json_longopts,
	.shortopts = "j",
	.nargs = 0,
	.run = cmd_status,
};
