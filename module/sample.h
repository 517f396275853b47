/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Active memory sampling (sample.c): its knobs, its estimates, and the
 * workqueue the sampler and the reclaimer share.
 */
#ifndef _PSHARE_SAMPLE_H
#define _PSHARE_SAMPLE_H

#include <linux/types.h>
#include <linux/workqueue.h>

#include "pshare.h"

#define PSHARE_SAMPLE_PERIOD_MAX	3600
#define PSHARE_SAMPLE_PAGES_MAX		4096

extern unsigned int pshare_sample_period_secs;
extern unsigned int pshare_sample_pages;
extern struct workqueue_struct *pshare_wq;

int pshare_sample_init(void);
void pshare_sample_exit(void);
void pshare_sample_touch(struct pshare_region *r, pgoff_t ppn);
u32 pshare_active_estimate(struct pshare_region *r);
u32 pshare_active_current(struct pshare_region *r);
void pshare_sample_reschedule(void);

#endif /* _PSHARE_SAMPLE_H */
