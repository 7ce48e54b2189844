/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block device interposer: kernel interface for users other than the
 * block layer itself.
 */
#ifndef _LINUX_BLK_INTERPOSER_H
#define _LINUX_BLK_INTERPOSER_H

#include <linux/bits.h>
#include <linux/blk_types.h>
#include <linux/types.h>
#include <uapi/linux/blk-interposer.h>

/**
 * enum blk_interposer_action - what an interposer program does with a bio
 * @BLK_INTERPOSE_PASS: the bio goes on to the original device untouched
 * @BLK_INTERPOSE_REDIRECT: the bio goes to target @verdict->target
 * @BLK_INTERPOSE_REMAP: the bio goes to sector @verdict->sector of the
 *	original (@verdict->target == %BLK_INTERPOSE_ORIGINAL) or of a target
 * @BLK_INTERPOSE_FAIL: the bio fails with errno @verdict->error
 * @BLK_INTERPOSE_COMPLETE: the bio completes without I/O: reads return
 *	zeroes, writes are dropped
 *
 * The kernel validates every verdict: a missing target, a remapped range
 * past the end of its device or an unknown action fails the bio with an
 * I/O error and is counted as invalid.
 */
enum blk_interposer_action {
	BLK_INTERPOSE_PASS	= 0,
	BLK_INTERPOSE_REDIRECT	= 1,
	BLK_INTERPOSE_REMAP	= 2,
	BLK_INTERPOSE_FAIL	= 3,
	BLK_INTERPOSE_COMPLETE	= 4,
};

/* blk_interposer_verdict.target of a remap onto the original itself */
#define BLK_INTERPOSE_ORIGINAL	(~0U)

/*
 * blk_interposer_verdict.flags: the program does not need to see this
 * bio's completion.  Without anyone else who does, the interposer leaves
 * the completion alone and the bio costs nothing more.
 */
#define BLK_INTERPOSE_NO_END	BIT(0)

/**
 * struct blk_interposer_verdict - the parameters of an action
 * @target: target index for a redirect or a remap
 * @error: errno of a failed bio, the sign ignored, 0 for EIO; one of
 *	EIO, EROFS, ENOSPC, ENODATA, EILSEQ, EOPNOTSUPP, ETIMEDOUT, ENOLINK,
 *	EREMOTEIO or EBADE (any other fails the bio as an invalid verdict)
 * @sector: on entry, the bio's start sector relative to the original
 *	(to the partition for a partition); on return, the start sector of a
 *	remap, relative to the destination device
 * @flags: %BLK_INTERPOSE_NO_END, for a policy or an observer alike.  A
 *	hint: the bio's completion is still shown to every end_bio callback
 *	when another program wants to see it.
 *
 * The only memory an interposer program may write.  @target, @error and
 * @flags are zero on entry.
 */
struct blk_interposer_verdict {
	u32	target;
	s32	error;
	u64	sector;
	u32	flags;
};

/**
 * struct blk_interposer_completion - what the completion callback sees
 * @action: the action taken for the bio
 * @error: 0 or the negative errno the bio completed with
 * @start_ns: when the interposer had decided the bio (after the submit_bio
 *	callbacks), on the ktime_get_ns() clock (the submitter's plug caches
 *	it, as for blk-mq's own start times)
 * @latency_ns: time from then to the completion
 */
struct blk_interposer_completion {
	enum blk_interposer_action	action;
	s32				error;
	u64				start_ns;
	u64				latency_ns;
};

/**
 * struct blk_interposer_ops - a BPF interposer program (struct_ops)
 * @submit_bio: decides what happens to @bio: returns an
 *	enum blk_interposer_action and fills @verdict for its parameters.
 *	Called in the submitter's context with the original's queue usage
 *	counter held.  @bio is read-only; for a partition its
 *	bi_iter.bi_sector is relative to the whole disk, @verdict->sector
 *	to the partition.  Optional if @end_bio is set: every bio then
 *	passes.
 * @end_bio: optional; called once per bio with its final status, before
 *	the submitter's completion, with the bio as it was submitted to the
 *	original (device, sector and size).  The bio itself is sent on: the
 *	interposer takes over its completion callback while it is in flight.
 *	The kfuncs that read the interposer are for @submit_bio only.
 * @attach: optional; called before the interposer is published on @orig,
 *	so before its first bio
 * @detach: optional; called after the ops was detached from @orig
 * @flags: must be zero
 * @name: registration name, unique, used to attach the ops
 *
 * The same ops may be attached as a device's policy or as one of its
 * observers (blk_interposer_observe()).  An observer's @submit_bio is
 * called after the policy decided, with a copy of the policy's verdict,
 * and its return value is ignored; its @end_bio gets the policy's action.
 *
 * No callback may sleep.
 */
struct blk_interposer_ops {
	int	(*submit_bio)(struct bio *bio,
			      struct blk_interposer_verdict *verdict);
	void	(*end_bio)(struct bio *bio,
			   const struct blk_interposer_completion *completion);
	void	(*attach)(struct block_device *orig);
	void	(*detach)(struct block_device *orig);
	u32	flags;
	char	name[BLKINTERPOSE_NAME_LEN];
};

/* The most targets one interposer may have (blkinterpose_info.max_targets) */
#define BLK_INTERPOSER_MAX_TARGETS	8
/* The most observers one device may have (blkinterpose_info.max_observers) */
#define BLK_INTERPOSER_MAX_OBSERVERS	8

/**
 * struct blk_interposer_params - what to attach
 * @flags: attach flags, none defined yet
 * @nr_targets: number of entries in @targets
 * @targets: the target devices, kept alive by the caller for the duration
 *	of the call (an open file of each); the interposer claims them
 *	exclusively for as long as it is attached
 * @ops_name: name of a registered interposer ops, or %NULL or an empty
 *	string for a plain redirect of every bio to target 0
 */
struct blk_interposer_params {
	unsigned int		flags;
	unsigned int		nr_targets;
	struct block_device	**targets;
	const char		*ops_name;
};

#ifdef CONFIG_BLK_INTERPOSER
/**
 * bio_interposed - the device whose interposer decided a bio
 * @bio: the bio
 *
 * An interposer marks each bio it sends on with the device number of its
 * original; clones, the bios a bio-based driver submits while it handles
 * a marked bio, and device-mapper's dm-io requests made from a bio inherit
 * the mark.  Only the interposer of that device lets a marked bio by, so
 * a stacking driver built over the original reaches it without looping,
 * and the interposers of every other device still see the bio.
 *
 * Return: the device number, 0 for a bio no interposer decided.
 */
static inline dev_t bio_interposed(const struct bio *bio)
{
	return bio->bi_interposed;
}

/**
 * bio_set_interposed - give a bio made from another the other's mark
 * @bio: the new bio
 * @dev: bio_interposed() of the bio it was made from
 */
static inline void bio_set_interposed(struct bio *bio, dev_t dev)
{
	bio->bi_interposed = dev;
}
#else
static inline dev_t bio_interposed(const struct bio *bio)
{
	return 0;
}

static inline void bio_set_interposed(struct bio *bio, dev_t dev)
{
}
#endif /* CONFIG_BLK_INTERPOSER */

/* BLK_INTERPOSER_MODULE: the core built as a module for a stock kernel */
#if defined(CONFIG_BLK_INTERPOSER) || defined(BLK_INTERPOSER_MODULE)
int blk_interposer_attach(struct block_device *orig,
			  const struct blk_interposer_params *params);
int blk_interposer_detach(struct block_device *orig);
int blk_interposer_observe(struct block_device *orig, const char *ops_name);
int blk_interposer_unobserve(struct block_device *orig, const char *ops_name);
int blk_interposer_reserve(struct block_device *bdev, dev_t orig);
void blk_interposer_unreserve(struct block_device *bdev);
bool blk_interposer_reserved_under(dev_t orig);
int blk_interposer_ops_register(struct blk_interposer_ops *ops);
void blk_interposer_ops_unregister(struct blk_interposer_ops *ops);
int blk_interposer_ops_update(struct blk_interposer_ops *ops,
			      struct blk_interposer_ops *old);
#else
static inline int
blk_interposer_attach(struct block_device *orig,
		      const struct blk_interposer_params *params)
{
	return -EOPNOTSUPP;
}

static inline int blk_interposer_detach(struct block_device *orig)
{
	return -EOPNOTSUPP;
}

static inline int blk_interposer_observe(struct block_device *orig,
					 const char *ops_name)
{
	return -EOPNOTSUPP;
}

static inline int blk_interposer_unobserve(struct block_device *orig,
					   const char *ops_name)
{
	return -EOPNOTSUPP;
}

static inline int blk_interposer_reserve(struct block_device *bdev,
					 dev_t orig)
{
	return -EOPNOTSUPP;
}

static inline void blk_interposer_unreserve(struct block_device *bdev)
{
}

static inline bool blk_interposer_reserved_under(dev_t orig)
{
	return false;
}
#endif

#endif /* _LINUX_BLK_INTERPOSER_H */
