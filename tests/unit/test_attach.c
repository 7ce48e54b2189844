// SPDX-License-Identifier: GPL-2.0
/*
 * interpose_attach()/interpose_detach() up to the ioctl: options handling
 * and the checks made in userspace.  The fake tree has no device nodes, so
 * an attach that passes every check stops at opening the original
 * ("no device node"), which is how a passing check shows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"
#include "libinterpose_internal.h"

#define NODE_MISSING "cannot open: no device node"

static int attach(const char *dev, const char *ops, size_t n, ...)
{
	const char *targets[16];
	va_list ap;
	size_t i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		targets[i] = va_arg(ap, const char *);
	va_end(ap);
	LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
		.targets = targets,
		.nr_targets = n,
		.ops_name = ops,
	);
	return interpose_attach(dev, &opts);
}

static void expect_msg(const char *msg)
{
	assert_string_equal(interpose_errmsg(), msg);
}

static void test_no_target(void **state)
{
	(void)state;
	assert_int_equal(attach("nullb0", NULL, 0), -EINVAL);
	expect_msg("attach nullb0: no target given");
	assert_int_equal(errno, EINVAL);
	assert_int_equal(interpose_attach("nullb0", NULL), -EINVAL);
	expect_msg("attach nullb0: no target given");
	/* An empty ops name is a plain redirect too. */
	assert_int_equal(attach("nullb0", "", 0), -EINVAL);
	expect_msg("attach nullb0: no target given");
}

/* Null pointers where the library needs something (errors.md 59 to 61). */
static void test_null_arguments(void **state)
{
	struct interpose_info **infos;
	size_t cnt;

	(void)state;
	LIBINTERPOSE_OPTS(interpose_attach_opts, opts, .nr_targets = 2);
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	expect_msg("attach nullb0: nr_targets is 2 but targets is NULL");
	assert_int_equal(interpose_attach(NULL, &opts), -EINVAL);
	expect_msg("attach: no device given");
	assert_int_equal(interpose_detach(NULL, NULL), -EINVAL);
	expect_msg("detach: no device given");
	assert_int_equal(interpose_query("nullb0", NULL), -EINVAL);
	expect_msg("query: no result pointer given");
	assert_int_equal(interpose_list(NULL, &cnt), -EINVAL);
	assert_int_equal(interpose_list(&infos, NULL), -EINVAL);
	expect_msg("list: no result pointer given");
}

static void test_ops_without_target(void **state)
{
	(void)state;
	/* An ops may work without targets: the checks pass. */
	assert_int_equal(attach("nullb0", "myops", 0), -ENOENT);
	expect_msg("attach nullb0: " NODE_MISSING);
}

static void test_too_many_targets(void **state)
{
	(void)state;
	assert_int_equal(attach("nullb0", NULL, 9, "a", "b", "c", "d", "e", "f",
				"g", "h", "i"), -EINVAL);
	expect_msg("attach nullb0: too many targets (9, at most 8)");
}

static void test_target_is_original(void **state)
{
	(void)state;
	assert_int_equal(attach("nullb0", NULL, 1, "251:0"), -EINVAL);
	expect_msg("attach nullb0: target 251:0 is the original itself");
	assert_int_equal(attach("nullb0p1", "myops", 2, "nullb1", "nullb0p1"),
			 -EINVAL);
	expect_msg("attach nullb0p1: target nullb0p1 is the original itself");
}

static void test_duplicate_target(void **state)
{
	(void)state;
	assert_int_equal(attach("nullb0", NULL, 2, "nullb1", "nullb1"), -EINVAL);
	expect_msg("attach nullb0: target nullb1 is given twice");
	assert_int_equal(attach("nullb0", NULL, 3, "nullb1", "big4k", "252:0"),
			 -EINVAL);
	expect_msg("attach nullb0: targets nullb1 and 252:0 are the same device");
}

static void test_missing_target(void **state)
{
	(void)state;
	assert_int_equal(attach("nullb0", NULL, 2, "nullb1", "nosuchdev"),
			 -ENOENT);
	expect_msg("attach nullb0: target nosuchdev: no such device");
	assert_int_equal(attach("nullb0", NULL, 1, "nullc"), -ENOTBLK);
	expect_msg("attach nullb0: target nullc: not a block device");
	assert_int_equal(attach("nullb0", NULL, 1, "1:2:3"), -EINVAL);
	assert_int_equal(attach("nosuchdev", NULL, 1, "nullb1"), -ENOENT);
	expect_msg("attach nosuchdev: no such device");
}

static void test_overlap(void **state)
{
	(void)state;
	assert_int_equal(attach("nullb0p1", NULL, 1, "nullb0"), -EINVAL);
	expect_msg("attach nullb0p1: target nullb0 overlaps the original");
	assert_int_equal(attach("nullb0", "myops", 1, "nullb0p2"), -EINVAL);
	expect_msg("attach nullb0: target nullb0p2 overlaps the original");
	assert_int_equal(attach("nullb0p3", NULL, 1, "nullb0p2"), -EINVAL);
	expect_msg("attach nullb0p3: target nullb0p2 overlaps the original");
	/* A sibling partition that does not overlap is fine. */
	assert_int_equal(attach("nullb0p1", NULL, 1, "nullb0p2"), -ENOENT);
	expect_msg("attach nullb0p1: " NODE_MISSING);
}

static void test_smaller_target(void **state)
{
	(void)state;
	assert_int_equal(attach("nullb0", NULL, 1, "nullsmall"), -EINVAL);
	expect_msg("attach nullb0: target nullsmall is smaller than the original (16777216 < 67108864 bytes)");
	/* Only target 0 of a plain redirect must be as large. */
	assert_int_equal(attach("nullb0", NULL, 2, "nullb1", "nullsmall"),
			 -ENOENT);
	expect_msg("attach nullb0: " NODE_MISSING);
	assert_int_equal(attach("nullb0", "myops", 1, "nullsmall"), -ENOENT);
	expect_msg("attach nullb0: " NODE_MISSING);
}

static void test_block_size(void **state)
{
	(void)state;
	assert_int_equal(attach("nullb0", "myops", 1, "big4k"), -EINVAL);
	expect_msg("attach nullb0: target big4k has a larger logical block size (4096) than the original (512)");
	/* Smaller is fine. */
	assert_int_equal(attach("big4k", "myops", 1, "nullb0"), -ENOENT);
}

/* queue/dma_alignment is a mask: 511 for 512-byte alignment. */
static void test_dma_alignment(void **state)
{
	struct fake *f = *state;

	fake_attr(f, "nullb0", "queue/dma_alignment", "511");
	fake_attr(f, "nullb1", "queue/dma_alignment", "4095");
	assert_int_equal(attach("nullb0", "myops", 1, "nullb1"), -EINVAL);
	expect_msg("attach nullb0: target nullb1 has a larger DMA alignment (4096 bytes) than the original (512)");
	/* a partition has its disk's */
	assert_int_equal(attach("nullb0p1", NULL, 1, "nullb1"), -EINVAL);
	expect_msg("attach nullb0p1: target nullb1 has a larger DMA alignment (4096 bytes) than the original (512)");
	/* smaller or equal is fine */
	assert_int_equal(attach("nullb1", "myops", 1, "nullb0"), -ENOENT);
	expect_msg("attach nullb1: " NODE_MISSING);
	fake_attr(f, "nullb1", "queue/dma_alignment", "511");
	assert_int_equal(attach("nullb0", "myops", 1, "nullb1"), -ENOENT);
	expect_msg("attach nullb0: " NODE_MISSING);
}

/* integrity/format of a disk: "none", or a profile name. */
static void test_integrity(void **state)
{
	struct fake *f = *state;
	char dir[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/class/block/nullb1/integrity", f->sys);
	assert_true(!mkdir(dir, 0755) || errno == EEXIST);
	snprintf(dir, sizeof(dir), "%s/class/block/nullb0/integrity", f->sys);
	assert_true(!mkdir(dir, 0755) || errno == EEXIST);
	fake_attr(f, "nullb0", "integrity/format", "none");
	fake_attr(f, "nullb1", "integrity/format", "T10-DIF-TYPE1-CRC");
	assert_int_equal(attach("nullb0", NULL, 1, "nullb1"), -EOPNOTSUPP);
	expect_msg("attach nullb0: target nullb1 has integrity metadata, which cannot follow a bio to another device");
	assert_int_equal(attach("nullb1", "myops", 0), -EOPNOTSUPP);
	expect_msg("attach nullb1: it has integrity metadata, which cannot follow a bio to another device");
	fake_attr(f, "nullb1", "integrity/format", "none");
	fake_attr(f, "nullb0", "integrity/format", "T10-DIF-TYPE3-IP");
	/* a partition has its disk's */
	assert_int_equal(attach("nullb0p1", "myops", 1, "nullb1"), -EOPNOTSUPP);
	expect_msg("attach nullb0p1: it has integrity metadata, which cannot follow a bio to another device");
	fake_attr(f, "nullb0", "integrity/format", "none");
	assert_int_equal(attach("nullb0", NULL, 1, "nullb1"), -ENOENT);
	expect_msg("attach nullb0: " NODE_MISSING);
}

static void test_bad_ops_and_flags(void **state)
{
	(void)state;
	assert_int_equal(attach("nullb0", "a_name_that_is_far_too_long_for_it",
				1, "nullb1"), -EINVAL);
	expect_msg("attach nullb0: ops name a_name_that_is_far_too_long_for_it is too long (at most 31 characters)");

	LIBINTERPOSE_OPTS(interpose_attach_opts, opts, .ops_name = "x",
			  .flags = 4);
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	expect_msg("attach nullb0: unknown flags 0x4");
	opts.flags = INTERPOSE_ATTACH_CHECK | 0x100;
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	expect_msg("attach nullb0: unknown flags 0x100");
	opts.flags = 0;
	opts.nr_targets = 1;
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	expect_msg("attach nullb0: nr_targets is 1 but targets is NULL");
	assert_int_equal(interpose_attach(NULL, &opts), -EINVAL);
	expect_msg("attach: no device given");
}

/* An older caller's smaller structure: the fields past sz read as zero. */
static void test_opts_smaller(void **state)
{
	const char *targets[] = { "nullsmall" };
	struct interpose_attach_opts opts = {
		.targets = targets,
		.nr_targets = 1,
		.ops_name = "myops",
	};

	(void)state;
	opts.sz = offsetof(struct interpose_attach_opts, nr_targets);
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	expect_msg("attach nullb0: no target given");

	/* ops_name unknown: a plain redirect, whose size check applies. */
	opts.sz = offsetof(struct interpose_attach_opts, ops_name);
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(), "is smaller than the original"));

	opts.sz = sizeof(size_t) - 1;
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	expect_msg("attach nullb0: options size is too small");
}

/* A newer caller's larger structure: its unknown tail must be zero. */
static void test_opts_larger(void **state)
{
	const char *targets[] = { "nullb1" };
	struct {
		struct interpose_attach_opts opts;
		char tail[16];
	} big;
	struct {
		struct interpose_detach_opts opts;
		char tail[16];
	} dbig;

	(void)state;
	memset(&big, 0, sizeof(big));
	big.opts.sz = sizeof(big);
	big.opts.targets = targets;
	big.opts.nr_targets = 1;
	assert_int_equal(interpose_attach("nullb0", &big.opts), -ENOENT);
	expect_msg("attach nullb0: " NODE_MISSING);

	big.tail[7] = 1;
	assert_int_equal(interpose_attach("nullb0", &big.opts), -E2BIG);
	assert_int_equal(errno, E2BIG);
	expect_msg("attach nullb0: options have non-zero fields unknown to this library");

	memset(&dbig, 0, sizeof(dbig));
	dbig.opts.sz = sizeof(dbig);
	dbig.tail[15] = 1;
	assert_int_equal(interpose_detach("nullb0", &dbig.opts), -E2BIG);
	dbig.tail[15] = 0;
	assert_int_equal(interpose_detach("nullb0", &dbig.opts), -ENOENT);
}

static void test_opts_check(void **state)
{
	char buf[32] = { 0 };

	(void)state;
	assert_int_equal(ip_opts_check(buf, 16, 8), 0);
	assert_int_equal(ip_opts_check(buf, 16, 32), 0);
	assert_int_equal(ip_opts_check(buf, 16, 4), -EINVAL);
	buf[20] = 1;
	assert_int_equal(ip_opts_check(buf, 16, 32), -E2BIG);
	assert_int_equal(ip_opts_check(buf, 16, 20), 0);
	assert_int_equal(ip_opts_check(buf, 24, 32), 0);
}

static void test_detach(void **state)
{
	(void)state;
	assert_int_equal(interpose_detach("nullb0", NULL), -ENOENT);
	expect_msg("detach nullb0: " NODE_MISSING);
	assert_int_equal(interpose_detach("nosuchdev", NULL), -ENOENT);
	expect_msg("detach nosuchdev: no such device");
	assert_int_equal(interpose_detach("/dev/null", NULL), -ENOTBLK);
	expect_msg("detach /dev/null: not a block device");

	LIBINTERPOSE_OPTS(interpose_detach_opts, opts, .flags = 1);
	assert_int_equal(interpose_detach("nullb0", &opts), -EINVAL);
	expect_msg("detach nullb0: unknown flags 0x1");

	opts.flags = 0;
	opts.observer = "a_name_that_is_far_too_long_for_it";
	assert_int_equal(interpose_detach("nullb0", &opts), -EINVAL);
	expect_msg("detach nullb0: observer name a_name_that_is_far_too_long_for_it is too long (at most 31 characters)");
	opts.observer = "../x";
	assert_int_equal(interpose_detach("nullb0", &opts), -EINVAL);
	expect_msg("detach nullb0: ../x is not an ops name");
}

static void test_observer_opts(void **state)
{
	const char *targets[] = { "nullb1" };

	(void)state;
	LIBINTERPOSE_OPTS(interpose_attach_opts, opts, .ops_name = "trace",
			  .flags = INTERPOSE_ATTACH_OBSERVER,
			  .targets = targets, .nr_targets = 1);
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	expect_msg("attach nullb0: an observer has no targets and no dm table");
	opts.nr_targets = 0;
	opts.dm_table = "0 8 zero";
	opts.ops_name = NULL;
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	expect_msg("attach nullb0: an observer has no targets and no dm table");
	opts.dm_table = NULL;
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	expect_msg("attach nullb0: an observer needs an ops name or a program");
}

static enum interpose_print_level printed_level;
static char printed[512];

static int print_cb(enum interpose_print_level level, const char *fmt,
		    va_list ap)
{
	printed_level = level;
	return vsnprintf(printed, sizeof(printed), fmt, ap);
}

static void test_print_and_errmsg(void **state)
{
	dev_t dev;

	(void)state;
	/* Not INTERPOSE_WARN (0), the static's initial value. */
	printed_level = INTERPOSE_DEBUG;
	printed[0] = '\0';
	assert_null(interpose_set_print(print_cb));
	assert_int_equal(attach("nullb0", NULL, 0), -EINVAL);
	assert_int_equal(printed_level, INTERPOSE_WARN);
	assert_string_equal(printed, "attach nullb0: no target given\n");
	assert_ptr_equal(interpose_set_print(NULL), print_cb);

	/* A call that succeeds clears the message. */
	assert_int_equal(interpose_resolve_dev("nullb1", &dev, NULL, 0), 0);
	expect_msg("");
}

static void test_version(void **state)
{
	(void)state;
	assert_int_equal(libinterpose_major_version(), LIBINTERPOSE_MAJOR_VERSION);
	assert_int_equal(libinterpose_minor_version(), LIBINTERPOSE_MINOR_VERSION);
	assert_int_equal(libinterpose_major_version(), 0);
	assert_int_equal(libinterpose_minor_version(), 11);
	assert_string_equal(libinterpose_version_string(), "v0.11.0");
}

int run_attach_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_target),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_ops_without_target),
		cmocka_unit_test(test_too_many_targets),
		cmocka_unit_test(test_target_is_original),
		cmocka_unit_test(test_duplicate_target),
		cmocka_unit_test(test_missing_target),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_smaller_target),
		cmocka_unit_test(test_block_size),
		cmocka_unit_test(test_dma_alignment),
		cmocka_unit_test(test_integrity),
		cmocka_unit_test(test_bad_ops_and_flags),
		cmocka_unit_test(test_opts_smaller),
		cmocka_unit_test(test_opts_larger),
		cmocka_unit_test(test_opts_check),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_observer_opts),
		cmocka_unit_test(test_print_and_errmsg),
		cmocka_unit_test(test_version),
	};

	return RUN_GROUP("attach", tests, fake_setup, fake_teardown, total);
}
