// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pshare ioctl tests: API version and features, the region statistics
 * fields, and every documented error of both ioctls. On an error the
 * kernel must change nothing: each call is made on a buffer pre-filled with
 * a pattern in the output fields and compared byte for byte afterwards.
 */
#include "pshare_selftest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/sysmacros.h>

/* Bytes after the struct, for the argsz-larger-than-the-kernel cases. */
#define TAIL 64

FIXTURE(ioc) {
	int dev;
	struct ps_region r;
};

FIXTURE_SETUP(ioc)
{
	ps_dev_region_open(_metadata, &self->dev, &self->r, 4 * PS_PAGE);
}

FIXTURE_TEARDOWN(ioc)
{
	ps_dev_region_close(self->dev, &self->r);
}

/* One kind of argument struct and where its outputs are. */
struct ioc_kind {
	const char *name;
	unsigned long cmd;
	size_t size;		/* sizeof the struct */
	size_t minsz;		/* the size of its first version */
	size_t out_off;		/* outputs pre-filled with a pattern: */
	size_t out_len;		/* [out_off, out_off + out_len) */
	size_t rsv_off;		/* a reserved input that must be zero */
};

static const struct ioc_kind api_kind = {
	.name = "API",
	.cmd = PSHARE_IOC_API,
	.size = sizeof(struct pshare_api),
	.minsz = sizeof(struct pshare_api),
	.out_off = offsetof(struct pshare_api, version),
	.out_len = 4,
	.rsv_off = offsetof(struct pshare_api, reserved),
};

static const struct ioc_kind stats_kind = {
	.name = "REGION_STATS",
	.cmd = PSHARE_IOC_REGION_STATS,
	.size = sizeof(struct pshare_region_stats),
	.minsz = offsetof(struct pshare_region_stats, mappings),
	.out_off = offsetof(struct pshare_region_stats, size),
	.out_len = offsetof(struct pshare_region_stats, reserved) -
		   offsetof(struct pshare_region_stats, size),
	.rsv_off = offsetof(struct pshare_region_stats, reserved0),
};

/* A valid argument for @k in @buf (size + TAIL bytes, tail zero). */
static void ioc_init(const struct ioc_kind *k, unsigned char *buf, int fd)
{
	memset(buf, 0, k->size + TAIL);
	*(__u32 *)buf = k->size;
	if (k == &api_kind) {
		/* features is an output too */
		memset(buf + offsetof(struct pshare_api, features), 0xa5, 8);
	} else {
		((struct pshare_region_stats *)buf)->fd = fd;
	}
	memset(buf + k->out_off, 0xa5, k->out_len);
}

/*
 * Call @k's ioctl on @buf and expect failure with @err, with every byte of
 * @buf (struct and tail) unchanged.
 */
static void ioc_expect_err(struct __test_metadata *_metadata, int dev,
			   const struct ioc_kind *k, unsigned char *buf,
			   int err, const char *what)
{
	unsigned char before[sizeof(struct pshare_region_stats) + TAIL];
	size_t len = k->size + TAIL;
	int ret;

	memcpy(before, buf, len);
	errno = 0;
	ret = ioctl(dev, k->cmd, buf);
	EXPECT_EQ(-1, ret) TH_LOG("%s %s: succeeded", k->name, what);
	EXPECT_EQ(err, errno) TH_LOG("%s %s: got %s, want %s", k->name, what,
				     strerror(errno), strerror(err));
	EXPECT_EQ(0, memcmp(before, buf, len))
		TH_LOG("%s %s: argument changed on error", k->name, what);
}

/* The argument-checking errors, common to both ioctls. */
static void check_arg_errors(struct __test_metadata *_metadata, int dev,
			     const struct ioc_kind *k, int fd)
{
	unsigned char buf[sizeof(struct pshare_region_stats) + TAIL];
	__u32 *argsz = (__u32 *)buf, *flags = (__u32 *)buf + 1;

	ioc_init(k, buf, fd);
	*argsz = 0;
	ioc_expect_err(_metadata, dev, k, buf, EINVAL, "argsz 0");
	ioc_init(k, buf, fd);
	*argsz = 8;
	ioc_expect_err(_metadata, dev, k, buf, EINVAL, "argsz 8");
	ioc_init(k, buf, fd);
	*argsz = k->minsz - 1;
	ioc_expect_err(_metadata, dev, k, buf, EINVAL, "argsz first size-1");
	ioc_init(k, buf, fd);
	*argsz = k->minsz - 8;
	ioc_expect_err(_metadata, dev, k, buf, EINVAL, "argsz first size-8");

	ioc_init(k, buf, fd);
	*flags = 1;
	ioc_expect_err(_metadata, dev, k, buf, EINVAL, "flags 1");
	ioc_init(k, buf, fd);
	*flags = 0x80000000u;
	ioc_expect_err(_metadata, dev, k, buf, EINVAL, "flags bit 31");

	ioc_init(k, buf, fd);
	*(__u32 *)(buf + k->rsv_off) = 1;
	ioc_expect_err(_metadata, dev, k, buf, EINVAL, "reserved nonzero");

	ioc_init(k, buf, fd);
	*argsz = k->size + TAIL;
	buf[k->size + TAIL - 1] = 1;
	ioc_expect_err(_metadata, dev, k, buf, EINVAL, "nonzero last tail byte");
	ioc_init(k, buf, fd);
	*argsz = k->size + 1;
	buf[k->size] = 0xff;
	ioc_expect_err(_metadata, dev, k, buf, EINVAL, "nonzero first tail byte");

	/* A larger argsz with a zero tail is fine; the tail stays zero. */
	ioc_init(k, buf, fd);
	*argsz = k->size + TAIL;
	EXPECT_EQ(0, ioctl(dev, k->cmd, buf))
		TH_LOG("%s argsz+%d zero tail: %s", k->name, TAIL, strerror(errno));
	EXPECT_EQ(-1, ps_nonzero(buf + k->size, TAIL));
	EXPECT_EQ(k->size + TAIL, *argsz);
	/* ... and a tail that ends just after the struct too. */
	ioc_init(k, buf, fd);
	*argsz = k->size + 1;
	EXPECT_EQ(0, ioctl(dev, k->cmd, buf))
		TH_LOG("%s argsz+1 zero tail: %s", k->name, strerror(errno));
}

/* Bad pointers: EFAULT, and no write through a partly valid one. */
static void check_efault(struct __test_metadata *_metadata, int dev,
			 const struct ioc_kind *k, int fd)
{
	unsigned char *m, *p;

	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, k->cmd, NULL));
	EXPECT_EQ(EFAULT, errno) TH_LOG("%s NULL: %s", k->name, strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, k->cmd, (void *)16));
	EXPECT_EQ(EFAULT, errno) TH_LOG("%s 16: %s", k->name, strerror(errno));

	/* Two pages, the second one made inaccessible. */
	m = mmap(NULL, 2 * PS_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, mprotect(m + PS_PAGE, PS_PAGE, PROT_NONE));

	/* Only argsz and flags readable. */
	p = m + PS_PAGE - 8;
	ioc_init(k, m, fd);
	memcpy(p, m, 8);
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, k->cmd, p));
	EXPECT_EQ(EFAULT, errno) TH_LOG("%s struct cut short: %s", k->name,
					strerror(errno));

	/* The whole struct readable, the tail that argsz claims is not. */
	p = m + PS_PAGE - k->size;
	ioc_init(k, m, fd);
	memmove(p, m, k->size);
	*(__u32 *)p = k->size + 16;
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, k->cmd, p));
	EXPECT_EQ(EFAULT, errno) TH_LOG("%s unreadable tail: %s", k->name,
					strerror(errno));

	/* Readable but not writable: the outputs cannot be stored. */
	ioc_init(k, m, fd);
	ASSERT_EQ(0, mprotect(m, PS_PAGE, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, k->cmd, m));
	EXPECT_EQ(EFAULT, errno) TH_LOG("%s read-only struct: %s", k->name,
					strerror(errno));
	munmap(m, 2 * PS_PAGE);
}

TEST_F(ioc, device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(PS_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(10, major(st.st_rdev)) TH_LOG("not a misc device");
}

TEST_F(ioc, api_version_features)
{
	struct pshare_api a;

	memset(&a, 0xa5, sizeof(a));
	a.argsz = sizeof(a);
	a.flags = 0;
	a.reserved = 0;
	ASSERT_EQ(0, ioctl(self->dev, PSHARE_IOC_API, &a))
		TH_LOG("PSHARE_IOC_API: %s", strerror(errno));
	EXPECT_EQ(PSHARE_API_VERSION, a.version);
	EXPECT_TRUE(a.features & PSHARE_FEATURE_REGION_STATS)
		TH_LOG("features %#llx", (unsigned long long)a.features);
	EXPECT_TRUE(a.features & PSHARE_FEATURE_REGION_USERS)
		TH_LOG("features %#llx", (unsigned long long)a.features);
	EXPECT_EQ(sizeof(a), a.argsz);
	EXPECT_EQ(0, a.flags);
	EXPECT_EQ(0, a.reserved);
	TH_LOG("api version %u features %#llx", a.version,
	       (unsigned long long)a.features);
}

/* Flips the argsz of a shared struct pshare_api until told to stop. */
struct ioc_flipper {
	volatile struct pshare_api *a;
	atomic_int stop;
};

static void *ioc_flip_main(void *arg)
{
	struct ioc_flipper *f = arg;

	while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
		f->a->argsz = 4;
		f->a->argsz = sizeof(struct pshare_api);
	}
	return NULL;
}

/*
 * argsz is read once: the size the kernel checked is the size it copies
 * the answer back with, even while another thread changes the field. Read
 * twice, a check passing on the full size and a copy-out sized by a later
 * read of 4 would answer "success" and leave the output fields unwritten.
 */
TEST_F_TIMEOUT(ioc, argsz_read_once, 300)
{
	static struct pshare_api shared;
	struct ioc_flipper f = { .a = &shared };
	unsigned long i, ok = 0, einval = 0, unwritten = 0;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, ioc_flip_main, &f));
	for (i = 0; i < 200000; i++) {
		shared.flags = 0;
		shared.reserved = 0;
		shared.version = 0;
		if (ioctl(self->dev, PSHARE_IOC_API, (void *)&shared) == 0) {
			ok++;
			if (shared.version != PSHARE_API_VERSION)
				unwritten++;
		} else if (errno == EINVAL) {
			einval++;
		} else {
			EXPECT_EQ(EINVAL, errno);
			break;
		}
	}
	atomic_store(&f.stop, 1);
	pthread_join(t, NULL);
	TH_LOG("%lu calls answered, %lu refused (argsz 4), %lu answered without their output",
	       ok, einval, unwritten);
	EXPECT_EQ(0, unwritten);
	EXPECT_LT(0, ok);
}

TEST_F(ioc, api_argument_errors)
{
	check_arg_errors(_metadata, self->dev, &api_kind, -1);
}

TEST_F(ioc, api_efault)
{
	check_efault(_metadata, self->dev, &api_kind, -1);
}

TEST_F(ioc, unknown_command_enotty)
{
	unsigned char buf[sizeof(struct pshare_region_stats) + TAIL];
	const unsigned long cmds[] = {
		_IO(PSHARE_IOCTL_MAGIC, 0x7f),
		_IO(PSHARE_IOCTL_MAGIC, 0xff),
		_IOWR(PSHARE_IOCTL_MAGIC, 0x00, struct pshare_api),
		_IO('X', 0x00),
	};
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ioc_init(&api_kind, buf, -1);
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->dev, cmds[i], buf));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx: %s", cmds[i],
						strerror(errno));
	}
}

/* Every field of a region with known contents. */
TEST_F(ioc, region_stats_fields)
{
	struct pshare_region_stats s;
	unsigned char *m;
	size_t i;
	int rofd;

	ASSERT_EQ(0, ftruncate(self->r.fd, 8 * PS_PAGE));
	ps_pwrite_page(_metadata, self->r.fd, 0, 1);
	ps_pwrite_page(_metadata, self->r.fd, 6, 2);
	m = mmap(NULL, 8 * PS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->r.fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0, ps_touch(m + 2 * PS_PAGE));
	EXPECT_EQ(0, ps_touch(m + 3 * PS_PAGE));
	EXPECT_EQ(0, ps_touch(m + 4 * PS_PAGE));
	m[3 * PS_PAGE] = 1;		/* one break away from the zero frame */
	munmap(m, 8 * PS_PAGE);

	/* Outputs pre-filled; reserved[] must come in zero, as the contract says. */
	memset(&s, 0, sizeof(s));
	memset(&s.size, 0xa5, offsetof(struct pshare_region_stats, reserved) -
			      offsetof(struct pshare_region_stats, size));
	s.argsz = sizeof(s);
	s.fd = self->r.fd;
	ASSERT_EQ(0, ioctl(self->dev, PSHARE_IOC_REGION_STATS, &s))
		TH_LOG("REGION_STATS: %s", strerror(errno));
	EXPECT_EQ(8 * PS_PAGE, s.size);
	EXPECT_EQ(3, s.pages_private);
	EXPECT_EQ(2, s.pages_zero);
	EXPECT_EQ(0, s.pages_shared);
	EXPECT_EQ(1, s.cow_breaks);
	for (i = 0; i < sizeof(s.reserved) / sizeof(s.reserved[0]); i++) {
		EXPECT_EQ(0, s.reserved[i]) TH_LOG("reserved[%zu] not zeroed", i);
	}
	EXPECT_EQ(sizeof(s), s.argsz);
	EXPECT_EQ(self->r.fd, s.fd);
	/* Unmapped now; the fixture's fd is the one open file. */
	EXPECT_EQ(0, s.mappings);
	EXPECT_EQ(1, s.files_open);

	/* An O_RDONLY region fd is enough. */
	rofd = open(self->r.path, O_RDONLY);
	ASSERT_LE(0, rofd);
	PS_STATS(self->dev, rofd, &s);
	EXPECT_EQ(3, s.pages_private);
	EXPECT_EQ(2, s.files_open);
	close(rofd);

	/* A mapping counts, and keeps its file open after close(). */
	rofd = open(self->r.path, O_RDONLY);
	ASSERT_LE(0, rofd);
	m = mmap(NULL, PS_PAGE, PROT_READ, MAP_SHARED, rofd, 0);
	ASSERT_NE(MAP_FAILED, m);
	close(rofd);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(1, s.mappings);
	EXPECT_EQ(2, s.files_open);
	munmap(m, PS_PAGE);
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(0, s.mappings);
	EXPECT_EQ(1, s.files_open);

	/* A caller of the first version gets nothing past its size. */
	memset(&s, 0xa5, sizeof(s));
	s.argsz = offsetof(struct pshare_region_stats, mappings);
	s.flags = 0;
	s.fd = self->r.fd;
	s.reserved0 = 0;
	memset(s.reserved, 0, sizeof(s.reserved));
	ASSERT_EQ(0, ioctl(self->dev, PSHARE_IOC_REGION_STATS, &s))
		TH_LOG("REGION_STATS, first-version size: %s", strerror(errno));
	EXPECT_EQ(3, s.pages_private);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, s.mappings);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, s.files_open);

	/* A fresh region is all zeros but its size. */
	ASSERT_EQ(0, ftruncate(self->r.fd, 0));
	PS_STATS(self->dev, self->r.fd, &s);
	EXPECT_EQ(0, s.size);
	EXPECT_EQ(0, s.pages_private);
	EXPECT_EQ(0, s.pages_zero);
}

TEST_F(ioc, region_stats_argument_errors)
{
	unsigned char buf[sizeof(struct pshare_region_stats) + TAIL];
	struct pshare_region_stats *st = (struct pshare_region_stats *)buf;

	check_arg_errors(_metadata, self->dev, &stats_kind, self->r.fd);

	/* The reserved[] room must be zero on input too. */
	ioc_init(&stats_kind, buf, self->r.fd);
	st->reserved[0] = 1;
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, EINVAL,
		       "reserved[0] nonzero");
	ioc_init(&stats_kind, buf, self->r.fd);
	st->reserved[sizeof(st->reserved) / sizeof(st->reserved[0]) - 1] = 1ULL << 63;
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, EINVAL,
		       "last reserved[] nonzero");
}

TEST_F(ioc, region_stats_efault)
{
	check_efault(_metadata, self->dev, &stats_kind, self->r.fd);
}

TEST_F(ioc, region_stats_ebadf)
{
	unsigned char buf[sizeof(struct pshare_region_stats) + TAIL];
	int fd;

	ioc_init(&stats_kind, buf, -1);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, EBADF, "fd -1");

	fd = dup(self->r.fd);
	ASSERT_LE(0, fd);
	close(fd);
	ioc_init(&stats_kind, buf, fd);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, EBADF, "closed fd");

	ioc_init(&stats_kind, buf, 1 << 20);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, EBADF, "fd 1<<20");
}

TEST_F(ioc, region_stats_enodev)
{
	unsigned char buf[sizeof(struct pshare_region_stats) + TAIL];
	char tmpf[] = "/tmp/pshare-ioctl.XXXXXX";
	int pfd[2], fd;

	ASSERT_EQ(0, pipe(pfd));
	ioc_init(&stats_kind, buf, pfd[0]);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, ENODEV, "pipe");
	close(pfd[0]);
	close(pfd[1]);

	fd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, fd);
	ioc_init(&stats_kind, buf, fd);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, ENODEV, "/dev/null");
	close(fd);

	fd = memfd_create("pshare-selftest", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, PS_PAGE));
	ioc_init(&stats_kind, buf, fd);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, ENODEV,
		       "tmpfs (memfd) file");
	close(fd);

	fd = mkstemp(tmpf);
	ASSERT_LE(0, fd);
	unlink(tmpf);
	ioc_init(&stats_kind, buf, fd);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, ENODEV,
		       "file in /tmp");
	close(fd);

	fd = open(ps_mnt(), O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, fd);
	ioc_init(&stats_kind, buf, fd);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, ENODEV,
		       "pshare root directory");
	close(fd);

	ioc_init(&stats_kind, buf, self->dev);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, ENODEV,
		       "/dev/pshare itself");
}

TEST_F(ioc, region_stats_wronly_eacces)
{
	unsigned char buf[sizeof(struct pshare_region_stats) + TAIL];
	int fd;

	fd = open(self->r.path, O_WRONLY);
	ASSERT_LE(0, fd);
	ioc_init(&stats_kind, buf, fd);
	ioc_expect_err(_metadata, self->dev, &stats_kind, buf, EACCES,
		       "O_WRONLY region fd");
	close(fd);
}

TEST_HARNESS_MAIN
