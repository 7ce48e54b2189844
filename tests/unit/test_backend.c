// SPDX-License-Identifier: GPL-2.0
/*
 * Backends: the library picks the blk_interposer module of a stock kernel
 * when it is loaded, else the kernel's own interposer, and refuses what
 * the module cannot do with a reason.  On the fake sysfs and /dev.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "libinterpose_internal.h"

static void module_loaded(bool loaded)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/module/blk_interposer",
		 getenv("INTERPOSE_SYSFS_ROOT"));
	if (loaded) {
		snprintf(path, sizeof(path), "%s/module", getenv("INTERPOSE_SYSFS_ROOT"));
		mkdir(path, 0755);
		strcat(path, "/blk_interposer");
		assert_int_equal(mkdir(path, 0755) == 0 || errno == EEXIST, 1);
	} else {
		rmdir(path);
	}
}

static void test_backend_choice(void **state)
{
	(void)state;
	module_loaded(false);
	assert_int_equal(interpose_backend(), INTERPOSE_BACKEND_KERNEL);
	module_loaded(true);
	assert_int_equal(interpose_backend(), INTERPOSE_BACKEND_MODULE);
	module_loaded(false);
	assert_int_equal(interpose_backend(), INTERPOSE_BACKEND_KERNEL);
	assert_string_equal(interpose_backend_name(INTERPOSE_BACKEND_KERNEL), "kernel");
	assert_string_equal(interpose_backend_name(INTERPOSE_BACKEND_MODULE), "module");
	assert_null(interpose_backend_name(0));
	assert_null(interpose_backend_name(3));
}

static void test_module_refusals(void **state)
{
	const char *devs[] = { "nullb0" }, *cows[] = { "nullb1" };
	LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
		.dm_table = "0 1024 linear /dev/nullb1 0",
	);

	(void)state;
	module_loaded(true);
	assert_int_equal(interpose_attach("nullb0", &opts), -EOPNOTSUPP);
	assert_string_equal(interpose_errmsg(),
			    "attach nullb0: a dm table needs a kernel with the interposer built in (CONFIG_BLK_INTERPOSER): with the blk_interposer module, a stock device-mapper cannot take a device's place");
	assert_int_equal(interpose_snapshot(devs, cows, 1, NULL), -EOPNOTSUPP);
	assert_non_null(strstr(interpose_errmsg(), "snapshot: a snapshot needs a kernel with the interposer built in"));
	module_loaded(false);
}

/*
 * The module without its control device (or a node that is no such
 * device): the kernel does not support interposers, it is not "not
 * interposed".
 */
static void test_module_no_control(void **state)
{
	struct interpose_info *info = NULL;
	char path[512];
	FILE *f;

	(void)state;
	module_loaded(true);
	assert_int_equal(interpose_query("nullb0", &info), -ENOTTY);
	assert_null(info);
	assert_non_null(strstr(interpose_errmsg(), "no blk_interposer module loaded"));
	snprintf(path, sizeof(path), "%s/blk-interposer", getenv("INTERPOSE_DEV_ROOT"));
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(interpose_query("nullb0", &info), -ENOTTY);
	assert_null(info);
	unlink(path);
	module_loaded(false);
}

int run_backend_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_choice),
		cmocka_unit_test(test_module_refusals),
		cmocka_unit_test(test_module_no_control),
	};

	return RUN_GROUP("backend", tests, fake_setup, fake_teardown, total);
}
