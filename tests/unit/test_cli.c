// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl argument parsing, without running any command.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "main.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ARGC(argv) ({ int __n = 0; while ((argv)[__n]) __n++; __n; })

/* Parse quietly: usage errors print on stderr. */
static int parse_attach(char **argv, struct attach_args *a)
{
	char *err;
	int ret;

	capture_start(2);
	ret = attach_parse(ARGC(argv), argv, a);
	err = capture_end(2);
	if (ret)
		assert_non_null(strstr(err, "Try 'interposectl attach -h'"));
	free(err);
	return ret;
}

static void test_attach_one_target(void **state)
{
	struct attach_args a;

	(void)state;
	assert_int_equal(parse_attach(ARGV("attach", "/dev/nullb0", "--to",
					   "/dev/nullb1"), &a), 0);
	assert_string_equal(a.dev, "/dev/nullb0");
	assert_int_equal(a.nr_targets, 1);
	assert_string_equal(a.targets[0], "/dev/nullb1");
	assert_null(a.ops);
	assert_false(a.help);
	attach_args_free(&a);
}

static void test_attach_targets_in_order(void **state)
{
	struct attach_args a;

	(void)state;
	assert_int_equal(parse_attach(ARGV("attach", "--to", "a", "-t", "b",
					   "--to=c", "nullb0", "--ops", "sampler"),
				      &a), 0);
	assert_string_equal(a.dev, "nullb0");
	assert_int_equal(a.nr_targets, 3);
	assert_string_equal(a.targets[0], "a");
	assert_string_equal(a.targets[1], "b");
	assert_string_equal(a.targets[2], "c");
	assert_string_equal(a.ops, "sampler");
	attach_args_free(&a);
}

static void test_attach_ops_only(void **state)
{
	struct attach_args a;

	(void)state;
	assert_int_equal(parse_attach(ARGV("attach", "251:0", "-o", "x"), &a), 0);
	assert_string_equal(a.dev, "251:0");
	assert_int_equal(a.nr_targets, 0);
	assert_string_equal(a.ops, "x");
	attach_args_free(&a);
}

static void test_attach_help(void **state)
{
	struct attach_args a;

	(void)state;
	assert_int_equal(parse_attach(ARGV("attach", "-h"), &a), 0);
	assert_true(a.help);
	attach_args_free(&a);
	assert_int_equal(parse_attach(ARGV("attach", "x", "--help"), &a), 0);
	assert_true(a.help);
	attach_args_free(&a);
}

static void test_attach_usage_errors(void **state)
{
	struct attach_args a;

	(void)state;
	assert_int_equal(parse_attach(ARGV("attach"), &a), EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "--to", "b"), &a), EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "a", "--to"), &a), EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "a", "b"), &a), EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "a", "--bogus"), &a), EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "a", "-x"), &a), EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "a", "--ops", "x", "--ops",
					   "y"), &a), EXIT_USAGE);
}

static void test_attach_error_text(void **state)
{
	struct attach_args a;
	char *err;
	int rc;

	(void)state;
	capture_start(2);
	rc = attach_parse(3, ARGV("attach", "a", "--bogus"), &a);
	err = capture_end(2);
	assert_int_equal(rc, EXIT_USAGE);
	assert_string_equal(err, "interposectl attach: unknown option '--bogus'\n"
				 "Try 'interposectl attach -h' for help.\n");
	free(err);
}

static void test_detach(void **state)
{
	struct detach_args a;
	int r[3];

	(void)state;
	assert_int_equal(detach_parse(2, ARGV("detach", "nullb0"), &a), 0);
	assert_string_equal(a.dev, "nullb0");
	assert_false(a.help);
	assert_int_equal(detach_parse(2, ARGV("detach", "-h"), &a), 0);
	assert_true(a.help);

	capture_start(2);
	r[0] = detach_parse(1, ARGV("detach"), &a);
	r[1] = detach_parse(3, ARGV("detach", "a", "b"), &a);
	r[2] = detach_parse(3, ARGV("detach", "a", "--to"), &a);
	free(capture_end(2));
	assert_int_equal(r[0], EXIT_USAGE);
	assert_int_equal(r[1], EXIT_USAGE);
	assert_int_equal(r[2], EXIT_USAGE);
}

static void test_show(void **state)
{
	struct show_args a = { .dev = "junk", .help = true };
	int r[2];

	(void)state;
	assert_int_equal(show_parse(1, ARGV("show"), &a), 0);
	assert_false(a.help);
	assert_null(a.dev);
	assert_int_equal(show_parse(2, ARGV("show", "251:0"), &a), 0);
	assert_string_equal(a.dev, "251:0");
	assert_int_equal(show_parse(2, ARGV("show", "--help"), &a), 0);
	assert_true(a.help);

	capture_start(2);
	r[0] = show_parse(3, ARGV("show", "a", "b"), &a);
	r[1] = show_parse(2, ARGV("show", "-x"), &a);
	free(capture_end(2));
	assert_int_equal(r[0], EXIT_USAGE);
	assert_int_equal(r[1], EXIT_USAGE);
}

/* -j, -p and -d after the command, as bpftool takes them */
static void test_global_options_anywhere(void **state)
{
	struct attach_args at;
	struct show_args a;
	struct var_args v;

	(void)state;
	json_output = pretty_output = false;
	assert_int_equal(show_parse(3, ARGV("show", "nullb0", "-j"), &a), 0);
	assert_string_equal(a.dev, "nullb0");
	assert_true(json_output);
	assert_false(pretty_output);

	json_output = false;
	assert_int_equal(attach_parse(6, ARGV("attach", "nullb0", "--to", "nullb1",
					       "--pretty", "-d"), &at), 0);
	assert_string_equal(at.dev, "nullb0");
	assert_int_equal(at.nr_targets, 1);
	assert_true(json_output);
	assert_true(pretty_output);
	assert_true(debug_output);
	attach_args_free(&at);

	json_output = pretty_output = debug_output = false;
	assert_int_equal(var_parse(4, ARGV("var", "--json", "nullb0", "x"), &v), 0);
	assert_string_equal(v.name, "x");
	assert_true(json_output);
	json_output = false;
	interpose_set_print(NULL);
}

static void test_command_help(void **state)
{
	char *out;
	int r[4];

	(void)state;
	capture_start(1);
	r[0] = do_attach(2, ARGV("attach", "-h"));
	r[1] = do_detach(2, ARGV("detach", "-h"));
	r[2] = do_show(2, ARGV("show", "-h"));
	out = capture_end(1);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 0);
	assert_int_equal(r[2], 0);
	assert_non_null(strstr(out, "Usage: interposectl attach DEV --to TARGET"));
	assert_non_null(strstr(out, "Usage: interposectl detach DEV"));
	assert_non_null(strstr(out, "Usage: interposectl show [DEV]"));
	free(out);

	capture_start(2);
	r[3] = do_detach(1, ARGV("detach"));
	free(capture_end(2));
	assert_int_equal(r[3], EXIT_USAGE);
}

static void test_attach_prog(void **state)
{
	struct attach_args a;

	(void)state;
	assert_int_equal(parse_attach(ARGV("attach", "nullb0", "--prog",
					   "build/tests/bpf/verdict.bpf.o",
					   "--to", "nullb1", "-t", "nullb2",
					   "--set", "mode=1", "-s", "split=0x800",
					   "--set=error=-5"), &a), 0);
	assert_string_equal(a.dev, "nullb0");
	assert_string_equal(a.prog, "build/tests/bpf/verdict.bpf.o");
	assert_int_equal(a.nr_targets, 2);
	assert_string_equal(a.targets[1], "nullb2");
	assert_int_equal(a.nr_vars, 3);
	assert_string_equal(a.vars[0], "mode=1");
	assert_string_equal(a.vars[1], "split=0x800");
	assert_string_equal(a.vars[2], "error=-5");
	assert_null(a.ops);
	attach_args_free(&a);
	assert_null(a.vars);
	assert_int_equal(a.nr_vars, 0);

	/* No target; a name to register under; -P short. */
	assert_int_equal(parse_attach(ARGV("attach", "-P", "x.bpf.o", "--ops",
					   "mine", "nullb0"), &a), 0);
	assert_string_equal(a.prog, "x.bpf.o");
	assert_string_equal(a.ops, "mine");
	assert_int_equal(a.nr_targets, 0);
	assert_int_equal(a.nr_vars, 0);
	attach_args_free(&a);

	/* A string value may hold '=' itself. */
	assert_int_equal(parse_attach(ARGV("attach", "d", "--prog", "p",
					   "--set", "label=a=b"), &a), 0);
	assert_string_equal(a.vars[0], "label=a=b");
	attach_args_free(&a);
}

static void test_attach_prog_usage_errors(void **state)
{
	struct attach_args a;
	char *err;
	int rc;

	(void)state;
	assert_int_equal(parse_attach(ARGV("attach", "d", "--set", "mode=1"), &a),
			 EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "d", "--prog", "a",
					   "--prog", "b"), &a), EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "d", "--prog"), &a),
			 EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "d", "--prog", "p",
					   "--set", "mode"), &a), EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "d", "--prog", "p",
					   "--set", "=1"), &a), EXIT_USAGE);
	assert_int_equal(parse_attach(ARGV("attach", "--prog", "p"), &a),
			 EXIT_USAGE);

	capture_start(2);
	rc = attach_parse(4, ARGV("attach", "d", "--set", "mode=1"), &a);
	err = capture_end(2);
	assert_int_equal(rc, EXIT_USAGE);
	assert_string_equal(err, "interposectl attach: --set needs --prog\n"
				 "Try 'interposectl attach -h' for help.\n");
	free(err);
	capture_start(2);
	rc = attach_parse(6, ARGV("attach", "d", "--prog", "p", "--set", "x"), &a);
	err = capture_end(2);
	assert_int_equal(rc, EXIT_USAGE);
	assert_string_equal(err, "interposectl attach: bad --set 'x' (expected VAR=VALUE)\n"
				 "Try 'interposectl attach -h' for help.\n");
	free(err);
}

static int parse_replace(char **argv, struct replace_args *a)
{
	char *err;
	int ret;

	capture_start(2);
	ret = replace_parse(ARGC(argv), argv, a);
	err = capture_end(2);
	if (ret)
		assert_non_null(strstr(err, "Try 'interposectl replace -h'"));
	free(err);
	return ret;
}

static void test_replace(void **state)
{
	struct replace_args a;

	(void)state;
	assert_int_equal(parse_replace(ARGV("replace", "nullb0", "--prog", "v.o",
					    "--set", "mode=2", "-s", "split=8"),
				       &a), 0);
	assert_string_equal(a.dev, "nullb0");
	assert_string_equal(a.prog, "v.o");
	assert_int_equal(a.nr_vars, 2);
	assert_string_equal(a.vars[0], "mode=2");
	assert_string_equal(a.vars[1], "split=8");
	replace_args_free(&a);

	assert_int_equal(parse_replace(ARGV("replace", "-h"), &a), 0);
	assert_true(a.help);
	replace_args_free(&a);

	assert_int_equal(parse_replace(ARGV("replace", "nullb0"), &a), EXIT_USAGE);
	assert_int_equal(parse_replace(ARGV("replace", "--prog", "v.o"), &a),
			 EXIT_USAGE);
	assert_int_equal(parse_replace(ARGV("replace", "a", "b", "--prog", "v"),
				       &a), EXIT_USAGE);
	assert_int_equal(parse_replace(ARGV("replace", "a", "--to", "b",
					    "--prog", "v"), &a), EXIT_USAGE);
	assert_int_equal(parse_replace(ARGV("replace", "a", "--prog", "v",
					    "--set", "novalue"), &a), EXIT_USAGE);
	assert_int_equal(parse_replace(ARGV("replace", "a", "--prog", "v",
					    "--prog", "w"), &a), EXIT_USAGE);
}

static void test_replace_error_text(void **state)
{
	struct replace_args a;
	char *err;
	int rc;

	(void)state;
	capture_start(2);
	rc = replace_parse(2, ARGV("replace", "nullb0"), &a);
	err = capture_end(2);
	assert_int_equal(rc, EXIT_USAGE);
	assert_string_equal(err, "interposectl replace: missing --prog FILE\n"
				 "Try 'interposectl replace -h' for help.\n");
	free(err);
}

static void test_ops_stats_var(void **state)
{
	struct ops_args o;
	struct stats_args st;
	struct var_args v;
	int r[7];

	(void)state;
	assert_int_equal(ops_parse(1, ARGV("ops"), &o), 0);
	assert_false(o.help);
	assert_int_equal(ops_parse(2, ARGV("ops", "-h"), &o), 0);
	assert_true(o.help);
	assert_int_equal(stats_parse(2, ARGV("stats", "nullb0"), &st), 0);
	assert_string_equal(st.dev, "nullb0");
	assert_int_equal(var_parse(3, ARGV("var", "nullb0", "submitted"), &v), 0);
	assert_string_equal(v.dev, "nullb0");
	assert_string_equal(v.name, "submitted");
	assert_false(v.help);
	assert_int_equal(var_parse(2, ARGV("var", "--help"), &v), 0);
	assert_true(v.help);

	capture_start(2);
	r[0] = ops_parse(2, ARGV("ops", "nullb0"), &o);
	r[1] = ops_parse(2, ARGV("ops", "--bogus"), &o);
	r[2] = stats_parse(1, ARGV("stats"), &st);
	r[3] = stats_parse(3, ARGV("stats", "a", "b"), &st);
	r[4] = var_parse(2, ARGV("var", "nullb0"), &v);
	r[5] = var_parse(4, ARGV("var", "a", "b", "c"), &v);
	r[6] = var_parse(1, ARGV("var"), &v);
	free(capture_end(2));
	for (size_t i = 0; i < ARRAY_SIZE(r); i++)
		assert_int_equal(r[i], EXIT_USAGE);
}

static void test_new_command_help(void **state)
{
	char *out;
	int r[4];

	(void)state;
	capture_start(1);
	r[0] = do_replace(2, ARGV("replace", "-h"));
	r[1] = do_ops(2, ARGV("ops", "-h"));
	r[2] = do_stats(2, ARGV("stats", "-h"));
	r[3] = do_var(2, ARGV("var", "-h"));
	out = capture_end(1);
	for (size_t i = 0; i < ARRAY_SIZE(r); i++)
		assert_int_equal(r[i], 0);
	assert_non_null(strstr(out, "Usage: interposectl replace DEV --prog FILE.bpf.o"));
	assert_non_null(strstr(out, "Usage: interposectl ops\n"));
	assert_non_null(strstr(out, "Usage: interposectl stats DEV\n"));
	assert_non_null(strstr(out, "Usage: interposectl var DEV NAME\n"));
	free(out);

	capture_start(1);
	r[0] = do_attach(2, ARGV("attach", "-h"));
	out = capture_end(1);
	assert_int_equal(r[0], 0);
	assert_non_null(strstr(out, "attach DEV --prog FILE.bpf.o"));
	assert_non_null(strstr(out, "--set VAR=VALUE"));
	free(out);
}

/* Errors found by interposectl itself look like the library's. */
static void test_p_err(void **state)
{
	char *err;
	int rc;

	(void)state;
	capture_start(2);
	rc = p_err(ENOENT, "stats %s: not interposed", "/dev/nullb0");
	err = capture_end(2);
	assert_int_equal(rc, 1);
	assert_string_equal(err, "interposectl: stats /dev/nullb0: not interposed (ENOENT)\n");
	free(err);
}

int run_cli_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_prog),
		cmocka_unit_test(test_attach_prog_usage_errors),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_replace_error_text),
		cmocka_unit_test(test_ops_stats_var),
		cmocka_unit_test(test_new_command_help),
		cmocka_unit_test(test_p_err),
		cmocka_unit_test(test_attach_one_target),
		cmocka_unit_test(test_attach_targets_in_order),
		cmocka_unit_test(test_attach_ops_only),
		cmocka_unit_test(test_attach_help),
		cmocka_unit_test(test_attach_usage_errors),
		cmocka_unit_test(test_attach_error_text),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_global_options_anywhere),
		cmocka_unit_test(test_command_help),
	};

	return RUN_GROUP("cli", tests, NULL, NULL, total);
}
