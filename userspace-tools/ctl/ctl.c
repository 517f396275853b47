// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pshare for psharectl: opening it, negotiating the API and the
 * features a command needs, opening region files, reading their
 * statistics, and saying in words why a region ioctl was refused.
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

/* The feature bits this psharectl knows, by name and meaning. */
static const struct {
	__u64 bit;
	const char *name;
	const char *what;
} pshare_features[] = {
	{ PSHARE_FEATURE_REGION_STATS, "region_stats", "PSHARE_IOC_REGION_STATS: per-region statistics" },
	{ PSHARE_FEATURE_ZERO_FRAME, "zero_frame", "holes read through one shared zero frame" },
	{ PSHARE_FEATURE_SHARING, "sharing", "content-based page sharing (scanner, shared frames)" },
	{ PSHARE_FEATURE_DOMAINS, "domains", "PSHARE_IOC_REGION_SET_DOMAIN: sharing domains" },
	{ PSHARE_FEATURE_POLICY, "policy", "PSHARE_IOC_REGION_SET_POLICY: shares, min, max" },
	{ PSHARE_FEATURE_SAMPLING, "sampling", "active memory estimated by sampling" },
	{ PSHARE_FEATURE_PAGING, "paging", "PSHARE_IOC_REGION_SET_BACKING: paging to a backing file" },
	{ PSHARE_FEATURE_NOSHARE, "noshare", "the noshare mount option: regions whose pages are never shared" },
	{ PSHARE_FEATURE_REGION_USERS, "region_users", "mappings and open files in the region statistics (orphans)" },
};

#define NR_FEATURES ARRAY_SIZE(pshare_features)

static const char *feature_name(__u64 bit)
{
	size_t i;

	for (i = 0; i < NR_FEATURES; i++)
		if (pshare_features[i].bit == bit)
			return pshare_features[i].name;
	return "?";
}

static int open_device(void)
{
	const char *dev = device_path();
	int fd;

	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT && !module_loaded())
		err_msg("%s missing and %s missing: %s", dev, sysfs_dir(),
			PSHARE_LOAD_HINT);
	else if (errno == ENOENT)
		err_msg("%s missing although the module is loaded: mount devtmpfs on /dev (mount -t devtmpfs none /dev)",
			dev);
	else if (errno == EACCES || errno == EPERM)
		err_msg("%s: %s: the device is mode 0600, run as root", dev,
			strerror(errno));
	else
		err_msg("%s: %s", dev, strerror(errno));
	return -1;
}

/* PSHARE_IOC_API on @devfd; fills @api. Returns 0 or -1 (reported). */
static int negotiate_api(int devfd, struct pshare_api *api)
{
	memset(api, 0, sizeof(*api));
	api->argsz = sizeof(*api);
	if (ioctl(devfd, PSHARE_IOC_API, api) == 0)
		return 0;
	if (errno == ENOTTY)
		err_msg("%s does not answer PSHARE_IOC_API (ENOTTY): is it the pshare device?",
			device_path());
	else if (errno == EINVAL)
		err_msg("PSHARE_IOC_API refused (EINVAL): psharectl (uapi %d) and the loaded module disagree; rebuild both from one tree",
			PSHARE_API_VERSION);
	else
		err_msg("PSHARE_IOC_API: %s", strerror(errno));
	return -1;
}

/*
 * Open the device, negotiate, and check the features the caller needs
 * (@need, 0 for none). Returns 0 or -1 (reported, nothing left open).
 */
int ctl_open(struct ctl *c, __u64 need)
{
	__u64 missing;
	size_t i;

	c->devfd = open_device();
	if (c->devfd < 0)
		return -1;
	if (negotiate_api(c->devfd, &c->api))
		goto fail;
	missing = need & ~c->api.features;
	if (!missing)
		return 0;
	for (i = 0; i < 64; i++)
		if (missing & (1ULL << i))
			break;
	err_msg("the loaded module lacks the feature '%s' (features 0x%llx): load a pshare.ko built from the same tree as psharectl",
		feature_name(1ULL << i), (unsigned long long)c->api.features);
fail:
	close(c->devfd);
	c->devfd = -1;
	return -1;
}

void ctl_close(struct ctl *c)
{
	if (c->devfd >= 0)
		close(c->devfd);
	c->devfd = -1;
}

static void print_features_text(__u64 features)
{
	__u64 known = 0;
	size_t i;

	printf("features:      0x%llx\n", (unsigned long long)features);
	for (i = 0; i < NR_FEATURES; i++) {
		known |= pshare_features[i].bit;
		if (features & pshare_features[i].bit)
			printf("  %-13s %s\n", pshare_features[i].name,
			       pshare_features[i].what);
	}
	for (i = 0; i < 64; i++) {
		__u64 bit = 1ULL << i;

		if ((features & bit) && !(known & bit))
			printf("  bit %-9zu unknown to this psharectl\n", i);
	}
}

void print_api_text(const struct pshare_api *api)
{
	printf("api version:   %u", api->version);
	if (api->version != PSHARE_API_VERSION)
		printf(" (psharectl was built for %d)", PSHARE_API_VERSION);
	putchar('\n');
	print_features_text(api->features);
}

/* The member "api": {version, features, feature_names}. */
void api_json(struct json_writer *w, const struct pshare_api *api)
{
	size_t i;

	jw_name(w, "api");
	jw_begin_object(w);
	jw_u64_field(w, "version", api->version);
	jw_u64_field(w, "features", api->features);
	jw_name(w, "feature_names");
	jw_begin_array(w);
	for (i = 0; i < NR_FEATURES; i++)
		if (api->features & pshare_features[i].bit)
			jw_string(w, pshare_features[i].name);
	jw_end_array(w);
	jw_end_object(w);
}

/* Explain why @path is not a region after the module said ENODEV. */
static void explain_not_region(const char *path, int fd)
{
	struct statfs sfs;
	struct stat st;

	if (fstatfs(fd, &sfs) == 0 && sfs.f_type != PSHARE_FS_MAGIC) {
		err_msg("%s is not a pshare region (ENODEV): it is not on a pshare filesystem; regions are regular files on a pshare mount (%s)",
			path, PSHARE_MOUNT_HINT);
		return;
	}
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		err_msg("%s is not a pshare region (ENODEV): it is not a regular file; regions are the regular files of a pshare mount",
			path);
		return;
	}
	err_msg("%s is not a pshare region (ENODEV)", path);
}

/*
 * Open a region file: O_RDONLY to read its statistics, O_RDWR to change
 * it (the module wants a descriptor open for writing for that). Returns
 * the fd or -1 (reported).
 */
int open_region(const char *path, int mode)
{
	int fd;

	fd = open(path, mode | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT && !pshare_mounted())
		err_msg("%s: no such file, and no pshare filesystem is mounted: %s",
			path, PSHARE_MOUNT_HINT);
	else if (errno == ENOENT)
		err_msg("%s: no such file; regions are the regular files of a pshare mount",
			path);
	else if (errno == EACCES || errno == EPERM)
		err_msg("%s: %s: psharectl opens the region %s; run as root or as the file's owner",
			path, strerror(errno),
			mode == O_RDONLY ? "read-only" : "for writing (needed to change it)");
	else if (errno == EISDIR)
		err_msg("%s is a directory; regions are the regular files of a pshare mount",
			path);
	else
		err_msg("%s: %s", path, strerror(errno));
	return -1;
}

/*
 * Explain an error of an ioctl on region @path (@fd) that is common to all
 * region ioctls. @name is the ioctl. Other errors get a plain message.
 */
void explain_region_err(const struct ctl *c, const char *name,
			       const char *path, int fd, int err)
{
	switch (err) {
	case ENODEV:
		explain_not_region(path, fd);
		break;
	case EACCES:
		err_msg("%s on %s refused (EACCES): the descriptor is not open for %s",
			name, path,
			strcmp(name, "PSHARE_IOC_REGION_STATS") ? "writing" : "reading");
		break;
	case EINVAL:
		err_msg("%s on %s refused (EINVAL): psharectl (uapi %d) and the loaded module (api %u) disagree; rebuild both from one tree",
			name, path, PSHARE_API_VERSION, c->api.version);
		break;
	default:
		err_msg("%s on %s: %s", name, path, strerror(err));
	}
}

/* PSHARE_IOC_REGION_STATS on open region @fd. Returns 0 or -1 (reported). */
int region_stats_fd(const struct ctl *c, const char *path, int fd,
			   struct pshare_region_stats *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->argsz = sizeof(*rs);
	rs->fd = fd;
	if (ioctl(c->devfd, PSHARE_IOC_REGION_STATS, rs) == 0)
		return 0;
	explain_region_err(c, "PSHARE_IOC_REGION_STATS", path, fd, errno);
	return -1;
}

/* Open @path read-only and read its statistics. */
int region_stats(const struct ctl *c, const char *path,
			struct pshare_region_stats *rs)
{
	int fd, rc;

	fd = open_region(path, O_RDONLY);
	if (fd < 0)
		return -1;
	rc = region_stats_fd(c, path, fd, rs);
	close(fd);
	return rc;
}

/*
 * The control device with the features @need, and the region @path open
 * read-write, for the commands that change a region. Returns the region's
 * fd, or -1 (the error explained) with nothing left open.
 */
int ctl_open_region(struct ctl *c, __u64 need, const char *path)
{
	int fd;

	if (ctl_open(c, need))
		return -1;
	fd = open_region(path, O_RDWR);
	if (fd < 0)
		ctl_close(c);
	return fd;
}
