// SPDX-License-Identifier: GPL-2.0
/*
 * scan.c - the scanner: content-based page sharing.
 *
 * DOC: content-based page sharing
 *
 * Guests hold many identical pages: the same kernel and libraries, zeroed
 * memory. pshare finds them without help from the guest, as ESX does
 * (Waldspurger, OSDI 2002, section 4):
 *
 * 1) a kernel thread visits the private frames of every region in turn,
 *    a bounded number per interval (pages_to_scan, sleep_millisecs), and
 *    hashes each with xxh64;
 * 2) the hash, salted with the region's sharing domain, is looked up in one
 *    global table (hash.c) of shared frames and hints. A hint names a page
 *    that matched nothing when it was scanned; it is not write-protected,
 *    so it may have changed since;
 * 3) on a hit on a shared frame the candidate is isolated (its PTEs zapped,
 *    so writers wait on the page lock), compared in full, and if equal its
 *    PPN is repointed at the shared frame and its own frame freed;
 * 4) on a hit on a hint the hint's page is hashed again: changed, the hint
 *    is stale and the candidate takes its place; unchanged, both pages are
 *    isolated and compared in full, and if equal the hint's page becomes a
 *    shared frame used by both PPNs;
 * 5) no hit: the candidate is recorded as a hint. All-zero pages go to the
 *    zero frame instead.
 *
 * A hash match alone never merges: a false match leaves both pages as they
 * were (false_matches counts them). Shared frames are read-only; a write
 * breaks copy-on-write for that PPN alone (pmap.c).
 *
 * Sharing domains: a write to a shared page is slower than to a private
 * one, so a tenant that can get its pages merged with another's can tell
 * which pages the other holds (a timing side channel). Pages therefore
 * merge only within a domain: the domain salts the hash, so pages of
 * different domains never even meet in the table. By default every mount
 * of pshare is one domain; /dev/pshare can set a region's domain, and
 * merge_across_domains lifts the rule.
 *
 * Locking: pshare_scan_mutex serializes a batch of the scanner with knob
 * changes and domain changes. Within a batch, page locks come before
 * pshare_table.lock; the scanner is the only path that holds two frame
 * locks at once (candidate, then match), so they cannot deadlock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/freezer.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <linux/xxhash.h>

#include "pshare.h"
#include "hash.h"
#include "scan.h"
#include "trace.h"

/* ----------------------------------------------------------------------
 * Tunables and state
 * ----------------------------------------------------------------------
 */

/* PSHARE_RUN_*: what the scanner does. */
unsigned int pshare_run = PSHARE_RUN_STOP;

/* Frames the scanner visits per batch. */
unsigned int pshare_pages_to_scan = 100;

/* Sleep between batches. */
unsigned int pshare_sleep_millisecs = 20;

/* Whether pages of different sharing domains may merge. */
bool pshare_merge_across_domains;

/* Bits of the hash kept (debug: fewer bits force collisions). */
unsigned int pshare_hash_bits = 64;

/* Serializes a scan batch with knob and domain changes. */
static DEFINE_MUTEX(pshare_scan_mutex);

/* The table of shared frames and hints. */
struct pshare_table pshare_table;

/* Scan generation: counts full scans, stamps hints. */
static u8 pshare_scan_gen;

/* Where the scanner resumes: region id and PPN. */
static unsigned long pshare_cursor_id;
static unsigned long pshare_cursor_ppn;

/* xxh64 of a page of zeros: all-zero candidates hash to it. */
static u64 pshare_zero_hash;
/*
 * Random per load: a guest cannot choose contents whose keys land in one
 * corner of the table (the table's home slot is a fixed function of the
 * key).
 */
static u64 pshare_hash_seed;

static struct task_struct *pshare_scan_thread;
static DECLARE_WAIT_QUEUE_HEAD(pshare_scan_wait);

/* Bumped by every knob change, so a sleeping scanner wakes to see it. */
static atomic_t pshare_scan_knobs_seq = ATOMIC_INIT(0);

DEFINE_XARRAY_ALLOC1(pshare_region_ids);

/* ----------------------------------------------------------------------
 * Regions by id
 * ----------------------------------------------------------------------
 */

/**
 * pshare_region_get_next - the live region with the lowest id >= *@id
 *
 * Returns it with an inode reference (pshare_region_put() drops it) and
 * sets *@id, or NULL when there is none. A region being evicted is skipped.
 */
struct pshare_region *pshare_region_get_next(unsigned long *id)
{
	struct pshare_region *r;

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

void pshare_region_put(struct pshare_region *r)
{
	iput(&r->vfs_inode);
}

/* The region with exactly this id, referenced, or NULL. */
static struct pshare_region *pshare_region_get(u32 id)
{
	unsigned long found = id;
	struct pshare_region *r = pshare_region_get_next(&found);

	if (r && found != id) {
		pshare_region_put(r);
		r = NULL;
	}
	return r;
}

/* ----------------------------------------------------------------------
 * Hashing
 * ----------------------------------------------------------------------
 */

static u64 pshare_domain_salt(u32 domain)
{
	if (pshare_merge_across_domains)
		return 0;
	/* Any fixed bijection will do: equal domains, equal salts. */
	return ((u64)domain + 1) * 0x9e3779b97f4a7c15ULL;
}

/*
 * The table key of a page of @domain with content hash @hash. The salt is
 * applied after the debug knob cuts the hash short: salted first and cut
 * after, domains whose salts agree in the kept bits (D and D + 256 at 8
 * bits) would give the same content the same key.
 */
static u64 pshare_key(u64 hash, u32 domain)
{
	if (pshare_hash_bits < 64)
		hash &= (1ULL << pshare_hash_bits) - 1;
	return hash ^ pshare_domain_salt(domain);
}

/* Can pages of regions @a and @b merge? */
static bool pshare_same_domain(struct pshare_region *a, struct pshare_region *b)
{
	return pshare_merge_across_domains || READ_ONCE(a->domain) == READ_ONCE(b->domain);
}

static u64 pshare_page_hash(struct page *page)
{
	void *addr = kmap_local_page(page);
	u64 hash = xxh64(addr, PAGE_SIZE, pshare_hash_seed);

	kunmap_local(addr);
	return hash;
}

static bool pshare_page_is_zero(struct page *page)
{
	void *addr = kmap_local_page(page);
	bool zero = !memchr_inv(addr, 0, PAGE_SIZE);

	kunmap_local(addr);
	return zero;
}

static bool pshare_pages_equal(struct page *a, struct page *b)
{
	void *pa = kmap_local_page(a);
	void *pb = kmap_local_page(b);
	bool equal = !memcmp(pa, pb, PAGE_SIZE);

	kunmap_local(pb);
	kunmap_local(pa);
	return equal;
}

/* ----------------------------------------------------------------------
 * The table
 * ----------------------------------------------------------------------
 */

/* Hints of the last two scans are worth keeping; older ones are dropped. */
static bool pshare_keep_entry(unsigned long val, void *arg)
{
	u8 age;

	if (!pshare_val_is_hint(val))
		return true;
	if (arg)	/* drop all hints */
		return false;
	age = pshare_scan_gen - pshare_hint_gen(val);
	return age <= 1;
}

/* debugfs rebuild_delay_ms: a one-shot sleep between two rebuild steps. */
atomic_t pshare_rebuild_delay_ms = ATOMIC_INIT(0);

/* Old slots a rebuild drains per hold of the table's lock. */
#define PSHARE_REBUILD_STEP	4096

/*
 * Rebuild the table for @n entries, keeping what pshare_keep_entry() keeps
 * (@drop_hints: no hints, and @n need only count the frames). The slots
 * are allocated before the table's lock is taken, and the old ones are
 * drained a step at a time with the lock let go in between: the COW path
 * (pshare_share_forget()) waits on that lock under a frame lock, and must
 * wait neither for reclaim nor for a whole rebuild of a large table.
 * Only the scanner rebuilds (its mutex held), so rebuilds do not overlap.
 * -ENOSPC: more entries arrived meanwhile than @n allows for.
 */
static int pshare_table_resize(unsigned long n, bool drop_hints)
{
	struct pshare_table *t = &pshare_table;
	unsigned long nslots = pshare_table_size_for(n);
	struct pshare_slot *slots = pshare_table_alloc_slots(nslots);
	unsigned int delay;
	bool done;
	int err;

	if (!slots)
		return -ENOMEM;
	mutex_lock(&t->lock);
	err = pshare_table_rebuild_begin(t, slots, nslots,
					 drop_hints ? t->nr_frames : t->nr_frames + t->nr_hints,
					 pshare_keep_entry, drop_hints ? t : NULL);
	if (err) {
		mutex_unlock(&t->lock);
		kvfree(slots);
		return err;
	}
	for (;;) {
		done = pshare_table_rebuild_step(t, PSHARE_REBUILD_STEP);
		mutex_unlock(&t->lock);
		if (done)
			return 0;
		delay = atomic_xchg(&pshare_rebuild_delay_ms, 0);
		if (unlikely(delay))
			msleep(delay);
		cond_resched();
		mutex_lock(&t->lock);
	}
}

/* Insert, growing the table (and dropping stale hints) when it is full. */
static int pshare_table_add(u64 key, unsigned long val)
{
	struct pshare_table *t = &pshare_table;
	unsigned int tries;
	unsigned long n;
	int err;

	for (tries = 0; ; tries++) {
		mutex_lock(&t->lock);
		err = pshare_table_insert(t, key, val);
		n = t->nr_frames + t->nr_hints + 1;
		mutex_unlock(&t->lock);
		if (err != -ENOSPC || tries == 3)
			return err;
		err = pshare_table_resize(n, false);
		if (err && err != -ENOSPC)
			return err;
	}
}

/* Replace a hint by another, or drop it when @new is 0. */
static void pshare_hint_replace(u64 key, unsigned long old, unsigned long new)
{
	mutex_lock(&pshare_table.lock);
	if (new)
		pshare_table_replace(&pshare_table, key, old, new);
	else
		pshare_table_remove(&pshare_table, key, old);
	mutex_unlock(&pshare_table.lock);
}

/**
 * pshare_share_forget - take a shared frame out of the hash table
 *
 * Called under the frame's page lock when its last user leaves or takes
 * it back to write it. The frame keeps its users count.
 */
void pshare_share_forget(struct page *page)
{
	u64 key = pshare_frame_key(page);

	mutex_lock(&pshare_table.lock);
	WARN_ON_ONCE(!pshare_table_remove(&pshare_table, key,
					  (unsigned long)page));
	mutex_unlock(&pshare_table.lock);
	pshare_frame_set_key(page, 0);
	set_page_private(page, page_private(page) & ~PSHARE_FRAME_SHARED);
	atomic_long_dec(&pshare_stats.frames_shared);
}

unsigned long pshare_pages_hinted(void)
{
	return READ_ONCE(pshare_table.nr_hints);
}

/* ----------------------------------------------------------------------
 * Merging
 * ----------------------------------------------------------------------
 */

/* @page, the locked private frame of @ppn, holds only zeros. */
static void pshare_merge_zero(struct pshare_region *r, pgoff_t ppn,
			      struct page *page)
{
	if (pshare_pmap_isolate(r, ppn, page))
		return;
	/* Isolated, it can no longer change: check again. */
	if (pshare_page_is_zero(page)) {
		pshare_pmap_repoint(r, ppn, page, pshare_zero_page);
		trace_pshare_merge(r, ppn, pshare_zero_page, PSHARE_MERGE_ZERO);
	}
}

/* Merge @page (locked, private frame of @ppn) into shared frame @frame. */
static void pshare_merge_frame(struct pshare_region *r, pgoff_t ppn,
			       struct page *page, struct page *frame, u64 key)
{
	lock_page(frame);
	/* Still the shared frame we found? It may have been taken back. */
	if (!pshare_frame_shared(frame) || pshare_frame_key(frame) != key)
		goto out;
	if (pshare_pmap_isolate(r, ppn, page))
		goto out;
	if (!pshare_pages_equal(page, frame)) {
		atomic_long_inc(&pshare_stats.false_matches);
		goto out;
	}
	pshare_pmap_repoint(r, ppn, page, frame);
	trace_pshare_merge(r, ppn, frame, PSHARE_MERGE_FRAME);
out:
	unlock_page(frame);
}

/*
 * Merge @page (locked, private frame of @ppn of @r) with the page a hint
 * names. A stale hint is replaced by one for the candidate. Returns the
 * hint's region, referenced, for the caller to put once it has unlocked
 * @page: the last reference may evict the region, which locks frames.
 */
static struct pshare_region *pshare_merge_hint(struct pshare_region *r,
					       pgoff_t ppn, struct page *page,
					       u64 key, unsigned long hint)
{
	unsigned long mine = pshare_hint_val(r->id, ppn, pshare_scan_gen);
	unsigned long hppn = pshare_hint_ppn(hint);
	struct pshare_region *hr;
	struct page *hpage = NULL;
	bool stale = true;

	if (pshare_hint_id(hint) == r->id && hppn == ppn) {
		/* Our own hint, content unchanged: just renew its stamp. */
		if (hint != mine)
			pshare_hint_replace(key, hint, mine);
		return NULL;
	}

	hr = pshare_region_get(pshare_hint_id(hint));
	if (hr && pshare_same_domain(r, hr))
		hpage = __pshare_entry_lock(hr, hppn, false);
	if (hpage && !pshare_is_zero(hpage) && !pshare_frame_shared(hpage) &&
	    pshare_key(pshare_page_hash(hpage), hr->domain) == key)
		stale = false;

	if (stale) {
		atomic_long_inc(&pshare_stats.stale_hints);
		pshare_hint_replace(key, hint, mine);
		goto out;
	}

	atomic_long_inc(&pshare_stats.hint_hits);
	if (pshare_pmap_isolate(r, ppn, page) ||
	    pshare_pmap_isolate(hr, hppn, hpage))
		goto out;
	if (!pshare_pages_equal(page, hpage)) {
		atomic_long_inc(&pshare_stats.false_matches);
		goto out;
	}
	/* The hint's page becomes the shared frame, in the hint's slot. */
	pshare_frame_make_shared(hr, hpage, key);
	mutex_lock(&pshare_table.lock);
	pshare_table_replace(&pshare_table, key, hint, (unsigned long)hpage);
	mutex_unlock(&pshare_table.lock);
	pshare_pmap_repoint(r, ppn, page, hpage);
	trace_pshare_merge(r, ppn, hpage, PSHARE_MERGE_HINT);
out:
	if (hpage) {
		unlock_page(hpage);
		put_page(hpage);
	}
	return hr;
}

/*
 * pshare_scan_page - look at one PPN: merge its frame or hint it
 */
static void pshare_scan_page(struct pshare_region *r, pgoff_t ppn)
{
	unsigned long pos = ULONG_MAX, val, hint = 0;
	struct pshare_region *hr = NULL;
	struct page *page, *frame = NULL;
	u64 hash, key;

	page = __pshare_entry_lock(r, ppn, false);
	if (!page)
		return;
	if (pshare_is_zero(page) || pshare_frame_shared(page))
		goto out;

	atomic_long_inc(&pshare_stats.pages_scanned);
	hash = pshare_page_hash(page);
	if (hash == pshare_zero_hash && pshare_page_is_zero(page)) {
		pshare_merge_zero(r, ppn, page);
		goto out;
	}
	key = pshare_key(hash, r->domain);

	/* Prefer a shared frame; else take the first hint. */
	mutex_lock(&pshare_table.lock);
	while ((val = pshare_table_next(&pshare_table, key, &pos))) {
		if (!pshare_val_is_hint(val)) {
			frame = (struct page *)val;
			/* In the table, so alive: removal precedes the free. */
			get_page(frame);
			break;
		}
		if (!hint)
			hint = val;
	}
	mutex_unlock(&pshare_table.lock);

	if (frame) {
		pshare_merge_frame(r, ppn, page, frame, key);
		put_page(frame);
	} else if (hint) {
		hr = pshare_merge_hint(r, ppn, page, key, hint);
	} else {
		pshare_table_add(key, pshare_hint_val(r->id, ppn,
						      pshare_scan_gen));
	}
out:
	unlock_page(page);
	put_page(page);
	if (hr)
		pshare_region_put(hr);
}

/* ----------------------------------------------------------------------
 * The scanner thread
 * ----------------------------------------------------------------------
 */

/* A full pass is over: stamp a new generation, and shrink a sparse table. */
static void pshare_scan_wrapped(void)
{
	struct pshare_table *t = &pshare_table;
	unsigned long n;

	atomic_long_inc(&pshare_stats.full_scans);
	pshare_scan_gen++;

	mutex_lock(&t->lock);
	n = t->nr_frames + t->nr_hints;
	if (t->nslots <= 4 * pshare_table_size_for(n))
		n = 0;
	mutex_unlock(&t->lock);
	/* Only the scanner adds entries, and it is here: n stays enough. */
	if (n)
		pshare_table_resize(n, false);
}

/* Only the scanner thread itself is ever asked to stop. */
static bool pshare_scan_stopping(void)
{
	return current == pshare_scan_thread && kthread_should_stop();
}

/* Scan up to @budget present entries. Caller holds pshare_scan_mutex. */
static void pshare_scan_batch(unsigned int budget)
{
	bool wrapped = false;

	while (budget) {
		unsigned long id = pshare_cursor_id, ppn;
		struct pshare_region *r;
		void *entry;

		r = pshare_region_get_next(&id);
		if (id != pshare_cursor_id) {
			/* The region we were in is gone: start the next one. */
			pshare_cursor_id = id;
			pshare_cursor_ppn = 0;
		}
		if (!r) {
			/* Past the last region: a full scan is done. */
			if (wrapped)
				return;		/* no regions at all */
			wrapped = true;
			pshare_scan_wrapped();
			pshare_cursor_id = 0;
			pshare_cursor_ppn = 0;
			continue;
		}

		ppn = pshare_cursor_ppn;
		xa_for_each_start(&r->pmap, ppn, entry, pshare_cursor_ppn) {
			if (!xa_is_value(entry))
				pshare_scan_page(r, ppn);
			pshare_cursor_ppn = ppn + 1;
			cond_resched();
			if (!--budget || pshare_scan_stopping())
				break;
		}
		if (budget) {
			pshare_cursor_id++;
			pshare_cursor_ppn = 0;
		}
		pshare_region_put(r);
		if (pshare_scan_stopping())
			return;
	}
}

static bool pshare_scan_should_run(void)
{
	return READ_ONCE(pshare_run) == PSHARE_RUN_MERGE;
}

static int pshare_scand(void *unused)
{
	set_freezable();
	set_user_nice(current, 5);

	while (!kthread_should_stop()) {
		mutex_lock(&pshare_scan_mutex);
		if (pshare_scan_should_run())
			pshare_scan_batch(pshare_pages_to_scan);
		mutex_unlock(&pshare_scan_mutex);

		try_to_freeze();
		if (pshare_scan_should_run()) {
			unsigned int ms = READ_ONCE(pshare_sleep_millisecs);
			int seq = atomic_read(&pshare_scan_knobs_seq);

			if (ms)
				wait_event_freezable_timeout(pshare_scan_wait,
					kthread_should_stop() ||
					atomic_read(&pshare_scan_knobs_seq) != seq,
					msecs_to_jiffies(ms));
			else
				cond_resched();
		} else {
			wait_event_freezable(pshare_scan_wait,
					     pshare_scan_should_run() ||
					     kthread_should_stop());
		}
	}
	return 0;
}

/* ----------------------------------------------------------------------
 * Control: knobs, unmerging, domains
 * ----------------------------------------------------------------------
 */

/* Give every PPN of @r that uses a shared frame a private frame again. */
static int pshare_region_unmerge(struct pshare_region *r)
{
	struct address_space *mapping = r->vfs_inode.i_mapping;
	unsigned long ppn;
	void *entry;
	int err = 0;

	filemap_invalidate_lock_shared(mapping);
	xa_for_each(&r->pmap, ppn, entry) {
		struct page *page;

		if (xa_is_value(entry) || !atomic_long_read(&r->pages_shared))
			continue;
again:
		page = __pshare_entry_lock(r, ppn, false);
		if (!page)
			continue;
		if (!pshare_is_zero(page) && pshare_frame_shared(page)) {
			page = pshare_make_private(r, ppn, page);
			if (page == ERR_PTR(-EAGAIN))
				goto again;
			if (IS_ERR(page)) {
				err = PTR_ERR(page);
				break;
			}
		}
		unlock_page(page);
		put_page(page);
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	filemap_invalidate_unlock_shared(mapping);
	return err;
}

/* Drop every hint. Caller holds pshare_scan_mutex. */
static void pshare_drop_hints(void)
{
	/* Only the scanner adds entries, and it is stopped: enough room. */
	pshare_table_resize(READ_ONCE(pshare_table.nr_frames), true);
}

/**
 * pshare_scan_set_run - the "run" knob
 *
 * PSHARE_RUN_UNMERGE stops the scanner and gives every shared page a
 * private frame again; zero-mapped pages stay zero-mapped (they read the
 * same as holes and hold no memory). Returns -ENOMEM (or -EINTR) when it
 * could not finish; run it again to go on.
 */
/* A knob changed: wake the scanner so it does not finish an old sleep. */
void pshare_scan_knobs_changed(void)
{
	atomic_inc(&pshare_scan_knobs_seq);
	wake_up_interruptible(&pshare_scan_wait);
}

int pshare_scan_set_run(unsigned int run)
{
	unsigned long id = 0;
	struct pshare_region *r;
	int err = 0;

	mutex_lock(&pshare_scan_mutex);
	if (run == PSHARE_RUN_UNMERGE) {
		WRITE_ONCE(pshare_run, PSHARE_RUN_STOP);
		while ((r = pshare_region_get_next(&id))) {
			err = pshare_region_unmerge(r);
			pshare_region_put(r);
			if (err)
				break;
			id++;
		}
		if (!err)
			pshare_drop_hints();
	}
	if (!err)
		WRITE_ONCE(pshare_run, run);
	mutex_unlock(&pshare_scan_mutex);
	pshare_scan_knobs_changed();
	return err;
}

/* The merge_across_domains knob: only while nothing is shared. */
int pshare_scan_set_across(bool across)
{
	int err = 0;

	mutex_lock(&pshare_scan_mutex);
	if (across != pshare_merge_across_domains) {
		if (atomic_long_read(&pshare_stats.frames_shared)) {
			err = -EBUSY;
		} else {
			/* Hints carry keys salted the old way. */
			pshare_merge_across_domains = across;
			pshare_drop_hints();
		}
	}
	mutex_unlock(&pshare_scan_mutex);
	return err;
}

/* The hash_bits debug knob. Keys of old hints no longer match: drop them. */
int pshare_scan_set_hash_bits(unsigned int bits)
{
	if (bits < 1 || bits > 64)
		return -EINVAL;
	mutex_lock(&pshare_scan_mutex);
	pshare_hash_bits = bits;
	pshare_drop_hints();
	mutex_unlock(&pshare_scan_mutex);
	return 0;
}

/**
 * pshare_region_set_domain - move a region to another sharing domain
 *
 * Refused with -EBUSY while the region uses shared frames: they were
 * merged under the old domain's rule. Unmerge first (run=2).
 */
int pshare_region_set_domain(struct pshare_region *r, u32 domain)
{
	int err = 0;

	mutex_lock(&pshare_scan_mutex);
	if (atomic_long_read(&r->pages_shared))
		err = -EBUSY;
	else
		WRITE_ONCE(r->domain, domain);
	mutex_unlock(&pshare_scan_mutex);
	return err;
}

/**
 * pshare_scan_now - scan up to @pages pages at once, in the calling task
 *
 * The debugfs file scan_now: with the scanner stopped, a test decides
 * exactly when merging happens, and fault injection aimed at its own task
 * (fail-nth) reaches the merge path.
 */
void pshare_scan_now(unsigned int pages)
{
	mutex_lock(&pshare_scan_mutex);
	pshare_scan_batch(pages);
	mutex_unlock(&pshare_scan_mutex);
}

/*
 * A superblock is going away and no new references to its regions are
 * taken: wait for every worker to drop the ones it holds. Each holds them
 * only inside its own mutex.
 */
void pshare_drain_workers(void)
{
	mutex_lock(&pshare_scan_mutex);
	mutex_unlock(&pshare_scan_mutex);
	pshare_reclaim_drain();
	pshare_sample_drain();
}

int pshare_scan_init(void)
{
	void *zero;
	int err;

	zero = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!zero)
		return -ENOMEM;
	pshare_hash_seed = get_random_u64();
	pshare_zero_hash = xxh64(zero, PAGE_SIZE, pshare_hash_seed);
	kfree(zero);

	err = pshare_table_init(&pshare_table, 0);
	if (err)
		return err;
	pshare_scan_thread = kthread_run(pshare_scand, NULL, "pshare_scand");
	if (IS_ERR(pshare_scan_thread)) {
		pshare_table_destroy(&pshare_table);
		return PTR_ERR(pshare_scan_thread);
	}
	return 0;
}

void pshare_scan_exit(void)
{
	kthread_stop(pshare_scan_thread);
	/* No region is left, so no shared frame: only hints remain. */
	WARN_ON(pshare_table.nr_frames);
	pshare_table_destroy(&pshare_table);
	xa_destroy(&pshare_region_ids);
}
