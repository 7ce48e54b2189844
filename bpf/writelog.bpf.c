// SPDX-License-Identifier: GPL-2.0
/*
 * writelog: a journal of the writes to one device, in submission order,
 * for replay or audit.  Every bio that changes data or orders it (write,
 * discard, write zeroes, flush, and any bio with FUA or preflush) becomes
 * one struct interpose_event (kind INTERPOSE_EV_SUBMIT) in the "events"
 * ring buffer: time, sector, length, op and flags (REQ_FUA, REQ_PREFLUSH),
 * submitter.  Bios pass unchanged; reads are not logged.
 * `interposectl trace DEV` prints the journal; events the buffer had no
 * room for are counted in events_lost, a hole the consumer must treat as
 * fatal for a replay.
 *
 * Parameters:
 *   flushes   log empty flushes too (default 1)
 *
 * Counters: logged, events_lost.
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 flushes = 1;

INTERPOSE_EVENTS_RINGBUF(4 << 20);
__u64 logged;

SEC("struct_ops/submit_bio")
int BPF_PROG(writelog_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	struct interpose_event e;
	bool ordered = bio_has_flag(bio, REQ_FUA | REQ_PREFLUSH) ||
		       bio_is_flush(bio);

	if (!bio_is_write(bio) && !ordered)
		return interpose_pass();
	if (!flushes && ordered && !bio_bytes(bio))
		return interpose_pass();
	interpose_event_fill(&e, bio, v->sector, INTERPOSE_EV_SUBMIT);
	__sync_fetch_and_add(&logged, 1);
	interpose_emit(&e);
	return interpose_pass();
}

INTERPOSE_OPS(writelog,
	.submit_bio = (void *)writelog_submit,
);
