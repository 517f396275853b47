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
#include <linux/rcupdate.h>
#include <linux/xarray.h>
#include <linux/pshare.h>
#include <linux/atomic.h>

#include "compat.h"

/* Largest region: 1 TiB of guest RAM per file, the uapi's page limit. */
#define PSHARE_MAX_BYTES	(PSHARE_POLICY_PAGES_MAX << PAGE_SHIFT)

/**
 * struct pshare_sample - active memory estimate of a region
 * @sampled:	PPNs marked for the current period
 * @touched:	of those, how many were touched again
 * @fast:	fast moving average of the active fraction, permille
 * @slow:	slow moving average, permille
 * @last:	estimate of the last full period, permille
 * @periods:	periods sampled so far
 */
struct pshare_sample {
	unsigned int sampled;
	atomic_t touched;
	u32 fast;
	u32 slow;
	u32 last;
	unsigned long periods;
};

/**
 * struct pshare_region - one region file and its pmap
 * @pmap:		PPN -> frame. An entry is either a struct page of a
 *			frame (holding one page reference for this PPN), or
 *			PSHARE_ZERO_ENTRY for a page mapped to the zero frame.
 *			A missing entry is a hole that reads as zeros.
 * @id:			small number naming the region in hints; 0 for
 *			directories
 * @domain:		sharing domain: pages merge only with pages of the
 *			same domain unless merge_across_domains is set.
 *			Changes under pshare_scan_mutex.
 * @noshare:		the region is in a noshare mount: every page that
 *			has content has a frame of its own, never the zero
 *			frame or a shared one, so long-term pins of its
 *			pages stay coherent (pshare_region_mmap()). Set at
 *			creation, never changed.
 * @pages_private:	entries whose frame is private to this PPN
 * @pages_zero:		entries equal to PSHARE_ZERO_ENTRY
 * @pages_shared:	entries pointing at a shared frame (one in the hash
 *			table, possibly with no other user left)
 * @cow_breaks:		copy-on-write breaks in this region
 * @shares:		allocation shares; PSHARE_DEFAULT means "the size
 *			in pages" (shares proportional to size)
 * @min_pages:		pages never taken from the region
 * @max_pages:		pages it may hold; PSHARE_DEFAULT means its size
 * @target:		pages the allocator wants it to hold (reclaim.c)
 * @sample:		active memory sampling state (sample.c)
 * @backing:		file pshare pages this region out to, or NULL;
 *			changed under @paging_lock and @backing_lock
 * @backing_lock:	guards @backing for page-in
 * @paging_lock:	serializes page-out rounds and backing changes
 * @pages_paged:	paged-out entries (pshare_entry_paged())
 * @paged_gen:		page-outs of this region, ever, under @paging_lock:
 *			the generation in each paged-out entry
 * @paged_out:		pages written to @backing, ever
 * @paged_in:		pages read back from @backing, ever
 * @reclaim_cursor:	where page-out resumes, under @paging_lock
 * @moves_begun:	page moves between two of the page counters begun,
 * @moves_done:		and finished (pshare_move_begin())
 * @files_open:		open files of the region (pshare_file_open()),
 *			for the statistics: a region with no open file and
 *			no mapping is an orphan
 * @node:		on pshare_regions, under pshare_regions_lock
 * @vfs_inode:		the inode of the region file
 *
 * The page counters are exact: they change under the frame's page lock
 * together with the pmap entry they describe. A page going from one
 * counter to another is bracketed by pshare_move_begin()/_end(), so
 * pshare_region_counts() reads the four as one snapshot.
 */
struct pshare_region {
	struct xarray pmap;
	u32 id;
	u32 domain;
	bool noshare;
	atomic_long_t pages_private;
	atomic_long_t pages_zero;
	atomic_long_t pages_shared;
	atomic_long_t cow_breaks;
	u64 shares;
	u64 min_pages;
	u64 max_pages;
	u64 target;
	struct pshare_sample sample;
	struct file *backing;
	spinlock_t backing_lock;
	struct mutex paging_lock;
	atomic_long_t pages_paged;
	unsigned long paged_gen;
	atomic_long_t paged_out;
	atomic_long_t paged_in;
	pgoff_t reclaim_cursor;
	atomic_long_t moves_begun;
	atomic_long_t moves_done;
	atomic_t files_open;
	struct list_head node;
	struct inode vfs_inode;
};

/* Policy value meaning "derive it from the region's size". */
#define PSHARE_DEFAULT		U64_MAX

/* The pmap value of a page mapped to the zero frame. */
#define PSHARE_ZERO_ENTRY	xa_mk_value(0)

/*
 * The pmap value of a page paged out to the region's backing file: an odd
 * value, a new one for each page-out (@gen is the region's paged_gen). A
 * page-in replaces exactly the value it found, so a page-in that read the
 * file while the page came back in (by another path), changed and went out
 * again loses its cmpxchg instead of installing the stale copy it read.
 */
static inline void *pshare_paged_entry(unsigned long gen)
{
	return xa_mk_value(((gen << 1) | 1) & LONG_MAX);
}

static inline bool pshare_entry_paged(const void *entry)
{
	return xa_is_value(entry) && (xa_to_value(entry) & 1);
}

/* pmap marks: sampled this period and not touched yet; touched lately. */
#define PSHARE_MARK_SAMPLED	XA_MARK_0
#define PSHARE_MARK_ACTIVE	XA_MARK_1

static inline struct pshare_region *pshare_region(struct inode *inode)
{
	return container_of(inode, struct pshare_region, vfs_inode);
}

/**
 * struct pshare_global_stats - counters over all regions
 * @regions:		region inodes alive (linked or open)
 * @pages_private:	private frames held by all regions
 * @pages_zero:		pages mapped to the zero frame in all regions
 * @frames_shared:	shared frames (in the hash table)
 * @sharing_refs:	PPNs pointing at shared frames
 * @cow_breaks:		copy-on-write breaks, all regions
 * @pages_scanned:	private frames the scanner hashed
 * @full_scans:		passes of the scanner over all regions
 * @hint_hits:		scanned pages whose hash hit a hint that still held
 * @stale_hints:	hints found changed or gone, and dropped
 * @false_matches:	hash matches whose full compare failed
 * @merge_busy:		merges given up because a page had extra references
 *			(GUP, O_DIRECT, DMA pins)
 * @pages_paged:	pages out in backing files now
 * @paged_out:		pages written to backing files, ever
 * @paged_in:		pages read back, ever
 * @fault_nomem_retries: faults taken by GUP (KVM, O_DIRECT) tried again
 *			after a failed allocation
 * @skipped_unchanged:	visits the scanner skipped: the page was unchanged
 *			and unmatched, and has not been written since
 * @skipped_volatile:	visits the scanner skipped: the page changed at
 *			every one of its last visits
 * @cold_woken:		writes to a page the scanner was skipping as
 *			unchanged, which make it visit the page again
 */
struct pshare_global_stats {
	atomic_long_t regions;
	atomic_long_t pages_private;
	atomic_long_t pages_zero;
	atomic_long_t frames_shared;
	atomic_long_t sharing_refs;
	atomic_long_t cow_breaks;
	atomic_long_t pages_scanned;
	atomic_long_t full_scans;
	atomic_long_t hint_hits;
	atomic_long_t stale_hints;
	atomic_long_t false_matches;
	atomic_long_t merge_busy;
	atomic_long_t pages_paged;
	atomic_long_t paged_out;
	atomic_long_t paged_in;
	atomic_long_t fault_nomem_retries;
	atomic_long_t skipped_unchanged;
	atomic_long_t skipped_volatile;
	atomic_long_t cold_woken;
};

extern struct pshare_global_stats pshare_stats;

/**
 * struct pshare_mount_opts - mount options and state of one pshare mount
 * @uid:	owner of the root directory
 * @gid:	group of the root directory
 * @mode:	permission bits of the root directory
 * @domain:	sharing domain of new regions: one per mount
 * @noshare:	the noshare option: regions of this mount never share
 * @dying:	the superblock is being shut down: workers must not take
 *		references to its regions any more
 * @rcu:	freed after a grace period: workers read @dying under RCU
 */
struct pshare_mount_opts {
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	u32 domain;
	bool noshare;
	bool dying;
	struct rcu_head rcu;
};

/* Caller holds rcu_read_lock() and a pointer to one of @sb's inodes. */
static inline bool pshare_sb_dying(struct super_block *sb)
{
	struct pshare_mount_opts *opts;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "a region's superblock read without RCU");
	opts = READ_ONCE(sb->s_fs_info);
	return !opts || READ_ONCE(opts->dying);
}

/*
 * page->private of a frame: the number of PPNs whose entry points at it,
 * and PSHARE_FRAME_SHARED while the frame is a shared frame of the hash
 * table (its key is then in the folio's index: pshare_frame_key()). A
 * shared frame is never written: a write first takes it back (last user)
 * or copies it. Both change only under the page lock.
 */
#define PSHARE_FRAME_SHARED	(1UL << (BITS_PER_LONG - 1))

static inline unsigned long pshare_frame_users(struct page *page)
{
	return page_private(page) & ~PSHARE_FRAME_SHARED;
}

static inline bool pshare_frame_shared(struct page *page)
{
	return page_private(page) & PSHARE_FRAME_SHARED;
}

/*
 * A frame is in no page cache, so its folio's index is free for the hash
 * key (struct page has no index of its own since 6.16). finish_fault()
 * reads it (folio_next_index() against i_size), harmlessly for an order-0
 * frame: see compat.h.
 */
static inline u64 pshare_frame_key(struct page *page)
{
	return page_folio(page)->index;
}

static inline void pshare_frame_set_key(struct page *page, u64 key)
{
	page_folio(page)->index = key;
}

/*
 * A private frame's folio index holds the scanner's record of its page
 * instead (scan.c): zero for a frame the scanner has not seen. Set and read
 * under the frame's page lock. PSHARE_REC_COLD: the page was unchanged and
 * unmatched at its last visit, and its PTEs were zapped then, so that its
 * next write comes through ->page_mkwrite or write(2), which clear the bit
 * (pshare_frame_written()); until then the scanner skips it.
 */
#define PSHARE_REC_COLD		BIT_ULL(48)

static inline unsigned long pshare_frame_rec(struct page *page)
{
	return page_folio(page)->index;
}

static inline void pshare_frame_set_rec(struct page *page, unsigned long rec)
{
	page_folio(page)->index = rec;
}

/* @page, the locked private frame of a PPN, is about to be written. */
static inline void pshare_frame_written(struct page *page)
{
	unsigned long rec = pshare_frame_rec(page);

	if (rec & PSHARE_REC_COLD) {
		pshare_frame_set_rec(page, rec & ~PSHARE_REC_COLD);
		atomic_long_inc(&pshare_stats.cold_woken);
	}
}

/* The frame every zero-mapped PPN of every region maps, read-only. */
extern struct page *pshare_zero_page;

static inline bool pshare_is_zero(struct page *page)
{
	return page == pshare_zero_page;
}

#endif /* _PSHARE_H */
