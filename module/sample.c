// SPDX-License-Identifier: GPL-2.0
/*
 * sample.c - how much of a region's memory is active, by sampling.
 */

/**
 * DOC: active memory sampling
 *
 * The idle memory tax needs each region's active fraction f without help
 * from the guest. As ESX does (section 5.3 of the paper), every period
 * (sample_period_secs, default 30 s) pshare picks sample_pages (default
 * 100) random resident frames of each region, marks them in the pmap and
 * unmaps them. The next access to one faults (for a KVM guest: the MMU
 * notifier dropped its SPTE, so the guest access faults too), and the
 * fault counts the touch. At the end of the period touched / sampled is
 * that period's estimate. Three figures are kept: a fast and a slow moving
 * average, and the current period's running estimate; the region's active
 * fraction is the largest of them, so a region that becomes busy is seen
 * at once and one that becomes idle is believed only slowly.
 *
 * Touched samples also get PSHARE_MARK_ACTIVE, so page-out takes them last.
 * Marks live in the pmap xarray and change under its xa_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/random.h>
#include <linux/workqueue.h>

#include "policy.h"
#include "region.h"
#include "sample.h"
#include "trace.h"

/* Length of a sampling period. */
unsigned int pshare_sample_period_secs = 30;

/* Frames sampled per region and period. */
unsigned int pshare_sample_pages = 100;

/* The sampler's and the reclaimer's queue. */
struct workqueue_struct *pshare_wq;

static struct delayed_work pshare_sample_work;

/* Averages: the fast one moves half-way, the slow one an eighth. */
#define PSHARE_FAST_SHIFT	1
#define PSHARE_SLOW_SHIFT	3

static u32 pshare_ewma(u32 avg, u32 cur, unsigned int shift)
{
	return (avg * ((1U << shift) - 1) + cur) >> shift;
}

/* A fault on @ppn, marked as a sample: count the touch. */
void pshare_sample_touch(struct pshare_region *r, pgoff_t ppn)
{
	xa_lock(&r->pmap);
	if (xa_get_mark(&r->pmap, ppn, PSHARE_MARK_SAMPLED)) {
		__xa_clear_mark(&r->pmap, ppn, PSHARE_MARK_SAMPLED);
		__xa_set_mark(&r->pmap, ppn, PSHARE_MARK_ACTIVE);
		atomic_inc(&r->sample.touched);
	}
	xa_unlock(&r->pmap);
}

/* This period so far, permille; the last period's figure before any touch. */
u32 pshare_active_current(struct pshare_region *r)
{
	struct pshare_sample *s = &r->sample;
	unsigned int sampled = READ_ONCE(s->sampled);

	if (!sampled)
		return READ_ONCE(s->last);
	return min_t(u32, atomic_read(&s->touched) * PSHARE_PERMILLE / sampled,
		     PSHARE_PERMILLE);
}

/* The active fraction the allocator uses: the largest estimate. */
u32 pshare_active_estimate(struct pshare_region *r)
{
	struct pshare_sample *s = &r->sample;

	return max3(READ_ONCE(s->fast), READ_ONCE(s->slow),
		    pshare_active_current(r));
}

/* Clear @mark on every entry of @r. */
static void pshare_clear_marks(struct pshare_region *r, xa_mark_t mark)
{
	XA_STATE(xas, &r->pmap, 0);
	void *entry;

	xas_lock(&xas);
	xas_for_each_marked(&xas, entry, ULONG_MAX, mark) {
		xas_clear_mark(&xas, mark);
		if (need_resched()) {
			xas_pause(&xas);
			xas_unlock(&xas);
			cond_resched();
			xas_lock(&xas);
		}
	}
	xas_unlock(&xas);
}

/* Close @r's period and open the next one with a fresh sample. */
static void pshare_sample_region(struct pshare_region *r)
{
	struct address_space *mapping = r->vfs_inode.i_mapping;
	struct pshare_sample *s = &r->sample;
	pgoff_t size = DIV_ROUND_UP(i_size_read(&r->vfs_inode), PAGE_SIZE);
	unsigned int want = READ_ONCE(pshare_sample_pages), n = 0, tries;

	if (s->sampled) {
		u32 cur = pshare_active_current(r);

		if (!s->periods) {
			s->fast = s->slow = cur;
		} else {
			s->fast = pshare_ewma(s->fast, cur, PSHARE_FAST_SHIFT);
			s->slow = pshare_ewma(s->slow, cur, PSHARE_SLOW_SHIFT);
		}
		WRITE_ONCE(s->last, cur);
		s->periods++;
		trace_pshare_sample(r, atomic_read(&s->touched), s->sampled,
				    pshare_active_estimate(r));
	}

	pshare_clear_marks(r, PSHARE_MARK_SAMPLED);
	pshare_clear_marks(r, PSHARE_MARK_ACTIVE);
	xa_lock(&r->pmap);
	atomic_set(&s->touched, 0);
	WRITE_ONCE(s->sampled, 0);
	xa_unlock(&r->pmap);
	if (!size || size > U32_MAX)
		return;

	/* Random frames: a random PPN, then the next frame at or after it. */
	for (tries = 0; tries < 4 * want && n < want; tries++) {
		unsigned long ppn = get_random_u32_below(size);
		void *entry;

		entry = xa_find(&r->pmap, &ppn, ULONG_MAX, XA_PRESENT);
		if (!entry) {
			ppn = 0;
			entry = xa_find(&r->pmap, &ppn, ULONG_MAX, XA_PRESENT);
		}
		if (!entry)
			break;
		if (xa_is_value(entry) ||
		    xa_get_mark(&r->pmap, ppn, PSHARE_MARK_SAMPLED))
			continue;
		xa_set_mark(&r->pmap, ppn, PSHARE_MARK_SAMPLED);
		n++;
		/* Mark first: the fault that follows the unmap must see it. */
		unmap_mapping_pages(mapping, ppn, 1, false);
		cond_resched();
	}
	xa_lock(&r->pmap);
	WRITE_ONCE(s->sampled, n);
	xa_unlock(&r->pmap);
}

static void pshare_sample_fn(struct work_struct *work)
{
	struct pshare_region *r;
	unsigned long id = 0;

	down_read(&pshare_regions_walk);
	while ((r = pshare_region_get_next(&id))) {
		pshare_sample_region(r);
		pshare_region_put(r);
		id++;
	}
	up_read(&pshare_regions_walk);
	queue_delayed_work(pshare_wq, &pshare_sample_work,
			   READ_ONCE(pshare_sample_period_secs) * HZ);
}

/* A new period length takes effect now. */
void pshare_sample_reschedule(void)
{
	mod_delayed_work(pshare_wq, &pshare_sample_work,
			 READ_ONCE(pshare_sample_period_secs) * HZ);
}

int pshare_sample_init(void)
{
	/* Two at a time: a long page-out round must not hold up sampling. */
	pshare_wq = alloc_workqueue("pshare", WQ_UNBOUND | WQ_MEM_RECLAIM |
				    WQ_FREEZABLE, 2);
	if (!pshare_wq)
		return -ENOMEM;
	INIT_DELAYED_WORK(&pshare_sample_work, pshare_sample_fn);
	queue_delayed_work(pshare_wq, &pshare_sample_work,
			   READ_ONCE(pshare_sample_period_secs) * HZ);
	return 0;
}

void pshare_sample_exit(void)
{
	cancel_delayed_work_sync(&pshare_sample_work);
	destroy_workqueue(pshare_wq);
}
