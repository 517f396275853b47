// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_VM_FLAGS_SET: vma->vm_flags is changed through vm_flags_set()
 * (6.3, bc292ab00f6c).
 */
#include <linux/mm.h>

void pshare_probe(struct vm_area_struct *vma);

void pshare_probe(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_DONTEXPAND);
}
