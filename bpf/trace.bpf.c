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
	char comm[INTERPOSE_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct submitter);
} submitters SEC(".maps");

static __always_inline bool wanted(const struct bio *bio)
{
	return !ops || (ops & (1U << interpose_bio_op(bio)));
}

SEC("struct_ops/submit_bio")
int BPF_PROG(trace_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	struct submitter s = {};
	__u64 key = (__u64)bio;

	if (!wanted(bio))
		return interpose_pass();
	s.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(s.comm, sizeof(s.comm));
	bpf_map_update_elem(&submitters, &key, &s, BPF_ANY);
	return interpose_pass();
}

SEC("struct_ops/end_bio")
void BPF_PROG(trace_end, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	__u64 key = (__u64)bio;
	struct submitter *s;
	struct interpose_event e;

	if (!wanted(bio))
		return;
	s = bpf_map_lookup_elem(&submitters, &key);
	if (c->latency_ns < min_us * 1000) {
		if (s)
			bpf_map_delete_elem(&submitters, &key);
		return;
	}
	interpose_event_fill(&e, bio, bio_rel_sector(bio), INTERPOSE_EV_COMPLETE);
	e.ts_ns = c->start_ns;
	e.latency_ns = c->latency_ns;
	e.error = c->error;
	e.action = c->action;
	e.pid = 0;
	__builtin_memset(e.comm, 0, sizeof(e.comm));
	if (s) {
		e.pid = s->pid;
		__builtin_memcpy(e.comm, s->comm, sizeof(e.comm));
		bpf_map_delete_elem(&submitters, &key);
	}
	__sync_fetch_and_add(&traced, 1);
	interpose_emit(&e);
}

INTERPOSE_OPS(trace,
	.submit_bio = (void *)trace_submit,
	.end_bio = (void *)trace_end,
);
