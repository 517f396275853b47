/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation, pressure and the reclaimer (reclaim.c): its knobs and the
 * per-region policy.
 */
#ifndef _PSHARE_RECLAIM_H
#define _PSHARE_RECLAIM_H

#include <linux/types.h>

#include "pshare.h"
#include "policy.h"

/* Free memory states of the paper: above 6%, 4%, 2%, 1% of RAM free. */
enum pshare_mem_state {
	PSHARE_MEM_HIGH,
	PSHARE_MEM_SOFT,
	PSHARE_MEM_HARD,
	PSHARE_MEM_LOW,
};

extern unsigned long pshare_limit_pages;
extern unsigned int pshare_idle_tax_percent;

int pshare_reclaim_init(void);
void pshare_reclaim_exit(void);
enum pshare_mem_state pshare_mem_state(unsigned long *want);
const char *pshare_mem_state_name(enum pshare_mem_state state);
void pshare_reclaim_kick(void);
void pshare_reclaim_now(void);
u64 pshare_region_shares(struct pshare_region *r);
u64 pshare_region_max(struct pshare_region *r);
int pshare_region_set_policy(struct pshare_region *r, u32 which, u64 shares,
			     u64 min, u64 max);
void pshare_region_snapshot(struct pshare_region *r,
			    struct pshare_region_stats *st);

#endif /* _PSHARE_RECLAIM_H */
