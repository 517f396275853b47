// SPDX-License-Identifier: GPL-2.0
/*
 * hash_kunit.c - KUnit tests of the content hash table (hash.c).
 *
 * The table is pure logic over opaque values, so it is tested here on its
 * own: hash.c is compiled into this test module (it needs nothing else of
 * pshare.ko). Values are made-up words, never dereferenced: even ones stand
 * for struct page pointers of shared frames, odd ones are hints.
 *
 * Sharing domains salt the key in scan.c before it reaches the table; they
 * are not the table's business and are tested by the kselftests.
 *
 * Every table function asserts that t->lock is held (lockdep), so the
 * tests take it as the scanner does.
 */
#include <kunit/test.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/xxhash.h>

#include "hash.c"
#include "pshare.h"

/* A made-up shared-frame value: aligned like a struct page pointer. */
static unsigned long kt_frame(unsigned long n)
{
	return (n + 1) * 64;
}

/* A made-up hint value of region @n. */
static unsigned long kt_hint(unsigned long n)
{
	return pshare_hint_val(n % PSHARE_REGION_ID_MAX + 1, n, n);
}

static void kt_init(struct kunit *test, struct pshare_table *t,
		    unsigned long nslots)
{
	KUNIT_ASSERT_EQ(test, 0, pshare_table_init(t, nslots));
	mutex_lock(&t->lock);
}

static void kt_destroy(struct pshare_table *t)
{
	mutex_unlock(&t->lock);
	pshare_table_destroy(t);
}

/* How many entries (@key, @val) the walk over @key finds. */
static unsigned int kt_count(struct pshare_table *t, u64 key,
			     unsigned long val)
{
	unsigned long pos = ULONG_MAX, v;
	unsigned int n = 0;

	while ((v = pshare_table_next(t, key, &pos)))
		if (v == val)
			n++;
	return n;
}

/* How many entries the walk over @key returns at all. */
static unsigned int kt_count_key(struct pshare_table *t, u64 key)
{
	unsigned long pos = ULONG_MAX;
	unsigned int n = 0;

	while (pshare_table_next(t, key, &pos))
		n++;
	return n;
}

/* Entries in the slots, counted directly. */
static unsigned long kt_occupied(struct pshare_table *t)
{
	unsigned long i, n = 0;

	for (i = 0; i < t->nslots; i++)
		if (t->slots[i].val)
			n++;
	return n;
}

/*
 * The Robin Hood invariants: an entry after an empty slot is at home, and
 * probe distances grow by at most one from slot to slot. Returns the first
 * slot that breaks them, or ULONG_MAX.
 */
static unsigned long kt_bad_slot(struct pshare_table *t)
{
	unsigned long i, prev;

	for (i = 0; i < t->nslots; i++) {
		prev = i ? i - 1 : t->nslots - 1;
		if (!t->slots[i].val)
			continue;
		if (!t->slots[prev].val) {
			if (pshare_dist(t, i) != 0)
				return i;
		} else if (pshare_dist(t, i) > pshare_dist(t, prev) + 1) {
			return i;
		}
	}
	return ULONG_MAX;
}

/* ----------------------------------------------------------------------
 * Hint encoding
 * ----------------------------------------------------------------------
 */

struct kt_hint_case {
	const char *name;
	u32 id;
	unsigned long ppn;
	u8 gen;
};

static const struct kt_hint_case kt_hint_cases[] = {
	{ "all zero",		0, 0, 0 },
	{ "all one",		1, 1, 1 },
	{ "ppn max",		0, (1UL << PSHARE_HINT_PPN_BITS) - 1, 0 },
	{ "gen max",		0, 0, 255 },
	{ "id max",		PSHARE_REGION_ID_MAX, 0, 0 },
	{ "all max",		PSHARE_REGION_ID_MAX,
				(1UL << PSHARE_HINT_PPN_BITS) - 1, 255 },
	{ "ppn max, others 1",	1, (1UL << PSHARE_HINT_PPN_BITS) - 1, 1 },
	{ "mixed",		12345, 0x0abcdef, 0x5a },
};

static void kt_hint_case_desc(const struct kt_hint_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(kt_hint, kt_hint_cases, kt_hint_case_desc);

static void pshare_hash_hint_roundtrip(struct kunit *test)
{
	const struct kt_hint_case *c = test->param_value;
	unsigned long val = pshare_hint_val(c->id, c->ppn, c->gen);

	KUNIT_EXPECT_TRUE_MSG(test, pshare_val_is_hint(val),
			      "hint %#lx lacks bit 0", val);
	KUNIT_EXPECT_NE_MSG(test, val, 0UL, "a hint must not read as empty");
	KUNIT_EXPECT_EQ_MSG(test, pshare_hint_id(val), c->id,
			    "id of %#lx", val);
	KUNIT_EXPECT_EQ_MSG(test, pshare_hint_ppn(val), c->ppn,
			    "ppn of %#lx", val);
	KUNIT_EXPECT_EQ_MSG(test, pshare_hint_gen(val), c->gen,
			    "gen of %#lx", val);
}

/* The fields fill the word exactly, and frames never look like hints. */
static void pshare_hash_hint_limits(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL);

	KUNIT_EXPECT_EQ_MSG(test, pshare_hint_val(PSHARE_REGION_ID_MAX,
				(1UL << PSHARE_HINT_PPN_BITS) - 1, 255),
			    ULONG_MAX,
			    "largest id, ppn and gen should use every bit");
	KUNIT_EXPECT_EQ_MSG(test, (unsigned long)PSHARE_REGION_ID_MAX,
			    ULONG_MAX >> PSHARE_HINT_ID_SHIFT,
			    "PSHARE_REGION_ID_MAX should be the largest id that fits");
	/* Every PPN of the largest region fits the PPN field. */
	KUNIT_EXPECT_EQ(test, 1ULL << PSHARE_HINT_PPN_BITS,
			PSHARE_MAX_BYTES >> PAGE_SHIFT);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_FALSE_MSG(test, pshare_val_is_hint((unsigned long)page),
			       "the page of pfn %lu reads as a hint",
			       page_to_pfn(page));
	__free_page(page);
}

/* ----------------------------------------------------------------------
 * Insert and look up
 * ----------------------------------------------------------------------
 */

static void pshare_hash_insert_lookup(struct kunit *test)
{
	struct pshare_table t;
	unsigned long pos, i, n = 40;

	kt_init(test, &t, 64);
	KUNIT_EXPECT_EQ(test, t.nslots, 64UL);
	for (i = 0; i < n; i++) {
		unsigned long val = i & 1 ? kt_hint(i) : kt_frame(i);

		KUNIT_ASSERT_EQ_MSG(test, 0,
				    pshare_table_insert(&t, 1000 + i * 7919, val),
				    "insert %lu of %lu", i, n);
	}
	KUNIT_EXPECT_EQ(test, t.nr_frames, n / 2);
	KUNIT_EXPECT_EQ(test, t.nr_hints, n / 2);
	KUNIT_EXPECT_EQ(test, kt_occupied(&t), n);
	KUNIT_EXPECT_EQ(test, kt_bad_slot(&t), ULONG_MAX);

	for (i = 0; i < n; i++) {
		unsigned long val = i & 1 ? kt_hint(i) : kt_frame(i);

		pos = ULONG_MAX;
		KUNIT_EXPECT_EQ_MSG(test, pshare_table_next(&t, 1000 + i * 7919, &pos),
				    val, "lookup of entry %lu", i);
		KUNIT_EXPECT_EQ_MSG(test, pshare_table_next(&t, 1000 + i * 7919, &pos),
				    0UL, "entry %lu should be alone under its key", i);
	}
	/* Keys never inserted, including 0: nothing. */
	for (i = 0; i < 100; i++) {
		pos = ULONG_MAX;
		KUNIT_EXPECT_EQ_MSG(test, pshare_table_next(&t, i * 7919 + 1, &pos),
				    0UL, "key %lu was never inserted", i * 7919 + 1);
	}
	kt_destroy(&t);
}

/*
 * Several entries under one key, mixed with entries of other keys that
 * have the same home slot: the walk returns each of the key's entries once
 * and nothing else.
 */
struct kt_walk_case {
	const char *name;
	unsigned int same;	/* entries under the key */
	unsigned int neighbours;	/* other keys with the same home */
	unsigned long nslots;
};

static const struct kt_walk_case kt_walk_cases[] = {
	{ "one entry",			1, 0, 64 },
	{ "two entries",		2, 0, 64 },
	{ "seven entries",		7, 0, 64 },
	{ "seven, same-home keys",	7, 5, 64 },
	{ "forty, same-home keys",	40, 10, 64 },
	{ "two hundred in 1024 slots",	200, 30, 1024 },
};

static void kt_walk_case_desc(const struct kt_walk_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(kt_walk, kt_walk_cases, kt_walk_case_desc);

static void pshare_hash_same_key_walk(struct kunit *test)
{
	const struct kt_walk_case *c = test->param_value;
	const u64 key = 0x0123456789abcdefULL;
	unsigned long *seen, home, pos, v, i;
	unsigned int found = 0, neighbour = 0;
	struct pshare_table t;
	u64 k;

	seen = kunit_kcalloc(test, c->same, sizeof(*seen), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	kt_init(test, &t, c->nslots);
	home = pshare_home(&t, key);

	/* Interleave the key's entries with other keys of the same home. */
	for (i = 0, k = 1; i < c->same || neighbour < c->neighbours; i++) {
		if (i < c->same)
			KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t, key,
					i & 1 ? kt_hint(i) : kt_frame(i)));
		if (neighbour >= c->neighbours)
			continue;
		while (k == key || pshare_home(&t, k) != home)
			k++;
		KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t, k,
					kt_frame(100000 + neighbour)));
		neighbour++;
		k++;
	}
	KUNIT_EXPECT_EQ(test, kt_bad_slot(&t), ULONG_MAX);

	pos = ULONG_MAX;
	while ((v = pshare_table_next(&t, key, &pos))) {
		bool ours = false;

		for (i = 0; i < c->same; i++) {
			if (v == (i & 1 ? kt_hint(i) : kt_frame(i))) {
				seen[i]++;
				ours = true;
			}
		}
		KUNIT_EXPECT_TRUE_MSG(test, ours,
				      "walk of the key returned %#lx of another key", v);
		KUNIT_EXPECT_EQ_MSG(test, t.slots[pos].key, key,
				    "walk stopped at slot %lu of another key", pos);
		if (++found > c->same + c->neighbours)
			break;	/* a walk that does not end */
	}
	KUNIT_EXPECT_EQ(test, found, c->same);
	for (i = 0; i < c->same; i++)
		KUNIT_EXPECT_EQ_MSG(test, seen[i], 1UL,
				    "entry %lu of %u seen %lu times",
				    i, c->same, seen[i]);
	kt_destroy(&t);
}

/* ----------------------------------------------------------------------
 * Remove: randomized against a shadow array
 * ----------------------------------------------------------------------
 */

struct kt_entry {
	u64 key;
	unsigned long val;
};

/* Every live shadow entry is in the table once; every key's walk is exact. */
static bool kt_verify(struct kunit *test, struct pshare_table *t,
		      struct kt_entry *live, unsigned int nlive,
		      unsigned int op)
{
	unsigned long frames = 0, hints = 0, bad;
	unsigned int i, j, same;

	for (i = 0; i < nlive; i++) {
		if (kt_count(t, live[i].key, live[i].val) != 1) {
			KUNIT_FAIL(test, "op %u: entry (%llx, %#lx) found %u times",
				   op, live[i].key, live[i].val,
				   kt_count(t, live[i].key, live[i].val));
			return false;
		}
		for (same = 0, j = 0; j < nlive; j++)
			same += live[j].key == live[i].key;
		if (kt_count_key(t, live[i].key) != same) {
			KUNIT_FAIL(test, "op %u: key %llx walks %u entries, expected %u",
				   op, live[i].key, kt_count_key(t, live[i].key),
				   same);
			return false;
		}
		if (pshare_val_is_hint(live[i].val))
			hints++;
		else
			frames++;
	}
	bad = kt_bad_slot(t);
	if (bad != ULONG_MAX) {
		KUNIT_FAIL(test, "op %u: slot %lu breaks the Robin Hood order",
			   op, bad);
		return false;
	}
	if (t->nr_frames != frames || t->nr_hints != hints ||
	    kt_occupied(t) != nlive) {
		KUNIT_FAIL(test, "op %u: counts frames %lu hints %lu slots %lu, expected %lu %lu %u",
			   op, t->nr_frames, t->nr_hints, kt_occupied(t),
			   frames, hints, nlive);
		return false;
	}
	return true;
}

struct kt_random_case {
	const char *name;
	unsigned long nslots;
	unsigned int keys;	/* distinct keys drawn from */
	unsigned int ops;
	u64 seed;
};

static const struct kt_random_case kt_random_cases[] = {
	{ "64 slots, 8 keys",		64, 8, 4000, 1 },
	{ "64 slots, 1000 keys",	64, 1000, 4000, 2 },
	{ "1024 slots, 50 keys",	1024, 50, 8000, 3 },
	{ "1024 slots, 1M keys",	1024, 1000000, 8000, 4 },
};

static void kt_random_case_desc(const struct kt_random_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(kt_random, kt_random_cases, kt_random_case_desc);

static void pshare_hash_random_remove(struct kunit *test)
{
	const struct kt_random_case *c = test->param_value;
	unsigned int nlive = 0, cap, op, inserts = 0, removes = 0, phase;
	unsigned int peak = 0, at_cap = 0;
	unsigned long serial = 0;
	struct pshare_table t;
	struct kt_entry *live;
	struct rnd_state rnd;

	prandom_seed_state(&rnd, c->seed);
	kt_init(test, &t, c->nslots);
	/* The most the table takes before it asks for a rebuild. */
	cap = t.nslots * PSHARE_LOAD_MAX_NUM / PSHARE_LOAD_MAX_DEN;
	live = kunit_kcalloc(test, cap + 1, sizeof(*live), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, live);
	/* Long enough for a filling phase to reach the limit. */
	phase = 3 * cap;

	for (op = 0; op < c->ops; op++) {
		u32 r = prandom_u32_state(&rnd);
		/* Drift between empty and full: 70% or 30% inserts. */
		bool fill = (op / phase) % 2 == 0;
		bool insert = nlive == 0 ||
			      (nlive < cap && r % 100 < (fill ? 70 : 30));

		peak = max(peak, nlive);
		if (nlive == cap) {
			at_cap++;
			KUNIT_ASSERT_EQ_MSG(test, -ENOSPC,
					    pshare_table_insert(&t, r, kt_frame(0)),
					    "op %u: insert beyond the load limit", op);
		}

		if (insert) {
			struct kt_entry e;

			e.key = prandom_u32_state(&rnd) % c->keys;
			serial++;
			e.val = r & 0x100 ? kt_hint(serial) : kt_frame(serial);
			KUNIT_ASSERT_EQ_MSG(test, 0,
					    pshare_table_insert(&t, e.key, e.val),
					    "op %u: insert with %u of %lu slots used",
					    op, nlive, t.nslots);
			live[nlive++] = e;
			inserts++;
			if (kt_count(&t, e.key, e.val) != 1) {
				KUNIT_FAIL(test, "op %u: inserted entry not found", op);
				break;
			}
		} else {
			unsigned int i = prandom_u32_state(&rnd) % nlive;
			struct kt_entry e = live[i];

			KUNIT_ASSERT_TRUE_MSG(test,
					      pshare_table_remove(&t, e.key, e.val),
					      "op %u: remove of a live entry failed", op);
			live[i] = live[--nlive];
			removes++;
			if (kt_count(&t, e.key, e.val)) {
				KUNIT_FAIL(test, "op %u: removed entry still found", op);
				break;
			}
			/* A second remove finds nothing. */
			KUNIT_ASSERT_FALSE_MSG(test,
					       pshare_table_remove(&t, e.key, e.val),
					       "op %u: removed twice", op);
		}
		if ((op % 128 == 0 || op == c->ops - 1) &&
		    !kt_verify(test, &t, live, nlive, op))
			break;
	}
	/* Both paths ran, and the table was full at times. */
	KUNIT_EXPECT_GT(test, inserts, c->ops / 4);
	KUNIT_EXPECT_GT(test, removes, c->ops / 4);
	KUNIT_EXPECT_EQ_MSG(test, peak, cap, "the table never filled up");
	KUNIT_EXPECT_GT(test, at_cap, 0U);
	kt_destroy(&t);
}

/* Removing from the middle of a run of equal keys keeps the rest. */
static void pshare_hash_remove_run(struct kunit *test)
{
	struct pshare_table t;
	unsigned long i, j;

	kt_init(test, &t, 64);
	for (j = 0; j < 10; j++) {
		for (i = 0; i < 10; i++)
			KUNIT_ASSERT_EQ(test, 0,
					pshare_table_insert(&t, 5, kt_frame(i)));
		/* Remove in an order that is neither first nor last. */
		for (i = 0; i < 10; i++) {
			unsigned long gone = (i * 3 + j) % 10, k;

			KUNIT_ASSERT_TRUE(test, pshare_table_remove(&t, 5,
							kt_frame(gone)));
			KUNIT_EXPECT_EQ(test, kt_count_key(&t, 5),
					(unsigned int)(9 - i));
			for (k = 0; k < 10; k++)
				if (kt_count(&t, 5, kt_frame(k)) > 1)
					KUNIT_FAIL(test, "entry %lu duplicated", k);
		}
		KUNIT_EXPECT_EQ(test, t.nr_frames, 0UL);
		KUNIT_EXPECT_EQ(test, kt_occupied(&t), 0UL);
	}
	KUNIT_EXPECT_FALSE(test, pshare_table_remove(&t, 5, kt_frame(0)));
	kt_destroy(&t);
}

/* ----------------------------------------------------------------------
 * Replace
 * ----------------------------------------------------------------------
 */

static void pshare_hash_replace(struct kunit *test)
{
	unsigned long hint = kt_hint(7), frame = kt_frame(7), pos;
	struct pshare_table t;

	kt_init(test, &t, 64);
	KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t, 42, hint));
	KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t, 42, kt_hint(8)));
	KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t, 43, kt_frame(9)));
	KUNIT_EXPECT_EQ(test, t.nr_hints, 2UL);
	KUNIT_EXPECT_EQ(test, t.nr_frames, 1UL);

	/* A hint becomes a shared frame, in its slot. */
	KUNIT_EXPECT_TRUE(test, pshare_table_replace(&t, 42, hint, frame));
	KUNIT_EXPECT_EQ(test, t.nr_hints, 1UL);
	KUNIT_EXPECT_EQ(test, t.nr_frames, 2UL);
	KUNIT_EXPECT_EQ(test, kt_count(&t, 42, frame), 1U);
	KUNIT_EXPECT_EQ(test, kt_count(&t, 42, hint), 0U);
	KUNIT_EXPECT_EQ(test, kt_count(&t, 42, kt_hint(8)), 1U);

	/* Absent (key, value) pairs: nothing changes. */
	KUNIT_EXPECT_FALSE(test, pshare_table_replace(&t, 42, hint, kt_hint(10)));
	KUNIT_EXPECT_FALSE(test, pshare_table_replace(&t, 43, frame, kt_hint(10)));
	KUNIT_EXPECT_FALSE(test, pshare_table_replace(&t, 44, kt_frame(9),
						      kt_hint(10)));
	KUNIT_EXPECT_EQ(test, t.nr_hints, 1UL);
	KUNIT_EXPECT_EQ(test, t.nr_frames, 2UL);

	/* Hint for hint and frame for hint keep the totals right. */
	KUNIT_EXPECT_TRUE(test, pshare_table_replace(&t, 42, kt_hint(8),
						     kt_hint(11)));
	KUNIT_EXPECT_EQ(test, t.nr_hints, 1UL);
	KUNIT_EXPECT_TRUE(test, pshare_table_replace(&t, 43, kt_frame(9),
						     kt_hint(12)));
	KUNIT_EXPECT_EQ(test, t.nr_hints, 2UL);
	KUNIT_EXPECT_EQ(test, t.nr_frames, 1UL);
	pos = ULONG_MAX;
	KUNIT_EXPECT_EQ(test, pshare_table_next(&t, 43, &pos), kt_hint(12));
	KUNIT_EXPECT_EQ(test, kt_occupied(&t), 3UL);

	/* In place, where the walk found it: the same as by key and value. */
	pshare_table_replace_at(&t, pos, kt_hint(12), kt_frame(12));
	KUNIT_EXPECT_EQ(test, kt_count(&t, 43, kt_frame(12)), 1U);
	KUNIT_EXPECT_EQ(test, kt_count(&t, 43, kt_hint(12)), 0U);
	KUNIT_EXPECT_EQ(test, t.nr_hints, 1UL);
	KUNIT_EXPECT_EQ(test, t.nr_frames, 2UL);
	KUNIT_EXPECT_EQ(test, kt_occupied(&t), 3UL);
	kt_destroy(&t);
}

/* ----------------------------------------------------------------------
 * Load limit and rebuild
 * ----------------------------------------------------------------------
 */

static void pshare_hash_enospc_rebuild(struct kunit *test)
{
	unsigned long n, i, limit, old_nslots;
	struct pshare_slot *old_slots;
	struct pshare_table t;

	kt_init(test, &t, 0);
	KUNIT_EXPECT_EQ_MSG(test, t.nslots, (unsigned long)PSHARE_TABLE_MIN,
			    "a table is never smaller than PSHARE_TABLE_MIN");
	limit = t.nslots * PSHARE_LOAD_MAX_NUM / PSHARE_LOAD_MAX_DEN;

	for (n = 0; n <= t.nslots; n++)
		if (pshare_table_insert(&t, n * 31, kt_frame(n)))
			break;
	KUNIT_EXPECT_EQ_MSG(test, n, limit,
			    "%lu-slot table refused entry %lu", t.nslots, n + 1);
	KUNIT_EXPECT_EQ(test, -ENOSPC,
			pshare_table_insert(&t, 12345, kt_hint(1)));
	KUNIT_EXPECT_EQ(test, t.nr_frames, n);
	KUNIT_EXPECT_EQ(test, t.nr_hints, 0UL);

	/* Grown to the size scan.c asks for: everything still there. */
	old_nslots = t.nslots;
	KUNIT_ASSERT_EQ(test, 0, pshare_table_rebuild(&t,
				pshare_table_size_for(n + 1), NULL, NULL));
	KUNIT_EXPECT_GT(test, t.nslots, old_nslots);
	KUNIT_EXPECT_EQ(test, t.rebuilds, 1UL);
	KUNIT_EXPECT_EQ(test, t.nr_frames, n);
	KUNIT_EXPECT_EQ(test, kt_bad_slot(&t), ULONG_MAX);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ_MSG(test, kt_count(&t, i * 31, kt_frame(i)), 1U,
				    "entry %lu after the rebuild", i);
	KUNIT_EXPECT_EQ(test, 0, pshare_table_insert(&t, 12345, kt_hint(1)));
	KUNIT_EXPECT_EQ(test, t.nr_hints, 1UL);
	KUNIT_EXPECT_EQ(test, kt_count(&t, 12345, kt_hint(1)), 1U);

	/*
	 * Back to the smallest table: one entry more than it takes, so the
	 * rebuild is refused and the table left as it was.
	 */
	old_slots = t.slots;
	old_nslots = t.nslots;
	KUNIT_EXPECT_EQ(test, -ENOSPC,
			pshare_table_rebuild(&t, PSHARE_TABLE_MIN, NULL, NULL));
	KUNIT_EXPECT_PTR_EQ(test, t.slots, old_slots);
	KUNIT_EXPECT_EQ(test, t.nslots, old_nslots);
	KUNIT_EXPECT_EQ(test, t.rebuilds, 1UL);
	KUNIT_EXPECT_EQ(test, t.nr_frames + t.nr_hints, n + 1);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ_MSG(test, kt_count(&t, i * 31, kt_frame(i)), 1U,
				    "entry %lu after the refused rebuild", i);

	/* The sizing rule leaves room: a rebuilt table is below the limit. */
	for (i = 1; i < 100000; i = i * 3 + 1)
		KUNIT_EXPECT_LE_MSG(test, i * PSHARE_LOAD_MAX_DEN,
				    pshare_table_size_for(i) * PSHARE_LOAD_MAX_NUM,
				    "size_for(%lu) = %lu is over the limit", i,
				    pshare_table_size_for(i));
	kt_destroy(&t);
}

/* Drop every hint (arg counts the calls). */
static bool kt_keep_frames(unsigned long val, void *arg)
{
	(*(unsigned long *)arg)++;
	return !pshare_val_is_hint(val);
}

/* Keep hints of even generations, and all frames. */
static bool kt_keep_even_gen(unsigned long val, void *arg)
{
	(*(unsigned long *)arg)++;
	return !pshare_val_is_hint(val) || !(pshare_hint_gen(val) & 1);
}

struct kt_keep_case {
	const char *name;
	bool (*keep)(unsigned long val, void *arg);
	unsigned long nslots;	/* for the rebuild; 0: same size */
};

static const struct kt_keep_case kt_keep_cases[] = {
	{ "keep all, same size",	NULL, 0 },
	{ "drop hints, same size",	kt_keep_frames, 0 },
	{ "drop hints, shrink",		kt_keep_frames, 64 },
	{ "drop odd gens, grow",	kt_keep_even_gen, 1024 },
};

static void kt_keep_case_desc(const struct kt_keep_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}
KUNIT_ARRAY_PARAM(kt_keep, kt_keep_cases, kt_keep_case_desc);

static void pshare_hash_rebuild_keep(struct kunit *test)
{
	const struct kt_keep_case *c = test->param_value;
	unsigned long i, n = 150, calls = 0, frames = 0, hints = 0;
	struct pshare_table t;

	kt_init(test, &t, 256);
	for (i = 0; i < n; i++) {
		/* A third are frames; hints of generations 0..255. */
		unsigned long val = i % 3 ? pshare_hint_val(i + 1, i, i * 7)
					  : kt_frame(i);

		KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t, i % 17, val));
	}
	KUNIT_ASSERT_EQ(test, 0, pshare_table_rebuild(&t,
				c->nslots ? c->nslots : t.nslots, c->keep, &calls));
	if (c->keep)
		KUNIT_EXPECT_GE_MSG(test, calls, n,
				    "keep() should see every entry");

	for (i = 0; i < n; i++) {
		unsigned long val = i % 3 ? pshare_hint_val(i + 1, i, i * 7)
					  : kt_frame(i);
		bool kept = !c->keep || (c->keep == kt_keep_even_gen &&
					 !(pshare_hint_gen(val) & 1)) ||
			    !pshare_val_is_hint(val);
		KUNIT_EXPECT_EQ_MSG(test, kt_count(&t, i % 17, val),
				    kept ? 1U : 0U, "entry %lu (%#lx)", i, val);
		if (kept && pshare_val_is_hint(val))
			hints++;
		else if (kept)
			frames++;
	}
	KUNIT_EXPECT_EQ(test, t.nr_frames, frames);
	KUNIT_EXPECT_EQ(test, t.nr_hints, hints);
	KUNIT_EXPECT_EQ(test, kt_occupied(&t), frames + hints);
	KUNIT_EXPECT_EQ(test, t.nslots, c->nslots ? c->nslots : 256UL);
	KUNIT_EXPECT_EQ(test, t.rebuilds, 1UL);
	KUNIT_EXPECT_EQ(test, kt_bad_slot(&t), ULONG_MAX);
	kt_destroy(&t);
}

/*
 * A rebuild in small steps, with the table used in between as the COW path
 * uses it while the scanner rebuilds: entries are removed and replaced in
 * the old and the new slots, every live entry is found exactly once after
 * every step, and the end state is a sound table of the live entries.
 */
static void pshare_hash_rebuild_steps(struct kunit *test)
{
	enum { N = 200 };
	unsigned long *vals, i, live, steps = 0, calls = 0;
	struct pshare_slot *slots;
	struct pshare_table t;
	bool done = false;
	bool *gone;

	vals = kunit_kcalloc(test, N, sizeof(*vals), GFP_KERNEL);
	gone = kunit_kcalloc(test, N, sizeof(*gone), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vals);
	KUNIT_ASSERT_NOT_NULL(test, gone);
	kt_init(test, &t, 256);
	for (i = 0; i < N; i++) {
		/* Every fifth a hint of an odd generation (dropped). */
		vals[i] = i % 5 ? kt_frame(i) : pshare_hint_val(i + 1, i, 1);
		KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t, i % 23, vals[i]));
	}
	slots = pshare_table_alloc_slots(512);
	KUNIT_ASSERT_NOT_NULL(test, slots);
	KUNIT_ASSERT_EQ(test, 0, pshare_table_rebuild_begin(&t, slots, 512, N,
					kt_keep_even_gen, &calls));
	KUNIT_EXPECT_EQ(test, -EBUSY, pshare_table_rebuild_begin(&t, slots, 512,
					N, NULL, NULL));
	while (!done) {
		done = pshare_table_rebuild_step(&t, 7);
		steps++;
		/* Between steps: remove one live frame, replace another. */
		for (i = steps * 3 % N; i < N; i++) {
			if (gone[i] || pshare_val_is_hint(vals[i]))
				continue;
			KUNIT_EXPECT_TRUE(test, pshare_table_remove(&t, i % 23, vals[i]));
			gone[i] = true;
			break;
		}
		for (i = steps * 7 % N; i < N; i++) {
			if (gone[i] || pshare_val_is_hint(vals[i]))
				continue;
			KUNIT_EXPECT_TRUE(test, pshare_table_replace(&t, i % 23, vals[i],
								    vals[i] + 8));
			vals[i] += 8;
			break;
		}
		for (live = 0, i = 0; i < N; i++) {
			unsigned int n = kt_count(&t, i % 23, vals[i]);

			/* A hint goes when its step comes. */
			if (pshare_val_is_hint(vals[i])) {
				KUNIT_EXPECT_LE(test, n, done ? 0U : 1U);
				continue;
			}
			KUNIT_EXPECT_EQ_MSG(test, n, gone[i] ? 0U : 1U,
					    "entry %lu after step %lu", i, steps);
			if (!gone[i])
				live++;
		}
		KUNIT_ASSERT_LT(test, steps, 1000UL);
	}
	KUNIT_EXPECT_GT(test, steps, 10UL);
	KUNIT_EXPECT_PTR_EQ(test, t.old, (struct pshare_slot *)NULL);
	KUNIT_EXPECT_EQ(test, t.nslots, 512UL);
	KUNIT_EXPECT_EQ(test, t.nr_frames, live);
	KUNIT_EXPECT_EQ(test, t.nr_hints, 0UL);
	KUNIT_EXPECT_EQ(test, kt_occupied(&t), live);
	KUNIT_EXPECT_EQ(test, t.rebuilds, 1UL);
	KUNIT_EXPECT_EQ(test, kt_bad_slot(&t), ULONG_MAX);
	kt_destroy(&t);
}

/* ----------------------------------------------------------------------
 * Histogram
 * ----------------------------------------------------------------------
 */

static void pshare_hash_histogram(struct kunit *test)
{
	static const unsigned int fills[] = { 0, 1, 10, 500, 900 };
	unsigned long hist[PSHARE_TABLE_HIST], sum, deep, i, f;
	struct pshare_table t;

	for (f = 0; f < ARRAY_SIZE(fills); f++) {
		kt_init(test, &t, 1024);
		/* Few distinct keys: long runs, some beyond the last bucket. */
		for (i = 0; i < fills[f]; i++)
			KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t,
					i % (fills[f] / 20 + 1), kt_frame(i)));
		pshare_table_histogram(&t, hist);
		for (sum = 0, i = 0; i < PSHARE_TABLE_HIST; i++)
			sum += hist[i];
		KUNIT_EXPECT_EQ_MSG(test, sum, (unsigned long)fills[f],
				    "histogram of %u entries", fills[f]);
		/* Entries at distance >= 15 all land in the last bucket. */
		for (deep = 0, i = 0; i < t.nslots; i++)
			if (t.slots[i].val &&
			    pshare_dist(&t, i) >= PSHARE_TABLE_HIST - 1)
				deep++;
		KUNIT_EXPECT_EQ_MSG(test, hist[PSHARE_TABLE_HIST - 1], deep,
				    "last bucket of %u entries", fills[f]);
		if (fills[f])
			KUNIT_EXPECT_GT(test, hist[0], 0UL);
		kt_destroy(&t);
	}
}

/* The longest probe distance in the table. */
static unsigned long kt_max_dist(struct pshare_table *t)
{
	unsigned long i, max = 0;

	for (i = 0; i < t->nslots; i++)
		if (t->slots[i].val)
			max = max(max, pshare_dist(t, i));
	return max;
}

/*
 * Contents chosen to cluster. A guest that knows the hash function can
 * pick page contents whose keys all have a home slot in the first 1/64th
 * of any table (the home is the top bits of the mixed key): a guest page
 * is content it controls. With the scanner's seed fixed (0, as before it
 * was random), 32 such pages make one run of 32 entries; with a random
 * seed, the same pages spread like any others.
 */
static void pshare_hash_crafted_contents(struct kunit *test)
{
	enum { N = 32, SLOTS = 1024 };
	u64 *page = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	u64 chosen[N], seed, tries;
	struct pshare_table t;
	unsigned long fixed, seeded;
	int n = 0, i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	/* What the guest does, offline: vary one word until the key fits. */
	for (tries = 1; n < N && tries < 100000; tries++) {
		page[0] = tries;
		if ((xxh64(page, PAGE_SIZE, 0) * 0x9e3779b97f4a7c15ULL) >> 58 == 0)
			chosen[n++] = tries;
	}
	KUNIT_ASSERT_EQ(test, n, N);

	kt_init(test, &t, SLOTS);
	for (i = 0; i < N; i++) {
		page[0] = chosen[i];
		KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t,
				xxh64(page, PAGE_SIZE, 0), kt_frame(i)));
	}
	fixed = kt_max_dist(&t);
	kt_destroy(&t);

	seed = get_random_u64();
	kt_init(test, &t, SLOTS);
	for (i = 0; i < N; i++) {
		page[0] = chosen[i];
		KUNIT_ASSERT_EQ(test, 0, pshare_table_insert(&t,
				xxh64(page, PAGE_SIZE, seed), kt_frame(i)));
	}
	seeded = kt_max_dist(&t);
	kt_destroy(&t);

	kunit_info(test, "%d chosen pages in a %d-slot table: longest probe %lu with seed 0, %lu with a random seed\n",
		   N, SLOTS, fixed, seeded);
	/* All 32 homes fall in 16 slots: the run is at least 16 long. */
	KUNIT_EXPECT_GE(test, fixed, (unsigned long)N / 2);
	/*
	 * 32 random keys in 1024 slots: a probe of 8 needs 8 entries within
	 * a few slots of each other, about 1e-9 likely.
	 */
	KUNIT_EXPECT_LT(test, seeded, 8UL);
}

static struct kunit_case pshare_hash_cases[] = {
	KUNIT_CASE_PARAM(pshare_hash_hint_roundtrip, kt_hint_gen_params),
	KUNIT_CASE(pshare_hash_hint_limits),
	KUNIT_CASE(pshare_hash_insert_lookup),
	KUNIT_CASE_PARAM(pshare_hash_same_key_walk, kt_walk_gen_params),
	KUNIT_CASE_PARAM(pshare_hash_random_remove, kt_random_gen_params),
	KUNIT_CASE(pshare_hash_remove_run),
	KUNIT_CASE(pshare_hash_replace),
	KUNIT_CASE(pshare_hash_enospc_rebuild),
	KUNIT_CASE_PARAM(pshare_hash_rebuild_keep, kt_keep_gen_params),
	KUNIT_CASE(pshare_hash_rebuild_steps),
	KUNIT_CASE(pshare_hash_histogram),
	KUNIT_CASE(pshare_hash_crafted_contents),
	{}
};

static struct kunit_suite pshare_hash_suite = {
	.name = "pshare_hash",
	.test_cases = pshare_hash_cases,
};
kunit_test_suite(pshare_hash_suite);

MODULE_DESCRIPTION("KUnit tests of the pshare content hash table");
MODULE_LICENSE("GPL");
