// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's ioctls on /dev/pshare: every command number, known and
 * unknown, with random argument structs and descriptors of every kind, each
 * result checked against the rules of uapi.rst.
 *
 * Part of pshare_fuzz.c, which includes it (see pshare_fuzz.h).
 */
#include "pshare_fuzz.h"

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

/* The size of each struct's first version: argsz below it is EINVAL. */
static const size_t fz_cmd_minsz[C_NCMDS] = {
	sizeof(struct pshare_api), offsetof(struct pshare_region_stats, mappings),
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
			argsz = below(t, fz_cmd_minsz[c]);	/* too small */
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
	} else if (argsz < fz_cmd_minsz[c] || argsz > 4096) {
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
		ps_fail(&t->fail, "ioctl %#lx returned %ld", cmd, ret);
		return;
	}
	if ((size_t)got < sizeof(fz.ioctl_err) / sizeof(fz.ioctl_err[0]))
		atomic_fetch_add(&fz.ioctl_err[got], 1);

	if (got != expect && !(busy_ok && got == EBUSY) &&
	    !(inval_ok && got == EINVAL)) {
		ps_fail(&t->fail, "ioctl %#lx (command %d, argsz %zu, fd kind %d, backing kind %d, arg %s): %s, expected %s",
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
			ps_fail(&t->fail, "ioctl %#lx failed (%s) but changed its argument",
			     cmd, strerror(got));
		return;
	}
	/* Success: nothing written past the module's struct or argsz. */
	off = (arg - buf) + (argsz < ksize ? argsz : ksize);
	if (memcmp(before + off, buf + off, ARGBUF - off))
		ps_fail(&t->fail, "ioctl %#lx wrote beyond its struct (argsz %zu)", cmd, argsz);
	else if (c == C_API && ((struct pshare_api *)arg)->version != PSHARE_API_VERSION)
		ps_fail(&t->fail, "PSHARE_IOC_API: version %u", ((struct pshare_api *)arg)->version);
}
