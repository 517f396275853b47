// SPDX-License-Identifier: GPL-2.0
/*
 * pmap.c - the page-fault path and the updates of a region's pmap.
 */

/**
 * DOC: pmap
 *
 * A region's pmap maps a guest "physical" page number (PPN, the file
 * offset in pages) to the frame that holds its content, the way ESX's pmap
 * maps guest physical pages to machine pages. Frames are pages allocated by
 * pshare itself: they are not in the page cache and not on the LRU, so the
 * kernel never reclaims or migrates them behind pshare's back.
 *
 * A PPN is in one of three states:
 *
 * 1) a hole: no entry; it reads as zeros and costs nothing;
 * 2) zero-mapped: PSHARE_ZERO_ENTRY, mapped read-only to the one zero frame;
 *    a read fault on a hole puts it there, so untouched guest RAM that the
 *    guest only reads still costs nothing;
 * 3) backed by a frame: the entry is the frame's struct page, and the pmap
 *    holds one page reference per PPN that uses the frame. page->private
 *    counts those PPNs; a frame used by more than one PPN, like the zero
 *    frame, is never written in place: a write breaks copy-on-write first.
 *
 * Every shared mapping of a region has ->page_mkwrite, so the core maps
 * pages read-only and each first write through a PTE (from the CPU, from
 * GUP with FOLL_WRITE as KVM and O_DIRECT do) reaches pshare_page_mkwrite(),
 * where a frame that is not private to the PPN is copied first.
 *
 * Changing a PPN's entry follows one protocol everywhere:
 *
 * 1) lock the frame the entry points at (the zero frame for a zero entry),
 *    and recheck that the entry still points at it;
 * 2) store the new entry and update the counters;
 * 3) unmap_mapping_pages() for the PPN, so no PTE keeps the old frame;
 * 4) unlock the old frame, then drop the pmap's reference to it.
 *
 * The fault path returns its frame locked (VM_FAULT_LOCKED) and the core
 * installs the PTE before unlocking it, so a PTE is only ever installed for
 * a frame that is the PPN's entry at that moment: an update either happens
 * before the fault locks the frame (the fault sees the new entry and
 * retries) or after the PTE is in place (step 3 removes it).
 *
 * The zero frame is every zero entry's frame, in every region: its lock is
 * never held across an allocation, an unmap or I/O. A zero entry changes
 * by a cmpxchg made under that lock (which orders it after every PTE that
 * a fault is installing), and the unmap follows after the unlock: new
 * frames are allocated and cleared, xarray nodes allocated (xas_nomem()),
 * before the lock is taken. Removing zero entries takes it once per range.
 * A shared frame is copied with its lock dropped (its content cannot change
 * while it has other users) and the entry rechecked under the lock.
 *
 * Lock ordering (the one list for the whole module):
 *
 *   pshare_scan_mutex, pshare_reclaim_mutex
 *                                        (workers; outermost)
 *     pshare_regions_walk                (rwsem, region.c: read while a
 *                                         worker holds region references;
 *                                         write only by umount's drain,
 *                                         holding nothing else)
 *       pshare_regions_lock              (region list; set_backing holds it
 *                                         around paging_lock)
 *         r->paging_lock                 (page-out rounds, backing changes;
 *                                         the backing file's own locks are
 *                                         taken under it, never under a
 *                                         frame lock)
 *           r->backing_lock              (spinlock: the backing pointer)
 *   inode->i_rwsem                       (write(2), truncate, fallocate)
 *     mm->mmap_lock                      (faults, or the VMA's lock: compat.h;
 *                                         write(2) faulting in its buffer)
 *       mapping->invalidate_lock         (shared: faults, write(2), mkwrite,
 *                                         unmerge; exclusive: truncate, punch)
 *         frame page lock                (lock_page(): guards the pmap entries
 *                                         that point at the frame; only the
 *                                         scanner holds two: candidate first;
 *                                         a new frame in no pmap yet may be
 *                                         held while taking one, as nobody
 *                                         can wait for it; lockdep sees it
 *                                         through pshare_frame_lockdep)
 *           mapping->i_mmap_rwsem        (unmap_mapping_pages())
 *             KVM's mmu_lock             (through the MMU notifier)
 *           pshare_table.lock            (the sharing hash table)
 *           pmap xa_lock                 (also the sampling marks)
 *
 * Page-in reads the backing file holding no frame lock, only a file
 * reference: a fault's first try does it with mmap_lock (or the VMA lock)
 * and invalidate_lock dropped and asks the core to retry
 * (pshare_fault_page_in_unlocked()); read(2) and later tries do it under
 * invalidate_lock (shared). write(2) faults its source buffer in before it takes
 * invalidate_lock and copies with page faults disabled, so it never takes
 * mmap_lock below invalidate_lock; read(2) copies out holding only page
 * references.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/rbtree.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>

#include "frame.h"
#include "paging.h"
#include "pmap.h"
#include "region.h"
#include "sample.h"
#include "share.h"
#include "trace.h"

/* ----------------------------------------------------------------------
 * Entry lookup
 * ----------------------------------------------------------------------
 */

/*
 * pshare_entry_get - the frame of @ppn with a reference, not locked
 *
 * Returns NULL for a hole or a zero entry: both read as zeros. A paged-out
 * page is read back first. The entry may change as soon as this returns;
 * readers that only copy data out need no more than the reference.
 */
static struct page *pshare_entry_get(struct pshare_region *r, pgoff_t ppn)
{
	struct page *page;
	void *entry;

	rcu_read_lock();
	for (;;) {
		entry = xa_load(&r->pmap, ppn);
		if (!entry || entry == PSHARE_ZERO_ENTRY) {
			page = NULL;
			break;
		}
		if (pshare_entry_paged(entry)) {
			rcu_read_unlock();
			page = pshare_entry_lock(r, ppn);
			if (!IS_ERR_OR_NULL(page))
				unlock_page(page);
			return page;
		}
		page = entry;
		if (!get_page_unless_zero(page))
			continue;
		/* The frame may have been freed and reused before the get. */
		if (xa_load(&r->pmap, ppn) == entry)
			break;
		put_page(page);
	}
	rcu_read_unlock();
	return page;
}

/*
 * pshare_entry_lock - the frame of @ppn, referenced and locked, a paged-out
 * page read back first
 *
 * Returns NULL for a hole, or an ERR_PTR when reading back failed. A zero
 * entry returns the zero frame. Under the page lock the entry is known to
 * still point at the returned frame.
 */
struct page *pshare_entry_lock(struct pshare_region *r, pgoff_t ppn)
{
	struct page *page;
	void *entry;

	for (;;) {
		page = pshare_frame_lock(r, ppn);
		if (page)
			return page;
		entry = xa_load(&r->pmap, ppn);
		if (!entry)
			return NULL;
		if (pshare_entry_paged(entry)) {
			page = pshare_page_in(r, ppn);
			if (page)
				return page;
		}
	}
}

/* ----------------------------------------------------------------------
 * Entry updates
 * ----------------------------------------------------------------------
 */

/*
 * pshare_zero_break - give @ppn, a zero entry, a private zeroed frame
 *
 * The frame is allocated and cleared before any lock is taken. The zero
 * frame's lock is held only around the entry's change: a fault that is
 * installing a PTE of the zero frame for @ppn holds it from its check of
 * the entry until the PTE is in place, so once the change is made under
 * the lock, every such PTE exists and the unmap below removes it; a later
 * fault sees the new entry. @vmf is the fault, or NULL (its VMA's memory
 * policy places the frame: pshare_frame_alloc()). Returns the new frame
 * locked and referenced, NULL when @ppn is no longer a zero entry (look
 * again), or ERR_PTR(-ENOMEM).
 */
static struct page *pshare_zero_break(struct pshare_region *r, pgoff_t ppn,
				      const struct vm_fault *vmf)
{
	struct page *new = pshare_frame_alloc(vmf);
	void *prev;

	if (!new)
		return ERR_PTR(-ENOMEM);
	clear_highpage(new);

	/* @new is in no pmap yet: nobody can wait for its lock. */
	lock_page(pshare_zero_page);
	/* Replacing a present entry allocates nothing. */
	prev = xa_cmpxchg(&r->pmap, ppn, PSHARE_ZERO_ENTRY, new, GFP_NOWAIT);
	unlock_page(pshare_zero_page);
	if (prev != PSHARE_ZERO_ENTRY) {
		pshare_frame_discard(new);
		return xa_is_err(prev) ? ERR_PTR(xa_err(prev)) : NULL;
	}
	pshare_account_move(r, PSHARE_COUNT_ZERO, PSHARE_COUNT_PRIVATE);
	atomic_long_inc(&r->cow_breaks);
	atomic_long_inc(&pshare_stats.cow_breaks);
	trace_pshare_cow_break(r, ppn, true);

	unmap_mapping_pages(r->vfs_inode.i_mapping, ppn, 1, false);
	return new;
}

/* The last user of shared frame @page, locked, takes it back as private. */
static void pshare_share_take_back(struct pshare_region *r, struct page *page)
{
	pshare_share_forget(page);
	pshare_account_move(r, PSHARE_COUNT_SHARED, PSHARE_COUNT_PRIVATE);
}

/*
 * pshare_cow_break - give @ppn a private copy of its shared frame @old
 *
 * @old is the PPN's current frame, locked and referenced by the caller,
 * with other users. A frame with other users never changes, so it is
 * copied into the new frame with its lock dropped: no frame lock is held
 * across the allocation. Under the lock again, either the PPN moves to
 * the copy, or @old turns out to have no other user left and is taken
 * back as it is, or the entry has moved on: then ERR_PTR(-EAGAIN) tells
 * the caller to look again. Returns the PPN's private frame locked and
 * referenced; @old is unlocked and the caller's reference dropped unless
 * @old itself is returned, and on every error. @vmf as for
 * pshare_zero_break().
 */
static struct page *pshare_cow_break(struct pshare_region *r, pgoff_t ppn,
				     struct page *old,
				     const struct vm_fault *vmf)
{
	struct address_space *mapping = r->vfs_inode.i_mapping;
	struct page *new;
	void *prev;

	unlock_page(old);
	new = pshare_frame_alloc(vmf);
	if (!new) {
		put_page(old);
		return ERR_PTR(-ENOMEM);
	}
	copy_highpage(new, old);
	/* @new is in no pmap yet: nobody can wait for its lock. */
	lock_page(old);
	if (xa_load(&r->pmap, ppn) != old) {
		pshare_frame_discard(new);
		unlock_page(old);
		put_page(old);
		return ERR_PTR(-EAGAIN);
	}
	if (!pshare_frame_shared(old) || pshare_frame_users(old) == 1) {
		/* The other users left; the last one may have taken it back. */
		pshare_frame_discard(new);
		if (pshare_frame_shared(old))
			pshare_share_take_back(r, old);
		return old;
	}

	/* Replacing a present entry allocates nothing. */
	prev = xa_store(&r->pmap, ppn, new, GFP_NOWAIT);
	if (xa_is_err(prev)) {
		pshare_frame_discard(new);
		unlock_page(old);
		put_page(old);
		return ERR_PTR(xa_err(prev));
	}
	pshare_frame_unuse(r, old, PSHARE_COUNT_PRIVATE);
	atomic_long_inc(&r->cow_breaks);
	atomic_long_inc(&pshare_stats.cow_breaks);
	trace_pshare_cow_break(r, ppn, false);

	/* PTEs of other mappings may still map the old frame read-only. */
	unmap_mapping_pages(mapping, ppn, 1, false);
	unlock_page(old);
	put_page(old);		/* the pmap's reference */
	put_page(old);		/* the caller's */
	return new;
}

/**
 * pshare_make_private - make @page, the locked frame of @ppn, writable
 * @r: the region
 * @ppn: the PPN
 * @page: its frame, locked and referenced
 * @vmf: the fault that writes, whose VMA's memory policy places a copy;
 *	NULL outside a fault (the current task's policy)
 *
 * @page is not the zero frame (pshare_zero_break() handles zero entries).
 * A private frame is returned as it is, and the scanner told that it is
 * about to change (pshare_frame_written()). The last user of a shared frame
 * takes it back from the hash table without a copy. A shared frame with
 * other users is copied: then the copy is returned locked and referenced,
 * and @page is unlocked and the caller's reference to it dropped, as on
 * error. ERR_PTR(-EAGAIN): the PPN's entry changed meanwhile, look again.
 */
struct page *pshare_make_private(struct pshare_region *r, pgoff_t ppn,
				 struct page *page, const struct vm_fault *vmf)
{
	if (WARN_ON_ONCE(pshare_is_zero(page))) {
		unlock_page(page);
		put_page(page);
		return ERR_PTR(-EAGAIN);
	}
	if (!pshare_frame_shared(page)) {
		pshare_frame_written(page);
		return page;
	}
	if (pshare_frame_users(page) == 1) {
		pshare_share_take_back(r, page);
		return page;
	}
	return pshare_cow_break(r, ppn, page, vmf);
}

/*
 * pshare_hole_zero - make hole @ppn a zero entry, for a read fault
 *
 * Returns the zero frame locked and referenced, NULL when the PPN is no
 * longer a hole, or ERR_PTR(-ENOMEM). The zero frame's lock is never held
 * across an allocation: when the xarray needs a node for @ppn, the lock is
 * dropped, the node allocated (xas_nomem()) and the store tried again.
 */
static struct page *pshare_hole_zero(struct pshare_region *r, pgoff_t ppn)
{
	XA_STATE(xas, &r->pmap, ppn);
	struct page *page = pshare_zero_page;
	void *curr;

	get_page(page);
	do {
		lock_page(page);
		xas_lock(&xas);
		curr = xas_load(&xas);
		if (!curr)
			xas_store(&xas, PSHARE_ZERO_ENTRY);
		xas_unlock(&xas);
		if (xas_error(&xas))
			unlock_page(page);
	} while (xas_nomem(&xas, GFP_KERNEL));

	if (xas_error(&xas) || curr) {
		if (!xas_error(&xas))
			unlock_page(page);
		put_page(page);
		return xas_error(&xas) ? ERR_PTR(xas_error(&xas)) : NULL;
	}
	pshare_account_move(r, PSHARE_COUNT_NONE, PSHARE_COUNT_ZERO);
	return page;
}

/*
 * pshare_hole_fill - give hole @ppn a new zeroed frame, for a write
 *
 * Returns the frame locked and referenced, NULL when the PPN is no longer
 * a hole, or an ERR_PTR. The only lock held across the allocations is the
 * new frame's own, which nobody else can reach yet. @vmf as for
 * pshare_zero_break().
 */
static struct page *pshare_hole_fill(struct pshare_region *r, pgoff_t ppn,
				     const struct vm_fault *vmf)
{
	struct page *page = pshare_frame_alloc(vmf);
	void *old;

	if (!page)
		return ERR_PTR(-ENOMEM);
	clear_highpage(page);
	old = xa_cmpxchg(&r->pmap, ppn, NULL, page, GFP_KERNEL);
	if (old) {
		pshare_frame_discard(page);
		return xa_is_err(old) ? ERR_PTR(xa_err(old)) : NULL;
	}
	pshare_account_move(r, PSHARE_COUNT_NONE, PSHARE_COUNT_PRIVATE);
	return page;
}

/*
 * pshare_frame_get - the frame of @ppn, locked and referenced
 * @write: the caller is about to write; the frame returned is private to
 *	@ppn: a hole gets a new zeroed frame, and a zero or shared frame is
 *	copied first (a copy-on-write break). Without @write a hole becomes a
 *	zero entry, except in a noshare region, where every frame returned
 *	is private to @ppn, as for a write.
 * @vmf: the fault, or NULL for read(2) and write(2): where new frames
 *	come from (pshare_frame_alloc())
 *
 * The caller holds invalidate_lock (shared is enough) and has checked that
 * @ppn is inside the region, or is extending it under i_rwsem.
 */
static struct page *pshare_frame_get(struct pshare_region *r, pgoff_t ppn,
				     bool write, const struct vm_fault *vmf)
{
	struct page *page;

	lockdep_assert_held(&r->vfs_inode.i_mapping->invalidate_lock);
	pshare_frame_might_lock();

	write |= r->noshare;

	for (;;) {
		if (write && xa_load(&r->pmap, ppn) == PSHARE_ZERO_ENTRY) {
			page = pshare_zero_break(r, ppn, vmf);
			if (page)
				return page;
			continue;
		}
		page = pshare_entry_lock(r, ppn);
		if (IS_ERR(page))
			return page;
		if (page && write && pshare_is_zero(page)) {
			/* It became a zero entry meanwhile. */
			unlock_page(page);
			put_page(page);
			continue;
		}
		if (!page)
			page = write ? pshare_hole_fill(r, ppn, vmf) :
				       pshare_hole_zero(r, ppn);
		if (IS_ERR(page))
			return page;
		if (!page)
			continue;	/* somebody filled the hole first */
		if (!write)
			return page;
		page = pshare_make_private(r, ppn, page, vmf);
		if (page != ERR_PTR(-EAGAIN))
			return page;
	}
}

/* Does any mapping of @mapping reach page @first or beyond? */
static bool pshare_mapped_from(struct address_space *mapping, pgoff_t first)
{
	struct rb_node *node;
	bool mapped = false;

	i_mmap_lock_read(mapping);
	for (node = rb_first_cached(&mapping->i_mmap); node; node = rb_next(node)) {
		struct vm_area_struct *vma;

		vma = rb_entry(node, struct vm_area_struct, shared.rb);
		if (vma->vm_pgoff + vma_pages(vma) > first) {
			mapped = true;
			break;
		}
	}
	i_mmap_unlock_read(mapping);
	return mapped;
}

/*
 * pshare_pmap_remove - turn PPNs @first..@last (inclusive) into holes
 *
 * Caller holds invalidate_lock exclusive, so no fault can start filling
 * the range. A fault that already returned a frame still holds its page
 * lock while it installs the PTE: locking each frame before erasing it
 * waits for those, and the second unmap removes what they installed.
 */
static void pshare_pmap_remove(struct pshare_region *r, pgoff_t first,
			       pgoff_t last)
{
	struct address_space *mapping = r->vfs_inode.i_mapping;
	unsigned long index;
	bool zeros = false;
	void *entry;

	lockdep_assert_held_write(&mapping->invalidate_lock);

	unmap_mapping_pages(mapping, first, last - first + 1, false);
	xa_for_each_range(&r->pmap, index, entry, first, last) {
		struct page *page;

		/*
		 * The reclaimer takes no invalidate_lock: until the frame is
		 * erased here it may page it out, and a paged entry left in
		 * the range would read back the old data. So look again
		 * until the PPN is a hole. A paged or zero entry goes by
		 * cmpxchg.
		 */
		while (entry) {
			if (entry == PSHARE_ZERO_ENTRY) {
				if (xa_cmpxchg(&r->pmap, index, entry, NULL, 0) ==
				    entry) {
					pshare_account_move(r, PSHARE_COUNT_ZERO,
							    PSHARE_COUNT_NONE);
					zeros = true;
					break;
				}
			} else if (pshare_entry_paged(entry)) {
				if (xa_cmpxchg(&r->pmap, index, entry, NULL, 0) ==
				    entry) {
					pshare_account_move(r, PSHARE_COUNT_PAGED,
							    PSHARE_COUNT_NONE);
					break;
				}
			} else {
				page = pshare_frame_lock(r, index);
				if (page) {
					xa_erase(&r->pmap, index);
					pshare_frame_unuse(r, page,
							   PSHARE_COUNT_NONE);
					unlock_page(page);
					pshare_frame_put_entry(page);
					put_page(page);
					break;
				}
			}
			entry = xa_load(&r->pmap, index);
		}
		cond_resched();
	}
	/*
	 * A fault that saw one of the zero entries before it went holds the
	 * zero frame's lock until its PTE is in place: wait for those once,
	 * here, rather than locking the zero frame for every entry.
	 */
	if (zeros) {
		lock_page(pshare_zero_page);
		unlock_page(pshare_zero_page);
	}
	unmap_mapping_pages(mapping, first, last - first + 1, false);
}

/*
 * pshare_zero_partial - zero @len bytes at @pos, all inside one page
 *
 * Holes and zero entries already read as zeros. Caller holds
 * invalidate_lock.
 */
static int pshare_zero_partial(struct pshare_region *r, loff_t pos, size_t len)
{
	pgoff_t ppn = pos >> PAGE_SHIFT;
	struct page *page;

	lockdep_assert_held(&r->vfs_inode.i_mapping->invalidate_lock);

	do {
		page = pshare_entry_lock(r, ppn);
		if (IS_ERR_OR_NULL(page))
			return PTR_ERR_OR_ZERO(page);
		if (pshare_is_zero(page)) {
			unlock_page(page);
			put_page(page);
			return 0;
		}
		page = pshare_make_private(r, ppn, page, NULL);
	} while (page == ERR_PTR(-EAGAIN));
	if (IS_ERR(page))
		return PTR_ERR(page);
	memzero_page(page, offset_in_page(pos), len);
	unlock_page(page);
	put_page(page);
	return 0;
}

/* ----------------------------------------------------------------------
 * Region operations used by the filesystem
 * ----------------------------------------------------------------------
 */

/* Free every frame of a region whose inode is being evicted. */
void pshare_pmap_destroy(struct pshare_region *r)
{
	struct address_space *mapping = r->vfs_inode.i_mapping;

	filemap_invalidate_lock(mapping);
	pshare_pmap_remove(r, 0, ULONG_MAX);
	filemap_invalidate_unlock(mapping);
	xa_destroy(&r->pmap);
}

/**
 * pshare_region_read - copy region content at @pos to @to
 * @r: the region
 * @pos: file offset
 * @to: destination
 *
 * Copies with nothing locked, holding a reference to one frame at a time,
 * so a fault on the destination buffer (even a mapping of this region)
 * cannot deadlock.
 */
ssize_t pshare_region_read(struct pshare_region *r, loff_t pos,
			   struct iov_iter *to)
{
	loff_t size = i_size_read(&r->vfs_inode);
	ssize_t done = 0;

	while (iov_iter_count(to) && pos < size) {
		size_t offset = offset_in_page(pos);
		size_t n = min_t(u64, PAGE_SIZE - offset, size - pos);
		struct page *page;
		size_t copied;

		n = min(n, iov_iter_count(to));
		page = pshare_entry_get(r, pos >> PAGE_SHIFT);
		if (IS_ERR(page))
			return done ? done : PTR_ERR(page);
		if (page) {
			copied = copy_page_to_iter(page, offset, n, to);
			put_page(page);
		} else {
			copied = iov_iter_zero(n, to);
		}
		done += copied;
		pos += copied;
		if (copied < n)
			return done ? done : -EFAULT;
		if (fatal_signal_pending(current))
			return done ? done : -EINTR;
		cond_resched();
	}
	return done;
}

/**
 * pshare_region_write - copy @from into the region at @pos
 * @r: the region
 * @pos: file offset
 * @from: source
 *
 * Caller holds i_rwsem and has run generic_write_checks(). Each page is
 * written under its frame's page lock, after a copy-on-write break when
 * the frame is shared, so write(2) never changes another PPN's content.
 */
ssize_t pshare_region_write(struct pshare_region *r, loff_t pos,
			    struct iov_iter *from)
{
	struct inode *inode = &r->vfs_inode;
	struct address_space *mapping = inode->i_mapping;
	ssize_t done = 0;
	int err = 0;

	lockdep_assert_held(&inode->i_rwsem);

	while (iov_iter_count(from)) {
		size_t offset = offset_in_page(pos);
		size_t n = min_t(size_t, PAGE_SIZE - offset, iov_iter_count(from));
		struct page *page;
		size_t copied;

		/* Fault the source in now: the copy below runs with faults off. */
		if (fault_in_iov_iter_readable(from, n) == n) {
			err = -EFAULT;
			break;
		}
		filemap_invalidate_lock_shared(mapping);
		page = pshare_frame_get(r, pos >> PAGE_SHIFT, true, NULL);
		if (IS_ERR(page)) {
			filemap_invalidate_unlock_shared(mapping);
			err = PTR_ERR(page);
			break;
		}
		copied = copy_folio_from_iter_atomic(page_folio(page), offset, n,
						     from);
		flush_dcache_page(page);
		unlock_page(page);
		put_page(page);
		filemap_invalidate_unlock_shared(mapping);

		done += copied;
		pos += copied;
		if (pos > i_size_read(inode))
			i_size_write(inode, pos);
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	return done ? done : err;
}

/**
 * pshare_region_resize - set the size of a region
 * @r: the region
 * @newsize: new size in bytes
 *
 * Growing allocates nothing. Shrinking frees the frames past the new end
 * and zeroes the tail of the last page, so a later grow reads zeros; it is
 * refused with -EBUSY while a mapping covers pages past the new end, since
 * a guest would lose RAM under its feet. Caller holds i_rwsem.
 */
int pshare_region_resize(struct pshare_region *r, loff_t newsize)
{
	struct inode *inode = &r->vfs_inode;
	struct address_space *mapping = inode->i_mapping;
	pgoff_t first = DIV_ROUND_UP(newsize, PAGE_SIZE);
	int err = 0;

	lockdep_assert_held(&inode->i_rwsem);

	if (newsize >= i_size_read(inode)) {
		i_size_write(inode, newsize);
		return 0;
	}

	filemap_invalidate_lock(mapping);
	if (pshare_mapped_from(mapping, first)) {
		err = -EBUSY;
		goto out;
	}
	i_size_write(inode, newsize);
	pshare_pmap_remove(r, first, ULONG_MAX);
	if (offset_in_page(newsize))
		err = pshare_zero_partial(r, newsize,
					  PAGE_SIZE - offset_in_page(newsize));
out:
	filemap_invalidate_unlock(mapping);
	return err;
}

/**
 * pshare_region_punch - punch a hole of @len bytes at @pos
 * @r: the region
 * @pos: start, in bytes
 * @len: length, in bytes
 *
 * Whole pages become holes and their frames are freed; partial pages at
 * the edges are zeroed. This is how QEMU returns ballooned and
 * free-page-reported guest memory. Caller holds i_rwsem.
 */
int pshare_region_punch(struct pshare_region *r, loff_t pos, loff_t len)
{
	struct address_space *mapping = r->vfs_inode.i_mapping;
	loff_t end = pos + len;
	pgoff_t first = DIV_ROUND_UP(pos, PAGE_SIZE);
	pgoff_t stop = end >> PAGE_SHIFT;
	int err = 0;

	lockdep_assert_held(&r->vfs_inode.i_rwsem);

	filemap_invalidate_lock(mapping);
	if (offset_in_page(pos)) {
		loff_t head_end = min_t(loff_t, end, round_up(pos, PAGE_SIZE));

		err = pshare_zero_partial(r, pos, head_end - pos);
		if (err)
			goto out;
	}
	if (offset_in_page(end) && stop >= first) {
		err = pshare_zero_partial(r, (loff_t)stop << PAGE_SHIFT,
					  offset_in_page(end));
		if (err)
			goto out;
	}
	if (first < stop)
		pshare_pmap_remove(r, first, stop - 1);
out:
	filemap_invalidate_unlock(mapping);
	return err;
}

/* ----------------------------------------------------------------------
 * The fault path
 * ----------------------------------------------------------------------
 */

static inline bool pshare_beyond_eof(struct inode *inode, pgoff_t ppn)
{
	return ppn >= DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE);
}

/*
 * Attempts at a fault that GUP takes (KVM, O_DIRECT, vhost) when memory
 * is short, each after memalloc_retry_wait(): GUP turns VM_FAULT_OOM into
 * -ENOMEM, and KVM turns that into -EFAULT for QEMU, which stops the guest
 * ("kvm run failed Bad address"). A CPU fault from user mode needs none:
 * the architecture's fault handler retries it after VM_FAULT_OOM.
 */
#define PSHARE_FAULT_NOMEM_TRIES	50

/*
 * After a failed allocation, with no lock held: should this fault wait a
 * little and try again? Only when GUP takes it, at most
 * PSHARE_FAULT_NOMEM_TRIES times, and never for a dying task.
 */
static bool pshare_fault_nomem_retry(struct vm_fault *vmf, unsigned int *tries)
{
	if ((vmf->flags & FAULT_FLAG_USER) || ++*tries >= PSHARE_FAULT_NOMEM_TRIES ||
	    fatal_signal_pending(current))
		return false;
	memalloc_retry_wait(GFP_KERNEL);
	atomic_long_inc(&pshare_stats.fault_nomem_retries);
	return true;
}

/*
 * A fault on a paged-out page, the first time the core lets the handler
 * drop its lock (FAULT_FLAG_ALLOW_RETRY, not yet FAULT_FLAG_TRIED): the
 * read from the backing file is done without mmap_lock (or the VMA lock)
 * and without invalidate_lock, so the process's mmap()/munmap(), its other
 * vCPUs' faults and a balloon's punch do not queue behind the I/O, and the
 * core retries the fault, which finds the page back, as filemap_fault()
 * does for the page cache. KVM's first attempt at a guest fault asks not
 * to wait at all (FAULT_FLAG_RETRY_NOWAIT, to send the guest an async page
 * fault): it gets the retry at once, with its lock kept, and the read is
 * done by the attempt KVM makes from its async-fault worker.
 */
static vm_fault_t pshare_fault_page_in_unlocked(struct vm_fault *vmf,
						struct pshare_region *r)
{
	struct file *file;
	struct page *page;

	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;
	/* The file keeps the region alive once the VMA may be gone. */
	file = get_file(vmf->vma->vm_file);
	release_fault_lock(vmf);
	/* Errors come back from the retry, which runs the locked path. */
	page = pshare_page_in(r, vmf->pgoff);
	if (!IS_ERR_OR_NULL(page)) {
		unlock_page(page);
		put_page(page);
	}
	fput(file);
	return VM_FAULT_RETRY;
}

static vm_fault_t pshare_fault(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct address_space *mapping = inode->i_mapping;
	struct pshare_region *r = pshare_region(inode);
	unsigned int tries = 0;
	struct page *page;

	if (fault_flag_allow_retry_first(vmf->flags) &&
	    pshare_entry_paged(xa_load(&r->pmap, vmf->pgoff)))
		return pshare_fault_page_in_unlocked(vmf, r);

	for (;;) {
		filemap_invalidate_lock_shared(mapping);
		if (pshare_beyond_eof(inode, vmf->pgoff)) {
			filemap_invalidate_unlock_shared(mapping);
			return VM_FAULT_SIGBUS;
		}
		page = pshare_frame_get(r, vmf->pgoff,
					vmf->flags & FAULT_FLAG_WRITE, vmf);
		if (!IS_ERR(page))
			break;
		filemap_invalidate_unlock_shared(mapping);
		if (PTR_ERR(page) == -EIO)
			return VM_FAULT_SIGBUS;
		/* Not under invalidate_lock: a punch or truncate may go first. */
		if (PTR_ERR(page) != -ENOMEM || !pshare_fault_nomem_retry(vmf, &tries))
			return vmf_error(PTR_ERR(page));
	}
	vmf->page = page;
	/* A fault on a sampled page is a touch: the sampler unmapped it. */
	if (unlikely(xa_marked(&r->pmap, PSHARE_MARK_SAMPLED)))
		pshare_sample_touch(r, vmf->pgoff);
	filemap_invalidate_unlock_shared(mapping);
	return VM_FAULT_LOCKED;
}

/*
 * The first write through a read-only PTE. The PTE maps vmf->page; lock it
 * first, so that if the entry has moved on, whoever moved it has finished
 * unmapping the PTE and a retry sees the new frame.
 */
static vm_fault_t __pshare_page_mkwrite(struct vm_fault *vmf,
					struct pshare_region *r)
{
	struct inode *inode = &r->vfs_inode;
	struct address_space *mapping = inode->i_mapping;
	struct page *page = vmf->page;
	vm_fault_t ret = VM_FAULT_NOPAGE;
	struct page *new;

	filemap_invalidate_lock_shared(mapping);
	if (pshare_beyond_eof(inode, vmf->pgoff))
		goto out;
	if (pshare_is_zero(page)) {
		/*
		 * No lock first: pshare_zero_break() changes the entry only
		 * if it is still the zero entry. Either way the PTE is gone
		 * (or about to be, by whoever moved the entry on) and the
		 * retried fault maps what the entry holds then.
		 */
		new = pshare_zero_break(r, vmf->pgoff, vmf);
		if (IS_ERR(new)) {
			ret = vmf_error(PTR_ERR(new));
		} else if (new) {
			unlock_page(new);
			put_page(new);
		}
		goto out;
	}
	lock_page(page);
	if (xa_load(&r->pmap, vmf->pgoff) != page) {
		unlock_page(page);
		goto out;
	}
	get_page(page);		/* a copy-on-write break drops it */
	new = pshare_make_private(r, vmf->pgoff, page, vmf);
	if (new == ERR_PTR(-EAGAIN)) {
		/* The entry moved on: the retried fault maps the new one. */
	} else if (IS_ERR(new)) {
		ret = vmf_error(PTR_ERR(new));
	} else if (new == page) {
		put_page(page);
		ret = VM_FAULT_LOCKED;
	} else {
		/* The PTE is gone: the retried fault maps the copy. */
		unlock_page(new);
		put_page(new);
	}
out:
	filemap_invalidate_unlock_shared(mapping);
	return ret;
}

static vm_fault_t pshare_page_mkwrite(struct vm_fault *vmf)
{
	struct pshare_region *r = pshare_region(file_inode(vmf->vma->vm_file));
	unsigned int tries = 0;
	vm_fault_t ret;

	file_update_time(vmf->vma->vm_file);
	do {
		ret = __pshare_page_mkwrite(vmf, r);
	} while (ret == VM_FAULT_OOM && pshare_fault_nomem_retry(vmf, &tries));
	return ret;
}

static const struct vm_operations_struct pshare_vm_ops = {
	.fault		= pshare_fault,
	.page_mkwrite	= pshare_page_mkwrite,
};

/*
 * A noshare region's frames are private to their PPN from the first fault
 * on (pshare_frame_get()), so a write needs no copy-on-write break and no
 * ->page_mkwrite: the core then maps them writable at once, and its VMAs
 * need no dirty tracking, which is what lets long-term pins that write be
 * taken (compat.h).
 */
static const struct vm_operations_struct pshare_noshare_vm_ops = {
	.fault		= pshare_fault,
};

/**
 * pshare_region_mmap - map a region
 * @file: the region file
 * @vma: the new mapping
 *
 * Only shared mappings: a private one would give anonymous copy-on-write
 * pages that bypass the pmap. Frames are ordinary pages behind ordinary
 * PTEs (no VM_PFNMAP or VM_MIXEDMAP), so GUP, O_DIRECT, vhost and KVM work;
 * on newer kernels GUP-fast leaves them to the slow path and writable
 * long-term pins are refused (compat.h), except in noshare regions, whose
 * mappings have no ->page_mkwrite. No VM_DONTEXPAND: it is one of
 * VM_SPECIAL, which mlock() and mlockall() skip, and QEMU's mem-lock=on
 * must lock guest RAM (pshare_ppn_mlocked()). mremap() may grow a
 * mapping; a fault beyond EOF is SIGBUS as for any file.
 */
int pshare_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct pshare_region *r = pshare_region(file_inode(file));

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	file_accessed(file);
	vma->vm_ops = r->noshare ? &pshare_noshare_vm_ops : &pshare_vm_ops;
	return 0;
}
