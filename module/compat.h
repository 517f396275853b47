/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the kernel interfaces that differ between the kernels pshare
 * builds for, kept in this one place.
 *
 * pshare builds for Linux 6.1 through 7.2.x. The .c files are written
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
#define PSHARE_KERNEL_END	KERNEL_VERSION(7, 3, 0)

#if LINUX_VERSION_CODE < PSHARE_KERNEL_MIN || LINUX_VERSION_CODE >= PSHARE_KERNEL_END
#error "pshare supports Linux 6.1 through 7.2.x only: these kernel headers are outside that range"
#endif

#ifndef PSHARE_RANGE_CHECK

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>

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

/*
 * vma->vm_flags is read-only since 6.3: it is changed through
 * vm_flags_set() and its siblings (bc292ab00f6c "mm: introduce
 * vma->vm_flags wrapper functions"), which also take the VMA's
 * per-VMA lock for writing.
 */
#ifndef HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
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
 * old unregister_shrinker() waits for them under shrinker_rwsem, and
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
 */

/* ----------------------------------------------------------------------
 * Behaviour that changed, checked against the 6.12 mm source
 * ----------------------------------------------------------------------
 *
 * - Faults under the per-VMA lock (6.4 onwards, CONFIG_PER_VMA_LOCK):
 *   a file fault that arrives under the VMA lock alone is retried under
 *   mmap_lock when the VMA has no ->map_pages (vmf_can_call_fault(), for
 *   ->fault, ->page_mkwrite and ->pfn_mkwrite), so pshare's handlers run
 *   under mmap_lock on 6.12 as on 6.1. They do not depend on it: they
 *   use only the VMA's file, and serialize with invalidate_lock and the
 *   frame's page lock. Adding ->map_pages would let faults run under the
 *   VMA lock alone; nothing in pmap.c would need to change for that.
 * - GUP-fast refuses order-0 folios whose ->mapping is NULL when
 *   CONFIG_SECRETMEM is set (gup_fast_folio_allowed(), since 6.9:
 *   65291dcfcf89 "mm/secretmem: fix GUP-fast succeeding on secretmem
 *   folios"; the 6.1.y backport does not). pshare frames have no mapping
 *   (they are not in a page cache), so every get_user_pages_fast() on a
 *   region falls back to the slow path, which takes mmap_lock: KVM's
 *   hva_to_pfn_fast() fails and hva_to_pfn_slow() maps the page. Correct,
 *   slower per fault. Giving frames a ->mapping would make them look like
 *   page cache to the rest of mm, and a shared frame has many regions.
 * - Long-term pins that write (FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE: VFIO,
 *   io_uring fixed buffers, RDMA) of a pshare mapping fail with -EFAULT
 *   since 6.5: writable_file_mapping_allowed() refuses VMAs that need
 *   dirty tracking, and ->page_mkwrite makes pshare's VMAs need it. 6.1
 *   allowed them. Such pins were never supported (DESIGN: no VFIO).
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
