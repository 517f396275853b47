// SPDX-License-Identifier: GPL-2.0
/*
 * policy_kunit.c - KUnit tests of share-based allocation (policy.c).
 *
 * policy.c is pure arithmetic, so it is compiled into the test module on
 * its own (it needs nothing else of pshare.ko). The expected values of
 * pshare_rho() are worked out by hand from the fixed-point formula
 *
 *	rho = S * (100 - tau) * 1000 * 2^16 / (P * (f * (100 - tau) + 100 * (1000 - f)))
 *
 * (integer division), which simplifies per tax rate to
 *
 *	tau =  0:  rho = S * 2^16 / P                        (f drops out)
 *	tau = 75:  rho = S * 25000 * 2^16 / (P * (100000 - 75 * f))
 *	tau = 99:  rho = S *  1000 * 2^16 / (P * (100000 - 99 * f))
 *
 * The allocator's exact step sizes are a heuristic, so where a result
 * depends on them (proportional share converging) the tests check the
 * property within a few pages; where the outcome follows from the rules
 * alone (trim to max first, lowest rho first, min, remainder) the targets
 * are exact.
 */
#include <kunit/test.h>
#include <linux/prandom.h>

#include "policy.c"

/* ----------------------------------------------------------------------
 * pshare_rho
 */

struct pt_rho_case {
	const char *name;
	u64 shares;
	u64 pages;
	u32 active;
	u32 tax;
	u64 rho;
};

static const struct pt_rho_case pt_rho_cases[] = {
	/* tau = 0: S * 65536 / P, the active fraction does not matter. */
	{ "tax 0, S = P, idle",		1000, 1000, 0, 0, 65536 },
	{ "tax 0, S = P, active",	1000, 1000, 1000, 0, 65536 },
	/* 65536 / 3 = 21845.33 */
	{ "tax 0, S 1, P 3",		1, 3, 500, 0, 21845 },
	/* 2^30 * 2^16 = 2^46 */
	{ "tax 0, S 2^30, P 1",		1ULL << 30, 1, 0, 0, 1ULL << 46 },
	/* 7 * 2^16 / 2^28 = 7 / 4096: rounds down to 0 */
	{ "tax 0, S 7, P 2^28",		7, 1ULL << 28, 250, 0, 0 },
	/* tau = 75: 25000 * 65536 * S / (P * (100000 - 75 f)). */
	/* 1000 * 1638400000 / (1000 * 100000) = 16384 */
	{ "tax 75, idle",		1000, 1000, 0, 75, 16384 },
	/* denominator 1000 * 25000: 65536 */
	{ "tax 75, active",		1000, 1000, 1000, 75, 65536 },
	/* denominator 1000 * 62500: 1638400000000 / 62500000 = 26214.4 */
	{ "tax 75, half active",	1000, 1000, 500, 75, 26214 },
	/* 3 * 1638400000 / (7 * 75025) = 4915200000 / 525175 = 9359.1 */
	{ "tax 75, S 3, P 7, f 333",	3, 7, 333, 75, 9359 },
	/* tau = 99: 1000 * 65536 * S / (P * (100000 - 99 f)). */
	/* 65536000 / 100000 = 655.36 */
	{ "tax 99, idle",		1000, 1000, 0, 99, 655 },
	/* denominator 1000 * 1000 */
	{ "tax 99, active",		1000, 1000, 1000, 99, 65536 },
	/* 65536000 / 50500 = 1297.7 */
	{ "tax 99, half active",	1000, 1000, 500, 99, 1297 },
	/* 2^30 * 65536000 / (2^28 * 100000) = 4 * 655.36 = 2621.44 */
	{ "tax 99, S 2^30, P 2^28",	1ULL << 30, 1ULL << 28, 0, 99, 2621 },
	/* Out-of-range inputs are clamped, not trusted. */
	{ "tax 100 counts as 99",	1000, 1000, 0, 100, 655 },
	{ "active 5000 counts as 1000",	1000, 1000, 5000, 75, 65536 },
	{ "shares 2^31 count as 2^30",	1ULL << 31, 1, 0, 0, 1ULL << 46 },
};

static void pshare_policy_rho_table(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pt_rho_cases); i++) {
		const struct pt_rho_case *c = &pt_rho_cases[i];

		KUNIT_EXPECT_EQ_MSG(test, pshare_rho(c->shares, c->pages,
						     c->active, c->tax),
				    c->rho, "%s", c->name);
	}
}

/* A region that holds nothing has nothing to give: never a victim. */
static void pshare_policy_rho_no_pages(struct kunit *test)
{
	static const u32 taxes[] = { 0, 75, 99 };
	static const u32 actives[] = { 0, 500, 1000 };
	unsigned int t, f;

	for (t = 0; t < ARRAY_SIZE(taxes); t++)
		for (f = 0; f < ARRAY_SIZE(actives); f++)
			KUNIT_EXPECT_EQ_MSG(test,
					    pshare_rho(1000, 0, actives[f],
						       taxes[t]),
					    U64_MAX, "tax %u, active %u",
					    taxes[t], actives[f]);
}

/*
 * More pages: lower rho. Doubling P halves it exactly as integers
 * (floor(x / 2y) == floor(floor(x / y) / 2)).
 */
static void pshare_policy_rho_monotonic_pages(struct kunit *test)
{
	static const u32 taxes[] = { 0, 75, 99 };
	static const u32 actives[] = { 0, 300, 1000 };
	unsigned int t, f;

	for (t = 0; t < ARRAY_SIZE(taxes); t++) {
		for (f = 0; f < ARRAY_SIZE(actives); f++) {
			u64 p, prev = pshare_rho(1ULL << 20, 1, actives[f],
						 taxes[t]);

			for (p = 2; p <= 1ULL << 28; p <<= 1) {
				u64 r = pshare_rho(1ULL << 20, p, actives[f],
						   taxes[t]);

				KUNIT_EXPECT_LT_MSG(test, r, prev,
						    "tax %u, active %u, P %llu",
						    taxes[t], actives[f], p);
				KUNIT_EXPECT_EQ_MSG(test, r, prev / 2,
						    "tax %u, active %u, P %llu: not halved",
						    taxes[t], actives[f], p);
				prev = r;
			}
		}
	}
}

/*
 * More active: higher rho (protected) as soon as there is a tax; without
 * a tax the active fraction makes no difference at all.
 */
static void pshare_policy_rho_monotonic_active(struct kunit *test)
{
	static const u32 taxes[] = { 0, 1, 50, 75, 99 };
	unsigned int t;

	for (t = 0; t < ARRAY_SIZE(taxes); t++) {
		u64 prev = pshare_rho(1000, 1000, 0, taxes[t]);
		u32 f;

		for (f = 50; f <= 1000; f += 50) {
			u64 r = pshare_rho(1000, 1000, f, taxes[t]);

			if (taxes[t])
				KUNIT_EXPECT_GT_MSG(test, r, prev,
						    "tax %u, active %u",
						    taxes[t], f);
			else
				KUNIT_EXPECT_EQ_MSG(test, r, prev,
						    "tax 0, active %u", f);
			prev = r;
		}
	}
}

/* A higher tax makes an idle region cheaper; a fully active one not. */
static void pshare_policy_rho_monotonic_tax(struct kunit *test)
{
	u64 prev = pshare_rho(1000, 1000, 200, 0);
	u32 tax;

	for (tax = 1; tax <= 99; tax++) {
		u64 r = pshare_rho(1000, 1000, 200, tax);

		KUNIT_EXPECT_LT_MSG(test, r, prev, "tax %u, active 200", tax);
		KUNIT_EXPECT_EQ_MSG(test, pshare_rho(1000, 1000, 1000, tax),
				    65536ULL, "tax %u, active 1000", tax);
		prev = r;
	}
}

/* ----------------------------------------------------------------------
 * pshare_alloc_targets: exact cases
 */

#define PT_MAX_REGIONS	4

/* One region of a case: shares, held, min, max, active. */
struct pt_region {
	u64 shares;
	u64 held;
	u64 min;
	u64 max;
	u32 active;
};

struct pt_alloc_case {
	const char *name;
	unsigned int n;
	struct pt_region r[PT_MAX_REGIONS];
	u64 reclaim;
	u32 tax;
	u64 target[PT_MAX_REGIONS];
	u64 left;	/* pages the allocator could not find */
};

static const struct pt_alloc_case pt_alloc_cases[] = {
	{
		/* No pressure: what each holds, capped by its max. */
		.name = "reclaim 0: targets are min(held, max)",
		.n = 3,
		.r = { { 100, 100, 0, 50, 1000 },
		       { 100, 30, 0, 50, 1000 },
		       { 100, 80, 10, 200, 0 } },
		.reclaim = 0, .tax = 75,
		.target = { 50, 30, 80 },
	},
	{
		/*
		 * Region 1 has by far the lowest rho (1 share), but region 0
		 * is 400 pages over its max: trimming it covers the 300.
		 */
		.name = "over max trimmed first",
		.n = 2,
		.r = { { 1000, 1000, 0, 600, 1000 },
		       { 1, 1000, 0, 1000, 1000 } },
		.reclaim = 300, .tax = 0,
		.target = { 600, 1000 },
	},
	{
		/* The trim gives 400; the other 100 come from the lowest rho. */
		.name = "trim, then the lowest rho",
		.n = 2,
		.r = { { 1000, 1000, 0, 600, 1000 },
		       { 1, 1000, 0, 1000, 1000 } },
		.reclaim = 500, .tax = 0,
		.target = { 600, 900 },
	},
	{
		/*
		 * Equal shares, tax 0: rho 6553 for the 1000-page region,
		 * 13107 for the 500-page one; 100 pages do not make the
		 * first reach the second.
		 */
		.name = "lowest rho first (bigger holder)",
		.n = 2,
		.r = { { 100, 1000, 0, 1000, 1000 },
		       { 100, 500, 0, 1000, 1000 } },
		.reclaim = 100, .tax = 0,
		.target = { 900, 500 },
	},
	{
		/* Region 0 has the lowest rho but only 50 pages above min. */
		.name = "min stops the lowest rho, the next gives the rest",
		.n = 2,
		.r = { { 1, 1000, 950, 1000, 1000 },
		       { 1000, 1000, 0, 1000, 1000 } },
		.reclaim = 300, .tax = 0,
		.target = { 950, 750 },
	},
	{
		/*
		 * 40 + 50 pages can be found (the third region holds less
		 * than its min and gives nothing): 200 - 90 are left over.
		 */
		.name = "everything at min: the remainder is returned",
		.n = 3,
		.r = { { 100, 100, 60, 1000, 0 },
		       { 100, 200, 150, 1000, 0 },
		       { 100, 40, 50, 1000, 0 } },
		.reclaim = 200, .tax = 75,
		.target = { 60, 150, 40 },
		.left = 110,
	},
	{
		/* A region that holds nothing is never a victim. */
		.name = "empty region untouched",
		.n = 2,
		.r = { { 1000000, 0, 0, 1000, 0 },
		       { 1, 500, 0, 1000, 1000 } },
		.reclaim = 100, .tax = 75,
		.target = { 0, 400 },
	},
	{
		/*
		 * Tax 75, equal shares and sizes: the idle region's rho is
		 * 100 * 16384 / P, the active one's 100 * 65536 / P. At 500
		 * pages the idle one (3276) is still below 6553: it gives
		 * all 500.
		 */
		.name = "tax 75: idle gives before active",
		.n = 2,
		.r = { { 100, 1000, 0, 1000, 0 },
		       { 100, 1000, 0, 1000, 1000 } },
		.reclaim = 500, .tax = 75,
		.target = { 500, 1000 },
	},
	{
		/* Nothing to take from: everything is left. */
		.name = "all regions empty",
		.n = 2,
		.r = { { 100, 0, 0, 1000, 0 },
		       { 100, 0, 0, 1000, 0 } },
		.reclaim = 64, .tax = 75,
		.target = { 0, 0 },
		.left = 64,
	},
};

static void pt_load(struct pshare_alloc *a, const struct pt_region *r,
		    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		a[i] = (struct pshare_alloc) {
			.shares = r[i].shares,
			.held = r[i].held,
			.min = r[i].min,
			.max = r[i].max,
			.active = r[i].active,
			.target = 0xdead,	/* must be overwritten */
		};
	}
}

static void pshare_policy_alloc_table(struct kunit *test)
{
	struct pshare_alloc a[PT_MAX_REGIONS];
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(pt_alloc_cases); i++) {
		const struct pt_alloc_case *c = &pt_alloc_cases[i];
		u64 left;

		pt_load(a, c->r, c->n);
		left = pshare_alloc_targets(a, c->n, c->reclaim, c->tax);
		KUNIT_EXPECT_EQ_MSG(test, left, c->left, "%s: pages left",
				    c->name);
		for (j = 0; j < c->n; j++)
			KUNIT_EXPECT_EQ_MSG(test, a[j].target, c->target[j],
					    "%s: region %u", c->name, j);
	}
}

static void pshare_policy_alloc_none(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, pshare_alloc_targets(NULL, 0, 0, 75), 0ULL);
	KUNIT_EXPECT_EQ(test, pshare_alloc_targets(NULL, 0, 123, 75), 123ULL);
}

/* ----------------------------------------------------------------------
 * pshare_alloc_targets: where the allocator settles
 */

/*
 * Pages two regions may differ from the exact balance: the allocator walks
 * in whole-page steps toward equal rho, so it may stop a step short.
 */
#define PT_SLACK	4

struct pt_balance_case {
	const char *name;
	struct pt_region r[2];
	u64 reclaim;
	u32 tax;
	u64 target[2];	/* the balance point, +- PT_SLACK */
};

static const struct pt_balance_case pt_balance_cases[] = {
	/* Equal shares, tax 0: 1500 - 700 = 800 split evenly. */
	{ "tax 0, equal shares, unequal holdings",
	  { { 100, 1000, 0, 1000, 1000 }, { 100, 500, 0, 1000, 1000 } },
	  700, 0, { 400, 400 } },
	/* Shares 3:1, tax 0: 800 pages split 600 / 200. */
	{ "tax 0, shares 3:1",
	  { { 300, 1000, 0, 1000, 1000 }, { 100, 1000, 0, 1000, 1000 } },
	  1200, 0, { 600, 200 } },
	/* Tax 0 ignores activity: idle and active end equal. */
	{ "tax 0, idle and active equal",
	  { { 100, 1000, 0, 1000, 0 }, { 100, 1000, 0, 1000, 1000 } },
	  1500, 0, { 250, 250 } },
	/*
	 * Tax 75: equal rho when 16384 / P_idle = 65536 / P_active, so
	 * P_active = 4 P_idle; 500 pages in all: 100 / 400.
	 */
	{ "tax 75, idle and active",
	  { { 100, 1000, 0, 1000, 0 }, { 100, 1000, 0, 1000, 1000 } },
	  1500, 75, { 100, 400 } },
	/* Same, 1000 pages in all: 200 / 800. */
	{ "tax 75, idle and active, 1000 kept",
	  { { 100, 1000, 0, 1000, 0 }, { 100, 1000, 0, 1000, 1000 } },
	  1000, 75, { 200, 800 } },
	/*
	 * Tax 99: an idle page costs 100 active ones: P_active = 100 P_idle;
	 * 1000 pages: 9.9 / 990.1.
	 */
	{ "tax 99, idle and active",
	  { { 100, 1000, 0, 1000, 0 }, { 100, 1000, 0, 1000, 1000 } },
	  1000, 99, { 10, 990 } },
};

static void pshare_policy_alloc_balance(struct kunit *test)
{
	struct pshare_alloc a[2];
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(pt_balance_cases); i++) {
		const struct pt_balance_case *c = &pt_balance_cases[i];
		u64 kept = c->r[0].held + c->r[1].held - c->reclaim;

		pt_load(a, c->r, 2);
		KUNIT_EXPECT_EQ_MSG(test,
				    pshare_alloc_targets(a, 2, c->reclaim,
							 c->tax),
				    0ULL, "%s: pages left", c->name);
		/* Exactly what was asked, however it is split. */
		KUNIT_EXPECT_EQ_MSG(test, a[0].target + a[1].target, kept,
				    "%s: total kept", c->name);
		for (j = 0; j < 2; j++) {
			KUNIT_EXPECT_LE_MSG(test, a[j].target,
					    c->target[j] + PT_SLACK,
					    "%s: region %u", c->name, j);
			KUNIT_EXPECT_GE_MSG(test, a[j].target + PT_SLACK,
					    c->target[j],
					    "%s: region %u", c->name, j);
		}
	}
}

/*
 * The idle memory tax moves memory from idle to active regions: of two
 * regions with equal shares and holdings, the idle one keeps no more than
 * the active one at any tax, strictly less at any positive tax, and less
 * the higher the tax.
 */
static void pshare_policy_alloc_tax_order(struct kunit *test)
{
	static const struct pt_region r[2] = {
		{ 100, 4096, 0, 4096, 50 },	/* mostly idle */
		{ 100, 4096, 0, 4096, 900 },	/* mostly active */
	};
	static const u32 taxes[] = { 0, 25, 50, 75, 90, 99 };
	struct pshare_alloc a[2];
	u64 prev_idle = U64_MAX;
	unsigned int t;

	for (t = 0; t < ARRAY_SIZE(taxes); t++) {
		pt_load(a, r, 2);
		KUNIT_EXPECT_EQ(test, pshare_alloc_targets(a, 2, 4096,
							   taxes[t]), 0ULL);
		KUNIT_EXPECT_EQ_MSG(test, a[0].target + a[1].target, 4096ULL,
				    "tax %u", taxes[t]);
		if (taxes[t]) {
			KUNIT_EXPECT_LT_MSG(test, a[0].target, a[1].target,
					    "tax %u", taxes[t]);
			KUNIT_EXPECT_LT_MSG(test, a[0].target, prev_idle,
					    "tax %u", taxes[t]);
		} else {
			KUNIT_EXPECT_LE_MSG(test,
					    a[1].target - a[0].target,
					    (u64)PT_SLACK, "tax 0");
		}
		prev_idle = a[0].target;
	}
}

/*
 * Invariants over many made-up configurations (a fixed seed, so a failure
 * repeats): min(held, min) <= target <= min(held, max(max, min)); the
 * pages taken are the request when the regions have them above min, else
 * everything above min and the rest is returned.
 */
static void pshare_policy_alloc_invariants(struct kunit *test)
{
	struct pshare_alloc a[8];
	struct rnd_state rnd;
	unsigned int iter;

	prandom_seed_state(&rnd, 20021209);
	for (iter = 0; iter < 2000; iter++) {
		unsigned int n = 1 + prandom_u32_state(&rnd) % 8, i;
		u32 tax = prandom_u32_state(&rnd) % 100;
		u64 held = 0, above_min = 0, over_max = 0, taken = 0;
		u64 reclaim, left, want;

		for (i = 0; i < n; i++) {
			u64 max = prandom_u32_state(&rnd) % 5000;

			a[i].shares = 1 + prandom_u32_state(&rnd) % 10000;
			a[i].held = prandom_u32_state(&rnd) % 5000;
			a[i].max = max;
			a[i].min = max ? prandom_u32_state(&rnd) % (max + 1) : 0;
			a[i].active = prandom_u32_state(&rnd) % 1001;
			a[i].target = 0xdead;
			held += a[i].held;
			if (a[i].held > a[i].max)
				over_max += a[i].held - a[i].max;
			above_min += a[i].held > a[i].min ?
				     a[i].held - a[i].min : 0;
		}
		reclaim = prandom_u32_state(&rnd) % (held + 2000);
		left = pshare_alloc_targets(a, n, reclaim, tax);

		for (i = 0; i < n; i++) {
			KUNIT_EXPECT_GE_MSG(test, a[i].target,
					    min(a[i].held, a[i].min),
					    "iter %u region %u below min",
					    iter, i);
			KUNIT_EXPECT_LE_MSG(test, a[i].target,
					    min(a[i].held, a[i].max),
					    "iter %u region %u above held or max",
					    iter, i);
			taken += a[i].held - a[i].target;
		}
		/* Trimming to max may take more than asked, never less. */
		want = max(reclaim, over_max);
		if (want <= above_min) {
			KUNIT_EXPECT_EQ_MSG(test, left, 0ULL, "iter %u", iter);
			KUNIT_EXPECT_EQ_MSG(test, taken, want, "iter %u", iter);
		} else {
			KUNIT_EXPECT_EQ_MSG(test, taken, above_min,
					    "iter %u", iter);
			KUNIT_EXPECT_EQ_MSG(test, left, reclaim - above_min,
					    "iter %u", iter);
		}
	}
}

static struct kunit_case pshare_policy_cases[] = {
	KUNIT_CASE(pshare_policy_rho_table),
	KUNIT_CASE(pshare_policy_rho_no_pages),
	KUNIT_CASE(pshare_policy_rho_monotonic_pages),
	KUNIT_CASE(pshare_policy_rho_monotonic_active),
	KUNIT_CASE(pshare_policy_rho_monotonic_tax),
	KUNIT_CASE(pshare_policy_alloc_table),
	KUNIT_CASE(pshare_policy_alloc_none),
	KUNIT_CASE(pshare_policy_alloc_balance),
	KUNIT_CASE(pshare_policy_alloc_tax_order),
	KUNIT_CASE(pshare_policy_alloc_invariants),
	{}
};

static struct kunit_suite pshare_policy_suite = {
	.name = "pshare_policy",
	.test_cases = pshare_policy_cases,
};
kunit_test_suite(pshare_policy_suite);
