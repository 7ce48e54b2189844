// SPDX-License-Identifier: GPL-2.0
/*
 * byop: reads to target 0, writes to target 1, everything else passes;
 * no completion callback (the fast path).  Registered
 * with bpftool struct_ops register in the tests.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/submit_bio")
int BPF_PROG(byop_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	if (bio_is_read(bio))
		return interpose_redirect(v, 0);
	if (interpose_bio_op(bio) == INTERPOSE_OP_WRITE)
		return interpose_redirect(v, 1);
	return interpose_pass();
}

INTERPOSE_OPS(byop, .submit_bio = (void *)byop_submit);
