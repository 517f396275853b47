/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The table of shared frames and hints (share.c), for the scanner that
 * fills it, the fault path that takes frames out of it, and the knobs.
 */
#ifndef _PSHARE_SHARE_H
#define _PSHARE_SHARE_H

#include <linux/atomic.h>
#include <linux/types.h>

#include "hash.h"
#include "pshare.h"

extern struct pshare_table pshare_table;
extern bool pshare_merge_across_domains;
extern unsigned int pshare_hash_bits;
extern unsigned int pshare_hint_passes;
extern atomic_t pshare_rebuild_delay_ms;

int pshare_share_init(void);
void pshare_share_exit(void);

/* Contents and keys */
u64 pshare_page_hash(struct page *page);
bool pshare_page_is_zero(struct page *page);
bool pshare_pages_equal(struct page *a, struct page *b);
bool pshare_hash_of_zero(u64 hash);
u64 pshare_key(u64 hash, u32 domain);
bool pshare_same_domain(struct pshare_region *a, struct pshare_region *b);

/* Shared frames */
struct page *pshare_share_find(u64 key, unsigned long mine, unsigned long *hint);
void pshare_share_promote(struct pshare_region *r, struct page *page,
			  u64 key, unsigned long hint);
void pshare_share_forget(struct page *page);

/* Hints */
unsigned long pshare_hint_of(struct pshare_region *r, pgoff_t ppn);
int pshare_hint_add(u64 key, unsigned long val);
void pshare_hint_replace(u64 key, unsigned long old, unsigned long new);
void pshare_drop_hints(void);
void pshare_share_wrapped(void);
u8 pshare_share_pass(void);
unsigned long pshare_pages_hinted(void);

#endif /* _PSHARE_SHARE_H */
