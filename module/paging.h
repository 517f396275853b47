/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pshare's own paging to a backing file per region (paging.c).
 */
#ifndef _PSHARE_PAGING_H
#define _PSHARE_PAGING_H

#include <linux/atomic.h>

#include "pshare.h"

extern atomic_t pshare_pagein_delay_ms;

int pshare_region_set_backing(struct pshare_region *r, int fd);
void pshare_region_drop_backing(struct pshare_region *r);
struct page *pshare_page_in(struct pshare_region *r, pgoff_t ppn);
long pshare_page_out(struct pshare_region *r, long nr);

#endif /* _PSHARE_PAGING_H */
