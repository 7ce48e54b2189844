// SPDX-License-Identifier: GPL-2.0
/* Must be rejected by the verifier: writes to the completion record. */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/submit_bio")
int BPF_PROG(ok_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	return interpose_pass();
}

SEC("struct_ops/end_bio")
void BPF_PROG(bad_end, struct bio *bio, struct blk_interposer_completion *c)
{
	c->error = 0;
}

INTERPOSE_OPS(bad_write_completion,
	.submit_bio = (void *)ok_submit,
	.end_bio = (void *)bad_end,
);
