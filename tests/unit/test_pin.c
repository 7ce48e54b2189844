// SPDX-License-Identifier: GPL-2.0
/*
 * The pins of a program attached from an object (paths, names, removal,
 * on a plain directory standing in for bpffs), the devices that use an
 * ops (fake sysfs), and the output of interposectl ops, stats and var.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <json-c/json.h>

#include "unit.h"
#include "libinterpose_internal.h"
#include "main.h"

static void touch(const char *dir, const char *name)
{
	char path[2 * PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static void test_pin_paths(void **state)
{
	struct fake *f = *state;
	char buf[PATH_MAX], want[2 * PATH_MAX];
	struct ip_dev d = { .dev = makedev(251, 0), .name = "nullb0" };

	assert_int_equal(ip_pin_path("nullb0", "link", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/interpose/nullb0/link", f->bpffs);
	assert_string_equal(buf, want);
	assert_int_equal(ip_pin_path("nullb0", NULL, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/interpose/nullb0", f->bpffs);
	assert_string_equal(buf, want);
	assert_int_equal(ip_pin_path("nullb0", "link", buf, 8), -ENAMETOOLONG);

	ip_pin_devname(&d, buf, sizeof(buf));
	assert_string_equal(buf, "nullb0");
	d.name[0] = '\0';
	ip_pin_devname(&d, buf, sizeof(buf));
	assert_string_equal(buf, "251:0");
}

static void test_map_pin_names(void **state)
{
	(void)state;
	assert_string_equal(ip_map_pin_name("verdict.bss"), "bss");
	assert_string_equal(ip_map_pin_name("verdic.rodata"), "rodata");
	assert_string_equal(ip_map_pin_name(".rodata.str1.1"), "rodata.str1.1");
	assert_string_equal(ip_map_pin_name(".data.counts"), "data.counts");
	assert_string_equal(ip_map_pin_name("counts"), "counts");
	assert_string_equal(ip_map_pin_name("odd."), "odd.");
}

static void test_unpin_all(void **state)
{
	struct fake *f = *state;
	char dir[PATH_MAX + 64], maps[PATH_MAX + 128];
	struct stat st;

	assert_int_equal(ip_pin_path("nullb0", NULL, dir, sizeof(dir)), 0);
	assert_int_equal(ip_pin_path("nullb0", "maps", maps, sizeof(maps)), 0);
	assert_int_equal(ip_unpin_all("nullb0"), -ENOENT);

	snprintf(dir, sizeof(dir), "%s/interpose", f->bpffs);
	mkdir(dir, 0755);
	assert_int_equal(ip_pin_path("nullb0", NULL, dir, sizeof(dir)), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(maps, 0755), 0);
	touch(dir, "link");
	touch(maps, "bss");
	touch(maps, "data");
	touch(maps, "counts");
	assert_int_equal(ip_unpin_all("nullb0"), 0);
	assert_int_equal(stat(dir, &st), -1);
	/* interpose/ itself stays, empty. */
	snprintf(dir, sizeof(dir), "%s/interpose", f->bpffs);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(rmdir(dir), 0);

	/* A directory without link or maps goes too. */
	assert_int_equal(ip_pin_path("nullb1", NULL, dir, sizeof(dir)), 0);
	snprintf(maps, sizeof(maps), "%s/interpose", f->bpffs);
	mkdir(maps, 0755);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(ip_unpin_all("nullb1"), 0);
	/* Something that is not ours stays, and says so. */
	assert_int_equal(mkdir(dir, 0755), 0);
	touch(dir, "foreign");
	assert_int_equal(ip_unpin_all("nullb1"), -ENOTEMPTY);
	snprintf(maps, sizeof(maps), "%s/foreign", dir);
	unlink(maps);
	rmdir(dir);
}

static void test_ops_users(void **state)
{
	struct fake *f = *state;
	char **names, buf[128];
	size_t cnt;

	fake_attr(f, "nullb1", "interposer",
		  "attached targets=250:0 ops=byop seen=3");
	fake_attr(f, "nullb0p1", "interposer",
		  "attached targets= ops=byop seen=0");
	fake_attr(f, "nullsmall", "interposer",
		  "attached targets=252:0 ops=other seen=0");
	fake_attr(f, "big4k", "interposer", "attached targets=252:0 ops=- seen=0");

	assert_int_equal(ip_ops_users("byop", NULL, &names, &cnt), 0);
	assert_int_equal(cnt, 2);
	assert_string_equal(names[0], "nullb0p1");
	assert_string_equal(names[1], "nullb1");
	ip_names_join(names, cnt, buf, sizeof(buf));
	assert_string_equal(buf, "nullb0p1, nullb1");
	ip_names_free(names, cnt);

	assert_int_equal(ip_ops_users("byop", "nullb1", &names, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_string_equal(names[0], "nullb0p1");
	ip_names_free(names, cnt);

	assert_int_equal(ip_ops_users("nosuch", NULL, &names, &cnt), 0);
	assert_int_equal(cnt, 0);
	assert_null(names);
	/* "-" is no ops: a plain redirect. */
	names = (char **)&cnt;
	cnt = 99;
	assert_int_equal(ip_ops_users("-", NULL, &names, &cnt), 0);
	assert_int_equal(cnt, 0);
	assert_null(names);

	fake_attr(f, "nullb1", "interposer", "none");
	fake_attr(f, "nullb0p1", "interposer", "none");
	fake_attr(f, "nullsmall", "interposer", "none");
	fake_attr(f, "big4k", "interposer", "none");
}

static void test_ops_state_str(void **state)
{
	(void)state;
	assert_string_equal(interpose_ops_state_str(INTERPOSE_OPS_REGISTERED),
			    "registered");
	assert_string_equal(interpose_ops_state_str(INTERPOSE_OPS_READY), "ready");
	assert_string_equal(interpose_ops_state_str(INTERPOSE_OPS_INIT), "init");
	assert_string_equal(interpose_ops_state_str(42), "unknown");
}

static void known_ops(struct interpose_ops_info *ops, char **devs)
{
	memset(ops, 0, sizeof(*ops));
	snprintf(ops->name, sizeof(ops->name), "byop");
	ops->map_id = 12;
	ops->link_id = 5;
	ops->state = INTERPOSE_OPS_REGISTERED;
	ops->devs = devs;
	ops->nr_devs = 2;
}

static char *ops_text(const struct interpose_ops_info *ops)
{
	char *out;
	FILE *f;
	size_t len;

	f = open_memstream(&out, &len);
	assert_non_null(f);
	ops_info_text(f, ops);
	fclose(f);
	return out;
}

static void test_ops_output(void **state)
{
	char *devs[] = { "nullb0", "nullb1" };
	struct interpose_ops_info ops;
	json_object *obj, *val;
	char *out;

	(void)state;
	known_ops(&ops, devs);
	out = ops_text(&ops);
	assert_string_equal(out, "byop: registered, map 12, link 5, devices nullb0 nullb1\n");
	free(out);

	snprintf(ops.prog_dev, sizeof(ops.prog_dev), "nullb0");
	ops.nr_devs = 1;
	out = ops_text(&ops);
	assert_string_equal(out, "byop: registered, map 12, link 5, program of nullb0, devices nullb0\n");
	free(out);

	ops.nr_devs = 0;
	out = ops_text(&ops);
	assert_string_equal(out, "byop: registered, map 12, link 5, program of nullb0, devices none\n");
	free(out);

	ops.state = INTERPOSE_OPS_READY;
	ops.link_id = 0;
	ops.prog_dev[0] = '\0';
	out = ops_text(&ops);
	assert_string_equal(out, "byop: ready, map 12\n");
	free(out);

	known_ops(&ops, devs);
	obj = ops_info_json(&ops);
	assert_string_equal(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
			    "{\"name\":\"byop\",\"state\":\"registered\",\"map_id\":12,"
			    "\"link_id\":5,\"prog_dev\":null,\"devices\":["
			    "{\"device\":\"nullb0\",\"dev\":\"251:0\"},"
			    "{\"device\":\"nullb1\",\"dev\":\"252:0\"}]}");
	json_object_put(obj);
	ops.link_id = 0;
	snprintf(ops.prog_dev, sizeof(ops.prog_dev), "nullb0");
	obj = ops_info_json(&ops);
	assert_true(json_object_object_get_ex(obj, "link_id", &val));
	assert_null(val);
	assert_true(json_object_object_get_ex(obj, "prog_dev", &val));
	assert_string_equal(json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN),
			    "{\"device\":\"nullb0\",\"dev\":\"251:0\"}");
	json_object_put(obj);
}

static void test_stats_output(void **state)
{
	struct interpose_info info;
	json_object *obj;
	char *out;
	size_t len;
	FILE *f;

	(void)state;
	memset(&info, 0, sizeof(info));
	info.state = INTERPOSE_STATE_ATTACHED;
	info.orig.dev = makedev(251, 0);
	snprintf(info.orig.name, sizeof(info.orig.name), "nullb0");
	snprintf(info.ops_name, sizeof(info.ops_name), "byop");
	info.counters = (struct interpose_counters){
		.seen = 10, .passed = 1, .redirected = 9, .remapped = 2,
		.failed = 3, .completed = 4, .invalid = 5, .lost = 6,
	};
	f = open_memstream(&out, &len);
	stats_text(f, &info);
	fclose(f);
	assert_string_equal(out, "seen 10\npassed 1\nredirected 9\nremapped 2\n"
				 "failed 3\ncompleted 4\ninvalid 5\nlost 6\n");
	free(out);

	obj = stats_json(&info);
	assert_string_equal(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
			    "{\"device\":\"nullb0\",\"dev\":\"251:0\",\"ops\":\"byop\","
			    "\"counters\":{\"seen\":10,\"passed\":1,\"redirected\":9,"
			    "\"remapped\":2,\"failed\":3,\"completed\":4,\"invalid\":5,"
			    "\"lost\":6}}");
	json_object_put(obj);
}

static char *var_text(const char *fmt)
{
	char *out;
	size_t len;
	FILE *f;

	f = open_memstream(&out, &len);
	var_value_text(f, fmt);
	fclose(f);
	return out;
}

static void test_var_output(void **state)
{
	static const struct {
		const char *fmt, *text, *json;
	} cases[] = {
		{ "42", "42\n", "42" },
		{ "-5", "-5\n", "-5" },
		{ "18446744073709551615", "18446744073709551615\n",
		  "18446744073709551615" },
		{ "true", "true\n", "true" },
		{ "\"abc\"", "abc\n", "\"abc\"" },
		{ "[1, 2, 3]", "[1, 2, 3]\n", "[1,2,3]" },
		{ "\"0x0001\"", "0x0001\n", "\"0x0001\"" },
	};
	json_object *val;
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		out = var_text(cases[i].fmt);
		assert_string_equal(out, cases[i].text);
		free(out);
		val = var_value_json(cases[i].fmt);
		assert_non_null(val);
		assert_string_equal(json_object_to_json_string_ext(val,
						JSON_C_TO_STRING_PLAIN),
				    cases[i].json);
		json_object_put(val);
	}
}

int run_pin_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_paths),
		cmocka_unit_test(test_map_pin_names),
		cmocka_unit_test(test_unpin_all),
		cmocka_unit_test(test_ops_users),
		cmocka_unit_test(test_ops_state_str),
		cmocka_unit_test(test_ops_output),
		cmocka_unit_test(test_stats_output),
		cmocka_unit_test(test_var_output),
	};

	return RUN_GROUP("pin", tests, fake_setup, fake_teardown, total);
}
