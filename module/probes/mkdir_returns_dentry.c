// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_MKDIR_RETURNS_DENTRY: ->mkdir returns the dentry it used, NULL or
 * an ERR_PTR (6.15, 88d5baf69082).
 */
#include <linux/fs.h>

static struct dentry *pshare_probe_mkdir(struct mnt_idmap *idmap,
					 struct inode *dir,
					 struct dentry *dentry, umode_t mode)
{
	return NULL;
}

const struct inode_operations *pshare_probe(void);

const struct inode_operations *pshare_probe(void)
{
	static const struct inode_operations iops = {
		.mkdir = pshare_probe_mkdir,
	};

	return &iops;
}
