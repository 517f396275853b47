// SPDX-License-Identifier: GPL-2.0
/*
 * region.c - the region registry and a region's page counters.
 */

/**
 * DOC: regions
 *
 * A region is one regular file of the pshare filesystem: the RAM of one
 * VM. Its inode is embedded in struct pshare_region, so the inode's
 * reference count is the region's. This file keeps what every other part
 * needs to know about regions, and nothing else:
 *
 * - the registry: each region gets a small id when it is created (hints
 *   name pages by region id and PPN, and the scanner's cursor is an id),
 *   and sits on one list for debugfs and the backing-file rule;
 * - the walk: the workers (scanner, sampler, reclaimer) find regions by
 *   id and hold inode references while they work on them. They do it
 *   inside pshare_regions_walk, so that an unmount can wait for every
 *   such reference to go before the VFS evicts the inodes;
 * - the page counters: how many PPNs of the region are private, zero,
 *   shared and paged out, kept exact and readable as one snapshot.
 */
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/rbtree.h>
#include <linux/string.h>

#include "hash.h"
#include "region.h"

LIST_HEAD(pshare_regions);
DEFINE_MUTEX(pshare_regions_lock);
DECLARE_RWSEM(pshare_regions_walk);

/* Live regions by id. */
static DEFINE_XARRAY_ALLOC1(pshare_region_ids);

/* ----------------------------------------------------------------------
 * Lifetime and registry
 * ----------------------------------------------------------------------
 */

/* Every field to its empty value: the region of a new inode. */
void pshare_region_init(struct pshare_region *r)
{
	/*
	 * Charged to the task whose fault or write adds the entry: a zero
	 * entry costs no frame, but the pmap nodes for a sparse region do.
	 */
	xa_init_flags(&r->pmap, XA_FLAGS_ACCOUNT);
	r->id = 0;
	r->domain = 0;
	r->noshare = false;
	atomic_long_set(&r->pages_private, 0);
	atomic_long_set(&r->pages_zero, 0);
	atomic_long_set(&r->pages_shared, 0);
	atomic_long_set(&r->cow_breaks, 0);
	r->shares = PSHARE_DEFAULT;
	r->min_pages = 0;
	r->max_pages = PSHARE_DEFAULT;
	r->target = PSHARE_DEFAULT;
	memset(&r->sample, 0, sizeof(r->sample));
	r->sample.fast = r->sample.slow = r->sample.last = 1000;
	r->backing = NULL;
	spin_lock_init(&r->backing_lock);
	mutex_init(&r->paging_lock);
	atomic_long_set(&r->pages_paged, 0);
	r->paged_gen = 0;
	atomic_long_set(&r->paged_out, 0);
	atomic_long_set(&r->paged_in, 0);
	r->reclaim_cursor = 0;
	atomic_long_set(&r->moves_begun, 0);
	atomic_long_set(&r->moves_done, 0);
	atomic_set(&r->files_open, 0);
	INIT_LIST_HEAD(&r->node);
}

/**
 * pshare_region_register - give a new region its id and list it
 * @r: the region of a new regular file
 * @domain: its sharing domain (its mount's)
 *
 * Return: 0, or -ENOSPC when every id is taken (-ENOMEM without memory).
 */
int pshare_region_register(struct pshare_region *r, u32 domain)
{
	int err;

	err = xa_alloc(&pshare_region_ids, &r->id, r,
		       XA_LIMIT(1, PSHARE_REGION_ID_MAX), GFP_KERNEL);
	if (err) {
		r->id = 0;
		return err;
	}
	r->domain = domain;
	mutex_lock(&pshare_regions_lock);
	list_add_tail(&r->node, &pshare_regions);
	mutex_unlock(&pshare_regions_lock);
	atomic_long_inc(&pshare_stats.regions);
	return 0;
}

/**
 * pshare_region_unregister - undo pshare_region_register()
 * @r: a region whose inode is being evicted
 *
 * From here on no worker finds @r by id, and nobody on the list.
 */
void pshare_region_unregister(struct pshare_region *r)
{
	xa_erase(&pshare_region_ids, r->id);
	mutex_lock(&pshare_regions_lock);
	list_del_init(&r->node);
	mutex_unlock(&pshare_regions_lock);
}

/**
 * pshare_region_evicted - an unregistered region has freed its frames
 * @r: the region
 *
 * It stops counting in pshare_stats.regions only now, so that once the
 * count is down, its pages are too (an eviction may run in a worker,
 * after the last close).
 */
void pshare_region_evicted(struct pshare_region *r)
{
	atomic_long_dec(&pshare_stats.regions);
}

/**
 * pshare_region_get_next - the live region with the lowest id >= *@id
 * @id: where to start; set to the id of the region returned
 *
 * A region whose superblock is shutting down is skipped. The caller holds
 * pshare_regions_walk for reading until it has put the region.
 *
 * Return: the region with an inode reference (pshare_region_put() drops
 * it), or NULL when there is none.
 */
struct pshare_region *pshare_region_get_next(unsigned long *id)
{
	struct pshare_region *r;

	lockdep_assert_held(&pshare_regions_walk);
	rcu_read_lock();
	for (;;) {
		r = xa_find(&pshare_region_ids, id, ULONG_MAX, XA_PRESENT);
		/* Inodes are freed after a grace period: igrab() is safe. */
		if (!r || (!pshare_sb_dying(r->vfs_inode.i_sb) &&
			   igrab(&r->vfs_inode)))
			break;
		++*id;
	}
	rcu_read_unlock();
	return r;
}

/**
 * pshare_region_get - the region with exactly this id
 * @id: a region id, from a hint
 *
 * Takes no reference to any other region: the scanner calls this holding
 * a frame lock, under which a put (maybe the last) must not happen.
 *
 * Return: the region, referenced as by pshare_region_get_next(), or NULL.
 */
struct pshare_region *pshare_region_get(u32 id)
{
	struct pshare_region *r;

	lockdep_assert_held(&pshare_regions_walk);
	rcu_read_lock();
	r = xa_load(&pshare_region_ids, id);
	/* Inodes are freed after a grace period: igrab() is safe. */
	if (r && (pshare_sb_dying(r->vfs_inode.i_sb) || !igrab(&r->vfs_inode)))
		r = NULL;
	rcu_read_unlock();
	return r;
}

/**
 * pshare_region_put - drop a reference from pshare_region_get_next()
 * @r: the region
 *
 * The last reference to an unlinked region evicts it, which frees its
 * frames: no frame lock may be held here.
 */
void pshare_region_put(struct pshare_region *r)
{
	/* Whether or not this one is the last: lockdep checks the order. */
	might_lock(&r->vfs_inode.i_mapping->invalidate_lock);
	iput(&r->vfs_inode);
}

/**
 * pshare_regions_drain - wait for the workers' region references to go
 *
 * A superblock is going away and pshare_sb_dying() already holds for it,
 * so no new reference to its regions is taken: wait until no worker is
 * inside a walk that began earlier.
 */
void pshare_regions_drain(void)
{
	down_write(&pshare_regions_walk);
	up_write(&pshare_regions_walk);
}

void pshare_regions_exit(void)
{
	xa_destroy(&pshare_region_ids);
}

/* ----------------------------------------------------------------------
 * Page counters
 * ----------------------------------------------------------------------
 */

static void pshare_count_add(struct pshare_region *r, enum pshare_count which,
			     long nr)
{
	switch (which) {
	case PSHARE_COUNT_PRIVATE:
		atomic_long_add(nr, &r->pages_private);
		atomic_long_add(nr, &pshare_stats.pages_private);
		break;
	case PSHARE_COUNT_ZERO:
		atomic_long_add(nr, &r->pages_zero);
		atomic_long_add(nr, &pshare_stats.pages_zero);
		break;
	case PSHARE_COUNT_SHARED:
		atomic_long_add(nr, &r->pages_shared);
		atomic_long_add(nr, &pshare_stats.sharing_refs);
		break;
	case PSHARE_COUNT_PAGED:
		atomic_long_add(nr, &r->pages_paged);
		atomic_long_add(nr, &pshare_stats.pages_paged);
		break;
	case PSHARE_COUNT_NONE:
		break;
	}
}

/*
 * A page going from one counter of @r to another (private to shared,
 * shared to private, private to paged, ...) changes two counters, and a
 * reader of the region's statistics must see it in exactly one of them.
 * Such moves are bracketed by these two: they take no lock, any number
 * may run at once, and pshare_region_counts() reads again while a move
 * overlaps its reads. A page entering or leaving the counters altogether
 * changes one counter and needs no bracket.
 */
static void pshare_move_begin(struct pshare_region *r)
{
	atomic_long_inc(&r->moves_begun);
	smp_mb__after_atomic();		/* pairs with the read of moves_begun */
}

static void pshare_move_end(struct pshare_region *r)
{
	smp_mb__before_atomic();	/* pairs with the read of moves_done */
	atomic_long_inc(&r->moves_done);
}

/**
 * pshare_account_move - one PPN of @r goes from counter @from to @to
 * @r: the region
 * @from: where the PPN was counted, PSHARE_COUNT_NONE if nowhere (a hole)
 * @to: where it is counted now, PSHARE_COUNT_NONE if nowhere
 *
 * Called with the PPN's entry already changed, under the lock that
 * guards that entry (pmap.c): the counters are exact.
 */
void pshare_account_move(struct pshare_region *r, enum pshare_count from,
			 enum pshare_count to)
{
	if (from == PSHARE_COUNT_NONE || to == PSHARE_COUNT_NONE) {
		pshare_count_add(r, from, -1);
		pshare_count_add(r, to, 1);
		return;
	}
	pshare_move_begin(r);
	pshare_count_add(r, from, -1);
	pshare_count_add(r, to, 1);
	pshare_move_end(r);
}

/**
 * pshare_region_counts - the page counters of @r as one snapshot
 * @r: the region
 * @c: filled in
 *
 * moves_done is read before the counters and moves_begun after them. If
 * the two are equal, every move begun by the second read had finished by
 * the first: none changed a counter in between. Moves are a few
 * instructions long, so a retry is rare; after a few, the reader sleeps a
 * tick, so that a mover preempted in the middle can finish even under a
 * reader of higher priority on the same CPU. Process context only.
 */
void pshare_region_counts(struct pshare_region *r, struct pshare_counts *c)
{
	unsigned int tries = 0;
	long done;

	might_sleep();
	for (;;) {
		done = atomic_long_read(&r->moves_done);
		smp_rmb();	/* pairs with pshare_move_end() */
		c->private = atomic_long_read(&r->pages_private);
		c->zero = atomic_long_read(&r->pages_zero);
		c->shared = atomic_long_read(&r->pages_shared);
		c->paged = atomic_long_read(&r->pages_paged);
		smp_rmb();	/* pairs with pshare_move_begin() */
		if (atomic_long_read(&r->moves_begun) == done)
			return;
		if (++tries < 16)
			cpu_relax();
		else
			schedule_timeout_uninterruptible(1);
	}
}

/**
 * pshare_region_mappings - how many VMAs map @r's file
 * @r: the region
 *
 * For the statistics: with no mapping and no open file a region is an
 * orphan. Takes i_mmap_rwsem for reading, as page-out does under
 * r->paging_lock (pshare_ppn_mlocked()); debugfs' table calls it under
 * pshare_regions_lock, which comes before r->paging_lock (pmap.c).
 */
unsigned long pshare_region_mappings(struct pshare_region *r)
{
	struct address_space *mapping = r->vfs_inode.i_mapping;
	struct rb_node *node;
	unsigned long n = 0;

	i_mmap_lock_read(mapping);
	for (node = rb_first_cached(&mapping->i_mmap); node; node = rb_next(node))
		n++;
	i_mmap_unlock_read(mapping);
	return n;
}
