// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: the pins of a program attached from an object file, and
 * reading its maps and global variables through them.
 *
 *   /sys/fs/bpf/interpose/DEVNAME/link           the struct_ops link
 *   /sys/fs/bpf/interpose/DEVNAME/maps/NAME      its maps: "bss", "data",
 *                                                "rodata", and the object's
 *                                                own maps by name
 *   /sys/fs/bpf/interpose/DEVNAME@OPS/...       the same for the program
 *                                                of observer OPS
 *
 * The link pin keeps the ops registered after the attaching process is
 * gone; removing it unregisters the ops and detaches it everywhere
 * (ip_unpin_all() detaches the link first, so that this happens at once
 * rather than when the kernel gets round to freeing the pin).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "libinterpose_internal.h"

void ip_pin_devname(const struct ip_dev *d, char *buf, size_t len)
{
	if (d->name[0])
		snprintf(buf, len, "%s", d->name);
	else
		snprintf(buf, len, "%u:%u", major(d->dev), minor(d->dev));
}

int ip_pin_path(const char *devname, const char *sub, char *buf, size_t len)
{
	if (sub)
		return ip_snprintf(buf, len, "%s/interpose/%s/%s",
				   ip_bpffs_root(), devname, sub);
	return ip_snprintf(buf, len, "%s/interpose/%s", ip_bpffs_root(),
			   devname);
}

const char *ip_map_pin_name(const char *map_name)
{
	const char *dot = strchr(map_name, '.');

	return dot && dot[1] ? dot + 1 : map_name;
}

static int ip_mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p;

	if (ip_snprintf(buf, sizeof(buf), "%s", path))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int ip_pin_prog(const char *what, const char *devname, struct bpf_link *link,
		struct bpf_object *obj, const struct bpf_map *skip)
{
	char dir[PATH_MAX], path[PATH_MAX + IP_NAME_LEN];
	const char *name;
	struct bpf_map *map;
	int err;

	err = ip_pin_path(devname, "maps", dir, sizeof(dir));
	if (!err)
		err = ip_mkdir_p(dir);
	if (err)
		return ip_err(-err, "%s: cannot create %s: %s", what, dir,
			      strerror(-err));
	if (link) {
		err = ip_pin_path(devname, "link", path, sizeof(path));
		if (!err && bpf_obj_pin(bpf_link__fd(link), path))
			err = -errno;
		if (err)
			return ip_err(-err, "%s: cannot pin the struct_ops link at %s: %s",
				      what, path, strerror(-err));
	}
	bpf_object__for_each_map(map, obj) {
		/* Maps the object pins itself (LIBBPF_PIN_BY_NAME) stay there. */
		if (map == skip || !bpf_map__autocreate(map) ||
		    bpf_map__fd(map) < 0 || bpf_map__is_pinned(map))
			continue;
		name = bpf_map__name(map);
		if (bpf_map__is_internal(map))
			name = ip_map_pin_name(name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (bpf_obj_pin(bpf_map__fd(map), path))
			return ip_err(errno, "%s: cannot pin map %s at %s: %s", what,
				      bpf_map__name(map), path, strerror(errno));
	}
	return 0;
}

void ip_unpin_maps(const char *devname)
{
	char dir[PATH_MAX], path[PATH_MAX + IP_NAME_LEN];
	struct dirent *e;
	DIR *d;

	if (ip_pin_path(devname, "maps", dir, sizeof(dir)))
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path))
			pr_warn("cannot remove %s: %s\n", path, strerror(errno));
	}
	closedir(d);
}

int ip_unpin_all(const char *devname)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int fd, err;

	err = ip_pin_path(devname, NULL, dir, sizeof(dir));
	if (err)
		return err;
	if (access(dir, F_OK))
		return -errno;
	/*
	 * The last reference of a pin goes after an RCU grace period and a
	 * work item; detaching the link unregisters the ops now, so that it
	 * is gone when we return.
	 */
	fd = ip_pinned_link_fd(devname);
	if (fd >= 0) {
		if (bpf_link_detach(fd))
			pr_debug("detach link %s/link: %s\n", dir, strerror(errno));
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/link", dir);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	ip_unpin_maps(devname);
	snprintf(path, sizeof(path), "%s/maps", dir);
	if (rmdir(path) && errno != ENOENT)
		return -errno;
	if (rmdir(dir))
		return -errno;
	pr_debug("removed the pins of %s\n", dir);
	return 0;
}

int ip_for_each_observer_pin(const char *devname,
			     int (*fn)(const char *pin, const char *ops,
				       void *ctx),
			     void *ctx)
{
	char dir[PATH_MAX];
	size_t len = strlen(devname);
	struct dirent *e;
	int ret = 0;
	DIR *d;

	if (ip_snprintf(dir, sizeof(dir), "%s/interpose", ip_bpffs_root()))
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while (!ret && (e = readdir(d)))
		if (!strncmp(e->d_name, devname, len) && e->d_name[len] == '@')
			ret = fn(e->d_name, e->d_name + len + 1, ctx);
	closedir(d);
	return ret;
}

static int ip_unpin_observer(const char *pin, const char *ops, void *ctx)
{
	int *n = ctx;

	(void)ops;
	if (ip_unpin_all(pin))
		pr_warn("cannot remove the pins at %s/interpose/%s\n",
			ip_bpffs_root(), pin);
	else
		(*n)++;
	return 0;
}

int ip_unpin_observers(const char *devname)
{
	int n = 0;

	ip_for_each_observer_pin(devname, ip_unpin_observer, &n);
	return n;
}

int ip_pinned_link_fd(const char *devname)
{
	char path[PATH_MAX];
	int fd, err;

	err = ip_pin_path(devname, "link", path, sizeof(path));
	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* --- reading a program's data ------------------------------------------ */

/*
 * Resolve @dev for @what; its pin directory must exist.  "DEV@OPS" names
 * the program of DEV's observer OPS.
 */
int ip_prog_dev(const char *what, const char *dev, struct ip_dev *d,
		char *devname, size_t len)
{
	char dir[PATH_MAX], buf[PATH_MAX];
	const char *at = dev ? strrchr(dev, '@') : NULL, *obs = NULL;
	int err;

	err = ip_resolve(dev, d);
	if (err && at && at[1] && !strchr(at, '/') &&
	    !ip_snprintf(buf, sizeof(buf), "%.*s", (int)(at - dev), dev)) {
		obs = at + 1;
		err = ip_resolve(buf, d);
	}
	if (err)
		return ip_err(-err, "%s %s: %s", what, dev ?: "(null)",
			      ip_resolve_reason(-err));
	ip_pin_devname(d, devname, len);
	if (obs && ip_snprintf(devname + strlen(devname),
			       len - strlen(devname), "@%s", obs))
		return ip_err(ENAMETOOLONG, "%s %s: name too long", what, dev);
	err = ip_pin_path(devname, NULL, dir, sizeof(dir));
	if (err)
		return ip_err(-err, "%s %s: name too long", what, dev);
	if (access(dir, F_OK) && obs)
		return ip_err(ENOENT, "%s %s: no program of observer %s is pinned for it (it was not attached with --observer --prog)",
			      what, ip_label(d, dev), obs);
	if (access(dir, F_OK))
		return ip_err(ENOENT, "%s %s: no program is pinned for it (it was not attached with a program file)",
			      what, ip_label(d, dev));
	return 0;
}

int ip_prog_map_fd_what(const char *what, const char *dev,
		       const char *map_name)
{
	char devname[IP_NAME_LEN], path[PATH_MAX];
	struct ip_dev d;
	int fd, err;

	if (!map_name || !map_name[0] || strchr(map_name, '/'))
		return ip_err(EINVAL, "%s %s: bad map name '%s'", what,
			      dev ?: "(null)", map_name ?: "(null)");
	err = ip_prog_dev(what, dev, &d, devname, sizeof(devname));
	if (err)
		return err;
	err = ip_snprintf(path, sizeof(path), "%s/interpose/%s/maps/%s",
			  ip_bpffs_root(), devname, map_name);
	if (err)
		return ip_err(-err, "%s %s: name too long", what, dev);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return ip_err(ENOENT, "%s %s: its program has no map %s",
				      what, ip_label(&d, dev), map_name);
		return ip_err(err, "%s %s: cannot open %s: %s",
			      what, ip_label(&d, dev), path, strerror(err));
	}
	return fd;
}

/* A variable found in a pinned map: its BTF and a copy of the map's value. */
struct ip_pinned_var {
	struct ip_var v;
	struct btf *btf;
	void *value;
};

static void ip_pinned_var_free(struct ip_pinned_var *pv)
{
	btf__free(pv->btf);
	free(pv->value);
}

/* Look for @var in the map pinned at @path: 0, -ENOENT or -errno. */
static int ip_pinned_var_in(const char *path, const char *var,
			    struct ip_pinned_var *pv)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), zero = 0;
	int fd, err;

	memset(pv, 0, sizeof(*pv));
	memset(&info, 0, sizeof(info));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_map_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	if (err || !info.btf_id || !info.btf_value_type_id ||
	    info.type != BPF_MAP_TYPE_ARRAY || info.max_entries < 1) {
		close(fd);
		return err ?: -ENOENT;
	}
	pv->btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!pv->btf) {
		err = -errno;
		goto out;
	}
	err = ip_btf_find_var(pv->btf, info.btf_value_type_id, var, &pv->v);
	if (err)
		goto out;
	if ((__u64)pv->v.offset + pv->v.size > info.value_size) {
		err = -ENOENT;
		goto out;
	}
	pv->value = calloc(1, info.value_size);
	if (!pv->value) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(fd, &zero, pv->value))
		err = -errno;
out:
	close(fd);
	if (err)
		ip_pinned_var_free(pv);
	return err;
}

static int ip_pinned_var(const char *what, const char *dev, const char *var,
			 struct ip_pinned_var *pv)
{
	char devname[IP_NAME_LEN], dir[PATH_MAX], path[PATH_MAX + IP_NAME_LEN];
	struct dirent *e;
	struct ip_dev d;
	DIR *dh;
	int err;

	if (!var || !var[0])
		return ip_err(EINVAL, "%s %s: no variable name given", what,
			      dev ?: "(null)");
	err = ip_prog_dev(what, dev, &d, devname, sizeof(devname));
	if (err)
		return err;
	ip_pin_path(devname, "maps", dir, sizeof(dir));
	dh = opendir(dir);
	if (!dh)
		return ip_err(errno, "%s %s: cannot read %s: %s", what,
			      ip_label(&d, dev), dir, strerror(errno));
	err = -ENOENT;
	while ((e = readdir(dh))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		err = ip_pinned_var_in(path, var, pv);
		if (err != -ENOENT)
			break;
		err = -ENOENT;
	}
	closedir(dh);
	if (err == -ENOENT)
		return ip_err(ENOENT, "%s %s: its program has no global variable %s",
			      what, ip_label(&d, dev), var);
	if (err)
		return ip_err(-err, "%s %s: cannot read variable %s: %s", what,
			      ip_label(&d, dev), var,
			      err == -EPERM ? ip_common_reason(EPERM) :
			      strerror(-err));
	return 0;
}

int ip_prog_var(const char *dev, const char *var, __u64 *val)
{
	struct ip_pinned_var pv;
	char type[128];
	int err;

	err = ip_pinned_var("var", dev, var, &pv);
	if (err)
		return err;
	err = ip_var_int(&pv.v, (char *)pv.value + pv.v.offset, val);
	if (err) {
		ip_btf_type_str(pv.btf, pv.v.type_id, type, sizeof(type));
		err = ip_err(EINVAL, "var %s: variable %s is not an integer (%s)",
			     dev, var, type);
	}
	ip_pinned_var_free(&pv);
	return err;
}

int interpose_prog_var(const char *dev, const char *var, __u64 *val)
{
	ip_errmsg_clear();
	if (!val)
		return ip_err(EINVAL, "var %s: no result pointer given",
			      dev ?: "(null)");
	return ip_prog_var(dev, var, val);
}

int interpose_prog_var_fmt(const char *dev, const char *var, char *buf,
			   size_t len)
{
	struct ip_pinned_var pv;
	int err;

	ip_errmsg_clear();
	if (!buf)
		return ip_err(EINVAL, "var %s: no buffer given", dev ?: "(null)");
	err = ip_pinned_var("var", dev, var, &pv);
	if (err)
		return err;
	err = ip_var_format(&pv.v, (char *)pv.value + pv.v.offset, buf, len);
	if (err)
		err = ip_err(-err, "var %s: buffer too small for variable %s",
			     dev, var);
	ip_pinned_var_free(&pv);
	return err;
}

int interpose_prog_map_fd(const char *dev, const char *map_name)
{
	ip_errmsg_clear();
	return ip_prog_map_fd_what("map", dev, map_name);
}
