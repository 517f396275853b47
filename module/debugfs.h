/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Statistics and test hooks in debugfs (debugfs.c), set up and torn down
 * by main.c.
 */
#ifndef _PSHARE_DEBUGFS_H
#define _PSHARE_DEBUGFS_H

void pshare_debugfs_init(void);
void pshare_debugfs_exit(void);

#endif /* _PSHARE_DEBUGFS_H */
