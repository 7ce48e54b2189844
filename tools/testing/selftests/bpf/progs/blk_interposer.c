// SPDX-License-Identifier: GPL-2.0
/*
 * A blk_interposer_ops policy for prog_tests/blk_interposer.c: each 4 KiB
 * range of the original's first 40 sectors gets one verdict.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

#define EROFS		30
#define REMAP_TO	64

__u64 submitted;
__u64 ended;
int end_error;

SEC("struct_ops/submit_bio")
int BPF_PROG(ip_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	__u64 sector = v->sector;

	submitted++;
	if (sector >= 8 && sector < 16) {
		v->target = 0;
		return BLK_INTERPOSE_REDIRECT;
	}
	if (sector >= 16 && sector < 24) {
		v->target = 0;
		v->sector = sector - 16 + REMAP_TO;
		return BLK_INTERPOSE_REMAP;
	}
	/* writes (odd operations) to [24, 32) are refused */
	if (sector >= 24 && sector < 32 && (bio->bi_opf & 1)) {
		v->error = EROFS;
		return BLK_INTERPOSE_FAIL;
	}
	if (sector >= 32 && sector < 40)
		return BLK_INTERPOSE_COMPLETE;
	return BLK_INTERPOSE_PASS;
}

SEC("struct_ops/end_bio")
void BPF_PROG(ip_end, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	ended++;
	if (c->error)
		end_error = c->error;
}

SEC(".struct_ops.link")
struct blk_interposer_ops selftest_ip = {
	.submit_bio	= (void *)ip_submit,
	.end_bio	= (void *)ip_end,
	.name		= "selftest_ip",
};
