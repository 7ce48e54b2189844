// SPDX-License-Identifier: GPL-2.0
/*
 * rawevent: one "events" record per completed bio with only the kernel's
 * bi_opf, op and flags left unset, as a program built before they
 * existed writes them: interposectl trace must name them from the
 * kernel's BTF (observe.sh).
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

INTERPOSE_EVENTS_RINGBUF(1 << 20);

SEC("struct_ops/end_bio")
void BPF_PROG(rawevent_end, struct bio *bio,
	      const struct blk_interposer_completion *c)
{
	struct interpose_event e;

	interpose_event_fill(&e, bio, bio_rel_sector(bio), INTERPOSE_EV_COMPLETE);
	e.latency_ns = c->latency_ns;
	e.action = c->action;
	e.op = 0;
	e.flags = 0;
	interpose_emit(&e);
}

INTERPOSE_OPS(rawevent,
	.end_bio = (void *)rawevent_end,
);
