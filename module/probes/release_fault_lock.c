// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_RELEASE_FAULT_LOCK: release_fault_lock() drops whichever lock a
 * fault holds, mmap_lock or the VMA's own. It came with faults under the
 * per-VMA lock; 6.1 has neither, and its faults hold mmap_lock.
 */
#include <linux/mm.h>

void pshare_probe(struct vm_fault *vmf);

void pshare_probe(struct vm_fault *vmf)
{
	release_fault_lock(vmf);
}
