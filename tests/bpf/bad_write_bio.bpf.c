// SPDX-License-Identifier: GPL-2.0
/* Must be rejected by the verifier: writes to the bio. */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/submit_bio")
int BPF_PROG(bad_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	bio->bi_iter.bi_sector = 0;
	return interpose_pass();
}

INTERPOSE_OPS(bad_write_bio, .submit_bio = (void *)bad_submit);
