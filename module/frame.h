/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frames and the pmap entries that point at them (frame.c).
 */
#ifndef _PSHARE_FRAME_H
#define _PSHARE_FRAME_H

#include <linux/atomic.h>
#include <linux/lockdep.h>
#include <linux/mm.h>

#include "pshare.h"
#include "region.h"

int pshare_frame_init(void);
void pshare_frame_exit(void);

extern atomic_t pshare_frame_alloc_fail;
struct page *pshare_frame_alloc(const struct vm_fault *vmf);
void pshare_frame_discard(struct page *page);
void pshare_frame_unuse(struct pshare_region *r, struct page *page,
			enum pshare_count to);
struct page *pshare_frame_lock(struct pshare_region *r, pgoff_t ppn);
struct page *pshare_frame_take(struct xa_state *xas, void *entry);
bool pshare_frame_take_lock(struct pshare_region *r, pgoff_t ppn,
			    struct page *page);
bool pshare_ppn_mlocked(struct pshare_region *r, pgoff_t ppn);

/* The merge steps, for the scanner */
bool pshare_pmap_unmap(struct pshare_region *r, pgoff_t ppn, struct page *page);
bool pshare_frame_alone(struct page *page);
int pshare_pmap_isolate(struct pshare_region *r, pgoff_t ppn,
			struct page *page);
void pshare_pmap_repoint(struct pshare_region *r, pgoff_t ppn,
			 struct page *old, struct page *new);

/*
 * Lockdep does not track page locks, so it cannot see a frame lock taken
 * out of the lock order (pmap.c). It is told of frame locks through one
 * map, a class for all frames: the fault path takes frames under
 * invalidate_lock (pshare_frame_might_lock()), and the scanner holds its
 * candidate as the map (pshare_frame_lockdep_acquire()/_release()), which
 * is the frame lock held longest while other locks are taken. A region
 * put there, which may evict the region and take its invalidate_lock,
 * then shows as the inversion it is.
 */
extern struct lockdep_map pshare_frame_lockdep;

static inline void pshare_frame_lockdep_acquire(void)
{
	lock_map_acquire(&pshare_frame_lockdep);
}

static inline void pshare_frame_lockdep_release(void)
{
	lock_map_release(&pshare_frame_lockdep);
}

static inline void pshare_frame_might_lock(void)
{
	lock_map_acquire(&pshare_frame_lockdep);
	lock_map_release(&pshare_frame_lockdep);
}

/* The pmap entry that points at @page. */
static inline void *pshare_entry_of(struct page *page)
{
	return pshare_is_zero(page) ? PSHARE_ZERO_ENTRY : page;
}

/* Drop the reference the pmap held for one PPN using @page. */
static inline void pshare_frame_put_entry(struct page *page)
{
	if (!pshare_is_zero(page))
		put_page(page);
}

#endif /* _PSHARE_FRAME_H */
