// SPDX-License-Identifier: GPL-2.0
/*
 * libinterpose's device-mapper table parser (dm.c), without a kernel:
 * the dm_target_spec records it builds and its refusals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/dm-ioctl.h>

#include "unit.h"
#include "libinterpose_internal.h"

#define BUFSZ 4096

struct parsed {
	union {
		struct dm_ioctl io;
		char buf[BUFSZ];
	} u;
	__u64 sectors;
	char **args;
	size_t nargs;
};

static int parse(const char *table, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	/* Poisoned: on a refusal the parser must clear them itself. */
	p->args = (char **)p;
	p->nargs = 99;
	p->u.io.data_start = sizeof(p->u.io);
	p->u.io.data_size = BUFSZ;
	return ip_dm_parse_table("attach /dev/x", table, &p->u.io, BUFSZ,
				 &p->sectors, &p->args, &p->nargs);
}

static void parsed_free(struct parsed *p)
{
	size_t i;

	for (i = 0; i < p->nargs; i++)
		free(p->args[i]);
	free(p->args);
}

static struct dm_target_spec *spec_at(struct parsed *p, unsigned int idx)
{
	char *at = p->u.buf + p->u.io.data_start;

	while (idx--)
		at += ((struct dm_target_spec *)at)->next;
	return (struct dm_target_spec *)at;
}

static void test_one_target(void **state)
{
	struct parsed p;
	struct dm_target_spec *s;

	(void)state;
	assert_int_equal(parse("0 262144 linear /dev/nullb0 0", &p), 0);
	assert_int_equal(p.u.io.target_count, 1);
	assert_int_equal(p.sectors, 262144);
	s = spec_at(&p, 0);
	assert_int_equal(s->sector_start, 0);
	assert_int_equal(s->length, 262144);
	assert_string_equal(s->target_type, "linear");
	assert_string_equal((char *)(s + 1), "/dev/nullb0 0");
	assert_int_equal(s->next % 8, 0);
	assert_int_equal(p.nargs, 1);
	assert_string_equal(p.args[0], "/dev/nullb0 0");
	parsed_free(&p);
}

static void test_several_targets(void **state)
{
	struct parsed p;
	struct dm_target_spec *s;

	(void)state;
	assert_int_equal(parse("  0 8 linear 251:0 0 ;8 16 zero\n"
			       "24 40 flakey /dev/a 24 1 2 1 drop_writes  \n", &p), 0);
	assert_int_equal(p.u.io.target_count, 3);
	assert_int_equal(p.sectors, 64);
	s = spec_at(&p, 1);
	assert_int_equal(s->sector_start, 8);
	assert_string_equal(s->target_type, "zero");
	assert_string_equal((char *)(s + 1), "");
	s = spec_at(&p, 2);
	assert_string_equal(s->target_type, "flakey");
	assert_string_equal((char *)(s + 1), "/dev/a 24 1 2 1 drop_writes");
	assert_int_equal(p.u.io.data_size, (char *)s + s->next - p.u.buf);
	parsed_free(&p);
}

static void expect_refused(const char *table, int err, const char *msg)
{
	struct parsed p;

	assert_int_equal(parse(table, &p), -err);
	assert_null(p.args);
	assert_int_equal(p.nargs, 0);
	if (!strstr(interpose_errmsg(), msg))
		fail_msg("'%.40s': message '%s' lacks '%s'", table,
			 interpose_errmsg(), msg);
	assert_non_null(strstr(interpose_errmsg(), "attach /dev/x: "));
}

static void test_refusals(void **state)
{
	char big[BUFSZ + 64];

	(void)state;
	expect_refused("", EINVAL, "the dm table is empty");
	expect_refused(" ;\n ; ", EINVAL, "the dm table is empty");
	expect_refused("x 8 linear /dev/a 0", EINVAL, "line 1: no start sector");
	expect_refused("0 linear /dev/a 0", EINVAL, "line 1: no length");
	expect_refused("0 0 linear /dev/a 0", EINVAL, "line 1: no length");
	expect_refused("0 8", EINVAL, "line 1: no length");
	expect_refused("0 8 linear /dev/a 0\n16 8 linear /dev/a 8", EINVAL,
		       "line 2 starts at sector 16, expected 8");
	expect_refused("8 8 linear /dev/a 0", EINVAL,
		       "line 1 starts at sector 8, expected 0");
	expect_refused("0 8 averyveryverylongtargettype", EINVAL,
		       "line 1: no target type");
	memset(big, 'a', sizeof(big));
	memcpy(big, "0 8 linear ", 11);
	big[sizeof(big) - 1] = '\0';
	expect_refused(big, E2BIG, "dm table is too long");
}

static void test_names(void **state)
{
	char buf[64];

	(void)state;
	ip_dm_name("nullb0p1", buf, sizeof(buf), false);
	assert_string_equal(buf, "interpose-nullb0p1");
	ip_dm_name("nullb0p1", buf, sizeof(buf), true);
	assert_string_equal(buf, "INTERPOSE-nullb0p1");
}

int run_dm_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_target),
		cmocka_unit_test(test_several_targets),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_names),
	};

	return RUN_GROUP("dm", tests, NULL, NULL, total);
}
