// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl attach / detach.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "main.h"

void attach_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s attach DEV --to TARGET [--to TARGET]... [--ops NAME]\n"
		"\n"
		"Attach an interposer to the block device DEV.  Without --ops every\n"
		"bio of DEV is redirected to the first TARGET, which must be at least\n"
		"as large as DEV; with --ops the registered interposer ops NAME\n"
		"decides for each bio, and the targets are the devices it may use.\n"
		"DEV and TARGET: /dev/NAME, NAME or MAJ:MIN.\n"
		"\n"
		"Options:\n"
		"  -t, --to TARGET   a target device (up to 8, in order)\n"
		"  -o, --ops NAME    the interposer ops to attach\n"
		"  -h, --help        show this help\n",
		BIN_NAME);
}

void detach_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s detach DEV\n"
		"\n"
		"Detach the interposer of the block device DEV.  Bios already sent\n"
		"to a target complete there.\n"
		"\n"
		"Options:\n"
		"  -h, --help        show this help\n",
		BIN_NAME);
}

int attach_parse(int argc, char **argv, struct attach_args *a)
{
	static const struct option opts[] = {
		{ "to",   required_argument, NULL, 't' },
		{ "ops",  required_argument, NULL, 'o' },
		{ "help", no_argument,       NULL, 'h' },
		{ }
	};
	int c;

	memset(a, 0, sizeof(*a));
	/* Never more targets than arguments. */
	a->targets = calloc(argc, sizeof(*a->targets));
	if (!a->targets)
		return p_usage("attach", "out of memory");

	getopt_reset();
	while ((c = getopt_long(argc, argv, ":t:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			a->targets[a->nr_targets++] = optarg;
			break;
		case 'o':
			if (a->ops) {
				attach_args_free(a);
				return p_usage("attach", "--ops given twice");
			}
			a->ops = optarg;
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			attach_args_free(a);
			return p_bad_option("attach", c, argv);
		}
	}
	if (optind >= argc) {
		attach_args_free(a);
		return p_usage("attach", "missing DEV");
	}
	a->dev = argv[optind++];
	if (optind < argc) {
		const char *extra = argv[optind];

		attach_args_free(a);
		return p_usage("attach", "unexpected argument '%s'", extra);
	}
	return 0;
}

void attach_args_free(struct attach_args *a)
{
	free(a->targets);
	a->targets = NULL;
	a->nr_targets = 0;
}

int do_attach(int argc, char **argv)
{
	struct attach_args a;
	int err;

	if (attach_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		attach_usage(stdout);
		attach_args_free(&a);
		return 0;
	}

	LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
		.targets = a.targets,
		.nr_targets = a.nr_targets,
		.ops_name = a.ops,
	);
	err = interpose_attach(a.dev, &opts);
	attach_args_free(&a);
	if (err)
		return p_err_lib(err);
	if (json_output)
		print_json(NULL);
	return 0;
}

int detach_parse(int argc, char **argv, struct detach_args *a)
{
	return parse_dev_arg("detach", argc, argv, false, &a->dev, &a->help);
}

int do_detach(int argc, char **argv)
{
	struct detach_args a;
	int err;

	if (detach_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		detach_usage(stdout);
		return 0;
	}
	err = interpose_detach(a.dev, NULL);
	if (err)
		return p_err_lib(err);
	if (json_output)
		print_json(NULL);
	return 0;
}
