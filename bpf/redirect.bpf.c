// SPDX-License-Identifier: GPL-2.0
/*
 * redirect: send bios to the targets, at the same sector, by op and by
 * sector range.
 *
 * With no parameters every bio goes to target 0 (what an interposer
 * without a program does).  With parameters:
 *
 *   - by op: reads go to read_target, every other bio (writes, discards,
 *     write-zeroes, flushes) to write_target;
 *   - by range: with split non-zero, bios that start at or above sector
 *     split go to high_target, whatever their op; those below follow the
 *     op rule.
 *
 * The program cannot split a bio.  A bio that starts below split and ends
 * above it fails with EIO and is counted in "crossed", so that no data
 * lands on the wrong side of the split; pick a split that your I/O does
 * not cross (a multiple of the largest I/O size, e.g. of 1 MiB for
 * aligned 1 MiB I/O).  An empty flush starts at sector 0, so it goes to
 * write_target only: flush the other targets yourself if they need it.
 * A target index that is not attached fails the bio with EIO, counted as
 * "invalid" by the kernel.
 *
 * Parameters (--set VAR=VALUE):
 *   read_target   target index of reads (default 0)
 *   write_target  target index of all other bios (default 0)
 *   split         first sector (512 bytes) of the high range; 0 = no range
 *                 rule (default 0)
 *   high_target   target index of bios at or above split (default 1)
 *
 * Globals (interposectl var DEV NAME):
 *   crossed       bios failed because they cross split
 *
 *	interposectl attach /dev/sdX --prog build/bpf/redirect.bpf.o \
 *		--to /dev/sdY --to /dev/sdZ --set read_target=0 --set write_target=1
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 read_target;
const volatile __u32 write_target;
const volatile __u64 split;
const volatile __u32 high_target = 1;

__u64 crossed;

SEC("struct_ops/submit_bio")
int BPF_PROG(redirect_submit, struct bio *bio,
	     struct blk_interposer_verdict *v)
{
	if (split) {
		if (v->sector >= split)
			return interpose_redirect(v, high_target);
		if (v->sector + bio_nr_sectors(bio) > split) {
			__sync_fetch_and_add(&crossed, 1);
			return interpose_fail(v, EIO);
		}
	}
	if (bio_is_read(bio))
		return interpose_redirect(v, read_target);
	return interpose_redirect(v, write_target);
}

INTERPOSE_OPS(redirect,
	.submit_bio = (void *)redirect_submit,
);
