// SPDX-License-Identifier: GPL-2.0
/*
 * BPF object files without a kernel: libbpf opens bpf/tiny.bpf.c (never
 * loads it), and libinterpose finds its ops and name, checks the object,
 * sets its global variables from VAR=VALUE and formats them.  Also the
 * options of attach with a program and of replace, up to where a kernel
 * would be needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "unit.h"
#include "libinterpose_internal.h"

#define WHAT "attach nullb0"

static char obj_path[PATH_MAX];

static const char *obj(const char *variant)
{
	snprintf(obj_path, sizeof(obj_path), "%s/tiny%s%s.bpf.o", UNIT_BPF_DIR,
		 variant ? "_" : "", variant ?: "");
	if (access(obj_path, R_OK))
		unit_skip("no test BPF object (clang-19 missing?)");
	return obj_path;
}

static void expect_msg(const char *msg)
{
	assert_string_equal(interpose_errmsg(), msg);
}

static void open_tiny(struct ip_prog *p)
{
	ip_errmsg_clear();
	assert_int_equal(ip_prog_open(WHAT, obj(NULL), p), 0);
}

/* Set one variable, as interpose_attach() does. */
static int set1(struct ip_prog *p, const char *setting)
{
	const char *vars[] = { setting };

	ip_errmsg_clear();
	return ip_prog_set_vars(WHAT, p, vars, 1);
}

static void *var_data(struct ip_prog *p, const char *name, struct ip_var *v)
{
	char *data;

	assert_int_equal(ip_prog_find_var(p, name, v, &data), 0);
	return data;
}

static void test_open_ops_name(void **state)
{
	struct ip_prog p;

	(void)state;
	open_tiny(&p);
	assert_non_null(p.ops_map);
	assert_string_equal(bpf_map__name(p.ops_map), "tiny");
	assert_string_equal(p.name, "tiny");
	ip_prog_close(&p);
	assert_null(p.obj);
	ip_prog_close(&p);	/* twice is fine */
}

static void test_open_errors(void **state)
{
	struct fake *f = *state;
	struct ip_prog p;
	char msg[PATH_MAX + 256], regular[PATH_MAX + 64];

	snprintf(regular, sizeof(regular), "%s", fake_dev_path(f, "regular"));
	p.obj = (void *)&p;
	assert_int_equal(ip_prog_open(WHAT, "/nonexistent/x.bpf.o", &p), -ENOENT);
	expect_msg(WHAT ": cannot open object /nonexistent/x.bpf.o: no such file");
	assert_null(p.obj);

	/* Not an ELF file: libbpf's own errno becomes EINVAL. */
	assert_int_equal(ip_prog_open(WHAT, regular, &p), -EINVAL);
	snprintf(msg, sizeof(msg), WHAT ": cannot open object %s: ", regular);
	assert_non_null(strstr(interpose_errmsg(), msg));

	assert_int_equal(ip_prog_open(WHAT, obj("no_ops"), &p), -EINVAL);
	snprintf(msg, sizeof(msg), WHAT ": object %s has no blk_interposer_ops struct_ops (declare one with INTERPOSE_OPS())",
		 obj_path);
	expect_msg(msg);

	assert_int_equal(ip_prog_open(WHAT, obj("two_ops"), &p), -EINVAL);
	snprintf(msg, sizeof(msg), WHAT ": object %s has 2 blk_interposer_ops struct_ops (tiny, tiny2), expected one",
		 obj_path);
	expect_msg(msg);

	assert_int_equal(ip_prog_open(WHAT, obj("no_link"), &p), -EINVAL);
	snprintf(msg, sizeof(msg), WHAT ": object %s: struct_ops tiny is not in SEC(\".struct_ops.link\")",
		 obj_path);
	expect_msg(msg);

	assert_int_equal(ip_prog_open(WHAT, obj("other_type"), &p), -EINVAL);
	snprintf(msg, sizeof(msg), WHAT ": object %s: struct_ops other is a other_ops, not a blk_interposer_ops",
		 obj_path);
	expect_msg(msg);
}

/* The object from memory and from the caller's bpf_object. */
static void test_open_mem_and_obj(void **state)
{
	struct bpf_object *bo;
	struct ip_prog p;
	char *buf = NULL;
	size_t sz = 0;
	FILE *f;

	(void)state;
	f = fopen(obj(NULL), "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	rewind(f);
	buf = malloc(sz);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, sz, f), sz);
	fclose(f);

	ip_errmsg_clear();
	assert_int_equal(ip_prog_open_mem(WHAT, buf, sz, &p), 0);
	assert_string_equal(p.name, "tiny");
	assert_string_equal(p.path, "in memory");
	assert_false(p.borrowed);
	ip_prog_close(&p);
	assert_int_equal(ip_prog_open_mem(WHAT, buf, 16, &p), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       WHAT ": cannot open the object in memory (16 bytes): "));
	free(buf);

	bo = bpf_object__open_file(obj(NULL), NULL);
	assert_non_null(bo);
	assert_int_equal(ip_prog_use_obj(WHAT, bo, &p), 0);
	assert_true(p.borrowed);
	assert_false(p.loaded);
	assert_string_equal(p.name, "tiny");
	assert_int_equal(ip_prog_set_name(WHAT, &p, "renamed"), 0);
	ip_prog_close(&p);
	/* still the caller's, and renamed in it */
	assert_int_equal(ip_prog_use_obj(WHAT, bo, &p), 0);
	assert_string_equal(p.name, "renamed");
	ip_prog_close(&p);
	bpf_object__close(bo);
}

/* The shared library refuses the application's bpf_object. */
static void test_prog_obj_shared(void **state)
{
	struct bpf_object *bo;
	struct ip_prog p;

	(void)state;
	bo = bpf_object__open_file(obj(NULL), NULL);
	assert_non_null(bo);
	ip_libbpf_private = true;
	ip_errmsg_clear();
	assert_int_equal(ip_prog_use_obj(WHAT, bo, &p), -EOPNOTSUPP);
	ip_libbpf_private = false;
	expect_msg(WHAT ": the shared libinterpose has a libbpf of its own and cannot take the application's bpf_object: link the static library (pkg-config --static) or pass the object's bytes (prog_buf, a skeleton's NAME__elf_bytes())");
	bpf_object__close(bo);
}

static void test_set_typed_vars(void **state)
{
	__u32 mode = 42;
	__u64 split = 1ULL << 40;
	char label[8] = "xyz";
	struct interpose_var ok[] = {
		{ "mode", &mode, sizeof(mode) },
		{ "split", &split, sizeof(split) },
		{ "label", label, sizeof(label) },
	};
	struct interpose_var small = { "split", &mode, sizeof(mode) };
	struct interpose_var none = { "nosuch", &mode, sizeof(mode) };
	struct interpose_var noval = { "mode", NULL, 4 };
	struct ip_prog p;
	struct ip_var v;

	(void)state;
	open_tiny(&p);
	assert_int_equal(ip_prog_set_typed_vars(WHAT, &p, ok, 3), 0);
	assert_int_equal(*(__u32 *)var_data(&p, "mode", &v), 42);
	assert_true(*(__u64 *)var_data(&p, "split", &v) == 1ULL << 40);
	assert_string_equal((char *)var_data(&p, "label", &v), "xyz");
	assert_int_equal(ip_prog_set_typed_vars(WHAT, &p, &small, 1), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       ": variable split has 8 bytes, the value given 4"));
	assert_true(*(__u64 *)var_data(&p, "split", &v) == 1ULL << 40);
	assert_int_equal(ip_prog_set_typed_vars(WHAT, &p, &none, 1), -ENOENT);
	assert_non_null(strstr(interpose_errmsg(), "has no global variable nosuch"));
	assert_int_equal(ip_prog_set_typed_vars(WHAT, &p, &noval, 1), -EINVAL);
	expect_msg(WHAT ": vars[0] has no value");
	/* an object the caller loaded takes no settings */
	p.loaded = true;
	assert_int_equal(ip_prog_not_loaded(WHAT, &p, "variables can be set"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       "is loaded already: variables can be set only before it is loaded"));
	assert_int_equal(ip_prog_set_name(WHAT, &p, "other"), -EINVAL);
	assert_int_equal(ip_prog_set_name(WHAT, &p, "tiny"), 0);
	p.loaded = false;
	ip_prog_close(&p);
}

static void test_set_integers(void **state)
{
	struct ip_prog p;
	struct ip_var v;

	(void)state;
	open_tiny(&p);
	assert_int_equal(set1(&p, "mode=3"), 0);
	assert_int_equal(*(__u32 *)var_data(&p, "mode", &v), 3);
	assert_int_equal(v.size, 4);
	assert_int_equal(set1(&p, "mode=0x10"), 0);
	assert_int_equal(*(__u32 *)var_data(&p, "mode", &v), 16);
	assert_int_equal(set1(&p, "mode=4294967295"), 0);
	assert_int_equal(*(__u32 *)var_data(&p, "mode", &v), 0xffffffffU);
	assert_int_equal(set1(&p, "mode=0XfF"), 0);
	assert_int_equal(*(__u32 *)var_data(&p, "mode", &v), 255);
	/* Leading zeroes are decimal, not octal. */
	assert_int_equal(set1(&p, "mode=010"), 0);
	assert_int_equal(*(__u32 *)var_data(&p, "mode", &v), 10);

	assert_int_equal(set1(&p, "split=18446744073709551615"), 0);
	assert_true(*(__u64 *)var_data(&p, "split", &v) == ~0ULL);
	assert_int_equal(set1(&p, "offset=-9223372036854775808"), 0);
	assert_true(*(__s64 *)var_data(&p, "offset", &v) == INT64_MIN);
	assert_int_equal(set1(&p, "offset=9223372036854775807"), 0);
	assert_true(*(__s64 *)var_data(&p, "offset", &v) == INT64_MAX);
	assert_int_equal(set1(&p, "s8v=-128"), 0);
	assert_int_equal(*(__s8 *)var_data(&p, "s8v", &v), -128);
	assert_int_equal(set1(&p, "s16v=-0x10"), 0);
	assert_int_equal(*(__s16 *)var_data(&p, "s16v", &v), -16);
	assert_int_equal(set1(&p, "u16v=65535"), 0);
	assert_int_equal(*(__u16 *)var_data(&p, "u16v", &v), 65535);
	assert_int_equal(set1(&p, "error=-5"), 0);
	assert_int_equal(*(__s32 *)var_data(&p, "error", &v), -5);
	assert_int_equal(set1(&p, "u8v=+200"), 0);
	assert_int_equal(*(__u8 *)var_data(&p, "u8v", &v), 200);
	/* .bss and .data too */
	assert_int_equal(set1(&p, "counter=12"), 0);
	assert_int_equal(*(__u64 *)var_data(&p, "counter", &v), 12);
	assert_int_equal(set1(&p, "data_val=1"), 0);
	assert_int_equal(*(__u32 *)var_data(&p, "data_val", &v), 1);
	ip_prog_close(&p);
}

static void test_set_ranges(void **state)
{
	struct ip_prog p;
	char msg[PATH_MAX + 256];
	struct ip_var v;

	(void)state;
	open_tiny(&p);
	assert_int_equal(set1(&p, "u8v=256"), -EINVAL);
	assert_int_equal(errno, EINVAL);
	snprintf(msg, sizeof(msg), WHAT ": object %s: variable u8v: bad value '256' for __u8: out of range (0..255)",
		 obj_path);
	expect_msg(msg);
	/* Unchanged after a refused value. */
	assert_int_equal(*(__u8 *)var_data(&p, "u8v", &v), 7);

	assert_int_equal(set1(&p, "u8v=-1"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(), "bad value '-1' for __u8: out of range (0..255)"));
	assert_int_equal(set1(&p, "s8v=-129"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(), "bad value '-129' for __s8: out of range (-128..127)"));
	assert_int_equal(set1(&p, "s8v=128"), -EINVAL);
	assert_int_equal(set1(&p, "s16v=32768"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(), "(-32768..32767)"));
	assert_int_equal(set1(&p, "mode=4294967296"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(), "out of range (0..4294967295)"));
	assert_int_equal(set1(&p, "split=18446744073709551616"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(), "out of range (0..18446744073709551615)"));
	assert_int_equal(set1(&p, "offset=-9223372036854775809"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       "out of range (-9223372036854775808..9223372036854775807)"));
	assert_int_equal(set1(&p, "offset=9223372036854775808"), -EINVAL);
	ip_prog_close(&p);
}

static void test_set_not_numbers(void **state)
{
	static const char *const bad[] = {
		"mode=abc", "mode=", "mode=12x", "mode=0x", "mode=--1",
		"mode=1.5", "mode= 1", "mode=0x1g",
	};
	struct ip_prog p;
	char want[128];
	size_t i;

	(void)state;
	open_tiny(&p);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(set1(&p, bad[i]), -EINVAL);
		snprintf(want, sizeof(want), "variable mode: bad value '%s' for __u32: not a number",
			 bad[i] + strlen("mode="));
		assert_non_null(strstr(interpose_errmsg(), want));
	}
	ip_prog_close(&p);
}

static void test_set_bool_enum_string(void **state)
{
	struct ip_prog p;
	struct ip_var v;
	char *label;

	(void)state;
	open_tiny(&p);
	assert_int_equal(set1(&p, "enabled=true"), 0);
	assert_int_equal(*(__u8 *)var_data(&p, "enabled", &v), 1);
	assert_int_equal(set1(&p, "enabled=0"), 0);
	assert_int_equal(*(__u8 *)var_data(&p, "enabled", &v), 0);
	assert_int_equal(set1(&p, "enabled=yes"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       "bad value 'yes' for _Bool: expected true or false"));

	assert_int_equal(set1(&p, "emode=TINY_NEG"), 0);
	assert_int_equal(*(__s32 *)var_data(&p, "emode", &v), -3);
	assert_int_equal(set1(&p, "emode=1"), 0);
	assert_int_equal(*(__s32 *)var_data(&p, "emode", &v), 1);
	assert_int_equal(set1(&p, "emode=-2"), 0);
	assert_int_equal(*(__s32 *)var_data(&p, "emode", &v), -2);
	assert_int_equal(set1(&p, "emode=TINY_NOPE"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       "bad value 'TINY_NOPE' for enum tiny_mode: not a number"));
	assert_int_equal(set1(&p, "ebig=TINY_BIG"), 0);
	assert_true(*(__u64 *)var_data(&p, "ebig", &v) == 0x100000000ULL);

	assert_int_equal(set1(&p, "label=hello"), 0);
	label = var_data(&p, "label", &v);
	assert_int_equal(v.size, 8);
	assert_memory_equal(label, "hello\0\0\0", 8);
	assert_int_equal(set1(&p, "label="), 0);
	assert_memory_equal(label, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(set1(&p, "label=1234567"), 0);
	assert_memory_equal(label, "1234567\0", 8);
	assert_int_equal(set1(&p, "label=12345678"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       "variable label: value '12345678' is too long for char[8] (at most 7 characters)"));
	/* Unchanged after a refused value. */
	assert_memory_equal(label, "1234567\0", 8);
	ip_prog_close(&p);
}

static void test_set_errors(void **state)
{
	const char *two[] = { "mode=1", "nosuch=2" };
	struct ip_prog p;
	char msg[PATH_MAX + 128];
	struct ip_var v;

	(void)state;
	open_tiny(&p);
	assert_int_equal(set1(&p, "nosuch=1"), -ENOENT);
	assert_int_equal(errno, ENOENT);
	snprintf(msg, sizeof(msg), WHAT ": object %s has no global variable nosuch",
		 obj_path);
	expect_msg(msg);
	/* Functions, sections and the struct_ops are no variables. */
	assert_int_equal(set1(&p, "tiny_submit=1"), -ENOENT);
	assert_int_equal(set1(&p, "tiny=1"), -ENOENT);
	assert_int_equal(set1(&p, "LICENSE=x"), -ENOENT);

	assert_int_equal(set1(&p, "mode"), -EINVAL);
	expect_msg(WHAT ": bad variable setting 'mode' (expected VAR=VALUE)");
	assert_int_equal(set1(&p, "=1"), -EINVAL);
	expect_msg(WHAT ": bad variable setting '=1' (expected VAR=VALUE)");

	assert_int_equal(set1(&p, "pair=1"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       "variable pair: a variable of type struct pair cannot be set"));
	assert_int_equal(set1(&p, "arr=1"), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       "variable arr: a variable of type __u32[3] cannot be set"));

	/* Settings apply in order up to the first bad one. */
	assert_int_equal(ip_prog_set_vars(WHAT, &p, two, 2), -ENOENT);
	assert_int_equal(*(__u32 *)var_data(&p, "mode", &v), 1);
	ip_prog_close(&p);
}

static void test_set_name(void **state)
{
	struct ip_prog p;

	(void)state;
	open_tiny(&p);
	assert_int_equal(ip_prog_set_name(WHAT, &p, "other.name_2"), 0);
	assert_string_equal(p.name, "other.name_2");
	assert_int_equal(ip_prog_set_name(WHAT, &p, "x"), 0);
	/* The rest of the old name is cleared. */
	assert_memory_equal(p.name, "x\0\0\0\0\0\0\0\0\0\0\0\0", 13);
	assert_int_equal(ip_prog_set_name(WHAT, &p, "bad-name"), -EINVAL);
	expect_msg(WHAT ": ops name 'bad-name' may only have letters, digits, '_' and '.'");
	assert_int_equal(ip_prog_set_name(WHAT, &p, ""), -EINVAL);
	assert_int_equal(ip_prog_set_name(WHAT, &p,
					  "a_name_that_is_far_too_long_for_it"),
			 -EINVAL);
	expect_msg(WHAT ": ops name 'a_name_that_is_far_too_long_for_it' must have 1 to 31 characters");
	assert_string_equal(p.name, "x");
	ip_prog_close(&p);
}

static const char *fmt_var(struct ip_prog *p, const char *name)
{
	static char buf[256];
	struct ip_var v;
	void *data = var_data(p, name, &v);

	assert_int_equal(ip_var_format(&v, data, buf, sizeof(buf)), 0);
	return buf;
}

static void test_format(void **state)
{
	struct ip_prog p;
	struct ip_var v;
	char small[4];
	void *data;
	__u64 x;

	(void)state;
	open_tiny(&p);
	assert_string_equal(fmt_var(&p, "u8v"), "7");
	assert_string_equal(fmt_var(&p, "error"), "5");
	assert_string_equal(fmt_var(&p, "label"), "\"abc\"");
	assert_string_equal(fmt_var(&p, "arr"), "[1, 2, 3]");
	assert_string_equal(fmt_var(&p, "enabled"), "false");
	assert_string_equal(fmt_var(&p, "pair"), "\"0x0000000000000000\"");
	assert_string_equal(fmt_var(&p, "data_val"), "9");
	assert_int_equal(set1(&p, "s16v=-300"), 0);
	assert_string_equal(fmt_var(&p, "s16v"), "-300");
	assert_int_equal(set1(&p, "split=0xffffffffffffffff"), 0);
	assert_string_equal(fmt_var(&p, "split"), "18446744073709551615");
	assert_int_equal(set1(&p, "emode=TINY_NEG"), 0);
	assert_string_equal(fmt_var(&p, "emode"), "-3");
	assert_int_equal(set1(&p, "label=a\"b\\c"), 0);
	assert_string_equal(fmt_var(&p, "label"), "\"a\\\"b\\\\c\"");

	data = var_data(&p, "s16v", &v);
	assert_int_equal(ip_var_int(&v, data, &x), 0);
	assert_true((__s64)x == -300);
	data = var_data(&p, "label", &v);
	assert_int_equal(ip_var_int(&v, data, &x), -EINVAL);
	assert_int_equal(ip_var_format(&v, data, small, sizeof(small)),
			 -ENAMETOOLONG);
	ip_prog_close(&p);
}

static void test_type_str(void **state)
{
	struct ip_prog p;
	struct ip_var v;
	char buf[64];

	(void)state;
	open_tiny(&p);
	var_data(&p, "label", &v);
	ip_btf_type_str(v.btf, v.type_id, buf, sizeof(buf));
	assert_string_equal(buf, "char[8]");
	var_data(&p, "emode", &v);
	ip_btf_type_str(v.btf, v.type_id, buf, sizeof(buf));
	assert_string_equal(buf, "enum tiny_mode");
	var_data(&p, "counter", &v);
	ip_btf_type_str(v.btf, v.type_id, buf, sizeof(buf));
	assert_string_equal(buf, "__u64");
	ip_prog_close(&p);
}

static void test_verifier_reason(void **state)
{
	static const char log[] =
		"0: R1=ctx() R10=fp0\n"
		"; v->target = 1; @ bad.bpf.c:12\n"
		"3: (63) *(u32 *)(r1 +0) = r2\n"
		"only struct blk_interposer_verdict is writable\n"
		"processed 4 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
		"-- END PROG LOAD LOG --\n"
		"libbpf: prog 'x': failed to load: -13\n";
	char buf[128];

	(void)state;
	ip_verifier_reason(log, buf, sizeof(buf));
	assert_string_equal(buf, "only struct blk_interposer_verdict is writable");
	ip_verifier_reason("", buf, sizeof(buf));
	assert_string_equal(buf, "");
	ip_verifier_reason("processed 1 insns\n", buf, sizeof(buf));
	assert_string_equal(buf, "");
	ip_verifier_reason("R1 invalid mem access 'scalar'   \n\n", buf, sizeof(buf));
	assert_string_equal(buf, "R1 invalid mem access 'scalar'");
}

static int attach_prog(const char *dev, const char *prog, size_t nvars,
		       const char *const *vars, const char *ops)
{
	LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
		.prog_path = prog,
		.set_vars = vars,
		.nr_set_vars = nvars,
		.ops_name = ops,
	);
	return interpose_attach(dev, &opts);
}

static void test_attach_prog_opts(void **state)
{
	const char *vars[] = { "mode=1" };
	const char *targets[] = { "nullb1" };

	(void)state;
	assert_int_equal(attach_prog("nullb0", NULL, 1, vars, "x"), -EINVAL);
	expect_msg("attach nullb0: variables can only be set for a program");
	assert_int_equal(attach_prog("nullb0", "t.bpf.o", 1, NULL, NULL), -EINVAL);
	expect_msg("attach nullb0: nr_set_vars is 1 but set_vars is NULL");
	{
		static const char buf[4];
		struct interpose_var tv = { "mode", buf, 4 };
		LIBINTERPOSE_OPTS(interpose_attach_opts, o2,
			.prog_path = "t.bpf.o", .prog_buf = buf,
			.prog_buf_sz = sizeof(buf));

		assert_int_equal(interpose_attach("nullb0", &o2), -EINVAL);
		expect_msg("attach nullb0: more than one of prog_path, prog_obj and prog_buf given");
		o2.prog_path = NULL;
		o2.prog_buf_sz = 0;
		assert_int_equal(interpose_attach("nullb0", &o2), -EINVAL);
		expect_msg("attach nullb0: prog_buf_sz is 0");
		o2.prog_buf = NULL;
		o2.nr_vars = 1;
		assert_int_equal(interpose_attach("nullb0", &o2), -EINVAL);
		expect_msg("attach nullb0: nr_vars is 1 but vars is NULL");
		o2.vars = &tv;
		o2.targets = (const char *const[]){ "nullb1" };
		o2.nr_targets = 1;
		assert_int_equal(interpose_attach("nullb0", &o2), -EINVAL);
		expect_msg("attach nullb0: variables can only be set for a program");
	}
	/* A program needs no target: the checks pass, the node is missing. */
	assert_int_equal(attach_prog("nullb0", "t.bpf.o", 1, vars, NULL), -ENOENT);
	expect_msg("attach nullb0: cannot open: no device node");
	/* With a program, target 0 need not be as large as the original. */
	LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
		.targets = targets, .nr_targets = 1, .prog_path = "t.bpf.o");
	targets[0] = "nullsmall";
	assert_int_equal(interpose_attach("nullb0", &opts), -ENOENT);
	expect_msg("attach nullb0: cannot open: no device node");
	/* An empty path is no program. */
	opts.prog_path = "";
	assert_int_equal(interpose_attach("nullb0", &opts), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(), "is smaller than the original"));
	/* A filter goes into a program from a file or bytes, nothing else. */
	{
		LIBINTERPOSE_OPTS(interpose_attach_opts, fo,
			.ops_name = "trace", .filter = "op == write",
			.flags = INTERPOSE_ATTACH_OBSERVER);

		assert_int_equal(interpose_attach("nullb0", &fo), -EINVAL);
		expect_msg("attach nullb0: a filter goes into a program given by prog_path or prog_buf (not an ops name, not an opened object)");
		/* a bad one is refused before the program is even looked for */
		fo.ops_name = NULL;
		fo.prog_path = "/nonexistent/t.bpf.o";
		fo.filter = "op == write &&";
		assert_int_equal(interpose_attach("nullb0", &fo), -EINVAL);
		assert_non_null(strstr(interpose_errmsg(), "column 15: expected a field name or '(', found the end"));
	}
}

/*
 * A program whose interpose_filter_fields is not the __u32 the library
 * writes is refused before the load, not given a value cut short.
 */
static void test_filter_fields_size(void **state)
{
	struct interpose_filter *f;
	struct ip_prog p;

	(void)state;
	ip_errmsg_clear();
	assert_int_equal(ip_prog_open(WHAT, obj("fields_u64"), &p), 0);
	assert_int_equal(ip_filter_compile("op == write", &f), 0);
	p.filter = f;
	assert_int_equal(ip_prog_load(WHAT, &p), -EINVAL);
	assert_non_null(strstr(interpose_errmsg(),
			       "tiny_fields_u64.bpf.o: interpose_filter_fields has 8 bytes, not the 4 of a __u32"));
	ip_prog_close(&p);
}

/* The options of a caller built against 0.1: they end at flags. */
struct attach_opts_v0_1 {
	size_t sz;
	const char * const *targets;
	size_t nr_targets;
	const char *ops_name;
	__u32 flags;
};
_Static_assert(offsetof(struct attach_opts_v0_1, flags) ==
	       offsetof(struct interpose_attach_opts, flags) &&
	       offsetof(struct attach_opts_v0_1, ops_name) ==
	       offsetof(struct interpose_attach_opts, ops_name) &&
	       offsetof(struct attach_opts_v0_1, targets) ==
	       offsetof(struct interpose_attach_opts, targets),
	       "0.1's fields moved");

/*
 * Like such a caller: the structure ends where a page ends and the next
 * page is not mapped, so reading past its sz faults.
 */
static int attach_v0_1_guarded(const struct attach_opts_v0_1 *o)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct attach_opts_v0_1 *at;
	char *map;
	int ret;

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + pg, pg, PROT_NONE), 0);
	at = (void *)(map + pg - sizeof(*at));
	*at = *o;
	at->sz = sizeof(*at);
	ret = interpose_attach("nullb0", (const struct interpose_attach_opts *)at);
	munmap(map, 2 * pg);
	return ret;
}

/*
 * Its fields in a whole structure whose sz ends at flags, every later
 * field set to what would change the outcome if it were read: a program,
 * a variable setting without its array, a dm table (every case has
 * targets or an ops, so a dm table read is refused before it is used).
 */
static int attach_v0_1_poisoned(const struct attach_opts_v0_1 *o)
{
	struct interpose_attach_opts opts;

	memset(&opts, 0, sizeof(opts));
	memcpy(&opts, o, offsetofend(struct attach_opts_v0_1, flags));
	opts.sz = offsetofend(struct interpose_attach_opts, flags);
	opts.prog_path = "t.bpf.o";
	opts.set_vars = NULL;
	opts.nr_set_vars = 1;
	opts.dm_table = "0 8 zero";
	return interpose_attach("nullb0", &opts);
}

/*
 * Each case's outcome depends on a 0.1 field being used and on no later
 * field being read: dropping ops_name makes case 1 a plain redirect to a
 * smaller target, dropping targets makes case 2 "no target given",
 * dropping flags makes case 3 pass; reading prog_path makes case 2 pass,
 * reading the variables or the dm table refuses cases 1 to 3 for them.
 */
static void test_attach_opts_v0_1(void **state)
{
	static const char *const small[] = { "nullsmall" };
	static const struct {
		struct attach_opts_v0_1 o;
		int err;
		const char *msg;
	} cases[] = {
		{ { .targets = small, .nr_targets = 1, .ops_name = "myops" },
		  -ENOENT, "attach nullb0: cannot open: no device node" },
		{ { .targets = small, .nr_targets = 1 },
		  -EINVAL, "attach nullb0: target nullsmall is smaller than the original (16777216 < 67108864 bytes)" },
		{ { .ops_name = "myops", .flags = 4 },
		  -EINVAL, "attach nullb0: unknown flags 0x4" },
	};
	size_t i;
	int ret;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ret = attach_v0_1_poisoned(&cases[i].o);
		if (ret != cases[i].err || strcmp(interpose_errmsg(), cases[i].msg))
			fail_msg("case %zu, fields past sz set: got %d '%s', expected %d '%s'",
				 i + 1, ret, interpose_errmsg(), cases[i].err,
				 cases[i].msg);
		ret = attach_v0_1_guarded(&cases[i].o);
		if (ret != cases[i].err || strcmp(interpose_errmsg(), cases[i].msg))
			fail_msg("case %zu, 0.1-sized structure: got %d '%s', expected %d '%s'",
				 i + 1, ret, interpose_errmsg(), cases[i].err,
				 cases[i].msg);
	}
}

static int replace(const char *dev, const char *prog, size_t nvars,
		   const char *const *vars)
{
	LIBINTERPOSE_OPTS(interpose_replace_opts, opts,
		.prog_path = prog,
		.set_vars = vars,
		.nr_set_vars = nvars,
	);
	return interpose_replace(dev, &opts);
}

static void test_replace_opts(void **state)
{
	struct {
		struct interpose_replace_opts opts;
		char tail[8];
	} big;

	(void)state;
	assert_int_equal(replace("nullb0", NULL, 0, NULL), -EINVAL);
	expect_msg("replace nullb0: no program given");
	assert_int_equal(interpose_replace("nullb0", NULL), -EINVAL);
	expect_msg("replace nullb0: no program given");
	assert_int_equal(replace("nullb0", "t.bpf.o", 2, NULL), -EINVAL);
	expect_msg("replace nullb0: nr_set_vars is 2 but set_vars is NULL");
	assert_int_equal(replace(NULL, "t.bpf.o", 0, NULL), -EINVAL);
	expect_msg("replace: no device given");
	assert_int_equal(replace("nosuchdev", "t.bpf.o", 0, NULL), -ENOENT);
	expect_msg("replace nosuchdev: no such device");
	assert_int_equal(replace("nullb0", "t.bpf.o", 0, NULL), -ENOENT);
	expect_msg("replace nullb0: no program is pinned for it (it was not attached with a program file)");

	memset(&big, 0, sizeof(big));
	big.opts.sz = sizeof(big);
	big.opts.prog_path = "t.bpf.o";
	big.tail[3] = 1;
	assert_int_equal(interpose_replace("nullb0", &big.opts), -E2BIG);
	expect_msg("replace nullb0: options have non-zero fields unknown to this library");
	LIBINTERPOSE_OPTS(interpose_replace_opts, opts, .prog_path = "t.bpf.o",
			  .flags = 1);
	assert_int_equal(interpose_replace("nullb0", &opts), -EINVAL);
	expect_msg("replace nullb0: unknown flags 0x1");
}

static void test_prog_var_no_pins(void **state)
{
	char buf[64];
	__u64 val;

	(void)state;
	assert_int_equal(interpose_prog_var("nullb0", "submitted", &val), -ENOENT);
	expect_msg("var nullb0: no program is pinned for it (it was not attached with a program file)");
	assert_int_equal(interpose_prog_var_fmt("nosuchdev", "x", buf, sizeof(buf)),
			 -ENOENT);
	expect_msg("var nosuchdev: no such device");
	assert_int_equal(interpose_prog_var("nullb0", "", &val), -EINVAL);
	expect_msg("var nullb0: no variable name given");
	assert_int_equal(interpose_prog_var("nullb0", "x", NULL), -EINVAL);
	assert_int_equal(interpose_prog_map_fd("nullb0", "bss"), -ENOENT);
	expect_msg("map nullb0: no program is pinned for it (it was not attached with a program file)");
	assert_int_equal(interpose_prog_map_fd("nullb0", "../x"), -EINVAL);
	expect_msg("map nullb0: bad map name '../x'");
}

static void test_prog_handle_errors(void **state)
{
	struct interpose_prog *p = (void *)1;
	__u64 val = 1;

	(void)state;
	assert_int_equal(interpose_prog__open("nullb0", &p), -ENOENT);
	expect_msg("prog nullb0: no program is pinned for it (it was not attached with a program file)");
	assert_null(p);
	assert_int_equal(interpose_prog__open("nosuchdev", &p), -ENOENT);
	expect_msg("prog nosuchdev: no such device");
	assert_int_equal(interpose_prog__open("nullb0", NULL), -EINVAL);
	expect_msg("prog nullb0: no result pointer given");
	interpose_prog__free(NULL);
	assert_int_equal(interpose_prog__map_fd(NULL, "bss"), -EINVAL);
	assert_int_equal(interpose_prog__var(NULL, "x", &val), -EINVAL);
	assert_int_equal(interpose_prog__set_var(NULL, "x", &val, sizeof(val)),
			 -EINVAL);
	assert_int_equal(interpose_prog__hist_read(NULL, NULL, 0), -EINVAL);
	assert_int_equal(interpose_prog__events(NULL, NULL, NULL, NULL), -EINVAL);
}

int run_prog_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_ops_name),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_mem_and_obj),
		cmocka_unit_test(test_prog_handle_errors),
		cmocka_unit_test(test_prog_obj_shared),
		cmocka_unit_test(test_set_typed_vars),
		cmocka_unit_test(test_set_integers),
		cmocka_unit_test(test_set_ranges),
		cmocka_unit_test(test_set_not_numbers),
		cmocka_unit_test(test_set_bool_enum_string),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_set_name),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_type_str),
		cmocka_unit_test(test_verifier_reason),
		cmocka_unit_test(test_attach_prog_opts),
		cmocka_unit_test(test_filter_fields_size),
		cmocka_unit_test(test_attach_opts_v0_1),
		cmocka_unit_test(test_replace_opts),
		cmocka_unit_test(test_prog_var_no_pins),
	};

	return RUN_GROUP("prog", tests, fake_setup, fake_teardown, total);
}
