// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl apply / save: the interposers listed in /etc/interposetab
 * (interposetab(5)), and the records that let save write them back.
 *
 * A tab line is a device and `interposectl attach` options, split into
 * words as a shell would ('...' and "..." quotes, \ escapes, a word that
 * starts with # starts a comment), plus the line options nofail and
 * required.  attach and apply record what they attached in
 * RECORD_DIR/MAJ:MIN as a tab line (absolute paths); detach removes it.
 * apply compares a line with that record, or, for an interposer attached
 * by other means, with what the kernel reports (targets and ops).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "main.h"

#define RECORD_DIR	"/run/interposectl"
#define MAX_TARGETS	8

const char *tab_default_path(void)
{
	const char *p = getenv("INTERPOSETAB");

	return p && p[0] ? p : "/etc/interposetab";
}

static const char *record_dir(void)
{
	const char *p = getenv("INTERPOSECTL_RUN_DIR");

	return p && p[0] ? p : RECORD_DIR;
}

static void tab_free_words(char **words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(words[i]);
	free(words);
}

int tab_split(const char *s, char ***wordsp, size_t *np, size_t *colp,
	      const char **whyp)
{
	char **words = NULL, **tmp, *w;
	const char *p = s, *q;
	size_t n = 0, len;

	*wordsp = NULL;
	*np = 0;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			break;
		tmp = realloc(words, (n + 2) * sizeof(*words));
		if (!tmp) {
			*whyp = "out of memory";
			goto err;
		}
		words = tmp;
		w = malloc(strlen(p) + 1);
		if (!w) {
			*whyp = "out of memory";
			goto err;
		}
		len = 0;
		while (*p && !isspace((unsigned char)*p)) {
			if (*p == '\'') {
				q = strchr(p + 1, '\'');
				if (!q) {
					*whyp = "unterminated ' quote";
					goto err_word;
				}
				memcpy(w + len, p + 1, q - p - 1);
				len += q - p - 1;
				p = q + 1;
			} else if (*p == '"') {
				for (q = p + 1; *q && *q != '"'; q++) {
					if (*q == '\\' && (q[1] == '"' || q[1] == '\\'))
						q++;
					w[len++] = *q;
				}
				if (!*q) {
					*whyp = "unterminated \" quote";
					goto err_word;
				}
				p = q + 1;
			} else if (*p == '\\') {
				if (!p[1]) {
					*whyp = "\\ at the end of the line";
					goto err_word;
				}
				w[len++] = p[1];
				p += 2;
			} else {
				w[len++] = *p++;
			}
		}
		w[len] = '\0';
		words[n++] = w;
		words[n] = NULL;
	}
	*wordsp = words;
	*np = n;
	return 0;

err_word:
	*colp = p - s + 1;
	free(w);
	tab_free_words(words, n);
	return -EINVAL;
err:
	*colp = p - s + 1;
	tab_free_words(words, n);
	return -ENOMEM;
}

/* Characters a word of a line may have without quotes. */
#define PLAIN_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"0123456789-_./:=,+@%^"

void tab_quote(FILE *f, const char *w)
{
	if (w[0] && strspn(w, PLAIN_CHARS) == strlen(w)) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (; *w; w++) {
		if (*w == '\'')
			fputs("'\\''", f);
		else
			fputc(*w, f);
	}
	fputc('\'', f);
}

/* The attach options of @a, as words of a line. */
static void tab_print_opts(FILE *f, const struct attach_args *a)
{
	size_t i;

	for (i = 0; i < a->nr_targets; i++) {
		fputs(" --to ", f);
		tab_quote(f, a->targets[i]);
	}
	if (a->ops) {
		fputs(" --ops ", f);
		tab_quote(f, a->ops);
	}
	if (a->prog) {
		fputs(" --prog ", f);
		tab_quote(f, a->prog);
	}
	for (i = 0; i < a->nr_vars; i++) {
		fputs(" --set ", f);
		tab_quote(f, a->vars[i]);
	}
	if (a->dm_table) {
		fputs(" --dm-table ", f);
		tab_quote(f, a->dm_table);
	}
}

/* A line as text: DEV OPTIONS (newly allocated, NULL without memory). */
static char *tab_format(const char *dev, const struct attach_args *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	tab_quote(f, dev);
	tab_print_opts(f, a);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Whether word @w is an attach option, and whether the next word is its
 * value: 1 takes one, 0 takes none, -1 not an option of attach's tables
 * (attach_parse() reports it).  --opt=value and -tvalue carry their value.
 */
static int attach_opt_arg(const char *w)
{
	const struct option *o;
	const char *p;

	if (w[0] != '-' || !w[1])
		return -1;
	if (w[1] == '-') {
		for (o = attach_longopts; o->name; o++)
			if (!strcmp(w + 2, o->name))
				return o->has_arg == required_argument;
		return strchr(w, '=') ? 0 : -1;
	}
	p = strchr(attach_shortopts + 1, w[1]);
	if (!p || w[1] == ':')
		return -1;
	return p[1] == ':' && !w[2];
}

/*
 * An option of attach that takes no value: --help and the global options
 * (-j, -p, -d), which have no place in a line; in a cluster (-jp) the
 * first letter says.
 */
static bool novalue_opt(const char *w)
{
	const struct option *o;
	const char *p;

	if (w[0] != '-' || !w[1])
		return false;
	if (w[1] == '-') {
		for (o = attach_longopts; o->name; o++)
			if (!strcmp(w + 2, o->name))
				return o->has_arg == no_argument;
		return false;
	}
	p = strchr(attach_shortopts + 1, w[1]);
	return p && w[1] != ':' && p[1] != ':';
}

void tab_line_free(struct tab_line *l)
{
	attach_args_free(&l->a);
	tab_free_words(l->words, l->nr_words);
	free(l->argv);
	free(l->prog_abs);
	memset(l, 0, sizeof(*l));
}

/* Error of line @l: its message in l->error, and the line is invalid. */
__printf(2, 3) static int line_err(struct tab_line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->error, sizeof(l->error), fmt, ap);
	va_end(ap);
	l->valid = false;
	return -EINVAL;
}

int tab_parse_line(const char *text, unsigned int lineno, struct tab_line *l)
{
	const char *why = "";
	size_t col = 0, i;
	bool value = false;
	int err;

	memset(l, 0, sizeof(*l));
	l->lineno = lineno;
	err = tab_split(text, &l->words, &l->nr_words, &col, &why);
	if (err)
		return line_err(l, "column %zu: %s", col, why);
	if (!l->nr_words)
		return 1;
	if (l->words[0][0] == '-')
		return line_err(l, "a line starts with the device, not with an option ('%s')",
				l->words[0]);
	/* "attach", DEV, the options, NULL */
	l->argv = calloc(l->nr_words + 2, sizeof(*l->argv));
	if (!l->argv)
		return line_err(l, "out of memory");
	l->argv[l->argc++] = (char *)"attach";
	l->argv[l->argc++] = l->words[0];
	for (i = 1; i < l->nr_words; i++) {
		char *w = l->words[i];

		if (!value && !strcmp(w, "nofail")) {
			l->nofail = true;
			continue;
		}
		if (!value && !strcmp(w, "required")) {
			l->required = true;
			continue;
		}
		if (!value && novalue_opt(w))
			return line_err(l, "option '%s' has no place in a tab line", w);
		value = !value && attach_opt_arg(w) == 1;
		l->argv[l->argc++] = w;
	}
	if (l->nofail && l->required)
		return line_err(l, "nofail and required exclude each other");

	{
		char msg[512];

		err_capture = msg;
		err_capture_len = sizeof(msg);
		err = attach_parse(l->argc, l->argv, &l->a);
		err_capture = NULL;
		if (err)
			return line_err(l, "%s", msg);
	}
	if (!l->a.nr_targets && !l->a.ops && !l->a.prog && !l->a.dm_table)
		return line_err(l, "no --to, --ops, --prog or --dm-table: nothing to attach");
	if (l->a.prog) {
		if (l->a.prog[0] != '/')
			return line_err(l, "--prog %s: a tab line needs an absolute path",
					l->a.prog);
		/* the record keeps the file's real path */
		l->prog_abs = realpath(l->a.prog, NULL);
	}
	l->valid = true;
	return 0;
}

void tab_free(struct tab *t)
{
	size_t i;

	for (i = 0; i < t->nr_lines; i++)
		tab_line_free(&t->lines[i]);
	free(t->lines);
	memset(t, 0, sizeof(*t));
}

int tab_read(const char *path, struct tab *t)
{
	char *text = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	ssize_t n;
	FILE *f;
	int err = 0;

	memset(t, 0, sizeof(*t));
	t->path = path;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((n = getline(&text, &cap, f)) >= 0) {
		struct tab_line l, *tmp;

		lineno++;
		if (n > 0 && text[n - 1] == '\n')
			text[n - 1] = '\0';
		if (tab_parse_line(text, lineno, &l) > 0) {
			tab_line_free(&l);
			continue;
		}
		tmp = realloc(t->lines, (t->nr_lines + 1) * sizeof(*tmp));
		if (!tmp) {
			tab_line_free(&l);
			err = -ENOMEM;
			break;
		}
		t->lines = tmp;
		t->lines[t->nr_lines++] = l;
	}
	if (!err && ferror(f))
		err = -EIO;
	free(text);
	fclose(f);
	if (err)
		tab_free(t);
	return err;
}

/* --- records ------------------------------------------------------- */

static void record_path(dev_t dev, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%u:%u", record_dir(), major(dev), minor(dev));
}

void record_save(const char *devarg, const struct attach_args *a)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], name[64], dbuf[80], *line;
	struct attach_args r = *a;
	char *prog = NULL;
	dev_t dev;
	FILE *f;

	if (interpose_resolve_dev(devarg, &dev, NULL, 0))
		return;
	if (devarg[0] != '/') {
		snprintf(dbuf, sizeof(dbuf), "/dev/%s",
			 dev_name(dev, name, sizeof(name)));
		devarg = dbuf;
	}
	if (a->prog) {
		prog = realpath(a->prog, NULL);
		if (prog)
			r.prog = prog;
	}
	line = tab_format(devarg, &r);
	free(prog);
	if (!line || (mkdir(record_dir(), 0755) && errno != EEXIST)) {
		free(line);
		return;
	}
	record_path(dev, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (f) {
		fprintf(f, "%s\n", line);
		if (fclose(f) || rename(tmp, path))
			unlink(tmp);
	}
	free(line);
}

void record_remove(const char *devarg)
{
	char path[PATH_MAX];
	dev_t dev;

	if (interpose_resolve_dev(devarg, &dev, NULL, 0))
		return;
	record_path(dev, path, sizeof(path));
	unlink(path);
}

/* The record of @dev as a parsed line: 0, or -ENOENT without one. */
static int record_load(dev_t dev, struct tab_line *l)
{
	char path[PATH_MAX], *text = NULL;
	size_t cap = 0;
	FILE *f;
	int err = -ENOENT;

	memset(l, 0, sizeof(*l));
	record_path(dev, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	if (getline(&text, &cap, f) > 0) {
		text[strcspn(text, "\n")] = '\0';
		if (!tab_parse_line(text, 0, l))
			err = 0;
		else
			tab_line_free(l);
	}
	free(text);
	fclose(f);
	return err;
}

/* --- comparing ----------------------------------------------------- */

/* What an interposer is: its targets by number, and how it decides. */
struct tab_policy {
	dev_t targets[MAX_TARGETS];
	size_t nr_targets;
	const char *ops;
	const char *prog;
	const char *const *vars;
	size_t nr_vars;
	const char *dm_table;
};

/* The policy line @l asks for; 0, or -ENODEV with @why set. */
static int policy_of_line(const struct tab_line *l, struct tab_policy *p,
			  char *why, size_t len)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	if (l->a.nr_targets > MAX_TARGETS) {
		snprintf(why, len, "too many targets (%zu, at most %d)",
			 l->a.nr_targets, MAX_TARGETS);
		return -EINVAL;
	}
	for (i = 0; i < l->a.nr_targets; i++) {
		if (interpose_resolve_dev(l->a.targets[i], &p->targets[i],
					  NULL, 0)) {
			snprintf(why, len, "target %s: no such block device",
				 l->a.targets[i]);
			return -ENODEV;
		}
	}
	p->nr_targets = l->a.nr_targets;
	p->ops = l->a.ops;
	p->prog = l->prog_abs ?: l->a.prog;
	p->vars = l->a.vars;
	p->nr_vars = l->a.nr_vars;
	p->dm_table = l->a.dm_table;
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool policy_equal(const struct tab_policy *a, const struct tab_policy *b)
{
	size_t i;

	if (a->nr_targets != b->nr_targets || a->nr_vars != b->nr_vars ||
	    !str_eq(a->ops, b->ops) || !str_eq(a->prog, b->prog) ||
	    !str_eq(a->dm_table, b->dm_table))
		return false;
	for (i = 0; i < a->nr_targets; i++)
		if (a->targets[i] != b->targets[i])
			return false;
	for (i = 0; i < a->nr_vars; i++)
		if (strcmp(a->vars[i], b->vars[i]))
			return false;
	return true;
}

/*
 * Whether the record @r describes the interposer @info: the same targets
 * (a dm table's one target is its mapped device) and a program or ops
 * where the kernel has one.  A record that does not is stale.
 */
static bool record_fits(const struct tab_policy *r,
			const struct interpose_info *info)
{
	unsigned int i, n = interpose_info__nr_targets(info);
	const char *ops = interpose_info__ops_name(info);

	if (r->dm_table)
		return n == 1 && !ops;
	if (n != r->nr_targets || !!ops != !!(r->ops || r->prog))
		return false;
	if (ops && r->ops && !r->prog && strcmp(ops, r->ops))
		return false;
	for (i = 0; i < n; i++)
		if (interpose_info__target_dev(info, i) != r->targets[i])
			return false;
	return true;
}

/*
 * The record of @info's device, if it describes @info (a record of an
 * earlier attach is stale): 0 with *@rec parsed and *@have its policy
 * (pointing into *@rec: tab_line_free() it after), else -ENOENT.
 */
static int record_of(const struct interpose_info *info, struct tab_line *rec,
		     struct tab_policy *have)
{
	char why[64];

	if (record_load(interpose_info__dev(info), rec))
		return -ENOENT;
	if (!policy_of_line(rec, have, why, sizeof(why)) &&
	    record_fits(have, info))
		return 0;
	tab_line_free(rec);
	return -ENOENT;
}

/* "--to nullb1 --ops NAME" of what the kernel reports of @info. */
static void info_opts(const struct interpose_info *info, char *buf, size_t len)
{
	unsigned int i, n = interpose_info__nr_targets(info);
	const char *ops = interpose_info__ops_name(info);
	size_t off = 0;
	char name[64];

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s--to /dev/%s",
				off ? " " : "",
				dev_name(interpose_info__target_dev(info, i),
					 name, sizeof(name)));
	if (ops && off < len)
		snprintf(buf + off, len - off, "%s--ops %s", off ? " " : "", ops);
}

static void args_opts(const struct attach_args *a, char *buf, size_t len)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	buf[0] = '\0';
	if (!f)
		return;
	tab_print_opts(f, a);
	if (!fclose(f))
		snprintf(buf, len, "%s", s[0] == ' ' ? s + 1 : s);
	free(s);
}

/*
 * Whether the interposer @info is what line @l asks for: 1 yes, 0 no
 * (@why says how it differs), negative if the line cannot be compared.
 */
int tab_compare(const struct tab_line *l, const struct interpose_info *info,
		char *why, size_t len)
{
	struct tab_policy want, have;
	struct tab_line rec;
	char h[512], w[512];
	int ret;

	switch (interpose_info__state(info)) {
	case INTERPOSE_STATE_ATTACHED:
		break;
	case INTERPOSE_STATE_FAILED:
		snprintf(why, len, "its interposer failed (target %s went away; every bio fails until it is detached)",
			 interpose_info__lost_name(info) ?: "?");
		return 0;
	case INTERPOSE_STATE_RESERVED:
		snprintf(why, len, "it is reserved as the target of another device");
		return 0;
	case INTERPOSE_STATE_OBSERVED:
		snprintf(why, len, "it has observers only, no policy (detach them to apply the line)");
		return 0;
	default:
		snprintf(why, len, "it is not interposed");
		return 0;
	}
	ret = policy_of_line(l, &want, why, len);
	if (ret)
		return ret;
	args_opts(&l->a, w, sizeof(w));
	if (!record_of(info, &rec, &have)) {
		ret = policy_equal(&want, &have);
		args_opts(&rec.a, h, sizeof(h));
		tab_line_free(&rec);
		if (!ret)
			snprintf(why, len, "it is interposed with '%s', the line asks for '%s'",
				 h, w);
		return ret;
	}
	/* attached by other means: the kernel knows targets and ops only */
	info_opts(info, h, sizeof(h));
	if (want.prog || want.dm_table) {
		snprintf(why, len, "it is interposed with '%s' by other means than interposectl, the line asks for '%s'",
			 h, w);
		return 0;
	}
	memset(&have, 0, sizeof(have));
	have.nr_targets = interpose_info__nr_targets(info);
	if (have.nr_targets > MAX_TARGETS)
		have.nr_targets = MAX_TARGETS;
	for (size_t i = 0; i < have.nr_targets; i++)
		have.targets[i] = interpose_info__target_dev(info, i);
	have.ops = interpose_info__ops_name(info);
	if (policy_equal(&want, &have))
		return 1;
	snprintf(why, len, "it is interposed with '%s', the line asks for '%s'",
		 h, w);
	return 0;
}

/* --- apply ----------------------------------------------------------- */

void apply_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s apply [FILE] [--check] [--prune] [--device DEV]\n"
		"\n"
		"Attach the interposers that FILE (default /etc/interposetab, see\n"
		"interposetab(5)) lists and that are not attached yet.  A device already\n"
		"interposed as its line says is left alone; one interposed otherwise is\n"
		"reported and left alone too.  Errors name the line as FILE:LINE.  The\n"
		"exit status is 1 if a line could not be applied (a missing device of\n"
		"a nofail line is not an error).\n"
		"\n"
		"Options:\n"
		"  -c, --check        check every line (devices, programs and their\n"
		"                     variables, dm tables) and attach nothing\n"
		"  -P, --prune        also detach the interposers no line names (not\n"
		"                     those with a snapshot)\n"
		"  -D, --device DEV   only the lines of block device DEV (udev, boot)\n"
		"  -h, --help         show this help\n"
		"  -j, -p, -d         global options, here as before COMMAND\n",
		BIN_NAME);
}

int apply_parse(int argc, char **argv, struct apply_args *a)
{
	static const struct option opts[] = {
		{ "check",  no_argument,       NULL, 'c' },
		{ "prune",  no_argument,       NULL, 'P' },
		{ "device", required_argument, NULL, 'D' },
		{ "help",   no_argument,       NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ }
	};
	int c;

	memset(a, 0, sizeof(*a));
	getopt_reset();
	while ((c = getopt_long(argc, argv, ":cPD:h" GLOBAL_SHORTOPTS, opts,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			a->check = true;
			break;
		case 'P':
			a->prune = true;
			break;
		case 'D':
			if (a->device)
				return p_usage("apply", "--device given twice");
			a->device = optarg;
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			if (!global_opt(c))
				return p_bad_option("apply", c, argv);
		}
	}
	if (optind < argc)
		a->file = argv[optind++];
	if (optind < argc)
		return p_usage("apply", "unexpected argument '%s'", argv[optind]);
	if (a->prune && a->device)
		return p_usage("apply", "--prune works on the whole file, not with --device");
	if (!a->file)
		a->file = tab_default_path();
	return 0;
}

struct apply_ctx {
	const char *file;
	json_object *results;
	int failures;
};

/*
 * One result: JSON object, or a line of text (stdout, or stderr for a
 * failure).  @lineno 0: a device no line names (--prune).
 */
static void report(struct apply_ctx *ctx, unsigned int lineno,
		   const char *devarg, const char *result, bool failure,
		   const char *msg)
{
	if (failure)
		ctx->failures++;
	if (json_output) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(ctx->file));
		json_object_object_add(o, "line", lineno ?
				       json_object_new_int(lineno) : NULL);
		if (devarg)
			json_add_dev_arg(o, devarg);
		else
			json_object_object_add(o, "device", NULL);
		json_object_object_add(o, "result", json_object_new_string(result));
		if (msg)
			json_object_object_add(o, "message",
					       json_object_new_string(msg));
		json_object_array_add(ctx->results, o);
		return;
	}
	if (lineno)
		fprintf(failure ? stderr : stdout, "%s:%u: %s%s%s%s%s\n",
			ctx->file, lineno, devarg ?: "", devarg ? ": " : "",
			result, msg ? ": " : "", msg ?: "");
	else
		fprintf(failure ? stderr : stdout, "%s: %s%s%s\n", devarg,
			result, msg ? ": " : "", msg ?: "");
}

/* Attach (or with @check, check) line @l; 0 or the library's error. */
static int apply_attach(const struct tab_line *l, bool check, char *msg,
			size_t len)
{
	int err;

	LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
		.targets = l->a.targets,
		.nr_targets = l->a.nr_targets,
		.ops_name = l->a.ops,
		.prog_path = l->a.prog,
		.set_vars = l->a.vars,
		.nr_set_vars = l->a.nr_vars,
		.dm_table = l->a.dm_table,
		.flags = check ? INTERPOSE_ATTACH_CHECK : 0,
	);
	err = interpose_attach(l->a.dev, &opts);
	if (err) {
		const char *m = interpose_errmsg();

		format_error(msg, len, m[0] ? m : strerror(-err), -err);
	}
	return err;
}

static void apply_line(struct apply_ctx *ctx, const struct tab_line *l,
		       const struct apply_args *args)
{
	struct interpose_info *info = NULL;
	char msg[768];
	dev_t dev;
	int ret;

	if (interpose_resolve_dev(l->a.dev, &dev, NULL, 0)) {
		if (l->nofail)
			report(ctx, l->lineno, l->a.dev, "absent", false,
			       "no such block device (nofail)");
		else
			report(ctx, l->lineno, l->a.dev, "failed", true,
			       "no such block device");
		return;
	}
	ret = interpose_query(l->a.dev, &info);
	if (ret) {
		format_error(msg, sizeof(msg), interpose_errmsg(), -ret);
		report(ctx, l->lineno, l->a.dev, "failed", true, msg);
		return;
	}
	if (interpose_info__state(info) == INTERPOSE_STATE_NONE) {
		interpose_info__free(info);
		info = NULL;
		ret = apply_attach(l, args->check, msg, sizeof(msg));
		if (!ret) {
			if (!args->check)
				record_save(l->a.dev, &l->a);
			report(ctx, l->lineno, l->a.dev,
			       args->check ? "valid" : "attached", false, NULL);
			return;
		}
		/* attached meanwhile (a udev event and a boot unit)? */
		if (ret != -EBUSY || interpose_query(l->a.dev, &info) ||
		    interpose_info__state(info) == INTERPOSE_STATE_NONE) {
			report(ctx, l->lineno, l->a.dev, "failed", true, msg);
			interpose_info__free(info);
			return;
		}
	}
	ret = tab_compare(l, info, msg, sizeof(msg));
	interpose_info__free(info);
	if (ret > 0)
		report(ctx, l->lineno, l->a.dev, "unchanged", false, NULL);
	else
		report(ctx, l->lineno, l->a.dev, ret ? "failed" : "differs",
		       true, msg);
}

/* Whether a valid line of @t names @dev. */
static bool tab_names(const struct tab *t, dev_t dev)
{
	size_t i;
	dev_t d;

	for (i = 0; i < t->nr_lines; i++)
		if (t->lines[i].valid &&
		    !interpose_resolve_dev(t->lines[i].a.dev, &d, NULL, 0) &&
		    d == dev)
			return true;
	return false;
}

static void apply_prune(struct apply_ctx *ctx, const struct tab *t,
			bool check)
{
	struct interpose_snapshot_info snap = { .sz = sizeof(snap) };
	struct interpose_info **infos;
	char path[80], msg[768];
	size_t n, i;
	int err;

	err = interpose_list(&infos, &n);
	if (err) {
		format_error(msg, sizeof(msg), interpose_errmsg(), -err);
		report(ctx, 0, "(all devices)", "failed", true, msg);
		return;
	}
	for (i = 0; i < n; i++) {
		enum interpose_state st = interpose_info__state(infos[i]);
		char name[64];

		/* observers are not the tab's: a trace may be running */
		if (st == INTERPOSE_STATE_RESERVED ||
		    st == INTERPOSE_STATE_OBSERVED ||
		    tab_names(t, interpose_info__dev(infos[i])))
			continue;
		snprintf(path, sizeof(path), "/dev/%s",
			 dev_name(interpose_info__dev(infos[i]), name,
				  sizeof(name)));
		if (!interpose_snapshot_query(path, &snap)) {
			report(ctx, 0, path, "kept", false,
			       "it has a snapshot (interposectl detach removes both)");
			continue;
		}
		if (check) {
			report(ctx, 0, path, "would-detach", false,
			       "no line names it");
			continue;
		}
		err = interpose_detach(path, NULL);
		if (err) {
			format_error(msg, sizeof(msg), interpose_errmsg(), -err);
			report(ctx, 0, path, "failed", true, msg);
			continue;
		}
		record_remove(path);
		report(ctx, 0, path, "detached", false, "no line names it");
	}
	interpose_list__free(infos, n);
}

/*
 * One apply at a time on this machine: a boot unit and a hotplug unit may
 * apply the same line at once, and the one that loses the attach must
 * find the other's record.  -1 if there is no lock to take (no /run).
 */
static int apply_lock(void)
{
	char path[PATH_MAX];
	int fd;

	if (mkdir(record_dir(), 0755) && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/.lock", record_dir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int do_apply(int argc, char **argv)
{
	struct apply_args a;
	struct apply_ctx ctx = { };
	struct tab t;
	dev_t only = 0;
	size_t i;
	int err, lock;

	if (apply_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		apply_usage(stdout);
		return 0;
	}
	if (a.device && interpose_resolve_dev(a.device, &only, NULL, 0))
		/* a device that is gone has no lines to apply */
		return json_output ? (print_json(json_object_new_array()), 0) : 0;
	err = tab_read(a.file, &t);
	if (err)
		return p_err(-err, "apply: cannot read %s: %s", a.file,
			     strerror(-err));
	ctx.file = a.file;
	ctx.results = json_object_new_array();
	lock = a.check ? -1 : apply_lock();
	for (i = 0; i < t.nr_lines; i++) {
		struct tab_line *l = &t.lines[i];
		dev_t d;

		if (a.device && (!l->valid ||
		    interpose_resolve_dev(l->a.dev, &d, NULL, 0) || d != only))
			continue;
		if (!l->valid) {
			report(&ctx, l->lineno, l->nr_words ? l->words[0] : NULL,
			       "failed", true, l->error);
			continue;
		}
		apply_line(&ctx, l, &a);
	}
	if (a.prune)
		apply_prune(&ctx, &t, a.check);
	if (lock >= 0)
		close(lock);
	tab_free(&t);
	if (json_output)
		print_json(ctx.results);
	else
		json_object_put(ctx.results);
	return ctx.failures ? 1 : 0;
}

/* --- save ------------------------------------------------------------ */

void save_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s save\n"
		"\n"
		"Print the interposers attached now as lines of interposetab(5): what\n"
		"'%s apply' attaches again.  An interposer attached without\n"
		"interposectl (its program's object file unknown) or by a snapshot\n"
		"is printed as a comment that says why.  With -j: an array of\n"
		"{device, dev, line, note}.\n"
		"\n"
		"Options:\n"
		"  -h, --help        show this help\n"
		"  -j, -p, -d        global options, here as before COMMAND\n",
		BIN_NAME, BIN_NAME);
}

/*
 * The line that reproduces @info (allocated) or NULL with *@note saying
 * why there is none.
 */
static char *save_line(const struct interpose_info *info, const char **note)
{
	struct interpose_snapshot_info snap = { .sz = sizeof(snap) };
	struct tab_policy have;
	struct tab_line rec;
	char path[80], name[64], opts[512], pins[128], *line = NULL;

	snprintf(path, sizeof(path), "/dev/%s",
		 dev_name(interpose_info__dev(info), name, sizeof(name)));
	*note = NULL;
	if (!interpose_snapshot_query(path, &snap)) {
		*note = "a snapshot (interposectl snapshot), not made at boot";
		return NULL;
	}
	if (!record_of(info, &rec, &have)) {
		line = tab_format(rec.a.dev, &rec.a);
		tab_line_free(&rec);
		if (line)
			return line;
	}
	/* a program pinned by libinterpose, attached without interposectl */
	snprintf(pins, sizeof(pins), "/sys/fs/bpf/interpose/%s", name);
	if (interpose_info__ops_name(info) && !access(pins, F_OK)) {
		*note = "its program was attached without interposectl: its object file is unknown";
		return NULL;
	}
	info_opts(info, opts, sizeof(opts));
	if (!opts[0]) {
		*note = "attached without interposectl: nothing to reproduce";
		return NULL;
	}
	if (asprintf(&line, "%s %s", path, opts) < 0)
		return NULL;
	return line;
}

int do_save(int argc, char **argv)
{
	struct interpose_info **infos;
	json_object *arr = NULL;
	const char *note;
	size_t n, i;
	bool help;
	const char *dev;
	int err;

	if (parse_dev_arg("save", argc, argv, true, &dev, &help))
		return EXIT_USAGE;
	if (help) {
		save_usage(stdout);
		return 0;
	}
	if (dev)
		return p_usage("save", "unexpected argument '%s'", dev);
	err = interpose_list(&infos, &n);
	if (err)
		return p_err_lib(err);
	if (json_output)
		arr = json_object_new_array();
	else
		printf("# interposetab(5), written by %s save\n", BIN_NAME);
	for (i = 0; i < n; i++) {
		enum interpose_state st = interpose_info__state(infos[i]);
		char *line;

		if (st == INTERPOSE_STATE_RESERVED ||
		    st == INTERPOSE_STATE_OBSERVED)
			continue;
		line = save_line(infos[i], &note);
		if (json_output) {
			json_object *o = dev_json(interpose_info__name(infos[i]),
						  interpose_info__dev(infos[i]));

			json_object_object_add(o, "line", line ?
					       json_object_new_string(line) : NULL);
			json_object_object_add(o, "note", note ?
					       json_object_new_string(note) : NULL);
			json_object_array_add(arr, o);
		} else if (line) {
			printf("%s\n", line);
		} else {
			printf("# /dev/%s: %s\n", interpose_info__name(infos[i]),
			       note ?: "cannot be written as a line");
		}
		free(line);
	}
	interpose_list__free(infos, n);
	if (json_output)
		print_json(arr);
	return 0;
}
