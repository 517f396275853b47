// SPDX-License-Identifier: GPL-2.0
/*
 * hash.c - the content hash table of shared frames and hints.
 *
 * Robin Hood linear probing: an entry sits at its home slot or after it,
 * and an insert that has probed further than the entry in its way takes
 * that slot and carries the richer entry on. Probe distances stay short
 * even at 90% load, which is what lets 16-byte slots keep the table within
 * about 0.5% of the memory it indexes. Deletion shifts the following
 * entries back, so there are no tombstones.
 *
 * The table knows nothing of pages: a value is an opaque nonzero word. It
 * has no lock of its own choosing: callers hold t->lock (and the KUnit
 * tests in hash_kunit.c exercise it alone).
 */
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/lockdep.h>

#include "hash.h"

/* Grow beyond 9/10 full; rebuild to 4/5 full. */
#define PSHARE_LOAD_MAX_NUM	9
#define PSHARE_LOAD_MAX_DEN	10
#define PSHARE_LOAD_NEW_NUM	5
#define PSHARE_LOAD_NEW_DEN	4
#define PSHARE_TABLE_MIN	64

static inline unsigned long pshare_home(const struct pshare_table *t, u64 key)
{
	/*
	 * Multiply-shift maps the key onto any table size. The key is mixed
	 * first so that keys truncated to a few bits (the debug knob) still
	 * spread.
	 */
	return mul_u64_u64_shr(key * 0x9e3779b97f4a7c15ULL, t->nslots, 64);
}

static inline unsigned long pshare_next_slot(const struct pshare_table *t,
					     unsigned long i)
{
	return ++i == t->nslots ? 0 : i;
}

/* How far slot @i is from the home of the entry it holds. */
static inline unsigned long pshare_dist(const struct pshare_table *t,
					unsigned long i)
{
	unsigned long home = pshare_home(t, t->slots[i].key);

	return i >= home ? i - home : i + t->nslots - home;
}

/* Slots for @entries live entries at the load a rebuild aims for. */
unsigned long pshare_table_size_for(unsigned long entries)
{
	return max_t(unsigned long, PSHARE_TABLE_MIN,
		     entries * PSHARE_LOAD_NEW_NUM / PSHARE_LOAD_NEW_DEN);
}

int pshare_table_init(struct pshare_table *t, unsigned long nslots)
{
	nslots = max_t(unsigned long, nslots, PSHARE_TABLE_MIN);
	t->slots = kvcalloc(nslots, sizeof(*t->slots), GFP_KERNEL);
	if (!t->slots)
		return -ENOMEM;
	t->nslots = nslots;
	t->nr_frames = 0;
	t->nr_hints = 0;
	t->rebuilds = 0;
	mutex_init(&t->lock);
	return 0;
}

void pshare_table_destroy(struct pshare_table *t)
{
	kvfree(t->slots);
	t->slots = NULL;
	t->nslots = 0;
	mutex_destroy(&t->lock);
}

/**
 * pshare_table_next - the next entry with @key
 * @pos: probe position; set it to ULONG_MAX before the first call
 *
 * Returns the value, or 0 when no further entry has @key. Entries that
 * share a key sit together, so walking them costs one probe each.
 */
unsigned long pshare_table_next(struct pshare_table *t, u64 key,
				unsigned long *pos)
{
	unsigned long i, dist;

	lockdep_assert_held(&t->lock);
	if (*pos == ULONG_MAX) {
		i = pshare_home(t, key);
		dist = 0;
	} else {
		i = pshare_next_slot(t, *pos);
		dist = pshare_dist(t, *pos) + 1;
	}
	for (; dist < t->nslots; i = pshare_next_slot(t, i), dist++) {
		struct pshare_slot *s = &t->slots[i];

		/* Robin Hood: past a richer entry, @key cannot follow. */
		if (!s->val || pshare_dist(t, i) < dist)
			return 0;
		if (s->key == key) {
			*pos = i;
			return s->val;
		}
	}
	return 0;
}

static void pshare_count(struct pshare_table *t, unsigned long val, long nr)
{
	if (pshare_val_is_hint(val))
		t->nr_hints += nr;
	else
		t->nr_frames += nr;
}

static void __pshare_table_insert(struct pshare_table *t, u64 key,
				  unsigned long val)
{
	unsigned long i = pshare_home(t, key), dist = 0;

	for (;; i = pshare_next_slot(t, i), dist++) {
		struct pshare_slot *s = &t->slots[i];
		unsigned long sdist;

		if (!s->val) {
			s->key = key;
			s->val = val;
			return;
		}
		sdist = pshare_dist(t, i);
		if (sdist < dist) {
			swap(s->key, key);
			swap(s->val, val);
			dist = sdist;
		}
	}
}

/**
 * pshare_table_insert - add an entry
 *
 * Returns -ENOSPC when the table is too full: the caller rebuilds it
 * bigger (an allocation the caller, not a hot path, should make).
 */
int pshare_table_insert(struct pshare_table *t, u64 key, unsigned long val)
{
	lockdep_assert_held(&t->lock);
	if (WARN_ON_ONCE(!val))
		return -EINVAL;
	if ((t->nr_frames + t->nr_hints + 1) * PSHARE_LOAD_MAX_DEN >
	    t->nslots * PSHARE_LOAD_MAX_NUM)
		return -ENOSPC;
	__pshare_table_insert(t, key, val);
	pshare_count(t, val, 1);
	return 0;
}

static unsigned long pshare_find(struct pshare_table *t, u64 key,
				 unsigned long val)
{
	unsigned long pos = ULONG_MAX, v;

	while ((v = pshare_table_next(t, key, &pos)))
		if (v == val)
			return pos;
	return ULONG_MAX;
}

/* Remove the entry (@key, @val); false when there is none. */
bool pshare_table_remove(struct pshare_table *t, u64 key, unsigned long val)
{
	unsigned long i = pshare_find(t, key, val), next;

	if (i == ULONG_MAX)
		return false;
	/* Shift the following entries back until one is at home. */
	for (;;) {
		next = pshare_next_slot(t, i);
		if (!t->slots[next].val || pshare_dist(t, next) == 0)
			break;
		t->slots[i] = t->slots[next];
		i = next;
	}
	t->slots[i].key = 0;
	t->slots[i].val = 0;
	pshare_count(t, val, -1);
	return true;
}

/* Swap the value of the entry (@key, @old) for @new, in place. */
bool pshare_table_replace(struct pshare_table *t, u64 key, unsigned long old,
			  unsigned long new)
{
	unsigned long i = pshare_find(t, key, old);

	if (i == ULONG_MAX || WARN_ON_ONCE(!new))
		return false;
	t->slots[i].val = new;
	pshare_count(t, old, -1);
	pshare_count(t, new, 1);
	return true;
}

/**
 * pshare_table_rebuild_into - move the entries into @slots, @nslots slots
 * @slots: zeroed, allocated by the caller (kvcalloc()) before it took the
 *	table's lock; the table owns it on success
 * @keep: if not NULL, entries it refuses are dropped (stale hints)
 *
 * Returns -ENOSPC when @nslots cannot hold the kept entries: then the
 * table is left as it was and @slots is still the caller's.
 */
int pshare_table_rebuild_into(struct pshare_table *t, struct pshare_slot *slots,
			      unsigned long nslots,
			      bool (*keep)(unsigned long val, void *arg), void *arg)
{
	struct pshare_slot *old = t->slots, *s;
	unsigned long i, old_nslots = t->nslots, kept = 0;

	lockdep_assert_held(&t->lock);
	for (i = 0; i < old_nslots; i++)
		if (old[i].val && (!keep || keep(old[i].val, arg)))
			kept++;
	if (nslots < PSHARE_TABLE_MIN ||
	    kept * PSHARE_LOAD_MAX_DEN > nslots * PSHARE_LOAD_MAX_NUM)
		return -ENOSPC;

	t->slots = slots;
	t->nslots = nslots;
	t->nr_frames = 0;
	t->nr_hints = 0;
	for (s = old; s < old + old_nslots; s++) {
		if (!s->val || (keep && !keep(s->val, arg)))
			continue;
		__pshare_table_insert(t, s->key, s->val);
		pshare_count(t, s->val, 1);
	}
	t->rebuilds++;
	kvfree(old);
	return 0;
}

/* Slot arrays for a rebuild: allocate them without holding the table's lock. */
struct pshare_slot *pshare_table_alloc_slots(unsigned long nslots)
{
	return kvcalloc(max_t(unsigned long, nslots, PSHARE_TABLE_MIN),
			sizeof(struct pshare_slot), GFP_KERNEL);
}

/**
 * pshare_table_rebuild - move the entries into a table of @nslots slots
 * @keep: if not NULL, entries it refuses are dropped (stale hints)
 *
 * Allocates under the lock: for tests. Returns -ENOMEM (and leaves the
 * table as it was) when the allocation fails, -ENOSPC when @nslots cannot
 * hold the kept entries.
 */
int pshare_table_rebuild(struct pshare_table *t, unsigned long nslots,
			 bool (*keep)(unsigned long val, void *arg), void *arg)
{
	struct pshare_slot *slots;
	int err;

	nslots = max_t(unsigned long, nslots, PSHARE_TABLE_MIN);
	slots = pshare_table_alloc_slots(nslots);
	if (!slots)
		return -ENOMEM;
	err = pshare_table_rebuild_into(t, slots, nslots, keep, arg);
	if (err)
		kvfree(slots);
	return err;
}

/*
 * Probe distances of the entries in slots [@from, @to), added to @hist:
 * how long lookups walk. Returns the slot to go on from, or the table's
 * size when done. A reader takes the table a chunk at a time.
 */
unsigned long pshare_table_histogram_add(struct pshare_table *t,
					 unsigned long hist[PSHARE_TABLE_HIST],
					 unsigned long from, unsigned long to)
{
	unsigned long i;

	lockdep_assert_held(&t->lock);
	to = min(to, t->nslots);
	for (i = from; i < to; i++)
		if (t->slots[i].val)
			hist[min_t(unsigned long, pshare_dist(t, i),
				   PSHARE_TABLE_HIST - 1)]++;
	return to;
}

/* Probe distances of all entries. */
void pshare_table_histogram(struct pshare_table *t,
			    unsigned long hist[PSHARE_TABLE_HIST])
{
	memset(hist, 0, sizeof(unsigned long) * PSHARE_TABLE_HIST);
	pshare_table_histogram_add(t, hist, 0, t->nslots);
}
