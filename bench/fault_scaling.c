// SPDX-License-Identifier: GPL-2.0
/*
 * fault_scaling - how faults on untouched guest RAM scale with the number
 * of processes faulting, across two regions, with and without a memory hog.
 *
 * Each worker process owns a window of one of two regions (worker i:
 * region i % 2) and loops: map the window, read every page (a hole becomes
 * a zero entry), write every page (a copy-on-write break from the zero
 * frame), unmap it and punch it back to holes (as a balloon does). Every
 * zero entry of every region is backed by the one zero frame, so whatever
 * serializes on that frame shows as workers that do not add throughput.
 * Workers are processes, as the vCPU threads of different guests are in
 * different QEMUs: threads of one process would also queue on their
 * shared mmap_lock and TLB shootdowns, which is not pshare's doing. The
 * hog holds all but 256 MiB of the available memory and keeps touching
 * it, so that allocations on the fault path meet reclaim.
 *
 * Prints pages/s (one page = a read fault, a write fault and its share of
 * the punch) for 1, 2 and 4 workers, and the ratio to one. With two CPUs
 * the most a ratio can be is 2. Figures only: nothing passes or fails.
 *
 * Usage: fault_scaling [-d DIR] [-s SECONDS] [-w WINDOW_MIB] [-H]
 *   -H  no memory hog
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/falloc.h>

#include "bench.h"

#define MAX_WORKERS	4

static const char *dir = "/run/pshare";
static unsigned int seconds = 3;
static size_t window = 4UL << 20;
static int with_hog = 1;
static long page_size;

struct worker {
	int fd;
	off_t off;
	atomic_ulong pages;
	int err;
};

/* Shared with the worker processes (an anonymous shared mapping). */
static struct {
	atomic_int stop;
	struct worker w[MAX_WORKERS];
} *shared;

/* Loop until told to stop; a process of its own, so no mm is shared. */
static void worker_main(struct worker *w)
{
	size_t i, n = window / page_size;

	while (!atomic_load_explicit(&shared->stop, memory_order_relaxed)) {
		volatile char *p = mmap(NULL, window, PROT_READ | PROT_WRITE,
					MAP_SHARED, w->fd, w->off);
		char sum = 0;

		if (p == MAP_FAILED) {
			w->err = errno;
			break;
		}
		for (i = 0; i < n; i++)
			sum += p[i * page_size];
		for (i = 0; i < n; i++)
			p[i * page_size] = 1 + sum;
		munmap((void *)p, window);
		if (fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      w->off, window)) {
			w->err = errno;
			break;
		}
		atomic_fetch_add_explicit(&w->pages, n, memory_order_relaxed);
	}
}

/* Pages/s of @workers worker processes for the configured time; < 0 on error. */
static double run(int fds[2], int workers)
{
	struct worker *w = shared->w;
	unsigned long pages = 0;
	pid_t pid[MAX_WORKERS];
	double t0, t;
	int i, err = 0;

	memset(shared, 0, sizeof(*shared));
	t0 = bench_now();
	for (i = 0; i < workers; i++) {
		w[i].fd = fds[i % 2];
		w[i].off = (off_t)(i / 2) * window;
		pid[i] = fork();
		if (pid[i] == 0) {
			worker_main(&w[i]);
			_exit(0);
		}
		if (pid[i] < 0) {
			workers = i;
			err = EAGAIN;
			break;
		}
	}
	sleep(seconds);
	atomic_store(&shared->stop, 1);
	for (i = 0; i < workers; i++) {
		waitpid(pid[i], NULL, 0);
		pages += atomic_load(&w[i].pages);
		if (w[i].err)
			err = w[i].err;
	}
	t = bench_now() - t0;
	if (err) {
		fprintf(stderr, "fault_scaling: %s\n", strerror(err));
		return -1;
	}
	return pages / t;
}

static long long mem_available(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb << 10;
}

/* A child holding all but 256 MiB of the available memory, touching it. */
static pid_t hog_start(void)
{
	long long avail = mem_available() - (256LL << 20);
	int ready[2];
	pid_t pid;
	char c;

	if (avail <= 0 || pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		volatile char *p = mmap(NULL, avail, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		long long i;

		if (p == MAP_FAILED)
			_exit(1);
		for (i = 0; i < avail; i += page_size)
			p[i] = 1;
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			for (i = 0; i < avail; i += page_size)
				p[i]++;
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	return pid;
}

int main(int argc, char **argv)
{
	static const int counts[] = { 1, 2, MAX_WORKERS };
	char path[2][4096];
	double rate[2][3];
	struct utsname uts;
	int fds[2], opt, h, c, i;
	pid_t hog = -1;

	while ((opt = getopt(argc, argv, "d:s:w:Hh")) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 's':
			seconds = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			window = strtoul(optarg, NULL, 10) << 20;
			break;
		case 'H':
			with_hog = 0;
			break;
		default:
			fprintf(stderr, "usage: %s [-d DIR] [-s SECONDS] [-w WINDOW_MIB] [-H]\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	page_size = sysconf(_SC_PAGESIZE);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("fault_scaling: mmap");
		return 1;
	}
	if (!seconds || window < (size_t)page_size) {
		fprintf(stderr, "fault_scaling: need seconds > 0 and a window of a page or more\n");
		return 2;
	}
	for (i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/fault-scaling.%d.%d", dir, getpid(), i);
		fds[i] = open(path[i], O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fds[i] < 0 || ftruncate(fds[i], (off_t)window * MAX_WORKERS / 2)) {
			fprintf(stderr, "fault_scaling: %s: %s\n", path[i], strerror(errno));
			return 1;
		}
	}

	uname(&uts);
	printf("# fault_scaling: %s %s, %zu MiB windows in 2 regions, %u s per figure\n",
	       uts.sysname, uts.release, window >> 20, seconds);
	for (h = 0; h < 1 + with_hog; h++) {
		if (h) {
			hog = hog_start();
			if (hog < 0) {
				printf("# no memory hog: could not start one\n");
				break;
			}
		}
		for (c = 0; c < 3; c++)
			rate[h][c] = run(fds, counts[c]);
	}
	if (hog > 0) {
		kill(hog, SIGKILL);
		waitpid(hog, NULL, 0);
	}
	for (i = 0; i < 2; i++) {
		close(fds[i]);
		unlink(path[i]);
	}

	printf("\n%-20s %14s %14s %14s %10s %10s\n", "", "1 process", "2 processes",
	       "4 processes", "2/1", "4/1");
	for (h = 0; h < (hog > 0 ? 2 : 1); h++) {
		printf("%-20s", h ? "pages/s, with hog" : "pages/s");
		for (c = 0; c < 3; c++)
			printf(" %14.0f", rate[h][c]);
		printf(" %10.2f %10.2f\n", rate[h][1] / rate[h][0], rate[h][2] / rate[h][0]);
	}
	return 0;
}
