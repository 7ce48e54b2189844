// SPDX-License-Identifier: GPL-2.0
/*
 * dust: dm-dust's bad blocks on a live device.
 *
 * The hash map "badblocks" lists bad blocks: key the block number
 * (__u64, in blocks of blksz bytes from the start of the original), value
 * a __u32 count of writes to fail before a write clears the block (0 for
 * dm-dust's default: the next write clears it).  interposectl pins it at
 * /sys/fs/bpf/interpose/DEV/maps/badblocks; edit it at run time with
 * bpftool (keys and values in host byte order, little-endian on x86):
 *
 *   M=/sys/fs/bpf/interpose/sdX/maps/badblocks
 *   bpftool map update pinned $M key 5 0 0 0 0 0 0 0 value 0 0 0 0   # add 5
 *   bpftool map delete pinned $M key 5 0 0 0 0 0 0 0                 # remove
 *   bpftool map dump pinned $M                                       # list
 *
 * A read touching a listed block fails with EIO; nothing is read.  A
 * write (or discard, write-zeroes) touching listed blocks with a non-zero
 * count fails with EIO, decrements those counts and removes nothing;
 * otherwise the write passes and every listed block it touches is removed
 * from the map, as dm-dust does ("write clears").  Bios touching no
 * listed block pass untouched.
 *
 * A bio of up to DUST_MAX_LOOKUP blocks is checked with one map lookup per
 * block; a larger one by a walk over the map's entries, so every bio is
 * checked whatever its size, at a cost bounded by the map size.
 *
 * Parameters (--set VAR=VALUE):
 *   blksz  block size in bytes, a multiple of 512 (default 512)
 *
 * Globals (interposectl var DEV NAME):
 *   read_errors    reads failed
 *   write_errors   writes failed (blocks with a non-zero count)
 *   cleared        blocks removed from the map by writes
 *
 *	interposectl attach /dev/sdX --prog build/bpf/dust.bpf.o --set blksz=4096
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define DUST_MAX_LOOKUP		64
#define DUST_MAX_BLOCKS		65536

const volatile __u32 blksz = 512;

__u64 read_errors, write_errors, cleared;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* memory only for listed blocks */
	__uint(max_entries, DUST_MAX_BLOCKS);
	__type(key, __u64);
	__type(value, __u32);
} badblocks SEC(".maps");

/* One bio's blocks [first, last], and what the walk over them found. */
struct dust_walk {
	__u64 first;
	__u64 last;
	bool write;
	bool clear;	/* second pass of a write: remove the listed blocks */
	bool found;	/* a listed block is in the range */
	bool fail;
};

/* One listed block in the bio's range.  Return: 1 to stop the walk. */
static __always_inline long dust_hit(__u64 *block, __u32 *count,
				     struct dust_walk *w)
{
	w->found = true;
	if (w->clear) {
		if (!bpf_map_delete_elem(&badblocks, block))
			__sync_fetch_and_add(&cleared, 1);
		return 0;
	}
	if (!w->write) {
		w->fail = true;
		return 1;
	}
	if (*count) {
		/* not atomic: a race can cost one more failure, not a wrap */
		*count -= 1;
		w->fail = true;
	}
	return 0;
}

static long dust_lookup_one(__u64 i, struct dust_walk *w)
{
	__u64 block = w->first + i;
	__u32 *count;

	if (block > w->last)
		return 1;
	count = bpf_map_lookup_elem(&badblocks, &block);
	return count ? dust_hit(&block, count, w) : 0;
}

static long dust_scan_one(struct bpf_map *map, __u64 *block, __u32 *count,
			  struct dust_walk *w)
{
	if (*block < w->first || *block > w->last)
		return 0;
	return dust_hit(block, count, w);
}

static __always_inline void dust_walk(struct dust_walk *w)
{
	__u64 n = w->last - w->first + 1;

	if (n <= DUST_MAX_LOOKUP)
		bpf_loop(n, dust_lookup_one, w, 0);
	else
		bpf_for_each_map_elem(&badblocks, dust_scan_one, w, 0);
}

SEC("struct_ops/submit_bio")
int BPF_PROG(dust_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	__u32 bytes = bio_bytes(bio), bs = blksz ?: 512;
	struct dust_walk w = {};

	if (!bytes)
		return interpose_pass();
	w.write = bio_is_write(bio);
	w.first = (v->sector << INTERPOSE_SECTOR_SHIFT) / bs;
	w.last = ((v->sector << INTERPOSE_SECTOR_SHIFT) + bytes - 1) / bs;
	dust_walk(&w);
	if (w.fail) {
		if (w.write)
			__sync_fetch_and_add(&write_errors, 1);
		else
			__sync_fetch_and_add(&read_errors, 1);
		return interpose_fail(v, EIO);
	}
	if (w.write && w.found) {
		w.clear = true;
		dust_walk(&w);
	}
	return interpose_pass();
}

INTERPOSE_OPS(dust,
	.submit_bio = (void *)dust_submit,
);
