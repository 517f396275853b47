/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frames, the fault path and a region's pmap (pmap.c).
 */
#ifndef _PSHARE_PMAP_H
#define _PSHARE_PMAP_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/uio.h>

#include "pshare.h"
#include "region.h"

int pshare_pmap_init(void);
void pshare_pmap_exit(void);
void pshare_pmap_destroy(struct pshare_region *r);

/* The region file's operations */
int pshare_region_mmap(struct file *file, struct vm_area_struct *vma);
ssize_t pshare_region_read(struct pshare_region *r, loff_t pos,
			   struct iov_iter *to);
ssize_t pshare_region_write(struct pshare_region *r, loff_t pos,
			    struct iov_iter *from);
int pshare_region_resize(struct pshare_region *r, loff_t newsize);
int pshare_region_punch(struct pshare_region *r, loff_t pos, loff_t len);

/* Frames and entries */
extern atomic_t pshare_frame_alloc_fail;
struct page *pshare_frame_alloc(void);
void pshare_frame_discard(struct page *page);
void pshare_frame_unuse(struct pshare_region *r, struct page *page,
			enum pshare_count to);
struct page *pshare_entry_lock(struct pshare_region *r, pgoff_t ppn);
struct page *__pshare_entry_lock(struct pshare_region *r, pgoff_t ppn,
				 bool page_in);
bool pshare_ppn_mlocked(struct pshare_region *r, pgoff_t ppn);

/* For the scanner */
struct page *pshare_make_private(struct pshare_region *r, pgoff_t ppn,
				 struct page *page);
int pshare_pmap_isolate(struct pshare_region *r, pgoff_t ppn,
			struct page *page);
void pshare_pmap_repoint(struct pshare_region *r, pgoff_t ppn,
			 struct page *old, struct page *new);

#endif /* _PSHARE_PMAP_H */
