// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl-probe: issue one BLKINTERPOSE_* ioctl with exactly the arguments
 * given, including malformed ones, and print the errno name it returned
 * ("OK" on success).  With --expect NAME, exit 0 only if that is what came
 * back.  Used by the VM tests to check the kernel's own validation, below
 * what libinterpose would let through.
 *
 *   ioctl-probe attach DEV [--to PATH]... [--rawfd N]... [--nr N]
 *                          [--ops NAME] [--ops-unterminated] [--flags N]
 *                          [--reserved0 N] [--reserved I] [--size N]
 *                          [--tail N] [--before CMD] [--expect ERRNO]
 *   ioctl-probe detach DEV [--flags N] [--reserved I] [--size N] [--expect ERRNO]
 *   ioctl-probe query DEV [--size N] [--expect ERRNO]
 *
 * --before CMD runs the shell command CMD after DEV and the targets are
 * open and before the ioctl, e.g. to delete a device under the open file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/blk-interposer.h>

static const struct { int err; const char *name; } errnames[] = {
	{ 0, "OK" }, { EPERM, "EPERM" }, { ENOENT, "ENOENT" },
	{ EBADF, "EBADF" }, { ENOTBLK, "ENOTBLK" }, { EBUSY, "EBUSY" },
	{ EINVAL, "EINVAL" }, { E2BIG, "E2BIG" }, { ELOOP, "ELOOP" },
	{ ENODEV, "ENODEV" }, { ENXIO, "ENXIO" }, { EFAULT, "EFAULT" },
	{ ENOTTY, "ENOTTY" }, { EACCES, "EACCES" }, { ENOMEM, "ENOMEM" },
	{ EROFS, "EROFS" }, { EOPNOTSUPP, "EOPNOTSUPP" },
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
	fprintf(stderr, "usage: ioctl-probe attach|detach|query DEV [options]\n");
	exit(2);
}

/* Room after the structure for --size larger than the kernel's. */
static union {
	struct blkinterpose_attach attach;
	struct blkinterpose_detach detach;
	struct blkinterpose_info info;
	unsigned char bytes[8192];
} arg;

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
		{ }
	};
	const char *verb, *dev, *expect = NULL, *before = NULL;
	long size = -1, tail = -1, nr = -1;
	unsigned int nfds = 0;
	unsigned long cmd;
	int c, fd, ret, err;

	if (argc < 3)
		usage();
	verb = argv[1];
	dev = argv[2];
	optind = 3;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
		case 'r':
			if (nfds >= BLKINTERPOSE_MAX_TARGETS)
				usage();
			if (c == 'r') {
				arg.attach.target_fds[nfds++] = atoi(optarg);
				break;
			}
			fd = open(optarg, O_RDWR);
			if (fd < 0) {
				perror(optarg);
				return 2;
			}
			arg.attach.target_fds[nfds++] = fd;
			break;
		case 'n':
			nr = strtol(optarg, NULL, 0);
			break;
		case 'o':
			strncpy(arg.attach.ops_name, optarg,
				sizeof(arg.attach.ops_name) - 1);
			break;
		case 'u':
			memset(arg.attach.ops_name, 'x',
			       sizeof(arg.attach.ops_name));
			break;
		case 'f':
			arg.attach.flags = strtoul(optarg, NULL, 0);
			break;
		case '0':
			arg.attach.reserved0 = strtoul(optarg, NULL, 0);
			break;
		case 'R':
			if (!strcmp(verb, "detach"))
				arg.detach.reserved[atoi(optarg) % 2] = 1;
			else
				arg.attach.reserved[atoi(optarg) % 4] = 1;
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

	if (!strcmp(verb, "attach")) {
		cmd = BLKINTERPOSE_ATTACH;
		arg.attach.nr_targets = nr >= 0 ? (unsigned int)nr : nfds;
		if (size < 0)
			size = sizeof(arg.attach);
	} else if (!strcmp(verb, "detach")) {
		cmd = BLKINTERPOSE_DETACH;
		if (size < 0)
			size = sizeof(arg.detach);
	} else if (!strcmp(verb, "query")) {
		cmd = BLKINTERPOSE_QUERY;
		if (size < 0)
			size = sizeof(arg.info);
	} else {
		usage();
	}
	/* detach's flags live at the same offset as attach's */
	if (tail >= 0 && tail < (long)sizeof(arg.bytes))
		arg.bytes[tail] = 0xa5;
	arg.attach.size = (uint32_t)size;

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
	ret = ioctl(fd, cmd, &arg);
	err = ret < 0 ? errno : 0;
	printf("%s\n", errname(err));
	if (!err && cmd == BLKINTERPOSE_QUERY)
		printf("size=%u state=%u nr_targets=%u seen=%llu redirected=%llu\n",
		       arg.info.size, arg.info.state, arg.info.nr_targets,
		       (unsigned long long)arg.info.counters.seen,
		       (unsigned long long)arg.info.counters.redirected);
	if (expect)
		return strcmp(expect, errname(err)) ? 1 : 0;
	return err ? 1 : 0;
}
