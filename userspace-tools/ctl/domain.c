// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl domain FILE N: move a region to sharing domain N
 * (PSHARE_IOC_REGION_SET_DOMAIN).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "psharectl.h"

static int cmd_domain(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct pshare_region_domain dom;
	struct pshare_region_stats rs;
	unsigned long long n;
	const char *path;
	struct ctl c;
	int fd, rc;

	rc = parse_opts(cmd, argc, argv, NULL, NULL);
	if (rc >= 0)
		return rc;
	path = argv[optind];
	if (!parse_u64(argv[optind + 1], &n) || n > UINT32_MAX)
		return bad_value(cmd, "DOMAIN", argv[optind + 1],
				 "a number from 0 to 4294967295");

	rc = EXIT_ERR;
	fd = ctl_open_region(&c, PSHARE_FEATURE_DOMAINS |
			     PSHARE_FEATURE_REGION_STATS, path);
	if (fd < 0)
		return rc;
	memset(&dom, 0, sizeof(dom));
	dom.argsz = sizeof(dom);
	dom.fd = fd;
	dom.domain = (__u32)n;
	if (ioctl(c.devfd, PSHARE_IOC_REGION_SET_DOMAIN, &dom)) {
		if (errno == EBUSY)
			err_msg("%s: the region's pages are shared (EBUSY): they were merged under its current domain; %s",
				path, PSHARE_UNMERGE_HINT);
		else
			explain_region_err(&c, "PSHARE_IOC_REGION_SET_DOMAIN",
					   path, fd, errno);
		goto out_fd;
	}
	if (region_stats_fd(&c, path, fd, &rs))
		goto out_fd;
	printf("%s: domain %llu\n", path, (unsigned long long)rs.domain);
	rc = finish_output(EXIT_OK);
out_fd:
	close(fd);
	ctl_close(&c);
	return rc;
}


const struct psharectl_cmd psharectl_domain_cmd = {
	.name = "domain",
	.args = "FILE N",
	.summary = "Move a region to sharing domain N.",
	.help =
"\n"
"Pages merge only between regions of one domain (unless\n"
"/sys/kernel/mm/pshare/merge_across_domains is 1). Every mount gets a\n"
"domain of its own; putting two regions in one domain lets their guests\n"
"share pages, and lets each time the other's copy-on-write breaks.\n"
"Refused (EBUSY) while the region uses shared frames: write 2 to\n"
"/sys/kernel/mm/pshare/run to unmerge first, then set run back to 1.\n",
	.nargs = 2,
	.nargs_what = "FILE and DOMAIN",
	.run = cmd_domain,
};
