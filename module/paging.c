// SPDX-License-Identifier: GPL-2.0
/*
 * paging.c - pshare's own paging: the last resort of reclaim.
 */

/**
 * DOC: paging to a backing file
 *
 * When sharing and the balloon have not brought a region down to its
 * target, pshare writes some of its pages to a backing file that the
 * administrator gave the region (PSHARE_IOC_REGION_SET_BACKING) and frees
 * their frames, as ESX pages a VM to its swap file (section 3 of the
 * paper). The page's content lives at the same offset in the backing file
 * as in the region; its pmap entry becomes a paged entry, and the
 * next access (fault, read(2), write(2)) reads it back into a new frame.
 *
 * Victims: pages the sampler saw touched lately (PSHARE_MARK_ACTIVE) go
 * last; shared and zero-mapped pages are never paged (they cost little).
 *
 * Locking: r->paging_lock serializes page-out rounds with changes of the
 * backing file; r->backing_lock guards the pointer for page-in, which
 * takes a reference and reads without a lock of its own, since it runs in
 * the fault path under mmap_lock (or the VMA's lock, compat.h). Page-out
 * copies a victim to a bounce page under its page lock and writes the copy
 * with no frame locked: the backing file's own locks (i_rwsem) are taken
 * under mmap_lock by anyone who write(2)s it from a mapped buffer, so they
 * must never nest inside a frame lock. The frame is freed only if, locked
 * again, it is still isolated and unchanged. An entry moves from paged to
 * a frame by cmpxchg, so concurrent page-ins and truncation account a page
 * once, and each page-out stores a paged entry of a new generation, so a
 * page-in whose entry went out again while it read cannot install a stale
 * copy (pshare_paged_entry()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/pshare.h>

#include "frame.h"
#include "paging.h"
#include "region.h"
#include "trace.h"

/* Compare a frame with a buffer of PAGE_SIZE bytes. */
static int pshare_page_cmp_buf(struct page *page, const void *buf)
{
	void *addr = kmap_local_page(page);
	int diff = memcmp(addr, buf, PAGE_SIZE);

	kunmap_local(addr);
	return diff;
}

/* Does a region other than @r page to @inode? Caller holds pshare_regions_lock. */
static bool pshare_backing_in_use(struct pshare_region *r, struct inode *inode)
{
	struct pshare_region *o;
	bool used = false;

	lockdep_assert_held(&pshare_regions_lock);
	list_for_each_entry(o, &pshare_regions, node) {
		if (o == r)
			continue;
		spin_lock(&o->backing_lock);
		used = o->backing && file_inode(o->backing) == inode;
		spin_unlock(&o->backing_lock);
		if (used)
			break;
	}
	return used;
}

/**
 * pshare_region_set_backing - give a region a file to page out to
 * @r: the region
 * @fd: an open regular file, readable and writable, or -1 for none
 *
 * Refused: -EBADF (@fd not open, or not open for both reading and
 * writing), -EISDIR (a directory), -EINVAL (not a regular file, a pshare
 * file, or opened O_APPEND), -EBUSY (pages are out in the current one).
 */
int pshare_region_set_backing(struct pshare_region *r, int fd)
{
	struct file *file = NULL;
	int err = 0;

	if (fd >= 0) {
		struct inode *inode;

		file = fget(fd);
		if (!file)
			return -EBADF;
		inode = file_inode(file);
		if (S_ISDIR(inode->i_mode))
			err = -EISDIR;
		else if (!S_ISREG(inode->i_mode) ||
			 inode->i_sb->s_magic == PSHARE_FS_MAGIC ||
			 (file->f_flags & O_APPEND))
			err = -EINVAL;
		else if ((file->f_mode & (FMODE_READ | FMODE_WRITE)) !=
			 (FMODE_READ | FMODE_WRITE))
			err = -EBADF;
		else if (!(file->f_mode & FMODE_CAN_READ) ||
			 !(file->f_mode & FMODE_CAN_WRITE))
			err = -EINVAL;
		if (err) {
			fput(file);
			return err;
		}
	} else if (fd != -1) {
		return -EBADF;
	}

	/* pshare_regions_lock: no two regions may page to one file. */
	mutex_lock(&pshare_regions_lock);
	mutex_lock(&r->paging_lock);
	if (atomic_long_read(&r->pages_paged) ||
	    (file && pshare_backing_in_use(r, file_inode(file)))) {
		err = -EBUSY;
	} else {
		spin_lock(&r->backing_lock);
		swap(r->backing, file);
		spin_unlock(&r->backing_lock);
	}
	mutex_unlock(&r->paging_lock);
	mutex_unlock(&pshare_regions_lock);
	/* The old backing file, or the refused new one. */
	if (file)
		fput(file);
	return err;
}

/* The region is going away: nothing is paged out any more. */
void pshare_region_drop_backing(struct pshare_region *r)
{
	WARN_ON_ONCE(atomic_long_read(&r->pages_paged));
	if (r->backing)
		fput(r->backing);
	r->backing = NULL;
}

/* debugfs pagein_delay_ms: a one-shot sleep inside the next page-in. */
atomic_t pshare_pagein_delay_ms = ATOMIC_INIT(0);

/**
 * pshare_page_in - read paged-out @ppn back into a new frame
 * @r: the region
 * @ppn: a PPN that was paged out
 *
 * Returns the frame locked and referenced, NULL when the entry is no
 * longer paged out (look again), or ERR_PTR(-ENOMEM or -EIO).
 */
struct page *pshare_page_in(struct pshare_region *r, pgoff_t ppn)
{
	loff_t pos = (loff_t)ppn << PAGE_SHIFT;
	struct file *backing;
	struct page *page;
	void *addr, *entry;
	ssize_t n;

	/*
	 * The entry first, then the backing file, with the entry checked
	 * again under backing_lock: while this entry is in the pmap, pages
	 * are out (pages_paged > 0) and the backing file cannot be replaced,
	 * so the file taken is the one it was written to. Taken the other way
	 * round, the page could be read in, the file replaced and the page
	 * written out to the new one between the two, and the old file's
	 * stale copy would pass the cmpxchg below.
	 */
	entry = xa_load(&r->pmap, ppn);
	if (!pshare_entry_paged(entry))
		return NULL;
	if (unlikely(atomic_read(&pshare_pagein_delay_ms)))
		msleep(atomic_xchg(&pshare_pagein_delay_ms, 0));
	spin_lock(&r->backing_lock);
	backing = NULL;
	if (xa_load(&r->pmap, ppn) == entry && r->backing)
		backing = get_file(r->backing);
	spin_unlock(&r->backing_lock);
	if (!backing) {
		/* Read back (or removed) meanwhile: look again. */
		if (xa_load(&r->pmap, ppn) != entry)
			return NULL;
		WARN_ON_ONCE(1);
		return ERR_PTR(-EIO);
	}
	page = pshare_frame_alloc(NULL);
	if (!page) {
		page = ERR_PTR(-ENOMEM);
		goto out;
	}
	addr = kmap_local_page(page);
	n = kernel_read(backing, addr, PAGE_SIZE, &pos);
	kunmap_local(addr);
	/*
	 * Page-out wrote the whole page: a short read means the file was
	 * cut behind pshare's back. Zeros would be silent corruption.
	 */
	if (n >= 0 && n < PAGE_SIZE)
		n = -EIO;
	if (n < 0) {
		/*
		 * The data is still in the backing file. A shortage of memory
		 * on the way to it (a disk file's page cache, a network
		 * filesystem's buffers) is worth a retry: -ENOMEM makes read(2)
		 * fail with ENOMEM and a fault return VM_FAULT_OOM, which is
		 * retried. Anything else is an I/O error: SIGBUS for a fault.
		 */
		if (n != -ENOMEM)
			pr_warn_ratelimited("page-in of region %u page %lu failed: %zd\n",
					    r->id, ppn, n);
		pshare_frame_discard(page);
		page = ERR_PTR(n == -ENOMEM ? -ENOMEM : -EIO);
		goto out;
	}
	if (xa_cmpxchg(&r->pmap, ppn, entry, page, GFP_KERNEL) != entry) {
		/*
		 * Read back by another fault, or truncated, meanwhile; or
		 * read back, changed and paged out again: then what was read
		 * here is stale, and the entry's generation tells.
		 */
		pshare_frame_discard(page);
		page = NULL;
		goto out;
	}
	pshare_account_move(r, PSHARE_COUNT_PAGED, PSHARE_COUNT_PRIVATE);
	atomic_long_inc(&r->paged_in);
	atomic_long_inc(&pshare_stats.paged_in);
	trace_pshare_page_in(r, ppn);
out:
	fput(backing);
	return page;
}

/*
 * A victim: a private frame that nothing but the pmap maps or holds, of a
 * PPN no mlock()ed mapping covers.
 */
static struct page *pshare_victim_lock(struct pshare_region *r, pgoff_t ppn)
{
	struct page *page;

	if (pshare_ppn_mlocked(r, ppn))
		return NULL;
	page = pshare_frame_lock(r, ppn);
	if (!page)
		return NULL;
	if (pshare_is_zero(page) || pshare_frame_shared(page) ||
	    pshare_pmap_isolate(r, ppn, page)) {
		unlock_page(page);
		put_page(page);
		return NULL;
	}
	return page;
}

/*
 * Write @ppn's private frame out and free it. Caller holds paging_lock.
 * Returns 1 when a frame was freed, 0 when the page was not a candidate
 * or changed while it was written, or an error from the backing file.
 */
static int pshare_page_out_one(struct pshare_region *r, pgoff_t ppn,
			       void *bounce)
{
	loff_t pos = (loff_t)ppn << PAGE_SHIFT;
	struct page *page;
	bool same;
	ssize_t n;
	int ret = 0;

	lockdep_assert_held(&r->paging_lock);
	page = pshare_victim_lock(r, ppn);
	if (!page)
		return 0;
	memcpy_from_page(bounce, page, 0, PAGE_SIZE);
	unlock_page(page);
	put_page(page);

	n = kernel_write(r->backing, bounce, PAGE_SIZE, &pos);
	if (n != PAGE_SIZE)
		return n < 0 ? n : -EIO;

	/* Free the frame only if what was written is still its content. */
	page = pshare_victim_lock(r, ppn);
	if (!page)
		return 0;
	same = !pshare_page_cmp_buf(page, bounce);
	if (!same)
		goto out;
	/* Replacing a present entry allocates nothing. */
	xa_store(&r->pmap, ppn, pshare_paged_entry(++r->paged_gen), GFP_NOWAIT);
	pshare_frame_unuse(r, page, PSHARE_COUNT_PAGED);
	put_page(page);		/* the pmap's reference */
	atomic_long_inc(&r->paged_out);
	atomic_long_inc(&pshare_stats.paged_out);
	trace_pshare_page_out(r, ppn);
	ret = 1;
out:
	unlock_page(page);
	put_page(page);
	return ret;
}

/**
 * pshare_page_out - page out up to @nr private frames of @r
 * @r: the region
 * @nr: frames wanted
 *
 * Walks the pmap from where it stopped last time, first skipping pages
 * touched lately, then taking any. Returns the frames freed, or an error
 * when there is no backing file or it fails before anything was freed.
 */
long pshare_page_out(struct pshare_region *r, long nr)
{
	long done = 0;
	int pass, err = 0;
	void *bounce;

	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	mutex_lock(&r->paging_lock);
	if (!r->backing) {
		err = -ENOSPC;
		goto out;
	}
	for (pass = 0; pass < 2 && done < nr && !err; pass++) {
		pgoff_t start = r->reclaim_cursor, ppn;
		bool wrapped = false;
		void *entry;

		ppn = start;
		for (;;) {
			entry = xa_find(&r->pmap, &ppn, ULONG_MAX, XA_PRESENT);
			if (!entry) {
				if (wrapped || !start)
					break;
				wrapped = true;
				ppn = 0;
				continue;
			}
			if (wrapped && ppn >= start)
				break;
			if (!xa_is_value(entry) &&
			    (pass || !xa_get_mark(&r->pmap, ppn,
						  PSHARE_MARK_ACTIVE))) {
				int ret = pshare_page_out_one(r, ppn, bounce);

				if (ret < 0) {
					err = ret;
					break;
				}
				done += ret;
			}
			r->reclaim_cursor = ++ppn;
			if (done >= nr || fatal_signal_pending(current))
				break;
			cond_resched();
		}
	}
out:
	mutex_unlock(&r->paging_lock);
	kfree(bounce);
	return done ? done : err;
}
