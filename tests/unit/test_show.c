// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl show output (text and JSON) from known info objects, and
 * query/list through the sysfs "interposer" attribute of the fake tree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <json-c/json.h>

#include "unit.h"
#include "libinterpose_internal.h"
#include "main.h"

static void set_dev(struct ip_devref *ref, const char *name, unsigned int maj,
		    unsigned int min)
{
	ref->dev = makedev(maj, min);
	snprintf(ref->name, sizeof(ref->name), "%s", name);
}

/* nullb0 (251:0) redirected to nullb1 (251:1) and nullb2 (251:2). */
static void known_info(struct interpose_info *info)
{
	memset(info, 0, sizeof(*info));
	info->state = INTERPOSE_STATE_ATTACHED;
	set_dev(&info->orig, "nullb0", 251, 0);
	info->nr_targets = 2;
	set_dev(&info->targets[0], "nullb1", 251, 1);
	set_dev(&info->targets[1], "nullb2", 251, 2);
	info->counters = (struct interpose_counters){
		.seen = 10, .passed = 1, .redirected = 9, .remapped = 2,
		.failed = 3, .completed = 4, .invalid = 5,
	};
}

static json_object *get(json_object *obj, const char *key)
{
	json_object *val = NULL;

	assert_true(json_object_object_get_ex(obj, key, &val));
	return val;
}

static const char *get_str(json_object *obj, const char *key)
{
	json_object *val = get(obj, key);

	assert_true(json_object_is_type(val, json_type_string));
	return json_object_get_string(val);
}

/* Serialise as interposectl prints, then parse back. */
static json_object *roundtrip(const struct interpose_info *info)
{
	json_object *obj = show_info_json(info), *back;

	back = json_tokener_parse(json_object_to_json_string_ext(obj,
					JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	assert_non_null(back);
	return back;
}

static void test_json_attached(void **state)
{
	static const char *const keys[] = {
		"seen", "passed", "redirected", "remapped", "failed",
		"completed", "invalid",
	};
	static const __u64 vals[] = { 10, 1, 9, 2, 3, 4, 5 };
	struct interpose_info info;
	json_object *obj, *targets, *t, *cnt;
	size_t i;

	(void)state;
	known_info(&info);
	obj = roundtrip(&info);
	assert_string_equal(get_str(obj, "device"), "nullb0");
	assert_string_equal(get_str(obj, "dev"), "251:0");
	assert_string_equal(get_str(obj, "state"), "attached");
	assert_null(get(obj, "ops"));
	assert_int_equal(json_object_get_int64(get(obj, "flags")), 0);

	targets = get(obj, "targets");
	assert_true(json_object_is_type(targets, json_type_array));
	assert_int_equal(json_object_array_length(targets), 2);
	t = json_object_array_get_idx(targets, 1);
	assert_string_equal(get_str(t, "device"), "nullb2");
	assert_string_equal(get_str(t, "dev"), "251:2");

	cnt = get(obj, "counters");
	assert_int_equal(json_object_object_length(cnt), 7);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(json_object_get_uint64(get(cnt, keys[i])),
				 vals[i]);
	json_object_put(obj);
}

static void test_json_ops_flags_big_counter(void **state)
{
	struct interpose_info info;
	json_object *obj;

	(void)state;
	known_info(&info);
	strcpy(info.ops_name, "sampler");
	info.flags = 3;
	info.counters.seen = 18446744073709551615ULL;
	obj = roundtrip(&info);
	assert_string_equal(get_str(obj, "ops"), "sampler");
	assert_int_equal(json_object_get_int64(get(obj, "flags")), 3);
	assert_true(json_object_get_uint64(get(get(obj, "counters"), "seen")) ==
		    18446744073709551615ULL);
	json_object_put(obj);
}

static void test_json_not_attached(void **state)
{
	struct interpose_info info = { };
	json_object *obj;

	(void)state;
	set_dev(&info.orig, "nullb3", 251, 3);
	obj = roundtrip(&info);
	assert_string_equal(get_str(obj, "device"), "nullb3");
	assert_string_equal(get_str(obj, "state"), "none");
	assert_int_equal(json_object_array_length(get(obj, "targets")), 0);
	assert_null(get(obj, "ops"));
	assert_int_equal(json_object_get_uint64(get(get(obj, "counters"),
						    "seen")), 0);
	json_object_put(obj);
}

/* Without a name from sysfs, a device is shown by its number. */
static void test_json_unnamed(void **state)
{
	struct interpose_info info;
	json_object *obj, *t;

	(void)state;
	known_info(&info);
	info.orig.name[0] = '\0';
	info.targets[0].name[0] = '\0';
	obj = roundtrip(&info);
	assert_string_equal(get_str(obj, "device"), "251:0");
	t = json_object_array_get_idx(get(obj, "targets"), 0);
	assert_string_equal(get_str(t, "device"), "251:1");
	json_object_put(obj);
}

static char *text_of(const struct interpose_info *info)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	show_info_text(f, info);
	fclose(f);
	return buf;
}

static void test_text(void **state)
{
	struct interpose_info info;
	char *s;

	(void)state;
	known_info(&info);
	info.nr_targets = 1;
	s = text_of(&info);
	assert_string_equal(s, "nullb0 (251:0): attached, targets nullb1 (251:1), ops -, seen 10 passed 1 redirected 9 remapped 2 failed 3 completed 4 invalid 5\n");
	free(s);

	info.nr_targets = 2;
	strcpy(info.ops_name, "sampler");
	info.flags = 1;
	s = text_of(&info);
	assert_string_equal(s, "nullb0 (251:0): attached, targets nullb1 (251:1) nullb2 (251:2), ops sampler, seen 10 passed 1 redirected 9 remapped 2 failed 3 completed 4 invalid 5, flags 0x1\n");
	free(s);

	info.state = INTERPOSE_STATE_NONE;
	s = text_of(&info);
	assert_string_equal(s, "nullb0 (251:0): not interposed\n");
	free(s);
}

/* Without a name from sysfs, a device is shown by its number alone. */
static void test_text_unnamed(void **state)
{
	struct interpose_info info;
	char *s;

	(void)state;
	known_info(&info);
	info.targets[1].name[0] = '\0';
	s = text_of(&info);
	assert_non_null(strstr(s, ", targets nullb1 (251:1) 251:2, ops -,"));
	free(s);
	info.orig.name[0] = '\0';
	info.state = INTERPOSE_STATE_NONE;
	s = text_of(&info);
	assert_string_equal(s, "251:0: not interposed\n");
	free(s);
}

static void test_parse_sysfs(void **state)
{
	struct interpose_info info = { };

	(void)state;
	assert_int_equal(ip_info_parse_sysfs("none", &info), 0);
	assert_int_equal(info.state, INTERPOSE_STATE_NONE);

	assert_int_equal(ip_info_parse_sysfs(
		"attached targets=252:0,253:0 ops=- seen=10 passed=0 redirected=10 remapped=7 failed=0 completed=0 invalid=1 future=x\n",
		&info), 0);
	assert_int_equal(info.state, INTERPOSE_STATE_ATTACHED);
	assert_int_equal(interpose_info__nr_targets(&info), 2);
	assert_int_equal(interpose_info__target_dev(&info, 1), makedev(253, 0));
	assert_string_equal(interpose_info__target_name(&info, 0), "nullb1");
	assert_string_equal(interpose_info__target_name(&info, 1), "nullsmall");
	assert_null(interpose_info__target_name(&info, 2));
	assert_null(interpose_info__ops_name(&info));
	assert_int_equal(info.counters.seen, 10);
	assert_int_equal(info.counters.remapped, 7);
	assert_int_equal(info.counters.invalid, 1);

	memset(&info, 0, sizeof(info));
	assert_int_equal(ip_info_parse_sysfs("attached targets= ops=sampler",
					     &info), 0);
	assert_int_equal(info.nr_targets, 0);
	assert_string_equal(interpose_info__ops_name(&info), "sampler");

	assert_int_equal(ip_info_parse_sysfs("", &info), -EINVAL);
	assert_int_equal(ip_info_parse_sysfs("bogus", &info), -EINVAL);
	assert_int_equal(ip_info_parse_sysfs("attached targets=1:1,x", &info),
			 -EINVAL);
	assert_int_equal(ip_info_parse_sysfs(
		"attached targets=1:1,1:2,1:3,1:4,1:5,1:6,1:7,1:8,1:9", &info),
		-EINVAL);
}

/* The fake tree has no nodes: query falls back to sysfs. */
static void test_query(void **state)
{
	struct fake *f = *state;
	struct interpose_info *info;

	fake_attr(f, "nullb0", "interposer",
		  "attached targets=252:0 ops=- seen=3 passed=0 redirected=3 remapped=0 failed=0 completed=0 invalid=0");
	assert_int_equal(interpose_query("251:0", &info), 0);
	fake_attr(f, "nullb0", "interposer", "none");
	assert_int_equal(interpose_info__state(info), INTERPOSE_STATE_ATTACHED);
	assert_int_equal(interpose_info__dev(info), makedev(251, 0));
	assert_string_equal(interpose_info__name(info), "nullb0");
	assert_string_equal(interpose_info__path(info), "");
	assert_string_equal(interpose_info__target_name(info, 0), "nullb1");
	assert_int_equal(interpose_info__counters(info)->redirected, 3);
	interpose_info__free(info);

	assert_int_equal(interpose_query("nullb1", &info), 0);
	assert_int_equal(interpose_info__state(info), INTERPOSE_STATE_NONE);
	interpose_info__free(info);

	assert_int_equal(interpose_query("nosuchdev", &info), -ENOENT);
	assert_null(info);
	assert_string_equal(interpose_errmsg(), "query nosuchdev: no such device");
	assert_int_equal(interpose_query("/dev/null", &info), -ENOTBLK);
}

static void test_query_unsupported(void **state)
{
	struct fake *f = *state;
	struct interpose_info *info;
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/class/block/nullb1/interposer", f->sys);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(interpose_query("nullb1", &info), -ENOTTY);
	assert_string_equal(interpose_errmsg(),
			    "query nullb1: kernel does not support block interposers");
	fake_attr(f, "nullb1", "interposer", "none");
}

static void test_list(void **state)
{
	struct fake *f = *state;
	struct interpose_info **infos;
	size_t cnt;

	assert_int_equal(interpose_list(&infos, &cnt), 0);
	assert_int_equal(cnt, 0);
	assert_null(infos);

	fake_disk(f, "nullb10", 240, 0, 1024, 512);
	fake_attr(f, "nullb10", "interposer", "attached targets=253:0 ops=x");
	fake_attr(f, "nullb0p1", "interposer", "attached targets=251:2 ops=-");
	assert_int_equal(interpose_list(&infos, &cnt), 0);
	fake_attr(f, "nullb0p1", "interposer", "none");
	fake_attr(f, "nullb10", "interposer", "none");
	assert_int_equal(cnt, 2);
	/* Sorted by name, numbers as numbers. */
	assert_string_equal(interpose_info__name(infos[0]), "nullb0p1");
	assert_string_equal(interpose_info__target_name(infos[0], 0), "nullb0p2");
	assert_string_equal(interpose_info__name(infos[1]), "nullb10");
	assert_string_equal(interpose_info__ops_name(infos[1]), "x");
	interpose_list__free(infos, cnt);
}

/* interposectl -j show over the fake tree: a JSON array. */
static void test_show_all_json(void **state)
{
	struct fake *f = *state;
	json_object *arr;
	char *out;
	int rc;

	fake_attr(f, "nullsmall", "interposer", "attached targets=252:0 ops=-");
	json_output = true;
	capture_start(1);
	rc = do_show(1, (char *[]){ "show", NULL });
	out = capture_end(1);
	json_output = false;
	fake_attr(f, "nullsmall", "interposer", "none");
	assert_int_equal(rc, 0);
	arr = json_tokener_parse(out);
	free(out);
	assert_non_null(arr);
	assert_true(json_object_is_type(arr, json_type_array));
	assert_int_equal(json_object_array_length(arr), 1);
	assert_string_equal(get_str(json_object_array_get_idx(arr, 0), "device"),
			    "nullsmall");
	json_object_put(arr);

	json_output = true;
	capture_start(1);
	rc = do_show(1, (char *[]){ "show", NULL });
	out = capture_end(1);
	json_output = false;
	assert_int_equal(rc, 0);
	assert_string_equal(out, "[]\n");
	free(out);
}

int run_show_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_attached),
		cmocka_unit_test(test_json_ops_flags_big_counter),
		cmocka_unit_test(test_json_not_attached),
		cmocka_unit_test(test_json_unnamed),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_unnamed),
		cmocka_unit_test(test_parse_sysfs),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_query_unsupported),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_show_all_json),
	};

	return RUN_GROUP("show", tests, fake_setup, fake_teardown, total);
}
