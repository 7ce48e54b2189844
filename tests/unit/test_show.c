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

/* One counter, through the copy bounded by the caller's size. */
#define get_counter(info, field) ({					\
	struct interpose_counters __c;					\
	interpose_info__get_counters(info, &__c, sizeof(__c));		\
	__c.field; })

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
		.failed = 3, .completed = 4, .invalid = 5, .lost = 6,
	};
}

/* The same, failed: its target nullb2 went away. */
static void failed_info(struct interpose_info *info)
{
	known_info(info);
	info->state = INTERPOSE_STATE_FAILED;
	set_dev(&info->lost, "nullb2", 251, 2);
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
		"completed", "invalid", "lost",
	};
	static const __u64 vals[] = { 10, 1, 9, 2, 3, 4, 5, 6 };
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
	/* only a failed interposer has a lost target */
	assert_false(json_object_object_get_ex(obj, "lost", NULL));

	targets = get(obj, "targets");
	assert_true(json_object_is_type(targets, json_type_array));
	assert_int_equal(json_object_array_length(targets), 2);
	t = json_object_array_get_idx(targets, 1);
	assert_string_equal(get_str(t, "device"), "nullb2");
	assert_string_equal(get_str(t, "dev"), "251:2");

	cnt = get(obj, "counters");
	assert_int_equal(json_object_object_length(cnt), 8);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(json_object_get_uint64(get(cnt, keys[i])),
				 vals[i]);
	json_object_put(obj);
}

static void test_json_failed(void **state)
{
	struct interpose_info info;
	json_object *obj, *lost;

	(void)state;
	failed_info(&info);
	obj = roundtrip(&info);
	assert_string_equal(get_str(obj, "state"), "failed");
	lost = get(obj, "lost");
	assert_true(json_object_is_type(lost, json_type_object));
	assert_string_equal(get_str(lost, "device"), "nullb2");
	assert_string_equal(get_str(lost, "dev"), "251:2");
	assert_int_equal(json_object_array_length(get(obj, "targets")), 2);
	assert_null(get(obj, "ops"));
	assert_int_equal(json_object_get_uint64(get(get(obj, "counters"),
						    "lost")), 6);
	json_object_put(obj);

	/* a target that went away is often gone from sysfs: its number */
	info.lost.name[0] = '\0';
	obj = roundtrip(&info);
	lost = get(obj, "lost");
	assert_string_equal(get_str(lost, "device"), "251:2");
	assert_string_equal(get_str(lost, "dev"), "251:2");
	json_object_put(obj);
}

/* The reserved form: target 0 is the original served, failed = refused. */
static void test_json_reserved(void **state)
{
	struct interpose_info info = { };
	json_object *obj, *t;

	(void)state;
	info.state = INTERPOSE_STATE_RESERVED;
	set_dev(&info.orig, "dm-0", 253, 0);
	info.nr_targets = 1;
	set_dev(&info.targets[0], "nullb0", 251, 0);
	info.counters.failed = 7;
	obj = roundtrip(&info);
	assert_string_equal(get_str(obj, "state"), "reserved");
	assert_false(json_object_object_get_ex(obj, "lost", NULL));
	t = json_object_array_get_idx(get(obj, "targets"), 0);
	assert_string_equal(get_str(t, "device"), "nullb0");
	assert_int_equal(json_object_get_uint64(get(get(obj, "counters"),
						    "failed")), 7);
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
	assert_string_equal(s, "nullb0 (251:0): attached, targets nullb1 (251:1), ops -, seen 10 passed 1 redirected 9 remapped 2 failed 3 completed 4 invalid 5 lost 6\n");
	free(s);

	info.nr_targets = 2;
	strcpy(info.ops_name, "sampler");
	info.flags = 1;
	s = text_of(&info);
	assert_string_equal(s, "nullb0 (251:0): attached, targets nullb1 (251:1) nullb2 (251:2), ops sampler, seen 10 passed 1 redirected 9 remapped 2 failed 3 completed 4 invalid 5 lost 6, flags 0x1\n");
	free(s);

	info.state = INTERPOSE_STATE_NONE;
	s = text_of(&info);
	assert_string_equal(s, "nullb0 (251:0): not interposed\n");
	free(s);
}

static void test_text_failed(void **state)
{
	struct interpose_info info;
	char *s;

	(void)state;
	failed_info(&info);
	s = text_of(&info);
	assert_string_equal(s, "nullb0 (251:0): failed (target nullb2 went away; I/O fails until detach), targets nullb1 (251:1) nullb2 (251:2), ops -, seen 10 passed 1 redirected 9 remapped 2 failed 3 completed 4 invalid 5 lost 6\n");
	free(s);

	/* gone from sysfs: named by its number */
	info.lost.name[0] = '\0';
	info.targets[1].name[0] = '\0';
	strcpy(info.ops_name, "sampler");
	s = text_of(&info);
	assert_string_equal(s, "nullb0 (251:0): failed (target 251:2 went away; I/O fails until detach), targets nullb1 (251:1) 251:2, ops sampler, seen 10 passed 1 redirected 9 remapped 2 failed 3 completed 4 invalid 5 lost 6\n");
	free(s);
}

static void test_text_reserved(void **state)
{
	struct interpose_info info = { };
	char *s;

	(void)state;
	info.state = INTERPOSE_STATE_RESERVED;
	set_dev(&info.orig, "dm-0", 253, 0);
	info.nr_targets = 1;
	set_dev(&info.targets[0], "nullb0", 251, 0);
	info.counters.failed = 7;
	s = text_of(&info);
	assert_string_equal(s, "dm-0 (253:0): reserved for nullb0 (251:0), refused 7\n");
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
	/* Not 0 (NONE) to begin with, or "none" could be ignored. */
	info.state = INTERPOSE_STATE_FAILED;
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
	assert_int_equal(info.counters.lost, 0);
	/* not failed: no lost target */
	assert_int_equal(interpose_info__lost_dev(&info), 0);
	assert_null(interpose_info__lost_name(&info));

	/* the lost counter of an attached interposer */
	memset(&info, 0, sizeof(info));
	assert_int_equal(ip_info_parse_sysfs(
		"attached targets=252:0 ops=- seen=3 passed=0 redirected=1 remapped=0 failed=0 completed=0 invalid=0 lost=2\n",
		&info), 0);
	assert_int_equal(info.state, INTERPOSE_STATE_ATTACHED);
	assert_int_equal(info.counters.lost, 2);
	assert_int_equal(interpose_info__lost_dev(&info), 0);

	memset(&info, 0, sizeof(info));
	assert_int_equal(ip_info_parse_sysfs("attached targets= ops=sampler",
					     &info), 0);
	assert_int_equal(info.nr_targets, 0);
	assert_string_equal(interpose_info__ops_name(&info), "sampler");

	/* reserved: target 0 is the original served, refused counts failed */
	memset(&info, 0, sizeof(info));
	assert_int_equal(ip_info_parse_sysfs("reserved for=251:0 refused=4\n",
					     &info), 0);
	assert_int_equal(info.state, INTERPOSE_STATE_RESERVED);
	assert_int_equal(interpose_info__nr_targets(&info), 1);
	assert_int_equal(interpose_info__target_dev(&info, 0), makedev(251, 0));
	assert_string_equal(interpose_info__target_name(&info, 0), "nullb0");
	assert_int_equal(info.counters.failed, 4);
	assert_null(interpose_info__lost_name(&info));
	memset(&info, 0, sizeof(info));
	assert_int_equal(ip_info_parse_sysfs("reserved refused=4", &info),
			 -EINVAL);

	assert_int_equal(ip_info_parse_sysfs("", &info), -EINVAL);
	assert_int_equal(ip_info_parse_sysfs("bogus", &info), -EINVAL);
	assert_int_equal(ip_info_parse_sysfs("attached targets=1:1,x", &info),
			 -EINVAL);
	assert_int_equal(ip_info_parse_sysfs(
		"attached targets=1:1,1:2,1:3,1:4,1:5,1:6,1:7,1:8,1:9", &info),
		-EINVAL);
}

/* "observed ..." and " observers=A,B" on any attached line. */
static void test_parse_sysfs_observers(void **state)
{
	struct interpose_info info = { };
	__u64 seen = 1, ended = 1;

	(void)state;
	assert_int_equal(ip_info_parse_sysfs(
		"observed targets= ops=- seen=5 passed=5 redirected=0 remapped=0 failed=0 completed=0 invalid=0 lost=0 observers=trace,hist2\n",
		&info), 0);
	assert_int_equal(interpose_info__state(&info), INTERPOSE_STATE_OBSERVED);
	assert_int_equal(info.counters.passed, 5);
	assert_int_equal(interpose_info__nr_observers(&info), 2);
	assert_string_equal(interpose_info__observer_name(&info, 0), "trace");
	assert_string_equal(interpose_info__observer_name(&info, 1), "hist2");
	assert_null(interpose_info__observer_name(&info, 2));
	/* sysfs has no counters of observers */
	assert_int_equal(interpose_info__observer_counts(&info, 1, &seen, &ended), 0);
	assert_int_equal(seen, 0);
	assert_int_equal(ended, 0);
	assert_int_equal(interpose_info__observer_counts(&info, 2, &seen, &ended),
			 -ENOENT);

	memset(&info, 0, sizeof(info));
	assert_int_equal(ip_info_parse_sysfs(
		"attached targets=251:1 ops=- seen=0 observers=a", &info), 0);
	assert_int_equal(interpose_info__state(&info), INTERPOSE_STATE_ATTACHED);
	assert_int_equal(interpose_info__nr_observers(&info), 1);

	memset(&info, 0, sizeof(info));
	assert_int_equal(ip_info_parse_sysfs(
		"attached targets= observers=1,2,3,4,5,6,7,8,9", &info), -EINVAL);
	assert_int_equal(ip_info_parse_sysfs(
		"attached targets= observers=a_name_that_is_far_too_long_for_it",
		&info), -EINVAL);
}

/* "failed lost=M:m targets=..." : the first lost= names the target. */
static void test_parse_sysfs_failed(void **state)
{
	struct interpose_info info = { };

	(void)state;
	assert_int_equal(ip_info_parse_sysfs(
		"failed lost=253:0 targets=252:0,253:0 ops=sampler seen=12 passed=0 redirected=5 remapped=0 failed=0 completed=0 invalid=0 lost=7\n",
		&info), 0);
	assert_int_equal(interpose_info__state(&info), INTERPOSE_STATE_FAILED);
	assert_int_equal(interpose_info__lost_dev(&info), makedev(253, 0));
	assert_string_equal(interpose_info__lost_name(&info), "nullsmall");
	assert_int_equal(interpose_info__nr_targets(&info), 2);
	assert_string_equal(interpose_info__target_name(&info, 0), "nullb1");
	assert_string_equal(interpose_info__ops_name(&info), "sampler");
	assert_int_equal(info.counters.seen, 12);
	assert_int_equal(info.counters.redirected, 5);
	assert_int_equal(info.counters.lost, 7);

	/* gone from sysfs: no name, still its number */
	memset(&info, 0, sizeof(info));
	assert_int_equal(ip_info_parse_sysfs(
		"failed lost=4095:7 targets=4095:7 ops=- seen=1 lost=1", &info),
		0);
	assert_int_equal(interpose_info__lost_dev(&info), makedev(4095, 7));
	assert_string_equal(interpose_info__lost_name(&info), "");
	assert_string_equal(interpose_info__target_name(&info, 0), "");
	assert_int_equal(info.counters.lost, 1);

	/* a failed line must name the lost target */
	memset(&info, 0, sizeof(info));
	assert_int_equal(ip_info_parse_sysfs("failed targets=252:0 ops=-",
					     &info), -EINVAL);
	assert_int_equal(ip_info_parse_sysfs("failed lost=x targets=252:0",
					     &info), -EINVAL);
	assert_int_equal(ip_info_parse_sysfs("failedx lost=252:0", &info),
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
	assert_int_equal(get_counter(info, redirected), 3);
	interpose_info__free(info);

	assert_int_equal(interpose_query("nullb1", &info), 0);
	assert_int_equal(interpose_info__state(info), INTERPOSE_STATE_NONE);
	assert_int_equal(interpose_info__lost_dev(info), 0);
	interpose_info__free(info);

	fake_attr(f, "nullb0", "interposer",
		  "failed lost=252:0 targets=252:0 ops=- seen=5 passed=0 redirected=3 remapped=0 failed=0 completed=0 invalid=0 lost=2");
	assert_int_equal(interpose_query("nullb0", &info), 0);
	fake_attr(f, "nullb0", "interposer", "none");
	assert_int_equal(interpose_info__state(info), INTERPOSE_STATE_FAILED);
	assert_int_equal(interpose_info__lost_dev(info), makedev(252, 0));
	assert_string_equal(interpose_info__lost_name(info), "nullb1");
	assert_int_equal(get_counter(info, lost), 2);
	assert_int_equal(get_counter(info, seen), 5);
	interpose_info__free(info);

	assert_int_equal(interpose_query("nosuchdev", &info), -ENOENT);
	assert_null(info);
	assert_string_equal(interpose_errmsg(), "query nosuchdev: no such device");
	assert_int_equal(interpose_query("/dev/null", &info), -ENOTBLK);
}

/*
 * A caller built against a newer header, whose struct interpose_counters
 * has one more field, and one built against an older header with one
 * field fewer: each gets a copy of its own size, the unknown field zero.
 * `make asan` proves nothing is read past the library's object.
 */
struct counters_newer {
	struct interpose_counters known;
	__u64 newer;
};

/* The counters by index: the one list of their names, in struct order. */
static void test_counter_by_index(void **state)
{
	static const char *const names[] = {
		"seen", "passed", "redirected", "remapped", "failed",
		"completed", "invalid", "lost",
	};
	struct fake *f = *state;
	struct interpose_counters c;
	struct interpose_info *info;
	const char *name;
	__u64 val;
	size_t i;

	fake_attr(f, "nullb0", "interposer",
		  "attached targets=252:0 ops=- seen=1 passed=2 redirected=3 remapped=4 failed=5 completed=6 invalid=7 lost=8");
	assert_int_equal(interpose_query("251:0", &info), 0);
	fake_attr(f, "nullb0", "interposer", "none");
	interpose_info__get_counters(info, &c, sizeof(c));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(interpose_info__counter(info, i, &name, &val), 0);
		assert_string_equal(name, names[i]);
		assert_int_equal(val, i + 1);
		/* the same field as the struct's */
		assert_int_equal(val, ((const __u64 *)&c)[i]);
	}
	assert_int_equal(sizeof(c), sizeof(names) / sizeof(names[0]) * sizeof(__u64));
	assert_int_equal(interpose_info__counter(info, i, &name, &val), -ENOENT);
	assert_int_equal(interpose_info__counter(info, 0, NULL, &val), -EINVAL);
	assert_int_equal(interpose_info__counter(NULL, 0, &name, &val), -EINVAL);
	assert_string_equal(interpose_errmsg(), "counter: no interposer info given");
	interpose_info__free(info);
}

static void test_counters_sizes(void **state)
{
	struct fake *f = *state;
	struct interpose_info *info;
	struct counters_newer c;
	size_t older = offsetof(struct interpose_counters, lost);

	fake_attr(f, "nullb0", "interposer",
		  "attached targets=252:0 ops=- seen=3 passed=0 redirected=3 remapped=0 failed=0 completed=0 invalid=0 lost=7");
	assert_int_equal(interpose_query("251:0", &info), 0);
	fake_attr(f, "nullb0", "interposer", "none");

	memset(&c, 0xff, sizeof(c));
	assert_int_equal(interpose_info__get_counters(info,
			 (struct interpose_counters *)&c, sizeof(c)),
			 sizeof(struct interpose_counters));
	assert_int_equal(c.known.seen, 3);
	assert_int_equal(c.known.lost, 7);
	assert_int_equal(c.newer, 0);

	memset(&c, 0xff, sizeof(c));
	assert_int_equal(interpose_info__get_counters(info, &c.known, older),
			 older);
	assert_int_equal(c.known.redirected, 3);
	assert_true(c.known.lost == ~0ULL);	/* beyond its size: untouched */

	assert_int_equal(interpose_info__get_counters(info, NULL, sizeof(c)),
			 -EINVAL);
	assert_string_equal(interpose_errmsg(),
			    "counters: no result buffer given");
	assert_int_equal(interpose_info__get_counters(NULL, &c.known,
						      sizeof(c.known)),
			 -EINVAL);
	assert_string_equal(interpose_errmsg(),
			    "counters: no interposer info given");
	interpose_info__free(info);
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
			    "query nullb1: kernel does not support block interposers (no CONFIG_BLK_INTERPOSER, no blk_interposer module loaded)");
	fake_attr(f, "nullb1", "interposer", "none");
}

static void test_list(void **state)
{
	struct fake *f = *state;
	struct interpose_info **infos = (void *)f;
	size_t cnt = 99;

	assert_int_equal(interpose_list(&infos, &cnt), 0);
	assert_int_equal(cnt, 0);
	assert_null(infos);

	fake_disk(f, "nullb10", 240, 0, 1024, 512);
	fake_attr(f, "nullb10", "interposer", "attached targets=253:0 ops=x");
	fake_attr(f, "nullb0p1", "interposer", "attached targets=251:2 ops=-");
	/* a failed interposer is listed too: it must be detached */
	fake_attr(f, "big4k", "interposer",
		  "failed lost=252:0 targets=252:0 ops=- seen=1 lost=1");
	/* a reserved device is listed, as such */
	fake_attr(f, "nullb1", "interposer", "reserved for=251:0 refused=0");
	assert_int_equal(interpose_list(&infos, &cnt), 0);
	fake_attr(f, "nullb0p1", "interposer", "none");
	fake_attr(f, "nullb10", "interposer", "none");
	fake_attr(f, "big4k", "interposer", "none");
	fake_attr(f, "nullb1", "interposer", "none");
	assert_int_equal(cnt, 4);
	/* Sorted by name, numbers as numbers. */
	assert_string_equal(interpose_info__name(infos[0]), "big4k");
	assert_int_equal(interpose_info__state(infos[0]), INTERPOSE_STATE_FAILED);
	assert_string_equal(interpose_info__lost_name(infos[0]), "nullb1");
	assert_string_equal(interpose_info__name(infos[1]), "nullb0p1");
	assert_string_equal(interpose_info__target_name(infos[1], 0), "nullb0p2");
	assert_string_equal(interpose_info__name(infos[2]), "nullb1");
	assert_int_equal(interpose_info__state(infos[2]), INTERPOSE_STATE_RESERVED);
	assert_string_equal(interpose_info__name(infos[3]), "nullb10");
	assert_string_equal(interpose_info__ops_name(infos[3]), "x");
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
		cmocka_unit_test(test_json_failed),
		cmocka_unit_test(test_json_reserved),
		cmocka_unit_test(test_json_ops_flags_big_counter),
		cmocka_unit_test(test_json_not_attached),
		cmocka_unit_test(test_json_unnamed),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_failed),
		cmocka_unit_test(test_text_reserved),
		cmocka_unit_test(test_text_unnamed),
		cmocka_unit_test(test_parse_sysfs),
		cmocka_unit_test(test_parse_sysfs_observers),
		cmocka_unit_test(test_parse_sysfs_failed),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_counter_by_index),
		cmocka_unit_test(test_counters_sizes),
		cmocka_unit_test(test_query_unsupported),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_show_all_json),
	};

	return RUN_GROUP("show", tests, fake_setup, fake_teardown, total);
}
