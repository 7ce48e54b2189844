// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: registered interposer ops.
 *
 * The kernel keeps no list of them that userspace can read, so they are
 * found the way bpftool finds struct_ops: every BPF map whose kernel value
 * type is "bpf_struct_ops_blk_interposer_ops" is one; its name and state
 * are read from the map's value at the offsets vmlinux BTF gives, and the
 * struct_ops links tell which ones are registered.  The devices that use
 * an ops come from their "interposer" sysfs lines.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "libinterpose_internal.h"

#define IP_KOPS_VALUE	"bpf_struct_ops_blk_interposer_ops"

/* enum bpf_struct_ops_state of the kernel */
#define IP_ST_INIT	0
#define IP_ST_INUSE	1
#define IP_ST_TOBEFREE	2
#define IP_ST_READY	3

/* The byte offset and type of member @name of the struct @id. */
static int ip_btf_member(const struct btf *btf, __u32 id, const char *name,
			 __u32 *off, __u32 *type)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m;
	unsigned int i;

	if (!t || !btf_is_composite(t))
		return -ENOENT;
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(btf, m->name_off) ?: "", name))
			continue;
		*off = btf_member_bit_offset(t, i) / 8;
		*type = btf__resolve_type(btf, m->type);
		return 0;
	}
	return -ENOENT;
}

int ip_kops_load(struct ip_kops *k)
{
	__u32 common_off, common_type, data_off, data_type, off, type;
	char path[PATH_MAX];
	const struct btf_type *t;
	int id, err;

	memset(k, 0, sizeof(*k));
	err = ip_snprintf(path, sizeof(path), "%s/kernel/btf/vmlinux",
			  ip_sysfs_root());
	if (err)
		return err;
	k->vmlinux = btf__parse(path, NULL);
	if (!k->vmlinux) {
		err = -errno;
		return err == -ENOENT ? -ENOTTY : err;
	}
	k->btf = k->vmlinux;
	id = btf__find_by_name_kind(k->btf, IP_KOPS_VALUE, BTF_KIND_STRUCT);
	if (id < 0 && ip_backend() == INTERPOSE_BACKEND_MODULE) {
		/* a stock kernel: the module registers the type */
		err = ip_snprintf(path, sizeof(path),
				  "%s/kernel/btf/blk_interposer",
				  ip_sysfs_root());
		if (err)
			goto unsupported;
		k->module = btf__parse_split(path, k->vmlinux);
		if (!k->module)
			goto unsupported;
		k->btf = k->module;
		id = btf__find_by_name_kind(k->btf, IP_KOPS_VALUE,
					    BTF_KIND_STRUCT);
	}
	if (id < 0)
		goto unsupported;
	k->value_type_id = id;
	t = btf__type_by_id(k->btf, id);
	k->value_size = t->size;
	if (ip_btf_member(k->btf, id, "common", &common_off, &common_type) ||
	    ip_btf_member(k->btf, common_type, "state", &off, &type))
		goto unsupported;
	k->state_off = common_off + off;
	if (ip_btf_member(k->btf, id, "data", &data_off, &data_type) ||
	    ip_btf_member(k->btf, data_type, "name", &off, &type) ||
	    btf__resolve_size(k->btf, type) != BLKINTERPOSE_NAME_LEN)
		goto unsupported;
	k->name_off = data_off + off;
	if (k->name_off + BLKINTERPOSE_NAME_LEN > k->value_size ||
	    k->state_off + sizeof(__u32) > k->value_size)
		goto unsupported;
	return 0;
unsupported:
	ip_kops_free(k);
	return -ENOTTY;
}

void ip_kops_free(struct ip_kops *k)
{
	btf__free(k->module);
	btf__free(k->vmlinux);
	k->module = NULL;
	k->vmlinux = NULL;
	k->btf = NULL;
}

int ip_kops_map_name(const struct ip_kops *k, int map_fd, char *name,
		     size_t len, __u32 *state)
{
	__u32 zero = 0;
	char *value;
	int err = 0;

	value = calloc(1, k->value_size);
	if (!value)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, value)) {
		err = -errno;
	} else {
		snprintf(name, len, "%.*s", BLKINTERPOSE_NAME_LEN,
			 value + k->name_off);
		if (state)
			memcpy(state, value + k->state_off, sizeof(*state));
	}
	free(value);
	return err;
}

/* Map id of a struct_ops link: 0 if it is not one (or has none left). */
static int ip_link_map_id(int link_fd, __u32 *link_id, __u32 *map_id)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_link_get_info_by_fd(link_fd, &info, &len))
		return -errno;
	if (link_id)
		*link_id = info.id;
	*map_id = info.type == BPF_LINK_TYPE_STRUCT_OPS ?
		  info.struct_ops.map_id : 0;
	return 0;
}

int ip_link_ops_name(int link_fd, char *name, size_t len)
{
	struct bpf_map_info info;
	__u32 map_id, ilen = sizeof(info);
	struct ip_kops k;
	int map_fd, err;

	err = ip_link_map_id(link_fd, NULL, &map_id);
	if (err)
		return err;
	if (!map_id)
		return -ENOENT;
	map_fd = bpf_map_get_fd_by_id(map_id);
	if (map_fd < 0)
		return -errno;
	err = ip_kops_load(&k);
	if (!err) {
		memset(&info, 0, sizeof(info));
		if (bpf_map_get_info_by_fd(map_fd, &info, &ilen))
			err = -errno;
		else if (info.btf_vmlinux_value_type_id != k.value_type_id)
			err = -EINVAL;
		else
			err = ip_kops_map_name(&k, map_fd, name, len, NULL);
		ip_kops_free(&k);
	}
	close(map_fd);
	return err;
}

static int ip_name_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

void ip_names_free(char **names, size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++)
		free(names[i]);
	free(names);
}

void ip_names_join(char **names, size_t cnt, char *buf, size_t len)
{
	size_t i, pos = 0;

	buf[0] = '\0';
	for (i = 0; i < cnt && pos < len; i++)
		pos += snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "",
				names[i]);
}

int ip_ops_users(const char *name, const char *except, char ***namesp,
		 size_t *cntp)
{
	char path[PATH_MAX], **names = NULL, **tmp;
	struct interpose_info info;
	size_t cnt = 0;
	struct dirent *e;
	DIR *dir;
	int err = 0;

	*namesp = NULL;
	*cntp = 0;
	snprintf(path, sizeof(path), "%s/class/block", ip_sysfs_root());
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.' || (except && !strcmp(e->d_name, except)))
			continue;
		if (ip_query_class_dev(e->d_name, &info) ||
		    !ip_state_attached(info.state) ||
		    (strcmp(info.ops_name, name) &&
		     !ip_info_has_observer(&info, name)))
			continue;
		tmp = realloc(names, (cnt + 1) * sizeof(*names));
		if (!tmp || !(tmp[cnt] = strdup(e->d_name))) {
			names = tmp ?: names;
			err = -ENOMEM;
			break;
		}
		names = tmp;
		cnt++;
	}
	closedir(dir);
	if (err) {
		ip_names_free(names, cnt);
		return err;
	}
	if (cnt)
		qsort(names, cnt, sizeof(*names), ip_name_cmp);
	*namesp = names;
	*cntp = cnt;
	return 0;
}

/* Struct_ops links: which map each one holds, and who pinned it. */
struct ip_link_ref {
	__u32 link_id;
	__u32 map_id;
	char prog_dev[IP_NAME_LEN];
};

static int ip_collect_links(struct ip_link_ref **refsp, size_t *cntp)
{
	struct ip_link_ref *refs = NULL, *tmp;
	__u32 id = 0, map_id, link_id;
	size_t cnt = 0, i;
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *dh;
	int fd, err = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;	/* gone meanwhile */
			err = -errno;
			break;
		}
		err = ip_link_map_id(fd, NULL, &map_id);
		close(fd);
		if (err)
			break;
		if (!map_id)
			continue;
		tmp = realloc(refs, (cnt + 1) * sizeof(*refs));
		if (!tmp) {
			err = -ENOMEM;
			break;
		}
		refs = tmp;
		refs[cnt++] = (struct ip_link_ref){ .link_id = id,
						    .map_id = map_id };
	}
	if (!err && errno != ENOENT)
		err = -errno;
	if (err) {
		free(refs);
		return err;
	}

	/* Links pinned by interpose_attach(): their device. */
	snprintf(dir, sizeof(dir), "%s/interpose", ip_bpffs_root());
	dh = opendir(dir);
	while (dh && (e = readdir(dh))) {
		if (e->d_name[0] == '.')
			continue;
		fd = ip_pinned_link_fd(e->d_name);
		if (fd < 0)
			continue;
		if (!ip_link_map_id(fd, &link_id, &map_id))
			for (i = 0; i < cnt; i++)
				if (refs[i].link_id == link_id)
					snprintf(refs[i].prog_dev,
						 sizeof(refs[i].prog_dev), "%s",
						 e->d_name);
		close(fd);
	}
	if (dh)
		closedir(dh);
	*refsp = refs;
	*cntp = cnt;
	return 0;
}

static int ip_ops_cmp(const void *a, const void *b)
{
	const struct interpose_ops_info *x = *(struct interpose_ops_info *const *)a;
	const struct interpose_ops_info *y = *(struct interpose_ops_info *const *)b;
	int r;

	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;
	r = strcmp(x->name, y->name);
	if (r)
		return r;
	return x->map_id < y->map_id ? -1 : x->map_id > y->map_id;
}

static void ip_ops_info_free(struct interpose_ops_info *ops)
{
	if (!ops)
		return;
	ip_names_free(ops->devs, ops->nr_devs);
	free(ops);
}

/* One struct_ops map: an info object if it is a blk_interposer_ops. */
static int ip_ops_one(const struct ip_kops *k, __u32 id,
		      const struct ip_link_ref *refs, size_t nr_refs,
		      struct interpose_ops_info **opsp)
{
	struct interpose_ops_info *ops;
	struct bpf_map_info info;
	__u32 len = sizeof(info), state = 0;
	size_t i;
	int fd, err;

	*opsp = NULL;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_map_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	if (err || info.type != BPF_MAP_TYPE_STRUCT_OPS ||
	    info.btf_vmlinux_value_type_id != k->value_type_id) {
		close(fd);
		return err;
	}
	ops = calloc(1, sizeof(*ops));
	if (!ops) {
		close(fd);
		return -ENOMEM;
	}
	ops->map_id = id;
	err = ip_kops_map_name(k, fd, ops->name, sizeof(ops->name), &state);
	close(fd);
	if (err) {
		free(ops);
		return err == -ENOENT ? 0 : err;
	}
	switch (state) {
	case IP_ST_INUSE:
		ops->state = INTERPOSE_OPS_REGISTERED;
		break;
	case IP_ST_READY:
		ops->state = INTERPOSE_OPS_READY;
		break;
	case IP_ST_INIT:
		ops->state = INTERPOSE_OPS_INIT;
		break;
	default:
		ops->state = INTERPOSE_OPS_UNKNOWN;
	}
	for (i = 0; i < nr_refs; i++) {
		if (refs[i].map_id != id)
			continue;
		ops->state = INTERPOSE_OPS_REGISTERED;
		ops->link_id = refs[i].link_id;
		snprintf(ops->prog_dev, sizeof(ops->prog_dev), "%s",
			 refs[i].prog_dev);
	}
	if (ops->state == INTERPOSE_OPS_REGISTERED) {
		err = ip_ops_users(ops->name, NULL, &ops->devs, &ops->nr_devs);
		if (err && err != -ENOENT) {
			ip_ops_info_free(ops);
			return err;
		}
	}
	*opsp = ops;
	return 0;
}

int interpose_ops_list(struct interpose_ops_info ***opsp, size_t *cntp)
{
	struct interpose_ops_info **list = NULL, **tmp, *ops;
	struct ip_link_ref *refs = NULL;
	size_t cnt = 0, nr_refs = 0;
	struct ip_kops k;
	__u32 id = 0;
	int err;

	ip_errmsg_clear();
	if (!opsp || !cntp)
		return ip_err(EINVAL, "ops: no result pointer given");
	*opsp = NULL;
	*cntp = 0;
	err = ip_kops_load(&k);
	if (err == -ENOTTY)
		return ip_err(ENOTTY, "ops: the kernel has no blk_interposer_ops struct_ops");
	if (err)
		return ip_err(-err, "ops: cannot read the kernel's BTF: %s",
			      strerror(-err));
	err = ip_collect_links(&refs, &nr_refs);
	while (!err && !bpf_map_get_next_id(id, &id)) {
		err = ip_ops_one(&k, id, refs, nr_refs, &ops);
		if (err || !ops)
			continue;
		tmp = realloc(list, (cnt + 1) * sizeof(*list));
		if (!tmp) {
			ip_ops_info_free(ops);
			err = -ENOMEM;
			break;
		}
		list = tmp;
		list[cnt++] = ops;
	}
	if (!err && errno != ENOENT)
		err = -errno;
	free(refs);
	ip_kops_free(&k);
	if (err) {
		interpose_ops_list__free(list, cnt);
		return ip_err(-err, "ops: %s", err == -EPERM ?
			      ip_common_reason(EPERM) : strerror(-err));
	}
	if (cnt)
		qsort(list, cnt, sizeof(*list), ip_ops_cmp);
	*opsp = list;
	*cntp = cnt;
	return 0;
}

void interpose_ops_list__free(struct interpose_ops_info **ops, size_t cnt)
{
	size_t i;

	if (!ops)
		return;
	for (i = 0; i < cnt; i++)
		ip_ops_info_free(ops[i]);
	free(ops);
}

const char *interpose_ops_info__name(const struct interpose_ops_info *ops)
{
	return ops->name;
}

__u32 interpose_ops_info__map_id(const struct interpose_ops_info *ops)
{
	return ops->map_id;
}

__u32 interpose_ops_info__link_id(const struct interpose_ops_info *ops)
{
	return ops->link_id;
}

enum interpose_ops_state
interpose_ops_info__state(const struct interpose_ops_info *ops)
{
	return ops->state;
}

const char *interpose_ops_state_str(enum interpose_ops_state state)
{
	switch (state) {
	case INTERPOSE_OPS_REGISTERED:
		return "registered";
	case INTERPOSE_OPS_READY:
		return "ready";
	case INTERPOSE_OPS_INIT:
		return "init";
	default:
		return "unknown";
	}
}

const char *interpose_ops_info__prog_dev(const struct interpose_ops_info *ops)
{
	return ops->prog_dev[0] ? ops->prog_dev : NULL;
}

size_t interpose_ops_info__nr_devs(const struct interpose_ops_info *ops)
{
	return ops->nr_devs;
}

const char *interpose_ops_info__dev(const struct interpose_ops_info *ops,
				    size_t idx)
{
	return idx < ops->nr_devs ? ops->devs[idx] : NULL;
}
