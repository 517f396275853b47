// SPDX-License-Identifier: GPL-2.0
/*
 * fs.c - the pshare filesystem: every regular file is a region.
 */

/**
 * DOC: the pshare filesystem
 *
 * A small in-memory filesystem in the spirit of ramfs: directories and
 * regular files live only in the dentry cache. A regular file is the RAM
 * of one VM (or one NUMA node of one VM); its content lives in the pmap
 * (pmap.c), not in the page cache. It offers what QEMU and libvirt do to a
 * memory backing file: create (also O_EXCL and mkstemp), unlink, ftruncate,
 * lseek and fstat, fallocate(PUNCH_HOLE|KEEP_SIZE) for the balloon,
 * mmap(MAP_SHARED), statfs, and read/write coherent with the mappings.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/pagemap.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/uio.h>
#include <linux/pshare.h>

#include "fs.h"
#include "paging.h"
#include "pmap.h"
#include "region.h"

/* The last sharing domain given to a mount. */
static atomic_t pshare_last_domain = ATOMIC_INIT(0);

#define PSHARE_DEFAULT_MODE	0755

/* Region inodes, allocated with the region around them. */
static struct kmem_cache *pshare_inode_cachep;

static const struct inode_operations pshare_dir_inode_ops;
static const struct inode_operations pshare_file_inode_ops;
static const struct file_operations pshare_file_ops;
static const struct super_operations pshare_super_ops;

bool pshare_is_region_file(struct file *file)
{
	return file->f_op == &pshare_file_ops;
}

/* ----------------------------------------------------------------------
 * Inodes
 * ----------------------------------------------------------------------
 */

static struct inode *pshare_get_inode(struct super_block *sb,
				      PSHARE_IDMAP_ARG,
				      const struct inode *dir, umode_t mode)
{
	struct inode *inode = new_inode(sb);
	struct timespec64 now;

	if (!inode)
		return NULL;
	inode->i_ino = get_next_ino();
	inode_init_owner(PSHARE_IDMAP, inode, dir, mode);
	now = inode_set_ctime_current(inode);
	inode_set_mtime_to_ts(inode, now);
	inode_set_atime_to_ts(inode, now);

	switch (mode & S_IFMT) {
	case S_IFREG: {
		struct pshare_mount_opts *opts = sb->s_fs_info;

		/* Before the workers can see it. */
		pshare_region(inode)->noshare = opts->noshare;
		if (pshare_region_register(pshare_region(inode), opts->domain)) {
			iput(inode);
			return NULL;
		}
		inode->i_op = &pshare_file_inode_ops;
		inode->i_fop = &pshare_file_ops;
		break;
	}
	case S_IFDIR:
		inode->i_op = &pshare_dir_inode_ops;
		inode->i_fop = &simple_dir_operations;
		inc_nlink(inode);	/* "." */
		break;
	}
	return inode;
}

static struct inode *pshare_alloc_inode(struct super_block *sb)
{
	struct pshare_region *r;

	r = alloc_inode_sb(sb, pshare_inode_cachep, GFP_KERNEL);
	if (!r)
		return NULL;
	pshare_region_init(r);
	return &r->vfs_inode;
}

static void pshare_free_inode(struct inode *inode)
{
	kmem_cache_free(pshare_inode_cachep, pshare_region(inode));
}

/* The last reference to an unlinked region is gone: free its frames. */
static void pshare_evict_inode(struct inode *inode)
{
	struct pshare_region *r = pshare_region(inode);

	if (S_ISREG(inode->i_mode) && r->id) {
		pshare_region_unregister(r);
		pshare_pmap_destroy(r);
		pshare_region_drop_backing(r);
		pshare_region_evicted(r);
	}
	clear_inode(inode);
}

static void pshare_inode_init_once(void *obj)
{
	struct pshare_region *r = obj;

	inode_init_once(&r->vfs_inode);
}

/* ----------------------------------------------------------------------
 * Directory operations
 * ----------------------------------------------------------------------
 */

static int pshare_mknod(PSHARE_IDMAP_ARG, struct inode *dir,
			struct dentry *dentry, umode_t mode)
{
	struct inode *inode;

	inode = pshare_get_inode(dir->i_sb, PSHARE_IDMAP, dir, mode);
	if (!inode)
		return -ENOMEM;
	/* Pinned: the dentry is the only record of the file. */
	d_make_persistent(dentry, inode);
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	return 0;
}

static int pshare_create(PSHARE_IDMAP_ARG, struct inode *dir,
			 struct dentry *dentry, umode_t mode)
{
	return pshare_mknod(PSHARE_IDMAP, dir, dentry,
			    (mode & ~S_IFMT) | S_IFREG);
}
PSHARE_CREATE_ADAPTOR(pshare_create)

static PSHARE_MKDIR_RET pshare_mkdir(PSHARE_IDMAP_ARG, struct inode *dir,
				     struct dentry *dentry, umode_t mode)
{
	int err;

	err = pshare_mknod(PSHARE_IDMAP, dir, dentry,
			   (mode & ~S_IFMT) | S_IFDIR);
	if (!err)
		inc_nlink(dir);
	return pshare_mkdir_ret(err);
}

static const struct inode_operations pshare_dir_inode_ops = {
	.create		= PSHARE_CREATE_OP(pshare_create),
	.lookup		= simple_lookup,
	.link		= simple_link,
	.unlink		= simple_unlink,
	.mkdir		= pshare_mkdir,
	.rmdir		= simple_rmdir,
	.rename		= simple_rename,
};

/* ----------------------------------------------------------------------
 * Region file operations
 * ----------------------------------------------------------------------
 */

static int pshare_setattr(PSHARE_IDMAP_ARG, struct dentry *dentry,
			  struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int err;

	/* Checks permissions, and the size against s_maxbytes (-EFBIG). */
	err = setattr_prepare(PSHARE_IDMAP, dentry, attr);
	if (err)
		return err;

	if ((attr->ia_valid & ATTR_SIZE) &&
	    attr->ia_size != i_size_read(inode)) {
		err = pshare_region_resize(pshare_region(inode), attr->ia_size);
		if (err)
			return err;
		if (!(attr->ia_valid & (ATTR_CTIME | ATTR_MTIME))) {
			attr->ia_ctime = attr->ia_mtime = current_time(inode);
			attr->ia_valid |= ATTR_CTIME | ATTR_MTIME;
		}
	}
	setattr_copy(PSHARE_IDMAP, inode, attr);
	return 0;
}

/* st_blocks counts the frames the region holds by itself, so du is honest. */
static int pshare_getattr(PSHARE_IDMAP_ARG, const struct path *path,
			  struct kstat *stat, u32 request_mask,
			  unsigned int query_flags)
{
	struct inode *inode = d_inode(path->dentry);

	pshare_generic_fillattr(PSHARE_IDMAP, request_mask, inode, stat);
	stat->blocks = atomic_long_read(&pshare_region(inode)->pages_private) <<
		       (PAGE_SHIFT - 9);
	return 0;
}

static const struct inode_operations pshare_file_inode_ops = {
	.setattr	= pshare_setattr,
	.getattr	= pshare_getattr,
};

static ssize_t pshare_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t ret;

	ret = pshare_region_read(pshare_region(inode), iocb->ki_pos, to);
	if (ret > 0)
		iocb->ki_pos += ret;
	file_accessed(iocb->ki_filp);
	return ret;
}

static ssize_t pshare_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	ssize_t ret;

	/* Writing may allocate and sleep on frame locks. */
	if (iocb->ki_flags & IOCB_NOWAIT)
		return -EAGAIN;

	inode_lock(inode);
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out;
	ret = file_remove_privs(file);
	if (ret)
		goto out;
	ret = file_update_time(file);
	if (ret)
		goto out;
	ret = pshare_region_write(pshare_region(inode), iocb->ki_pos, from);
	if (ret > 0)
		iocb->ki_pos += ret;
out:
	inode_unlock(inode);
	return ret;
}

static long pshare_fallocate(struct file *file, int mode, loff_t offset,
			     loff_t len)
{
	struct inode *inode = file_inode(file);
	long err;

	/* The balloon's and MADV_REMOVE's call; nothing else has a meaning here. */
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;

	inode_lock(inode);
	err = pshare_region_punch(pshare_region(inode), offset, len);
	if (!err)
		inode_set_mtime_to_ts(inode, inode_set_ctime_current(inode));
	inode_unlock(inode);
	return err;
}

/* Open files are counted for the statistics (an orphan has none). */
static int pshare_file_open(struct inode *inode, struct file *file)
{
	int err = generic_file_open(inode, file);

	if (!err)
		atomic_inc(&pshare_region(inode)->files_open);
	return err;
}

static int pshare_file_release(struct inode *inode, struct file *file)
{
	atomic_dec(&pshare_region(inode)->files_open);
	return 0;
}

static const struct file_operations pshare_file_ops = {
	.owner		= THIS_MODULE,
	.open		= pshare_file_open,
	.release	= pshare_file_release,
	.llseek		= generic_file_llseek,
	.read_iter	= pshare_read_iter,
	.write_iter	= pshare_write_iter,
	.mmap		= pshare_region_mmap,
	.fallocate	= pshare_fallocate,
	.fsync		= noop_fsync,
};

/* ----------------------------------------------------------------------
 * Superblock and mount options
 * ----------------------------------------------------------------------
 */

static int pshare_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	int err = simple_statfs(dentry, buf);

	if (err)
		return err;
	/* Regions draw on RAM: report RAM, as tmpfs without a size does. */
	buf->f_blocks = totalram_pages();
	buf->f_bfree = buf->f_bavail = si_mem_available();
	return 0;
}

static int pshare_show_options(struct seq_file *m, struct dentry *root)
{
	struct pshare_mount_opts *opts = root->d_sb->s_fs_info;

	if (!uid_eq(opts->uid, GLOBAL_ROOT_UID))
		seq_printf(m, ",uid=%u",
			   from_kuid_munged(&init_user_ns, opts->uid));
	if (!gid_eq(opts->gid, GLOBAL_ROOT_GID))
		seq_printf(m, ",gid=%u",
			   from_kgid_munged(&init_user_ns, opts->gid));
	if (opts->mode != PSHARE_DEFAULT_MODE)
		seq_printf(m, ",mode=%o", opts->mode);
	if (opts->noshare)
		seq_puts(m, ",noshare");
	return 0;
}

static const struct super_operations pshare_super_ops = {
	.alloc_inode	= pshare_alloc_inode,
	.free_inode	= pshare_free_inode,
	.evict_inode	= pshare_evict_inode,
	.drop_inode	= inode_just_drop,
	.statfs		= pshare_statfs,
	.show_options	= pshare_show_options,
};

enum pshare_param {
	Opt_uid,
	Opt_gid,
	Opt_mode,
	Opt_noshare,
};

static const struct fs_parameter_spec pshare_fs_parameters[] = {
	fsparam_u32("uid", Opt_uid),
	fsparam_u32("gid", Opt_gid),
	fsparam_u32oct("mode", Opt_mode),
	fsparam_flag("noshare", Opt_noshare),
	{}
};

/* Unknown options come back as -ENOPARAM: the VFS refuses them by name. */
static int pshare_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct pshare_mount_opts *opts = fc->fs_private;
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, pshare_fs_parameters, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case Opt_uid:
		opts->uid = make_kuid(current_user_ns(), result.uint_32);
		if (!uid_valid(opts->uid))
			return invalfc(fc, "Invalid uid '%s'", param->string);
		break;
	case Opt_gid:
		opts->gid = make_kgid(current_user_ns(), result.uint_32);
		if (!gid_valid(opts->gid))
			return invalfc(fc, "Invalid gid '%s'", param->string);
		break;
	case Opt_mode:
		if (result.uint_32 & ~S_IALLUGO)
			return invalfc(fc, "Invalid mode '%s'", param->string);
		opts->mode = result.uint_32;
		break;
	case Opt_noshare:
		opts->noshare = true;
		break;
	}
	return 0;
}

static int pshare_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct pshare_mount_opts *opts = fc->fs_private;
	struct inode *root;

	sb->s_maxbytes = PSHARE_MAX_BYTES;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = PSHARE_FS_MAGIC;
	sb->s_op = &pshare_super_ops;
	sb->s_time_gran = 1;

	/* The options now belong to the superblock. */
	sb->s_fs_info = opts;
	fc->fs_private = NULL;

	root = pshare_get_inode(sb, PSHARE_NOP_IDMAP, NULL, S_IFDIR | opts->mode);
	if (!root)
		return -ENOMEM;
	root->i_uid = opts->uid;
	root->i_gid = opts->gid;
	sb->s_root = d_make_root(root);
	return sb->s_root ? 0 : -ENOMEM;
}

static int pshare_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, pshare_fill_super);
}

static void pshare_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations pshare_context_ops = {
	.parse_param	= pshare_parse_param,
	.get_tree	= pshare_get_tree,
	.free		= pshare_free_fc,
};

static int pshare_init_fs_context(struct fs_context *fc)
{
	struct pshare_mount_opts *opts;

	opts = kzalloc(sizeof(*opts), GFP_KERNEL);
	if (!opts)
		return -ENOMEM;
	opts->uid = current_fsuid();
	opts->gid = current_fsgid();
	opts->mode = PSHARE_DEFAULT_MODE;
	opts->domain = atomic_inc_return(&pshare_last_domain);
	fc->fs_private = opts;
	fc->ops = &pshare_context_ops;
	return 0;
}

/*
 * The scanner, the sampler and the reclaimer hold inode references while
 * they work on a region. Before the VFS evicts the inodes (and BUGs on a
 * busy one), stop new references and wait for the old ones to go.
 */
static void pshare_kill_sb(struct super_block *sb)
{
	struct pshare_mount_opts *opts = sb->s_fs_info;

	if (opts) {
		WRITE_ONCE(opts->dying, true);
		pshare_regions_drain();
	}
	pshare_kill_pinned_super(sb);
	if (opts)
		kfree_rcu(opts, rcu);
}

static struct file_system_type pshare_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "pshare",
	.init_fs_context	= pshare_init_fs_context,
	.parameters		= pshare_fs_parameters,
	.kill_sb		= pshare_kill_sb,
};

int pshare_fs_init(void)
{
	int err;

	pshare_inode_cachep = kmem_cache_create("pshare_inode_cache",
						sizeof(struct pshare_region), 0,
						SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
						pshare_inode_init_once);
	if (!pshare_inode_cachep)
		return -ENOMEM;
	err = register_filesystem(&pshare_fs_type);
	if (err)
		kmem_cache_destroy(pshare_inode_cachep);
	return err;
}

void pshare_fs_exit(void)
{
	unregister_filesystem(&pshare_fs_type);
	/* Inodes are freed after an RCU grace period. */
	rcu_barrier();
	kmem_cache_destroy(pshare_inode_cachep);
}
