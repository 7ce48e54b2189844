// SPDX-License-Identifier: GPL-2.0
/*
 * attach_order: counts the bios submit_bio sees before attach() told the
 * program about the device (early), and after (late).  The kernel calls
 * attach() before the interposer is published, so early stays 0 however
 * busy the device is while the program is attached.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

__u32 attached_dev;
__u64 early, late;

SEC("struct_ops/submit_bio")
int BPF_PROG(order_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	if (attached_dev != bio->bi_bdev->bd_dev)
		__sync_fetch_and_add(&early, 1);
	else
		__sync_fetch_and_add(&late, 1);
	return interpose_pass();
}

SEC("struct_ops/attach")
void BPF_PROG(order_attach, struct block_device *orig)
{
	attached_dev = orig->bd_dev;
}

INTERPOSE_OPS(attach_order, .submit_bio = (void *)order_submit,
	      .attach = (void *)order_attach);
