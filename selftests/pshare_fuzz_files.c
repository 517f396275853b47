// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's file operations on the shared region files (open, truncate,
 * fallocate, mmap and friends, loads and stores with SIGBUS caught, I/O,
 * names, fork) and on each thread's own region, verified against a shadow.
 *
 * Part of pshare_fuzz.c, which includes it (see pshare_fuzz.h).
 */
#include "pshare_fuzz.h"

/* ----------------------------------------------------------------------
 * SIGBUS and SIGSEGV, caught around one access
 * ---------------------------------------------------------------------- */

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
		ps_fail(&t->fail, "%s: unexpected error %s", what, strerror(errno)); \
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
			ps_fail(&t->fail, "open %s %#x: %s", path, flags, strerror(errno));
		if ((flags & O_DIRECT) && errno != EINVAL && errno != ENOENT &&
		    errno != EEXIST && errno != EBUSY)
			ps_fail(&t->fail, "open O_DIRECT: %s, expected EINVAL", strerror(errno));
		return;
	}
	if (flags & O_DIRECT)
		ps_fail(&t->fail, "open O_DIRECT of a region succeeded");
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
		ps_fail(&t->fail, "ftruncate to %lld: %s", (long long)size, strerror(errno));
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
		ps_fail(&t->fail, "fallocate(%#x, %lld, %lld): %s", mode, (long long)off,
		     (long long)len, strerror(errno));
	if (!ret && mode != modes[0])
		ps_fail(&t->fail, "fallocate mode %#x succeeded", mode);
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
			ps_fail(&t->fail, "mmap: %s", strerror(errno));
		return;
	}
	if (!(flags & MAP_SHARED)) {
		ps_fail(&t->fail, "a MAP_PRIVATE mapping of a region succeeded");
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
			ps_fail(&t->fail, "mremap %zu -> %zu: %s", m->len, len, strerror(errno));
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
		ps_fail(&t->fail, "madvise(%d): %s", a, strerror(errno));
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
			ps_fail(&t->fail, "signal %d touching a mapping", sig);
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
		ps_fail(&t->fail, "read/write (%u) of %zu bytes at %lld: %s", how, len,
		     (long long)off, strerror(errno));
	else if (n > (ssize_t)len)
		ps_fail(&t->fail, "read/write (%u) returned %zd of %zu", how, n, len);
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
		ps_fail(&t->fail, "%s: own page %lu through the mapping: byte %zu is %#x, expected %#x",
		     when, pg, i, t->own_map[pg * PS_PAGE + i], want[i]);
		return false;
	}
	n = pread(t->own_fd, buf, PS_PAGE, pg * PS_PAGE);
	if (n != (ssize_t)PS_PAGE) {
		ps_fail(&t->fail, "%s: pread of own page %lu: %zd (%s)", when, pg, n,
		     strerror(errno));
		return false;
	}
	if (memcmp(buf, want, PS_PAGE)) {
		ps_fail(&t->fail, "%s: own page %lu with pread differs from its shadow", when, pg);
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
			ps_fail(&t->fail, "pwrite own page %lu: %s", pg, strerror(errno));
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
			ps_fail(&t->fail, "pwrite own page %lu + %zu: %s", pg, off, strerror(errno));
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
			ps_fail(&t->fail, "setting the own backing file again: %s", strerror(errno));
	}
	if (pg + n > OWN_PAGES)
		n = OWN_PAGES - pg;
	if (n > 1)
		len = n * PS_PAGE - off;
	if (fallocate(t->own_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      pg * PS_PAGE + off, len)) {
		ps_fail(&t->fail, "punching own page %lu + %zu, %zu bytes: %s", pg, off,
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
			ps_fail(&t->fail, "fork: %s", strerror(errno));
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
		if (t->fail.why[0])
			_exit(2);
		/* Leave with mappings and descriptors still there. */
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		ps_fail(&t->fail, "waitpid: %s", strerror(errno));
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		ps_fail(&t->fail, "forked child: status %#x (3: own page differs in the child, 2: a failed check)",
		     status);
}
