/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences pshare depends on, kept in this one place.
 *
 * The module is written against Linux 6.1 (Debian 12). Interfaces that
 * changed after it are wrapped here; kernels whose interfaces are not
 * wrapped yet are refused at build time rather than miscompiled.
 */
#ifndef _PSHARE_COMPAT_H
#define _PSHARE_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>

/*
 * The supported range, also stated by dkms.conf (BUILD_EXCLUSIVE_KERNEL).
 * An out-of-tree module has no "version it is merged to": this guard is
 * the one place that compares kernel versions.
 */
#define PSHARE_KERNEL_MIN	KERNEL_VERSION(6, 1, 0)
#define PSHARE_KERNEL_END	KERNEL_VERSION(6, 3, 0)

#if LINUX_VERSION_CODE < PSHARE_KERNEL_MIN || LINUX_VERSION_CODE >= PSHARE_KERNEL_END
#error "pshare supports Linux 6.1 and 6.2 (inode operations take a user_namespace)"
#endif

/* Inode operations name the mount's id mapping by user namespace. */
#define PSHARE_IDMAP_ARG	struct user_namespace *mnt_userns
#define PSHARE_IDMAP		mnt_userns

/* vm_flags became read-only (vm_flags_set()) in 6.3. */
static inline void pshare_vm_flags_set(struct vm_area_struct *vma,
				       unsigned long flags)
{
	vma->vm_flags |= flags;
}

/* register_shrinker() names the shrinker since 6.0; 6.7 replaced it. */
#define pshare_register_shrinker(s, name)	register_shrinker(s, name)

#endif /* _PSHARE_COMPAT_H */
