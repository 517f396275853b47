// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl - look at pshare, the module that owns QEMU/KVM guest RAM
 * through the pshare filesystem.
 *
 * It reads three surfaces of the module and never changes anything:
 *
 *   /sys/kernel/mm/pshare/ (files)   global counters (sysfs, any user)
 *   /sys/kernel/debug/pshare/regions per-region table (debugfs, root)
 *   /dev/pshare                      versioned ioctls (uapi/linux/pshare.h)
 *
 * Subcommands live in one table, psharectl_cmds[]: a new one is a
 * function plus a row there, and help text comes from the row.
 *
 * Exit status: 0 success, 1 error, 2 usage error. Every error message
 * names the file it concerns and says how to fix the setup.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/pshare.h>

#define PSHARECTL_VERSION	"0.1"

#define PSHARE_SYSFS_DIR	"/sys/kernel/mm/pshare"
#define PSHARE_DEBUGFS_MNT	"/sys/kernel/debug"
#define PSHARE_DEVICE		"/dev/pshare"
#define PSHARE_MOUNT_HINT	"mount -t pshare pshare /run/pshare"
#define PSHARE_LOAD_HINT	"load the module: insmod pshare.ko or modprobe pshare"

/* A region page is always 4 KiB: file offset / 4096 is the guest PPN. */
#define PSHARE_PAGE_SIZE	4096ULL

enum {
	EXIT_OK = 0,
	EXIT_ERR = 1,
	EXIT_USAGE = 2,
};

/**
 * struct psharectl_cmd - one subcommand
 * @name:	what the user types
 * @args:	argument synopsis for the usage line
 * @summary:	one line for the command list
 * @help:	the rest of `psharectl help <name>`
 * @run:	the command; argv[0] is @name, returns an exit status
 */
struct psharectl_cmd {
	const char *name;
	const char *args;
	const char *summary;
	const char *help;
	int (*run)(const struct psharectl_cmd *cmd, int argc, char **argv);
};

/* Options shared by the subcommands that take them. */
struct psharectl_opts {
	bool json;		/* --json: machine-readable output */
	int nargs;		/* positional arguments left */
	char **args;
};

/*
 * ======================================================================
 * Small helpers: errors, paths, units, JSON
 * ======================================================================
 */

static void __attribute__((format(printf, 1, 2))) err_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("psharectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Paths can be moved with environment variables, e.g. to test the tool. */
static const char *sysfs_dir(void)
{
	const char *p = getenv("PSHARECTL_SYSFS");

	return p && *p ? p : PSHARE_SYSFS_DIR;
}

static const char *debugfs_mnt(void)
{
	const char *p = getenv("PSHARECTL_DEBUGFS");

	return p && *p ? p : PSHARE_DEBUGFS_MNT;
}

static const char *device_path(void)
{
	const char *p = getenv("PSHARECTL_DEVICE");

	return p && *p ? p : PSHARE_DEVICE;
}

static bool module_loaded(void)
{
	struct stat st;

	return stat(sysfs_dir(), &st) == 0 && S_ISDIR(st.st_mode);
}

/* Is any pshare filesystem mounted? Only used to make hints precise. */
static bool pshare_mounted(void)
{
	char line[4096];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return true;	/* cannot tell: do not nag */
	while (!found && fgets(line, sizeof(line), f)) {
		char dev[1024], dir[2048], type[64];

		if (sscanf(line, "%1023s %2047s %63s", dev, dir, type) == 3 &&
		    !strcmp(type, "pshare"))
			found = true;
	}
	fclose(f);
	return found;
}

/*
 * Format @bytes for people: "0", "512B", "4K", "12M", "1.5G". One decimal
 * below 10 units, none above; binary units (K = 1024).
 */
static const char *human(char *buf, size_t len, unsigned long long bytes)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	if (bytes < 1024) {
		snprintf(buf, len, "%lluB", bytes);
		return buf;
	}
	while (v >= 1024.0 && u < (int)sizeof(units) - 2) {
		v /= 1024.0;
		u++;
	}
	if (v < 9.95 && v != (double)(unsigned long long)v)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
	return buf;
}

/* Write @s as a JSON string literal. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Is @s a whole unsigned decimal number? Stores it in @out. */
static bool parse_u64(const char *s, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* Flush stdout and report a failed write (psharectl status > /dev/full). */
static int finish_output(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		err_msg("writing output: %s", strerror(errno ? errno : EIO));
		return EXIT_ERR;
	}
	return rc;
}

/*
 * ======================================================================
 * /dev/pshare: API negotiation and region statistics
 * ======================================================================
 */

static const struct {
	__u64 bit;
	const char *name;
	const char *what;
} pshare_features[] = {
	{ PSHARE_FEATURE_REGION_STATS, "region_stats", "PSHARE_IOC_REGION_STATS: per-region statistics" },
	{ PSHARE_FEATURE_ZERO_FRAME, "zero_frame", "holes read through one shared zero frame" },
};

#define NR_FEATURES (sizeof(pshare_features) / sizeof(pshare_features[0]))

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
		err_msg("%s missing although the module is loaded: mount devtmpfs on /dev (mount -t devtmpfs devtmpfs /dev)",
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

static void print_api_text(const struct pshare_api *api)
{
	printf("api version:   %u", api->version);
	if (api->version != PSHARE_API_VERSION)
		printf(" (psharectl was built for %d)", PSHARE_API_VERSION);
	putchar('\n');
	print_features_text(api->features);
}

static void print_api_json(const struct pshare_api *api)
{
	bool first = true;
	size_t i;

	printf("\"api\": {\"version\": %u, \"features\": %llu, \"feature_names\": [",
	       api->version, (unsigned long long)api->features);
	for (i = 0; i < NR_FEATURES; i++) {
		if (!(api->features & pshare_features[i].bit))
			continue;
		printf("%s\"%s\"", first ? "" : ", ", pshare_features[i].name);
		first = false;
	}
	printf("]}");
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
 * ======================================================================
 * Command-line parsing shared by the subcommands
 * ======================================================================
 */

static void cmd_usage(const struct psharectl_cmd *cmd, FILE *out)
{
	fprintf(out, "Usage: psharectl %s%s%s\n", cmd->name,
		*cmd->args ? " " : "", cmd->args);
}

/*
 * Parse the options of @cmd (argv[0] is the command name). Returns 0 to go
 * on, EXIT_OK + 1000 when help was printed, or EXIT_USAGE.
 */
#define OPTS_HELP_DONE 1000

static int parse_opts(const struct psharectl_cmd *cmd, int argc, char **argv,
		      struct psharectl_opts *o, bool allow_json)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (!allow_json)
				goto bad;
			o->json = true;
			break;
		case 'h':
			cmd_usage(cmd, stdout);
			printf("\n%s\n%s", cmd->summary, cmd->help);
			return OPTS_HELP_DONE;
		default:
			goto bad;
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
bad:
	if (optopt)
		err_msg("%s: unknown option '-%c'", cmd->name, optopt);
	else
		err_msg("%s: unknown option '%s'", cmd->name, argv[optind - 1]);
	cmd_usage(cmd, stderr);
	fprintf(stderr, "Try 'psharectl help %s'.\n", cmd->name);
	return EXIT_USAGE;
}

static int wrong_args(const struct psharectl_cmd *cmd, const char *what)
{
	err_msg("%s: %s", cmd->name, what);
	cmd_usage(cmd, stderr);
	fprintf(stderr, "Try 'psharectl help %s'.\n", cmd->name);
	return EXIT_USAGE;
}

/*
 * ======================================================================
 * psharectl api
 * ======================================================================
 */

static int cmd_api(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct psharectl_opts o;
	struct pshare_api api;
	int devfd, rc;

	rc = parse_opts(cmd, argc, argv, &o, true);
	if (rc)
		return rc == OPTS_HELP_DONE ? EXIT_OK : rc;
	if (o.nargs)
		return wrong_args(cmd, "takes no arguments");

	devfd = open_device();
	if (devfd < 0)
		return EXIT_ERR;
	rc = negotiate_api(devfd, &api);
	close(devfd);
	if (rc)
		return EXIT_ERR;

	if (o.json) {
		putchar('{');
		print_api_json(&api);
		printf("}\n");
	} else {
		print_api_text(&api);
	}
	return finish_output(EXIT_OK);
}

/*
 * ======================================================================
 * psharectl region FILE
 * ======================================================================
 */

static int region_stats(const char *path, struct pshare_api *api,
			struct pshare_region_stats *rs)
{
	int devfd, fd, rc = -1;

	devfd = open_device();
	if (devfd < 0)
		return -1;
	if (negotiate_api(devfd, api))
		goto out_dev;
	if (!(api->features & PSHARE_FEATURE_REGION_STATS)) {
		err_msg("the loaded module does not offer region statistics (no PSHARE_FEATURE_REGION_STATS in features 0x%llx)",
			(unsigned long long)api->features);
		goto out_dev;
	}

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && !pshare_mounted())
			err_msg("%s: no such file, and no pshare filesystem is mounted: %s",
				path, PSHARE_MOUNT_HINT);
		else if (errno == ENOENT)
			err_msg("%s: no such file; regions are the regular files of a pshare mount",
				path);
		else if (errno == EACCES || errno == EPERM)
			err_msg("%s: %s: psharectl opens the region read-only; run as root or as the file's owner",
				path, strerror(errno));
		else
			err_msg("%s: %s", path, strerror(errno));
		goto out_dev;
	}

	memset(rs, 0, sizeof(*rs));
	rs->argsz = sizeof(*rs);
	rs->fd = fd;
	if (ioctl(devfd, PSHARE_IOC_REGION_STATS, rs) == 0) {
		rc = 0;
	} else if (errno == ENODEV) {
		explain_not_region(path, fd);
	} else if (errno == EINVAL) {
		err_msg("PSHARE_IOC_REGION_STATS refused (EINVAL): psharectl (uapi %d) and the loaded module (api %u) disagree; rebuild both from one tree",
			PSHARE_API_VERSION, api->version);
	} else {
		err_msg("PSHARE_IOC_REGION_STATS on %s: %s", path,
			strerror(errno));
	}
	close(fd);
out_dev:
	close(devfd);
	return rc;
}

static int cmd_region(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct pshare_region_stats rs;
	struct psharectl_opts o;
	struct pshare_api api;
	char h[32];
	int rc;

	rc = parse_opts(cmd, argc, argv, &o, true);
	if (rc)
		return rc == OPTS_HELP_DONE ? EXIT_OK : rc;
	if (o.nargs != 1)
		return wrong_args(cmd, o.nargs ? "takes exactly one FILE"
					       : "missing FILE");

	if (region_stats(o.args[0], &api, &rs))
		return EXIT_ERR;

	if (o.json) {
		printf("{\"file\": ");
		json_str(o.args[0]);
		printf(", ");
		print_api_json(&api);
		printf(", \"stats\": {\"size_bytes\": %llu, \"pages_private\": %llu, \"pages_zero\": %llu, \"pages_shared\": %llu, \"cow_breaks\": %llu, \"page_size\": %llu}}\n",
		       (unsigned long long)rs.size,
		       (unsigned long long)rs.pages_private,
		       (unsigned long long)rs.pages_zero,
		       (unsigned long long)rs.pages_shared,
		       (unsigned long long)rs.cow_breaks, PSHARE_PAGE_SIZE);
		return finish_output(EXIT_OK);
	}

	printf("region:        %s\n", o.args[0]);
	print_api_text(&api);
	printf("size:          %llu bytes (%s)\n",
	       (unsigned long long)rs.size, human(h, sizeof(h), rs.size));
	printf("pages_private: %llu (%s)  frames of its own: memory this region holds\n",
	       (unsigned long long)rs.pages_private,
	       human(h, sizeof(h), rs.pages_private * PSHARE_PAGE_SIZE));
	printf("pages_zero:    %llu (%s)  mapped to the shared zero frame, no memory of their own\n",
	       (unsigned long long)rs.pages_zero,
	       human(h, sizeof(h), rs.pages_zero * PSHARE_PAGE_SIZE));
	printf("pages_shared:  %llu (%s)  mapped to frames shared with other pages\n",
	       (unsigned long long)rs.pages_shared,
	       human(h, sizeof(h), rs.pages_shared * PSHARE_PAGE_SIZE));
	printf("cow_breaks:    %llu\n", (unsigned long long)rs.cow_breaks);
	return finish_output(EXIT_OK);
}

/*
 * ======================================================================
 * psharectl status: sysfs counters, debugfs region table, derived sums
 * ======================================================================
 */

/**
 * struct sysfs_entry - one file of /sys/kernel/mm/pshare
 * @name:	file name
 * @value:	its content without the trailing newline (valid if !@err)
 * @err:	errno of a failed read, 0 if @value is valid
 * @num:	@value as a number (valid if @is_num)
 * @is_num:	@value is one unsigned decimal number
 */
struct sysfs_entry {
	char name[256];
	char value[256];
	int err;
	unsigned long long num;
	bool is_num;
};

/**
 * struct region_row - one line of /sys/kernel/debug/pshare/regions
 * @ino:	inode number of the region file
 * @size:	size in bytes
 * @priv:	pages with a frame of their own
 * @zero:	pages mapped to the zero frame
 * @shared:	pages mapped to a shared frame
 * @cow:	copy-on-write breaks
 * @domain:	sharing domain, as the module prints it
 * @name:	path or name of the region file
 */
struct region_row {
	unsigned long long ino, size, priv, zero, shared, cow;
	char domain[64];
	char name[PATH_MAX];
};

struct status {
	struct sysfs_entry *sys;
	size_t nr_sys;
	struct region_row *rows;
	size_t nr_rows;
	bool have_rows;		/* the debugfs table was read */
};

static int cmp_sysfs(const void *a, const void *b)
{
	return strcmp(((const struct sysfs_entry *)a)->name,
		      ((const struct sysfs_entry *)b)->name);
}

/* Counters whose unit is pages get a human size next to them. */
static bool is_pages(const struct sysfs_entry *e)
{
	return e->is_num && !strncmp(e->name, "pages_", 6) &&
	       strcmp(e->name, "pages_to_scan") != 0;
}

static const struct sysfs_entry *sysfs_find(const struct status *s,
					    const char *name)
{
	size_t i;

	for (i = 0; i < s->nr_sys; i++)
		if (!strcmp(s->sys[i].name, name) && !s->sys[i].err &&
		    s->sys[i].is_num)
			return &s->sys[i];
	return NULL;
}

static void read_sysfs_file(int dfd, struct sysfs_entry *e)
{
	ssize_t n;
	int fd;

	fd = openat(dfd, e->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e->err = errno;
		return;
	}
	n = read(fd, e->value, sizeof(e->value) - 1);
	if (n < 0) {
		e->err = errno;
		close(fd);
		return;
	}
	close(fd);
	e->value[n] = '\0';
	while (n > 0 && (e->value[n - 1] == '\n' || e->value[n - 1] == ' '))
		e->value[--n] = '\0';
	e->is_num = parse_u64(e->value, &e->num);
}

/* Read every regular file of the sysfs directory, sorted by name. */
static int read_sysfs(struct status *s)
{
	const char *dir = sysfs_dir();
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			err_msg("%s missing: %s", dir, PSHARE_LOAD_HINT);
		else
			err_msg("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		struct sysfs_entry *e;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		if (strlen(de->d_name) >= sizeof(e->name))
			continue;
		if (s->nr_sys == cap) {
			cap = cap ? 2 * cap : 16;
			e = realloc(s->sys, cap * sizeof(*e));
			if (!e) {
				err_msg("out of memory");
				closedir(d);
				return -1;
			}
			s->sys = e;
		}
		e = &s->sys[s->nr_sys++];
		memset(e, 0, sizeof(*e));
		strcpy(e->name, de->d_name);
		read_sysfs_file(dirfd(d), e);
	}
	closedir(d);
	qsort(s->sys, s->nr_sys, sizeof(*s->sys), cmp_sysfs);
	return 0;
}

/* Say why the debugfs table could not be opened and how to fix it. */
static void explain_debugfs(const char *path, int err)
{
	const char *mnt = debugfs_mnt();
	struct statfs sfs;

	if (err == EACCES || err == EPERM) {
		err_msg("%s: %s: debugfs is readable by root only; run as root for the region table",
			path, strerror(err));
		return;
	}
	if (err == ENOENT && !strcmp(mnt, PSHARE_DEBUGFS_MNT) &&
	    (statfs(mnt, &sfs) != 0 || sfs.f_type != DEBUGFS_MAGIC)) {
		err_msg("%s missing: debugfs is not mounted; mount -t debugfs none %s",
			path, mnt);
		return;
	}
	if (err == ENOENT) {
		err_msg("%s missing although debugfs is mounted: the loaded pshare module has no debugfs table (kernel without CONFIG_DEBUG_FS?)",
			path);
		return;
	}
	err_msg("%s: %s", path, strerror(err));
}

/* Parse one table line; false if it is not a region line. */
static bool parse_region_line(char *line, struct region_row *r)
{
	int name_at = -1;
	size_t len;

	len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	memset(r, 0, sizeof(*r));
	if (sscanf(line, "%llu %llu %llu %llu %llu %llu %63s %n", &r->ino,
		   &r->size, &r->priv, &r->zero, &r->shared, &r->cow,
		   r->domain, &name_at) < 7 || name_at < 0)
		return false;
	snprintf(r->name, sizeof(r->name), "%s", line + name_at);
	return true;
}

/*
 * Read the debugfs table: a header line, then one line per region
 * "<ino> <size_bytes> <pages_private> <pages_zero> <pages_shared>
 * <cow_breaks> <domain> <path-or-name>". Lines that do not parse are the
 * header, or a format this psharectl does not know: the latter is an error.
 */
static int read_regions(struct status *s)
{
	char path[PATH_MAX], line[PATH_MAX + 256];
	size_t cap = 0, lineno = 0;
	int rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pshare/regions", debugfs_mnt());
	f = fopen(path, "re");
	if (!f) {
		explain_debugfs(path, errno);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct region_row r, *n;

		lineno++;
		if (!parse_region_line(line, &r)) {
			if (lineno == 1 || line[0] == '#' || line[0] == '\0')
				continue;
			err_msg("%s:%zu: unexpected line \"%s\": psharectl does not match the loaded module",
				path, lineno, line);
			rc = -1;
			continue;
		}
		if (s->nr_rows == cap) {
			cap = cap ? 2 * cap : 16;
			n = realloc(s->rows, cap * sizeof(*n));
			if (!n) {
				err_msg("out of memory");
				rc = -1;
				break;
			}
			s->rows = n;
		}
		s->rows[s->nr_rows++] = r;
	}
	if (ferror(f)) {
		err_msg("%s: read error", path);
		rc = -1;
	}
	fclose(f);
	s->have_rows = rc == 0;
	return rc;
}

/**
 * struct derived - figures computed from one read of the region table
 * @size_pages:		sum of region sizes, in pages (rounded up)
 * @private_pages:	frames the regions hold of their own
 * @zero_pages:		pages mapped to the zero frame
 * @shared_pages:	pages mapped to shared frames
 * @hole_pages:		pages with no frame at all (never written, punched)
 * @shared_frames:	frames behind @shared_pages (sysfs pages_shared, when
 *			the module has it; 0 otherwise)
 */
struct derived {
	unsigned long long size_pages, private_pages, zero_pages, shared_pages;
	unsigned long long hole_pages, shared_frames;
};

static void derive(const struct status *s, struct derived *d)
{
	const struct sysfs_entry *e;
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < s->nr_rows; i++) {
		const struct region_row *r = &s->rows[i];
		unsigned long long pages, used;

		pages = (r->size + PSHARE_PAGE_SIZE - 1) / PSHARE_PAGE_SIZE;
		used = r->priv + r->zero + r->shared;
		d->size_pages += pages;
		d->private_pages += r->priv;
		d->zero_pages += r->zero;
		d->shared_pages += r->shared;
		/* Counters and size are read at slightly different times. */
		d->hole_pages += pages > used ? pages - used : 0;
	}
	e = sysfs_find(s, "pages_shared");
	if (e)
		d->shared_frames = e->num;
}

static void print_status_text(const struct status *s)
{
	const char *mnt = debugfs_mnt();
	struct derived d;
	size_t i, w = 4;
	char h[5][32];

	printf("%s:\n", sysfs_dir());
	for (i = 0; i < s->nr_sys; i++) {
		const struct sysfs_entry *e = &s->sys[i];

		if (e->err)
			printf("  %-20s (unreadable: %s)\n", e->name,
			       strerror(e->err));
		else if (is_pages(e))
			printf("  %-20s %-12s %s\n", e->name, e->value,
			       human(h[0], sizeof(h[0]), e->num * PSHARE_PAGE_SIZE));
		else
			printf("  %-20s %s\n", e->name, e->value);
	}
	if (!s->have_rows)
		return;

	printf("\n%s/pshare/regions:\n", mnt);
	for (i = 0; i < s->nr_rows; i++)
		if (strlen(s->rows[i].name) > w)
			w = strlen(s->rows[i].name);
	printf("  %-*s %7s %8s %7s %7s %11s %s\n", (int)w, "NAME", "SIZE",
	       "PRIVATE", "ZERO", "SHARED", "COW_BREAKS", "DOMAIN");
	for (i = 0; i < s->nr_rows; i++) {
		const struct region_row *r = &s->rows[i];

		printf("  %-*s %7s %8s %7s %7s %11llu %s\n", (int)w, r->name,
		       human(h[0], sizeof(h[0]), r->size),
		       human(h[1], sizeof(h[1]), r->priv * PSHARE_PAGE_SIZE),
		       human(h[2], sizeof(h[2]), r->zero * PSHARE_PAGE_SIZE),
		       human(h[3], sizeof(h[3]), r->shared * PSHARE_PAGE_SIZE),
		       r->cow, r->domain);
	}
	if (!s->nr_rows)
		printf("  (no regions)\n");

	derive(s, &d);
	printf("\nderived (from the region table):\n");
	printf("  %-26s %8s  %s\n", "regions total size",
	       human(h[0], sizeof(h[0]), d.size_pages * PSHARE_PAGE_SIZE),
	       "guest RAM the regions describe");
	printf("  %-26s %8s  %s\n", "resident",
	       human(h[0], sizeof(h[0]),
		     (d.private_pages + d.shared_frames) * PSHARE_PAGE_SIZE),
	       d.shared_frames ? "private frames + shared frames"
			       : "private frames");
	printf("  %-26s %8s  %s\n", "zero-frame pages",
	       human(h[0], sizeof(h[0]), d.zero_pages * PSHARE_PAGE_SIZE),
	       "read but never written: one zero frame for all");
	printf("  %-26s %8s  %s\n", "holes",
	       human(h[0], sizeof(h[0]), d.hole_pages * PSHARE_PAGE_SIZE),
	       "never touched or punched (balloon): no frame");
	printf("  %-26s %8s  %s\n", "not allocated",
	       human(h[0], sizeof(h[0]),
		     (d.zero_pages + d.hole_pages) * PSHARE_PAGE_SIZE),
	       "memory holes and zero pages avoid allocating");
}

static void print_status_json(const struct status *s)
{
	struct derived d;
	size_t i;

	printf("{\n  \"page_size\": %llu,\n  \"sysfs\": {", PSHARE_PAGE_SIZE);
	for (i = 0; i < s->nr_sys; i++) {
		const struct sysfs_entry *e = &s->sys[i];

		printf("%s\n    ", i ? "," : "");
		json_str(e->name);
		printf(": ");
		if (e->err)
			printf("null");
		else if (e->is_num)
			printf("%llu", e->num);
		else
			json_str(e->value);
	}
	printf("%s},\n  \"regions\": ", s->nr_sys ? "\n  " : "");
	if (!s->have_rows) {
		printf("null\n}\n");
		return;
	}
	printf("[");
	for (i = 0; i < s->nr_rows; i++) {
		const struct region_row *r = &s->rows[i];
		unsigned long long dom;

		printf("%s\n    {\"name\": ", i ? "," : "");
		json_str(r->name);
		printf(", \"ino\": %llu, \"size_bytes\": %llu, \"pages_private\": %llu, \"pages_zero\": %llu, \"pages_shared\": %llu, \"cow_breaks\": %llu, \"domain\": ",
		       r->ino, r->size, r->priv, r->zero, r->shared, r->cow);
		if (parse_u64(r->domain, &dom))
			printf("%llu}", dom);
		else {
			json_str(r->domain);
			putchar('}');
		}
	}
	derive(s, &d);
	printf("%s],\n  \"derived\": {\"size_bytes\": %llu, \"resident_bytes\": %llu, \"zero_bytes\": %llu, \"hole_bytes\": %llu, \"not_allocated_bytes\": %llu}\n}\n",
	       s->nr_rows ? "\n  " : "",
	       d.size_pages * PSHARE_PAGE_SIZE,
	       (d.private_pages + d.shared_frames) * PSHARE_PAGE_SIZE,
	       d.zero_pages * PSHARE_PAGE_SIZE,
	       d.hole_pages * PSHARE_PAGE_SIZE,
	       (d.zero_pages + d.hole_pages) * PSHARE_PAGE_SIZE);
}

static int cmd_status(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct psharectl_opts o;
	struct status s;
	int rc;

	rc = parse_opts(cmd, argc, argv, &o, true);
	if (rc)
		return rc == OPTS_HELP_DONE ? EXIT_OK : rc;
	if (o.nargs)
		return wrong_args(cmd, "takes no arguments");

	memset(&s, 0, sizeof(s));
	if (read_sysfs(&s))
		return EXIT_ERR;
	/* Without the table, still show the counters, then fail. */
	rc = read_regions(&s) ? EXIT_ERR : EXIT_OK;
	if (!pshare_mounted())
		fprintf(stderr, "psharectl: note: no pshare filesystem is mounted; QEMU needs one: %s\n",
			PSHARE_MOUNT_HINT);

	if (o.json)
		print_status_json(&s);
	else
		print_status_text(&s);
	free(s.sys);
	free(s.rows);
	return finish_output(rc);
}

/*
 * ======================================================================
 * Command table, help, main
 * ======================================================================
 */

static int cmd_help(const struct psharectl_cmd *cmd, int argc, char **argv);

static const struct psharectl_cmd psharectl_cmds[] = {
	{
		.name = "status",
		.args = "[--json]",
		.summary = "Global counters, per-region table, derived totals.",
		.help =
"\n"
"Prints every file of /sys/kernel/mm/pshare (counters in pages also in\n"
"bytes), then one line per region from /sys/kernel/debug/pshare/regions:\n"
"  NAME        the region file (path or name)\n"
"  SIZE        file size = guest RAM it backs\n"
"  PRIVATE     memory held in frames of its own (resident)\n"
"  ZERO        pages mapped to the one shared zero frame\n"
"  SHARED      pages mapped to frames shared with other pages\n"
"  COW_BREAKS  copy-on-write breaks so far\n"
"  DOMAIN      sharing domain\n"
"then totals derived from that table: resident memory, and the memory\n"
"that holes and zero-frame pages avoid allocating.\n"
"Sizes use binary units (K = 1024 bytes); one page is 4 KiB.\n"
"\n"
"The region table needs debugfs and root; without it the counters are\n"
"printed and the exit status is 1.\n"
"\n"
"  -j, --json   one JSON object: page_size, sysfs (name -> number, string,\n"
"               or null if unreadable), regions (list, or null when the\n"
"               table could not be read), derived (bytes)\n",
		.run = cmd_status,
	},
	{
		.name = "region",
		.args = "[--json] FILE",
		.summary = "Statistics of one region file (/dev/pshare ioctl).",
		.help =
"\n"
"Opens /dev/pshare, negotiates the API (PSHARE_IOC_API) and prints its\n"
"version and features, then opens FILE read-only and prints the result of\n"
"PSHARE_IOC_REGION_STATS: size, pages_private, pages_zero, pages_shared,\n"
"cow_breaks (exact counts). Needs root (/dev/pshare is mode 0600).\n"
"\n"
"  -j, --json   one JSON object: file, api, stats\n",
		.run = cmd_region,
	},
	{
		.name = "api",
		.args = "[--json]",
		.summary = "API version and feature bits of the loaded module.",
		.help =
"\n"
"Issues PSHARE_IOC_API on /dev/pshare and prints the module's API version\n"
"and its PSHARE_FEATURE_* bits by name. Needs root.\n"
"\n"
"  -j, --json   one JSON object: api {version, features, feature_names}\n",
		.run = cmd_api,
	},
	{
		.name = "help",
		.args = "[COMMAND]",
		.summary = "This help, or the help of one command.",
		.help = "",
		.run = cmd_help,
	},
};

#define NR_CMDS (sizeof(psharectl_cmds) / sizeof(psharectl_cmds[0]))

static const struct psharectl_cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NR_CMDS; i++)
		if (!strcmp(psharectl_cmds[i].name, name))
			return &psharectl_cmds[i];
	return NULL;
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
"Usage: psharectl [-h|--help] [-V|--version] COMMAND [ARGS]\n"
"\n"
"Inspect pshare, the module that owns QEMU/KVM guest RAM through the pshare\n"
"filesystem and shares and reclaims its pages.\n"
"\n"
"Commands:\n");
	for (i = 0; i < NR_CMDS; i++) {
		char syn[64];

		snprintf(syn, sizeof(syn), "%s %s", psharectl_cmds[i].name,
			 psharectl_cmds[i].args);
		fprintf(out, "  %-22s %s\n", syn, psharectl_cmds[i].summary);
	}
	fprintf(out,
"\n"
"Options:\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the psharectl version and its uapi version\n"
"\n"
"Files: %s (sysfs), %s/pshare/regions (debugfs),\n"
"       %s (ioctls). The environment variables PSHARECTL_SYSFS,\n"
"       PSHARECTL_DEBUGFS (debugfs mount point) and PSHARECTL_DEVICE\n"
"       override these paths.\n"
"\n"
"Exit status: 0 success, 1 error (the message says how to fix the setup),\n"
"2 usage error.\n", PSHARE_SYSFS_DIR, PSHARE_DEBUGFS_MNT, PSHARE_DEVICE);
}

static int cmd_help(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	const struct psharectl_cmd *c;

	if (argc > 2)
		return wrong_args(cmd, "takes at most one COMMAND");
	if (argc < 2) {
		usage(stdout);
		return finish_output(EXIT_OK);
	}
	c = find_cmd(argv[1]);
	if (!c) {
		err_msg("help: unknown command '%s'", argv[1]);
		return EXIT_USAGE;
	}
	cmd_usage(c, stdout);
	printf("\n%s\n%s", c->summary, c->help);
	return finish_output(EXIT_OK);
}

int main(int argc, char **argv)
{
	const struct psharectl_cmd *cmd;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return finish_output(EXIT_OK);
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("psharectl %s (pshare uapi version %d)\n",
		       PSHARECTL_VERSION, PSHARE_API_VERSION);
		return finish_output(EXIT_OK);
	}
	if (argv[1][0] == '-') {
		err_msg("unknown option '%s'", argv[1]);
		fprintf(stderr, "Try 'psharectl --help'.\n");
		return EXIT_USAGE;
	}
	cmd = find_cmd(argv[1]);
	if (!cmd) {
		err_msg("unknown command '%s'", argv[1]);
		fprintf(stderr, "Try 'psharectl --help'.\n");
		return EXIT_USAGE;
	}
	return cmd->run(cmd, argc - 1, argv + 1);
}
