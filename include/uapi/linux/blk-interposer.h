/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Block device interposer: redirect or filter the bios of a live block
 * device.
 *
 * The ioctls below are issued on an open file descriptor of the original
 * block device (a whole disk or a partition).  Attach and detach need
 * CAP_SYS_ADMIN; query is allowed to anyone who can open the device.
 *
 * Every argument structure starts with a size field so that it can grow:
 * userspace sets @size to sizeof() of the structure it was built with.  The
 * kernel accepts any size of at least the first published version; bytes
 * the kernel does not know must be zero on input (E2BIG otherwise) and are
 * left untouched on output.
 */
#ifndef _UAPI_LINUX_BLK_INTERPOSER_H
#define _UAPI_LINUX_BLK_INTERPOSER_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Maximum number of target devices of one interposer. */
#define BLKINTERPOSE_MAX_TARGETS	8
/* Size of an ops name, including the terminating NUL. */
#define BLKINTERPOSE_NAME_LEN		32

/**
 * struct blkinterpose_attach - argument of BLKINTERPOSE_ATTACH
 * @size: sizeof(struct blkinterpose_attach) as known to userspace
 * @flags: must be zero (no flag is defined yet)
 * @nr_targets: number of entries used in @target_fds
 * @reserved0: must be zero
 * @target_fds: open file descriptors of the target block devices
 * @ops_name: name of a registered interposer struct_ops, or an empty
 *	string for a plain redirect of every bio to target 0
 * @reserved: must be zero
 *
 * Without @ops_name, @nr_targets must be 1 or more and target 0 must be at
 * least as large as the original.
 */
struct blkinterpose_attach {
	__u32	size;
	__u32	flags;
	__u32	nr_targets;
	__u32	reserved0;
	__s32	target_fds[BLKINTERPOSE_MAX_TARGETS];
	char	ops_name[BLKINTERPOSE_NAME_LEN];
	__u64	reserved[4];
};

/**
 * struct blkinterpose_detach - argument of BLKINTERPOSE_DETACH
 * @size: sizeof(struct blkinterpose_detach) as known to userspace
 * @flags: must be zero
 * @reserved: must be zero
 */
struct blkinterpose_detach {
	__u32	size;
	__u32	flags;
	__u64	reserved[2];
};

/**
 * struct blkinterpose_dev - a device number
 * @major: major number
 * @minor: minor number
 */
struct blkinterpose_dev {
	__u32	major;
	__u32	minor;
};

/* blkinterpose_info.state */
#define BLKINTERPOSE_STATE_NONE		0	/* no interposer attached */
#define BLKINTERPOSE_STATE_ATTACHED	1	/* an interposer is attached */
/*
 * Reserved by its driver as the target of the interposer of targets[0]
 * (a device-mapper table loaded with DM_INTERPOSE_FLAG): it takes only
 * bios that interposer sends it; counters.failed counts the others.
 */
#define BLKINTERPOSE_STATE_RESERVED	2

/**
 * struct blkinterpose_counters - per-device bio counters of an interposer
 * @seen: bios that entered the interposer: the sum of the other counters,
 *	as each bio is counted once by the verdict taken for it
 * @passed: bios passed on to the original device
 * @redirected: bios sent to a target unchanged
 * @remapped: bios sent to a new sector on the original or a target
 * @failed: bios failed by the program's verdict
 * @completed: bios completed without I/O (zero-filled reads, dropped writes)
 * @invalid: bios failed because a verdict did not validate (missing
 *	target, range past the end of the device)
 *
 * The counters start at zero on attach.
 */
struct blkinterpose_counters {
	__u64	seen;
	__u64	passed;
	__u64	redirected;
	__u64	remapped;
	__u64	failed;
	__u64	completed;
	__u64	invalid;
};

/**
 * struct blkinterpose_info - argument of BLKINTERPOSE_QUERY
 * @size: in: sizeof(struct blkinterpose_info) as known to userspace;
 *	out: the size the kernel filled in
 * @state: BLKINTERPOSE_STATE_*
 * @nr_targets: number of valid entries in @targets
 * @flags: the flags given at attach
 * @original: the device queried
 * @targets: device numbers of the targets
 * @ops_name: the attached ops, empty for a plain redirect
 * @counters: bio counters since attach
 * @reserved: zero
 */
struct blkinterpose_info {
	__u32	size;
	__u32	state;
	__u32	nr_targets;
	__u32	flags;
	struct blkinterpose_dev original;
	struct blkinterpose_dev targets[BLKINTERPOSE_MAX_TARGETS];
	char	ops_name[BLKINTERPOSE_NAME_LEN];
	struct blkinterpose_counters counters;
	__u64	reserved[8];
};

#define BLKINTERPOSE_ATTACH	_IOW(0x12, 140, struct blkinterpose_attach)
#define BLKINTERPOSE_DETACH	_IOW(0x12, 141, struct blkinterpose_detach)
#define BLKINTERPOSE_QUERY	_IOWR(0x12, 142, struct blkinterpose_info)

#endif /* _UAPI_LINUX_BLK_INTERPOSER_H */
