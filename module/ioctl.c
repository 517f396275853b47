// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl.c - /dev/pshare, the control device.
 */

/**
 * DOC: the control device
 *
 * Speaks the versioned interface of uapi/linux/pshare.h. A region is named
 * by an open file descriptor of its file, so whoever can open the region
 * file can ask about it, and nobody else can. The device itself is
 * root-only (mode 0600).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/uaccess.h>
#include <linux/pshare.h>

#include "ioctl.h"
#include "fs.h"
#include "paging.h"
#include "reclaim.h"
#include "region.h"
#include "sample.h"
#include "scan.h"

/* Largest argsz accepted: a struct may grow, but not without bound. */
#define PSHARE_ARGSZ_MAX	PAGE_SIZE

/*
 * pshare_copy_args - read an argsz-first struct from userspace
 * @karg:	kernel copy, @ksize bytes
 * @minsz:	size of the first version of the struct
 *
 * Bytes the caller passes beyond what this module knows must be zero;
 * bytes this module knows beyond what the caller passes read as zero.
 */
static int pshare_copy_args(void *karg, size_t ksize, size_t minsz,
			    const void __user *uarg)
{
	u32 argsz;
	int err;

	if (get_user(argsz, (const u32 __user *)uarg))
		return -EFAULT;
	if (argsz < minsz || argsz > PSHARE_ARGSZ_MAX)
		return -EINVAL;
	err = copy_struct_from_user(karg, ksize, uarg, argsz);
	if (err == -E2BIG)
		return -EINVAL;
	/*
	 * The copy read argsz again, and userspace may have changed it in
	 * between: keep the value that was checked.
	 */
	*(u32 *)karg = argsz;
	return err;
}

/* Copy the answer back, no more than the caller's argsz. */
static int pshare_copy_result(void __user *uarg, const void *karg,
			      size_t ksize, u32 argsz)
{
	return copy_to_user(uarg, karg, min_t(size_t, ksize, argsz)) ?
	       -EFAULT : 0;
}

static long pshare_ioctl_api(void __user *uarg)
{
	struct pshare_api api;
	int err;

	err = pshare_copy_args(&api, sizeof(api),
			       offsetofend(struct pshare_api, features), uarg);
	if (err)
		return err;
	if (api.flags || api.reserved)
		return -EINVAL;

	api.version = PSHARE_API_VERSION;
	api.features = PSHARE_FEATURE_REGION_STATS | PSHARE_FEATURE_ZERO_FRAME |
		       PSHARE_FEATURE_SHARING | PSHARE_FEATURE_DOMAINS |
		       PSHARE_FEATURE_POLICY | PSHARE_FEATURE_SAMPLING |
		       PSHARE_FEATURE_PAGING | PSHARE_FEATURE_NOSHARE |
		       PSHARE_FEATURE_REGION_USERS;
	return pshare_copy_result(uarg, &api, sizeof(api), api.argsz);
}

/*
 * pshare_region_fget - the region file an fd names, referenced (fput())
 * @mode: FMODE_READ to read its state, FMODE_WRITE to change its policy
 *
 * The fd is the capability: whoever could open the file that way may act.
 * A plain file reference, not fdget(): struct fd changed in 6.12, and this
 * path is not hot enough to want its shortcut.
 */
static struct file *pshare_region_fget(int fd, fmode_t mode)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (!pshare_is_region_file(file)) {
		fput(file);
		return ERR_PTR(-ENODEV);
	}
	if ((file->f_mode & mode) != mode) {
		fput(file);
		return ERR_PTR(-EACCES);
	}
	return file;
}

/* Every region ioctl's struct starts with these (checked below). */
struct pshare_region_arg_head {
	u32 argsz;
	u32 flags;
	s32 fd;
};

#define PSHARE_ASSERT_HEAD(type)					\
	static_assert(offsetof(type, argsz) == 0 &&			\
		      offsetof(type, flags) == 4 &&			\
		      offsetof(type, fd) == 8)
PSHARE_ASSERT_HEAD(struct pshare_region_stats);
PSHARE_ASSERT_HEAD(struct pshare_region_domain);
PSHARE_ASSERT_HEAD(struct pshare_region_policy);
PSHARE_ASSERT_HEAD(struct pshare_region_backing);

union pshare_region_args {
	struct pshare_region_arg_head head;
	struct pshare_region_stats stats;
	struct pshare_region_domain domain;
	struct pshare_region_policy policy;
	struct pshare_region_backing backing;
};

/**
 * struct pshare_region_op - an ioctl that acts on the region an fd names
 * @size:	size of its struct
 * @minsz:	size of the first version of the struct
 * @flags:	the flag bits it knows; others are refused with -EINVAL
 * @mode:	how the region fd must be open: FMODE_READ to read the
 *		region's state, FMODE_WRITE to change it
 * @valid:	checks the other input fields (reserved ones are zero), or
 *		NULL; false is -EINVAL
 * @run:	the operation, with the region held through its fd
 * @copy_out:	the struct goes back to the caller on success
 *
 * Errors come in a fixed order: the struct (-EFAULT, -EINVAL), then the
 * fd (-EBADF, -ENODEV, -EACCES), then the operation's own.
 */
struct pshare_region_op {
	size_t size;
	size_t minsz;
	u32 flags;
	fmode_t mode;
	bool (*valid)(const union pshare_region_args *arg);
	int (*run)(struct pshare_region *r, union pshare_region_args *arg);
	bool copy_out;
};

static long pshare_region_ioctl(const struct pshare_region_op *op,
				void __user *uarg)
{
	union pshare_region_args arg;
	struct file *file;
	int err;

	err = pshare_copy_args(&arg, op->size, op->minsz, uarg);
	if (err)
		return err;
	if ((arg.head.flags & ~op->flags) || (op->valid && !op->valid(&arg)))
		return -EINVAL;

	file = pshare_region_fget(arg.head.fd, op->mode);
	if (IS_ERR(file))
		return PTR_ERR(file);
	err = op->run(pshare_region(file_inode(file)), &arg);
	if (!err && op->copy_out)
		err = pshare_copy_result(uarg, &arg, op->size, arg.head.argsz);
	fput(file);
	return err;
}

static bool pshare_stats_valid(const union pshare_region_args *arg)
{
	const struct pshare_region_stats *st = &arg->stats;

	return !st->reserved0 && !memchr_inv(st->reserved, 0,
					     sizeof(st->reserved));
}

static int pshare_stats_run(struct pshare_region *r,
			    union pshare_region_args *arg)
{
	pshare_region_snapshot(r, &arg->stats);
	return 0;
}

static const struct pshare_region_op pshare_op_stats = {
	.size		= sizeof(struct pshare_region_stats),
	.minsz		= offsetofend(struct pshare_region_stats, reserved),
	.mode		= FMODE_READ,
	.valid		= pshare_stats_valid,
	.run		= pshare_stats_run,
	.copy_out	= true,
};

static int pshare_set_domain_run(struct pshare_region *r,
				 union pshare_region_args *arg)
{
	return pshare_region_set_domain(r, arg->domain.domain);
}

static const struct pshare_region_op pshare_op_set_domain = {
	.size		= sizeof(struct pshare_region_domain),
	.minsz		= offsetofend(struct pshare_region_domain, domain),
	.mode		= FMODE_WRITE,
	.run		= pshare_set_domain_run,
};

static bool pshare_set_policy_valid(const union pshare_region_args *arg)
{
	return !arg->policy.reserved;
}

static int pshare_set_policy_run(struct pshare_region *r,
				 union pshare_region_args *arg)
{
	const struct pshare_region_policy *p = &arg->policy;

	return pshare_region_set_policy(r, p->flags, p->shares, p->min_pages,
					p->max_pages);
}

static const struct pshare_region_op pshare_op_set_policy = {
	.size		= sizeof(struct pshare_region_policy),
	.minsz		= offsetofend(struct pshare_region_policy, max_pages),
	.flags		= PSHARE_POLICY_SHARES | PSHARE_POLICY_MIN |
			  PSHARE_POLICY_MAX,
	.mode		= FMODE_WRITE,
	.valid		= pshare_set_policy_valid,
	.run		= pshare_set_policy_run,
};

static int pshare_set_backing_run(struct pshare_region *r,
				  union pshare_region_args *arg)
{
	int err = pshare_region_set_backing(r, arg->backing.backing_fd);

	/* A region that may page now may have to. */
	if (!err)
		pshare_reclaim_kick();
	return err;
}

static const struct pshare_region_op pshare_op_set_backing = {
	.size		= sizeof(struct pshare_region_backing),
	.minsz		= offsetofend(struct pshare_region_backing, backing_fd),
	.mode		= FMODE_WRITE,
	.run		= pshare_set_backing_run,
};

static long pshare_dev_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case PSHARE_IOC_API:
		return pshare_ioctl_api(uarg);
	case PSHARE_IOC_REGION_STATS:
		return pshare_region_ioctl(&pshare_op_stats, uarg);
	case PSHARE_IOC_REGION_SET_DOMAIN:
		return pshare_region_ioctl(&pshare_op_set_domain, uarg);
	case PSHARE_IOC_REGION_SET_POLICY:
		return pshare_region_ioctl(&pshare_op_set_policy, uarg);
	case PSHARE_IOC_REGION_SET_BACKING:
		return pshare_region_ioctl(&pshare_op_set_backing, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations pshare_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= pshare_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice pshare_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "pshare",
	.fops	= &pshare_dev_fops,
	.mode	= 0600,
};

int pshare_dev_init(void)
{
	return misc_register(&pshare_miscdev);
}

void pshare_dev_exit(void)
{
	misc_deregister(&pshare_miscdev);
}
