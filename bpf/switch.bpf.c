// SPDX-License-Identifier: GPL-2.0
/*
 * switch: dm-switch's region map on a live device.
 *
 * The original is cut into regions of region_sectors sectors; the array
 * map "regions" (key __u32 region index, value __u32 target index) says
 * which target each region's bios go to, at the same sector (the targets
 * are paths to the same data, or copies of it).  All regions start on
 * target 0.  interposectl pins the map at
 * /sys/fs/bpf/interpose/DEV/maps/regions; change it at run time with
 * bpftool (host byte order, little-endian on x86):
 *
 *   M=/sys/fs/bpf/interpose/sdX/maps/regions
 *   bpftool map update pinned $M key 3 0 0 0 value 1 0 0 0   # region 3 -> 1
 *   bpftool map dump pinned $M
 *
 * dm-switch splits a bio that crosses a region boundary; a program cannot.
 * A bio whose regions all map to the same target goes there whole; one
 * whose regions map to different targets (or that spans more than
 * SWITCH_MAX_SPAN regions) fails with EIO and is counted in "refused", so
 * no byte ever lands on a target its region does not name.  Keep regions
 * a multiple of the I/O size to avoid this.  Bios beyond the map (region
 * index >= SWITCH_MAX_REGIONS) fail with EIO, counted in "unmapped".  An
 * empty flush goes to target flush_target only.  A target index in the
 * map that is not attached fails the bio with EIO, and the kernel counts
 * it as "invalid" (interposectl -j show DEV).
 *
 * The struct_ops variable is switch_ops ("switch" is a C keyword); it
 * registers under the name "switch".
 *
 * Parameters (--set VAR=VALUE):
 *   region_sectors  region size in 512-byte sectors (default 2048, 1 MiB)
 *   flush_target    target index of empty flushes (default 0)
 *
 * Globals (interposectl var DEV NAME):
 *   refused    bios failed because their regions map to different targets
 *   unmapped   bios failed because they lie beyond the map
 *
 *	interposectl attach /dev/sdX --prog build/bpf/switch.bpf.o \
 *		--to /dev/sdY --to /dev/sdZ --set region_sectors=8192
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SWITCH_MAX_REGIONS	65536
#define SWITCH_MAX_SPAN		64

const volatile __u64 region_sectors = 2048;
const volatile __u32 flush_target;

__u64 refused, unmapped;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SWITCH_MAX_REGIONS);
	__type(key, __u32);
	__type(value, __u32);
} regions SEC(".maps");

struct switch_span {
	__u32 first;
	__u32 last;
	__u32 target;
	bool mixed;
};

static long switch_check_one(__u64 i, struct switch_span *s)
{
	__u32 region = s->first + i, *target;

	if (region > s->last)
		return 1;
	target = bpf_map_lookup_elem(&regions, &region);
	if (!target || *target != s->target) {
		s->mixed = true;
		return 1;
	}
	return 0;
}

SEC("struct_ops/submit_bio")
int BPF_PROG(switch_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	__u64 size = region_sectors ?: 2048, first, last;
	struct switch_span s = {};
	__u32 region, *target;

	if (!bio_bytes(bio))
		return interpose_redirect(v, flush_target);
	first = v->sector / size;
	last = (v->sector + bio_nr_sectors(bio) - 1) / size;
	if (last >= SWITCH_MAX_REGIONS) {
		__sync_fetch_and_add(&unmapped, 1);
		return interpose_fail(v, EIO);
	}
	region = first;
	target = bpf_map_lookup_elem(&regions, &region);
	if (!target) {
		__sync_fetch_and_add(&unmapped, 1);
		return interpose_fail(v, EIO);
	}
	if (last != first) {
		s.first = first + 1;
		s.last = last;
		s.target = *target;
		if (last - first >= SWITCH_MAX_SPAN)
			s.mixed = true;
		else
			bpf_loop(last - first, switch_check_one, &s, 0);
		if (s.mixed) {
			__sync_fetch_and_add(&refused, 1);
			return interpose_fail(v, EIO);
		}
	}
	return interpose_redirect(v, *target);
}

INTERPOSE_OPS_AS(switch_ops, "switch",
	.submit_bio = (void *)switch_submit,
);
