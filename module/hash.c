// SPDX-License-Identifier: GPL-2.0
/*
 * hash.c - the content hash table of shared frames and hints.
 */

/**
 * DOC: the hash table
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

/*
 * The helpers below work on one slot array, @s of @n slots: the table's
 * own, or the one a rebuild drains (pshare_table_rebuild_begin()).
 */
static inline unsigned long pshare_home_in(unsigned long n, u64 key)
{
	/*
	 * Multiply-shift maps the key onto any table size. The key is mixed
	 * first so that keys truncated to a few bits (the debug knob) still
	 * spread.
	 */
	return mul_u64_u64_shr(key * 0x9e3779b97f4a7c15ULL, n, 64);
}

static inline unsigned long pshare_next_in(unsigned long n, unsigned long i)
{
	return ++i == n ? 0 : i;
}

/* How far slot @i is from the home of the entry it holds. */
static inline unsigned long pshare_dist_in(const struct pshare_slot *s,
					   unsigned long n, unsigned long i)
{
	unsigned long home = pshare_home_in(n, s[i].key);

	return i >= home ? i - home : i + n - home;
}

static inline unsigned long pshare_home(const struct pshare_table *t, u64 key)
{
	return pshare_home_in(t->nslots, key);
}

static inline unsigned long pshare_dist(const struct pshare_table *t,
					unsigned long i)
{
	return pshare_dist_in(t->slots, t->nslots, i);
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
	t->old = NULL;
	t->old_nslots = 0;
	t->nr_frames = 0;
	t->nr_hints = 0;
	t->rebuilds = 0;
	mutex_init(&t->lock);
	return 0;
}

void pshare_table_destroy(struct pshare_table *t)
{
	WARN_ON_ONCE(t->old);
	kvfree(t->old);
	kvfree(t->slots);
	t->slots = NULL;
	t->nslots = 0;
	mutex_destroy(&t->lock);
}

/* The walk of pshare_table_next() within one slot array; @pos as there. */
static unsigned long pshare_probe(const struct pshare_slot *s, unsigned long n,
				  u64 key, unsigned long *pos)
{
	unsigned long i, dist;

	if (*pos == ULONG_MAX) {
		i = pshare_home_in(n, key);
		dist = 0;
	} else {
		i = pshare_next_in(n, *pos);
		dist = pshare_dist_in(s, n, *pos) + 1;
	}
	for (; dist < n; i = pshare_next_in(n, i), dist++) {
		/* Robin Hood: past a richer entry, @key cannot follow. */
		if (!s[i].val || pshare_dist_in(s, n, i) < dist)
			return 0;
		if (s[i].key == key) {
			*pos = i;
			return s[i].val;
		}
	}
	return 0;
}

/**
 * pshare_table_next - the next entry with @key
 * @t: the table
 * @key: the key looked for
 * @pos: probe position; set it to ULONG_MAX before the first call
 *
 * Returns the value, or 0 when no further entry has @key. Entries that
 * share a key sit together, so walking them costs one probe each. While a
 * rebuild drains the old slots, the walk goes on into them (@pos beyond
 * t->nslots).
 */
unsigned long pshare_table_next(struct pshare_table *t, u64 key,
				unsigned long *pos)
{
	unsigned long val, opos;

	lockdep_assert_held(&t->lock);
	if (*pos == ULONG_MAX || *pos < t->nslots) {
		val = pshare_probe(t->slots, t->nslots, key, pos);
		if (val || !t->old)
			return val;
		opos = ULONG_MAX;
	} else {
		opos = *pos - t->nslots;
	}
	if (!t->old)
		return 0;
	val = pshare_probe(t->old, t->old_nslots, key, &opos);
	if (val)
		*pos = t->nslots + opos;
	return val;
}

static void pshare_count(struct pshare_table *t, unsigned long val, long nr)
{
	if (pshare_val_is_hint(val))
		t->nr_hints += nr;
	else
		t->nr_frames += nr;
}

static void pshare_insert_in(struct pshare_slot *slots, unsigned long n,
			     u64 key, unsigned long val)
{
	unsigned long i = pshare_home_in(n, key), dist = 0;

	for (;; i = pshare_next_in(n, i), dist++) {
		struct pshare_slot *s = &slots[i];
		unsigned long sdist;

		if (!s->val) {
			s->key = key;
			s->val = val;
			return;
		}
		sdist = pshare_dist_in(slots, n, i);
		if (sdist < dist) {
			swap(s->key, key);
			swap(s->val, val);
			dist = sdist;
		}
	}
}

/* Empty slot @i and shift the following entries back until one is at home. */
static void pshare_remove_at(struct pshare_slot *s, unsigned long n,
			     unsigned long i)
{
	unsigned long next;

	for (;;) {
		next = pshare_next_in(n, i);
		if (!s[next].val || pshare_dist_in(s, n, next) == 0)
			break;
		s[i] = s[next];
		i = next;
	}
	s[i].key = 0;
	s[i].val = 0;
}

/**
 * pshare_table_insert - add an entry
 * @t: the table, its lock held
 * @key: the entry's key
 * @val: a shared frame or a hint (pshare_hint_val())
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
	pshare_insert_in(t->slots, t->nslots, key, val);
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
	unsigned long i = pshare_find(t, key, val);

	if (i == ULONG_MAX)
		return false;
	if (i < t->nslots) {
		pshare_remove_at(t->slots, t->nslots, i);
	} else {
		pshare_remove_at(t->old, t->old_nslots, i - t->nslots);
		t->old_left--;
	}
	pshare_count(t, val, -1);
	return true;
}

/*
 * Swap @old, the value pshare_table_next() just returned at @pos (the
 * table's lock held since), for @new, in place: no second probe.
 */
void pshare_table_replace_at(struct pshare_table *t, unsigned long pos,
			     unsigned long old, unsigned long new)
{
	struct pshare_slot *s;

	lockdep_assert_held(&t->lock);
	s = pos < t->nslots ? &t->slots[pos] : &t->old[pos - t->nslots];
	if (WARN_ON_ONCE(!new || s->val != old))
		return;
	s->val = new;
	pshare_count(t, old, -1);
	pshare_count(t, new, 1);
}

/* Swap the value of the entry (@key, @old) for @new, in place. */
bool pshare_table_replace(struct pshare_table *t, u64 key, unsigned long old,
			  unsigned long new)
{
	unsigned long i = pshare_find(t, key, old);

	if (i == ULONG_MAX || WARN_ON_ONCE(!new))
		return false;
	pshare_table_replace_at(t, i, old, new);
	return true;
}

/**
 * pshare_table_rebuild_begin - start moving the entries into @slots
 * @t: the table, its lock held
 * @slots: zeroed, allocated by the caller (kvcalloc()) before it took the
 *	table's lock; the table owns it on success
 * @nslots: its size
 * @most: the most entries @keep can keep: the caller knows (all of them,
 *	or the frames when it drops every hint); entries kept beyond it are
 *	dropped with a warning
 * @keep: if not NULL, entries it refuses are dropped as they are moved
 *	(stale hints); it is called with the lock held, @arg passed on
 * @arg: passed to @keep
 *
 * From here on new entries go into @slots, and the old slots are drained
 * into them by pshare_table_rebuild_step(), a few at a time, so that the
 * caller can let the lock go in between: lookups, removals and
 * replacements see both arrays meanwhile (insertions too, but only the
 * scanner inserts, and it is the one rebuilding). @most entries must fit
 * @nslots, or it is -ENOSPC and the table is left as it was, @slots still
 * the caller's. -EBUSY while another rebuild is under way.
 */
int pshare_table_rebuild_begin(struct pshare_table *t, struct pshare_slot *slots,
			       unsigned long nslots, unsigned long most,
			       bool (*keep)(unsigned long val, void *arg), void *arg)
{
	lockdep_assert_held(&t->lock);
	if (t->old)
		return -EBUSY;
	if (nslots < PSHARE_TABLE_MIN ||
	    most * PSHARE_LOAD_MAX_DEN > nslots * PSHARE_LOAD_MAX_NUM)
		return -ENOSPC;
	t->old = t->slots;
	t->old_nslots = t->nslots;
	t->old_left = t->nr_frames + t->nr_hints;
	t->old_pos = 0;
	t->keep = keep;
	t->keep_arg = arg;
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

/**
 * pshare_table_rebuild_step - move up to @budget slots' worth of entries
 * @t: the table, its lock held
 * @budget: old slots to drain
 *
 * Returns true once the old slots are empty and freed, false when more is
 * left. The drain goes up the old array: every slot below its position is
 * empty, and a removal meanwhile only shifts entries back from above it
 * (wrapping into slot 0 needs slot 0 full, which it no longer is).
 */
bool pshare_table_rebuild_step(struct pshare_table *t, unsigned long budget)
{
	struct pshare_slot *o = t->old;
	unsigned long n = t->old_nslots;

	lockdep_assert_held(&t->lock);
	if (!o)
		return true;
	while (t->old_left && t->old_pos < n && budget--) {
		struct pshare_slot e = o[t->old_pos];

		if (!e.val) {
			t->old_pos++;
			continue;
		}
		/* The entry shifted into this slot is looked at next. */
		pshare_remove_at(o, n, t->old_pos);
		t->old_left--;
		/* Entries in the new slots: all but those still in the old. */
		if ((!t->keep || t->keep(e.val, t->keep_arg)) &&
		    !WARN_ON_ONCE(t->nr_frames + t->nr_hints - t->old_left >= t->nslots))
			pshare_insert_in(t->slots, t->nslots, e.key, e.val);
		else
			pshare_count(t, e.val, -1);
	}
	if (t->old_left && t->old_pos < n)
		return false;
	WARN_ON_ONCE(t->old_left);
	t->old = NULL;
	t->old_nslots = 0;
	t->rebuilds++;
	kvfree(o);
	return true;
}

/**
 * pshare_table_rebuild_into - move the entries into @slots at once
 * @t: the table, its lock held
 * @slots: zeroed, allocated by the caller
 * @nslots: its size
 * @keep: as for pshare_table_rebuild_begin()
 * @arg: passed to @keep
 *
 * pshare_table_rebuild_begin() and every step under one hold of the lock,
 * for as many entries as @keep keeps (a pass over the slots counts them).
 */
int pshare_table_rebuild_into(struct pshare_table *t, struct pshare_slot *slots,
			      unsigned long nslots,
			      bool (*keep)(unsigned long val, void *arg), void *arg)
{
	unsigned long i, kept = 0;
	int err;

	lockdep_assert_held(&t->lock);
	for (i = 0; i < t->nslots; i++)
		if (t->slots[i].val && (!keep || keep(t->slots[i].val, arg)))
			kept++;
	err = pshare_table_rebuild_begin(t, slots, nslots, kept, keep, arg);
	if (err)
		return err;
	while (!pshare_table_rebuild_step(t, ULONG_MAX))
		;
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
 * @t: the table, its lock held
 * @nslots: the new size
 * @keep: if not NULL, entries it refuses are dropped (stale hints)
 * @arg: passed to @keep
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
