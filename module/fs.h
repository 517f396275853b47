/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pshare filesystem (fs.c).
 */
#ifndef _PSHARE_FS_H
#define _PSHARE_FS_H

#include <linux/fs.h>

int pshare_fs_init(void);
void pshare_fs_exit(void);
bool pshare_is_region_file(struct file *file);

#endif /* _PSHARE_FS_H */
