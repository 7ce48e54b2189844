// SPDX-License-Identifier: GPL-2.0
/*
 * Device name resolution (/dev/NAME, NAME, MAJ:MIN) and sysfs geometry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "unit.h"
#include "libinterpose_internal.h"

static void expect_resolve_err(const char *name, int err)
{
	char path[PATH_MAX];
	dev_t dev = 0;

	assert_int_equal(interpose_resolve_dev(name, &dev, path, sizeof(path)),
			 -err);
	assert_int_equal(errno, err);
}

static void test_majmin_without_node(void **state)
{
	char path[PATH_MAX] = "junk";
	dev_t dev = 0;

	(void)state;
	assert_int_equal(interpose_resolve_dev("252:0", &dev, path,
					       sizeof(path)), 0);
	assert_int_equal(dev, makedev(252, 0));
	assert_string_equal(path, "");
	assert_string_equal(interpose_errmsg(), "");
}

static void test_majmin_with_node(void **state)
{
	struct fake *f = *state;
	char path[PATH_MAX];
	dev_t dev = 0;

	if (!fake_mknod(f, "nullb0", 251, 0))
		unit_skip("mknod not permitted");
	assert_int_equal(interpose_resolve_dev("251:0", &dev, path,
					       sizeof(path)), 0);
	fake_unlink_node(f, "nullb0");
	assert_int_equal(dev, makedev(251, 0));
	assert_string_equal(path, fake_dev_path(f, "nullb0"));
}

/* A node named like the device but for another device does not count. */
static void test_majmin_foreign_node(void **state)
{
	struct fake *f = *state;
	char path[PATH_MAX];
	dev_t dev = 0;

	if (!fake_mknod(f, "nullb1", 9, 9))
		unit_skip("mknod not permitted");
	assert_int_equal(interpose_resolve_dev("252:0", &dev, path,
					       sizeof(path)), 0);
	fake_unlink_node(f, "nullb1");
	assert_int_equal(dev, makedev(252, 0));
	assert_string_equal(path, "");
}

static void test_majmin_unknown(void **state)
{
	(void)state;
	expect_resolve_err("251:99", ENOENT);
	assert_string_equal(interpose_errmsg(), "resolve 251:99: no such device");
}

static void test_majmin_malformed(void **state)
{
	static const char *const bad[] = {
		"251:", ":0", "x:0", "251:x", "1:2:3", "251:0x", "251: 0",
		"-1:0", "4096:0", "0:1048576", "99999999999999999999:0",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_resolve_err(bad[i], EINVAL);
	assert_non_null(strstr(interpose_errmsg(), "MAJ:MIN"));
}

static void test_name_via_sysfs(void **state)
{
	char path[PATH_MAX] = "junk";
	dev_t dev = 0;

	(void)state;
	assert_int_equal(interpose_resolve_dev("nullb0p2", &dev, path,
					       sizeof(path)), 0);
	assert_int_equal(dev, makedev(251, 2));
	assert_string_equal(path, "");
}

static void test_name_with_node(void **state)
{
	struct fake *f = *state;
	char path[PATH_MAX];
	dev_t dev = 0;

	if (!fake_mknod(f, "nullb1", 252, 0))
		unit_skip("mknod not permitted");
	assert_int_equal(interpose_resolve_dev("nullb1", &dev, path,
					       sizeof(path)), 0);
	assert_int_equal(dev, makedev(252, 0));
	assert_string_equal(path, fake_dev_path(f, "nullb1"));

	/* The node's path as given, and a buffer too small for it. */
	dev = 0;
	assert_int_equal(interpose_resolve_dev(fake_dev_path(f, "nullb1"), &dev,
					       NULL, 0), 0);
	assert_int_equal(dev, makedev(252, 0));
	assert_int_equal(interpose_resolve_dev("nullb1", &dev, path, 4),
			 -ENAMETOOLONG);
	fake_unlink_node(f, "nullb1");
}

static void test_name_missing(void **state)
{
	(void)state;
	expect_resolve_err("nosuchdev", ENOENT);
	assert_string_equal(interpose_errmsg(),
			    "resolve nosuchdev: no such device");
	expect_resolve_err("mapper/nosuchdev", ENOENT);
}

static void test_name_not_block(void **state)
{
	(void)state;
	/* dev/nullc is a symlink to /dev/null, a character device. */
	expect_resolve_err("nullc", ENOTBLK);
	assert_string_equal(interpose_errmsg(),
			    "resolve nullc: not a block device");
	expect_resolve_err("regular", ENOTBLK);
}

static void test_path_not_block(void **state)
{
	struct fake *f = *state;

	expect_resolve_err("/dev/null", ENOTBLK);
	expect_resolve_err(fake_dev_path(f, "regular"), ENOTBLK);
	expect_resolve_err(f->dev, ENOTBLK);
}

static void test_path_missing(void **state)
{
	struct fake *f = *state;

	expect_resolve_err(fake_dev_path(f, "nosuchdev"), ENOENT);
	expect_resolve_err(fake_dev_path(f, "regular/below"), ENOENT);
}

static void test_empty_name(void **state)
{
	dev_t dev;

	(void)state;
	expect_resolve_err("", EINVAL);
	assert_int_equal(interpose_resolve_dev(NULL, &dev, NULL, 0), -EINVAL);
}

static void test_dev_name(void **state)
{
	char name[64];

	(void)state;
	ip_dev_name(makedev(251, 1), name, sizeof(name));
	assert_string_equal(name, "nullb0p1");
	ip_dev_name(makedev(7, 7), name, sizeof(name));
	assert_string_equal(name, "");
}

/* Each call gets a poisoned @g: no value is left over from the one before. */
static void test_geom(void **state)
{
	struct ip_geom g;

	(void)state;
	memset(&g, 0xa5, sizeof(g));
	assert_int_equal(ip_geom(makedev(251, 0), &g), 0);
	assert_false(g.partition);
	assert_int_equal(g.disk, makedev(251, 0));
	assert_int_equal(g.nr_sectors, 131072);
	assert_int_equal(g.lbs, 512);

	memset(&g, 0xa5, sizeof(g));
	assert_int_equal(ip_geom(makedev(251, 2), &g), 0);
	assert_true(g.partition);
	assert_int_equal(g.disk, makedev(251, 0));
	assert_int_equal(g.start, 34816);
	assert_int_equal(g.nr_sectors, 32768);
	assert_int_equal(g.lbs, 512);

	memset(&g, 0xa5, sizeof(g));
	assert_int_equal(ip_geom(makedev(250, 0), &g), 0);
	assert_int_equal(g.lbs, 4096);
	assert_int_equal(ip_geom(makedev(7, 7), &g), -ENOENT);
}

static void test_overlap(void **state)
{
	struct ip_geom disk, p1, p2, p3, other;

	(void)state;
	assert_int_equal(ip_geom(makedev(251, 0), &disk), 0);
	assert_int_equal(ip_geom(makedev(251, 1), &p1), 0);
	assert_int_equal(ip_geom(makedev(251, 2), &p2), 0);
	assert_int_equal(ip_geom(makedev(251, 3), &p3), 0);
	assert_int_equal(ip_geom(makedev(252, 0), &other), 0);
	assert_true(ip_geom_overlap(&disk, &p1));
	assert_true(ip_geom_overlap(&p1, &disk));
	assert_false(ip_geom_overlap(&p1, &p2));
	assert_true(ip_geom_overlap(&p2, &p3));
	assert_true(ip_geom_overlap(&p3, &p2));
	assert_false(ip_geom_overlap(&p1, &p3));
	assert_false(ip_geom_overlap(&disk, &other));
}

int run_resolve_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_majmin_without_node),
		cmocka_unit_test(test_majmin_with_node),
		cmocka_unit_test(test_majmin_foreign_node),
		cmocka_unit_test(test_majmin_unknown),
		cmocka_unit_test(test_majmin_malformed),
		cmocka_unit_test(test_name_via_sysfs),
		cmocka_unit_test(test_name_with_node),
		cmocka_unit_test(test_name_missing),
		cmocka_unit_test(test_name_not_block),
		cmocka_unit_test(test_path_not_block),
		cmocka_unit_test(test_path_missing),
		cmocka_unit_test(test_empty_name),
		cmocka_unit_test(test_dev_name),
		cmocka_unit_test(test_geom),
		cmocka_unit_test(test_overlap),
	};

	return RUN_GROUP("resolve", tests, fake_setup, fake_teardown, total);
}
