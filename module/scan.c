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
 * Where sharing is not (smart_scan): most of a guest's pages are unique
 * and hold still, and some change all the time. Hashing either again
 * finds nothing new, so the scanner keeps a record of each private frame
 * (in its folio's index, pshare.h): the low half of its hash at the last
 * visit, the pass of that visit, and how many visits in a row found it
 * changed.
 *
 * - A page found unchanged and left unmerged goes cold: its PTEs are
 *   zapped (with its neighbours' in one go, pshare_cool_flush()), so its
 *   next write comes through ->page_mkwrite (or write(2)), which warms it
 *   (pshare_frame_written()). A cold page is skipped until
 *   then, and visited anyway every PSHARE_COLD_PASSES passes, which keeps
 *   its hint alive (hints live as long under smart_scan) and catches
 *   writes that came through a pin. So a page that changes is seen on the
 *   next pass as before, and a new twin of a cold page still finds the
 *   cold page's hint: two equal pages merge within one pass of both
 *   being written. This is where pshare differs from KSM's smart scan,
 *   which cannot see writes and backs off unchanged pages blind. A page
 *   someone else holds (a pin, KVM's own mappings) can be written unseen:
 *   it is not made cold, and not zapped again until it changes.
 * - A page found changed at PSHARE_VOLATILE_AFTER visits in a row is
 *   volatile: it is visited every 2nd, 4th, then 8th pass only, until a
 *   visit finds it unchanged. Its writes are not watched: that would cost
 *   the guest a fault per pass.
 *
 * skipped_unchanged, skipped_volatile and cold_woken count what it does.
 *
 * The rate (auto_scan): instead of pages_to_scan and sleep_millisecs set
 * by hand, the scanner sizes its batches so that a full pass takes about
 * target_scan_secs, within [min_pages_to_scan, max_pages_to_scan] pages a
 * batch, one batch per sleep_millisecs, and sleeps after each batch long
 * enough that neither the pages it visited run ahead of the target, nor
 * its own CPU time ahead of max_cpu_percent of the time that passed, both
 * counted over many batches (pshare_scan_auto_sleep()).
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

#include <linux/bitfield.h>
#include <linux/delay.h>
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

/* Skip unchanged and volatile pages (see the DOC above). */
unsigned int pshare_smart_scan = 1;

/* The automatic rate and its bounds. */
unsigned int pshare_auto_scan;
unsigned int pshare_max_cpu_percent = 10;
unsigned int pshare_target_scan_secs = 200;
unsigned int pshare_min_pages_to_scan = 100;
unsigned int pshare_max_pages_to_scan = 30000;

/* debugfs merge_delay_ms: one visit sleeps this long after its hash. */
atomic_t pshare_merge_delay_ms = ATOMIC_INIT(0);

/* pages_to_scan as set by hand, saved when auto_scan goes on. */
static unsigned int pshare_manual_pages_to_scan;

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

/*
 * @page, locked and isolated, differs from a page whose key it had: a
 * false match (two contents behind one key) if it still has that key, or
 * else a page written between its hash and its isolation (through a PTE
 * still mapped then), which the next pass sees as it is now. Isolated, it
 * holds still: hashing it again tells the two apart.
 */
static bool pshare_page_kept_key(struct pshare_region *r, struct page *page,
				 u64 key)
{
	return pshare_key(pshare_page_hash(page), r->domain) == key;
}

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
		/* A shared frame never changes: only @page can have. */
		if (pshare_page_kept_key(r, page, key))
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
		if (pshare_page_kept_key(r, page, key) &&
		    pshare_page_kept_key(hr, hpage, key))
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

/* ----------------------------------------------------------------------
 * Records: what the scanner saw of a private frame
 * ----------------------------------------------------------------------
 */

#define PSHARE_REC_HASH		GENMASK_ULL(31, 0)
#define PSHARE_REC_PASS		GENMASK_ULL(39, 32)
#define PSHARE_REC_CHANGED	GENMASK_ULL(42, 40)
#define PSHARE_REC_SEEN		BIT_ULL(49)
#define PSHARE_REC_HELD		BIT_ULL(50)

/* A cold page is visited anyway this often (hints live as long). */
#define PSHARE_COLD_PASSES	8

/* Visits in a row that find a page changed before it counts as volatile. */
#define PSHARE_VOLATILE_AFTER	2

/* Most visits in a row counted: a volatile page is visited every 8th pass. */
#define PSHARE_CHANGED_MAX	(PSHARE_VOLATILE_AFTER + 2)

/* Passes since the visit @rec records. */
static unsigned int pshare_rec_age(unsigned long rec)
{
	return (u8)(pshare_share_pass() - FIELD_GET(PSHARE_REC_PASS, rec));
}

/* Should a visit to the private frame whose record is @rec be skipped? */
static bool pshare_scan_skip(unsigned long rec)
{
	unsigned int changed = FIELD_GET(PSHARE_REC_CHANGED, rec);
	unsigned int age = pshare_rec_age(rec);

	if (!READ_ONCE(pshare_smart_scan) || !(rec & PSHARE_REC_SEEN))
		return false;
	if (rec & PSHARE_REC_COLD) {
		if (age >= PSHARE_COLD_PASSES)
			return false;
		atomic_long_inc(&pshare_stats.skipped_unchanged);
		return true;
	}
	if (changed < PSHARE_VOLATILE_AFTER ||
	    age >= 1U << (changed - PSHARE_VOLATILE_AFTER + 1))
		return false;
	atomic_long_inc(&pshare_stats.skipped_volatile);
	return true;
}

/*
 * Does the PPN whose present entry is @entry need a visit? A first look at
 * its frame, neither referenced nor locked, inside the RCU walk of the
 * pmap (pshare_scan_walk()): most PPNs of a settled guest are on the zero
 * frame, on a shared frame, or skipped (cold or volatile), and those then
 * cost the scanner no atomic operation, no lock and no restart of the walk.
 * The look can be stale: a frame it saw as private may be taken or freed
 * meanwhile, and a skip may miss a write that lands at that moment, as if
 * the visit had come just before it; the next pass sees the page. A visit
 * checks again under the page lock. As in the page cache's lockless
 * lookups, RCU keeps the struct page readable even if the frame is freed.
 */
static bool pshare_scan_glance(void *entry)
{
	struct page *page = entry;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "a glance outside RCU");
	if (xa_is_value(entry))		/* zero or paged out */
		return false;
	if (READ_ONCE(page->private) & PSHARE_FRAME_SHARED)
		return false;
	return !pshare_scan_skip(READ_ONCE(page_folio(page)->index));
}

/*
 * Record this visit to the locked private frame @page, which hashed to
 * @hash. Returns whether the page is unchanged since its last visit.
 */
static bool pshare_scan_record(struct page *page, u64 hash)
{
	unsigned long rec = pshare_frame_rec(page);
	unsigned int changed = FIELD_GET(PSHARE_REC_CHANGED, rec);
	bool same = (rec & PSHARE_REC_SEEN) &&
		    FIELD_GET(PSHARE_REC_HASH, rec) == (u32)hash;

	if (same)
		changed = 0;
	else if (rec & PSHARE_REC_SEEN)
		changed = min(changed + 1, PSHARE_CHANGED_MAX);
	/* Cold (or held) stays so only if unchanged: no write came through a pin. */
	rec = (same ? rec & (PSHARE_REC_COLD | PSHARE_REC_HELD) : 0) |
	      PSHARE_REC_SEEN |
	      FIELD_PREP(PSHARE_REC_HASH, (u32)hash) |
	      FIELD_PREP(PSHARE_REC_PASS, pshare_share_pass()) |
	      FIELD_PREP(PSHARE_REC_CHANGED, changed);
	pshare_frame_set_rec(page, rec);
	return same;
}

/* Most pages made cold with one zap of their PTEs. */
#define PSHARE_COOL_RUN		64

/*
 * The pages of a run of PPNs that a walk found unchanged and left
 * unmerged, in a row: marked cold, their PTEs still to be zapped. One zap
 * of the run costs one walk of the mapping's VMAs, one invalidation for
 * KVM and one TLB flush, about what a zap of one page costs. Only the
 * scanner fills it, under pshare_scan_mutex, and a walk zaps it before it
 * lets go of the region (pshare_cool_flush()).
 */
static struct {
	struct pshare_region *r;
	pgoff_t first;
	unsigned int n;
	struct page *pages[PSHARE_COOL_RUN];
} pshare_cool;

/*
 * After the zap of its run: @want was the frame of @ppn when it went cold.
 * It stays cold if it was not written meanwhile (through ->page_mkwrite,
 * which warms it) and nobody else holds it; a page someone else holds (GUP:
 * a pin, KVM's mappings of its own) could be written behind pshare's back,
 * and is marked held instead, so that it is not zapped again at every pass
 * (its users would fault at every pass) until it changes.
 */
static void pshare_cool_check(struct pshare_region *r, pgoff_t ppn,
			      struct page *want)
{
	struct page *page = pshare_frame_lock(r, ppn);
	unsigned long rec;

	if (!page)
		return;
	if (page != want || pshare_frame_shared(page))
		goto out;
	rec = pshare_frame_rec(page);
	if (!(rec & PSHARE_REC_COLD))
		goto out;
	/* A fault since the zap mapped it again (a write waits on the lock). */
	if (folio_mapped(page_folio(page)))
		unmap_mapping_pages(r->vfs_inode.i_mapping, ppn, 1, false);
	if (!pshare_frame_alone(page))
		pshare_frame_set_rec(page, (rec & ~PSHARE_REC_COLD) |
					   PSHARE_REC_HELD);
out:
	unlock_page(page);
	put_page(page);
}

/* Zap the PTEs of the run gone cold, and check each of its pages. */
static void pshare_cool_flush(void)
{
	struct pshare_region *r = pshare_cool.r;
	unsigned int i;

	if (!pshare_cool.n)
		return;
	unmap_mapping_pages(r->vfs_inode.i_mapping, pshare_cool.first,
			    pshare_cool.n, false);
	for (i = 0; i < pshare_cool.n; i++)
		pshare_cool_check(r, pshare_cool.first + i, pshare_cool.pages[i]);
	pshare_cool.n = 0;
	pshare_cool.r = NULL;
}

/*
 * Before a visit to @ppn of @r, with no frame locked (the run's pages are
 * locked one after the other): zap the run unless the page can join it.
 */
static void pshare_cool_prepare(struct pshare_region *r, pgoff_t ppn)
{
	if (pshare_cool.n &&
	    (pshare_cool.r != r || ppn != pshare_cool.first + pshare_cool.n ||
	     pshare_cool.n == PSHARE_COOL_RUN))
		pshare_cool_flush();
}

/*
 * @page, the locked frame of @ppn, was found unchanged and is still the
 * PPN's private frame after the lookup: make it cold. It is marked cold
 * now and joins the run (pshare_cool_prepare() made room), whose PTEs are
 * zapped together. Until then a write through a PTE still writable goes
 * unseen, as one between the hash and the zap always could: the page is
 * found changed at its next visit, PSHARE_COLD_PASSES passes on. No merge
 * depends on it: a merge compares isolated pages.
 */
static void pshare_scan_cool(struct pshare_region *r, pgoff_t ppn,
			     struct page *page)
{
	unsigned long rec = pshare_frame_rec(page);

	if (!READ_ONCE(pshare_smart_scan) ||
	    (rec & (PSHARE_REC_COLD | PSHARE_REC_HELD)) ||
	    pshare_frame_shared(page) || xa_load(&r->pmap, ppn) != page)
		return;
	pshare_frame_set_rec(page, rec | PSHARE_REC_COLD);
	if (!pshare_cool.n) {
		pshare_cool.r = r;
		pshare_cool.first = ppn;
	}
	pshare_cool.pages[pshare_cool.n++] = page;
}

/*
 * pshare_scan_page - look at one PPN: merge its frame or hint it
 * @r: the region
 * @ppn: the PPN
 * @page: the frame the walk found for it, referenced (the reference is
 *	  the callee's to drop)
 */
static void pshare_scan_page(struct pshare_region *r, pgoff_t ppn,
			     struct page *page)
{
	struct pshare_region *hr = NULL;
	struct page *frame;
	unsigned long hint;
	u64 hash, key;
	bool same;

	if (!pshare_frame_take_lock(r, ppn, page))
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
	same = pshare_scan_record(page, hash);
	key = pshare_key(hash, r->domain);
	if (unlikely(atomic_read(&pshare_merge_delay_ms)))
		msleep(atomic_xchg(&pshare_merge_delay_ms, 0));

	/* A shared frame, else another page's hint, else our hint is kept. */
	frame = pshare_share_find(key, pshare_hint_of(r, ppn), &hint);
	if (frame) {
		pshare_merge_frame(r, ppn, page, frame, key);
		put_page(frame);
	} else if (hint) {
		hr = pshare_merge_hint(r, ppn, page, key, hint);
	}
	if (same)
		pshare_scan_cool(r, ppn, page);
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

/* Entries walked under one hold of RCU at most. */
#define PSHARE_WALK_STRIDE	256

/*
 * Walk the present entries of @r from the cursor on, up to *@budget of
 * them, and visit those that need it. The walk goes on from one entry to
 * the next in one RCU section and leaves it only to visit a page, to
 * reschedule, or at the end of the budget: the pmap is not searched from
 * its root for every PPN. The pages it made cold have their PTEs zapped
 * before it returns. Returns whether the walk reached the region's end.
 */
static bool pshare_scan_walk(struct pshare_region *r, unsigned int *budget)
{
	XA_STATE(xas, &r->pmap, pshare_cursor_ppn);
	unsigned int stride = 0;
	struct page *page;
	unsigned long ppn;
	bool end = true;
	void *entry;

	rcu_read_lock();
	xas_for_each(&xas, entry, ULONG_MAX) {
		if (xas_retry(&xas, entry))
			continue;
		ppn = xas.xa_index;
		pshare_cursor_ppn = ppn + 1;
		page = pshare_scan_glance(entry) ? pshare_frame_take(&xas, entry) :
						   NULL;
		--*budget;
		if (!page && *budget && ++stride < PSHARE_WALK_STRIDE)
			continue;
		stride = 0;
		xas_pause(&xas);
		rcu_read_unlock();
		if (page) {
			pshare_cool_prepare(r, ppn);
			pshare_scan_page(r, ppn, page);
		}
		cond_resched();
		if (!*budget || pshare_scan_stopping()) {
			end = false;
			goto out;
		}
		rcu_read_lock();
	}
	rcu_read_unlock();
out:
	pshare_cool_flush();
	return end;
}

/* Scan up to @budget present entries, inside the region walk. */
static void pshare_scan_regions(unsigned int budget)
{
	bool wrapped = false;

	while (budget) {
		unsigned long id = pshare_cursor_id;
		struct pshare_region *r;
		bool end;

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

		/* A noshare region's pages are neither hashed nor merged. */
		end = r->noshare || pshare_scan_walk(r, &budget);
		if (end) {
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

/* Pages in the pmaps: what a full pass visits. */
static unsigned long pshare_scan_pass_pages(void)
{
	return atomic_long_read(&pshare_stats.pages_private) +
	       atomic_long_read(&pshare_stats.pages_zero) +
	       atomic_long_read(&pshare_stats.sharing_refs) +
	       atomic_long_read(&pshare_stats.pages_paged);
}

/* auto_scan: the batch that keeps a full pass at target_scan_secs. */
static unsigned int pshare_scan_auto_batch(void)
{
	u64 period_ms = max(READ_ONCE(pshare_sleep_millisecs), 1U);
	u64 pages = div64_u64(pshare_scan_pass_pages() * period_ms,
			      READ_ONCE(pshare_target_scan_secs) * MSEC_PER_SEC);

	return clamp_t(u64, pages, READ_ONCE(pshare_min_pages_to_scan),
		       READ_ONCE(pshare_max_pages_to_scan));
}

/*
 * auto_scan's account, kept over many batches since its mark: the CPU
 * time the thread used and the pages it visited, each worth a length of
 * time (CPU time / max_cpu_percent, pages at the target rate), against
 * the time that passed. The thread's CPU time may lag by up to a tick at
 * a read, which the next read makes good; a wakeup that came late is
 * made good by a shorter sleep after the next batch. Credit beyond
 * PSHARE_AUTO_CREDIT is dropped (the mark moves on), so that an idle
 * spell does not buy a burst.
 */
static struct {
	u64 wall;		/* the mark */
	u64 cpu;		/* the thread's CPU time at the mark */
	u64 pages;		/* pages visited since the mark */
} pshare_auto;

#define PSHARE_AUTO_CREDIT	(200 * NSEC_PER_MSEC)

/* auto_scan: how long to sleep after a batch of @batch pages. */
static u64 pshare_scan_auto_sleep(unsigned int batch)
{
	u64 cpu = READ_ONCE(current->se.sum_exec_runtime), now = ktime_get_ns();
	unsigned long pass = pshare_scan_pass_pages();
	u64 due, rate_due = 0, elapsed;

	pshare_auto.pages += batch;
	due = div_u64((cpu - pshare_auto.cpu) * 100,
		      READ_ONCE(pshare_max_cpu_percent));
	if (pass)
		rate_due = div64_u64(pshare_auto.pages *
				     READ_ONCE(pshare_target_scan_secs) *
				     NSEC_PER_SEC, pass);
	due = max(due, rate_due);
	elapsed = now - pshare_auto.wall;
	if (pshare_auto.wall && due > elapsed)
		return due - elapsed;
	if (!pshare_auto.wall || elapsed - due > PSHARE_AUTO_CREDIT) {
		pshare_auto.wall = now;
		pshare_auto.cpu = cpu;
		pshare_auto.pages = 0;
	}
	return 0;
}

/* Sleep between batches, until a knob changes or the thread must stop. */
static void pshare_scan_sleep(unsigned int batch)
{
	int seq = atomic_read(&pshare_scan_knobs_seq);
	unsigned int ms;

#define pshare_scan_woken()	(kthread_should_stop() || \
				 atomic_read(&pshare_scan_knobs_seq) != seq)
	if (READ_ONCE(pshare_auto_scan)) {
		/* Precise to the microsecond: the CPU cap depends on it. */
		u64 ns = pshare_scan_auto_sleep(batch);

		if (ns)
			__wait_event_hrtimeout(pshare_scan_wait,
					       pshare_scan_woken(),
					       ns_to_ktime(ns),
					       (TASK_INTERRUPTIBLE | TASK_FREEZABLE));
		else
			cond_resched();
		return;
	}
	ms = READ_ONCE(pshare_sleep_millisecs);
	if (ms)
		wait_event_freezable_timeout(pshare_scan_wait,
					     pshare_scan_woken(),
					     msecs_to_jiffies(ms));
	else
		cond_resched();
#undef pshare_scan_woken
}

static int pshare_scand(void *unused)
{
	set_freezable();
	set_user_nice(current, 5);

	while (!kthread_should_stop()) {
		unsigned int batch = 0;

		mutex_lock(&pshare_scan_mutex);
		if (pshare_scan_should_run()) {
			if (pshare_auto_scan)
				WRITE_ONCE(pshare_pages_to_scan,
					   pshare_scan_auto_batch());
			batch = pshare_pages_to_scan;
			pshare_scan_batch(batch);
		}
		mutex_unlock(&pshare_scan_mutex);

		try_to_freeze();
		if (pshare_scan_should_run())
			pshare_scan_sleep(batch);
		else
			wait_event_freezable(pshare_scan_wait,
					     pshare_scan_should_run() ||
					     kthread_should_stop());
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
int pshare_scan_set_across(unsigned int across)
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

/* smart_scan: hints live as long as a cold page is skipped, or 1 pass. */
static void pshare_scan_apply_smart(void)
{
	WRITE_ONCE(pshare_hint_passes,
		   pshare_smart_scan ? PSHARE_COLD_PASSES : 1);
}

/**
 * pshare_scan_set_smart - the smart_scan knob
 * @smart: skip unchanged and volatile pages
 *
 * Records stay in the frames while it is off, and count again when it is
 * back on: a cold page whose write came meanwhile was warmed all the same.
 */
int pshare_scan_set_smart(unsigned int smart)
{
	mutex_lock(&pshare_scan_mutex);
	WRITE_ONCE(pshare_smart_scan, smart);
	pshare_scan_apply_smart();
	mutex_unlock(&pshare_scan_mutex);
	return 0;
}

/**
 * pshare_scan_set_auto - the auto_scan knob
 * @on: size batches and sleeps automatically
 *
 * pages_to_scan then shows the batch the scanner chose; what was set by
 * hand comes back when it goes off.
 */
int pshare_scan_set_auto(unsigned int on)
{
	mutex_lock(&pshare_scan_mutex);
	if (on && !pshare_auto_scan)
		pshare_manual_pages_to_scan = pshare_pages_to_scan;
	else if (!on && pshare_auto_scan)
		WRITE_ONCE(pshare_pages_to_scan, pshare_manual_pages_to_scan);
	WRITE_ONCE(pshare_auto_scan, on);
	mutex_unlock(&pshare_scan_mutex);
	pshare_scan_knobs_changed();
	return 0;
}

/* pages_to_scan by hand: -EBUSY while auto_scan sets it. */
int pshare_scan_set_pages(unsigned int pages)
{
	int err = 0;

	mutex_lock(&pshare_scan_mutex);
	if (pshare_auto_scan)
		err = -EBUSY;
	else
		WRITE_ONCE(pshare_pages_to_scan, pages);
	mutex_unlock(&pshare_scan_mutex);
	if (!err)
		pshare_scan_knobs_changed();
	return err;
}

/*
 * min_pages_to_scan or max_pages_to_scan, @bound: -EINVAL for a minimum
 * above the maximum, or the other way round.
 */
static int pshare_scan_set_bound(unsigned int *bound, unsigned int pages)
{
	int err = 0;

	mutex_lock(&pshare_scan_mutex);
	if (bound == &pshare_max_pages_to_scan ?
	    pages < pshare_min_pages_to_scan : pages > pshare_max_pages_to_scan)
		err = -EINVAL;
	else
		WRITE_ONCE(*bound, pages);
	mutex_unlock(&pshare_scan_mutex);
	if (!err)
		pshare_scan_knobs_changed();
	return err;
}

int pshare_scan_set_min_pages(unsigned int pages)
{
	return pshare_scan_set_bound(&pshare_min_pages_to_scan, pages);
}

int pshare_scan_set_max_pages(unsigned int pages)
{
	return pshare_scan_set_bound(&pshare_max_pages_to_scan, pages);
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
	pshare_scan_apply_smart();
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
