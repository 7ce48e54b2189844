// SPDX-License-Identifier: GPL-2.0
/*
 * Block device interposer as a module for a stock kernel: the submit hook,
 * the table of interposed devices and the control device.  The interposer
 * itself is the core of block/, built from the same files as in the
 * patched kernel (see blk-interposer-module.h for what differs).
 *
 * The hook of submit_bio_noacct() is a direct call of ftrace into
 * blk_interposer_submit_tramp() (blk_interposer_direct()), or where that
 * cannot be had an ftrace handler that moves the calls for interposed
 * devices to blk_interposer_hooked().  It is registered only while an
 * interposer is attached (or being attached): with nothing attached the
 * module costs nothing on the I/O path.  Calls of submit_bio_noacct() from
 * this module are the bios an interposer decided and are let by.
 */
#define pr_fmt(fmt) "blk_interposer: " fmt

#include <linux/blk-interposer.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/filter.h>
#include <linux/file.h>
#include <linux/ftrace.h>
#include <linux/ftrace_regs.h>
#include <linux/hash.h>
#include <linux/kernfs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "blk-interposer-module.h"
#include "blk-interposer.h"

#define BLK_INTERPOSER_HASH_BITS	8

/* Published interposers by block device; readers under RCU */
static struct hlist_head blk_interposer_table[1 << BLK_INTERPOSER_HASH_BITS];
static DEFINE_SPINLOCK(blk_interposer_table_lock);

/*
 * Users of the hook: attached interposers and control commands that may
 * attach one.  The hook is registered while there is any.
 */
static DEFINE_MUTEX(blk_interposer_hook_lock);
static unsigned int blk_interposer_users;

/* Tasks inside blk_interposer_hooked(); the module waits for them to leave */
static DEFINE_PER_CPU(long, blk_interposer_running);

bio_end_io_t *blk_interposer_chain_endio;

static struct hlist_head *blk_interposer_bucket(struct block_device *bdev)
{
	return &blk_interposer_table[hash_ptr(bdev, BLK_INTERPOSER_HASH_BITS)];
}

/*
 * The hook of the interposer published on @bdev; under RCU or the lock.
 * Inline: the ftrace handler calls it for every bio of every device.
 */
static __always_inline struct blk_interposer_hook *
blk_interposer_find(struct block_device *bdev)
{
	struct blk_interposer_hook *hook;

	hlist_for_each_entry_rcu(hook, blk_interposer_bucket(bdev), node,
				 lockdep_is_held(&blk_interposer_table_lock))
		if (hook->bdev == bdev)
			return hook;
	return NULL;
}

/**
 * blk_interposer_get - the interposer published on a block device
 * @bdev: the device
 *
 * Stable for a bio that the interposer is deciding (it holds the hook's
 * reference) or under the core's lock.
 *
 * Return: the interposer, or %NULL.
 */
struct blk_interposer *blk_interposer_get(struct block_device *bdev)
{
	struct blk_interposer_hook *hook;
	struct blk_interposer *ip = NULL;

	rcu_read_lock();
	hook = blk_interposer_find(bdev);
	if (hook)
		ip = hook->ip;
	rcu_read_unlock();
	return ip;
}

/**
 * blk_interposer_hook_publish - publish or clear the interposer of a device
 * @bdev: the device, its queue frozen by the caller
 * @hook: the hook of the interposer to publish, %NULL to clear
 *
 * The interposer that was published is replaced; its bios that are still
 * being decided are drained when it is freed (blk_interposer_hook_kill()).
 */
void blk_interposer_hook_publish(struct block_device *bdev,
				 struct blk_interposer_hook *hook)
{
	struct blk_interposer_hook *old;

	spin_lock(&blk_interposer_table_lock);
	old = blk_interposer_find(bdev);
	if (old)
		hlist_del_init_rcu(&old->node);
	if (hook) {
		hook->bdev = bdev;
		hlist_add_head_rcu(&hook->node, blk_interposer_bucket(bdev));
	}
	spin_unlock(&blk_interposer_table_lock);
}

static void blk_interposer_hook_zero(struct percpu_ref *ref)
{
	complete(&container_of(ref, struct blk_interposer_hook, ref)->drained);
}

/**
 * blk_interposer_hook_setup - prepare the hook of a new interposer
 * @hook: its hook
 * @ip: the interposer
 *
 * Return: 0, or -ENOMEM.
 */
int blk_interposer_hook_setup(struct blk_interposer_hook *hook,
			      struct blk_interposer *ip)
{
	int ret;

	INIT_HLIST_NODE(&hook->node);
	init_completion(&hook->drained);
	hook->ip = ip;
	ret = percpu_ref_init(&hook->ref, blk_interposer_hook_zero, 0,
			      GFP_KERNEL);
	/* the module stays while an interposer exists (rmmod: EBUSY) */
	if (!ret)
		__module_get(THIS_MODULE);
	return ret;
}

/**
 * blk_interposer_hook_kill - wait for the bios an interposer is deciding
 * @hook: its hook, no longer published
 *
 * After it, no bio takes the interposer from the table any more.
 */
void blk_interposer_hook_kill(struct blk_interposer_hook *hook)
{
	percpu_ref_kill(&hook->ref);
	wait_for_completion(&hook->drained);
}

/**
 * blk_interposer_hook_release - free what the hook of an interposer holds
 * @hook: its hook, killed (or never published)
 *
 * Context: the last the interposer's memory is used for, before kfree()
 */
void blk_interposer_hook_release(struct blk_interposer_hook *hook)
{
	percpu_ref_exit(&hook->ref);
	/*
	 * What is left of the caller sleeps no more: the module's exit waits
	 * for it with synchronize_rcu_tasks().
	 */
	module_put(THIS_MODULE);
}

/**
 * blk_interposer_resubmit - send on a bio an interposer decided
 * @bio: the bio, pointed at its destination
 *
 * Called from this module, so the hook lets it by.
 */
void blk_interposer_resubmit(struct bio *bio)
{
	submit_bio_noacct(bio);
}

#ifdef CONFIG_BLOCK_HOLDER_DEPRECATED
/*
 * An entry of gendisk::slave_bdevs, which block/holder.c keeps private:
 * the holders directory of a slave, whose parent is the slave's device.
 * The list changes only in bd_link_disk_holder() and
 * bd_unlink_disk_holder(), which the module wraps with
 * blk_interposer_holders_rwsem from its load on.
 */
struct blk_interposer_holder_disk {
	struct list_head	list;
	struct kobject		*holder_dir;
	int			refcnt;
};

/* Deeper stacks than this are taken for loops */
#define BLK_INTERPOSER_STACK_DEPTH	16

static DECLARE_RWSEM(blk_interposer_holders_rwsem);

/*
 * Whether a bio sent to @from's driver can reach @bdev, or a device of
 * @disk, through the slaves of stacking drivers; under
 * blk_interposer_holders_rwsem.
 */
static bool blk_interposer_reaches(struct gendisk *from,
				   const struct block_device *bdev,
				   const struct gendisk *disk,
				   unsigned int depth)
{
	struct blk_interposer_holder_disk *h;
	struct block_device *slave;

	if (!depth)
		return true;
	list_for_each_entry(h, &from->slave_bdevs, list) {
		slave = dev_to_bdev(kobj_to_dev(h->holder_dir->parent));
		if (slave == bdev || slave->bd_disk == disk ||
		    blk_interposer_reaches(slave->bd_disk, bdev, disk,
					   depth - 1))
			return true;
	}
	return false;
}

/**
 * blk_interposer_stacked_on - whether a target sends bios to the original
 * @t: the target, held open
 * @orig: the original
 *
 * The bios that a stacking driver (a device-mapper table, md) sends on
 * carry no mark here: those that reach @orig, at any depth, would be
 * interposed again and go round for ever.
 *
 * Return: %true for a target built over @orig.
 */
bool blk_interposer_stacked_on(struct block_device *t,
			       struct block_device *orig)
{
	bool found;

	down_read(&blk_interposer_holders_rwsem);
	found = blk_interposer_reaches(t->bd_disk, orig, NULL,
				       BLK_INTERPOSER_STACK_DEPTH);
	up_read(&blk_interposer_holders_rwsem);
	return found;
}

struct blk_interposer_link_check {
	struct block_device	*slave;
	struct gendisk		*holder;
};

/*
 * Whether @holder taking @slave makes a loop through the interposer of
 * @orig and its target @t: @t reaches @holder, and @slave is @orig or
 * reaches it.
 */
static bool blk_interposer_closes_loop(struct block_device *orig,
				       struct block_device *t, void *data)
{
	struct blk_interposer_link_check *c = data;

	if (t->bd_disk != c->holder &&
	    !blk_interposer_reaches(t->bd_disk, NULL, c->holder,
				    BLK_INTERPOSER_STACK_DEPTH))
		return false;
	return c->slave == orig ||
	       blk_interposer_reaches(c->slave->bd_disk, orig, NULL,
				      BLK_INTERPOSER_STACK_DEPTH);
}

/*
 * bd_link_disk_holder() from outside the module: a stacking driver takes
 * @slave.  Refused if a target of an interposer would then send its bios
 * back to that interposer's original (a table reloaded over it, say).
 */
static int blk_interposer_link_holder(struct block_device *slave,
				      struct gendisk *holder)
{
	struct blk_interposer_link_check c = {
		.slave = slave,
		.holder = holder,
	};
	int ret;

	this_cpu_inc(blk_interposer_running);
	down_write(&blk_interposer_holders_rwsem);
	if (blk_interposer_any_target(blk_interposer_closes_loop, &c)) {
		pr_warn("%s cannot take %pg: an interposer's target would send its bios back to its original\n",
			holder->disk_name, slave);
		ret = -ELOOP;
	} else {
		ret = bd_link_disk_holder(slave, holder);
	}
	up_write(&blk_interposer_holders_rwsem);
	this_cpu_dec(blk_interposer_running);
	return ret;
}

static void blk_interposer_unlink_holder(struct block_device *slave,
					 struct gendisk *holder)
{
	this_cpu_inc(blk_interposer_running);
	down_write(&blk_interposer_holders_rwsem);
	bd_unlink_disk_holder(slave, holder);
	up_write(&blk_interposer_holders_rwsem);
	this_cpu_dec(blk_interposer_running);
}
#else
bool blk_interposer_stacked_on(struct block_device *t,
			       struct block_device *orig)
{
	/* no slaves are known: stacking drivers cannot be told apart */
	return false;
}
#endif

/*
 * The hook of the interposer published on @bio's device, with a reference
 * for the bio; %NULL if there is none or it is going.
 */
static __always_inline struct blk_interposer_hook *
blk_interposer_hook_tryget(struct bio *bio)
{
	struct blk_interposer_hook *hook;

	rcu_read_lock();
	hook = blk_interposer_find(bio->bi_bdev);
	if (hook && !percpu_ref_tryget_live_rcu(&hook->ref))
		hook = NULL;
	rcu_read_unlock();
	return hook;
}

/*
 * The interposer of @hook decides @bio; its reference is dropped.
 * Return: whether the bio passes: it goes on into submit_bio_noacct().
 */
static bool blk_interposer_decide(struct blk_interposer_hook *hook,
				  struct bio *bio)
{
	enum blk_interposer_ret ret;

	ret = __blk_interposer_submit_bio(hook->ip, bio, false);
	percpu_ref_put(&hook->ref);
	return ret == BLK_INTERPOSER_PASS;
}

/*
 * Where submit_bio_noacct() calls from outside this module go when the
 * bio's device had an interposer (blk_interposer_ftrace_submit()): it
 * decides, if it is still there; what it passes goes on into
 * submit_bio_noacct() as if nothing had happened.
 */
static void blk_interposer_hooked(struct bio *bio)
{
	struct blk_interposer_hook *hook;

	this_cpu_inc(blk_interposer_running);
	hook = blk_interposer_hook_tryget(bio);
	if (!hook || blk_interposer_decide(hook, bio))
		submit_bio_noacct(bio);
	this_cpu_dec(blk_interposer_running);
}

/*
 * Functions of the block layer whose calls from outside this module go to
 * a function of the module instead, which calls the original (the ftrace
 * handler lets calls from the module by):
 * - submit_bio_noacct(): the interposer of the bio's device decides;
 * - bdev_mark_dead(): after the device's holder was told and the device
 *   invalidated, an interposer on it is detached and those using it as a
 *   target fail closed (blk_interposer_bdev_gone());
 * - bd_link_disk_holder(), bd_unlink_disk_holder(): a stacking driver
 *   takes a slave or lets it go (blk_interposer_link_holder()).
 */
struct blk_interposer_redirect {
	const char		*name;
	void			*addr;
	void			*to;
	struct ftrace_ops	ops;
};

static void notrace blk_interposer_ftrace(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *ops,
					  struct ftrace_regs *fregs)
{
	struct blk_interposer_redirect *r =
		container_of(ops, struct blk_interposer_redirect, ops);

	if (!within_module(parent_ip, THIS_MODULE))
		ftrace_regs_set_instruction_pointer(fregs,
						    (unsigned long)r->to);
}

/*
 * submit_bio_noacct(): only the bios of an interposed device are moved
 * into the module.  Those of every other device go on where they were,
 * through this handler alone, instead of through blk_interposer_hooked()
 * and a second pass of the trampoline when it calls submit_bio_noacct()
 * back.  The lookup is repeated there, with the hook's reference.
 */
static void notrace blk_interposer_ftrace_submit(unsigned long ip,
						 unsigned long parent_ip,
						 struct ftrace_ops *ops,
						 struct ftrace_regs *fregs)
{
	struct bio *bio = (struct bio *)ftrace_regs_get_argument(fregs, 0);
	unsigned long to = (unsigned long)blk_interposer_hooked;
	bool interposed;

	if (within_module(parent_ip, THIS_MODULE))
		return;
	rcu_read_lock();
	interposed = blk_interposer_find(bio->bi_bdev);
	rcu_read_unlock();
	if (interposed)
		ftrace_regs_set_instruction_pointer(fregs, to);
}

#ifdef BLK_INTERPOSER_DIRECT_CALL
/*
 * The fast hook of submit_bio_noacct(): a direct call of ftrace into
 * blk_interposer_submit_tramp(), which saves no registers but the bio's
 * and skips the function when blk_interposer_direct() took the bio.  Used
 * unless the "direct" parameter is off, or the function has a direct
 * call already (a BPF trampoline: ftrace allows one): then the ftrace
 * handler above is.
 */
static bool blk_interposer_use_direct = true;
module_param_named(direct, blk_interposer_use_direct, bool, 0644);
MODULE_PARM_DESC(direct, "Hook submit_bio_noacct() with a direct call (the next time something is attached; default on)");

static struct ftrace_ops blk_interposer_direct_ops;

/* Whether submit_bio_noacct() is hooked by the direct call now */
static bool blk_interposer_direct_on(void)
{
	return blk_interposer_direct_ops.flags & FTRACE_OPS_FL_ENABLED;
}

/**
 * blk_interposer_direct - the decision of the direct-call trampoline
 * @bio: the bio submit_bio_noacct() was called with
 * @caller: where it was called from
 *
 * The interposer of the bio's device decides it, unless the module
 * itself submitted it.  A bio that passes goes on into the body of
 * submit_bio_noacct() from the trampoline: no second call.
 *
 * Return: %true if the module took @bio, so the trampoline skips
 * submit_bio_noacct().
 */
bool blk_interposer_direct(struct bio *bio, unsigned long caller)
{
	struct blk_interposer_hook *hook;
	bool taken;

	/* the module's own calls: what an interposer decided */
	if (within_module_mem_type(caller, THIS_MODULE, MOD_TEXT))
		return false;
	hook = blk_interposer_hook_tryget(bio);
	if (!hook)
		return false;
	this_cpu_inc(blk_interposer_running);
	taken = !blk_interposer_decide(hook, bio);
	this_cpu_dec(blk_interposer_running);
	return taken;
}

static int __init blk_interposer_direct_init(void)
{
	return ftrace_set_filter_ip(&blk_interposer_direct_ops,
				    (unsigned long)submit_bio_noacct, 0, 0);
}

static void blk_interposer_direct_exit(void)
{
	ftrace_free_filter(&blk_interposer_direct_ops);
}

/* Try the direct call; %false if the ftrace handler must do. */
static bool blk_interposer_direct_register(void)
{
	int ret;

	if (!READ_ONCE(blk_interposer_use_direct))
		return false;
	ret = register_ftrace_direct(&blk_interposer_direct_ops,
				     (unsigned long)blk_interposer_submit_tramp);
	if (ret)
		pr_info("submit_bio_noacct() cannot take a direct call (error %d; a BPF trampoline on it?): hooked with the slower ftrace handler\n",
			ret);
	return !ret;
}

/* Remove the direct call if it is there; %true if it was. */
static bool blk_interposer_direct_unregister(void)
{
	if (!blk_interposer_direct_on())
		return false;
	unregister_ftrace_direct(&blk_interposer_direct_ops,
				 (unsigned long)blk_interposer_submit_tramp, false);
	return true;
}
#else
static inline int blk_interposer_direct_init(void) { return 0; }
static inline void blk_interposer_direct_exit(void) { }
static inline bool blk_interposer_direct_register(void) { return false; }
static inline bool blk_interposer_direct_unregister(void) { return false; }
#endif

static void blk_interposer_mark_dead(struct block_device *bdev, bool surprise)
{
	this_cpu_inc(blk_interposer_running);
	bdev_mark_dead(bdev, surprise);
	blk_interposer_bdev_gone(bdev);
	this_cpu_dec(blk_interposer_running);
}

#define BLK_INTERPOSER_REDIRECT(fn, handler, wrapper) {			\
	.name	= #fn,							\
	.addr	= fn,							\
	.to	= wrapper,						\
	.ops	= {							\
		.func	= handler,					\
		.flags	= FTRACE_OPS_FL_IPMODIFY,			\
	},								\
}

static struct blk_interposer_redirect blk_interposer_redirects[] = {
	BLK_INTERPOSER_REDIRECT(submit_bio_noacct, blk_interposer_ftrace_submit,
				blk_interposer_hooked),
	BLK_INTERPOSER_REDIRECT(bdev_mark_dead, blk_interposer_ftrace,
				blk_interposer_mark_dead),
};

/* Registered while the module is loaded: not on the I/O path */
static struct blk_interposer_redirect blk_interposer_holder_redirects[] = {
#ifdef CONFIG_BLOCK_HOLDER_DEPRECATED
	BLK_INTERPOSER_REDIRECT(bd_link_disk_holder, blk_interposer_ftrace,
				blk_interposer_link_holder),
	BLK_INTERPOSER_REDIRECT(bd_unlink_disk_holder, blk_interposer_ftrace,
				blk_interposer_unlink_holder),
#endif
};

static void blk_interposer_unredirect(struct blk_interposer_redirect *r,
				      unsigned int n)
{
	while (n--)
		unregister_ftrace_function(&r[n].ops);
}

/* Register @n redirects, all or none. */
static int blk_interposer_redirect(struct blk_interposer_redirect *r,
				   unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = register_ftrace_function(&r[i].ops);
		if (ret) {
			pr_err("cannot hook %s() with ftrace (error %d): does another module (a livepatch?) modify it?\n",
			       r[i].name, ret);
			blk_interposer_unredirect(r, i);
			return ret;
		}
	}
	return 0;
}

static void blk_interposer_free_filters(struct blk_interposer_redirect *r,
					unsigned int n)
{
	while (n--)
		ftrace_free_filter(&r[n].ops);
}

static int __init blk_interposer_set_filters(struct blk_interposer_redirect *r,
					     unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = ftrace_set_filter_ip(&r[i].ops, (unsigned long)r[i].addr,
					   0, 0);
		if (ret) {
			pr_err("%s() cannot be traced (error %d): the kernel needs CONFIG_DYNAMIC_FTRACE_WITH_ARGS\n",
			       r[i].name, ret);
			blk_interposer_free_filters(r, i);
			return ret;
		}
	}
	return 0;
}

/*
 * The block class, watched while the module is loaded:
 * - every disk and partition gets the read-only "interposer" attribute
 *   the patched kernel has (made when the device is added, removed when
 *   it is deleted, before its directory goes);
 * - a partition that is deleted (drop_partition(), with its disk's
 *   open_mutex held) leaves the class: an interposer on it is detached,
 *   those using it as a target fail closed.  Whole disks were told by
 *   bdev_mark_dead() before.
 * The class is not exported: it is the class of a disk allocated (never
 * added) for the purpose.
 */

static int blk_interposer_class_add(struct device *dev)
{
	if (sysfs_create_file(&dev->kobj, &dev_attr_interposer.attr))
		pr_warn_once("%s: cannot add the interposer attribute\n",
			     dev_name(dev));
	return 0;
}

static void blk_interposer_class_remove(struct device *dev)
{
	if (blk_interposer_active())
		blk_interposer_bdev_gone(dev_to_bdev(dev));
	sysfs_remove_file(&dev->kobj, &dev_attr_interposer.attr);
}

static struct class_interface blk_interposer_class_intf = {
	.add_dev	= blk_interposer_class_add,
	.remove_dev	= blk_interposer_class_remove,
};

static int __init blk_interposer_class_register(void)
{
	struct gendisk *disk;
	int ret;

	disk = blk_alloc_disk(NULL, NUMA_NO_NODE);
	if (IS_ERR(disk))
		return PTR_ERR(disk);
	blk_interposer_class_intf.class = disk_to_dev(disk)->class;
	put_disk(disk);
	ret = class_interface_register(&blk_interposer_class_intf);
	if (ret)
		pr_err("cannot watch the block class (error %d)\n", ret);
	return ret;
}

/*
 * The hook: submit_bio_noacct() through the direct call if it can be had,
 * else through the ftrace handler (the first redirect), and the other
 * redirects.
 */
static int blk_interposer_hook_register(void)
{
	unsigned int skip = blk_interposer_direct_register() ? 1 : 0;
	int ret;

	ret = blk_interposer_redirect(blk_interposer_redirects + skip,
				      ARRAY_SIZE(blk_interposer_redirects) - skip);
	if (ret)
		blk_interposer_direct_unregister();
	return ret;
}

static void blk_interposer_hook_unregister(void)
{
	unsigned int skip = blk_interposer_direct_unregister() ? 1 : 0;

	blk_interposer_unredirect(blk_interposer_redirects + skip,
				  ARRAY_SIZE(blk_interposer_redirects) - skip);
}

/* Take a user of the hook, registering it for the first; may sleep. */
static int blk_interposer_hook_get(void)
{
	int ret = 0;

	mutex_lock(&blk_interposer_hook_lock);
	if (!blk_interposer_users)
		ret = blk_interposer_hook_register();
	if (!ret)
		WRITE_ONCE(blk_interposer_users, blk_interposer_users + 1);
	mutex_unlock(&blk_interposer_hook_lock);
	return ret;
}

/* Drop a user of the hook, unregistering it with the last; may sleep. */
static void blk_interposer_hook_put(void)
{
	mutex_lock(&blk_interposer_hook_lock);
	WRITE_ONCE(blk_interposer_users, blk_interposer_users - 1);
	if (!blk_interposer_users)
		blk_interposer_hook_unregister();
	mutex_unlock(&blk_interposer_hook_lock);
}

/**
 * blk_interposer_active - whether any device may have an interposer
 *
 * Return: %true while the hook is registered.
 */
bool blk_interposer_active(void)
{
	return READ_ONCE(blk_interposer_users);
}

/**
 * blk_interposer_use - an interposer is being attached
 *
 * Only called while a control command holds the hook, so the hook is
 * registered already and this cannot fail.
 */
void blk_interposer_use(void)
{
	mutex_lock(&blk_interposer_hook_lock);
	WARN_ON_ONCE(!blk_interposer_users);
	WRITE_ONCE(blk_interposer_users, blk_interposer_users + 1);
	mutex_unlock(&blk_interposer_hook_lock);
}

/**
 * blk_interposer_unuse - an interposer left its device
 */
void blk_interposer_unuse(void)
{
	blk_interposer_hook_put();
}

/* The calling task's name, as bpf_get_current_comm() gives it. */
BPF_CALL_2(blk_interposer_current_comm, char *, buf, u32, size)
{
	/* the verifier made sure size > 0 */
	strscpy_pad(buf, current->comm, size);
	return 0;
}

const struct bpf_func_proto blk_interposer_current_comm_proto = {
	.func		= blk_interposer_current_comm,
	.ret_type	= RET_INTEGER,
	.arg1_type	= ARG_PTR_TO_UNINIT_MEM,
	.arg2_type	= ARG_CONST_SIZE,
};

/* The calling task's gid << 32 | uid, in the initial namespace. */
BPF_CALL_0(blk_interposer_current_uid_gid)
{
	u32 uid = from_kuid(&init_user_ns, current_uid());
	u32 gid = from_kgid(&init_user_ns, current_gid());

	return (u64)gid << 32 | uid;
}

const struct bpf_func_proto blk_interposer_current_uid_gid_proto = {
	.func		= blk_interposer_current_uid_gid,
	.ret_type	= RET_INTEGER,
};

/**
 * blk_interposer_obj_name_cpy - copy and check a BPF object name
 * @dst: where to copy it, @size bytes
 * @src: the name, NUL-terminated within @size bytes
 * @size: size of both
 *
 * Names are made of letters, digits, '_' and '.', as BPF names its objects.
 *
 * Return: the length of the name, or -EINVAL.
 */
int blk_interposer_obj_name_cpy(char *dst, const char *src, unsigned int size)
{
	unsigned int i;

	memset(dst, 0, size);
	for (i = 0; i < size && src[i]; i++) {
		if (!isalnum(src[i]) && src[i] != '_' && src[i] != '.')
			return -EINVAL;
		dst[i] = src[i];
	}
	return i < size ? i : -EINVAL;
}

/*
 * The interposed device @dev, with a reference on it, or %NULL: a query
 * needs no descriptor of the device (opening it may have effects).
 */
static struct block_device *blk_interposer_published_bdev(dev_t dev)
{
	struct blk_interposer_hook *hook;
	struct block_device *bdev = NULL;
	unsigned int i;

	spin_lock(&blk_interposer_table_lock);
	for (i = 0; !bdev && i < ARRAY_SIZE(blk_interposer_table); i++) {
		hlist_for_each_entry(hook, &blk_interposer_table[i], node) {
			if (hook->bdev->bd_dev == dev) {
				bdev = hook->bdev;
				get_device(&bdev->bd_device);
				break;
			}
		}
	}
	spin_unlock(&blk_interposer_table_lock);
	return bdev;
}

static long blk_interposer_ctl_query_dev(const struct blkinterpose_ctl *ctl)
{
	struct block_device *bdev;
	long ret;

	if (ctl->dev.major > MAJOR(~0U) || ctl->dev.minor > MINOR(~0U))
		return -EINVAL;
	bdev = blk_interposer_published_bdev(MKDEV(ctl->dev.major,
						   ctl->dev.minor));
	if (!bdev)
		return -ENOENT;
	ret = blk_interposer_ioctl(bdev, BLK_OPEN_READ, BLKINTERPOSE_QUERY,
				   u64_to_user_ptr(ctl->arg));
	put_device(&bdev->bd_device);
	return ret;
}

/* The control device: the ioctls of the patched kernel, in an envelope. */
static long blk_interposer_ctl_ioctl(struct file *file, unsigned int cmd,
				     unsigned long arg)
{
	struct blkinterpose_ctl ctl;
	blk_mode_t mode = 0;
	struct file *f;
	int ret;

	switch (cmd) {
	case BLKINTERPOSE_ATTACH:
	case BLKINTERPOSE_DETACH:
	case BLKINTERPOSE_QUERY:
		break;
	default:
		return -ENOTTY;
	}
	ret = blk_interposer_copy_arg(&ctl, sizeof(ctl), sizeof(ctl),
				      (void __user *)arg);
	if (ret)
		return ret;
	if (ctl.fd == -1 && cmd == BLKINTERPOSE_QUERY)
		return blk_interposer_ctl_query_dev(&ctl);
	f = fget(ctl.fd);
	if (!f)
		return -EBADF;
	if (!S_ISBLK(file_inode(f)->i_mode)) {
		ret = -ENOTBLK;
		goto out;
	}
	if (!blk_interposer_bdev_file(f)) {
		ret = -EBADF;
		goto out;
	}
	if (f->f_mode & FMODE_READ)
		mode |= BLK_OPEN_READ;
	if (f->f_mode & FMODE_WRITE)
		mode |= BLK_OPEN_WRITE;
	if (cmd == BLKINTERPOSE_ATTACH) {
		ret = blk_interposer_hook_get();
		if (ret)
			goto out;
	}
	ret = blk_interposer_ioctl(file_bdev(f), mode, cmd,
				   u64_to_user_ptr(ctl.arg));
	if (cmd == BLKINTERPOSE_ATTACH)
		blk_interposer_hook_put();
out:
	fput(f);
	return ret;
}

static const struct file_operations blk_interposer_ctl_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= blk_interposer_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice blk_interposer_ctl = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "blk-interposer",
	.fops	= &blk_interposer_ctl_fops,
	.mode	= 0600,
};

/*
 * bio_chain_endio() is static: take its address from a chain made for
 * the purpose (bio_chain() is exported).
 */
static int blk_interposer_find_chain_endio(void)
{
	struct bio *parent, *child;

	parent = bio_kmalloc(0, GFP_KERNEL);
	child = bio_kmalloc(0, GFP_KERNEL);
	if (!parent || !child) {
		kfree(parent);
		kfree(child);
		return -ENOMEM;
	}
	bio_init(parent, NULL, NULL, 0, 0);
	bio_init(child, NULL, NULL, 0, 0);
	bio_chain(child, parent);
	blk_interposer_chain_endio = child->bi_end_io;
	bio_uninit(child);
	bio_uninit(parent);
	kfree(child);
	kfree(parent);
	return 0;
}

static int __init blk_interposer_module_init(void)
{
	int ret;

	ret = blk_interposer_find_chain_endio();
	if (ret)
		return ret;
	ret = blk_interposer_set_filters(blk_interposer_redirects,
					 ARRAY_SIZE(blk_interposer_redirects));
	if (ret)
		return ret;
	ret = blk_interposer_set_filters(blk_interposer_holder_redirects,
					 ARRAY_SIZE(blk_interposer_holder_redirects));
	if (ret)
		goto out_filter;
	ret = blk_interposer_direct_init();
	if (ret)
		goto out_holder_filter;
	ret = blk_interposer_core_init();
	if (ret)
		goto out_direct;
	ret = blk_interposer_class_register();
	if (ret)
		goto out_core;
	/* before anything can be attached: the slaves it walks are known */
	ret = blk_interposer_redirect(blk_interposer_holder_redirects,
				      ARRAY_SIZE(blk_interposer_holder_redirects));
	if (ret)
		goto out_class;
	ret = misc_register(&blk_interposer_ctl);
	if (ret)
		goto out_holder;
	/* last: programs may be registered and attached from here on */
	ret = blk_interposer_bpf_init();
	if (ret)
		goto out_misc;
	pr_info("loaded: control device %s\n", BLKINTERPOSE_CTL_DEVICE);
	return 0;

out_misc:
	misc_deregister(&blk_interposer_ctl);
out_holder:
	blk_interposer_unredirect(blk_interposer_holder_redirects,
				  ARRAY_SIZE(blk_interposer_holder_redirects));
out_class:
	class_interface_unregister(&blk_interposer_class_intf);
out_core:
	blk_interposer_core_exit();
out_direct:
	blk_interposer_direct_exit();
out_holder_filter:
	blk_interposer_free_filters(blk_interposer_holder_redirects,
				    ARRAY_SIZE(blk_interposer_holder_redirects));
out_filter:
	blk_interposer_free_filters(blk_interposer_redirects,
				    ARRAY_SIZE(blk_interposer_redirects));
	return ret;
}

/* Sum of the per-CPU counts of tasks inside blk_interposer_hooked(). */
static long blk_interposer_nr_running(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(blk_interposer_running, cpu);
	return sum;
}

/*
 * Nothing is attached (a struct_ops map of the module's type holds the
 * module, and so does every attached interposer through its ops or its
 * users of the hook): the hook is unregistered.  A task moved to
 * blk_interposer_hooked() just before may not have counted itself yet:
 * RCU tasks waits until every task that was preempted there ran again.
 */
static void __exit blk_interposer_module_exit(void)
{
	misc_deregister(&blk_interposer_ctl);
	class_interface_unregister(&blk_interposer_class_intf);
	blk_interposer_unredirect(blk_interposer_holder_redirects,
				  ARRAY_SIZE(blk_interposer_holder_redirects));
	synchronize_rcu_tasks();
	while (blk_interposer_nr_running())
		msleep(20);
	blk_interposer_core_exit();
	blk_interposer_direct_exit();
	blk_interposer_free_filters(blk_interposer_holder_redirects,
				    ARRAY_SIZE(blk_interposer_holder_redirects));
	blk_interposer_free_filters(blk_interposer_redirects,
				    ARRAY_SIZE(blk_interposer_redirects));
}

module_init(blk_interposer_module_init);
module_exit(blk_interposer_module_exit);

MODULE_DESCRIPTION("Block device interposer with BPF struct_ops verdicts");
MODULE_LICENSE("GPL");
