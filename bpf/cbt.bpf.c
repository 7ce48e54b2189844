// SPDX-License-Identifier: GPL-2.0
/*
 * cbt: changed-block tracking.  An observer: it passes every bio and, at
 * submission, sets the bits of the blocks a write, discard, secure erase
 * or write-zeroes touches in a bitmap.  A block is marked when the bio
 * is submitted, whether or not it then succeeds: a backup copying the
 * marked blocks copies too much rather than too little.
 *
 * The bitmap has two generations, each @nr_words 64-bit words, in the
 * mmapable array "cbt_words" (generation g at words g * nr_words ...).
 * Bios mark generation @gen.  A reader that resets flips @gen, waits for
 * an RCU grace period (bios that read the old @gen have marked by then),
 * and takes the old generation's words, zeroing them as it reads them
 * (an atomic exchange per word).  A write racing with the reset lands in
 * one generation or the other: reported by this read or by the next one,
 * never lost.  `interposectl cbt DEV --start` loads it with the array
 * sized for the device; `interposectl cbt DEV [--reset]` reads it.
 *
 * Parameters (set before load):
 *   block_shift  log2 of the block size in bytes, 12 (4 KiB) to 20 (1 MiB)
 *   nr_words     64-bit words of one generation: the device's blocks / 64,
 *                rounded up; cbt_words has 2 * nr_words entries
 *
 * Counters (interposectl var DEV@OPS NAME): marked (bios that marked
 * blocks), overflow (bios reaching past the bitmap: their blocks past it
 * are not marked; 0 unless the device grew).
 */
#include "interpose.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 block_shift = 12;
const volatile __u32 nr_words = 1;

__u32 gen;
__u64 marked;
__u64 overflow;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2);		/* the loader sets 2 * nr_words */
	__type(key, __u32);
	__type(value, __u64);
} cbt_words SEC(".maps");

struct cbt_range {
	__u32 base;		/* the first word of the generation marked */
	__u32 first;		/* the first and last word of the range */
	__u32 last;
	__u32 first_bit;	/* the first bit in @first, the last in @last */
	__u32 last_bit;
};

static long cbt_mark_word(__u64 i, void *ctx)
{
	struct cbt_range *r = ctx;
	__u32 w = r->first + (__u32)i;
	__u64 mask = ~0ULL, *word;
	__u32 key;

	if (w > r->last)
		return 1;
	if (w == r->first)
		mask &= ~0ULL << (r->first_bit & 63);
	if (w == r->last)
		mask &= ~0ULL >> (63 - (r->last_bit & 63));
	key = r->base + w;
	word = bpf_map_lookup_elem(&cbt_words, &key);
	if (!word)
		return 1;
	/* a word already all set needs no locked instruction */
	if ((*word & mask) != mask)
		__sync_fetch_and_or(word, mask);
	return 0;
}

SEC("struct_ops/submit_bio")
int BPF_PROG(cbt_submit, struct bio *bio, struct blk_interposer_verdict *v)
{
	__u64 start, end, first, last, words = nr_words;
	struct cbt_range r;

	/* the kernel's op_is_write(): writes, discards, write-zeroes; an
	 * empty preflush write changes nothing */
	if (!bio_is_write(bio) || !bio_bytes(bio))
		return interpose_pass();
	start = bio_rel_sector(bio) << INTERPOSE_SECTOR_SHIFT;
	end = start + bio_bytes(bio) - 1;
	first = start >> block_shift;
	last = end >> block_shift;
	if (last >= words * 64) {
		__sync_fetch_and_add(&overflow, 1);
		if (first >= words * 64)
			return interpose_pass();
		last = words * 64 - 1;
	}
	r.base = (gen & 1) * words;
	r.first = first / 64;
	r.last = last / 64;
	r.first_bit = first % 64;
	r.last_bit = last % 64;
	if (r.first == r.last)
		cbt_mark_word(0, &r);
	else
		bpf_loop(r.last - r.first + 1, cbt_mark_word, &r, 0);
	__sync_fetch_and_add(&marked, 1);
	return interpose_pass();
}

INTERPOSE_OPS(cbt,
	.submit_bio = (void *)cbt_submit,
);
