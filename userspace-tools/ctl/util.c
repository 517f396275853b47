// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers every psharectl command uses: error messages, the paths
 * of the module's files, sizes for people, number parsing, clocks and the
 * stop signals of the long-running commands.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "psharectl.h"

void err_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("psharectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Paths can be moved with environment variables, e.g. to test the tool. */
const char *sysfs_dir(void)
{
	const char *p = getenv("PSHARECTL_SYSFS");

	return p && *p ? p : PSHARE_SYSFS_DIR;
}

const char *debugfs_mnt(void)
{
	const char *p = getenv("PSHARECTL_DEBUGFS");

	return p && *p ? p : PSHARE_DEBUGFS_MNT;
}

const char *device_path(void)
{
	const char *p = getenv("PSHARECTL_DEVICE");

	return p && *p ? p : PSHARE_DEVICE;
}

const char *meminfo_path(void)
{
	const char *p = getenv("PSHARECTL_MEMINFO");

	return p && *p ? p : "/proc/meminfo";
}

bool module_loaded(void)
{
	struct stat st;

	return stat(sysfs_dir(), &st) == 0 && S_ISDIR(st.st_mode);
}

/* Is any pshare filesystem mounted? Only used to make hints precise. */
bool pshare_mounted(void)
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
const char *human(char *buf, size_t len, unsigned long long bytes)
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
const char *hpages(char *buf, size_t len, unsigned long long pages)
{
	return human(buf, len, pages * PSHARE_PAGE_SIZE);
}

/* Write @s as a JSON string literal. */
/* Is @s a whole unsigned decimal number? Stores it in @out. */
bool parse_u64(const char *s, unsigned long long *out)
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
bool parse_size(const char *s, unsigned long long *out, bool *had_unit)
{
	long double frac = 0;
	/* Each a factor of 1024 above the one before it. */
	static const char units[] = "KMGT";
	unsigned long long whole, mult;
	const char *p, *unit;
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
	if (*p == '\0') {
		if (frac != 0)
			return false;	/* "1.5" pages makes no sense */
		*out = whole;
		return true;
	}
	unit = strchr(units, toupper((unsigned char)*p));
	if (!unit)
		return false;
	mult = 1ULL << (10 * (unit - units + 1));
	p++;
	if (!strcmp(p, "i") || !strcmp(p, "iB") || !strcmp(p, "B"))
		p += strlen(p);
	if (*p || whole > ULLONG_MAX / mult / 2)
		return false;
	*out = whole * mult + (unsigned long long)(frac * mult + 0.5L);
	return true;
}

/* PAGES (a plain number) or SIZE (with a unit, rounded up to pages). */
bool parse_pages(const char *s, unsigned long long *pages)
{
	unsigned long long v;
	bool unit;

	if (!parse_size(s, &v, &unit))
		return false;
	*pages = unit ? (v + PSHARE_PAGE_SIZE - 1) / PSHARE_PAGE_SIZE : v;
	return true;
}

/* Seconds with an optional fraction, at least @min. */
bool parse_secs(const char *s, double min, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && isfinite(*out) &&
	       *out >= min && *out <= 86400;
}

/* Flush stdout and report a failed write (psharectl status > /dev/full). */
int finish_output(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		err_msg("writing output: %s", strerror(errno ? errno : EIO));
		return EXIT_ERR;
	}
	return rc;
}

double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "HH:MM:SS" of the wall clock. */
const char *clock_str(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
	return buf;
}

/* Set by SIGINT/SIGTERM; top and balloon stop at the next check. */
atomic_bool psharectl_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	psharectl_stop = true;
}

void catch_stop_signals(void)
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
void sleep_until(double until)
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
