// SPDX-License-Identifier: GPL-2.0
/*
 * trace: biosnoop for one device.  Passes every bio and, when it
 * completes, sends one struct interpose_event to the "events" ring buffer:
 * submission time, submitter's pid and command, op and flags, sector, size,
 * verdict, error and latency.  `interposectl trace DEV` prints them;
 * events the buffer had no room for are counted in events_lost.
 *
 * Parameters (interposectl attach DEV --prog trace.bpf.o --set VAR=VALUE):
 *   min_us    only bios that took at least this many microseconds (0: all)
 *   ops       bit mask of the ops to report, bit N for enum interpose_op N
 *             of interpose/event.h, the same on every kernel (1 read,
 *             2 write, 4 flush (also an empty preflush write), 8 discard,
 *             16 secure erase, 32 write zeroes, 64 other); 0: all
 *
 * A filter expression (`interposectl trace DEV --filter EXPR`) replaces
 * the body of interpose_filter() below when the program is loaded: it is
 * asked at submission, where a bio it cannot match is dropped before
 * anything is recorded and its completion is left alone (so is that of a
 * bio of an op not in the mask), and at completion, where a bio that does
 * not match writes nothing to the ring buffer.
 *
 * Counters (interposectl var DEV NAME): traced, events_lost.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 min_us;
const volatile __u32 ops;

INTERPOSE_EVENTS_RINGBUF(1 << 20);
__u64 traced;

/* who submitted a bio, from submit_bio to end_bio */
struct submitter {
	__u32 pid;
	__u32 tid;
	__u64 cgroup;
	char comm[INTERPOSE_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct submitter);
} submitters SEC(".maps");

/* what interpose_filter() returns without a filter: every bio matches */
const volatile int filter_none = 1;

/*
 * What the filter compares at submission (enum interpose_filter_field),
 * set by the library when it puts one in: only those fields are read
 * before it is asked, so a bio it drops costs no more than they do.
 */
const volatile __u32 interpose_filter_fields = INTERPOSE_FILTER_ALL;

/*
 * The filter hook: 1 if the bio @ctx describes is to be traced.  The
 * library puts a compiled expression in place of this body (global, so
 * that the verifier checks it on its own, and not inlined, so that it
 * stays a function of its own, appended after each program).
 */
__noinline int interpose_filter(const struct interpose_filter_ctx *ctx)
{
	return ctx ? filter_none : 0;
}

static __always_inline bool wanted(const struct bio *bio)
{
	return !ops || (ops & (1U << interpose_bio_op(bio)));
}

/* the fields of @bio in @which (a constant: the rest is compiled out) */
static __always_inline void filter_fill(struct interpose_filter_ctx *fc,
					const struct bio *bio, __u32 which)
{
	if (which & INTERPOSE_FILTER_SECTOR)
		fc->sector = bio_rel_sector(bio);
	if (which & INTERPOSE_FILTER_BYTES)
		fc->bytes = bio_bytes(bio);
	if (which & INTERPOSE_FILTER_OP)
		fc->op = interpose_bio_op(bio);
	if (which & INTERPOSE_FILTER_FLAGS)
		fc->flags = interpose_bio_flags(bio);
}

/*
 * What submitter_fill(@which) fills: one helper call gives both ids, so
 * asking for either fills the pid and the tid.
 */
static __always_inline __u32 submitter_filled(__u32 which)
{
	if (which & (INTERPOSE_FILTER_PID | INTERPOSE_FILTER_TID))
		which |= INTERPOSE_FILTER_PID | INTERPOSE_FILTER_TID;
	return which;
}

/* the fields of the submitting task in @which */
static __always_inline void submitter_fill(struct interpose_filter_ctx *fc,
					   __u32 which)
{
	__u64 id;

	if (which & (INTERPOSE_FILTER_PID | INTERPOSE_FILTER_TID)) {
		id = bpf_get_current_pid_tgid();
		fc->pid = id >> 32;
		fc->tid = (__u32)id;
	}
	if (which & INTERPOSE_FILTER_CGROUP)
		fc->cgroup = interpose_current_cgroup();
	if (which & INTERPOSE_FILTER_COMM)
		bpf_get_current_comm(fc->comm, sizeof(fc->comm));
}

SEC("struct_ops/submit_bio")
int BPF_PROG(trace_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	struct interpose_filter_ctx fc = {};
	__u64 key = (__u64)bio;
	struct submitter s;

	/* a bio no completion can make match is not watched further */
	if (!wanted(bio))
		goto skip;
	submitter_fill(&fc, interpose_filter_fields);
	filter_fill(&fc, bio, interpose_filter_fields);
	fc.phase = INTERPOSE_FILTER_SUBMIT;
	if (!interpose_filter(&fc))
		goto skip;
	/* what the filter did not need, for the record */
	submitter_fill(&fc, ~submitter_filled(interpose_filter_fields));
	s.pid = fc.pid;
	s.tid = fc.tid;
	s.cgroup = fc.cgroup;
	__builtin_memcpy(s.comm, fc.comm, sizeof(s.comm));
	bpf_map_update_elem(&submitters, &key, &s, BPF_ANY);
	return interpose_pass();
skip:
	interpose_skip_end(v);
	return interpose_pass();
}

SEC("struct_ops/end_bio")
void BPF_PROG(trace_end, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	struct interpose_filter_ctx fc = {};
	__u64 key = (__u64)bio;
	struct interpose_event e;
	struct submitter *s;

	if (!wanted(bio))
		return;
	s = bpf_map_lookup_elem(&submitters, &key);
	if (c->latency_ns < min_us * 1000)
		goto drop;
	filter_fill(&fc, bio, INTERPOSE_FILTER_ALL);
	fc.lat_us = c->latency_ns / 1000;
	fc.error = -c->error;
	fc.verdict = c->action;
	fc.phase = INTERPOSE_FILTER_UNKNOWN;
	if (s) {
		fc.pid = s->pid;
		fc.tid = s->tid;
		fc.cgroup = s->cgroup;
		__builtin_memcpy(fc.comm, s->comm, sizeof(fc.comm));
		fc.phase = INTERPOSE_FILTER_COMPLETE;
	}
	if (!interpose_filter(&fc))
		goto drop;
	interpose_event_fill(&e, bio, fc.sector, INTERPOSE_EV_COMPLETE);
	e.ts_ns = c->start_ns;
	e.latency_ns = c->latency_ns;
	e.error = c->error;
	e.action = c->action;
	e.pid = fc.pid;
	e.tid = fc.tid;
	e.cgroup = fc.cgroup;
	__builtin_memcpy(e.comm, fc.comm, sizeof(e.comm));
	if (s)
		bpf_map_delete_elem(&submitters, &key);
	__sync_fetch_and_add(&traced, 1);
	interpose_emit(&e);
	return;
drop:
	if (s)
		bpf_map_delete_elem(&submitters, &key);
}

INTERPOSE_OPS(trace,
	.submit_bio = (void *)trace_submit,
	.end_bio = (void *)trace_end,
);
