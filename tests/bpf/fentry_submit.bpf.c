// SPDX-License-Identifier: GPL-2.0
/*
 * fentry_submit: a BPF trampoline on submit_bio_noacct(), as tracing tools
 * attach them.  ftrace takes one direct call per function, so the module
 * hooks the function with its slower ftrace handler while this is there
 * (module.sh); its run count (kernel.bpf_stats_enabled) says it ran.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/submit_bio_noacct")
int BPF_PROG(fentry_submit, struct bio *bio)
{
	return 0;
}
