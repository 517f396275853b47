// SPDX-License-Identifier: GPL-2.0
/*
 * scan.c - the scanner: content-based page sharing.
 */

/**
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
 *    global table (share.c) of shared frames and hints. A hint names a page
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

#include <linux/freezer.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "frame.h"
#include "hash.h"
#include "pmap.h"
#include "region.h"
#include "scan.h"
#include "share.h"
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

/* Serializes a scan batch with knob and domain changes. */
static DEFINE_MUTEX(pshare_scan_mutex);

/* Where the scanner resumes: region id and PPN. */
static unsigned long pshare_cursor_id;
static unsigned long pshare_cursor_ppn;

static struct task_struct *pshare_scan_thread;
static DECLARE_WAIT_QUEUE_HEAD(pshare_scan_wait);

/* Bumped by every knob change, so a sleeping scanner wakes to see it. */
static atomic_t pshare_scan_knobs_seq = ATOMIC_INIT(0);

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
	unsigned long mine = pshare_hint_of(r, ppn);
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
		hpage = pshare_frame_lock(hr, hppn);
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
	pshare_share_promote(hr, hpage, key, hint);
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
	struct pshare_region *hr = NULL;
	struct page *page, *frame;
	unsigned long hint;
	u64 hash, key;

	page = pshare_frame_lock(r, ppn);
	if (!page)
		return;
	pshare_frame_lockdep_acquire();
	if (pshare_is_zero(page) || pshare_frame_shared(page))
		goto out;

	atomic_long_inc(&pshare_stats.pages_scanned);
	hash = pshare_page_hash(page);
	if (pshare_hash_of_zero(hash) && pshare_page_is_zero(page)) {
		pshare_merge_zero(r, ppn, page);
		goto out;
	}
	key = pshare_key(hash, r->domain);

	/* Prefer a shared frame; else take the first hint. */
	frame = pshare_share_lookup(key, &hint);

	if (frame) {
		pshare_merge_frame(r, ppn, page, frame, key);
		put_page(frame);
	} else if (hint) {
		hr = pshare_merge_hint(r, ppn, page, key, hint);
	} else {
		pshare_hint_add(key, pshare_hint_of(r, ppn));
	}
out:
	pshare_frame_lockdep_release();
	unlock_page(page);
	put_page(page);
	if (hr)
		pshare_region_put(hr);
}

/* ----------------------------------------------------------------------
 * The scanner thread
 * ----------------------------------------------------------------------
 */

/* Only the scanner thread itself is ever asked to stop. */
static bool pshare_scan_stopping(void)
{
	return current == pshare_scan_thread && kthread_should_stop();
}

/* Scan up to @budget present entries, inside the region walk. */
static void pshare_scan_regions(unsigned int budget)
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
			atomic_long_inc(&pshare_stats.full_scans);
			pshare_share_wrapped();
			pshare_cursor_id = 0;
			pshare_cursor_ppn = 0;
			continue;
		}

		ppn = pshare_cursor_ppn;
		/* A noshare region's pages are neither hashed nor merged. */
		xa_for_each_start(&r->pmap, ppn, entry, pshare_cursor_ppn) {
			if (r->noshare)
				break;
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

/* Scan up to @budget present entries. Caller holds pshare_scan_mutex. */
static void pshare_scan_batch(unsigned int budget)
{
	lockdep_assert_held(&pshare_scan_mutex);
	down_read(&pshare_regions_walk);
	pshare_scan_regions(budget);
	up_read(&pshare_regions_walk);
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
		page = pshare_frame_lock(r, ppn);
		if (!page)
			continue;
		if (!pshare_is_zero(page) && pshare_frame_shared(page)) {
			page = pshare_make_private(r, ppn, page, NULL);
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

/* A knob changed: wake the scanner so it does not finish an old sleep. */
void pshare_scan_knobs_changed(void)
{
	atomic_inc(&pshare_scan_knobs_seq);
	wake_up_interruptible(&pshare_scan_wait);
}

/**
 * pshare_scan_set_run - the "run" knob
 * @run: PSHARE_RUN_STOP, PSHARE_RUN_MERGE or PSHARE_RUN_UNMERGE
 *
 * PSHARE_RUN_UNMERGE stops the scanner and gives every shared page a
 * private frame again; zero-mapped pages stay zero-mapped (they read the
 * same as holes and hold no memory). Returns -ENOMEM (or -EINTR) when it
 * could not finish; run it again to go on.
 */
int pshare_scan_set_run(unsigned int run)
{
	unsigned long id = 0;
	struct pshare_region *r;
	int err = 0;

	mutex_lock(&pshare_scan_mutex);
	if (run == PSHARE_RUN_UNMERGE) {
		WRITE_ONCE(pshare_run, PSHARE_RUN_STOP);
		down_read(&pshare_regions_walk);
		while ((r = pshare_region_get_next(&id))) {
			err = pshare_region_unmerge(r);
			pshare_region_put(r);
			if (err)
				break;
			id++;
		}
		up_read(&pshare_regions_walk);
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
 * @r: the region
 * @domain: the new domain
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
 * @pages: how many present entries to visit
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

int pshare_scan_init(void)
{
	int err;

	err = pshare_share_init();
	if (err)
		return err;
	pshare_scan_thread = kthread_run(pshare_scand, NULL, "pshare_scand");
	if (IS_ERR(pshare_scan_thread)) {
		pshare_share_exit();
		return PTR_ERR(pshare_scan_thread);
	}
	return 0;
}

void pshare_scan_exit(void)
{
	kthread_stop(pshare_scan_thread);
	pshare_share_exit();
	pshare_regions_exit();
}
