/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control interfaces, set up and torn down by main.c: /dev/pshare
 * (ioctl.c), the sysfs knobs (sysfs.c) and debugfs (debugfs.c). Nothing
 * else calls into them.
 */
#ifndef _PSHARE_CONTROL_H
#define _PSHARE_CONTROL_H

int pshare_dev_init(void);
void pshare_dev_exit(void);
int pshare_sysfs_init(void);
void pshare_sysfs_exit(void);
void pshare_debugfs_init(void);
void pshare_debugfs_exit(void);

#endif /* _PSHARE_CONTROL_H */
