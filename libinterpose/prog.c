// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: BPF object files of interposer programs.
 *
 * An object is opened with libbpf, its global variables set from
 * "VAR=VALUE" strings through the BTF of its data sections, its one
 * blk_interposer_ops struct_ops map found (and renamed if asked), and
 * loaded.  Everything here works on an opened object without a kernel,
 * except ip_obj_load().  The verifier's reason for refusing a program is
 * read from a log buffer of the object's own, so that concurrent loads
 * keep theirs apart.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "libinterpose_internal.h"

#define IP_OPS_TYPE	"blk_interposer_ops"

/* --- libbpf's messages ------------------------------------------------ */

/*
 * libbpf's print callback is one for the whole process: nothing here
 * switches it per call (two threads would lose each other's messages, and
 * an application's own libbpf callback would be replaced).  The verifier's
 * log comes from a buffer of the object being loaded (ip_obj_load()); the
 * last libbpf warning is kept per thread by ip_libbpf_print(), which only
 * the shared library installs, once, in its private libbpf
 * (libbpf_private.c).
 */
static __thread char ip_bpf_warning[256];

/* Lines that close every verifier log and say nothing about the cause. */
static bool ip_verifier_summary(const char *line, size_t n)
{
	static const char *const prefixes[] = {
		"processed ", "verification time", "stack depth",
		"-- END PROG LOAD LOG --", "mark_precise", "Validating ",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (n >= strlen(prefixes[i]) &&
		    !strncmp(line, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

void ip_verifier_reason(const char *log, char *buf, size_t len)
{
	const char *line = log, *end, *best = NULL;
	size_t n, best_n = 0;

	buf[0] = '\0';
	while (*line) {
		end = strchrnul(line, '\n');
		n = end - line;
		if (!strncmp(line, "-- END PROG LOAD LOG --",
			     strlen("-- END PROG LOAD LOG --")))
			break;
		while (n && isspace((unsigned char)line[n - 1]))
			n--;
		if (n && !ip_verifier_summary(line, n)) {
			best = line;
			best_n = n;
		}
		line = *end ? end + 1 : end;
	}
	if (best)
		snprintf(buf, len, "%.*s", (int)best_n, best);
}

int ip_libbpf_print(enum libbpf_print_level level, const char *fmt,
		    va_list ap)
{
	const char *p;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	ip_print(level == LIBBPF_WARN ? INTERPOSE_WARN :
		 level == LIBBPF_INFO ? INTERPOSE_INFO : INTERPOSE_DEBUG,
		 "%s", msg);
	if (level == LIBBPF_WARN) {
		p = msg;
		if (!strncmp(p, "libbpf: ", strlen("libbpf: ")))
			p += strlen("libbpf: ");
		snprintf(ip_bpf_warning, sizeof(ip_bpf_warning), "%.*s",
			 (int)strcspn(p, "\n"), p);
	}
	free(msg);
	return 0;
}

/* libbpf's own errnos (LIBBPF_ERRNO__*) mean a bad object to us. */
static int ip_libbpf_errno(int err, char *why, size_t len)
{
	if (err < 0)
		err = -err;
	if (err >= __LIBBPF_ERRNO__START) {
		libbpf_strerror(err, why, len);
		return EINVAL;
	}
	snprintf(why, len, "%s", ip_bpf_warning[0] ? ip_bpf_warning :
		 strerror(err));
	return err;
}

/* --- BTF ---------------------------------------------------------------- */

void ip_btf_type_str(const struct btf *btf, __u32 id, char *buf, size_t len)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *name;
	char inner[128];

	while (t && (btf_is_const(t) || btf_is_volatile(t) ||
		     btf_is_restrict(t) || btf_is_type_tag(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (!t) {
		snprintf(buf, len, "?");
		return;
	}
	name = btf__name_by_offset(btf, t->name_off) ?: "";
	switch (btf_kind(t)) {
	case BTF_KIND_STRUCT:
		snprintf(buf, len, "struct %s", name[0] ? name : "(anon)");
		break;
	case BTF_KIND_UNION:
		snprintf(buf, len, "union %s", name[0] ? name : "(anon)");
		break;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		snprintf(buf, len, "enum %s", name[0] ? name : "(anon)");
		break;
	case BTF_KIND_ARRAY:
		ip_btf_type_str(btf, btf_array(t)->type, inner, sizeof(inner));
		snprintf(buf, len, "%s[%u]", inner, btf_array(t)->nelems);
		break;
	case BTF_KIND_PTR:
		ip_btf_type_str(btf, t->type, inner, sizeof(inner));
		snprintf(buf, len, "%s *", inner);
		break;
	case BTF_KIND_UNKN:
		snprintf(buf, len, "void");
		break;
	default:
		snprintf(buf, len, "%s", name[0] ? name : "?");
	}
}

int ip_btf_find_var(const struct btf *btf, __u32 sec_id, const char *name,
		    struct ip_var *v)
{
	const struct btf_type *sec = btf__type_by_id(btf, sec_id), *vt;
	const struct btf_var_secinfo *vsi;
	unsigned int i;

	if (!sec || !btf_is_datasec(sec))
		return -ENOENT;
	vsi = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vsi++) {
		vt = btf__type_by_id(btf, vsi->type);
		if (!vt || !btf_is_var(vt) ||
		    btf_var(vt)->linkage == BTF_VAR_GLOBAL_EXTERN)
			continue;
		if (strcmp(btf__name_by_offset(btf, vt->name_off) ?: "", name))
			continue;
		v->btf = btf;
		v->type_id = vt->type;
		v->offset = vsi->offset;
		v->size = vsi->size;
		return 0;
	}
	return -ENOENT;
}

/* An integer-like type: its size and signedness; false for others. */
static bool ip_btf_int_like(const struct btf_type *t, bool *is_signed,
			    bool *is_bool)
{
	*is_bool = false;
	if (btf_is_int(t)) {
		if (btf_int_offset(t) || btf_int_bits(t) != t->size * 8)
			return false;
		*is_signed = btf_int_encoding(t) & BTF_INT_SIGNED;
		*is_bool = btf_int_encoding(t) & BTF_INT_BOOL;
	} else if (btf_is_any_enum(t)) {
		*is_signed = btf_kflag(t);
	} else {
		return false;
	}
	return t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8;
}

static void ip_store(void *dst, unsigned int size, __u64 val)
{
	switch (size) {
	case 1: *(__u8 *)dst = val; break;
	case 2: *(__u16 *)dst = val; break;
	case 4: *(__u32 *)dst = val; break;
	case 8: *(__u64 *)dst = val; break;
	}
}

static __u64 ip_load(const void *src, unsigned int size, bool is_signed)
{
	switch (size) {
	case 1:
		if (is_signed)
			return (__s64)*(const __s8 *)src;
		return *(const __u8 *)src;
	case 2:
		if (is_signed)
			return (__s64)*(const __s16 *)src;
		return *(const __u16 *)src;
	case 4:
		if (is_signed)
			return (__s64)*(const __s32 *)src;
		return *(const __u32 *)src;
	default:
		return *(const __u64 *)src;
	}
}

/*
 * Parse @s as an integer of @size bytes: decimal or 0x hex, with a sign
 * only for signed types.  0, or -EINVAL with the reason in @why.
 */
static int ip_parse_int(const char *s, unsigned int size, bool is_signed,
			__u64 *val, char *why, size_t len)
{
	unsigned int bits = size * 8;
	unsigned long long mag, max;
	const char *p = s;
	bool neg = false;
	int base = 10;
	char *end;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (base == 16 ? !isxdigit((unsigned char)*p) :
			 !isdigit((unsigned char)*p)) {
		snprintf(why, len, "not a number");
		return -EINVAL;
	}
	errno = 0;
	mag = strtoull(p, &end, base);
	if (*end) {
		snprintf(why, len, "not a number");
		return -EINVAL;
	}
	if (is_signed) {
		max = bits == 64 ? (unsigned long long)INT64_MAX :
				   (1ULL << (bits - 1)) - 1;
		if (errno == ERANGE || mag > max + neg)
			goto range;
		*val = neg ? -(__u64)mag : mag;
	} else {
		max = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
		if (errno == ERANGE || mag > max || (neg && mag))
			goto range;
		*val = mag;
	}
	return 0;
range:
	if (is_signed)
		snprintf(why, len, "out of range (%lld..%llu)",
			 -(long long)max - 1, max);
	else
		snprintf(why, len, "out of range (0..%llu)", max);
	return -EINVAL;
}

static int ip_parse_enum(const struct btf *btf, const struct btf_type *t,
			 const char *s, __u64 *val)
{
	unsigned int i;

	for (i = 0; i < btf_vlen(t); i++) {
		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t) + i;

			if (!strcmp(btf__name_by_offset(btf, e->name_off), s)) {
				*val = btf_kflag(t) ? (__u64)(__s64)(__s32)e->val :
						      (__u32)e->val;
				return 0;
			}
		} else {
			const struct btf_enum64 *e = btf_enum64(t) + i;

			if (!strcmp(btf__name_by_offset(btf, e->name_off), s)) {
				*val = btf_enum64_value(e);
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* An array of chars: its element count; 0 for other types. */
static __u32 ip_btf_char_array(const struct btf *btf, const struct btf_type *t)
{
	const struct btf_type *et;

	if (!btf_is_array(t))
		return 0;
	et = btf__type_by_id(btf, btf__resolve_type(btf, btf_array(t)->type));
	if (!et || !btf_is_int(et) || et->size != 1)
		return 0;
	return btf_array(t)->nelems;
}

int ip_var_parse(const struct ip_var *v, const char *val, void *dst,
		 char *why, size_t len)
{
	const struct btf *btf = v->btf;
	const struct btf_type *t;
	bool is_signed, is_bool;
	char type[128], reason[96];
	__u64 x;
	__u32 n;
	int id;

	ip_btf_type_str(btf, v->type_id, type, sizeof(type));
	id = btf__resolve_type(btf, v->type_id);
	t = id < 0 ? NULL : btf__type_by_id(btf, id);
	if (!t)
		goto bad_type;

	n = ip_btf_char_array(btf, t);
	if (n) {
		if (strlen(val) >= n || n > v->size) {
			snprintf(why, len, "value '%s' is too long for %s (at most %u characters)",
				 val, type, n - 1);
			return -EINVAL;
		}
		memset(dst, 0, v->size);
		memcpy(dst, val, strlen(val));
		return 0;
	}
	if (!ip_btf_int_like(t, &is_signed, &is_bool) || t->size != v->size)
		goto bad_type;

	if (is_bool) {
		if (!strcmp(val, "true") || !strcmp(val, "1"))
			x = 1;
		else if (!strcmp(val, "false") || !strcmp(val, "0"))
			x = 0;
		else {
			snprintf(why, len, "bad value '%s' for %s: expected true or false",
				 val, type);
			return -EINVAL;
		}
	} else if (!btf_is_any_enum(t) || ip_parse_enum(btf, t, val, &x)) {
		if (ip_parse_int(val, t->size, is_signed, &x, reason,
				 sizeof(reason))) {
			snprintf(why, len, "bad value '%s' for %s: %s", val,
				 type, reason);
			return -EINVAL;
		}
	}
	ip_store(dst, t->size, x);
	return 0;

bad_type:
	snprintf(why, len, "a variable of type %s cannot be set", type);
	return -EINVAL;
}

int ip_var_int(const struct ip_var *v, const void *src, __u64 *val)
{
	const struct btf_type *t;
	bool is_signed, is_bool;
	int id;

	id = btf__resolve_type(v->btf, v->type_id);
	t = id < 0 ? NULL : btf__type_by_id(v->btf, id);
	if (!t || !ip_btf_int_like(t, &is_signed, &is_bool) ||
	    t->size != v->size)
		return -EINVAL;
	*val = ip_load(src, t->size, is_signed);
	return 0;
}

/* Append to a buffer; remembers running out of room. */
struct ip_sb {
	char *buf;
	size_t len, pos;
	bool full;
};

__printf(2, 3) static void ip_sb_add(struct ip_sb *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->pos, sb->len - sb->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->len - sb->pos) {
		sb->full = true;
		sb->pos = sb->len - 1;
	} else {
		sb->pos += n;
	}
}

static void ip_sb_int(struct ip_sb *sb, const void *src, unsigned int size,
		      bool is_signed, bool is_bool)
{
	__u64 x = ip_load(src, size, is_signed);

	if (is_bool)
		ip_sb_add(sb, "%s", x ? "true" : "false");
	else if (is_signed)
		ip_sb_add(sb, "%lld", (long long)x);
	else
		ip_sb_add(sb, "%llu", (unsigned long long)x);
}

int ip_var_format(const struct ip_var *v, const void *src, char *buf,
		  size_t len)
{
	struct ip_sb sb = { .buf = buf, .len = len };
	const struct btf *btf = v->btf;
	const struct btf_type *t, *et = NULL;
	bool is_signed, is_bool;
	const unsigned char *p = src;
	__u32 i, n;
	int id;

	if (!len)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	id = btf__resolve_type(btf, v->type_id);
	t = id < 0 ? NULL : btf__type_by_id(btf, id);

	if (t && ip_btf_int_like(t, &is_signed, &is_bool) &&
	    t->size == v->size) {
		ip_sb_int(&sb, src, t->size, is_signed, is_bool);
	} else if (t && (n = ip_btf_char_array(btf, t)) && n <= v->size) {
		ip_sb_add(&sb, "\"");
		for (i = 0; i < n && p[i]; i++) {
			if (p[i] == '"' || p[i] == '\\')
				ip_sb_add(&sb, "\\%c", p[i]);
			else if (p[i] < 0x20 || p[i] >= 0x7f)
				ip_sb_add(&sb, "\\u%04x", p[i]);
			else
				ip_sb_add(&sb, "%c", p[i]);
		}
		ip_sb_add(&sb, "\"");
	} else if (t && btf_is_array(t) &&
		   (et = btf__type_by_id(btf, btf__resolve_type(btf,
						btf_array(t)->type))) &&
		   ip_btf_int_like(et, &is_signed, &is_bool) &&
		   (__u64)btf_array(t)->nelems * et->size <= v->size) {
		ip_sb_add(&sb, "[");
		for (i = 0; i < btf_array(t)->nelems; i++) {
			ip_sb_add(&sb, i ? ", " : "");
			ip_sb_int(&sb, p + i * et->size, et->size, is_signed,
				  is_bool);
		}
		ip_sb_add(&sb, "]");
	} else {
		ip_sb_add(&sb, "\"0x");
		for (i = 0; i < v->size; i++)
			ip_sb_add(&sb, "%02x", p[i]);
		ip_sb_add(&sb, "\"");
	}
	return sb.full ? -ENAMETOOLONG : 0;
}

/* --- objects -------------------------------------------------------------- */

/* Is @map a struct_ops of our type?  Its BTF value type says. */
static bool ip_is_ops_map(const struct bpf_object *obj,
			  const struct bpf_map *map, const char **type)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *t;

	*type = "?";
	if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS || !btf)
		return false;
	t = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
	if (!t)
		return false;
	*type = btf__name_by_offset(btf, t->name_off) ?: "?";
	return !strcmp(*type, IP_OPS_TYPE);
}

/* Where the name is in the struct_ops' initial value. */
static int ip_ops_name_ptr(const char *what, struct ip_prog *p)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	const struct btf_type *t;
	const struct btf_member *m;
	size_t size;
	char *data;
	unsigned int i;
	__u32 off;

	t = btf__type_by_id(btf, bpf_map__btf_value_type_id(p->ops_map));
	data = bpf_map__initial_value(p->ops_map, &size);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(btf, m->name_off) ?: "", "name"))
			continue;
		off = btf_member_bit_offset(t, i) / 8;
		if (!data || off + BLKINTERPOSE_NAME_LEN > size ||
		    btf__resolve_size(btf, m->type) != BLKINTERPOSE_NAME_LEN)
			break;
		p->name = data + off;
		if (!memchr(p->name, '\0', BLKINTERPOSE_NAME_LEN))
			return ip_err(EINVAL, "%s: object %s: struct_ops %s has a name that is not NUL-terminated",
				      what, p->path, bpf_map__name(p->ops_map));
		return 0;
	}
	return ip_err(EINVAL, "%s: object %s: struct_ops %s has no name of %d bytes (built against another kernel?)",
		      what, p->path, bpf_map__name(p->ops_map),
		      BLKINTERPOSE_NAME_LEN);
}

/* Find the object's one blk_interposer_ops map and its name. */
static int ip_prog_inspect(const char *what, struct ip_prog *p)
{
	const char *path = p->path, *type;
	char names[128] = "";
	struct bpf_map *map;
	unsigned int n = 0;
	int err;

	bpf_object__for_each_map(map, p->obj) {
		if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS ||
		    !bpf_map__autocreate(map))
			continue;
		if (!ip_is_ops_map(p->obj, map, &type)) {
			err = ip_err(EINVAL, "%s: object %s: struct_ops %s is a %s, not a " IP_OPS_TYPE,
				     what, path, bpf_map__name(map), type);
			goto fail;
		}
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
			 "%s%s", n ? ", " : "", bpf_map__name(map));
		n++;
		p->ops_map = map;
	}
	if (n != 1) {
		if (!n)
			err = ip_err(EINVAL, "%s: object %s has no " IP_OPS_TYPE " struct_ops (declare one with INTERPOSE_OPS())",
				     what, path);
		else
			err = ip_err(EINVAL, "%s: object %s has %u " IP_OPS_TYPE " struct_ops (%s), expected one",
				     what, path, n, names);
		goto fail;
	}
	if (!(bpf_map__map_flags(p->ops_map) & BPF_F_LINK)) {
		err = ip_err(EINVAL, "%s: object %s: struct_ops %s is not in SEC(\".struct_ops.link\")",
			     what, path, bpf_map__name(p->ops_map));
		goto fail;
	}
	err = ip_ops_name_ptr(what, p);
	if (err)
		goto fail;
	return 0;
fail:
	ip_prog_close(p);
	return err;
}

int ip_prog_open(const char *what, const char *path, struct ip_prog *p)
{
	char why[256];
	int err;

	memset(p, 0, sizeof(*p));
	p->path = path;
	ip_bpf_warning[0] = '\0';
	p->obj = bpf_object__open_file(path, NULL);
	err = p->obj ? 0 : -errno;
	if (!p->obj) {
		err = ip_libbpf_errno(err, why, sizeof(why));
		if (err == ENOENT)
			snprintf(why, sizeof(why), "no such file");
		return ip_err(err, "%s: cannot open object %s: %s", what, path,
			      why);
	}
	return ip_prog_inspect(what, p);
}

int ip_prog_open_mem(const char *what, const void *buf, size_t sz,
		     struct ip_prog *p)
{
	char why[256];
	int err;

	memset(p, 0, sizeof(*p));
	p->path = "in memory";
	ip_bpf_warning[0] = '\0';
	p->obj = bpf_object__open_mem(buf, sz, NULL);
	err = p->obj ? 0 : -errno;
	if (!p->obj) {
		err = ip_libbpf_errno(err, why, sizeof(why));
		return ip_err(err, "%s: cannot open the object in memory (%zu bytes): %s",
			      what, sz, why);
	}
	return ip_prog_inspect(what, p);
}

/* Whether the caller loaded @obj already: its programs have descriptors. */
static bool ip_obj_loaded(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
		if (bpf_program__fd(prog) >= 0)
			return true;
	return false;
}

/* true in the shared library, whose libbpf is its own (libbpf_private.c) */
__attribute__((weak)) bool ip_libbpf_private;

int ip_prog_use_obj(const char *what, struct bpf_object *obj,
		    struct ip_prog *p)
{
	memset(p, 0, sizeof(*p));
	/*
	 * A bpf_object is a structure of the libbpf that made it: the
	 * shared library's private libbpf (of another version, maybe) must
	 * not touch the application's.
	 */
	if (ip_libbpf_private)
		return ip_err(EOPNOTSUPP, "%s: the shared libinterpose has a libbpf of its own and cannot take the application's bpf_object: link the static library (pkg-config --static) or pass the object's bytes (prog_buf, a skeleton's NAME__elf_bytes())",
			      what);
	p->obj = obj;
	p->borrowed = true;
	p->path = bpf_object__name(obj) ?: "(no name)";
	p->loaded = ip_obj_loaded(obj);
	return ip_prog_inspect(what, p);
}

int ip_prog_not_loaded(const char *what, struct ip_prog *p,
		       const char *setting)
{
	if (!p->loaded)
		return 0;
	return ip_err(EINVAL, "%s: object %s is loaded already: %s only before it is loaded",
		      what, p->path, setting);
}

int ip_prog_find_var(struct ip_prog *p, const char *name, struct ip_var *v,
		     char **datap)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	struct bpf_map *map;
	size_t size;
	char *data;

	if (!btf)
		return -ENOENT;
	bpf_object__for_each_map(map, p->obj) {
		if (!bpf_map__is_internal(map))
			continue;
		data = bpf_map__initial_value(map, &size);
		if (!data || ip_btf_find_var(btf, bpf_map__btf_value_type_id(map),
					     name, v))
			continue;
		if ((size_t)v->offset + v->size > size)
			return -ENOENT;
		*datap = data + v->offset;
		return 0;
	}
	return -ENOENT;
}

int ip_prog_set_vars(const char *what, struct ip_prog *p,
		     const char *const *vars, size_t n)
{
	char name[128], why[384], *data, *tmp;
	const char *eq, *val;
	struct ip_var v;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		if (!vars[i])
			return ip_err(EINVAL, "%s: set_vars[%zu] is NULL", what, i);
		eq = strchr(vars[i], '=');
		if (!eq || eq == vars[i] || (size_t)(eq - vars[i]) >= sizeof(name))
			return ip_err(EINVAL, "%s: bad variable setting '%s' (expected VAR=VALUE)",
				      what, vars[i]);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - vars[i]), vars[i]);
		val = eq + 1;
		if (ip_prog_find_var(p, name, &v, &data))
			return ip_err(ENOENT, "%s: object %s has no global variable %s",
				      what, p->path, name);
		tmp = calloc(1, v.size ?: 1);
		if (!tmp)
			return ip_err(ENOMEM, "%s: out of memory", what);
		err = ip_var_parse(&v, val, tmp, why, sizeof(why));
		if (!err)
			memcpy(data, tmp, v.size);
		free(tmp);
		if (err)
			return ip_err(EINVAL, "%s: object %s: variable %s: %s",
				      what, p->path, name, why);
		pr_debug("%s: %s: %s = %s\n", what, p->path, name, val);
	}
	return 0;
}

int ip_prog_set_typed_vars(const char *what, struct ip_prog *p,
			   const struct interpose_var *vars, size_t n)
{
	struct ip_var v;
	char *data;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!vars[i].name || !vars[i].value)
			return ip_err(EINVAL, "%s: vars[%zu] has no %s", what, i,
				      vars[i].name ? "value" : "name");
		if (ip_prog_find_var(p, vars[i].name, &v, &data))
			return ip_err(ENOENT, "%s: object %s has no global variable %s",
				      what, p->path, vars[i].name);
		if (vars[i].size != v.size)
			return ip_err(EINVAL, "%s: object %s: variable %s has %u bytes, the value given %zu",
				      what, p->path, vars[i].name, v.size,
				      vars[i].size);
		memcpy(data, vars[i].value, v.size);
		pr_debug("%s: %s: %s set (%zu bytes)\n", what, p->path,
			 vars[i].name, vars[i].size);
	}
	return 0;
}

int ip_prog_set_name(const char *what, struct ip_prog *p, const char *name)
{
	const char *c;
	int err;

	if (p->loaded && !strcmp(p->name, name))
		return 0;
	err = ip_prog_not_loaded(what, p, "its ops can be renamed");
	if (err)
		return err;

	if (strlen(name) >= BLKINTERPOSE_NAME_LEN || !name[0])
		return ip_err(EINVAL, "%s: ops name '%s' must have 1 to %d characters",
			      what, name, BLKINTERPOSE_NAME_LEN - 1);
	/* What the kernel's bpf_obj_name_cpy() accepts. */
	for (c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.')
			return ip_err(EINVAL, "%s: ops name '%s' may only have letters, digits, '_' and '.'",
				      what, name);
	memset(p->name, 0, BLKINTERPOSE_NAME_LEN);
	memcpy(p->name, name, strlen(name));
	return 0;
}

int ip_obj_load(const char *what, const char *path, struct bpf_object *obj)
{
	char why[256], reason[256] = "";
	struct bpf_program *prog, *failed = NULL;
	const char *log = NULL;
	char **logs;
	size_t n = 0, i;
	int err;

	/*
	 * A buffer per program: with log level 0, libbpf asks the kernel for
	 * a log only when a program's load failed, so the program whose
	 * buffer holds a log is the one refused.  (Its fd cannot tell: a
	 * failed load closes every program of the object.)  The pages of a
	 * buffer that stays empty are never touched.
	 */
	bpf_object__for_each_program(prog, obj)
		n++;
	logs = calloc(n ? n : 1, sizeof(*logs));
	for (i = 0; logs && i < n; i++) {
		logs[i] = malloc(IP_VERIFIER_LOG_SIZE);
		if (!logs[i])
			break;
		logs[i][0] = '\0';
	}
	if (!logs || i < n) {
		for (i = 0; logs && i < n; i++)
			free(logs[i]);
		free(logs);
		return ip_err(ENOMEM, "%s: cannot load %s: out of memory", what,
			      path);
	}
	i = 0;
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_log_buf(prog, logs[i++], IP_VERIFIER_LOG_SIZE);
	ip_bpf_warning[0] = '\0';
	err = bpf_object__load(obj);
	i = 0;
	bpf_object__for_each_program(prog, obj) {
		bpf_program__set_log_buf(prog, NULL, 0);
		if (!failed && logs[i][0]) {
			failed = prog;
			log = logs[i];
		}
		i++;
	}
	if (err && failed) {
		pr_info("%s: prog '%s': -- BEGIN PROG LOAD LOG --\n%s-- END PROG LOAD LOG --\n",
			what, bpf_program__name(failed), log);
		ip_verifier_reason(log, reason, sizeof(reason));
	}
	for (i = 0; i < n; i++)
		free(logs[i]);
	free(logs);
	if (!err)
		return 0;
	/* A log truncated by the kernel (ENOSPC) still ends with the reason. */
	if (reason[0])
		return ip_err(err == -EINVAL || err == -EACCES ? -err : EACCES,
			      "%s: cannot load %s: the verifier refused program %s: %s",
			      what, path, bpf_program__name(failed), reason);
	err = ip_libbpf_errno(err, why, sizeof(why));
	if (err == EPERM)
		snprintf(why, sizeof(why), "%s", ip_common_reason(EPERM));
	return ip_err(err, "%s: cannot load %s: %s", what, path, why);
}

/*
 * Filters.  The program calls a global function interpose_filter(); libbpf
 * appends it after the calling program's own instructions, so it is the
 * only function there and its body runs to the end.  Just before libbpf
 * hands each program to the kernel, ip_filter_prepare() swaps that body
 * for the compiled expression (and drops the line info of the old body).
 */
#define IP_FILTER_FUNC	"interpose_filter"

/* what ip_prog_load() of this thread is loading, for the callback */
static __thread const struct interpose_filter *ip_cur_filter;
static __thread struct bpf_object *ip_cur_obj;
static __thread unsigned int ip_cur_applied;
static __thread char ip_cur_why[256];

/* Is the function at instruction @off of the program interpose_filter()? */
static bool ip_filter_func_at(const struct bpf_prog_load_opts *opts,
			      __u32 off)
{
	const struct btf *btf = bpf_object__btf(ip_cur_obj);
	const struct bpf_func_info *fi;
	const struct btf_type *t;
	__u32 i;

	if (!btf || !opts->func_info || !opts->func_info_rec_size)
		return false;
	for (i = 0; i < opts->func_info_cnt; i++) {
		fi = (const void *)((const char *)opts->func_info +
				    (size_t)i * opts->func_info_rec_size);
		if (fi->insn_off != off)
			continue;
		t = btf__type_by_id(btf, fi->type_id);
		return t && !strcmp(btf__name_by_offset(btf, t->name_off) ?: "",
				    IP_FILTER_FUNC);
	}
	return false;
}

static int ip_filter_prepare(struct bpf_program *prog,
			     struct bpf_prog_load_opts *opts,
			     long cookie)
{
	const struct bpf_insn *insns = bpf_program__insns(prog), *code;
	size_t cnt = bpf_program__insn_cnt(prog), i, start = 0, ncode;
	const struct bpf_line_info *li;
	struct bpf_insn *n;
	bool found = false;
	__u32 keep;
	int err;

	(void)cookie;
	if (!ip_cur_filter)
		return 0;
	for (i = 0; i < cnt; i++) {
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    insns[i].src_reg == BPF_PSEUDO_FUNC) {
			snprintf(ip_cur_why, sizeof(ip_cur_why),
				 "program %s uses a callback", bpf_program__name(prog));
			return -EINVAL;
		}
		if (insns[i].code != (BPF_JMP | BPF_CALL) ||
		    insns[i].src_reg != BPF_PSEUDO_CALL)
			continue;
		if (found && start != i + insns[i].imm + 1) {
			snprintf(ip_cur_why, sizeof(ip_cur_why),
				 "program %s calls functions other than " IP_FILTER_FUNC "()",
				 bpf_program__name(prog));
			return -EINVAL;
		}
		start = i + insns[i].imm + 1;
		found = true;
	}
	if (!found)
		return 0;
	if (start >= cnt || !ip_filter_func_at(opts, start)) {
		snprintf(ip_cur_why, sizeof(ip_cur_why),
			 "program %s calls a function that is not " IP_FILTER_FUNC "()",
			 bpf_program__name(prog));
		return -EINVAL;
	}
	code = ip_filter_insns(ip_cur_filter, &ncode);
	n = malloc((start + ncode) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memcpy(n, insns, start * sizeof(*n));
	memcpy(n + start, code, ncode * sizeof(*n));
	err = bpf_program__set_insns(prog, n, start + ncode);
	free(n);
	if (err)
		return err;
	/* the old body's lines are gone; its first one stays */
	if (opts->line_info && opts->line_info_rec_size) {
		for (keep = 0; keep < opts->line_info_cnt; keep++) {
			li = (const void *)((const char *)opts->line_info +
					    (size_t)keep * opts->line_info_rec_size);
			if (li->insn_off > start)
				break;
		}
		opts->line_info_cnt = keep;
	}
	ip_cur_applied++;
	pr_debug("filter: %zu instructions in place of %zu in %s\n", ncode,
		 cnt - start, bpf_program__name(prog));
	return 0;
}

static void ip_filter_hook_once(void)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, o,
		    .prog_prepare_load_fn = ip_filter_prepare);
	int id;

	/* ahead of libbpf's own "struct_ops+", which does nothing more */
	id = libbpf_register_prog_handler("struct_ops+",
					  BPF_PROG_TYPE_STRUCT_OPS, 0, &o);
	if (id < 0)
		pr_warn("filter: cannot register the load callback: %d\n", id);
}

void ip_filter_hook_register(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, ip_filter_hook_once);
}

/*
 * Tell the program which fields the filter reads at submission, if it
 * asks (its global interpose_filter_fields, interpose/event.h).
 */
#define IP_FILTER_FIELDS	"interpose_filter_fields"

static int ip_filter_set_fields(const char *what, struct ip_prog *p)
{
	__u32 fields = ip_filter_fields(p->filter);
	struct ip_var v;
	char *data;

	if (ip_prog_find_var(p, IP_FILTER_FIELDS, &v, &data))
		return 0;
	if (v.size != sizeof(fields))
		return ip_err(EINVAL, "%s: %s: " IP_FILTER_FIELDS " has %u bytes, not the 4 of a __u32",
			      what, p->path, v.size);
	memcpy(data, &fields, sizeof(fields));
	pr_debug("%s: %s: " IP_FILTER_FIELDS " = %#x\n", what, p->path, fields);
	return 0;
}

int ip_prog_load(const char *what, struct ip_prog *p)
{
	int err;

	if (p->loaded)
		return 0;
	if (!p->filter)
		return ip_obj_load(what, p->path, p->obj);
	err = ip_filter_set_fields(what, p);
	if (err)
		return err;
	ip_cur_filter = p->filter;
	ip_cur_obj = p->obj;
	ip_cur_applied = 0;
	ip_cur_why[0] = '\0';
	err = ip_obj_load(what, p->path, p->obj);
	ip_cur_filter = NULL;
	ip_cur_obj = NULL;
	if (err && ip_cur_why[0])
		return ip_err(EINVAL, "%s: cannot put the filter into %s: %s",
			      what, p->path, ip_cur_why);
	if (!err && !ip_cur_applied)
		return ip_err(EINVAL, "%s: %s has no filter hook: none of its programs calls a global function " IP_FILTER_FUNC "() (bpf/trace.bpf.c has one)",
			      what, p->path);
	return err;
}

void ip_prog_close(struct ip_prog *p)
{
	ip_filter_free(p->filter);
	p->filter = NULL;
	/* the caller's object stays the caller's */
	if (!p->borrowed)
		bpf_object__close(p->obj);
	p->obj = NULL;
	p->ops_map = NULL;
	p->name = NULL;
}
