/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Share-based allocation with an idle memory tax: the pure arithmetic,
 * kept apart from locking and pages so KUnit can test it by the table.
 */
#ifndef _PSHARE_POLICY_H
#define _PSHARE_POLICY_H

#include <linux/types.h>
#include <linux/pshare.h>

/*
 * Upper bounds that keep the fixed-point arithmetic in 64 bits: shares up
 * to PSHARE_POLICY_SHARES_MAX (the uapi's limit), and these.
 */
#define PSHARE_TAX_MAX		99
#define PSHARE_PERMILLE		1000

/**
 * struct pshare_alloc - one region as the allocator sees it
 * @shares:	S, the region's shares
 * @held:	P, pages it holds now
 * @min:	pages it keeps whatever the pressure
 * @max:	pages it may hold at most
 * @active:	f, its active fraction in permille (0..1000)
 * @target:	(out) pages it should hold
 */
struct pshare_alloc {
	u64 shares;
	u64 held;
	u64 min;
	u64 max;
	u32 active;
	u64 target;
};

u64 pshare_rho(u64 shares, u64 pages, u32 active, u32 tax_percent);
u64 pshare_alloc_targets(struct pshare_alloc *a, unsigned int n, u64 reclaim,
			 u32 tax_percent);

#endif /* _PSHARE_POLICY_H */
