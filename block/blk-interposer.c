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
 * own.  A bio that the interposer sent on is marked with its original's
 * device number (bio_interposed()), and so is what is made from it: the
 * original's interposer lets those by, which is what lets a stacking
 * driver built over the original (a device-mapper table, say) be slid in
 * as the target, while the interposers of other devices still see them.
 *
 * Bios that a bio-based original already accepted before the attach may
 * still reach its lower device afterwards; users that need a hard cut
 * quiesce the original first (bdev_freeze() for a mounted filesystem).
 */

#include <linux/bio.h>
#include <linux/blk-integrity.h>
#include <linux/blk-interposer.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mempool.h>
#include <linux/percpu.h>
#include <linux/percpu-refcount.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#ifdef BLK_INTERPOSER_MODULE
#include "blk-interposer-module.h"
#else
#include "blk.h"
#include "blk-throttle.h"
#endif
#include "blk-interposer.h"

/**
 * enum blk_interposer_state - the life of an interposer
 * @BLK_INTERPOSER_ATTACHING: claimed its device, being published there
 * @BLK_INTERPOSER_LIVE: published
 * @BLK_INTERPOSER_LEAVING: being taken off its device
 *
 * An interposer is on blk_interposer_list, and its device taken, in every
 * state: no other can be attached there until it has left.
 */
enum blk_interposer_state {
	BLK_INTERPOSER_ATTACHING,
	BLK_INTERPOSER_LIVE,
	BLK_INTERPOSER_LEAVING,
};

/**
 * struct blk_interposer - an interposer attached to one original device
 * @orig: the original device; a reference on its struct device is held
 * @node: entry in blk_interposer_list
 * @flags: attach flags
 * @nr_targets: number of targets
 * @target_files: the targets, opened exclusively with the interposer as
 *	holder
 * @targets: block devices of @target_files
 * @direct: bit i: target i is a whole blk-mq disk, which may take a bio
 *	straight to its queue; bit %BLK_INTERPOSER_ORIG: the original is
 * @nowait: bit i: target i takes REQ_NOWAIT bios; bit %BLK_INTERPOSER_ORIG:
 *	the original does
 * @linked: bit i: target i is linked as a slave of the original's disk
 *	(its holders and slaves directories), under blk_interposer_holder_lock
 * @lost: the target that went away, 0 while none did; every bio then fails
 * @state: where it is in its life, under blk_interposer_lock
 * @prog: the registered ops deciding per bio, %NULL for a plain redirect
 *	(or for no policy at all if there are no targets: observers only)
 * @observers: the ops watching the device, %NULL if none; replaced as a
 *	whole under blk_interposer_lock, read under RCU.  An interposer
 *	without a policy keeps its last array until it is freed.
 * @stats: per-cpu bio counters
 * @inflight: bios in flight whose completion @prog or an observer sees
 * @drained: completed when @inflight drops to zero after a detach
 * @io_pool: struct blk_interposer_io of those bios
 * @release_work: takes it off its device and releases it when that cannot
 *	be done where it was asked for: with a disk's open_mutex held (device
 *	removal) or BPF's struct_ops update mutex (unregistering its ops)
 * @reserved_for: non-zero for a reservation (blk_interposer_reserve()):
 *	@orig is then the reserved device, which takes only interposed bios
 *	and may only become a target of the interposer of this device
 * @hook: the module's per-interposer state of its ftrace hook (the
 *	blk_interposer module only)
 */
struct blk_interposer {
	struct block_device		*orig;
	struct list_head		node;
	unsigned int			flags;
	unsigned int			nr_targets;
	struct file			*target_files[BLK_INTERPOSER_MAX_TARGETS];
	struct block_device		*targets[BLK_INTERPOSER_MAX_TARGETS];
	unsigned long			direct;
	unsigned long			nowait;
	unsigned long			linked;
	dev_t				lost;
	enum blk_interposer_state	state;
	struct blk_interposer_prog	*prog;
	struct blk_interposer_observers __rcu *observers;
	struct blkinterpose_counters __percpu *stats;
	struct percpu_ref		inflight;
	struct completion		drained;
	mempool_t			io_pool;
	struct work_struct		release_work;
	dev_t				reserved_for;
#ifdef BLK_INTERPOSER_MODULE
	struct blk_interposer_hook	hook;
#endif
};

/**
 * struct blk_interposer_prog - a registered interposer ops
 * @node: entry in blk_interposer_progs
 * @ops: the current ops; replaced by a link update, cleared when it is
 *	unregistered, read under RCU
 * @ref: one for the registration, one per interposer using it
 * @name: the name it was registered under
 *
 * Unregistering clears @ops and waits for an RCU grace period, so no
 * callback of the ops runs after its struct_ops map is gone; the
 * interposers that used it pass every bio until they are taken off their
 * devices, which may take longer.
 */
struct blk_interposer_prog {
	struct list_head		node;
	struct blk_interposer_ops __rcu	*ops;
	refcount_t			ref;
	char				name[BLKINTERPOSE_NAME_LEN];
};

/**
 * struct blk_interposer_obs_stats - what one observer saw
 * @seen: bios that entered the device
 * @ended: completions
 */
struct blk_interposer_obs_stats {
	u64	seen;
	u64	ended;
};

/**
 * struct blk_interposer_observer - an ops watching a device
 * @prog: the registered ops; a reference is held
 * @stats: per-cpu counters
 */
struct blk_interposer_observer {
	struct blk_interposer_prog		*prog;
	struct blk_interposer_obs_stats __percpu *stats;
};

/**
 * struct blk_interposer_observers - the observers of a device
 * @rcu: frees a replaced array
 * @gone: the entry to release with a replaced array, -1 for none
 * @nr: number of entries in @obs
 * @obs: the observers, in the order they were attached
 *
 * Never changed once published: attaching or detaching an observer
 * publishes a new array.
 */
struct blk_interposer_observers {
	struct rcu_head			rcu;
	int				gone;
	unsigned int			nr;
	struct blk_interposer_observer	obs[] __counted_by(nr);
};

/**
 * struct blk_interposer_io - what the interposer keeps of a bio whose
 * completion a program wants to see
 * @ip: the interposer
 * @end_io: the bio's own completion callback, called after the program's
 * @private: the bio's own bi_private
 * @bdev: the device the bio was submitted to
 * @iter: the bio's iterator as submitted
 * @interposed: bio_interposed() of the bio as submitted
 * @flags: BIO_REMAPPED of the bio as submitted
 * @action: the verdict
 * @start_ns: when the interposer took the bio
 *
 * The bio itself is sent on (no clone): its completion callback is taken
 * over until it completes, and the bio is then given back to the program
 * and to its submitter as it was submitted.
 */
struct blk_interposer_io {
	struct blk_interposer		*ip;
	bio_end_io_t			*end_io;
	void				*private;
	struct block_device		*bdev;
	struct bvec_iter		iter;
	dev_t				interposed;
	unsigned short			flags;
	enum blk_interposer_action	action;
	u64				start_ns;
};

#ifndef BLK_INTERPOSER_MODULE
DEFINE_STATIC_KEY_FALSE(blk_interposer_in_use);
#endif

/*
 * Bios on their way to a target through submit_bio_noacct(): from the
 * interposer that sent them until they entered the target's queue (or
 * ended before).  Readers are the bios (BIO_IP_TRANSIT, the index in
 * BIO_IP_TRANSIT_IDX); a detach waits for them before it closes its
 * targets, so that no bio points at a device that was deleted meanwhile.
 * A bio sent straight to a blk-mq target holds that target's queue
 * instead (blk_interposer_send()), which its deletion waits for.
 */
DEFINE_STATIC_SRCU(blk_interposer_transit);

/* Bit of the original in blk_interposer::direct and ::nowait */
#define BLK_INTERPOSER_ORIG	BLK_INTERPOSER_MAX_TARGETS

static struct kmem_cache *blk_interposer_io_cache;
/* Reserve of each interposer with a program, as a bio set has */
#define BLK_INTERPOSER_IO_POOL	BIO_POOL_SIZE

/*
 * Protects blk_interposer_list, the state of every interposer on it, and
 * the registered ops.  Held only for short checks and list updates: never
 * while a queue is frozen (a queue that does not drain blocks only the
 * attach or detach of its own device), never while a disk's open_mutex is
 * taken (targets are opened before and released after it).
 */
static DEFINE_MUTEX(blk_interposer_lock);
static LIST_HEAD(blk_interposer_list);
/* Registered ops, under blk_interposer_lock. */
static LIST_HEAD(blk_interposer_progs);

/*
 * Serialises the holder links of every interposer (blk_interposer::linked)
 * against the deletion of the disks they are made in.  Taken before
 * blk_interposer_lock and never with a disk's open_mutex held: linking
 * takes the target disk's open_mutex.
 */
static DEFINE_MUTEX(blk_interposer_holder_lock);

#ifndef BLK_INTERPOSER_MODULE
/*
 * Whether @bio, already checked against the original, may skip the checks
 * submit_bio_noacct() makes for @bdev, a whole blk-mq disk (decided at
 * attach): a read or a plain write that fits on a disk able to take it.
 * Anything else (flushes, FUA and atomic writes, other ops, encryption
 * contexts, read-only targets, fault injection) takes the full path.
 */
static bool blk_interposer_can_direct(struct bio *bio,
				      struct block_device *bdev)
{
	if (bio->bi_opf & (REQ_PREFLUSH | REQ_FUA | REQ_ATOMIC))
		return false;
	switch (bio_op(bio)) {
	case REQ_OP_READ:
		break;
	case REQ_OP_WRITE:
		if (bdev_read_only(bdev))
			return false;
		break;
	default:
		return false;
	}
	if (bio_has_crypt_ctx(bio))
		return false;
#ifdef CONFIG_FAIL_MAKE_REQUEST
	if (bdev_test_flag(bdev, BD_MAKE_IT_FAIL))
		return false;
#endif
	return bio_end_sector(bio) <= bdev_nr_sectors(bdev);
}
#endif

/* The device a destination (a target index or BLK_INTERPOSER_ORIG) is. */
static struct block_device *
blk_interposer_dest_bdev(struct blk_interposer *ip, unsigned int dest)
{
	return dest == BLK_INTERPOSER_ORIG ? ip->orig : ip->targets[dest];
}

/*
 * Enter @q if that needs no waiting, annotated for lockdep as
 * bio_queue_enter() does: the submitter could have had to wait for the
 * queue's freeze on another path.
 */
#ifndef BLK_INTERPOSER_MODULE
static bool blk_interposer_try_enter(struct request_queue *q)
{
	if (!blk_try_enter_queue(q, false))
		return false;
	rwsem_acquire_read(&q->io_lockdep_map, 0, 0, _RET_IP_);
	rwsem_release(&q->io_lockdep_map, _RET_IP_);
	return true;
}
#endif

/*
 * Count @bio as in transit to a target until it enters the target's queue
 * or ends (see blk_interposer_submit_bio() and blk_interposer_bio_end()):
 * a detach waits for it before the target may be released.
 */
static void blk_interposer_transit_begin(struct bio *bio)
{
#ifndef BLK_INTERPOSER_MODULE
	if (srcu_down_read(&blk_interposer_transit))
		bio_set_flag(bio, BIO_IP_TRANSIT_IDX);
	bio_set_flag(bio, BIO_IP_TRANSIT);
#endif
}

/*
 * Point @bio at sector @sector (relative to @bdev) of @bdev and send it on.
 * Bios of a partition arrive here already remapped to whole-disk sectors by
 * submit_bio_noacct(), which remaps them again for the new device.  The mark
 * keeps the bio, and what is made from it, from being interposed by this
 * interposer a second time.
 *
 * With @direct, a bio that needs none of submit_bio_noacct()'s checks is
 * accounted (bio_start_submit()) and handed back to the
 * caller for the destination's queue, which skips a trip through
 * current->bio_list.  That queue is entered here, while the original's is
 * still held and the interposer with it, so that the destination cannot
 * go away before the bio is in it: only if it can be entered without
 * waiting (not while it is frozen), since a task never waits for one
 * queue while it holds another.  Return: %BLK_INTERPOSER_DIRECT for that,
 * else %BLK_INTERPOSER_TAKEN.
 */
static enum blk_interposer_ret
blk_interposer_send(struct blk_interposer *ip, struct bio *bio,
		    unsigned int dest, sector_t sector, bool direct)
{
	struct block_device *bdev = blk_interposer_dest_bdev(ip, dest);

	/*
	 * A device that cannot take REQ_NOWAIT would fail the bio with
	 * EOPNOTSUPP: tell the submitter to retry where it may block.
	 */
	if (unlikely(bio->bi_opf & REQ_NOWAIT) && !test_bit(dest, &ip->nowait)) {
		bio_wouldblock_error(bio);
		return BLK_INTERPOSER_TAKEN;
	}
	bio->bi_iter.bi_sector = sector;
	/* the destination may not poll: complete by interrupt instead */
	bio->bi_opf &= ~REQ_POLLED;
	bio_set_dev(bio, bdev);
	bio_set_interposed(bio, ip->orig->bd_dev);
#ifndef BLK_INTERPOSER_MODULE
	if (direct && test_bit(dest, &ip->direct) &&
	    blk_interposer_can_direct(bio, bdev)) {
		struct request_queue *q = bdev_get_queue(bdev);

		if (blk_interposer_try_enter(q)) {
			if (blk_throtl_bio(bio)) {
				/* the target's throttling owns it now */
				blk_queue_exit(q);
				return BLK_INTERPOSER_TAKEN;
			}
			bio_start_submit(bio);
			return BLK_INTERPOSER_DIRECT;
		}
	}
#endif
	if (dest != BLK_INTERPOSER_ORIG)
		blk_interposer_transit_begin(bio);
	/* current->bio_list is set: this only queues the bio */
	blk_interposer_resubmit(bio);
	return BLK_INTERPOSER_TAKEN;
}

/*
 * The start sector of @bio relative to its device.  submit_bio_noacct()
 * remaps a partition's bios with data to whole-disk sectors once
 * (BIO_REMAPPED): an empty bio (a flush) keeps the sector it was given,
 * and the module's hook sees bios before they are remapped.
 */
static sector_t blk_interposer_rel_sector(struct bio *bio)
{
	if (likely(!bio_flagged(bio, BIO_REMAPPED)) ||
	    unlikely(!bio_sectors(bio)))
		return bio->bi_iter.bi_sector;
	return bio->bi_iter.bi_sector - bio->bi_bdev->bd_start_sect;
}

/* Show a bio's completion to observers; under rcu_read_lock(). */
static noinline void
blk_interposer_observe_end(struct blk_interposer_observers *obs,
			   struct bio *bio,
			   const struct blk_interposer_completion *c)
{
	struct blk_interposer_ops *ops;
	unsigned int i;

	for (i = 0; i < obs->nr; i++) {
		ops = rcu_dereference(obs->obs[i].prog->ops);
		if (ops && ops->end_bio) {
			this_cpu_inc(obs->obs[i].stats->ended);
			ops->end_bio(bio, c);
		}
	}
}

/*
 * Show a bio's completion to the policy's ops, if it has one, and to the
 * observers attached now.
 */
static void blk_interposer_end(struct blk_interposer *ip, struct bio *bio,
			       enum blk_interposer_action action, u64 start_ns)
{
	struct blk_interposer_completion c = {
		.action = action,
		.error = blk_status_to_errno(bio->bi_status),
		.start_ns = start_ns,
		.latency_ns = ktime_get_ns() - start_ns,
	};
	struct blk_interposer_observers *obs;
	struct blk_interposer_ops *ops;

	rcu_read_lock();
	if (ip->prog) {
		ops = rcu_dereference(ip->prog->ops);
		if (ops && ops->end_bio)
			ops->end_bio(bio, &c);
	}
	obs = rcu_dereference(ip->observers);
	if (unlikely(obs))
		blk_interposer_observe_end(obs, bio, &c);
	rcu_read_unlock();
}

#define BLK_INTERPOSER_IO_FLAGS	BIT(BIO_REMAPPED)

/*
 * Give a bio the interposer took over back as it was submitted, show it to
 * the program, then complete it for its submitter.  bio_endio() already
 * did everything but calling the submitter's callback, so that is all
 * that is left to do.
 */
static void __blk_interposer_endio(struct bio *bio)
{
	struct blk_interposer_io *io = bio->bi_private;
	struct blk_interposer *ip = io->ip;

	bio->bi_end_io = io->end_io;
	bio->bi_private = io->private;
	bio->bi_bdev = io->bdev;
	bio->bi_iter = io->iter;
	bio_set_interposed(bio, io->interposed);
	bio->bi_flags = (bio->bi_flags & ~BLK_INTERPOSER_IO_FLAGS) | io->flags;
	blk_interposer_end(ip, bio, io->action, io->start_ns);
	/* refill the reserve if it was drawn on, else straight to the slab */
	if (likely(mempool_is_saturated(&ip->io_pool)))
		kmem_cache_free(blk_interposer_io_cache, io);
	else
		mempool_free(io, &ip->io_pool);
	if (bio->bi_end_io)
		bio->bi_end_io(bio);
	percpu_ref_put(&ip->inflight);
}

/*
 * Bios whose completion is running on this CPU, one list per context
 * (task, softirq, hardirq, NMI): a callback of a bio being completed may
 * end another bio the interposer took over (bio_chain_endio() ends the
 * parent of a chain), and that one waits on the list instead of nesting.
 */
static DEFINE_PER_CPU(struct bio_list * [4], blk_interposer_completing);

/*
 * The completion callback of a bio the interposer took over.  bio_endio()
 * walks chains of bios iteratively because drivers that save and restore
 * bi_end_io would otherwise recurse through bio_chain_endio(); calling
 * the saved callback here is such a restore, so the interposer keeps the
 * walk iterative itself: a chain of any length completing last-first
 * takes one frame per context, not one per bio.  Only bio_chain_endio()
 * ends the next bio of an unbounded series; any other callback is called
 * directly, as a stacking driver calls its submitter's.
 */
static void blk_interposer_endio(struct bio *bio)
{
	struct blk_interposer_io *io = bio->bi_private;
	struct bio_list list = BIO_EMPTY_LIST;
	struct bio_list **running;

	if (likely(io->end_io != bio_chain_endio)) {
		__blk_interposer_endio(bio);
		return;
	}
	preempt_disable();
	running = this_cpu_ptr(&blk_interposer_completing[interrupt_context_level()]);
	if (*running) {
		bio_list_add(*running, bio);
		preempt_enable();
		return;
	}
	*running = &list;
	do {
		__blk_interposer_endio(bio);
	} while ((bio = bio_list_pop(&list)));
	*running = NULL;
	preempt_enable();
}

/*
 * Take over the completion of @bio so that the program sees it.  Return:
 * %false if @bio was ended because no memory could be had without waiting.
 */
static bool blk_interposer_hook(struct blk_interposer *ip, struct bio *bio,
				enum blk_interposer_action action,
				u64 start_ns)
{
	gfp_t gfp = bio->bi_opf & REQ_NOWAIT ? GFP_NOWAIT : GFP_NOIO;
	struct blk_interposer_io *io;

	/* the slab first: the pool is a reserve for when it has nothing */
	io = kmem_cache_alloc(blk_interposer_io_cache,
			      GFP_NOWAIT | __GFP_NOWARN);
	if (unlikely(!io)) {
		io = mempool_alloc(&ip->io_pool, gfp);
		if (unlikely(!io)) {
			bio_wouldblock_error(bio);
			return false;
		}
	}
	io->ip = ip;
	io->end_io = bio->bi_end_io;
	io->private = bio->bi_private;
	io->bdev = bio->bi_bdev;
	io->iter = bio->bi_iter;
	io->interposed = bio_interposed(bio);
	io->flags = bio->bi_flags & BLK_INTERPOSER_IO_FLAGS;
	io->action = action;
	io->start_ns = start_ns;
	percpu_ref_get(&ip->inflight);
	bio->bi_end_io = blk_interposer_endio;
	bio->bi_private = io;
	return true;
}

/* End @bio here: failed, completed without I/O, or refused. */
static void blk_interposer_finish(struct blk_interposer *ip, struct bio *bio,
				  enum blk_interposer_action action,
				  blk_status_t status, u64 start_ns)
{
	if (action == BLK_INTERPOSE_COMPLETE && bio_data_dir(bio) == READ)
		zero_fill_bio(bio);
	bio->bi_status = status;
	if (start_ns)
		blk_interposer_end(ip, bio, action, start_ns);
	bio_endio(bio);
}

/*
 * Check a program's verdict and find where the bio goes.  *@sector is the
 * bio's start relative to its device on entry.  Return: the destination
 * (a target index or %BLK_INTERPOSER_ORIG) with *@sector set, or a
 * negative value if the verdict is invalid.
 */
static int blk_interposer_dest(struct blk_interposer *ip, struct bio *bio,
			       enum blk_interposer_action action,
			       const struct blk_interposer_verdict *v,
			       sector_t *sector)
{
	struct block_device *bdev;
	int dest;

	if (likely(v->target < ip->nr_targets))
		dest = v->target;
	else if (action == BLK_INTERPOSE_REMAP &&
		 v->target == BLK_INTERPOSE_ORIGINAL)
		dest = BLK_INTERPOSER_ORIG;
	else
		return -1;

	/* an empty bio (a flush) has no range: its sector means nothing */
	if (action == BLK_INTERPOSE_REMAP && bio_sectors(bio)) {
		bdev = blk_interposer_dest_bdev(ip, dest);
		/* the whole range must fit: never truncate a remapped bio */
		if (v->sector > bdev_nr_sectors(bdev) ||
		    bio_sectors(bio) > bdev_nr_sectors(bdev) - v->sector)
			return -1;
		*sector = v->sector;
	}
	return dest;
}

/*
 * The errnos a program may fail a bio with, either sign; 0 means EIO.
 * Statuses with a meaning inside the block layer (requeue, resource,
 * retry, zone limits) are not offered.  Return: %BLK_STS_OK for an errno
 * outside the set.
 */
static blk_status_t blk_interposer_fail_status(s32 error)
{
	/* negate only positive values: -INT_MIN would overflow */
	int err = error < 0 ? error : -error;

	switch (err) {
	case 0:
		return BLK_STS_IOERR;
	case -EIO:
	case -EROFS:
	case -ENOSPC:
	case -ENODATA:
	case -EILSEQ:
	case -EOPNOTSUPP:
	case -ETIMEDOUT:
	case -ENOLINK:
	case -EREMOTEIO:
	case -EBADE:
		return errno_to_blk_status(err);
	default:
		return BLK_STS_OK;
	}
}

/*
 * Apply a verdict; @sector: the bio's start on its device.  With
 * @start_ns, the completion is shown to the policy and the observers.
 */
static enum blk_interposer_ret
blk_interposer_apply(struct blk_interposer *ip, struct bio *bio, int action,
		     const struct blk_interposer_verdict *v, sector_t sector,
		     u64 start_ns, bool direct)
{
	blk_status_t status;
	int dest;

	switch (action) {
	case BLK_INTERPOSE_PASS:
		this_cpu_inc(ip->stats->passed);
		/* on to the original's driver, seen again at completion */
		if (start_ns && !blk_interposer_hook(ip, bio, action, start_ns))
			return BLK_INTERPOSER_TAKEN;
		return BLK_INTERPOSER_PASS;
	case BLK_INTERPOSE_REDIRECT:
	case BLK_INTERPOSE_REMAP:
		dest = blk_interposer_dest(ip, bio, action, v, &sector);
		if (dest < 0)
			goto invalid;
		if (action == BLK_INTERPOSE_REDIRECT)
			this_cpu_inc(ip->stats->redirected);
		else
			this_cpu_inc(ip->stats->remapped);
		break;
	case BLK_INTERPOSE_FAIL:
		status = blk_interposer_fail_status(v->error);
		if (status == BLK_STS_OK)
			goto invalid;
		this_cpu_inc(ip->stats->failed);
		blk_interposer_finish(ip, bio, action, status, start_ns);
		return BLK_INTERPOSER_TAKEN;
	case BLK_INTERPOSE_COMPLETE:
		this_cpu_inc(ip->stats->completed);
		blk_interposer_finish(ip, bio, action, BLK_STS_OK, start_ns);
		return BLK_INTERPOSER_TAKEN;
	default:
		goto invalid;
	}

	if (start_ns && !blk_interposer_hook(ip, bio, action, start_ns))
		return BLK_INTERPOSER_TAKEN;
	return blk_interposer_send(ip, bio, dest, sector, direct);

invalid:
	this_cpu_inc(ip->stats->invalid);
	blk_interposer_finish(ip, bio, action, BLK_STS_IOERR, start_ns);
	return BLK_INTERPOSER_TAKEN;
}

/*
 * A reserved device takes the bios the interposer of the device it is
 * reserved for decided.  Any other bio did not come through that
 * interposer and would reach the original behind its holder's back.
 */
static enum blk_interposer_ret
blk_interposer_reserved(struct blk_interposer *ip, struct bio *bio)
{
	if (bio_interposed(bio) == ip->reserved_for)
		return BLK_INTERPOSER_PASS;
	this_cpu_inc(ip->stats->failed);
	pr_warn_ratelimited("%pg: reserved for the interposer of %u:%u, refusing I/O that did not come through it\n",
			    ip->orig, MAJOR(ip->reserved_for),
			    MINOR(ip->reserved_for));
	bio->bi_status = BLK_STS_NOTSUPP;
	bio_endio(bio);
	return BLK_INTERPOSER_TAKEN;
}

/*
 * Show a bio that entered the device to its observers, with the policy's
 * verdict; under rcu_read_lock().  They get a copy: they cannot change it.
 * Return: whether one of them wants to see the bio's completion: it has
 * an end_bio callback and did not set %BLK_INTERPOSE_NO_END in its copy.
 */
static noinline bool
blk_interposer_observe_bio(struct blk_interposer_observers *obs,
			   struct bio *bio,
			   const struct blk_interposer_verdict *v)
{
	struct blk_interposer_verdict copy;
	struct blk_interposer_ops *ops;
	bool end = false;
	unsigned int i;

	for (i = 0; i < obs->nr; i++) {
		ops = rcu_dereference(obs->obs[i].prog->ops);
		this_cpu_inc(obs->obs[i].stats->seen);
		if (!ops)
			continue;
		copy = *v;
		copy.flags = 0;
		if (ops->submit_bio)
			ops->submit_bio(bio, &copy);
		if (ops->end_bio && !(copy.flags & BLK_INTERPOSE_NO_END))
			end = true;
	}
	return end;
}

/*
 * A target of @ip went away: the original's data is not what was written
 * through the interposer since the attach, so nothing may reach it.  The
 * observers see the bio fail (the policy never decides it).
 */
static enum blk_interposer_ret
blk_interposer_lost(struct blk_interposer *ip, struct bio *bio,
		    const struct blk_interposer_verdict *v)
{
	struct blk_interposer_completion c = {
		.action = BLK_INTERPOSE_FAIL,
		.error = -EIO,
	};
	struct blk_interposer_observers *obs;

	this_cpu_inc(ip->stats->lost);
	rcu_read_lock();
	obs = rcu_dereference(ip->observers);
	if (unlikely(obs)) {
		c.start_ns = blk_time_get_ns();
		blk_interposer_observe_bio(obs, bio, v);
		bio->bi_status = BLK_STS_IOERR;
		blk_interposer_observe_end(obs, bio, &c);
	}
	rcu_read_unlock();
	bio_io_error(bio);
	return BLK_INTERPOSER_TAKEN;
}

/**
 * __blk_interposer_submit_bio - decide a bio of an interposed device
 * @ip: the interposer of @bio's device, read in its queue usage section
 * @bio: the bio, not decided by @ip yet
 * @direct: the caller handles %BLK_INTERPOSER_DIRECT
 *
 * The slow path of blk_interposer_submit_bio(): the reservation or failed
 * state of @ip, then the policy (the plain redirect or the ops) and the
 * observers.
 *
 * Return: what became of @bio, an enum blk_interposer_ret.
 */
enum blk_interposer_ret __blk_interposer_submit_bio(struct blk_interposer *ip,
						    struct bio *bio,
						    bool direct)
{
	sector_t sector = blk_interposer_rel_sector(bio);
	struct blk_interposer_verdict v = { .sector = sector };
	struct blk_interposer_observers *obs;
	struct blk_interposer_ops *ops;
	int action = BLK_INTERPOSE_PASS;
	u64 start_ns = 0;

	if (unlikely(READ_ONCE(ip->lost)))
		return blk_interposer_lost(ip, bio, &v);
	/* plain redirect, nobody watching */
	if (!ip->prog && likely(!rcu_access_pointer(ip->observers))) {
		if (unlikely(ip->reserved_for))
			return blk_interposer_reserved(ip, bio);
		this_cpu_inc(ip->stats->redirected);
		return blk_interposer_send(ip, bio, 0, sector, direct);
	}
	/*
	 * The rest of a bio that the original's driver split comes back here
	 * already passed, and its completion already taken over.
	 */
	if (unlikely(bio->bi_end_io == blk_interposer_endio) &&
	    ((struct blk_interposer_io *)bio->bi_private)->ip == ip)
		return BLK_INTERPOSER_PASS;

	rcu_read_lock();
	if (ip->prog) {
		ops = rcu_dereference(ip->prog->ops);
		/* an ops unregistered but not yet taken off the device passes */
		if (likely(ops)) {
			if (ops->submit_bio)
				action = ops->submit_bio(bio, &v);
			if (ops->end_bio && !(v.flags & BLK_INTERPOSE_NO_END))
				start_ns = blk_time_get_ns() ?: 1;
		}
	} else if (ip->nr_targets) {
		/* a plain redirect, watched */
		action = BLK_INTERPOSE_REDIRECT;
	}
	/*
	 * The completion is taken over only if someone wants to see it:
	 * observers without end_bio, or declining it, leave it alone.
	 */
	obs = rcu_dereference(ip->observers);
	if (unlikely(obs) && blk_interposer_observe_bio(obs, bio, &v) &&
	    !start_ns)
		start_ns = blk_time_get_ns() ?: 1;
	rcu_read_unlock();
	return blk_interposer_apply(ip, bio, action, &v, sector, start_ns,
				    direct);
}

/**
 * __blk_interposer_arrived - a bio sent to a target is no longer in transit
 * @bio: the bio, inside its target's q_usage_counter section or ending
 */
#ifndef BLK_INTERPOSER_MODULE
void __blk_interposer_arrived(struct bio *bio)
{
	int idx = bio_flagged(bio, BIO_IP_TRANSIT_IDX);

	bio_clear_flag(bio, BIO_IP_TRANSIT);
	bio_clear_flag(bio, BIO_IP_TRANSIT_IDX);
	srcu_up_read(&blk_interposer_transit, idx);
}

/**
 * __blk_interposer_inherit - mark the bios a driver made from a marked bio
 * @list: current->bio_list[0], where the driver's bios wait
 * @last: the last bio on @list before the driver was called, or %NULL
 * @mark: bio_interposed() of the bio the driver handled
 *
 * Bios that already carry a mark keep theirs.
 */
void __blk_interposer_inherit(struct bio_list *list, struct bio *last,
			      dev_t mark)
{
	struct bio *bio = last ? last->bi_next : list->head;

	for (; bio; bio = bio->bi_next)
		if (!bio_interposed(bio))
			bio_set_interposed(bio, mark);
}
#endif

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

	lockdep_assert_held(&blk_interposer_lock);
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

/*
 * Publish or clear the interposer of @bdev with its queue frozen: bios
 * already inside the queue finish with the old pointer, every later one
 * sees the new.  No lock is held: a queue that does not drain blocks only
 * this device's attach or detach.
 */
static void blk_interposer_set(struct block_device *bdev,
			       struct blk_interposer *ip)
{
	struct request_queue *q = bdev_get_queue(bdev);

	lockdep_assert_not_held(&blk_interposer_lock);
	blk_mq_freeze_queue(q);
	blk_interposer_publish(bdev, ip);
	blk_mq_unfreeze_queue(q);
}

static void blk_interposer_inflight_release(struct percpu_ref *ref)
{
	complete(&container_of(ref, struct blk_interposer, inflight)->drained);
}

static void blk_interposer_prog_put(struct blk_interposer_prog *prog)
{
	if (refcount_dec_and_test(&prog->ref))
		kfree(prog);
}

static void blk_interposer_observer_release(struct blk_interposer_observer *o)
{
	free_percpu(o->stats);
	blk_interposer_prog_put(o->prog);
}

/* Free a replaced observer array and the entry it was replaced without. */
static void blk_interposer_observers_rcu_free(struct rcu_head *head)
{
	struct blk_interposer_observers *obs =
		container_of(head, struct blk_interposer_observers, rcu);

	if (obs->gone >= 0)
		blk_interposer_observer_release(&obs->obs[obs->gone]);
	kfree(obs);
}

/*
 * A new observer array: @old (or none) without its entry @drop (or -1),
 * with @add (or %NULL) appended.  The entries are shared, not copied.
 */
static struct blk_interposer_observers *
blk_interposer_observers_new(const struct blk_interposer_observers *old,
			     const struct blk_interposer_observer *add,
			     int drop)
{
	unsigned int n = old ? old->nr : 0, i, j = 0;
	struct blk_interposer_observers *obs;

	obs = kzalloc(struct_size(obs, obs, n + 1), GFP_KERNEL);
	if (!obs)
		return NULL;
	obs->gone = -1;
	obs->nr = n + (add ? 1 : 0) - (drop >= 0 ? 1 : 0);
	for (i = 0; i < n; i++)
		if (i != drop)
			obs->obs[j++] = old->obs[i];
	if (add)
		obs->obs[j] = *add;
	return obs;
}

/* The index of the observer using @prog in @obs, or -1. */
static int blk_interposer_observer_of(const struct blk_interposer_observers *obs,
				      const struct blk_interposer_prog *prog)
{
	unsigned int i;

	for (i = 0; obs && i < obs->nr; i++)
		if (obs->obs[i].prog == prog)
			return i;
	return -1;
}

/* The observers of @ip, which the caller keeps from changing. */
static struct blk_interposer_observers *
blk_interposer_observers(struct blk_interposer *ip)
{
	return rcu_dereference_protected(ip->observers,
			lockdep_is_held(&blk_interposer_lock) ||
			ip->state == BLK_INTERPOSER_LEAVING);
}

/*
 * Observers only: no ops, no target to redirect to, no reservation.
 * Such an interposer leaves with its last observer.
 */
static bool blk_interposer_no_policy(const struct blk_interposer *ip)
{
	return !ip->prog && !ip->nr_targets && !ip->reserved_for;
}

/* Wait for the bios still in flight, then release everything. */
static void blk_interposer_free(struct blk_interposer *ip)
{
	struct blk_interposer_observers *obs;
	unsigned int i;

	/* bios still deciding with it take references on what follows */
	blk_interposer_hook_drain(ip);
	/* reservations do not count bios in flight */
	if (ip->inflight.data) {
		percpu_ref_kill(&ip->inflight);
		wait_for_completion(&ip->drained);
	}
	percpu_ref_exit(&ip->inflight);
	if (ip->prog)
		blk_interposer_prog_put(ip->prog);
	/* off its device, nothing in flight: nobody reads the observers */
	obs = rcu_dereference_protected(ip->observers, true);
	for (i = 0; obs && i < obs->nr; i++)
		blk_interposer_observer_release(&obs->obs[i]);
	kfree(obs);
	mempool_exit(&ip->io_pool);
	for (i = 0; i < ip->nr_targets; i++)
		if (ip->target_files[i])
			bdev_fput(ip->target_files[i]);
	if (ip->orig)
		put_device(&ip->orig->bd_device);
	free_percpu(ip->stats);
	blk_interposer_hook_exit(ip);
	kfree(ip);
}

/* Tell an ops that it is attached to or was detached from @orig. */
static void blk_interposer_notify_prog(struct blk_interposer_prog *prog,
				       struct block_device *orig, bool attach)
{
	struct blk_interposer_ops *ops;

	rcu_read_lock();
	ops = rcu_dereference(prog->ops);
	if (ops && attach && ops->attach)
		ops->attach(orig);
	else if (ops && !attach && ops->detach)
		ops->detach(orig);
	rcu_read_unlock();
}

/*
 * Tell the policy's ops that it is attached to @orig, or it and every
 * observer that they were detached from it.  An observer is told of its
 * attach when it is attached (blk_interposer_observe()).
 */
static void blk_interposer_notify(struct blk_interposer *ip,
				  struct block_device *orig, bool attach)
{
	struct blk_interposer_observers *obs;
	unsigned int i;

	if (ip->prog)
		blk_interposer_notify_prog(ip->prog, orig, attach);
	if (attach)
		return;
	obs = blk_interposer_observers(ip);
	for (i = 0; obs && i < obs->nr; i++)
		blk_interposer_notify_prog(obs->obs[i].prog, orig, false);
}

/*
 * Show the targets of @ip as slaves of its original's disk, as a stacking
 * driver shows its devices: /sys/block/DISK/slaves/TARGET and
 * TARGET/holders/DISK, which lsblk follows.  The holder is always a whole
 * disk; a target on the original's own disk is not linked.  A disk that is
 * no longer live may have had its links removed already by
 * blk_interposer_disk_gone() and gets none.
 */
static int blk_interposer_link(struct blk_interposer *ip)
{
	struct gendisk *disk = ip->orig->bd_disk;
	unsigned int i;
	int ret = 0;

	if (!BLK_INTERPOSER_HOLDER_LINKS)
		return 0;
	mutex_lock(&blk_interposer_holder_lock);
	for (i = 0; i < ip->nr_targets && disk_live(disk); i++) {
		if (ip->targets[i]->bd_disk == disk)
			continue;
		ret = bd_link_disk_holder(ip->targets[i], disk);
		if (ret)
			break;
		__set_bit(i, &ip->linked);
	}
	mutex_unlock(&blk_interposer_holder_lock);
	return ret;
}

/* Remove the holder links of @ip; under blk_interposer_holder_lock. */
static void blk_interposer_unlink(struct blk_interposer *ip,
				  struct gendisk *gone)
{
	unsigned int i;

	lockdep_assert_held(&blk_interposer_holder_lock);
	for_each_set_bit(i, &ip->linked, BLK_INTERPOSER_MAX_TARGETS) {
		if (gone && ip->orig->bd_disk != gone &&
		    ip->targets[i]->bd_disk != gone)
			continue;
		bd_unlink_disk_holder(ip->targets[i], ip->orig->bd_disk);
		__clear_bit(i, &ip->linked);
	}
}

/*
 * Take @ip, which is leaving, off its device and release it.  No lock is
 * held; may sleep until its device's queue drains and its bios in flight
 * completed.
 */
static void blk_interposer_leave(struct blk_interposer *ip)
{
	blk_interposer_set(ip->orig, NULL);
	/* bios it sent reached their targets before the targets are closed */
	if (ip->nr_targets)
		synchronize_srcu(&blk_interposer_transit);
	blk_interposer_notify(ip, ip->orig, false);
	mutex_lock(&blk_interposer_holder_lock);
	blk_interposer_unlink(ip, NULL);
	mutex_unlock(&blk_interposer_holder_lock);
	mutex_lock(&blk_interposer_lock);
	list_del_init(&ip->node);
	mutex_unlock(&blk_interposer_lock);
	blk_interposer_unuse();
	blk_interposer_free(ip);
}

static void blk_interposer_leave_workfn(struct work_struct *work)
{
	blk_interposer_leave(container_of(work, struct blk_interposer,
					  release_work));
}

/*
 * Start taking @ip off its device; under blk_interposer_lock.  Return:
 * %true if the caller calls blk_interposer_leave() (or has it called) once
 * the lock is dropped; %false if the attach still publishing it does that,
 * or it is leaving already.
 */
static bool blk_interposer_start_leaving(struct blk_interposer *ip)
{
	enum blk_interposer_state state = ip->state;

	lockdep_assert_held(&blk_interposer_lock);
	ip->state = BLK_INTERPOSER_LEAVING;
	return state == BLK_INTERPOSER_LIVE;
}

/* What an interposer needs to see the completions of bios. */
static int blk_interposer_init_io(struct blk_interposer *ip)
{
	int ret;

	ret = percpu_ref_init(&ip->inflight, blk_interposer_inflight_release,
			      0, GFP_KERNEL);
	if (ret)
		return ret;
	return mempool_init_slab_pool(&ip->io_pool, BLK_INTERPOSER_IO_POOL,
				      blk_interposer_io_cache);
}

/* A new interposer with its counters, not yet published. */
static struct blk_interposer *blk_interposer_alloc(void)
{
	struct blk_interposer *ip = kzalloc(sizeof(*ip), GFP_KERNEL);

	if (!ip)
		return NULL;
	if (blk_interposer_hook_init(ip)) {
		kfree(ip);
		return NULL;
	}
	INIT_LIST_HEAD(&ip->node);
	INIT_WORK(&ip->release_work, blk_interposer_leave_workfn);
	init_completion(&ip->drained);
	ip->stats = alloc_percpu(struct blkinterpose_counters);
	if (!ip->stats) {
		blk_interposer_hook_exit(ip);
		kfree(ip);
		return NULL;
	}
	return ip;
}

/* The interposer that has @bdev, in any state; under blk_interposer_lock. */
static struct blk_interposer *blk_interposer_of(struct block_device *bdev)
{
	struct blk_interposer *ip;

	lockdep_assert_held(&blk_interposer_lock);
	list_for_each_entry(ip, &blk_interposer_list, node)
		if (ip->orig == bdev)
			return ip;
	return NULL;
}

/* Make @ip the interposer of @bdev, to be published; under the lock. */
static void blk_interposer_claim(struct blk_interposer *ip,
				 struct block_device *bdev)
{
	lockdep_assert_held(&blk_interposer_lock);
	get_device(&bdev->bd_device);
	ip->orig = bdev;
	ip->state = BLK_INTERPOSER_ATTACHING;
	list_add_tail(&ip->node, &blk_interposer_list);
}

/*
 * Publish @ip, claimed under the lock, on its device.  Return: 0, or
 * -ENODEV if its device or its ops went away meanwhile: it is then taken
 * off again and released.
 */
static int blk_interposer_go_live(struct blk_interposer *ip)
{
	bool leaving;

	blk_interposer_set(ip->orig, ip);
	mutex_lock(&blk_interposer_lock);
	leaving = ip->state == BLK_INTERPOSER_LEAVING;
	if (!leaving)
		ip->state = BLK_INTERPOSER_LIVE;
	mutex_unlock(&blk_interposer_lock);
	if (!leaving)
		return 0;
	blk_interposer_leave(ip);
	return -ENODEV;
}

static struct blk_interposer_prog *blk_interposer_find_prog(const char *name)
{
	struct blk_interposer_prog *prog;

	lockdep_assert_held(&blk_interposer_lock);
	list_for_each_entry(prog, &blk_interposer_progs, node)
		if (!strcmp(prog->name, name))
			return prog;
	return NULL;
}

/*
 * Claim the targets the caller holds open.  They are opened again by
 * device number, which is how a block device is claimed, and must turn
 * out to be the very devices the caller holds: a number reused by a new
 * disk since is another device.
 */
static int blk_interposer_open_targets(struct blk_interposer *ip,
				       const struct blk_interposer_params *p)
{
	unsigned int i, j;

	for (i = 0; i < p->nr_targets; i++) {
		struct file *f;

		for (j = 0; j < i; j++)
			if (p->targets[j] == p->targets[i])
				return -EINVAL;
		f = bdev_file_open_by_dev(p->targets[i]->bd_dev,
					  BLK_OPEN_READ | BLK_OPEN_WRITE, ip,
					  NULL);
		if (IS_ERR(f))
			return PTR_ERR(f);
		ip->target_files[i] = f;
		ip->targets[i] = file_bdev(f);
		ip->nr_targets = i + 1;
		if (ip->targets[i] != p->targets[i])
			return -ENODEV;
	}
	return 0;
}

/* What is fixed for the life of the interposer about where bios go. */
static void blk_interposer_dest_caps(struct blk_interposer *ip,
				     unsigned int dest,
				     struct block_device *bdev)
{
	if (!bdev_test_flag(bdev, BD_HAS_SUBMIT_BIO) &&
	    !bdev_is_partition(bdev))
		__set_bit(dest, &ip->direct);
	if (bdev_nowait(bdev))
		__set_bit(dest, &ip->nowait);
}

/*
 * Checks that need no lock: the geometry and limits of the targets, so
 * that no bio fails later for a limit the original does not have.  Zoned
 * devices are refused because zone write plugging would see bios change
 * device, devices with integrity metadata because the payload would not
 * follow the bio.
 */
static int blk_interposer_check_targets(struct blk_interposer *ip,
					struct block_device *orig, bool plain)
{
	unsigned int i;

	if (bdev_is_zoned(orig) || blk_get_integrity(orig->bd_disk))
		return -EOPNOTSUPP;
	blk_interposer_dest_caps(ip, BLK_INTERPOSER_ORIG, orig);
	for (i = 0; i < ip->nr_targets; i++) {
		struct block_device *t = ip->targets[i];

		if (bdev_is_zoned(t) || blk_get_integrity(t->bd_disk))
			return -EOPNOTSUPP;
		if (blk_interposer_overlaps(orig, t) ||
		    bdev_logical_block_size(t) > bdev_logical_block_size(orig) ||
		    bdev_dma_alignment(t) > bdev_dma_alignment(orig))
			return -EINVAL;
		if (blk_interposer_stacked_on(t, orig))
			return -ELOOP;
		blk_interposer_dest_caps(ip, i, t);
	}
	if (plain && bdev_nr_sectors(ip->targets[0]) < bdev_nr_sectors(orig))
		return -EINVAL;
	return 0;
}

/* Checks against the other interposers; under blk_interposer_lock. */
static int blk_interposer_check_locked(struct blk_interposer *ip,
				       struct block_device *orig,
				       struct blk_interposer *replaces)
{
	unsigned int i;

	if (!blk_interposer_bdev_live(orig))
		return -ENODEV;
	if (blk_interposer_of(orig) != replaces)
		return -EBUSY;
	/* No chains: an original is never a target and vice versa. */
	if (blk_interposer_find_target(orig))
		return -ELOOP;
	for (i = 0; i < ip->nr_targets; i++) {
		struct blk_interposer *t = blk_interposer_of(ip->targets[i]);

		if (!blk_interposer_bdev_live(ip->targets[i]))
			return -ENODEV;
		/* a reserved target serves only the original it names */
		if (t && t->reserved_for && t->reserved_for != orig->bd_dev)
			return -EBUSY;
		if (t && !t->reserved_for)
			return -ELOOP;
	}
	return 0;
}

/*
 * @ip, being attached, takes the place of @old, which has observers only:
 * it gets observers of its own with the same ops and order (their counts
 * start afresh), and @old is marked leaving, so that nothing changes its
 * observers meanwhile; under blk_interposer_lock.  @old keeps its own
 * until it is retired, for the bios it took over that are still in
 * flight.
 */
static int blk_interposer_take_observers(struct blk_interposer *ip,
					 struct blk_interposer *old)
{
	struct blk_interposer_observers *from = blk_interposer_observers(old);
	struct blk_interposer_observers *obs;
	unsigned int i;

	/* an ops is a device's policy or one of its observers, not both */
	if (blk_interposer_observer_of(from, ip->prog) >= 0)
		return -EEXIST;
	obs = kzalloc(struct_size(obs, obs, from->nr), GFP_KERNEL);
	if (!obs)
		return -ENOMEM;
	obs->gone = -1;
	obs->nr = from->nr;
	for (i = 0; i < obs->nr; i++) {
		obs->obs[i].stats = alloc_percpu(struct blk_interposer_obs_stats);
		if (!obs->obs[i].stats)
			goto nomem;
		obs->obs[i].prog = from->obs[i].prog;
		refcount_inc(&obs->obs[i].prog->ref);
	}
	RCU_INIT_POINTER(ip->observers, obs);
	blk_interposer_start_leaving(old);
	return 0;
nomem:
	while (i--) {
		free_percpu(obs->obs[i].stats);
		blk_interposer_prog_put(obs->obs[i].prog);
	}
	kfree(obs);
	return -ENOMEM;
}

/*
 * Release @old, whose device has its successor published (or none, if
 * that went away meanwhile): not taken off the device, and its observers
 * are not told, as they go on in the successor.
 */
static void blk_interposer_retire(struct blk_interposer *old)
{
	mutex_lock(&blk_interposer_lock);
	list_del_init(&old->node);
	mutex_unlock(&blk_interposer_lock);
	blk_interposer_unuse();
	blk_interposer_free(old);
}

/**
 * blk_interposer_attach - attach an interposer to a block device
 * @orig: the original device, a whole disk or a partition
 * @params: the targets and the ops to attach
 *
 * Opens the targets exclusively, then publishes the interposer with the
 * original's queue frozen: bios already inside the original's submission
 * finish with the old state, every later bio sees the interposer.  No
 * global lock is held while the queue is frozen.
 *
 * Context: process context, may sleep; must not hold any disk's open_mutex.
 * Return: 0 on success; -EINVAL for bad parameters (no target, a duplicate
 * or overlapping target, a target with a larger logical block size, a
 * target smaller than the original for a plain redirect), -ENOENT for an
 * unknown ops name, -EBUSY if @orig already has an interposer with a
 * policy (one with observers only is replaced by one that has the policy
 * and the same observers, their counts afresh), -EEXIST if the ops is one
 * of those observers, a target
 * is held by someone else or is reserved for another original, -ELOOP if
 * the attach would chain interposers, -ENODEV if a device is going away
 * (also if @orig or the ops went away while the interposer was being
 * published), -EOPNOTSUPP for zoned devices and devices with integrity
 * metadata, or the error of opening a target or of linking it as a
 * slave of the original's disk.
 */
int blk_interposer_attach(struct block_device *orig,
			  const struct blk_interposer_params *params)
{
	bool plain = !params->ops_name || !params->ops_name[0];
	struct blk_interposer *ip, *old;
	int ret;

	if (params->flags || params->nr_targets > BLK_INTERPOSER_MAX_TARGETS ||
	    (plain && !params->nr_targets))
		return -EINVAL;

	ip = blk_interposer_alloc();
	if (!ip)
		return -ENOMEM;
	ip->flags = params->flags;
	/* observers may come later, even to a plain redirect */
	ret = blk_interposer_init_io(ip);
	if (ret)
		goto out_free;

	ret = blk_interposer_open_targets(ip, params);
	if (ret)
		goto out_free;
	ret = blk_interposer_check_targets(ip, orig, plain);
	if (ret)
		goto out_free;

	/* Turned on before the pointer is published, off after it is gone. */
	blk_interposer_use();
	mutex_lock(&blk_interposer_lock);
	if (!plain) {
		ip->prog = blk_interposer_find_prog(params->ops_name);
		if (ip->prog)
			refcount_inc(&ip->prog->ref);
		else
			ret = -ENOENT;
	}
	/* a device with observers only: the new interposer takes them on */
	old = blk_interposer_of(orig);
	if (old && (old->state != BLK_INTERPOSER_LIVE ||
		    !blk_interposer_no_policy(old)))
		old = NULL;
	if (!ret)
		ret = blk_interposer_check_locked(ip, orig, old);
	if (!ret && old)
		ret = blk_interposer_take_observers(ip, old);
	if (ret) {
		mutex_unlock(&blk_interposer_lock);
		blk_interposer_unuse();
		goto out_free;
	}
	/* the program learns of its device before the first bio */
	blk_interposer_notify(ip, orig, true);
	blk_interposer_claim(ip, orig);
	mutex_unlock(&blk_interposer_lock);
	ret = blk_interposer_link(ip);
	if (ret) {
		mutex_lock(&blk_interposer_lock);
		blk_interposer_start_leaving(ip);
		mutex_unlock(&blk_interposer_lock);
		blk_interposer_leave(ip);
	} else {
		ret = blk_interposer_go_live(ip);
	}
	if (old)
		blk_interposer_retire(old);
	return ret;

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
 * Return: 0 on success, -ENOENT if @orig has no interposer (or it is
 * being detached already), -EBUSY if it is reserved (only its driver ends
 * a reservation) or still being attached.
 */
int blk_interposer_detach(struct block_device *orig)
{
	struct blk_interposer *ip;
	int ret = 0;

	mutex_lock(&blk_interposer_lock);
	ip = blk_interposer_of(orig);
	if (!ip || ip->state == BLK_INTERPOSER_LEAVING)
		ret = -ENOENT;
	else if (ip->reserved_for || ip->state != BLK_INTERPOSER_LIVE)
		ret = -EBUSY;
	else
		blk_interposer_start_leaving(ip);
	mutex_unlock(&blk_interposer_lock);
	if (ret)
		return ret;
	blk_interposer_leave(ip);
	return 0;
}
EXPORT_SYMBOL_GPL(blk_interposer_detach);

/*
 * Add observer @o to @ip, live on @orig; under blk_interposer_lock.  The
 * observer's attach callback runs before its first bio.
 */
static int blk_interposer_add_observer(struct blk_interposer *ip,
				       struct block_device *orig,
				       const struct blk_interposer_observer *o)
{
	struct blk_interposer_observers *old = blk_interposer_observers(ip);
	struct blk_interposer_observers *obs;

	if (ip->state != BLK_INTERPOSER_LIVE || ip->reserved_for)
		return -EBUSY;
	if (ip->prog == o->prog || blk_interposer_observer_of(old, o->prog) >= 0)
		return -EEXIST;
	if (old && old->nr >= BLK_INTERPOSER_MAX_OBSERVERS)
		return -ENOSPC;
	obs = blk_interposer_observers_new(old, o, -1);
	if (!obs)
		return -ENOMEM;
	refcount_inc(&o->prog->ref);
	blk_interposer_notify_prog(o->prog, orig, true);
	rcu_assign_pointer(ip->observers, obs);
	if (old)
		call_rcu(&old->rcu, blk_interposer_observers_rcu_free);
	return 0;
}

/**
 * blk_interposer_observe - attach an ops as an observer of a block device
 * @orig: the device, a whole disk or a partition
 * @ops_name: name of a registered interposer ops
 *
 * The ops sees every bio that enters @orig, after the device's policy (a
 * plain redirect, an ops or a reserved device's table) decided it, and its
 * completion, but its verdicts are ignored.  A device without an
 * interposer gets one without a policy, published with its queue frozen
 * as blk_interposer_attach() does: every bio then passes.  Observers are
 * called in the order they were attached; adding one to an interposer
 * that is already live freezes nothing.
 *
 * Context: process context, may sleep; must not hold any disk's open_mutex.
 * Return: 0 on success; -EINVAL for an empty name, -ENOENT for an unknown
 * ops, -EEXIST if the ops already is the policy or an observer of @orig,
 * -ENOSPC if @orig has %BLK_INTERPOSER_MAX_OBSERVERS observers, -EBUSY if
 * @orig is reserved or its interposer is being attached or detached,
 * -ELOOP if @orig is the target of an interposer, -ENODEV if @orig is
 * going away, -EOPNOTSUPP for zoned devices and devices with integrity
 * metadata (as for a policy), -ENOMEM.
 */
int blk_interposer_observe(struct block_device *orig, const char *ops_name)
{
	struct blk_interposer_observers *obs = NULL;
	struct blk_interposer_observer o = { };
	struct blk_interposer *ip, *nip;
	int ret;

	if (!ops_name || !ops_name[0])
		return -EINVAL;
	/*
	 * As for a policy: the completion's takeover would put back the
	 * sector a zone append's completion reports.
	 */
	if (bdev_is_zoned(orig) || blk_get_integrity(orig->bd_disk))
		return -EOPNOTSUPP;
	o.stats = alloc_percpu(struct blk_interposer_obs_stats);
	if (!o.stats)
		return -ENOMEM;
	/* an interposer without a policy, in case @orig has none */
	nip = blk_interposer_alloc();
	if (!nip) {
		free_percpu(o.stats);
		return -ENOMEM;
	}
	ret = blk_interposer_init_io(nip);
	if (ret)
		goto out_free;

	blk_interposer_use();
	mutex_lock(&blk_interposer_lock);
	o.prog = blk_interposer_find_prog(ops_name);
	ip = blk_interposer_of(orig);
	if (!o.prog) {
		ret = -ENOENT;
	} else if (ip) {
		ret = blk_interposer_add_observer(ip, orig, &o);
		if (!ret)
			o.stats = NULL;
	} else {
		ret = blk_interposer_check_locked(nip, orig, NULL);
		if (!ret) {
			obs = blk_interposer_observers_new(NULL, &o, -1);
			if (!obs)
				ret = -ENOMEM;
		}
	}
	if (ret || ip) {
		mutex_unlock(&blk_interposer_lock);
		blk_interposer_unuse();
		goto out_free;
	}
	refcount_inc(&o.prog->ref);
	RCU_INIT_POINTER(nip->observers, obs);
	blk_interposer_notify_prog(o.prog, orig, true);
	blk_interposer_claim(nip, orig);
	mutex_unlock(&blk_interposer_lock);
	return blk_interposer_go_live(nip);

out_free:
	free_percpu(o.stats);
	blk_interposer_free(nip);
	return ret;
}
EXPORT_SYMBOL_GPL(blk_interposer_observe);

/**
 * blk_interposer_unobserve - detach an observer from a block device
 * @orig: the device
 * @ops_name: the observer's ops
 *
 * The policy and the other observers stay.  Taking the last observer off
 * a device without a policy detaches its interposer as
 * blk_interposer_detach() does; otherwise nothing is frozen.  No callback
 * of the observer runs for @orig once this returns, but its detach
 * callback.
 *
 * Context: process context, may sleep; must not hold any disk's open_mutex.
 * Return: 0 on success; -ENOENT if @orig has no such observer (or is being
 * detached), -EBUSY if its interposer is still being attached, -ENOMEM.
 */
int blk_interposer_unobserve(struct block_device *orig, const char *ops_name)
{
	struct blk_interposer_observers *old, *obs = NULL;
	struct blk_interposer *ip;
	int idx, ret = 0;

	mutex_lock(&blk_interposer_lock);
	ip = blk_interposer_of(orig);
	if (!ip || ip->state == BLK_INTERPOSER_LEAVING) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (ip->state != BLK_INTERPOSER_LIVE) {
		ret = -EBUSY;
		goto out_unlock;
	}
	old = blk_interposer_observers(ip);
	idx = blk_interposer_observer_of(old,
					 blk_interposer_find_prog(ops_name));
	if (idx < 0) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (old->nr == 1 && blk_interposer_no_policy(ip)) {
		/* its last observer: the interposer goes */
		blk_interposer_start_leaving(ip);
		mutex_unlock(&blk_interposer_lock);
		blk_interposer_leave(ip);
		return 0;
	}
	if (old->nr > 1) {
		obs = blk_interposer_observers_new(old, NULL, idx);
		if (!obs) {
			ret = -ENOMEM;
			goto out_unlock;
		}
	}
	rcu_assign_pointer(ip->observers, obs);
	mutex_unlock(&blk_interposer_lock);

	/* no reader of the old array is left: none runs the observer */
	synchronize_rcu();
	blk_interposer_notify_prog(old->obs[idx].prog, orig, false);
	blk_interposer_observer_release(&old->obs[idx]);
	kfree(old);
	return 0;

out_unlock:
	mutex_unlock(&blk_interposer_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(blk_interposer_unobserve);

/**
 * blk_interposer_reserve - reserve a device as the target of one original
 * @bdev: the device to reserve, typically a stacking driver's disk built
 *	over the original
 * @orig: the device number of the original
 *
 * From now on @bdev takes only bios that an interposer sent on and can
 * only become a target of the interposer of @orig; any other bio submitted
 * to @bdev fails with BLK_STS_NOTSUPP.  A driver may then use the original
 * without claiming it (a mounted filesystem holds it) and still give no
 * second way in behind its holder's back.  The reservation ends with
 * blk_interposer_unreserve() or when @bdev goes away.
 *
 * Context: process context, may sleep; must not hold any disk's open_mutex.
 * Return: 0 on success; -EINVAL if @orig is 0 or @bdev itself, -EBUSY if
 * @bdev has an interposer or a reservation, is the target of an
 * interposer, or another device is reserved for @orig; -ENODEV if @bdev is
 * going away; -ENOMEM.
 */
int blk_interposer_reserve(struct block_device *bdev, dev_t orig)
{
	struct blk_interposer *ip, *other;
	int ret = 0;

	if (!orig || orig == bdev->bd_dev)
		return -EINVAL;
	ip = blk_interposer_alloc();
	if (!ip)
		return -ENOMEM;
	ip->reserved_for = orig;

	blk_interposer_use();
	mutex_lock(&blk_interposer_lock);
	if (!blk_interposer_bdev_live(bdev))
		ret = -ENODEV;
	else if (blk_interposer_of(bdev) || blk_interposer_find_target(bdev))
		ret = -EBUSY;
	list_for_each_entry(other, &blk_interposer_list, node)
		if (other->reserved_for == orig)
			ret = -EBUSY;
	if (ret) {
		mutex_unlock(&blk_interposer_lock);
		blk_interposer_unuse();
		blk_interposer_free(ip);
		return ret;
	}
	blk_interposer_claim(ip, bdev);
	mutex_unlock(&blk_interposer_lock);
	return blk_interposer_go_live(ip);
}
EXPORT_SYMBOL_GPL(blk_interposer_reserve);

/**
 * blk_interposer_unreserve - end the reservation of a device
 * @bdev: a device reserved with blk_interposer_reserve()
 *
 * The interposer that uses @bdev as a target, if any, stays attached; bios
 * it sends to @bdev still pass.
 *
 * Context: process context, may sleep; must not hold any disk's open_mutex.
 */
void blk_interposer_unreserve(struct block_device *bdev)
{
	struct blk_interposer *ip;
	bool leave = false;

	mutex_lock(&blk_interposer_lock);
	ip = blk_interposer_of(bdev);
	if (ip && ip->reserved_for)
		leave = blk_interposer_start_leaving(ip);
	mutex_unlock(&blk_interposer_lock);
	if (leave)
		blk_interposer_leave(ip);
}
EXPORT_SYMBOL_GPL(blk_interposer_unreserve);

/**
 * blk_interposer_reserved_under - is a device interposed by a reserved one?
 * @orig: a device number
 *
 * Tells a stacking driver whether the device @orig has a live interposer
 * whose target is a device reserved for @orig: all I/O that enters @orig
 * from its holder then goes through that device, so another driver may
 * read @orig without claiming it (e.g. a snapshot of the data under a
 * mounted filesystem, whose origin mapping is the reserved device).
 *
 * Context: process context, may sleep.
 * Return: %true if it has.
 */
bool blk_interposer_reserved_under(dev_t orig)
{
	struct blk_interposer *ip, *res;
	bool found = false;

	mutex_lock(&blk_interposer_lock);
	list_for_each_entry(ip, &blk_interposer_list, node) {
		if (ip->reserved_for || ip->orig->bd_dev != orig ||
		    ip->state != BLK_INTERPOSER_LIVE)
			continue;
		list_for_each_entry(res, &blk_interposer_list, node)
			if (res->reserved_for == orig &&
			    blk_interposer_has_target(ip, res->orig))
				found = true;
	}
	mutex_unlock(&blk_interposer_lock);
	return found;
}
EXPORT_SYMBOL_GPL(blk_interposer_reserved_under);

/**
 * blk_interposer_bdev_gone - a device with or under interposers goes away
 * @bdev: a block device that is being deleted or lost its media
 *
 * Detaches the interposer of @bdev.  Every interposer that uses @bdev as
 * a target fails closed instead: it stays attached and fails every bio
 * with EIO until it is detached, as the original's own data is not what
 * was written through it.  Called from bdev_mark_dead(), after the
 * holder of @bdev was told and wrote what it still had, and from
 * drop_partition(), possibly with a disk's open_mutex held, so the
 * interposer of @bdev is taken off and released from a work item.  Takes
 * no lock at all while no device is interposed: the static key is turned
 * on before an attach checks that its devices are live.
 */
void blk_interposer_bdev_gone(struct block_device *bdev)
{
	struct blk_interposer *ip;

	/* nothing interposed anywhere: no lock for removals and rescans */
	if (!blk_interposer_active())
		return;
	mutex_lock(&blk_interposer_lock);
	list_for_each_entry(ip, &blk_interposer_list, node) {
		if (ip->orig == bdev) {
			if (!blk_interposer_start_leaving(ip))
				continue;
			pr_info("%pg: interposer detached, the device is going away\n",
				bdev);
			queue_work(system_unbound_wq, &ip->release_work);
		} else if (!ip->lost && blk_interposer_has_target(ip, bdev)) {
			WRITE_ONCE(ip->lost, bdev->bd_dev);
			pr_warn("%pg: interposer failed: its target %pg went away, I/O fails until it is detached\n",
				ip->orig, bdev);
		}
	}
	mutex_unlock(&blk_interposer_lock);
}

/**
 * blk_interposer_disk_gone - a disk's slaves directory is about to go
 * @disk: a disk being deleted, after its devices were marked dead
 *
 * Removes the holder links made in the slaves directory of @disk and in
 * the holders directories of its devices.  Called from del_gendisk() with
 * no lock held; takes no lock while no device is interposed.
 */
void blk_interposer_disk_gone(struct gendisk *disk)
{
	struct blk_interposer *ip;

	if (!blk_interposer_active())
		return;
	mutex_lock(&blk_interposer_holder_lock);
	mutex_lock(&blk_interposer_lock);
	list_for_each_entry(ip, &blk_interposer_list, node)
		blk_interposer_unlink(ip, disk);
	mutex_unlock(&blk_interposer_lock);
	mutex_unlock(&blk_interposer_holder_lock);
}

/**
 * blk_interposer_query - report the interposer state of a block device
 * @bdev: the device
 * @info: filled in but for @info->size and @info->targets_ptr
 * @targets: filled with the @info->nr_targets device numbers of the
 *	targets, room for %BLK_INTERPOSER_MAX_TARGETS
 * @observers: filled with the @info->nr_observers observers, zeroed by
 *	the caller, room for %BLK_INTERPOSER_MAX_OBSERVERS
 */
void blk_interposer_query(struct block_device *bdev,
			  struct blkinterpose_info *info,
			  struct blkinterpose_dev *targets,
			  struct blkinterpose_observer *observers)
{
	struct blk_interposer_observers *obs;
	struct blk_interposer *ip;
	unsigned int i;
	int cpu;

	info->original.major = MAJOR(bdev->bd_dev);
	info->original.minor = MINOR(bdev->bd_dev);
	info->max_targets = BLK_INTERPOSER_MAX_TARGETS;
	info->max_observers = BLK_INTERPOSER_MAX_OBSERVERS;

	mutex_lock(&blk_interposer_lock);
	ip = blk_interposer_of(bdev);
	if (!ip || ip->state == BLK_INTERPOSER_ATTACHING)
		goto out_unlock;
	info->state = BLKINTERPOSE_STATE_ATTACHED;
	info->flags = ip->flags;
	if (ip->prog)
		strscpy(info->ops_name, ip->prog->name, sizeof(info->ops_name));
	info->nr_targets = ip->nr_targets;
	for (i = 0; i < ip->nr_targets; i++) {
		targets[i].major = MAJOR(ip->targets[i]->bd_dev);
		targets[i].minor = MINOR(ip->targets[i]->bd_dev);
	}
	if (ip->reserved_for) {
		/* the one device this one may serve */
		info->state = BLKINTERPOSE_STATE_RESERVED;
		info->reserved_for.major = MAJOR(ip->reserved_for);
		info->reserved_for.minor = MINOR(ip->reserved_for);
	}
	if (ip->lost) {
		info->state = BLKINTERPOSE_STATE_FAILED;
		info->lost.major = MAJOR(ip->lost);
		info->lost.minor = MINOR(ip->lost);
	}
	if (blk_interposer_no_policy(ip))
		info->state = BLKINTERPOSE_STATE_OBSERVED;
	obs = blk_interposer_observers(ip);
	info->nr_observers = obs ? obs->nr : 0;
	for (i = 0; i < info->nr_observers; i++) {
		struct blkinterpose_observer *o = &observers[i];

		strscpy(o->ops_name, obs->obs[i].prog->name,
			sizeof(o->ops_name));
		for_each_possible_cpu(cpu) {
			o->seen += per_cpu_ptr(obs->obs[i].stats, cpu)->seen;
			o->ended += per_cpu_ptr(obs->obs[i].stats, cpu)->ended;
		}
	}
	for_each_possible_cpu(cpu) {
		struct blkinterpose_counters *c = per_cpu_ptr(ip->stats, cpu);
		struct blkinterpose_counters *sum = &info->counters;

		sum->passed += c->passed;
		sum->redirected += c->redirected;
		sum->remapped += c->remapped;
		sum->failed += c->failed;
		sum->completed += c->completed;
		sum->invalid += c->invalid;
		sum->lost += c->lost;
	}
	/* every bio ends up in exactly one of them: no counter of its own */
	info->counters.seen = info->counters.passed +
		info->counters.redirected + info->counters.remapped +
		info->counters.failed + info->counters.completed +
		info->counters.invalid + info->counters.lost;
out_unlock:
	mutex_unlock(&blk_interposer_lock);
}

/**
 * blk_interposer_nr_targets - the number of targets of an interposer
 * @bdev: an original device, from a bio the interposer is handling
 *
 * Return: the number of targets, 0 if @bdev has no interposer.
 */
u32 blk_interposer_nr_targets(struct block_device *bdev)
{
	struct blk_interposer *ip = blk_interposer_get(bdev);

	return ip ? ip->nr_targets : 0;
}

/**
 * blk_interposer_dev_sectors - the size of a device an interposer may use
 * @bdev: an original device, from a bio the interposer is handling
 * @target: a target index, or %BLK_INTERPOSE_ORIGINAL
 *
 * Return: the size in sectors, 0 if there is no such device.
 */
u64 blk_interposer_dev_sectors(struct block_device *bdev, u32 target)
{
	struct blk_interposer *ip = blk_interposer_get(bdev);

	if (!ip)
		return 0;
	if (target == BLK_INTERPOSE_ORIGINAL)
		return bdev_nr_sectors(bdev);
	return target < ip->nr_targets ? bdev_nr_sectors(ip->targets[target]) : 0;
}

/**
 * blk_interposer_ops_register - make an interposer ops attachable by name
 * @ops: the ops, with a unique name
 *
 * Context: process context.
 * Return: 0, -EEXIST if the name is taken, or -ENOMEM.
 */
int blk_interposer_ops_register(struct blk_interposer_ops *ops)
{
	struct blk_interposer_prog *prog;
	int ret = 0;

	prog = kzalloc(sizeof(*prog), GFP_KERNEL);
	if (!prog)
		return -ENOMEM;
	strscpy(prog->name, ops->name, sizeof(prog->name));
	RCU_INIT_POINTER(prog->ops, ops);
	refcount_set(&prog->ref, 1);

	mutex_lock(&blk_interposer_lock);
	if (blk_interposer_find_prog(prog->name))
		ret = -EEXIST;
	else
		list_add_tail(&prog->node, &blk_interposer_progs);
	mutex_unlock(&blk_interposer_lock);
	if (ret)
		kfree(prog);
	return ret;
}

/* Detach @ip, which is leaving, from a work item. */
static void blk_interposer_leave_later(struct blk_interposer *ip,
				       struct blk_interposer_prog *prog)
{
	pr_info("%pg: interposer detached, ops %s unregistered\n", ip->orig,
		prog->name);
	queue_work(system_unbound_wq, &ip->release_work);
}

/*
 * Take the observer using @prog, which is being unregistered, off @ip;
 * under blk_interposer_lock.  Its ops is gone already, so where the array
 * cannot be replaced (the interposer is not live, or no memory) the entry
 * stays until the interposer is freed and is skipped meanwhile.  An
 * interposer without a policy leaves with its last observer.
 */
static void blk_interposer_drop_observer(struct blk_interposer *ip,
					 struct blk_interposer_prog *prog)
{
	struct blk_interposer_observers *old = blk_interposer_observers(ip);
	struct blk_interposer_observers *obs = NULL;
	int idx = blk_interposer_observer_of(old, prog);

	if (idx < 0)
		return;
	if (old->nr == 1 && blk_interposer_no_policy(ip)) {
		if (blk_interposer_start_leaving(ip))
			blk_interposer_leave_later(ip, prog);
		return;
	}
	if (ip->state != BLK_INTERPOSER_LIVE)
		return;
	if (old->nr > 1) {
		obs = blk_interposer_observers_new(old, NULL, idx);
		if (!obs)
			return;
	}
	old->gone = idx;
	rcu_assign_pointer(ip->observers, obs);
	call_rcu(&old->rcu, blk_interposer_observers_rcu_free);
}

static struct blk_interposer_prog *
blk_interposer_prog_of(struct blk_interposer_ops *ops)
{
	struct blk_interposer_prog *prog;

	lockdep_assert_held(&blk_interposer_lock);
	list_for_each_entry(prog, &blk_interposer_progs, node)
		if (rcu_access_pointer(prog->ops) == ops)
			return prog;
	return NULL;
}

/**
 * blk_interposer_ops_unregister - remove an ops and detach it everywhere
 * @ops: a registered ops
 *
 * No callback of @ops runs once this returns: the devices that use it
 * pass every bio from then on, and are detached from a work item (their
 * queues are not frozen here: the caller may hold BPF's struct_ops update
 * mutex, and a queue that does not drain must not block it).
 *
 * Context: process context.
 */
void blk_interposer_ops_unregister(struct blk_interposer_ops *ops)
{
	struct blk_interposer *ip;
	struct blk_interposer_prog *prog;

	mutex_lock(&blk_interposer_lock);
	prog = blk_interposer_prog_of(ops);
	if (!prog) {
		mutex_unlock(&blk_interposer_lock);
		return;
	}
	list_del(&prog->node);
	RCU_INIT_POINTER(prog->ops, NULL);
	list_for_each_entry(ip, &blk_interposer_list, node) {
		if (ip->prog != prog)
			blk_interposer_drop_observer(ip, prog);
		else if (blk_interposer_start_leaving(ip))
			blk_interposer_leave_later(ip, prog);
	}
	mutex_unlock(&blk_interposer_lock);
	/* no callback of @ops runs after this */
	synchronize_rcu();
	blk_interposer_prog_put(prog);
}

/**
 * blk_interposer_ops_update - replace an ops on every device that uses it
 * @ops: the new ops, with the same name
 * @old: the registered ops
 *
 * One pointer is switched: each bio is decided by either @old or @ops,
 * never by a mix.  The caller keeps @old alive for an RCU grace period.
 *
 * Return: 0, -ENOENT if @old is not registered, -EINVAL if the names
 * differ.
 */
int blk_interposer_ops_update(struct blk_interposer_ops *ops,
			      struct blk_interposer_ops *old)
{
	struct blk_interposer_prog *prog;
	int ret = 0;

	mutex_lock(&blk_interposer_lock);
	prog = blk_interposer_prog_of(old);
	if (!prog)
		ret = -ENOENT;
	else if (strcmp(prog->name, ops->name))
		ret = -EINVAL;
	else
		rcu_assign_pointer(prog->ops, ops);
	mutex_unlock(&blk_interposer_lock);
	return ret;
}

static int __init blk_interposer_init(void)
{
	blk_interposer_io_cache = KMEM_CACHE(blk_interposer_io, SLAB_PANIC);
	return 0;
}

#ifdef BLK_INTERPOSER_MODULE
/**
 * blk_interposer_any_target - whether a pair of original and target matches
 * @fn: the test, called under blk_interposer_lock for every target of every
 *	interposer, attached or being attached
 * @data: passed to @fn
 *
 * Return: %true as soon as @fn returns %true.
 */
bool blk_interposer_any_target(bool (*fn)(struct block_device *orig,
					  struct block_device *t, void *data),
			       void *data)
{
	struct blk_interposer *ip;
	bool found = false;
	unsigned int i;

	mutex_lock(&blk_interposer_lock);
	list_for_each_entry(ip, &blk_interposer_list, node)
		for (i = 0; !found && i < ip->nr_targets; i++)
			found = fn(ip->orig, ip->targets[i], data);
	mutex_unlock(&blk_interposer_lock);
	return found;
}

/**
 * blk_interposer_core_init - set up the core (the module's init)
 *
 * Return: 0 or a negative errno.
 */
int __init blk_interposer_core_init(void)
{
	return blk_interposer_init();
}

/**
 * blk_interposer_core_exit - tear the core down (the module's exit)
 */
void blk_interposer_core_exit(void)
{
	kmem_cache_destroy(blk_interposer_io_cache);
}
#else
subsys_initcall(blk_interposer_init);
#endif
