/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block device interposer built as a module for a stock kernel.
 *
 * The core (block/blk-interposer*.c) is the same source as in the patched
 * kernel; built with BLK_INTERPOSER_MODULE it gets from this header, and
 * from blk-interposer-module.c, what the patched kernel's block layer
 * gives it there:
 *
 * - the hook: an ftrace hook on submit_bio_noacct(), registered while
 *   any device is interposed, instead of a check inside the queue's usage
 *   section;
 * - the interposer of a device: a hash table keyed by the block device,
 *   instead of block_device::bd_interposer; a bio looks its device up
 *   and holds the interposer's hook reference while it is decided, which
 *   a detach drains after the queue freeze;
 * - "already decided": the hook lets by every bio the module submits
 *   itself, instead of bio::bi_interposed.  A stacking driver's bios
 *   carry no mark, so a target that sends bios back to its original is
 *   refused: at attach, and when a stacking driver links the original as
 *   its slave later (blk_interposer_stacked_on());
 * - control: the misc device /dev/blk-interposer takes the ioctls of the
 *   patched kernel with the device named by a descriptor.
 */
#ifndef _BLK_INTERPOSER_MODULE_H
#define _BLK_INTERPOSER_MODULE_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/percpu-refcount.h>

struct blk_interposer;

/**
 * struct blk_interposer_hook - what the module keeps per interposer
 * @node: entry in the module's table, keyed by @bdev
 * @bdev: the device it is published on, %NULL while it is not
 * @ip: the interposer
 * @ref: taken by each bio the interposer decides, from the lookup on
 * @drained: completed when @ref dropped to zero after it was killed
 */
struct blk_interposer_hook {
	struct hlist_node		node;
	struct block_device		*bdev;
	struct blk_interposer		*ip;
	struct percpu_ref		ref;
	struct completion		drained;
};

#if defined(CONFIG_X86_64) && defined(CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS)
/* submit_bio_noacct() hooked by a direct call (blk-interposer-tramp.S) */
#define BLK_INTERPOSER_DIRECT_CALL
void blk_interposer_submit_tramp(void);
bool blk_interposer_direct(struct bio *bio, unsigned long caller);
#endif

bool blk_interposer_active(void);
void blk_interposer_use(void);
void blk_interposer_unuse(void);
struct blk_interposer *blk_interposer_get(struct block_device *bdev);
void blk_interposer_hook_publish(struct block_device *bdev,
				 struct blk_interposer_hook *hook);
void blk_interposer_resubmit(struct bio *bio);
bool blk_interposer_stacked_on(struct block_device *t,
			       struct block_device *orig);
bool blk_interposer_any_target(bool (*fn)(struct block_device *orig,
					  struct block_device *t, void *data),
			       void *data);

/*
 * No slaves links of the module's own: its loop check walks the slaves of
 * stacking drivers (blk_interposer_stacked_on()), which must be real.
 */
#define BLK_INTERPOSER_HOLDER_LINKS	0
int blk_interposer_hook_setup(struct blk_interposer_hook *hook,
			      struct blk_interposer *ip);
void blk_interposer_hook_kill(struct blk_interposer_hook *hook);
void blk_interposer_hook_release(struct blk_interposer_hook *hook);

#define blk_interposer_publish(bdev, ip) \
	blk_interposer_hook_publish(bdev, (ip) ? &(ip)->hook : NULL)
#define blk_interposer_hook_init(ip)	blk_interposer_hook_setup(&(ip)->hook, ip)
#define blk_interposer_hook_drain(ip)	blk_interposer_hook_kill(&(ip)->hook)
#define blk_interposer_hook_exit(ip)	blk_interposer_hook_release(&(ip)->hook)

/* bio_chain_endio() is static in a stock kernel: its address, found at load */
extern bio_end_io_t *blk_interposer_chain_endio;
#define bio_chain_endio	(*blk_interposer_chain_endio)

static inline u64 blk_time_get_ns(void)
{
	return ktime_get_ns();
}

/*
 * A block device opened as one: its special file opened for I/O, not a
 * path-only descriptor of its node (def_blk_fops is not exported).
 */
static inline bool blk_interposer_bdev_file(struct file *f)
{
	return S_ISBLK(file_inode(f)->i_mode) && !(f->f_mode & FMODE_PATH);
}

/*
 * What the struct_ops type uses of BPF that a stock kernel does not export:
 * the helpers for the submitter's name and ids, and the check of the
 * ops' name.
 */
struct bpf_func_proto;
extern const struct bpf_func_proto blk_interposer_current_comm_proto;
extern const struct bpf_func_proto blk_interposer_current_uid_gid_proto;
#define bpf_get_current_comm_proto	blk_interposer_current_comm_proto
#define bpf_get_current_uid_gid_proto	blk_interposer_current_uid_gid_proto
int blk_interposer_obj_name_cpy(char *dst, const char *src, unsigned int size);
#define bpf_obj_name_cpy		blk_interposer_obj_name_cpy

/* The core's initcalls, which the module's init calls instead. */
int blk_interposer_core_init(void);
void blk_interposer_core_exit(void);
int blk_interposer_bpf_init(void);

#endif /* _BLK_INTERPOSER_MODULE_H */
