// SPDX-License-Identifier: GPL-2.0
/*
 * pin_test.c - /dev/pshare_pin (pshare_pin.ko), a test helper.
 *
 * Lets the selftests take long-term pins of user memory as RDMA or VFIO
 * would (pin_user_pages_fast() with FOLL_LONGTERM, read-only or writable),
 * and read or write the pinned pages as the device's DMA would, so that
 * they can check what a pinned page of a pshare mapping shows after the
 * guest writes to it. pin_test.h is the interface. Built only when
 * PSHARE_TEST_MODULES=y is passed to kbuild (scripts/build.sh does), so
 * `make install` and DKMS never build or install it.
 *
 * The device is root-only. A pin is not charged to RLIMIT_MEMLOCK as an
 * RDMA driver would charge it: it is bounded per open file instead
 * (PSHARE_PIN_MAX_PAGES).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pin_test.h"

/**
 * struct pshare_pin - what one open file of /dev/pshare_pin holds
 * @lock:	serializes PIN, UNPIN, read() and write() on this file
 * @pages:	the pinned pages, NULL while nothing is pinned
 * @npages:	number of pages in @pages (0 while nothing is pinned)
 * @writable:	pinned with FOLL_WRITE: write() is allowed, and the pages
 *		are marked dirty when they are unpinned
 */
struct pshare_pin {
	struct mutex lock;
	struct page **pages;
	unsigned long npages;
	bool writable;
};

/* Drop @pin's pages, if any. Caller must hold pin->lock. */
static void pshare_pin_release_pages(struct pshare_pin *pin)
{
	lockdep_assert_held(&pin->lock);
	if (!pin->pages)
		return;
	unpin_user_pages_dirty_lock(pin->pages, pin->npages, pin->writable);
	kvfree(pin->pages);
	pin->pages = NULL;
	pin->npages = 0;
	pin->writable = false;
}

static long pshare_pin_pin(struct pshare_pin *pin,
			   const struct pshare_pin_args __user *uarg)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	struct pshare_pin_args args;
	struct page **pages;
	unsigned long n;
	long err = 0;
	int pinned;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if ((args.flags & ~PSHARE_PIN_WRITE) || args.reserved)
		return -EINVAL;
	if (!args.len || !PAGE_ALIGNED(args.addr) || !PAGE_ALIGNED(args.len) ||
	    args.len > (u64)PSHARE_PIN_MAX_PAGES << PAGE_SHIFT ||
	    args.addr > ULONG_MAX - args.len)
		return -EINVAL;
	n = args.len >> PAGE_SHIFT;
	if (args.flags & PSHARE_PIN_WRITE)
		gup_flags |= FOLL_WRITE;

	pages = kvcalloc(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	mutex_lock(&pin->lock);
	if (pin->pages) {
		err = -EBUSY;
		goto out;
	}
	pinned = pin_user_pages_fast(args.addr, n, gup_flags, pages);
	if (pinned < 0) {
		err = pinned;
		goto out;
	}
	if ((unsigned long)pinned != n) {
		/* A device needs all of its range: undo a partial pin. */
		unpin_user_pages(pages, pinned);
		err = -EFAULT;
		goto out;
	}
	pin->pages = pages;
	pin->npages = n;
	pin->writable = args.flags & PSHARE_PIN_WRITE;
	pages = NULL;
out:
	mutex_unlock(&pin->lock);
	kvfree(pages);
	return err;
}

static long pshare_pin_unpin(struct pshare_pin *pin)
{
	long err = 0;

	mutex_lock(&pin->lock);
	if (pin->pages)
		pshare_pin_release_pages(pin);
	else
		err = -ENXIO;
	mutex_unlock(&pin->lock);
	return err;
}

static long pshare_pin_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct pshare_pin *pin = file->private_data;

	switch (cmd) {
	case PSHARE_PIN_IOC_PIN:
		return pshare_pin_pin(pin, (const void __user *)arg);
	case PSHARE_PIN_IOC_UNPIN:
		return pshare_pin_unpin(pin);
	default:
		return -ENOTTY;
	}
}

/*
 * pshare_pin_copy - copy between the pinned pages and a user buffer
 * @pin:	the file's pin; caller must hold pin->lock
 * @dst:	user buffer to copy the pages to (read()), or NULL
 * @src:	user buffer to copy into the pages (write()), or NULL
 * @count:	bytes to copy, all within the pinned range
 * @pos:	offset into the pinned range
 *
 * Exactly one of @dst and @src is set. Returns the bytes copied, or
 * -EFAULT when not even the first could be.
 */
static ssize_t pshare_pin_copy(struct pshare_pin *pin, char __user *dst,
			       const char __user *src, size_t count, loff_t pos)
{
	size_t done = 0;

	lockdep_assert_held(&pin->lock);
	while (done < count) {
		struct page *page = pin->pages[pos >> PAGE_SHIFT];
		size_t off = offset_in_page(pos);
		size_t chunk = min_t(size_t, count - done, PAGE_SIZE - off);
		unsigned long left;
		char *kaddr;

		kaddr = kmap_local_page(page);
		if (src) {
			left = copy_from_user(kaddr + off, src + done, chunk);
			flush_dcache_page(page);
		} else {
			left = copy_to_user(dst + done, kaddr + off, chunk);
		}
		kunmap_local(kaddr);
		done += chunk - left;
		pos += chunk - left;
		if (left)
			break;
	}
	return done ? done : -EFAULT;
}

/*
 * The common part of read() (@dst set) and write() (@src set): check the
 * pin and the offset, bound @count by the pinned range, copy, and move
 * *@ppos on.
 */
static ssize_t pshare_pin_rw(struct file *file, char __user *dst,
			     const char __user *src, size_t count, loff_t *ppos)
{
	struct pshare_pin *pin = file->private_data;
	loff_t pos = *ppos;
	ssize_t ret;
	u64 len;

	if (pos < 0)
		return -EINVAL;
	mutex_lock(&pin->lock);
	if (!pin->pages) {
		ret = -ENXIO;
		goto out;
	}
	if (src && !pin->writable) {
		ret = -EPERM;
		goto out;
	}
	len = (u64)pin->npages << PAGE_SHIFT;
	if (pos >= len) {
		ret = src ? -ENOSPC : 0;
		goto out;
	}
	count = min_t(u64, count, len - pos);
	ret = count ? pshare_pin_copy(pin, dst, src, count, pos) : 0;
	if (ret > 0)
		*ppos = pos + ret;
out:
	mutex_unlock(&pin->lock);
	return ret;
}

static ssize_t pshare_pin_read(struct file *file, char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	return pshare_pin_rw(file, ubuf, NULL, count, ppos);
}

static ssize_t pshare_pin_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	return pshare_pin_rw(file, NULL, ubuf, count, ppos);
}

static int pshare_pin_open(struct inode *inode, struct file *file)
{
	struct pshare_pin *pin;

	pin = kzalloc(sizeof(*pin), GFP_KERNEL);
	if (!pin)
		return -ENOMEM;
	mutex_init(&pin->lock);
	file->private_data = pin;
	return 0;
}

static int pshare_pin_release(struct inode *inode, struct file *file)
{
	struct pshare_pin *pin = file->private_data;

	/* The last reference to the file: nobody else can hold the lock. */
	mutex_lock(&pin->lock);
	pshare_pin_release_pages(pin);
	mutex_unlock(&pin->lock);
	mutex_destroy(&pin->lock);
	kfree(pin);
	return 0;
}

static const struct file_operations pshare_pin_fops = {
	.owner		= THIS_MODULE,
	.open		= pshare_pin_open,
	.release	= pshare_pin_release,
	.read		= pshare_pin_read,
	.write		= pshare_pin_write,
	.unlocked_ioctl	= pshare_pin_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= default_llseek,
};

static struct miscdevice pshare_pin_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "pshare_pin",
	.fops	= &pshare_pin_fops,
	.mode	= 0600,
};

static int __init pshare_pin_init(void)
{
	return misc_register(&pshare_pin_miscdev);
}

static void __exit pshare_pin_exit(void)
{
	misc_deregister(&pshare_pin_miscdev);
}

module_init(pshare_pin_init);
module_exit(pshare_pin_exit);

MODULE_DESCRIPTION("pshare test helper: long-term pins of user memory, as RDMA or VFIO take them");
MODULE_AUTHOR("The pshare developers");
MODULE_LICENSE("GPL");
