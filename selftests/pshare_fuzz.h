/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of the pshare fuzzer share (pshare_fuzz.c has the
 * overview): the limits, the per-thread state and the shared state, and the
 * thread's random stream. Each operation draws its arguments from rnd(t),
 * checks the result against the documented rules, and calls ps_fail() on a
 * violation.
 *
 * The parts are one translation unit: pshare_fuzz.c includes them. The 6.1
 * kselftest_harness.h defines global functions and data, so only one file
 * of a program may include it, and every part needs the helpers that come
 * with it (pshare_selftest.h).
 *
 *   pshare_fuzz.c        the threads, the fixture and the test
 *   pshare_fuzz_ioctl.c  ioctls on /dev/pshare
 *   pshare_fuzz_sysfs.c  sysfs and debugfs knob writes
 *   pshare_fuzz_mount.c  mounts with random options
 *   pshare_fuzz_files.c  file operations, the owned regions, fork
 */
#ifndef PSHARE_FUZZ_H
#define PSHARE_FUZZ_H

#include "pshare_share.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
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
	struct ps_failure fail;	/* the thread's first failure */
};

/* Knobs the fuzzer writes: range, the run's value, the value found. */
struct fz_knob {
	const char *name;
	unsigned long long min, max;
	const char *run_value;	/* NULL: computed in setup */
	char found[32];
	char during[32];
};

/* What all threads share; set up by the fixture. */
struct fz_state {
	uint64_t seed;
	double deadline;
	struct ps_run_state run;
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
};

static struct fz_state fz;
static struct fz_thread fz_threads[NTHREADS];

/* A thread's own stream: the seed and thread number fully decide it. */
static inline uint64_t rnd(struct fz_thread *t)
{
	return ps_rnd(&t->rnd);
}

/* A number below @n, or 0 when @n is 0 (modulo bias is negligible). */
static inline uint64_t below(struct fz_thread *t, uint64_t n)
{
	return n ? rnd(t) % n : 0;
}

#endif /* PSHARE_FUZZ_H */
