// SPDX-License-Identifier: GPL-2.0
/*
 * reclaim.c - memory pressure, allocation targets and the reclaimer.
 */

/**
 * DOC: reclaim
 *
 * Pressure comes from two places: the host, read as the paper's free
 * memory states (high, soft, hard, low at 6%, 4%, 2%, 1% of RAM
 * available) and through a shrinker, and an explicit limit on the pages
 * all regions may hold (limit_pages), with which an operator (or a test)
 * overcommits on purpose. Once a second, or at once when kicked, the
 * reclaimer turns the pressure into a number of pages to take back and
 * splits it between regions by share-based allocation with the idle memory
 * tax (policy.c), never below a region's min, always trimming a region
 * above its max. A limit is split as if every region held its max (its
 * entitlement, stable while the balloon works); host pressure is taken
 * from what regions hold now. Each region's resulting target is published (stats
 * ioctl, debugfs, psharectl): it is the balloon target that the
 * `psharectl balloon` agent passes to the guest's virtio-balloon over QMP.
 * Where the target is still not met and the pressure is a limit, a hard
 * host state or the region's own max, regions with a backing file are
 * paged out (paging.c). When pressure ends, targets return to each
 * region's max: the balloon deflates, and paged-out pages come back on
 * access.
 *
 * The shrinker does no reclaim itself: it records how much the kernel
 * asked for and kicks the reclaimer, which may sleep and do I/O safely.
 *
 * Locking: pshare_reclaim_mutex serializes a reclaim round with policy
 * changes; it is taken outside every region lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/pshare.h>

#include "paging.h"
#include "reclaim.h"
#include "region.h"
#include "sample.h"
#include "trace.h"

/* Pages all regions may hold together; 0: no limit. */
unsigned long pshare_limit_pages;

/* The idle memory tax rate tau, percent. */
unsigned int pshare_idle_tax_percent = 75;

/* Work queue of the reclaimer and the sampler. */

/* The shrinker through which the host's memory pressure reaches pshare. */
static struct shrinker *pshare_shrinker;

/* Pages the shrinker was asked for since the last round. */
static atomic_long_t pshare_shrink_pending = ATOMIC_LONG_INIT(0);

/* Serializes reclaim rounds with policy changes. */
static DEFINE_MUTEX(pshare_reclaim_mutex);

static struct delayed_work pshare_reclaim_work;

#define PSHARE_RECLAIM_PERIOD		HZ
/* Most pages one region pages out in one round. */
#define PSHARE_PAGEOUT_BATCH		8192

u64 pshare_region_shares(struct pshare_region *r)
{
	u64 shares = READ_ONCE(r->shares);

	if (shares != PSHARE_DEFAULT)
		return shares;
	return clamp_t(u64, DIV_ROUND_UP(i_size_read(&r->vfs_inode), PAGE_SIZE),
		       1, PSHARE_POLICY_SHARES_MAX);
}

u64 pshare_region_max(struct pshare_region *r)
{
	u64 max = READ_ONCE(r->max_pages);

	if (max != PSHARE_DEFAULT)
		return max;
	return DIV_ROUND_UP(i_size_read(&r->vfs_inode), PAGE_SIZE);
}

/**
 * pshare_region_set_policy - set a region's shares, min and max
 * @r: the region
 * @which: PSHARE_POLICY_* bits naming the values to set
 * @shares: new shares, or PSHARE_DEFAULT
 * @min: new min, in pages
 * @max: new max, in pages, or PSHARE_DEFAULT
 *
 * PSHARE_DEFAULT restores the default of shares (proportional to size)
 * or max (the size). Refused with -EINVAL, changing nothing: shares above
 * PSHARE_POLICY_SHARES_MAX, a min or max above the largest region, or a min above
 * the max that would result.
 */
int pshare_region_set_policy(struct pshare_region *r, u32 which, u64 shares,
			     u64 min, u64 max)
{
	u64 limit = PSHARE_POLICY_PAGES_MAX;
	u64 new_max;
	int err = 0;

	mutex_lock(&pshare_reclaim_mutex);
	if (!(which & PSHARE_POLICY_SHARES))
		shares = r->shares;
	if (!(which & PSHARE_POLICY_MIN))
		min = r->min_pages;
	if (!(which & PSHARE_POLICY_MAX))
		max = r->max_pages;
	new_max = max == PSHARE_DEFAULT ?
		  DIV_ROUND_UP(i_size_read(&r->vfs_inode), PAGE_SIZE) : max;

	if ((shares != PSHARE_DEFAULT && shares > PSHARE_POLICY_SHARES_MAX) ||
	    min > limit || (max != PSHARE_DEFAULT && max > limit) ||
	    min > new_max) {
		err = -EINVAL;
	} else {
		WRITE_ONCE(r->shares, shares);
		WRITE_ONCE(r->min_pages, min);
		WRITE_ONCE(r->max_pages, max);
	}
	mutex_unlock(&pshare_reclaim_mutex);
	if (!err)
		pshare_reclaim_kick();
	return err;
}

/**
 * pshare_mem_state - the host's free memory state
 * @want: pages to free to get back to the high state
 */
enum pshare_mem_state pshare_mem_state(unsigned long *want)
{
	unsigned long total = totalram_pages();
	unsigned long avail = max(si_mem_available(), 0L);
	unsigned long high = total * 6 / 100;

	*want = avail < high ? high - avail : 0;
	if (avail >= high)
		return PSHARE_MEM_HIGH;
	if (avail >= total * 4 / 100)
		return PSHARE_MEM_SOFT;
	if (avail >= total * 2 / 100)
		return PSHARE_MEM_HARD;
	return PSHARE_MEM_LOW;
}

const char *pshare_mem_state_name(enum pshare_mem_state state)
{
	static const char *const names[] = {
		[PSHARE_MEM_HIGH] = "high",
		[PSHARE_MEM_SOFT] = "soft",
		[PSHARE_MEM_HARD] = "hard",
		[PSHARE_MEM_LOW] = "low",
	};

	return names[state];
}

/* Take a reference on every live region, up to @max of them. */
static unsigned int pshare_collect(struct pshare_region **regions,
				   unsigned int max)
{
	struct pshare_region *r;
	unsigned long id = 0;
	unsigned int n = 0;

	while (n < max && (r = pshare_region_get_next(&id))) {
		regions[n++] = r;
		id++;
	}
	return n;
}

/**
 * struct pshare_reclaim_item - one region during a reclaim round
 * @r:		the region, referenced
 * @held:	pages it holds now
 * @target:	pages it should hold
 */
struct pshare_reclaim_item {
	struct pshare_region *r;
	u64 held;
	u64 target;
};

/**
 * pshare_region_snapshot - the statistics of @r, as PSHARE_IOC_REGION_STATS
 * gives them
 * @r: the region
 * @st: its fields from @size on are filled in (PSHARE_REGION_STATS_FIELDS)
 *
 * The page counters are one snapshot (pshare_region_counts()); the rest is
 * read field by field.
 */
void pshare_region_snapshot(struct pshare_region *r,
			    struct pshare_region_stats *st)
{
	struct pshare_counts c;

	pshare_region_counts(r, &c);
	st->size = i_size_read(&r->vfs_inode);
	st->pages_private = c.private;
	st->pages_zero = c.zero;
	st->pages_shared = c.shared;
	st->pages_paged = c.paged;
	st->cow_breaks = atomic_long_read(&r->cow_breaks);
	st->domain = READ_ONCE(r->domain);
	st->shares = pshare_region_shares(r);
	st->min_pages = READ_ONCE(r->min_pages);
	st->max_pages = pshare_region_max(r);
	st->target_pages = min(READ_ONCE(r->target), st->max_pages);
	st->active_permille = pshare_active_estimate(r);
	st->active_fast = READ_ONCE(r->sample.fast);
	st->active_slow = READ_ONCE(r->sample.slow);
	st->active_current = pshare_active_current(r);
	st->paged_out = atomic_long_read(&r->paged_out);
	st->paged_in = atomic_long_read(&r->paged_in);
	st->mappings = pshare_region_mappings(r);
	st->files_open = atomic_read(&r->files_open);
}

/*
 * One round: targets for every region, then page-out where it must.
 *
 * The limit is split between regions as if each held its max: that is the
 * region's entitlement, and it does not move when the balloon has met it,
 * so a guest is not deflated and inflated again in turn. Host pressure is
 * transient: it is taken from what regions hold now, within their
 * entitlements.
 */
static bool pshare_reclaim_round(void)
{
	unsigned int n, i, max = atomic_long_read(&pshare_stats.regions) + 8;
	unsigned long want, limit = READ_ONCE(pshare_limit_pages);
	u32 tax = READ_ONCE(pshare_idle_tax_percent);
	u64 shared = atomic_long_read(&pshare_stats.frames_shared);
	u64 held = shared, demand = shared, host;
	struct pshare_reclaim_item *items;
	struct pshare_region **regions;
	struct pshare_alloc *alloc;
	enum pshare_mem_state state;
	bool over_limit, again = false;
	long shrink;

	regions = kmalloc_array(max, sizeof(*regions), GFP_KERNEL);
	items = kmalloc_array(max, sizeof(*items), GFP_KERNEL);
	alloc = kmalloc_array(max, sizeof(*alloc), GFP_KERNEL);
	if (!regions || !items || !alloc)
		goto out_free;

	mutex_lock(&pshare_reclaim_mutex);
	down_read(&pshare_regions_walk);
	n = pshare_collect(regions, max);
	for (i = 0; i < n; i++) {
		struct pshare_region *r = regions[i];

		items[i].r = r;
		items[i].held = atomic_long_read(&r->pages_private);
		alloc[i].shares = pshare_region_shares(r);
		alloc[i].min = READ_ONCE(r->min_pages);
		alloc[i].max = pshare_region_max(r);
		alloc[i].held = max(alloc[i].max, alloc[i].min);
		alloc[i].active = pshare_active_estimate(r);
		held += items[i].held;
		demand += alloc[i].held;
	}

	/* Entitlements: the limit shared out by shares and the idle tax. */
	pshare_alloc_targets(alloc, n, limit && demand > limit ?
			     demand - limit : 0, tax);
	for (i = 0; i < n; i++)
		items[i].target = alloc[i].target;

	state = pshare_mem_state(&want);
	shrink = atomic_long_xchg(&pshare_shrink_pending, 0);
	host = max_t(u64, want, shrink);
	if (host) {
		for (i = 0; i < n; i++)
			alloc[i].held = min(items[i].held, items[i].target);
		pshare_alloc_targets(alloc, n, host, tax);
		for (i = 0; i < n; i++)
			if (alloc[i].target < alloc[i].held)
				items[i].target = alloc[i].target;
	}

	/*
	 * Publish every target before paging: the balloon acts at once. A
	 * region left at its max publishes "its max", which follows its
	 * size should it grow before the next round.
	 */
	for (i = 0; i < n; i++) {
		WRITE_ONCE(items[i].r->target,
			   items[i].target >= alloc[i].max ? PSHARE_DEFAULT :
			   items[i].target);
		trace_pshare_reclaim(items[i].r, items[i].held, items[i].target,
				     0, PSHARE_RECLAIM_BALLOON);
	}

	over_limit = limit && held > limit;
	for (i = 0; i < n; i++) {
		struct pshare_reclaim_item *it = &items[i];
		long done;

		if (it->held <= it->target || !READ_ONCE(it->r->backing))
			continue;
		/* Sharing and the balloon first: page only when it must. */
		if (!over_limit && !shrink && state < PSHARE_MEM_HARD &&
		    it->held <= alloc[i].max)
			continue;
		done = pshare_page_out(it->r, min_t(u64, it->held - it->target,
						    PSHARE_PAGEOUT_BATCH));
		trace_pshare_reclaim(it->r, it->held, it->target, done,
				     PSHARE_RECLAIM_PAGE);
		if (done == PSHARE_PAGEOUT_BATCH)
			again = true;
	}
	/* Inside the walk: pshare_regions_drain() relies on it. */
	for (i = 0; i < n; i++)
		pshare_region_put(regions[i]);
	up_read(&pshare_regions_walk);
	mutex_unlock(&pshare_reclaim_mutex);
out_free:
	kfree(alloc);
	kfree(items);
	kfree(regions);
	return again;
}

static void pshare_reclaim_fn(struct work_struct *work)
{
	bool again = pshare_reclaim_round();

	queue_delayed_work(pshare_wq, &pshare_reclaim_work,
			   again ? 0 : PSHARE_RECLAIM_PERIOD);
}

/*
 * The debugfs file reclaim_now: one round in the calling task, so that a
 * test knows when page-out happens and fault injection aimed at its own
 * task (fail-nth) reaches it.
 */
void pshare_reclaim_now(void)
{
	pshare_reclaim_round();
}

/* Run a round now: a knob, a policy or the host's pressure changed. */
void pshare_reclaim_kick(void)
{
	mod_delayed_work(pshare_wq, &pshare_reclaim_work, 0);
}

/*
 * The shrinker is how the kernel's reclaim reaches pshare between rounds.
 * kswapd calls it whenever it refills the free lists, which it does all
 * the time on a host that streams files through its page cache, with
 * plenty of memory available. Guest RAM given back by the balloon or by
 * paging costs far more than clean page cache, so pshare offers nothing
 * while the host is in the high state by its own measure (available
 * memory, page cache included: pshare_mem_state()); below it, the private
 * pages of every region are what the balloon and paging can reclaim.
 */
static unsigned long pshare_shrink_count(struct shrinker *s,
					 struct shrink_control *sc)
{
	unsigned long want;

	if (pshare_mem_state(&want) == PSHARE_MEM_HIGH)
		return 0;
	return atomic_long_read(&pshare_stats.pages_private);
}

static unsigned long pshare_shrink_scan(struct shrinker *s,
					struct shrink_control *sc)
{
	unsigned long want;

	if (pshare_mem_state(&want) != PSHARE_MEM_HIGH) {
		atomic_long_add(sc->nr_to_scan, &pshare_shrink_pending);
		pshare_reclaim_kick();
	}
	return SHRINK_STOP;
}

int pshare_reclaim_init(void)
{
	INIT_DELAYED_WORK(&pshare_reclaim_work, pshare_reclaim_fn);
	/* Its scan kicks the work: the work must be ready before it. */
	pshare_shrinker = pshare_shrinker_create("pshare", pshare_shrink_count,
						 pshare_shrink_scan);
	if (IS_ERR(pshare_shrinker))
		return PTR_ERR(pshare_shrinker);
	queue_delayed_work(pshare_wq, &pshare_reclaim_work,
			   PSHARE_RECLAIM_PERIOD);
	return 0;
}

void pshare_reclaim_exit(void)
{
	/* No scan runs after this, so none can queue the work again. */
	pshare_shrinker_destroy(pshare_shrinker);
	cancel_delayed_work_sync(&pshare_reclaim_work);
}
