// SPDX-License-Identifier: GPL-2.0
/*
 * Run every group of host unit tests and print "N passed, N failed".
 */
#include <stdio.h>

#include "unit.h"

unsigned int unit_skipped;

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
	};
	unsigned int total = 0, failed = 0, i;
	int ret;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		unsigned int before = total;

		ret = groups[i](&total);
		/* A group whose setup failed ran none of its tests. */
		failed += ret < 0 ? total - before : (unsigned int)ret;
	}
	fflush(stderr);
	printf("%u passed, %u failed", total - failed - unit_skipped, failed);
	if (unit_skipped)
		printf(", %u skipped", unit_skipped);
	printf("\n");
	return failed ? 1 : 0;
}
