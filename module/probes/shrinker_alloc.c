// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_SHRINKER_ALLOC: shrinkers are allocated by shrinker_alloc(), then
 * shrinker_register()ed and shrinker_free()d (6.7, c42d50aefd17).
 */
#include <linux/mm.h>
#include <linux/shrinker.h>

void pshare_probe(void);

void pshare_probe(void)
{
	struct shrinker *s = shrinker_alloc(0, "%s", "pshare");

	if (s)
		shrinker_register(s);
	shrinker_free(s);
}
