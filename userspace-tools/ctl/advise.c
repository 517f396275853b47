// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl advise: how many more VMs of one shape fit on this host now,
 * without paging or ballooning, from the figures pshare measures (the
 * region table, the global counters) and the host's /proc/meminfo. This
 * file reads and prints; the arithmetic is advise_model.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psharectl.h"

/**
 * struct advise_opts - the command line
 * @size_pages:	--size, 0 when not given
 * @domain:	--domain (if @have_domain)
 * @have_domain: --domain was given
 * @n_plus_one:	--headroom / --n-plus-one
 * @json:	--json
 */
struct advise_opts {
	unsigned long long size_pages;
	unsigned int domain;
	bool have_domain;
	bool n_plus_one;
	bool json;
};

static const struct option advise_longopts[] = {
	{ "size", required_argument, NULL, 's' },
	{ "domain", required_argument, NULL, 'd' },
	{ "headroom", no_argument, NULL, 'H' },
	{ "n-plus-one", no_argument, NULL, 'H' },
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

static int advise_opt(const struct psharectl_cmd *cmd, int opt,
		      const char *arg, void *data)
{
	struct advise_opts *o = data;
	unsigned long long v;

	switch (opt) {
	case 's':
		if (!parse_pages(arg, &v))
			return bad_value(cmd, "--size", arg,
					 "PAGES or a SIZE like 2G");
		if (!v)
			return bad_value(cmd, "--size", arg,
					 "a size of at least one page (4K)");
		if (v > PSHARE_PAGES_LIMIT)
			return bad_value(cmd, "--size", arg,
					 "at most 2^28 pages (1T), the largest region pshare supports");
		o->size_pages = v;
		break;
	case 'd':
		if (!parse_u64(arg, &v) || v > UINT32_MAX)
			return bad_value(cmd, "--domain", arg,
					 "a number from 0 to 4294967295");
		o->domain = (unsigned int)v;
		o->have_domain = true;
		break;
	case 'H':
		o->n_plus_one = true;
		break;
	case 'j':
		o->json = true;
		break;
	}
	return -1;
}

/*
 * MemTotal and MemAvailable of /proc/meminfo (or $PSHARECTL_MEMINFO), in
 * pages. Reports and returns -1 when either is missing.
 */
static int read_meminfo(unsigned long long *total, unsigned long long *avail)
{
	const char *path = meminfo_path();
	bool have_total = false, have_avail = false;
	unsigned long long kb;
	char line[256];
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		err_msg("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
			*total = kb / (PSHARE_PAGE_SIZE / 1024);
			have_total = true;
		} else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			*avail = kb / (PSHARE_PAGE_SIZE / 1024);
			have_avail = true;
		}
	}
	fclose(f);
	if (!have_total || !have_avail) {
		err_msg("%s: no %s line: the host's available memory is unknown (kernel before 3.14?)",
			path, have_total ? "MemAvailable" : "MemTotal");
		return -1;
	}
	return 0;
}

/* "45.0%" for 450 permille. */
static const char *pct(char *buf, size_t len, unsigned int permille)
{
	char p[16];

	snprintf(buf, len, "%s%%", pct_str(p, sizeof(p), permille));
	return buf;
}

static void print_advise_text(const struct advise_in *in,
			      const struct advise_out *o, bool from_domain)
{
	char h[6][32];

	if (o->domain_regions || in->have_domain)
		printf("%-16s %u (%zu region%s)\n", "domain", o->domain,
		       o->domain_regions, o->domain_regions == 1 ? "" : "s");
	else
		printf("%-16s none (no regions)\n", "domain");
	printf("%-16s %s%s\n", "size", hpages(h[0], 32, o->size_pages),
	       from_domain ? " (mean of the domain's regions)" : "");
	if (!o->domain_regions)
		printf("%-16s no regions to measure: assumed fully active, nothing shared\n",
		       "model");
	printf("%-16s %s of the size\n", "touched",
	       pct(h[0], 32, o->touched_permille));
	printf("%-16s %s of touched pages expected (low %s, high %s)\n",
	       "active", pct(h[0], 32, o->active_permille[ADVISE_EXPECTED]),
	       pct(h[1], 32, o->active_permille[ADVISE_LOW]),
	       pct(h[2], 32, o->active_permille[ADVISE_HIGH]));
	printf("%-16s %s of touched pages are zero or shared\n", "sharing",
	       pct(h[0], 32, o->sharing_permille));
	printf("%-16s %s expected (low %s, high %s)\n", "per new VM",
	       hpages(h[0], 32, o->per_vm_pages[ADVISE_EXPECTED]),
	       hpages(h[1], 32, o->per_vm_pages[ADVISE_LOW]),
	       hpages(h[2], 32, o->per_vm_pages[ADVISE_HIGH]));
	printf("%-16s %s = MemAvailable %s - %s (%d%% of MemTotal %s: reclaim starts below)\n",
	       "host room", hpages(h[0], 32, o->host_room),
	       hpages(h[1], 32, in->mem_avail_pages),
	       hpages(h[2], 32, o->threshold_pages), ADVISE_HIGH_PERCENT,
	       hpages(h[3], 32, in->mem_total_pages));
	if (o->have_limit)
		printf("%-16s %s = limit_pages %s - held %s\n", "limit room",
		       hpages(h[0], 32, o->limit_room),
		       hpages(h[1], 32, in->limit_pages),
		       hpages(h[2], 32, in->held_pages));
	else
		printf("%-16s none (limit_pages 0)\n", "limit room");
	printf("%-16s %s (frames they need to come back are kept)\n", "paged out",
	       hpages(h[0], 32, in->paged_pages));
	if (in->n_plus_one)
		printf("%-16s %s (--n-plus-one: the largest region kept free)\n",
		       "headroom", hpages(h[0], 32, o->headroom_pages));
	printf("%-16s %s\n", "available", hpages(h[0], 32, o->available_pages));
	printf("%-16s %llu more VM%s expected (range %llu to %llu), bound by %s\n",
	       "fit", o->fit[ADVISE_EXPECTED],
	       o->fit[ADVISE_EXPECTED] == 1 ? "" : "s", o->fit[ADVISE_LOW],
	       o->fit[ADVISE_HIGH], advise_binding_name(o->binding));
}

/* An object of three members, expected, low and high. */
static void three_json(struct json_writer *w, const char *name,
		       const unsigned long long v[ADVISE_NR],
		       unsigned long long unit)
{
	jw_name(w, name);
	jw_begin_object(w);
	jw_u64_field(w, "expected", v[ADVISE_EXPECTED] * unit);
	jw_u64_field(w, "low", v[ADVISE_LOW] * unit);
	jw_u64_field(w, "high", v[ADVISE_HIGH] * unit);
	jw_end_object(w);
}

static void print_advise_json(const struct advise_in *in,
			      const struct advise_out *o, bool from_domain)
{
	unsigned long long act[ADVISE_NR];
	struct json_writer w;
	int e;

	for (e = 0; e < ADVISE_NR; e++)
		act[e] = o->active_permille[e];
	jw_init(&w, stdout);
	jw_begin_object(&w);
	if (o->domain_regions || in->have_domain)
		jw_u64_field(&w, "domain", o->domain);
	else
		jw_null_field(&w, "domain");
	jw_u64_field(&w, "domain_regions", o->domain_regions);
	jw_u64_field(&w, "size_bytes", o->size_pages * PSHARE_PAGE_SIZE);
	jw_string_field(&w, "size_from", from_domain ? "domain_mean" : "option");
	three_json(&w, "fit", o->fit, 1);
	jw_string_field(&w, "binding", advise_binding_name(o->binding));
	three_json(&w, "per_vm_bytes", o->per_vm_pages, PSHARE_PAGE_SIZE);
	three_json(&w, "active_permille", act, 1);
	jw_u64_field(&w, "touched_permille", o->touched_permille);
	jw_u64_field(&w, "sharing_permille", o->sharing_permille);
	jw_u64_field(&w, "available_bytes", o->available_pages * PSHARE_PAGE_SIZE);
	jw_u64_field(&w, "host_room_bytes", o->host_room * PSHARE_PAGE_SIZE);
	if (o->have_limit)
		jw_u64_field(&w, "limit_room_bytes",
			     o->limit_room * PSHARE_PAGE_SIZE);
	else
		jw_null_field(&w, "limit_room_bytes");
	jw_u64_field(&w, "paged_bytes", in->paged_pages * PSHARE_PAGE_SIZE);
	jw_u64_field(&w, "headroom_bytes", o->headroom_pages * PSHARE_PAGE_SIZE);
	jw_u64_field(&w, "reclaim_threshold_bytes",
		     o->threshold_pages * PSHARE_PAGE_SIZE);
	jw_u64_field(&w, "mem_total_bytes", in->mem_total_pages * PSHARE_PAGE_SIZE);
	jw_u64_field(&w, "mem_available_bytes",
		     in->mem_avail_pages * PSHARE_PAGE_SIZE);
	jw_u64_field(&w, "limit_pages", in->limit_pages);
	jw_u64_field(&w, "held_bytes", in->held_pages * PSHARE_PAGE_SIZE);
	jw_end_object(&w);
}

static int cmd_advise(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct advise_opts o = { 0 };
	struct advise_out out;
	struct advise_in in;
	struct derived d;
	struct status s;
	int rc;

	rc = parse_opts(cmd, argc, argv, advise_opt, &o);
	if (rc >= 0)
		return rc;

	rc = read_status(&s, true, false);
	if (rc)
		goto out;
	memset(&in, 0, sizeof(in));
	if (read_meminfo(&in.mem_total_pages, &in.mem_avail_pages)) {
		rc = 1;
		goto out;
	}
	derive(&s, &d);
	in.rows = s.rows;
	in.nr_rows = s.nr_rows;
	in.domain = o.domain;
	in.have_domain = o.have_domain;
	in.size_pages = o.size_pages;
	in.n_plus_one = o.n_plus_one;
	in.limit_pages = d.limit;
	in.held_pages = d.held;
	in.paged_pages = d.paged;

	switch (advise_compute(&in, &out)) {
	case ADVISE_NO_REGIONS:
		err_msg("advise: no regions to model a new VM on: give its size (--size 2G)");
		rc = 1;
		goto out;
	case ADVISE_EMPTY_DOMAIN:
		err_msg("advise: domain %u has no regions: give the new VM's size (--size 2G), or a domain that has regions (psharectl status shows them)",
			o.domain);
		rc = 1;
		goto out;
	case ADVISE_OK:
		break;
	}
	if (o.json)
		print_advise_json(&in, &out, !o.size_pages);
	else
		print_advise_text(&in, &out, !o.size_pages);
out:
	status_free(&s);
	return rc ? EXIT_ERR : finish_output(EXIT_OK);
}

const struct psharectl_cmd psharectl_advise_cmd = {
	.name = "advise",
	.args = "[--size SIZE] [--domain N] [--n-plus-one] [--json]",
	.summary = "How many more VMs of one shape fit now, without reclaim.",
	.help =
"\n"
"Estimates from live figures how many more VMs of one shape this host\n"
"holds before pshare has to reclaim (balloon or page). A new VM is\n"
"expected to touch as much of its size as its domain's regions did, to\n"
"hold the active part of that (the fraction of resident pages the sampler\n"
"finds active there), less what sharing saves (the domain's zero and\n"
"shared pages per touched page), and nothing for pages it never touches\n"
"or that are idle. The memory for new VMs is the smaller of\n"
"limit_pages less what the regions hold and MemAvailable less 6% of\n"
"MemTotal (where the memory state drops from high to soft and reclaim\n"
"starts), less pages now paged out and the N+1 headroom. The range comes\n"
"from the spread of the active estimates across the domain's regions.\n"
"These are estimates: see 'Capacity: psharectl advise' in the admin guide.\n"
"\n"
"  -s, --size SIZE   the new VM's RAM: PAGES or a SIZE like 2G (default:\n"
"                    the mean size of the domain's regions)\n"
"  -d, --domain N    the sharing domain it joins (default: the domain with\n"
"                    the most regions)\n"
"  -H, --headroom, --n-plus-one\n"
"                    keep the size of the largest region free for\n"
"                    failover\n"
"  -j, --json        one JSON object: domain, domain_regions, size_bytes,\n"
"                    size_from, fit {expected, low, high}, binding\n"
"                    (limit_pages, host_memory or headroom), per_vm_bytes\n"
"                    {expected, low, high}, active_permille {...},\n"
"                    touched_permille, sharing_permille, available_bytes,\n"
"                    host_room_bytes, limit_room_bytes (null: no limit),\n"
"                    paged_bytes, headroom_bytes, reclaim_threshold_bytes,\n"
"                    mem_total_bytes, mem_available_bytes, limit_pages,\n"
"                    held_bytes\n"
"\n"
"Needs the debugfs region table (root). Exit status 1 when there is no\n"
"region to model the VM on and no --size, or a figure cannot be read.\n",
	.longopts = advise_longopts,
	.shortopts = "s:d:Hj",
	.nargs = 0,
	.run = cmd_advise,
};
