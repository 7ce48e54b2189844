// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl-fuzz: throw random and malformed BLKINTERPOSE_* ioctls at DEV and
 * check that every errno is one the ioctl documents (README.md's table,
 * plus EFAULT for bad pointers and ENOTTY for unknown commands).
 *
 *   ioctl-fuzz [--seed N] [--calls N] DEV TARGET...
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
 * Prints the unexpected calls with their argument, the count per (ioctl,
 * errno), then "fuzz: N calls, N unexpected".  Exit status: 0, 1 if
 * anything was unexpected or a device is left interposed, 2 on usage errors.
 * The same --seed gives the same calls.
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
#include <unistd.h>
#include <linux/blk-interposer.h>

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

/* Every fd a target slot may get, with what it is. */
static struct { int fd; const char *what; } pool[32];
static int npool, orig_fd, orig_ro_fd, ntargets, target_fds[MAX_CLI_TARGETS];
/* The kernel's limit, from a query (8 if it does not say). */
static unsigned int max_targets = 8;

static int pool_add(int fd, const char *what)
{
	pool[npool].fd = fd;
	pool[npool++].what = what;
	return fd;
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

	a->flags = pick_u32(85);
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
	n = sane ? 100 : below(100);
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
	}
}

static void print_call(unsigned long i, const struct call *c, int err)
{
	const struct blkinterpose_attach *a = (const void *)arena;
	const struct blkinterpose_detach *d = (const void *)arena;
	unsigned int j;

	printf("UNEXPECTED call %lu: %s cmd=%#lx on fd %d (%s) -> %s\n", i,
	       kind_name[c->kind], c->cmd, c->fd, fd_what(c->fd), errname(err));
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
		       ((const struct blkinterpose_info *)(const void *)arena)->nr_targets,
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

static void bad(const char *what, int fd, int err)
{
	printf("UNEXPECTED: %s on fd %d (%s): %s\n", what, fd, fd_what(fd), errname(err));
	unexpected++;
}

/* Well-formed calls the fuzzer uses to set up and check the state. */
static int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
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
	fprintf(stderr, "usage: ioctl-fuzz [--seed N] [--calls N] DEV TARGET...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "calls", required_argument, NULL, 'c' },
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
		err = do_ioctl(call.fd, call.cmd, call.arg);
		counts[call.kind][err < MAX_ERRNO ? err : MAX_ERRNO - 1]++;
		if ((err && !is_allowed(call.kind, err)) ||
		    /* attach needs DEV open for writing: nothing else matters */
		    (call.fd == orig_ro_fd && err != EBADF && err != EPERM) ||
		    (!err && call.kind == K_OTHER) ||
		    (!err && call.kind == K_DETACH && !(armed && call.fd == orig_fd)) ||
		    (!err && call.kind == K_ATTACH && armed && call.fd == orig_fd)) {
			print_call(i, &call, err);
			unexpected++;
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
	printf("fuzz: %lu calls, %lu unexpected\n", calls, unexpected);
	return unexpected ? 1 : 0;
}
