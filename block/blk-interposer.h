/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block device interposer: block layer internal hooks.
 *
 * Every hook compiles to nothing without CONFIG_BLK_INTERPOSER, and the
 * submit hook costs one static branch while no device is interposed.
 */
#ifndef _BLK_INTERPOSER_INTERNAL_H
#define _BLK_INTERPOSER_INTERNAL_H

#include <linux/bio.h>
#include <linux/blk_types.h>
#include <linux/blkdev.h>
#include <linux/jump_label.h>
#include <linux/sched.h>

struct blkinterpose_dev;
struct blkinterpose_info;
struct blkinterpose_observer;
struct device_attribute;

/**
 * enum blk_interposer_ret - what the submit hook did with a bio
 * @BLK_INTERPOSER_PASS: nothing; the bio goes on to the original's driver
 * @BLK_INTERPOSER_TAKEN: the interposer ended the bio or sent it on
 * @BLK_INTERPOSER_DIRECT: the bio now belongs to a blk-mq target and has
 *	entered its queue (a q_usage_counter reference): the caller leaves
 *	the original's queue, then goes on with the bio in the target's
 */
enum blk_interposer_ret {
	BLK_INTERPOSER_PASS,
	BLK_INTERPOSER_TAKEN,
	BLK_INTERPOSER_DIRECT,
};

#if defined(CONFIG_BLK_INTERPOSER) || defined(BLK_INTERPOSER_MODULE)

enum blk_interposer_ret __blk_interposer_submit_bio(struct blk_interposer *ip,
						    struct bio *bio,
						    bool direct);
void blk_interposer_bdev_gone(struct block_device *bdev);
void blk_interposer_disk_gone(struct gendisk *disk);
void blk_interposer_query(struct block_device *bdev,
			  struct blkinterpose_info *info,
			  struct blkinterpose_dev *targets,
			  struct blkinterpose_observer *observers);
u32 blk_interposer_nr_targets(struct block_device *bdev);
u64 blk_interposer_dev_sectors(struct block_device *bdev, u32 target);
int blk_interposer_ioctl(struct block_device *bdev, blk_mode_t mode,
			 unsigned int cmd, void __user *argp);
int blk_interposer_copy_arg(void *karg, size_t ksize, size_t minsize,
			    const void __user *uarg);
extern struct device_attribute dev_attr_interposer;
#endif

#ifdef CONFIG_BLK_INTERPOSER

DECLARE_STATIC_KEY_FALSE(blk_interposer_in_use);

void __blk_interposer_arrived(struct bio *bio);

/* Whether any device has an interposer; a static branch. */
static inline bool blk_interposer_active(void)
{
	return static_branch_unlikely(&blk_interposer_in_use);
}

/* An interposer is attached (use) or detached (unuse); may sleep. */
static inline void blk_interposer_use(void)
{
	static_branch_inc(&blk_interposer_in_use);
}

static inline void blk_interposer_unuse(void)
{
	static_branch_dec(&blk_interposer_in_use);
}

/* The interposer of @bdev, or %NULL; stable inside its q_usage_counter. */
static inline struct blk_interposer *
blk_interposer_get(struct block_device *bdev)
{
	return READ_ONCE(bdev->bd_interposer);
}

/* Publish or clear the interposer of @bdev, with its queue frozen. */
static inline void blk_interposer_publish(struct block_device *bdev,
					  struct blk_interposer *ip)
{
	WRITE_ONCE(bdev->bd_interposer, ip);
}

/*
 * Send a bio an interposer decided on; its device's own interposer lets
 * it by (bio_interposed()), the others see it.
 */
static inline void blk_interposer_resubmit(struct bio *bio)
{
	submit_bio_noacct(bio);
}

/* Targets are shown as slaves of the original's disk (lsblk follows them) */
#define BLK_INTERPOSER_HOLDER_LINKS	1

/*
 * Whether target @t is a stacking device built right over @orig: its bios
 * carry the mark of @orig's interposer (bio_interposed()) and reach @orig's
 * driver, so that is allowed.
 */
static inline bool blk_interposer_stacked_on(struct block_device *t,
					     struct block_device *orig)
{
	return false;
}

/*
 * The freeze of the original's queue drains the submit hook: nothing more
 * to set up, drain or release per interposer.
 */
static inline int blk_interposer_hook_init(struct blk_interposer *ip)
{
	return 0;
}

static inline void blk_interposer_hook_drain(struct blk_interposer *ip)
{
}

static inline void blk_interposer_hook_exit(struct blk_interposer *ip)
{
}

/**
 * blk_interposer_submit_bio - hand a bio to the interposer of its device
 * @bio: the bio being submitted
 * @direct: the caller handles %BLK_INTERPOSER_DIRECT
 *
 * Must be called with the q_usage_counter of the bio's queue held, so that
 * a queue freeze in attach or detach waits for every caller that could have
 * seen the previous interposer.  A bio redirected to a blk-mq target goes
 * straight to it only if the target's queue could be entered without
 * waiting, so that no task ever waits to enter one queue while it holds
 * another; the caller drops the original's counter first.
 *
 * Return: what the interposer did with @bio, an enum blk_interposer_ret.
 */
static inline enum blk_interposer_ret
blk_interposer_submit_bio(struct bio *bio, bool direct)
{
	struct blk_interposer *ip;

	if (!static_branch_unlikely(&blk_interposer_in_use))
		return BLK_INTERPOSER_PASS;
	/* a bio an interposer sent here entered its target */
	if (unlikely(bio_flagged(bio, BIO_IP_TRANSIT)))
		__blk_interposer_arrived(bio);
	ip = READ_ONCE(bio->bi_bdev->bd_interposer);
	/* what this device's own interposer decided goes to its driver */
	if (likely(!ip) || bio->bi_interposed == bio->bi_bdev->bd_dev)
		return BLK_INTERPOSER_PASS;
	return __blk_interposer_submit_bio(ip, bio, direct);
}

/**
 * blk_interposer_bio_end - a bio ends
 * @bio: the bio, in bio_endio()
 *
 * A bio an interposer sent to a target that ends before it entered the
 * target (refused by submit_bio_noacct()'s checks, its queue dying) is no
 * longer in transit either.
 */
static inline void blk_interposer_bio_end(struct bio *bio)
{
	if (static_branch_unlikely(&blk_interposer_in_use) &&
	    unlikely(bio_flagged(bio, BIO_IP_TRANSIT)))
		__blk_interposer_arrived(bio);
}

void __blk_interposer_inherit(struct bio_list *list, struct bio *last,
			      dev_t mark);

/**
 * blk_interposer_submit_driver - hand a bio to a bio-based driver
 * @bio: the bio, inside its queue's q_usage_counter section
 *
 * The bios the driver submits while it handles @bio are made from it:
 * they inherit the mark of the interposer that decided @bio, whether the
 * driver cloned them or built them itself (dm-flakey's corrupted copies,
 * say).  They wait on current->bio_list, so they are found there.
 */
static inline void blk_interposer_submit_driver(struct bio *bio)
{
	struct gendisk *disk = bio->bi_bdev->bd_disk;
	struct bio *last;
	dev_t mark;

	if (!static_branch_unlikely(&blk_interposer_in_use) ||
	    likely(!bio->bi_interposed)) {
		disk->fops->submit_bio(bio);
		return;
	}
	mark = bio->bi_interposed;
	last = current->bio_list[0].tail;
	disk->fops->submit_bio(bio);
	__blk_interposer_inherit(&current->bio_list[0], last, mark);
}

#else /* CONFIG_BLK_INTERPOSER */

static inline enum blk_interposer_ret
blk_interposer_submit_bio(struct bio *bio, bool direct)
{
	return BLK_INTERPOSER_PASS;
}

static inline void blk_interposer_submit_driver(struct bio *bio)
{
	bio->bi_bdev->bd_disk->fops->submit_bio(bio);
}

static inline void blk_interposer_bio_end(struct bio *bio)
{
}

#ifndef BLK_INTERPOSER_MODULE
static inline void blk_interposer_bdev_gone(struct block_device *bdev)
{
}

static inline void blk_interposer_disk_gone(struct gendisk *disk)
{
}

static inline int blk_interposer_ioctl(struct block_device *bdev,
				       blk_mode_t mode, unsigned int cmd,
				       void __user *argp)
{
	return -ENOTTY;
}
#endif

#endif /* CONFIG_BLK_INTERPOSER */

#endif /* _BLK_INTERPOSER_INTERNAL_H */
