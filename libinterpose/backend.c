// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which kernel side does the work: the interposer built into a patched
 * kernel, whose ioctls are on the block device itself, or the
 * blk_interposer module of a stock kernel, which takes the same commands
 * on its control device with the block device passed as a descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libinterpose_internal.h"

enum interpose_backend ip_backend(void)
{
	char path[PATH_MAX];

	if (!ip_snprintf(path, sizeof(path), "%s/module/blk_interposer",
			 ip_sysfs_root()) && !access(path, F_OK))
		return INTERPOSE_BACKEND_MODULE;
	return INTERPOSE_BACKEND_KERNEL;
}

enum interpose_backend interpose_backend(void)
{
	return ip_backend();
}

const char *interpose_backend_name(enum interpose_backend backend)
{
	switch (backend) {
	case INTERPOSE_BACKEND_KERNEL:
		return "kernel";
	case INTERPOSE_BACKEND_MODULE:
		return "module";
	default:
		return NULL;
	}
}

const char *ip_module_refusal(const char *what)
{
	static __thread char buf[256];

	snprintf(buf, sizeof(buf),
		 "%s needs a kernel with the interposer built in (CONFIG_BLK_INTERPOSER): with the blk_interposer module, a stock device-mapper cannot take a device's place",
		 what);
	return buf;
}

int ip_ctl_ioctl(unsigned long cmd, int fd, dev_t dev, void *arg)
{
	struct blkinterpose_ctl ctl = {
		.size = sizeof(ctl),
		.fd = fd,
		.arg = (__u64)(unsigned long)arg,
		.dev = { .major = major(dev), .minor = minor(dev) },
	};
	char path[PATH_MAX];
	int cfd, ret, err;

	if (ip_snprintf(path, sizeof(path), "%s/blk-interposer", ip_dev_root())) {
		errno = ENAMETOOLONG;
		return -1;
	}
	cfd = open(path, O_RDWR | O_CLOEXEC);
	if (cfd < 0) {
		/* a module without its node is no interposer at all */
		if (errno == ENOENT)
			errno = ENOTTY;
		return -1;
	}
	ret = ioctl(cfd, cmd, &ctl);
	err = errno;
	close(cfd);
	errno = err;
	return ret;
}

int ip_dev_ioctl(int fd, unsigned long cmd, void *arg)
{
	if (ip_backend() != INTERPOSE_BACKEND_MODULE)
		return ioctl(fd, cmd, arg);
	return ip_ctl_ioctl(cmd, fd, 0, arg);
}
