/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The BLKINTERPOSE_* commands as the test tools issue them: on the block
 * device itself with the patched kernel, in the envelope of the module's
 * control device (struct blkinterpose_ctl) when the blk_interposer module
 * of a stock kernel is loaded.  Same return and errno as ioctl(2); a
 * caller who cannot open the control device (it is root's) gets the
 * errno of its open, EACCES.
 */
#ifndef INTERPOSE_IOCTL_H
#define INTERPOSE_IOCTL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/blk-interposer.h>

static inline int interpose_ioctl(int fd, unsigned long cmd, void *arg)
{
	static int ctl = -2;
	struct blkinterpose_ctl c = {
		.size = sizeof(c),
		.fd = fd,
		.arg = (uintptr_t)arg,
	};

	static int open_errno;

	if (ctl == -2) {
		ctl = open(BLKINTERPOSE_CTL_DEVICE, O_RDWR | O_CLOEXEC);
		open_errno = ctl < 0 ? errno : 0;
	}
	if (ctl < 0 && open_errno == ENOENT)
		return ioctl(fd, cmd, arg);
	if (ctl < 0) {
		errno = open_errno;
		return -1;
	}
	return ioctl(ctl, cmd, &c);
}

#endif
