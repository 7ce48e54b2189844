// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl argument parsing, without running any command.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "main.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
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
	struct show_args a;
	int r[2];

	(void)state;
	assert_int_equal(show_parse(1, ARGV("show"), &a), 0);
	assert_null(a.dev);
	assert_int_equal(show_parse(2, ARGV("show", "251:0"), &a), 0);
	assert_string_equal(a.dev, "251:0");
	assert_int_equal(show_parse(2, ARGV("show", "--help"), &a), 0);
	assert_true(a.help);

	capture_start(2);
	r[0] = show_parse(3, ARGV("show", "a", "b"), &a);
	r[1] = show_parse(2, ARGV("show", "-j"), &a);
	free(capture_end(2));
	assert_int_equal(r[0], EXIT_USAGE);
	assert_int_equal(r[1], EXIT_USAGE);
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

int run_cli_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_one_target),
		cmocka_unit_test(test_attach_targets_in_order),
		cmocka_unit_test(test_attach_ops_only),
		cmocka_unit_test(test_attach_help),
		cmocka_unit_test(test_attach_usage_errors),
		cmocka_unit_test(test_attach_error_text),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_command_help),
	};

	return RUN_GROUP("cli", tests, NULL, NULL, total);
}
