/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The global content hash table of shared frames and hints.
 *
 * Open addressing with Robin Hood linear probing, 16 bytes a slot, so the
 * table stays near the paper's bound of 0.5% of the memory it indexes.
 * Entries with the same key may coexist (different content can hash
 * alike); a key match is only ever a reason to compare pages in full.
 */
#ifndef _PSHARE_HASH_H
#define _PSHARE_HASH_H

#include <linux/mutex.h>
#include <linux/types.h>

/**
 * struct pshare_slot - one slot of the table
 * @key:	content hash (xxh64 salted with the sharing domain)
 * @val:	0 when empty; a hint when bit 0 is set (see pshare_hint_val());
 *		otherwise the struct page of a shared frame
 */
struct pshare_slot {
	u64 key;
	unsigned long val;
};

/**
 * struct pshare_table - the hash table
 * @slots:	@nslots slots: where new entries go
 * @nslots:	size of @slots
 * @old:	while a rebuild is under way, the slots it drains into @slots
 *		(pshare_table_rebuild_step()); NULL otherwise
 * @old_nslots:	size of @old
 * @old_left:	entries still in @old
 * @old_pos:	where the drain goes on; every slot of @old below it is empty
 * @keep:	the rebuild's filter (NULL: keep all)
 * @keep_arg:	its argument
 * @nr_frames:	slots holding shared frames, in @slots and @old
 * @nr_hints:	slots holding hints, in @slots and @old
 * @rebuilds:	times the table was rebuilt (grown, shrunk or cleaned)
 * @lock:	serializes everything above; taken innermost, below page locks
 */
struct pshare_table {
	struct pshare_slot *slots;
	unsigned long nslots;
	struct pshare_slot *old;
	unsigned long old_nslots;
	unsigned long old_left;
	unsigned long old_pos;
	bool (*keep)(unsigned long val, void *arg);
	void *keep_arg;
	unsigned long nr_frames;
	unsigned long nr_hints;
	unsigned long rebuilds;
	struct mutex lock;
};

/*
 * A hint: bit 0 set, PPN in bits 1-28 (PSHARE_MAX_BYTES is 2^28 pages),
 * the scan generation that made it in bits 29-36, region id above.
 */
#define PSHARE_HINT_PPN_BITS	28
#define PSHARE_HINT_GEN_BITS	8
#define PSHARE_HINT_ID_SHIFT	(1 + PSHARE_HINT_PPN_BITS + PSHARE_HINT_GEN_BITS)
#define PSHARE_REGION_ID_MAX	((1U << (BITS_PER_LONG - PSHARE_HINT_ID_SHIFT)) - 1)

static inline bool pshare_val_is_hint(unsigned long val)
{
	return val & 1;
}

static inline unsigned long pshare_hint_val(u32 id, unsigned long ppn, u8 gen)
{
	return ((unsigned long)id << PSHARE_HINT_ID_SHIFT) |
	       ((unsigned long)gen << (1 + PSHARE_HINT_PPN_BITS)) |
	       (ppn << 1) | 1;
}

static inline u32 pshare_hint_id(unsigned long val)
{
	return val >> PSHARE_HINT_ID_SHIFT;
}

static inline unsigned long pshare_hint_ppn(unsigned long val)
{
	return (val >> 1) & ((1UL << PSHARE_HINT_PPN_BITS) - 1);
}

static inline u8 pshare_hint_gen(unsigned long val)
{
	return val >> (1 + PSHARE_HINT_PPN_BITS);
}

/* Do hints @a and @b name the same page, whatever their stamps? */
static inline bool pshare_hint_same_page(unsigned long a, unsigned long b)
{
	return pshare_hint_id(a) == pshare_hint_id(b) &&
	       pshare_hint_ppn(a) == pshare_hint_ppn(b);
}

/* Longest probe distance the histogram tells apart; longer ones share a bucket. */
#define PSHARE_TABLE_HIST	16

int pshare_table_init(struct pshare_table *t, unsigned long nslots);
void pshare_table_destroy(struct pshare_table *t);
unsigned long pshare_table_next(struct pshare_table *t, u64 key,
				unsigned long *pos);
int pshare_table_insert(struct pshare_table *t, u64 key, unsigned long val);
bool pshare_table_remove(struct pshare_table *t, u64 key, unsigned long val);
bool pshare_table_replace(struct pshare_table *t, u64 key, unsigned long old,
			  unsigned long new);
void pshare_table_replace_at(struct pshare_table *t, unsigned long pos,
			     unsigned long old, unsigned long new);
struct pshare_slot *pshare_table_alloc_slots(unsigned long nslots);
int pshare_table_rebuild_begin(struct pshare_table *t, struct pshare_slot *slots,
			       unsigned long nslots, unsigned long most,
			       bool (*keep)(unsigned long val, void *arg), void *arg);
bool pshare_table_rebuild_step(struct pshare_table *t, unsigned long budget);
int pshare_table_rebuild_into(struct pshare_table *t, struct pshare_slot *slots,
			      unsigned long nslots,
			      bool (*keep)(unsigned long val, void *arg), void *arg);
int pshare_table_rebuild(struct pshare_table *t, unsigned long nslots,
			 bool (*keep)(unsigned long val, void *arg), void *arg);
unsigned long pshare_table_size_for(unsigned long entries);
unsigned long pshare_table_histogram_add(struct pshare_table *t,
					 unsigned long hist[PSHARE_TABLE_HIST],
					 unsigned long from, unsigned long to);
void pshare_table_histogram(struct pshare_table *t,
			    unsigned long hist[PSHARE_TABLE_HIST]);

#endif /* _PSHARE_HASH_H */
