// SPDX-License-Identifier: GPL-2.0
/*
 * linear: map the original onto target 0 starting at a sector offset,
 * like dm-linear: sector S of the original is sector S + offset of
 * target 0.
 *
 * The kernel checks that each remapped bio fits on the target: one that
 * would reach past its end fails with EIO (counted as "invalid"), it is
 * never truncated.  No end_bio callback, so no completion is taken over.
 *
 * Parameters (--set VAR=VALUE):
 *   offset   start on target 0, in 512-byte sectors (default 0)
 *
 *	interposectl attach /dev/sdX --prog build/bpf/linear.bpf.o \
 *		--to /dev/sdY --set offset=2048
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 offset;

SEC("struct_ops/submit_bio")
int BPF_PROG(linear_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	return interpose_remap(v, 0, v->sector + offset);
}

INTERPOSE_OPS(linear,
	.submit_bio = (void *)linear_submit,
);
