// SPDX-License-Identifier: GPL-2.0
/*
 * A BPF object for the host unit tests: libbpf opens it (never loads it)
 * so that --set VAR=VALUE, the ops name and the object checks can be
 * tested without a kernel.  Self-contained (no vmlinux.h); one variable
 * of each kind.  Variants, built with -D:
 *   TINY_NO_OPS      no struct_ops at all
 *   TINY_TWO_OPS     two blk_interposer_ops
 *   TINY_NO_LINK     the ops in SEC(".struct_ops"), not ".struct_ops.link"
 *   TINY_OTHER_TYPE  a struct_ops of another type
 *   TINY_FIELDS_U64  interpose_filter_fields declared 8 bytes wide
 */
typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;

#define SEC(name) __attribute__((section(name), used))

struct bio;
struct block_device;

struct blk_interposer_verdict {
	__u32 target;
	__s32 error;
	__u64 sector;
};

struct blk_interposer_ops {
	int (*submit_bio)(struct bio *bio, struct blk_interposer_verdict *v);
	void (*end_bio)(struct bio *bio, const void *completion);
	void (*attach)(struct block_device *orig);
	void (*detach)(struct block_device *orig);
	__u32 flags;
	char name[32];
};

struct other_ops {
	int (*init)(void);
	char name[16];
};

enum tiny_mode { TINY_OFF = 0, TINY_ON = 1, TINY_NEG = -3 };
enum tiny_big { TINY_BIG = 0x100000000ULL };
struct pair { __u32 a, b; };

/* .rodata */
const volatile __u8 u8v = 7;
const volatile __s8 s8v;
const volatile __u16 u16v;
const volatile __s16 s16v;
const volatile __u32 mode;
const volatile __s32 error = 5;
const volatile __u64 split;
const volatile __s64 offset;
const volatile _Bool enabled;
const volatile enum tiny_mode emode;
const volatile enum tiny_big ebig;
const volatile char label[8] = "abc";
const volatile __u32 arr[3] = { 1, 2, 3 };
const volatile struct pair pair;
#ifdef TINY_FIELDS_U64
const volatile __u64 interpose_filter_fields = 0xff;
#endif
/* .bss and .data */
__u64 counter;
__u32 data_val = 9;

SEC("struct_ops/submit_bio")
int tiny_submit(unsigned long long *ctx)
{
	counter += u8v + s8v + u16v + s16v + error + split + offset + enabled +
		   emode + ebig + label[0] + arr[1] + pair.a;
#ifdef TINY_FIELDS_U64
	counter += interpose_filter_fields;
#endif
	return mode + data_val;
}

#ifdef TINY_OTHER_TYPE
SEC("struct_ops/init")
int other_init(unsigned long long *ctx)
{
	return 0;
}

SEC(".struct_ops.link")
struct other_ops other = { .init = (void *)other_init, .name = "other" };
#endif

#ifndef TINY_NO_OPS
#ifdef TINY_NO_LINK
SEC(".struct_ops")
#else
SEC(".struct_ops.link")
#endif
struct blk_interposer_ops tiny = {
	.submit_bio = (void *)tiny_submit,
	.name = "tiny",
};
#endif

#ifdef TINY_TWO_OPS
SEC(".struct_ops.link")
struct blk_interposer_ops tiny2 = {
	.submit_bio = (void *)tiny_submit,
	.name = "tiny2",
};
#endif

char LICENSE[] SEC("license") = "GPL";
