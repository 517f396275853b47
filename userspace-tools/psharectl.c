// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl - look at and steer pshare, the module that owns QEMU/KVM
 * guest RAM through the pshare filesystem, shares its pages and reclaims
 * them.
 *
 * It uses three surfaces of the module:
 *
 *   /sys/kernel/mm/pshare/ (files)   global knobs and counters (sysfs)
 *   /sys/kernel/debug/pshare/regions per-region table (debugfs, root)
 *   /dev/pshare                      versioned ioctls (uapi/linux/pshare.h)
 *
 * and one of QEMU's: the QMP monitor socket, through which the balloon
 * agent (`psharectl balloon`) turns each region's balloon target into
 * virtio-balloon commands.
 *
 * Subcommands live in one table, psharectl_cmds[]: a new one is a
 * function plus a row there, and help text comes from the row.
 *
 * Exit status: 0 success, 1 error, 2 usage error. Every error message
 * names the file it concerns and says how to fix the setup.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/pshare.h>

#define PSHARECTL_VERSION	"0.2"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)		__attribute__((format(printf, a, b)))

#define PSHARE_SYSFS_DIR	"/sys/kernel/mm/pshare"
#define PSHARE_DEBUGFS_MNT	"/sys/kernel/debug"
#define PSHARE_DEVICE		"/dev/pshare"
#define PSHARE_FS_TYPE		"pshare"
#define PSHARE_MOUNT_HINT	"mount -t " PSHARE_FS_TYPE " pshare /run/pshare"
#define PSHARE_LOAD_HINT	"load the module: insmod pshare.ko or modprobe pshare"
#define PSHARE_UNMERGE_HINT	"write 2 to /sys/kernel/mm/pshare/run to unmerge first"

/* A region page is always 4 KiB: file offset / 4096 is the guest PPN. */
#define PSHARE_PAGE_SIZE	4096ULL
#define MIB			(1024ULL * 1024ULL)

/* Limits the module enforces on policy values (uapi/linux/pshare.h). */
#define PSHARE_SHARES_LIMIT	(1ULL << 30)
#define PSHARE_PAGES_LIMIT	(1ULL << 28)

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

/*
 * ======================================================================
 * Small helpers: errors, paths, units, JSON output
 * ======================================================================
 */

static void __printf(1, 2) err_msg(const char *fmt, ...)
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

/* human() of a page count. */
static const char *hpages(char *buf, size_t len, unsigned long long pages)
{
	return human(buf, len, pages * PSHARE_PAGE_SIZE);
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

/* A ratio for JSON: null when undefined (negative). */
static void json_ratio(double v)
{
	if (v < 0 || !isfinite(v))
		fputs("null", stdout);
	else
		printf("%.3f", v);
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

/*
 * Parse a size: a number with an optional fraction and an optional unit
 * K, M, G, T (powers of 1024; "KB", "KiB", "k" are the same). @had_unit
 * tells whether a unit was given; without one the number is returned as
 * it is (the caller decides whether that means bytes or pages).
 */
static bool parse_size(const char *s, unsigned long long *out, bool *had_unit)
{
	long double frac = 0;
	unsigned long long whole, mult = 1;
	const char *p;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	whole = strtoull(s, &end, 10);
	if (errno)
		return false;
	p = end;
	if (*p == '.') {
		long double scale = 0.1L;

		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	*had_unit = *p != '\0';
	switch (*p) {
	case '\0':
		if (frac != 0)
			return false;	/* "1.5" pages makes no sense */
		*out = whole;
		return true;
	case 'k': case 'K':
		mult = 1ULL << 10;
		break;
	case 'm': case 'M':
		mult = 1ULL << 20;
		break;
	case 'g': case 'G':
		mult = 1ULL << 30;
		break;
	case 't': case 'T':
		mult = 1ULL << 40;
		break;
	default:
		return false;
	}
	p++;
	if (!strcmp(p, "i") || !strcmp(p, "iB") || !strcmp(p, "B"))
		p += strlen(p);
	if (*p || whole > ULLONG_MAX / mult / 2)
		return false;
	*out = whole * mult + (unsigned long long)(frac * mult + 0.5L);
	return true;
}

/* PAGES (a plain number) or SIZE (with a unit, rounded up to pages). */
static bool parse_pages(const char *s, unsigned long long *pages)
{
	unsigned long long v;
	bool unit;

	if (!parse_size(s, &v, &unit))
		return false;
	*pages = unit ? (v + PSHARE_PAGE_SIZE - 1) / PSHARE_PAGE_SIZE : v;
	return true;
}

/* Seconds with an optional fraction, at least @min. */
static bool parse_secs(const char *s, double min, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && isfinite(*out) &&
	       *out >= min && *out <= 86400;
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

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "HH:MM:SS" of the wall clock. */
static const char *clock_str(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
	return buf;
}

/* Set by SIGINT/SIGTERM in the long-running commands (top, balloon). */
static atomic_bool psharectl_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	psharectl_stop = true;
}

static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	/*
	 * SA_RESTART keeps writes to a terminal from failing with EINTR;
	 * nanosleep() and socket reads with a timeout return early anyway.
	 */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Sleep until monotonic time @until, or until a stop signal. */
static void sleep_until(double until)
{
	while (!psharectl_stop) {
		double left = until - now_mono();
		struct timespec ts;

		if (left <= 0)
			return;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

/*
 * ======================================================================
 * /dev/pshare: API negotiation, opening regions, region statistics
 * ======================================================================
 */

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

/**
 * struct ctl - an open /dev/pshare with its negotiated API
 * @devfd:	the device
 * @api:	what PSHARE_IOC_API answered
 */
struct ctl {
	int devfd;
	struct pshare_api api;
};

/*
 * Open the device, negotiate, and check the features the caller needs
 * (@need, 0 for none). Returns 0 or -1 (reported, nothing left open).
 */
static int ctl_open(struct ctl *c, __u64 need)
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

static void ctl_close(struct ctl *c)
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
 * Open a region file: O_RDONLY to read its statistics, O_RDWR to change
 * it (the module wants a descriptor open for writing for that). Returns
 * the fd or -1 (reported).
 */
static int open_region(const char *path, int mode)
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
static void explain_region_err(const struct ctl *c, const char *name,
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
static int region_stats_fd(const struct ctl *c, const char *path, int fd,
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
static int region_stats(const struct ctl *c, const char *path,
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
 * ======================================================================
 * Command-line parsing shared by the subcommands
 * ======================================================================
 */

static void cmd_usage(const struct psharectl_cmd *cmd, FILE *out)
{
	fprintf(out, "Usage: psharectl %s%s%s\n", cmd->name,
		*cmd->args ? " " : "", cmd->args);
}

static void cmd_help_text(const struct psharectl_cmd *cmd)
{
	cmd_usage(cmd, stdout);
	printf("\n%s\n%s", cmd->summary, cmd->help);
}

/* Start a getopt_long() loop for a subcommand. */
static void opt_begin(void)
{
	opterr = 0;
	optind = 1;
}

/*
 * getopt_long() option string prefix: report a missing argument as ':'.
 * Options may follow the arguments (psharectl policy FILE --max 2G).
 */
#define OPT_PREFIX ":"

/*
 * getopt_long() returned @c, which the command does not handle itself:
 * 'h' (help, printed, returns EXIT_OK + 1000), or an error (EXIT_USAGE).
 */
#define OPT_HELP_DONE 1000

static int opt_other(const struct psharectl_cmd *cmd, int c, char **argv)
{
	if (c == 'h') {
		cmd_help_text(cmd);
		return OPT_HELP_DONE;
	}
	if (c == ':' && optopt && optopt < 256)
		err_msg("%s: option '-%c' needs an argument", cmd->name, optopt);
	else if (c == ':')
		err_msg("%s: option '%s' needs an argument", cmd->name,
			argv[optind - 1]);
	else if (optopt && optopt < 256)
		err_msg("%s: unknown option '-%c'", cmd->name, optopt);
	else
		err_msg("%s: unknown option '%s'", cmd->name, argv[optind - 1]);
	cmd_usage(cmd, stderr);
	fprintf(stderr, "Try 'psharectl help %s'.\n", cmd->name);
	return EXIT_USAGE;
}

/* Turn opt_other()'s answer into an exit status. */
static int opt_exit(int rc)
{
	return rc == OPT_HELP_DONE ? finish_output(EXIT_OK) : rc;
}

static int wrong_args(const struct psharectl_cmd *cmd, const char *what)
{
	err_msg("%s: %s", cmd->name, what);
	cmd_usage(cmd, stderr);
	fprintf(stderr, "Try 'psharectl help %s'.\n", cmd->name);
	return EXIT_USAGE;
}

static int bad_value(const struct psharectl_cmd *cmd, const char *opt,
		     const char *val, const char *want)
{
	err_msg("%s: %s '%s': expected %s", cmd->name, opt, val, want);
	return EXIT_USAGE;
}

/*
 * After the options, exactly @nargs arguments; @what names them ("FILE",
 * "FILE and DOMAIN"). Returns -1 to go on, else EXIT_USAGE.
 */
static int check_nargs(const struct psharectl_cmd *cmd, int argc, int nargs,
		       const char *what)
{
	char msg[128];

	if (argc - optind == nargs)
		return -1;
	if (!nargs)
		return wrong_args(cmd, "takes no arguments");
	snprintf(msg, sizeof(msg), "%s %s",
		 argc - optind < nargs ? "needs" : "takes only", what);
	return wrong_args(cmd, msg);
}

/*
 * Options and arguments of the commands without options of their own:
 * --help, and --json where @json is not NULL (*@json then tells whether it
 * was given); then check_nargs(). Returns -1 to go on, else an exit
 * status.
 */
static int parse_simple_opts(const struct psharectl_cmd *cmd, int argc,
			     char **argv, bool *json, int nargs,
			     const char *what)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option help_only[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	if (json)
		*json = false;
	opt_begin();
	while ((c = getopt_long(argc, argv, json ? OPT_PREFIX "jh" : OPT_PREFIX "h",
				json ? longopts : help_only, NULL)) != -1) {
		if (c == 'j')
			*json = true;
		else
			return opt_exit(opt_other(cmd, c, argv));
	}
	return check_nargs(cmd, argc, nargs, what);
}

/*
 * The control device with the features @need, and the region @path open
 * read-write, for the commands that change a region. Returns the region's
 * fd, or -1 (the error explained) with nothing left open.
 */
static int ctl_open_region(struct ctl *c, __u64 need, const char *path)
{
	int fd;

	if (ctl_open(c, need))
		return -1;
	fd = open_region(path, O_RDWR);
	if (fd < 0)
		ctl_close(c);
	return fd;
}

/*
 * ======================================================================
 * psharectl api
 * ======================================================================
 */

static int cmd_api(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct ctl c;
	bool json;
	int rc;

	rc = parse_simple_opts(cmd, argc, argv, &json, 0, NULL);
	if (rc >= 0)
		return rc;

	if (ctl_open(&c, 0))
		return EXIT_ERR;
	ctl_close(&c);

	if (json) {
		putchar('{');
		print_api_json(&c.api);
		printf("}\n");
	} else {
		print_api_text(&c.api);
	}
	return finish_output(EXIT_OK);
}

/*
 * ======================================================================
 * psharectl region FILE
 * ======================================================================
 */

static void print_stats_json(const struct pshare_region_stats *rs)
{
	printf("{\"size_bytes\": %llu, \"pages_private\": %llu, \"pages_zero\": %llu, \"pages_shared\": %llu, \"cow_breaks\": %llu, \"domain\": %llu, \"shares\": %llu, \"min_pages\": %llu, \"max_pages\": %llu, \"target_pages\": %llu, \"active_permille\": %llu, \"active_fast\": %llu, \"active_slow\": %llu, \"active_current\": %llu, \"pages_paged\": %llu, \"paged_out\": %llu, \"paged_in\": %llu, \"page_size\": %llu}",
	       (unsigned long long)rs->size,
	       (unsigned long long)rs->pages_private,
	       (unsigned long long)rs->pages_zero,
	       (unsigned long long)rs->pages_shared,
	       (unsigned long long)rs->cow_breaks,
	       (unsigned long long)rs->domain,
	       (unsigned long long)rs->shares,
	       (unsigned long long)rs->min_pages,
	       (unsigned long long)rs->max_pages,
	       (unsigned long long)rs->target_pages,
	       (unsigned long long)rs->active_permille,
	       (unsigned long long)rs->active_fast,
	       (unsigned long long)rs->active_slow,
	       (unsigned long long)rs->active_current,
	       (unsigned long long)rs->pages_paged,
	       (unsigned long long)rs->paged_out,
	       (unsigned long long)rs->paged_in, PSHARE_PAGE_SIZE);
}

static void print_stats_text(const struct pshare_region_stats *rs)
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
}

static int cmd_region(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct pshare_region_stats rs;
	struct ctl c;
	bool json;
	int rc;

	rc = parse_simple_opts(cmd, argc, argv, &json, 1, "FILE");
	if (rc >= 0)
		return rc;

	if (ctl_open(&c, PSHARE_FEATURE_REGION_STATS))
		return EXIT_ERR;
	rc = region_stats(&c, argv[optind], &rs);
	ctl_close(&c);
	if (rc)
		return EXIT_ERR;

	if (json) {
		printf("{\"file\": ");
		json_str(argv[optind]);
		printf(", ");
		print_api_json(&c.api);
		printf(", \"stats\": ");
		print_stats_json(&rs);
		printf("}\n");
		return finish_output(EXIT_OK);
	}
	printf("region:        %s\n", argv[optind]);
	print_api_text(&c.api);
	print_stats_text(&rs);
	return finish_output(EXIT_OK);
}

/*
 * ======================================================================
 * Snapshots: sysfs counters, the debugfs region table, derived figures
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
 * @domain:	sharing domain
 * @shares:	allocation shares
 * @min:	pages never reclaimed
 * @max:	pages the region may hold
 * @target:	the allocator's target (balloon target), pages
 * @active:	active fraction used by the allocator, permille
 * @fast:	fast moving average, permille
 * @slow:	slow moving average, permille
 * @current:	current sampling period, permille
 * @paged:	pages in the backing file now
 * @paged_out:	pages written to the backing file, ever
 * @paged_in:	pages read back, ever
 * @name:	name of the region file, or "(deleted)"
 */
struct region_row {
	unsigned long long ino, size, priv, zero, shared, cow, domain;
	unsigned long long shares, min, max, target, active, fast, slow;
	unsigned long long current, paged, paged_out, paged_in;
	char name[PATH_MAX];
};

/**
 * struct status - one reading of the module's state
 * @sys:	the files of the sysfs directory, sorted by name
 * @rows:	the region table (valid if @have_rows)
 * @have_rows:	the debugfs table was read
 * @when:	monotonic time of the reading, seconds
 */
struct status {
	struct sysfs_entry *sys;
	size_t nr_sys;
	struct region_row *rows;
	size_t nr_rows;
	bool have_rows;
	double when;
};

static void status_free(struct status *s)
{
	free(s->sys);
	free(s->rows);
	memset(s, 0, sizeof(*s));
}

static int cmp_sysfs(const void *a, const void *b)
{
	return strcmp(((const struct sysfs_entry *)a)->name,
		      ((const struct sysfs_entry *)b)->name);
}

/* Files whose unit is pages get a human size next to them. */
static bool is_pages(const struct sysfs_entry *e)
{
	static const char *const pages[] = {
		"pages_private", "pages_zero", "pages_shared", "pages_sharing",
		"pages_hinted", "pages_paged", "limit_pages",
	};
	size_t i;

	if (!e->is_num)
		return false;
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		if (!strcmp(e->name, pages[i]))
			return true;
	return false;
}

static const struct sysfs_entry *sysfs_find(const struct status *s,
					    const char *name)
{
	size_t i;

	for (i = 0; i < s->nr_sys; i++)
		if (!strcmp(s->sys[i].name, name) && !s->sys[i].err)
			return &s->sys[i];
	return NULL;
}

/* A numeric sysfs value, or @def when the file is missing or not a number. */
static unsigned long long sysfs_num(const struct status *s, const char *name,
				    unsigned long long def)
{
	const struct sysfs_entry *e = sysfs_find(s, name);

	return e && e->is_num ? e->num : def;
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
			cap = cap ? 2 * cap : 32;
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

/*
 * Parse one table line; false if it is not a region line. The columns are
 * those of module/debugfs.c: ino size pages_private pages_zero
 * pages_shared cow_breaks domain shares min max target active fast slow
 * current pages_paged paged_out paged_in name.
 */
static bool parse_region_line(char *line, struct region_row *r)
{
	int name_at = -1;
	size_t len;

	len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	memset(r, 0, sizeof(*r));
	if (sscanf(line,
		   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %n",
		   &r->ino, &r->size, &r->priv, &r->zero, &r->shared, &r->cow,
		   &r->domain, &r->shares, &r->min, &r->max, &r->target,
		   &r->active, &r->fast, &r->slow, &r->current, &r->paged,
		   &r->paged_out, &r->paged_in, &name_at) < 18 || name_at < 0)
		return false;
	snprintf(r->name, sizeof(r->name), "%s", line + name_at);
	return true;
}

/*
 * Read the debugfs table: a header line, then one line per region. Lines
 * that do not parse are the header, or a format this psharectl does not
 * know: the latter is an error. @quiet: report nothing (top retries).
 */
static int read_regions(struct status *s, bool quiet)
{
	char path[PATH_MAX], line[PATH_MAX + 512];
	size_t cap = 0, lineno = 0;
	int rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pshare/regions", debugfs_mnt());
	f = fopen(path, "re");
	if (!f) {
		if (!quiet)
			explain_debugfs(path, errno);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct region_row r, *n;

		lineno++;
		if (!parse_region_line(line, &r)) {
			if (lineno == 1 || line[0] == '#' || line[0] == '\0')
				continue;
			if (!quiet)
				err_msg("%s:%zu: unexpected line \"%s\": psharectl does not match the loaded module; rebuild both from one tree",
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
		if (!quiet)
			err_msg("%s: read error", path);
		rc = -1;
	}
	fclose(f);
	s->have_rows = rc == 0;
	return rc;
}

/*
 * Read sysfs (must work) and the region table (@want_rows; may fail, which
 * is reported unless @quiet). Returns 0, 1 (no table), or -1 (no sysfs).
 */
static int read_status(struct status *s, bool want_rows, bool quiet)
{
	memset(s, 0, sizeof(*s));
	s->when = now_mono();
	if (read_sysfs(s))
		return -1;
	if (want_rows && read_regions(s, quiet))
		return 1;
	return 0;
}

/**
 * struct derived - figures computed from one reading
 * @size_pages:		sum of region sizes, in pages (table)
 * @table_private:	private frames summed over the table
 * @hole_pages:		pages with no frame and not paged (never written,
 *			punched by the balloon) (table)
 * @held:		pages the regions hold: private frames plus shared
 *			frames (sysfs; what limit_pages bounds)
 * @saved:		pages saved by sharing: pages_sharing (sysfs)
 * @sharing_ratio:	pages_sharing / pages_shared; -1 if no shared frame
 * @overcommit:		@size_pages / @held; -1 if undefined
 * @limit:		limit_pages, 0 for none
 * @state:		memory_state, or "?"
 */
struct derived {
	unsigned long long size_pages, table_private, hole_pages;
	unsigned long long held, saved, zero, paged, limit;
	double sharing_ratio, overcommit;
	const char *state;
};

static void derive(const struct status *s, struct derived *d)
{
	const struct sysfs_entry *e;
	unsigned long long frames;
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; s->have_rows && i < s->nr_rows; i++) {
		const struct region_row *r = &s->rows[i];
		unsigned long long pages, used;

		pages = (r->size + PSHARE_PAGE_SIZE - 1) / PSHARE_PAGE_SIZE;
		used = r->priv + r->zero + r->shared + r->paged;
		d->size_pages += pages;
		d->table_private += r->priv;
		/* Counters and size are read at slightly different times. */
		d->hole_pages += pages > used ? pages - used : 0;
	}
	frames = sysfs_num(s, "pages_shared", 0);
	d->held = sysfs_num(s, "pages_private", d->table_private) + frames;
	d->saved = sysfs_num(s, "pages_sharing", 0);
	d->zero = sysfs_num(s, "pages_zero", 0);
	d->paged = sysfs_num(s, "pages_paged", 0);
	d->limit = sysfs_num(s, "limit_pages", 0);
	d->sharing_ratio = frames ? (double)d->saved / frames : -1;
	d->overcommit = s->have_rows && d->held ?
			(double)d->size_pages / d->held : -1;
	e = sysfs_find(s, "memory_state");
	d->state = e ? e->value : "?";
}

static const char *ratio_str(char *buf, size_t len, double v)
{
	if (v < 0 || !isfinite(v))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

static const char *limit_str(char *buf, size_t len, unsigned long long limit)
{
	char h[32];

	if (!limit)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%llu pages (%s)", limit,
			 hpages(h, sizeof(h), limit));
	return buf;
}

/* "12.5" for 125 permille. */
static const char *pct_str(char *buf, size_t len, unsigned long long permille)
{
	snprintf(buf, len, "%.1f", permille / 10.0);
	return buf;
}

/*
 * ======================================================================
 * psharectl status
 * ======================================================================
 */

static size_t name_width(const struct status *s, size_t min)
{
	size_t i, w = min;

	for (i = 0; i < s->nr_rows; i++)
		if (strlen(s->rows[i].name) > w)
			w = strlen(s->rows[i].name);
	return w > 32 ? 32 : w;
}

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
		       (int)w, (int)w, r->name, human(h[0], 32, r->size),
		       hpages(h[1], 32, r->priv), hpages(h[2], 32, r->zero),
		       hpages(h[3], 32, r->shared), r->cow, r->domain,
		       r->shares, hpages(h[4], 32, r->min),
		       hpages(h[5], 32, r->max), hpages(h[6], 32, r->target),
		       pct_str(h[7], 32, r->active),
		       hpages(h[8], 32, r->paged));
	}
	if (!s->nr_rows)
		printf("  (no regions)\n");
}

static void print_derived_text(const struct status *s)
{
	struct derived d;
	char h[2][64];

	derive(s, &d);
	printf("\nderived:\n");
	if (s->have_rows)
		printf("  %-22s %9s  %s\n", "regions total size",
		       hpages(h[0], 64, d.size_pages),
		       "guest RAM the regions describe");
	printf("  %-22s %9s  %s\n", "held",
	       hpages(h[0], 64, d.held),
	       "private frames + shared frames (what limit_pages bounds)");
	printf("  %-22s %9s  %s\n", "saved by sharing",
	       hpages(h[0], 64, d.saved), "pages_sharing");
	printf("  %-22s %9s  %s\n", "sharing ratio",
	       ratio_str(h[0], 64, d.sharing_ratio),
	       "pages_sharing / pages_shared: pages saved per shared frame");
	printf("  %-22s %9s  %s\n", "zero pages",
	       hpages(h[0], 64, d.zero),
	       "read but never written (or merged as zero): one zero frame");
	if (s->have_rows)
		printf("  %-22s %9s  %s\n", "holes",
		       hpages(h[0], 64, d.hole_pages),
		       "never touched or punched (balloon): no frame");
	printf("  %-22s %9s  %s\n", "paged out",
	       hpages(h[0], 64, d.paged), "in backing files");
	if (s->have_rows)
		printf("  %-22s %9s  %s\n", "overcommit ratio",
		       ratio_str(h[0], 64, d.overcommit),
		       "regions total size / held");
	printf("  %-22s %9s\n", "memory_state", d.state);
	printf("  %-22s %s\n", "limit", limit_str(h[0], 64, d.limit));
	if (d.limit)
		printf("  %-22s %9s  %s\n", "headroom",
		       d.limit > d.held ? hpages(h[1], 64, d.limit - d.held) : "0",
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
	}
	print_derived_text(s);
}

static void print_sysfs_json(const struct status *s)
{
	size_t i;

	putchar('{');
	for (i = 0; i < s->nr_sys; i++) {
		const struct sysfs_entry *e = &s->sys[i];

		printf("%s", i ? ", " : "");
		json_str(e->name);
		printf(": ");
		if (e->err)
			printf("null");
		else if (e->is_num)
			printf("%llu", e->num);
		else
			json_str(e->value);
	}
	putchar('}');
}

static void print_row_json(const struct region_row *r)
{
	printf("{\"name\": ");
	json_str(r->name);
	printf(", \"ino\": %llu, \"size_bytes\": %llu, \"pages_private\": %llu, \"pages_zero\": %llu, \"pages_shared\": %llu, \"cow_breaks\": %llu, \"domain\": %llu, \"shares\": %llu, \"min_pages\": %llu, \"max_pages\": %llu, \"target_pages\": %llu, \"active_permille\": %llu, \"active_fast\": %llu, \"active_slow\": %llu, \"active_current\": %llu, \"pages_paged\": %llu, \"paged_out\": %llu, \"paged_in\": %llu}",
	       r->ino, r->size, r->priv, r->zero, r->shared, r->cow,
	       r->domain, r->shares, r->min, r->max, r->target, r->active,
	       r->fast, r->slow, r->current, r->paged, r->paged_out,
	       r->paged_in);
}

static void print_rows_json(const struct status *s)
{
	size_t i;

	if (!s->have_rows) {
		printf("null");
		return;
	}
	putchar('[');
	for (i = 0; i < s->nr_rows; i++) {
		printf("%s", i ? ", " : "");
		print_row_json(&s->rows[i]);
	}
	putchar(']');
}

static void print_derived_json(const struct status *s)
{
	struct derived d;

	derive(s, &d);
	printf("{\"held_pages\": %llu, \"held_bytes\": %llu, \"saved_by_sharing_bytes\": %llu, \"sharing_ratio\": ",
	       d.held, d.held * PSHARE_PAGE_SIZE, d.saved * PSHARE_PAGE_SIZE);
	json_ratio(d.sharing_ratio);
	printf(", \"zero_bytes\": %llu, \"paged_bytes\": %llu, \"memory_state\": ",
	       d.zero * PSHARE_PAGE_SIZE, d.paged * PSHARE_PAGE_SIZE);
	json_str(d.state);
	printf(", \"limit_pages\": %llu", d.limit);
	if (s->have_rows) {
		printf(", \"size_bytes\": %llu, \"hole_bytes\": %llu, \"overcommit_ratio\": ",
		       d.size_pages * PSHARE_PAGE_SIZE,
		       d.hole_pages * PSHARE_PAGE_SIZE);
		json_ratio(d.overcommit);
	} else {
		printf(", \"size_bytes\": null, \"hole_bytes\": null, \"overcommit_ratio\": null");
	}
	putchar('}');
}

static void print_status_json(const struct status *s)
{
	printf("{\"page_size\": %llu, \"sysfs\": ", PSHARE_PAGE_SIZE);
	print_sysfs_json(s);
	printf(", \"regions\": ");
	print_rows_json(s);
	printf(", \"derived\": ");
	print_derived_json(s);
	printf("}\n");
}

static int cmd_status(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct status s;
	bool json;
	int rc;

	rc = parse_simple_opts(cmd, argc, argv, &json, 0, NULL);
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

/*
 * ======================================================================
 * psharectl top: live view, vmstat-like log, JSON stream
 * ======================================================================
 */

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

	if (x->priv != y->priv)
		return x->priv < y->priv ? 1 : -1;
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
	printf("scanner run %llu: scanned/s %.0f  full_scans %llu  merged %+lld  hinted %llu  hint_hits %llu  stale_hints %llu  false_matches %llu  merge_busy %llu\n",
	       sysfs_num(b, "run", 0), sysfs_rate(a, b, "pages_scanned"),
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
		       (int)w, (int)w, r->name, human(h[0], 32, r->size),
		       hpages(h[1], 32, r->priv), hpages(h[2], 32, r->shared),
		       hpages(h[3], 32, r->zero), hpages(h[4], 32, r->paged),
		       hpages(h[5], 32, r->target),
		       pct_str(h[6], 32, r->active),
		       row_rate(a, b, r, offsetof(struct region_row, cow)),
		       row_rate(a, b, r, offsetof(struct region_row, paged_out)),
		       row_rate(a, b, r, offsetof(struct region_row, paged_in)));
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

static void top_json(const struct status *a, const struct status *b)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("{\"time\": %lld.%03ld, \"interval_s\": %.3f, \"sysfs\": ",
	       (long long)ts.tv_sec, ts.tv_nsec / 1000000, b->when - a->when);
	print_sysfs_json(b);
	printf(", \"rates\": {\"scanned_per_s\": %.1f, \"merged\": %lld, \"cow_breaks_per_s\": %.1f, \"paged_out_per_s\": %.1f, \"paged_in_per_s\": %.1f, \"full_scans\": %lld}",
	       sysfs_rate(a, b, "pages_scanned"),
	       sysfs_delta(a, b, "pages_sharing"),
	       sysfs_rate(a, b, "cow_breaks"), sysfs_rate(a, b, "paged_out"),
	       sysfs_rate(a, b, "paged_in"), sysfs_delta(a, b, "full_scans"));
	printf(", \"derived\": ");
	print_derived_json(b);
	printf(", \"regions\": ");
	print_rows_json(b);
	printf("}\n");
}

static int cmd_top(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, '1' },
		{ "log", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum top_mode mode = TOP_SCREEN;
	unsigned long long count = 0, n;
	double interval = 1.0, next;
	struct status prev, cur;
	char rows_err[PATH_MAX + 64] = "";
	bool once = false, tty;
	int c, rc;

	opt_begin();
	while ((c = getopt_long(argc, argv, OPT_PREFIX "d:n:1ljh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!parse_secs(optarg, 0.1, &interval))
				return bad_value(cmd, "-d", optarg,
						 "seconds, at least 0.1");
			break;
		case 'n':
			if (!parse_u64(optarg, &count) || !count)
				return bad_value(cmd, "-n", optarg,
						 "a count of at least 1");
			break;
		case '1':
			once = true;
			break;
		case 'l':
			mode = TOP_LOG;
			break;
		case 'j':
			mode = TOP_JSON;
			break;
		default:
			return opt_exit(opt_other(cmd, c, argv));
		}
	}
	if (optind != argc)
		return wrong_args(cmd, "takes no arguments");
	if (once)
		count = 1;
	tty = isatty(STDOUT_FILENO) && mode == TOP_SCREEN && !once;
	if (mode == TOP_LOG && !isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (mode == TOP_JSON)
		setvbuf(stdout, NULL, _IOLBF, 0);

	/* The log mode needs only sysfs; the others show the table too. */
	rc = read_status(&prev, mode != TOP_LOG, true);
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
	if (mode == TOP_LOG)
		top_log_header();

	next = prev.when + interval;
	for (n = 0; !count || n < count; n++) {
		sleep_until(next);
		if (psharectl_stop)
			break;
		next += interval;
		if (read_status(&cur, mode != TOP_LOG, true) < 0) {
			status_free(&prev);
			return EXIT_ERR;
		}
		switch (mode) {
		case TOP_SCREEN:
			if (n && !tty)
				putchar('\n');
			top_screen(&prev, &cur, interval, tty, rows_err);
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

/*
 * ======================================================================
 * psharectl policy / domain / backing: change a region
 * ======================================================================
 */

/* Options of the changing commands: only --help. Returns -1 to go on. */
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

static int cmd_policy(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "shares", required_argument, NULL, 's' },
		{ "min", required_argument, NULL, 'm' },
		{ "max", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pshare_region_policy pol;
	struct pshare_region_stats rs;
	unsigned long long new_max;
	const char *path;
	struct ctl c;
	int ch, fd, rc;

	memset(&pol, 0, sizeof(pol));
	opt_begin();
	while ((ch = getopt_long(argc, argv, OPT_PREFIX "h", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 's':
			pol.flags |= PSHARE_POLICY_SHARES;
			if (!strcmp(optarg, "default"))
				pol.shares = PSHARE_POLICY_DEFAULT;
			else if (!parse_u64(optarg, &pol.shares) ||
				 pol.shares > PSHARE_SHARES_LIMIT)
				return bad_value(cmd, "--shares", optarg,
						 "a number up to 2^30 (1073741824), or 'default' (the size in pages)");
			break;
		case 'm':
			pol.flags |= PSHARE_POLICY_MIN;
			if (!parse_pages(optarg, &pol.min_pages) ||
			    pol.min_pages > PSHARE_PAGES_LIMIT)
				return bad_value(cmd, "--min", optarg,
						 "PAGES or a SIZE like 512M, at most 2^28 pages (1T)");
			break;
		case 'M':
			pol.flags |= PSHARE_POLICY_MAX;
			if (!strcmp(optarg, "default"))
				pol.max_pages = PSHARE_POLICY_DEFAULT;
			else if (!parse_pages(optarg, &pol.max_pages) ||
				 pol.max_pages > PSHARE_PAGES_LIMIT)
				return bad_value(cmd, "--max", optarg,
						 "PAGES or a SIZE like 2G, at most 2^28 pages (1T), or 'default' (the size)");
			break;
		default:
			return opt_exit(opt_other(cmd, ch, argv));
		}
	}
	rc = check_nargs(cmd, argc, 1, "FILE");
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

static int cmd_domain(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct pshare_region_domain dom;
	struct pshare_region_stats rs;
	unsigned long long n;
	const char *path;
	struct ctl c;
	int fd, rc;

	rc = parse_simple_opts(cmd, argc, argv, NULL, 2, "FILE and DOMAIN");
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

	rc = parse_simple_opts(cmd, argc, argv, NULL, 2,
			       "FILE and BACKINGFILE (or 'none')");
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

/*
 * ======================================================================
 * A minimal JSON reader for QMP replies
 * ======================================================================
 *
 * QMP sends one JSON object per line. The agent needs only a few members
 * ("QMP", "return", "error", "event", "actual", "desc"), so instead of
 * building a tree it validates a message and finds members in place. All
 * functions take a pointer into a NUL-terminated message and never read
 * past the NUL.
 */

#define JSON_MAX_DEPTH 64

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* @p at '"': the character after the closing quote, or NULL. */
static const char *json_skip_string(const char *p)
{
	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			int i;

			for (i = 1; i <= 4; i++)
				if (!isxdigit((unsigned char)p[i]))
					return NULL;
			p += 4;
		} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return *p == '"' ? p + 1 : NULL;
}

/* Past one or more digits at @p, or NULL when there is none. */
static const char *json_skip_digits(const char *p)
{
	const char *start = p;

	while (*p >= '0' && *p <= '9')
		p++;
	return p == start ? NULL : p;
}

static const char *json_skip_number(const char *p)
{
	if (*p == '-')
		p++;
	p = json_skip_digits(p);
	if (p && *p == '.')
		p = json_skip_digits(p + 1);
	if (p && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		p = json_skip_digits(p);
	}
	return p;
}

/* Skip one value (after leading blanks): the end of it, or NULL if bad. */
static const char *json_skip_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > JSON_MAX_DEPTH)
		return NULL;
	switch (*p) {
	case '"':
		return json_skip_string(p);
	case '{':
	case '[': {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = json_skip_string(json_ws(p));
				if (!p)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = json_skip_value(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return json_skip_number(p);
	}
}

/* Is @text one valid JSON value and nothing else? */
static bool json_valid(const char *text)
{
	const char *end = json_skip_value(text, 0);

	return end && *json_ws(end) == '\0';
}

/*
 * Decode the string at @p (at '"') into @out (at most @len bytes with the
 * NUL). \uXXXX outside ASCII becomes '?': QMP keys and the messages we
 * print are ASCII.
 */
static void json_string(const char *p, char *out, size_t len)
{
	size_t n = 0;

	if (*p != '"' || !len)
		return;
	for (p++; *p && *p != '"'; p++) {
		char ch = *p;

		if (ch == '\\') {
			p++;
			switch (*p) {
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case 'u': {
				unsigned int v = 0;
				int i;

				for (i = 1; i <= 4 && p[i]; i++)
					v = v * 16 + (isdigit((unsigned char)p[i]) ?
						      p[i] - '0' :
						      (tolower((unsigned char)p[i]) - 'a' + 10));
				p += 4;
				ch = v < 0x80 ? (char)v : '?';
				break;
			}
			default:
				ch = *p;
			}
		}
		if (n + 1 < len)
			out[n++] = ch;
	}
	out[n] = '\0';
}

/*
 * The value of member @key of the object at @obj (after blanks), or NULL
 * when @obj is not an object or has no such member. @obj must be valid.
 */
static const char *json_member(const char *obj, const char *key)
{
	const char *p = json_ws(obj);

	if (*p != '{')
		return NULL;
	p = json_ws(p + 1);
	if (*p == '}')
		return NULL;
	for (;;) {
		char name[64];
		const char *v;

		json_string(p, name, sizeof(name));
		p = json_ws(json_skip_string(p));
		v = json_ws(p + 1);		/* past ':' */
		if (!strcmp(name, key))
			return v;
		p = json_ws(json_skip_value(v, 0));
		if (*p != ',')
			return NULL;
		p = json_ws(p + 1);
	}
}

/* The unsigned integer at @p, if it is one. */
static bool json_u64(const char *p, unsigned long long *out)
{
	char *end;

	if (!p || *p < '0' || *p > '9')
		return false;
	errno = 0;
	*out = strtoull(p, &end, 10);
	return errno == 0 && *end != '.' && *end != 'e' && *end != 'E';
}

/*
 * ======================================================================
 * A QMP client on a unix socket
 * ======================================================================
 */

/* Seconds QEMU gets for each message. */
#define QMP_TIMEOUT_S	10

/**
 * struct qmp - one QMP session
 * @fd:		the connected socket
 * @buf:	received bytes not yet consumed, NUL-terminated
 * @len:	bytes in @buf
 * @cap:	size of @buf
 * @msg:	the last message read (points into @buf until the next read)
 * @used:	bytes of @buf that @msg and its line end take
 */
struct qmp {
	int fd;
	char *buf;
	size_t len, cap;
	char *msg;
	size_t used;
};

/* Largest QMP message accepted; the agent's replies are tiny. */
#define QMP_MAX_MSG	(1 << 20)

static void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	memset(q, 0, sizeof(*q));
	q->fd = -1;
}

/*
 * Read one message (one line) into q->msg. Returns 0, or -1 with a
 * reason in @why.
 */
static int qmp_read(struct qmp *q, char *why, size_t whylen)
{
	char *nl;

	/* Drop the previous message. */
	if (q->msg) {
		memmove(q->buf, q->buf + q->used, q->len - q->used + 1);
		q->len -= q->used;
		q->msg = NULL;
	}
	while (!q->buf || !(nl = memchr(q->buf, '\n', q->len))) {
		ssize_t n;

		if (q->len + 4096 + 1 > q->cap) {
			char *b;

			if (q->cap >= QMP_MAX_MSG) {
				snprintf(why, whylen, "QMP message longer than %d bytes",
					 QMP_MAX_MSG);
				return -1;
			}
			b = realloc(q->buf, q->cap ? 2 * q->cap : 8192);
			if (!b) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
			q->buf = b;
			q->cap = q->cap ? 2 * q->cap : 8192;
		}
		n = recv(q->fd, q->buf + q->len, q->cap - q->len - 1, 0);
		if (n == 0) {
			snprintf(why, whylen, "QEMU closed the connection");
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR && !psharectl_stop)
				continue;
			snprintf(why, whylen, "%s",
				 errno == EAGAIN || errno == EWOULDBLOCK ?
				 "no answer from QEMU within 10 s (another client may hold this QMP socket: it serves one at a time)" :
				 strerror(errno));
			return -1;
		}
		q->len += n;
		q->buf[q->len] = '\0';
	}
	*nl = '\0';
	q->used = nl - q->buf + 1;
	if (nl > q->buf && nl[-1] == '\r')
		nl[-1] = '\0';
	q->msg = q->buf;
	if (!json_valid(q->msg)) {
		snprintf(why, whylen, "QEMU sent something that is not JSON: %.60s",
			 q->msg);
		return -1;
	}
	return 0;
}

/*
 * Send one command (a JSON text) and wait for its reply, skipping events.
 * On success q->msg is the reply and *@ret its "return" value. On a QMP
 * error, -1 with the error's class and desc in @why.
 */
static int qmp_cmd(struct qmp *q, const char *json, const char **ret,
		   char *why, size_t whylen)
{
	size_t len = strlen(json), off = 0;

	while (off < len) {
		ssize_t n = send(q->fd, json + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "sending to QEMU: %s",
				 strerror(errno));
			return -1;
		}
		off += n;
	}
	for (;;) {
		const char *err, *r;

		if (qmp_read(q, why, whylen))
			return -1;
		if (json_member(q->msg, "event"))
			continue;
		err = json_member(q->msg, "error");
		if (err) {
			char cls[64] = "", desc[256] = "";
			const char *v;

			v = json_member(err, "class");
			if (v && *v == '"')
				json_string(v, cls, sizeof(cls));
			v = json_member(err, "desc");
			if (v && *v == '"')
				json_string(v, desc, sizeof(desc));
			snprintf(why, whylen, "QEMU refused: %s%s%s", desc,
				 *cls ? " " : "", *cls ? cls : "");
			return -1;
		}
		r = json_member(q->msg, "return");
		if (r) {
			if (ret)
				*ret = r;
			return 0;
		}
		/* Neither: an unknown message type; ignore it like an event. */
	}
}

/* Connect to a QMP socket and leave command mode set up. */
static int qmp_open(struct qmp *q, const char *path, char *why, size_t whylen)
{
	struct timeval tv = { .tv_sec = QMP_TIMEOUT_S };
	struct sockaddr_un sun;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, whylen, "socket path longer than %zu bytes",
			 sizeof(sun.sun_path) - 1);
		return -1;
	}
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(q->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(q->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if (connect(q->fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int err = errno;

		snprintf(why, whylen, "connect: %s%s", strerror(err),
			 err == ENOENT || err == ECONNREFUSED ?
			 " (is QEMU running with -qmp unix:PATH,server=on,wait=off?)" :
			 err == EACCES ? " (run as the user QEMU runs as, or root)" :
			 "");
		goto fail;
	}
	if (qmp_read(q, why, whylen))
		goto fail;
	if (!json_member(q->msg, "QMP")) {
		snprintf(why, whylen, "no QMP greeting (is this a QMP socket, not an HMP monitor?)");
		goto fail;
	}
	if (qmp_cmd(q, "{\"execute\":\"qmp_capabilities\"}\n", NULL, why,
		    whylen))
		goto fail;
	return 0;
fail:
	qmp_close(q);
	return -1;
}

/* The guest's RAM as the balloon sees it: query-balloon "actual". */
static int qmp_balloon_actual(struct qmp *q, unsigned long long *actual,
			      char *why, size_t whylen)
{
	const char *ret;

	if (qmp_cmd(q, "{\"execute\":\"query-balloon\"}\n", &ret, why, whylen))
		return -1;
	if (!json_u64(json_member(ret, "actual"), actual)) {
		snprintf(why, whylen, "query-balloon answered without a number \"actual\"");
		return -1;
	}
	return 0;
}

/*
 * ======================================================================
 * psharectl balloon: the balloon agent
 * ======================================================================
 */

/**
 * struct balloon_pair - one region and the QMP socket of its QEMU
 * @region:	path of the region file
 * @sock:	path of the QMP unix socket
 * @last:	the balloon value last sent, bytes; 0 before the first
 * @failing:	the last round failed (report only the first failure)
 */
struct balloon_pair {
	const char *region;
	const char *sock;
	unsigned long long last;
	bool failing;
};

/* clamp(target_pages * 4096, floor, size), in whole MiB below the size. */
static unsigned long long balloon_value(const struct pshare_region_stats *rs,
					unsigned long long floor)
{
	unsigned long long size = rs->size, want;

	want = rs->target_pages > size / PSHARE_PAGE_SIZE ? size :
	       rs->target_pages * PSHARE_PAGE_SIZE;
	if (want < size)
		want -= want % MIB;	/* no churn over a few pages */
	if (want < floor)
		want = floor;
	if (want > size)
		want = size;
	return want;
}

static void agent_log(const char *fmt, ...) __printf(1, 2);

static void agent_log(const char *fmt, ...)
{
	char t[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	localtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s ", t);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/*
 * One round for one pair: read the target, send the balloon value, log a
 * change. Returns 0 or -1 (logged, to stderr on the first failure of a
 * series).
 */
static int balloon_round(const struct ctl *c, struct balloon_pair *p,
			 unsigned long long floor)
{
	unsigned long long want, before, actual;
	struct pshare_region_stats rs;
	char why[512], cmd[128], h[4][32];
	const char *where = p->region, *hint = "";
	struct qmp q;
	int fd;

	/* Reopened every round: QEMU may have recreated the file. */
	fd = open(p->region, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto fail;
	}
	memset(&rs, 0, sizeof(rs));
	rs.argsz = sizeof(rs);
	rs.fd = fd;
	if (ioctl(c->devfd, PSHARE_IOC_REGION_STATS, &rs)) {
		snprintf(why, sizeof(why), "PSHARE_IOC_REGION_STATS: %s",
			 strerror(errno));
		if (errno == ENODEV)
			hint = " (not a pshare region file)";
		close(fd);
		goto fail;
	}
	close(fd);
	if (!rs.size) {
		snprintf(why, sizeof(why), "the region is empty (size 0)");
		hint = ": is QEMU using it?";
		goto fail;
	}
	want = balloon_value(&rs, floor);

	where = p->sock;
	if (qmp_open(&q, p->sock, why, sizeof(why)))
		goto fail;
	if (qmp_balloon_actual(&q, &before, why, sizeof(why)))
		goto fail_qmp;
	/*
	 * Sent every round, not only on a change: the command is idempotent,
	 * and a restarted QEMU or another client may have changed it.
	 */
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"balloon\",\"arguments\":{\"value\":%llu}}\n",
		 want);
	if (qmp_cmd(&q, cmd, NULL, why, sizeof(why)))
		goto fail_qmp;
	if (qmp_balloon_actual(&q, &actual, why, sizeof(why)))
		goto fail_qmp;
	qmp_close(&q);

	if (want != p->last || p->failing)
		agent_log("%s: balloon %s -> %s (%llu bytes; target_pages %llu, size %s), actual %s",
			  p->region,
			  p->last ? human(h[0], 32, p->last) :
				    human(h[0], 32, before),
			  human(h[1], 32, want), want,
			  (unsigned long long)rs.target_pages,
			  human(h[2], 32, rs.size), human(h[3], 32, actual));
	p->last = want;
	p->failing = false;
	return 0;

fail_qmp:
	qmp_close(&q);
	if (strstr(why, "alloon") || strstr(why, "DeviceNotActive"))
		hint = " (give QEMU -device virtio-balloon-pci and load virtio_balloon in the guest)";
fail:
	if (!p->failing)
		err_msg("balloon: %s: %s%s", where, why, hint);
	p->failing = true;
	return -1;
}

static int cmd_balloon(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, '1' },
		{ "floor", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long floor = 128 * MIB;
	struct balloon_pair *pairs;
	double interval = 5.0, next;
	bool once = false, unit;
	int i, n, ch, rc = EXIT_OK;
	struct ctl c;
	char h[32];

	opt_begin();
	while ((ch = getopt_long(argc, argv, OPT_PREFIX "h", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 'i':
			if (!parse_secs(optarg, 0.1, &interval))
				return bad_value(cmd, "--interval", optarg,
						 "seconds, at least 0.1");
			break;
		case '1':
			once = true;
			break;
		case 'f':
			if (!parse_size(optarg, &floor, &unit))
				return bad_value(cmd, "--floor", optarg,
						 "a SIZE like 128M (a plain number is bytes)");
			break;
		default:
			return opt_exit(opt_other(cmd, ch, argv));
		}
	}
	n = argc - optind;
	if (n < 1)
		return wrong_args(cmd, "needs at least one REGION=QMP_SOCKET");
	pairs = calloc(n, sizeof(*pairs));
	if (!pairs) {
		err_msg("out of memory");
		return EXIT_ERR;
	}
	for (i = 0; i < n; i++) {
		char *arg = argv[optind + i], *eq = strchr(arg, '=');

		if (!eq || eq == arg || !eq[1]) {
			free(pairs);
			return bad_value(cmd, "pair", arg,
					 "REGION=QMP_SOCKET, e.g. /run/pshare/vm1=/run/pshare-qmp/vm1.sock");
		}
		*eq = '\0';
		pairs[i].region = arg;
		pairs[i].sock = eq + 1;
	}

	if (ctl_open(&c, PSHARE_FEATURE_REGION_STATS | PSHARE_FEATURE_POLICY)) {
		free(pairs);
		return EXIT_ERR;
	}
	catch_stop_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!once)
		agent_log("balloon agent: %d region(s), every %.1f s, floor %s",
			  n, interval, human(h, sizeof(h), floor));

	next = now_mono();
	while (!psharectl_stop) {
		int failed = 0;

		for (i = 0; i < n && !psharectl_stop; i++)
			failed += balloon_round(&c, &pairs[i], floor) != 0;
		if (once) {
			rc = failed ? EXIT_ERR : EXIT_OK;
			break;
		}
		next += interval;
		sleep_until(next);
	}
	if (!once)
		agent_log("balloon agent stopped; balloons stay where they are");
	ctl_close(&c);
	free(pairs);
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
"               or null if unreadable), regions (list with every column,\n"
"               or null when the table could not be read), derived\n",
		.run = cmd_status,
	},
	{
		.name = "top",
		.args = "[-d SECS] [-n COUNT] [--once] [--log|--json]",
		.summary = "Live view of counters, rates and regions.",
		.help =
"\n"
"Reads the module every interval and shows what changed:\n"
"  scanned/s  pages the scanner hashed per second (pages_scanned)\n"
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
		.run = cmd_top,
	},
	{
		.name = "region",
		.args = "[--json] FILE",
		.summary = "Statistics of one region file (/dev/pshare ioctl).",
		.help =
"\n"
"Opens /dev/pshare, negotiates the API (PSHARE_IOC_API) and prints its\n"
"version and features, then opens FILE read-only and prints the result of\n"
"PSHARE_IOC_REGION_STATS: memory (private, zero, shared, cow breaks),\n"
"domain, policy (shares, min, max, target), active estimates and paging\n"
"counters. Needs root (/dev/pshare is mode 0600).\n"
"\n"
"  -j, --json   one JSON object: file, api, stats\n",
		.run = cmd_region,
	},
	{
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
		.run = cmd_policy,
	},
	{
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
		.run = cmd_domain,
	},
	{
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
		.run = cmd_backing,
	},
	{
		.name = "balloon",
		.args = "REGION=QMP_SOCKET [...] [--interval S] [--once] [--floor SIZE]",
		.summary = "Balloon agent: drive QEMU's virtio-balloon from region targets.",
		.help =
"\n"
"For each REGION=QMP_SOCKET pair, every interval: read the region's\n"
"target_pages and size (PSHARE_IOC_REGION_STATS), connect to QEMU's QMP\n"
"socket (handshake with qmp_capabilities), send\n"
"  {\"execute\":\"balloon\",\"arguments\":{\"value\":BYTES}}\n"
"with BYTES = clamp(target_pages * 4096, floor, size) (whole MiB below the\n"
"size), and read query-balloon. Each change is logged with the old and\n"
"new value and the guest's actual RAM. The connection is closed after\n"
"each round, so the QMP socket stays usable by others between rounds (a\n"
"QMP socket serves one client at a time).\n"
"\n"
"QEMU needs -device virtio-balloon-pci and a QMP socket, e.g.\n"
"  -qmp unix:/run/pshare-qmp/vm1.sock,server=on,wait=off\n"
"(a second -qmp next to one used by other tools is fine).\n"
"\n"
"  --interval S   seconds between rounds, default 5\n"
"  --once         one round, then exit (status 1 if any pair failed)\n"
"  --floor SIZE   never ask a guest to go below SIZE (default 128M; a\n"
"                 plain number is bytes)\n"
"Stopping the agent (SIGINT, SIGTERM) leaves the balloons where they are.\n",
		.run = cmd_balloon,
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

#define NR_CMDS ARRAY_SIZE(psharectl_cmds)

static const struct psharectl_cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NR_CMDS; i++)
		if (!strcmp(psharectl_cmds[i].name, name))
			return &psharectl_cmds[i];
	return NULL;
}

static void print_usage(FILE *out)
{
	size_t i;

	fprintf(out,
"Usage: psharectl [-h|--help] [-V|--version] COMMAND [ARGS]\n"
"\n"
"Inspect and steer pshare, the module that owns QEMU/KVM guest RAM through\n"
"the pshare filesystem, shares its pages and reclaims them.\n"
"\n"
"Commands:\n");
	for (i = 0; i < NR_CMDS; i++)
		fprintf(out, "  %-9s %s\n", psharectl_cmds[i].name,
			psharectl_cmds[i].summary);
	fprintf(out,
"\n"
"'psharectl help COMMAND' shows a command's arguments and options.\n"
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
		print_usage(stdout);
		return finish_output(EXIT_OK);
	}
	c = find_cmd(argv[1]);
	if (!c) {
		err_msg("help: unknown command '%s'", argv[1]);
		return EXIT_USAGE;
	}
	cmd_help_text(c);
	return finish_output(EXIT_OK);
}

int main(int argc, char **argv)
{
	const struct psharectl_cmd *cmd;

	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		print_usage(stdout);
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
