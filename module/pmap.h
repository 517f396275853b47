/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frames, the fault path and a region's pmap (pmap.c).
 */
#ifndef _PSHARE_PMAP_H
#define _PSHARE_PMAP_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/uio.h>

#include "pshare.h"
#include "region.h"

void pshare_pmap_destroy(struct pshare_region *r);

/* The region file's operations */
int pshare_region_mmap(struct file *file, struct vm_area_struct *vma);
ssize_t pshare_region_read(struct pshare_region *r, loff_t pos,
			   struct iov_iter *to);
ssize_t pshare_region_write(struct pshare_region *r, loff_t pos,
			    struct iov_iter *from);
int pshare_region_resize(struct pshare_region *r, loff_t newsize);
int pshare_region_punch(struct pshare_region *r, loff_t pos, loff_t len);

struct page *pshare_entry_lock(struct pshare_region *r, pgoff_t ppn);
struct page *pshare_make_private(struct pshare_region *r, pgoff_t ppn,
				 struct page *page, const struct vm_fault *vmf);

#endif /* _PSHARE_PMAP_H */
