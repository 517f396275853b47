// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl balloon REGION=QMP_SOCKET...: the balloon agent. Each round
 * it reads a region's target (what the reclaimer wants the region to
 * hold) and asks the region's QEMU, over QMP, to balloon its guest to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "psharectl.h"

/**
 * struct balloon_pair - one region and the QMP socket of its QEMU
 * @region:	path of the region file
 * @sock:	path of the QMP unix socket
 * @last:	the balloon value last sent, bytes; 0 before the first
 * @failing:	the last round failed (report only the first failure)
 */
struct balloon_pair {
	const char *region;
	const char *sock;
	unsigned long long last;
	bool failing;
};

/* clamp(target_pages * 4096, floor, size), in whole MiB below the size. */
static unsigned long long balloon_value(const struct pshare_region_stats *rs,
					unsigned long long floor)
{
	unsigned long long size = rs->size, want;

	want = rs->target_pages > size / PSHARE_PAGE_SIZE ? size :
	       rs->target_pages * PSHARE_PAGE_SIZE;
	if (want < size)
		want -= want % MIB;	/* no churn over a few pages */
	if (want < floor)
		want = floor;
	if (want > size)
		want = size;
	return want;
}

static void agent_log(const char *fmt, ...) __printf(1, 2);

static void agent_log(const char *fmt, ...)
{
	char t[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	localtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s ", t);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/*
 * One round for one pair: read the target, send the balloon value, log a
 * change. Returns 0 or -1 (logged, to stderr on the first failure of a
 * series).
 */
static int balloon_round(const struct ctl *c, struct balloon_pair *p,
			 unsigned long long floor)
{
	unsigned long long want, before, actual;
	struct pshare_region_stats rs;
	char why[512], cmd[128], h[4][32];
	const char *where = p->region, *hint = "";
	struct qmp q;
	int fd;

	/* Reopened every round: QEMU may have recreated the file. */
	fd = open(p->region, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto fail;
	}
	memset(&rs, 0, sizeof(rs));
	rs.argsz = sizeof(rs);
	rs.fd = fd;
	if (ioctl(c->devfd, PSHARE_IOC_REGION_STATS, &rs)) {
		snprintf(why, sizeof(why), "PSHARE_IOC_REGION_STATS: %s",
			 strerror(errno));
		if (errno == ENODEV)
			hint = " (not a pshare region file)";
		close(fd);
		goto fail;
	}
	close(fd);
	if (!rs.size) {
		snprintf(why, sizeof(why), "the region is empty (size 0)");
		hint = ": is QEMU using it?";
		goto fail;
	}
	want = balloon_value(&rs, floor);

	where = p->sock;
	if (qmp_open(&q, p->sock, why, sizeof(why)))
		goto fail;
	if (qmp_balloon_actual(&q, &before, why, sizeof(why)))
		goto fail_qmp;
	/*
	 * Sent every round, not only on a change: the command is idempotent,
	 * and a restarted QEMU or another client may have changed it.
	 */
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"balloon\",\"arguments\":{\"value\":%llu}}\n",
		 want);
	if (qmp_cmd(&q, cmd, NULL, why, sizeof(why)))
		goto fail_qmp;
	if (qmp_balloon_actual(&q, &actual, why, sizeof(why)))
		goto fail_qmp;
	qmp_close(&q);

	if (want != p->last || p->failing)
		agent_log("%s: balloon %s -> %s (%llu bytes; target_pages %llu, size %s), actual %s",
			  p->region,
			  p->last ? human(h[0], 32, p->last) :
				    human(h[0], 32, before),
			  human(h[1], 32, want), want,
			  (unsigned long long)rs.target_pages,
			  human(h[2], 32, rs.size), human(h[3], 32, actual));
	p->last = want;
	p->failing = false;
	return 0;

fail_qmp:
	qmp_close(&q);
	if (strstr(why, "alloon") || strstr(why, "DeviceNotActive"))
		hint = " (give QEMU -device virtio-balloon-pci and load virtio_balloon in the guest)";
fail:
	if (!p->failing)
		err_msg("balloon: %s: %s%s", where, why, hint);
	p->failing = true;
	return -1;
}

/**
 * struct balloon_opts - what the options of balloon ask for
 * @interval:	seconds between rounds
 * @floor:	never balloon a guest below this many bytes
 * @once:	one round, then exit
 */
struct balloon_opts {
	double interval;
	unsigned long long floor;
	bool once;
};

static int balloon_opt(const struct psharectl_cmd *cmd, int opt,
		       const char *arg, void *data)
{
	struct balloon_opts *o = data;
	bool unit;

	switch (opt) {
	case 'i':
		if (!parse_secs(arg, 0.1, &o->interval))
			return bad_value(cmd, "--interval", arg,
					 "seconds, at least 0.1");
		break;
	case '1':
		o->once = true;
		break;
	case 'f':
		if (!parse_size(arg, &o->floor, &unit))
			return bad_value(cmd, "--floor", arg,
					 "a SIZE like 128M (a plain number is bytes)");
		break;
	}
	return -1;
}

static int cmd_balloon(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct balloon_opts o = { .interval = 5.0, .floor = 128 * MIB };
	struct balloon_pair *pairs;
	int i, n, rc = EXIT_OK;
	struct ctl c;
	double next;
	char h[32];

	rc = parse_opts(cmd, argc, argv, balloon_opt, &o);
	if (rc >= 0)
		return rc;
	rc = EXIT_OK;
	n = argc - optind;
	if (n < 1)
		return wrong_args(cmd, "needs at least one REGION=QMP_SOCKET");
	pairs = calloc(n, sizeof(*pairs));
	if (!pairs) {
		err_msg("out of memory");
		return EXIT_ERR;
	}
	for (i = 0; i < n; i++) {
		char *arg = argv[optind + i], *eq = strchr(arg, '=');

		if (!eq || eq == arg || !eq[1]) {
			free(pairs);
			return bad_value(cmd, "pair", arg,
					 "REGION=QMP_SOCKET, e.g. /run/pshare/vm1=/run/pshare-qmp/vm1.sock");
		}
		*eq = '\0';
		pairs[i].region = arg;
		pairs[i].sock = eq + 1;
	}

	if (ctl_open(&c, PSHARE_FEATURE_REGION_STATS | PSHARE_FEATURE_POLICY)) {
		free(pairs);
		return EXIT_ERR;
	}
	catch_stop_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!o.once)
		agent_log("balloon agent: %d region(s), every %.1f s, floor %s",
			  n, o.interval, human(h, sizeof(h), o.floor));

	next = now_mono();
	while (!psharectl_stop) {
		int failed = 0;

		for (i = 0; i < n && !psharectl_stop; i++)
			failed += balloon_round(&c, &pairs[i], o.floor) != 0;
		if (o.once) {
			rc = failed ? EXIT_ERR : EXIT_OK;
			break;
		}
		next += o.interval;
		sleep_until(next);
	}
	if (!o.once)
		agent_log("balloon agent stopped; balloons stay where they are");
	ctl_close(&c);
	free(pairs);
	return finish_output(rc);
}

/* Long forms only: -1, -i and -f are unknown options, as they always were. */
static const struct option balloon_longopts[] = {
	{ "interval", required_argument, NULL, 'i' },
	{ "once", no_argument, NULL, '1' },
	{ "floor", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

const struct psharectl_cmd psharectl_balloon_cmd = {
	.name = "balloon",
	.args = "REGION=QMP_SOCKET [...] [--interval S] [--once] [--floor SIZE]",
	.summary = "Balloon agent: drive QEMU's virtio-balloon from region targets.",
	.help =
"\n"
"For each REGION=QMP_SOCKET pair, every interval: read the region's\n"
"target_pages and size (PSHARE_IOC_REGION_STATS), connect to QEMU's QMP\n"
"socket (handshake with qmp_capabilities), send\n"
"  {\"execute\":\"balloon\",\"arguments\":{\"value\":BYTES}}\n"
"with BYTES = clamp(target_pages * 4096, floor, size) (whole MiB below the\n"
"size), and read query-balloon. Each change is logged with the old and\n"
"new value and the guest's actual RAM. The connection is closed after\n"
"each round, so the QMP socket stays usable by others between rounds (a\n"
"QMP socket serves one client at a time).\n"
"\n"
"QEMU needs -device virtio-balloon-pci and a QMP socket, e.g.\n"
"  -qmp unix:/run/pshare-qmp/vm1.sock,server=on,wait=off\n"
"(a second -qmp next to one used by other tools is fine).\n"
"\n"
"  --interval S   seconds between rounds, default 5\n"
"  --once         one round, then exit (status 1 if any pair failed)\n"
"  --floor SIZE   never ask a guest to go below SIZE (default 128M; a\n"
"                 plain number is bytes)\n"
"Stopping the agent (SIGINT, SIGTERM) leaves the balloons where they are.\n",
	.longopts = balloon_longopts,
	.nargs = -1,
	.run = cmd_balloon,
};
