// SPDX-License-Identifier: GPL-2.0
/*
 * Must be rejected: a program of another struct_ops type (bpf_dummy_ops)
 * calling the interposer's kfuncs.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/test_1")
int BPF_PROG(other_test_1, struct bpf_dummy_ops_state *state)
{
	return bpf_blk_interposer_nr_targets((struct bio *)state);
}

SEC(".struct_ops.link")
struct bpf_dummy_ops other_ops = {
	.test_1 = (void *)other_test_1,
};
