// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl-probe: issue one BLKINTERPOSE_* ioctl with exactly the arguments
 * given, including malformed ones, and print the errno name it returned
 * ("OK" on success).  With --expect NAME, exit 0 only if that is what came
 * back.  Used by the VM tests to check the kernel's own validation, below
 * what libinterpose would let through.
 *
 *   ioctl-probe attach DEV [--to PATH]... [--to-path PATH]... [--rawfd N]...
 *                          [--nr N] [--targets-ptr ADDR] [--ops NAME]
 *                          [--ops-unterminated] [--flags N] [--reserved0 N]
 *                          [--reserved I] [--size N] [--tail N]
 *                          [--before CMD] [--rdonly] [--expect ERRNO]
 *   ioctl-probe detach DEV [--flags N] [--reserved I] [--size N] [--rdonly]
 *                          [--expect ERRNO]
 *   ioctl-probe query DEV [--size N] [--nr N] [--targets-ptr ADDR] [--rdonly]
 *                         [--expect ERRNO]
 *
 * Options may come before the verb too.  DEV is opened O_RDWR (an attach
 * needs a descriptor open for writing); --rdonly opens it O_RDONLY, e.g. to
 * check that attach then fails with EBADF.  Without --rdonly, detach and
 * query fall back to O_RDONLY when DEV cannot be opened for writing
 * (EACCES, EROFS), as they need no write access.
 *
 * The targets are passed as an array of fds that targets_ptr points to:
 * --to PATH opens PATH O_RDWR, --to-path PATH opens it O_PATH (a
 * path-only descriptor, not an open block device), --rawfd N passes N as
 * it is.  --nr N sets nr_targets (default: the number of fds given; the
 * array has room for 64), --targets-ptr ADDR sets targets_ptr to ADDR
 * instead of the array (0: NULL).  For query, --nr N is the room in the
 * array (default 64) and the targets the kernel filled in are printed.
 *
 * --before CMD runs the shell command CMD after DEV and the targets are
 * open and before the ioctl, e.g. to delete a device under the open file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/blk-interposer.h>

#include "interpose-ioctl.h"

#ifndef O_PATH
#define O_PATH	010000000
#endif

/* Room of the target arrays, more than any kernel takes. */
#define PROBE_MAX_TARGETS	64

static const struct { int err; const char *name; } errnames[] = {
	{ 0, "OK" }, { EPERM, "EPERM" }, { ENOENT, "ENOENT" },
	{ EBADF, "EBADF" }, { ENOTBLK, "ENOTBLK" }, { EBUSY, "EBUSY" },
	{ EINVAL, "EINVAL" }, { E2BIG, "E2BIG" }, { ELOOP, "ELOOP" },
	{ ENODEV, "ENODEV" }, { ENXIO, "ENXIO" }, { EFAULT, "EFAULT" },
	{ ENOTTY, "ENOTTY" }, { EACCES, "EACCES" }, { ENOMEM, "ENOMEM" },
	{ EROFS, "EROFS" }, { EOPNOTSUPP, "EOPNOTSUPP" },
	{ EEXIST, "EEXIST" }, { ENOSPC, "ENOSPC" },
};

static const char *errname(int err)
{
	static char buf[32];
	size_t i;

	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ioctl-probe attach|detach|query DEV [options]\n"
		"  attach: --to PATH, --to-path PATH (O_PATH), --rawfd N, --nr N,\n"
		"          --targets-ptr ADDR, --ops NAME, --ops-unterminated,\n"
		"          --flags N, --reserved0 N, --reserved I, --size N, --tail N,\n"
		"          --before CMD\n"
		"  detach: --flags N, --ops NAME, --ops-unterminated, --reserved I,\n"
		"          --size N\n"
		"  query:  --size N, --nr N (room for targets), --targets-ptr ADDR\n"
		"  all:    --rdonly (open DEV O_RDONLY, not O_RDWR), --expect ERRNO\n");
	exit(2);
}

/* Room after the structure for --size larger than the kernel's. */
static union {
	struct blkinterpose_attach attach;
	struct blkinterpose_detach detach;
	struct blkinterpose_info info;
	unsigned char bytes[8192];
} arg;

/* What targets_ptr points to: fds for attach, device numbers for query. */
static __s32 target_fds[PROBE_MAX_TARGETS];
static struct blkinterpose_dev target_devs[PROBE_MAX_TARGETS];

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "rawfd", required_argument, NULL, 'r' },
		{ "nr", required_argument, NULL, 'n' },
		{ "ops", required_argument, NULL, 'o' },
		{ "ops-unterminated", no_argument, NULL, 'u' },
		{ "flags", required_argument, NULL, 'f' },
		{ "reserved0", required_argument, NULL, '0' },
		{ "reserved", required_argument, NULL, 'R' },
		{ "size", required_argument, NULL, 's' },
		{ "tail", required_argument, NULL, 'T' },
		{ "expect", required_argument, NULL, 'e' },
		{ "before", required_argument, NULL, 'b' },
		{ "rdonly", no_argument, NULL, 'O' },
		{ "to-path", required_argument, NULL, 'p' },
		{ "targets-ptr", required_argument, NULL, 'P' },
		{ }
	};
	const char *verb, *dev, *expect = NULL, *before = NULL;
	long size = -1, tail = -1, nr = -1, reserved = -1;
	unsigned long long targets_ptr = 0;
	bool rdonly = false, have_ptr = false, ops_unterminated = false;
	const char *ops = NULL;
	char *ops_name = NULL;
	unsigned int i, nfds = 0;
	unsigned long cmd;
	int c, fd, ret, err;

	/* options before, between or after VERB and DEV */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
		case 'r':
		case 'p':
			if (nfds >= PROBE_MAX_TARGETS)
				usage();
			if (c == 'r') {
				target_fds[nfds++] = atoi(optarg);
				break;
			}
			fd = open(optarg, c == 'p' ? O_PATH : O_RDWR);
			if (fd < 0) {
				perror(optarg);
				return 2;
			}
			target_fds[nfds++] = fd;
			break;
		case 'O':
			rdonly = true;
			break;
		case 'P':
			targets_ptr = strtoull(optarg, NULL, 0);
			have_ptr = true;
			break;
		case 'n':
			nr = strtol(optarg, NULL, 0);
			break;
		case 'o':
			ops = optarg;
			break;
		case 'u':
			ops_unterminated = true;
			break;
		case 'f':
			arg.attach.flags = strtoul(optarg, NULL, 0);
			break;
		case '0':
			arg.attach.reserved0 = strtoul(optarg, NULL, 0);
			break;
		case 'R':
			reserved = atoi(optarg);
			break;
		case 's':
			size = strtol(optarg, NULL, 0);
			break;
		case 'T':
			tail = strtol(optarg, NULL, 0);
			break;
		case 'e':
			expect = optarg;
			break;
		case 'b':
			before = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	verb = argv[optind];
	dev = argv[optind + 1];

	if (!strcmp(verb, "attach")) {
		cmd = BLKINTERPOSE_ATTACH;
		arg.attach.nr_targets = nr >= 0 ? (unsigned int)nr : nfds;
		arg.attach.targets_ptr = have_ptr ? targets_ptr :
			(uint64_t)(uintptr_t)target_fds;
		if (reserved >= 0)
			arg.attach.reserved[reserved % 4] = 1;
		if (size < 0)
			size = sizeof(arg.attach);
		ops_name = arg.attach.ops_name;
	} else if (!strcmp(verb, "detach")) {
		cmd = BLKINTERPOSE_DETACH;
		if (reserved >= 0)
			arg.detach.reserved[reserved % 2] = 1;
		if (size < 0)
			size = sizeof(arg.detach);
		ops_name = arg.detach.ops_name;
	} else if (!strcmp(verb, "query")) {
		cmd = BLKINTERPOSE_QUERY;
		arg.info.nr_targets = nr >= 0 ? (unsigned int)nr :
			PROBE_MAX_TARGETS;
		arg.info.targets_ptr = have_ptr ? targets_ptr :
			(uint64_t)(uintptr_t)target_devs;
		if (size < 0)
			size = sizeof(arg.info);
	} else {
		usage();
	}
	if (ops && cmd != BLKINTERPOSE_QUERY)
		strncpy(ops_name, ops, BLKINTERPOSE_NAME_LEN - 1);
	if (ops_unterminated && cmd != BLKINTERPOSE_QUERY)
		memset(ops_name, 'x', BLKINTERPOSE_NAME_LEN);
	/* detach's flags live at the same offset as attach's */
	if (tail >= 0 && tail < (long)sizeof(arg.bytes))
		arg.bytes[tail] = 0xa5;
	arg.attach.size = (uint32_t)size;

	fd = open(dev, rdonly ? O_RDONLY : O_RDWR);
	if (fd < 0 && !rdonly && cmd != BLKINTERPOSE_ATTACH &&
	    (errno == EACCES || errno == EROFS))
		fd = open(dev, O_RDONLY);	/* detach, query: no write needed */
	/* a mounted filesystem keeps writers out: attach takes it read-only */
	if (fd < 0 && !rdonly && errno == EBUSY)
		fd = open(dev, O_RDONLY);
	if (fd < 0) {
		perror(dev);
		return 2;
	}
	if (before && system(before) != 0) {
		fprintf(stderr, "ioctl-probe: --before command failed: %s\n",
			before);
		return 2;
	}
	ret = interpose_ioctl(fd, cmd, &arg);
	err = ret < 0 ? errno : 0;
	printf("%s\n", errname(err));
	if (!err && cmd == BLKINTERPOSE_QUERY) {
		printf("size=%u state=%u nr_targets=%u seen=%llu redirected=%llu max_targets=%u lost=%u:%u lost_bios=%llu reserved_for=%u:%u targets=",
		       arg.info.size, arg.info.state, arg.info.nr_targets,
		       (unsigned long long)arg.info.counters.seen,
		       (unsigned long long)arg.info.counters.redirected,
		       arg.info.max_targets, arg.info.lost.major,
		       arg.info.lost.minor,
		       (unsigned long long)arg.info.counters.lost,
		       arg.info.reserved_for.major, arg.info.reserved_for.minor);
		/* what the kernel filled in: no more than the room given */
		for (i = 0; !have_ptr && i < arg.info.nr_targets &&
			    i < (nr >= 0 ? (unsigned long)nr : PROBE_MAX_TARGETS); i++)
			printf("%s%u:%u", i ? "," : "", target_devs[i].major,
			       target_devs[i].minor);
		printf("\n");
	}
	if (expect)
		return strcmp(expect, errname(err)) ? 1 : 0;
	return err ? 1 : 0;
}
