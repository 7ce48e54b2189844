/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host unit tests of libinterpose and interposectl (cmocka, no kernel).
 *
 * Each test_*.c file is one cmocka group, run from main.c, which sums the
 * results into the final "N passed, N failed, N skipped" line.  Devices
 * come from a fake sysfs and /dev tree (fake.c) that the library finds
 * through INTERPOSE_SYSFS_ROOT and INTERPOSE_DEV_ROOT.
 */
#ifndef __UNIT_H
#define __UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <cmocka.h>

/*
 * One group each: runs it through RUN_GROUP, adds its number of tests to
 * *total, returns the number of its tests that failed (all of them when
 * the group's setup failed).
 */
int run_resolve_tests(unsigned int *total);
int run_attach_tests(unsigned int *total);
int run_errmsg_tests(unsigned int *total);
int run_cli_tests(unsigned int *total);
int run_show_tests(unsigned int *total);
int run_prog_tests(unsigned int *total);
int run_pin_tests(unsigned int *total);
int run_observe_tests(unsigned int *total);
int run_dm_tests(unsigned int *total);
int run_tab_tests(unsigned int *total);
int run_threads_tests(unsigned int *total);
int run_events_tests(unsigned int *total);
int run_layers_tests(unsigned int *total);
int run_filter_tests(unsigned int *total);
int run_backend_tests(unsigned int *total);

/*
 * cmocka returns 1 for a group whose setup failed, having run none of its
 * tests, and counts a skipped test as neither failed nor anything else:
 * unit_run_group() (main.c) makes a failed setup fail every test of the
 * group and says so, and a failed teardown count as one failure.
 */
int unit_run_group(const char *name, const struct CMUnitTest *tests,
		   size_t n, CMFixtureFunction setup,
		   CMFixtureFunction teardown, unsigned int *total);
#define RUN_GROUP(name, tests, setup, teardown, total)			\
	unit_run_group(name, tests, sizeof(tests) / sizeof((tests)[0]),	\
		       setup, teardown, total)

/*
 * Skipped tests are counted here, apart: cmocka returns only the failures.
 * Every skip() counts, whether through unit_skip() or not.
 */
extern unsigned int unit_skipped;
void unit_skip_at(const char *file, int line);
#undef skip
#define skip() unit_skip_at(__FILE__, __LINE__)
#define unit_skip(why)							\
	do {								\
		print_message("skipped: %s\n", why);			\
		skip();							\
	} while (0)

/*
 * The fake tree, laid out like the real one:
 *   sys/devices/virtual/block/DISK[/PART]/{dev,size,start,partition,
 *	uevent,interposer,queue/logical_block_size}
 *   sys/class/block/NAME, sys/dev/block/MAJ:MIN: symlinks to those
 *   dev/: nodes made by fake_mknod() (root only), "nullc" -> /dev/null,
 *	"regular", a plain file
 */
struct fake {
	char root[PATH_MAX - 16];
	char sys[PATH_MAX];
	char dev[PATH_MAX];
	char bpffs[PATH_MAX];	/* an empty directory, INTERPOSE_BPFFS_ROOT */
};

/*
 * Group setup/teardown: a tree with
 *   nullb0    251:0  64 MiB, lbs 512, partitions
 *     nullb0p1 251:1  start 2048,  16 MiB
 *     nullb0p2 251:2  start 34816, 16 MiB
 *     nullb0p3 251:3  start 40000, overlaps nullb0p2
 *   nullb1    252:0  64 MiB, lbs 512
 *   nullsmall 253:0  16 MiB, lbs 512
 *   big4k     250:0  128 MiB, lbs 4096
 * every "interposer" attribute "none"; *state is the struct fake.
 */
int fake_setup(void **state);
int fake_teardown(void **state);

void fake_disk(struct fake *f, const char *name, unsigned int maj,
	       unsigned int min, unsigned long long sectors, unsigned int lbs);
void fake_part(struct fake *f, const char *disk, const char *name,
	       unsigned int maj, unsigned int min, unsigned long long start,
	       unsigned long long sectors);
/* Write sys/class/block/NAME/ATTR. */
void fake_attr(struct fake *f, const char *name, const char *attr,
	       const char *val);
/* A block node dev/NAME; false where mknod is not permitted. */
bool fake_mknod(struct fake *f, const char *name, unsigned int maj,
		unsigned int min);
void fake_unlink_node(struct fake *f, const char *name);
/* "ROOT/dev/NAME" in a static buffer. */
const char *fake_dev_path(struct fake *f, const char *name);

/* Capture what is written to @fd (1 or 2) between start and end. */
void capture_start(int fd);
/* Returns the captured text (malloc'd, NUL-terminated). */
char *capture_end(int fd);

#endif /* __UNIT_H */
