/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pshare: content-based page sharing and reclaim for QEMU/KVM guest RAM.
 *
 * The control device /dev/pshare speaks this interface. A region (one
 * regular file of a mounted pshare filesystem) is always named by an open
 * file descriptor, so holding the fd is the capability to act on it.
 *
 * Every argument struct starts with argsz and flags. argsz is the size of
 * the struct as the caller knows it: the kernel reads and writes no more
 * than that, refuses a size smaller than the first version of the struct
 * with -EINVAL, and requires any bytes it does not know to be zero (so a
 * struct may grow in later versions). Unknown flags are refused with
 * -EINVAL. Fields are marked (in) when the caller sets them and (out) when
 * the kernel fills them; reserved fields must be zero on input.
 */
#ifndef _UAPI_LINUX_PSHARE_H
#define _UAPI_LINUX_PSHARE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define PSHARE_FS_MAGIC		0x70736872	/* "pshr", statfs f_type */
#define PSHARE_IOCTL_MAGIC	0xB8
#define PSHARE_API_VERSION	1

/* Feature bits reported by PSHARE_IOC_API. */
#define PSHARE_FEATURE_REGION_STATS	(1ULL << 0)	/* PSHARE_IOC_REGION_STATS */
#define PSHARE_FEATURE_ZERO_FRAME	(1ULL << 1)	/* holes read as one zero frame */
#define PSHARE_FEATURE_SHARING		(1ULL << 2)	/* content-based page sharing */
#define PSHARE_FEATURE_DOMAINS		(1ULL << 3)	/* PSHARE_IOC_REGION_SET_DOMAIN */
#define PSHARE_FEATURE_POLICY		(1ULL << 4)	/* PSHARE_IOC_REGION_SET_POLICY */
#define PSHARE_FEATURE_SAMPLING		(1ULL << 5)	/* active memory estimates */
#define PSHARE_FEATURE_PAGING		(1ULL << 6)	/* PSHARE_IOC_REGION_SET_BACKING */
#define PSHARE_FEATURE_NOSHARE		(1ULL << 7)	/* the noshare mount option */
#define PSHARE_FEATURE_REGION_USERS	(1ULL << 8)	/* mappings, files_open */

/* A policy value meaning "the default": shares proportional to size, max = size. */
#define PSHARE_POLICY_DEFAULT		(~0ULL)

/* The largest policy values PSHARE_IOC_REGION_SET_POLICY takes. */
#define PSHARE_POLICY_SHARES_MAX	(1ULL << 30)
#define PSHARE_POLICY_PAGES_MAX		(1ULL << 28)	/* 1 TiB: the largest region */

/**
 * struct pshare_api - version and feature negotiation
 * @argsz:	(in) sizeof(struct pshare_api)
 * @flags:	(in) must be 0
 * @version:	(out) PSHARE_API_VERSION of the running module
 * @reserved:	must be 0
 * @features:	(out) PSHARE_FEATURE_* bits the module supports
 *
 * Errors: -EFAULT bad pointer; -EINVAL argsz too small, unknown flags,
 * nonzero reserved field or nonzero unknown trailing bytes.
 */
struct pshare_api {
	__u32 argsz;
	__u32 flags;
	__u32 version;
	__u32 reserved;
	__u64 features;
};

/**
 * struct pshare_region_stats - statistics of one region
 * @argsz:		(in) sizeof(struct pshare_region_stats)
 * @flags:		(in) must be 0
 * @fd:			(in) open file descriptor of a region file
 * @reserved0:		must be 0
 * @size:		(out) region size in bytes (the file size)
 * @pages_private:	(out) pages backed by a frame of their own: the
 *			memory this region alone holds (exact)
 * @pages_zero:		(out) pages mapped to the shared zero frame (exact)
 * @pages_shared:	(out) pages mapped to a shared frame of the sharing
 *			hash table (exact); such pages hold no memory of
 *			their own beyond their share of the frame
 * @cow_breaks:		(out) copy-on-write breaks in this region
 * @domain:		(out) the region's sharing domain
 * @shares:		(out) allocation shares (the default, the size in
 *			pages, when none were set)
 * @min_pages:		(out) pages never reclaimed
 * @max_pages:		(out) pages the region may hold (the size when none
 *			was set)
 * @target_pages:	(out) pages the allocator wants the region to hold:
 *			also its balloon target; @max_pages without pressure
 * @active_permille:	(out) active fraction the allocator uses: the
 *			largest of the three estimates below
 * @active_fast:	(out) fast moving average of the sampled active
 *			fraction, permille
 * @active_slow:	(out) slow moving average, permille
 * @active_current:	(out) the current sampling period so far, permille
 * @pages_paged:	(out) pages now in the backing file
 * @paged_out:		(out) pages written to the backing file, ever
 * @paged_in:		(out) pages read back from it, ever
 * @reserved:		(in) must be 0, (out) zero: room for later versions
 * @mappings:		(out) mappings (VMAs, in every process) of the
 *			region file; a mapping split by mprotect() or
 *			mbind() counts once per piece
 * @files_open:		(out) open files of the region (opens not yet
 *			closed; a file a mapping keeps counts), the one
 *			@fd names included. With no mapping and no open
 *			file the region is an orphan: nobody uses its
 *			memory, which stays until the file is removed.
 *
 * @mappings and @files_open came after the first version: they need
 * PSHARE_FEATURE_REGION_USERS. Pass them as 0: an older module refuses
 * other values of bytes it does not know, and leaves them 0.
 *
 * Errors: -EFAULT bad pointer; -EINVAL argsz too small, unknown flags,
 * nonzero reserved0 or reserved, or nonzero unknown trailing bytes; -EBADF @fd is not open;
 * -ENODEV @fd is open but is not a pshare region file; -EACCES @fd was not
 * opened for reading.
 */
struct pshare_region_stats {
	__u32 argsz;
	__u32 flags;
	__s32 fd;
	__u32 reserved0;
	__u64 size;
	__u64 pages_private;
	__u64 pages_zero;
	__u64 pages_shared;
	__u64 cow_breaks;
	__u64 domain;
	__u64 shares;
	__u64 min_pages;
	__u64 max_pages;
	__u64 target_pages;
	__u64 active_permille;
	__u64 active_fast;
	__u64 active_slow;
	__u64 active_current;
	__u64 pages_paged;
	__u64 paged_out;
	__u64 paged_in;
	__u64 reserved[8];
	__u64 mappings;
	__u64 files_open;
};

/*
 * The (out) fields of struct pshare_region_stats, each a __u64, in order:
 * from @size to @paged_in, then those after @reserved. X(name) for each,
 * for tools that show them all by name (psharectl, and the columns of
 * debugfs' regions table).
 */
#define PSHARE_REGION_STATS_FIELDS(X)					\
	X(size) X(pages_private) X(pages_zero) X(pages_shared)		\
	X(cow_breaks) X(domain) X(shares) X(min_pages) X(max_pages)	\
	X(target_pages) X(active_permille) X(active_fast) X(active_slow)	\
	X(active_current) X(pages_paged) X(paged_out) X(paged_in)	\
	X(mappings) X(files_open)

/**
 * struct pshare_region_domain - move a region to another sharing domain
 * @argsz:	(in) sizeof(struct pshare_region_domain)
 * @flags:	(in) must be 0
 * @fd:		(in) file descriptor of a region file, open for writing
 * @domain:	(in) the new sharing domain
 *
 * Pages merge only with pages of regions of the same domain, unless the
 * merge_across_domains knob is set. A new region is in its mount's domain;
 * every mount gets a domain of its own.
 *
 * Errors: as PSHARE_IOC_REGION_STATS, but -EACCES when @fd was not opened
 * for writing; -EBUSY while the region uses shared frames (write 2 to
 * /sys/kernel/mm/pshare/run to unmerge first).
 */
struct pshare_region_domain {
	__u32 argsz;
	__u32 flags;
	__s32 fd;
	__u32 domain;
};

/* struct pshare_region_policy.flags: which values to set. */
#define PSHARE_POLICY_SHARES		(1U << 0)
#define PSHARE_POLICY_MIN		(1U << 1)
#define PSHARE_POLICY_MAX		(1U << 2)

/**
 * struct pshare_region_policy - set a region's share-based allocation
 * @argsz:	(in) sizeof(struct pshare_region_policy)
 * @flags:	(in) PSHARE_POLICY_* bits naming the fields below to set
 * @fd:		(in) file descriptor of a region file, open for writing
 * @reserved:	must be 0
 * @shares:	(in) shares, up to 2^30; PSHARE_POLICY_DEFAULT: the size in
 *		pages
 * @min_pages:	(in) pages never reclaimed from the region
 * @max_pages:	(in) pages the region may hold; PSHARE_POLICY_DEFAULT:
 *		its size. A region above it is trimmed (ballooned, paged).
 *
 * Errors: as PSHARE_IOC_REGION_SET_DOMAIN; -EINVAL for unknown flags,
 * shares above 2^30, a min or max above 2^28 pages (the largest region),
 * or a min above the max that would result. Nothing changes on error.
 */
struct pshare_region_policy {
	__u32 argsz;
	__u32 flags;
	__s32 fd;
	__u32 reserved;
	__u64 shares;
	__u64 min_pages;
	__u64 max_pages;
};

/**
 * struct pshare_region_backing - give a region a file to page out to
 * @argsz:	(in) sizeof(struct pshare_region_backing)
 * @flags:	(in) must be 0
 * @fd:		(in) file descriptor of a region file, open for writing
 * @backing_fd:	(in) a regular file open for reading and writing (not
 *		O_APPEND, not on pshare), or -1 to remove the backing file.
 *		The region's page n lives at offset n * 4096 in it. The
 *		module keeps its own reference: the caller may close it.
 *
 * Errors: as PSHARE_IOC_REGION_SET_DOMAIN; for @backing_fd: -EBADF not
 * open, or not open for both reading and writing; -EISDIR a directory;
 * -EINVAL not a regular file (a pipe, a device), a pshare file, or opened
 * O_APPEND; -EBUSY pages of the region are out in the current backing
 * file, or another region already pages to that file.
 */
struct pshare_region_backing {
	__u32 argsz;
	__u32 flags;
	__s32 fd;
	__s32 backing_fd;
};

#define PSHARE_IOC_API			_IO(PSHARE_IOCTL_MAGIC, 0x00)
#define PSHARE_IOC_REGION_STATS		_IO(PSHARE_IOCTL_MAGIC, 0x01)
#define PSHARE_IOC_REGION_SET_DOMAIN	_IO(PSHARE_IOCTL_MAGIC, 0x02)
#define PSHARE_IOC_REGION_SET_POLICY	_IO(PSHARE_IOCTL_MAGIC, 0x03)
#define PSHARE_IOC_REGION_SET_BACKING	_IO(PSHARE_IOCTL_MAGIC, 0x04)

#endif /* _UAPI_LINUX_PSHARE_H */
