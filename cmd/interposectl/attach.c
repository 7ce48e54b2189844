// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl attach / detach / replace.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "main.h"

void attach_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s attach DEV --to TARGET [--to TARGET]...\n"
		"       %s attach DEV --ops NAME [--to TARGET]...\n"
		"       %s attach DEV --prog FILE.bpf.o [--ops NAME] [--to TARGET]... [--set VAR=VALUE]...\n"
		"       %s attach DEV --dm-table TABLE\n"
		"       %s attach DEV --observer {--ops NAME | --prog FILE.bpf.o [--set VAR=VALUE]...}\n"
		"\n"
		"Attach an interposer to the block device DEV.  With only targets every\n"
		"bio of DEV is redirected to the first TARGET, which must be at least as\n"
		"large as DEV.  With --ops the registered interposer ops NAME decides\n"
		"for each bio, and the targets are the devices it may use (none is fine).\n"
		"With --prog the BPF object FILE is loaded, its global variables set,\n"
		"registered under the name in the object (or NAME of --ops) and pinned\n"
		"below /sys/fs/bpf/interpose/DEV/ until detach.\n"
		"With --dm-table the device-mapper device interpose-DEV is created with\n"
		"TABLE (\"START LEN TYPE ARGS\" lines, separated by newlines or ';'),\n"
		"which must use DEV and cover all of it, even while a filesystem holds\n"
		"DEV; it takes only the bios DEV's interposer sends it, is attached as\n"
		"the target, and is removed by detach.  dmsetup reload/suspend/resume/\n"
		"status/message work on it as usual.\n"
		"With --observer the ops (or program) is attached beside DEV's policy,\n"
		"whether it has one or not: it sees every bio after the policy decided\n"
		"it, and its completion with that verdict, and cannot change it.  A\n"
		"device takes up to 8; detach --observer NAME removes one.  A program\n"
		"is pinned below /sys/fs/bpf/interpose/DEV@NAME/.\n"
		"DEV and TARGET: /dev/NAME, NAME or MAJ:MIN.\n"
		"\n"
		"Options:\n"
		"  -t, --to TARGET        a target device (up to 8, in order)\n"
		"  -o, --ops NAME         the interposer ops to attach (with --prog: the\n"
		"                         name to register the program under)\n"
		"  -P, --prog FILE        a BPF object with one blk_interposer_ops\n"
		"  -s, --set VAR=VALUE    set a global variable of FILE before loading it\n"
		"                         (integer, 0x hex, true/false, or a string)\n"
		"  -m, --dm-table TABLE   slide a device-mapper table under DEV\n"
		"  -O, --observer         attach as an observer, not as the policy\n"
		"  -h, --help             show this help\n"
		"  -j, -p, -d             global options, here as before COMMAND\n",
		BIN_NAME, BIN_NAME, BIN_NAME, BIN_NAME, BIN_NAME);
}

void replace_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s replace DEV --prog FILE.bpf.o [--set VAR=VALUE]...\n"
		"\n"
		"Replace the program of DEV, attached with --prog, by the one in FILE,\n"
		"atomically: each bio is seen by the old or the new program, on every\n"
		"device that uses its ops.  The new program is registered under the\n"
		"old one's name; its global variables start afresh.\n"
		"\n"
		"Options:\n"
		"  -P, --prog FILE        the new BPF object\n"
		"  -s, --set VAR=VALUE    set a global variable of FILE before loading it\n"
		"  -h, --help             show this help\n"
		"  -j, -p, -d             global options, here as before COMMAND\n",
		BIN_NAME);
}

void detach_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s detach DEV [--observer NAME]\n"
		"\n"
		"Detach the interposer of the block device DEV, its policy and every\n"
		"observer.  With --observer only the observer NAME goes, and its\n"
		"program if it was attached with --prog; the last observer of a\n"
		"device without a policy takes its interposer along.  Bios already sent\n"
		"to a target complete there.  A program attached with --prog is\n"
		"unloaded: its pins are removed and its ops unregistered.  The\n"
		"device-mapper device of --dm-table is removed; if it is open\n"
		"elsewhere, nothing is done (EBUSY).  A failed interposer (a target\n"
		"went away: every bio fails with EIO) is detached the same way, and\n"
		"only so.\n"
		"\n"
		"Options:\n"
		"  -O, --observer NAME  detach only this observer\n"
		"  -h, --help           show this help\n"
		"  -j, -p, -d           global options, here as before COMMAND\n",
		BIN_NAME);
}

/* An option that takes one value and was given before: a usage error. */
static int once(const char *cmd, const char *opt, const char **slot,
		const char *val)
{
	if (*slot)
		return p_usage(cmd, "%s given twice", opt);
	*slot = val;
	return 0;
}

/* --set VAR=VALUE: 0 and @arg appended to @vars, or a usage error. */
static int add_set(const char *cmd, const char *arg, const char **vars,
		   size_t *n)
{
	if (!strchr(arg, '=') || arg[0] == '=')
		return p_usage(cmd, "bad --set '%s' (expected VAR=VALUE)", arg);
	vars[(*n)++] = arg;
	return 0;
}

/* What follows the options: exactly DEV. */
static int one_dev(const char *cmd, int argc, char **argv, const char **devp)
{
	if (optind >= argc)
		return p_usage(cmd, "missing DEV");
	*devp = argv[optind++];
	if (optind < argc)
		return p_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return 0;
}

const struct option attach_longopts[] = {
	{ "to",   required_argument, NULL, 't' },
	{ "ops",  required_argument, NULL, 'o' },
	{ "prog", required_argument, NULL, 'P' },
	{ "set",  required_argument, NULL, 's' },
	{ "dm-table", required_argument, NULL, 'm' },
	{ "observer", no_argument,   NULL, 'O' },
	{ "help", no_argument,       NULL, 'h' },
	GLOBAL_LONGOPTS,
	{ }
};
const char attach_shortopts[] = ":t:o:P:s:m:Oh" GLOBAL_SHORTOPTS;

int attach_parse(int argc, char **argv, struct attach_args *a)
{
	const struct option *opts = attach_longopts;
	int c, err = 0;

	memset(a, 0, sizeof(*a));
	/* Never more targets or settings than arguments. */
	a->targets = calloc(argc, sizeof(*a->targets));
	a->vars = calloc(argc, sizeof(*a->vars));
	if (!a->targets || !a->vars) {
		attach_args_free(a);
		return p_usage("attach", "out of memory");
	}

	getopt_reset();
	while (!err && (c = getopt_long(argc, argv, attach_shortopts,
					opts, NULL)) != -1) {
		switch (c) {
		case 't':
			a->targets[a->nr_targets++] = optarg;
			break;
		case 'm':
			err = once("attach", "--dm-table", &a->dm_table, optarg);
			break;
		case 'o':
			err = once("attach", "--ops", &a->ops, optarg);
			break;
		case 'P':
			err = once("attach", "--prog", &a->prog, optarg);
			break;
		case 's':
			err = add_set("attach", optarg, a->vars, &a->nr_vars);
			break;
		case 'O':
			a->observer = true;
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			if (!global_opt(c))
				err = p_bad_option("attach", c, argv);
		}
	}
	if (!err)
		err = one_dev("attach", argc, argv, &a->dev);
	if (!err && a->observer && (a->nr_targets || a->dm_table))
		err = p_usage("attach", "an observer has no --to and no --dm-table");
	if (!err && a->observer && !a->ops && !a->prog)
		err = p_usage("attach", "--observer needs --ops NAME or --prog FILE");
	if (!err && a->nr_vars && !a->prog)
		err = p_usage("attach", "--set needs --prog");
	if (!err && a->dm_table && (a->nr_targets || a->ops || a->prog))
		err = p_usage("attach", "--dm-table cannot be combined with --to, --ops or --prog");
	if (err)
		attach_args_free(a);
	return err;
}

void attach_args_free(struct attach_args *a)
{
	free(a->targets);
	free(a->vars);
	a->targets = NULL;
	a->vars = NULL;
	a->nr_targets = 0;
	a->nr_vars = 0;
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
		.prog_path = a.prog,
		.set_vars = a.vars,
		.nr_set_vars = a.nr_vars,
		.dm_table = a.dm_table,
		.flags = a.observer ? INTERPOSE_ATTACH_OBSERVER : 0,
	);
	err = interpose_attach(a.dev, &opts);
	/* the record is the policy's, for apply */
	if (!err && !a.observer)
		record_save(a.dev, &a);
	attach_args_free(&a);
	if (err)
		return p_err_lib(err);
	if (json_output)
		print_json(NULL);
	return 0;
}

int replace_parse(int argc, char **argv, struct replace_args *a)
{
	static const struct option opts[] = {
		{ "prog", required_argument, NULL, 'P' },
		{ "set",  required_argument, NULL, 's' },
		{ "help", no_argument,       NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ }
	};
	int c, err = 0;

	memset(a, 0, sizeof(*a));
	a->vars = calloc(argc, sizeof(*a->vars));
	if (!a->vars)
		return p_usage("replace", "out of memory");

	getopt_reset();
	while (!err && (c = getopt_long(argc, argv,
					":P:s:h" GLOBAL_SHORTOPTS,
					opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			err = once("replace", "--prog", &a->prog, optarg);
			break;
		case 's':
			err = add_set("replace", optarg, a->vars, &a->nr_vars);
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			if (!global_opt(c))
				err = p_bad_option("replace", c, argv);
		}
	}
	if (!err)
		err = one_dev("replace", argc, argv, &a->dev);
	if (!err && !a->prog)
		err = p_usage("replace", "missing --prog FILE");
	if (err)
		replace_args_free(a);
	return err;
}

void replace_args_free(struct replace_args *a)
{
	free(a->vars);
	a->vars = NULL;
	a->nr_vars = 0;
}

int do_replace(int argc, char **argv)
{
	struct replace_args a;
	int err;

	if (replace_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		replace_usage(stdout);
		replace_args_free(&a);
		return 0;
	}
	LIBINTERPOSE_OPTS(interpose_replace_opts, opts,
		.prog_path = a.prog,
		.set_vars = a.vars,
		.nr_set_vars = a.nr_vars,
	);
	err = interpose_replace(a.dev, &opts);
	replace_args_free(&a);
	if (err)
		return p_err_lib(err);
	if (json_output)
		print_json(NULL);
	return 0;
}

int detach_parse(int argc, char **argv, struct detach_args *a)
{
	static const struct option opts[] = {
		{ "observer", required_argument, NULL, 'O' },
		{ "help",     no_argument,       NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ }
	};
	int c, err = 0;

	memset(a, 0, sizeof(*a));
	getopt_reset();
	while (!err && (c = getopt_long(argc, argv, ":O:h" GLOBAL_SHORTOPTS,
					opts, NULL)) != -1) {
		switch (c) {
		case 'O':
			err = once("detach", "--observer", &a->observer, optarg);
			if (!err && !optarg[0])
				err = p_usage("detach", "empty --observer name");
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			if (!global_opt(c))
				err = p_bad_option("detach", c, argv);
		}
	}
	if (!err)
		err = one_dev("detach", argc, argv, &a->dev);
	return err;
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
	LIBINTERPOSE_OPTS(interpose_detach_opts, opts,
		.observer = a.observer,
	);
	err = interpose_detach(a.dev, &opts);
	if (err)
		return p_err_lib(err);
	if (!a.observer)
		record_remove(a.dev);
	if (json_output)
		print_json(NULL);
	return 0;
}
