// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_D_MAKE_PERSISTENT: dentries pinned in the dcache are marked
 * persistent, and umount unpins them (6.19, "primitives for maintaining
 * persisitency" and fc45aee66223 "get rid of kill_litter_super()").
 */
#include <linux/dcache.h>
#include <linux/fs.h>

struct dentry *pshare_probe(struct dentry *dentry, struct inode *inode);

struct dentry *pshare_probe(struct dentry *dentry, struct inode *inode)
{
	return d_make_persistent(dentry, inode);
}
