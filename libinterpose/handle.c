// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: a handle on the program attached to a device from an
 * object (struct interpose_prog): its pinned maps opened once, their BTF
 * loaded once, so that map descriptors, variables (read and written) and
 * histograms cost no device lookup, directory walk or BTF load per call.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "libinterpose_internal.h"

#define IP_HANDLE_MAX_MAPS	32

struct ip_handle_map {
	char name[NAME_MAX + 1];	/* its pin name: "bss", "events", ... */
	int fd;
	struct bpf_map_info info;
	struct btf *btf;		/* NULL if it has none */
};

struct interpose_prog {
	char label[PATH_MAX];		/* the device, for messages */
	struct ip_handle_map maps[IP_HANDLE_MAX_MAPS];
	size_t nr_maps;
};

static int ip_handle_add(struct interpose_prog *p, const char *dir,
			 const char *name)
{
	struct ip_handle_map *m = &p->maps[p->nr_maps];
	__u32 len = sizeof(m->info);
	char path[PATH_MAX];
	int err;

	if (p->nr_maps == IP_HANDLE_MAX_MAPS)
		return ip_err(E2BIG, "prog %s: more than %d maps pinned",
			      p->label, IP_HANDLE_MAX_MAPS);
	if (ip_snprintf(path, sizeof(path), "%s/%s", dir, name))
		return ip_err(ENAMETOOLONG, "prog %s: name too long", p->label);
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->fd = bpf_obj_get(path);
	if (m->fd < 0) {
		err = errno;
		return ip_err(err, "prog %s: cannot open %s: %s", p->label,
			      path, err == EPERM ? ip_common_reason(EPERM) :
			      strerror(err));
	}
	memset(&m->info, 0, sizeof(m->info));
	if (bpf_map_get_info_by_fd(m->fd, &m->info, &len)) {
		err = errno;
		close(m->fd);
		return ip_err(err, "prog %s: cannot read map %s: %s", p->label,
			      name, strerror(err));
	}
	m->btf = NULL;
	if (m->info.btf_id && m->info.btf_value_type_id)
		m->btf = btf__load_from_kernel_by_id(m->info.btf_id);
	p->nr_maps++;
	return 0;
}

int interpose_prog__open(const char *dev, struct interpose_prog **progp)
{
	char devname[IP_NAME_LEN], dir[PATH_MAX];
	struct interpose_prog *p;
	struct dirent *e;
	struct ip_dev d;
	DIR *dh;
	int err = 0;

	ip_errmsg_clear();
	if (!progp)
		return ip_err(EINVAL, "prog %s: no result pointer given",
			      dev ?: "(null)");
	*progp = NULL;
	err = ip_prog_dev("prog", dev, &d, devname, sizeof(devname));
	if (err)
		return err;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ip_err(ENOMEM, "prog %s: out of memory", dev);
	snprintf(p->label, sizeof(p->label), "%s", ip_label(&d, dev));
	ip_pin_path(devname, "maps", dir, sizeof(dir));
	dh = opendir(dir);
	if (!dh) {
		err = ip_err(errno, "prog %s: cannot read %s: %s", p->label,
			     dir, strerror(errno));
		goto fail;
	}
	while (!err && (e = readdir(dh)))
		if (e->d_name[0] != '.')
			err = ip_handle_add(p, dir, e->d_name);
	closedir(dh);
	if (err)
		goto fail;
	*progp = p;
	return 0;
fail:
	interpose_prog__free(p);
	return err;
}

void interpose_prog__free(struct interpose_prog *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nr_maps; i++) {
		close(p->maps[i].fd);
		btf__free(p->maps[i].btf);
	}
	free(p);
}

static struct ip_handle_map *ip_handle_map(const struct interpose_prog *p,
					   const char *name)
{
	size_t i;

	for (i = 0; name && i < p->nr_maps; i++)
		if (!strcmp(p->maps[i].name, name))
			return (struct ip_handle_map *)&p->maps[i];
	return NULL;
}

int interpose_prog__map_fd(const struct interpose_prog *p,
			   const char *map_name)
{
	struct ip_handle_map *m;

	ip_errmsg_clear();
	if (!p)
		return ip_err(EINVAL, "prog: no handle given");
	m = ip_handle_map(p, map_name);
	if (!m)
		return ip_err(ENOENT, "prog %s: its program has no map %s",
			      p->label, map_name ?: "(null)");
	return m->fd;
}

/* The global variable @var: its map and place; -ENOENT with a message. */
static int ip_handle_var(const struct interpose_prog *p, const char *var,
			 struct ip_handle_map **mp, struct ip_var *v)
{
	size_t i;

	if (!var || !var[0])
		return ip_err(EINVAL, "prog %s: no variable name given",
			      p->label);
	for (i = 0; i < p->nr_maps; i++) {
		const struct ip_handle_map *m = &p->maps[i];

		if (!m->btf || m->info.type != BPF_MAP_TYPE_ARRAY ||
		    m->info.max_entries < 1 ||
		    ip_btf_find_var(m->btf, m->info.btf_value_type_id, var, v) ||
		    (__u64)v->offset + v->size > m->info.value_size)
			continue;
		*mp = (struct ip_handle_map *)m;
		return 0;
	}
	return ip_err(ENOENT, "prog %s: its program has no global variable %s",
		      p->label, var);
}

/* A copy of the value of map @m (element 0), to be freed. */
static int ip_handle_value(const struct interpose_prog *p,
			   const struct ip_handle_map *m, void **valp)
{
	__u32 zero = 0;
	void *val;
	int err;

	val = calloc(1, m->info.value_size);
	if (!val)
		return ip_err(ENOMEM, "prog %s: out of memory", p->label);
	if (bpf_map_lookup_elem(m->fd, &zero, val)) {
		err = errno;
		free(val);
		return ip_err(err, "prog %s: cannot read map %s: %s", p->label,
			      m->name, strerror(err));
	}
	*valp = val;
	return 0;
}

/* Where @var is and a copy of its map's value (to be freed) in *@valp. */
static int ip_handle_var_value(const struct interpose_prog *p, const char *var,
			       struct ip_var *v, void **valp)
{
	struct ip_handle_map *m;
	int err;

	err = ip_handle_var(p, var, &m, v);
	return err ?: ip_handle_value(p, m, valp);
}

int interpose_prog__var(const struct interpose_prog *p, const char *var,
			__u64 *valp)
{
	char type[128];
	struct ip_var v;
	void *val;
	int err;

	ip_errmsg_clear();
	if (!p || !valp)
		return ip_err(EINVAL, "prog: no handle or result pointer given");
	err = ip_handle_var_value(p, var, &v, &val);
	if (err)
		return err;
	err = ip_var_int(&v, (char *)val + v.offset, valp);
	free(val);
	if (err) {
		ip_btf_type_str(v.btf, v.type_id, type, sizeof(type));
		return ip_err(EINVAL, "prog %s: variable %s is not an integer (%s)",
			      p->label, var, type);
	}
	return 0;
}

int interpose_prog__var_fmt(const struct interpose_prog *p, const char *var,
			    char *buf, size_t len)
{
	struct ip_var v;
	void *val;
	int err;

	ip_errmsg_clear();
	if (!p || !buf)
		return ip_err(EINVAL, "prog: no handle or buffer given");
	err = ip_handle_var_value(p, var, &v, &val);
	if (err)
		return err;
	err = ip_var_format(&v, (char *)val + v.offset, buf, len);
	free(val);
	if (err)
		return ip_err(-err, "prog %s: buffer too small for variable %s",
			      p->label, var);
	return 0;
}

int interpose_prog__set_var(const struct interpose_prog *p, const char *var,
			    const void *value, size_t size)
{
	struct ip_handle_map *m;
	size_t len, off;
	struct ip_var v;
	long page;
	char *mem;
	int err;

	ip_errmsg_clear();
	if (!p || !value)
		return ip_err(EINVAL, "prog: no handle or value given");
	err = ip_handle_var(p, var, &m, &v);
	if (err)
		return err;
	if (size != v.size)
		return ip_err(EINVAL, "prog %s: variable %s has %u bytes, the value given %zu",
			      p->label, var, v.size, size);
	/*
	 * Only the variable's bytes, in place: the program keeps writing the
	 * others (counters) meanwhile, which a whole-value update would undo.
	 */
	if (!(m->info.map_flags & BPF_F_MMAPABLE))
		return ip_err(EOPNOTSUPP, "prog %s: variable %s is in map %s, which cannot be written in place (not mmapable)",
			      p->label, var, m->name);
	if (m->info.map_flags & BPF_F_RDONLY_PROG)
		return ip_err(EPERM, "prog %s: variable %s is read-only (%s): set it before load (interpose_attach_opts.vars)",
			      p->label, var, m->name);
	page = sysconf(_SC_PAGESIZE);
	len = (m->info.value_size + page - 1) / page * page;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (mem == MAP_FAILED) {
		err = errno;
		return ip_err(err, "prog %s: cannot map %s for writing: %s",
			      p->label, m->name,
			      err == EPERM ? "it is frozen (read-only)" :
			      strerror(err));
	}
	off = v.offset;
	/* one store where the program may read it at any moment */
	if (size == 8 && !(off % 8)) {
		__u64 v64;

		memcpy(&v64, value, 8);
		__atomic_store_n((__u64 *)(mem + off), v64, __ATOMIC_RELAXED);
	} else if (size == 4 && !(off % 4)) {
		__u32 v32;

		memcpy(&v32, value, 4);
		__atomic_store_n((__u32 *)(mem + off), v32, __ATOMIC_RELAXED);
	} else {
		memcpy(mem + off, value, size);
	}
	munmap(mem, len);
	return 0;
}

int interpose_prog__events(const struct interpose_prog *p,
			   interpose_event_fn fn,
			   const struct interpose_events_opts *opts,
			   struct interpose_events **evp)
{
	struct ip_handle_map *m;
	int err;

	ip_errmsg_clear();
	if (!p || !fn || !evp)
		return ip_err(EINVAL, "prog: no handle, callback or result pointer given");
	*evp = NULL;
	err = OPTS_CHECK(opts, interpose_events_opts);
	if (err)
		return ip_err(-err, "events %s: bad options (size %zu)", p->label,
			      opts ? opts->sz : 0);
	if (OPTS_GET(opts, flags, 0))
		return ip_err(EINVAL, "events %s: flags must be 0", p->label);
	m = ip_handle_map(p, INTERPOSE_EVENTS_MAP);
	if (!m)
		return ip_err(ENOENT, "events %s: its program has no map %s",
			      p->label, INTERPOSE_EVENTS_MAP);
	return ip_events_new_fd(p->label, m->fd, &m->info, fn,
				OPTS_GET(opts, ctx, NULL), evp);
}

int interpose_prog__hist_read(const struct interpose_prog *p,
			      struct interpose_hist *hists, size_t nr)
{
	struct ip_handle_map *m;
	int err;

	ip_errmsg_clear();
	if (!p || !hists || !nr)
		return ip_err(EINVAL, "prog: no handle or result array given");
	m = ip_handle_map(p, INTERPOSE_HIST_MAP);
	if (!m)
		return ip_err(ENOENT, "hist %s: its program has no map %s",
			      p->label, INTERPOSE_HIST_MAP);
	err = ip_hist_check(p->label, &m->info);
	if (err)
		return err;
	return ip_hist_read_fd(p->label, m->fd, &m->info, hists, nr);
}
