// SPDX-License-Identifier: GPL-2.0
/*
 * Block device interposer: the "blk_interposer_ops" BPF struct_ops.
 *
 * A program registers an ops by name (bpftool struct_ops register, or a
 * struct_ops link) and is then attached to devices by that name.  It reads
 * the bio through a trusted pointer, answers with an enum
 * blk_interposer_action and writes its parameters into the one writable
 * structure, struct blk_interposer_verdict; the kernel validates and
 * applies the verdict (block/blk-interposer.c).
 */

#include <linux/bio.h>
#include <linux/blk-interposer.h>
#include <linux/blkdev.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/bpf_verifier.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/filter.h>
#include <linux/init.h>

#ifdef BLK_INTERPOSER_MODULE
#include "blk-interposer-module.h"
#endif
#include "blk-interposer.h"

static const struct btf_type *blk_interposer_verdict_type;
static u32 blk_interposer_ops_type_id;

BTF_ID_LIST(blk_interposer_btf_ids)
BTF_ID(struct, blk_interposer_verdict)
BTF_ID(struct, blk_interposer_ops)

static int bpf_blk_interposer_init(struct btf *btf)
{
	if (!blk_interposer_btf_ids[0] || !blk_interposer_btf_ids[1])
		return -EINVAL;
	blk_interposer_verdict_type = btf_type_by_id(btf,
						     blk_interposer_btf_ids[0]);
	blk_interposer_ops_type_id = blk_interposer_btf_ids[1];
	return 0;
}

static bool bpf_blk_interposer_is_valid_access(int off, int size,
					       enum bpf_access_type type,
					       const struct bpf_prog *prog,
					       struct bpf_insn_access_aux *info)
{
	return bpf_tracing_btf_ctx_access(off, size, type, prog, info);
}

/* Programs may write their verdict and nothing else: not the bio. */
static int bpf_blk_interposer_btf_struct_access(struct bpf_verifier_log *log,
						const struct bpf_reg_state *reg,
						int off, int size)
{
	const struct btf_type *t = btf_type_by_id(reg->btf, reg->btf_id);

	if (t != blk_interposer_verdict_type) {
		bpf_log(log,
			"only struct blk_interposer_verdict is writable\n");
		return -EACCES;
	}
	/* the fields, not the padding after them */
	if (off < 0 || size <= 0 ||
	    off + size > offsetofend(struct blk_interposer_verdict, flags)) {
		bpf_log(log,
			"write at off %d size %d outside blk_interposer_verdict\n",
			off, size);
		return -EACCES;
	}
	return 0;
}

static const struct bpf_func_proto *
bpf_blk_interposer_get_func_proto(enum bpf_func_id func_id,
				  const struct bpf_prog *prog)
{
	switch (func_id) {
	case BPF_FUNC_get_current_comm:
		return &bpf_get_current_comm_proto;
	case BPF_FUNC_get_current_uid_gid:
		return &bpf_get_current_uid_gid_proto;
	default:
		return bpf_base_func_proto(func_id, prog);
	}
}

static const struct bpf_verifier_ops bpf_blk_interposer_verifier_ops = {
	.get_func_proto		= bpf_blk_interposer_get_func_proto,
	.is_valid_access	= bpf_blk_interposer_is_valid_access,
	.btf_struct_access	= bpf_blk_interposer_btf_struct_access,
};

/* Every callback runs where sleeping is not allowed (bio completion). */
static int bpf_blk_interposer_check_member(const struct btf_type *t,
					   const struct btf_member *member,
					   const struct bpf_prog *prog)
{
	if (prog->sleepable)
		return -EINVAL;
	return 0;
}

static int bpf_blk_interposer_init_member(const struct btf_type *t,
					  const struct btf_member *member,
					  void *kdata, const void *udata)
{
	const struct blk_interposer_ops *uops = udata;
	struct blk_interposer_ops *ops = kdata;

	switch (__btf_member_bit_offset(t, member) / 8) {
	case offsetof(struct blk_interposer_ops, flags):
		if (uops->flags)
			return -EINVAL;
		ops->flags = uops->flags;
		return 1;
	case offsetof(struct blk_interposer_ops, name):
		if (bpf_obj_name_cpy(ops->name, uops->name,
				     sizeof(ops->name)) <= 0)
			return -EINVAL;
		return 1;
	}
	return 0;
}

/* An ops without submit_bio passes every bio: it only watches them end. */
static int bpf_blk_interposer_validate(void *kdata)
{
	const struct blk_interposer_ops *ops = kdata;

	return ops->submit_bio || ops->end_bio ? 0 : -EINVAL;
}

/*
 * A registered ops decides the I/O of every device that attaches it by
 * name, and an update changes it for all of them: both need what attach
 * needs, CAP_SYS_ADMIN, on top of the BPF capabilities of loading it.
 */
static int bpf_blk_interposer_reg(void *kdata, struct bpf_link *link)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return blk_interposer_ops_register(kdata);
}

static void bpf_blk_interposer_unreg(void *kdata, struct bpf_link *link)
{
	blk_interposer_ops_unregister(kdata);
}

static int bpf_blk_interposer_update(void *kdata, void *old_kdata,
				     struct bpf_link *link)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return blk_interposer_ops_update(kdata, old_kdata);
}

static int bpf_blk_interposer_submit_bio_stub(struct bio *bio,
					      struct blk_interposer_verdict *v)
{
	return BLK_INTERPOSE_PASS;
}

static void
bpf_blk_interposer_end_bio_stub(struct bio *bio,
				const struct blk_interposer_completion *c)
{
}

static void bpf_blk_interposer_dev_stub(struct block_device *orig)
{
}

static struct blk_interposer_ops bpf_blk_interposer_cfi_stubs = {
	.submit_bio	= bpf_blk_interposer_submit_bio_stub,
	.end_bio	= bpf_blk_interposer_end_bio_stub,
	.attach		= bpf_blk_interposer_dev_stub,
	.detach		= bpf_blk_interposer_dev_stub,
};

static struct bpf_struct_ops bpf_blk_interposer_ops = {
	.verifier_ops	= &bpf_blk_interposer_verifier_ops,
	.init		= bpf_blk_interposer_init,
	.check_member	= bpf_blk_interposer_check_member,
	.init_member	= bpf_blk_interposer_init_member,
	.validate	= bpf_blk_interposer_validate,
	.reg		= bpf_blk_interposer_reg,
	.unreg		= bpf_blk_interposer_unreg,
	.update		= bpf_blk_interposer_update,
	.name		= "blk_interposer_ops",
	.cfi_stubs	= &bpf_blk_interposer_cfi_stubs,
	.owner		= THIS_MODULE,
};

__bpf_kfunc_start_defs();

/**
 * bpf_blk_interposer_nr_targets - the number of targets of a bio's
 * interposer
 * @bio: the bio submit_bio was given
 *
 * Return: the number of targets, 0 if the interposer is gone.
 */
__bpf_kfunc u32 bpf_blk_interposer_nr_targets(struct bio *bio)
{
	return blk_interposer_nr_targets(bio->bi_bdev);
}

/**
 * bpf_blk_interposer_dev_sectors - the size of a remap destination
 * @bio: the bio submit_bio was given
 * @target: a target index, or BLK_INTERPOSE_ORIGINAL for the original
 *
 * Return: the size in 512-byte sectors, 0 if there is no such device.
 */
__bpf_kfunc u64 bpf_blk_interposer_dev_sectors(struct bio *bio, u32 target)
{
	return blk_interposer_dev_sectors(bio->bi_bdev, target);
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(bpf_blk_interposer_kfunc_ids)
BTF_ID_FLAGS(func, bpf_blk_interposer_nr_targets, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_blk_interposer_dev_sectors, KF_TRUSTED_ARGS)
BTF_KFUNCS_END(bpf_blk_interposer_kfunc_ids)

/*
 * struct_ops kfuncs share one hook: answer only for our own programs, and
 * only in submit_bio (member 0, the struct_ops member index is the
 * program's expected_attach_type): the kfuncs read the interposer of the
 * bio's device, which only the submission pins.  At completion that
 * pointer may already be another interposer, or one being freed.
 */
static int bpf_blk_interposer_kfunc_filter(const struct bpf_prog *prog,
					   u32 kfunc_id)
{
	if (!btf_id_set8_contains(&bpf_blk_interposer_kfunc_ids, kfunc_id))
		return 0;
	BUILD_BUG_ON(offsetof(struct blk_interposer_ops, submit_bio) != 0);
	if (prog->type == BPF_PROG_TYPE_STRUCT_OPS &&
	    prog->aux->attach_btf_id == blk_interposer_ops_type_id &&
	    prog->expected_attach_type == 0)
		return 0;
	return -EACCES;
}

static const struct btf_kfunc_id_set bpf_blk_interposer_kfunc_set = {
	.owner	= THIS_MODULE,
	.set	= &bpf_blk_interposer_kfunc_ids,
	.filter	= bpf_blk_interposer_kfunc_filter,
};

static int __init bpf_blk_interposer_ops_init(void)
{
	int ret;

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_STRUCT_OPS,
					&bpf_blk_interposer_kfunc_set);
	if (ret)
		return ret;
	return register_bpf_struct_ops(&bpf_blk_interposer_ops,
				       blk_interposer_ops);
}

#ifdef BLK_INTERPOSER_MODULE
/**
 * blk_interposer_bpf_init - register the struct_ops and its kfuncs (the
 *	module's init; the kernel's is an initcall)
 *
 * Return: 0 or a negative errno.
 */
int __init blk_interposer_bpf_init(void)
{
	return bpf_blk_interposer_ops_init();
}
#else
late_initcall(bpf_blk_interposer_ops_init);
#endif
