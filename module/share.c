// SPDX-License-Identifier: GPL-2.0
/*
 * share.c - the table of shared frames and hints, and the frames in it.
 */

/**
 * DOC: the sharing table
 *
 * One global table (hash.c) holds every shared frame and every hint, keyed
 * by the content hash of the page salted with its sharing domain: the role
 * the stable and unstable trees play in KSM. The scanner (scan.c) looks
 * candidates up here and merges them; the fault path (pmap.c) takes a
 * frame out of the table when its last user leaves or writes it. This file
 * owns the keys (seed, salt, the hash_bits cut), the hints and their
 * generation, the table's growth, and a frame's shared bit: it is set and
 * cleared only here, under the frame's page lock.
 *
 * Locking: pshare_table.lock is taken under frame locks and never held
 * across an allocation or a sleep: a rebuild allocates first and lets the
 * lock go between steps (pshare_table_resize()).
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/xxhash.h>

#include "hash.h"
#include "region.h"
#include "share.h"

/* The table of shared frames and hints. */
struct pshare_table pshare_table;

/* Whether pages of different sharing domains may merge. */
bool pshare_merge_across_domains;

/* Bits of the hash kept (debug: fewer bits force collisions). */
unsigned int pshare_hash_bits = 64;

/*
 * Random per load: a guest cannot choose contents whose keys land in one
 * corner of the table (the table's home slot is a fixed function of the
 * key).
 */
static u64 pshare_hash_seed;

/* xxh64 of a page of zeros: all-zero candidates hash to it. */
static u64 pshare_zero_hash;

/*
 * Passes a hint outlives the visit that stamped it: 1 (the last two
 * passes' hints are kept), or as long as the scanner skips a cold page
 * whose hint it is (scan.c sets it with smart_scan).
 */
unsigned int pshare_hint_passes = 1;

/* Counts full scans (pshare_share_wrapped()), stamps hints. */
static u8 pshare_share_gen;

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

/**
 * pshare_key - the table key of a page
 * @hash: the page's content hash (pshare_page_hash())
 * @domain: the sharing domain of its region
 *
 * The salt is
 * applied after the debug knob cuts the hash short: salted first and cut
 * after, domains whose salts agree in the kept bits (D and D + 256 at 8
 * bits) would give the same content the same key.
 *
 * Return: the key.
 */
u64 pshare_key(u64 hash, u32 domain)
{
	if (pshare_hash_bits < 64)
		hash &= (1ULL << pshare_hash_bits) - 1;
	return hash ^ pshare_domain_salt(domain);
}

/* Can pages of regions @a and @b merge? */
bool pshare_same_domain(struct pshare_region *a, struct pshare_region *b)
{
	return pshare_merge_across_domains || READ_ONCE(a->domain) == READ_ONCE(b->domain);
}

u64 pshare_page_hash(struct page *page)
{
	void *addr = kmap_local_page(page);
	u64 hash = xxh64(addr, PAGE_SIZE, pshare_hash_seed);

	kunmap_local(addr);
	return hash;
}

bool pshare_page_is_zero(struct page *page)
{
	void *addr = kmap_local_page(page);
	bool zero = !memchr_inv(addr, 0, PAGE_SIZE);

	kunmap_local(addr);
	return zero;
}

bool pshare_pages_equal(struct page *a, struct page *b)
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

/* Hints of the last pshare_hint_passes + 1 scans are kept; older ones dropped. */
static bool pshare_keep_entry(unsigned long val, void *arg)
{
	u8 age;

	if (!pshare_val_is_hint(val))
		return true;
	if (arg)	/* drop all hints */
		return false;
	age = pshare_share_gen - pshare_hint_gen(val);
	return age <= READ_ONCE(pshare_hint_passes);
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

/* Insert hint @val, growing the table (and dropping stale hints) when full. */
int pshare_hint_add(u64 key, unsigned long val)
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
void pshare_hint_replace(u64 key, unsigned long old, unsigned long new)
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
 * @page: the shared frame, locked
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

/* Hints in the table: sysfs pages_hinted. */
unsigned long pshare_pages_hinted(void)
{
	return READ_ONCE(pshare_table.nr_hints);
}


/* Could a page with content hash @hash hold only zeros? */
bool pshare_hash_of_zero(u64 hash)
{
	return hash == pshare_zero_hash;
}

/* Full passes so far, modulo 256: the scanner stamps its records with it. */
u8 pshare_share_pass(void)
{
	return pshare_share_gen;
}

/* The hint value for @ppn of @r, stamped with the current generation. */
unsigned long pshare_hint_of(struct pshare_region *r, pgoff_t ppn)
{
	return pshare_hint_val(r->id, ppn, pshare_share_gen);
}

/**
 * pshare_share_find - what the table holds for a candidate page
 * @key: the candidate's key
 * @mine: the candidate's own hint (pshare_hint_of())
 * @hint: set to the first hint under @key if it names another page, else 0
 *
 * One hold of the table's lock for a visit of the scanner: a shared frame
 * under @key is returned, referenced (in the table, so alive: removal
 * precedes the free). Else the first hint under @key, if it names another
 * page, goes back in @hint for the caller to check. Else the candidate's
 * own hint is renewed (stamped with this pass) or added; a table too full
 * to add to grows first (pshare_hint_add(), outside the lock).
 *
 * Return: the shared frame, or NULL.
 */
struct page *pshare_share_find(u64 key, unsigned long mine, unsigned long *hint)
{
	struct pshare_table *t = &pshare_table;
	unsigned long pos = ULONG_MAX, first_pos = 0, val, first = 0;
	struct page *frame = NULL;
	int err = 0;

	*hint = 0;
	mutex_lock(&t->lock);
	while ((val = pshare_table_next(t, key, &pos))) {
		if (!pshare_val_is_hint(val)) {
			frame = (struct page *)val;
			get_page(frame);
			goto out;
		}
		if (!first) {
			first = val;
			first_pos = pos;
		}
	}
	if (!first)
		err = pshare_table_insert(t, key, mine);
	else if (!pshare_hint_same_page(first, mine))
		*hint = first;
	else if (first != mine)
		pshare_table_replace_at(t, first_pos, first, mine);
out:
	mutex_unlock(&t->lock);
	if (err == -ENOSPC)
		pshare_hint_add(key, mine);
	return frame;
}

/**
 * pshare_share_promote - make a hint's page the shared frame of its key
 * @r: the region of the hint's page
 * @page: the hint's page, the locked private frame of one PPN of @r
 * @key: its key
 * @hint: the hint that named it, replaced in its slot by the frame
 *
 * The caller compared @page in full with a candidate and repoints the
 * candidate's PPN at it next.
 */
void pshare_share_promote(struct pshare_region *r, struct page *page,
			  u64 key, unsigned long hint)
{
	VM_BUG_ON_PAGE(pshare_frame_shared(page) ||
		       pshare_frame_users(page) != 1, page);
	pshare_frame_set_key(page, key);
	set_page_private(page, page_private(page) | PSHARE_FRAME_SHARED);
	pshare_account_move(r, PSHARE_COUNT_PRIVATE, PSHARE_COUNT_SHARED);
	atomic_long_inc(&pshare_stats.frames_shared);

	mutex_lock(&pshare_table.lock);
	pshare_table_replace(&pshare_table, key, hint, (unsigned long)page);
	mutex_unlock(&pshare_table.lock);
}

/* Drop every hint. Caller holds pshare_scan_mutex: nobody adds one. */
void pshare_drop_hints(void)
{
	pshare_table_resize(READ_ONCE(pshare_table.nr_frames), true);
}

/* A full pass is over: stamp a new generation, and shrink a sparse table. */
void pshare_share_wrapped(void)
{
	struct pshare_table *t = &pshare_table;
	unsigned long n;

	pshare_share_gen++;

	mutex_lock(&t->lock);
	n = t->nr_frames + t->nr_hints;
	if (t->nslots <= 4 * pshare_table_size_for(n))
		n = 0;
	mutex_unlock(&t->lock);
	/* Only the scanner adds entries, and it is here: n stays enough. */
	if (n)
		pshare_table_resize(n, false);
}

int pshare_share_init(void)
{
	void *zero;

	zero = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!zero)
		return -ENOMEM;
	pshare_hash_seed = get_random_u64();
	pshare_zero_hash = xxh64(zero, PAGE_SIZE, pshare_hash_seed);
	kfree(zero);
	return pshare_table_init(&pshare_table, 0);
}

void pshare_share_exit(void)
{
	/* No region is left, so no shared frame: only hints remain. */
	WARN_ON(pshare_table.nr_frames);
	pshare_table_destroy(&pshare_table);
}
