/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libinterpose: attach, detach and query block device interposers.
 *
 * Conventions (those of libbpf):
 * - functions return 0 or a negative errno and also set errno;
 * - interpose_errmsg() gives the calling thread's last error message,
 *   naming the object and the reason, e.g.
 *   "attach /dev/nullb0: target /dev/nullb1 is smaller than the original";
 * - the library prints nothing unless a print callback is installed with
 *   interpose_set_print();
 * - options are passed in *_opts structures whose first field is their
 *   size; declare them with LIBINTERPOSE_OPTS() so that unknown fields are
 *   zero and the library can grow them compatibly;
 * - objects are opaque and read through getters.
 *
 * Devices are named as /dev/NAME (any path to a block device node), NAME
 * (a kernel block device name, e.g. "nullb0" or "loop0p1") or MAJ:MIN.
 */
#ifndef __LIBINTERPOSE_H
#define __LIBINTERPOSE_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <linux/types.h>

#include "interpose/event.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef LIBINTERPOSE_API
#define LIBINTERPOSE_API __attribute__((visibility("default")))
#endif

#define LIBINTERPOSE_MAJOR_VERSION 0
#define LIBINTERPOSE_MINOR_VERSION 11
#define LIBINTERPOSE_PATCH_VERSION 0

/*
 * Declare and zero-initialise an options structure, setting its size:
 *	LIBINTERPOSE_OPTS(interpose_attach_opts, opts, .ops_name = "x");
 * The memset clears the padding too, which the library checks.
 */
#define LIBINTERPOSE_OPTS(TYPE, NAME, ...)				\
	struct TYPE NAME = ({						\
		memset(&NAME, 0, sizeof(struct TYPE));			\
		(struct TYPE) {						\
			.sz = sizeof(struct TYPE),			\
			__VA_ARGS__					\
		};							\
	})

LIBINTERPOSE_API __u32 libinterpose_major_version(void);
LIBINTERPOSE_API __u32 libinterpose_minor_version(void);
/* "v0.5.0" */
LIBINTERPOSE_API const char *libinterpose_version_string(void);

enum interpose_print_level {
	INTERPOSE_WARN,
	INTERPOSE_INFO,
	INTERPOSE_DEBUG,
};

typedef int (*interpose_print_fn_t)(enum interpose_print_level level,
				    const char *format, va_list args);

/*
 * Install a print callback (NULL: print nothing, the default); returns the
 * previous one.  Atomic: may be called from any thread at any time.  Every
 * error is printed at INTERPOSE_WARN as it is stored for
 * interpose_errmsg().
 */
LIBINTERPOSE_API interpose_print_fn_t interpose_set_print(interpose_print_fn_t fn);

/*
 * The calling thread's last error message, "" after a call that succeeded.
 * Valid until the next libinterpose call of the same thread.
 */
LIBINTERPOSE_API const char *interpose_errmsg(void);

/*
 * Resolve a device name (/dev/NAME, NAME or MAJ:MIN) to its device number
 * and, if @path is not NULL, the path of its device node ("" if the device
 * exists but has no node).  Returns -ENOENT if there is no such device,
 * -ENOTBLK if the name exists but is not a block device, -EINVAL for a
 * malformed MAJ:MIN and -ENAMETOOLONG if @len is too small.
 */
LIBINTERPOSE_API int interpose_resolve_dev(const char *name, dev_t *devp,
					   char *path, size_t len);

struct bpf_object;

/* A global variable of a program and its value (@size bytes at @value). */
struct interpose_var {
	const char *name;
	const void *value;
	size_t size;
};

struct interpose_attach_opts {
	size_t sz;			/* sizeof(struct interpose_attach_opts) */
	const char * const *targets;	/* target device names */
	size_t nr_targets;
	/*
	 * Name of a registered interposer ops; NULL or "" for a plain
	 * redirect of every bio to targets[0], which then must exist and be
	 * at least as large as the original.
	 */
	const char *ops_name;
	__u32 flags;			/* INTERPOSE_ATTACH_* */
	/*
	 * A BPF object file with one blk_interposer_ops struct_ops map in
	 * SEC(".struct_ops.link"): loaded, registered under the name in the
	 * object (or under @ops_name if that is given too), pinned below
	 * /sys/fs/bpf/interpose/DEVNAME/ so that it outlives the caller, and
	 * attached.  See interpose_detach() and interpose_replace().
	 */
	const char *prog_path;
	/*
	 * "VAR=VALUE" settings of global variables of @prog_path (.rodata,
	 * .data, .bss), applied before the object is loaded.  VALUE is an
	 * integer (decimal or 0x hex, negative for signed types; true/false
	 * for bool; an enumerator name for enums) or a string for a char
	 * array.
	 */
	const char * const *set_vars;
	size_t nr_set_vars;
	/*
	 * A device-mapper table ("START LEN TYPE ARGS" lines, separated by
	 * newlines or ';') to slide under @dev even while a filesystem holds
	 * it: the mapped device "interpose-DEVNAME" is created with it,
	 * reserved for @dev's interposer (DM_INTERPOSE_FLAG) and attached as
	 * the only target; interpose_detach() removes it again.  The table
	 * must use @dev (as /dev/NAME or MAJ:MIN) and cover all of it.  Not
	 * with targets, ops_name or prog_path.
	 */
	const char *dm_table;
	/*
	 * The program from elsewhere than a file, instead of @prog_path
	 * (since 0.6): @prog_obj, a BPF object the caller opened with libbpf
	 * (a skeleton's obj), loaded or not; the library loads it if it is
	 * not, registers, pins and attaches it, and leaves it open (the pins
	 * keep the program when the caller closes it; a skeleton the caller
	 * loaded keeps its mmaped .bss/.data, which read the attached
	 * program's variables).  Only with the static library, which uses
	 * the application's libbpf: the shared one has a libbpf of its own
	 * and returns -EOPNOTSUPP.  Or an object file of @prog_buf_sz bytes
	 * at @prog_buf (a skeleton's NAME__elf_bytes()), with either.  At
	 * most one of @prog_path, @prog_obj and @prog_buf.
	 */
	struct bpf_object *prog_obj;
	const void *prog_buf;
	size_t prog_buf_sz;
	/*
	 * Typed values for global variables of the program (since 0.6), set
	 * before it is loaded, as @set_vars are: each value has exactly the
	 * size of its variable.  Not for a @prog_obj the caller loaded.
	 */
	const struct interpose_var *vars;
	size_t nr_vars;
	/*
	 * A filter expression (since 0.10, see interpose_filter__new()),
	 * compiled and put in place of the body of the program's global
	 * function interpose_filter() when it is loaded (the ready program
	 * trace calls it for every bio).  A bad expression is refused
	 * (-EINVAL, the column and what was expected in interpose_errmsg())
	 * before anything is opened; a program without such a function too.
	 * Only with @prog_path or @prog_buf.
	 */
	const char *filter;
	size_t :0;
};
#define interpose_attach_opts__last_field filter

/*
 * interpose_attach_opts::flags (since 0.8).  INTERPOSE_ATTACH_CHECK: check
 * everything that can be checked without attaching, and attach nothing:
 * the devices resolve and fit (as for an attach), the program opens, its
 * variables exist and take their values, and it loads and passes the
 * verifier (then it is unloaded again, never registered); a dm table
 * parses, uses the original and covers it.  Not checked: whether the
 * devices can be opened and whether an ops of that name is registered.
 */
#define INTERPOSE_ATTACH_CHECK		(1U << 0)
/*
 * INTERPOSE_ATTACH_OBSERVER (since 0.9): attach the ops (@ops_name, or the
 * program of @prog_path, @prog_obj or @prog_buf) as an observer of @dev:
 * it sees every bio after the device's policy decided it, and its
 * completion with that verdict, and cannot change it.  Works whether @dev
 * has a policy or not (without one every bio passes).  No targets, no
 * dm_table.  A program is pinned below /sys/fs/bpf/interpose/DEVNAME@OPS/.
 * Errors besides those of an attach: -EEXIST the ops already watches @dev
 * or is its policy, -ENOSPC @dev has the most observers the kernel takes.
 * An attach without the flag (a policy) on a device that has observers
 * only keeps them (their counts start afresh).
 */
#define INTERPOSE_ATTACH_OBSERVER	(1U << 1)

/*
 * Attach an interposer to @dev.  The devices are checked in userspace
 * first (the kernel checks again) so that interpose_errmsg() says which
 * target is wrong and why.  Needs CAP_SYS_ADMIN.
 *
 * With @opts->prog_path, the object is loaded and registered first; if
 * anything fails, everything done so far is undone (the ops is
 * unregistered, the pins removed).  The verifier's reason for refusing a
 * program ends up in interpose_errmsg() (read from a log buffer of this
 * call's own: loads in other threads keep theirs), its whole log goes to
 * the print callback at INTERPOSE_INFO.  libbpf_set_print() is never
 * called: the shared library's private libbpf prints to the print
 * callback (interpose_set_print()); with the static library, libbpf's
 * messages go to the application's libbpf print callback.
 *
 * The original is opened for writing (the kernel requires it), the targets
 * too.  At most 8 targets, and no more than the kernel's limit, which
 * BLKINTERPOSE_QUERY reports.
 *
 * Errors: -EINVAL bad options or targets (none for a plain redirect, too
 * many, the original itself, overlapping it, smaller than it, given twice,
 * a larger logical block size or DMA alignment, a bad VAR=VALUE),
 * -EOPNOTSUPP (a zoned device, or one with integrity metadata), -EBUSY @dev is already
 * interposed or a target is in exclusive use, -EPERM, -ENOENT (no such
 * device, the ops is not registered, no such object file or global
 * variable), -EEXIST (the object's ops name is registered already),
 * -EACCES (the verifier refused a program), -ELOOP (would chain
 * interposers), -EBUSY also for a dm_table when the dm device exists
 * already or another device interposes @dev, -ENODEV (a device is going
 * away, or a target went away before the kernel took it), -ENOTTY (the kernel has
 * no block interposers), -E2BIG (@opts has non-zero bytes this library
 * does not know).
 */
LIBINTERPOSE_API int interpose_attach(const char *dev,
				      const struct interpose_attach_opts *opts);

struct interpose_detach_opts {
	size_t sz;			/* sizeof(struct interpose_detach_opts) */
	__u32 flags;			/* must be 0 */
	/*
	 * Detach only this observer (its ops name, since 0.9), and unload
	 * its program if it was attached from one; the policy and the other
	 * observers stay.  -ENOENT if @dev has no such observer.
	 */
	const char *observer;
	size_t :0;
};
#define interpose_detach_opts__last_field observer

/*
 * Detach the interposer of @dev (@opts may be NULL).  Bios already sent to
 * a target complete there.  -ENOENT if @dev is not interposed.  A failed
 * interposer (INTERPOSE_STATE_FAILED: a target went away) is detached the
 * same way, and only so: until then every bio of @dev fails.
 *
 * A program attached with a prog_path is unloaded as well: its pins below
 * /sys/fs/bpf/interpose/DEVNAME/ are removed, which unregisters its ops.
 * Every observer is detached too, and the programs of observers attached
 * from a file unloaded.
 * -EBUSY, before anything is done, if that ops is also attached to other
 * devices (detach those first).  A dm device made for a dm_table is
 * removed after the detach; -EBUSY, before anything is done, if it is
 * open elsewhere.  If @dev was detached already without this call (it
 * went away, which detaches its interposer) but its program is still
 * pinned, the program is unloaded and 0 returned.
 */
LIBINTERPOSE_API int interpose_detach(const char *dev,
				      const struct interpose_detach_opts *opts);

struct interpose_snapshot_opts {
	size_t sz;			/* sizeof(struct interpose_snapshot_opts) */
	/*
	 * Names of the snapshot devices (/dev/mapper/NAME), one per original;
	 * NULL, or a NULL entry: "DEVNAME-snap".
	 */
	const char * const *names;
	/* Chunk size in 512-byte sectors, a power of 2, 8 to 1024; 0: 8. */
	__u32 chunk_sectors;
	size_t :0;
};
#define interpose_snapshot_opts__last_field chunk_sectors

/*
 * Take a point-in-time snapshot of each of the @n devices @devs (since
 * 0.7), with a copy-on-write store on @cows[i]: stock dm-snapshot.  The
 * table "snapshot-origin DEV" is slid under each original as with
 * interpose_attach()'s dm_table; then the filesystems mounted on the
 * originals are all frozen (FIFREEZE), the snapshot devices are created
 * over the originals (DM_INTERPOSE_READ_FLAG: read without a claim) and
 * the stores, and the filesystems are thawed: one point in time for all.
 * interpose_detach() of an original removes its snapshot, then the origin
 * mapping.  Needs CAP_SYS_ADMIN.  Anything done is undone on failure.
 *
 * Errors: -EINVAL (a COW device is an original, or given twice; a bad
 * chunk size; no device), -EBUSY (an original has an interposer already,
 * a COW device is in use, a snapshot of that name exists), -EOPNOTSUPP (a
 * zoned device), -ENOSPC (a COW device smaller than 1 MiB), -EPERM,
 * -ENOENT (no such device), -ENOTTY (no block interposers), or what
 * freezing a filesystem returned.
 */
LIBINTERPOSE_API int
interpose_snapshot(const char * const *devs, const char * const *cows, size_t n,
		   const struct interpose_snapshot_opts *opts);

enum interpose_snapshot_state {
	INTERPOSE_SNAPSHOT_VALID,
	INTERPOSE_SNAPSHOT_INVALID,	/* its store filled up or failed */
	INTERPOSE_SNAPSHOT_UNKNOWN,
};

struct interpose_snapshot_info {
	size_t sz;			/* sizeof(struct interpose_snapshot_info) */
	char name[128];			/* /dev/mapper/NAME */
	dev_t dev;			/* the snapshot device */
	dev_t cow;			/* its copy-on-write store */
	__u32 chunk_sectors;
	enum interpose_snapshot_state state;
	__u64 allocated;		/* sectors of the store in use */
	__u64 total;			/* sectors of the store */
	__u64 metadata;			/* of @allocated, the metadata */
	int open_count;
};

/*
 * The snapshot of @dev (interpose_snapshot()), since 0.7: 0, -ENOENT if
 * it has none.  @info->sz must be set; fields past it are not written.
 */
LIBINTERPOSE_API int interpose_snapshot_query(const char *dev,
					      struct interpose_snapshot_info *info);
LIBINTERPOSE_API const char *
interpose_snapshot_state_str(enum interpose_snapshot_state state);

struct interpose_replace_opts {
	size_t sz;			/* sizeof(struct interpose_replace_opts) */
	const char *prog_path;		/* the new BPF object file */
	const char * const *set_vars;	/* as for interpose_attach_opts */
	size_t nr_set_vars;
	__u32 flags;			/* must be 0 */
	/*
	 * As for interpose_attach_opts (since 0.6): one of @prog_path,
	 * @prog_obj (opened, not loaded: it is registered under the old
	 * ops' name) and @prog_buf is required.
	 */
	struct bpf_object *prog_obj;
	const void *prog_buf;
	size_t prog_buf_sz;
	const struct interpose_var *vars;
	size_t nr_vars;
	size_t :0;
};
#define interpose_replace_opts__last_field nr_vars

/*
 * Replace the program of @dev, which was attached with a prog_path, by
 * another object, atomically (BPF link update): every bio is seen by the
 * old or the new program, and every device that uses the ops by name
 * switches too.  The new struct_ops is registered under the name of the
 * old one whatever its object says.  The new object's maps replace the
 * old ones' pins; the old program's global variables are not carried
 * over.  Needs CAP_SYS_ADMIN.
 *
 * Errors: -ENOENT (no such device or object file, or @dev has no pinned
 * program: it was not attached with a prog_path), -EINVAL (bad options,
 * no blk_interposer_ops in the object, a bad VAR=VALUE), -EACCES (the
 * verifier refused a program), -EPERM.
 */
LIBINTERPOSE_API int interpose_replace(const char *dev,
				       const struct interpose_replace_opts *opts);

enum interpose_state {
	INTERPOSE_STATE_NONE = 0,	/* no interposer attached */
	INTERPOSE_STATE_ATTACHED = 1,
	/*
	 * Reserved by its driver as the target of one original (a dm device
	 * made by interpose_attach() with a dm_table): target 0 is that
	 * original; counters->failed counts the bios it refused because they
	 * did not come through the original's interposer.
	 */
	INTERPOSE_STATE_RESERVED = 2,
	/*
	 * Attached, but a target went away (interpose_info__lost_dev()):
	 * every bio of the device fails with EIO (counters->lost) until the
	 * interposer is detached with interpose_detach().  Targets, ops and
	 * counters are those of the attached interposer.
	 */
	INTERPOSE_STATE_FAILED = 3,
	/*
	 * Observers only, no policy (since 0.9): every bio passes to the
	 * device; interpose_info__nr_observers() is at least 1.
	 */
	INTERPOSE_STATE_OBSERVED = 4,
};

/* Bio counters since attach; fields are only ever appended. */
struct interpose_counters {
	__u64 seen;		/* bios that entered the interposer */
	__u64 passed;		/* passed on to the original */
	__u64 redirected;	/* sent to a target unchanged */
	__u64 remapped;		/* sent to a new sector */
	__u64 failed;		/* failed by the program's verdict */
	__u64 completed;	/* completed without I/O */
	__u64 invalid;		/* failed because a verdict did not validate */
	__u64 lost;		/* failed with EIO because a target went away */
};

/* The interposer state of one device, a snapshot. */
struct interpose_info;

/*
 * Query the interposer of @dev into a new *@infop, to be freed with
 * interpose_info__free().  Needs no privileges: when the device node cannot
 * be opened, the state is read from sysfs instead.
 */
LIBINTERPOSE_API int interpose_query(const char *dev,
				     struct interpose_info **infop);

/*
 * Query every device with an interposer, sorted by name: attached, failed
 * (to be detached) and reserved (INTERPOSE_STATE_RESERVED: a mapped device
 * made to interpose one original).  *@infosp is a new array
 * of *@cntp objects (NULL and 0 if there are none), to be freed with
 * interpose_list__free().
 */
LIBINTERPOSE_API int interpose_list(struct interpose_info ***infosp,
				    size_t *cntp);
LIBINTERPOSE_API void interpose_list__free(struct interpose_info **infos,
					   size_t cnt);

LIBINTERPOSE_API void interpose_info__free(struct interpose_info *info);
LIBINTERPOSE_API enum interpose_state
interpose_info__state(const struct interpose_info *info);
/* The queried device: number, kernel name ("nullb0"), node path or "". */
LIBINTERPOSE_API dev_t interpose_info__dev(const struct interpose_info *info);
LIBINTERPOSE_API const char *interpose_info__name(const struct interpose_info *info);
LIBINTERPOSE_API const char *interpose_info__path(const struct interpose_info *info);
LIBINTERPOSE_API __u32 interpose_info__flags(const struct interpose_info *info);
LIBINTERPOSE_API unsigned int
interpose_info__nr_targets(const struct interpose_info *info);
/* Target @idx: number (0 if out of range), kernel name ("" if unknown,
 * NULL if out of range). */
LIBINTERPOSE_API dev_t interpose_info__target_dev(const struct interpose_info *info,
						  unsigned int idx);
LIBINTERPOSE_API const char *
interpose_info__target_name(const struct interpose_info *info, unsigned int idx);
/*
 * INTERPOSE_STATE_FAILED: the target that went away, its number and its
 * kernel name ("" if unknown); 0 and NULL in the other states.
 */
LIBINTERPOSE_API dev_t interpose_info__lost_dev(const struct interpose_info *info);
LIBINTERPOSE_API const char *
interpose_info__lost_name(const struct interpose_info *info);
/* The attached ops, NULL for a plain redirect or when not attached. */
LIBINTERPOSE_API const char *interpose_info__ops_name(const struct interpose_info *info);
/*
 * The observers of the device, in the order they were attached (since
 * 0.9): their number, the ops name of observer @idx (NULL if out of
 * range), and the bios it saw enter and end (-ENOENT if out of range;
 * both 0 when the state was read from sysfs, which has no counters).
 */
LIBINTERPOSE_API unsigned int
interpose_info__nr_observers(const struct interpose_info *info);
LIBINTERPOSE_API const char *
interpose_info__observer_name(const struct interpose_info *info,
			      unsigned int idx);
LIBINTERPOSE_API int
interpose_info__observer_counts(const struct interpose_info *info,
				unsigned int idx, __u64 *seen, __u64 *ended);
/*
 * Copy the bio counters into @counters, @sz bytes (sizeof(*counters) of
 * the caller's header), as bpf_obj_get_info_by_fd() does: a caller built
 * against a newer header, with more fields, gets zero in those this
 * library does not know; an older one gets the fields it knows.  Returns
 * the number of bytes this library filled (at most @sz), -EINVAL if a
 * pointer is NULL.
 */
LIBINTERPOSE_API int
interpose_info__get_counters(const struct interpose_info *info,
			     struct interpose_counters *counters, size_t sz);
/*
 * Counter @idx of @info, in the order of struct interpose_counters: its
 * name ("seen", "passed", ...) in *@namep and its value in *@valp.  The
 * one list of counter names, so that a program can print every counter
 * this library knows, also those added after it was built.  Returns 0,
 * -ENOENT past the last counter, -EINVAL if a pointer is NULL.
 */
LIBINTERPOSE_API int
interpose_info__counter(const struct interpose_info *info, size_t idx,
			const char **namep, __u64 *valp);
/*
 * Deprecated: a caller built against a newer header than the library's
 * reads past the library's object.  Kept for programs built against 0.4
 * and older; use interpose_info__get_counters().
 */
LIBINTERPOSE_API const struct interpose_counters *
interpose_info__counters(const struct interpose_info *info)
	__attribute__((deprecated("use interpose_info__get_counters()")));

/*
 * Registered interposer ops: the blk_interposer_ops struct_ops maps the
 * kernel knows, found through BPF map ids (the kernel has no list of its
 * own).  Needs CAP_SYS_ADMIN (to get map file descriptors by id).
 */
enum interpose_ops_state {
	INTERPOSE_OPS_REGISTERED = 0,	/* usable: held by a struct_ops link */
	INTERPOSE_OPS_READY = 1,	/* loaded, but registered by no link */
	INTERPOSE_OPS_INIT = 2,		/* created, no programs yet */
	INTERPOSE_OPS_UNKNOWN = 3,
};

struct interpose_ops_info;

/*
 * Every blk_interposer_ops struct_ops map, registered ones first, sorted
 * by name.  *@opsp is a new array of *@cntp objects (NULL and 0 if there
 * are none), to be freed with interpose_ops_list__free().  -ENOTTY if the
 * kernel has no blk_interposer_ops, -EPERM without CAP_SYS_ADMIN.
 */
LIBINTERPOSE_API int interpose_ops_list(struct interpose_ops_info ***opsp,
					size_t *cntp);
LIBINTERPOSE_API void interpose_ops_list__free(struct interpose_ops_info **ops,
					       size_t cnt);
/* The registration name. */
LIBINTERPOSE_API const char *
interpose_ops_info__name(const struct interpose_ops_info *ops);
LIBINTERPOSE_API __u32 interpose_ops_info__map_id(const struct interpose_ops_info *ops);
/* The struct_ops link that registered it, 0 if none. */
LIBINTERPOSE_API __u32 interpose_ops_info__link_id(const struct interpose_ops_info *ops);
LIBINTERPOSE_API enum interpose_ops_state
interpose_ops_info__state(const struct interpose_ops_info *ops);
/* "registered", "ready", "init" or "unknown" */
LIBINTERPOSE_API const char *interpose_ops_state_str(enum interpose_ops_state state);
/*
 * The device whose program this is (it was attached with a prog_path and
 * its link is pinned below /sys/fs/bpf/interpose/), NULL if none.
 */
LIBINTERPOSE_API const char *
interpose_ops_info__prog_dev(const struct interpose_ops_info *ops);
/* The devices it is attached to (kernel names), sorted; only registered
 * ops have any. */
LIBINTERPOSE_API size_t interpose_ops_info__nr_devs(const struct interpose_ops_info *ops);
LIBINTERPOSE_API const char *
interpose_ops_info__dev(const struct interpose_ops_info *ops, size_t idx);

/*
 * The program attached to @dev with a prog_path, through its pins.
 *
 * interpose_prog_map_fd(): a new file descriptor of its map @map_name: a
 * map's name as in the object, or "bss", "data", "rodata" (and
 * "data.NAME", ... for custom sections) for its global data.  -ENOENT if
 * there is no such pin.
 */
LIBINTERPOSE_API int interpose_prog_map_fd(const char *dev, const char *map_name);
/*
 * The global variable @var of the program of @dev (from .bss, .data or
 * .rodata), read now.  interpose_prog_var(): an integer, enum or bool of
 * up to 8 bytes, sign-extended for signed types; -EINVAL for other types.
 * interpose_prog_var_fmt(): any variable as JSON text: a number, true or
 * false, a "string" for a char array, [N, ...] for an array of integers,
 * a "0x..." string of its bytes otherwise; -ENAMETOOLONG if @len is too
 * small.  Both: -ENOENT if @dev has no pinned program or it has no such
 * variable.
 */
LIBINTERPOSE_API int interpose_prog_var(const char *dev, const char *var,
					__u64 *val);
LIBINTERPOSE_API int interpose_prog_var_fmt(const char *dev, const char *var,
					    char *buf, size_t len);

/*
 * Per-bio events of the program attached to @dev with a prog_path, from
 * its "events" ring buffer (the conventions of interpose/event.h; the
 * ready programs trace and writelog follow them).  interpose_events__poll()
 * waits up to @timeout_ms (-1: forever) and calls @fn for each record, in
 * the order the program wrote them.  It returns the number of records
 * handled, or a negative errno (-EINTR on a signal, without a message).
 * @fn returns 0 to go on; a positive value stops the poll cleanly (the
 * records after it stay for the next poll) and is returned as it is, no
 * error (errno and interpose_errmsg() untouched); a negative value stops
 * it too and is returned as an error.
 *
 * @size is the number of bytes at @e, at least sizeof(struct
 * interpose_event) of this library: records written by an older program
 * with fewer fields read as zero in the missing ones, those of a newer
 * program come with all their bytes.  A caller built against a newer
 * header reads a field only if @size covers it:
 *	if (size >= offsetofend(struct interpose_event, field)) ...
 * (Before 0.5 the callback had no @size: such callers must add the
 * parameter; the library's ABI is unchanged, the source is not.)
 *
 * Errors of interpose_events__new(): -ENOENT (no such device, no pinned
 * program, or it has no "events" map), -EINVAL (the map is not a ring
 * buffer, bad options).  Needs CAP_SYS_ADMIN (or CAP_BPF) for the pin.
 */
typedef int (*interpose_event_fn)(void *ctx, const struct interpose_event *e,
				  size_t size);

struct interpose_events_opts {
	size_t sz;			/* sizeof(struct interpose_events_opts) */
	void *ctx;			/* passed to the callback */
	__u32 flags;			/* must be 0 */
	size_t :0;
};
#define interpose_events_opts__last_field flags

struct interpose_events;

LIBINTERPOSE_API int
interpose_events__new(const char *dev, interpose_event_fn fn,
		      const struct interpose_events_opts *opts,
		      struct interpose_events **evp);
LIBINTERPOSE_API int interpose_events__poll(struct interpose_events *ev,
					    int timeout_ms);
/* Handle what is there without waiting; like interpose_events__poll(). */
LIBINTERPOSE_API int interpose_events__consume(struct interpose_events *ev);
/* An epoll file descriptor that becomes readable when records arrive. */
LIBINTERPOSE_API int interpose_events__fd(const struct interpose_events *ev);
/* Records handled so far. */
LIBINTERPOSE_API __u64 interpose_events__received(const struct interpose_events *ev);
/*
 * 1 if the ring buffer being read is still the one pinned for the device,
 * 0 if not (the program was replaced, or detached and unloaded: a new
 * interpose_events__new() follows the new one), a negative errno on a
 * bad argument.
 */
LIBINTERPOSE_API int interpose_events__current(const struct interpose_events *ev);
/*
 * The program's count of records it could not write because the buffer
 * was full (its "events_lost" variable), read now: 0 or -ENOENT if it has
 * none or the program is gone.
 */
LIBINTERPOSE_API int interpose_events__lost(const struct interpose_events *ev,
					    __u64 *lost);
LIBINTERPOSE_API void interpose_events__free(struct interpose_events *ev);

/*
 * Filter expressions (since 0.10), compiled to BPF instructions by the
 * library: no compiler runs on the machine.
 *
 *	expr    := expr '||' expr | expr '&&' expr | '!' expr | '(' expr ')'
 *		 | FIELD CMP VALUE | 'flags' '&' FLAG
 *	CMP     := '==' | '!=' | '<' | '<=' | '>' | '>='
 *
 * '!' binds tightest, then '&&', then '||'.  Fields: op (read, write,
 * flush, discard, secure_erase, write_zeroes, other; an empty preflush
 * write is a flush), flags (sync, meta, prio, fua, preflush, rahead,
 * background, nowait, idle, nomerge, or a number of INTERPOSE_F_* bits),
 * sector, bytes, pid, tid, comm ("string", with * and ? globs), cgroup
 * ("path" below /sys/fs/cgroup, or an id), and at completion verdict
 * (pass, redirect, remap, fail, complete), lat_us and error (a positive
 * errno or its name, EIO).  op, flags, comm, cgroup and verdict take ==
 * and != only.  Numbers are decimal or 0x hex, with an optional k, M or
 * G (powers of 1024).  Comparisons are unsigned.
 *
 * interpose_filter__new() returns -EINVAL for a bad expression, with
 * "filter 'EXPR': column N: expected ..., found ..." in
 * interpose_errmsg().  The code is the body of a BPF function of one
 * argument, a pointer to struct interpose_filter_ctx (interpose/event.h),
 * returning 1 for a bio that matches and 0 otherwise.
 */
struct interpose_filter;
struct bpf_insn;

LIBINTERPOSE_API int interpose_filter__new(const char *expr,
					   struct interpose_filter **filterp);
LIBINTERPOSE_API void interpose_filter__free(struct interpose_filter *filter);
LIBINTERPOSE_API const struct bpf_insn *
interpose_filter__insns(const struct interpose_filter *filter);
LIBINTERPOSE_API size_t
interpose_filter__insn_cnt(const struct interpose_filter *filter);

/*
 * The names filters and records use (since 0.10): of enum interpose_op
 * ("read", "write", "flush", "discard", "secure_erase", "write_zeroes",
 * "other") and of a verdict's action ("pass", "redirect", "remap",
 * "fail", "complete"); NULL for a value that has none.
 */
LIBINTERPOSE_API const char *interpose_op_name(unsigned int op);
LIBINTERPOSE_API const char *interpose_verdict_name(unsigned int action);

/*
 * Which kernel side serves interposers (since 0.11): the interposer built
 * into a patched kernel (CONFIG_BLK_INTERPOSER), or the blk_interposer
 * module loaded into a stock kernel, which takes the same commands on its
 * control device /dev/blk-interposer.  The library picks the module when
 * it is loaded, else the kernel's own.  Features that need kernel changes
 * (device-mapper tables slid under a device, snapshots) are refused on
 * the module with EOPNOTSUPP.
 */
enum interpose_backend {
	INTERPOSE_BACKEND_KERNEL = 1,
	INTERPOSE_BACKEND_MODULE = 2,
};

LIBINTERPOSE_API enum interpose_backend interpose_backend(void);
/* "kernel", "module"; NULL for another value */
LIBINTERPOSE_API const char *interpose_backend_name(enum interpose_backend backend);

/*
 * The latency histograms of the program attached to @dev with a
 * prog_path, from its per-CPU "hist" map (interpose/event.h), summed over
 * the CPUs into @hists[0..@nr-1], indexed by enum interpose_hist_op.
 * Returns the number of rows read (at most @nr), -ENOENT (no pinned
 * program or no "hist" map), -EINVAL (the map does not follow the
 * convention).  Counts only grow: take differences for intervals.
 */
LIBINTERPOSE_API int interpose_hist_read(const char *dev,
					 struct interpose_hist *hists,
					 size_t nr);

/*
 * A handle on the program attached to a device from an object (since
 * 0.6): its pinned maps opened once and their BTF loaded once, for
 * programs that read (or write) them often.  The handle sees the program
 * that was attached when it was opened: after interpose_replace() or a
 * detach, open a new one.
 *
 * interpose_prog__open(): -ENOENT if @dev has no program attached from an
 * object, -EPERM without CAP_SYS_ADMIN.
 */
struct interpose_prog;

LIBINTERPOSE_API int interpose_prog__open(const char *dev,
					  struct interpose_prog **progp);
LIBINTERPOSE_API void interpose_prog__free(struct interpose_prog *prog);
/*
 * The descriptor of map @map_name (its pin name: "bss", "events", "hist",
 * ...), owned by the handle: valid until interpose_prog__free(); dup() it
 * to keep it.  -ENOENT if there is no such map.
 */
LIBINTERPOSE_API int interpose_prog__map_fd(const struct interpose_prog *prog,
					    const char *map_name);
/* As interpose_prog_var() and interpose_prog_var_fmt(), by the handle. */
LIBINTERPOSE_API int interpose_prog__var(const struct interpose_prog *prog,
					 const char *var, __u64 *val);
LIBINTERPOSE_API int interpose_prog__var_fmt(const struct interpose_prog *prog,
					     const char *var, char *buf,
					     size_t len);
/*
 * Write global variable @var of the running program: @size bytes at
 * @value, exactly its size (-EINVAL otherwise).  Only the variable's
 * bytes are written, in place (the program keeps updating the others):
 * .bss and .data only; -EPERM for a .rodata variable (set it before load
 * with interpose_attach_opts.vars), -EOPNOTSUPP for a map that cannot be
 * mapped.  A write of up to 8 aligned bytes is seen whole by the program.
 */
LIBINTERPOSE_API int interpose_prog__set_var(const struct interpose_prog *prog,
					     const char *var,
					     const void *value, size_t size);
/* As interpose_events__new(), by the handle. */
LIBINTERPOSE_API int
interpose_prog__events(const struct interpose_prog *prog, interpose_event_fn fn,
		       const struct interpose_events_opts *opts,
		       struct interpose_events **evp);
/* As interpose_hist_read(), by the handle. */
LIBINTERPOSE_API int interpose_prog__hist_read(const struct interpose_prog *prog,
					       struct interpose_hist *hists,
					       size_t nr);

#ifdef __cplusplus
}
#endif

#endif /* __LIBINTERPOSE_H */
