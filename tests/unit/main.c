// SPDX-License-Identifier: GPL-2.0
/*
 * Run every group of host unit tests and print "N passed, N failed,
 * N skipped" as the last line; exit 1 if anything failed.
 */
#include <stdio.h>

#include "unit.h"

unsigned int unit_skipped;

/* Group errors that are no test's: a failed group teardown. */
static unsigned int group_errors;

void unit_skip_at(const char *file, int line)
{
	unit_skipped++;
	_skip(file, line);
}

static const char *cur_group;
static CMFixtureFunction cur_setup, cur_teardown;
static bool setup_ok, teardown_ok;

/*
 * Set only when the real setup returns 0: one that returns non-zero or
 * fails an assertion (cmocka prints which) leaves it false.
 */
static int group_setup(void **state)
{
	int ret = cur_setup(state);

	if (ret)
		print_error("group %s: setup returned %d\n", cur_group, ret);
	else
		setup_ok = true;
	return ret;
}

static int group_teardown(void **state)
{
	int ret;

	teardown_ok = false;
	ret = cur_teardown(state);
	if (ret)
		print_error("group %s: teardown returned %d\n", cur_group, ret);
	else
		teardown_ok = true;
	return ret;
}

int unit_run_group(const char *name, const struct CMUnitTest *tests,
		   size_t n, CMFixtureFunction setup,
		   CMFixtureFunction teardown, unsigned int *total)
{
	unsigned int skipped_before = unit_skipped, failed;
	int ret;

	cur_group = name;
	cur_setup = setup;
	cur_teardown = teardown;
	setup_ok = !setup;
	teardown_ok = true;
	*total += n;
	ret = _cmocka_run_group_tests(name, tests, n,
				      setup ? group_setup : NULL,
				      teardown ? group_teardown : NULL);
	if (!setup_ok) {
		/* None of its tests ran: none passed, none was skipped. */
		unit_skipped = skipped_before;
		print_error("group %s: setup failed (see above), its %zu tests count as failed\n",
			    name, n);
		return (int)n;
	}
	if (ret < 0) {
		print_error("group %s: cmocka returned %d, its %zu tests count as failed\n",
			    name, ret, n);
		return (int)n;
	}
	failed = (unsigned int)ret;
	if (!teardown_ok) {
		/* cmocka counts a failed teardown as one error. */
		group_errors++;
		if (failed)
			failed--;
	}
	if (failed + (unit_skipped - skipped_before) > n) {
		print_error("group %s: %u failed and %u skipped of %zu tests: counting all as failed\n",
			    name, failed, unit_skipped - skipped_before, n);
		unit_skipped = skipped_before;
		return (int)n;
	}
	return (int)failed;
}

int main(void)
{
	static int (*const groups[])(unsigned int *total) = {
		run_resolve_tests,
		run_attach_tests,
		run_errmsg_tests,
		run_cli_tests,
		run_show_tests,
		run_prog_tests,
		run_pin_tests,
		run_observe_tests,
		run_dm_tests,
		run_threads_tests,
		run_events_tests,
		run_layers_tests,
		run_tab_tests,
		run_filter_tests,
		run_backend_tests,
	};
	unsigned int total = 0, failed = 0, i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		failed += groups[i](&total);
	fflush(stderr);
	/* A failed group teardown is one failure more, no test's. */
	if (group_errors)
		printf("%u group teardown(s) failed, counted as failed\n",
		       group_errors);
	printf("%u passed, %u failed, %u skipped\n",
	       total - failed - unit_skipped, failed + group_errors,
	       unit_skipped);
	return failed + group_errors ? 1 : 0;
}
