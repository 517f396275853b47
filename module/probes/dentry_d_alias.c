// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_DENTRY_D_ALIAS: a dentry's link in its inode's alias list is
 * ->d_alias, since the d_u union became anonymous (7.1, 2420067cecac
 * "struct dentry: make ->d_u anonymous").
 */
#include <linux/dcache.h>
#include <linux/fs.h>

struct dentry *pshare_probe(struct inode *inode);

struct dentry *pshare_probe(struct inode *inode)
{
	return hlist_entry_safe(inode->i_dentry.first, struct dentry, d_alias);
}
