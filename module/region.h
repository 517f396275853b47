/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The region registry and a region's page counters (region.c), for every
 * part that finds regions by id or moves a page between two counters.
 */
#ifndef _PSHARE_REGION_H
#define _PSHARE_REGION_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/xarray.h>

#include "pshare.h"

/* All live regions, for debugfs and the one-backing-file-per-region rule. */
extern struct list_head pshare_regions;
extern struct mutex pshare_regions_lock;

/* Held for reading by a worker while it holds region references. */
extern struct rw_semaphore pshare_regions_walk;

void pshare_region_init(struct pshare_region *r);
int pshare_region_register(struct pshare_region *r, u32 domain);
void pshare_region_unregister(struct pshare_region *r);
void pshare_region_evicted(struct pshare_region *r);
struct pshare_region *pshare_region_get_next(unsigned long *id);
struct pshare_region *pshare_region_get(u32 id);
void pshare_region_put(struct pshare_region *r);
void pshare_regions_drain(void);
void pshare_regions_exit(void);

/* The page counters of a region: where each of its PPNs is. */
enum pshare_count {
	PSHARE_COUNT_NONE,	/* a hole: in no counter */
	PSHARE_COUNT_PRIVATE,
	PSHARE_COUNT_ZERO,
	PSHARE_COUNT_SHARED,
	PSHARE_COUNT_PAGED,
};

/* The page counters of a region at one moment. */
struct pshare_counts {
	long private;
	long zero;
	long shared;
	long paged;
};

/* The counter of a PPN whose entry points at frame @page. */
static inline enum pshare_count pshare_frame_count(struct page *page)
{
	if (pshare_is_zero(page))
		return PSHARE_COUNT_ZERO;
	return pshare_frame_shared(page) ? PSHARE_COUNT_SHARED :
					   PSHARE_COUNT_PRIVATE;
}

void pshare_account_move(struct pshare_region *r, enum pshare_count from,
			 enum pshare_count to);
void pshare_region_counts(struct pshare_region *r, struct pshare_counts *c);
unsigned long pshare_region_mappings(struct pshare_region *r);

#endif /* _PSHARE_REGION_H */
