// SPDX-License-Identifier: GPL-2.0
/*
 * Filter expressions (libinterpose/filter.c): the parser's refusals (the
 * column and what was expected), and the compiled code run by the host's
 * kernel: each expression is loaded as a BPF_PROG_TYPE_SYSCALL program,
 * whose context is a buffer the test passes (struct interpose_filter_ctx)
 * and run with BPF_PROG_TEST_RUN for bios of known fields, against what
 * the expression means.  The verifier checks every program on the way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "unit.h"
#include "libinterpose_internal.h"
#include "interpose/libinterpose.h"
#include "interpose/event.h"

/* @expr must be refused with @want in the message */
static void refused(const char *expr, const char *want)
{
	struct interpose_filter *f = NULL;
	int err;

	err = interpose_filter__new(expr, &f);
	if (err != -EINVAL || !strstr(interpose_errmsg(), want))
		fail_msg("'%s': %d '%s', expected -EINVAL and '%s'", expr, err,
			 interpose_errmsg(), want);
	assert_null(f);
}

static void test_filter_refusals(void **state)
{
	(void)state;
	refused("", "column 1: expected a field name, '(' or '!', found the end");
	refused("opp == write", "column 1: unknown field 'opp'");
	refused("op = write", "column 4: unexpected '='");
	refused("op == wrote", "column 7: expected an op (read, write");
	refused("op < write", "column 4: op takes == or != only, not '<'");
	refused("bytes >= 64x", "column 12: expected a number, a size suffix k, M or G, or an operator after 64, found 'x'");
	refused("bytes >= \"a\"", "column 10: expected a number, found \"a\"");
	refused("bytes >=", "column 9: expected a number, found the end");
	refused("(op == read", "column 12: expected ')' to close the '(' of column 1, found the end");
	refused("op == read)", "column 11: expected '&&', '||' or the end, found ')'");
	refused("op == read &&", "column 14: expected a field name or '(', found the end");
	refused("op & 1", "column 4: '&' tests flags only, not op");
	refused("op == read & bytes > 1", "column 12: expected '&&', '||' or the end, found '&'");
	refused("flags & fast", "column 9: expected a flag (sync, meta");
	refused("comm == postgres", "column 9: expected a \"string\" for comm");
	refused("comm == \"abcdefghijklmnop\"", "column 9: \"abcdefghijklmnop\" is longer than a command name (15 characters)");
	refused("comm == \"fio", "column 9: a string without its closing '\"'");
	refused("verdict == maybe", "column 12: expected a verdict (pass, redirect");
	refused("error == ENOTANERRNO", "column 10: expected an errno");
	refused("cgroup == \"/no/such/cgroup/here\"", "column 11: cgroup \"/no/such/cgroup/here\": No such file or directory");
	refused("sector > 99999999999999999999", "column 10: a number out of range");
	refused("bytes > 32G && bytes < 17179869184G", "a number out of range");
	refused("op == read || $", "column 15: unexpected '$'");
	refused("pid", "column 4: expected a comparison (== != < <= > >=) after 'pid', found the end");
	refused("flags", "column 6: expected a comparison (== != < <= > >=) or '&' after 'flags'");
	refused("comm == \"a*bcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv\"",
		"column 9: a pattern longer than 47 characters");
}

/* Hostile sizes: refused with a message, not a crash or a huge program. */
static void test_filter_limits(void **state)
{
	size_t n = 100000, i;
	char *s = malloc(n * 12 + 16), *q;
	struct interpose_filter *f;

	(void)state;
	assert_non_null(s);
	/* 100000 nested '(' and '!' would overflow the stack when parsed */
	memset(s, '(', n);
	strcpy(s + n, "pid == 1");
	refused(s, "column 65: '(' and '!' nest deeper than 64");
	memset(s, '!', n);
	refused(s, "column 65: '(' and '!' nest deeper than 64");
	/* 64 levels are fine */
	q = s;
	for (i = 0; i < 64; i++)
		*q++ = '(';
	q += sprintf(q, "pid == 1");
	for (i = 0; i < 64; i++)
		*q++ = ')';
	*q = '\0';
	assert_int_equal(interpose_filter__new(s, &f), 0);
	interpose_filter__free(f);
	/* a long || chain: its tree is as deep as it is long */
	q = s;
	for (i = 0; i < 20000; i++)
		q += sprintf(q, "%spid == %zu", i ? "||" : "", i);
	refused(s, "more than 256 comparisons");
	q = s;
	for (i = 0; i < 256; i++)
		q += sprintf(q, "%spid == %zu", i ? "||" : "", i);
	assert_int_equal(interpose_filter__new(s, &f), 0);
	assert_true(interpose_filter__insn_cnt(f) > 256);
	interpose_filter__free(f);
	free(s);
}

/*
 * The fields each expression reads at submission, which the library tells
 * a program (interpose_filter_fields) so that it fills only those.
 */
static void reads(const char *expr, __u32 want)
{
	struct interpose_filter *f;

	if (interpose_filter__new(expr, &f))
		fail_msg("'%s' refused: %s", expr, interpose_errmsg());
	if (ip_filter_fields(f) != want)
		fail_msg("'%s': reads %#x, expected %#x", expr,
			 ip_filter_fields(f), want);
	interpose_filter__free(f);
}

static void test_filter_reads(void **state)
{
	(void)state;
	reads("comm == \"nomatch\"", INTERPOSE_FILTER_COMM);
	reads("comm != \"fi*\"", INTERPOSE_FILTER_COMM);
	reads("op == write && (pid == 3 || sector < 10)",
	      INTERPOSE_FILTER_OP | INTERPOSE_FILTER_PID | INTERPOSE_FILTER_SECTOR);
	reads("!(flags & sync) || bytes >= 64k",
	      INTERPOSE_FILTER_FLAGS | INTERPOSE_FILTER_BYTES);
	reads("tid == 1 && cgroup == 77",
	      INTERPOSE_FILTER_TID | INTERPOSE_FILTER_CGROUP);
	/* known at completion only: nothing to fill at submission */
	reads("lat_us > 5 && error == EIO && verdict == pass", 0);
	reads("lat_us > 5 || op == read", INTERPOSE_FILTER_OP);
	/* no filter: the program fills everything */
	assert_int_equal(ip_filter_fields(NULL), INTERPOSE_FILTER_ALL);
}

/* --- running the compiled code -------------------------------------------- */

static int load(const char *expr)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_flags = BPF_F_SLEEPABLE);
	struct interpose_filter *f;
	static char log[65536];
	int fd;

	if (interpose_filter__new(expr, &f))
		fail_msg("'%s' refused: %s", expr, interpose_errmsg());
	o.log_buf = log;
	o.log_size = sizeof(log);
	o.log_level = 0;
	log[0] = '\0';
	fd = bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "filter", "GPL",
			   interpose_filter__insns(f),
			   interpose_filter__insn_cnt(f), &o);
	if (fd < 0 && errno == EPERM) {
		interpose_filter__free(f);
		unit_skip("loading BPF programs needs root");
	}
	if (fd < 0) {
		o.log_level = 1;
		bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "filter", "GPL",
			      interpose_filter__insns(f),
			      interpose_filter__insn_cnt(f), &o);
		fail_msg("'%s': the verifier refused it (%d): %s", expr, -errno,
			 log);
	}
	interpose_filter__free(f);
	return fd;
}

static int run(int fd, const struct interpose_filter_ctx *c)
{
	struct interpose_filter_ctx copy = *c;
	LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = &copy,
		    .ctx_size_in = sizeof(copy));

	if (bpf_prog_test_run_opts(fd, &t))
		fail_msg("test run: %s", strerror(errno));
	return t.retval;
}

/* A write of 64 KiB by postgres at sector 2048, completed in 1500 us. */
static struct interpose_filter_ctx bio(void)
{
	struct interpose_filter_ctx c = {
		.sector = 2048, .cgroup = 77, .lat_us = 1500, .bytes = 65536,
		.flags = INTERPOSE_F_SYNC | INTERPOSE_F_FUA, .pid = 100,
		.tid = 101, .error = 0, .op = INTERPOSE_OP_WRITE,
		.verdict = 0, .phase = INTERPOSE_FILTER_COMPLETE,
		.comm = "postgres",
	};

	return c;
}

/* @expr must give @want for @c */
static void check(const char *expr, const struct interpose_filter_ctx *c,
		  int want)
{
	int fd = load(expr), got = run(fd, c);

	close(fd);
	if (got != want)
		fail_msg("'%s' on %s %u bytes at %llu by %s (phase %u): %d, expected %d",
			 expr, c->op == INTERPOSE_OP_WRITE ? "write" : "another op",
			 c->bytes, (unsigned long long)c->sector, c->comm,
			 c->phase, got, want);
}

static void test_filter_fields(void **state)
{
	struct interpose_filter_ctx c = bio();

	(void)state;
	check("op == write", &c, 1);
	check("op == read", &c, 0);
	check("op != read", &c, 1);
	check("op == WRITE", &c, 1);
	check("bytes >= 64k", &c, 1);
	check("bytes > 64k", &c, 0);
	check("bytes < 65537", &c, 1);
	check("bytes <= 65535", &c, 0);
	check("bytes == 0x10000", &c, 1);
	check("sector == 2048", &c, 1);
	check("sector != 2048", &c, 0);
	check("sector < 1M", &c, 1);
	check("sector > 1G", &c, 0);
	check("pid == 100 && tid == 101", &c, 1);
	check("tid == 100", &c, 0);
	check("flags & fua", &c, 1);
	check("flags & preflush", &c, 0);
	check("flags & 0x9", &c, 1);
	check("flags == 9", &c, 1);
	check("flags != 9", &c, 0);
	check("cgroup == 77", &c, 1);
	check("cgroup != 77", &c, 0);
	check("lat_us >= 1000", &c, 1);
	check("lat_us > 1500", &c, 0);
	check("error == 0", &c, 1);
	check("verdict == pass", &c, 1);
	check("verdict == fail", &c, 0);
	c.error = 5;
	c.verdict = 3;
	check("error == EIO", &c, 1);
	check("error == eio && verdict == fail", &c, 1);
	check("error == 28", &c, 0);
	/* a 64-bit value, beyond 32 bits */
	c.sector = 0x123456789ULL;
	check("sector == 0x123456789", &c, 1);
	check("sector > 0x100000000", &c, 1);
	check("sector < 0x123456789", &c, 0);
}

static void test_filter_comm(void **state)
{
	struct interpose_filter_ctx c = bio();

	(void)state;
	check("comm == \"postgres\"", &c, 1);
	check("comm == \"postgre\"", &c, 0);
	check("comm == \"postgress\"", &c, 0);
	check("comm != \"postgres\"", &c, 0);
	check("comm != \"fio\"", &c, 1);
	check("comm == \"post*\"", &c, 1);
	check("comm == \"*gres\"", &c, 1);
	check("comm == \"*st*\"", &c, 1);
	check("comm == \"p?stgres\"", &c, 1);
	check("comm == \"p?stgre\"", &c, 0);
	check("comm == \"*\"", &c, 1);
	check("comm == \"post*x\"", &c, 0);
	check("comm == \"*s*s\"", &c, 1);
	check("comm == \"**g**\"", &c, 1);
	check("comm == \"??????????\"", &c, 0);
	check("comm != \"post*\"", &c, 0);
	memcpy(c.comm, "kworker/u4:2\0\0\0", 16);
	check("comm == \"kworker/*\"", &c, 1);
	check("comm == \"kworker\"", &c, 0);
	/* a command name of 15 characters, the most */
	memcpy(c.comm, "abcdefghijklmno", 16);
	check("comm == \"abcdefghijklmno\"", &c, 1);
	check("comm == \"abcdefghijklmn\"", &c, 0);
	check("comm == \"*mno\"", &c, 1);
	check("comm == \"a*o\"", &c, 1);
	check("comm == \"a*n\"", &c, 0);
	memset(c.comm, 0, sizeof(c.comm));
	check("comm == \"\"", &c, 1);
	check("comm == \"*\"", &c, 1);
	check("comm == \"?*\"", &c, 0);
}

static void test_filter_logic(void **state)
{
	struct interpose_filter_ctx c = bio();

	(void)state;
	check("op == write && bytes >= 64k && comm == \"postgres\"", &c, 1);
	check("op == write && bytes >= 64k && comm == \"fio\"", &c, 0);
	check("op == read || bytes == 64k", &c, 1);
	check("op == read || bytes == 4k", &c, 0);
	check("!(op == read)", &c, 1);
	check("!op == read", &c, 1);	/* '!' takes the comparison after it */
	check("! ! (op == write)", &c, 1);
	/* && binds tighter than ||: read || (write && 4k) */
	check("op == read || op == write && bytes == 4k", &c, 0);
	check("(op == read || op == write) && bytes == 64k", &c, 1);
	check("op == write || op == read && bytes == 4k", &c, 1);
	check("!(op == write && bytes == 4k) && pid == 100", &c, 1);
	check("((((pid == 100))))", &c, 1);
}

static void test_filter_phases(void **state)
{
	struct interpose_filter_ctx c = bio();

	(void)state;
	/* at submission, completion fields let the expression match */
	c.phase = INTERPOSE_FILTER_SUBMIT;
	c.lat_us = 0;
	check("lat_us > 1000", &c, 1);
	check("!(lat_us > 1000)", &c, 1);
	check("op == read && lat_us > 1000", &c, 0);
	check("op == write && error == EIO", &c, 1);
	check("!(op == write && error == EIO)", &c, 1);
	check("verdict == fail || op == read", &c, 1);
	check("comm == \"fio\" && lat_us > 1", &c, 0);
	/* without a record of the submission, nothing matches */
	c.phase = INTERPOSE_FILTER_UNKNOWN;
	check("op == write", &c, 0);
	check("!(op == read)", &c, 0);
}

/* the names filters take are the ones records are printed with */
static void test_filter_names(void **state)
{
	struct interpose_filter_ctx c = bio();
	char expr[64];
	unsigned int i;

	(void)state;
	assert_string_equal(interpose_op_name(INTERPOSE_OP_WRITE_ZEROES), "write_zeroes");
	assert_null(interpose_op_name(INTERPOSE_OP_NR));
	assert_string_equal(interpose_verdict_name(4), "complete");
	assert_null(interpose_verdict_name(5));
	for (i = 0; i < INTERPOSE_OP_NR; i++) {
		c.op = i;
		snprintf(expr, sizeof(expr), "op == %s", interpose_op_name(i));
		check(expr, &c, 1);
	}
	for (i = 0; interpose_verdict_name(i); i++) {
		c.verdict = i;
		snprintf(expr, sizeof(expr), "verdict == %s", interpose_verdict_name(i));
		check(expr, &c, 1);
	}
	assert_int_equal(i, 5);
}

int run_filter_tests(unsigned int *total)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_refusals),
		cmocka_unit_test(test_filter_limits),
		cmocka_unit_test(test_filter_reads),
		cmocka_unit_test(test_filter_names),
		cmocka_unit_test(test_filter_fields),
		cmocka_unit_test(test_filter_comm),
		cmocka_unit_test(test_filter_logic),
		cmocka_unit_test(test_filter_phases),
	};

	return RUN_GROUP("filter", tests, NULL, NULL, total);
}
