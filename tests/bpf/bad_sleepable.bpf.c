// SPDX-License-Identifier: GPL-2.0
/* Must be rejected: a sleepable submit callback. */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops.s/submit_bio")
int BPF_PROG(bad_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	return interpose_pass();
}

INTERPOSE_OPS(bad_sleepable, .submit_bio = (void *)bad_submit);
