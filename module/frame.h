/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frames and the pmap entries that point at them (frame.c).
 */
#ifndef _PSHARE_FRAME_H
#define _PSHARE_FRAME_H

#include <linux/atomic.h>
#include <linux/mm.h>

#include "pshare.h"
#include "region.h"

int pshare_frame_init(void);
void pshare_frame_exit(void);

extern atomic_t pshare_frame_alloc_fail;
struct page *pshare_frame_alloc(void);
void pshare_frame_discard(struct page *page);
void pshare_frame_unuse(struct pshare_region *r, struct page *page,
			enum pshare_count to);
struct page *pshare_frame_lock(struct pshare_region *r, pgoff_t ppn);
bool pshare_ppn_mlocked(struct pshare_region *r, pgoff_t ppn);

/* The merge steps, for the scanner */
int pshare_pmap_isolate(struct pshare_region *r, pgoff_t ppn,
			struct page *page);
void pshare_pmap_repoint(struct pshare_region *r, pgoff_t ppn,
			 struct page *old, struct page *new);

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
