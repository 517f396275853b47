// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c - /sys/kernel/debug/pshare: internals for developers and
 * for psharectl.
 *
 * regions: one line per region,
 *   ino size_bytes pages_private pages_zero pages_shared cow_breaks domain name
 * The layout is for tools; it is not a stable ABI.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dcache.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "pshare.h"

static struct dentry *pshare_debugfs_root;

static int pshare_regions_show(struct seq_file *m, void *v)
{
	struct pshare_region *r;

	seq_puts(m, "ino size pages_private pages_zero pages_shared cow_breaks domain name\n");
	mutex_lock(&pshare_regions_lock);
	list_for_each_entry(r, &pshare_regions, node) {
		struct inode *inode = &r->vfs_inode;
		struct dentry *alias = d_find_any_alias(inode);

		seq_printf(m, "%lu %lld %ld %ld %ld %ld %d ",
			   inode->i_ino, i_size_read(inode),
			   atomic_long_read(&r->pages_private),
			   atomic_long_read(&r->pages_zero),
			   atomic_long_read(&r->pages_shared),
			   atomic_long_read(&r->cow_breaks), 0);
		if (alias && !d_unlinked(alias))
			seq_printf(m, "%pd\n", alias);
		else
			seq_puts(m, "(deleted)\n");
		dput(alias);
	}
	mutex_unlock(&pshare_regions_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pshare_regions);

void pshare_debugfs_init(void)
{
	/* debugfs is optional: failures only make these files missing. */
	pshare_debugfs_root = debugfs_create_dir("pshare", NULL);
	debugfs_create_file("regions", 0400, pshare_debugfs_root, NULL,
			    &pshare_regions_fops);
}

void pshare_debugfs_exit(void)
{
	debugfs_remove_recursive(pshare_debugfs_root);
}
