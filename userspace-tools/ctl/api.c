// SPDX-License-Identifier: GPL-2.0
/*
 * psharectl api: the API version and feature bits of the loaded module,
 * as PSHARE_IOC_API answers them.
 */
#include "psharectl.h"

static int cmd_api(const struct psharectl_cmd *cmd, int argc, char **argv)
{
	struct json_writer w;
	bool json = false;
	struct ctl c;
	int rc;

	rc = parse_opts(cmd, argc, argv, opt_json, &json);
	if (rc >= 0)
		return rc;

	if (ctl_open(&c, 0))
		return EXIT_ERR;
	ctl_close(&c);

	if (json) {
		jw_init(&w, stdout);
		jw_begin_object(&w);
		api_json(&w, &c.api);
		jw_end_object(&w);
	} else {
		print_api_text(&c.api);
	}
	return finish_output(EXIT_OK);
}

const struct psharectl_cmd psharectl_api_cmd = {
	.name = "api",
	.args = "[--json]",
	.summary = "API version and feature bits of the loaded module.",
	.help =
"\n"
"Issues PSHARE_IOC_API on /dev/pshare and prints the module's API version\n"
"and its PSHARE_FEATURE_* bits by name. Needs root.\n"
"\n"
"  -j, --json   one JSON object: api {version, features, feature_names}\n",
	.longopts = json_longopts,
	.shortopts = "j",
	.nargs = 0,
	.run = cmd_api,
};
