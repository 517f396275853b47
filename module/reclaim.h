/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reclaim and sampling knobs, for sysfs.c.
 */
#ifndef _PSHARE_RECLAIM_H
#define _PSHARE_RECLAIM_H

#include <linux/types.h>
#include <linux/workqueue.h>

#include "policy.h"

/* Free memory states of the paper: above 6%, 4%, 2%, 1% of RAM free. */
enum pshare_mem_state {
	PSHARE_MEM_HIGH,
	PSHARE_MEM_SOFT,
	PSHARE_MEM_HARD,
	PSHARE_MEM_LOW,
};

#define PSHARE_SAMPLE_PERIOD_MAX	3600
#define PSHARE_SAMPLE_PAGES_MAX		4096

extern unsigned long pshare_limit_pages;
extern unsigned int pshare_idle_tax_percent;
extern unsigned int pshare_sample_period_secs;
extern unsigned int pshare_sample_pages;
extern struct workqueue_struct *pshare_wq;

enum pshare_mem_state pshare_mem_state(unsigned long *want);
const char *pshare_mem_state_name(enum pshare_mem_state state);
void pshare_sample_reschedule(void);
void pshare_reclaim_now(void);

#endif /* _PSHARE_RECLAIM_H */
