// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl backing FILE BACKINGFILE|none: give a region a file to page
 * out to, or take it away (PSHARE_IOC_REGION_SET_BACKING).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "psharectl.h"

/* Explain an error of PSHARE_IOC_REGION_SET_BACKING. */
static void explain_backing_err(const struct ctl *c, const char *path, int fd,
				const char *bpath, int bfd, int err)
{
	struct statfs sfs;
	struct stat st;

	switch (err) {
	case EBUSY:
		err_msg("%s: pages of the region are paged out to its current backing file (EBUSY); bring them back first: lift the pressure (echo 0 > %s/limit_pages, or raise the region's --max) and read the region once (dd if=%s of=/dev/null bs=1M), then retry",
			path, sysfs_dir(), path);
		return;
	case EISDIR:
		err_msg("%s is a directory (EISDIR): give a regular file, e.g. %s/%s.swap",
			bpath, bpath, "region");
		return;
	case EBADF:
		err_msg("%s: the backing file must be open for reading and writing (EBADF); check its permissions",
			bpath);
		return;
	case EINVAL:
		if (bfd >= 0 && fstatfs(bfd, &sfs) == 0 &&
		    sfs.f_type == PSHARE_FS_MAGIC) {
			err_msg("%s is on a pshare filesystem (EINVAL): a backing file must live on a disk filesystem",
				bpath);
			return;
		}
		if (bfd >= 0 && fstat(bfd, &st) == 0 && !S_ISREG(st.st_mode)) {
			err_msg("%s is not a regular file (EINVAL): give a regular file on a disk filesystem",
				bpath);
			return;
		}
		err_msg("%s refused as a backing file (EINVAL): it must be a regular file that can be read and written, not opened O_APPEND, not on pshare",
			bpath);
		return;
	default:
		explain_region_err(c, "PSHARE_IOC_REGION_SET_BACKING", path,
				   fd, err);
	}
}

static int cmd_backing(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct pshare_region_backing bk;
	const char *path, *bpath;
	struct statfs sfs;
	struct stat st;
	int fd, bfd = -1, rc;
	struct ctl c;

	rc = parse_opts(cmd, argc, argv, NULL, NULL);
	if (rc >= 0)
		return rc;
	path = argv[optind];
	bpath = argv[optind + 1];

	rc = EXIT_ERR;
	fd = ctl_open_region(&c, PSHARE_FEATURE_PAGING, path);
	if (fd < 0)
		return rc;
	if (strcmp(bpath, "none")) {
		bfd = open(bpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (bfd < 0) {
			if (errno == EISDIR)
				explain_backing_err(&c, path, fd, bpath, -1,
						    EISDIR);
			else
				err_msg("%s: %s: the backing file is opened read-write and created if missing; check the directory and its permissions",
					bpath, strerror(errno));
			goto out_fd;
		}
		if (fstat(bfd, &st) == 0 && S_ISREG(st.st_mode) &&
		    fstatfs(bfd, &sfs) == 0 && (sfs.f_type == TMPFS_MAGIC ||
						sfs.f_type == RAMFS_MAGIC))
			fprintf(stderr, "psharectl: warning: %s is on tmpfs/ramfs, which is memory too: paging there frees nothing unless tmpfs itself swaps\n",
				bpath);
	}
	memset(&bk, 0, sizeof(bk));
	bk.argsz = sizeof(bk);
	bk.fd = fd;
	bk.backing_fd = bfd;
	if (ioctl(c.devfd, PSHARE_IOC_REGION_SET_BACKING, &bk)) {
		explain_backing_err(&c, path, fd, bpath, bfd, errno);
		goto out_bfd;
	}
	if (bfd >= 0)
		printf("%s: backing file %s (page n at offset n*4096)\n", path,
		       bpath);
	else
		printf("%s: no backing file\n", path);
	rc = finish_output(EXIT_OK);
out_bfd:
	/* The module keeps its own reference. */
	if (bfd >= 0)
		close(bfd);
out_fd:
	close(fd);
	ctl_close(&c);
	return rc;
}

const struct psharectl_cmd psharectl_backing_cmd = {
	.name = "backing",
	.args = "FILE BACKINGFILE|none",
	.summary = "Give a region a file to page out to, or remove it.",
	.help =
"\n"
"Opens BACKINGFILE read-write (created, mode 0600, if missing) and hands\n"
"it to the module (PSHARE_IOC_REGION_SET_BACKING); the module keeps its\n"
"own reference. Page n of the region goes to offset n*4096. Under\n"
"pressure (limit_pages, the hard/low memory states, a region over its\n"
"max) the region is then paged out down to its target; pages come back\n"
"on access. 'none' removes the backing file.\n"
"\n"
"The file must be a regular file on a disk filesystem (not pshare; tmpfs\n"
"works but frees nothing). Refused (EBUSY) while pages of the region are\n"
"out in the current backing file.\n",
	.nargs = 2,
	.nargs_what = "FILE and BACKINGFILE (or 'none')",
	.run = cmd_backing,
};
