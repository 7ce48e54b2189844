/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device-mapper slid under a device that is already in use, through the
 * block interposer (DM_INTERPOSE_FLAG on DM_DEV_CREATE), and read beside
 * it (DM_INTERPOSE_READ_FLAG).
 */
#ifndef DM_INTERPOSE_H
#define DM_INTERPOSE_H

#include <linux/blk-interposer.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/types.h>

struct mapped_device;
struct dm_ioctl;
struct dm_table;

#ifdef CONFIG_BLK_INTERPOSER
int dm_interpose_create(struct mapped_device *md, const struct dm_ioctl *param);
int dm_interpose_check(struct mapped_device *md, struct dm_table *t);
int dm_interpose_reserve(struct mapped_device *md);
bool dm_interpose_shared(struct mapped_device *md, dev_t dev);
int dm_interpose_open(struct mapped_device *md, dev_t dev, blk_mode_t *mode,
		      void **holder);
int dm_interpose_link_holder(struct mapped_device *md,
			     struct block_device *bdev);
void dm_interpose_unlink_holder(struct mapped_device *md,
				struct block_device *bdev);
#else
static inline int dm_interpose_create(struct mapped_device *md,
				      const struct dm_ioctl *param)
{
	return 0;
}

static inline int dm_interpose_check(struct mapped_device *md,
				     struct dm_table *t)
{
	return 0;
}

static inline int dm_interpose_reserve(struct mapped_device *md)
{
	return 0;
}

static inline bool dm_interpose_shared(struct mapped_device *md, dev_t dev)
{
	return false;
}

static inline int dm_interpose_open(struct mapped_device *md, dev_t dev,
				    blk_mode_t *mode, void **holder)
{
	return 0;
}

static inline int dm_interpose_link_holder(struct mapped_device *md,
					   struct block_device *bdev)
{
	return bd_link_disk_holder(bdev, dm_disk(md));
}

static inline void dm_interpose_unlink_holder(struct mapped_device *md,
					      struct block_device *bdev)
{
	bd_unlink_disk_holder(bdev, dm_disk(md));
}
#endif

#endif /* DM_INTERPOSE_H */
