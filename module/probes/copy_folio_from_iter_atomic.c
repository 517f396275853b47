// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_COPY_FOLIO_FROM_ITER_ATOMIC: copy_folio_from_iter_atomic() (6.5,
 * 1b0306981e0f), which replaced copy_page_from_iter_atomic() (gone in 6.16).
 */
#include <linux/mm.h>
#include <linux/uio.h>

size_t pshare_probe(struct page *page, struct iov_iter *from);

size_t pshare_probe(struct page *page, struct iov_iter *from)
{
	return copy_folio_from_iter_atomic(page_folio(page), 0, PAGE_SIZE,
					   from);
}
