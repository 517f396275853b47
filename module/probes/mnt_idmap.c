// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_MNT_IDMAP: inode operations take a struct mnt_idmap (6.3,
 * 256c8aed2b42 and the conversions that followed it).
 */
#include <linux/fs.h>

static int pshare_probe_setattr(struct mnt_idmap *idmap, struct dentry *dentry,
				struct iattr *attr)
{
	return setattr_prepare(idmap, dentry, attr);
}

const struct inode_operations *pshare_probe(void);

const struct inode_operations *pshare_probe(void)
{
	static const struct inode_operations iops = {
		.setattr = pshare_probe_setattr,
	};

	return &iops;
}
