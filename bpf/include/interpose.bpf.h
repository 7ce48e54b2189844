/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * interpose.bpf.h: what a block interposer program needs.
 *
 * An interposer program is a "blk_interposer_ops" struct_ops.  Its
 * submit_bio callback sees every bio submitted to the devices it is
 * attached to, through a read-only struct bio pointer, and returns a
 * verdict: pass, redirect, remap, fail or complete.  The verdict's
 * parameters go into struct blk_interposer_verdict, the only memory the
 * program may write.  Build against vmlinux.h of the running kernel:
 *
 *	clang -target bpf -O2 -g -I$(dir of vmlinux.h) -Ibpf/include \
 *		-c my.bpf.c -o my.bpf.o
 */
#ifndef __INTERPOSE_BPF_H
#define __INTERPOSE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Defines that BTF does not carry. */
#ifndef BLK_INTERPOSE_ORIGINAL
#define BLK_INTERPOSE_ORIGINAL	(~0U)	/* remap onto the original itself */
#endif
#define INTERPOSE_SECTOR_SHIFT	9

#ifndef REQ_OP_BITS
#define REQ_OP_BITS		8
#define REQ_OP_MASK		((1U << REQ_OP_BITS) - 1)
#define REQ_FAILFAST_DEV	(1U << __REQ_FAILFAST_DEV)
#define REQ_SYNC		(1U << __REQ_SYNC)
#define REQ_META		(1U << __REQ_META)
#define REQ_PRIO		(1U << __REQ_PRIO)
#define REQ_NOMERGE		(1U << __REQ_NOMERGE)
#define REQ_IDLE		(1U << __REQ_IDLE)
#define REQ_FUA			(1U << __REQ_FUA)
#define REQ_PREFLUSH		(1U << __REQ_PREFLUSH)
#define REQ_RAHEAD		(1U << __REQ_RAHEAD)
#define REQ_BACKGROUND		(1U << __REQ_BACKGROUND)
#define REQ_NOWAIT		(1U << __REQ_NOWAIT)
#endif

/* errnos for interpose_fail() */
#ifndef EIO
#define EIO		5
#define ENOSPC		28
#define EROFS		30
#define ENODATA		61
#define EILSEQ		84
#define EOPNOTSUPP	95
#define ETIMEDOUT	110
#endif

/* kfuncs: they answer only for blk_interposer_ops programs */
extern __u32 bpf_blk_interposer_nr_targets(struct bio *bio) __ksym;
extern __u64 bpf_blk_interposer_dev_sectors(struct bio *bio, __u32 target) __ksym;

/* --- reading a bio --------------------------------------------------- */

static __always_inline __u32 bio_op(const struct bio *bio)
{
	return bio->bi_opf & REQ_OP_MASK;
}

/* writes, discards, write-zeroes: every op that changes data is odd */
static __always_inline bool bio_is_write(const struct bio *bio)
{
	return bio_op(bio) & 1;
}

static __always_inline bool bio_is_read(const struct bio *bio)
{
	return bio_op(bio) == REQ_OP_READ;
}

static __always_inline bool bio_has_flag(const struct bio *bio, __u32 flag)
{
	return bio->bi_opf & flag;
}

static __always_inline __u32 bio_bytes(const struct bio *bio)
{
	return bio->bi_iter.bi_size;
}

static __always_inline __u64 bio_nr_sectors(const struct bio *bio)
{
	return bio->bi_iter.bi_size >> INTERPOSE_SECTOR_SHIFT;
}

static __always_inline __u32 bio_dev(const struct bio *bio)
{
	return bio->bi_bdev->bd_dev;
}

/* "read", "write", "flush", "discard", "write_zeroes" or "other" */
static __always_inline const char *bio_op_name(const struct bio *bio)
{
	switch (bio_op(bio)) {
	case REQ_OP_READ:		return "read";
	case REQ_OP_WRITE:		return "write";
	case REQ_OP_FLUSH:		return "flush";
	case REQ_OP_DISCARD:		return "discard";
	case REQ_OP_WRITE_ZEROES:	return "write_zeroes";
	default:			return "other";
	}
}

/* --- verdicts ---------------------------------------------------------
 * The start sector of the bio, relative to the original (the partition
 * for a partition), is in verdict->sector on entry.
 */

static __always_inline int interpose_pass(void)
{
	return BLK_INTERPOSE_PASS;
}

static __always_inline int
interpose_redirect(struct blk_interposer_verdict *v, __u32 target)
{
	v->target = target;
	return BLK_INTERPOSE_REDIRECT;
}

/* target: an index, or BLK_INTERPOSE_ORIGINAL */
static __always_inline int
interpose_remap(struct blk_interposer_verdict *v, __u32 target, __u64 sector)
{
	v->target = target;
	v->sector = sector;
	return BLK_INTERPOSE_REMAP;
}

/* error: an errno such as EIO, ENOSPC, ETIMEDOUT, EROFS (sign ignored) */
static __always_inline int
interpose_fail(struct blk_interposer_verdict *v, int error)
{
	v->error = error;
	return BLK_INTERPOSE_FAIL;
}

/* no I/O: reads see zeroes, writes are dropped */
static __always_inline int interpose_complete(void)
{
	return BLK_INTERPOSE_COMPLETE;
}

/*
 * INTERPOSE_OPS(name, ...) declares the struct_ops, registered under
 * "name" when loaded (bpftool struct_ops register, interposectl attach
 * --prog):
 *
 *	INTERPOSE_OPS(myfilter, .submit_bio = (void *)myfilter_submit);
 */
#define INTERPOSE_OPS(NAME, ...)					\
	SEC(".struct_ops.link") struct blk_interposer_ops NAME = {	\
		.name = #NAME,						\
		__VA_ARGS__						\
	}

#endif /* __INTERPOSE_BPF_H */
