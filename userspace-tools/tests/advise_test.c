// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of the capacity arithmetic of `psharectl advise`
 * (ctl/advise_model.c, linked alone): made-up region tables and host
 * figures, and the answers worked out by hand. Prints TAP; exits 1 if a
 * check failed.
 *
 *   make -C userspace-tools check
 */
#include <stdio.h>
#include <string.h>

#include "../ctl/psharectl.h"

static int nr_checks, nr_failed;

/* One TAP result: @ok, named @name; on failure the values compared. */
static void check(bool ok, const char *name, unsigned long long got,
		  unsigned long long want)
{
	nr_checks++;
	if (ok) {
		printf("ok %d %s\n", nr_checks, name);
		return;
	}
	nr_failed++;
	printf("not ok %d %s\n# got %llu, expected %llu\n", nr_checks, name,
	       got, want);
}

#define CHECK_EQ(got, want, name) \
	check((unsigned long long)(got) == (unsigned long long)(want), name, \
	      (unsigned long long)(got), (unsigned long long)(want))

/* A region of @pages pages in @domain with the given page counts. */
static struct region_row row(unsigned int domain, unsigned long long pages,
			     unsigned long long private,
			     unsigned long long zero, unsigned long long shared,
			     unsigned int active, unsigned int fast,
			     unsigned int slow)
{
	struct region_row r;

	memset(&r, 0, sizeof(r));
	r.st.size = pages * PSHARE_PAGE_SIZE;
	r.st.domain = domain;
	r.st.pages_private = private;
	r.st.pages_zero = zero;
	r.st.pages_shared = shared;
	r.st.active_permille = active;
	r.st.active_fast = fast;
	r.st.active_slow = slow;
	r.st.active_current = active;
	snprintf(r.name, sizeof(r.name), "vm");
	return r;
}

/*
 * Two 1 GiB regions in domain 1, one 512 MiB region in domain 2; a host
 * of 4096000 pages with 3000000 available: the reclaim threshold is
 * 245760 pages (6%), so 2754240 pages are room.
 */
static struct region_row rows[3];

static void base(struct advise_in *in)
{
	rows[0] = row(1, 262144, 100000, 50000, 40000, 400, 400, 300);
	rows[1] = row(1, 262144, 90000, 60000, 40000, 500, 500, 450);
	rows[2] = row(2, 131072, 10000, 0, 0, 900, 900, 900);
	memset(in, 0, sizeof(*in));
	in->rows = rows;
	in->nr_rows = 3;
	in->mem_total_pages = 4096000;
	in->mem_avail_pages = 3000000;
	in->held_pages = 210000;
}

/*
 * Domain 1: active 450 (size-weighted mean of 400 and 500), low 300
 * (the lowest fast or slow), high 500; touched 380000 of 524288 pages =
 * 724 permille; zero + shared 190000 of 380000 = 500 permille. A new
 * 262144-page VM touches 189793 pages, 85407 of them active (450
 * permille), half of those saved: 42704 pages. 2754240 / 42704 = 64.
 */
static void test_normal(void)
{
	struct advise_out o;
	struct advise_in in;

	base(&in);
	CHECK_EQ(advise_compute(&in, &o), ADVISE_OK, "normal: computes");
	CHECK_EQ(o.domain, 1, "normal: the domain with the most regions");
	CHECK_EQ(o.domain_regions, 2, "normal: two regions in it");
	CHECK_EQ(o.size_pages, 262144, "normal: size is the domain's mean");
	CHECK_EQ(o.active_permille[ADVISE_EXPECTED], 450, "normal: active expected");
	CHECK_EQ(o.active_permille[ADVISE_LOW], 300, "normal: active low");
	CHECK_EQ(o.active_permille[ADVISE_HIGH], 500, "normal: active high");
	CHECK_EQ(o.touched_permille, 724, "normal: touched fraction");
	CHECK_EQ(o.sharing_permille, 500, "normal: sharing fraction");
	CHECK_EQ(o.per_vm_pages[ADVISE_EXPECTED], 42704, "normal: per VM expected");
	CHECK_EQ(o.per_vm_pages[ADVISE_LOW], 28469, "normal: per VM low");
	CHECK_EQ(o.per_vm_pages[ADVISE_HIGH], 47449, "normal: per VM high");
	CHECK_EQ(o.threshold_pages, 245760, "normal: 6% of MemTotal");
	CHECK_EQ(o.host_room, 2754240, "normal: host room");
	CHECK_EQ(o.available_pages, 2754240, "normal: available");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 64, "normal: fit expected");
	CHECK_EQ(o.fit[ADVISE_LOW], 58, "normal: fit low (high footprint)");
	CHECK_EQ(o.fit[ADVISE_HIGH], 96, "normal: fit high (low footprint)");
	CHECK_EQ(o.binding, ADVISE_BIND_HOST, "normal: host memory binds");
	CHECK_EQ(o.have_limit, false, "normal: no limit");
}

static void test_no_regions(void)
{
	struct advise_out o;
	struct advise_in in;

	base(&in);
	in.nr_rows = 0;
	CHECK_EQ(advise_compute(&in, &o), ADVISE_NO_REGIONS,
		 "no regions, no size: an error");
	/* A given size: fully active, nothing shared. */
	in.size_pages = 1000;
	CHECK_EQ(advise_compute(&in, &o), ADVISE_OK, "no regions, a size: computes");
	CHECK_EQ(o.domain_regions, 0, "no regions: none in the domain");
	CHECK_EQ(o.per_vm_pages[ADVISE_EXPECTED], 1000, "no regions: per VM is the size");
	CHECK_EQ(o.per_vm_pages[ADVISE_LOW], 1000, "no regions: no range (low)");
	CHECK_EQ(o.per_vm_pages[ADVISE_HIGH], 1000, "no regions: no range (high)");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 2754, "no regions: fit");
}

static void test_domains(void)
{
	struct advise_out o;
	struct advise_in in;

	base(&in);
	in.have_domain = true;
	in.domain = 5;
	CHECK_EQ(advise_compute(&in, &o), ADVISE_EMPTY_DOMAIN,
		 "unknown domain, no size: an error");
	in.size_pages = 262144;
	CHECK_EQ(advise_compute(&in, &o), ADVISE_OK, "unknown domain, a size: computes");
	CHECK_EQ(o.domain, 5, "unknown domain: kept");
	CHECK_EQ(o.active_permille[ADVISE_EXPECTED], 1000, "unknown domain: fully active");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 10, "unknown domain: fit by the size");

	base(&in);
	in.have_domain = true;
	in.domain = 2;
	CHECK_EQ(advise_compute(&in, &o), ADVISE_OK, "domain 2: computes");
	CHECK_EQ(o.size_pages, 131072, "domain 2: its mean size");
	/* 9962 of 131072 pages touched (76 permille), 900 permille of
	 * those active, none shared.
	 */
	CHECK_EQ(o.per_vm_pages[ADVISE_EXPECTED], 8966, "domain 2: per VM");

	/* A tie between domains: the lower number. */
	base(&in);
	rows[1].st.domain = 2;
	in.nr_rows = 2;
	rows[0].st.domain = 3;
	CHECK_EQ(advise_compute(&in, &o), ADVISE_OK, "tie: computes");
	CHECK_EQ(o.domain, 2, "tie: the lower domain");
}

static void test_limit(void)
{
	struct advise_out o;
	struct advise_in in;

	base(&in);
	in.limit_pages = 310000;	/* 100000 above held */
	advise_compute(&in, &o);
	CHECK_EQ(o.have_limit, true, "limit: set");
	CHECK_EQ(o.limit_room, 100000, "limit: room is limit - held");
	CHECK_EQ(o.binding, ADVISE_BIND_LIMIT, "limit: binds");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 2, "limit: fit");

	in.limit_pages = 100000000;
	advise_compute(&in, &o);
	CHECK_EQ(o.binding, ADVISE_BIND_HOST, "limit above the host: host binds");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 64, "limit above the host: fit");

	in.limit_pages = 200000;	/* below held */
	advise_compute(&in, &o);
	CHECK_EQ(o.limit_room, 0, "limit below held: no room");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 0, "limit below held: nothing fits");
}

static void test_host(void)
{
	struct advise_out o;
	struct advise_in in;

	base(&in);
	in.mem_avail_pages = 200000;	/* below the threshold: soft */
	advise_compute(&in, &o);
	CHECK_EQ(o.host_room, 0, "host in soft state: no room");
	CHECK_EQ(o.fit[ADVISE_HIGH], 0, "host in soft state: nothing fits");

	base(&in);
	in.paged_pages = 2754240 - 42704 * 3;
	advise_compute(&in, &o);
	CHECK_EQ(o.available_pages, 42704 * 3, "paged-out pages are owed first");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 3, "paged-out pages: fit");
}

static void test_headroom(void)
{
	struct advise_out o;
	struct advise_in in;

	base(&in);
	in.n_plus_one = true;
	advise_compute(&in, &o);
	CHECK_EQ(o.headroom_pages, 262144, "headroom: the largest region");
	CHECK_EQ(o.available_pages, 2754240 - 262144, "headroom: taken off");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 58, "headroom: fit");
	CHECK_EQ(o.binding, ADVISE_BIND_HEADROOM, "headroom: binds");

	/* A new shape larger than every region: its own size is kept. */
	in.size_pages = 300000;
	advise_compute(&in, &o);
	CHECK_EQ(o.headroom_pages, 300000, "headroom: a larger new VM");

	/* Headroom that takes a VM away binds... */
	base(&in);
	in.n_plus_one = true;
	in.limit_pages = in.held_pages + 42704 + 262144 + 10;
	advise_compute(&in, &o);
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 1, "headroom, room for 7: fit 1");
	CHECK_EQ(o.binding, ADVISE_BIND_HEADROOM, "headroom, room for 7: binds");
	in.limit_pages = in.held_pages + 42704 + 10;
	advise_compute(&in, &o);
	CHECK_EQ(o.available_pages, 0, "headroom above the room: nothing left");
	CHECK_EQ(o.binding, ADVISE_BIND_HEADROOM, "headroom above the room: binds");
	/* ... one where not even one VM would fit anyway does not. */
	in.limit_pages = in.held_pages + 10;
	advise_compute(&in, &o);
	CHECK_EQ(o.binding, ADVISE_BIND_LIMIT, "headroom, room for none: the limit binds");
	in.n_plus_one = false;
	in.limit_pages = in.held_pages + 42704 + 10;
	advise_compute(&in, &o);
	CHECK_EQ(o.headroom_pages, 0, "without headroom: none kept");
	CHECK_EQ(o.binding, ADVISE_BIND_LIMIT, "without headroom: the limit binds");
}

/* 4000-page regions, all touched, 250 permille active: 1000 a VM. */
static void test_rounding(void)
{
	struct region_row r = row(1, 4000, 4000, 0, 0, 250, 250, 250);
	struct advise_out o;
	struct advise_in in;

	memset(&in, 0, sizeof(in));
	in.rows = &r;
	in.nr_rows = 1;
	in.mem_total_pages = 100000;	/* threshold 6000 */
	in.mem_avail_pages = 11000;
	advise_compute(&in, &o);
	CHECK_EQ(o.per_vm_pages[ADVISE_EXPECTED], 1000, "rounding: per VM");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 5, "rounding: exactly five");
	in.mem_avail_pages = 10999;
	advise_compute(&in, &o);
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 4, "rounding: one page short, four");

	/* A size that is not a whole number of active pages rounds up. */
	in.size_pages = 4001;
	advise_compute(&in, &o);
	CHECK_EQ(o.per_vm_pages[ADVISE_EXPECTED], 1001, "rounding: active set up");

	/* Everything shared still costs a page. */
	r = row(1, 4000, 0, 4000, 0, 1000, 1000, 1000);
	in.size_pages = 0;
	advise_compute(&in, &o);
	CHECK_EQ(o.per_vm_pages[ADVISE_EXPECTED], 1, "rounding: at least one page");
}

/* The largest size the option takes: no overflow, nothing fits. */
static void test_huge(void)
{
	struct advise_out o;
	struct advise_in in;

	base(&in);
	in.size_pages = PSHARE_PAGES_LIMIT;
	advise_compute(&in, &o);
	/* 87456271 active pages of 194347271 touched, half of them saved. */
	CHECK_EQ(o.per_vm_pages[ADVISE_EXPECTED], 43728136, "huge: per VM");
	CHECK_EQ(o.per_vm_pages[ADVISE_HIGH], 48586818, "huge: per VM high");
	CHECK_EQ(o.fit[ADVISE_EXPECTED], 0, "huge: nothing fits");
}

int main(void)
{
	printf("TAP version 13\n");
	test_normal();
	test_no_regions();
	test_domains();
	test_limit();
	test_host();
	test_headroom();
	test_rounding();
	test_huge();
	printf("1..%d\n", nr_checks);
	if (nr_failed)
		printf("# %d of %d checks failed\n", nr_failed, nr_checks);
	return nr_failed ? 1 : 0;
}
