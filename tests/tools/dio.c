// SPDX-License-Identifier: GPL-2.0
/*
 * dio r|w|wsync|fsync DEV [OFFSET [LEN [BYTE]]]: one O_DIRECT read or
 * write (wsync: O_DSYNC, a FUA write) of LEN bytes (default 4096) at
 * OFFSET (default 0), or an fsync of DEV; prints the errno name of the
 * failure, or "OK".  Writes write BYTE (default 120, 'x').  The VM tests'
 * dio_errno (tests/lib.sh): a process of its own costs a third of a
 * second under TCG, a python one more than a second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int report(int err)
{
	const char *name = err ? strerrorname_np(err) : "OK";

	if (name)
		printf("%s\n", name);
	else
		printf("E%d\n", err);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long off = 0, len = 4096;
	int byte = 120, flags, fd, err = 0;
	const char *op;
	void *buf;
	ssize_t n;

	if (argc < 3 || argc > 6) {
		fprintf(stderr, "usage: dio r|w|wsync|fsync DEV [OFFSET [LEN [BYTE]]]\n");
		return 2;
	}
	op = argv[1];
	if (argc > 3)
		off = strtoull(argv[3], NULL, 0);
	if (argc > 4)
		len = strtoull(argv[4], NULL, 0);
	if (argc > 5)
		byte = atoi(argv[5]);
	if (!strcmp(op, "r"))
		flags = O_RDONLY | O_DIRECT;
	else if (!strcmp(op, "w"))
		flags = O_RDWR | O_DIRECT;
	else if (!strcmp(op, "wsync"))
		flags = O_RDWR | O_DIRECT | O_DSYNC;
	else if (!strcmp(op, "fsync"))
		flags = O_RDWR;
	else {
		fprintf(stderr, "dio: unknown operation '%s'\n", op);
		return 2;
	}
	if (posix_memalign(&buf, 4096, len < 4096 ? 4096 : len)) {
		perror("dio: memory");
		return 1;
	}
	memset(buf, byte, len);
	fd = open(argv[2], flags | O_CLOEXEC);
	if (fd < 0)
		return report(errno);
	if (!strcmp(op, "fsync"))
		n = fsync(fd);
	else if (op[0] == 'r')
		n = pread(fd, buf, len, off);
	else
		n = pwrite(fd, buf, len, off);
	if (n < 0)
		err = errno;
	close(fd);
	free(buf);
	return report(err);
}
