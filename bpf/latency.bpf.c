// SPDX-License-Identifier: GPL-2.0
/*
 * latency: biolatency for one device, in the kernel.  Passes every bio and
 * counts its latency (interposer entry to completion) in a log2 histogram
 * of microseconds, one per op class, in the per-CPU array "hist" (see
 * interpose/event.h).  No per-bio event reaches userspace, so nothing can
 * be lost.  `interposectl hist DEV [--interval S]` prints the histograms.
 *
 * Only an end_bio callback: without submit_bio every bio passes without a
 * call into the program, so a bio costs one program run, at its completion.
 *
 * No parameters.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

INTERPOSE_HIST_MAP_DEF();

SEC("struct_ops/end_bio")
void BPF_PROG(latency_end, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	interpose_hist_add(&hist, interpose_hist_op(bio), c->latency_ns);
}

INTERPOSE_OPS(latency,
	.end_bio = (void *)latency_end,
);
