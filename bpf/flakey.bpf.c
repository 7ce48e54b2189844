// SPDX-License-Identifier: GPL-2.0
/*
 * flakey: dm-flakey's behaviours on a live device.
 *
 * Time runs from the attach: the device is reliable for up_interval
 * seconds, then unreliable for down_interval seconds, and so on.  With
 * down_interval 0 it is never unreliable; with up_interval 0 always.
 * While it is unreliable ("down"), the bios that match the filter below
 *
 *   - reads fail with EIO if fail_reads is set;
 *   - writes (writes, discards, write-zeroes, flushes) are dropped if
 *     drop_writes is set: they complete successfully without any I/O, the
 *     device's bytes stay unchanged; otherwise they fail with EIO if
 *     fail_writes is set.
 *
 * The defaults fail every read and write while down, as dm-flakey does
 * without features; dm-flakey's drop_writes, error_writes and error_reads
 * features are drop_writes=1 fail_reads=0, fail_reads=0 and fail_writes=0.
 * Everything else passes to the original.
 *
 * Filter: with probability below 100, each matching bio is hit with that
 * chance (percent, bpf_get_prandom_u32()).  With req_flags non-zero, only
 * bios that have any of those flags set are hit (all of them with
 * req_flags_all=1).  The flags are the INTERPOSE_F_* bits of
 * interpose/event.h, the same on every kernel: sync 0x1, meta 0x2,
 * prio 0x4, fua 0x8, preflush 0x10, rahead 0x20, background 0x40,
 * nowait 0x80, idle 0x100, nomerge 0x200.
 *
 * Parameters (--set VAR=VALUE):
 *   up_interval    seconds up, from the attach (default 0)
 *   down_interval  seconds down after each up interval (default 0)
 *   fail_reads     1: fail reads while down (default 1)
 *   fail_writes    1: fail writes while down (default 1)
 *   drop_writes    1: drop writes while down, instead (default 0)
 *   probability    percent of matching bios hit while down (default 100)
 *   req_flags      only bios with these INTERPOSE_F_* flags (default 0: all)
 *   req_flags_all  1: all of req_flags must be set, 0: any (default 0)
 *
 * Globals (interposectl var DEV NAME):
 *   start_ns       bpf_ktime_get_ns() at attach (or at the first bio)
 *   down_bios      bios that arrived while down
 *   failed_reads, failed_writes, dropped_writes   what it did to them
 *
 *	interposectl attach /dev/sdX --prog build/bpf/flakey.bpf.o \
 *		--set up_interval=10 --set down_interval=2 --set fail_reads=0
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define NSEC_PER_SEC	1000000000ULL

const volatile __u32 up_interval;
const volatile __u32 down_interval;
const volatile __u32 fail_reads = 1;
const volatile __u32 fail_writes = 1;
const volatile __u32 drop_writes;
const volatile __u32 probability = 100;
const volatile __u32 req_flags;
const volatile __u32 req_flags_all;

__u64 start_ns;
__u64 down_bios, failed_reads, failed_writes, dropped_writes;

static __always_inline bool flakey_down(void)
{
	__u64 now = bpf_ktime_get_ns(), cycle, pos;

	if (!down_interval)
		return false;
	if (!start_ns)
		start_ns = now;		/* a bio before the attach callback */
	cycle = ((__u64)up_interval + down_interval) * NSEC_PER_SEC;
	pos = (now - start_ns) % cycle;
	return pos >= (__u64)up_interval * NSEC_PER_SEC;
}

static __always_inline bool flakey_match(const struct bio *bio)
{
	__u32 f;

	if (req_flags) {
		f = interpose_bio_flags(bio);
		if (req_flags_all ? (f & req_flags) != req_flags :
				    !(f & req_flags))
			return false;
	}
	if (probability < 100 && bpf_get_prandom_u32() % 100 >= probability)
		return false;
	return true;
}

SEC("struct_ops/submit_bio")
int BPF_PROG(flakey_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	bool write = bio_is_write(bio);

	if (!flakey_down())
		return interpose_pass();
	__sync_fetch_and_add(&down_bios, 1);
	if (!(write ? drop_writes || fail_writes : fail_reads))
		return interpose_pass();
	if (!flakey_match(bio))
		return interpose_pass();
	if (!write) {
		__sync_fetch_and_add(&failed_reads, 1);
		return interpose_fail(v, EIO);
	}
	if (drop_writes) {
		__sync_fetch_and_add(&dropped_writes, 1);
		return interpose_complete();
	}
	__sync_fetch_and_add(&failed_writes, 1);
	return interpose_fail(v, EIO);
}

SEC("struct_ops/attach")
void BPF_PROG(flakey_attach, struct block_device *orig)
{
	start_ns = bpf_ktime_get_ns();
}

INTERPOSE_OPS(flakey,
	.submit_bio = (void *)flakey_submit,
	.attach = (void *)flakey_attach,
);
