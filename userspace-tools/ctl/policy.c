// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl policy FILE: show or set a region's shares, min and max
 * (PSHARE_IOC_REGION_SET_POLICY).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "psharectl.h"

/* Print the policy part of a region's statistics after a change. */
static void print_policy_result(const char *path,
				const struct pshare_region_stats *rs)
{
	char h[4][32];

	printf("%s: shares %llu, min %llu pages (%s), max %llu pages (%s), target %llu pages (%s), held %s, domain %llu\n",
	       path, (unsigned long long)rs->shares,
	       (unsigned long long)rs->min_pages,
	       hpages(h[0], 32, rs->min_pages),
	       (unsigned long long)rs->max_pages,
	       hpages(h[1], 32, rs->max_pages),
	       (unsigned long long)rs->target_pages,
	       hpages(h[2], 32, rs->target_pages),
	       hpages(h[3], 32, rs->pages_private),
	       (unsigned long long)rs->domain);
}

/*
 * One policy value: a count (@pages false) or PAGES|SIZE (@pages true), at
 * most @limit, or 'default' where @can_default. False if @arg is none of
 * these.
 */
static bool policy_value(const char *arg, bool pages, bool can_default,
			 unsigned long long limit, __u64 *out)
{
	unsigned long long v;

	if (can_default && !strcmp(arg, "default")) {
		*out = PSHARE_POLICY_DEFAULT;
		return true;
	}
	if (!(pages ? parse_pages(arg, &v) : parse_u64(arg, &v)) || v > limit)
		return false;
	*out = v;
	return true;
}

/* Each option sets one field of the policy and its flag (@data). */
static int policy_opt(const struct psharectl_cmd *cmd, int opt,
		      const char *arg, void *data)
{
	struct pshare_region_policy *pol = data;

	switch (opt) {
	case 's':
		pol->flags |= PSHARE_POLICY_SHARES;
		if (!policy_value(arg, false, true, PSHARE_SHARES_LIMIT,
				  &pol->shares))
			return bad_value(cmd, "--shares", arg,
					 "a number up to 2^30 (1073741824), or 'default' (the size in pages)");
		break;
	case 'm':
		pol->flags |= PSHARE_POLICY_MIN;
		if (!policy_value(arg, true, false, PSHARE_PAGES_LIMIT,
				  &pol->min_pages))
			return bad_value(cmd, "--min", arg,
					 "PAGES or a SIZE like 512M, at most 2^28 pages (1T)");
		break;
	case 'M':
		pol->flags |= PSHARE_POLICY_MAX;
		if (!policy_value(arg, true, true, PSHARE_PAGES_LIMIT,
				  &pol->max_pages))
			return bad_value(cmd, "--max", arg,
					 "PAGES or a SIZE like 2G, at most 2^28 pages (1T), or 'default' (the size)");
		break;
	}
	return -1;
}

static int cmd_policy(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct pshare_region_policy pol;
	struct pshare_region_stats rs;
	unsigned long long new_max;
	const char *path;
	struct ctl c;
	int fd, rc;

	memset(&pol, 0, sizeof(pol));
	rc = parse_opts(cmd, argc, argv, policy_opt, &pol);
	if (rc >= 0)
		return rc;
	path = argv[optind];

	rc = EXIT_ERR;
	fd = ctl_open_region(&c, PSHARE_FEATURE_POLICY |
			     PSHARE_FEATURE_REGION_STATS, path);
	if (fd < 0)
		return rc;
	if (region_stats_fd(&c, path, fd, &rs))
		goto out_fd;
	if (!pol.flags) {
		/* Nothing to set: show the policy. */
		print_policy_result(path, &rs);
		rc = finish_output(EXIT_OK);
		goto out_fd;
	}

	new_max = !(pol.flags & PSHARE_POLICY_MAX) ? rs.max_pages :
		  pol.max_pages == PSHARE_POLICY_DEFAULT ?
		  (rs.size + PSHARE_PAGE_SIZE - 1) / PSHARE_PAGE_SIZE :
		  pol.max_pages;
	pol.argsz = sizeof(pol);
	pol.fd = fd;
	if (ioctl(c.devfd, PSHARE_IOC_REGION_SET_POLICY, &pol)) {
		int err = errno;
		unsigned long long min = pol.flags & PSHARE_POLICY_MIN ?
					 pol.min_pages : rs.min_pages;

		if (err == EINVAL && min > new_max)
			err_msg("%s: min %llu pages is above max %llu pages (EINVAL): lower --min or raise --max",
				path, min, new_max);
		else
			explain_region_err(&c, "PSHARE_IOC_REGION_SET_POLICY",
					   path, fd, err);
		goto out_fd;
	}
	if (region_stats_fd(&c, path, fd, &rs))
		goto out_fd;
	print_policy_result(path, &rs);
	rc = finish_output(EXIT_OK);
out_fd:
	close(fd);
	ctl_close(&c);
	return rc;
}

/* Long forms only: -s, -m and -M are unknown options, as they always were. */
static const struct option policy_longopts[] = {
	{ "shares", required_argument, NULL, 's' },
	{ "min", required_argument, NULL, 'm' },
	{ "max", required_argument, NULL, 'M' },
	{ NULL, 0, NULL, 0 },
};

const struct psharectl_cmd psharectl_policy_cmd = {
	.name = "policy",
	.args = "FILE [--shares N|default] [--min PAGES|SIZE] [--max PAGES|SIZE|default]",
	.summary = "Show or set a region's shares, min and max.",
	.help =
"\n"
"Sets the values given (PSHARE_IOC_REGION_SET_POLICY) and prints the\n"
"region's resulting policy; without options only prints it. The target\n"
"printed is the one before the change: the reclaimer recomputes it at\n"
"once, in the background ('psharectl region FILE' shows the new one).\n"
"A plain number is pages; a number with a unit (512M, 1.5G, 2GiB) is a\n"
"size, rounded up to 4 KiB pages.\n"
"\n"
"  --shares N|default   shares, up to 2^30; 'default' = the size in pages.\n"
"                       Under pressure memory goes from regions with few\n"
"                       shares per (active) page to those with many.\n"
"  --min PAGES|SIZE     never reclaimed below this (default 0)\n"
"  --max PAGES|SIZE|default\n"
"                       the most the region may hold; above it the region\n"
"                       is ballooned or paged down; 'default' = its size\n"
"\n"
"Opens FILE for writing (root, or the file's owner) and /dev/pshare\n"
"(root). Refused: min above the max that would result, values above the\n"
"limits (2^30 shares, 2^28 pages).\n",
	.longopts = policy_longopts,
	.nargs = 1,
	.nargs_what = "FILE",
	.run = cmd_policy,
};
