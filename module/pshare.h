/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Data structures shared by the parts of pshare: the region (one file of
 * the pshare filesystem, the RAM of one VM), its pmap, and the global
 * statistics. Each .c file owns one concern; this header is the narrow
 * interface between them.
 */
#ifndef _PSHARE_H
#define _PSHARE_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/xarray.h>
#include <linux/atomic.h>

#include "compat.h"

/* Largest region: 1 TiB of guest RAM per file. */
#define PSHARE_MAX_BYTES	(1ULL << 40)

/**
 * struct pshare_region - one region file and its pmap
 * @pmap:		PPN -> frame. An entry is either a struct page of a
 *			frame (holding one page reference for this PPN), or
 *			PSHARE_ZERO_ENTRY for a page mapped to the zero frame.
 *			A missing entry is a hole that reads as zeros.
 * @pages_private:	entries whose frame is used by this PPN alone
 * @pages_zero:		entries equal to PSHARE_ZERO_ENTRY
 * @pages_shared:	entries whose frame other PPNs use too
 * @cow_breaks:		copy-on-write breaks in this region
 * @node:		on pshare_regions, under pshare_regions_lock
 * @vfs_inode:		the inode of the region file
 *
 * The counters are exact: they change under the frame's page lock together
 * with the pmap entry they describe.
 */
struct pshare_region {
	struct xarray pmap;
	atomic_long_t pages_private;
	atomic_long_t pages_zero;
	atomic_long_t pages_shared;
	atomic_long_t cow_breaks;
	struct list_head node;
	struct inode vfs_inode;
};

/* The pmap value of a page mapped to the zero frame. */
#define PSHARE_ZERO_ENTRY	xa_mk_value(0)

static inline struct pshare_region *pshare_region(struct inode *inode)
{
	return container_of(inode, struct pshare_region, vfs_inode);
}

/**
 * struct pshare_global_stats - counters over all regions
 * @regions:		region inodes alive (linked or open)
 * @pages_private:	private frames held by all regions
 * @pages_zero:		pages mapped to the zero frame in all regions
 */
struct pshare_global_stats {
	atomic_long_t regions;
	atomic_long_t pages_private;
	atomic_long_t pages_zero;
};

extern struct pshare_global_stats pshare_stats;

/* All live regions, for debugfs and (later) the scanner. */
extern struct list_head pshare_regions;
extern struct mutex pshare_regions_lock;

/* fs.c */
int pshare_fs_init(void);
void pshare_fs_exit(void);
bool pshare_is_region_file(struct file *file);

/* pmap.c: frames, the fault path, and pmap updates */
int pshare_pmap_init(void);
void pshare_pmap_exit(void);
void pshare_region_init(struct pshare_region *r);
void pshare_region_destroy(struct pshare_region *r);
int pshare_region_mmap(struct file *file, struct vm_area_struct *vma);
ssize_t pshare_region_read(struct pshare_region *r, loff_t pos,
			   struct iov_iter *to);
ssize_t pshare_region_write(struct pshare_region *r, loff_t pos,
			    struct iov_iter *from);
int pshare_region_resize(struct pshare_region *r, loff_t newsize);
int pshare_region_punch(struct pshare_region *r, loff_t pos, loff_t len);

/* ioctl.c */
int pshare_dev_init(void);
void pshare_dev_exit(void);

/* sysfs.c */
int pshare_sysfs_init(void);
void pshare_sysfs_exit(void);

/* debugfs.c */
void pshare_debugfs_init(void);
void pshare_debugfs_exit(void);

#endif /* _PSHARE_H */
