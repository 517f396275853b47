// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's mounts: a fresh pshare mounted with a random option string,
 * checked against the option rules, used and unmounted when it succeeds.
 *
 * Part of pshare_fuzz.c, which includes it (see pshare_fuzz.h).
 */
#include "pshare_fuzz.h"

/* ----------------------------------------------------------------------
 * Mount options
 * ---------------------------------------------------------------------- */

/* One option: *@valid 1 valid, 0 invalid, -1 not predicted. */
static int fz_mount_token(struct fz_thread *t, char *s, size_t size)
{
	static const char *const key[] = { "uid", "gid", "mode", "noshare" };
	static const char *const invalid[] = {
		"uid=-1", "uid=4294967295", "gid=4294967295", "uid=abc",
		"uid=", "mode=8", "mode=010000", "mode=-1",
		"mode=0x1ff", "size=1G", "nr_inodes=5", "foo", "foo=bar",
		"uid", "mode", "uid=4294967296", "gid=99999999999",
		"noshare=1", "noshare=", "noshare=off",
	};
	static const char *const unknown[] = {
		"ro", "rw", "source=x", "sync", "noatime", "silent",
	};
	unsigned int k = below(t, 4);

	switch (below(t, 6)) {
	case 0: case 1: case 2:
		if (k == 3)
			snprintf(s, size, "%s", key[k]);
		else if (k == 2)
			snprintf(s, size, "mode=%llo", (unsigned long long)below(t, 07777 + 1));
		else
			snprintf(s, size, "%s=%llu", key[k], (unsigned long long)
				 (below(t, 2) ? below(t, 70000) : below(t, 0xfffffffeULL)));
		return 1;
	case 3: case 4:
		snprintf(s, size, "%s", invalid[below(t, sizeof(invalid) / sizeof(invalid[0]))]);
		return 0;
	default:
		snprintf(s, size, "%s", unknown[below(t, sizeof(unknown) / sizeof(unknown[0]))]);
		return -1;
	}
}

static void fz_mount(struct fz_thread *t)
{
	char dir[64], opts[4096 + 256], tok[64], file[96];
	int i, n = below(t, 5), valid = 1, v, fd;
	struct statfs sfs;
	size_t len = 0;

	opts[0] = 0;
	for (i = 0; i < n; i++) {
		v = fz_mount_token(t, tok, sizeof(tok));
		if (v == 0)
			valid = 0;
		else if (v < 0 && valid)
			valid = -1;
		len += snprintf(opts + len, sizeof(opts) - len, "%s%s",
				i ? "," : "", tok);
	}
	if (below(t, 20) == 0) {
		/* Longer than a page: mount(2) copies one page of it. */
		while (len < sizeof(opts) - 64)
			len += snprintf(opts + len, sizeof(opts) - len, ",uid=%llu",
					(unsigned long long)below(t, 1000));
		valid = -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/pshare-fuzz-mnt.XXXXXX");
	if (!mkdtemp(dir)) {
		ps_fail(&t->fail, "mkdtemp: %s", strerror(errno));
		return;
	}
	pthread_mutex_lock(&fz.fork_lock);
	errno = 0;
	if (mount("pshare", dir, "pshare", 0, n || len ? opts : NULL)) {
		if (errno != EINVAL || valid == 1)
			ps_fail(&t->fail, "mount -o \"%.200s\": %s", opts, strerror(errno));
		pthread_mutex_unlock(&fz.fork_lock);
		rmdir(dir);
		return;
	}
	atomic_fetch_add(&fz.mounts_ok, 1);
	if (valid == 0)
		ps_fail(&t->fail, "mount -o \"%.200s\" succeeded", opts);
	if (statfs(dir, &sfs) || sfs.f_type != PSHARE_FS_MAGIC)
		ps_fail(&t->fail, "statfs of a fresh mount: %s", strerror(errno));
	/* Use it (a read-only mount refuses that; not predicted). */
	snprintf(file, sizeof(file), "%s/r", dir);
	fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd >= 0) {
		if (ftruncate(fd, PS_PAGE) || pwrite(fd, "x", 1, 7) != 1)
			ps_fail(&t->fail, "using a region of a fresh mount: %s", strerror(errno));
		close(fd);
		unlink(file);
	}
	if (umount(dir))
		ps_fail(&t->fail, "umount of a fresh mount: %s", strerror(errno));
	pthread_mutex_unlock(&fz.fork_lock);
	rmdir(dir);
}
