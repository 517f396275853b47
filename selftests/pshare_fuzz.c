// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded fuzzer for every way into pshare from userspace.
 *
 * Several threads each run a reproducible stream of random operations
 * (xorshift64* seeded from one seed and the thread number; the
 * interleaving of the threads is up to the scheduler):
 *
 * - ioctls on /dev/pshare: every command number, known and unknown, with
 *   argument structs of random argsz, flags, reserved fields and trailing
 *   bytes, placed so that they run into an unmapped page or not, and with
 *   descriptors of every kind (region open each way, O_PATH, a tmpfs file,
 *   a pipe, a socket, /dev/null, a directory, /dev/pshare, closed, -1).
 *   The expected result of each call is computed from the documented
 *   rules (uapi.rst); where it depends on a race (EBUSY) the possible set
 *   is checked. On an error the argument buffer must be untouched;
 * - sysfs knob writes (numbers in and out of range, signs, hex, spaces,
 *   garbage, strings longer than a page) and the debugfs hash_bits knob,
 *   checked against each knob's range; every knob goes back to the run's
 *   value at once, and to the value found at the start at the end;
 * - mounts of a fresh pshare with random option strings, checked against
 *   the option rules; a mount that succeeds is used and unmounted;
 * - file operations on a few shared region files: open with random flags,
 *   ftruncate up and down while mapped, fallocate in every mode, mmap,
 *   munmap, mremap, madvise, loads and stores through the mappings (SIGBUS
 *   beyond the end is expected and caught), read/write/pread/pwrite (also
 *   from and into a mapping of the same region), lseek, fork (the child
 *   touches the mappings), unlink, rename, link;
 * - each thread also owns a region of its own with a backing file: it
 *   writes it through the mapping and with pwrite, punches holes, and
 *   verifies every page it reads against a shadow copy, while the scanner
 *   runs flat out with forced hash collisions and limit_pages keeps the
 *   regions paging out.
 *
 * At the end every owned page is verified once more, everything is closed
 * and removed, and the global counters must be back where they started.
 *
 *   PSHARE_FUZZ_SEED=N     seed (default: from the clock; always printed)
 *   PSHARE_FUZZ_OPS=N      operations over all threads (default 100000)
 *   PSHARE_FUZZ_SECONDS=N  stop earlier after N s (default 180, which the
 *                          debug kernel reaches first; `make fuzz` runs longer)
 */
#include "pshare_fuzz.h"

/* Operation names for the counts printed at the end. */
static const char *const fz_op_names[FZ_NOPS] = {
	"ioctl", "sysfs", "mount", "open", "close", "ftruncate", "fallocate",
	"mmap", "munmap", "mremap", "madvise", "touch", "read/write", "lseek",
	"fork", "unlink/rename/link", "own-write", "own-punch", "own-verify",
};

#include "pshare_fuzz_ioctl.c"
#include "pshare_fuzz_sysfs.c"
#include "pshare_fuzz_mount.c"
#include "pshare_fuzz_files.c"

/* ----------------------------------------------------------------------
 * The threads
 * ---------------------------------------------------------------------- */

static void *fz_thread_main(void *arg)
{
	struct fz_thread *t = arg;
	unsigned char *buf;
	unsigned long done;

	/* Argument buffer, then a page that faults. */
	buf = mmap(NULL, ARGBUF + 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || mprotect(buf + ARGBUF, 4096, PROT_NONE)) {
		ps_fail(&t->fail, "argument buffer: %s", strerror(errno));
		return NULL;
	}
	for (done = 0; done < t->todo && !atomic_load(&fz.run.stop); done++) {
		unsigned int d = below(t, 1000);
		enum fz_op op;

		if (d < 300)
			op = FZ_IOCTL;
		else if (d < 310)
			op = FZ_SYSFS;
		else if (d < 313)
			op = FZ_MOUNT;
		else if (d < 316)
			op = FZ_FORK;
		else if (d < 360)
			op = FZ_OPEN;
		else if (d < 380)
			op = FZ_CLOSE;
		else if (d < 420)
			op = FZ_TRUNCATE;
		else if (d < 450)
			op = FZ_FALLOCATE;
		else if (d < 490)
			op = FZ_MMAP;
		else if (d < 510)
			op = FZ_MUNMAP;
		else if (d < 525)
			op = FZ_MREMAP;
		else if (d < 545)
			op = FZ_MADVISE;
		else if (d < 600)
			op = FZ_TOUCH;
		else if (d < 660)
			op = FZ_RW;
		else if (d < 670)
			op = FZ_LSEEK;
		else if (d < 685)
			op = FZ_NAMES;
		else if (d < 820)
			op = FZ_OWN_WRITE;
		else if (d < 850)
			op = FZ_OWN_PUNCH;
		else
			op = FZ_OWN_VERIFY;
		t->ops[op]++;

		switch (op) {
		case FZ_IOCTL: fz_ioctl(t, buf); break;
		case FZ_SYSFS: fz_sysfs(t); break;
		case FZ_MOUNT: fz_mount(t); break;
		case FZ_FORK: fz_fork(t); break;
		case FZ_OPEN: fz_open(t); break;
		case FZ_CLOSE: fz_close(t); break;
		case FZ_TRUNCATE: fz_truncate(t); break;
		case FZ_FALLOCATE: fz_fallocate(t); break;
		case FZ_MMAP: fz_mmap(t); break;
		case FZ_MUNMAP: fz_munmap(t); break;
		case FZ_MREMAP: fz_mremap(t); break;
		case FZ_MADVISE: fz_madvise(t); break;
		case FZ_TOUCH: fz_touch(t); break;
		case FZ_RW: fz_rw(t, buf); break;
		case FZ_LSEEK: fz_lseek(t); break;
		case FZ_NAMES: fz_names(t); break;
		case FZ_OWN_WRITE: fz_own_write(t); break;
		case FZ_OWN_PUNCH: fz_own_punch(t); break;
		case FZ_OWN_VERIFY:
			fz_own_verify(t, below(t, OWN_PAGES), "during the run");
			break;
		case FZ_NOPS: break;
		}
		if ((done & 255) == 255 && ps_now() > fz.deadline)
			break;
	}
	munmap(buf, ARGBUF + 4096);
	return NULL;
}

/* ----------------------------------------------------------------------
 * Setup, the run, and the checks at the end
 * ---------------------------------------------------------------------- */

static unsigned long long fz_env(const char *name, unsigned long long def)
{
	const char *e = getenv(name);

	return e && *e ? strtoull(e, NULL, 0) : def;
}

static long long fz_held(void)
{
	return ps_sysfs("pages_private") + ps_sysfs("pages_shared");
}

FIXTURE(fuzz) {
	bool knobs_saved;
	struct ps_counters base;
	long long base_paged;
};

static void fz_knobs_restore(void)
{
	char path[256];
	size_t i;

	/* Unmerge first: merge_across_domains changes only then. */
	ps_knob_set("limit_pages", "0");
	ps_knob_set("run", "2");
	for (i = 0; i < NKNOBS; i++) {
		if (!strcmp(fz_knobs[i].name, "run") || !fz_knobs[i].found[0])
			continue;
		snprintf(path, sizeof(path), PS_SYSFS "/%s", fz_knobs[i].name);
		ps_write_file(path, fz_knobs[i].found);
	}
	if (fz.hash_bits_found > 0) {
		char v[32];

		snprintf(v, sizeof(v), "%lld", fz.hash_bits_found);
		ps_write_file(PS_HASH_BITS, v);
	}
	ps_knob_set("run", !strcmp(fz_knobs[0].found, "1") ? "1" : "0");
}

/* Close and remove everything the run made. */
static void fz_cleanup(void)
{
	int i, j;

	for (i = 0; i < NTHREADS; i++) {
		struct fz_thread *t = &fz_threads[i];

		for (j = 0; j < NMAPS; j++)
			if (t->maps[j].addr)
				munmap(t->maps[j].addr, t->maps[j].len);
		for (j = 0; j < NFDS; j++)
			if (t->fds[j] >= 0)
				close(t->fds[j]);
		if (t->own_map)
			munmap(t->own_map, OWN_PAGES * PS_PAGE);
		if (t->own_fd >= 0)
			close(t->own_fd);
		if (t->own_backing >= 0)
			close(t->own_backing);
		free(t->own_shadow);
		memset(t, 0, sizeof(*t));
		t->own_fd = t->own_backing = -1;
		for (j = 0; j < NFDS; j++)
			t->fds[j] = -1;
	}
	for (i = 0; i < K_NKINDS; i++) {
		if (fz.kind_fd[i] > 2 && i != K_CLOSED && i != K_HUGE && i != K_DEV)
			close(fz.kind_fd[i]);
		fz.kind_fd[i] = -1;
	}
	if (fz.dev >= 0)
		close(fz.dev);
	fz.dev = -1;
	if (fz.dir[0]) {
		char path[PATH_MAX + 32];

		for (i = 0; i < NCHAOS; i++)
			unlink(fz.chaos[i]);
		unlink(fz.special);
		for (i = 0; i < NTHREADS; i++) {
			snprintf(path, sizeof(path), "%s/own.%d", fz.dir, i);
			unlink(path);
		}
		rmdir(fz.dir);
		fz.dir[0] = 0;
	}
}

FIXTURE_SETUP(fuzz)
{
	struct sigaction sa;
	const char *why;
	char path[PATH_MAX + 32];
	int i, p[2], fd;
	size_t k;
	long long mem_pages;
	FILE *f;

	memset(&fz.kind_fd, -1, sizeof(fz.kind_fd));
	fz.dev = -1;
	for (i = 0; i < NTHREADS; i++) {
		fz_threads[i].own_fd = fz_threads[i].own_backing = -1;
		fz_threads[i].fail.run = &fz.run;
		memset(fz_threads[i].fds, -1, sizeof(fz_threads[i].fds));
	}
	self->knobs_saved = false;
	PS_REQUIRE_ENV();
	why = ps_sharing_missing();
	if (why)
		PS_SKIP("%s", why);
	pthread_mutex_init(&fz.knob_lock, NULL);
	pthread_mutex_init(&fz.fork_lock, NULL);

	/* The knobs as found, and the run's values. */
	f = fopen("/proc/meminfo", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "MemTotal: %lld kB", &mem_pages));
	fclose(f);
	mem_pages /= 4;
	for (k = 0; k < NKNOBS; k++) {
		struct fz_knob *kn = &fz_knobs[k];
		long long v = ps_sysfs(kn->name);

		ASSERT_LE(0, v) TH_LOG("cannot read %s", kn->name);
		snprintf(kn->found, sizeof(kn->found), "%lld", v);
		if (!strcmp(kn->name, "limit_pages"))
			kn->max = mem_pages * 64;
		else
			snprintf(kn->during, sizeof(kn->during), "%s", kn->run_value);
	}
	fz.hash_bits_found = ps_hash_bits();
	self->knobs_saved = true;
	ps_counters(_metadata, &self->base);
	self->base_paged = ps_sysfs("pages_paged");
	ASSERT_EQ(0, ps_knob_set("run", "2"));
	ASSERT_EQ(0, ps_knob_set("merge_across_domains", "0"));

	/* Our directory, the special region and the shared names. */
	snprintf(fz.dir, sizeof(fz.dir), "%s/fuzz.XXXXXX", ps_mnt());
	ASSERT_NE(NULL, mkdtemp(fz.dir));
	snprintf(fz.special, sizeof(fz.special), "%s/special", fz.dir);
	for (i = 0; i < NCHAOS; i++)
		snprintf(fz.chaos[i], sizeof(fz.chaos[i]), "%s/c%d", fz.dir, i);
	fd = open(fz.special, O_RDWR | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 64 * PS_PAGE));
	fz.kind_fd[K_REGION_RW] = fd;
	fz.kind_fd[K_REGION_RO] = open(fz.special, O_RDONLY);
	fz.kind_fd[K_REGION_WO] = open(fz.special, O_WRONLY);
	fz.kind_fd[K_REGION_PATH] = open(fz.special, O_PATH);
	fz.kind_fd[K_TMPFS_RW] = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	snprintf(path, sizeof(path), "/tmp/pshare-fuzz-ro.%d", getpid());
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	fz.kind_fd[K_TMPFS_RO] = open(path, O_RDONLY);
	fz.kind_fd[K_TMPFS_APPEND] = open(path, O_RDWR | O_APPEND);
	unlink(path);
	ASSERT_EQ(0, pipe(p));
	close(p[1]);
	fz.kind_fd[K_PIPE] = p[0];
	fz.kind_fd[K_SOCKET] = socket(AF_UNIX, SOCK_STREAM, 0);
	fz.kind_fd[K_DEVNULL] = open("/dev/null", O_RDWR);
	fz.kind_fd[K_PSHARE_DIR] = open(fz.dir, O_RDONLY | O_DIRECTORY);
	fz.kind_fd[K_TMP_DIR] = open("/tmp", O_RDONLY | O_DIRECTORY);
	fz.dev = open(PS_DEV, O_RDWR);
	fz.kind_fd[K_DEV] = fz.dev;
	/* A number surely closed: far above what the run opens. */
	fz.kind_fd[K_CLOSED] = 900;
	close(900);
	fz.kind_fd[K_MINUS1] = -1;
	fz.kind_fd[K_MINUS2] = -2;
	fz.kind_fd[K_HUGE] = 1 << 20;
	for (i = 0; i < K_NKINDS; i++)
		if (i != K_OWN && i != K_CLOSED && i < K_MINUS1)
			ASSERT_LE(0, fz.kind_fd[i]) TH_LOG("descriptor kind %d: %s",
							   i, strerror(errno));

	/* Each thread's own region, with a backing file in /tmp. */
	for (i = 0; i < NTHREADS; i++) {
		struct fz_thread *t = &fz_threads[i];
		struct pshare_region_backing b = { .argsz = sizeof(b) };

		snprintf(path, sizeof(path), "%s/own.%d", fz.dir, i);
		t->own_fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		ASSERT_LE(0, t->own_fd);
		ASSERT_EQ(0, ftruncate(t->own_fd, OWN_PAGES * PS_PAGE));
		t->own_map = mmap(NULL, OWN_PAGES * PS_PAGE, PROT_READ | PROT_WRITE,
				  MAP_SHARED, t->own_fd, 0);
		ASSERT_NE(MAP_FAILED, t->own_map);
		t->own_shadow = calloc(OWN_PAGES, PS_PAGE);
		ASSERT_NE(NULL, t->own_shadow);
		t->own_backing = open("/tmp", O_TMPFILE | O_RDWR, 0600);
		ASSERT_LE(0, t->own_backing);
		b.fd = t->own_fd;
		b.backing_fd = t->own_backing;
		ASSERT_EQ(0, ioctl(fz.dev, PSHARE_IOC_REGION_SET_BACKING, &b))
			TH_LOG("SET_BACKING: %s", strerror(errno));
	}
	for (i = 0; i < NPATTERNS; i++)
		ps_fill(fz.pattern[i], PS_PAGE, 300 + i);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fz_on_signal;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
}

FIXTURE_TEARDOWN(fuzz)
{
	atomic_store(&fz.run.stop, 1);
	fz_cleanup();
	if (self->knobs_saved)
		fz_knobs_restore();
}

TEST_F_TIMEOUT(fuzz, random_operations, 86400)
{
	unsigned long long ops = fz_env("PSHARE_FUZZ_OPS", OPS_DEFAULT);
	unsigned long long secs = fz_env("PSHARE_FUZZ_SECONDS", SECONDS_DEFAULT);
	unsigned long long total[FZ_NOPS] = { 0 }, done = 0, verified = 0;
	unsigned long sigbus = 0;
	struct ps_counters end;
	char limit[32];
	double start;
	size_t k;
	int i;
	unsigned long pg;

	fz.seed = fz_env("PSHARE_FUZZ_SEED", 0);
	if (!fz.seed)
		fz.seed = ((uint64_t)time(NULL) << 20) ^ getpid() ^ (uint64_t)clock();
	PS_NOTE("fuzz: seed %#llx, %llu operations, at most %llu s, %d threads",
		(unsigned long long)fz.seed, ops, secs, NTHREADS);
	PS_NOTE("fuzz: to repeat: PSHARE_FUZZ_SEED=%#llx PSHARE_FUZZ_OPS=%llu",
		(unsigned long long)fz.seed, ops);

	/* The run's knobs: scanner flat out, collisions, paging, sampling. */
	snprintf(limit, sizeof(limit), "%lld",
		 fz_held() + NTHREADS * OWN_PAGES / 2);
	for (k = 0; k < NKNOBS; k++) {
		if (!strcmp(fz_knobs[k].name, "limit_pages"))
			snprintf(fz_knobs[k].during, sizeof(fz_knobs[k].during),
				 "%s", limit);
		PS_KNOB_SET(fz_knobs[k].name, fz_knobs[k].during);
	}
	if (fz.hash_bits_found >= 0)
		ASSERT_EQ(0, ps_write_file(PS_HASH_BITS, "8"));

	start = ps_now();
	fz.deadline = start + secs;
	for (i = 0; i < NTHREADS; i++) {
		struct fz_thread *t = &fz_threads[i];

		t->id = i;
		t->rnd = fz.seed ^ (0x9e3779b97f4a7c15ULL * (i + 1));
		if (!t->rnd)
			t->rnd = 1;
		t->todo = ops / NTHREADS + (i < (int)(ops % NTHREADS));
		ASSERT_EQ(0, pthread_create(&t->tid, NULL, fz_thread_main, t));
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(fz_threads[i].tid, NULL);

	for (i = 0; i < NTHREADS; i++) {
		struct fz_thread *t = &fz_threads[i];

		EXPECT_EQ(0, t->fail.why[0]) TH_LOG("thread %d: %s", i, t->fail.why);
		for (k = 0; k < FZ_NOPS; k++) {
			total[k] += t->ops[k];
			done += t->ops[k];
		}
		sigbus += t->sigbus;
	}

	/* Every owned byte, still under the limit, then with none. */
	for (i = 0; i < NTHREADS && !atomic_load(&fz.run.failed); i++)
		for (pg = 0; pg < OWN_PAGES; pg++)
			if (!fz_own_verify(&fz_threads[i], pg, "at the end"))
				break;
	PS_KNOB_SET("limit_pages", "0");
	PS_KNOB_SET("run", "2");
	for (i = 0; i < NTHREADS && !atomic_load(&fz.run.failed); i++)
		for (pg = 0; pg < OWN_PAGES; pg++)
			if (!fz_own_verify(&fz_threads[i], pg, "after unmerging"))
				break;
	for (i = 0; i < NTHREADS; i++) {
		EXPECT_EQ(0, fz_threads[i].fail.why[0])
			TH_LOG("thread %d: %s", i, fz_threads[i].fail.why);
		verified += fz_threads[i].verified;
	}

	PS_NOTE("fuzz: %llu operations in %.1f s (seed %#llx)%s", done,
		ps_now() - start, (unsigned long long)fz.seed,
		done < ops && !atomic_load(&fz.run.failed) ? ", stopped by the time bound" : "");
	for (k = 0; k < FZ_NOPS; k++)
		PS_NOTE("fuzz:   %-20s %llu", fz_op_names[k], total[k]);
	{
		char line[1024];
		size_t len = 0;

		for (k = 0; k < sizeof(fz.ioctl_err) / sizeof(fz.ioctl_err[0]); k++)
			if (atomic_load(&fz.ioctl_err[k]))
				len += snprintf(line + len, sizeof(line) - len, " %s %lu",
						k ? strerrorname_np(k) : "ok",
						atomic_load(&fz.ioctl_err[k]));
		PS_NOTE("fuzz: ioctl results:%s", line);
	}
	PS_NOTE("fuzz: %lu knob writes taken, %lu mounts made, %lu SIGBUS beyond EOF, %llu bytes verified, paged out %lld, paged in %lld",
		atomic_load(&fz.knob_writes_ok), atomic_load(&fz.mounts_ok), sigbus,
		verified, ps_sysfs("paged_out"), ps_sysfs("paged_in"));

	/* All gone: the counters are back where they were. */
	fz_cleanup();
	fz_knobs_restore();
	ps_wait_regions(self->base.regions);
	ps_counters(_metadata, &end);
	EXPECT_EQ(self->base.regions, end.regions);
	EXPECT_EQ(self->base.pages_private, end.pages_private);
	EXPECT_EQ(self->base.pages_zero, end.pages_zero);
	EXPECT_EQ(0, end.pages_shared);
	EXPECT_EQ(self->base_paged, ps_sysfs("pages_paged"));
	EXPECT_LT(0, done);
	EXPECT_LT(0, verified);
}

TEST_HARNESS_MAIN
