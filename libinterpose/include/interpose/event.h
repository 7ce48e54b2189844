/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * interpose/event.h: the records that interposer programs and the tools
 * exchange, shared by the BPF side (interpose.bpf.h) and userspace
 * (libinterpose.h).  Fields are only ever appended.
 *
 * Conventions that interposectl and libinterpose rely on:
 * - a program that streams per-bio events defines a BPF_MAP_TYPE_RINGBUF
 *   map named "events" carrying struct interpose_event records, and a
 *   global "__u64 events_lost" counting the records it could not reserve
 *   (interpose_emit() in interpose.bpf.h does both): `interposectl trace`;
 * - a program that keeps latency histograms defines a
 *   BPF_MAP_TYPE_PERCPU_ARRAY named "hist" of INTERPOSE_HIST_NR_OPS
 *   struct interpose_hist values indexed by enum interpose_hist_op:
 *   `interposectl hist`.
 */
#ifndef __INTERPOSE_EVENT_H
#define __INTERPOSE_EVENT_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define INTERPOSE_EVENTS_MAP	"events"
#define INTERPOSE_EVENTS_LOST	"events_lost"
#define INTERPOSE_HIST_MAP	"hist"
#define INTERPOSE_COMM_LEN	16

enum interpose_event_kind {
	INTERPOSE_EV_COMPLETE = 1,	/* a bio completed (trace) */
	INTERPOSE_EV_SUBMIT = 2,	/* a bio was submitted (writelog, ...) */
};

/*
 * What a bio does, in numbers of this project's own that stay the same
 * on every kernel (the kernel's REQ_OP_* values are not ABI).
 * interpose.bpf.h's interpose_bio_op() classifies a bio.
 */
enum interpose_op {
	INTERPOSE_OP_READ = 0,
	INTERPOSE_OP_WRITE = 1,
	INTERPOSE_OP_FLUSH = 2,		/* REQ_OP_FLUSH, or an empty REQ_PREFLUSH write */
	INTERPOSE_OP_DISCARD = 3,
	INTERPOSE_OP_SECURE_ERASE = 4,
	INTERPOSE_OP_WRITE_ZEROES = 5,
	INTERPOSE_OP_OTHER = 6,		/* zone and driver ops, and any newer op */
	INTERPOSE_OP_NR = 7,
};

/*
 * The REQ_* flags of a bio, as stable bits of this project
 * (interpose_bio_flags() of interpose.bpf.h); the kernel's __REQ_* bit
 * numbers change between versions.
 */
#define INTERPOSE_F_SYNC	(1U << 0)	/* REQ_SYNC */
#define INTERPOSE_F_META	(1U << 1)	/* REQ_META */
#define INTERPOSE_F_PRIO	(1U << 2)	/* REQ_PRIO */
#define INTERPOSE_F_FUA		(1U << 3)	/* REQ_FUA */
#define INTERPOSE_F_PREFLUSH	(1U << 4)	/* REQ_PREFLUSH */
#define INTERPOSE_F_RAHEAD	(1U << 5)	/* REQ_RAHEAD */
#define INTERPOSE_F_BACKGROUND	(1U << 6)	/* REQ_BACKGROUND */
#define INTERPOSE_F_NOWAIT	(1U << 7)	/* REQ_NOWAIT */
#define INTERPOSE_F_IDLE	(1U << 8)	/* REQ_IDLE */
#define INTERPOSE_F_NOMERGE	(1U << 9)	/* REQ_NOMERGE */
/*
 * In interpose_event.flags: op and flags were filled in (by a program
 * built with interpose.bpf.h since 0.9).  Without it only opf is known.
 */
#define INTERPOSE_F_CLASSIFIED	(1U << 31)

/* A bio seen by a program. */
struct interpose_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() at submission */
	__u64 latency_ns;	/* submission to completion, 0 if not complete */
	__u64 sector;		/* start sector relative to the original */
	__u32 bytes;		/* size of the bio */
	__u32 dev;		/* original's device number, kernel encoding */
	__u32 opf;		/* bi_opf as the kernel has it: REQ_OP_* in the
				 * low 8 bits, __REQ_* flags (kernel-specific) */
	__u32 pid;		/* submitter's thread group id */
	__s32 error;		/* 0 or the negative errno it completed with */
	__u16 kind;		/* enum interpose_event_kind */
	__u8 action;		/* enum blk_interposer_action of the verdict */
	__u8 target;		/* the target index for redirect/remap */
	char comm[INTERPOSE_COMM_LEN];	/* submitter's command */
	__u32 flags;		/* INTERPOSE_F_* (since 0.9) */
	__u8 op;		/* enum interpose_op, with INTERPOSE_F_CLASSIFIED */
	__u8 reserved[3];
	__u32 tid;		/* submitter's thread id (since 0.10) */
	__u32 reserved2;
	__u64 cgroup;		/* submitter's cgroup v2 id (since 0.10) */
};

/*
 * What a filter expression sees (interpose_filter__new(), `interposectl
 * trace --filter`): a program with a filter hook fills one and calls
 * interpose_filter(), whose body the library replaces with the compiled
 * expression when it loads the program (bpf/trace.bpf.c).
 */
enum interpose_filter_phase {
	INTERPOSE_FILTER_SUBMIT = 0,	/* lat_us, error, verdict unknown */
	INTERPOSE_FILTER_COMPLETE = 1,	/* every field known */
	INTERPOSE_FILTER_UNKNOWN = 2,	/* completion without a record of the
					 * submission: never matches */
};

struct interpose_filter_ctx {
	__u64 sector;		/* start sector relative to the original */
	__u64 cgroup;		/* the submitter's cgroup v2 id */
	__u64 lat_us;		/* interposer entry to completion */
	__u32 bytes;
	__u32 flags;		/* INTERPOSE_F_* */
	__u32 pid;		/* the submitter's thread group id */
	__u32 tid;		/* and thread id */
	__u32 error;		/* 0 or the positive errno it completed with */
	__u8 op;		/* enum interpose_op */
	__u8 verdict;		/* the verdict's enum blk_interposer_action */
	__u8 phase;		/* enum interpose_filter_phase */
	__u8 reserved;
	char comm[INTERPOSE_COMM_LEN];	/* the submitter's command */
};

/*
 * The fields of struct interpose_filter_ctx that an expression reads at
 * submission (since 0.11).  When the library puts a filter into a program
 * that has a global variable
 *
 *	const volatile __u32 interpose_filter_fields = INTERPOSE_FILTER_ALL;
 *
 * it sets it to the bits of the fields the expression compares, so that
 * the program fills only those before it calls interpose_filter() and
 * spends nothing on the others for the bios the filter drops.  The
 * verifier sees the value as a constant: the tests of it cost nothing.
 */
enum interpose_filter_field {
	INTERPOSE_FILTER_SECTOR = 1U << 0,
	INTERPOSE_FILTER_BYTES = 1U << 1,
	INTERPOSE_FILTER_OP = 1U << 2,
	INTERPOSE_FILTER_FLAGS = 1U << 3,
	INTERPOSE_FILTER_PID = 1U << 4,
	INTERPOSE_FILTER_TID = 1U << 5,
	INTERPOSE_FILTER_CGROUP = 1U << 6,
	INTERPOSE_FILTER_COMM = 1U << 7,
	INTERPOSE_FILTER_ALL = (1U << 8) - 1,
};

/* Histogram rows: one per op class. */
enum interpose_hist_op {
	INTERPOSE_HIST_READ = 0,
	INTERPOSE_HIST_WRITE = 1,
	INTERPOSE_HIST_FLUSH = 2,	/* REQ_OP_FLUSH, an empty preflush write */
	INTERPOSE_HIST_DISCARD = 3,	/* discards, write zeroes */
	INTERPOSE_HIST_OTHER = 4,
	INTERPOSE_HIST_NR_OPS = 5,
};

/*
 * Slot i counts latencies in [2^i, 2^(i+1)) microseconds (slot 0 also
 * those under one microsecond); the last slot has everything above.
 */
#define INTERPOSE_HIST_SLOTS	32

struct interpose_hist {
	__u64 slots[INTERPOSE_HIST_SLOTS];
	__u64 count;		/* sum of the slots */
	__u64 sum_ns;		/* sum of the latencies */
};

/*
 * Keyed histograms (the ready program keyhist, `interposectl hist --by`):
 * a BPF_MAP_TYPE_PERCPU_HASH named "khist" from struct interpose_hist_key
 * to struct interpose_hist.  The key has the fields of the program's
 * "by" (enum interpose_hist_by); the others are zero.
 */
#define INTERPOSE_KHIST_MAP	"khist"

enum interpose_hist_by {
	INTERPOSE_BY_OP = 0,		/* op: enum interpose_hist_op */
	INTERPOSE_BY_COMM = 1,		/* the submitter's command */
	INTERPOSE_BY_PID = 2,		/* the submitter's thread group id */
	INTERPOSE_BY_CGROUP = 3,	/* the submitter's cgroup v2 id */
};

struct interpose_hist_key {
	__u64 cgroup;
	__u32 pid;
	__u32 op;
	char comm[INTERPOSE_COMM_LEN];
};

#endif /* __INTERPOSE_EVENT_H */
