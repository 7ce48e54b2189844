// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl trace and hist: what a program attached with --prog reports
 * through the conventions of interpose/event.h.
 *
 * trace DEV: the records of its "events" ring buffer, one line each (text)
 * or one JSON object per line, until interrupted, --duration seconds,
 * --count records, or the device is detached; then how many records were
 * received and how many the program lost (its events_lost counter grew by)
 * while we listened.
 *
 * hist DEV: its "hist" latency histograms per op, once, or every
 * --interval seconds (the counts of that interval) --count times.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/blk-interposer.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "main.h"
/* the ready programs trace and latency, for observers of our own */
#include "trace.skel.h"
#include "latency.skel.h"
#include "keyhist.skel.h"

/* The width of bi_opf's op field: fixed since Linux 4.10 */
#define REQ_OP_BITS	8
#define REQ_OP_MASK	((1U << REQ_OP_BITS) - 1)

/* the INTERPOSE_F_* flags trace shows, and the kernel's names of them */
static const struct {
	__u32 bit;
	const char *name;
	char letter;
	const char *req;	/* enum req_flag_bits */
} flag_names[] = {
	{ INTERPOSE_F_SYNC, "sync", 'S', "__REQ_SYNC" },
	{ INTERPOSE_F_META, "meta", 'M', "__REQ_META" },
	{ INTERPOSE_F_FUA, "fua", 'F', "__REQ_FUA" },
	{ INTERPOSE_F_PREFLUSH, "preflush", 'P', "__REQ_PREFLUSH" },
	{ INTERPOSE_F_RAHEAD, "rahead", 'A', "__REQ_RAHEAD" },
	{ INTERPOSE_F_NOWAIT, "nowait", 'N', "__REQ_NOWAIT" },
};

/* the kernel's enum req_op names of the ops trace tells apart */
static const struct {
	const char *req;
	__u32 op;
} req_ops[] = {
	{ "REQ_OP_READ", INTERPOSE_OP_READ },
	{ "REQ_OP_WRITE", INTERPOSE_OP_WRITE },
	{ "REQ_OP_FLUSH", INTERPOSE_OP_FLUSH },
	{ "REQ_OP_DISCARD", INTERPOSE_OP_DISCARD },
	{ "REQ_OP_SECURE_ERASE", INTERPOSE_OP_SECURE_ERASE },
	{ "REQ_OP_WRITE_ZEROES", INTERPOSE_OP_WRITE_ZEROES },
};

/*
 * The running kernel's BTF, loaded once, for records of programs that
 * leave op and flags to us (no INTERPOSE_F_CLASSIFIED): their raw bi_opf
 * is read with the kernel's own REQ_OP_* values and __REQ_* bits.
 * $INTERPOSECTL_KERNEL_BTF names another BTF file (tests).  NULL if none.
 */
static struct btf *kbtf;
static bool kbtf_tried;

static const struct btf *kernel_btf(void)
{
	const char *path = getenv("INTERPOSECTL_KERNEL_BTF");
	struct btf *btf;

	if (kbtf_tried)
		return kbtf;
	kbtf_tried = true;
	btf = path && path[0] ? btf__parse(path, NULL) : btf__load_vmlinux_btf();
	kbtf = libbpf_get_error(btf) ? NULL : btf;
	return kbtf;
}

void trace_reset_kernel_btf(void)
{
	btf__free(kbtf);
	kbtf = NULL;
	kbtf_tried = false;
}

/* The value of enumerator @name of enum @type in the kernel's BTF. */
static bool kernel_enum(const char *type, const char *name, __s64 *val)
{
	const struct btf *btf = kernel_btf();
	const struct btf_type *t;
	const struct btf_enum *e;
	__s32 id;
	int i;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (i = 0; i < btf_vlen(t); i++, e++) {
		if (!strcmp(btf__name_by_offset(btf, e->name_off), name)) {
			*val = e->val;
			return true;
		}
	}
	return false;
}

/* op and flags of a record from one that has only the kernel's bi_opf */
static void classify_raw(const struct interpose_event *e, __u32 *op,
			 __u32 *flags)
{
	__u32 raw = e->opf & REQ_OP_MASK;
	__s64 v;
	size_t i;

	*flags = 0;
	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (kernel_enum("req_flag_bits", flag_names[i].req, &v) &&
		    v >= 0 && v < 32 && (e->opf & (1U << v)))
			*flags |= flag_names[i].bit;
	*op = INTERPOSE_OP_OTHER;
	for (i = 0; i < sizeof(req_ops) / sizeof(req_ops[0]); i++)
		if (kernel_enum("req_op", req_ops[i].req, &v) && v == raw) {
			*op = req_ops[i].op;
			break;
		}
	if (*op == INTERPOSE_OP_WRITE && !e->bytes &&
	    (*flags & INTERPOSE_F_PREFLUSH))
		*op = INTERPOSE_OP_FLUSH;
}

/*
 * The op (enum interpose_op) and INTERPOSE_F_* flags of a record: as the
 * program classified them, or from its raw bi_opf and the kernel's BTF.
 */
static void classify(const struct interpose_event *e, __u32 *op,
		     __u32 *flags)
{
	if (e->flags & INTERPOSE_F_CLASSIFIED) {
		*op = e->op < INTERPOSE_OP_NR ? e->op : INTERPOSE_OP_OTHER;
		*flags = e->flags;
		return;
	}
	classify_raw(e, op, flags);
}

/* An empty preflush write (fsync, a journal commit) is a flush. */
static const char *op_name(const struct interpose_event *e)
{
	__u32 op, flags;

	classify(e, &op, &flags);
	return interpose_op_name(op);
}

static const char *action_name(__u8 action)
{
	return interpose_verdict_name(action) ?: "unknown";
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "12.5" or "3": a non-negative number of seconds, in milliseconds */
static int parse_seconds(const char *cmd, const char *opt, const char *s,
			 __u64 *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 1e9)
		return p_usage(cmd, "%s: '%s' is not a number of seconds", opt, s);
	*ms = (__u64)(v * 1000 + 0.5);
	return 0;
}

static int parse_count(const char *cmd, const char *opt, const char *s,
		       __u64 *n)
{
	char *end;

	errno = 0;
	*n = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return p_usage(cmd, "%s: '%s' is not a count", opt, s);
	return 0;
}

/* --- trace ----------------------------------------------------------- */

void trace_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s trace DEV [--filter EXPR] [--duration S] [--count N]\n"
		"\n"
		"Print the per-bio records of the program attached to DEV with --prog\n"
		"if it defines the standard \"events\" ring buffer (as the ready\n"
		"programs trace and writelog do), else of the first observer of DEV\n"
		"whose program does, else of an observer of its own (the ready program\n"
		"trace, detached again at the end; DEV's policy is never touched).\n"
		"DEV@OPS reads observer OPS.  One line each, until interrupted,\n"
		"S seconds have passed, N records were printed or DEV is detached.  At\n"
		"the end, the number of records received and lost (the program's\n"
		"events_lost counter grew by) goes to stderr, or as the last JSON line.\n"
		"\n"
		"Columns: TIME(s) since the first record, COMM, PID, OP, FLAGS\n"
		"(S sync, M meta, F fua, P preflush, A readahead, N nowait), SECTOR\n"
		"(relative to DEV), BYTES, VERDICT, ERR (errno or 0), LAT(us) (- for\n"
		"records taken at submission).\n"
		"\n"
		"--filter EXPR always attaches an observer of its own whose program\n"
		"keeps only the bios EXPR matches, in the kernel (compiled to BPF by\n"
		"libinterpose: no compiler needed), e.g.\n"
		"  'op == write && bytes >= 64k && comm == \"postgres\"'\n"
		"Fields: op flags sector bytes pid tid comm cgroup verdict lat_us error;\n"
		"operators == != < <= > >= && || ! ( ) and flags & FLAG; comm takes * and\n"
		"? globs, cgroup a path; numbers with k, M, G.  The grammar is in\n"
		"interposectl(8).\n"
		"\n"
		"Options:\n"
		"  -f, --filter EXPR trace only the bios EXPR matches\n"
		"      --duration S  stop after S seconds\n"
		"  -c, --count N     stop after N records\n"
		"  -h, --help        show this help\n"
		"  -j, -p, -d        global options, here as before COMMAND\n",
		BIN_NAME);
}

int trace_parse(int argc, char **argv, struct trace_args *a)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'D' },
		{ "count",    required_argument, NULL, 'c' },
		{ "filter",   required_argument, NULL, 'f' },
		{ "help",     no_argument,       NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ }
	};
	int c;

	memset(a, 0, sizeof(*a));
	getopt_reset();
	while ((c = getopt_long(argc, argv, ":c:f:h" GLOBAL_SHORTOPTS, opts,
				NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!optarg[0])
				return p_usage("trace", "--filter: an empty expression");
			a->filter = optarg;
			break;
		case 'D':
			if (parse_seconds("trace", "--duration", optarg,
					  &a->duration_ms))
				return EXIT_USAGE;
			a->has_duration = true;
			break;
		case 'c':
			if (parse_count("trace", "--count", optarg, &a->count))
				return EXIT_USAGE;
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			if (!global_opt(c))
				return p_bad_option("trace", c, argv);
		}
	}
	if (optind >= argc)
		return p_usage("trace", "missing DEV");
	a->dev = argv[optind++];
	if (optind < argc)
		return p_usage("trace", "unexpected argument '%s'", argv[optind]);
	return 0;
}

void trace_flags_str(const struct interpose_event *e, char *buf, size_t len)
{
	__u32 op, flags;
	size_t i, n = 0;

	classify(e, &op, &flags);
	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if ((flags & flag_names[i].bit) && n + 1 < len)
			buf[n++] = flag_names[i].letter;
	if (!n && len > 1)
		buf[n++] = '-';
	buf[n < len ? n : len - 1] = '\0';
}

json_object *trace_event_json(const struct interpose_event *e,
				 const char *name)
{
	json_object *obj = json_object_new_object(), *flags;
	__u32 op, f;
	size_t i;

	json_object_object_add(obj, "kind", json_object_new_string(
		e->kind == INTERPOSE_EV_SUBMIT ? "submit" : "complete"));
	json_object_object_add(obj, "ts_ns", json_object_new_uint64(e->ts_ns));
	json_object_object_add(obj, "time", json_object_new_double(e->ts_ns / 1e9));
	json_object_object_add(obj, "pid", json_object_new_int64(e->pid));
	json_object_object_add(obj, "tid", json_object_new_int64(e->tid));
	json_object_object_add(obj, "comm", json_object_new_string_len(
		e->comm, strnlen(e->comm, sizeof(e->comm))));
	json_object_object_add(obj, "cgroup_id", json_object_new_uint64(e->cgroup));
	/* the kernel's dev_t: 12 bits of major, 20 of minor */
	json_add_dev(obj, name, makedev(e->dev >> 20, e->dev & ((1U << 20) - 1)));
	classify(e, &op, &f);
	json_object_object_add(obj, "op", json_object_new_string(interpose_op_name(op)));
	flags = json_object_new_array();
	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (f & flag_names[i].bit)
			json_object_array_add(flags, json_object_new_string(
				flag_names[i].name));
	json_object_object_add(obj, "flags", flags);
	json_object_object_add(obj, "sector", json_object_new_uint64(e->sector));
	json_object_object_add(obj, "bytes", json_object_new_int64(e->bytes));
	json_object_object_add(obj, "verdict",
			       json_object_new_string(action_name(e->action)));
	json_object_object_add(obj, "target", json_object_new_int(e->target));
	json_object_object_add(obj, "error", json_object_new_int(e->error));
	if (e->kind == INTERPOSE_EV_SUBMIT) {
		json_object_object_add(obj, "latency_ns", NULL);
		json_object_object_add(obj, "lat_us", NULL);
	} else {
		json_object_object_add(obj, "latency_ns",
				       json_object_new_uint64(e->latency_ns));
		json_object_object_add(obj, "lat_us",
				       json_object_new_uint64(e->latency_ns / 1000));
	}
	return obj;
}

struct trace_state {
	__u64 printed;
	__u64 max;		/* 0: no limit */
	__u64 first_ns;
	bool header;
	/* the name of the last device seen in a record (JSON) */
	__u32 name_dev;
	char name[64];
};

static int trace_event(void *ctx, const struct interpose_event *e,
		       size_t size)
{
	struct trace_state *st = ctx;
	char flags[16], lat[32];

	(void)size;	/* built with the library's header: all fields there */
	if (st->max && st->printed >= st->max)
		return 0;
	st->printed++;
	if (json_output) {
		/* one object per line, even with -p */
		json_object *obj;

		if (!st->name[0] || st->name_dev != e->dev) {
			dev_name(makedev(e->dev >> 20, e->dev & ((1U << 20) - 1)),
				 st->name, sizeof(st->name));
			st->name_dev = e->dev;
		}
		obj = trace_event_json(e, st->name);

		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		json_object_put(obj);
		return 0;
	}
	if (!st->header) {
		printf("%-11s %-16s %-7s %-12s %-5s %-12s %-8s %-8s %-4s %s\n",
		       "TIME(s)", "COMM", "PID", "OP", "FLAGS", "SECTOR", "BYTES",
		       "VERDICT", "ERR", "LAT(us)");
		st->header = true;
	}
	if (!st->first_ns)
		st->first_ns = e->ts_ns;
	trace_flags_str(e, flags, sizeof(flags));
	if (e->kind == INTERPOSE_EV_SUBMIT)
		snprintf(lat, sizeof(lat), "-");
	else
		snprintf(lat, sizeof(lat), "%.1f", e->latency_ns / 1000.0);
	printf("%-11.6f %-16.16s %-7u %-12s %-5s %-12llu %-8u %-8s %-4d %s\n",
	       (double)(int64_t)(e->ts_ns - st->first_ns) / 1e9,
	       e->comm[0] ? e->comm : "?", e->pid, op_name(e), flags,
	       (unsigned long long)e->sector, e->bytes, action_name(e->action),
	       e->error < 0 ? -e->error : e->error, lat);
	return 0;
}

/* Attached, or failed (a target went away): the ops stays until detach. */
static bool attached_state(const struct interpose_info *info)
{
	return interpose_info__state(info) == INTERPOSE_STATE_ATTACHED ||
	       interpose_info__state(info) == INTERPOSE_STATE_FAILED;
}

/* Has @info the observer @obs? */
static bool has_observer(const struct interpose_info *info, const char *obs)
{
	unsigned int i, n = interpose_info__nr_observers(info);

	for (i = 0; i < n; i++)
		if (!strcmp(interpose_info__observer_name(info, i), obs))
			return true;
	return false;
}

/*
 * "DEV@OPS" names the program of DEV's observer OPS: DEV in @dev and OPS
 * in *@obs; anything else is a device, *@obs NULL.
 */
static void split_observer(const char *arg, char *dev, size_t len,
			   const char **obs)
{
	const char *at = strrchr(arg, '@');

	*obs = NULL;
	snprintf(dev, len, "%s", arg);
	if (!at || !at[1] || strchr(at, '/') || !interpose_resolve_dev(arg, NULL, NULL, 0))
		return;
	snprintf(dev, len, "%.*s", (int)(at - arg), arg);
	*obs = at + 1;
}

/* Is @dev still interposed by the ops @ops (the observer, with @obs)? */
static bool still_attached(const char *dev, const char *ops, bool obs)
{
	struct interpose_info *info;
	bool same;

	if (interpose_query(dev, &info))
		return false;
	if (obs)
		same = has_observer(info, ops);
	else
		same = attached_state(info) && interpose_info__ops_name(info) &&
		       !strcmp(interpose_info__ops_name(info), ops);
	interpose_info__free(info);
	return same;
}

/*
 * What trace or hist reads (the library's DEV or DEV@OPS), and an
 * observer attached for it, detached by watch_end().
 */
struct watch {
	char dev[PATH_MAX];
	char spec[PATH_MAX + BLKINTERPOSE_NAME_LEN + 1];
	char ops[BLKINTERPOSE_NAME_LEN];
	bool observer;		/* @ops is an observer of @dev */
	bool own;		/* ours: detach it at the end */
};

/* Has the program at @spec the map @map (and, for @by >= 0, that "by")? */
static bool has_map(const char *spec, const char *map, int by)
{
	int fd = interpose_prog_map_fd(spec, map);
	__u64 v;

	if (fd < 0)
		return false;
	close(fd);
	return by < 0 || (!interpose_prog_var(spec, "by", &v) && v == (__u64)by);
}

/*
 * The name of an observer of our own: "WHAT_PID_NS", NS the inode of our
 * pid namespace, so that a pid is only ever compared with pids of the
 * namespace it came from (and two namespaces' traces never clash); 0 on
 * a kernel without pid namespaces, where there is only one.
 */
static unsigned long own_pidns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (unsigned long)st.st_ino;
}

/*
 * Detach the observers "trace_PID_NS" and "hist_PID_NS" of @dev that a
 * process of our pid namespace left when it died without detaching them
 * (SIGKILL): the next trace or hist cleans up after it.  Names of other
 * namespaces, or of no trace at all, are never touched.  Best effort;
 * the number detached.
 */
static unsigned int watch_reap(const char *what, const char *dev,
			       const struct interpose_info *info)
{
	unsigned int i, n = interpose_info__nr_observers(info), done = 0;
	unsigned long ns, self = own_pidns();
	char name[BLKINTERPOSE_NAME_LEN], kind[8], tail;
	int pid, err;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s",
			 interpose_info__observer_name(info, i));
		if (sscanf(name, "%5[a-z]_%d_%lu%c", kind, &pid, &ns, &tail) != 3 ||
		    (strcmp(kind, "trace") && strcmp(kind, "hist")) ||
		    ns != self || pid <= 0 || !kill(pid, 0) || errno != ESRCH)
			continue;
		{
			LIBINTERPOSE_OPTS(interpose_detach_opts, opts,
					  .observer = name);

			err = interpose_detach(dev, &opts);
		}
		if (err)
			continue;
		done++;
		if (!json_output)
			fprintf(stderr, "%s: %s %s: detached observer %s, left by process %d, which is gone\n",
				BIN_NAME, what, dev, name, pid);
	}
	return done;
}

/*
 * Find what @what reads on @arg: "DEV@OPS" as given; else the program
 * attached to DEV with --prog if it has the map @map; else the first
 * observer of DEV whose program has it; else an observer of our own,
 * "WHAT_PID_NS", from the object of @elf_sz bytes at @elf.  A policy is
 * never touched.  0, or the exit status after reporting the error.
 */
static int watch_start(const char *what, const char *arg, const char *map,
		       int by, const void *elf, size_t elf_sz,
		       const char *filter, struct watch *w)
{
	char byvar[16];
	const char *vars[] = { byvar };
	struct interpose_info *info;
	unsigned int i, n;
	const char *obs, *name;
	int err;

	memset(w, 0, sizeof(*w));
	split_observer(arg, w->dev, sizeof(w->dev), &obs);
	err = interpose_query(w->dev, &info);
	if (err)
		return p_err_lib(err);
	snprintf(w->spec, sizeof(w->spec), "%s", arg);
	if (obs && filter) {
		err = p_err(EINVAL, "%s %s: --filter attaches an observer of its own; give DEV without @OPS",
			    what, arg);
		goto out;
	}
	/* not under DEV@OPS: that one may be read on purpose */
	if (!obs && watch_reap(what, w->dev, info)) {
		interpose_info__free(info);
		err = interpose_query(w->dev, &info);
		if (err)
			return p_err_lib(err);
	}
	if (filter)
		goto own;
	if (obs) {
		w->observer = true;
		snprintf(w->ops, sizeof(w->ops), "%s", obs);
		err = has_observer(info, obs) ? 0 :
			p_err(ENOENT, "%s %s: %s has no observer named %s",
			      what, arg, w->dev, obs);
		goto out;
	}
	if (attached_state(info) && interpose_info__ops_name(info) &&
	    has_map(arg, map, by)) {
		snprintf(w->ops, sizeof(w->ops), "%s",
			 interpose_info__ops_name(info));
		if (interpose_info__state(info) == INTERPOSE_STATE_FAILED &&
		    !json_output)
			fprintf(stderr, "%s: %s %s: its interposer failed (a target went away): bios fail before the program sees them, until it is detached\n",
				BIN_NAME, what, arg);
		goto out;
	}
	w->observer = true;
	n = interpose_info__nr_observers(info);
	for (i = 0; i < n; i++) {
		name = interpose_info__observer_name(info, i);
		snprintf(w->spec, sizeof(w->spec), "%s@%s", w->dev, name);
		if (has_map(w->spec, map, by)) {
			snprintf(w->ops, sizeof(w->ops), "%s", name);
			goto out;
		}
	}
own:
	w->observer = true;
	snprintf(w->ops, sizeof(w->ops), "%s_%d_%lu", what, (int)getpid(),
		 own_pidns());
	snprintf(w->spec, sizeof(w->spec), "%s@%s", w->dev, w->ops);
	{
		LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
			.flags = INTERPOSE_ATTACH_OBSERVER,
			.prog_buf = elf,
			.prog_buf_sz = elf_sz,
			.ops_name = w->ops,
			.set_vars = vars,
			.nr_set_vars = by >= 0,
			.filter = filter,
		);

		snprintf(byvar, sizeof(byvar), "by=%d", by);
		err = interpose_attach(w->dev, &opts);
		if (err)
			err = p_err_lib(err);
		else
			w->own = true;
	}
	if (debug_output)
		fprintf(stderr, "%s: %s %s: reading %s\n", BIN_NAME, what, arg,
			w->spec);
out:
	interpose_info__free(info);
	return err;
}

/* Detach the observer watch_start() attached, if it did. */
static void watch_end(const struct watch *w)
{
	LIBINTERPOSE_OPTS(interpose_detach_opts, opts, .observer = w->ops);
	int err;

	if (!w->own)
		return;
	err = interpose_detach(w->dev, &opts);
	/* gone already if someone detached it, or the device went away */
	if (err && err != -ENOENT && err != -ENODEV)
		fprintf(stderr, "%s: %s\n", BIN_NAME, interpose_errmsg());
}

int do_trace(int argc, char **argv)
{
	struct trace_state st = { 0 };
	LIBINTERPOSE_OPTS(interpose_events_opts, opts, .ctx = &st);
	struct interpose_events *ev = NULL;
	__u64 lost0 = 0, lost = 0, lost_before = 0, start, deadline = 0;
	__u64 next_check;
	bool have_lost, gone = false;
	struct trace_args a;
	const void *elf;
	size_t elf_sz;
	struct watch w;
	int err, n;

	if (trace_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		trace_usage(stdout);
		return 0;
	}
	st.max = a.count;
	/* before an observer of our own is attached: it goes on a signal */
	catch_signals();
	elf = trace_bpf__elf_bytes(&elf_sz);
	err = watch_start("trace", a.dev, "events", -1, elf, elf_sz, a.filter,
			  &w);
	if (err)
		return err;
	err = interpose_events__new(w.spec, trace_event, &opts, &ev);
	if (err) {
		watch_end(&w);
		return p_err_lib(err);
	}
	have_lost = !interpose_events__lost(ev, &lost0);
	lost = lost0;
	start = now_ms();
	next_check = start + 250;
	if (a.has_duration)
		deadline = start + a.duration_ms;
	fflush(stdout);
	while (!stop && !(st.max && st.printed >= st.max)) {
		__u64 now = now_ms();
		int timeout = 100;

		if (deadline) {
			if (now >= deadline)
				break;
			if (deadline - now < (__u64)timeout)
				timeout = deadline - now;
		}
		n = interpose_events__poll(ev, timeout);
		if (n < 0 && n != -EINTR) {
			err = n;
			break;
		}
		if (n > 0)
			fflush(stdout);
		if (now_ms() >= next_check) {
			next_check = now_ms() + 250;
			if (have_lost)
				interpose_events__lost(ev, &lost);
			if (!still_attached(w.dev, w.ops, w.observer)) {
				gone = true;
				break;
			}
			if (!w.observer && interpose_events__current(ev) == 0) {
				/* replaced: drain the old buffer, follow the new one */
				struct interpose_events *nev = NULL;

				interpose_events__consume(ev);
				if (interpose_events__new(a.dev, trace_event, &opts,
							  &nev))
					continue;	/* not yet pinned */
				if (have_lost)
					lost_before += lost - lost0;
				interpose_events__free(ev);
				ev = nev;
				have_lost = !interpose_events__lost(ev, &lost0);
				lost = lost0;
				if (!json_output)
					fprintf(stderr, "%s: trace %s: the program was replaced; following the new one\n",
						BIN_NAME, a.dev);
			}
		}
	}
	/* what is left in the buffer */
	if (!err && !(st.max && st.printed >= st.max))
		interpose_events__consume(ev);
	if (have_lost && !gone)
		interpose_events__lost(ev, &lost);
	fflush(stdout);
	interpose_events__free(ev);
	watch_end(&w);
	if (err)
		return p_err_lib(err);

	if (json_output) {
		json_object *obj = json_object_new_object();

		json_object_object_add(obj, "events",
				       json_object_new_uint64(st.printed));
		json_object_object_add(obj, "lost", have_lost ?
				       json_object_new_uint64(lost_before + lost - lost0) :
				       NULL);
		json_object_object_add(obj, "detached",
				       json_object_new_boolean(gone));
		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		json_object_put(obj);
	} else if (have_lost) {
		fprintf(stderr, "%s: trace %s: %llu events, %llu lost%s\n",
			BIN_NAME, a.dev, (unsigned long long)st.printed,
			(unsigned long long)(lost_before + lost - lost0),
			gone ? " (detached)" : "");
	} else {
		fprintf(stderr, "%s: trace %s: %llu events, lost unknown (the program has no events_lost)%s\n",
			BIN_NAME, a.dev, (unsigned long long)st.printed,
			gone ? " (detached)" : "");
	}
	return 0;
}

/* --- hist ------------------------------------------------------------ */

static const char *const hist_op_names[INTERPOSE_HIST_NR_OPS] = {
	[INTERPOSE_HIST_READ] = "read",
	[INTERPOSE_HIST_WRITE] = "write",
	[INTERPOSE_HIST_FLUSH] = "flush",
	[INTERPOSE_HIST_DISCARD] = "discard",
	[INTERPOSE_HIST_OTHER] = "other",
};

static const char *const hist_by_names[] = {
	[INTERPOSE_BY_OP] = "op",
	[INTERPOSE_BY_COMM] = "comm",
	[INTERPOSE_BY_PID] = "pid",
	[INTERPOSE_BY_CGROUP] = "cgroup",
};

static int hist_by_of(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(hist_by_names) / sizeof(hist_by_names[0]); i++)
		if (!strcmp(s, hist_by_names[i]))
			return i;
	return -1;
}

void hist_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s hist DEV [--by op|comm|pid|cgroup] [--interval S [--count N]]\n"
		"\n"
		"Print the latency histograms per op (read, write, flush, discard,\n"
		"other) of the program attached to DEV with --prog if it defines the\n"
		"standard \"hist\" map (as the ready program latency does), else of the\n"
		"first observer of DEV whose program does, else of an observer of its\n"
		"own (the ready program latency, detached again at the end; DEV's\n"
		"policy is never touched).  DEV@OPS reads observer OPS.  Log2 slots\n"
		"of microseconds from submission to completion.  Without --interval,\n"
		"the counts since attach, once (an observer of its own collects until\n"
		"SIGINT or SIGTERM first); with it, the counts of each interval, N\n"
		"times (default: until interrupted).  Ops without I/O are left out.\n"
		"Each histogram has p50, p90, p99 and p99.9, estimated from its slots.\n"
		"With --by, one histogram per op, command, process or cgroup (a path\n"
		"below the cgroup2 mount) of the submitter, from an observer of its\n"
		"own (the ready program keyhist), aggregated in the kernel.\n"
		"\n"
		"Options:\n"
		"  -b, --by KEY      key the histograms by op, comm, pid or cgroup\n"
		"  -i, --interval S  print every S seconds\n"
		"  -c, --count N     stop after N intervals\n"
		"  -h, --help        show this help\n"
		"  -j, -p, -d        global options, here as before COMMAND\n",
		BIN_NAME);
}

int hist_parse(int argc, char **argv, struct hist_args *a)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count",    required_argument, NULL, 'c' },
		{ "by",       required_argument, NULL, 'b' },
		{ "help",     no_argument,       NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ }
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->by = -1;
	getopt_reset();
	while ((c = getopt_long(argc, argv, ":i:c:b:h" GLOBAL_SHORTOPTS, opts,
				NULL)) != -1) {
		switch (c) {
		case 'b':
			a->by = hist_by_of(optarg);
			if (a->by < 0)
				return p_usage("hist", "--by: '%s' is not op, comm, pid or cgroup",
					       optarg);
			break;
		case 'i':
			if (parse_seconds("hist", "--interval", optarg,
					  &a->interval_ms))
				return EXIT_USAGE;
			if (!a->interval_ms)
				return p_usage("hist", "--interval: must be more than 0");
			break;
		case 'c':
			if (parse_count("hist", "--count", optarg, &a->count))
				return EXIT_USAGE;
			if (!a->count)
				return p_usage("hist", "--count: must be more than 0");
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			if (!global_opt(c))
				return p_bad_option("hist", c, argv);
		}
	}
	if (a->count && !a->interval_ms)
		return p_usage("hist", "--count needs --interval");
	if (optind >= argc)
		return p_usage("hist", "missing DEV");
	a->dev = argv[optind++];
	if (optind < argc)
		return p_usage("hist", "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* the slots of @h that matter: [*first, *last], false if it is empty */
static bool hist_range(const struct interpose_hist *h, int *first, int *last)
{
	int i;

	*first = -1;
	*last = -1;
	for (i = 0; i < INTERPOSE_HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		if (*first < 0)
			*first = i;
		*last = i;
	}
	return *first >= 0;
}

/* slot @i covers [lo, hi] microseconds */
static void hist_bounds(int i, __u64 *lo, __u64 *hi)
{
	*lo = i ? 1ULL << i : 0;
	*hi = (2ULL << i) - 1;
}

/*
 * Percentile @q (0..1) of @h in microseconds, estimated from its log2
 * slots: linear within the slot the rank falls in (the last, open slot
 * gives its lower bound).  0 for an empty histogram.
 */
double hist_percentile(const struct interpose_hist *h, double q)
{
	__u64 total = 0, cum = 0, lo, hi;
	double rank;
	int i;

	for (i = 0; i < INTERPOSE_HIST_SLOTS; i++)
		total += h->slots[i];
	if (!total)
		return 0;
	rank = q * total;
	for (i = 0; i < INTERPOSE_HIST_SLOTS; i++) {
		if (!h->slots[i] || cum + h->slots[i] < rank) {
			cum += h->slots[i];
			continue;
		}
		hist_bounds(i, &lo, &hi);
		if (i == INTERPOSE_HIST_SLOTS - 1)
			return lo;
		return lo + (rank - cum) / h->slots[i] * (hi + 1 - lo);
	}
	return 0;
}

static const struct {
	const char *name;
	double q;
} hist_pcts[] = {
	{ "p50", 0.50 }, { "p90", 0.90 }, { "p99", 0.99 }, { "p99.9", 0.999 },
};

/* One histogram under the title @what = @key, as biolatency prints it. */
static void hist_one_text(FILE *f, const char *what, const char *key,
			  const struct interpose_hist *h)
{
	int i, first, last, j, stars;
	__u64 max = 0, lo, hi;
	size_t p;

	if (!hist_range(h, &first, &last))
		return;
	for (i = first; i <= last; i++)
		if (h->slots[i] > max)
			max = h->slots[i];
	fprintf(f, "%s = %s: %llu bios, average %.1f us\n", what, key,
		(unsigned long long)h->count,
		h->count ? h->sum_ns / 1000.0 / h->count : 0.0);
	for (p = 0; p < sizeof(hist_pcts) / sizeof(hist_pcts[0]); p++)
		fprintf(f, "%s%s %.1f", p ? ", " : "", hist_pcts[p].name,
			hist_percentile(h, hist_pcts[p].q));
	fprintf(f, " us (estimated from the slots)\n");
	fprintf(f, "%24s : %-10s %s\n", "usecs", "count", "distribution");
	for (i = first; i <= last; i++) {
		char range[40];

		hist_bounds(i, &lo, &hi);
		if (i == INTERPOSE_HIST_SLOTS - 1)
			snprintf(range, sizeof(range), "%llu -> ...",
				 (unsigned long long)lo);
		else
			snprintf(range, sizeof(range), "%llu -> %llu",
				 (unsigned long long)lo,
				 (unsigned long long)hi);
		stars = max ? (int)(h->slots[i] * 40 / max) : 0;
		fprintf(f, "%24s : %-10llu |", range,
			(unsigned long long)h->slots[i]);
		for (j = 0; j < 40; j++)
			fputc(j < stars ? '*' : ' ', f);
		fprintf(f, "|\n");
	}
	fputc('\n', f);
}

void hist_text(FILE *f, const struct interpose_hist *hists, size_t nr)
{
	size_t op;

	for (op = 0; op < nr && op < INTERPOSE_HIST_NR_OPS; op++)
		hist_one_text(f, "op", hist_op_names[op], &hists[op]);
}

/* {count, sum_ns, percentiles{}, slots[]} of one histogram, into @obj */
static void hist_one_json(json_object *obj, const struct interpose_hist *h)
{
	json_object *slots, *pcts;
	int i, first, last;
	__u64 lo, hi;
	size_t p;

	hist_range(h, &first, &last);
	json_object_object_add(obj, "count", json_object_new_uint64(h->count));
	json_object_object_add(obj, "sum_ns", json_object_new_uint64(h->sum_ns));
	pcts = json_object_new_object();
	for (p = 0; p < sizeof(hist_pcts) / sizeof(hist_pcts[0]); p++)
		json_object_object_add(pcts, hist_pcts[p].name,
			json_object_new_double(
				(__u64)(hist_percentile(h, hist_pcts[p].q) * 10 + 0.5) / 10.0));
	json_object_object_add(obj, "percentiles_us", pcts);
	slots = json_object_new_array();
	for (i = first; first >= 0 && i <= last; i++) {
		json_object *s = json_object_new_object();

		hist_bounds(i, &lo, &hi);
		json_object_object_add(s, "usecs_min", json_object_new_uint64(lo));
		json_object_object_add(s, "usecs_max",
			i == INTERPOSE_HIST_SLOTS - 1 ? NULL :
			json_object_new_uint64(hi));
		json_object_object_add(s, "count",
				       json_object_new_uint64(h->slots[i]));
		json_object_array_add(slots, s);
	}
	json_object_object_add(obj, "slots", slots);
}

json_object *hist_json(const struct interpose_hist *hists, size_t nr)
{
	json_object *arr = json_object_new_array(), *obj;
	int first, last;
	size_t op;

	for (op = 0; op < nr && op < INTERPOSE_HIST_NR_OPS; op++) {
		if (!hist_range(&hists[op], &first, &last))
			continue;
		obj = json_object_new_object();
		json_object_object_add(obj, "op",
				       json_object_new_string(hist_op_names[op]));
		hist_one_json(obj, &hists[op]);
		json_object_array_add(arr, obj);
	}
	return arr;
}

static void hist_sub(struct interpose_hist *d, const struct interpose_hist *a,
		     const struct interpose_hist *b)
{
	int i;

	for (i = 0; i < INTERPOSE_HIST_SLOTS; i++)
		d->slots[i] = a->slots[i] - b->slots[i];
	d->count = a->count - b->count;
	d->sum_ns = a->sum_ns - b->sum_ns;
}

/*
 * Start the output of one snapshot: "DEV: S s" before text (for an
 * interval), or a JSON object with the device and interval_s, returned.
 */
static json_object *hist_header(const char *dev, double seconds)
{
	json_object *obj;

	if (!json_output) {
		if (seconds > 0)
			printf("%s: %.1f s\n", dev, seconds);
		return NULL;
	}
	obj = json_object_new_object();
	json_add_dev_arg(obj, dev);
	if (seconds > 0)
		json_object_object_add(obj, "interval_s",
				       json_object_new_double(seconds));
	return obj;
}

/* End it: print the JSON object, if any. */
static void hist_footer(json_object *obj)
{
	if (obj)
		print_json(obj);
	fflush(stdout);
}

/*
 * Read and print one snapshot of what hist reads, covering @seconds (0:
 * since attach): 0 or the exit status after reporting the error.
 */
typedef int (*hist_snap_fn)(const struct hist_args *a,
			    const struct watch *w, double seconds, void *ctx);

/*
 * hist's work on what watch_start() found: one snapshot, or one every
 * interval.  An observer of our own has seen nothing yet: without
 * --interval it collects until SIGINT or SIGTERM, then prints once.
 */
static int hist_run(const struct hist_args *a, const struct watch *w,
		    hist_snap_fn snap, void *ctx)
{
	__u64 done = 0, t0 = now_ms(), t1, target;
	int err;

	if (!a->interval_ms) {
		if (w->own && !json_output)
			fprintf(stderr, "%s: hist %s: collecting; Ctrl-C (SIGINT) or SIGTERM prints\n",
				BIN_NAME, a->dev);
		while (w->own && !stop)
			usleep(100 * 1000);
		return snap(a, w, w->own ? (now_ms() - t0) / 1000.0 : 0, ctx);
	}
	while (!stop && (!a->count || done < a->count)) {
		target = t0 + a->interval_ms;
		while (!stop && now_ms() < target)
			usleep((target - now_ms() > 100 ? 100 :
				target - now_ms()) * 1000);
		t1 = now_ms();
		err = snap(a, w, (t1 - t0) / 1000.0, ctx);
		if (err)
			return err;
		t0 = t1;
		done++;
	}
	return 0;
}

/* The per-op rows: counts only grow, an interval is a difference. */
struct op_hist {
	struct interpose_hist prev[INTERPOSE_HIST_NR_OPS];
	struct interpose_hist cur[INTERPOSE_HIST_NR_OPS];
};

static int op_hist_snap(const struct hist_args *a, const struct watch *w,
			double seconds, void *ctx)
{
	struct op_hist *oh = ctx;
	json_object *obj;
	int n, i;

	n = interpose_hist_read(w->spec, oh->cur, INTERPOSE_HIST_NR_OPS);
	if (n < 0)
		return p_err_lib(n);
	if (a->interval_ms)
		for (i = 0; i < n; i++) {
			struct interpose_hist d;

			hist_sub(&d, &oh->cur[i], &oh->prev[i]);
			oh->prev[i] = oh->cur[i];
			oh->cur[i] = d;
		}
	obj = hist_header(a->dev, seconds);
	if (obj)
		json_object_object_add(obj, "hist", hist_json(oh->cur, n));
	else
		hist_text(stdout, oh->cur, n);
	hist_footer(obj);
	return 0;
}

/* --- hist --by: keyed histograms ---------------------------------------- */

struct khist_row {
	struct interpose_hist_key key;
	struct interpose_hist h;
};

static int khist_cmp(const void *a, const void *b)
{
	const struct khist_row *x = a, *y = b;

	return x->h.count < y->h.count ? 1 : x->h.count > y->h.count ? -1 : 0;
}

/*
 * Every key of the "khist" map of @spec, summed over the CPUs, the most
 * bios first; with @clear the keys read are deleted (each interval
 * starts afresh; the map is ours).  0 or a negative errno.
 */
static int khist_read(const char *spec, bool clear, struct khist_row **rowsp,
		      size_t *np)
{
	struct interpose_hist_key key, next, *prev = NULL;
	struct khist_row *rows = NULL, *r;
	struct interpose_hist *vals;
	size_t n = 0, room = 0, k;
	int fd, ncpu, c, err = 0;

	*rowsp = NULL;
	*np = 0;
	fd = interpose_prog_map_fd(spec, INTERPOSE_KHIST_MAP);
	if (fd < 0)
		return fd;
	ncpu = libbpf_num_possible_cpus();
	vals = ncpu > 0 ? calloc(ncpu, sizeof(*vals)) : NULL;
	if (!vals) {
		close(fd);
		return ncpu > 0 ? -ENOMEM : ncpu;
	}
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;	/* deleted meanwhile */
		if (n == room) {
			room = room ? 2 * room : 64;
			r = realloc(rows, room * sizeof(*rows));
			if (!r) {
				err = -ENOMEM;
				break;
			}
			rows = r;
		}
		r = &rows[n++];
		memset(r, 0, sizeof(*r));
		r->key = key;
		for (c = 0; c < ncpu; c++) {
			for (k = 0; k < INTERPOSE_HIST_SLOTS; k++)
				r->h.slots[k] += vals[c].slots[k];
			r->h.count += vals[c].count;
			r->h.sum_ns += vals[c].sum_ns;
		}
	}
	for (k = 0; clear && k < n; k++)
		bpf_map_delete_elem(fd, &rows[k].key);
	free(vals);
	close(fd);
	if (err) {
		free(rows);
		return err;
	}
	qsort(rows, n, sizeof(*rows), khist_cmp);
	*rowsp = rows;
	*np = n;
	return 0;
}

/*
 * The path of cgroup v2 @id below the cgroup2 mount ("/" the root): the
 * id is its kernfs file handle (FILEID_KERNFS), which open_by_handle_at()
 * opens, as systemd does; "cgroup id N" if that fails.
 */
static void cgroup_path(__u64 id, char *buf, size_t len)
{
	const char *root = getenv("INTERPOSECTL_CGROUP_ROOT") ?: "/sys/fs/cgroup";
	struct {
		struct file_handle fh;
		__u64 id;
	} h = { .fh.handle_bytes = sizeof(__u64), .fh.handle_type = 0xfe };
	char proc[64], path[PATH_MAX];
	size_t rl = strlen(root);
	int mfd, fd = -1;
	ssize_t n = -1;

	memcpy(h.fh.f_handle, &id, sizeof(id));
	mfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd >= 0)
		fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		n = readlink(proc, path, sizeof(path) - 1);
		close(fd);
	}
	if (mfd >= 0)
		close(mfd);
	if (n >= (ssize_t)rl && !strncmp(path, root, rl)) {
		path[n] = '\0';
		snprintf(buf, len, "%s", path[rl] ? path + rl : "/");
	} else {
		snprintf(buf, len, "cgroup id %llu", (unsigned long long)id);
	}
}

/* The key of @r as hist --by @by shows it. */
static void khist_key_str(const struct khist_row *r, int by, char *buf,
			  size_t len)
{
	switch (by) {
	case INTERPOSE_BY_COMM:
		snprintf(buf, len, "%.*s", INTERPOSE_COMM_LEN, r->key.comm);
		break;
	case INTERPOSE_BY_PID:
		snprintf(buf, len, "%u", r->key.pid);
		break;
	case INTERPOSE_BY_CGROUP:
		cgroup_path(r->key.cgroup, buf, len);
		break;
	default:
		snprintf(buf, len, "%s", r->key.op < INTERPOSE_HIST_NR_OPS ?
			 hist_op_names[r->key.op] : "other");
	}
}

static void khist_print(const char *dev, int by, const struct khist_row *rows,
			size_t n, double seconds)
{
	json_object *obj = hist_header(dev, seconds), *arr, *o;
	char key[PATH_MAX];
	size_t i;

	if (obj)
		json_object_object_add(obj, "by",
				       json_object_new_string(hist_by_names[by]));
	arr = obj ? json_object_new_array() : NULL;
	for (i = 0; i < n; i++) {
		khist_key_str(&rows[i], by, key, sizeof(key));
		if (!obj) {
			hist_one_text(stdout, hist_by_names[by], key, &rows[i].h);
			continue;
		}
		o = json_object_new_object();
		if (by == INTERPOSE_BY_PID)
			json_object_object_add(o, "pid",
					       json_object_new_int64(rows[i].key.pid));
		else
			json_object_object_add(o, hist_by_names[by],
					       json_object_new_string(key));
		if (by == INTERPOSE_BY_CGROUP)
			json_object_object_add(o, "cgroup_id",
				json_object_new_uint64(rows[i].key.cgroup));
		hist_one_json(o, &rows[i].h);
		json_object_array_add(arr, o);
	}
	if (obj)
		json_object_object_add(obj, "hist", arr);
	hist_footer(obj);
}

/*
 * hist --by: each interval's keys are deleted after it is read, when the
 * observer is ours (a map of someone else's is read, not changed).
 */
static int khist_snap(const struct hist_args *a, const struct watch *w,
		      double seconds, void *ctx)
{
	struct khist_row *rows;
	size_t n;
	int err;

	(void)ctx;
	err = khist_read(w->spec, w->own && a->interval_ms, &rows, &n);
	if (err)
		return p_err(-err, "hist %s: cannot read its map %s: %s",
			     a->dev, INTERPOSE_KHIST_MAP, strerror(-err));
	khist_print(a->dev, a->by, rows, n, seconds);
	free(rows);
	return 0;
}

int do_hist(int argc, char **argv)
{
	struct op_hist oh = { };
	struct hist_args a;
	const void *elf;
	size_t elf_sz;
	struct watch w;
	int err;

	if (hist_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		hist_usage(stdout);
		return 0;
	}
	catch_signals();
	if (a.by >= 0) {
		elf = keyhist_bpf__elf_bytes(&elf_sz);
		err = watch_start("hist", a.dev, INTERPOSE_KHIST_MAP, a.by,
				  elf, elf_sz, NULL, &w);
		if (err)
			return err;
		err = hist_run(&a, &w, khist_snap, NULL);
		watch_end(&w);
		return err;
	}
	elf = latency_bpf__elf_bytes(&elf_sz);
	err = watch_start("hist", a.dev, "hist", -1, elf, elf_sz, NULL, &w);
	if (err)
		return err;
	/* an interval is counted from here */
	err = a.interval_ms ? interpose_hist_read(w.spec, oh.prev,
						  INTERPOSE_HIST_NR_OPS) : 0;
	if (err < 0)
		err = p_err_lib(err);
	else
		err = hist_run(&a, &w, op_hist_snap, &oh);
	watch_end(&w);
	return err;
}
