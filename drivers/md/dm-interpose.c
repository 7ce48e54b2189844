// SPDX-License-Identifier: GPL-2.0
/*
 * Device-mapper slid under a device that is already in use.
 *
 * A filesystem mounted on a disk holds it exclusively, so a table over
 * that disk cannot claim it.  Creating a mapped device with
 * DM_INTERPOSE_FLAG names the device it is going to interpose (the
 * original, in dm_ioctl::dev): each of its tables must use the original
 * and cover all of it, and the original is opened without a claim,
 * read-only as far as its holder's write protection is concerned.  In
 * exchange the mapped device is reserved with blk_interposer_reserve()
 * when its disk is added (with the first table): it takes only bios that
 * the interposer of the original sends it, so the only way to the
 * original through it is the filesystem's own I/O, once userspace attaches
 * the mapped device as the interposer's target (BLKINTERPOSE_ATTACH on the
 * original).  The reservation ends when the mapped device is removed.
 */

#include <linux/blk-interposer.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>

#include "dm-core.h"
#include "dm-interpose.h"

#define DM_MSG_PREFIX "interpose"

/**
 * dm_interpose_create - take DM_INTERPOSE_FLAG of DM_DEV_CREATE
 * @md: the new mapped device
 * @param: the DM_DEV_CREATE ioctl
 *
 * Return: 0, or -EINVAL with DM_PERSISTENT_DEV_FLAG (dm_ioctl::dev cannot
 * name both), -ENXIO if the original does not exist.
 */
int dm_interpose_create(struct mapped_device *md, const struct dm_ioctl *param)
{
	struct block_device *bdev;
	dev_t orig;

	if (!(param->flags & DM_INTERPOSE_FLAG))
		return 0;
	if (param->flags & DM_PERSISTENT_DEV_FLAG) {
		DMERR("DM_INTERPOSE_FLAG and DM_PERSISTENT_DEV_FLAG exclude each other");
		return -EINVAL;
	}
	orig = huge_decode_dev(param->dev);
	bdev = orig ? blkdev_get_no_open(orig) : NULL;
	if (!bdev) {
		DMERR("%s: no device %u:%u to interpose", param->name,
		      MAJOR(orig), MINOR(orig));
		return -ENXIO;
	}
	blkdev_put_no_open(bdev);
	md->interpose_orig = orig;
	return 0;
}

/*
 * Target types that only remap the bios they are given, so that what
 * reaches the original keeps BIO_INTERPOSED.  Targets that write or read
 * the original with bios of their own (dm-io, kcopyd: mirror, snapshot
 * copies, thin, cache) would have those bios interposed again and sent
 * back to the mapped device, without end.
 */
static const char * const dm_interpose_types[] = {
	"linear", "striped", "flakey", "dust", "delay", "error", "zero",
};

static bool dm_interpose_type_ok(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dm_interpose_types); i++)
		if (!strcmp(name, dm_interpose_types[i]))
			return true;
	return false;
}

/**
 * dm_interpose_check - check a table of a mapped device in interpose mode
 * @md: the mapped device
 * @t: the table, populated
 *
 * Return: 0, or -EINVAL if @t does not reference the original, does not
 * cover exactly all of it, or has a target type that sends I/O of its own.
 */
int dm_interpose_check(struct mapped_device *md, struct dm_table *t)
{
	struct dm_dev_internal *dd;
	struct block_device *orig = NULL;
	unsigned int i;

	if (!md->interpose_orig)
		return 0;
	for (i = 0; i < t->num_targets; i++) {
		const char *name = dm_table_get_target(t, i)->type->name;

		if (!dm_interpose_type_ok(name)) {
			DMERR("%s: target type %s may send its own I/O to the original",
			      md->name, name);
			return -EINVAL;
		}
	}
	list_for_each_entry(dd, dm_table_get_devices(t), list)
		if (dd->dm_dev->bdev->bd_dev == md->interpose_orig)
			orig = dd->dm_dev->bdev;
	if (!orig) {
		DMERR("%s: the table does not use %u:%u, the device it interposes",
		      md->name, MAJOR(md->interpose_orig),
		      MINOR(md->interpose_orig));
		return -EINVAL;
	}
	if (dm_table_get_size(t) != bdev_nr_sectors(orig)) {
		DMERR("%s: the table has %llu sectors, %pg has %llu: it must cover all of it",
		      md->name, (unsigned long long)dm_table_get_size(t), orig,
		      (unsigned long long)bdev_nr_sectors(orig));
		return -EINVAL;
	}
	return 0;
}

/**
 * dm_interpose_reserve - reserve a mapped device in interpose mode
 * @md: the mapped device, its disk added
 *
 * Return: 0, or the error of blk_interposer_reserve(): -EBUSY if another
 * device is reserved for the same original.
 */
int dm_interpose_reserve(struct mapped_device *md)
{
	int r;

	if (!md->interpose_orig || md->interpose_reserved)
		return 0;
	r = blk_interposer_reserve(md->disk->part0, md->interpose_orig);
	if (r) {
		DMERR("%s: cannot reserve it for %u:%u: %d%s", md->name,
		      MAJOR(md->interpose_orig), MINOR(md->interpose_orig), r,
		      r == -EBUSY ? " (another device interposes it)" : "");
		return r;
	}
	md->interpose_reserved = true;
	return 0;
}

/**
 * dm_interpose_shared - is @dev the original that @md interposes?
 * @md: the mapped device
 * @dev: a device its table uses
 *
 * Return: %true if @dev must be opened without a claim.
 */
bool dm_interpose_shared(struct mapped_device *md, dev_t dev)
{
	return md->interpose_orig && dev == md->interpose_orig;
}
