// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl - look at and steer pshare, the module that owns QEMU/KVM
 * guest RAM through the pshare filesystem, shares its pages and reclaims
 * them.
 *
 * It uses three surfaces of the module:
 *
 *   /sys/kernel/mm/pshare/ (files)   global knobs and counters (sysfs)
 *   /sys/kernel/debug/pshare/regions per-region table (debugfs, root)
 *   /dev/pshare                      versioned ioctls (uapi/linux/pshare.h)
 *
 * and one of QEMU's: the QMP monitor socket, through which the balloon
 * agent (`psharectl balloon`) turns each region's balloon target into
 * virtio-balloon commands.
 *
 * Each subcommand lives in a file of its own and describes itself in a
 * struct psharectl_cmd (name, synopsis, help, options, the function that
 * runs it); a new one is that file plus a line in psharectl_cmds[] below.
 * This file only finds the command and hands it the arguments.
 *
 * Exit status: 0 success, 1 error, 2 usage error. Every error message
 * names the file it concerns and says how to fix the setup.
 */
#include <string.h>

#include "psharectl.h"

/* In the order `psharectl --help` lists them. */
static const struct psharectl_cmd *const psharectl_cmds[] = {
	&psharectl_status_cmd,
	&psharectl_top_cmd,
	&psharectl_metrics_cmd,
	&psharectl_region_cmd,
	&psharectl_policy_cmd,
	&psharectl_domain_cmd,
	&psharectl_backing_cmd,
	&psharectl_balloon_cmd,
	&psharectl_advise_cmd,
	&psharectl_api_cmd,
	&psharectl_help_cmd,
};

const struct psharectl_cmd *psharectl_find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(psharectl_cmds); i++)
		if (!strcmp(psharectl_cmds[i]->name, name))
			return psharectl_cmds[i];
	return NULL;
}

void psharectl_usage(FILE *out)
{
	size_t i;

	fprintf(out,
"Usage: psharectl [-h|--help] [-V|--version] COMMAND [ARGS]\n"
"\n"
"Inspect and steer pshare, the module that owns QEMU/KVM guest RAM through\n"
"the pshare filesystem, shares its pages and reclaims them.\n"
"\n"
"Commands:\n");
	for (i = 0; i < ARRAY_SIZE(psharectl_cmds); i++)
		fprintf(out, "  %-9s %s\n", psharectl_cmds[i]->name,
			psharectl_cmds[i]->summary);
	fprintf(out,
"\n"
"'psharectl help COMMAND' shows a command's arguments and options.\n"
"\n"
"Options:\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the psharectl version and its uapi version\n"
"\n"
"Files: %s (sysfs), %s/pshare/regions (debugfs),\n"
"       %s (ioctls). The environment variables PSHARECTL_SYSFS,\n"
"       PSHARECTL_DEBUGFS (debugfs mount point), PSHARECTL_DEVICE and\n"
"       PSHARECTL_MEMINFO (/proc/meminfo, for advise) override these paths.\n"
"\n"
"Exit status: 0 success, 1 error (the message says how to fix the setup),\n"
"2 usage error.\n", PSHARE_SYSFS_DIR, PSHARE_DEBUGFS_MNT, PSHARE_DEVICE);
}

/* A command line that names no command: say where to look. */
static int no_command(const char *what, const char *arg)
{
	err_msg("unknown %s '%s'", what, arg);
	fprintf(stderr, "Try 'psharectl --help'.\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const struct psharectl_cmd *cmd;

	if (argc < 2) {
		psharectl_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		psharectl_usage(stdout);
		return finish_output(EXIT_OK);
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("psharectl %s (pshare uapi version %d)\n",
		       PSHARECTL_VERSION, PSHARE_API_VERSION);
		return finish_output(EXIT_OK);
	}
	if (argv[1][0] == '-')
		return no_command("option", argv[1]);
	cmd = psharectl_find_cmd(argv[1]);
	if (!cmd)
		return no_command("command", argv[1]);
	return cmd->run(cmd, argc - 1, argv + 1);
}
