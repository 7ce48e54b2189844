/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libinterpose internals, shared by the library's files and its unit tests
 * (which link the static library); nothing here is exported from the
 * shared library.
 */
#ifndef __LIBINTERPOSE_INTERNAL_H
#define __LIBINTERPOSE_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/blk-interposer.h>

#include "interpose/libinterpose.h"

#ifndef offsetofend
#define offsetofend(TYPE, FIELD) \
	(offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))
#endif
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define __printf(a, b) __attribute__((format(printf, a, b)))

/* Printing through the user's callback, if any. */
__printf(2, 3) void ip_print(enum interpose_print_level level,
			     const char *fmt, ...);
#define pr_warn(fmt, ...)  ip_print(INTERPOSE_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  ip_print(INTERPOSE_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) ip_print(INTERPOSE_DEBUG, fmt, ##__VA_ARGS__)

/*
 * Store "fmt..." as the thread's error message, print it as a warning, set
 * errno to @err and return -@err.  @err is a positive errno.
 */
__printf(2, 3) int ip_err(int err, const char *fmt, ...);
/* Start of every public call: the message of the previous one goes. */
void ip_errmsg_clear(void);

/*
 * Options structures (libbpf's OPTS_*): a caller built against an older
 * library passes a smaller size, and fields beyond it read as zero; a
 * newer caller may pass a larger size if the bytes this library does not
 * know are zero.  Returns 0, -EINVAL (size too small) or -E2BIG.
 */
int ip_opts_check(const void *opts, size_t known_sz, size_t user_sz);
#define OPTS_CHECK(opts, type)						\
	((opts) ? ip_opts_check((opts),					\
				offsetofend(struct type, type##__last_field), \
				(opts)->sz) : 0)
#define OPTS_HAS(opts, field) \
	((opts) && (opts)->sz >= offsetofend(typeof(*(opts)), field))
#define OPTS_GET(opts, field, fallback) \
	(OPTS_HAS(opts, field) ? (opts)->field : (fallback))

/*
 * The roots under which sysfs and device nodes are looked up: "/sys" and
 * "/dev", or $INTERPOSE_SYSFS_ROOT and $INTERPOSE_DEV_ROOT, which exist
 * for the unit tests (ignored in set-user-ID programs).
 */
const char *ip_sysfs_root(void);
const char *ip_dev_root(void);

/* Read the first line of @path without its newline; -errno on failure. */
int ip_read_line(const char *path, char *buf, size_t len);
int ip_read_u64(const char *path, __u64 *val);
/* snprintf into a buffer that must be large enough: -ENAMETOOLONG. */
__printf(3, 4) int ip_snprintf(char *buf, size_t len, const char *fmt, ...);

#define IP_NAME_LEN	(NAME_MAX + 1)

/* A resolved device. */
struct ip_dev {
	dev_t dev;
	char path[PATH_MAX];	/* device node, "" if it has none */
	char name[IP_NAME_LEN];	/* kernel name, "" if unknown */
};

/* Resolve a name as interpose_resolve_dev() does, without a message. */
int ip_resolve(const char *arg, struct ip_dev *d);
/* Why ip_resolve() failed, for messages. */
const char *ip_resolve_reason(int err);
/* Kernel name of @dev from sysfs, "" if unknown. */
void ip_dev_name(dev_t dev, char *name, size_t len);
/* The device node of @dev under the dev root, "" if none: 0 or -errno. */
int ip_dev_node(dev_t dev, char *path, size_t len);

/* Geometry of a block device, from sysfs. */
struct ip_geom {
	dev_t disk;		/* the whole disk, == the device if not a partition */
	bool partition;
	__u64 start;		/* first sector on the disk (partitions) */
	__u64 nr_sectors;	/* size in 512-byte sectors */
	unsigned int lbs;	/* logical block size, 0 if unknown */
};
int ip_geom(dev_t dev, struct ip_geom *g);
bool ip_geom_overlap(const struct ip_geom *a, const struct ip_geom *b);

struct ip_devref {
	dev_t dev;
	char name[IP_NAME_LEN];	/* kernel name, "" if unknown */
};

struct interpose_info {
	enum interpose_state state;
	__u32 flags;
	struct ip_devref orig;
	char path[PATH_MAX];	/* node of the original, "" if none */
	unsigned int nr_targets;
	struct ip_devref targets[BLKINTERPOSE_MAX_TARGETS];
	char ops_name[BLKINTERPOSE_NAME_LEN];
	struct interpose_counters counters;
};

/*
 * Fill @info from the device's "interposer" sysfs line ("none" or
 * "attached targets=M:m,... ops=NAME|- seen=N ..."); unknown keys are
 * skipped.  -EINVAL if the line is neither.
 */
int ip_info_parse_sysfs(const char *line, struct interpose_info *info);

/* A device as messages name it: its node, or the name it was given. */
static inline const char *ip_label(const struct ip_dev *d, const char *arg)
{
	return d->path[0] ? d->path : arg;
}

/* BLKINTERPOSE_QUERY on an open device: 0 or -errno. */
int ip_query_fd(int fd, struct blkinterpose_info *ki);
/* The kernel does not know BLKINTERPOSE_QUERY. */
bool ip_fd_unsupported(int fd);
/*
 * Query a resolved device into @info: through the ioctl if its node can be
 * opened, from sysfs otherwise.  No message; -ENOTTY without kernel
 * support.
 */
int ip_query_dev(const struct ip_dev *d, struct interpose_info *info);

/* The reason for errnos that mean the same for every operation, or NULL. */
const char *ip_common_reason(int err);
/* What is known about a failed BLKINTERPOSE_ATTACH, to explain it. */
struct ip_attach_ctx {
	const char *ops_name;		/* NULL for a plain redirect */
	bool orig_attached;		/* the original already has one */
	bool unsupported;		/* BLKINTERPOSE_QUERY is unknown too */
	const char *busy_target;	/* a target in exclusive use */
	const char *interposed_target;	/* a target that has an interposer */
};
const char *ip_attach_reason(int err, const struct ip_attach_ctx *ctx,
			     char *buf, size_t len);
const char *ip_detach_reason(int err, bool unsupported);

#endif /* __LIBINTERPOSE_INTERNAL_H */
