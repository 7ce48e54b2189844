// SPDX-License-Identifier: GPL-2.0
/*
 * Socket filters the verifier refuses, each for a reason of its own: badN
 * reads its context at offset 4000 + 4 * N ("invalid bpf_context access
 * off=400N...").  test_threads.c loads one per thread, all at once, on the
 * host's kernel (root only): a real verifier, no blk_interposer_ops needed.
 * good, first in the object, passes: an object whose good program loads
 * before the bad one must still name the bad one.  Self-contained (no
 * vmlinux.h).
 */
#define SEC(name) __attribute__((section(name), used))

#define BAD(n)								\
	SEC("socket") int bad##n(void *ctx)				\
	{								\
		return *(volatile int *)((char *)ctx + 4000 + 4 * (n));	\
	}

SEC("socket") int good(void *ctx)
{
	return 0;
}

BAD(0)
BAD(1)
BAD(2)
BAD(3)
BAD(4)
BAD(5)
BAD(6)
BAD(7)

char LICENSE[] SEC("license") = "GPL";
