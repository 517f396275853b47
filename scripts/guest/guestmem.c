// SPDX-License-Identifier: GPL-2.0
/*
 * guestmem - the workload of the small inner guest used by `make demo` and
 * selftests/kvm/guest_balloon.sh.
 *
 * It runs as a child of the guest's /init and talks to the host only through
 * lines on the serial console, each starting with "GUEST: ":
 *
 *   1. fill most of the guest's free RAM with a deterministic pattern
 *      ("GUEST: wrote N MiB"), then read it all back ("GUEST: verify ok N MiB");
 *   2. give most of it back to the guest kernel and keep a smaller part
 *      ("GUEST: released R MiB, keeping K MiB"); the released pages are free
 *      in the guest but still hold data in the host's region, which is what
 *      the balloon then takes back;
 *   3. every few seconds re-read the kept part and say so, with the guest's
 *      MemTotal, which falls while the balloon is inflated
 *      ("GUEST: reverify ok pass=P kept=K MiB memtotal=T MiB").
 *
 * With guestmem.seed=S the pattern comes from S instead of the clock, so
 * guests booted with the same S write identical pages: what the page
 * sharing tests and the demo want. The second serial port (ttyS1) is then a
 * control channel from the host: a line "seed N" makes the program rewrite
 * its kept part with seed N and verify it ("GUEST: rewrote K MiB seed=N in
 * X s"), which is how two identical guests are made to diverge.
 *
 * Any mismatch prints "GUEST: verify FAILED ..." and the program goes on, so
 * the host sees the failure instead of a silent hang.
 *
 * Tunables on the kernel command line: guestmem.reserve=MiB (left free for
 * the kernel, default 48), guestmem.fill=MiB (write this much instead of
 * MemAvailable - reserve), guestmem.keep=MiB (kept after step 2, default 96),
 * guestmem.period=seconds (between re-verify passes, default 3),
 * guestmem.seed=S (fixed pattern seed, default: from the clock),
 * guestmem.churn=MiB (default 0: a child process keeps rewriting that much
 * memory of its own with fresh data, a page every millisecond, as long as the
 * guest runs: memory that changes all the time, which no scanner can share;
 * "GUEST: churning N MiB").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)
#define PROGRESS_STEP (64UL * MIB)

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The pattern: a 64-bit mix of the word's index and a per-boot seed. */
static uint64_t pattern_word(uint64_t index, uint64_t seed)
{
	uint64_t x = index * 0x9E3779B97F4A7C15ULL ^ seed;

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 29;
	return x;
}

static unsigned long read_cmdline_ulong(const char *key, unsigned long def)
{
	char buf[4096], *p;
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/cmdline", "r");
	size_t n;

	if (!f)
		return def;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (p = strtok(buf, " \n"); p; p = strtok(NULL, " \n"))
		if (!strncmp(p, key, klen) && p[klen] == '=')
			return strtoul(p + klen + 1, NULL, 10);
	return def;
}

/* meminfo_kib("MemAvailable") -> value in KiB, or 0 if absent. */
static unsigned long meminfo_kib(const char *field)
{
	char line[256];
	size_t flen = strlen(field);
	unsigned long v = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			v = strtoul(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void fill(uint64_t *buf, size_t bytes, uint64_t seed,
		 const struct timespec *t0)
{
	size_t words = bytes / sizeof(uint64_t), i;

	for (i = 0; i < words; i++) {
		buf[i] = pattern_word(i, seed);
		if (((i + 1) * sizeof(uint64_t)) % PROGRESS_STEP == 0 &&
		    (i + 1) * sizeof(uint64_t) < bytes)
			printf("GUEST: writing... %zu MiB (%.0f s)\n",
			       (i + 1) * sizeof(uint64_t) / MIB, elapsed(t0));
	}
}

/* Returns 0 if every word of the first @bytes matches. */
static int check(const uint64_t *buf, size_t bytes, uint64_t seed)
{
	size_t words = bytes / sizeof(uint64_t), i;
	int bad = 0;

	for (i = 0; i < words; i++) {
		uint64_t want = pattern_word(i, seed);

		if (buf[i] != want) {
			if (bad < 4)
				printf("GUEST: verify FAILED at offset %#zx: got %#llx want %#llx\n",
				       i * sizeof(uint64_t),
				       (unsigned long long)buf[i],
				       (unsigned long long)want);
			bad++;
		}
	}
	if (bad)
		printf("GUEST: verify FAILED: %d bad words in %zu MiB\n",
		       bad, bytes / MIB);
	return bad;
}

/* The host's control channel: ttyS1 in raw mode, or -1 without one. */
static int control_open(void)
{
	struct termios tio;
	int fd = open("/dev/ttyS1", O_RDONLY | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(fd, TCSANOW, &tio);
	}
	return fd;
}

/*
 * Wait up to @secs for a "seed N" line on @fd. Returns 1 and sets *seed when
 * one arrived, 0 on timeout. Partial lines are kept in @line between calls.
 */
static int control_wait(int fd, unsigned long secs, char *line, size_t size,
			uint64_t *seed)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = strlen(line);
	char c;

	if (fd < 0) {
		sleep(secs);
		return 0;
	}
	while (poll(&pfd, 1, secs * 1000) > 0) {
		while (read(fd, &c, 1) == 1) {
			if (c != '\n' && c != '\r') {
				if (len < size - 1) {
					line[len++] = c;
					line[len] = '\0';
				}
				continue;
			}
			if (!strncmp(line, "seed ", 5)) {
				*seed = strtoull(line + 5, NULL, 0);
				line[0] = '\0';
				return 1;
			}
			len = 0;
			line[0] = '\0';
		}
	}
	return 0;
}

/*
 * guestmem.churn: a child that rewrites @mib MiB of its own, one page with
 * fresh words every millisecond, round and round, until the guest ends.
 */
static void churn_start(unsigned long mib)
{
	size_t bytes = mib * MIB, words_per_page = 4096 / sizeof(uint64_t);
	uint64_t *buf, round = 0;
	size_t page, pages = bytes / 4096, i;

	if (!mib || fork() != 0)
		return;
	buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		printf("GUEST: churn: mmap of %lu MiB failed\n", mib);
		_exit(1);
	}
	printf("GUEST: churning %lu MiB\n", mib);
	for (;;) {
		round++;
		for (page = 0; page < pages; page++) {
			for (i = 0; i < words_per_page; i++)
				buf[page * words_per_page + i] =
					pattern_word(page * words_per_page + i,
						     round * 0x100000001b3ULL);
			usleep(1000);
		}
	}
}

int main(void)
{
	unsigned long reserve = read_cmdline_ulong("guestmem.reserve", 48);
	unsigned long keep = read_cmdline_ulong("guestmem.keep", 96);
	unsigned long period = read_cmdline_ulong("guestmem.period", 3);
	unsigned long fill_mib = read_cmdline_ulong("guestmem.fill", 0);
	unsigned long fixed_seed = read_cmdline_ulong("guestmem.seed", 0);
	unsigned long churn = read_cmdline_ulong("guestmem.churn", 0);
	char line[64] = "";
	int ctl = -1;
	struct timespec t0;
	unsigned long avail_mib, total_mib;
	struct timespec ts;
	unsigned long pass;
	uint64_t seed;
	size_t bytes;
	uint64_t *buf;

	setvbuf(stdout, NULL, _IOLBF, 0);

	clock_gettime(CLOCK_REALTIME, &ts);
	seed = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
	       (uint64_t)getpid() << 32;
	if (fixed_seed) {
		seed = fixed_seed;
		ctl = control_open();
	}

	avail_mib = meminfo_kib("MemAvailable") / 1024;
	if (avail_mib < reserve + keep + 16) {
		printf("GUEST: too little memory: MemAvailable %lu MiB, need %lu\n",
		       avail_mib, reserve + keep + 16);
		return 1;
	}
	bytes = (avail_mib - reserve) * MIB;
	if (fill_mib && fill_mib * MIB < bytes)
		bytes = fill_mib * MIB;
	if (keep * MIB > bytes)
		keep = bytes / MIB;
	printf("GUEST: MemAvailable %lu MiB, writing a pattern over %zu MiB\n",
	       avail_mib, bytes / MIB);

	buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (buf == MAP_FAILED) {
		printf("GUEST: mmap of %zu MiB failed: %s\n", bytes / MIB,
		       strerror(errno));
		return 1;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	fill(buf, bytes, seed, &t0);
	printf("GUEST: wrote %zu MiB in %.1f s%s\n", bytes / MIB, elapsed(&t0),
	       fixed_seed ? " (fixed seed)" : "");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (check(buf, bytes, seed) == 0)
		printf("GUEST: verify ok %zu MiB in %.1f s\n", bytes / MIB,
		       elapsed(&t0));

	/* Give the tail back to the guest kernel: free in the guest, still
	 * resident in the host's region until the balloon takes it. */
	if (keep * MIB < bytes) {
		munmap((char *)buf + keep * MIB, bytes - keep * MIB);
		printf("GUEST: released %zu MiB, keeping %lu MiB\n",
		       bytes / MIB - keep, keep);
		bytes = keep * MIB;
	}

	churn_start(churn);
	for (pass = 1;; pass++) {
		if (control_wait(ctl, period, line, sizeof(line), &seed)) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			fill(buf, bytes, seed, &t0);
			printf("GUEST: rewrote %zu MiB seed=%llu in %.1f s\n",
			       bytes / MIB, (unsigned long long)seed,
			       elapsed(&t0));
		}
		total_mib = meminfo_kib("MemTotal") / 1024;
		if (check(buf, bytes, seed) == 0)
			printf("GUEST: reverify ok pass=%lu kept=%zu MiB memtotal=%lu MiB\n",
			       pass, bytes / MIB, total_mib);
	}
	return 0;
}
