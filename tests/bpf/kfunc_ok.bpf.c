// SPDX-License-Identifier: GPL-2.0
/*
 * The positive control of bad_kfunc_other_ops: the kfuncs from an
 * interposer program.  Redirects to the last target, and fails a bio
 * that would not fit there.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/submit_bio")
int BPF_PROG(kfunc_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	__u32 n = bpf_blk_interposer_nr_targets(bio);

	if (!n)
		return interpose_pass();
	if (v->sector + bio_nr_sectors(bio) >
	    bpf_blk_interposer_dev_sectors(bio, n - 1))
		return interpose_fail(v, ENOSPC);
	return interpose_redirect(v, n - 1);
}

INTERPOSE_OPS(kfunc_ok, .submit_bio = (void *)kfunc_submit);
