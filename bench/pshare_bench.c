// SPDX-License-Identifier: GPL-2.0
/*
 * pshare_bench - first-touch fault and sequential throughput of a pshare
 * region against QEMU's other guest RAM backings, in one kernel boot.
 *
 * Three backings, each mapped fresh for every repetition:
 *   pshare  a region file in a pshare mount, MAP_SHARED
 *           (-object memory-backend-file,mem-path=/run/pshare/...,share=on)
 *   memfd   memfd_create + ftruncate, MAP_SHARED (memory-backend-memfd, the
 *           usual share=on backing; shmem underneath)
 *   anon    MAP_PRIVATE|MAP_ANONYMOUS (QEMU's default memory-backend-ram),
 *           transparent huge pages as the system is set up
 *   anon-4k the same with MADV_NOHUGEPAGE: one fault per 4 KiB page, like
 *           pshare and memfd
 *
 * Per repetition: touch    write one byte to each page of the fresh mapping
 *                          (one fault per page): pages/s
 *                 write    write all of it again, 8 bytes at a time (no
 *                          faults): MB/s
 *                 read     read all of it back, 8 bytes at a time: MB/s
 *                 gup      vmsplice() each page of it into a pipe and read
 *                          it out again: the kernel looks the page up with
 *                          get_user_pages_fast(), as KVM does for a guest
 *                          fault. Where GUP-fast refuses the page (since
 *                          6.9 it refuses order-0 folios without a mapping
 *                          when CONFIG_SECRETMEM is set, which pshare's
 *                          frames are) this measures the slow path: pages/s
 * The table shows the median of the repetitions, then the ratios
 * pshare/memfd, pshare/anon and pshare/anon-4k (above 1: pshare is faster).
 * Figures only: nothing here passes or fails.
 *
 * Usage: pshare_bench [-d DIR] [-s MiB] [-r REPS]
 *   -d DIR   pshare mount (default /run/pshare); without it the pshare row
 *            reads "n/a"
 *   -s MiB   size of each mapping (default 256)
 *   -r REPS  repetitions (default 5)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/pshare.h>

#include "bench.h"

enum backing { B_PSHARE, B_MEMFD, B_ANON, B_ANON4K, B_NR };

static const char *const backing_name[B_NR] = {
	"pshare", "memfd", "anon", "anon-4k",
};

enum metric { M_TOUCH, M_WRITE, M_READ, M_GUP, M_NR };

static const char *const metric_name[M_NR] = { "touch", "write", "read", "gup" };

/* Results of one backing: one row per metric, one column per repetition. */
struct row {
	int valid;
	double v[M_NR][64];
	double median[M_NR];
};

static const char *bench_dir = "/run/pshare";
static size_t bench_bytes = 256UL << 20;
static int bench_reps = 5;
static long page_size;

static double median(const double *v, int n)
{
	double s[64];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), bench_cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/*
 * Map a fresh area of the given backing. *fdp gets the fd to close
 * afterwards (or -1). Returns MAP_FAILED with errno set on error.
 */
static void *map_backing(enum backing b, int *fdp, char *path, size_t pathlen)
{
	void *p;
	int fd = -1;

	*fdp = -1;
	path[0] = '\0';
	switch (b) {
	case B_PSHARE:
		snprintf(path, pathlen, "%s/bench.XXXXXX", bench_dir);
		fd = mkstemp(path);
		break;
	case B_MEMFD:
		fd = memfd_create("pshare-bench", MFD_CLOEXEC);
		break;
	case B_ANON:
	case B_ANON4K:
		p = mmap(NULL, bench_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED && b == B_ANON4K &&
		    madvise(p, bench_bytes, MADV_NOHUGEPAGE) < 0) {
			munmap(p, bench_bytes);
			return MAP_FAILED;
		}
		return p;
	default:
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (fd < 0)
		return MAP_FAILED;
	if (ftruncate(fd, bench_bytes) < 0)
		goto fail;
	p = mmap(NULL, bench_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	*fdp = fd;
	return p;
fail:
	{
		int e = errno;

		close(fd);
		if (path[0])
			unlink(path);
		errno = e;
	}
	return MAP_FAILED;
}

/*
 * Each of @pages pages of @p into a pipe with vmsplice() (one GUP lookup
 * each) and out again with read(): pages/s, or -1 with errno set.
 */
static double gup_pass(const char *p, size_t pages)
{
	static char buf[65536];
	double t, res = -1;
	struct iovec iov;
	int pfd[2];
	size_t i;

	if (pipe(pfd))
		return -1;
	t = bench_now();
	for (i = 0; i < pages; i++) {
		iov.iov_base = (void *)(p + i * page_size);
		iov.iov_len = page_size;
		if (vmsplice(pfd[1], &iov, 1, 0) != page_size ||
		    read(pfd[0], buf, page_size) != page_size)
			goto out;
	}
	res = pages / (bench_now() - t);
out:
	close(pfd[0]);
	close(pfd[1]);
	return res;
}

/* One repetition; returns 0 or -1 (message printed). */
static int run_once(enum backing b, int rep, struct row *r)
{
	volatile uint64_t *vw;
	volatile char *vp;
	const uint64_t *w;
	uint64_t sum = 0;
	size_t i, pages = bench_bytes / page_size;
	char path[4096];
	double t;
	char *p;
	int fd;

	p = map_backing(b, &fd, path, sizeof(path));
	if (p == MAP_FAILED) {
		fprintf(stderr, "pshare_bench: %s: cannot map %zu MiB: %s\n",
			backing_name[b], bench_bytes >> 20, strerror(errno));
		return -1;
	}
	vp = p;

	t = bench_now();
	for (i = 0; i < pages; i++)
		vp[i * page_size] = (char)i;
	r->v[M_TOUCH][rep] = pages / (bench_now() - t);

	/* 8-byte stores, like the read pass (memset's rep stosb is emulated
	 * byte by byte under TCG and would measure the emulator instead). */
	t = bench_now();
	vw = (volatile uint64_t *)p;
	for (i = 0; i < bench_bytes / sizeof(*vw); i++)
		vw[i] = 0x0101010101010101ULL * (uint8_t)(0x5a + rep);
	r->v[M_WRITE][rep] = bench_bytes / 1e6 / (bench_now() - t);

	t = bench_now();
	w = (const uint64_t *)p;
	for (i = 0; i < bench_bytes / sizeof(*w); i++)
		sum += w[i];
	r->v[M_READ][rep] = bench_bytes / 1e6 / (bench_now() - t);
	/* Every byte is 0x5a + rep: the read pass must see it. */
	if (sum != (bench_bytes / 8) * (0x0101010101010101ULL * (uint8_t)(0x5a + rep))) {
		fprintf(stderr, "pshare_bench: %s: read back wrong data\n",
			backing_name[b]);
		munmap(p, bench_bytes);
		return -1;
	}

	t = gup_pass(p, pages);
	if (t < 0) {
		fprintf(stderr, "pshare_bench: %s: vmsplice: %s\n", backing_name[b],
			strerror(errno));
		munmap(p, bench_bytes);
		return -1;
	}
	r->v[M_GUP][rep] = t;

	munmap(p, bench_bytes);
	if (fd >= 0)
		close(fd);
	if (path[0])
		unlink(path);
	return 0;
}

static void print_row(const char *name, const struct row *a, const struct row *b)
{
	int m;

	printf("%-16s", name);
	for (m = 0; m < M_NR; m++) {
		if (!a->valid || (b && !b->valid))
			printf(" %14s", "n/a");
		else if (b)
			printf(" %14.2f", b->median[m] > 0 ? a->median[m] / b->median[m] : 0);
		else
			printf(" %14.0f", a->median[m]);
	}
	printf("\n");
}

static void print_thp(void)
{
	char buf[256] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	printf("# transparent_hugepage/enabled: %s\n", buf[0] ? buf : "unknown");
}

int main(int argc, char **argv)
{
	static struct row rows[B_NR];
	struct utsname uts;
	int opt, b, m, rep;

	while ((opt = getopt(argc, argv, "d:s:r:h")) != -1) {
		switch (opt) {
		case 'd':
			bench_dir = optarg;
			break;
		case 's':
			bench_bytes = strtoul(optarg, NULL, 10) << 20;
			break;
		case 'r':
			bench_reps = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-d PSHARE_DIR] [-s MiB] [-r REPS]\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (bench_reps < 1 || bench_reps > 64 || bench_bytes == 0) {
		fprintf(stderr, "pshare_bench: need 1..64 repetitions and a size > 0\n");
		return 2;
	}
	page_size = sysconf(_SC_PAGESIZE);

	uname(&uts);
	printf("# pshare_bench: %s %s, %zu MiB per mapping, %d repetitions, median\n",
	       uts.sysname, uts.release, bench_bytes >> 20, bench_reps);
	print_thp();
	if (!bench_is_pshare_dir(bench_dir))
		printf("# %s is not a pshare mount: no pshare figures\n", bench_dir);

	/* Interleave the backings so slow drift of the machine hits all. */
	for (b = 0; b < B_NR; b++)
		rows[b].valid = !(b == B_PSHARE && !bench_is_pshare_dir(bench_dir));
	for (rep = 0; rep < bench_reps; rep++)
		for (b = 0; b < B_NR; b++)
			if (rows[b].valid && run_once(b, rep, &rows[b]) < 0)
				rows[b].valid = 0;
	for (b = 0; b < B_NR; b++)
		for (m = 0; m < M_NR; m++)
			if (rows[b].valid)
				rows[b].median[m] = median(rows[b].v[m], bench_reps);

	printf("\n%-16s %14s %14s %14s %14s\n", "backing", "touch pages/s",
	       "write MB/s", "read MB/s", "gup pages/s");
	for (b = 0; b < B_NR; b++)
		print_row(backing_name[b], &rows[b], NULL);
	printf("\n%-16s %14s %14s %14s %14s\n", "ratio", "touch", "write", "read", "gup");
	print_row("pshare/memfd", &rows[B_PSHARE], &rows[B_MEMFD]);
	print_row("pshare/anon", &rows[B_PSHARE], &rows[B_ANON]);
	print_row("pshare/anon-4k", &rows[B_PSHARE], &rows[B_ANON4K]);
	printf("\n# per repetition (touch pages/s, write MB/s, read MB/s, gup pages/s):\n");
	for (b = 0; b < B_NR; b++) {
		if (!rows[b].valid)
			continue;
		for (m = 0; m < M_NR; m++) {
			printf("# %-7s %-5s", backing_name[b], metric_name[m]);
			for (rep = 0; rep < bench_reps; rep++)
				printf(" %.0f", rows[b].v[m][rep]);
			printf("\n");
		}
	}
	for (b = 0; b < B_NR; b++)
		if (!rows[b].valid && !(b == B_PSHARE && !bench_is_pshare_dir(bench_dir)))
			return 1;
	return 0;
}
