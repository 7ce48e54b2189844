// SPDX-License-Identifier: GPL-2.0
/*
 * latency: biolatency for one device, in the kernel.  Passes every bio and
 * counts its latency (interposer entry to completion) in a log2 histogram
 * of microseconds, one per op class, in the per-CPU array "hist" (see
 * interpose/event.h).  No per-bio event reaches userspace, so nothing can
 * be lost.  `interposectl hist DEV [--interval S]` prints the histograms.
 *
 * No parameters.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

INTERPOSE_HIST_MAP_DEF();

SEC("struct_ops/submit_bio")
int BPF_PROG(latency_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	return interpose_pass();
}

SEC("struct_ops/end_bio")
void BPF_PROG(latency_end, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	interpose_hist_add(&hist, interpose_hist_op(bio), c->latency_ns);
}

INTERPOSE_OPS(latency,
	.submit_bio = (void *)latency_submit,
	.end_bio = (void *)latency_end,
);
