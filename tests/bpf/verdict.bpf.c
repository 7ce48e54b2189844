// SPDX-License-Identifier: GPL-2.0
/*
 * verdict: one program for every verdict the VM tests check, chosen with
 * --set mode=N before load.
 *
 *   mode 0  pass everything
 *   mode 1  redirect by op: reads to read_target, writes to write_target
 *   mode 2  redirect by range: sectors below split to target 0, the rest
 *           to target 1
 *   mode 3  remap: sector + offset on remap_target (an index, or
 *           0xffffffff for the original itself)
 *   mode 4  fail writes with errno "error"; reads pass
 *   mode 5  complete without I/O
 *   mode 6  redirect everything to target "bad_target" (may not exist)
 *
 * end_bio counts completions and their errors, so tests can compare them
 * with what they issued.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 mode;
const volatile __u32 read_target;
const volatile __u32 write_target = 1;
const volatile __u64 split;
const volatile __u32 remap_target = BLK_INTERPOSE_ORIGINAL;
const volatile __u64 offset;
const volatile __s32 error = EIO;
const volatile __u32 bad_target = 7;

__u64 submitted, completed, completed_errors, last_latency_ns;

SEC("struct_ops/submit_bio")
int BPF_PROG(verdict_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	__sync_fetch_and_add(&submitted, 1);
	switch (mode) {
	case 1:
		if (bio_is_read(bio))
			return interpose_redirect(v, read_target);
		return interpose_redirect(v, write_target);
	case 2:
		return interpose_redirect(v, v->sector < split ? 0 : 1);
	case 3:
		return interpose_remap(v, remap_target, v->sector + offset);
	case 4:
		if (bio_is_write(bio))
			return interpose_fail(v, error);
		return interpose_pass();
	case 5:
		return interpose_complete();
	case 6:
		return interpose_redirect(v, bad_target);
	default:
		return interpose_pass();
	}
}

SEC("struct_ops/end_bio")
void BPF_PROG(verdict_end, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	__sync_fetch_and_add(&completed, 1);
	if (c->error)
		__sync_fetch_and_add(&completed_errors, 1);
	last_latency_ns = c->latency_ns;
}

INTERPOSE_OPS(verdict,
	.submit_bio = (void *)verdict_submit,
	.end_bio = (void *)verdict_end,
);
