// SPDX-License-Identifier: GPL-2.0
/*
 * keyhist: latency histograms keyed by op, command, process or cgroup.
 * Passes every bio; at submission it notes who submitted it (the key of
 * its "by"), at completion it counts the latency (interposer entry to
 * completion) in that key's log2 histogram of microseconds, in the per-CPU
 * hash "khist" (interpose/event.h).  Nothing per bio reaches userspace.
 * `interposectl hist DEV --by comm|pid|cgroup|op` attaches it as an
 * observer of its own and prints one histogram per key.
 *
 * Parameters (--set VAR=VALUE):
 *   by        enum interpose_hist_by: 0 op, 1 comm, 2 pid, 3 cgroup
 *
 * Counters (interposectl var DEV NAME): overflow (bios not counted: more
 * keys than the map holds, or no room to note the submitter).
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 by;

__u64 overflow;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct interpose_hist_key);
	__type(value, struct interpose_hist);
} khist SEC(".maps");

/* the key of a bio in flight, noted at submission */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct interpose_hist_key);
} inflight SEC(".maps");

SEC("struct_ops/submit_bio")
int BPF_PROG(keyhist_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	struct interpose_hist_key k = {};
	__u64 key = (__u64)bio;

	switch (by) {
	case INTERPOSE_BY_COMM:
		bpf_get_current_comm(k.comm, sizeof(k.comm));
		break;
	case INTERPOSE_BY_PID:
		k.pid = bpf_get_current_pid_tgid() >> 32;
		break;
	case INTERPOSE_BY_CGROUP:
		k.cgroup = interpose_current_cgroup();
		break;
	default:
		return interpose_pass();
	}
	if (bpf_map_update_elem(&inflight, &key, &k, BPF_ANY))
		__sync_fetch_and_add(&overflow, 1);
	return interpose_pass();
}

SEC("struct_ops/end_bio")
void BPF_PROG(keyhist_end, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	struct interpose_hist_key k = {}, *noted;
	struct interpose_hist *h, zero = {};
	__u64 key = (__u64)bio;
	__u32 slot;

	if (by == INTERPOSE_BY_OP) {
		k.op = interpose_hist_op(bio);
	} else {
		noted = bpf_map_lookup_elem(&inflight, &key);
		if (!noted) {
			/* in flight before the attach */
			__sync_fetch_and_add(&overflow, 1);
			return;
		}
		k = *noted;
		bpf_map_delete_elem(&inflight, &key);
	}
	h = bpf_map_lookup_elem(&khist, &k);
	if (!h) {
		/* another CPU may have added it meanwhile: NOEXIST, then look */
		bpf_map_update_elem(&khist, &k, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&khist, &k);
		if (!h) {
			/* the map is full */
			__sync_fetch_and_add(&overflow, 1);
			return;
		}
	}
	slot = interpose_hist_slot(c->latency_ns);
	if (slot < INTERPOSE_HIST_SLOTS)
		h->slots[slot]++;
	h->count++;
	h->sum_ns += c->latency_ns;
}

INTERPOSE_OPS(keyhist,
	.submit_bio = (void *)keyhist_submit,
	.end_bio = (void *)keyhist_end,
);
