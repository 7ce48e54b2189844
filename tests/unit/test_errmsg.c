// SPDX-License-Identifier: GPL-2.0
/*
 * Error messages: the reason libinterpose gives for each errno the kernel
 * returns, and the way interposectl prints them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "unit.h"
#include "libinterpose_internal.h"
#include "main.h"

static char buf[256];

static const char *attach_reason(int err, const struct ip_attach_ctx *ctx)
{
	static const struct ip_attach_ctx none;

	return ip_attach_reason(err, ctx ?: &none, buf, sizeof(buf));
}

static void test_attach_busy(void **state)
{
	struct ip_attach_ctx ctx = { .orig_attached = true };

	(void)state;
	assert_string_equal(attach_reason(EBUSY, &ctx), "already interposed");
	ctx.orig_failed = true;
	assert_string_equal(attach_reason(EBUSY, &ctx),
			    "already interposed (its interposer failed: a target went away; detach it first)");
	ctx = (struct ip_attach_ctx){ .busy_target = "/dev/nullb1" };
	assert_string_equal(attach_reason(EBUSY, &ctx),
			    "target /dev/nullb1 is busy (in exclusive use)");
	assert_string_equal(attach_reason(EBUSY, NULL),
			    "a target is busy (in exclusive use)");
}

static void test_attach_perm(void **state)
{
	(void)state;
	assert_string_equal(attach_reason(EPERM, NULL),
			    "permission denied (CAP_SYS_ADMIN required)");
}

static void test_attach_noent(void **state)
{
	struct ip_attach_ctx ctx = { .ops_name = "sampler" };

	(void)state;
	assert_string_equal(attach_reason(ENOENT, &ctx),
			    "ops sampler is not registered");
	assert_string_equal(attach_reason(ENOENT, NULL), "no such device");
}

static void test_attach_loop(void **state)
{
	struct ip_attach_ctx ctx = { .interposed_target = "/dev/nullb1" };

	(void)state;
	assert_string_equal(attach_reason(ELOOP, &ctx),
			    "target /dev/nullb1 is itself interposed");
	assert_string_equal(attach_reason(ELOOP, NULL),
			    "the original is a target of another interposer");
}

static void test_attach_unsupported(void **state)
{
	struct ip_attach_ctx ctx = { .unsupported = true };

	(void)state;
	assert_string_equal(attach_reason(ENOTTY, &ctx),
			    "kernel does not support block interposers (no CONFIG_BLK_INTERPOSER, no blk_interposer module loaded)");
	assert_string_equal(attach_reason(EINVAL, &ctx),
			    "kernel does not support block interposers (no CONFIG_BLK_INTERPOSER, no blk_interposer module loaded)");
	assert_string_equal(attach_reason(ENOTTY, NULL),
			    "kernel does not support block interposers (no CONFIG_BLK_INTERPOSER, no blk_interposer module loaded)");
	assert_string_equal(attach_reason(EINVAL, NULL),
			    "the kernel refused the targets or options");
}

static void test_attach_others(void **state)
{
	struct ip_attach_ctx ctx = { .gone_target = "/dev/nullb1" };

	(void)state;
	assert_string_equal(attach_reason(ENODEV, NULL), "device is going away");
	assert_string_equal(attach_reason(ENODEV, &ctx),
			    "target /dev/nullb1 went away");
	assert_string_equal(attach_reason(E2BIG, NULL),
			    "the kernel does not know an option that was given");
	assert_string_equal(attach_reason(EOPNOTSUPP, NULL),
			    "zoned devices and devices with integrity metadata cannot be interposed");
	ctx = (struct ip_attach_ctx){ .zoned = true };
	assert_string_equal(attach_reason(EOPNOTSUPP, &ctx),
			    "zoned devices cannot be interposed");
	ctx.integrity_dev = "/dev/nullb1";
	assert_string_equal(attach_reason(EOPNOTSUPP, &ctx),
			    "/dev/nullb1 has integrity metadata, which cannot follow a bio to another device");
	assert_string_equal(attach_reason(ENOTBLK, NULL),
			    "a target is not a block device");
	assert_string_equal(attach_reason(EBADF, NULL),
			    "the original is not open for writing, or a target is not an open block device");
	assert_string_equal(attach_reason(EIO, NULL), strerror(EIO));
}

static void test_detach_reasons(void **state)
{
	(void)state;
	assert_string_equal(ip_detach_reason(ENOENT, false), "not interposed");
	assert_string_equal(ip_detach_reason(EPERM, false),
			    "permission denied (CAP_SYS_ADMIN required)");
	assert_string_equal(ip_detach_reason(ENODEV, false),
			    "device is going away");
	assert_string_equal(ip_detach_reason(EINVAL, true),
			    "kernel does not support block interposers (no CONFIG_BLK_INTERPOSER, no blk_interposer module loaded)");
	assert_string_equal(ip_detach_reason(EINVAL, false),
			    "the kernel refused the options");
	assert_string_equal(ip_detach_reason(EIO, false), strerror(EIO));
}

static void test_resolve_reasons(void **state)
{
	(void)state;
	assert_string_equal(ip_resolve_reason(ENOENT), "no such device");
	assert_string_equal(ip_resolve_reason(ENOTBLK), "not a block device");
	assert_non_null(strstr(ip_resolve_reason(EINVAL), "MAJ:MIN"));
}

static void test_errno_names(void **state)
{
	static const struct {
		int err;
		const char *name;
	} used[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EBUSY, "EBUSY" },
		{ EINVAL, "EINVAL" }, { E2BIG, "E2BIG" }, { EBADF, "EBADF" },
		{ ENOTBLK, "ENOTBLK" }, { ELOOP, "ELOOP" }, { ENODEV, "ENODEV" },
		{ ENOTTY, "ENOTTY" }, { EACCES, "EACCES" }, { ENOMEM, "ENOMEM" },
		{ EROFS, "EROFS" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ ENAMETOOLONG, "ENAMETOOLONG" }, { ENXIO, "ENXIO" },
		/* not in the table of 29 the names once came from */
		{ ETIMEDOUT, "ETIMEDOUT" }, { ECANCELED, "ECANCELED" },
		{ EILSEQ, "EILSEQ" }, { EDQUOT, "EDQUOT" },
		{ EHWPOISON, "EHWPOISON" }, { EAGAIN, "EAGAIN" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(used) / sizeof(used[0]); i++)
		assert_string_equal(errno_name(used[i].err), used[i].name);
	assert_null(errno_name(9999));
	assert_null(errno_name(0));
	assert_null(errno_name(-EIO));
}

static void test_format_error(void **state)
{
	char out[256];

	(void)state;
	format_error(out, sizeof(out), "attach /dev/nullb0: already interposed",
		     EBUSY);
	assert_string_equal(out, "attach /dev/nullb0: already interposed (EBUSY)");
	format_error(out, sizeof(out), "x", 9999);
	assert_string_equal(out, "x (errno 9999)");
}

/* The whole path: a library failure as interposectl reports it. */
static void test_p_err_lib(void **state)
{
	json_object *obj, *val;
	char *err, *out;
	int ret, rc;

	(void)state;
	ret = interpose_detach("nosuchdev", NULL);
	assert_int_equal(ret, -ENOENT);

	json_output = false;
	capture_start(2);
	rc = p_err_lib(ret);
	err = capture_end(2);
	assert_int_equal(rc, 1);
	assert_string_equal(err, "interposectl: detach nosuchdev: no such device (ENOENT)\n");
	free(err);

	json_output = true;
	capture_start(1);
	capture_start(2);
	rc = p_err_lib(ret);
	err = capture_end(2);
	out = capture_end(1);
	json_output = false;
	assert_int_equal(rc, 1);
	assert_string_equal(err, "interposectl: detach nosuchdev: no such device (ENOENT)\n");
	obj = json_tokener_parse(out);
	assert_non_null(obj);
	assert_true(json_object_object_get_ex(obj, "error", &val));
	assert_string_equal(json_object_get_string(val),
			    "detach nosuchdev: no such device (ENOENT)");
	json_object_put(obj);
	free(err);
	free(out);
}

static void test_p_usage(void **state)
{
	char *err;
	int rc;

	(void)state;
	capture_start(2);
	rc = p_usage("attach", "missing DEV");
	err = capture_end(2);
	assert_int_equal(rc, EXIT_USAGE);
	assert_string_equal(err, "interposectl attach: missing DEV\n"
				 "Try 'interposectl attach -h' for help.\n");
	free(err);
}

int run_errmsg_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_busy),
		cmocka_unit_test(test_attach_perm),
		cmocka_unit_test(test_attach_noent),
		cmocka_unit_test(test_attach_loop),
		cmocka_unit_test(test_attach_unsupported),
		cmocka_unit_test(test_attach_others),
		cmocka_unit_test(test_detach_reasons),
		cmocka_unit_test(test_resolve_reasons),
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_format_error),
		cmocka_unit_test(test_p_err_lib),
		cmocka_unit_test(test_p_usage),
	};

	return RUN_GROUP("errmsg", tests, fake_setup, fake_teardown, total);
}
