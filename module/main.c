// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module init and exit for pshare.
 */

/**
 * DOC: overview
 *
 * pshare brings the memory management of VMware ESX (Waldspurger, OSDI
 * 2002) to QEMU/KVM hosts: guest RAM lives in files of the pshare
 * filesystem, whose frames pshare owns. Parts are brought up so that the
 * filesystem, the only way in from userspace besides the control device,
 * registers last and goes first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "debugfs.h"
#include "frame.h"
#include "fs.h"
#include "ioctl.h"
#include "reclaim.h"
#include "sample.h"
#include "scan.h"
#include "sysfs.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

struct pshare_global_stats pshare_stats;

static int __init pshare_init(void)
{
	int err;

	err = pshare_frame_init();
	if (err)
		return err;
	err = pshare_scan_init();
	if (err)
		goto out_frame;
	err = pshare_sample_init();
	if (err)
		goto out_scan;
	err = pshare_reclaim_init();
	if (err)
		goto out_sample;
	err = pshare_sysfs_init();
	if (err)
		goto out_reclaim;
	pshare_debugfs_init();
	err = pshare_dev_init();
	if (err)
		goto out_debugfs;
	err = pshare_fs_init();
	if (err)
		goto out_dev;
	return 0;

out_dev:
	pshare_dev_exit();
out_debugfs:
	pshare_debugfs_exit();
	pshare_sysfs_exit();
out_reclaim:
	pshare_reclaim_exit();
out_sample:
	pshare_sample_exit();
out_scan:
	pshare_scan_exit();
out_frame:
	pshare_frame_exit();
	return err;
}

static void __exit pshare_exit(void)
{
	pshare_fs_exit();
	pshare_dev_exit();
	pshare_debugfs_exit();
	pshare_sysfs_exit();
	pshare_reclaim_exit();
	pshare_sample_exit();
	pshare_scan_exit();
	pshare_frame_exit();
}

module_init(pshare_init);
module_exit(pshare_exit);

MODULE_DESCRIPTION("Content-based page sharing and reclaim for QEMU/KVM guest RAM");
MODULE_AUTHOR("The pshare developers");
MODULE_LICENSE("GPL");
MODULE_ALIAS_FS("pshare");
