// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl: attach, detach and show block device interposers, and the
 * BPF programs that decide for them.
 *
 * Global options come before the command or among its own options; each
 * command parses its own (attach.c: attach, detach, replace; show.c: show,
 * stats; ops.c: ops; prog.c: var; trace.c: trace, hist; cbt.c: cbt;
 * snapshot.c: snapshot; tab.c: apply, save), calls libinterpose and
 * prints.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "main.h"

#define __STR(x) #x
#define STR(x) __STR(x)
/* The version of the libinterpose it is built with: one version for both. */
#define INTERPOSECTL_VERSION "v" STR(LIBINTERPOSE_MAJOR_VERSION) "." \
	STR(LIBINTERPOSE_MINOR_VERSION) "." STR(LIBINTERPOSE_PATCH_VERSION)

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "attach",  do_attach },
	{ "detach",  do_detach },
	{ "replace", do_replace },
	{ "show",    do_show },
	{ "stats",   do_stats },
	{ "ops",     do_ops },
	{ "var",     do_var },
	{ "trace",   do_trace },
	{ "hist",    do_hist },
	{ "cbt",     do_cbt },
	{ "snapshot", do_snapshot },
	{ "apply",   do_apply },
	{ "save",    do_save },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %1$s [OPTIONS] COMMAND [ARGS]\n"
		"       %1$s attach DEV --to TARGET [--to TARGET]...\n"
		"       %1$s attach DEV --ops NAME [--to TARGET]...\n"
		"       %1$s attach DEV --prog FILE.bpf.o [--ops NAME] [--to TARGET]... [--set VAR=VALUE]...\n"
		"       %1$s attach DEV --dm-table TABLE\n"
		"       %1$s replace DEV --prog FILE.bpf.o [--set VAR=VALUE]...\n"
		"       %1$s detach DEV\n"
		"       %1$s show [DEV]\n"
		"       %1$s stats DEV\n"
		"       %1$s ops\n"
		"       %1$s var DEV NAME\n"
		"       %1$s trace DEV [--filter EXPR] [--duration S] [--count N]\n"
		"       %1$s hist DEV [--interval S [--count N]]\n"
		"       %1$s cbt DEV --start [--block-size SIZE] | DEV [--reset] | DEV --stop\n"
		"       %1$s snapshot DEV [DEV]... --cow COW [--cow COW]... [--chunk SIZE] [--name NAME]...\n"
		"       %1$s apply [FILE] [--check] [--prune] [--device DEV]\n"
		"       %1$s save\n"
		"       %1$s help\n"
		"\n"
		"DEV and TARGET name a block device: /dev/NAME, NAME or MAJ:MIN.\n"
		"'%1$s COMMAND -h' or '%1$s COMMAND help' shows the help of a command.\n"
		"\n"
		"Options (before COMMAND or among its options):\n"
		"  -j, --json      JSON output\n"
		"  -p, --pretty    pretty-printed JSON output (implies -j)\n"
		"  -d, --debug     print libinterpose's (and libbpf's) messages on stderr\n"
		"  -h, --help      show this help\n"
		"  -V, --version   show the version\n",
		BIN_NAME);
}

static void version(void)
{
	json_object *obj;

	if (!json_output) {
		printf("%s %s (libinterpose %s)\n", BIN_NAME,
		       INTERPOSECTL_VERSION, libinterpose_version_string());
		return;
	}
	obj = json_object_new_object();
	json_object_object_add(obj, "version",
			       json_object_new_string(INTERPOSECTL_VERSION));
	json_object_object_add(obj, "libinterpose", json_object_new_string(
		libinterpose_version_string()));
	print_json(obj);
}

/*
 * libbpf is linked in statically: its print callback is ours to set
 * (libinterpose never sets it), so its messages are printed with -d only,
 * like libinterpose's, never by libbpf's default printer.
 */
static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	return debug_output ? print_debug(INTERPOSE_DEBUG, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help",    no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		GLOBAL_LONGOPTS,
		{ }
	};
	static char help_opt[] = "-h";
	bool help = false, show_version = false;
	const char *base;
	size_t i;
	int c;

	/* installed as a systemd generator: a link by that name */
	base = strrchr(argv[0], '/');
	if (!strcmp(base ? base + 1 : argv[0], "interpose-generator"))
		return generator_main(argc, argv);
	libbpf_set_print(print_libbpf);
	getopt_reset();
	/* "+": stop at the command, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+:hV" GLOBAL_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help = true;
			break;
		case 'V':
			show_version = true;
			break;
		default:
			if (!global_opt(c))
				return p_bad_option(NULL, c, argv);
		}
	}
	if (help) {
		usage(stdout);
		return 0;
	}
	if (show_version) {
		version();
		return 0;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return p_usage(NULL, "missing command");
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return 0;
	}
	/* "COMMAND help" is "COMMAND -h", as in bpftool */
	if (argc == 2 && !strcmp(argv[1], "help"))
		argv[1] = help_opt;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[0], cmds[i].name))
			return cmds[i].fn(argc, argv);
	return p_usage(NULL, "unknown command '%s'", argv[0]);
}
