/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Block device interposer: redirect or filter the bios of a live block
 * device.
 *
 * The ioctls below are issued on an open file descriptor of the original
 * block device (a whole disk or a partition).  Attach and detach need
 * CAP_SYS_ADMIN, and attach needs the descriptor open for writing unless
 * the device's holder (a mounted filesystem) keeps everyone else from
 * writing to it; query is allowed to anyone who can open the device.
 *
 * Every argument structure starts with a size field so that it can grow:
 * userspace sets @size to sizeof() of the structure it was built with.
 * The size is not part of the ioctl number.  The kernel accepts any size
 * of at least the first published version; bytes the kernel does not know
 * must be zero on input (E2BIG otherwise, as copy_struct_from_user()
 * has it) and are left untouched on output.
 */
#ifndef _UAPI_LINUX_BLK_INTERPOSER_H
#define _UAPI_LINUX_BLK_INTERPOSER_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Size of an ops name, including the terminating NUL. */
#define BLKINTERPOSE_NAME_LEN		32

/**
 * struct blkinterpose_attach - argument of BLKINTERPOSE_ATTACH
 * @size: sizeof(struct blkinterpose_attach) as known to userspace
 * @flags: 0 or %BLKINTERPOSE_ATTACH_OBSERVER
 * @nr_targets: number of entries in @targets_ptr, at most
 *	blkinterpose_info.max_targets; 0 for an observer
 * @reserved0: must be zero
 * @targets_ptr: user pointer to an array of @nr_targets __s32: open file
 *	descriptors of the target block devices, in target index order
 * @ops_name: name of a registered interposer struct_ops, or an empty
 *	string for a plain redirect of every bio to target 0
 * @reserved: must be zero
 *
 * Without @ops_name, @nr_targets must be 1 or more and target 0 must be at
 * least as large as the original.
 *
 * With %BLKINTERPOSE_ATTACH_OBSERVER, the ops named @ops_name is attached
 * as an observer instead: it sees every bio that enters the device, after
 * the policy (the plain redirect, ops or device-mapper table attached
 * without the flag) decided it, and its completion with that verdict, but
 * cannot change the verdict; its return value is ignored.  A device has
 * at most one policy and blkinterpose_info.max_observers observers, called
 * in the order they were attached.  An observer may be attached to a
 * device without a policy (every bio then passes); a policy attached
 * later keeps the observers (their counts start afresh), unless its ops
 * is one of them (EEXIST).  On a failed interposer (a target went away)
 * observers see every bio fail with EIO, as BLK_INTERPOSE_FAIL.
 */
struct blkinterpose_attach {
	__u32	size;
	__u32	flags;
	__u32	nr_targets;
	__u32	reserved0;
	__aligned_u64 targets_ptr;
	char	ops_name[BLKINTERPOSE_NAME_LEN];
	__u64	reserved[4];
};

/* blkinterpose_attach.flags: attach ops_name as an observer, no targets */
#define BLKINTERPOSE_ATTACH_OBSERVER	(1U << 0)

/**
 * struct blkinterpose_detach - argument of BLKINTERPOSE_DETACH
 * @size: sizeof(struct blkinterpose_detach) as known to userspace
 * @flags: 0 to detach the policy and every observer, or
 *	%BLKINTERPOSE_DETACH_OBSERVER
 * @ops_name: with %BLKINTERPOSE_DETACH_OBSERVER, the observer to detach;
 *	else must be empty
 * @reserved: must be zero
 */
struct blkinterpose_detach {
	__u32	size;
	__u32	flags;
	char	ops_name[BLKINTERPOSE_NAME_LEN];
	__u64	reserved[2];
};

/*
 * blkinterpose_detach.flags: detach only the observer ops_name; the
 * policy and the other observers stay.  Detaching the last observer of a
 * device without a policy detaches the interposer.
 */
#define BLKINTERPOSE_DETACH_OBSERVER	(1U << 0)

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
 * Reserved by its driver as the target of the interposer of
 * blkinterpose_info.reserved_for (a device-mapper table loaded with
 * DM_INTERPOSE_FLAG): it takes only bios that interposer sends it;
 * counters.failed counts the others.
 */
#define BLKINTERPOSE_STATE_RESERVED	2
/*
 * Attached, but the target blkinterpose_info.lost went away: every bio
 * fails with EIO until the interposer is detached (counters.lost).
 */
#define BLKINTERPOSE_STATE_FAILED	3
/* Observers only, no policy: every bio passes to the device's driver. */
#define BLKINTERPOSE_STATE_OBSERVED	4

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
 *	target, range past the end of the device, an errno outside the
 *	documented set)
 * @lost: bios failed with EIO because a target went away
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
	__u64	lost;
};

/**
 * struct blkinterpose_observer - an observer in blkinterpose_info
 * @ops_name: its ops
 * @seen: bios it saw enter the device
 * @ended: completions it saw (of bios it saw enter, and of bios that were
 *	in flight when it was attached); always 0 for an ops without an
 *	end_bio callback, whose bios' completions are not taken over
 * @reserved: zero
 */
struct blkinterpose_observer {
	char	ops_name[BLKINTERPOSE_NAME_LEN];
	__u64	seen;
	__u64	ended;
	__u64	reserved[2];
};

/**
 * struct blkinterpose_info - argument of BLKINTERPOSE_QUERY
 * @size: in: sizeof(struct blkinterpose_info) as known to userspace;
 *	out: the size the kernel filled in
 * @state: BLKINTERPOSE_STATE_*
 * @nr_targets: in: number of entries @targets_ptr has room for (may be
 *	0); out: number of targets of the interposer, which may be more
 * @flags: the flags given at attach
 * @max_targets: the most targets one interposer may have
 * @targets_ptr: user pointer to an array of @nr_targets
 *	struct blkinterpose_dev, filled with the device numbers of the
 *	targets (as many as it has room for); may be 0
 * @original: the device queried
 * @reserved_for: for %BLKINTERPOSE_STATE_RESERVED, the one original this
 *	device may serve
 * @lost: for %BLKINTERPOSE_STATE_FAILED, the target that went away
 * @ops_name: the attached ops, empty for a plain redirect
 * @counters: bio counters since attach
 * @nr_observers: in: number of entries @observers_ptr has room for (may be
 *	0); out: number of observers, which may be more
 * @max_observers: the most observers one device may have
 * @observers_ptr: user pointer to an array of @nr_observers
 *	struct blkinterpose_observer, filled in attach order (as many as it
 *	has room for); may be 0
 * @reserved0: zero
 * @reserved: zero
 */
struct blkinterpose_info {
	__u32	size;
	__u32	state;
	__u32	nr_targets;
	__u32	flags;
	__u32	max_targets;
	__u32	reserved0;
	__aligned_u64 targets_ptr;
	struct blkinterpose_dev original;
	struct blkinterpose_dev reserved_for;
	struct blkinterpose_dev lost;
	char	ops_name[BLKINTERPOSE_NAME_LEN];
	struct blkinterpose_counters counters;
	__u32	nr_observers;
	__u32	max_observers;
	__aligned_u64 observers_ptr;
	__u64	reserved[6];
};

/*
 * The numbers are far above the block layer's own (0x12/93-143 are used
 * or reserved in mainline), and the argument size is not encoded: every
 * argument carries its own.
 */
#define BLKINTERPOSE_ATTACH	_IO(0x12, 0xd0)
#define BLKINTERPOSE_DETACH	_IO(0x12, 0xd1)
#define BLKINTERPOSE_QUERY	_IO(0x12, 0xd2)

/**
 * struct blkinterpose_ctl - a command on the module's control device
 * @size: sizeof(struct blkinterpose_ctl)
 * @fd: the block device the command is for, an open descriptor of it
 *	(opened for writing for %BLKINTERPOSE_ATTACH); -1 for
 *	%BLKINTERPOSE_QUERY of the interposed device @dev, which then fails
 *	with ENOENT if @dev has no interposer
 * @arg: the command's argument, as the ioctl on the device takes it
 * @dev: the device for @fd -1
 *
 * A stock kernel has no interposer ioctls on block devices: the
 * blk_interposer module takes the same commands with this envelope on
 * its misc device, /dev/blk-interposer (BLKINTERPOSE_CTL_DEVICE).
 */
struct blkinterpose_ctl {
	__u32	size;
	__s32	fd;
	__aligned_u64 arg;
	struct blkinterpose_dev dev;
};

#define BLKINTERPOSE_CTL_DEVICE	"/dev/blk-interposer"

#endif /* _UAPI_LINUX_BLK_INTERPOSER_H */
