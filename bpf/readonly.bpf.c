// SPDX-License-Identifier: GPL-2.0
/*
 * readonly: make a device read-only underneath whoever uses it.
 *
 * Writes, discards, secure erases, write-zeroes and flushes that carry
 * data (a write with REQ_PREFLUSH and a non-zero size) fail with EROFS;
 * the device's bytes stay as they are.  Reads and empty flushes (a
 * preflush with no data, which changes nothing) pass to the original.
 * The kernel counts the refused bios as "failed", the others as
 * "passed" (interposectl -j show DEV).
 *
 * Parameters: none.
 *
 *	interposectl attach /dev/sdX --prog build/bpf/readonly.bpf.o
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/submit_bio")
int BPF_PROG(readonly_submit, struct bio *bio,
	     struct blk_interposer_verdict *v)
{
	if (!bio_is_write(bio))
		return interpose_pass();
	if (!bio_bytes(bio) && bio_has_flag(bio, REQ_PREFLUSH))
		return interpose_pass();
	return interpose_fail(v, EROFS);
}

INTERPOSE_OPS(readonly,
	.submit_bio = (void *)readonly_submit,
);
