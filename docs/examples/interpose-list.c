// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * interpose-list: list the interposed block devices with their targets,
 * ops and bio counters, or show the devices given as arguments.
 *
 *	interpose-list [-d] [DEV]...
 *
 * DEV is /dev/NAME, NAME or MAJ:MIN.  -d prints the library's messages on
 * stderr (a print callback).  Exit status 0, or 1 if a query failed; the
 * library's message says what failed, e.g. on a kernel without block
 * interposers:
 *	interpose-list: list: kernel does not support block interposers (no CONFIG_BLK_INTERPOSER, no blk_interposer module loaded) (errno 25)
 *
 * Build: cc -o interpose-list interpose-list.c \
 *		$(pkg-config --cflags --libs libinterpose)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <interpose/libinterpose.h>

static int print_stderr(enum interpose_print_level level, const char *fmt,
			va_list args)
{
	(void)level;
	return vfprintf(stderr, fmt, args);
}

static void print_dev(const char *name, dev_t dev)
{
	printf("%s (%u:%u)", name[0] ? name : "?", major(dev), minor(dev));
}

static void print_info(const struct interpose_info *info)
{
	struct interpose_counters counters, *c = &counters;
	unsigned int i, n = interpose_info__nr_targets(info);
	const char *ops = interpose_info__ops_name(info);

	/* a copy, bounded by the size of the struct this was built with */
	interpose_info__get_counters(info, c, sizeof(*c));

	print_dev(interpose_info__name(info), interpose_info__dev(info));
	switch (interpose_info__state(info)) {
	case INTERPOSE_STATE_ATTACHED:
		printf(":");
		break;
	case INTERPOSE_STATE_FAILED:
		/* a target went away: every bio fails until a detach */
		printf(": failed, lost target ");
		print_dev(interpose_info__lost_name(info),
			  interpose_info__lost_dev(info));
		printf(",");
		break;
	case INTERPOSE_STATE_RESERVED:
		/* a dm device made for --dm-table: it serves one original */
		printf(": reserved for ");
		print_dev(interpose_info__target_name(info, 0),
			  interpose_info__target_dev(info, 0));
		printf(", refused %llu\n", (unsigned long long)c->failed);
		return;
	default:
		printf(": not interposed\n");
		return;
	}
	printf(" ops %s, targets", ops ? ops : "- (redirect)");
	for (i = 0; i < n; i++) {
		putchar(' ');
		print_dev(interpose_info__target_name(info, i),
			  interpose_info__target_dev(info, i));
	}
	printf("%s\n", n ? "" : " none");
	printf("  seen %llu passed %llu redirected %llu remapped %llu "
	       "failed %llu completed %llu invalid %llu",
	       (unsigned long long)c->seen, (unsigned long long)c->passed,
	       (unsigned long long)c->redirected,
	       (unsigned long long)c->remapped, (unsigned long long)c->failed,
	       (unsigned long long)c->completed,
	       (unsigned long long)c->invalid);
	/* bios failed with EIO since the target went away */
	if (interpose_info__state(info) == INTERPOSE_STATE_FAILED)
		printf(" lost %llu", (unsigned long long)c->lost);
	printf("\n");
}

/* Errors are negative errnos; interpose_errmsg() names what failed. */
static int fail(int err)
{
	fprintf(stderr, "interpose-list: %s (errno %d)\n", interpose_errmsg(),
		-err);
	return 1;
}

int main(int argc, char **argv)
{
	struct interpose_info **infos, *info;
	int opt, err, ret = 0;
	size_t i, cnt;

	while ((opt = getopt(argc, argv, "d")) != -1) {
		if (opt != 'd') {
			fprintf(stderr, "usage: interpose-list [-d] [DEV]...\n");
			return 2;
		}
		interpose_set_print(print_stderr);
	}

	if (optind == argc) {
		err = interpose_list(&infos, &cnt);
		if (err)
			return fail(err);
		if (!cnt)
			printf("no interposed devices\n");
		for (i = 0; i < cnt; i++)
			print_info(infos[i]);
		interpose_list__free(infos, cnt);
		return 0;
	}

	for (; optind < argc; optind++) {
		err = interpose_query(argv[optind], &info);
		if (err) {
			ret = fail(err);
			continue;
		}
		print_info(info);
		interpose_info__free(info);
	}
	return ret;
}
