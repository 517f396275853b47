// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c - /sys/kernel/debug/pshare: internals for developers and
 * for psharectl.
 */

/**
 * DOC: debugfs
 *
 * regions:	one line per region: ino, then the statistics of
 *		PSHARE_IOC_REGION_STATS named as in struct
 *		pshare_region_stats (PSHARE_REGION_STATS_FIELDS: size
 *		pages_private ... paged_in mappings files_open), then the file
 *		name; the first line names the columns
 * table:	the sharing hash table: size, load, metadata bytes and the
 *		probe-distance histogram (how far lookups walk)
 * hash_bits:	bits of the content hash kept (64); fewer force collisions,
 *		for tests. Writing it drops all hints.
 * scan_now:	write N: scan N pages at once, in the writing task (tests)
 * reclaim_now:	write 1: one reclaim round at once, in the writing task
 * pagein_delay_ms: write N (up to 10000): the next page-in, in whatever
 *		task, sleeps N ms between reading the pmap entry and taking
 *		the backing file; it widens a race window for tests
 * rebuild_delay_ms: write N (up to 10000): the next rebuild of the hash
 *		table sleeps N ms after its first step, with the table's lock
 *		let go, as a rebuild of a large table takes long; for tests
 * merge_delay_ms: write N (up to 10000): the scanner's next visit that
 *		hashes a page sleeps N ms after the hash, the page locked but
 *		still mapped, so that a test can write it in between
 * frame_alloc_fail: write N (up to 1000): the next N frame allocations,
 *		in whatever task, fail as if memory were short; for tests of
 *		the paths that wait out a shortage (a guest's faults)
 *
 * The layout is for tools; it is not a stable ABI.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dcache.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>

#include "debugfs.h"
#include "frame.h"
#include "paging.h"
#include "reclaim.h"
#include "region.h"
#include "sample.h"
#include "scan.h"
#include "share.h"

static struct dentry *pshare_debugfs_root;

/* The columns of regions after ino: the statistics the ioctl gives. */
static const struct pshare_stats_column {
	const char *name;
	size_t offset;
} pshare_stats_columns[] = {
#define PSHARE_COLUMN(f) \
	{ .name = #f, .offset = offsetof(struct pshare_region_stats, f) },
	PSHARE_REGION_STATS_FIELDS(PSHARE_COLUMN)
#undef PSHARE_COLUMN
};

static int pshare_regions_show(struct seq_file *m, void *v)
{
	const struct pshare_stats_column *col;
	struct pshare_region *r;

	/* The list names every field but reserved from size on, once. */
	BUILD_BUG_ON(ARRAY_SIZE(pshare_stats_columns) * sizeof(__u64) !=
		     sizeof(struct pshare_region_stats) -
		     offsetof(struct pshare_region_stats, size) -
		     sizeof_field(struct pshare_region_stats, reserved));
	seq_puts(m, "ino");
	for (col = pshare_stats_columns;
	     col < pshare_stats_columns + ARRAY_SIZE(pshare_stats_columns); col++)
		seq_printf(m, " %s", col->name);
	seq_puts(m, " name\n");
	mutex_lock(&pshare_regions_lock);
	list_for_each_entry(r, &pshare_regions, node) {
		struct inode *inode = &r->vfs_inode;
		struct pshare_region_stats st;
		struct dentry *alias;

		pshare_region_snapshot(r, &st);
		seq_printf(m, "%llu", (u64)inode->i_ino);
		for (col = pshare_stats_columns;
		     col < pshare_stats_columns + ARRAY_SIZE(pshare_stats_columns);
		     col++)
			seq_printf(m, " %llu",
				   *(__u64 *)((char *)&st + col->offset));
		seq_putc(m, ' ');
		/*
		 * No dentry reference: umount must not find one busy. Under
		 * i_lock the aliases stay put.
		 */
		spin_lock(&inode->i_lock);
		alias = pshare_first_alias(inode);
		if (alias && !d_unlinked(alias))
			seq_printf(m, "%pd\n", alias);
		else
			seq_puts(m, "(deleted)\n");
		spin_unlock(&inode->i_lock);
	}
	mutex_unlock(&pshare_regions_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pshare_regions);

static int pshare_table_show(struct seq_file *m, void *v)
{
	struct pshare_table *t = &pshare_table;
	unsigned long hist[PSHARE_TABLE_HIST];
	unsigned long nslots, frames, hints, rebuilds, pos;
	unsigned int restarts = 0;
	long scanned = 0;
	struct pshare_region *r;
	int i;

	/*
	 * The histogram walks every slot: a chunk at a time, so that the
	 * COW path, which waits on this lock, never waits for a whole pass
	 * over a large table. A rebuild in between starts it over (twice at
	 * most; after that the figures mix two tables).
	 */
	memset(hist, 0, sizeof(hist));
	pos = 0;
	mutex_lock(&t->lock);
	rebuilds = t->rebuilds;
	for (;;) {
		if (t->rebuilds != rebuilds && restarts++ < 2) {
			memset(hist, 0, sizeof(hist));
			rebuilds = t->rebuilds;
			pos = 0;
		}
		pos = pshare_table_histogram_add(t, hist, pos, pos + SZ_64K);
		nslots = t->nslots;
		frames = t->nr_frames;
		hints = t->nr_hints;
		if (pos >= nslots)
			break;
		mutex_unlock(&t->lock);
		cond_resched();
		mutex_lock(&t->lock);
	}
	mutex_unlock(&t->lock);

	/* The memory the table indexes: every frame a region holds. */
	mutex_lock(&pshare_regions_lock);
	list_for_each_entry(r, &pshare_regions, node)
		scanned += atomic_long_read(&r->pages_private);
	mutex_unlock(&pshare_regions_lock);
	scanned += frames;

	seq_printf(m, "slots %lu\n", nslots);
	seq_printf(m, "slot_bytes %zu\n", sizeof(struct pshare_slot));
	seq_printf(m, "metadata_bytes %lu\n", nslots * sizeof(struct pshare_slot));
	seq_printf(m, "frames %lu\n", frames);
	seq_printf(m, "hints %lu\n", hints);
	seq_printf(m, "load_permille %lu\n",
		   nslots ? (frames + hints) * 1000 / nslots : 0);
	seq_printf(m, "indexed_pages %ld\n", scanned);
	seq_printf(m, "metadata_ppm_of_indexed %lu\n", scanned ?
		   nslots * sizeof(struct pshare_slot) * 1000000 /
		   (scanned * PAGE_SIZE) : 0);
	seq_printf(m, "rebuilds %lu\n", rebuilds);
	seq_printf(m, "hash_bits %u\n", READ_ONCE(pshare_hash_bits));
	seq_puts(m, "probe_distance_histogram");
	for (i = 0; i < PSHARE_TABLE_HIST; i++)
		seq_printf(m, " %lu", hist[i]);
	seq_putc(m, '\n');
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pshare_table);

static int pshare_hash_bits_get(void *data, u64 *val)
{
	*val = READ_ONCE(pshare_hash_bits);
	return 0;
}

static int pshare_hash_bits_set(void *data, u64 val)
{
	return pshare_scan_set_hash_bits(val > 64 ? 0 : val);
}
DEFINE_DEBUGFS_ATTRIBUTE(pshare_hash_bits_fops, pshare_hash_bits_get,
			 pshare_hash_bits_set, "%llu\n");

/* Most pages one write to scan_now scans. */
#define PSHARE_SCAN_NOW_MAX	(1U << 20)

static int pshare_scan_now_set(void *data, u64 val)
{
	if (!val || val > PSHARE_SCAN_NOW_MAX)
		return -EINVAL;
	pshare_scan_now(val);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(pshare_scan_now_fops, NULL, pshare_scan_now_set,
			 "%llu\n");

static int pshare_reclaim_now_set(void *data, u64 val)
{
	if (val != 1)
		return -EINVAL;
	pshare_reclaim_now();
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(pshare_reclaim_now_fops, NULL, pshare_reclaim_now_set,
			 "%llu\n");

/* A one-shot test knob: an atomic_t the module consumes, with a bound. */
struct pshare_knob {
	atomic_t *val;
	u64 max;
};

static const struct pshare_knob pshare_pagein_delay_knob = {
	.val = &pshare_pagein_delay_ms, .max = 10000,
};
static const struct pshare_knob pshare_rebuild_delay_knob = {
	.val = &pshare_rebuild_delay_ms, .max = 10000,
};
static const struct pshare_knob pshare_merge_delay_knob = {
	.val = &pshare_merge_delay_ms, .max = 10000,
};
static const struct pshare_knob pshare_frame_alloc_fail_knob = {
	.val = &pshare_frame_alloc_fail, .max = 1000,
};

static int pshare_knob_get(void *data, u64 *val)
{
	const struct pshare_knob *k = data;

	*val = atomic_read(k->val);
	return 0;
}

static int pshare_knob_set(void *data, u64 val)
{
	const struct pshare_knob *k = data;

	if (val > k->max)
		return -EINVAL;
	atomic_set(k->val, val);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(pshare_knob_fops, pshare_knob_get, pshare_knob_set,
			 "%llu\n");

void pshare_debugfs_init(void)
{
	/* debugfs is optional: failures only make these files missing. */
	pshare_debugfs_root = debugfs_create_dir("pshare", NULL);
	debugfs_create_file("regions", 0400, pshare_debugfs_root, NULL,
			    &pshare_regions_fops);
	debugfs_create_file("table", 0400, pshare_debugfs_root, NULL,
			    &pshare_table_fops);
	debugfs_create_file_unsafe("hash_bits", 0600, pshare_debugfs_root, NULL,
				   &pshare_hash_bits_fops);
	debugfs_create_file_unsafe("scan_now", 0200, pshare_debugfs_root, NULL,
				   &pshare_scan_now_fops);
	debugfs_create_file_unsafe("reclaim_now", 0200, pshare_debugfs_root,
				   NULL, &pshare_reclaim_now_fops);
	debugfs_create_file_unsafe("pagein_delay_ms", 0600, pshare_debugfs_root,
				   (void *)&pshare_pagein_delay_knob,
				   &pshare_knob_fops);
	debugfs_create_file_unsafe("rebuild_delay_ms", 0600, pshare_debugfs_root,
				   (void *)&pshare_rebuild_delay_knob,
				   &pshare_knob_fops);
	debugfs_create_file_unsafe("merge_delay_ms", 0600, pshare_debugfs_root,
				   (void *)&pshare_merge_delay_knob,
				   &pshare_knob_fops);
	debugfs_create_file_unsafe("frame_alloc_fail", 0600, pshare_debugfs_root,
				   (void *)&pshare_frame_alloc_fail_knob,
				   &pshare_knob_fops);
}

void pshare_debugfs_exit(void)
{
	debugfs_remove_recursive(pshare_debugfs_root);
}
