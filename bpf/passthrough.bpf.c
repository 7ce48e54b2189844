// SPDX-License-Identifier: GPL-2.0
/*
 * passthrough: every bio goes on to the original device, untouched.
 *
 * The overhead baseline: the cost of calling a BPF program per bio and
 * nothing else.  No end_bio callback, so no completion is taken over.
 * The kernel's own counters (interposectl -j show DEV) count what it saw
 * and passed.
 *
 * Parameters: none.
 *
 *	interposectl attach /dev/sdX --prog build/bpf/passthrough.bpf.o
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/submit_bio")
int BPF_PROG(passthrough_submit, struct bio *bio,
	     struct blk_interposer_verdict *v)
{
	return interpose_pass();
}

INTERPOSE_OPS(passthrough,
	.submit_bio = (void *)passthrough_submit,
);
