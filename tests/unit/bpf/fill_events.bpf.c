// SPDX-License-Identifier: GPL-2.0
/*
 * A ring buffer "events" with records written on demand, for the host
 * unit tests of interpose_events__poll() (test_events.c): the syscall
 * program "fill", run with BPF_PROG_TEST_RUN, writes args->n records of
 * args->size bytes whose first 8 bytes (ts_ns) are 1, 2, ...  Root only.
 * Self-contained (no vmlinux.h).
 */
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define BPF_MAP_TYPE_RINGBUF 27

static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size,
				  __u64 flags) = (void *)130;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct fill_args {
	__u32 n;
	__u32 size;
};

SEC("syscall") int fill(struct fill_args *args)
{
	__u64 rec[16] = {};
	__u32 i, size = args->size;

	if (size < 8 || size >= sizeof(rec))
		return 1;
	/* the verifier wants the bound on the register it is given */
	asm volatile("%0 &= 127" : "+r"(size));
	for (i = 0; i < args->n && i < 32; i++) {
		rec[0] = i + 1;
		bpf_ringbuf_output(&events, rec, size, 0);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
