// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl help [COMMAND]: the command list, or one command's help. It
 * takes no options of its own, so that "help --json" names the unknown
 * command instead of being an option error.
 */
#include "psharectl.h"

static int cmd_help(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	const struct psharectl_cmd *c;

	if (argc > 2)
		return wrong_args(cmd, "takes at most one COMMAND");
	if (argc < 2) {
		psharectl_usage(stdout);
		return finish_output(EXIT_OK);
	}
	c = psharectl_find_cmd(argv[1]);
	if (!c) {
		err_msg("help: unknown command '%s'", argv[1]);
		return EXIT_USAGE;
	}
	cmd_help_text(c);
	return finish_output(EXIT_OK);
}

const struct psharectl_cmd psharectl_help_cmd = {
	.name = "help",
	.args = "[COMMAND]",
	.summary = "This help, or the help of one command.",
	.help = "",
	.nargs = -1,
	.run = cmd_help,
};
