/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scanner's knobs, for sysfs.c and debugfs.c.
 */
#ifndef _PSHARE_SCAN_H
#define _PSHARE_SCAN_H

#include <linux/mutex.h>
#include <linux/types.h>

#include "hash.h"

/* Values of the run knob, as KSM's. */
#define PSHARE_RUN_STOP		0
#define PSHARE_RUN_MERGE	1
#define PSHARE_RUN_UNMERGE	2

#define PSHARE_PAGES_TO_SCAN_MAX	(1U << 20)
#define PSHARE_SLEEP_MS_MAX		(60U * 1000)

extern unsigned int pshare_run;
extern unsigned int pshare_pages_to_scan;
extern unsigned int pshare_sleep_millisecs;
extern bool pshare_merge_across_domains;
extern unsigned int pshare_hash_bits;
extern struct pshare_table pshare_table;
extern atomic_t pshare_rebuild_delay_ms;

int pshare_scan_set_run(unsigned int run);
void pshare_scan_knobs_changed(void);
int pshare_scan_set_across(bool across);
int pshare_scan_set_hash_bits(unsigned int bits);
void pshare_scan_now(unsigned int pages);

#endif /* _PSHARE_SCAN_H */
