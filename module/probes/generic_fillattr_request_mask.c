// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_GENERIC_FILLATTR_REQUEST_MASK: generic_fillattr() takes the statx
 * request mask (6.6, 0d72b92883c6).
 */
#include <linux/fs.h>
#include <linux/stat.h>

void pshare_probe(struct inode *inode, struct kstat *stat);

void pshare_probe(struct inode *inode, struct kstat *stat)
{
	generic_fillattr(&nop_mnt_idmap, STATX_BASIC_STATS, inode, stat);
}
