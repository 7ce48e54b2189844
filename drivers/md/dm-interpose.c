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
 * the interposer of the original decided, so the only way to the
 * original through it is the filesystem's own I/O, once userspace attaches
 * the mapped device as the interposer's target (BLKINTERPOSE_ATTACH on the
 * original).  The I/O the table sends to the original inherits the mark
 * of the bio it serves (bio_interposed()) and goes to the original's
 * driver.  The reservation ends when the mapped device is removed.
 *
 * DM_INTERPOSE_READ_FLAG is the other side: a mapped device created with
 * it may read the original without claiming it, while a device reserved
 * for the original interposes it.  That is a snapshot of a disk in use:
 * the reserved device is a snapshot-origin table, which copies a chunk
 * out before the holder's write replaces it, and the snapshot device
 * reads the unchanged chunks from the original.  It cannot open the
 * original for writing, so it adds no way in behind the holder's back.
 */

#include <linux/blk-interposer.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>

#include "dm-core.h"
#include "dm-interpose.h"

#define DM_MSG_PREFIX "interpose"

/**
 * dm_interpose_create - take DM_INTERPOSE_FLAG or DM_INTERPOSE_READ_FLAG of
 *	DM_DEV_CREATE
 * @md: the new mapped device
 * @param: the DM_DEV_CREATE ioctl
 *
 * Return: 0, or -EINVAL with both flags or with DM_PERSISTENT_DEV_FLAG
 * (dm_ioctl::dev cannot name both), -ENXIO if the original does not exist.
 */
int dm_interpose_create(struct mapped_device *md, const struct dm_ioctl *param)
{
	const __u32 flags = DM_INTERPOSE_FLAG | DM_INTERPOSE_READ_FLAG;
	struct block_device *bdev;
	dev_t orig;

	if (!(param->flags & flags))
		return 0;
	if ((param->flags & flags) == flags) {
		DMERR("DM_INTERPOSE_FLAG and DM_INTERPOSE_READ_FLAG exclude each other");
		return -EINVAL;
	}
	if (param->flags & DM_PERSISTENT_DEV_FLAG) {
		DMERR("DM_INTERPOSE_*_FLAG exclude DM_PERSISTENT_DEV_FLAG");
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
	md->interpose_read = param->flags & DM_INTERPOSE_READ_FLAG;
	return 0;
}

/**
 * dm_interpose_check - check a table of a mapped device in interpose mode
 * @md: the mapped device
 * @t: the table, populated
 *
 * Any target type may be used: the I/O it sends to the original is made
 * from the bios the interposer sent it (clones, dm-io requests for a bio,
 * bios submitted while mapping one) and carries their mark, or is its own
 * (kcopyd copies), which takes one trip through this device like any other
 * I/O to the original.
 *
 * A device in read mode (DM_INTERPOSE_READ_FLAG) may use the original or
 * not, and any part of it.
 *
 * Return: 0, or -EINVAL if @t does not reference the original or does not
 * cover exactly all of it.
 */
int dm_interpose_check(struct mapped_device *md, struct dm_table *t)
{
	struct dm_dev_internal *dd;
	struct block_device *orig = NULL;

	if (!md->interpose_orig || md->interpose_read)
		return 0;
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

	if (!md->interpose_orig || md->interpose_read || md->interpose_reserved)
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
 * dm_interpose_shared - is @dev the original that @md interposes or reads?
 * @md: the mapped device
 * @dev: a device its table uses
 *
 * Return: %true if @dev must be opened without a claim.
 */
bool dm_interpose_shared(struct mapped_device *md, dev_t dev)
{
	return md->interpose_orig && dev == md->interpose_orig;
}

/**
 * dm_interpose_open - how a table of @md opens a device
 * @md: the mapped device
 * @dev: the device its table uses
 * @mode: the mode the table asks for; the original is opened without
 *	%BLK_OPEN_WRITE, as its holder may deny writers
 * @holder: the claim; %NULL for the original
 *
 * Context: process context, may sleep.
 * Return: 0; for a device in read mode, -EROFS if @mode asks for writing
 * and -EBUSY if the original is not interposed by a device reserved for
 * it (nothing would copy out what its holder overwrites).
 */
int dm_interpose_open(struct mapped_device *md, dev_t dev, blk_mode_t *mode,
		      void **holder)
{
	if (!dm_interpose_shared(md, dev))
		return 0;
	if (md->interpose_read) {
		if (*mode & BLK_OPEN_WRITE) {
			DMERR("%s: %u:%u may only be read (DM_INTERPOSE_READ_FLAG)",
			      md->name, MAJOR(dev), MINOR(dev));
			return -EROFS;
		}
		if (!blk_interposer_reserved_under(dev)) {
			DMERR("%s: %u:%u is not interposed by a device reserved for it",
			      md->name, MAJOR(dev), MINOR(dev));
			return -EBUSY;
		}
	}
	*holder = NULL;
	*mode &= ~BLK_OPEN_WRITE;
	return 0;
}

/**
 * dm_interpose_link_holder - link a table device to @md in sysfs
 * @md: the mapped device
 * @bdev: a device its table uses
 *
 * Holder links are for claimed devices: the original of a mapped device
 * in interpose mode is not claimed, so it gets none.
 *
 * Return: 0 or the error of bd_link_disk_holder().
 */
int dm_interpose_link_holder(struct mapped_device *md,
			     struct block_device *bdev)
{
	if (dm_interpose_shared(md, bdev->bd_dev))
		return 0;
	return bd_link_disk_holder(bdev, md->disk);
}

/**
 * dm_interpose_unlink_holder - undo dm_interpose_link_holder()
 * @md: the mapped device
 * @bdev: a device its table uses
 */
void dm_interpose_unlink_holder(struct mapped_device *md,
				struct block_device *bdev)
{
	if (!dm_interpose_shared(md, bdev->bd_dev))
		bd_unlink_disk_holder(bdev, md->disk);
}
