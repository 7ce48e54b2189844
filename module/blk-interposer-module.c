// SPDX-License-Identifier: GPL-2.0
/*
 * Block device interposer as a module for a stock kernel: the submit hook,
 * the table of interposed devices and the control device.  The interposer
 * itself is the core of block/, built from the same files as in the
 * patched kernel (see blk-interposer-module.h for what differs).
 *
 * The hook is an ftrace handler on submit_bio_noacct() that moves the
 * call to blk_interposer_hooked(), registered only while an interposer is
 * attached (or being attached): with nothing attached the module costs
 * nothing.  Calls of submit_bio_noacct() from this module are the bios an
 * interposer decided and are let by.
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
static bool blk_interposer_hooked_on;

/* Tasks inside blk_interposer_hooked(); the module waits for them to leave */
static DEFINE_PER_CPU(long, blk_interposer_running);

bio_end_io_t *blk_interposer_chain_endio;

static struct hlist_head *blk_interposer_bucket(struct block_device *bdev)
{
	return &blk_interposer_table[hash_ptr(bdev, BLK_INTERPOSER_HASH_BITS)];
}

/* The hook of the interposer published on @bdev; under RCU or the lock. */
static struct blk_interposer_hook *
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

/**
 * blk_interposer_stacked_on - whether a target is built right over the original
 * @t: the target, held open
 * @orig: the original
 *
 * A stacking driver's bios carry no mark here: those that a device-mapper
 * table over @orig sends there would be interposed again, and go round
 * for ever.  Such a target lists @orig in its disk's slaves directory.
 * A stack of several levels over @orig is not seen.
 *
 * Return: %true for a target that has @orig as a slave.
 */
bool blk_interposer_stacked_on(struct block_device *t,
			       struct block_device *orig)
{
	struct gendisk *disk = t->bd_disk;
	struct kernfs_node *kn = NULL;
	bool found;

	mutex_lock(&disk->open_mutex);
	if (disk_live(disk) && disk->slave_dir && disk->slave_dir->sd)
		kn = kernfs_find_and_get(disk->slave_dir->sd,
					 dev_name(&orig->bd_device));
	mutex_unlock(&disk->open_mutex);
	found = kn;
	kernfs_put(kn);
	return found;
}

/*
 * Where submit_bio_noacct() calls from outside this module go: the
 * interposer of the bio's device, if it has one, decides; what it passes
 * goes on into submit_bio_noacct() as if nothing had happened.
 */
static void blk_interposer_hooked(struct bio *bio)
{
	enum blk_interposer_ret ret = BLK_INTERPOSER_PASS;
	struct blk_interposer_hook *hook;

	this_cpu_inc(blk_interposer_running);
	rcu_read_lock();
	hook = blk_interposer_find(bio->bi_bdev);
	if (hook && !percpu_ref_tryget_live(&hook->ref))
		hook = NULL;
	rcu_read_unlock();
	if (hook) {
		ret = __blk_interposer_submit_bio(hook->ip, bio, false);
		percpu_ref_put(&hook->ref);
	}
	if (ret == BLK_INTERPOSER_PASS)
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
 * - del_gendisk(): first the holder links in the disk's slaves directory
 *   go (blk_interposer_disk_gone()).
 */
struct blk_interposer_redirect {
	const char		*name;
	unsigned long		addr;
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

static void blk_interposer_mark_dead(struct block_device *bdev, bool surprise)
{
	this_cpu_inc(blk_interposer_running);
	bdev_mark_dead(bdev, surprise);
	blk_interposer_bdev_gone(bdev);
	this_cpu_dec(blk_interposer_running);
}

static void blk_interposer_del_gendisk(struct gendisk *disk)
{
	this_cpu_inc(blk_interposer_running);
	blk_interposer_disk_gone(disk);
	del_gendisk(disk);
	this_cpu_dec(blk_interposer_running);
}

#define BLK_INTERPOSER_REDIRECT(fn, wrapper) {				\
	.name	= #fn,							\
	.to	= wrapper,						\
	.ops	= {							\
		.func	= blk_interposer_ftrace,			\
		.flags	= FTRACE_OPS_FL_IPMODIFY,			\
	},								\
}

static struct blk_interposer_redirect blk_interposer_redirects[] = {
	BLK_INTERPOSER_REDIRECT(submit_bio_noacct, blk_interposer_hooked),
	BLK_INTERPOSER_REDIRECT(bdev_mark_dead, blk_interposer_mark_dead),
	BLK_INTERPOSER_REDIRECT(del_gendisk, blk_interposer_del_gendisk),
};

static void blk_interposer_unredirect(unsigned int n)
{
	while (n--)
		unregister_ftrace_function(&blk_interposer_redirects[n].ops);
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

/* Take a user of the hook, registering it for the first; may sleep. */
static int blk_interposer_hook_get(void)
{
	struct blk_interposer_redirect *r;
	unsigned int i;
	int ret = 0;

	mutex_lock(&blk_interposer_hook_lock);
	for (i = 0; !ret && !blk_interposer_users &&
	     i < ARRAY_SIZE(blk_interposer_redirects); i++) {
		r = &blk_interposer_redirects[i];
		ret = register_ftrace_function(&r->ops);
		if (ret) {
			pr_err("cannot hook %s() with ftrace (error %d): does another module (a livepatch?) modify it?\n",
			       r->name, ret);
			blk_interposer_unredirect(i);
		}
	}
	if (!ret) {
		WRITE_ONCE(blk_interposer_hooked_on, true);
		blk_interposer_users++;
	}
	mutex_unlock(&blk_interposer_hook_lock);
	return ret;
}

/* Drop a user of the hook, unregistering it with the last; may sleep. */
static void blk_interposer_hook_put(void)
{
	mutex_lock(&blk_interposer_hook_lock);
	if (!--blk_interposer_users) {
		WRITE_ONCE(blk_interposer_hooked_on, false);
		blk_interposer_unredirect(ARRAY_SIZE(blk_interposer_redirects));
	}
	mutex_unlock(&blk_interposer_hook_lock);
}

/**
 * blk_interposer_active - whether any device may have an interposer
 *
 * Return: %true while the hook is registered.
 */
bool blk_interposer_active(void)
{
	return READ_ONCE(blk_interposer_hooked_on);
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
	blk_interposer_users++;
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
	if (copy_from_user(&ctl, (void __user *)arg, sizeof(ctl)))
		return -EFAULT;
	if (ctl.size != sizeof(ctl))
		return -EINVAL;
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

static void blk_interposer_free_filters(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(blk_interposer_redirects); i++)
		ftrace_free_filter(&blk_interposer_redirects[i].ops);
}

static int __init blk_interposer_set_filters(void)
{
	struct blk_interposer_redirect *r;
	unsigned int i;
	int ret;

	blk_interposer_redirects[0].addr = (unsigned long)submit_bio_noacct;
	blk_interposer_redirects[1].addr = (unsigned long)bdev_mark_dead;
	blk_interposer_redirects[2].addr = (unsigned long)del_gendisk;
	for (i = 0; i < ARRAY_SIZE(blk_interposer_redirects); i++) {
		r = &blk_interposer_redirects[i];
		ret = ftrace_set_filter_ip(&r->ops, r->addr, 0, 0);
		if (ret) {
			pr_err("%s() cannot be traced (error %d): the kernel needs CONFIG_DYNAMIC_FTRACE_WITH_ARGS\n",
			       r->name, ret);
			blk_interposer_free_filters();
			return ret;
		}
	}
	return 0;
}

static int __init blk_interposer_module_init(void)
{
	int ret;

	ret = blk_interposer_find_chain_endio();
	if (ret)
		return ret;
	ret = blk_interposer_set_filters();
	if (ret)
		return ret;
	ret = blk_interposer_core_init();
	if (ret)
		goto out_filter;
	ret = blk_interposer_class_register();
	if (ret)
		goto out_core;
	ret = misc_register(&blk_interposer_ctl);
	if (ret)
		goto out_class;
	/* last: programs may be registered and attached from here on */
	ret = blk_interposer_bpf_init();
	if (ret)
		goto out_misc;
	pr_info("loaded: control device %s\n", BLKINTERPOSE_CTL_DEVICE);
	return 0;

out_misc:
	misc_deregister(&blk_interposer_ctl);
out_class:
	class_interface_unregister(&blk_interposer_class_intf);
out_core:
	blk_interposer_core_exit();
out_filter:
	blk_interposer_free_filters();
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
	synchronize_rcu_tasks();
	while (blk_interposer_nr_running())
		msleep(20);
	blk_interposer_core_exit();
	blk_interposer_free_filters();
}

module_init(blk_interposer_module_init);
module_exit(blk_interposer_module_exit);

MODULE_DESCRIPTION("Block device interposer with BPF struct_ops verdicts");
MODULE_LICENSE("GPL");
