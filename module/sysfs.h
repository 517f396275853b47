/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The knobs in /sys/kernel/mm/pshare (sysfs.c), set up and torn down by
 * main.c.
 */
#ifndef _PSHARE_SYSFS_H
#define _PSHARE_SYSFS_H

int pshare_sysfs_init(void);
void pshare_sysfs_exit(void);

#endif /* _PSHARE_SYSFS_H */
