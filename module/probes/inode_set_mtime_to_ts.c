// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_INODE_SET_MTIME_TO_TS: inode_set_mtime_to_ts() and
 * inode_set_atime_to_ts() (6.7, 077c212f0344).
 */
#include <linux/fs.h>

void pshare_probe(struct inode *inode, struct timespec64 ts);

void pshare_probe(struct inode *inode, struct timespec64 ts)
{
	inode_set_atime_to_ts(inode, inode_set_mtime_to_ts(inode, ts));
}
