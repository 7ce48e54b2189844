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
#include "interpose/event.h"

/* Defines that BTF does not carry. */
#ifndef BLK_INTERPOSE_ORIGINAL
#define BLK_INTERPOSE_ORIGINAL	(~0U)	/* remap onto the original itself */
#endif
#ifndef BLK_INTERPOSE_NO_END
#define BLK_INTERPOSE_NO_END	(1U << 0)	/* verdict->flags: no end_bio */
#endif
#define INTERPOSE_SECTOR_SHIFT	9

/*
 * The kernel's REQ_OP_* values and __REQ_* flag bits through CO-RE: the
 * numbers of the kernel the program is loaded on, not of the vmlinux.h it
 * was built with (they moved between versions).  They are not constant
 * expressions: compare with them, do not switch on them.  Only the width
 * of the op field is fixed (8 bits since Linux 4.10).
 */
#define INTERPOSE_REQ_OP(NAME)	bpf_core_enum_value(enum req_op, REQ_OP_##NAME)
#define INTERPOSE_REQ_FLAG(NAME)					\
	(1U << bpf_core_enum_value(enum req_flag_bits, __REQ_##NAME))

#ifndef REQ_OP_BITS
#define REQ_OP_BITS		8
#define REQ_OP_MASK		((1U << REQ_OP_BITS) - 1)
#define REQ_FAILFAST_DEV	INTERPOSE_REQ_FLAG(FAILFAST_DEV)
#define REQ_SYNC		INTERPOSE_REQ_FLAG(SYNC)
#define REQ_META		INTERPOSE_REQ_FLAG(META)
#define REQ_PRIO		INTERPOSE_REQ_FLAG(PRIO)
#define REQ_NOMERGE		INTERPOSE_REQ_FLAG(NOMERGE)
#define REQ_IDLE		INTERPOSE_REQ_FLAG(IDLE)
#define REQ_FUA			INTERPOSE_REQ_FLAG(FUA)
#define REQ_PREFLUSH		INTERPOSE_REQ_FLAG(PREFLUSH)
#define REQ_RAHEAD		INTERPOSE_REQ_FLAG(RAHEAD)
#define REQ_BACKGROUND		INTERPOSE_REQ_FLAG(BACKGROUND)
#define REQ_NOWAIT		INTERPOSE_REQ_FLAG(NOWAIT)
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

/* The kernel's REQ_OP_* of @bio: compare with INTERPOSE_REQ_OP(NAME). */
static __always_inline __u32 bio_op(const struct bio *bio)
{
	return bio->bi_opf & REQ_OP_MASK;
}

/*
 * writes, discards, write-zeroes: every op that changes data is odd (also
 * an empty preflush write, which orders them: see bio_is_flush())
 */
static __always_inline bool bio_is_write(const struct bio *bio)
{
	return bio_op(bio) & 1;
}

static __always_inline bool bio_is_read(const struct bio *bio)
{
	return bio_op(bio) == INTERPOSE_REQ_OP(READ);
}

static __always_inline bool bio_has_flag(const struct bio *bio, __u32 flag)
{
	return bio->bi_opf & flag;
}

static __always_inline __u32 bio_bytes(const struct bio *bio)
{
	return bio->bi_iter.bi_size;
}

/*
 * A flush: REQ_OP_FLUSH, or what the kernel sends for one, a write
 * without data that carries REQ_PREFLUSH (fsync, a filesystem's journal
 * commit).  bio_is_write() is true for the second one: it orders writes.
 */
static __always_inline bool bio_is_flush(const struct bio *bio)
{
	__u32 op = bio_op(bio);

	return op == INTERPOSE_REQ_OP(FLUSH) ||
	       (op == INTERPOSE_REQ_OP(WRITE) && !bio->bi_iter.bi_size &&
		(bio->bi_opf & REQ_PREFLUSH));
}

/*
 * The op of @bio as an enum interpose_op (interpose/event.h), the same
 * numbers on every kernel: an empty preflush write is a flush.
 */
static __always_inline __u32 interpose_bio_op(const struct bio *bio)
{
	__u32 op = bio_op(bio);

	if (op == INTERPOSE_REQ_OP(READ))
		return INTERPOSE_OP_READ;
	if (bio_is_flush(bio))
		return INTERPOSE_OP_FLUSH;
	if (op == INTERPOSE_REQ_OP(WRITE))
		return INTERPOSE_OP_WRITE;
	if (op == INTERPOSE_REQ_OP(DISCARD))
		return INTERPOSE_OP_DISCARD;
	if (op == INTERPOSE_REQ_OP(SECURE_ERASE))
		return INTERPOSE_OP_SECURE_ERASE;
	if (op == INTERPOSE_REQ_OP(WRITE_ZEROES))
		return INTERPOSE_OP_WRITE_ZEROES;
	return INTERPOSE_OP_OTHER;
}

/* The REQ_* flags of @bio as INTERPOSE_F_* bits (interpose/event.h). */
static __always_inline __u32 interpose_bio_flags(const struct bio *bio)
{
	__u32 opf = bio->bi_opf, f = 0;

	if (opf & REQ_SYNC)
		f |= INTERPOSE_F_SYNC;
	if (opf & REQ_META)
		f |= INTERPOSE_F_META;
	if (opf & REQ_PRIO)
		f |= INTERPOSE_F_PRIO;
	if (opf & REQ_FUA)
		f |= INTERPOSE_F_FUA;
	if (opf & REQ_PREFLUSH)
		f |= INTERPOSE_F_PREFLUSH;
	if (opf & REQ_RAHEAD)
		f |= INTERPOSE_F_RAHEAD;
	if (opf & REQ_BACKGROUND)
		f |= INTERPOSE_F_BACKGROUND;
	if (opf & REQ_NOWAIT)
		f |= INTERPOSE_F_NOWAIT;
	if (opf & REQ_IDLE)
		f |= INTERPOSE_F_IDLE;
	if (opf & REQ_NOMERGE)
		f |= INTERPOSE_F_NOMERGE;
	return f;
}

static __always_inline __u64 bio_nr_sectors(const struct bio *bio)
{
	return bio->bi_iter.bi_size >> INTERPOSE_SECTOR_SHIFT;
}

/* BIO_REMAPPED of the kernel's (anonymous) enum of bio flags, since 5.12 */
#define INTERPOSE_BIO_REMAPPED	11

/*
 * The start sector of @bio relative to its device, where verdict->sector
 * is not at hand (end_bio): a partition's bios with data carry whole-disk
 * sectors once remapped (BIO_REMAPPED; the blk_interposer module sees them
 * before), empty ones (flushes) the sector they were given.
 */
static __always_inline __u64 bio_rel_sector(const struct bio *bio)
{
	if (!bio->bi_iter.bi_size ||
	    !(bio->bi_flags & (1U << INTERPOSE_BIO_REMAPPED)))
		return bio->bi_iter.bi_sector;
	return bio->bi_iter.bi_sector - bio->bi_bdev->bd_start_sect;
}

/*
 * The current task's cgroup v2 id, 0 on a kernel built without cgroups
 * (where the helper does not exist and the verifier would refuse it).
 */
static __always_inline __u64 interpose_current_cgroup(void)
{
	if (bpf_core_field_exists(struct task_struct, cgroups))
		return bpf_get_current_cgroup_id();
	return 0;
}

static __always_inline __u32 bio_dev(const struct bio *bio)
{
	return bio->bi_bdev->bd_dev;
}

/*
 * "read", "write", "flush" (also an empty preflush write), "discard",
 * "secure_erase", "write_zeroes" or "other"
 */
static __always_inline const char *bio_op_name(const struct bio *bio)
{
	switch (interpose_bio_op(bio)) {
	case INTERPOSE_OP_READ:		return "read";
	case INTERPOSE_OP_WRITE:	return "write";
	case INTERPOSE_OP_FLUSH:	return "flush";
	case INTERPOSE_OP_DISCARD:	return "discard";
	case INTERPOSE_OP_SECURE_ERASE:	return "secure_erase";
	case INTERPOSE_OP_WRITE_ZEROES:	return "write_zeroes";
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

/*
 * This program does not need to see the bio's completion (its end_bio
 * would do nothing with it): a policy or an observer may say so before
 * it returns, and if no other program wants the completion either, the
 * kernel leaves it alone, which saves most of what watching a bio costs.
 * A hint: end_bio may still be called, when another program wants it.
 */
static __always_inline void interpose_skip_end(struct blk_interposer_verdict *v)
{
	/* a kernel without the field takes over every completion */
	if (bpf_core_field_exists(v->flags))
		v->flags |= BLK_INTERPOSE_NO_END;
}

/* no I/O: reads see zeroes, writes are dropped */
static __always_inline int interpose_complete(void)
{
	return BLK_INTERPOSE_COMPLETE;
}


/* --- events and histograms ---------------------------------------------
 * The conventions of interpose/event.h: define the standard maps with
 * INTERPOSE_EVENTS_RINGBUF() or INTERPOSE_HIST_MAP_DEF() at file scope,
 * then use interpose_emit() / interpose_hist_add().
 */

/* the "events" ring buffer of SIZE bytes (a power of 2 pages) and its
 * "events_lost" counter */
#define INTERPOSE_EVENTS_RINGBUF(SIZE)					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_RINGBUF);			\
		__uint(max_entries, SIZE);				\
	} events SEC(".maps");						\
	__u64 events_lost

/* the "hist" per-CPU array of struct interpose_hist, one per op class */
#define INTERPOSE_HIST_MAP_DEF()					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);		\
		__uint(max_entries, INTERPOSE_HIST_NR_OPS);		\
		__type(key, __u32);					\
		__type(value, struct interpose_hist);			\
	} hist SEC(".maps")

/* the histogram row of a bio's op: an empty preflush write is a flush */
static __always_inline __u32 interpose_hist_op(const struct bio *bio)
{
	switch (interpose_bio_op(bio)) {
	case INTERPOSE_OP_READ:		return INTERPOSE_HIST_READ;
	case INTERPOSE_OP_WRITE:	return INTERPOSE_HIST_WRITE;
	case INTERPOSE_OP_FLUSH:	return INTERPOSE_HIST_FLUSH;
	case INTERPOSE_OP_DISCARD:
	case INTERPOSE_OP_SECURE_ERASE:
	case INTERPOSE_OP_WRITE_ZEROES:	return INTERPOSE_HIST_DISCARD;
	default:			return INTERPOSE_HIST_OTHER;
	}
}

/* floor(log2(v)) for v > 0, 0 for 0 */
static __always_inline __u32 interpose_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { r += 1; }
	return r;
}

/* the histogram slot of a latency */
static __always_inline __u32 interpose_hist_slot(__u64 latency_ns)
{
	__u32 slot = interpose_log2(latency_ns / 1000);

	return slot < INTERPOSE_HIST_SLOTS ? slot : INTERPOSE_HIST_SLOTS - 1;
}

/*
 * Count one latency in row @op of @map (declared with
 * INTERPOSE_HIST_MAP_DEF(): pass &hist).  Per-CPU: no atomics needed.
 */
static __always_inline void interpose_hist_add(void *map, __u32 op,
					       __u64 latency_ns)
{
	struct interpose_hist *h = bpf_map_lookup_elem(map, &op);
	__u32 slot = interpose_hist_slot(latency_ns);

	if (!h)
		return;
	if (slot < INTERPOSE_HIST_SLOTS)
		h->slots[slot]++;
	h->count++;
	h->sum_ns += latency_ns;
}

/*
 * Fill an event record from @bio; @sector is the sector relative to the
 * original (verdict->sector in submit_bio).  pid and comm are those of the
 * current task, meaningful only in submit_bio.
 */
static __always_inline void
interpose_event_fill(struct interpose_event *e, const struct bio *bio,
		     __u64 sector, __u16 kind)
{
	__u64 id;

	e->ts_ns = bpf_ktime_get_ns();
	e->latency_ns = 0;
	e->sector = sector;
	e->bytes = bio->bi_iter.bi_size;
	e->dev = bio->bi_bdev->bd_dev;
	e->opf = bio->bi_opf;
	e->op = interpose_bio_op(bio);
	e->flags = interpose_bio_flags(bio) | INTERPOSE_F_CLASSIFIED;
	e->reserved[0] = e->reserved[1] = e->reserved[2] = 0;
	id = bpf_get_current_pid_tgid();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->reserved2 = 0;
	e->cgroup = interpose_current_cgroup();
	e->error = 0;
	e->kind = kind;
	e->action = 0;
	e->target = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/*
 * Copy @e into the "events" ring buffer (INTERPOSE_EVENTS_RINGBUF()),
 * counting it in events_lost when the buffer is full.
 */
#define interpose_emit(e)						\
	({								\
		long __err = bpf_ringbuf_output(&events, (e),		\
						sizeof(*(e)), 0);	\
		if (__err)						\
			__sync_fetch_and_add(&events_lost, 1);		\
		__err;							\
	})

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

/*
 * INTERPOSE_OPS_AS(var, "name", ...): the same for a name that cannot be
 * a C identifier ("switch"), with the struct_ops variable called var.
 */
#define INTERPOSE_OPS_AS(VAR, NAME, ...)				\
	SEC(".struct_ops.link") struct blk_interposer_ops VAR = {	\
		.name = NAME,						\
		__VA_ARGS__						\
	}

#endif /* __INTERPOSE_BPF_H */
