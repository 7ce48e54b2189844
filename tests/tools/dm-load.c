// SPDX-License-Identifier: GPL-2.0
/*
 * dm-load [--read|--both] NAME MAJ:MIN "START LEN TYPE ARGS"
 *
 * Create the mapped device NAME with DM_INTERPOSE_FLAG naming MAJ:MIN as
 * the original (with --read DM_INTERPOSE_READ_FLAG: the device only reads
 * it; --both: the two flags, which the kernel refuses) unless NAME
 * exists, and load one target, straight through
 * /dev/mapper/control: the VM tests use it to reach the kernel's own
 * checks without libinterpose's.  Prints "OK" or the errno name of the
 * load (E... as in errno.h); exit status 0 if it printed anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>

#ifndef DM_INTERPOSE_FLAG
#define DM_INTERPOSE_FLAG	(1 << 20)
#endif
#ifndef DM_INTERPOSE_READ_FLAG
#define DM_INTERPOSE_READ_FLAG	(1 << 21)
#endif

static const char *ename(int err)
{
	switch (err) {
	case 0: return "OK";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case ENXIO: return "ENXIO";
	case ENODEV: return "ENODEV";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EPERM: return "EPERM";
	default: return strerrorname_np(err) ?: "E?";
	}
}

int main(int argc, char **argv)
{
	union {
		struct dm_ioctl io;
		char buf[4096];
	} u;
	struct dm_target_spec *spec;
	unsigned long long start, len;
	unsigned int maj, min;
	char type[DM_MAX_TYPE_NAME];
	__u32 flag = DM_INTERPOSE_FLAG;
	int fd, n = 0;

	if (argc > 1 && !strcmp(argv[1], "--read")) {
		flag = DM_INTERPOSE_READ_FLAG;
		argv++;
		argc--;
	} else if (argc > 1 && !strcmp(argv[1], "--both")) {
		flag |= DM_INTERPOSE_READ_FLAG;
		argv++;
		argc--;
	}
	if (argc != 4 || sscanf(argv[2], "%u:%u", &maj, &min) != 2 ||
	    sscanf(argv[3], "%llu %llu %15s %n", &start, &len, type, &n) < 3) {
		fprintf(stderr, "usage: dm-load [--read|--both] NAME MAJ:MIN \"START LEN TYPE ARGS\"\n");
		return 2;
	}
	fd = open("/dev/mapper/control", O_RDWR);
	if (fd < 0) {
		perror("/dev/mapper/control");
		return 1;
	}
	memset(&u, 0, sizeof(u));
	u.io.version[0] = DM_VERSION_MAJOR;
	u.io.data_size = sizeof(u.io);
	u.io.data_start = sizeof(u.io);
	snprintf(u.io.name, sizeof(u.io.name), "%s", argv[1]);
	u.io.flags = flag;
	u.io.dev = makedev(maj, min);
	if (ioctl(fd, DM_DEV_CREATE, &u.io) && errno != EBUSY) {
		printf("create: %s\n", ename(errno));
		return 1;
	}

	memset(&u, 0, sizeof(u));
	u.io.version[0] = DM_VERSION_MAJOR;
	u.io.data_start = sizeof(u.io);
	u.io.data_size = sizeof(u);
	u.io.target_count = 1;
	snprintf(u.io.name, sizeof(u.io.name), "%s", argv[1]);
	spec = (struct dm_target_spec *)(u.buf + sizeof(u.io));
	spec->sector_start = start;
	spec->length = len;
	snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);
	snprintf((char *)(spec + 1), 1024, "%s", argv[3] + n);
	printf("%s\n", ename(ioctl(fd, DM_TABLE_LOAD, &u.io) ? errno : 0));
	close(fd);
	return 0;
}
