// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - /sys/kernel/mm/pshare: global knobs and counters.
 *
 * Names follow KSM's where the meaning is KSM's. Knobs are range-checked:
 * a bad value gets -EINVAL and changes nothing; a change that is unsafe now
 * gets -EBUSY. Counters are read-only; Documentation/ABI/testing/
 * sysfs-kernel-mm-pshare says of each whether it is exact.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/sysfs.h>

#include "sysfs.h"
#include "reclaim.h"
#include "sample.h"
#include "scan.h"
#include "share.h"

static struct kobject *pshare_kobj;

/* ----------------------------------------------------------------------
 * Counters
 * ----------------------------------------------------------------------
 */

#define PSHARE_RO_ATTR(_name, _value)					\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%ld\n", (long)(_value));		\
}									\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

/* A read-only attribute printing one counter of pshare_stats. */
#define PSHARE_COUNTER_ATTR(_name) \
	PSHARE_RO_ATTR(_name, atomic_long_read(&pshare_stats._name))

PSHARE_COUNTER_ATTR(regions);
PSHARE_COUNTER_ATTR(pages_private);
PSHARE_COUNTER_ATTR(pages_zero);
PSHARE_COUNTER_ATTR(cow_breaks);
PSHARE_COUNTER_ATTR(pages_scanned);
PSHARE_COUNTER_ATTR(full_scans);
PSHARE_COUNTER_ATTR(hint_hits);
PSHARE_COUNTER_ATTR(stale_hints);
PSHARE_COUNTER_ATTR(false_matches);
PSHARE_COUNTER_ATTR(merge_busy);
PSHARE_COUNTER_ATTR(pages_paged);
PSHARE_COUNTER_ATTR(paged_out);
PSHARE_COUNTER_ATTR(paged_in);
PSHARE_COUNTER_ATTR(fault_nomem_retries);
PSHARE_COUNTER_ATTR(skipped_unchanged);
PSHARE_COUNTER_ATTR(skipped_volatile);
PSHARE_COUNTER_ATTR(cold_woken);

static ssize_t memory_state_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	unsigned long want;

	return sysfs_emit(buf, "%s\n",
			  pshare_mem_state_name(pshare_mem_state(&want)));
}
static struct kobj_attribute memory_state_attr = __ATTR_RO(memory_state);
PSHARE_RO_ATTR(pages_shared, atomic_long_read(&pshare_stats.frames_shared));
PSHARE_RO_ATTR(pages_hinted, pshare_pages_hinted());

/*
 * PPNs using shared frames beyond the frames themselves: the pages saved.
 * The two counters are read apart, so clamp a momentary negative.
 */
PSHARE_RO_ATTR(pages_sharing,
	       max(0L, atomic_long_read(&pshare_stats.sharing_refs) -
		       atomic_long_read(&pshare_stats.frames_shared)));

/* ----------------------------------------------------------------------
 * Knobs
 * ----------------------------------------------------------------------
 */

static int pshare_parse_uint(const char *buf, unsigned int min,
			     unsigned int max, unsigned int *val)
{
	if (kstrtouint(buf, 10, val) || *val < min || *val > max)
		return -EINVAL;
	return 0;
}

/* A knob in [min, max] whose store goes through @_set, which may refuse. */
#define PSHARE_SET_KNOB(_name, _var, _min, _max, _set)			\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%u\n", READ_ONCE(_var));		\
}									\
static ssize_t _name##_store(struct kobject *kobj,			\
			     struct kobj_attribute *attr,		\
			     const char *buf, size_t count)		\
{									\
	unsigned int val;						\
	int err = pshare_parse_uint(buf, _min, _max, &val);		\
									\
	if (!err)							\
		err = _set(val);					\
	return err ? err : count;					\
}									\
static struct kobj_attribute _name##_attr = __ATTR_RW(_name)

/* An unsigned int knob in [min, max]; @apply runs after the store. */
#define PSHARE_UINT_KNOB(_name, _var, _min, _max, _apply)		\
static int _name##_set(unsigned int val)				\
{									\
	WRITE_ONCE(_var, val);						\
	_apply();							\
	return 0;							\
}									\
PSHARE_SET_KNOB(_name, _var, _min, _max, _name##_set)

PSHARE_SET_KNOB(run, pshare_run, PSHARE_RUN_STOP, PSHARE_RUN_UNMERGE,
		pshare_scan_set_run);
PSHARE_SET_KNOB(pages_to_scan, pshare_pages_to_scan, 1,
		PSHARE_PAGES_TO_SCAN_MAX, pshare_scan_set_pages);
PSHARE_UINT_KNOB(sleep_millisecs, pshare_sleep_millisecs, 0,
		 PSHARE_SLEEP_MS_MAX, pshare_scan_knobs_changed);
PSHARE_SET_KNOB(merge_across_domains, pshare_merge_across_domains, 0, 1,
		pshare_scan_set_across);
PSHARE_SET_KNOB(smart_scan, pshare_smart_scan, 0, 1, pshare_scan_set_smart);
PSHARE_SET_KNOB(auto_scan, pshare_auto_scan, 0, 1, pshare_scan_set_auto);
PSHARE_UINT_KNOB(max_cpu_percent, pshare_max_cpu_percent, 1, 100,
		 pshare_scan_knobs_changed);
PSHARE_UINT_KNOB(target_scan_secs, pshare_target_scan_secs, 1,
		 PSHARE_TARGET_SCAN_SECS_MAX, pshare_scan_knobs_changed);
PSHARE_SET_KNOB(min_pages_to_scan, pshare_min_pages_to_scan, 1,
		PSHARE_PAGES_TO_SCAN_MAX, pshare_scan_set_min_pages);
PSHARE_SET_KNOB(max_pages_to_scan, pshare_max_pages_to_scan, 1,
		PSHARE_PAGES_TO_SCAN_MAX, pshare_scan_set_max_pages);

PSHARE_UINT_KNOB(idle_tax_percent, pshare_idle_tax_percent, 0, PSHARE_TAX_MAX,
		 pshare_reclaim_kick);
PSHARE_UINT_KNOB(sample_period_secs, pshare_sample_period_secs, 1,
		 PSHARE_SAMPLE_PERIOD_MAX, pshare_sample_reschedule);
PSHARE_UINT_KNOB(sample_pages, pshare_sample_pages, 1,
		 PSHARE_SAMPLE_PAGES_MAX, pshare_reclaim_kick);

static ssize_t limit_pages_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pshare_limit_pages));
}

static ssize_t limit_pages_store(struct kobject *kobj,
				 struct kobj_attribute *attr,
				 const char *buf, size_t count)
{
	unsigned long val;

	if (kstrtoul(buf, 10, &val) || val > totalram_pages() * 64)
		return -EINVAL;
	WRITE_ONCE(pshare_limit_pages, val);
	pshare_reclaim_kick();
	return count;
}
static struct kobj_attribute limit_pages_attr = __ATTR_RW(limit_pages);

static struct attribute *pshare_attrs[] = {
	&run_attr.attr,
	&pages_to_scan_attr.attr,
	&sleep_millisecs_attr.attr,
	&merge_across_domains_attr.attr,
	&smart_scan_attr.attr,
	&auto_scan_attr.attr,
	&max_cpu_percent_attr.attr,
	&target_scan_secs_attr.attr,
	&min_pages_to_scan_attr.attr,
	&max_pages_to_scan_attr.attr,
	&regions_attr.attr,
	&pages_private_attr.attr,
	&pages_zero_attr.attr,
	&pages_shared_attr.attr,
	&pages_sharing_attr.attr,
	&pages_hinted_attr.attr,
	&pages_scanned_attr.attr,
	&full_scans_attr.attr,
	&hint_hits_attr.attr,
	&stale_hints_attr.attr,
	&false_matches_attr.attr,
	&merge_busy_attr.attr,
	&cow_breaks_attr.attr,
	&limit_pages_attr.attr,
	&idle_tax_percent_attr.attr,
	&sample_period_secs_attr.attr,
	&sample_pages_attr.attr,
	&memory_state_attr.attr,
	&pages_paged_attr.attr,
	&paged_out_attr.attr,
	&paged_in_attr.attr,
	&fault_nomem_retries_attr.attr,
	&skipped_unchanged_attr.attr,
	&skipped_volatile_attr.attr,
	&cold_woken_attr.attr,
	NULL,
};

static const struct attribute_group pshare_attr_group = {
	.attrs = pshare_attrs,
};

int pshare_sysfs_init(void)
{
	struct kobject *mm_dir = pshare_mm_kobj_get();
	int err;

	if (!mm_dir)
		return -ENOENT;
	/* The child holds its own reference to its parent. */
	pshare_kobj = kobject_create_and_add("pshare", mm_dir);
	kobject_put(mm_dir);
	if (!pshare_kobj)
		return -ENOMEM;
	err = sysfs_create_group(pshare_kobj, &pshare_attr_group);
	if (err)
		kobject_put(pshare_kobj);
	return err;
}

void pshare_sysfs_exit(void)
{
	sysfs_remove_group(pshare_kobj, &pshare_attr_group);
	kobject_put(pshare_kobj);
}
