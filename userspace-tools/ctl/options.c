// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line parsing shared by the psharectl commands. A command
 * describes its options in its struct psharectl_cmd (long options, their
 * short letters, how many arguments follow) and hands each option it gets
 * to a handler of its own; parse_opts() does the rest the same way for
 * all: --help, the error for an unknown option or a missing argument, and
 * the argument count.
 */
#include <assert.h>
#include <string.h>

#include "psharectl.h"

/* Long options a command may have besides --help. */
#define PSHARECTL_MAX_OPTS	15

const struct option json_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

void cmd_usage(const struct psharectl_cmd *cmd, FILE *out)
{
	fprintf(out, "Usage: psharectl %s%s%s\n", cmd->name,
		*cmd->args ? " " : "", cmd->args);
}

void cmd_help_text(const struct psharectl_cmd *cmd)
{
	cmd_usage(cmd, stdout);
	printf("\n%s\n%s", cmd->summary, cmd->help);
}

/* The usage lines every command error ends with. */
static int usage_error(const struct psharectl_cmd *cmd)
{
	cmd_usage(cmd, stderr);
	fprintf(stderr, "Try 'psharectl help %s'.\n", cmd->name);
	return EXIT_USAGE;
}

int wrong_args(const struct psharectl_cmd *cmd, const char *what)
{
	err_msg("%s: %s", cmd->name, what);
	return usage_error(cmd);
}

int bad_value(const struct psharectl_cmd *cmd, const char *opt,
	      const char *val, const char *want)
{
	err_msg("%s: %s '%s': expected %s", cmd->name, opt, val, want);
	return EXIT_USAGE;
}

/*
 * getopt_long() answered ':' (an option without its argument) or '?' (an
 * unknown option). optopt holds the letter of a short option; for a known
 * long option glibc sets it to the option's value, so "--max" without its
 * argument is reported by that letter ('-M'), as psharectl always has. Only
 * an unknown long option leaves it 0; argv[optind - 1] names that one.
 */
static int bad_option(const struct psharectl_cmd *cmd, int c, char **argv)
{
	bool letter = optopt && optopt < 256;

	if (c == ':' && letter)
		err_msg("%s: option '-%c' needs an argument", cmd->name, optopt);
	else if (c == ':')
		err_msg("%s: option '%s' needs an argument", cmd->name,
			argv[optind - 1]);
	else if (letter)
		err_msg("%s: unknown option '-%c'", cmd->name, optopt);
	else
		err_msg("%s: unknown option '%s'", cmd->name, argv[optind - 1]);
	return usage_error(cmd);
}

/*
 * After the options, exactly @nargs arguments; @what names them ("FILE",
 * "FILE and DOMAIN"). Returns -1 to go on, else EXIT_USAGE.
 */
static int check_nargs(const struct psharectl_cmd *cmd, int argc, int nargs,
		       const char *what)
{
	char msg[128];

	if (argc - optind == nargs)
		return -1;
	if (!nargs)
		return wrong_args(cmd, "takes no arguments");
	snprintf(msg, sizeof(msg), "%s %s",
		 argc - optind < nargs ? "needs" : "takes only", what);
	return wrong_args(cmd, msg);
}

/**
 * parse_opts() - the options and argument count of a command
 * @cmd:	the command; its @longopts, @shortopts and @nargs say what
 *		it takes
 * @argc:	arguments, argv[0] being the command's name
 * @argv:	the arguments; getopt may reorder them, so that options can
 *		follow the arguments (psharectl policy FILE --max 2G)
 * @handle:	called for each option but --help; NULL when there is none
 * @data:	passed to @handle
 *
 * Return: -1 to go on, with optind at the first argument; otherwise the
 * exit status the command ends with (0 after --help, EXIT_USAGE for a bad
 * option or argument count, or what @handle returned).
 */
int parse_opts(const struct psharectl_cmd *cmd, int argc, char **argv,
	       opt_handler handle, void *data)
{
	struct option longopts[PSHARECTL_MAX_OPTS + 2];
	char shortopts[2 * PSHARECTL_MAX_OPTS + 3];
	const struct option *o;
	size_t n = 0;
	int c, rc;

	for (o = cmd->longopts; o && o->name; o++) {
		assert(n < PSHARECTL_MAX_OPTS);
		longopts[n++] = *o;
	}
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
	/* The leading ':' has a missing argument reported as ':'. */
	snprintf(shortopts, sizeof(shortopts), ":%sh",
		 cmd->shortopts ? cmd->shortopts : "");

	/* Our own messages, and a fresh scan for each command. */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == 'h') {
			cmd_help_text(cmd);
			return finish_output(EXIT_OK);
		}
		if (c == ':' || c == '?' || !handle)
			return bad_option(cmd, c, argv);
		rc = handle(cmd, c, optarg, data);
		if (rc >= 0)
			return rc;
	}
	if (cmd->nargs < 0)
		return -1;
	return check_nargs(cmd, argc, cmd->nargs, cmd->nargs_what);
}

/* The handler of the commands whose only option is --json (bool *data). */
int opt_json(const struct psharectl_cmd *cmd, int opt, const char *arg,
	     void *data)
{
	(void)cmd;
	(void)opt;
	(void)arg;
	*(bool *)data = true;
	return -1;
}
