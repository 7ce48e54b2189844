// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl trace and hist without a kernel: argument parsing, the
 * event and histogram printers, and the library's errors for a device
 * without a pinned program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "unit.h"
#include "main.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(argv) ({ int __n = 0; while ((argv)[__n]) __n++; __n; })

/* Parse quietly; a usage error must point to the command's help. */
#define PARSE(fn, cmd, argv, a)						\
	({								\
		char *__err;						\
		int __ret;						\
		capture_start(2);					\
		__ret = fn(ARGC(argv), argv, a);			\
		__err = capture_end(2);					\
		if (__ret)						\
			assert_non_null(strstr(__err, "Try 'interposectl " cmd " -h'")); \
		free(__err);						\
		__ret;							\
	})

static void test_trace_parse(void **state)
{
	struct trace_args a;

	(void)state;
	assert_int_equal(PARSE(trace_parse, "trace", ARGV("trace", "nullb0"), &a), 0);
	assert_string_equal(a.dev, "nullb0");
	assert_false(a.has_duration);
	assert_int_equal(a.count, 0);

	assert_int_equal(PARSE(trace_parse, "trace",
			       ARGV("trace", "--duration", "1.5", "--count", "20", "8:0"), &a), 0);
	assert_string_equal(a.dev, "8:0");
	assert_true(a.has_duration);
	assert_int_equal(a.duration_ms, 1500);
	assert_int_equal(a.count, 20);

	/* -d is -d everywhere: --debug, not --duration */
	debug_output = false;
	assert_int_equal(PARSE(trace_parse, "trace", ARGV("trace", "-d", "nullb0"), &a), 0);
	assert_false(a.has_duration);
	assert_true(debug_output);
	debug_output = false;
	interpose_set_print(NULL);

	assert_int_equal(PARSE(trace_parse, "trace", ARGV("trace", "-h"), &a), 0);
	assert_true(a.help);
}

static void test_trace_parse_errors(void **state)
{
	struct trace_args a;

	(void)state;
	assert_int_equal(PARSE(trace_parse, "trace", ARGV("trace"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(trace_parse, "trace",
			       ARGV("trace", "x", "--duration", "-1"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(trace_parse, "trace",
			       ARGV("trace", "x", "--duration", "1s"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(trace_parse, "trace",
			       ARGV("trace", "x", "--count", "-3"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(trace_parse, "trace",
			       ARGV("trace", "x", "y"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(trace_parse, "trace",
			       ARGV("trace", "x", "--interval", "1"), &a), EXIT_USAGE);
}

static void test_hist_parse(void **state)
{
	struct hist_args a;

	(void)state;
	assert_int_equal(PARSE(hist_parse, "hist", ARGV("hist", "nullb0"), &a), 0);
	assert_int_equal(a.interval_ms, 0);
	assert_int_equal(PARSE(hist_parse, "hist",
			       ARGV("hist", "-i", "2", "-c", "3", "nullb0"), &a), 0);
	assert_int_equal(a.interval_ms, 2000);
	assert_int_equal(a.count, 3);
	assert_int_equal(PARSE(hist_parse, "hist",
			       ARGV("hist", "nullb0", "--count", "3"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(hist_parse, "hist",
			       ARGV("hist", "nullb0", "--interval", "0"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(hist_parse, "hist",
			       ARGV("hist", "nullb0", "-i", "1", "-c", "0"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(hist_parse, "hist", ARGV("hist"), &a), EXIT_USAGE);
	assert_int_equal(a.by, -1);
	assert_int_equal(PARSE(hist_parse, "hist",
			       ARGV("hist", "nullb0", "--by", "comm"), &a), 0);
	assert_int_equal(a.by, INTERPOSE_BY_COMM);
	assert_int_equal(PARSE(hist_parse, "hist",
			       ARGV("hist", "-b", "cgroup", "nullb0"), &a), 0);
	assert_int_equal(a.by, INTERPOSE_BY_CGROUP);
	assert_int_equal(PARSE(hist_parse, "hist",
			       ARGV("hist", "nullb0", "--by", "disk"), &a), EXIT_USAGE);
}

static void test_cbt_parse(void **state)
{
	struct cbt_args a;

	(void)state;
	assert_int_equal(PARSE(cbt_parse, "cbt", ARGV("cbt", "nullb0"), &a), 0);
	assert_string_equal(a.dev, "nullb0");
	assert_false(a.start || a.stop || a.reset);
	assert_int_equal(a.block_shift, 12);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "--start", "-b", "64k", "nullb0"), &a), 0);
	assert_true(a.start);
	assert_int_equal(a.block_shift, 16);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "nullb0", "--start", "--block-size", "1M"), &a), 0);
	assert_int_equal(a.block_shift, 20);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "nullb0", "--start", "--block-size", "8192"), &a), 0);
	assert_int_equal(a.block_shift, 13);
	assert_int_equal(PARSE(cbt_parse, "cbt", ARGV("cbt", "-r", "nullb0"), &a), 0);
	assert_true(a.reset);
	assert_int_equal(PARSE(cbt_parse, "cbt", ARGV("cbt", "nullb0", "--stop"), &a), 0);
	assert_true(a.stop);

	assert_int_equal(PARSE(cbt_parse, "cbt", ARGV("cbt"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(cbt_parse, "cbt", ARGV("cbt", "x", "y"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "x", "--start", "--stop"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "x", "--reset", "--stop"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "x", "--reset", "-b", "4k"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "x", "--start", "-b", "2k"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "x", "--start", "-b", "2M"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "x", "--start", "-b", "12k"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "x", "--start", "-b", "-4k"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(cbt_parse, "cbt",
			       ARGV("cbt", "x", "--start", "-b", "4kb"), &a), EXIT_USAGE);
}

static void test_cbt_extents(void **state)
{
	/* blocks 0-1, 63-65 (across a word), 130, 191 (the last, cut short) */
	__u64 bits[3] = { 0x3 | 1ULL << 63, 0x3, 1ULL << 2 | 1ULL << 63 };
	__u64 none[3] = { 0 };
	const char *js;
	json_object *o;

	(void)state;
	o = cbt_extents_json(bits, 3, 12, 191 * 4096 + 512);
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_string_equal(js,
		"{\"block_size\":4096,\"extents\":["
		"{\"offset\":0,\"length\":8192},"
		"{\"offset\":258048,\"length\":12288},"
		"{\"offset\":532480,\"length\":4096},"
		"{\"offset\":782336,\"length\":512}],"
		"\"bytes\":25088}");
	json_object_put(o);
	/* a bitmap of one full word, 1 MiB blocks */
	bits[0] = ~0ULL;
	o = cbt_extents_json(bits, 1, 20, 64ULL << 20);
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_string_equal(js,
		"{\"block_size\":1048576,\"extents\":["
		"{\"offset\":0,\"length\":67108864}],\"bytes\":67108864}");
	json_object_put(o);
	o = cbt_extents_json(none, 3, 12, 192 * 4096);
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_string_equal(js,
		"{\"block_size\":4096,\"extents\":[],\"bytes\":0}");
	json_object_put(o);
}

static void test_trace_event_json(void **state)
{
	struct interpose_event e = {
		.ts_ns = 1000, .latency_ns = 25000, .sector = 2048,
		.bytes = 4096, .dev = (251U << 20) | 3,
		.opf = 0xffffffff,	/* classified: the raw value is not read */
		.pid = 42, .tid = 43, .cgroup = 7, .error = -5,
		.kind = INTERPOSE_EV_COMPLETE,
		.action = 1, .target = 1, .comm = "fio",
		.op = INTERPOSE_OP_WRITE,
		.flags = INTERPOSE_F_CLASSIFIED | INTERPOSE_F_FUA |
			 INTERPOSE_F_SYNC | INTERPOSE_F_IDLE,
	};
	json_object *obj;
	char flags[16];

	(void)state;
	obj = trace_event_json(&e, "nullb3");
	assert_string_equal(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
		"{\"kind\":\"complete\",\"ts_ns\":1000,\"time\":9.9999999999999995e-07,\"pid\":42,\"tid\":43,"
		"\"comm\":\"fio\",\"cgroup_id\":7,"
		"\"device\":\"nullb3\",\"dev\":\"251:3\",\"op\":\"write\",\"flags\":[\"sync\",\"fua\"],"
		"\"sector\":2048,\"bytes\":4096,\"verdict\":\"redirect\",\"target\":1,"
		"\"error\":-5,\"latency_ns\":25000,\"lat_us\":25}");
	json_object_put(obj);

	e.kind = INTERPOSE_EV_SUBMIT;
	e.op = INTERPOSE_OP_FLUSH;
	e.action = 9;
	obj = trace_event_json(&e, "nullb3");
	assert_string_equal(json_object_get_string(json_object_object_get(obj, "op")), "flush");
	assert_string_equal(json_object_get_string(json_object_object_get(obj, "verdict")), "unknown");
	assert_null(json_object_object_get(obj, "latency_ns"));
	json_object_put(obj);
	e.op = 200;	/* from a newer program */
	obj = trace_event_json(&e, "nullb3");
	assert_string_equal(json_object_get_string(json_object_object_get(obj, "op")), "other");
	json_object_put(obj);

	e.flags = INTERPOSE_F_CLASSIFIED | INTERPOSE_F_PREFLUSH;
	trace_flags_str(&e, flags, sizeof(flags));
	assert_string_equal(flags, "P");
	e.flags = INTERPOSE_F_CLASSIFIED;
	trace_flags_str(&e, flags, sizeof(flags));
	assert_string_equal(flags, "-");
}

/*
 * A record with only the kernel's bi_opf (a program that does not fill in
 * op and flags) is read with the kernel's own numbers, from its BTF: the
 * test kernel's (6.12: REQ_OP_WRITE 1, __REQ_SYNC 11, __REQ_FUA 17,
 * __REQ_PREFLUSH 18).  Without BTF there is no table to fall back on.
 */
static void test_trace_raw_opf(void **state)
{
	struct interpose_event e = {
		.bytes = 4096, .kind = INTERPOSE_EV_COMPLETE,
		.opf = 1 | (1U << 17) | (1U << 11),
	};
	json_object *obj;
	char flags[16];

	(void)state;
	if (access(UNIT_KERNEL_VMLINUX, R_OK))
		fail_msg("%s: not built (make kernel-test)", UNIT_KERNEL_VMLINUX);
	setenv("INTERPOSECTL_KERNEL_BTF", UNIT_KERNEL_VMLINUX, 1);
	trace_reset_kernel_btf();
	obj = trace_event_json(&e, "nullb3");
	assert_string_equal(json_object_to_json_string_ext(
		json_object_object_get(obj, "flags"), JSON_C_TO_STRING_PLAIN),
		"[\"sync\",\"fua\"]");
	assert_string_equal(json_object_get_string(json_object_object_get(obj, "op")), "write");
	json_object_put(obj);
	e.opf = 1 | (1U << 18);
	e.bytes = 0;
	obj = trace_event_json(&e, "nullb3");
	assert_string_equal(json_object_get_string(json_object_object_get(obj, "op")), "flush");
	json_object_put(obj);
	trace_flags_str(&e, flags, sizeof(flags));
	assert_string_equal(flags, "P");
	e.opf = 2;
	obj = trace_event_json(&e, "nullb3");
	assert_string_equal(json_object_get_string(json_object_object_get(obj, "op")), "flush");
	json_object_put(obj);
	e.opf = 7;	/* REQ_OP_ZONE_APPEND */
	obj = trace_event_json(&e, "nullb3");
	assert_string_equal(json_object_get_string(json_object_object_get(obj, "op")), "other");
	json_object_put(obj);
}

/* No BTF: nothing is made up from one kernel's numbers. */
static void test_trace_raw_opf_no_btf(void **state)
{
	struct interpose_event e = {
		.bytes = 4096, .opf = 1 | (1U << 17),
	};
	json_object *obj;

	(void)state;
	setenv("INTERPOSECTL_KERNEL_BTF", "/nonexistent", 1);
	trace_reset_kernel_btf();
	obj = trace_event_json(&e, "nullb3");
	assert_string_equal(json_object_get_string(json_object_object_get(obj, "op")), "other");
	assert_int_equal(json_object_array_length(json_object_object_get(obj, "flags")), 0);
	json_object_put(obj);
	unsetenv("INTERPOSECTL_KERNEL_BTF");
	trace_reset_kernel_btf();
}

static void test_hist_percentile(void **state)
{
	struct interpose_hist h = { 0 };

	(void)state;
	assert_true(hist_percentile(&h, 0.5) == 0);
	h.slots[0] = 100;	/* 0..1 us */
	assert_true(hist_percentile(&h, 0.5) == 1.0);
	assert_true(hist_percentile(&h, 0.999) > 1.99 && hist_percentile(&h, 0.999) < 2.0);
	h.slots[10] = 100;	/* 1024..2047 us */
	assert_true(hist_percentile(&h, 0.5) == 2.0);
	assert_true(hist_percentile(&h, 0.75) == 1024 + 0.5 * 1024);
	h.slots[INTERPOSE_HIST_SLOTS - 1] = 1800;	/* open-ended: its low bound */
	assert_true(hist_percentile(&h, 0.99) == (double)(1ULL << (INTERPOSE_HIST_SLOTS - 1)));
}

static void test_hist_print(void **state)
{
	struct interpose_hist h[INTERPOSE_HIST_NR_OPS] = { 0 };
	json_object *arr, *row;
	char *out;

	(void)state;
	h[INTERPOSE_HIST_WRITE].slots[3] = 10;	/* 8..15 us */
	h[INTERPOSE_HIST_WRITE].slots[5] = 5;	/* 32..63 us */
	h[INTERPOSE_HIST_WRITE].count = 15;
	h[INTERPOSE_HIST_WRITE].sum_ns = 15 * 20000;

	arr = hist_json(h, INTERPOSE_HIST_NR_OPS);
	assert_int_equal(json_object_array_length(arr), 1);
	row = json_object_array_get_idx(arr, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(row, "op")), "write");
	assert_int_equal(json_object_get_int64(json_object_object_get(row, "count")), 15);
	/* slots 3, 4 (empty) and 5 */
	assert_int_equal(json_object_array_length(json_object_object_get(row, "slots")), 3);
	assert_string_equal(json_object_to_json_string_ext(
		json_object_array_get_idx(json_object_object_get(row, "slots"), 0),
		JSON_C_TO_STRING_PLAIN),
		"{\"usecs_min\":8,\"usecs_max\":15,\"count\":10}");
	json_object_put(arr);

	capture_start(1);
	hist_text(stdout, h, INTERPOSE_HIST_NR_OPS);
	fflush(stdout);
	out = capture_end(1);
	assert_non_null(strstr(out, "op = write: 15 bios, average 20.0 us\n"));
	/* p50: rank 7.5 of the 10 in 8..15 us: 8 + 7.5/10 * 8 = 14 */
	assert_non_null(strstr(out, "p50 14.0, p90 54.4, p99 63.0, p99.9 63.9 us (estimated from the slots)\n"));
	assert_non_null(strstr(out, "8 -> 15 : 10         |****************************************|\n"));
	assert_non_null(strstr(out, "32 -> 63 : 5          |********************                    |\n"));
	assert_null(strstr(out, "op = read"));
	free(out);
}

/* No kernel, no pins: the errors name the device and the reason. */
static void test_lib_errors(void **state)
{
	struct interpose_hist h[INTERPOSE_HIST_NR_OPS];
	struct interpose_events *ev = (void *)1;
	interpose_event_fn fn = (void *)1;

	(void)state;
	assert_int_equal(interpose_events__new("nullb0", NULL, NULL, &ev), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(), "no callback"));
	assert_int_equal(interpose_events__new("no-such-dev", fn, NULL, &ev), -ENOENT);
	assert_null(ev);
	assert_non_null(strstr(interpose_errmsg(), "no-such-dev"));
	assert_int_equal(interpose_hist_read("no-such-dev", h, 0), -EINVAL);
	assert_int_equal(interpose_hist_read("no-such-dev", h, INTERPOSE_HIST_NR_OPS),
			 -ENOENT);
	assert_non_null(strstr(interpose_errmsg(), "no-such-dev"));
	assert_int_equal(interpose_events__poll(NULL, 0), -EINVAL);
	interpose_events__free(NULL);
}

static void test_snapshot_parse(void **state)
{
	struct snapshot_args a;

	(void)state;
	assert_int_equal(PARSE(snapshot_parse, "snapshot",
			       ARGV("snapshot", "sdb", "--cow", "sdc"), &a), 0);
	assert_int_equal(a.nr_devs, 1);
	assert_string_equal(a.devs[0], "sdb");
	assert_string_equal(a.cows[0], "sdc");
	assert_int_equal(a.chunk_sectors, 0);
	snapshot_args_free(&a);
	assert_int_equal(PARSE(snapshot_parse, "snapshot",
			       ARGV("snapshot", "sdb", "sdd", "-c", "sdc", "--cow", "sde",
				    "--chunk", "64k", "-n", "b", "-n", "d"), &a), 0);
	assert_int_equal(a.nr_devs, 2);
	assert_string_equal(a.devs[1], "sdd");
	assert_string_equal(a.cows[1], "sde");
	assert_string_equal(a.names[1], "d");
	assert_int_equal(a.chunk_sectors, 128);
	snapshot_args_free(&a);
	assert_int_equal(PARSE(snapshot_parse, "snapshot",
			       ARGV("snapshot", "sdb", "--cow", "sdc", "-C", "512K"), &a), 0);
	assert_int_equal(a.chunk_sectors, 1024);
	snapshot_args_free(&a);
	/* one --cow per device, names all or none, chunk 4k..512k, 2^n */
	assert_int_equal(PARSE(snapshot_parse, "snapshot", ARGV("snapshot", "sdb"), &a),
			 EXIT_USAGE);
	assert_int_equal(PARSE(snapshot_parse, "snapshot",
			       ARGV("snapshot", "sdb", "sdd", "--cow", "sdc"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(snapshot_parse, "snapshot",
			       ARGV("snapshot", "sdb", "sdd", "--cow", "sdc", "--cow", "sde",
				    "--name", "x"), &a), EXIT_USAGE);
	assert_int_equal(PARSE(snapshot_parse, "snapshot", ARGV("snapshot", "--cow", "sdc"), &a),
			 EXIT_USAGE);
	assert_int_equal(PARSE(snapshot_parse, "snapshot",
			       ARGV("snapshot", "sdb", "--cow", "sdc", "--chunk", "3k"), &a),
			 EXIT_USAGE);
	assert_int_equal(PARSE(snapshot_parse, "snapshot",
			       ARGV("snapshot", "sdb", "--cow", "sdc", "--chunk", "2k"), &a),
			 EXIT_USAGE);
	assert_int_equal(PARSE(snapshot_parse, "snapshot",
			       ARGV("snapshot", "sdb", "--cow", "sdc", "--chunk", "1m"), &a),
			 EXIT_USAGE);
	assert_int_equal(PARSE(snapshot_parse, "snapshot",
			       ARGV("snapshot", "sdb", "--cow", "sdc", "--bogus"), &a),
			 EXIT_USAGE);
}

int run_observe_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_parse),
		cmocka_unit_test(test_trace_parse_errors),
		cmocka_unit_test(test_hist_parse),
		cmocka_unit_test(test_cbt_parse),
		cmocka_unit_test(test_cbt_extents),
		cmocka_unit_test(test_trace_event_json),
		cmocka_unit_test(test_hist_percentile),
		cmocka_unit_test(test_trace_raw_opf),
		cmocka_unit_test(test_trace_raw_opf_no_btf),
		cmocka_unit_test(test_hist_print),
		cmocka_unit_test(test_snapshot_parse),
		cmocka_unit_test(test_lib_errors),
	};

	return RUN_GROUP("observe", tests, NULL, NULL, total);
}
