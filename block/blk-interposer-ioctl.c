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

#include "blk-interposer.h"

/* The first published sizes; later versions only append fields. */
#define BLKINTERPOSE_ATTACH_SIZE_VER0	\
	offsetofend(struct blkinterpose_attach, reserved)
#define BLKINTERPOSE_DETACH_SIZE_VER0	\
	offsetofend(struct blkinterpose_detach, reserved)
#define BLKINTERPOSE_INFO_SIZE_VER0	\
	offsetofend(struct blkinterpose_info, reserved)

/*
 * Copy an extensible argument: it starts with its size, which must cover
 * at least the first version; what this kernel does not know must be zero.
 */
static int blk_interposer_copy_arg(void *karg, size_t ksize, size_t minsize,
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

static int blk_interposer_target_dev(int fd, dev_t *devt)
{
	CLASS(fd, f)(fd);
	struct inode *inode;

	if (fd_empty(f))
		return -EBADF;
	inode = file_inode(fd_file(f));
	if (!S_ISBLK(inode->i_mode))
		return -ENOTBLK;
	*devt = inode->i_rdev;
	return 0;
}

static int blk_interposer_ioctl_attach(struct block_device *bdev,
				       void __user *argp)
{
	struct blk_interposer_params params = { };
	struct blkinterpose_attach arg;
	unsigned int i;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = blk_interposer_copy_arg(&arg, sizeof(arg),
				      BLKINTERPOSE_ATTACH_SIZE_VER0, argp);
	if (ret)
		return ret;
	if (arg.flags || arg.reserved0 ||
	    !blk_interposer_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)) ||
	    arg.nr_targets > BLKINTERPOSE_MAX_TARGETS ||
	    strnlen(arg.ops_name, sizeof(arg.ops_name)) == sizeof(arg.ops_name))
		return -EINVAL;

	for (i = 0; i < arg.nr_targets; i++) {
		ret = blk_interposer_target_dev(arg.target_fds[i],
						&params.targets[i]);
		if (ret)
			return ret;
	}
	params.flags = arg.flags;
	params.nr_targets = arg.nr_targets;
	params.ops_name = arg.ops_name;
	return blk_interposer_attach(bdev, &params);
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
	if (arg.flags ||
	    !blk_interposer_zeroed(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	return blk_interposer_detach(bdev);
}

static int blk_interposer_ioctl_query(struct block_device *bdev,
				      void __user *argp)
{
	struct blkinterpose_info info = { };
	u32 usize;

	/* Output only: a larger caller structure keeps its tail untouched. */
	if (get_user(usize, (const u32 __user *)argp))
		return -EFAULT;
	if (usize < BLKINTERPOSE_INFO_SIZE_VER0)
		return -EINVAL;

	blk_interposer_query(bdev, &info);
	info.size = min_t(u32, usize, sizeof(info));
	if (copy_to_user(argp, &info, info.size))
		return -EFAULT;
	return 0;
}

/**
 * blk_interposer_ioctl - handle the BLKINTERPOSE_* ioctls
 * @bdev: the device the ioctl was issued on: the original
 * @cmd: the ioctl command
 * @argp: its user argument
 *
 * Return: 0 or a negative errno, see include/uapi/linux/blk-interposer.h.
 */
int blk_interposer_ioctl(struct block_device *bdev, unsigned int cmd,
			 void __user *argp)
{
	switch (cmd) {
	case BLKINTERPOSE_ATTACH:
		return blk_interposer_ioctl_attach(bdev, argp);
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
	struct blkinterpose_info info = { };
	const struct blkinterpose_counters *c = &info.counters;
	unsigned int i;
	int len;

	blk_interposer_query(dev_to_bdev(dev), &info);
	if (info.state == BLKINTERPOSE_STATE_RESERVED)
		return sysfs_emit(buf, "reserved for=%u:%u refused=%llu\n",
				  info.targets[0].major, info.targets[0].minor,
				  c->failed);
	if (info.state != BLKINTERPOSE_STATE_ATTACHED)
		return sysfs_emit(buf, "none\n");

	len = sysfs_emit(buf, "attached targets=");
	for (i = 0; i < info.nr_targets; i++)
		len += sysfs_emit_at(buf, len, "%s%u:%u", i ? "," : "",
				     info.targets[i].major,
				     info.targets[i].minor);
	len += sysfs_emit_at(buf, len, " ops=%s",
			     info.ops_name[0] ? info.ops_name : "-");
	len += sysfs_emit_at(buf, len,
			     " seen=%llu passed=%llu redirected=%llu remapped=%llu failed=%llu completed=%llu invalid=%llu\n",
			     c->seen, c->passed, c->redirected, c->remapped,
			     c->failed, c->completed, c->invalid);
	return len;
}
DEVICE_ATTR_RO(interposer);
