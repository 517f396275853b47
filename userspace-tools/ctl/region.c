// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl region FILE: the statistics of one region file, from
 * PSHARE_IOC_REGION_STATS, with the API they were read through.
 */
#include <stddef.h>
#include <string.h>

#include "psharectl.h"

/* @users: the module fills mappings and files_open. */
static void print_stats_text(const struct pshare_region_stats *rs, bool users)
{
	char h[32];

	printf("size:          %llu bytes (%s)\n",
	       (unsigned long long)rs->size, human(h, sizeof(h), rs->size));
	printf("pages_private: %llu (%s)  frames of its own: memory this region holds\n",
	       (unsigned long long)rs->pages_private,
	       hpages(h, sizeof(h), rs->pages_private));
	printf("pages_zero:    %llu (%s)  mapped to the shared zero frame, no memory of their own\n",
	       (unsigned long long)rs->pages_zero,
	       hpages(h, sizeof(h), rs->pages_zero));
	printf("pages_shared:  %llu (%s)  mapped to frames shared with other pages\n",
	       (unsigned long long)rs->pages_shared,
	       hpages(h, sizeof(h), rs->pages_shared));
	printf("cow_breaks:    %llu\n", (unsigned long long)rs->cow_breaks);
	printf("domain:        %llu\n", (unsigned long long)rs->domain);
	printf("shares:        %llu\n", (unsigned long long)rs->shares);
	printf("min_pages:     %llu (%s)\n", (unsigned long long)rs->min_pages,
	       hpages(h, sizeof(h), rs->min_pages));
	printf("max_pages:     %llu (%s)\n", (unsigned long long)rs->max_pages,
	       hpages(h, sizeof(h), rs->max_pages));
	printf("target_pages:  %llu (%s)  the allocator's target = balloon target\n",
	       (unsigned long long)rs->target_pages,
	       hpages(h, sizeof(h), rs->target_pages));
	printf("active:        %.1f%% (fast %.1f%%, slow %.1f%%, current period %.1f%%)\n",
	       rs->active_permille / 10.0, rs->active_fast / 10.0,
	       rs->active_slow / 10.0, rs->active_current / 10.0);
	printf("pages_paged:   %llu (%s)  in the backing file now\n",
	       (unsigned long long)rs->pages_paged,
	       hpages(h, sizeof(h), rs->pages_paged));
	printf("paged_out:     %llu  paged_in: %llu  (ever)\n",
	       (unsigned long long)rs->paged_out,
	       (unsigned long long)rs->paged_in);
	if (users)
		printf("mappings:      %llu  files_open: %llu  (this one included)\n",
		       (unsigned long long)rs->mappings,
		       (unsigned long long)rs->files_open);
}

/* The ioctl's (out) fields, by their uapi names. */
static const struct {
	const char *name;
	size_t offset;
} stats_fields[] = {
#define FIELD(f) { .name = #f, .offset = offsetof(struct pshare_region_stats, f) },
	PSHARE_REGION_STATS_FIELDS(FIELD)
#undef FIELD
};

/*
 * The member "stats": every field of the ioctl's answer, in the uapi's
 * order (size as size_bytes), and the page size.
 */
static void stats_json(struct json_writer *w,
		       const struct pshare_region_stats *rs)
{
	size_t i;
	__u64 v;

	jw_name(w, "stats");
	jw_begin_object(w);
	for (i = 0; i < ARRAY_SIZE(stats_fields); i++) {
		memcpy(&v, (const char *)rs + stats_fields[i].offset, sizeof(v));
		jw_u64_field(w, strcmp(stats_fields[i].name, "size") ?
			     stats_fields[i].name : "size_bytes", v);
	}
	jw_u64_field(w, "page_size", PSHARE_PAGE_SIZE);
	jw_end_object(w);
}

static int cmd_region(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct pshare_region_stats rs;
	struct json_writer w;
	bool json = false;
	const char *path;
	struct ctl c;
	int rc;

	rc = parse_opts(cmd, argc, argv, opt_json, &json);
	if (rc >= 0)
		return rc;
	path = argv[optind];

	if (ctl_open(&c, PSHARE_FEATURE_REGION_STATS))
		return EXIT_ERR;
	rc = region_stats(&c, path, &rs);
	ctl_close(&c);
	if (rc)
		return EXIT_ERR;

	if (json) {
		jw_init(&w, stdout);
		jw_begin_object(&w);
		jw_string_field(&w, "file", path);
		api_json(&w, &c.api);
		stats_json(&w, &rs);
		jw_end_object(&w);
		return finish_output(EXIT_OK);
	}
	printf("region:        %s\n", path);
	print_api_text(&c.api);
	print_stats_text(&rs, c.api.features & PSHARE_FEATURE_REGION_USERS);
	return finish_output(EXIT_OK);
}

const struct psharectl_cmd psharectl_region_cmd = {
	.name = "region",
	.args = "[--json] FILE",
	.summary = "Statistics of one region file (/dev/pshare ioctl).",
	.help =
"\n"
"Opens /dev/pshare, negotiates the API (PSHARE_IOC_API) and prints its\n"
"version and features, then opens FILE read-only and prints the result of\n"
"PSHARE_IOC_REGION_STATS: memory (private, zero, shared, cow breaks),\n"
"domain, policy (shares, min, max, target), active estimates, paging\n"
"counters, and the mappings and open files of the region (psharectl's own\n"
"open of FILE among them). Needs root (/dev/pshare is mode 0600).\n"
"\n"
"  -j, --json   one JSON object: file, api, stats\n",
	.longopts = json_longopts,
	.shortopts = "j",
	.nargs = 1,
	.nargs_what = "FILE",
	.run = cmd_region,
};
