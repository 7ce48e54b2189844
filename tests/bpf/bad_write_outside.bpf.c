// SPDX-License-Identifier: GPL-2.0
/* Must be rejected by the verifier: writes past the verdict's fields. */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/submit_bio")
int BPF_PROG(bad_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	__u64 *p = (__u64 *)&v->sector;

	p[1] = 1;
	return interpose_pass();
}

INTERPOSE_OPS(bad_write_outside, .submit_bio = (void *)bad_submit);
