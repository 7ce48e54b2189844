// SPDX-License-Identifier: GPL-2.0
/*
 * Block device interposer: the ioctls on the original device and its
 * read-only "interposer" sysfs attribute.
 */

#include <linux/blk-interposer.h>
#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/uaccess.h>

#ifdef BLK_INTERPOSER_MODULE
#include "blk-interposer-module.h"
#else
#include "blk.h"
#endif
#include "blk-interposer.h"

/* The first published sizes; later versions only append fields. */
#define BLKINTERPOSE_ATTACH_SIZE_VER0	\
	offsetofend(struct blkinterpose_attach, reserved)
#define BLKINTERPOSE_DETACH_SIZE_VER0	\
	offsetofend(struct blkinterpose_detach, reserved)
#define BLKINTERPOSE_INFO_SIZE_VER0	\
	offsetofend(struct blkinterpose_info, reserved)

/**
 * blk_interposer_copy_arg - copy an extensible ioctl argument
 * @karg: where to copy it
 * @ksize: the size this kernel knows
 * @minsize: the size of the first version
 * @uarg: the argument, which starts with its size (u32)
 *
 * What this kernel does not know must be zero.
 *
 * Return: 0, -EFAULT, -EINVAL (smaller than @minsize), -E2BIG (larger
 * than a page, or unknown fields set).
 */
int blk_interposer_copy_arg(void *karg, size_t ksize, size_t minsize,
			    const void __user *uarg)
{
	u32 usize;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < minsize)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(karg, ksize, uarg, usize);
}

static bool blk_interposer_zeroed(const u64 *words, size_t n)
{
	while (n--)
		if (*words++)
			return false;
	return true;
}

#ifndef BLK_INTERPOSER_MODULE
/* A block device opened as one, not a path-only descriptor of its node. */
static bool blk_interposer_bdev_file(struct file *f)
{
	return f->f_op == &def_blk_fops;
}
#endif

/*
 * The block device a target descriptor refers to: a block device opened
 * as one (not a path-only descriptor of its node).  The caller keeps the
 * file, and with it the device, until the attach is done.
 */
static int blk_interposer_target_file(int fd, struct file **filep)
{
	struct file *f = fget(fd);

	if (!f)
		return -EBADF;
	if (!S_ISBLK(file_inode(f)->i_mode)) {
		fput(f);
		return -ENOTBLK;
	}
	if (!blk_interposer_bdev_file(f)) {
		fput(f);
		return -EBADF;
	}
	*filep = f;
	return 0;
}

static int blk_interposer_ioctl_attach(struct block_device *bdev,
				       blk_mode_t mode, void __user *argp)
{
	struct block_device *targets[BLK_INTERPOSER_MAX_TARGETS];
	struct file *files[BLK_INTERPOSER_MAX_TARGETS];
	struct blk_interposer_params params = { .targets = targets };
	s32 fds[BLK_INTERPOSER_MAX_TARGETS];
	struct blkinterpose_attach arg;
	unsigned int i, n = 0;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	/*
	 * Writes to the original go where the interposer sends them: that
	 * takes a descriptor open for writing, unless the holder of the
	 * original (a mounted filesystem) keeps everyone else from writing
	 * to it, which is when an interposer is slid under it.
	 */
	if (!(mode & BLK_OPEN_WRITE) && READ_ONCE(bdev->bd_writers) >= 0)
		return -EBADF;
	ret = blk_interposer_copy_arg(&arg, sizeof(arg),
				      BLKINTERPOSE_ATTACH_SIZE_VER0, argp);
	if (ret)
		return ret;
	if ((arg.flags & ~BLKINTERPOSE_ATTACH_OBSERVER) || arg.reserved0 ||
	    !blk_interposer_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)) ||
	    arg.nr_targets > BLK_INTERPOSER_MAX_TARGETS ||
	    (arg.nr_targets && !arg.targets_ptr) ||
	    strnlen(arg.ops_name, sizeof(arg.ops_name)) == sizeof(arg.ops_name))
		return -EINVAL;
	/* an observer has an ops and no targets */
	if (arg.flags & BLKINTERPOSE_ATTACH_OBSERVER)
		return arg.nr_targets ? -EINVAL :
			blk_interposer_observe(bdev, arg.ops_name);
	if (copy_from_user(fds, u64_to_user_ptr(arg.targets_ptr),
			   arg.nr_targets * sizeof(fds[0])))
		return -EFAULT;

	for (n = 0; n < arg.nr_targets; n++) {
		ret = blk_interposer_target_file(fds[n], &files[n]);
		if (ret)
			goto out;
		targets[n] = file_bdev(files[n]);
	}
	params.flags = arg.flags;
	params.nr_targets = arg.nr_targets;
	params.ops_name = arg.ops_name;
	ret = blk_interposer_attach(bdev, &params);
out:
	for (i = 0; i < n; i++)
		fput(files[i]);
	return ret;
}

static int blk_interposer_ioctl_detach(struct block_device *bdev,
				       void __user *argp)
{
	struct blkinterpose_detach arg;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = blk_interposer_copy_arg(&arg, sizeof(arg),
				      BLKINTERPOSE_DETACH_SIZE_VER0, argp);
	if (ret)
		return ret;
	if ((arg.flags & ~BLKINTERPOSE_DETACH_OBSERVER) ||
	    !blk_interposer_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)) ||
	    strnlen(arg.ops_name, sizeof(arg.ops_name)) == sizeof(arg.ops_name))
		return -EINVAL;
	/* an observer is named, the whole interposer is not */
	if (!(arg.flags & BLKINTERPOSE_DETACH_OBSERVER) != !arg.ops_name[0])
		return -EINVAL;
	if (arg.flags & BLKINTERPOSE_DETACH_OBSERVER)
		return blk_interposer_unobserve(bdev, arg.ops_name);
	return blk_interposer_detach(bdev);
}

static int blk_interposer_ioctl_query(struct block_device *bdev,
				      void __user *argp)
{
	struct blkinterpose_observer observers[BLK_INTERPOSER_MAX_OBSERVERS] = { };
	struct blkinterpose_dev targets[BLK_INTERPOSER_MAX_TARGETS] = { };
	struct blkinterpose_info info = { }, in = { };
	u32 usize, n;

	/* Output but for size, nr_targets and targets_ptr: no tail check */
	if (get_user(usize, (const u32 __user *)argp))
		return -EFAULT;
	if (usize < BLKINTERPOSE_INFO_SIZE_VER0)
		return -EINVAL;
	if (copy_from_user(&in, argp, min_t(u32, usize, sizeof(in))))
		return -EFAULT;

	blk_interposer_query(bdev, &info, targets, observers);
	n = min(in.nr_targets, info.nr_targets);
	if (n && copy_to_user(u64_to_user_ptr(in.targets_ptr), targets,
			      n * sizeof(targets[0])))
		return -EFAULT;
	n = min(in.nr_observers, info.nr_observers);
	if (n && copy_to_user(u64_to_user_ptr(in.observers_ptr), observers,
			      n * sizeof(observers[0])))
		return -EFAULT;
	info.targets_ptr = in.targets_ptr;
	info.observers_ptr = in.observers_ptr;
	info.size = min_t(u32, usize, sizeof(info));
	if (copy_to_user(argp, &info, info.size))
		return -EFAULT;
	return 0;
}

/**
 * blk_interposer_ioctl - handle the BLKINTERPOSE_* ioctls
 * @bdev: the device the ioctl was issued on: the original
 * @mode: the mode it was opened with
 * @cmd: the ioctl command
 * @argp: its user argument
 *
 * Return: 0 or a negative errno, see include/uapi/linux/blk-interposer.h.
 */
int blk_interposer_ioctl(struct block_device *bdev, blk_mode_t mode,
			 unsigned int cmd, void __user *argp)
{
	switch (cmd) {
	case BLKINTERPOSE_ATTACH:
		return blk_interposer_ioctl_attach(bdev, mode, argp);
	case BLKINTERPOSE_DETACH:
		return blk_interposer_ioctl_detach(bdev, argp);
	case BLKINTERPOSE_QUERY:
		return blk_interposer_ioctl_query(bdev, argp);
	default:
		return -ENOTTY;
	}
}

static ssize_t interposer_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct blkinterpose_observer observers[BLK_INTERPOSER_MAX_OBSERVERS] = { };
	struct blkinterpose_dev targets[BLK_INTERPOSER_MAX_TARGETS];
	struct blkinterpose_info info = { };
	const struct blkinterpose_counters *c = &info.counters;
	unsigned int i;
	int len;

	blk_interposer_query(dev_to_bdev(dev), &info, targets, observers);
	if (info.state == BLKINTERPOSE_STATE_RESERVED)
		return sysfs_emit(buf, "reserved for=%u:%u refused=%llu\n",
				  info.reserved_for.major,
				  info.reserved_for.minor, c->failed);
	if (info.state == BLKINTERPOSE_STATE_NONE)
		return sysfs_emit(buf, "none\n");

	if (info.state == BLKINTERPOSE_STATE_FAILED)
		len = sysfs_emit(buf, "failed lost=%u:%u targets=",
				 info.lost.major, info.lost.minor);
	else if (info.state == BLKINTERPOSE_STATE_OBSERVED)
		len = sysfs_emit(buf, "observed targets=");
	else
		len = sysfs_emit(buf, "attached targets=");
	for (i = 0; i < info.nr_targets; i++)
		len += sysfs_emit_at(buf, len, "%s%u:%u", i ? "," : "",
				     targets[i].major, targets[i].minor);
	len += sysfs_emit_at(buf, len, " ops=%s",
			     info.ops_name[0] ? info.ops_name : "-");
	len += sysfs_emit_at(buf, len,
			     " seen=%llu passed=%llu redirected=%llu remapped=%llu failed=%llu completed=%llu invalid=%llu lost=%llu",
			     c->seen, c->passed, c->redirected, c->remapped,
			     c->failed, c->completed, c->invalid, c->lost);
	for (i = 0; i < info.nr_observers; i++)
		len += sysfs_emit_at(buf, len, "%s%s", i ? "," : " observers=",
				     observers[i].ops_name);
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}
DEVICE_ATTR_RO(interposer);
