// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_INODE_SET_CTIME_CURRENT: inode_set_ctime_current() (6.6,
 * 9b6304c1d537; also in 6.1.y stable kernels).
 */
#include <linux/fs.h>

struct timespec64 pshare_probe(struct inode *inode);

struct timespec64 pshare_probe(struct inode *inode)
{
	return inode_set_ctime_current(inode);
}
