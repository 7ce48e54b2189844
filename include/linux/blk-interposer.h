/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block device interposer: kernel interface for users other than the
 * block layer itself.
 */
#ifndef _LINUX_BLK_INTERPOSER_H
#define _LINUX_BLK_INTERPOSER_H

#include <linux/types.h>
#include <uapi/linux/blk-interposer.h>

struct block_device;

/**
 * struct blk_interposer_params - what to attach
 * @flags: attach flags, none defined yet
 * @nr_targets: number of valid entries in @targets
 * @targets: device numbers of the target devices, opened by the kernel
 * @ops_name: name of a registered interposer ops, or %NULL or an empty
 *	string for a plain redirect of every bio to target 0
 */
struct blk_interposer_params {
	unsigned int	flags;
	unsigned int	nr_targets;
	dev_t		targets[BLKINTERPOSE_MAX_TARGETS];
	const char	*ops_name;
};

#ifdef CONFIG_BLK_INTERPOSER
int blk_interposer_attach(struct block_device *orig,
			  const struct blk_interposer_params *params);
int blk_interposer_detach(struct block_device *orig);
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
#endif /* CONFIG_BLK_INTERPOSER */

#endif /* _LINUX_BLK_INTERPOSER_H */
