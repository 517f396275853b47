/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scanner (scan.c): its knobs, for sysfs.c and debugfs.c, and the
 * sharing domain of a region, for ioctl.c.
 */
#ifndef _PSHARE_SCAN_H
#define _PSHARE_SCAN_H

#include <linux/mutex.h>
#include <linux/types.h>

#include "pshare.h"

/* Values of the run knob, as KSM's. */
#define PSHARE_RUN_STOP		0
#define PSHARE_RUN_MERGE	1
#define PSHARE_RUN_UNMERGE	2

#define PSHARE_PAGES_TO_SCAN_MAX	(1U << 20)
#define PSHARE_SLEEP_MS_MAX		(60U * 1000)
#define PSHARE_TARGET_SCAN_SECS_MAX	(24U * 3600)

extern unsigned int pshare_run;
extern unsigned int pshare_pages_to_scan;
extern unsigned int pshare_sleep_millisecs;
extern unsigned int pshare_smart_scan;
extern unsigned int pshare_auto_scan;
extern unsigned int pshare_max_cpu_percent;
extern unsigned int pshare_target_scan_secs;
extern unsigned int pshare_min_pages_to_scan;
extern unsigned int pshare_max_pages_to_scan;
extern atomic_t pshare_merge_delay_ms;

int pshare_scan_init(void);
void pshare_scan_exit(void);
int pshare_scan_set_run(unsigned int run);
void pshare_scan_knobs_changed(void);
int pshare_scan_set_smart(unsigned int smart);
int pshare_scan_set_auto(unsigned int on);
int pshare_scan_set_pages(unsigned int pages);
int pshare_scan_set_min_pages(unsigned int pages);
int pshare_scan_set_max_pages(unsigned int pages);
int pshare_scan_set_across(unsigned int across);
int pshare_scan_set_hash_bits(unsigned int bits);
void pshare_scan_now(unsigned int pages);
int pshare_region_set_domain(struct pshare_region *r, u32 domain);

#endif /* _PSHARE_SCAN_H */
