/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libinterpose internals, shared by the library's files and its unit tests
 * (which link the static library); nothing here is exported from the
 * shared library.
 *
 * The files call downwards only, never a public entry point of another
 * file (tests/unit/layers checks it):
 *   util.c                   messages, errors, roots, file helpers
 *   backend.c                the kernel's interposer or the module's
 *   dev.c, dm.c, query.c     devices, device-mapper, the query ioctl/sysfs
 *   filter.c                 filter expressions compiled to BPF
 *   prog.c, pin.c, ops.c     BPF objects, BTF variables, pins, struct_ops
 *   interposer.c, events.c   attach/detach/replace, ring buffers, hist
 *   handle.c                 struct interpose_prog, over pin.c and events.c
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

/* The reason for errnos that mean the same for every operation, or NULL. */
const char *ip_common_reason(int err);

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
/* interpose_errmsg(), for the library's own files */
const char *ip_errmsg(void);
/*
 * Whether the process has CAP_SYS_ADMIN in effect, which attach, detach
 * and replace need: checked first so that nothing is loaded or created
 * for a call the kernel would refuse (true if it cannot be told).
 */
bool ip_has_sys_admin(void);

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
 * for the unit tests (ignored in set-user-ID programs).  The same for the
 * BPF filesystem, ip_bpffs_root() below.
 */
const char *ip_sysfs_root(void);
const char *ip_dev_root(void);

/* Read the first line of @path without its newline; -errno on failure. */
int ip_read_line(const char *path, char *buf, size_t len);
int ip_read_u64(const char *path, __u64 *val);
/* snprintf into a buffer that must be large enough: -ENAMETOOLONG. */
__printf(3, 4) int ip_snprintf(char *buf, size_t len, const char *fmt, ...);
/* The backend (interpose_backend()): the module when it is loaded */
enum interpose_backend ip_backend(void);
/* ioctl() of a BLKINTERPOSE_* command on block device @fd, on the backend */
int ip_dev_ioctl(int fd, unsigned long cmd, void *arg);
/* A command on the module's control device, for @fd or (-1) @dev. */
int ip_ctl_ioctl(unsigned long cmd, int fd, dev_t dev, void *arg);
/* Why @what ("a dm table") is refused on the module backend. */
const char *ip_module_refusal(const char *what);

#define IP_NAME_LEN	(NAME_MAX + 1)

/*
 * The most targets the library handles for one interposer.  The kernel's
 * own limit is reported by BLKINTERPOSE_QUERY (blkinterpose_info
 * .max_targets) and checked before an attach; a kernel allowing more
 * than this still gets at most this many from the library.
 */
#define IP_MAX_TARGETS	8
#define IP_MAX_OBSERVERS	8

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
/* Open the node of a resolved device: an fd or -errno (-ENOENT: none). */
int ip_open(const struct ip_dev *d, int flags);
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
	bool have_dma;		/* dma_align is known */
	unsigned int dma_align;	/* DMA alignment mask (queue/dma_alignment) */
	bool zoned;		/* queue/zoned is not "none" */
	bool integrity;		/* the disk has integrity metadata */
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
	/*
	 * For INTERPOSE_STATE_RESERVED: one, targets[0] is the original the
	 * device serves (blkinterpose_info.reserved_for)
	 */
	unsigned int nr_targets;
	struct ip_devref targets[IP_MAX_TARGETS];
	struct ip_devref lost;	/* INTERPOSE_STATE_FAILED: the lost target */
	char ops_name[BLKINTERPOSE_NAME_LEN];
	struct interpose_counters counters;
	unsigned int nr_observers;
	struct ip_observer {
		char name[BLKINTERPOSE_NAME_LEN];
		__u64 seen;
		__u64 ended;
	} observers[IP_MAX_OBSERVERS];
};

/* An interposer is attached to the device, failed or not, or observers. */
static inline bool ip_state_attached(enum interpose_state state)
{
	return state == INTERPOSE_STATE_ATTACHED ||
	       state == INTERPOSE_STATE_FAILED ||
	       state == INTERPOSE_STATE_OBSERVED;
}

/* The same for the kernel's BLKINTERPOSE_STATE_*. */
static inline bool ip_kstate_attached(__u32 state)
{
	return state == BLKINTERPOSE_STATE_ATTACHED ||
	       state == BLKINTERPOSE_STATE_FAILED ||
	       state == BLKINTERPOSE_STATE_OBSERVED;
}

/*
 * Fill @info from the device's "interposer" sysfs line: "none",
 * "reserved for=M:m refused=N", "attached targets=M:m,... ops=NAME|-
 * seen=N ..." or "failed lost=M:m targets=M:m,... ops=NAME|- seen=N ...",
 * "observed targets= ops=- seen=N ...", each with " observers=NAME,..."
 * if it has observers; unknown keys are skipped.  -EINVAL if the line is none of them.
 */
int ip_info_parse_sysfs(const char *line, struct interpose_info *info);
/* @info has an observer whose ops is @name. */
bool ip_info_has_observer(const struct interpose_info *info, const char *name);

/* A device as messages name it: its node, or the name it was given. */
static inline const char *ip_label(const struct ip_dev *d, const char *arg)
{
	return d->path[0] ? d->path : arg;
}

/*
 * BLKINTERPOSE_QUERY on an open device: 0 or -errno.  @targets (may be
 * NULL) has room for @room device numbers, filled with the first ones of
 * the ki->nr_targets targets.
 */
int ip_query_fd(int fd, struct blkinterpose_info *ki,
		struct blkinterpose_dev *targets, unsigned int room);
/* The same, with room for @obs_room observers at @observers (may be NULL). */
int ip_query_fd_obs(int fd, struct blkinterpose_info *ki,
		    struct blkinterpose_dev *targets, unsigned int room,
		    struct blkinterpose_observer *observers,
		    unsigned int obs_room);
/* The kernel does not know BLKINTERPOSE_QUERY. */
bool ip_fd_unsupported(int fd);
/*
 * Query a resolved device into @info: through the ioctl if its node can be
 * opened, from sysfs otherwise.  No message; -ENOTTY without kernel
 * support.
 */
int ip_query_dev(const struct ip_dev *d, struct interpose_info *info);

/* What is known about a failed BLKINTERPOSE_ATTACH, to explain it. */
struct ip_attach_ctx {
	const char *ops_name;		/* NULL for a plain redirect */
	bool orig_attached;		/* the original already has one */
	bool orig_failed;		/* ... and it failed (a target went away) */
	bool zoned;			/* a device is zoned (EOPNOTSUPP) */
	const char *integrity_dev;	/* a device with integrity metadata */
	bool unsupported;		/* BLKINTERPOSE_QUERY is unknown too */
	const char *busy_target;	/* a target in exclusive use */
	const char *reserved_target;	/* a target reserved for another */
	const char *interposed_target;	/* a target that has an interposer */
	const char *stacked_target;	/* module: a target built over the original */
	const char *gone_target;	/* a target that went away (ENODEV) */
};
const char *ip_attach_reason(int err, const struct ip_attach_ctx *ctx,
			     char *buf, size_t len);
const char *ip_detach_reason(int err, bool unsupported);

/* --- BPF programs (prog.c, pin.c, ops.c) --------------------------- */

struct bpf_object;
struct bpf_map;
struct bpf_link;
struct btf;

/*
 * libbpf's messages: the shared library's own libbpf prints through
 * ip_libbpf_print() (installed once, libbpf_private.c), into the user's
 * print callback, keeping the thread's last warning for messages.  The
 * static library never touches libbpf's print callback, which is the
 * application's: its libbpf messages go wherever the application sends
 * them, and no libbpf warning is kept for messages.
 */
#ifdef __LIBBPF_LIBBPF_H
int ip_libbpf_print(enum libbpf_print_level level, const char *fmt,
		    va_list ap);
#endif
/* The reason to give from a libbpf log: last non-summary line of @log. */
void ip_verifier_reason(const char *log, char *buf, size_t len);

/* The interesting part of a BPF object file. */
/* filter.c: expressions compiled to the body of interpose_filter() */
struct interpose_filter;
struct bpf_insn;
/* 0, or -EINVAL with the column and what was expected in the message */
int ip_filter_compile(const char *expr, struct interpose_filter **fp);
void ip_filter_free(struct interpose_filter *f);
const struct bpf_insn *ip_filter_insns(const struct interpose_filter *f,
				       size_t *cnt);
/* what @f reads at submission: enum interpose_filter_field */
__u32 ip_filter_fields(const struct interpose_filter *f);

struct ip_prog {
	const char *path;		/* as given, for messages */
	/* put in place of interpose_filter()'s body at load, then freed */
	struct interpose_filter *filter;
	struct bpf_object *obj;
	struct bpf_map *ops_map;	/* its blk_interposer_ops map */
	char *name;			/* ->name in the map's initial value */
	bool borrowed;			/* the caller's object: not closed */
	bool loaded;			/* the caller loaded it already */
};

/*
 * Make libbpf call the library for struct_ops programs it loads, so that
 * ip_prog_load() can put a filter in (once per process; before the
 * object is opened: libbpf picks the handler when it opens it).
 */
void ip_filter_hook_register(void);

/*
 * Open @path (not load it) and find its one blk_interposer_ops map in
 * SEC(".struct_ops.link").  @what prefixes messages ("attach nullb0").
 */
int ip_prog_open(const char *what, const char *path, struct ip_prog *p);
/* The same for an object file of @sz bytes at @buf. */
int ip_prog_open_mem(const char *what, const void *buf, size_t sz,
		     struct ip_prog *p);
/*
 * The same for an object the caller opened (a skeleton's), loaded or not;
 * ip_prog_close() leaves it open.
 */
int ip_prog_use_obj(const char *what, struct bpf_object *obj,
		    struct ip_prog *p);
/*
 * The shared library, which bundles a libbpf of its own (set there; the
 * unit tests, on the static library, turn it on to see the refusal).
 */
extern bool ip_libbpf_private;
/* Settings apply to an object not loaded yet: else -EINVAL, @setting. */
int ip_prog_not_loaded(const char *what, struct ip_prog *p,
		       const char *setting);
/* Set global variables to typed values of their exact size. */
int ip_prog_set_typed_vars(const char *what, struct ip_prog *p,
			   const struct interpose_var *vars, size_t n);
/*
 * Where an object's global variable @name is (before load): -ENOENT if it
 * has none of that name.
 */
struct ip_var;
int ip_prog_find_var(struct ip_prog *p, const char *name, struct ip_var *v,
		     char **datap);
/* Apply "VAR=VALUE" settings to the opened object. */
int ip_prog_set_vars(const char *what, struct ip_prog *p,
		     const char *const *vars, size_t n);
/* Register the ops under @name instead of the object's. */
int ip_prog_set_name(const char *what, struct ip_prog *p, const char *name);
int ip_prog_load(const char *what, struct ip_prog *p);
/*
 * Load @obj (opened from @path); the verifier's reason for refusing a
 * program is read from a log buffer of this load's own (thread-safe).
 */
#define IP_VERIFIER_LOG_SIZE	(4U << 20)
int ip_obj_load(const char *what, const char *path, struct bpf_object *obj);
void ip_prog_close(struct ip_prog *p);

/*
 * Where a global variable of an object lives: the map of its section, its
 * offset and size in the map's value, and its BTF type.
 */
struct ip_var {
	const struct btf *btf;
	__u32 type_id;			/* the VAR's type */
	__u32 offset;
	__u32 size;
};
/* Find @name in the datasec @sec_id of @btf: 0 or -ENOENT. */
int ip_btf_find_var(const struct btf *btf, __u32 sec_id, const char *name,
		    struct ip_var *v);
/*
 * Parse @val for the variable @v into @dst (v->size bytes); on error,
 * -EINVAL with the reason in @why.
 */
int ip_var_parse(const struct ip_var *v, const char *val, void *dst,
		 char *why, size_t len);
/* The variable's bytes @src as JSON text, see interpose_prog_var_fmt(). */
int ip_var_format(const struct ip_var *v, const void *src, char *buf,
		  size_t len);
/* The integer value of @src for an integer-like @v: 0 or -EINVAL. */
int ip_var_int(const struct ip_var *v, const void *src, __u64 *val);
/* "__u32", "char[16]", "struct foo", ... */
void ip_btf_type_str(const struct btf *btf, __u32 id, char *buf, size_t len);

/* bpffs: "/sys/fs/bpf", or $INTERPOSE_BPFFS_ROOT. */
const char *ip_bpffs_root(void);
/* ROOT/interpose/DEVNAME[/SUB] */
int ip_pin_path(const char *devname, const char *sub, char *buf, size_t len);
/* The name a map is pinned under: "bss" for "verdict.bss", else its name. */
const char *ip_map_pin_name(const char *map_name);
/* Pin @link (if not NULL) and the maps of @obj except @skip. */
int ip_pin_prog(const char *what, const char *devname, struct bpf_link *link,
		struct bpf_object *obj, const struct bpf_map *skip);
/* Remove the maps/ pins (all of them). */
void ip_unpin_maps(const char *devname);
/* Remove every pin of @devname and its directory; -ENOENT if none. */
int ip_unpin_all(const char *devname);
/*
 * A new fd of the map @map_name pinned for the program of @dev; messages
 * start with "@what DEV: ".  No errmsg clearing, no libbpf capture: the
 * caller's.
 */
/*
 * The device of a program attached from an object: resolved, its pin
 * directory's name in @devname; -ENOENT (with a message) if it has none.
 */
int ip_prog_dev(const char *what, const char *dev, struct ip_dev *d,
		char *devname, size_t len);
/* The "hist" map's info follows interpose/event.h: 0 or -EINVAL. */
struct bpf_map_info;
int ip_hist_check(const char *dev, const struct bpf_map_info *info);
/* Read the "hist" map at @fd (see interpose_hist_read()). */
int ip_hist_read_fd(const char *dev, int fd, const struct bpf_map_info *info,
		    struct interpose_hist *hists, size_t nr);
/* An events object over the ring buffer at @fd (not kept: it is mapped). */
#ifdef __LIBBPF_LIBBPF_H
int ip_events_new_fd(const char *dev, int fd, const struct bpf_map_info *info,
		     interpose_event_fn fn, void *ctx,
		     struct interpose_events **evp);
#endif
/* interpose_prog_var() for the library's own use: the message is kept */
int ip_prog_var(const char *dev, const char *var, __u64 *val);
int ip_prog_map_fd_what(const char *what, const char *dev,
			const char *map_name);
/* Open the pinned link of @devname: fd or -errno. */
int ip_pinned_link_fd(const char *devname);
/*
 * Remove the pins of every observer program of @devname ("DEVNAME@OPS"):
 * the number of programs unloaded.
 */
int ip_unpin_observers(const char *devname);
/*
 * Call @fn for each observer program pinned for @devname, with its pin
 * name ("DEVNAME@OPS") and ops name, until it returns non-zero; returns
 * that, or 0.
 */
int ip_for_each_observer_pin(const char *devname,
			     int (*fn)(const char *pin, const char *ops,
				       void *ctx),
			     void *ctx);

/*
 * The kernel's blk_interposer_ops: where the ops name and the state are in
 * a struct_ops map value (vmlinux BTF).
 */
struct ip_kops {
	struct btf *vmlinux;
	struct btf *module;		/* blk_interposer's, on a stock kernel */
	struct btf *btf;		/* the one with the type: either */
	__u32 value_type_id;		/* bpf_struct_ops_blk_interposer_ops */
	__u32 value_size;
	__u32 state_off;		/* common.state */
	__u32 name_off;			/* data.name */
};
struct interpose_ops_info {
	char name[BLKINTERPOSE_NAME_LEN];
	__u32 map_id;
	__u32 link_id;			/* 0: none */
	enum interpose_ops_state state;
	char prog_dev[IP_NAME_LEN];	/* "" if not pinned by us */
	char **devs;			/* kernel names, sorted */
	size_t nr_devs;
};

/* -ENOTTY if the kernel has no blk_interposer_ops. */
int ip_kops_load(struct ip_kops *k);
void ip_kops_free(struct ip_kops *k);
/* The registered name of the ops of a struct_ops map. */
int ip_kops_map_name(const struct ip_kops *k, int map_fd, char *name,
		     size_t len, __u32 *state);
/* The ops name of the struct_ops link @link_fd. */
int ip_link_ops_name(int link_fd, char *name, size_t len);
/*
 * The kernel names of the devices, other than @except (NULL: none),
 * attached to the ops @name (failed interposers too: they hold it until
 * detached), from sysfs; a sorted array of *@cntp strings, freed with
 * ip_names_free().
 */
/* The interposer state of /sys/class/block/@name: its sysfs line. */
int ip_query_class_dev(const char *name, struct interpose_info *info);
int ip_ops_users(const char *name, const char *except, char ***namesp,
		 size_t *cntp);
void ip_names_free(char **names, size_t cnt);
/* "a, b, c" */
void ip_names_join(char **names, size_t cnt, char *buf, size_t len);
/* The name of the pin directory of a resolved device. */
void ip_pin_devname(const struct ip_dev *d, char *buf, size_t len);

/* --- device-mapper (dm.c) ------------------------------------------- */

#define IP_DM_PREFIX		"interpose-"
#define IP_DM_UUID_PREFIX	"INTERPOSE-"

struct dm_ioctl;
/* "interpose-DEVNAME", or with @uuid "INTERPOSE-DEVNAME" */
void ip_dm_name(const char *devname, char *name, size_t len, bool uuid);
/* Parse a table into the dm_target_spec records after @io. */
int ip_dm_parse_table(const char *what, const char *table,
		      struct dm_ioctl *io, size_t size, __u64 *sectors,
		      char ***argsp, size_t *nargsp);
/*
 * Create, load with DM_INTERPOSE_FLAG for @orig, and resume the mapped
 * device for @devname; its number in *@dmdev.  Undone on failure.  With
 * @dmdev NULL, only check the table (INTERPOSE_ATTACH_CHECK).
 */
int ip_dm_create(const char *what, const struct ip_dev *orig,
		 const char *devname, const char *table, dev_t *dmdev);
int ip_dm_remove(const char *name);
/*
 * 1 if @dev is the mapped device made for @devname (its name in @name,
 * its open count in *@open_count, -1 if unknown), 0 if not.
 */
int ip_dm_ours(dev_t dev, const char *devname, char *name, size_t len,
	       int *open_count);

/* --- interposer.c: interpose_attach() and interpose_detach() -------- */

struct interpose_attach_opts;
struct interpose_detach_opts;
int ip_attach(const char *dev, const struct interpose_attach_opts *opts);
int ip_detach(const char *dev, const struct interpose_detach_opts *opts);

/* Suspend, or resume, the mapped device @name (its number in *@devp). */
int ip_dm_suspend(const char *name, bool suspend, dev_t *devp);
/* ip_dm_remove(), retried for a second while the device is busy */
int ip_dm_remove_wait(const char *name);

/* Snapshots (interpose_snapshot()): uuid "INTERPOSE-SNAP-DEVNAME". */
#define IP_DM_SNAP_UUID_PREFIX	"INTERPOSE-SNAP-"

struct ip_dm_snap {
	char name[128];		/* dm name */
	dev_t dev;		/* the snapshot device */
	int open_count;
	char status[128];	/* its target's status line */
	char table[256];	/* its target's parameters */
};
/* 1 if @devname has a snapshot (filled in @snap), 0 if not, or -errno. */
int ip_dm_snap_find(const char *devname, struct ip_dm_snap *snap);
/*
 * Create the snapshot device @name of @orig (DM_INTERPOSE_READ_FLAG) with
 * a dm-snapshot table over @orig and @cow, chunks of @chunk sectors, and
 * resume it; its number in *@snapdev.  Undone on failure.
 */
int ip_dm_snap_create(const char *what, const struct ip_dev *orig,
		      const char *devname, const struct ip_dev *cow,
		      const char *name, __u32 chunk, __u64 sectors,
		      dev_t *snapdev);

#endif /* __LIBINTERPOSE_INTERNAL_H */
