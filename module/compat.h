/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the kernel interfaces that differ between the kernels pshare
 * builds for, kept in this one place.
 *
 * pshare builds for Linux 6.1 through 7.3.x. The .c files are written
 * against the newest interfaces; where an older kernel lacks one, this
 * header supplies it under the upstream name, or, where the two cannot
 * be made one, offers a small pshare_ helper. Which branch a kernel takes
 * is decided by feature probes, not by its version: Kbuild compiles each
 * module/probes/<name>.c against the target headers and defines
 * HAVE_<NAME> in pshare_probed.h when it compiles, so a stable or
 * distribution kernel that carries a backport takes the new branch. The
 * only version comparison is the supported range below.
 *
 * Each entry names the upstream change behind it. The end of this file
 * lists what changed in behaviour rather than in interface, and what
 * pshare does about it.
 */
#ifndef _PSHARE_COMPAT_H
#define _PSHARE_COMPAT_H

#include <linux/version.h>

/*
 * The tested range, which dkms.conf (BUILD_EXCLUSIVE_KERNEL) states too.
 * Kbuild compiles this part alone (PSHARE_RANGE_CHECK) before anything
 * else, so a kernel outside the range stops the build with this one error.
 */
#define PSHARE_KERNEL_MIN	KERNEL_VERSION(6, 1, 0)
#define PSHARE_KERNEL_END	KERNEL_VERSION(7, 4, 0)

#if LINUX_VERSION_CODE < PSHARE_KERNEL_MIN || LINUX_VERSION_CODE >= PSHARE_KERNEL_END
#error "pshare supports Linux 6.1 through 7.3.x only: these kernel headers are outside that range"
#endif

#ifndef PSHARE_RANGE_CHECK

#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "pshare_probed.h"

/* ----------------------------------------------------------------------
 * Filesystem
 * ----------------------------------------------------------------------
 */

/*
 * Inode operations, and the VFS helpers they call, name the mount's id
 * mapping: a struct user_namespace up to 6.2, a struct mnt_idmap since
 * 6.3 (256c8aed2b42 "fs: introduce dedicated idmap type for mounts" and
 * the conversions of each operation that followed it).
 */
#ifdef HAVE_MNT_IDMAP
#define PSHARE_IDMAP_ARG	struct mnt_idmap *idmap
#define PSHARE_IDMAP		idmap
#define PSHARE_NOP_IDMAP	(&nop_mnt_idmap)
#else
#define PSHARE_IDMAP_ARG	struct user_namespace *mnt_userns
#define PSHARE_IDMAP		mnt_userns
#define PSHARE_NOP_IDMAP	(&init_user_ns)
#endif

/*
 * ->create lost its last argument, whether the open asked for O_EXCL, in
 * 7.3: the VFS creates only what does not exist, so no filesystem that
 * keeps its tree in the dcache ever needed it. fs.c writes its ->create
 * in the new form; PSHARE_CREATE_OP(fn) is what goes into the inode
 * operations: fn itself, or on older kernels the adaptor that
 * PSHARE_CREATE_ADAPTOR(fn) defines, which drops the flag.
 */
#ifdef HAVE_CREATE_WITHOUT_EXCL
#define PSHARE_CREATE_ADAPTOR(fn)
#define PSHARE_CREATE_OP(fn)	fn
#else
#define PSHARE_CREATE_ADAPTOR(fn)					\
static int fn##_excl(PSHARE_IDMAP_ARG, struct inode *dir,		\
		     struct dentry *dentry, umode_t mode, bool excl)	\
{									\
	return fn(PSHARE_IDMAP, dir, dentry, mode);			\
}
#define PSHARE_CREATE_OP(fn)	fn##_excl
#endif

/*
 * ->mkdir returns the dentry it used since 6.15 (88d5baf69082 "Change
 * inode_operations.mkdir to return struct dentry *"): NULL for the one it
 * was given, or an ERR_PTR; before, it returned an error number.
 */
#ifdef HAVE_MKDIR_RETURNS_DENTRY
#define PSHARE_MKDIR_RET	struct dentry *

static inline struct dentry *pshare_mkdir_ret(int err)
{
	return err ? ERR_PTR(err) : NULL;
}
#else
#define PSHARE_MKDIR_RET	int

static inline int pshare_mkdir_ret(int err)
{
	return err;
}
#endif

/*
 * A filesystem that keeps its tree only in the dcache pins each dentry it
 * creates. Since 6.19 the pin is explicit: d_make_persistent() marks the
 * dentry, simple_unlink() and friends unpin it with d_make_discardable()
 * (which warns about a dentry that was never marked), and umount drops the
 * pins that remain, so kill_anon_super() does what kill_litter_super() did
 * and the latter is gone ("primitives for maintaining persisitency",
 * fc45aee66223 "get rid of kill_litter_super()"). Before, the pin was a
 * plain dget() that simple_unlink() dropped with dput().
 */
#ifndef HAVE_D_MAKE_PERSISTENT
static inline struct dentry *d_make_persistent(struct dentry *dentry,
					       struct inode *inode)
{
	d_instantiate(dentry, inode);
	return dget(dentry);
}
#endif

static inline void pshare_kill_pinned_super(struct super_block *sb)
{
#ifdef HAVE_D_MAKE_PERSISTENT
	kill_anon_super(sb);
#else
	kill_litter_super(sb);
#endif
}

/* generic_delete_inode() is inode_just_drop() since 6.18 (f99b3917789d). */
#ifndef HAVE_INODE_JUST_DROP
static inline int inode_just_drop(struct inode *inode)
{
	return generic_delete_inode(inode);
}
#endif

/*
 * The first dentry of an inode, caller holds inode->i_lock. The alias list
 * link is ->d_alias since 7.1 (2420067cecac "struct dentry: make ->d_u
 * anonymous"), ->d_u.d_alias before.
 */
static inline struct dentry *pshare_first_alias(struct inode *inode)
{
	lockdep_assert_held(&inode->i_lock);
#ifdef HAVE_DENTRY_D_ALIAS
	return hlist_entry_safe(inode->i_dentry.first, struct dentry, d_alias);
#else
	return hlist_entry_safe(inode->i_dentry.first, struct dentry,
				d_u.d_alias);
#endif
}

/* generic_fillattr() takes the request mask since 6.6 (0d72b92883c6). */
static inline void pshare_generic_fillattr(PSHARE_IDMAP_ARG, u32 request_mask,
					   struct inode *inode,
					   struct kstat *stat)
{
#ifdef HAVE_GENERIC_FILLATTR_REQUEST_MASK
	generic_fillattr(PSHARE_IDMAP, request_mask, inode, stat);
#else
	generic_fillattr(PSHARE_IDMAP, inode, stat);
#endif
}

/*
 * Inode timestamps are read and set through accessors: ctime since 6.6
 * (9b6304c1d537 "fs: add ctime accessors infrastructure", also in 6.1.y
 * stable kernels), atime and mtime since 6.7 (077c212f0344 "fs: new
 * accessor methods for atime and mtime"), after which the fields were
 * renamed and later split into seconds and nanoseconds.
 */
#ifndef HAVE_INODE_SET_CTIME_CURRENT
static inline struct timespec64 inode_set_ctime_current(struct inode *inode)
{
	inode->i_ctime = current_time(inode);
	return inode->i_ctime;
}
#endif

#ifndef HAVE_INODE_SET_MTIME_TO_TS
static inline struct timespec64 inode_set_mtime_to_ts(struct inode *inode,
						      struct timespec64 ts)
{
	inode->i_mtime = ts;
	return ts;
}

static inline struct timespec64 inode_set_atime_to_ts(struct inode *inode,
						      struct timespec64 ts)
{
	inode->i_atime = ts;
	return ts;
}
#endif

/* ----------------------------------------------------------------------
 * Memory management
 * ----------------------------------------------------------------------
 */

/* A fault's lock, dropped before I/O (see the probe). */
#ifndef HAVE_RELEASE_FAULT_LOCK
static inline void release_fault_lock(struct vm_fault *vmf)
{
	mmap_read_unlock(vmf->vma->vm_mm);
}
#endif

/*
 * Copying into a page with page faults disabled is done on its folio since
 * 6.5 (1b0306981e0f "iov_iter: Add copy_folio_from_iter_atomic()"); the
 * page form was removed in 6.16 ("iov: remove copy_page_from_iter_atomic()").
 */
#ifndef HAVE_COPY_FOLIO_FROM_ITER_ATOMIC
static inline size_t copy_folio_from_iter_atomic(struct folio *folio,
						 size_t offset, size_t bytes,
						 struct iov_iter *i)
{
	return copy_page_from_iter_atomic(&folio->page, offset, bytes, i);
}
#endif

/*
 * A shrinker is allocated by the core since 6.7 (c42d50aefd17 "mm:
 * shrinker: add infrastructure for dynamically allocating shrinker"):
 * shrinker_alloc(), shrinker_register() and shrinker_free() replaced
 * register_shrinker() and unregister_shrinker() on a caller's struct,
 * because shrinkers are now found without a lock (under RCU and a
 * reference) and must outlive the unregistration. So on every kernel
 * pshare holds a pointer; on older kernels it allocates the struct itself.
 *
 * pshare_shrinker_create() returns a registered shrinker or an ERR_PTR.
 * After pshare_shrinker_destroy() no callback is running or will run: the
 * old unregister_shrinker() waits for running callbacks, and
 * shrinker_free() waits for the last lookup to drop its reference.
 */
typedef unsigned long (*pshare_shrink_fn)(struct shrinker *s,
					  struct shrink_control *sc);

#ifdef HAVE_SHRINKER_ALLOC
static inline struct shrinker *pshare_shrinker_create(const char *name,
						      pshare_shrink_fn count,
						      pshare_shrink_fn scan)
{
	struct shrinker *s = shrinker_alloc(0, "%s", name);

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	shrinker_register(s);
	return s;
}

static inline void pshare_shrinker_destroy(struct shrinker *s)
{
	shrinker_free(s);
}
#else
static inline struct shrinker *pshare_shrinker_create(const char *name,
						      pshare_shrink_fn count,
						      pshare_shrink_fn scan)
{
	struct shrinker *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int err;

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	err = register_shrinker(s, "%s", name);
	if (err) {
		kfree(s);
		return ERR_PTR(err);
	}
	return s;
}

static inline void pshare_shrinker_destroy(struct shrinker *s)
{
	unregister_shrinker(s);
	kfree(s);
}
#endif

/* ----------------------------------------------------------------------
 * sysfs
 * ----------------------------------------------------------------------
 */

/*
 * /sys/kernel/mm, where pshare's knobs live beside KSM's, has a kobject
 * that modules cannot reach since 6.6 ("mm: no need to export mm_kobj"
 * dropped its export). pshare finds it by name below kernel_kobj, on every
 * kernel, so that the path the tests run is the one every kernel takes: a
 * sysfs directory's kernfs node points at its kobject (->priv), and this
 * one lives as long as the kernel. Returns it referenced, or NULL.
 */
static inline struct kobject *pshare_mm_kobj_get(void)
{
	struct kobject *kobj = NULL;
	struct kernfs_node *kn;

	kn = kernfs_find_and_get(kernel_kobj->sd, "mm");
	if (!kn)
		return NULL;
	if (kernfs_type(kn) == KERNFS_DIR && kn->priv)
		kobj = kobject_get(kn->priv);
	kernfs_put(kn);
	return kobj;
}

/* ----------------------------------------------------------------------
 * Interfaces pshare avoids rather than wraps
 * ----------------------------------------------------------------------
 *
 * - struct fd lost its .file member in 6.12 (88a2f6468d01 "struct fd:
 *   representation change"; fd_file() reads it). ioctl.c takes a plain
 *   file reference with fget() instead: the control path is not hot.
 * - page_maybe_dma_pinned() went away after the folio conversions;
 *   folio_maybe_dma_pinned(), folio_mapped() and folio_ref_count(), which
 *   every supported kernel has, are used on the frame's folio.
 * - class_create() lost its owner argument in 6.4: pshare's control device
 *   is a misc device and creates no class.
 * - struct page has no ->index since 6.16 ("mm: rename page->index to
 *   page->__folio_index"): the key of a shared frame is kept in its
 *   folio's ->index (pshare.h), which every supported kernel has.
 * - zero_user() is gone in 7.x: memzero_page(), in every supported kernel.
 * - vma_alloc_folio() lost its hugepage argument after 6.12 (7.x takes
 *   gfp, order, vma, addr). Frames are order 0: alloc_page_vma(gfp, vma,
 *   addr), a header inline over it with the same arguments on every
 *   supported kernel, allocates under a VMA's memory policy.
 * - The shared memory policy helpers that shmem's ->set_policy and
 *   ->get_policy use (mpol_set_shared_policy(), mpol_shared_policy_lookup(),
 *   mpol_shared_policy_init()) are not exported on 6.1 and 6.12, and 7.x
 *   exports them to kvm.ko alone. pshare's VMAs have neither operation, so
 *   mbind() keeps the policy in the VMA (vma->vm_policy): it holds for the
 *   mapping it was set on, not for the file (admin guide, "NUMA").
 * - inode->i_ino is a u64 in 7.x: it is printed as one on every kernel.
 * - f_op->mmap_prepare (6.16, c84bf6dd2b83) is the preferred mmap hook in
 *   7.2, but ->mmap is still supported there and not deprecated. pshare's
 *   ->mmap only checks VM_MAYSHARE and sets vm_ops, which map one to
 *   one onto mmap_prepare's vm_area_desc should ->mmap go. Reading
 *   vma->vm_flags is still allowed in 7.2 ("temporary while VMA flags are
 *   being converted" to the vma_flags_t bitmap). pshare sets no VMA flag
 *   (pshare_region_mmap()), so vm_flags_set() (6.3) needs no wrapper.
 */

/* ----------------------------------------------------------------------
 * Behaviour that changed, checked against the 6.12 and 7.2 mm source
 * ----------------------------------------------------------------------
 *
 * - Faults under the per-VMA lock (CONFIG_PER_VMA_LOCK; anonymous VMAs
 *   since 6.4, file VMAs since 6.7): a file fault that arrives under the
 *   VMA lock alone is retried under mmap_lock when the VMA has no
 *   ->map_pages (vmf_can_call_fault(), before ->fault, ->page_mkwrite and
 *   ->pfn_mkwrite), so pshare's handlers still run under mmap_lock on
 *   6.12 and 7.2. They do not rely on it: they use only the VMA's file,
 *   and serialize with invalidate_lock and the frame's page lock, so they
 *   stay correct should the core call them under the VMA lock alone (as
 *   it does for VMAs with ->map_pages).
 * - GUP-fast refuses order-0 folios whose ->mapping is NULL when
 *   CONFIG_SECRETMEM is set (gup_fast_folio_allowed(), since 6.9:
 *   65291dcfcf89 "mm/secretmem: fix GUP-fast succeeding on secretmem
 *   folios"; its 6.1.y backport still lets them through). pshare frames
 *   have no mapping (they are in no page cache), so every GUP-fast on a
 *   region falls back to the slow path, which takes mmap_lock: KVM's
 *   hva_to_pfn_fast() fails and hva_to_pfn_slow() maps the page. Correct,
 *   slower per fault. Giving frames a ->mapping would make them look like
 *   page cache to the rest of mm, and a shared frame has many regions.
 *   Since 6.13 kvm_vcpu_map() pins (FOLL_PIN, not long-term) the pages KVM
 *   maps for itself; while it holds one, folio_maybe_dma_pinned() keeps
 *   the scanner and page-out away from it, as any pin does.
 * - Long-term pins that write (FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE: VFIO,
 *   io_uring fixed buffers, RDMA) of a pshare mapping fail with -EFAULT
 *   since 6.5: writable_file_mapping_allowed() refuses VMAs that need
 *   dirty tracking, and ->page_mkwrite makes pshare's VMAs need it. 6.1
 *   allowed them. Mappings of noshare regions have no ->page_mkwrite and
 *   pshare's superblock no writeback (noop_backing_dev_info), so
 *   vma_needs_dirty_tracking() is false for them and such pins are taken
 *   on every kernel; GUP-fast still leaves them to the slow path.
 * - The page ->fault returns: __do_fault() and finish_fault() take the
 *   reference and the lock as on 6.1 (VM_FAULT_LOCKED, one reference
 *   passed to the PTE); set_pte_range() adds a file rmap
 *   (folio_add_file_rmap_ptes()), which counts NR_FILE_MAPPED on the
 *   frame's memcg and needs nothing from ->mapping. finish_fault() of
 *   6.12.y (backported) and later reads folio_next_index() to keep PTEs
 *   within i_size: a frame's folio->index is not its PPN (0, or the hash
 *   key of a shared frame), which for order-0 frames only keeps the one
 *   PTE mapping they get anyway; huge frames would need index == PPN.
 * - shrinker_free() may be called from module exit: the struct is freed
 *   after an RCU grace period by core code, not by the module.
 */

#endif /* PSHARE_RANGE_CHECK */
#endif /* _PSHARE_COMPAT_H */
