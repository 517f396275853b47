// SPDX-License-Identifier: GPL-2.0
/*
 * frame.c - frames and the pmap entries that point at them.
 */

/**
 * DOC: frames
 *
 * A frame is a page pshare allocates itself for guest RAM: in no page
 * cache, on no LRU. page->private counts the PPNs whose pmap entry points
 * at it (pshare.h). This file owns what every path that changes an entry
 * needs: allocating a frame and accounting a PPN that stops using one,
 * finding and locking the frame of a PPN, and the two steps of a merge
 * (isolating a candidate, repointing its PPN). What is done with them, the
 * fault path, copy-on-write and the region's file operations, is pmap.c;
 * paging a frame out and back in is paging.c.
 *
 * The lock order is pmap.c's (the one list for the whole module).
 */
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>

#include "frame.h"
#include "region.h"
#include "share.h"

struct page *pshare_zero_page;

/* Lockdep's view of the frame locks (frame.h). */
struct lockdep_map pshare_frame_lockdep;
static struct lock_class_key pshare_frame_lockdep_key;

/* ----------------------------------------------------------------------
 * Frames
 * ----------------------------------------------------------------------
 */

/* debugfs frame_alloc_fail: this many frame allocations fail from now. */
atomic_t pshare_frame_alloc_fail = ATOMIC_INIT(0);

/*
 * pshare_frame_alloc - a new frame, locked, used by one PPN
 * @vmf: the fault the frame is for, or NULL outside the fault path
 *
 * The frame comes from where the memory policy of the fault's VMA says
 * (mbind(), as QEMU's host-nodes and libvirt's numatune set it), or
 * without a fault from where the current task's policy says (read(2),
 * write(2), page-in). It is charged to the memory cgroup of the current
 * task (the one that faults or writes), so a cgroup limit on QEMU holds
 * for guest RAM. The caller fills it, then publishes it in the pmap; it
 * returns with two references: the pmap's and the caller's.
 */
struct page *pshare_frame_alloc(const struct vm_fault *vmf)
{
	const gfp_t gfp = GFP_HIGHUSER | __GFP_ACCOUNT;
	struct page *page;

	if (unlikely(atomic_read(&pshare_frame_alloc_fail)) &&
	    atomic_dec_if_positive(&pshare_frame_alloc_fail) >= 0)
		return NULL;
	page = vmf ? alloc_page_vma(gfp, vmf->vma, vmf->address) :
		     alloc_page(gfp);
	if (!page)
		return NULL;
	__SetPageLocked(page);	/* not visible to anyone yet */
	set_page_private(page, 1);
	pshare_frame_set_rec(page, 0);	/* the scanner has not seen it */
	get_page(page);
	return page;
}

/* Undo pshare_frame_alloc() for a frame that never reached the pmap. */
void pshare_frame_discard(struct page *page)
{
	set_page_private(page, 0);
	__ClearPageLocked(page);
	put_page(page);
	put_page(page);
}

/**
 * pshare_frame_unuse - one PPN of @r no longer uses @page
 * @r: the region
 * @page: the frame the PPN's entry pointed at
 * @to: the counter the PPN moves to (PSHARE_COUNT_NONE: it is a hole now)
 *
 * The caller holds the page lock, has already changed the PPN's entry, and
 * drops the pmap's reference to the frame after unlocking it.
 */
void pshare_frame_unuse(struct pshare_region *r, struct page *page,
			enum pshare_count to)
{
	unsigned long users = pshare_frame_users(page);

	pshare_account_move(r, pshare_frame_count(page), to);
	if (pshare_is_zero(page))
		return;
	VM_BUG_ON_PAGE(!PageLocked(page) || !users, page);
	/* The last user of a shared frame is leaving: it is about to go. */
	if (pshare_frame_shared(page) && users == 1)
		pshare_share_forget(page);
	set_page_private(page, page_private(page) - 1);
}

/**
 * pshare_frame_lock - the frame of @ppn, referenced and locked
 * @r: the region
 * @ppn: the page
 *
 * A zero entry returns the zero frame. Under the page lock the entry is
 * known to still point at the returned frame. pshare_entry_lock() also
 * reads a paged-out page back.
 *
 * Return: the frame, or NULL for a hole or a paged-out page.
 */
struct page *pshare_frame_lock(struct pshare_region *r, pgoff_t ppn)
{
	struct page *page;
	void *entry;

	for (;;) {
		rcu_read_lock();
		entry = xa_load(&r->pmap, ppn);
		if (!entry) {
			rcu_read_unlock();
			return NULL;
		}
		if (pshare_entry_paged(entry)) {
			rcu_read_unlock();
			return NULL;
		}
		page = entry == PSHARE_ZERO_ENTRY ? pshare_zero_page : entry;
		if (!get_page_unless_zero(page)) {
			rcu_read_unlock();
			continue;
		}
		if (xa_load(&r->pmap, ppn) != entry) {
			rcu_read_unlock();
			put_page(page);
			continue;
		}
		rcu_read_unlock();

		lock_page(page);
		if (xa_load(&r->pmap, ppn) == entry)
			return page;
		unlock_page(page);
		put_page(page);
	}
}

/**
 * pshare_frame_take - reference the frame a pmap walk found
 * @xas: the walk, at the entry, under rcu_read_lock()
 * @entry: the entry it found there, a frame (not a value entry)
 *
 * For a walk that goes on from entry to entry (the scanner's), instead of
 * pshare_frame_lock()'s lookups from the pmap's root. The reference is
 * taken under the walk's RCU hold and checked against the slot; the caller
 * then leaves RCU (xas_pause()) and calls pshare_frame_take_lock().
 *
 * Return: the frame, referenced, or NULL if it is being freed or the entry
 * changed.
 */
struct page *pshare_frame_take(struct xa_state *xas, void *entry)
{
	struct page *page = entry;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "a frame taken outside RCU");
	if (!get_page_unless_zero(page))
		return NULL;
	if (xas_reload(xas) != entry) {
		put_page(page);
		return NULL;
	}
	return page;
}

/*
 * Lock @page, which pshare_frame_take() returned for @ppn. Returns false,
 * the page unlocked and unreferenced, when @ppn moved to another frame
 * meanwhile; true with the page locked, still the frame of @ppn.
 */
bool pshare_frame_take_lock(struct pshare_region *r, pgoff_t ppn,
			    struct page *page)
{
	lock_page(page);
	if (xa_load(&r->pmap, ppn) == page)
		return true;
	unlock_page(page);
	put_page(page);
	return false;
}

/**
 * pshare_ppn_mlocked - is @ppn mapped by a VMA under mlock()?
 * @r: the region
 * @ppn: the page
 *
 * QEMU's mem-lock=on locks all guest RAM. Page-out leaves such pages be:
 * mlock() promises they stay resident. Sharing may still merge them, as
 * KSM does: the merged frame is resident too.
 */
bool pshare_ppn_mlocked(struct pshare_region *r, pgoff_t ppn)
{
	struct address_space *mapping = r->vfs_inode.i_mapping;
	struct rb_node *node;
	bool locked = false;

	if (RB_EMPTY_ROOT(&mapping->i_mmap.rb_root))
		return false;
	i_mmap_lock_read(mapping);
	for (node = rb_first_cached(&mapping->i_mmap); node; node = rb_next(node)) {
		struct vm_area_struct *vma;

		vma = rb_entry(node, struct vm_area_struct, shared.rb);
		if ((vma->vm_flags & VM_LOCKED) && ppn >= vma->vm_pgoff &&
		    ppn < vma->vm_pgoff + vma_pages(vma)) {
			locked = true;
			break;
		}
	}
	i_mmap_unlock_read(mapping);
	return locked;
}

/* ----------------------------------------------------------------------
 * Merging, for the scanner
 * ----------------------------------------------------------------------
 */

/**
 * pshare_pmap_unmap - zap the PTEs of @ppn, and say whether @page is alone
 * @r: the region
 * @ppn: the PPN
 * @page: its frame, locked, referenced by the caller
 *
 * Return: true if nobody but the pmap and the caller holds @page now: no
 * PTE maps it, and no GUP reference (O_DIRECT, vhost, a pinned DMA buffer)
 * can write it behind pshare's back.
 */
bool pshare_pmap_unmap(struct pshare_region *r, pgoff_t ppn, struct page *page)
{
	unmap_mapping_pages(r->vfs_inode.i_mapping, ppn, 1, false);
	return pshare_frame_alone(page);
}

/**
 * pshare_frame_alone - is @page held by nobody but the pmap and the caller?
 * @page: a private frame, locked, referenced by the caller
 *
 * Return: true if no PTE maps it and no GUP reference holds it.
 */
bool pshare_frame_alone(struct page *page)
{
	struct folio *folio = page_folio(page);

	/* The pmap's reference and the caller's. */
	return folio_ref_count(folio) == 2 && !folio_maybe_dma_pinned(folio) &&
	       !folio_mapped(folio);
}

/**
 * pshare_pmap_isolate - stop all access to @page through @ppn
 * @r: the region
 * @ppn: the candidate's PPN
 * @page: its frame
 *
 * @page is the locked private frame of @ppn, referenced by the caller.
 * Its PTEs are zapped, so writers fault and wait on the page lock and the
 * content holds still. Returns -EBUSY when anybody else holds the page
 * (pshare_pmap_unmap()): such a page must not be merged.
 */
int pshare_pmap_isolate(struct pshare_region *r, pgoff_t ppn,
			struct page *page)
{
	if (!pshare_pmap_unmap(r, ppn, page)) {
		atomic_long_inc(&pshare_stats.merge_busy);
		return -EBUSY;
	}
	return 0;
}

/**
 * pshare_pmap_repoint - point @ppn, now using @old, at @new
 * @r: the region
 * @ppn: the PPN
 * @old: the PPN's private frame, locked and isolated
 * @new: a shared frame, locked, or the zero frame (need not be locked:
 *	 it never changes)
 *
 * The caller checked that the contents are equal. @old loses the pmap's
 * reference; the caller still holds its own.
 */
void pshare_pmap_repoint(struct pshare_region *r, pgoff_t ppn,
			 struct page *old, struct page *new)
{
	void *prev;

	/* Replacing a present entry allocates nothing and cannot fail. */
	prev = xa_store(&r->pmap, ppn, pshare_entry_of(new), GFP_NOWAIT);
	WARN_ON_ONCE(prev != old);
	pshare_frame_unuse(r, old, pshare_frame_count(new));
	if (!pshare_is_zero(new)) {
		get_page(new);
		set_page_private(new, page_private(new) + 1);
	}
	put_page(old);
}

int pshare_frame_init(void)
{
	lockdep_init_map(&pshare_frame_lockdep, "pshare_frame",
			 &pshare_frame_lockdep_key, 0);
	pshare_zero_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	return pshare_zero_page ? 0 : -ENOMEM;
}

void pshare_frame_exit(void)
{
	__free_page(pshare_zero_page);
}
