// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - /sys/kernel/mm/pshare: global counters (and, later, knobs).
 *
 * Names follow KSM's where the meaning is the same. Every counter here is
 * exact at the moment it is read; Documentation/ABI/testing/
 * sysfs-kernel-mm-pshare describes each file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/sysfs.h>

#include "pshare.h"

static struct kobject *pshare_kobj;

/* A read-only attribute printing one global counter. */
#define PSHARE_COUNTER_ATTR(_name)					\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%ld\n",					\
			  atomic_long_read(&pshare_stats._name));	\
}									\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

PSHARE_COUNTER_ATTR(regions);
PSHARE_COUNTER_ATTR(pages_private);
PSHARE_COUNTER_ATTR(pages_zero);

static struct attribute *pshare_attrs[] = {
	&regions_attr.attr,
	&pages_private_attr.attr,
	&pages_zero_attr.attr,
	NULL,
};

static const struct attribute_group pshare_attr_group = {
	.attrs = pshare_attrs,
};

int pshare_sysfs_init(void)
{
	int err;

	pshare_kobj = kobject_create_and_add("pshare", mm_kobj);
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
