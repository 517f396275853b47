// SPDX-License-Identifier: GPL-2.0
/*
 * policy.c - share-based allocation with an idle memory tax.
 */

/**
 * DOC: allocation
 *
 * Each region has shares S; under pressure memory is taken from the region
 * whose adjusted shares-per-page ratio
 *
 *	rho = S / (P * (f + k * (1 - f))),	k = 1 / (1 - tau)
 *
 * is lowest (Waldspurger, OSDI 2002, section 5.2). P is the pages it
 * holds, f the fraction of them that is active, tau the idle memory tax
 * rate. With tau = 0 this is plain proportional share; as tau rises an idle
 * page costs a region up to k times an active one, so memory flows from
 * regions that hoard idle pages to regions that use theirs. Memory is never
 * taken below a region's min, and a region above its max is trimmed first.
 *
 * Fixed point: f is in permille and tau in percent, so
 *
 *	rho = S * (100 - tau) * 1000 / (P * (f * (100 - tau) + 100 * (1000 - f)))
 *
 * scaled by 2^16. S <= 2^30 keeps the numerator in 64 bits;
 * mul_u64_u64_div_u64() keeps the product exact.
 */
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/limits.h>

#include "policy.h"

#define PSHARE_RHO_SHIFT	16

/**
 * pshare_rho - adjusted shares-per-page ratio, scaled by 2^16
 * @shares: the region's shares
 * @pages: pages it holds
 * @active: its active fraction, permille
 * @tax_percent: the idle memory tax
 *
 * A region that holds no pages has nothing to take: U64_MAX.
 */
u64 pshare_rho(u64 shares, u64 pages, u32 active, u32 tax_percent)
{
	u64 keep = 100 - min_t(u32, tax_percent, PSHARE_TAX_MAX);
	u64 cost;

	if (!pages)
		return U64_MAX;
	active = min_t(u32, active, PSHARE_PERMILLE);
	shares = min_t(u64, shares, PSHARE_POLICY_SHARES_MAX);
	cost = pages * (active * keep + 100 * (PSHARE_PERMILLE - active));
	return mul_u64_u64_div_u64(shares,
				   (keep * PSHARE_PERMILLE) << PSHARE_RHO_SHIFT,
				   cost);
}

/* The region with the lowest rho that still has pages above its min. */
static int pshare_lowest(const struct pshare_alloc *a, unsigned int n,
			 int skip, u32 tax, u64 *rho)
{
	int best = -1;
	unsigned int i;

	*rho = U64_MAX;
	for (i = 0; i < n; i++) {
		u64 r;

		if ((int)i == skip || a[i].target <= a[i].min)
			continue;
		r = pshare_rho(a[i].shares, a[i].target, a[i].active, tax);
		if (best < 0 || r < *rho) {
			best = i;
			*rho = r;
		}
	}
	return best;
}

/**
 * pshare_alloc_targets - decide how many pages each region should hold
 * @a: one entry per region: shares, min, max, held, active in; target out
 * @n: entries in @a
 * @reclaim: pages to take back in all
 * @tax_percent: the idle memory tax
 *
 * Regions above their max are first trimmed to it (that counts as taken).
 * Then pages are taken from the region with the lowest rho, in steps that
 * bring its rho up to the next lowest one's, until @reclaim is met or every
 * region is at its min. Returns the pages that could not be found.
 */
u64 pshare_alloc_targets(struct pshare_alloc *a, unsigned int n, u64 reclaim,
			 u32 tax_percent)
{
	u64 taken = 0, left;
	unsigned int i;

	for (i = 0; i < n; i++) {
		a[i].target = min(a[i].held, max(a[i].max, a[i].min));
		taken += a[i].held - a[i].target;
	}
	if (taken >= reclaim)
		return 0;
	left = reclaim - taken;

	while (left) {
		u64 rho, next_rho, step, room, equal;
		int victim, next;

		victim = pshare_lowest(a, n, -1, tax_percent, &rho);
		if (victim < 0)
			break;
		room = a[victim].target - a[victim].min;
		next = pshare_lowest(a, n, victim, tax_percent, &next_rho);

		/*
		 * rho grows as 1/P: the victim reaches the next region's rho
		 * at P * rho / next_rho pages. Take at least a page, and in
		 * coarse steps when much is left, so ties do not crawl.
		 */
		equal = room;
		if (next >= 0 && next_rho > rho)
			equal = a[victim].target -
				mul_u64_u64_div_u64(a[victim].target, rho,
						    next_rho);
		else if (next >= 0)
			equal = 0;
		step = max3(equal, (u64)1, div_u64(left, 16 * n));
		step = min3(step, room, left);
		a[victim].target -= step;
		left -= step;
	}
	return left;
}
