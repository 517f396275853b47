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
#include "pshare_share.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define NTHREADS	4
#define NCHAOS		4		/* shared region names */
#define CHAOS_MAX_PAGES	256		/* sizes the fuzzer sets stay below */
#define OWN_PAGES	256		/* each thread's verified region */
#define NFDS		8		/* a thread's open chaos descriptors */
#define NMAPS		8		/* and its mappings */
#define NPATTERNS	4
#define OPS_DEFAULT	100000
#define SECONDS_DEFAULT	180
#define ARGBUF		(2 * 4096)	/* argument buffer, then a guard page */

/* Operations, counted per kind. */
enum fz_op {
	FZ_IOCTL, FZ_SYSFS, FZ_MOUNT, FZ_OPEN, FZ_CLOSE, FZ_TRUNCATE,
	FZ_FALLOCATE, FZ_MMAP, FZ_MUNMAP, FZ_MREMAP, FZ_MADVISE, FZ_TOUCH,
	FZ_RW, FZ_LSEEK, FZ_FORK, FZ_NAMES, FZ_OWN_WRITE, FZ_OWN_PUNCH,
	FZ_OWN_VERIFY, FZ_NOPS,
};

static const char *const fz_op_names[FZ_NOPS] = {
	"ioctl", "sysfs", "mount", "open", "close", "ftruncate", "fallocate",
	"mmap", "munmap", "mremap", "madvise", "touch", "read/write", "lseek",
	"fork", "unlink/rename/link", "own-write", "own-punch", "own-verify",
};

/* Descriptor kinds for the fd fields of the ioctls. */
enum fz_kind {
	K_REGION_RW, K_REGION_RO, K_REGION_WO, K_REGION_PATH, K_OWN,
	K_TMPFS_RW, K_TMPFS_RO, K_TMPFS_APPEND, K_PIPE, K_SOCKET, K_DEVNULL,
	K_PSHARE_DIR, K_TMP_DIR, K_DEV, K_CLOSED, K_MINUS1, K_MINUS2, K_HUGE,
	K_NKINDS,
};

struct fz_map {
	unsigned char *addr;	/* NULL: free slot */
	size_t len;
	int prot;
};

struct fz_thread {
	pthread_t tid;
	int id;
	uint64_t rnd;
	unsigned long todo;
	unsigned long ops[FZ_NOPS];
	unsigned long long verified;
	unsigned long sigbus;
	int fds[NFDS];
	struct fz_map maps[NMAPS];
	int own_fd;
	int own_backing;
	unsigned char *own_map;
	unsigned char *own_shadow;
	char why[768];
};

/* Knobs the fuzzer writes: range, the run's value, the value found. */
struct fz_knob {
	const char *name;
	unsigned long long min, max;
	const char *run_value;	/* NULL: computed in setup */
	char found[32];
	char during[32];
};

static struct fz_knob fz_knobs[] = {
	{ .name = "run", .min = 0, .max = 2, .run_value = "1" },
	{ .name = "pages_to_scan", .min = 1, .max = 1 << 20, .run_value = "4096" },
	{ .name = "sleep_millisecs", .min = 0, .max = 60000, .run_value = "0" },
	{ .name = "merge_across_domains", .min = 0, .max = 1, .run_value = "0" },
	/* max: 64 x RAM, set in setup */
	{ .name = "limit_pages", .min = 0, .max = 0, .run_value = NULL },
	{ .name = "idle_tax_percent", .min = 0, .max = 99, .run_value = "75" },
	{ .name = "sample_period_secs", .min = 1, .max = 3600, .run_value = "1" },
	{ .name = "sample_pages", .min = 1, .max = 4096, .run_value = "4096" },
};
#define NKNOBS		(sizeof(fz_knobs) / sizeof(fz_knobs[0]))
#define FZ_RUN		0	/* fz_knobs[] index of run */
#define FZ_ACROSS	3	/* fz_knobs[] index of merge_across_domains */

static struct {
	uint64_t seed;
	double deadline;
	atomic_int stop;
	atomic_int failed;
	int dev;
	int kind_fd[K_NKINDS];
	char dir[PATH_MAX];		/* our directory in the mount */
	char special[PATH_MAX + 16];	/* the region behind K_REGION_* */
	char chaos[NCHAOS][PATH_MAX + 16];
	unsigned char pattern[NPATTERNS][PS_PAGE];
	long long hash_bits_found;	/* -1: no debugfs knob */
	pthread_mutex_t knob_lock;	/* one knob write at a time */
	/*
	 * No fork while a fresh mount has a file open: the child would
	 * inherit the descriptor and make the umount fail with EBUSY.
	 */
	pthread_mutex_t fork_lock;
	atomic_ulong ioctl_err[140];	/* results by errno (0: success) */
	atomic_ulong mounts_ok;
	atomic_ulong knob_writes_ok;
} fz;

static struct fz_thread fz_threads[NTHREADS];

/* ----------------------------------------------------------------------
 * Random numbers, failures, SIGBUS
 * ---------------------------------------------------------------------- */

static uint64_t rnd(struct fz_thread *t)
{
	uint64_t x = t->rnd;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rnd = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(struct fz_thread *t, uint64_t n)
{
	return n ? rnd(t) % n : 0;
}

static void fail(struct fz_thread *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct fz_thread *t, const char *fmt, ...)
{
	va_list ap;

	if (t->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	atomic_store(&fz.failed, 1);
	atomic_store(&fz.stop, 1);
}

static __thread sigjmp_buf fz_jmp;
static __thread volatile sig_atomic_t fz_armed;

static void fz_on_signal(int sig)
{
	if (fz_armed) {
		fz_armed = 0;
		siglongjmp(fz_jmp, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Load from, or store @v to, @p with SIGBUS and SIGSEGV caught: returns the
 * signal that stopped it, or 0. Nothing of the caller's lives across the
 * jump.
 */
static __attribute__((noinline)) int fz_access(volatile unsigned char *p,
					       bool store, unsigned char v)
{
	int sig = sigsetjmp(fz_jmp, 1);

	if (!sig) {
		fz_armed = 1;
		if (store)
			*p = v;
		else
			(void)*p;
		fz_armed = 0;
	}
	return sig;
}

/* ----------------------------------------------------------------------
 * ioctls
 * ---------------------------------------------------------------------- */

enum { C_API, C_STATS, C_DOMAIN, C_POLICY, C_BACKING, C_NCMDS };

/* Is any of @n bytes at @p nonzero? */
static bool fz_nonzero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return true;
	return false;
}

static const unsigned long fz_cmd_nr[C_NCMDS] = {
	PSHARE_IOC_API, PSHARE_IOC_REGION_STATS, PSHARE_IOC_REGION_SET_DOMAIN,
	PSHARE_IOC_REGION_SET_POLICY, PSHARE_IOC_REGION_SET_BACKING,
};

static const size_t fz_cmd_size[C_NCMDS] = {
	sizeof(struct pshare_api), sizeof(struct pshare_region_stats),
	sizeof(struct pshare_region_domain), sizeof(struct pshare_region_policy),
	sizeof(struct pshare_region_backing),
};

/* A random 64-bit value, biased towards the interesting ones. */
static uint64_t fz_value(struct fz_thread *t)
{
	static const uint64_t edges[] = {
		0, 1, 2, 3, 4, 7, 100, 4096, (1ULL << 28), (1ULL << 28) + 1,
		(1ULL << 30), (1ULL << 30) + 1, (1ULL << 32) - 1, 1ULL << 32,
		~0ULL, ~0ULL - 1, 1ULL << 63,
	};

	switch (below(t, 4)) {
	case 0:
		return edges[below(t, sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return below(t, 1024);
	case 2:
		return rnd(t);
	default:
		return below(t, 1ULL << 29);
	}
}

/* A descriptor of a random kind, and its kind. */
static int fz_pick_fd(struct fz_thread *t, enum fz_kind *kind)
{
	*kind = below(t, K_NKINDS);
	return *kind == K_OWN ? t->own_fd : fz.kind_fd[*kind];
}

static bool fz_is_region(enum fz_kind k)
{
	return k == K_REGION_RW || k == K_REGION_RO || k == K_REGION_WO ||
	       k == K_OWN;
}

/* What naming a region with a descriptor of kind @k gives: 0 or an errno. */
static int fz_region_errno(enum fz_kind k, bool write)
{
	if (k == K_CLOSED || k == K_MINUS1 || k == K_MINUS2 || k == K_HUGE ||
	    k == K_REGION_PATH)
		return EBADF;		/* O_PATH descriptors are not fdget()able */
	if (!fz_is_region(k))
		return ENODEV;
	if (write && k == K_REGION_RO)
		return EACCES;
	if (!write && k == K_REGION_WO)
		return EACCES;
	return 0;
}

/* What SET_BACKING says of a backing descriptor of kind @k; -1: 0 or EBUSY. */
static int fz_backing_errno(enum fz_kind k)
{
	switch (k) {
	case K_CLOSED: case K_MINUS2: case K_HUGE: case K_REGION_PATH:
	case K_TMPFS_RO:
		return EBADF;
	case K_PSHARE_DIR: case K_TMP_DIR:
		return EISDIR;
	case K_TMPFS_RW: case K_MINUS1:
		return -1;
	default:
		/* Pipes, sockets, devices, pshare files, O_APPEND. */
		return EINVAL;
	}
}

static void fz_ioctl(struct fz_thread *t, unsigned char *buf)
{
	unsigned char before[ARGBUF], *arg = buf;
	int c = -1, expect = -2, got, set_bit;
	bool busy_ok = false, inval_ok = false;
	unsigned long cmd;
	enum fz_kind kind = K_MINUS1, bkind = K_MINUS1;
	size_t argsz = 0, ksize = 0, off = 0;
	unsigned int where = below(t, 20);
	int target_fd;
	long ret;

	/* The command: a real one mostly, else anything but generic VFS ones. */
	switch (below(t, 10)) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6:
		c = below(t, C_NCMDS);
		cmd = fz_cmd_nr[c];
		if (below(t, 8) == 0) {	/* the same number with size bits */
			cmd |= (unsigned long)below(t, 4) << _IOC_DIRSHIFT;
			cmd |= (unsigned long)(1 + below(t, 300)) << _IOC_SIZESHIFT;
			c = -1;
		}
		break;
	case 7: case 8:
		cmd = _IOC(below(t, 4), PSHARE_IOCTL_MAGIC, 5 + below(t, 251),
			   below(t, 512));
		break;
	default:
		do {
			cmd = (uint32_t)rnd(t);
		} while (strchr("TXf\x94", (int)_IOC_TYPE(cmd)) ||
			 _IOC_TYPE(cmd) == 0 || _IOC_TYPE(cmd) == 0x12 ||
			 _IOC_TYPE(cmd) == PSHARE_IOCTL_MAGIC);
	}

	/* The struct: random bytes, then fields set on purpose. */
	for (off = 0; off < ARGBUF; off += 8) {
		uint64_t v = below(t, 3) ? 0 : rnd(t);

		memcpy(buf + off, &v, 8);
	}
	if (c >= 0) {
		ksize = fz_cmd_size[c];
		switch (below(t, 8)) {
		case 0:
			argsz = below(t, ksize);		/* too small */
			break;
		case 1:
			argsz = 4097 + below(t, 1 << 20);	/* too large */
			break;
		case 2:
			argsz = ksize + 1 + below(t, 4096 - ksize);
			break;
		case 3:
			argsz = (uint32_t)rnd(t);
			break;
		default:
			argsz = ksize;
		}
		/* Trailing bytes mostly zero, so the fields decide. */
		if (argsz > ksize && argsz <= 4096 && below(t, 4))
			memset(buf + ksize, 0, argsz - ksize);
		/* Flags and reserved words mostly zero. */
		if (below(t, 4))
			memset(buf + 4, 0, 4);
		memcpy(buf, &(uint32_t){ argsz }, 4);
		switch (c) {
		case C_API:
			if (below(t, 4))
				memset(buf + offsetof(struct pshare_api, reserved), 0, 4);
			break;
		case C_STATS: {
			struct pshare_region_stats *s = (void *)buf;

			if (below(t, 4))
				s->reserved0 = 0;
			if (below(t, 4))
				memset(s->reserved, 0, sizeof(s->reserved));
			s->fd = fz_pick_fd(t, &kind);
			break;
		}
		case C_DOMAIN: {
			struct pshare_region_domain *d = (void *)buf;

			d->fd = fz_pick_fd(t, &kind);
			d->domain = below(t, 2) ? below(t, 8) : rnd(t);
			break;
		}
		case C_POLICY: {
			struct pshare_region_policy *p = (void *)buf;

			if (below(t, 4))
				p->flags &= 7;
			if (below(t, 4))
				p->reserved = 0;
			p->fd = fz_pick_fd(t, &kind);
			p->shares = below(t, 4) ? PSHARE_POLICY_DEFAULT : fz_value(t);
			p->min_pages = below(t, 3) ? 0 : fz_value(t);
			p->max_pages = below(t, 4) ? PSHARE_POLICY_DEFAULT : fz_value(t);
			break;
		}
		case C_BACKING: {
			struct pshare_region_backing *b = (void *)buf;

			b->fd = fz_pick_fd(t, &kind);
			b->backing_fd = fz_pick_fd(t, &bkind);
			break;
		}
		}
	}

	/* Where the struct lies: inside the buffer, or against the guard. */
	if (where == 0)
		arg = NULL;
	else if (where == 1)
		arg = (unsigned char *)0xffff888000000000UL;	/* kernel */
	else if (where <= 3 && c >= 0 && argsz >= 4 && argsz <= ARGBUF) {
		/* Ends just past the buffer, in the guard page. */
		arg = buf + ARGBUF - argsz + 1 + below(t, argsz < 8 ? 1 : 8);
		if (arg < buf + ARGBUF - 4)
			memmove(arg, buf, buf + ARGBUF - arg);
		else
			arg = buf + ARGBUF - 4;
		memcpy(arg, &(uint32_t){ argsz }, 4);
	}

	/* The expected result, from the documented order of the checks. */
	if (c < 0) {
		expect = ENOTTY;
	} else if (!arg || arg == (unsigned char *)0xffff888000000000UL) {
		expect = EFAULT;
	} else if (argsz < ksize || argsz > 4096) {
		expect = EINVAL;
	} else if (arg + argsz > buf + ARGBUF) {
		/* The unknown tail is checked first: nonzero before the fault. */
		size_t vis = buf + ARGBUF - arg;

		expect = argsz > ksize && vis > ksize &&
			 fz_nonzero(arg + ksize, vis - ksize) ? EINVAL : EFAULT;
	} else if (argsz > ksize && fz_nonzero(arg + ksize, argsz - ksize)) {
		expect = EINVAL;
	} else {
		uint32_t flags;

		memcpy(&flags, arg + 4, 4);
		switch (c) {
		case C_API: {
			struct pshare_api *a = (void *)arg;

			expect = flags || a->reserved ? EINVAL : 0;
			break;
		}
		case C_STATS: {
			struct pshare_region_stats *s = (void *)arg;
			bool rsv = false;
			size_t i;

			for (i = 0; i < 8; i++)
				rsv |= s->reserved[i] != 0;
			expect = flags || s->reserved0 || rsv ? EINVAL :
				 fz_region_errno(kind, false);
			break;
		}
		case C_DOMAIN:
			expect = flags ? EINVAL : fz_region_errno(kind, true);
			busy_ok = expect == 0;
			break;
		case C_POLICY: {
			struct pshare_region_policy *p = (void *)arg;
			uint64_t lim = 1ULL << 28;

			if ((flags & ~7u) || p->reserved) {
				expect = EINVAL;
				break;
			}
			expect = fz_region_errno(kind, true);
			if (expect)
				break;
			set_bit = flags;
			if (((set_bit & PSHARE_POLICY_SHARES) &&
			     p->shares != PSHARE_POLICY_DEFAULT &&
			     p->shares > (1ULL << 30)) ||
			    ((set_bit & PSHARE_POLICY_MIN) && p->min_pages > lim) ||
			    ((set_bit & PSHARE_POLICY_MAX) &&
			     p->max_pages != PSHARE_POLICY_DEFAULT &&
			     p->max_pages > lim))
				expect = EINVAL;
			else
				/* min against a max that races with others. */
				inval_ok = true;
			break;
		}
		case C_BACKING:
			expect = flags ? EINVAL : fz_region_errno(kind, true);
			if (!expect) {
				expect = fz_backing_errno(bkind);
				if (expect == -1) {
					expect = 0;
					busy_ok = true;
				}
			}
			break;
		}
	}

	target_fd = fz.dev;
	if (below(t, 40) == 0) {
		/* pshare commands on a region: regular files have no such ioctl. */
		target_fd = fz.kind_fd[K_REGION_RW];
		expect = ENOTTY;
		busy_ok = inval_ok = false;
	}

	if (arg >= buf && arg < buf + ARGBUF)
		memcpy(before, buf, ARGBUF);
	errno = 0;
	ret = ioctl(target_fd, cmd, arg);
	got = ret ? errno : 0;
	if (ret && ret != -1) {
		fail(t, "ioctl %#lx returned %ld", cmd, ret);
		return;
	}
	if ((size_t)got < sizeof(fz.ioctl_err) / sizeof(fz.ioctl_err[0]))
		atomic_fetch_add(&fz.ioctl_err[got], 1);

	if (got != expect && !(busy_ok && got == EBUSY) &&
	    !(inval_ok && got == EINVAL)) {
		fail(t, "ioctl %#lx (command %d, argsz %zu, fd kind %d, backing kind %d, arg %s): %s, expected %s",
		     cmd, c, argsz, kind, bkind,
		     !arg ? "NULL" : arg >= buf && arg < buf + ARGBUF ?
		     (arg == buf ? "buffer" : "against the guard") : "kernel",
		     got ? strerror(got) : "success",
		     expect ? strerror(expect) : "success");
		return;
	}
	if (!(arg >= buf && arg < buf + ARGBUF))
		return;
	if (got) {
		if (memcmp(before, buf, ARGBUF))
			fail(t, "ioctl %#lx failed (%s) but changed its argument",
			     cmd, strerror(got));
		return;
	}
	/* Success: nothing written past the module's struct or argsz. */
	off = (arg - buf) + (argsz < ksize ? argsz : ksize);
	if (memcmp(before + off, buf + off, ARGBUF - off))
		fail(t, "ioctl %#lx wrote beyond its struct (argsz %zu)", cmd, argsz);
	else if (c == C_API && ((struct pshare_api *)arg)->version != PSHARE_API_VERSION)
		fail(t, "PSHARE_IOC_API: version %u", ((struct pshare_api *)arg)->version);
}

/* ----------------------------------------------------------------------
 * sysfs and debugfs knobs
 * ---------------------------------------------------------------------- */

/*
 * A random value for a knob: a decimal number the knob must take, or a
 * string it must refuse, or one whose fate is not worth predicting (very
 * long strings, which the kernel may cut). *@want: 1 accept, 0 refuse,
 * -1 either.
 */
static size_t fz_knob_value(struct fz_thread *t, const struct fz_knob *k,
			    char *s, size_t size, int *want)
{
	unsigned long long v = fz_value(t);
	size_t n, i;

	*want = -1;
	switch (below(t, 10)) {
	case 0:
		n = snprintf(s, size, "%llu", k->min + below(t, k->max - k->min + 1));
		*want = 1;
		break;
	case 1:
		n = snprintf(s, size, "%llu\n", k->max);
		*want = 1;
		break;
	case 2:
		n = snprintf(s, size, "+%llu", k->min);
		*want = 1;
		break;
	case 3:
		n = snprintf(s, size, "%llu", v);
		*want = v >= k->min && v <= k->max;
		break;
	case 4:
		if (k->max < ~0ULL)
			n = snprintf(s, size, "%llu", k->max + 1 + below(t, 1000));
		else
			n = snprintf(s, size, "-1");
		*want = 0;
		break;
	case 5:
		n = snprintf(s, size, "-%llu", (unsigned long long)(1 + below(t, 100)));
		*want = 0;
		break;
	case 6: {
		static const char *const bad[] = {
			"0x10", " 1", "1 ", "1\n\n", "abc", "1a", "\n", "1.5",
			"99999999999999999999999", "--1", "+", "1,2",
		};

		n = snprintf(s, size, "%s", bad[below(t, sizeof(bad) / sizeof(bad[0]))]);
		*want = 0;
		break;
	}
	case 7:
		/* Garbage bytes, NULs included. */
		n = 1 + below(t, 64);
		for (i = 0; i < n; i++)
			s[i] = rnd(t);
		s[0] = 'x';
		*want = 0;
		break;
	default:
		/* Longer than a page: digits, or garbage. */
		n = size - 1 - below(t, 64);
		for (i = 0; i < n; i++)
			s[i] = below(t, 2) ? '0' + below(t, 10) : rnd(t);
		break;
	}
	return n;
}

/*
 * Restoring @k at @path failed: merge_across_domains changes only while nothing is
 * shared, and the scanner may have merged since the random value went in.
 * Then unmerge (run=2), restore, and put run back. True if that restored it.
 */
static bool fz_restore_across(struct fz_knob *k, const char *path,
			      const char *restore)
{
	bool done;

	if (errno != EBUSY || k != &fz_knobs[FZ_ACROSS])
		return false;
	done = !ps_write_file(PS_SYSFS "/run", "2") &&
	       !ps_write_file(path, restore);
	if (ps_write_file(PS_SYSFS "/run", fz_knobs[FZ_RUN].during))
		done = false;
	return done;
}

static void fz_sysfs(struct fz_thread *t)
{
	static char s[8192 + 64];
	char path[256];
	struct fz_knob *k;
	struct fz_knob hb = { .name = "hash_bits", .min = 1, .max = 64 };
	const char *restore;
	long long now;
	int fd, want;
	ssize_t n, len;

	pthread_mutex_lock(&fz.knob_lock);
	if (fz.hash_bits_found >= 0 && below(t, NKNOBS + 1) == 0) {
		k = &hb;
		snprintf(path, sizeof(path), "%s", PS_HASH_BITS);
		restore = "8";
	} else {
		k = &fz_knobs[below(t, NKNOBS)];
		snprintf(path, sizeof(path), PS_SYSFS "/%s", k->name);
		restore = k->during;
	}
	len = fz_knob_value(t, k, s, sizeof(s), &want);
	if (k == &hb)
		want = -1;	/* kstrtoull base 0, cut to 23 bytes: range only */
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		fail(t, "open %s: %s", path, strerror(errno));
		goto out;
	}
	errno = 0;
	n = write(fd, s, len);
	close(fd);
	/* sysfs takes at most a page of a longer write. */
	if (n == len || (len > 4096 && n == 4096)) {
		atomic_fetch_add(&fz.knob_writes_ok, 1);
		if (!want)
			fail(t, "%s took \"%.40s\" (%zd bytes)", k->name, s, len);
	} else if (n >= 0 || (errno != EINVAL && errno != EBUSY &&
			      errno != ENOMEM && errno != EINTR &&
			      /* debugfs passes kstrtoull()'s overflow on */
			      !(k == &hb && errno == ERANGE))) {
		fail(t, "%s: writing %zd bytes returned %zd (%s)", k->name, len,
		     n, strerror(errno));
	} else if (want == 1 && errno == EINVAL) {
		fail(t, "%s refused \"%.40s\": %s", k->name, s, strerror(errno));
	}
	now = ps_read_number(path);
	if (now < (long long)k->min || (unsigned long long)now > k->max)
		fail(t, "%s reads %lld after \"%.40s\", outside %llu..%llu",
		     k->name, now, s, k->min, k->max);
	/* The random value lasts a moment, then the run's value returns. */
	usleep(below(t, 2000));
	if (ps_write_file(path, restore) && !fz_restore_across(k, path, restore))
		fail(t, "restoring %s=%s: %s", k->name, restore, strerror(errno));
out:
	pthread_mutex_unlock(&fz.knob_lock);
}

/* ----------------------------------------------------------------------
 * Mount options
 * ---------------------------------------------------------------------- */

/* One option: *@valid 1 valid, 0 invalid, -1 not predicted. */
static int fz_mount_token(struct fz_thread *t, char *s, size_t size)
{
	static const char *const key[] = { "uid", "gid", "mode" };
	static const char *const invalid[] = {
		"uid=-1", "uid=4294967295", "gid=4294967295", "uid=abc",
		"uid=", "mode=8", "mode=010000", "mode=-1",
		"mode=0x1ff", "size=1G", "nr_inodes=5", "foo", "foo=bar",
		"uid", "mode", "uid=4294967296", "gid=99999999999",
	};
	static const char *const unknown[] = {
		"ro", "rw", "source=x", "sync", "noatime", "silent",
	};
	unsigned int k = below(t, 3);

	switch (below(t, 6)) {
	case 0: case 1: case 2:
		if (k == 2)
			snprintf(s, size, "mode=%llo", (unsigned long long)below(t, 07777 + 1));
		else
			snprintf(s, size, "%s=%llu", key[k], (unsigned long long)
				 (below(t, 2) ? below(t, 70000) : below(t, 0xfffffffeULL)));
		return 1;
	case 3: case 4:
		snprintf(s, size, "%s", invalid[below(t, sizeof(invalid) / sizeof(invalid[0]))]);
		return 0;
	default:
		snprintf(s, size, "%s", unknown[below(t, sizeof(unknown) / sizeof(unknown[0]))]);
		return -1;
	}
}

static void fz_mount(struct fz_thread *t)
{
	char dir[64], opts[4096 + 256], tok[64], file[96];
	int i, n = below(t, 5), valid = 1, v, fd;
	struct statfs sfs;
	size_t len = 0;

	opts[0] = 0;
	for (i = 0; i < n; i++) {
		v = fz_mount_token(t, tok, sizeof(tok));
		if (v == 0)
			valid = 0;
		else if (v < 0 && valid)
			valid = -1;
		len += snprintf(opts + len, sizeof(opts) - len, "%s%s",
				i ? "," : "", tok);
	}
	if (below(t, 20) == 0) {
		/* Longer than a page: mount(2) copies one page of it. */
		while (len < sizeof(opts) - 64)
			len += snprintf(opts + len, sizeof(opts) - len, ",uid=%llu",
					(unsigned long long)below(t, 1000));
		valid = -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/pshare-fuzz-mnt.XXXXXX");
	if (!mkdtemp(dir)) {
		fail(t, "mkdtemp: %s", strerror(errno));
		return;
	}
	pthread_mutex_lock(&fz.fork_lock);
	errno = 0;
	if (mount("pshare", dir, "pshare", 0, n || len ? opts : NULL)) {
		if (errno != EINVAL || valid == 1)
			fail(t, "mount -o \"%.200s\": %s", opts, strerror(errno));
		pthread_mutex_unlock(&fz.fork_lock);
		rmdir(dir);
		return;
	}
	atomic_fetch_add(&fz.mounts_ok, 1);
	if (valid == 0)
		fail(t, "mount -o \"%.200s\" succeeded", opts);
	if (statfs(dir, &sfs) || sfs.f_type != PSHARE_FS_MAGIC)
		fail(t, "statfs of a fresh mount: %s", strerror(errno));
	/* Use it (a read-only mount refuses that; not predicted). */
	snprintf(file, sizeof(file), "%s/r", dir);
	fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd >= 0) {
		if (ftruncate(fd, PS_PAGE) || pwrite(fd, "x", 1, 7) != 1)
			fail(t, "using a region of a fresh mount: %s", strerror(errno));
		close(fd);
		unlink(file);
	}
	if (umount(dir))
		fail(t, "umount of a fresh mount: %s", strerror(errno));
	pthread_mutex_unlock(&fz.fork_lock);
	rmdir(dir);
}

/* ----------------------------------------------------------------------
 * The shared region files
 * ---------------------------------------------------------------------- */

/* A slot of @t's descriptor table: an open one, or -1 if none. */
static int fz_fd(struct fz_thread *t)
{
	int i = below(t, NFDS);

	return t->fds[i];
}

static struct fz_map *fz_map(struct fz_thread *t)
{
	struct fz_map *m = &t->maps[below(t, NMAPS)];

	return m->addr ? m : NULL;
}

static off_t fz_size(struct fz_thread *t)
{
	switch (below(t, 8)) {
	case 0:
		return 0;
	case 1:
		return below(t, PS_PAGE * 4);
	case 2:
		return (off_t)1 << 40;			/* largest allowed */
	case 3:
		return ((off_t)1 << 40) + PS_PAGE;	/* too large */
	default:
		return (off_t)below(t, CHAOS_MAX_PAGES + 1) * PS_PAGE;
	}
}

/* Errors the plain file calls may give; anything else is a failure. */
static bool fz_errno_ok(int err)
{
	switch (err) {
	case EBADF: case EINVAL: case EBUSY: case EFBIG: case ENOENT:
	case EEXIST: case EOPNOTSUPP: case EFAULT: case ENOTEMPTY:
	case EISDIR: case ENOTDIR: case ENOMEM: case EACCES: case EPERM:
	case EAGAIN: case ESPIPE: case EXDEV: case EMLINK: case ENODEV:
	case EINTR: case ENXIO: case EROFS:
		return true;
	}
	return false;
}

#define FZ_CALL(t, what, expr) do {					\
	errno = 0;							\
	if ((long)(expr) < 0 && !fz_errno_ok(errno))			\
		fail(t, "%s: unexpected error %s", what, strerror(errno)); \
} while (0)

static void fz_open(struct fz_thread *t)
{
	static const int acc[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDWR };
	int flags = acc[below(t, 4)], i = below(t, NFDS), fd;
	const char *path = fz.chaos[below(t, NCHAOS)];

	if (below(t, 2))
		flags |= O_CREAT;
	if (below(t, 8) == 0)
		flags |= O_EXCL;
	if (below(t, 16) == 0)
		flags |= O_TRUNC;
	if (below(t, 16) == 0)
		flags |= O_APPEND;
	if (below(t, 32) == 0)
		flags |= O_DIRECT;
	if (below(t, 16) == 0)
		flags |= O_NONBLOCK;
	errno = 0;
	fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (!fz_errno_ok(errno))
			fail(t, "open %s %#x: %s", path, flags, strerror(errno));
		if ((flags & O_DIRECT) && errno != EINVAL && errno != ENOENT &&
		    errno != EEXIST && errno != EBUSY)
			fail(t, "open O_DIRECT: %s, expected EINVAL", strerror(errno));
		return;
	}
	if (flags & O_DIRECT)
		fail(t, "open O_DIRECT of a region succeeded");
	if (t->fds[i] >= 0)
		close(t->fds[i]);
	t->fds[i] = fd;
}

static void fz_close(struct fz_thread *t)
{
	int i = below(t, NFDS);

	if (t->fds[i] >= 0) {
		close(t->fds[i]);
		t->fds[i] = -1;
	}
}

static void fz_truncate(struct fz_thread *t)
{
	int fd = fz_fd(t);
	off_t size = fz_size(t);

	if (fd < 0)
		return;
	errno = 0;
	if (ftruncate(fd, below(t, 20) ? size : -1 - (off_t)below(t, 5)) &&
	    !fz_errno_ok(errno))
		fail(t, "ftruncate to %lld: %s", (long long)size, strerror(errno));
}

static void fz_fallocate(struct fz_thread *t)
{
	static const int modes[] = {
		FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_ZERO_RANGE, FALLOC_FL_COLLAPSE_RANGE,
		FALLOC_FL_INSERT_RANGE, FALLOC_FL_PUNCH_HOLE,
	};
	int fd = fz_fd(t), mode;
	off_t off = below(t, 4) ? (off_t)below(t, CHAOS_MAX_PAGES * PS_PAGE) :
		    (off_t)fz_value(t);
	off_t len = below(t, 4) ? (off_t)(1 + below(t, 8 * PS_PAGE)) :
		    (off_t)fz_value(t);
	int ret;

	if (fd < 0)
		return;
	mode = below(t, 4) ? modes[0] : below(t, 2) ?
	       modes[below(t, sizeof(modes) / sizeof(modes[0]))] : (int)rnd(t);
	errno = 0;
	ret = fallocate(fd, mode, off, len);
	if (ret && !fz_errno_ok(errno))
		fail(t, "fallocate(%#x, %lld, %lld): %s", mode, (long long)off,
		     (long long)len, strerror(errno));
	if (!ret && mode != modes[0])
		fail(t, "fallocate mode %#x succeeded", mode);
}

static void fz_mmap(struct fz_thread *t)
{
	struct fz_map *m = &t->maps[below(t, NMAPS)];
	int fd = fz_fd(t), prot, flags;
	size_t len = (1 + below(t, 32)) * PS_PAGE;
	off_t off = (off_t)below(t, 16) * PS_PAGE;
	void *p;

	if (fd < 0)
		return;
	if (below(t, 32) == 0)
		off += 1 + below(t, PS_PAGE - 1);	/* unaligned: EINVAL */
	prot = below(t, 4) ? PROT_READ | PROT_WRITE : PROT_READ;
	flags = below(t, 16) ? MAP_SHARED : MAP_PRIVATE;
	if (below(t, 8) == 0)
		flags |= MAP_POPULATE;
	errno = 0;
	p = mmap(NULL, len, prot, flags, fd, off);
	if (p == MAP_FAILED) {
		if (!fz_errno_ok(errno))
			fail(t, "mmap: %s", strerror(errno));
		return;
	}
	if (!(flags & MAP_SHARED)) {
		fail(t, "a MAP_PRIVATE mapping of a region succeeded");
		munmap(p, len);
		return;
	}
	if (m->addr)
		munmap(m->addr, m->len);
	m->addr = p;
	m->len = len;
	m->prot = prot;
}

static void fz_munmap(struct fz_thread *t)
{
	struct fz_map *m = fz_map(t);
	size_t cut;

	if (!m)
		return;
	if (m->len > PS_PAGE && below(t, 2)) {
		/* Cut the head or the tail off: the VMA splits. */
		cut = (1 + below(t, m->len / PS_PAGE - 1)) * PS_PAGE;
		if (below(t, 2)) {
			munmap(m->addr, cut);
			m->addr += cut;
		} else {
			munmap(m->addr + m->len - cut, cut);
		}
		m->len -= cut;
		return;
	}
	munmap(m->addr, m->len);
	m->addr = NULL;
}

static void fz_mremap(struct fz_thread *t)
{
	struct fz_map *m = fz_map(t);
	size_t len;
	void *p;

	if (!m)
		return;
	len = (1 + below(t, 40)) * PS_PAGE;
	errno = 0;
	p = mremap(m->addr, m->len, len, MREMAP_MAYMOVE);
	if (p == MAP_FAILED) {
		/*
		 * Growing is refused (EFAULT) only when the mapping is several
		 * VMAs: madvise(MADV_SEQUENTIAL and friends) on part of it
		 * splits it. Shrinking always works; a page beyond EOF is
		 * SIGBUS.
		 */
		if (len <= m->len || errno != EFAULT)
			fail(t, "mremap %zu -> %zu: %s", m->len, len, strerror(errno));
		return;
	}
	m->addr = p;
	m->len = len;
}

static void fz_madvise(struct fz_thread *t)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_REMOVE, MADV_WILLNEED, MADV_NORMAL,
		MADV_SEQUENTIAL, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ,
		MADV_POPULATE_WRITE,
	};
	struct fz_map *m = fz_map(t);
	int a = advice[below(t, sizeof(advice) / sizeof(advice[0]))];
	size_t off, len;
	int ret;

	if (!m)
		return;
	off = below(t, m->len / PS_PAGE) * PS_PAGE;
	len = (1 + below(t, (m->len - off) / PS_PAGE)) * PS_PAGE;
	errno = 0;
	ret = madvise(m->addr + off, len, a);
	if (ret && !fz_errno_ok(errno))
		fail(t, "madvise(%d): %s", a, strerror(errno));
}

/* Loads and stores through a mapping: SIGBUS beyond the end of the file. */
static void fz_touch(struct fz_thread *t)
{
	struct fz_map *m = fz_map(t);
	unsigned char *p;
	unsigned int n = 1 + below(t, 8), i;
	int sig;

	if (!m)
		return;
	for (i = 0; i < n; i++) {
		p = m->addr + below(t, m->len);
		sig = fz_access(p, (m->prot & PROT_WRITE) && below(t, 2), rnd(t));
		if (sig == SIGBUS) {
			t->sigbus++;
		} else if (sig) {
			fail(t, "signal %d touching a mapping", sig);
			return;
		}
	}
}

/* read/write/pread/pwrite, sometimes from or into a mapping of a region. */
static void fz_rw(struct fz_thread *t, unsigned char *buf)
{
	struct fz_map *m = fz_map(t);
	int fd = fz_fd(t);
	size_t len = below(t, ARGBUF + 1);
	off_t off = below(t, 8) ? (off_t)below(t, (CHAOS_MAX_PAGES + 4) * PS_PAGE) :
		    (off_t)fz_value(t);
	unsigned char *mem = buf;
	unsigned int how = below(t, 4);
	ssize_t n;

	if (fd < 0)
		return;
	if (m && below(t, 3) == 0) {
		mem = m->addr + below(t, m->len);
		if (len > m->len - (mem - m->addr))
			len = m->len - (mem - m->addr);
	}
	errno = 0;
	/* A copy from or into a mapping past the region's end: EFAULT or short. */
	n = how == 0 ? read(fd, mem, len) : how == 1 ? write(fd, mem, len) :
	    how == 2 ? pread(fd, mem, len, off) : pwrite(fd, mem, len, off);
	if (n < 0 && !fz_errno_ok(errno))
		fail(t, "read/write (%u) of %zu bytes at %lld: %s", how, len,
		     (long long)off, strerror(errno));
	else if (n > (ssize_t)len)
		fail(t, "read/write (%u) returned %zd of %zu", how, n, len);
}

static void fz_lseek(struct fz_thread *t)
{
	static const int whence[] = { SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA,
				      SEEK_HOLE, 17 };
	int fd = fz_fd(t);

	if (fd < 0)
		return;
	FZ_CALL(t, "lseek", lseek(fd, (off_t)fz_value(t) - 4096,
				  whence[below(t, 6)]));
}

/* Names: unlink, rename, link, between the shared names. */
static void fz_names(struct fz_thread *t)
{
	const char *a = fz.chaos[below(t, NCHAOS)];
	const char *b = fz.chaos[below(t, NCHAOS)];

	switch (below(t, 4)) {
	case 0:
		FZ_CALL(t, "unlink", unlink(a));
		break;
	case 1:
		FZ_CALL(t, "rename", rename(a, b));
		break;
	case 2:
		FZ_CALL(t, "link", link(a, b));
		break;
	default:
		FZ_CALL(t, "renameat2", syscall(SYS_renameat2, AT_FDCWD, a,
						AT_FDCWD, b, RENAME_EXCHANGE));
	}
}

/* ----------------------------------------------------------------------
 * A thread's own region: every byte of it is known
 * ---------------------------------------------------------------------- */

static bool fz_own_verify(struct fz_thread *t, unsigned long pg, const char *when)
{
	unsigned char buf[PS_PAGE];
	const unsigned char *want = t->own_shadow + pg * PS_PAGE;
	ssize_t n;
	size_t i;

	if (memcmp(t->own_map + pg * PS_PAGE, want, PS_PAGE)) {
		for (i = 0; t->own_map[pg * PS_PAGE + i] == want[i]; i++)
			;
		fail(t, "%s: own page %lu through the mapping: byte %zu is %#x, expected %#x",
		     when, pg, i, t->own_map[pg * PS_PAGE + i], want[i]);
		return false;
	}
	n = pread(t->own_fd, buf, PS_PAGE, pg * PS_PAGE);
	if (n != (ssize_t)PS_PAGE) {
		fail(t, "%s: pread of own page %lu: %zd (%s)", when, pg, n,
		     strerror(errno));
		return false;
	}
	if (memcmp(buf, want, PS_PAGE)) {
		fail(t, "%s: own page %lu with pread differs from its shadow", when, pg);
		return false;
	}
	t->verified += 2 * PS_PAGE;
	return true;
}

static void fz_own_write(struct fz_thread *t)
{
	unsigned long pg = below(t, OWN_PAGES);
	unsigned char *sh = t->own_shadow + pg * PS_PAGE;
	size_t len, off;
	unsigned int i;

	switch (below(t, 4)) {
	case 0:		/* a shared pattern, through the mapping */
		memcpy(t->own_map + pg * PS_PAGE, fz.pattern[below(t, NPATTERNS)], PS_PAGE);
		memcpy(sh, t->own_map + pg * PS_PAGE, PS_PAGE);
		break;
	case 1:		/* a shared pattern, with pwrite */
		memcpy(sh, fz.pattern[below(t, NPATTERNS)], PS_PAGE);
		if (pwrite(t->own_fd, sh, PS_PAGE, pg * PS_PAGE) != (ssize_t)PS_PAGE)
			fail(t, "pwrite own page %lu: %s", pg, strerror(errno));
		break;
	case 2:		/* a few bytes through the mapping */
		len = 1 + below(t, 32);
		off = below(t, PS_PAGE - len + 1);
		for (i = 0; i < len; i++)
			sh[off + i] = rnd(t);
		memcpy(t->own_map + pg * PS_PAGE + off, sh + off, len);
		break;
	default:	/* unique content with pwrite, across two pages */
		len = 1 + below(t, PS_PAGE);
		off = below(t, PS_PAGE);
		if (pg == OWN_PAGES - 1)
			off = 0;
		for (i = 0; i < len; i++)
			sh[off + i] = rnd(t);
		if (pwrite(t->own_fd, sh + off, len, pg * PS_PAGE + off) != (ssize_t)len)
			fail(t, "pwrite own page %lu + %zu: %s", pg, off, strerror(errno));
	}
}

static void fz_own_punch(struct fz_thread *t)
{
	unsigned long pg = below(t, OWN_PAGES);
	size_t len = below(t, 2) ? PS_PAGE : 1 + below(t, PS_PAGE - 1);
	size_t off = below(t, PS_PAGE - len + 1);
	unsigned int n = below(t, 4) ? 1 : 1 + below(t, 8);

	if (below(t, 16) == 0) {
		/* A random ioctl may have replaced or removed the backing file. */
		struct pshare_region_backing b = {
			.argsz = sizeof(b), .fd = t->own_fd, .backing_fd = t->own_backing,
		};

		if (ioctl(fz.dev, PSHARE_IOC_REGION_SET_BACKING, &b) && errno != EBUSY)
			fail(t, "setting the own backing file again: %s", strerror(errno));
	}
	if (pg + n > OWN_PAGES)
		n = OWN_PAGES - pg;
	if (n > 1)
		len = n * PS_PAGE - off;
	if (fallocate(t->own_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      pg * PS_PAGE + off, len)) {
		fail(t, "punching own page %lu + %zu, %zu bytes: %s", pg, off,
		     len, strerror(errno));
		return;
	}
	memset(t->own_shadow + pg * PS_PAGE + off, 0, len);
}

/* ----------------------------------------------------------------------
 * fork: the child uses the mappings it inherited
 * ---------------------------------------------------------------------- */

static void fz_fork(struct fz_thread *t)
{
	int status, i;
	pid_t pid;

	fflush(NULL);
	pthread_mutex_lock(&fz.fork_lock);
	pid = fork();
	if (pid)
		pthread_mutex_unlock(&fz.fork_lock);
	if (pid < 0) {
		if (errno != EAGAIN && errno != ENOMEM)
			fail(t, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		/* Only this thread lives on here: its own region is quiet. */
		for (i = 0; i < 8; i++) {
			unsigned long pg = below(t, OWN_PAGES);

			if (memcmp(t->own_map + pg * PS_PAGE,
				   t->own_shadow + pg * PS_PAGE, PS_PAGE))
				_exit(3);
			fz_touch(t);
		}
		if (t->why[0])
			_exit(2);
		/* Leave with mappings and descriptors still there. */
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		fail(t, "waitpid: %s", strerror(errno));
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail(t, "forked child: status %#x (3: own page differs in the child, 2: a failed check)",
		     status);
}

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
		fail(t, "argument buffer: %s", strerror(errno));
		return NULL;
	}
	for (done = 0; done < t->todo && !atomic_load(&fz.stop); done++) {
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
	atomic_store(&fz.stop, 1);
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

		EXPECT_EQ(0, t->why[0]) TH_LOG("thread %d: %s", i, t->why);
		for (k = 0; k < FZ_NOPS; k++) {
			total[k] += t->ops[k];
			done += t->ops[k];
		}
		sigbus += t->sigbus;
	}

	/* Every owned byte, still under the limit, then with none. */
	for (i = 0; i < NTHREADS && !atomic_load(&fz.failed); i++)
		for (pg = 0; pg < OWN_PAGES; pg++)
			if (!fz_own_verify(&fz_threads[i], pg, "at the end"))
				break;
	PS_KNOB_SET("limit_pages", "0");
	PS_KNOB_SET("run", "2");
	for (i = 0; i < NTHREADS && !atomic_load(&fz.failed); i++)
		for (pg = 0; pg < OWN_PAGES; pg++)
			if (!fz_own_verify(&fz_threads[i], pg, "after unmerging"))
				break;
	for (i = 0; i < NTHREADS; i++) {
		EXPECT_EQ(0, fz_threads[i].why[0])
			TH_LOG("thread %d: %s", i, fz_threads[i].why);
		verified += fz_threads[i].verified;
	}

	PS_NOTE("fuzz: %llu operations in %.1f s (seed %#llx)%s", done,
		ps_now() - start, (unsigned long long)fz.seed,
		done < ops && !atomic_load(&fz.failed) ? ", stopped by the time bound" : "");
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
