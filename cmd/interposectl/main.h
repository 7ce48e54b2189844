/* SPDX-License-Identifier: GPL-2.0 */
/*
 * interposectl: shared declarations.  The command files parse their
 * arguments into a structure (testable without a kernel), call
 * libinterpose and print.
 */
#ifndef __INTERPOSECTL_MAIN_H
#define __INTERPOSECTL_MAIN_H

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdio.h>
#include <json-c/json.h>
#include <interpose/libinterpose.h>

#define BIN_NAME	"interposectl"
#define EXIT_USAGE	2

#define __printf(a, b) __attribute__((format(printf, a, b)))

extern bool json_output;
extern bool pretty_output;
/* -d: libinterpose's and libbpf's messages go to stderr */
extern bool debug_output;

/* "libinterpose: MSG" on stderr, the print callback of -d */
int print_debug(enum interpose_print_level level, const char *fmt, va_list ap);

/*
 * While err_capture is set, p_usage(), p_err() and p_err_lib() put their
 * message there (err_capture_len bytes) instead of printing it: apply
 * reports the errors of a tab line as its own.
 */
extern char *err_capture;
extern size_t err_capture_len;

/* "EBUSY" for EBUSY, NULL for a number that has no name. */
const char *errno_name(int err);
/* "MSG (ENAME)", or "MSG (errno N)" for an errno without a name. */
void format_error(char *buf, size_t len, const char *msg, int err);
/*
 * Report the failure of a libinterpose call that returned @err (negative):
 * "interposectl: MSG (ENAME)" on stderr and, in JSON mode,
 * {"error": "MSG (ENAME)", "errno": "ENAME"} on stdout.  Returns the exit
 * status, 1.
 */
int p_err_lib(int err);
/*
 * Report a usage error of command @cmd (NULL for the global options) with a
 * hint to its help; in JSON mode {"error": MSG, "errno": "EINVAL"}.
 * Returns the exit status, EXIT_USAGE.
 */
__printf(2, 3) int p_usage(const char *cmd, const char *fmt, ...);
/* Print @obj (NULL prints null) on stdout, pretty with -p, and free it. */
void print_json(json_object *obj);
/*
 * The global options, accepted before the command and among its own
 * options, as bpftool accepts them: a command adds GLOBAL_LONGOPTS to its
 * option table and GLOBAL_SHORTOPTS to its option string, and passes what
 * its switch does not take to global_opt().
 */
#define GLOBAL_SHORTOPTS "jpd"
#define GLOBAL_LONGOPTS \
	{ "json",   no_argument, NULL, 'j' }, \
	{ "pretty", no_argument, NULL, 'p' }, \
	{ "debug",  no_argument, NULL, 'd' }
/* Take the global option @c: -j, -p or -d.  False if it is none of them. */
bool global_opt(int c);
/* "4k", "512K", "1M", "8192": bytes in *@bytes; 0 or -EINVAL */
int parse_size(const char *s, unsigned long long *bytes);
/* Reset getopt for a new argument vector. */
void getopt_reset(void);
/* Report an option getopt_long() refused; returns EXIT_USAGE. */
int p_bad_option(const char *cmd, int c, char **argv);
/*
 * Parse "CMD [-h] [DEV]" (DEV required unless @optional): 0, or EXIT_USAGE
 * after reporting the error.
 */
int parse_dev_arg(const char *cmd, int argc, char **argv, bool optional,
		  const char **devp, bool *helpp);

/*
 * Devices in JSON, the same in every command: "device" is the kernel name
 * ("nullb0"; MAJ:MIN when sysfs does not know it), "dev" is "MAJ:MIN".
 */
const char *dev_str(dev_t dev, char *buf, size_t len);
/* @name if it is not empty, else dev_str() of @dev */
const char *name_or_dev(const char *name, dev_t dev, char *buf, size_t len);
/* Add "device" and "dev" of @name, @dev to @obj. */
void json_add_dev(json_object *obj, const char *name, dev_t dev);
/* {"device": ..., "dev": ...} */
json_object *dev_json(const char *name, dev_t dev);
/* dev_json() of a kernel device name; "dev" is null if it is gone. */
json_object *dev_name_json(const char *name);
/*
 * json_add_dev() of a device as the user named it (/dev/NAME, NAME or
 * MAJ:MIN); the name as given and a null "dev" if it cannot be queried.
 */
void json_add_dev_arg(json_object *obj, const char *arg);
/* The kernel name of @dev from /sys/dev/block, else dev_str() of it. */
const char *dev_name(dev_t dev, char *buf, size_t len);

/*
 * Report a failure found by interposectl itself, as p_err_lib() does:
 * "interposectl: MSG (ENAME)".  @err is a positive errno; returns 1.
 */
__printf(2, 3) int p_err(int err, const char *fmt, ...);

/*
 * interposectl attach DEV [--to TARGET]... [--ops NAME]
 *	[--prog FILE [--set VAR=VALUE]...] | --dm-table TABLE
 */
struct attach_args {
	const char *dev;
	const char **targets;	/* allocated, see attach_args_free() */
	size_t nr_targets;
	const char *ops;
	const char *prog;	/* a BPF object file */
	const char **vars;	/* "VAR=VALUE", allocated */
	size_t nr_vars;
	const char *dm_table;	/* --dm-table */
	bool observer;		/* --observer */
	bool help;
};
/* attach's options, for the tab parser: what takes a value, what not */
extern const struct option attach_longopts[];
extern const char attach_shortopts[];
/* 0, or EXIT_USAGE after reporting the error; argv[0] is "attach". */
int attach_parse(int argc, char **argv, struct attach_args *a);
void attach_args_free(struct attach_args *a);
void attach_usage(FILE *f);
int do_attach(int argc, char **argv);

/* interposectl replace DEV --prog FILE [--set VAR=VALUE]... */
struct replace_args {
	const char *dev;
	const char *prog;
	const char **vars;	/* allocated, see replace_args_free() */
	size_t nr_vars;
	bool help;
};
int replace_parse(int argc, char **argv, struct replace_args *a);
void replace_args_free(struct replace_args *a);
void replace_usage(FILE *f);
int do_replace(int argc, char **argv);

/* interposectl detach DEV */
struct detach_args {
	const char *dev;
	const char *observer;	/* --observer NAME */
	bool help;
};
int detach_parse(int argc, char **argv, struct detach_args *a);
void detach_usage(FILE *f);
int do_detach(int argc, char **argv);

/* interposectl show [DEV] */
struct show_args {
	const char *dev;	/* NULL: every interposed device */
	bool help;
};
int show_parse(int argc, char **argv, struct show_args *a);
void show_usage(FILE *f);
int do_show(int argc, char **argv);
/* One device as a line of text / a JSON object. */
void show_info_text(FILE *f, const struct interpose_info *info);
json_object *show_info_json(const struct interpose_info *info);

/* interposectl stats DEV */
struct stats_args {
	const char *dev;
	bool help;
};
int stats_parse(int argc, char **argv, struct stats_args *a);
void stats_usage(FILE *f);
int do_stats(int argc, char **argv);
/* The counters of an interposed device as lines / a JSON object. */
void stats_text(FILE *f, const struct interpose_info *info);
json_object *stats_json(const struct interpose_info *info);

/* interposectl ops */
struct ops_args {
	bool help;
};
int ops_parse(int argc, char **argv, struct ops_args *a);
void ops_usage(FILE *f);
int do_ops(int argc, char **argv);
void ops_info_text(FILE *f, const struct interpose_ops_info *ops);
json_object *ops_info_json(const struct interpose_ops_info *ops);

/* interposectl var DEV NAME */
struct var_args {
	const char *dev;
	const char *name;
	bool help;
};
int var_parse(int argc, char **argv, struct var_args *a);
void var_usage(FILE *f);
int do_var(int argc, char **argv);
/*
 * The value of a variable, as interpose_prog_var_fmt() gives it, as JSON
 * (NULL if it does not parse) and as text (a string without its quotes).
 */
json_object *var_value_json(const char *fmt);
void var_value_text(FILE *f, const char *fmt);

/* interposectl trace DEV [--filter EXPR] [--duration S] [--count N] */
struct trace_args {
	const char *dev;
	const char *filter;	/* --filter: an observer of its own with it */
	__u64 duration_ms;
	bool has_duration;
	__u64 count;		/* 0: no limit */
	bool help;
};
int trace_parse(int argc, char **argv, struct trace_args *a);
void trace_usage(FILE *f);
int do_trace(int argc, char **argv);
/* "SF" for sync + fua, "-" for none */
void trace_flags_str(const struct interpose_event *e, char *buf, size_t len);
/* forget the kernel BTF trace loaded (tests: $INTERPOSECTL_KERNEL_BTF) */
void trace_reset_kernel_btf(void);
json_object *trace_event_json(const struct interpose_event *e,
				 const char *name);

/* interposectl hist DEV [--interval S [--count N]] */
struct hist_args {
	const char *dev;
	__u64 interval_ms;	/* 0: once, the counts since attach */
	__u64 count;		/* 0: until interrupted */
	int by;			/* --by: enum interpose_hist_by, -1 none */
	bool help;
};
int hist_parse(int argc, char **argv, struct hist_args *a);
void hist_usage(FILE *f);
int do_hist(int argc, char **argv);
void hist_text(FILE *f, const struct interpose_hist *hists, size_t nr);
json_object *hist_json(const struct interpose_hist *hists, size_t nr);
/* percentile @q (0..1) in microseconds, estimated from the slots */
double hist_percentile(const struct interpose_hist *h, double q);

/*
 * interposectl cbt DEV --start [--block-size SIZE] | DEV [--reset] |
 *	DEV --stop
 */
struct cbt_args {
	const char *dev;
	unsigned int block_shift;	/* log2 of --block-size, 12 to 20 */
	bool start;
	bool stop;
	bool reset;
	bool help;
};
int cbt_parse(int argc, char **argv, struct cbt_args *a);
void cbt_usage(FILE *f);
int do_cbt(int argc, char **argv);
/*
 * The set bits of @bits (@words words, bit b is block b of 1 << @shift
 * bytes) as {"block_size", "extents": [{"offset", "length"}...], "bytes"}:
 * adjacent blocks merged, sorted, the last one ending at @dev_bytes.
 */
json_object *cbt_extents_json(const __u64 *bits, __u64 words,
			      unsigned int shift, __u64 dev_bytes);

/*
 * interposectl snapshot DEV [DEV]... --cow COW [--cow COW]...
 *	[--chunk SIZE] [--name NAME]...
 */
struct snapshot_args {
	const char **devs;	/* allocated, see snapshot_args_free() */
	size_t nr_devs;
	const char **cows;
	size_t nr_cows;
	const char **names;
	size_t nr_names;
	unsigned int chunk_sectors;	/* 0: the library's default */
	bool help;
};
int snapshot_parse(int argc, char **argv, struct snapshot_args *a);
void snapshot_args_free(struct snapshot_args *a);
void snapshot_usage(FILE *f);
int do_snapshot(int argc, char **argv);
/* show: the snapshot of @dev, NULL / nothing printed if it has none */
json_object *snapshot_json(const char *dev);
void snapshot_text(FILE *f, const char *dev);

/*
 * interposetab(5): one line, parsed.  words[0] is the device; argv is
 * "attach", the device, the attach options (pointers into words).
 */
struct tab_line {
	unsigned int lineno;
	bool valid;		/* else error[] says why */
	bool nofail;
	bool required;
	char error[512];
	char **words;
	size_t nr_words;
	char **argv;
	int argc;
	struct attach_args a;	/* a.dev: the device of the line */
	char *prog_abs;		/* realpath() of --prog, NULL if none */
};
struct tab {
	const char *path;
	struct tab_line *lines;	/* every line with words, valid or not */
	size_t nr_lines;
};
/* $INTERPOSETAB, else /etc/interposetab */
const char *tab_default_path(void);
/*
 * Split @s into words as a shell would (quotes, \ escapes, # comments):
 * 0, or negative with the 1-based column and the reason.
 */
int tab_split(const char *s, char ***wordsp, size_t *np, size_t *colp,
	      const char **whyp);
/* Write @w as one word, quoted only if it needs it. */
void tab_quote(FILE *f, const char *w);
/*
 * Parse line @lineno: 0 (l->valid), 1 for a line without words (blank or
 * comment), negative for an invalid line (l->error).  tab_line_free()
 * in every case.
 */
int tab_parse_line(const char *text, unsigned int lineno, struct tab_line *l);
void tab_line_free(struct tab_line *l);
/* Read and parse a file: 0 or -errno (cannot read it). */
int tab_read(const char *path, struct tab *t);
void tab_free(struct tab *t);
/*
 * 1 if the interposer @info is what line @l asks for, 0 if not (@why
 * says how it differs), negative if the line cannot be compared.
 */
int tab_compare(const struct tab_line *l, const struct interpose_info *info,
		char *why, size_t len);
/*
 * What attach and apply attached, kept for apply and save in
 * /run/interposectl/MAJ:MIN ($INTERPOSECTL_RUN_DIR); best effort.
 */
void record_save(const char *devarg, const struct attach_args *a);
void record_remove(const char *devarg);

/* interposectl apply [FILE] [--check] [--prune] [--device DEV] */
struct apply_args {
	const char *file;
	const char *device;
	bool check;
	bool prune;
	bool help;
};
int apply_parse(int argc, char **argv, struct apply_args *a);
void apply_usage(FILE *f);
int do_apply(int argc, char **argv);
/* interposectl save */
void save_usage(FILE *f);
int do_save(int argc, char **argv);

/*
 * interpose-generator NORMAL-DIR [EARLY-DIR LATE-DIR]: the systemd
 * generator of interposetab(5), run when argv[0] is that name.
 */
int generator_main(int argc, char **argv);
/* @path escaped as systemd escapes paths in unit names */
void gen_escape_path(const char *path, char *buf, size_t len);

#endif /* __INTERPOSECTL_MAIN_H */
