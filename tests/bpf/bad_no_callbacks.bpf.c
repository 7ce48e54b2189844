// SPDX-License-Identifier: GPL-2.0
/* Must be rejected: neither submit_bio nor end_bio, so nothing to do. */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/attach")
void BPF_PROG(bad_attach, struct block_device *orig)
{
}

INTERPOSE_OPS(bad_no_callbacks, .attach = (void *)bad_attach);
