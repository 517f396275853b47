// SPDX-License-Identifier: GPL-2.0
/*
 * The arithmetic of `psharectl advise`: from one reading of the region
 * table, the global counters and /proc/meminfo, how many more VMs of one
 * shape fit now without paging or ballooning. No I/O: advise.c reads the
 * figures and prints the answer, userspace-tools/tests/advise_test.c
 * feeds it made-up figures. The model is in the admin guide ("Capacity:
 * psharectl advise").
 *
 * Fractions are in permille, as the module gives the active estimates;
 * page counts stay below 2^40 (regions of at most 2^28 pages), so
 * products with 1000 do not overflow.
 */
#include <string.h>

#include "psharectl.h"

#define PERMILLE	1000ULL

static unsigned long long div_up(unsigned long long a, unsigned long long b)
{
	return (a + b - 1) / b;
}

static unsigned long long row_pages(const struct region_row *r)
{
	return div_up(r->st.size, PSHARE_PAGE_SIZE);
}

static unsigned long long min3(unsigned long long a, unsigned long long b,
			       unsigned long long c)
{
	unsigned long long m = a < b ? a : b;

	return m < c ? m : c;
}

/* The domain with the most regions, the lowest number on a tie. */
static unsigned int busiest_domain(const struct region_row *rows, size_t n)
{
	size_t i, j, best = 0, count;
	unsigned int dom = 0;

	for (i = 0; i < n; i++) {
		count = 0;
		for (j = 0; j < n; j++)
			count += rows[j].st.domain == rows[i].st.domain;
		if (count > best ||
		    (count == best && rows[i].st.domain < dom)) {
			best = count;
			dom = (unsigned int)rows[i].st.domain;
		}
	}
	return dom;
}

/**
 * struct domain_sums - the regions of one domain, added up
 * @n:		regions
 * @size:	their sizes, pages
 * @touched:	private + zero + shared + paged pages
 * @saving:	zero + shared pages (no frame of their own)
 * @active:	size-weighted sum of active_permille
 * @act_min:	lowest min(active_fast, active_slow) of a region
 * @act_max:	highest active_permille of a region
 */
struct domain_sums {
	size_t n;
	unsigned long long size, touched, saving, active;
	unsigned long long act_min, act_max;
};

static void sum_domain(const struct advise_in *in, unsigned int dom,
		       struct domain_sums *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->act_min = PERMILLE;
	for (i = 0; i < in->nr_rows; i++) {
		const struct pshare_region_stats *st = &in->rows[i].st;
		unsigned long long pages = row_pages(&in->rows[i]);

		if (st->domain != dom)
			continue;
		d->n++;
		d->size += pages;
		d->touched += st->pages_private + st->pages_zero +
			      st->pages_shared + st->pages_paged;
		d->saving += st->pages_zero + st->pages_shared;
		d->active += pages * st->active_permille;
		d->act_min = min3(d->act_min, st->active_fast, st->active_slow);
		if (st->active_permille > d->act_max)
			d->act_max = st->active_permille;
	}
}

/*
 * The fractions of a new VM of domain @d. Without regions to learn from:
 * fully active (as the sampler starts a region), everything touched,
 * nothing shared, and no range.
 */
static void domain_fractions(const struct domain_sums *d,
			     struct advise_out *out)
{
	unsigned long long touched = d->touched;

	if (!d->n || !d->size) {
		out->active_permille[ADVISE_EXPECTED] = PERMILLE;
		out->active_permille[ADVISE_LOW] = PERMILLE;
		out->active_permille[ADVISE_HIGH] = PERMILLE;
		out->touched_permille = PERMILLE;
		out->sharing_permille = 0;
		return;
	}
	/* Counters and sizes are read at slightly different times. */
	if (touched > d->size)
		touched = d->size;
	out->active_permille[ADVISE_EXPECTED] =
		(d->active + d->size / 2) / d->size;
	out->active_permille[ADVISE_LOW] = d->act_min;
	out->active_permille[ADVISE_HIGH] = d->act_max;
	out->touched_permille = touched * PERMILLE / d->size;
	out->sharing_permille = touched ?
		(d->saving > touched ? touched : d->saving) * PERMILLE /
		touched : 0;
}

/*
 * Pages one new VM holds with the active fraction @act: the pages it
 * touches, the fraction @act of them active (the sampler measures the
 * fraction of a region's resident frames, not of its size), less what
 * sharing saves on those; at least one page.
 */
static unsigned long long per_vm(const struct advise_out *out,
				 unsigned int act)
{
	unsigned long long active, touched, saved;

	touched = div_up(out->size_pages * out->touched_permille, PERMILLE);
	active = div_up(touched * act, PERMILLE);
	saved = active * out->sharing_permille / PERMILLE;
	return active - saved ? active - saved : 1;
}

/* The memory new VMs may take, and what binds it. */
static void room(const struct advise_in *in, unsigned long long largest,
		 struct advise_out *out)
{
	unsigned long long r;

	out->threshold_pages = in->mem_total_pages * ADVISE_HIGH_PERCENT / 100;
	out->host_room = in->mem_avail_pages > out->threshold_pages ?
			 in->mem_avail_pages - out->threshold_pages : 0;
	out->have_limit = in->limit_pages != 0;
	out->limit_room = in->limit_pages > in->held_pages ?
			  in->limit_pages - in->held_pages : 0;
	r = out->host_room;
	out->binding = ADVISE_BIND_HOST;
	if (out->have_limit && out->limit_room < r) {
		r = out->limit_room;
		out->binding = ADVISE_BIND_LIMIT;
	}
	/* Paged-out pages need frames to come back: they are owed first. */
	r = r > in->paged_pages ? r - in->paged_pages : 0;
	out->headroom_pages = in->n_plus_one ? largest : 0;
	out->available_pages = r > out->headroom_pages ?
			       r - out->headroom_pages : 0;
	if (out->headroom_pages &&
	    r / out->per_vm_pages[ADVISE_EXPECTED] >
	    out->available_pages / out->per_vm_pages[ADVISE_EXPECTED])
		out->binding = ADVISE_BIND_HEADROOM;
}

/**
 * advise_compute() - how many more VMs of one shape fit
 * @in:		the figures read
 * @out:	the answer (valid when ADVISE_OK is returned)
 *
 * Return: ADVISE_OK, or why there is nothing to model the new VM on.
 */
enum advise_err advise_compute(const struct advise_in *in,
			       struct advise_out *out)
{
	unsigned long long largest = 0;
	struct domain_sums d;
	size_t i;
	int e;

	memset(out, 0, sizeof(*out));
	if (!in->have_domain && !in->nr_rows && !in->size_pages)
		return ADVISE_NO_REGIONS;
	out->domain = in->have_domain ? in->domain :
		      busiest_domain(in->rows, in->nr_rows);
	sum_domain(in, out->domain, &d);
	if (!d.n && !in->size_pages)
		return ADVISE_EMPTY_DOMAIN;
	out->domain_regions = d.n;
	out->size_pages = in->size_pages ? in->size_pages : div_up(d.size, d.n);
	domain_fractions(&d, out);
	for (e = 0; e < ADVISE_NR; e++)
		out->per_vm_pages[e] = per_vm(out, out->active_permille[e]);

	/* The failover reserve: the largest region, new ones included. */
	largest = out->size_pages;
	for (i = 0; i < in->nr_rows; i++)
		if (row_pages(&in->rows[i]) > largest)
			largest = row_pages(&in->rows[i]);
	room(in, largest, out);

	out->fit[ADVISE_EXPECTED] =
		out->available_pages / out->per_vm_pages[ADVISE_EXPECTED];
	out->fit[ADVISE_LOW] = out->available_pages / out->per_vm_pages[ADVISE_HIGH];
	out->fit[ADVISE_HIGH] = out->available_pages / out->per_vm_pages[ADVISE_LOW];
	return ADVISE_OK;
}

const char *advise_binding_name(enum advise_binding b)
{
	static const char *const names[] = {
		[ADVISE_BIND_LIMIT] = "limit_pages",
		[ADVISE_BIND_HOST] = "host_memory",
		[ADVISE_BIND_HEADROOM] = "headroom",
	};

	return names[b];
}
