// SPDX-License-Identifier: GPL-2.0
/*
 * Block device interposer: attach, detach and the submit path.
 *
 * An interposer sits under a live block device (the original) and takes
 * every bio submitted to it before the driver sees it.  Without a program
 * the interposer redirects each bio to its first target device.
 *
 * Attach and detach publish or clear bdev->bd_interposer while the
 * original's queue is frozen.  The submit hook runs inside the
 * q_usage_counter section that surrounds the driver's submission, for
 * bio-based and blk-mq queues alike, so the freeze waits for every bio that
 * could have seen the old pointer, and the fast path needs no lock of its
 * own.  A bio that the interposer sent on is marked BIO_INTERPOSED and is
 * never interposed again, which is what lets a stacking driver built over
 * the original (a device-mapper table, say) be slid in as the target.
 *
 * Bios that a bio-based original already accepted before the attach may
 * still reach its lower device afterwards; users that need a hard cut
 * quiesce the original first (bdev_freeze() for a mounted filesystem).
 */

#include <linux/bio.h>
#include <linux/blk-interposer.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "blk.h"
#include "blk-interposer.h"

/**
 * struct blk_interposer - an interposer attached to one original device
 * @orig: the original device; a reference on its struct device is held
 * @node: entry in blk_interposer_list
 * @flags: attach flags
 * @nr_targets: number of targets
 * @target_files: the targets, opened exclusively with the interposer as
 *	holder
 * @targets: block devices of @target_files
 * @stats: per-cpu bio counters
 * @release_work: releases the targets when the detach came from a context
 *	that may hold a disk's open_mutex
 */
struct blk_interposer {
	struct block_device		*orig;
	struct list_head		node;
	unsigned int			flags;
	unsigned int			nr_targets;
	struct file			*target_files[BLKINTERPOSE_MAX_TARGETS];
	struct block_device		*targets[BLKINTERPOSE_MAX_TARGETS];
	struct blkinterpose_counters __percpu *stats;
	struct work_struct		release_work;
};

DEFINE_STATIC_KEY_FALSE(blk_interposer_in_use);

/*
 * Serialises attach and detach on every device and protects
 * blk_interposer_list and every bd_interposer pointer against writers.
 * Never held while a disk's open_mutex is taken: targets are opened before
 * and released after it.
 */
static DEFINE_MUTEX(blk_interposer_attach_lock);
static LIST_HEAD(blk_interposer_list);

/*
 * Send @bio to target @idx.  Bios of a partition arrive here already
 * remapped to whole-disk sectors by submit_bio_noacct(); the target gets
 * partition-relative sectors, like a driver stacked on the partition would.
 */
static void blk_interposer_redirect(struct blk_interposer *ip, struct bio *bio,
				    unsigned int idx)
{
	bio->bi_iter.bi_sector -= bio->bi_bdev->bd_start_sect;
	bio_set_dev(bio, ip->targets[idx]);
	bio_set_flag(bio, BIO_INTERPOSED);
	this_cpu_inc(ip->stats->redirected);
	/* current->bio_list is set: this only queues the bio */
	submit_bio_noacct(bio);
}

bool __blk_interposer_submit_bio(struct blk_interposer *ip, struct bio *bio)
{
	this_cpu_inc(ip->stats->seen);
	blk_interposer_redirect(ip, bio, 0);
	return true;
}

static bool blk_interposer_has_target(struct blk_interposer *ip,
				      struct block_device *bdev)
{
	unsigned int i;

	for (i = 0; i < ip->nr_targets; i++)
		if (ip->targets[i] == bdev)
			return true;
	return false;
}

static struct blk_interposer *
blk_interposer_find_target(struct block_device *bdev)
{
	struct blk_interposer *ip;

	lockdep_assert_held(&blk_interposer_attach_lock);
	list_for_each_entry(ip, &blk_interposer_list, node)
		if (blk_interposer_has_target(ip, bdev))
			return ip;
	return NULL;
}

/* A bdev that is being deleted must not get a new interposer. */
static bool blk_interposer_bdev_live(struct block_device *bdev)
{
	struct gendisk *disk = bdev->bd_disk;

	if (!disk_live(disk) || test_bit(GD_DEAD, &disk->state))
		return false;
	return !bdev_is_partition(bdev) ||
	       xa_load(&disk->part_tbl, bdev_partno(bdev)) == bdev;
}

static bool blk_interposer_overlaps(struct block_device *a,
				    struct block_device *b)
{
	if (a->bd_disk != b->bd_disk)
		return false;
	if (!bdev_is_partition(a) || !bdev_is_partition(b))
		return true;
	return a->bd_start_sect < b->bd_start_sect + bdev_nr_sectors(b) &&
	       b->bd_start_sect < a->bd_start_sect + bdev_nr_sectors(a);
}

/* Publish or clear the interposer of @orig with its queue frozen. */
static void blk_interposer_set(struct block_device *orig,
			       struct blk_interposer *ip)
{
	struct request_queue *q = bdev_get_queue(orig);

	lockdep_assert_held(&blk_interposer_attach_lock);
	blk_mq_freeze_queue(q);
	WRITE_ONCE(orig->bd_interposer, ip);
	blk_mq_unfreeze_queue(q);
}

static void blk_interposer_free(struct blk_interposer *ip)
{
	unsigned int i;

	for (i = 0; i < ip->nr_targets; i++)
		if (ip->target_files[i])
			bdev_fput(ip->target_files[i]);
	if (ip->orig)
		put_device(&ip->orig->bd_device);
	free_percpu(ip->stats);
	kfree(ip);
}

static void blk_interposer_release_workfn(struct work_struct *work)
{
	blk_interposer_free(container_of(work, struct blk_interposer,
					 release_work));
}

/* Unhook @ip from its original; the caller frees it afterwards. */
static void blk_interposer_unlink(struct blk_interposer *ip)
{
	blk_interposer_set(ip->orig, NULL);
	list_del_init(&ip->node);
}

static int blk_interposer_open_targets(struct blk_interposer *ip,
				       const struct blk_interposer_params *p)
{
	unsigned int i, j;

	for (i = 0; i < p->nr_targets; i++) {
		struct file *f;

		for (j = 0; j < i; j++)
			if (p->targets[j] == p->targets[i])
				return -EINVAL;
		f = bdev_file_open_by_dev(p->targets[i],
					  BLK_OPEN_READ | BLK_OPEN_WRITE, ip,
					  NULL);
		if (IS_ERR(f))
			return PTR_ERR(f);
		ip->target_files[i] = f;
		ip->targets[i] = file_bdev(f);
		ip->nr_targets = i + 1;
	}
	return 0;
}

/*
 * Checks that need no lock: the geometry of the targets.  Zoned devices
 * are refused because zone write plugging would see bios change device.
 */
static int blk_interposer_check_targets(struct blk_interposer *ip,
					struct block_device *orig, bool plain)
{
	unsigned int i;

	if (bdev_is_zoned(orig))
		return -EOPNOTSUPP;
	for (i = 0; i < ip->nr_targets; i++) {
		struct block_device *t = ip->targets[i];

		if (bdev_is_zoned(t))
			return -EOPNOTSUPP;
		if (blk_interposer_overlaps(orig, t) ||
		    bdev_logical_block_size(t) > bdev_logical_block_size(orig))
			return -EINVAL;
	}
	if (plain && bdev_nr_sectors(ip->targets[0]) < bdev_nr_sectors(orig))
		return -EINVAL;
	return 0;
}

/* Checks against the other interposers; under blk_interposer_attach_lock. */
static int blk_interposer_check_locked(struct blk_interposer *ip,
				       struct block_device *orig)
{
	unsigned int i;

	if (!blk_interposer_bdev_live(orig))
		return -ENODEV;
	if (orig->bd_interposer)
		return -EBUSY;
	/* No chains: an original is never a target and vice versa. */
	if (blk_interposer_find_target(orig))
		return -ELOOP;
	for (i = 0; i < ip->nr_targets; i++) {
		if (!blk_interposer_bdev_live(ip->targets[i]))
			return -ENODEV;
		if (ip->targets[i]->bd_interposer)
			return -ELOOP;
	}
	return 0;
}

/**
 * blk_interposer_attach - attach an interposer to a block device
 * @orig: the original device, a whole disk or a partition
 * @params: the targets and the ops to attach
 *
 * Opens the targets exclusively, then publishes the interposer with the
 * original's queue frozen: bios already inside the original's submission
 * finish with the old state, every later bio sees the interposer.
 *
 * Context: process context, may sleep; must not hold any disk's open_mutex.
 * Return: 0 on success; -EINVAL for bad parameters (no target, a duplicate
 * or overlapping target, a target with a larger logical block size, a
 * target smaller than the original for a plain redirect), -ENOENT for an
 * unknown ops name, -EBUSY if @orig already has an interposer or a target
 * is held by someone else, -ELOOP if the attach would chain interposers,
 * -ENODEV if a device is going away, -EOPNOTSUPP for zoned devices, or the
 * error of opening a target.
 */
int blk_interposer_attach(struct block_device *orig,
			  const struct blk_interposer_params *params)
{
	bool plain = !params->ops_name || !params->ops_name[0];
	struct blk_interposer *ip;
	int ret;

	if (params->flags || params->nr_targets > BLKINTERPOSE_MAX_TARGETS ||
	    (plain && !params->nr_targets))
		return -EINVAL;
	/* Interposer ops are looked up by name once they can be registered. */
	if (!plain)
		return -ENOENT;

	ip = kzalloc(sizeof(*ip), GFP_KERNEL);
	if (!ip)
		return -ENOMEM;
	INIT_LIST_HEAD(&ip->node);
	INIT_WORK(&ip->release_work, blk_interposer_release_workfn);
	ip->flags = params->flags;
	ip->stats = alloc_percpu(struct blkinterpose_counters);
	if (!ip->stats) {
		ret = -ENOMEM;
		goto out_free;
	}

	ret = blk_interposer_open_targets(ip, params);
	if (ret)
		goto out_free;
	ret = blk_interposer_check_targets(ip, orig, plain);
	if (ret)
		goto out_free;

	/* Turned on before the pointer is published, off after it is gone. */
	static_branch_inc(&blk_interposer_in_use);
	mutex_lock(&blk_interposer_attach_lock);
	ret = blk_interposer_check_locked(ip, orig);
	if (ret) {
		mutex_unlock(&blk_interposer_attach_lock);
		static_branch_dec(&blk_interposer_in_use);
		goto out_free;
	}
	get_device(&orig->bd_device);
	ip->orig = orig;
	list_add_tail(&ip->node, &blk_interposer_list);
	blk_interposer_set(orig, ip);
	mutex_unlock(&blk_interposer_attach_lock);
	return 0;

out_free:
	blk_interposer_free(ip);
	return ret;
}
EXPORT_SYMBOL_GPL(blk_interposer_attach);

/**
 * blk_interposer_detach - detach the interposer of a block device
 * @orig: the original device
 *
 * Clears the interposer with the original's queue frozen, then releases
 * the targets.  Bios that were already sent to a target complete there.
 *
 * Context: process context, may sleep; must not hold any disk's open_mutex.
 * Return: 0 on success, -ENOENT if @orig has no interposer.
 */
int blk_interposer_detach(struct block_device *orig)
{
	struct blk_interposer *ip;

	mutex_lock(&blk_interposer_attach_lock);
	ip = orig->bd_interposer;
	if (!ip) {
		mutex_unlock(&blk_interposer_attach_lock);
		return -ENOENT;
	}
	blk_interposer_unlink(ip);
	mutex_unlock(&blk_interposer_attach_lock);
	static_branch_dec(&blk_interposer_in_use);
	blk_interposer_free(ip);
	return 0;
}
EXPORT_SYMBOL_GPL(blk_interposer_detach);

/**
 * blk_interposer_bdev_gone - detach interposers from a device going away
 * @bdev: a block device that is being deleted or lost its media
 *
 * Detaches the interposer of @bdev and every interposer that uses @bdev as
 * a target.  Called from bdev_mark_dead() and drop_partition(), possibly
 * with a disk's open_mutex held, so the targets are released from a work
 * item.
 */
void blk_interposer_bdev_gone(struct block_device *bdev)
{
	struct blk_interposer *ip, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&blk_interposer_attach_lock);
	list_for_each_entry_safe(ip, tmp, &blk_interposer_list, node) {
		if (ip->orig != bdev && !blk_interposer_has_target(ip, bdev))
			continue;
		blk_interposer_unlink(ip);
		list_add_tail(&ip->node, &gone);
	}
	mutex_unlock(&blk_interposer_attach_lock);

	list_for_each_entry_safe(ip, tmp, &gone, node) {
		pr_info("%pg: interposer detached, %pg is going away\n",
			ip->orig, bdev);
		list_del(&ip->node);
		static_branch_dec(&blk_interposer_in_use);
		queue_work(system_unbound_wq, &ip->release_work);
	}
}

/**
 * blk_interposer_query - report the interposer state of a block device
 * @bdev: the device
 * @info: filled in; @info->size is left to the caller
 */
void blk_interposer_query(struct block_device *bdev,
			  struct blkinterpose_info *info)
{
	struct blk_interposer *ip;
	unsigned int i;
	int cpu;

	info->original.major = MAJOR(bdev->bd_dev);
	info->original.minor = MINOR(bdev->bd_dev);

	mutex_lock(&blk_interposer_attach_lock);
	ip = bdev->bd_interposer;
	if (!ip)
		goto out_unlock;
	info->state = BLKINTERPOSE_STATE_ATTACHED;
	info->flags = ip->flags;
	info->nr_targets = ip->nr_targets;
	for (i = 0; i < ip->nr_targets; i++) {
		info->targets[i].major = MAJOR(ip->targets[i]->bd_dev);
		info->targets[i].minor = MINOR(ip->targets[i]->bd_dev);
	}
	for_each_possible_cpu(cpu) {
		struct blkinterpose_counters *c = per_cpu_ptr(ip->stats, cpu);
		struct blkinterpose_counters *sum = &info->counters;

		sum->seen += c->seen;
		sum->passed += c->passed;
		sum->redirected += c->redirected;
		sum->remapped += c->remapped;
		sum->failed += c->failed;
		sum->completed += c->completed;
		sum->invalid += c->invalid;
	}
out_unlock:
	mutex_unlock(&blk_interposer_attach_lock);
}
