/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of pshare: what the scanner merged, copy-on-write breaks,
 * the sampler's estimates, reclaim decisions and pshare's own paging.
 * They appear under events/pshare/ in tracefs, for perf and bpftrace
 * (Documentation/admin-guide.rst, "Tracepoints").
 *
 * A region appears as its id (the number hints carry) and its inode
 * number, which `ls -i`, stat(1) and the debugfs regions table show.
 * main.c defines CREATE_TRACE_POINTS before including this file; every
 * other user just includes it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pshare

#if !defined(_PSHARE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PSHARE_TRACE_H

#include <linux/tracepoint.h>

#include "pshare.h"

#ifndef _PSHARE_TRACE_ENUMS
#define _PSHARE_TRACE_ENUMS
/* What a scanned page was merged with. */
enum pshare_merge_kind {
	PSHARE_MERGE_FRAME,	/* a shared frame of the hash table */
	PSHARE_MERGE_HINT,	/* the page a hint named: a new shared frame */
	PSHARE_MERGE_ZERO,	/* the zero frame */
};

/* How reclaim takes pages from a region. */
enum pshare_reclaim_how {
	PSHARE_RECLAIM_BALLOON,	/* target below what it holds: the balloon */
	PSHARE_RECLAIM_PAGE,	/* pshare's own page-out */
};
#endif

TRACE_DEFINE_ENUM(PSHARE_MERGE_FRAME);
TRACE_DEFINE_ENUM(PSHARE_MERGE_HINT);
TRACE_DEFINE_ENUM(PSHARE_MERGE_ZERO);
TRACE_DEFINE_ENUM(PSHARE_RECLAIM_BALLOON);
TRACE_DEFINE_ENUM(PSHARE_RECLAIM_PAGE);

/* A PPN of @r now maps @frame, shared copy-on-write. */
TRACE_EVENT(pshare_merge,
	TP_PROTO(struct pshare_region *r, pgoff_t ppn, struct page *frame,
		 enum pshare_merge_kind kind),
	TP_ARGS(r, ppn, frame, kind),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(unsigned long, ino)
		__field(unsigned long, ppn)
		__field(unsigned long, pfn)
		__field(int, kind)
	),
	TP_fast_assign(
		__entry->region = r->id;
		__entry->ino = r->vfs_inode.i_ino;
		__entry->ppn = ppn;
		__entry->pfn = page_to_pfn(frame);
		__entry->kind = kind;
	),
	TP_printk("region=%u ino=%lu ppn=%lu pfn=0x%lx kind=%s",
		  __entry->region, __entry->ino, __entry->ppn, __entry->pfn,
		  __print_symbolic(__entry->kind,
				   { PSHARE_MERGE_FRAME, "frame" },
				   { PSHARE_MERGE_HINT, "hint" },
				   { PSHARE_MERGE_ZERO, "zero" }))
);

/* A write gave a PPN of @r a private copy of the zero or a shared frame. */
TRACE_EVENT(pshare_cow_break,
	TP_PROTO(struct pshare_region *r, pgoff_t ppn, bool from_zero),
	TP_ARGS(r, ppn, from_zero),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(unsigned long, ino)
		__field(unsigned long, ppn)
		__field(bool, from_zero)
	),
	TP_fast_assign(
		__entry->region = r->id;
		__entry->ino = r->vfs_inode.i_ino;
		__entry->ppn = ppn;
		__entry->from_zero = from_zero;
	),
	TP_printk("region=%u ino=%lu ppn=%lu from=%s",
		  __entry->region, __entry->ino, __entry->ppn,
		  __entry->from_zero ? "zero" : "shared")
);

/*
 * A sampling period of @r closed: @touched of @sampled pages were used
 * again; @estimate is the active fraction reclaim now uses (permille).
 */
TRACE_EVENT(pshare_sample,
	TP_PROTO(struct pshare_region *r, unsigned int touched,
		 unsigned int sampled, u32 estimate),
	TP_ARGS(r, touched, sampled, estimate),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(unsigned long, ino)
		__field(unsigned int, touched)
		__field(unsigned int, sampled)
		__field(u32, estimate)
	),
	TP_fast_assign(
		__entry->region = r->id;
		__entry->ino = r->vfs_inode.i_ino;
		__entry->touched = touched;
		__entry->sampled = sampled;
		__entry->estimate = estimate;
	),
	TP_printk("region=%u ino=%lu touched=%u sampled=%u estimate=%u",
		  __entry->region, __entry->ino, __entry->touched,
		  __entry->sampled, __entry->estimate)
);

/*
 * A reclaim round wants @r, holding @held private pages, down to @target.
 * BALLOON: the target was published (@taken is 0: the balloon agent acts);
 * recorded only when the target is below @held. PAGE: @taken pages were
 * paged out (a negative errno when the backing file failed).
 */
TRACE_EVENT_CONDITION(pshare_reclaim,
	TP_PROTO(struct pshare_region *r, u64 held, u64 target, long taken,
		 enum pshare_reclaim_how how),
	TP_ARGS(r, held, target, taken, how),
	TP_CONDITION(target < held),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(unsigned long, ino)
		__field(u64, held)
		__field(u64, target)
		__field(long, taken)
		__field(int, how)
	),
	TP_fast_assign(
		__entry->region = r->id;
		__entry->ino = r->vfs_inode.i_ino;
		__entry->held = held;
		__entry->target = target;
		__entry->taken = taken;
		__entry->how = how;
	),
	TP_printk("region=%u ino=%lu held=%llu target=%llu taken=%ld how=%s",
		  __entry->region, __entry->ino, __entry->held, __entry->target,
		  __entry->taken,
		  __print_symbolic(__entry->how,
				   { PSHARE_RECLAIM_BALLOON, "balloon" },
				   { PSHARE_RECLAIM_PAGE, "page" }))
);

DECLARE_EVENT_CLASS(pshare_paging,
	TP_PROTO(struct pshare_region *r, pgoff_t ppn),
	TP_ARGS(r, ppn),
	TP_STRUCT__entry(
		__field(u32, region)
		__field(unsigned long, ino)
		__field(unsigned long, ppn)
	),
	TP_fast_assign(
		__entry->region = r->id;
		__entry->ino = r->vfs_inode.i_ino;
		__entry->ppn = ppn;
	),
	TP_printk("region=%u ino=%lu ppn=%lu",
		  __entry->region, __entry->ino, __entry->ppn)
);

/* A page of @r was written to its backing file and its frame freed. */
DEFINE_EVENT(pshare_paging, pshare_page_out,
	TP_PROTO(struct pshare_region *r, pgoff_t ppn),
	TP_ARGS(r, ppn)
);

/* A paged-out page of @r was read back into a new frame. */
DEFINE_EVENT(pshare_paging, pshare_page_in,
	TP_PROTO(struct pshare_region *r, pgoff_t ppn),
	TP_ARGS(r, ppn)
);

#endif /* _PSHARE_TRACE_H */

/* Out of tree: found through Kbuild's -I$(src)/module. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
