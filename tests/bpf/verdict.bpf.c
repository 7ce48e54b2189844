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
 *   mode 7  sectors below split to target 0, the rest pass
 *
 * end_bio counts completions and their errors, so tests can compare them
 * with what they issued, and counts in end_as_submitted the bios it sees
 * with the device, sector and size that submit_bio saw.  With
 * skip_end_reads, submit_bio declines the completion of every read
 * (interpose_skip_end()), counted in submitted_reads; end_bio counts the
 * reads it is shown anyway in completed_reads.
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
const volatile __u32 skip_end_reads;

__u64 submitted, completed, completed_errors, last_latency_ns;
__u64 end_as_submitted;
__u64 submitted_reads, completed_reads;

/* what submit_bio saw of a bio, to compare at its completion */
struct seen {
	__u64 bdev;
	__u64 sector;
	__u32 size;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct seen);
} inflight SEC(".maps");

SEC("struct_ops/submit_bio")
int BPF_PROG(verdict_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	struct seen seen = {
		.bdev = (__u64)bio->bi_bdev,
		.sector = bio->bi_iter.bi_sector,
		.size = bio->bi_iter.bi_size,
	};
	__u64 key = (__u64)bio;

	__sync_fetch_and_add(&submitted, 1);
	if (bio_is_read(bio)) {
		__sync_fetch_and_add(&submitted_reads, 1);
		if (skip_end_reads)
			interpose_skip_end(v);
	}
	if (!skip_end_reads || !bio_is_read(bio))
		bpf_map_update_elem(&inflight, &key, &seen, BPF_ANY);
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
	case 7:
		if (v->sector < split)
			return interpose_redirect(v, 0);
		return interpose_pass();
	default:
		return interpose_pass();
	}
}

SEC("struct_ops/end_bio")
void BPF_PROG(verdict_end, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	__u64 key = (__u64)bio;
	struct seen *seen = bpf_map_lookup_elem(&inflight, &key);

	if (seen) {
		if (seen->bdev == (__u64)bio->bi_bdev &&
		    seen->sector == bio->bi_iter.bi_sector &&
		    seen->size == bio->bi_iter.bi_size)
			__sync_fetch_and_add(&end_as_submitted, 1);
		bpf_map_delete_elem(&inflight, &key);
	}
	__sync_fetch_and_add(&completed, 1);
	if (bio_is_read(bio))
		__sync_fetch_and_add(&completed_reads, 1);
	if (c->error)
		__sync_fetch_and_add(&completed_errors, 1);
	last_latency_ns = c->latency_ns;
}

INTERPOSE_OPS(verdict,
	.submit_bio = (void *)verdict_submit,
	.end_bio = (void *)verdict_end,
);
