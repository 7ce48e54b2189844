// SPDX-License-Identifier: GPL-2.0
/*
 * Must be rejected: an interposer kfunc called from end_bio.  The kfuncs
 * read the interposer of the bio's device, which only the submission
 * pins; at completion it may be another interposer, or one being freed.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

__u64 targets;

SEC("struct_ops/end_bio")
void BPF_PROG(kfunc_end_bio, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	targets += bpf_blk_interposer_nr_targets(bio);
}

INTERPOSE_OPS(bad_kfunc_end_bio, .end_bio = (void *)kfunc_end_bio);
