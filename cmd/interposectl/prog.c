// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl var: a global variable of the program attached to a device
 * with --prog, read from its pinned data maps.
 *
 * Text: the value ("42", "-5", "true", "[1, 2]"; a string without quotes).
 * JSON: {"device": ..., "var": ..., "value": ...}.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "main.h"

void var_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s var DEV NAME\n"
		"\n"
		"Print the global variable NAME (.bss, .data or .rodata) of the program\n"
		"attached to DEV with --prog, as it is now: an integer, true/false, a\n"
		"string for a char array, [N, ...] for other arrays.\n"
		"\n"
		"Options:\n"
		"  -h, --help        show this help\n"
		"  -j, -p, -d        global options, here as before COMMAND\n",
		BIN_NAME);
}

int var_parse(int argc, char **argv, struct var_args *a)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ }
	};
	int c;

	memset(a, 0, sizeof(*a));
	getopt_reset();
	while ((c = getopt_long(argc, argv, ":h" GLOBAL_SHORTOPTS, opts,
				 NULL)) != -1) {
		if (global_opt(c))
			continue;
		if (c != 'h')
			return p_bad_option("var", c, argv);
		a->help = true;
		return 0;
	}
	if (optind >= argc)
		return p_usage("var", "missing DEV");
	a->dev = argv[optind++];
	if (optind >= argc)
		return p_usage("var", "missing NAME");
	a->name = argv[optind++];
	if (optind < argc)
		return p_usage("var", "unexpected argument '%s'", argv[optind]);
	return 0;
}

json_object *var_value_json(const char *fmt)
{
	return json_tokener_parse(fmt);
}

void var_value_text(FILE *f, const char *fmt)
{
	json_object *val = var_value_json(fmt);

	if (val && json_object_is_type(val, json_type_string))
		fprintf(f, "%s\n", json_object_get_string(val));
	else
		fprintf(f, "%s\n", fmt);
	json_object_put(val);
}

int do_var(int argc, char **argv)
{
	json_object *obj;
	struct var_args a;
	char buf[8192];
	int err;

	if (var_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		var_usage(stdout);
		return 0;
	}
	err = interpose_prog_var_fmt(a.dev, a.name, buf, sizeof(buf));
	if (err)
		return p_err_lib(err);
	if (!json_output) {
		var_value_text(stdout, buf);
		return 0;
	}
	obj = json_object_new_object();
	json_add_dev_arg(obj, a.dev);
	json_object_object_add(obj, "var", json_object_new_string(a.name));
	json_object_object_add(obj, "value", var_value_json(buf));
	print_json(obj);
	return 0;
}
