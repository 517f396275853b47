/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pin_test.h - the interface of /dev/pshare_pin (pshare_pin.ko), a test
 * helper: shared by module/pin_test.c and the selftests, not part of
 * pshare's uapi and never installed.
 *
 * Each open file holds at most one long-term pin of a range of the
 * caller's memory, taken as an RDMA memory region or a VFIO DMA mapping
 * takes it. read() and write() at an offset into the range then go to the
 * pinned pages, as the device's DMA would: pread() at offset 0 reads the
 * first pinned page. Closing the file unpins.
 */
#ifndef _PSHARE_PIN_TEST_H
#define _PSHARE_PIN_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Most pages one pin may hold. */
#define PSHARE_PIN_MAX_PAGES	1024

/* Flags of struct pshare_pin_args. */
#define PSHARE_PIN_WRITE	(1U << 0)	/* a writable pin (FOLL_WRITE) */

/**
 * struct pshare_pin_args - the range PSHARE_PIN_IOC_PIN pins
 * @addr:	(in) start of the range in the caller's memory, page-aligned
 * @len:	(in) its length in bytes, page-aligned, 1 to
 *		PSHARE_PIN_MAX_PAGES pages
 * @flags:	(in) PSHARE_PIN_WRITE or 0; other bits must be 0
 * @reserved:	must be 0
 */
struct pshare_pin_args {
	__u64 addr;
	__u64 len;
	__u32 flags;
	__u32 reserved;
};

#define PSHARE_PIN_IOCTL_MAGIC	0xB9

/*
 * PSHARE_PIN_IOC_PIN: pin_user_pages_fast(FOLL_LONGTERM, and FOLL_WRITE
 * with PSHARE_PIN_WRITE) over the range.
 * Errors: -EINVAL for a bad range, flag or reserved field; -EBUSY when this
 * file already holds a pin; -ENOMEM; whatever pinning returned (-EFAULT
 * for a range that cannot be pinned, e.g. a writable long-term pin of a
 * mapping that needs dirty tracking), and -EFAULT when only part of the
 * range could be pinned (that part is unpinned again).
 *
 * PSHARE_PIN_IOC_UNPIN: drop this file's pin.
 * Errors: -ENXIO when it holds none.
 *
 * read()/write() errors: -ENXIO without a pin, -EPERM for write() to a
 * pin taken without PSHARE_PIN_WRITE, -ENOSPC for write() at or past the
 * end of the pinned range (read() returns 0 there), -EFAULT.
 */
#define PSHARE_PIN_IOC_PIN	_IOW(PSHARE_PIN_IOCTL_MAGIC, 0x01, struct pshare_pin_args)
#define PSHARE_PIN_IOC_UNPIN	_IO(PSHARE_PIN_IOCTL_MAGIC, 0x02)

#endif /* _PSHARE_PIN_TEST_H */
