// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl-fuzz: throw random and malformed BLKINTERPOSE_* ioctls at DEV and
 * check that every errno is one the ioctl documents (README.md's table,
 * plus EFAULT for bad pointers and ENOTTY for unknown commands).
 *
 *   ioctl-fuzz [--seed N] [--calls N] [--ops NAME]... DEV TARGET...
 *
 * The TARGETs should be devices of DEV's size or larger (a smaller one
 * exercises the size check) without ioctls of their own (null_blk).  Each
 * call is drawn from: a real or neighbouring command number (and the
 * numbers of the old ABI, which encoded the size), a random size field,
 * random flags and reserved bits, nr_targets up to 64 and beyond, a
 * targets_ptr that is good, NULL, unmapped, a kernel address or an array
 * ending right before an unmapped page, target fds of every kind (block
 * devices, DEV itself, a path-only (O_PATH) descriptor of a TARGET, closed,
 * huge, /dev/null, a file, a pipe, a directory, a socket), random ops
 * names, arguments at NULL, at an unmapped page or ending right before
 * one, and DEV through a descriptor open for writing or read-only.  One
 * call in five runs with DEV attached to the first TARGET.  A successful
 * attach is detached at once; every 64 calls all devices are queried and
 * must be detached.
 *
 * For every call the fuzzer works out from the kernel's rules
 * (block/blk-interposer-ioctl.c, blk_interposer_attach()) whether it MUST
 * fail: a size below the first version or above a page, a non-zero byte
 * past the structure, non-zero flags or reserved fields, nr_targets above
 * the kernel's limit, an argument or target array it cannot read, an ops
 * name without a NUL or not registered (no ops is registered unless named
 * with --ops), a target fd that is not an open block device, the original
 * itself or a duplicate as a target, a target with a larger logical block
 * size or DMA alignment, a plain redirect to a smaller target 0, an
 * original that is interposed or is a target, a target that is interposed
 * or the target of another interposer, DEV open read-only; a detach of a
 * device without an interposer; a query it cannot read or write; an unknown
 * command.  Such a call that succeeds is unexpected, and so is a call the
 * rules let through that fails (the rules are exact for the fuzzer's
 * devices).  A query that succeeds must report the state the fuzzer set up
 * (attached to TARGET 0 or nothing) and the target it has room for.
 *
 * Prints the unexpected calls with their argument and the rule, the count
 * per (ioctl, errno), then "fuzz: N calls, N unexpected".  Exit status: 0,
 * 1 if anything was unexpected or a device is left interposed, 2 on usage
 * errors.  The same --seed gives the same calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/blk-interposer.h>

#include "interpose-ioctl.h"

#ifndef O_PATH
#define O_PATH	010000000
#endif

enum { K_ATTACH, K_DETACH, K_QUERY, K_OTHER, K_NR };
static const char *const kind_name[K_NR] = { "ATTACH", "DETACH", "QUERY", "OTHER" };
static const size_t kind_size[K_NR] = {
	sizeof(struct blkinterpose_attach), sizeof(struct blkinterpose_detach),
	sizeof(struct blkinterpose_info), sizeof(struct blkinterpose_attach),
};
/* The documented errnos of each ioctl, EFAULT included; 0 ends a list. */
static const int allowed[K_NR][16] = {
	[K_ATTACH] = { EPERM, EINVAL, E2BIG, EBADF, ENOTBLK, EBUSY, ELOOP,
		       ENOENT, ENODEV, EOPNOTSUPP, EFAULT },
	[K_DETACH] = { EPERM, ENOENT, EINVAL, E2BIG, EFAULT },
	[K_QUERY]  = { EINVAL, EFAULT },
	[K_OTHER]  = { ENOTTY },
};

#define MAX_ERRNO 4096
static unsigned long counts[K_NR][MAX_ERRNO];
static unsigned long unexpected;
/* calls that must fail; calls that may succeed, and did, per kind */
static unsigned long nmust, nmay[K_NR], nok[K_NR];

static const char *errname(int err)
{
#define E(x) { x, #x }
	static const struct { int err; const char *name; } names[] = {
		{ 0, "OK" }, E(EPERM), E(ENOENT), E(EIO), E(E2BIG), E(EBADF),
		E(ENOMEM), E(EACCES), E(EFAULT), E(ENOTBLK), E(EBUSY), E(ENODEV),
		E(EINVAL), E(ENOTTY), E(ENXIO), E(ELOOP), E(EOPNOTSUPP), E(EROFS),
	};
#undef E
	static char buf[16];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* splitmix64: small, good enough, and the same everywhere. */
static uint64_t rng;
static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static uint32_t below(uint32_t n) { return rnd() % n; }
static bool chance(unsigned int pct) { return below(100) < pct; }

/* TARGETs on the command line, and the most nr_targets the fuzzer uses. */
#define MAX_CLI_TARGETS		8
#define MAX_FUZZ_TARGETS	64

/*
 * Every fd a target slot may get, with what it is: for an fd of an open
 * block device (not a path-only one), its device number, size, logical
 * block size and DMA alignment.
 */
static struct {
	int fd;
	const char *what;
	bool blk;
	dev_t rdev;
	unsigned long long bytes;
	unsigned int lbs, dma;
} pool[32];
/* Registered ops names (--ops): an attach with any other name is ENOENT. */
static const char *ops_names[8];
static int nops;
static int npool, orig_fd, orig_ro_fd, ntargets, target_fds[MAX_CLI_TARGETS];
/* The kernel's limit, from a query (8 if it does not say). */
static unsigned int max_targets = 8;

static int pool_add(int fd, const char *what)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	pool[npool].fd = fd;
	pool[npool].what = what;
	if (fl >= 0 && !(fl & O_PATH) && !fstat(fd, &st) && S_ISBLK(st.st_mode)) {
		uint64_t bytes = 0;
		int lbs = 0;
		char path[96];
		FILE *f;

		pool[npool].blk = true;
		pool[npool].rdev = st.st_rdev;
		if (ioctl(fd, BLKGETSIZE64, &bytes) || ioctl(fd, BLKSSZGET, &lbs)) {
			fprintf(stderr, "ioctl-fuzz: %s: size: %s\n", what, strerror(errno));
			exit(2);
		}
		pool[npool].bytes = bytes;
		pool[npool].lbs = lbs;
		pool[npool].dma = 511;
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/dma_alignment",
			 major(st.st_rdev), minor(st.st_rdev));
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%u", &pool[npool].dma) != 1)
				pool[npool].dma = 511;
			fclose(f);
		}
	}
	npool++;
	return fd;
}

/* The pool entry of an fd (every fd the fuzzer passes is in the pool). */
static int pool_idx(int fd)
{
	int i;

	for (i = 0; i < npool; i++)
		if (pool[i].fd == fd)
			return i;
	fprintf(stderr, "ioctl-fuzz: fd %d is not in the pool\n", fd);
	exit(2);
}

/* pool_add() for an fd just opened. */
static int pool_open(int fd, const char *what)
{
	if (fd < 0) {
		fprintf(stderr, "ioctl-fuzz: cannot open %s: %s\n", what, strerror(errno));
		exit(2);
	}
	return pool_add(fd, what);
}

static const char *fd_what(int fd)
{
	int i;

	for (i = 0; i < npool; i++)
		if (pool[i].fd == fd)
			return pool[i].what;
	return "?";
}

/*
 * A sane call has only well-formed fields and good fds, so that it gets
 * past the argument checks to the state checks (EBUSY, ELOOP, success).
 */
static bool sane;

/* A target fd: mostly a good one, so that some attaches get through. */
static int pick_target_fd(void)
{
	if (sane)
		return chance(90) ? target_fds[below(ntargets)] : orig_fd;
	if (chance(60))
		return target_fds[below(ntargets)];
	return pool[below(npool)].fd;
}

/*
 * Arguments live in two writable pages followed by an inaccessible one;
 * the target arrays in a page of their own followed by another.
 */
static unsigned char *arena, *guard, *tarena, *tguard;
static size_t pg;

struct call {
	int kind;
	unsigned long cmd;
	int fd;
	void *arg;
	const char *where;
	uint32_t size;
	int tail;		/* offset of a non-zero byte past the structure */
	uint64_t targets_ptr;	/* what targets_ptr was set to */
	const char *twhere;	/* and what it is */
	unsigned int tcount;	/* entries at targets_ptr that are ours */
	size_t room;		/* bytes readable at arg */
	/* the argument as passed (what of it is readable), before the call */
	union {
		struct blkinterpose_attach a;
		struct blkinterpose_detach d;
		struct blkinterpose_info q;
	} in;
	const char *must_fail;	/* why it must fail, NULL if it may succeed */
};

static uint32_t pick_size(size_t ssz, int *tail)
{
	uint32_t size;

	*tail = -1;
	switch (sane ? 3 : below(12)) {
	case 0: return 0;
	case 1: return 1 + below(7);
	case 2: return ssz - 1 - below(4);
	case 7: return ssz + 1 + below(64);
	case 8:
		size = ssz + 1 + below(64);
		*tail = ssz + below(size - ssz);
		return size;
	case 9: return chance(50) ? pg : pg + 1 + below(pg);
	case 10: return chance(50) ? UINT32_MAX : 0x80000000u + below(8);
	case 11: return (uint32_t)rnd();
	default: return ssz;
	}
}

static uint32_t pick_u32(unsigned int pct_zero)
{
	if (sane || chance(pct_zero))
		return 0;
	return chance(50) ? 1u << below(32) : (uint32_t)rnd();
}

/*
 * Where targets_ptr points, for @n entries of @esz bytes: mostly an array
 * in tarena (filled by the caller), else NULL, unmapped, a kernel address,
 * random, or an array whose end runs into the guard page.
 */
static uint64_t pick_targets_ptr(struct call *c, unsigned int n, size_t esz)
{
	size_t room = pg / esz, k;

	c->tcount = n < room ? n : room;
	c->twhere = "tarena";
	if (sane || chance(75))
		return (uint64_t)(uintptr_t)tarena;
	c->tcount = 0;
	switch (below(6)) {
	case 0:
		c->twhere = "NULL";
		return 0;
	case 1:
		c->twhere = "(void *)1";
		return 1;
	case 2:
		c->twhere = "kernel address";
		return 0xffff888000000000ULL;
	case 3:
		c->twhere = "PROT_NONE page";
		return (uint64_t)(uintptr_t)tguard;
	case 4:
		c->twhere = "random";
		return rnd() | 0x8000000000000000ULL;	/* never ours */
	default:			/* the first k entries, then the guard */
		k = n ? below(n < room ? n : room) : 0;
		c->tcount = k;
		c->twhere = "ends at PROT_NONE";
		return (uint64_t)(uintptr_t)(tguard - k * esz);
	}
}

static void fill_attach(struct call *c, struct blkinterpose_attach *a)
{
	static const uint32_t huge[] = { 9, 16, 0x80000000u, UINT32_MAX };
	unsigned int i, n;
	__s32 *fds;

	/*
	 * Never the observer flag alone: an observer attached beside the
	 * armed interposer would go with the detach that follows, which the
	 * model does not follow; observers.sh and the probe test it.
	 */
	a->flags = pick_u32(85);
	if (a->flags == BLKINTERPOSE_ATTACH_OBSERVER)
		a->flags |= 1u << (1 + below(31));
	a->reserved0 = pick_u32(90);
	if (!sane && chance(10))
		a->reserved[below(4)] = rnd() | 1;
	n = below(100);
	a->nr_targets = n < 45 ? 1 : n < 80 ? below(10) :
			n < 95 ? below(MAX_FUZZ_TARGETS + 1) : huge[below(4)];
	if (sane)
		a->nr_targets = 1 + below((unsigned int)ntargets < max_targets ?
					  (unsigned int)ntargets : max_targets);
	a->targets_ptr = pick_targets_ptr(c, a->nr_targets, sizeof(*fds));
	c->targets_ptr = a->targets_ptr;
	fds = (__s32 *)(uintptr_t)a->targets_ptr;
	for (i = 0; i < c->tcount; i++)
		fds[i] = pick_target_fd();
	n = below(100);
	if (n < 70 || (sane && n < 90))
		return;			/* empty: a plain redirect */
	if (n < 80) {			/* garbage after the NUL: still empty */
		a->ops_name[1 + below(30)] = 'x';
	} else if (n < 95) {		/* a NUL-terminated random name */
		for (i = 0, n = 1 + below(31); i < n; i++)
			a->ops_name[i] = 1 + below(255);
	} else {			/* no NUL at all */
		for (i = 0; i < sizeof(a->ops_name); i++)
			a->ops_name[i] = 1 + below(255);
	}
}

/*
 * A command the interposer must not answer: a neighbour of the numbers
 * (0xcf, 0xd3), a real number with a size or direction encoded, or one
 * of the old ABI (140 to 142, which encoded the size; 139 and 143 next to
 * them).
 */
static unsigned long other_cmd(void)
{
	static const unsigned int old_dir[] = { _IOC_WRITE, _IOC_WRITE, _IOC_READ | _IOC_WRITE };
	static const size_t old_size[] = { 112, 24, 240 };	/* the old structures */
	unsigned int nr = 0xd0 + below(3), old = 140 + below(3);
	unsigned long cmd;

	do {
		switch (below(7)) {
		case 0: cmd = _IO(0x12, chance(50) ? 0xcf : 0xd3); break;
		case 1: cmd = _IOC(below(4), 0x12, nr, kind_size[nr - 0xd0]); break;
		case 2: cmd = _IOC(below(4), 0x12, nr, below(1 << _IOC_SIZEBITS)); break;
		case 3: cmd = _IOC(old_dir[old - 140], 0x12, old, old_size[old - 140]); break;
		case 4: cmd = _IOC(below(4), 0x12, old, below(1 << _IOC_SIZEBITS)); break;
		case 5: cmd = _IOC(_IOC_WRITE, 0x12, 139, old_size[0]); break;
		default: cmd = _IOC(_IOC_READ | _IOC_WRITE, 0x12, 143, old_size[2]); break;
		}
	} while (cmd == BLKINTERPOSE_ATTACH || cmd == BLKINTERPOSE_DETACH ||
		 cmd == BLKINTERPOSE_QUERY);
	return cmd;
}

static void fill_query(struct call *c, struct blkinterpose_info *q)
{
	unsigned int n = below(100);

	q->nr_targets = sane ? below(MAX_FUZZ_TARGETS + 1) :
			n < 30 ? 0 : n < 90 ? below(MAX_FUZZ_TARGETS + 1) :
			(uint32_t)rnd();
	q->targets_ptr = pick_targets_ptr(c, q->nr_targets,
					  sizeof(struct blkinterpose_dev));
	c->targets_ptr = q->targets_ptr;
}

static void make_call(struct call *c, bool armed)
{
	static const unsigned long cmds[] = { BLKINTERPOSE_ATTACH, BLKINTERPOSE_DETACH, BLKINTERPOSE_QUERY };
	size_t ssz, k;
	unsigned int n;

	memset(arena, 0, 2 * pg);
	memset(tarena, 0, pg);
	memset(c, 0, sizeof(*c));
	sane = chance(30);
	n = below(100);
	c->kind = n < 35 ? K_ATTACH : n < 60 ? K_DETACH : n < 85 ? K_QUERY : K_OTHER;
	c->cmd = c->kind == K_OTHER ? other_cmd() : cmds[c->kind];
	/* On the target of an attached original, attach is ELOOP. */
	if (armed && chance(40))
		c->fd = target_fds[0];
	else if (!sane && c->kind == K_ATTACH && chance(5))
		c->fd = orig_ro_fd;	/* EBADF, whatever the argument */
	else
		c->fd = chance(90) ? orig_fd : target_fds[below(ntargets)];

	ssz = kind_size[c->kind];
	if (c->kind == K_ATTACH || c->kind == K_OTHER) {
		fill_attach(c, (struct blkinterpose_attach *)arena);
	} else if (c->kind == K_DETACH) {
		struct blkinterpose_detach *d = (void *)arena;

		d->flags = pick_u32(85);
		/* the same for detaching an observer (no name: EINVAL) */
		if (d->flags == BLKINTERPOSE_DETACH_OBSERVER)
			d->flags |= 1u << (1 + below(31));
		if (!sane && chance(10))
			d->reserved[below(2)] = rnd() | 1;
	} else {	/* output but for size, nr_targets, targets_ptr */
		for (k = 0; k < ssz; k++)
			arena[k] = rnd();
		fill_query(c, (struct blkinterpose_info *)arena);
	}
	c->size = pick_size(ssz, &c->tail);
	memcpy(arena, &c->size, sizeof(c->size));
	if (c->tail >= 0)
		arena[c->tail] = 1 + below(255);

	c->arg = arena;
	c->where = "arena";
	c->room = 2 * pg;
	n = sane ? 100 : below(100);
	if (n < 8)
		c->room = 0;
	if (n < 2) {
		c->arg = NULL, c->where = "NULL";
	} else if (n < 4) {
		c->arg = (void *)1, c->where = "(void *)1";
	} else if (n < 6) {
		c->arg = (void *)0xffff888000000000UL, c->where = "kernel address";
	} else if (n < 8) {
		c->arg = guard, c->where = "PROT_NONE page";
	} else if (n < 16) {		/* the last k bytes before the guard */
		k = below(c->size && c->size < 2 * pg ? c->size : ssz + 64);
		memmove(guard - k, arena, k);
		c->arg = guard - k;
		c->where = "ends at PROT_NONE";
		c->room = k;
	}
	memcpy(&c->in, c->arg && c->room ? c->arg : arena,
	       c->room < sizeof(c->in) ? c->room : sizeof(c->in));
}

/* Could the kernel read (or write) @n bytes at targets_ptr? */
static bool targets_reachable(const struct call *c, size_t n, size_t esz)
{
	if (!n)
		return true;
	if (!strcmp(c->twhere, "tarena"))
		return n * esz <= pg;
	if (!strcmp(c->twhere, "ends at PROT_NONE"))
		return n <= c->tcount;
	return false;	/* NULL, (void *)1, kernel, PROT_NONE, random */
}

/* Is @name one of the --ops names? */
static bool ops_registered(const char *name)
{
	int i;

	for (i = 0; i < nops; i++)
		if (!strcmp(name, ops_names[i]))
			return true;
	return false;
}

/*
 * Why the call must fail by the kernel's rules, NULL if it may succeed.
 * @armed: DEV (orig_fd) is attached to target_fds[0], nothing else is.
 */
static const char *must_fail(const struct call *c, bool armed)
{
	size_t ssz = kind_size[c->kind];
	int me = pool_idx(c->fd);
	dev_t orig = pool[pool_idx(orig_fd)].rdev;
	dev_t t0 = pool[pool_idx(target_fds[0])].rdev;
	bool on_orig = armed && pool[me].rdev == orig;
	bool on_target = armed && pool[me].rdev == t0;
	unsigned int i, j, n;

	if (c->kind == K_OTHER)
		return "not a BLKINTERPOSE_* command";
	if (c->kind == K_ATTACH && c->fd == orig_ro_fd)
		return "attach through a descriptor not open for writing";
	if (c->room < sizeof(uint32_t))
		return "the size field cannot be read";
	if (c->size < ssz)
		return "size below the first version";
	if (c->kind == K_QUERY) {
		const struct blkinterpose_info *q = &c->in.q;

		/* no tail check, no upper bound: it copies what it knows */
		if (c->room < ssz)
			return "the structure cannot be read or written";
		n = q->nr_targets < (on_orig ? 1u : 0u) ? q->nr_targets : (on_orig ? 1u : 0u);
		if (!targets_reachable(c, n, sizeof(struct blkinterpose_dev)))
			return "the targets cannot be written";
		return NULL;
	}
	if (c->size > pg)
		return "size above a page";
	if (c->room < c->size)
		return "the argument cannot be read";
	if (c->tail >= 0)
		return "a non-zero byte past the structure";
	if (c->kind == K_DETACH) {
		if (c->in.d.flags)
			return "non-zero flags";
		for (i = 0; i < 2; i++)
			if (c->in.d.reserved[i])
				return "non-zero reserved";
		if (!on_orig)
			return "no interposer on the device";
		return NULL;
	}

	/* attach */
	{
		const struct blkinterpose_attach *a = &c->in.a;
		const __s32 *fds = (const __s32 *)(uintptr_t)a->targets_ptr;
		bool plain = !a->ops_name[0];

		if (a->flags)
			return "non-zero flags";
		if (a->reserved0)
			return "non-zero reserved0";
		for (i = 0; i < 4; i++)
			if (a->reserved[i])
				return "non-zero reserved";
		if (a->nr_targets > max_targets)
			return "nr_targets above max_targets";
		if (a->nr_targets && !a->targets_ptr)
			return "targets_ptr NULL";
		if (strnlen(a->ops_name, sizeof(a->ops_name)) == sizeof(a->ops_name))
			return "ops_name without a NUL";
		if (!targets_reachable(c, a->nr_targets, sizeof(__s32)))
			return "the target array cannot be read";
		for (i = 0; i < a->nr_targets; i++)
			if (!pool[pool_idx(fds[i])].blk)
				return "a target fd that is not an open block device";
		for (i = 0; i < a->nr_targets; i++)
			for (j = 0; j < i; j++)
				if (pool[pool_idx(fds[i])].rdev == pool[pool_idx(fds[j])].rdev)
					return "a target given twice";
		if (plain && !a->nr_targets)
			return "a plain redirect without a target";
		for (i = 0; i < a->nr_targets; i++) {
			int t = pool_idx(fds[i]);

			if (pool[t].rdev == pool[me].rdev)
				return "the original as its own target";
			if (pool[t].lbs > pool[me].lbs)
				return "a target with a larger logical block size";
			if (pool[t].dma > pool[me].dma)
				return "a target with a larger DMA alignment";
		}
		if (plain && pool[pool_idx(fds[0])].bytes < pool[me].bytes)
			return "a plain redirect to a smaller target 0";
		if (!plain && !ops_registered(a->ops_name))
			return "an ops that is not registered";
		if (on_orig)
			return "the original is interposed already";
		if (on_target)
			return "the original is the target of an interposer";
		for (i = 0; i < a->nr_targets; i++) {
			dev_t d = pool[pool_idx(fds[i])].rdev;

			if (armed && d == t0)
				return "a target is the target of another interposer";
			if (armed && d == orig)
				return "a target is interposed";
		}
		return NULL;
	}
}

static void print_call(unsigned long i, const struct call *c, int err)
{
	const struct blkinterpose_attach *a = &c->in.a;
	const struct blkinterpose_detach *d = &c->in.d;
	unsigned int j;

	printf("UNEXPECTED call %lu: %s cmd=%#lx on fd %d (%s) -> %s\n", i,
	       kind_name[c->kind], c->cmd, c->fd, fd_what(c->fd), errname(err));
	printf("  %s\n", c->must_fail ? c->must_fail : "the rules let it through");
	printf("  arg %p (%s), size %u (structure %zu)", c->arg, c->where,
	       c->size, kind_size[c->kind]);
	if (c->tail >= 0)
		printf(", non-zero byte at %d", c->tail);
	printf("\n");
	if (c->kind == K_ATTACH || c->kind == K_OTHER) {
		const __s32 *fds = (const __s32 *)(uintptr_t)c->targets_ptr;

		printf("  flags %#x nr_targets %u reserved0 %#x reserved %#llx %#llx %#llx %#llx\n",
		       a->flags, a->nr_targets, a->reserved0,
		       (unsigned long long)a->reserved[0], (unsigned long long)a->reserved[1],
		       (unsigned long long)a->reserved[2], (unsigned long long)a->reserved[3]);
		printf("  targets_ptr %#llx (%s), fds", (unsigned long long)c->targets_ptr,
		       c->twhere);
		for (j = 0; j < c->tcount; j++)
			printf(" %d (%s)", fds[j], fd_what(fds[j]));
		printf("\n  ops_name");
		for (j = 0; j < sizeof(a->ops_name); j++)
			printf(" %02x", (unsigned char)a->ops_name[j]);
		printf("\n");
	} else if (c->kind == K_DETACH) {
		printf("  flags %#x reserved %#llx %#llx\n", d->flags,
		       (unsigned long long)d->reserved[0],
		       (unsigned long long)d->reserved[1]);
	} else {
		printf("  nr_targets %u targets_ptr %#llx (%s)\n",
		       c->in.q.nr_targets,
		       (unsigned long long)c->targets_ptr, c->twhere);
	}
}

static bool is_allowed(int kind, int err)
{
	const int *e;

	for (e = allowed[kind]; *e; e++)
		if (*e == err)
			return true;
	return false;
}

/*
 * A query that succeeded: it reports DEV attached to TARGET 0 when it is
 * (and that target, if it had room), no interposer otherwise, and the
 * size it filled in.
 */
static void check_query(unsigned long i, const struct call *c, bool armed)
{
	const struct blkinterpose_info *q = c->arg;
	bool on_orig = armed && pool[pool_idx(c->fd)].rdev == pool[pool_idx(orig_fd)].rdev;
	const struct blkinterpose_dev *t = (const void *)(uintptr_t)c->in.q.targets_ptr;
	dev_t t0 = pool[pool_idx(target_fds[0])].rdev;
	const char *wrong = NULL;

	if (q->size != sizeof(*q))
		wrong = "size out is not the kernel's structure size";
	else if (q->state != (on_orig ? BLKINTERPOSE_STATE_ATTACHED : BLKINTERPOSE_STATE_NONE))
		wrong = on_orig ? "state is not attached" : "state is not none";
	else if (q->nr_targets != (on_orig ? 1u : 0u))
		wrong = "wrong nr_targets";
	else if (q->max_targets != max_targets)
		wrong = "max_targets changed";
	else if (q->targets_ptr != c->in.q.targets_ptr)
		wrong = "targets_ptr changed";
	else if (on_orig && c->in.q.nr_targets &&
		 makedev(t[0].major, t[0].minor) != t0)
		wrong = "target 0 is not TARGET 0";
	if (!wrong)
		return;
	printf("UNEXPECTED call %lu: QUERY on fd %d (%s): %s: size %u state %u nr_targets %u max_targets %u\n",
	       i, c->fd, fd_what(c->fd), wrong, q->size, q->state, q->nr_targets,
	       q->max_targets);
	unexpected++;
}

static void bad(const char *what, int fd, int err)
{
	printf("UNEXPECTED: %s on fd %d (%s): %s\n", what, fd, fd_what(fd), errname(err));
	unexpected++;
}

/* Well-formed calls the fuzzer uses to set up and check the state. */
static int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	return interpose_ioctl(fd, cmd, arg) ? errno : 0;
}

static int clean_attach(int fd, int target)
{
	struct blkinterpose_attach a = { .size = sizeof(a), .nr_targets = 1 };
	__s32 fds[1] = { target };

	a.targets_ptr = (uint64_t)(uintptr_t)fds;
	return do_ioctl(fd, BLKINTERPOSE_ATTACH, &a);
}

static int clean_detach(int fd)
{
	struct blkinterpose_detach d = { .size = sizeof(d) };

	return do_ioctl(fd, BLKINTERPOSE_DETACH, &d);
}

/* Every device must be detached: 0 if so. */
static int check_detached(const char *when)
{
	int i, fds[1 + MAX_CLI_TARGETS], n = 0, err, left = 0;

	fds[n++] = orig_fd;
	for (i = 0; i < ntargets; i++)
		fds[n++] = target_fds[i];
	for (i = 0; i < n; i++) {
		struct blkinterpose_info info = { .size = sizeof(info) };

		err = do_ioctl(fds[i], BLKINTERPOSE_QUERY, &info);
		if (err || info.state != BLKINTERPOSE_STATE_NONE) {
			printf("UNEXPECTED: %s: query of %s: %s, state %u\n", when,
			       fd_what(fds[i]), errname(err), info.state);
			unexpected++;
			left++;
			if (!err)
				clean_detach(fds[i]);
		}
	}
	return left;
}

static void usage(void)
{
	fprintf(stderr, "usage: ioctl-fuzz [--seed N] [--calls N] [--ops NAME]... DEV TARGET...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "calls", required_argument, NULL, 'c' },
		{ "ops", required_argument, NULL, 'o' },
		{ }
	};
	unsigned long i, calls = 5000, seed = 1;
	int c, err, p[2], closed, k, e;
	struct call call;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			seed = strtoul(optarg, NULL, 0);
		else if (c == 'c')
			calls = strtoul(optarg, NULL, 0);
		else if (c == 'o' && nops < (int)(sizeof(ops_names) / sizeof(ops_names[0])))
			ops_names[nops++] = optarg;
		else
			usage();
	}
	if (argc - optind < 2 || argc - optind > 1 + MAX_CLI_TARGETS)
		usage();
	rng = seed;
	setvbuf(stdout, NULL, _IOLBF, 0);

	orig_fd = pool_open(open(argv[optind], O_RDWR), argv[optind]);
	orig_ro_fd = pool_open(open(argv[optind], O_RDONLY), "DEV read-only");
	while (++optind < argc)
		target_fds[ntargets++] = pool_open(open(argv[optind], O_RDWR), argv[optind]);
	pool_open(open(argv[optind - 1], O_PATH), "a path-only (O_PATH) target");
	pool_add(-1, "-1");
	pool_add(INT_MAX, "INT_MAX");
	pool_add(INT_MIN, "INT_MIN");
	pool_add(1 << 20, "1<<20");
	pool_open(open("/dev/null", O_RDWR), "/dev/null");
	pool_open(open("/proc/self/exe", O_RDONLY), "a regular file");
	pool_open(open("/", O_RDONLY | O_DIRECTORY), "a directory");
	pool_open(socket(AF_UNIX, SOCK_STREAM, 0), "a socket");
	if (pipe(p))
		usage();
	pool_add(p[0], "a pipe");
	closed = dup(p[1]);
	close(closed);
	pool_add(closed, "a closed fd");

	pg = sysconf(_SC_PAGESIZE);
	arena = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED || mprotect(arena + 2 * pg, pg, PROT_NONE))
		usage();
	guard = arena + 2 * pg;
	tarena = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tarena == MAP_FAILED || mprotect(tarena + pg, pg, PROT_NONE))
		usage();
	tguard = tarena + pg;
	{
		struct blkinterpose_info info = { .size = sizeof(info) };

		if (!do_ioctl(orig_fd, BLKINTERPOSE_QUERY, &info) && info.max_targets)
			max_targets = info.max_targets;
	}

	printf("ioctl-fuzz: seed %lu, %lu calls on %s, %d targets (the kernel takes %u)\n",
	       seed, calls, pool[0].what, ntargets, max_targets);
	if (check_detached("before the first call"))
		return 1;
	for (i = 0; i < calls; i++) {
		bool armed = chance(20);

		/* Some calls meet an attached original. */
		if (armed && (err = clean_attach(orig_fd, target_fds[0]))) {
			bad("attach before the call", orig_fd, err);
			armed = false;
		}
		make_call(&call, armed);
		call.must_fail = must_fail(&call, armed);
		err = do_ioctl(call.fd, call.cmd, call.arg);
		counts[call.kind][err < MAX_ERRNO ? err : MAX_ERRNO - 1]++;
		if (call.must_fail)
			nmust++;
		else
			nmay[call.kind]++, nok[call.kind] += !err;
		if ((err && !is_allowed(call.kind, err)) ||
		    /* attach needs DEV open for writing: nothing else matters */
		    (call.fd == orig_ro_fd && err != EBADF && err != EPERM) ||
		    /* a call the rules refuse succeeded */
		    (!err && call.must_fail) ||
		    /* a call the rules let through failed */
		    (err && !call.must_fail)) {
			print_call(i, &call, err);
			unexpected++;
		} else if (!err && call.kind == K_QUERY) {
			check_query(i, &call, armed);
		}
		if (!err && call.kind == K_ATTACH && (e = clean_detach(call.fd)))
			bad("detach after a successful attach", call.fd, e);
		if (armed && (e = clean_detach(orig_fd)) &&
		    !(e == ENOENT && !err && call.kind == K_DETACH && call.fd == orig_fd))
			bad("detach after the call", orig_fd, e);
		if (i % 64 == 63)
			check_detached("periodic check");
	}

	for (k = 0; k < K_NR; k++)
		for (e = 0; e < MAX_ERRNO; e++)
			if (counts[k][e])
				printf("%-6s %-10s %lu\n", kind_name[k], errname(e), counts[k][e]);
	check_detached("at the end");
	printf("must fail: %lu calls, all failed unless reported above\n", nmust);
	for (k = 0; k < K_NR; k++)
		if (nmay[k])
			printf("may succeed: %-6s %lu calls, %lu succeeded\n",
			       kind_name[k], nmay[k], nok[k]);
	printf("fuzz: %lu calls, %lu unexpected\n", calls, unexpected);
	return unexpected ? 1 : 0;
}
