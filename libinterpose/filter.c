// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Filter expressions compiled to BPF instructions, without a compiler on
 * the machine: "op == write && bytes >= 64k && comm == \"postgres\"".
 *
 * The parser builds a tree (recursive descent, one function per level of
 * precedence: || below && below !); the code generator walks it and
 * emits the body of a BPF function of one argument, a pointer to struct
 * interpose_filter_ctx (interpose/event.h), that returns 1 for a bio that
 * matches and 0 for one that does not.  The ready program trace calls
 * such a function, interpose_filter(), at submission and at completion;
 * prog.c puts the code in place of its body when the object is loaded.
 *
 * At submission (phase INTERPOSE_FILTER_SUBMIT) the completion's fields
 * (lat_us, error, verdict) are not known yet: a comparison of one counts
 * as whatever lets the whole expression match (true, or false under an
 * odd number of '!'), so that a bio is dropped at submission only if no
 * completion could make it match.  At completion every field is known.
 * Without a record of the submission (phase INTERPOSE_FILTER_UNKNOWN: a
 * bio in flight before the filter came, or one dropped at submission)
 * the function returns 0.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "libinterpose_internal.h"
#include "interpose/event.h"

/*
 * The names of enum interpose_op and of the kernel's enum
 * blk_interposer_action, for filters and for whoever prints records
 * (interpose_op_name(), interpose_verdict_name()).
 */
static const char *const verdict_names[] = {
	"pass", "redirect", "remap", "fail", "complete",
};

static const char *const op_names[INTERPOSE_OP_NR] = {
	[INTERPOSE_OP_READ] = "read",
	[INTERPOSE_OP_WRITE] = "write",
	[INTERPOSE_OP_FLUSH] = "flush",
	[INTERPOSE_OP_DISCARD] = "discard",
	[INTERPOSE_OP_SECURE_ERASE] = "secure_erase",
	[INTERPOSE_OP_WRITE_ZEROES] = "write_zeroes",
	[INTERPOSE_OP_OTHER] = "other",
};

static const struct {
	const char *name;
	__u32 bit;
} flag_names[] = {
	{ "sync", INTERPOSE_F_SYNC }, { "meta", INTERPOSE_F_META },
	{ "prio", INTERPOSE_F_PRIO }, { "fua", INTERPOSE_F_FUA },
	{ "preflush", INTERPOSE_F_PREFLUSH }, { "rahead", INTERPOSE_F_RAHEAD },
	{ "background", INTERPOSE_F_BACKGROUND },
	{ "nowait", INTERPOSE_F_NOWAIT }, { "idle", INTERPOSE_F_IDLE },
	{ "nomerge", INTERPOSE_F_NOMERGE },
};

enum f_kind { K_NUM, K_OP, K_FLAGS, K_COMM, K_CGROUP, K_VERDICT, K_ERRNO };

static const struct f_field {
	const char *name;
	enum f_kind kind;
	unsigned int off;	/* in struct interpose_filter_ctx */
	unsigned int size;	/* bytes: 1, 4 or 8 */
	__u32 bit;		/* enum interpose_filter_field; 0: completion only */
} fields[] = {
#define F_FIELD(name, kind, size, bit) \
	{ #name, kind, offsetof(struct interpose_filter_ctx, name), size, bit }
	F_FIELD(op, K_OP, 1, INTERPOSE_FILTER_OP),
	F_FIELD(flags, K_FLAGS, 4, INTERPOSE_FILTER_FLAGS),
	F_FIELD(sector, K_NUM, 8, INTERPOSE_FILTER_SECTOR),
	F_FIELD(bytes, K_NUM, 4, INTERPOSE_FILTER_BYTES),
	F_FIELD(pid, K_NUM, 4, INTERPOSE_FILTER_PID),
	F_FIELD(tid, K_NUM, 4, INTERPOSE_FILTER_TID),
	F_FIELD(comm, K_COMM, 16, INTERPOSE_FILTER_COMM),
	F_FIELD(cgroup, K_CGROUP, 8, INTERPOSE_FILTER_CGROUP),
	F_FIELD(verdict, K_VERDICT, 1, 0),
	F_FIELD(lat_us, K_NUM, 8, 0),
	F_FIELD(error, K_ERRNO, 4, 0),
#undef F_FIELD
};

enum f_cmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE, C_AND };

enum f_node_type { N_OR, N_AND, N_NOT, N_CMP };

struct f_node {
	enum f_node_type type;
	struct f_node *l, *r;
	const struct f_field *field;
	enum f_cmp cmp;
	__u64 val;
	char str[INTERPOSE_COMM_LEN];	/* comm: the string, NUL-padded */
	char *pat;			/* comm: a pattern with * or ? */
};

enum f_tok { T_END, T_NAME, T_NUM, T_STR, T_LP, T_RP, T_NOT, T_ANDAND,
	     T_OROR, T_AND, T_CMP, T_BAD };

struct f_parser {
	const char *s;
	size_t pos;		/* of the current token */
	size_t next;		/* after it */
	enum f_tok tok;
	char text[256];		/* T_NAME, T_STR: the text; T_NUM: as written */
	__u64 num;
	enum f_cmp cmp;
	unsigned int depth;	/* of '(' and '!' being parsed */
	unsigned int terms;	/* comparisons so far */
	char err[384];
	bool failed;
	int err_no;
};

/* '(' and '!' nest at most this deep: the parser and generator recurse */
#define F_MAX_DEPTH	64
/* comparisons in one expression: the tree's && and || chains recurse too */
#define F_MAX_TERMS	256
/* a comm pattern's characters are bits of a 64-bit state */
#define F_MAX_PATTERN	48

struct interpose_filter {
	struct bpf_insn *insns;
	size_t cnt, cap;
	bool oom;
	__u32 fields;	/* read at submission: enum interpose_filter_field */
};

/* --- lexer ------------------------------------------------------------- */

static __printf(3, 4) void f_fail(struct f_parser *p, size_t col,
				  const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	if (p->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, sizeof(p->err), "column %zu: %s", col + 1, msg);
	p->failed = true;
	if (!p->err_no)
		p->err_no = EINVAL;
}

static const char *tok_desc(const struct f_parser *p, char *buf, size_t len)
{
	switch (p->tok) {
	case T_END:
		return "the end";
	case T_STR:
		snprintf(buf, len, "\"%s\"", p->text);
		return buf;
	case T_BAD:
		snprintf(buf, len, "'%c'", p->s[p->pos]);
		return buf;
	default:
		snprintf(buf, len, "'%.*s'", (int)(p->next - p->pos), p->s + p->pos);
		return buf;
	}
}

/* a number with an optional size suffix, k M G (powers of 1024) */
static void lex_number(struct f_parser *p, size_t i)
{
	const char *start = p->s + i;
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(start, &end, 0);
	if (errno || end == start) {
		p->tok = T_BAD;
		p->next = i + 1;
		f_fail(p, i, "a number out of range");
		return;
	}
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	}
	if (shift) {
		if (v > (~0ULL >> shift)) {
			f_fail(p, i, "a number out of range");
			v = 0;
		}
		v <<= shift;
		end++;
	}
	if (isalnum((unsigned char)*end) || *end == '_') {
		p->tok = T_BAD;
		p->pos = end - p->s;
		p->next = p->pos + 1;
		f_fail(p, p->pos, "expected a number, a size suffix k, M or G, or an operator after %.*s, found '%c'",
		       (int)(end - start), start, *end);
		return;
	}
	p->tok = T_NUM;
	p->num = v;
	p->next = end - p->s;
}

static void lex(struct f_parser *p)
{
	const char *s = p->s;
	size_t i = p->next, j;
	char c;

	while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')
		i++;
	p->pos = i;
	c = s[i];
	p->next = i + 1;
	if (!c) {
		p->tok = T_END;
		p->next = i;
	} else if (isalpha((unsigned char)c) || c == '_') {
		for (j = i; isalnum((unsigned char)s[j]) || s[j] == '_'; j++)
			;
		p->tok = T_NAME;
		snprintf(p->text, sizeof(p->text), "%.*s", (int)(j - i), s + i);
		p->next = j;
	} else if (isdigit((unsigned char)c)) {
		lex_number(p, i);
	} else if (c == '"') {
		for (j = i + 1; s[j] && s[j] != '"'; j++)
			;
		if (!s[j]) {
			p->tok = T_BAD;
			f_fail(p, i, "a string without its closing '\"'");
			return;
		}
		p->tok = T_STR;
		snprintf(p->text, sizeof(p->text), "%.*s", (int)(j - i - 1), s + i + 1);
		if (j - i - 1 >= sizeof(p->text))
			f_fail(p, i, "a string longer than %zu characters",
			       sizeof(p->text) - 1);
		p->next = j + 1;
	} else if (c == '(') {
		p->tok = T_LP;
	} else if (c == ')') {
		p->tok = T_RP;
	} else if (c == '&' && s[i + 1] == '&') {
		p->tok = T_ANDAND;
		p->next = i + 2;
	} else if (c == '|' && s[i + 1] == '|') {
		p->tok = T_OROR;
		p->next = i + 2;
	} else if (c == '&') {
		p->tok = T_AND;
	} else if (c == '!' && s[i + 1] != '=') {
		p->tok = T_NOT;
	} else if ((c == '=' || c == '!') && s[i + 1] == '=') {
		p->tok = T_CMP;
		p->cmp = c == '=' ? C_EQ : C_NE;
		p->next = i + 2;
	} else if (c == '<' || c == '>') {
		p->tok = T_CMP;
		if (s[i + 1] == '=') {
			p->cmp = c == '<' ? C_LE : C_GE;
			p->next = i + 2;
		} else {
			p->cmp = c == '<' ? C_LT : C_GT;
		}
	} else {
		p->tok = T_BAD;
		f_fail(p, i, "unexpected '%c'", c);
	}
}

/* --- parser ------------------------------------------------------------ */

static struct f_node *node_new(struct f_parser *p, enum f_node_type type)
{
	struct f_node *n = calloc(1, sizeof(*n));

	if (!n) {
		p->err_no = ENOMEM;
		f_fail(p, p->pos, "out of memory");
	} else {
		n->type = type;
	}
	return n;
}

static struct f_node *parse_or(struct f_parser *p);
static void tree_free(struct f_node *n);

static void expected(struct f_parser *p, const char *what)
{
	char buf[300];

	f_fail(p, p->pos, "expected %s, found %s", what,
	       tok_desc(p, buf, sizeof(buf)));
}

static bool name_value(const char *const *names, size_t n, const char *s,
		       __u64 *v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcasecmp(names[i], s)) {
			*v = i;
			return true;
		}
	return false;
}

static bool errno_value(const char *s, __u64 *v)
{
	const char *name;
	int e;

	for (e = 1; e < 200; e++) {
		name = strerrorname_np(e);
		if (name && !strcasecmp(name, s)) {
			*v = e;
			return true;
		}
	}
	return false;
}

/* A cgroup v2 path (below /sys/fs/cgroup or absolute) to its id. */
static int cgroup_id(const char *path, __u64 *id)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[64];
	} h;
	char full[PATH_MAX];
	struct statfs sf;
	int mount_id;

	if (!strncmp(path, "/sys/fs/cgroup", 14))
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "/sys/fs/cgroup/%s",
			 path[0] == '/' ? path + 1 : path);
	if (statfs(full, &sf))
		return -errno;
	/* a cgroup's id is its kernfs file handle, on cgroup2 */
	if (sf.f_type != CGROUP2_SUPER_MAGIC)
		return -ENOTDIR;
	h.fh.handle_bytes = sizeof(h.bytes);
	if (name_to_handle_at(AT_FDCWD, full, &h.fh, &mount_id, 0))
		return -errno;
	if (h.fh.handle_bytes != sizeof(__u64))
		return -EOPNOTSUPP;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

/* A value for @f after a comparison or '&': into @n. */
static void parse_value(struct f_parser *p, const struct f_field *f,
			struct f_node *n)
{
	char buf[300];
	size_t i;
	int err;

	switch (f->kind) {
	case K_COMM:
		if (p->tok != T_STR)
			return expected(p, "a \"string\" for comm");
		/* a pattern is compiled from its text, a name compared whole */
		if (strpbrk(p->text, "*?")) {
			if (strlen(p->text) >= F_MAX_PATTERN)
				return f_fail(p, p->pos, "a pattern longer than %d characters",
					      F_MAX_PATTERN - 1);
			n->pat = strdup(p->text);
			if (!n->pat) {
				p->err_no = ENOMEM;
				return f_fail(p, p->pos, "out of memory");
			}
		} else if (strlen(p->text) >= INTERPOSE_COMM_LEN) {
			return f_fail(p, p->pos, "%s is longer than a command name (%d characters)",
				      tok_desc(p, buf, sizeof(buf)),
				      INTERPOSE_COMM_LEN - 1);
		} else {
			memcpy(n->str, p->text, strlen(p->text));
		}
		break;
	case K_CGROUP:
		if (p->tok == T_STR) {
			err = cgroup_id(p->text, &n->val);
			if (err)
				return f_fail(p, p->pos, "cgroup %s: %s", tok_desc(p, buf, sizeof(buf)),
					      err == -ENOTDIR ? "not a cgroup v2 directory" :
					      strerror(-err));
			break;
		}
		if (p->tok != T_NUM)
			return expected(p, "a cgroup \"path\" or id");
		n->val = p->num;
		break;
	case K_OP:
		if (p->tok != T_NAME ||
		    !name_value(op_names, INTERPOSE_OP_NR, p->text, &n->val))
			return expected(p, "an op (read, write, flush, discard, secure_erase, write_zeroes, other)");
		break;
	case K_VERDICT:
		if (p->tok != T_NAME ||
		    !name_value(verdict_names, ARRAY_SIZE(verdict_names), p->text, &n->val))
			return expected(p, "a verdict (pass, redirect, remap, fail, complete)");
		break;
	case K_FLAGS:
		if (p->tok == T_NUM) {
			n->val = p->num;
			break;
		}
		if (p->tok == T_NAME)
			for (i = 0; i < ARRAY_SIZE(flag_names); i++)
				if (!strcasecmp(flag_names[i].name, p->text)) {
					n->val = flag_names[i].bit;
					goto next;
				}
		return expected(p, "a flag (sync, meta, prio, fua, preflush, rahead, background, nowait, idle, nomerge) or a number");
	case K_ERRNO:
		if (p->tok == T_NAME && errno_value(p->text, &n->val))
			break;
		if (p->tok != T_NUM)
			return expected(p, "an errno (a number or a name such as EIO)");
		n->val = p->num;
		break;
	case K_NUM:
		if (p->tok != T_NUM)
			return expected(p, "a number");
		n->val = p->num;
		break;
	}
next:
	lex(p);
}

static struct f_node *parse_cmp(struct f_parser *p)
{
	const struct f_field *f = NULL;
	struct f_node *n;
	char buf[300];
	size_t i;

	if (p->tok != T_NAME) {
		expected(p, "a field name or '('");
		return NULL;
	}
	if (++p->terms > F_MAX_TERMS) {
		f_fail(p, p->pos, "more than %d comparisons", F_MAX_TERMS);
		return NULL;
	}
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcmp(fields[i].name, p->text))
			f = &fields[i];
	if (!f) {
		f_fail(p, p->pos, "unknown field '%s' (op, flags, sector, bytes, pid, tid, comm, cgroup, verdict, lat_us, error)",
		       p->text);
		return NULL;
	}
	lex(p);
	n = node_new(p, N_CMP);
	if (!n)
		return NULL;
	n->field = f;
	if (p->tok == T_AND) {
		if (f->kind != K_FLAGS) {
			f_fail(p, p->pos, "'&' tests flags only, not %s", f->name);
			return n;
		}
		n->cmp = C_AND;
	} else if (p->tok == T_CMP) {
		n->cmp = p->cmp;
		if (n->cmp != C_EQ && n->cmp != C_NE &&
		    (f->kind == K_OP || f->kind == K_COMM || f->kind == K_VERDICT ||
		     f->kind == K_FLAGS || f->kind == K_CGROUP)) {
			f_fail(p, p->pos, "%s takes == or != only, not %s", f->name,
			       tok_desc(p, buf, sizeof(buf)));
			return n;
		}
	} else {
		f_fail(p, p->pos, "expected a comparison (== != < <= > >=)%s after '%s', found %s",
		       f->kind == K_FLAGS ? " or '&'" : "", f->name,
		       tok_desc(p, buf, sizeof(buf)));
		return n;
	}
	lex(p);
	parse_value(p, f, n);
	return n;
}

static struct f_node *parse_unary(struct f_parser *p)
{
	struct f_node *n = NULL;
	size_t col = p->pos;

	if (p->tok != T_NOT && p->tok != T_LP)
		return parse_cmp(p);
	if (++p->depth > F_MAX_DEPTH) {
		f_fail(p, col, "'(' and '!' nest deeper than %d", F_MAX_DEPTH);
		return NULL;
	}
	if (p->tok == T_NOT) {
		lex(p);
		n = node_new(p, N_NOT);
		if (n)
			n->l = parse_unary(p);
	} else {
		lex(p);
		n = parse_or(p);
		if (!p->failed && p->tok != T_RP) {
			char buf[300];

			f_fail(p, p->pos, "expected ')' to close the '(' of column %zu, found %s",
			       col + 1, tok_desc(p, buf, sizeof(buf)));
		}
		if (!p->failed)
			lex(p);
	}
	p->depth--;
	return n;
}

static struct f_node *parse_bin(struct f_parser *p, enum f_tok tok,
				enum f_node_type type,
				struct f_node *(*sub)(struct f_parser *))
{
	struct f_node *l = sub(p), *n;

	while (!p->failed && p->tok == tok) {
		lex(p);
		n = node_new(p, type);
		if (!n)
			break;
		n->l = l;
		n->r = sub(p);
		l = n;
	}
	return l;
}

static struct f_node *parse_and(struct f_parser *p)
{
	return parse_bin(p, T_ANDAND, N_AND, parse_unary);
}

static struct f_node *parse_or(struct f_parser *p)
{
	return parse_bin(p, T_OROR, N_OR, parse_and);
}

static void tree_free(struct f_node *n)
{
	if (!n)
		return;
	free(n->pat);
	tree_free(n->l);
	tree_free(n->r);
	free(n);
}

/* --- code generation --------------------------------------------------- */

#define R0 BPF_REG_0
#define R1 BPF_REG_1
#define R2 BPF_REG_2
#define R3 BPF_REG_3
#define R6 BPF_REG_6
#define R7 BPF_REG_7
#define R8 BPF_REG_8

static struct bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
	return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src,
				  .off = off, .imm = imm };
}

static size_t emit(struct interpose_filter *f, struct bpf_insn i)
{
	struct bpf_insn *n;

	if (f->cnt == f->cap) {
		n = realloc(f->insns, (f->cap ? f->cap * 2 : 64) * sizeof(*n));
		if (!n) {
			f->oom = true;
			return f->cnt;
		}
		f->insns = n;
		f->cap = f->cap ? f->cap * 2 : 64;
	}
	f->insns[f->cnt] = i;
	return f->cnt++;
}

#define MOV_IMM(d, v)	insn(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v)
#define MOV_REG(d, s)	insn(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ALU_IMM(op, d, v) insn(BPF_ALU64 | (op) | BPF_K, d, 0, 0, v)
#define ALU_REG(op, d, s) insn(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define LDX(sz, d, s, o) insn(BPF_LDX | (sz) | BPF_MEM, d, s, o, 0)
#define JMP_IMM(op, d, v, o) insn(BPF_JMP | (op) | BPF_K, d, 0, o, v)
#define JMP_REG(op, d, s, o) insn(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define JA(o)		insn(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define EXIT()		insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static void emit_ld64(struct interpose_filter *f, __u8 dst, __u64 v)
{
	emit(f, insn(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, (__u32)v));
	emit(f, insn(0, 0, 0, 0, v >> 32));
}

/* Point the jump at @at to the next instruction. */
static void patch(struct interpose_filter *f, size_t at)
{
	if (!f->oom)
		f->insns[at].off = f->cnt - at - 1;
}

static __u8 size_code(unsigned int size)
{
	return size == 1 ? BPF_B : size == 2 ? BPF_H : size == 4 ? BPF_W : BPF_DW;
}

/* The jump taken when "field CMP value" is false. */
static __u8 false_jump(enum f_cmp c)
{
	switch (c) {
	case C_EQ: return BPF_JNE;
	case C_NE: return BPF_JEQ;
	case C_LT: return BPF_JGE;
	case C_LE: return BPF_JGT;
	case C_GT: return BPF_JLE;
	case C_GE: return BPF_JLT;
	default: return BPF_JEQ;	/* C_AND: of the masked value with 0 */
	}
}

/*
 * comm against a pattern of * (any run) and ? (one character): the set
 * of pattern positions reached so far is a bit mask in r7, stepped once
 * for each of the 16 bytes of comm, unrolled (no loop to verify).  Bit j
 * set: the first j pattern characters matched.
 */
static void gen_glob(struct interpose_filter *f, const struct f_node *n)
{
	const char *pat = n->pat;
	size_t m = strlen(pat), i, j, k, run = 0, runs = 0;
	__u64 star = 0, any = 0, s0, lit[F_MAX_PATTERN] = { 0 };
	char chars[F_MAX_PATTERN];
	size_t nchars = 0, fin[INTERPOSE_COMM_LEN], dead[INTERPOSE_COMM_LEN];

	for (j = 0; j < m; j++) {
		/* a run of stars matching nothing takes one step per star */
		run = pat[j] == '*' ? run + 1 : 0;
		if (run > runs)
			runs = run;
		if (pat[j] == '*') {
			star |= 1ULL << j;
		} else if (pat[j] == '?') {
			any |= 1ULL << j;
		} else {
			for (k = 0; k < nchars && chars[k] != pat[j]; k++)
				;
			if (k == nchars)
				chars[nchars++] = pat[j];
			lit[k] |= 1ULL << j;
		}
	}
	/* closure of {0} over stars that match nothing */
	s0 = 1;
	for (j = 0; j < m; j++)
		if ((s0 >> j & 1) && (star >> j & 1))
			s0 |= 1ULL << (j + 1);
	emit_ld64(f, R7, s0);
	for (i = 0; i < INTERPOSE_COMM_LEN; i++) {
		emit(f, LDX(BPF_B, R2, R6, n->field->off + i));
		fin[i] = emit(f, JMP_IMM(BPF_JEQ, R2, 0, 0));
		emit_ld64(f, R8, any);
		for (k = 0; k < nchars; k++) {
			/* skips the ld64 (two instructions) and the or */
			emit(f, JMP_IMM(BPF_JNE, R2, (unsigned char)chars[k], 3));
			emit_ld64(f, R3, lit[k]);
			emit(f, ALU_REG(BPF_OR, R8, R3));
		}
		emit_ld64(f, R3, star);
		emit(f, ALU_REG(BPF_AND, R3, R7));	/* stay on a star */
		emit(f, ALU_REG(BPF_AND, R7, R8));
		emit(f, ALU_IMM(BPF_LSH, R7, 1));	/* step on a match */
		emit(f, ALU_REG(BPF_OR, R7, R3));
		for (k = 0; k < runs; k++) {		/* stars matching nothing */
			emit_ld64(f, R3, star);
			emit(f, ALU_REG(BPF_AND, R3, R7));
			emit(f, ALU_IMM(BPF_LSH, R3, 1));
			emit(f, ALU_REG(BPF_OR, R7, R3));
		}
		/* no position left: no match */
		dead[i] = emit(f, JMP_IMM(BPF_JEQ, R7, 0, 0));
	}
	for (i = 0; i < INTERPOSE_COMM_LEN; i++)
		patch(f, fin[i]);
	/* matched: bit m */
	emit(f, MOV_REG(R0, R7));
	emit(f, ALU_IMM(BPF_RSH, R0, m));
	emit(f, ALU_IMM(BPF_AND, R0, 1));
	k = emit(f, JA(1));
	for (i = 0; i < INTERPOSE_COMM_LEN; i++)
		patch(f, dead[i]);
	emit(f, MOV_IMM(R0, 0));
	patch(f, k);
	if (n->cmp == C_NE)
		emit(f, ALU_IMM(BPF_XOR, R0, 1));
}

/* r0 = 1 if @n holds, else 0; @pos: under an even number of '!' */
static void gen(struct interpose_filter *f, const struct f_node *n, bool pos)
{
	size_t j, j2, unknown = 0;
	__u64 v;

	switch (n->type) {
	case N_NOT:
		gen(f, n->l, !pos);
		emit(f, ALU_IMM(BPF_XOR, R0, 1));
		return;
	case N_AND:
	case N_OR:
		gen(f, n->l, pos);
		j = emit(f, JMP_IMM(n->type == N_AND ? BPF_JEQ : BPF_JNE, R0, 0, 0));
		gen(f, n->r, pos);
		patch(f, j);
		return;
	case N_CMP:
		break;
	}
	f->fields |= n->field->bit;
	if (!n->field->bit) {
		/* unknown at submission: what lets the expression match */
		emit(f, LDX(BPF_B, R2, R6, offsetof(struct interpose_filter_ctx, phase)));
		emit(f, MOV_IMM(R0, pos));
		unknown = emit(f, JMP_IMM(BPF_JEQ, R2, INTERPOSE_FILTER_SUBMIT, 0));
	}
	if (n->pat) {
		gen_glob(f, n);
	} else if (n->field->kind == K_COMM) {
		memcpy(&v, n->str, 8);
		emit(f, LDX(BPF_DW, R2, R6, n->field->off));
		emit_ld64(f, R3, v);
		emit(f, MOV_IMM(R0, n->cmp == C_NE));
		j = emit(f, JMP_REG(BPF_JNE, R2, R3, 0));
		memcpy(&v, n->str + 8, 8);
		emit(f, LDX(BPF_DW, R2, R6, n->field->off + 8));
		emit_ld64(f, R3, v);
		j2 = emit(f, JMP_REG(BPF_JNE, R2, R3, 0));
		emit(f, MOV_IMM(R0, n->cmp == C_EQ));
		patch(f, j);
		patch(f, j2);
	} else {
		emit(f, LDX(size_code(n->field->size), R2, R6, n->field->off));
		if (n->cmp == C_AND) {
			emit_ld64(f, R3, n->val);
			emit(f, ALU_REG(BPF_AND, R2, R3));
			emit(f, MOV_IMM(R0, 0));
			emit(f, JMP_IMM(BPF_JEQ, R2, 0, 1));
			emit(f, MOV_IMM(R0, 1));
		} else {
			emit_ld64(f, R3, n->val);
			emit(f, MOV_IMM(R0, 0));
			emit(f, JMP_REG(false_jump(n->cmp), R2, R3, 1));
			emit(f, MOV_IMM(R0, 1));
		}
	}
	if (!n->field->bit)
		patch(f, unknown);
}

int ip_filter_compile(const char *expr, struct interpose_filter **fp)
{
	struct f_parser p = { .s = expr };
	struct interpose_filter *f;
	struct f_node *tree;
	size_t j;

	*fp = NULL;
	if (!expr)
		return ip_err(EINVAL, "filter: no expression");
	lex(&p);
	if (p.tok == T_END && !p.failed)
		return ip_err(EINVAL, "filter: column 1: expected a field name, '(' or '!', found the end");
	tree = parse_or(&p);
	if (!p.failed && p.tok != T_END) {
		char buf[300];

		f_fail(&p, p.pos, "expected '&&', '||' or the end, found %s",
		       tok_desc(&p, buf, sizeof(buf)));
	}
	if (p.failed) {
		tree_free(tree);
		/* a long expression is not echoed: the column says where */
		if (strlen(expr) > 80)
			return ip_err(p.err_no, "filter of %zu characters: %s",
				      strlen(expr), p.err);
		return ip_err(p.err_no, "filter '%s': %s", expr, p.err);
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		tree_free(tree);
		return ip_err(ENOMEM, "filter: out of memory");
	}
	/* r6 = ctx; no ctx or no record of the submission: 0 */
	emit(f, MOV_IMM(R0, 0));
	emit(f, JMP_IMM(BPF_JNE, R1, 0, 1));
	emit(f, EXIT());
	emit(f, MOV_REG(R6, R1));
	emit(f, LDX(BPF_B, R2, R6, offsetof(struct interpose_filter_ctx, phase)));
	j = emit(f, JMP_IMM(BPF_JNE, R2, INTERPOSE_FILTER_UNKNOWN, 1));
	emit(f, EXIT());
	(void)j;
	gen(f, tree, true);
	emit(f, EXIT());
	tree_free(tree);
	if (f->oom || f->cnt > 30000) {
		bool oom = f->oom;

		ip_filter_free(f);
		return oom ? ip_err(ENOMEM, "filter: out of memory") :
			     ip_err(E2BIG, "filter: more than 30000 instructions");
	}
	*fp = f;
	return 0;
}

int interpose_filter__new(const char *expr, struct interpose_filter **fp)
{
	ip_errmsg_clear();
	if (!fp)
		return ip_err(EINVAL, "filter: no place for the result");
	return ip_filter_compile(expr, fp);
}

void ip_filter_free(struct interpose_filter *f)
{
	if (!f)
		return;
	free(f->insns);
	free(f);
}

void interpose_filter__free(struct interpose_filter *f)
{
	ip_filter_free(f);
}

const struct bpf_insn *ip_filter_insns(const struct interpose_filter *f,
				       size_t *cnt)
{
	*cnt = f ? f->cnt : 0;
	return f ? f->insns : NULL;
}

__u32 ip_filter_fields(const struct interpose_filter *f)
{
	return f ? f->fields : INTERPOSE_FILTER_ALL;
}

const struct bpf_insn *interpose_filter__insns(const struct interpose_filter *f)
{
	return f ? f->insns : NULL;
}

size_t interpose_filter__insn_cnt(const struct interpose_filter *f)
{
	return f ? f->cnt : 0;
}

const char *interpose_op_name(unsigned int op)
{
	return op < INTERPOSE_OP_NR ? op_names[op] : NULL;
}

const char *interpose_verdict_name(unsigned int action)
{
	return action < ARRAY_SIZE(verdict_names) ? verdict_names[action] : NULL;
}
