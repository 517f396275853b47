// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_INODE_JUST_DROP: generic_delete_inode() is called inode_just_drop()
 * (6.18, f99b3917789d).
 */
#include <linux/fs.h>

const struct super_operations *pshare_probe(void);

const struct super_operations *pshare_probe(void)
{
	static const struct super_operations sops = {
		.drop_inode = inode_just_drop,
	};

	return &sops;
}
