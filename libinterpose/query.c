// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: query and list interposers, and the info object.
 *
 * A device is queried with BLKINTERPOSE_QUERY on its node; when the node
 * cannot be opened (none, or no permission), its read-only "interposer"
 * sysfs attribute is parsed instead, so that anyone can list.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libinterpose_internal.h"

int ip_query_fd(int fd, struct blkinterpose_info *ki,
		struct blkinterpose_dev *targets, unsigned int room)
{
	return ip_query_fd_obs(fd, ki, targets, room, NULL, 0);
}

static void ip_query_init(struct blkinterpose_info *ki,
			  struct blkinterpose_dev *targets, unsigned int room,
			  struct blkinterpose_observer *observers,
			  unsigned int obs_room)
{
	memset(ki, 0, sizeof(*ki));
	ki->size = sizeof(*ki);
	if (targets && room) {
		memset(targets, 0, room * sizeof(*targets));
		ki->nr_targets = room;
		ki->targets_ptr = (__u64)(unsigned long)targets;
	}
	if (observers && obs_room) {
		memset(observers, 0, obs_room * sizeof(*observers));
		ki->nr_observers = obs_room;
		ki->observers_ptr = (__u64)(unsigned long)observers;
	}
}

int ip_query_fd_obs(int fd, struct blkinterpose_info *ki,
		    struct blkinterpose_dev *targets, unsigned int room,
		    struct blkinterpose_observer *observers,
		    unsigned int obs_room)
{
	ip_query_init(ki, targets, room, observers, obs_room);
	return ip_dev_ioctl(fd, BLKINTERPOSE_QUERY, ki) ? -errno : 0;
}

/*
 * The module's query by device number, which needs no descriptor of the
 * device: -ENOENT if @dev has no interposer.
 */
static int ip_query_ctl_dev(dev_t dev, struct blkinterpose_info *ki,
			    struct blkinterpose_dev *targets, unsigned int room,
			    struct blkinterpose_observer *observers,
			    unsigned int obs_room)
{
	ip_query_init(ki, targets, room, observers, obs_room);
	return ip_ctl_ioctl(BLKINTERPOSE_QUERY, -1, dev, ki) ? -errno : 0;
}

/* ENOTTY (no such ioctl) or EINVAL (a driver's answer to it). */
bool ip_fd_unsupported(int fd)
{
	struct blkinterpose_info ki;
	int err = ip_query_fd(fd, &ki, NULL, 0);

	return err == -ENOTTY || err == -EINVAL;
}
static void ip_info_set_targets(struct interpose_info *info,
				const dev_t *devs, unsigned int n)
{
	unsigned int i;

	info->nr_targets = n;
	for (i = 0; i < n; i++) {
		info->targets[i].dev = devs[i];
		ip_dev_name(devs[i], info->targets[i].name,
			    sizeof(info->targets[i].name));
	}
}

static void ip_devref_set(struct ip_devref *ref, dev_t dev)
{
	ref->dev = dev;
	ip_dev_name(dev, ref->name, sizeof(ref->name));
}

/*
 * @targets: what the query filled in, room for IP_MAX_TARGETS; a kernel
 * with more targets than that has the rest left out.
 */
static void ip_info_from_kernel(struct interpose_info *info,
				const struct blkinterpose_info *ki,
				const struct blkinterpose_dev *targets,
				const struct blkinterpose_observer *observers)
{
	const struct blkinterpose_counters *kc = &ki->counters;
	struct interpose_counters *c = &info->counters;
	dev_t devs[IP_MAX_TARGETS];
	unsigned int i, n;

	switch (ki->state) {
	case BLKINTERPOSE_STATE_ATTACHED:
		info->state = INTERPOSE_STATE_ATTACHED;
		break;
	case BLKINTERPOSE_STATE_RESERVED:
		info->state = INTERPOSE_STATE_RESERVED;
		break;
	case BLKINTERPOSE_STATE_FAILED:
		info->state = INTERPOSE_STATE_FAILED;
		break;
	case BLKINTERPOSE_STATE_OBSERVED:
		info->state = INTERPOSE_STATE_OBSERVED;
		break;
	default:
		info->state = INTERPOSE_STATE_NONE;
		break;
	}
	info->flags = ki->flags;
	if (info->state == INTERPOSE_STATE_RESERVED) {
		/* the library's form: target 0 is the original it serves */
		devs[0] = makedev(ki->reserved_for.major,
				  ki->reserved_for.minor);
		n = 1;
	} else {
		n = ki->nr_targets < IP_MAX_TARGETS ?
		    ki->nr_targets : IP_MAX_TARGETS;
		for (i = 0; i < n; i++)
			devs[i] = makedev(targets[i].major, targets[i].minor);
	}
	ip_info_set_targets(info, devs, n);
	if (info->state == INTERPOSE_STATE_FAILED)
		ip_devref_set(&info->lost, makedev(ki->lost.major,
						   ki->lost.minor));
	snprintf(info->ops_name, sizeof(info->ops_name), "%.*s",
		 (int)sizeof(ki->ops_name), ki->ops_name);
	c->seen = kc->seen;
	c->passed = kc->passed;
	c->redirected = kc->redirected;
	c->remapped = kc->remapped;
	c->failed = kc->failed;
	c->completed = kc->completed;
	c->invalid = kc->invalid;
	c->lost = kc->lost;
	info->nr_observers = ki->nr_observers < IP_MAX_OBSERVERS ?
			     ki->nr_observers : IP_MAX_OBSERVERS;
	for (i = 0; i < info->nr_observers; i++) {
		snprintf(info->observers[i].name,
			 sizeof(info->observers[i].name), "%.*s",
			 (int)sizeof(observers[i].ops_name),
			 observers[i].ops_name);
		info->observers[i].seen = observers[i].seen;
		info->observers[i].ended = observers[i].ended;
	}
}

/* "observers=A,B": the names, counters unknown (sysfs has none). */
static int ip_parse_observers(char *val, struct interpose_info *info)
{
	char *name, *save;

	info->nr_observers = 0;
	for (name = strtok_r(val, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (info->nr_observers == IP_MAX_OBSERVERS ||
		    strlen(name) >= BLKINTERPOSE_NAME_LEN)
			return -EINVAL;
		strcpy(info->observers[info->nr_observers++].name, name);
	}
	return 0;
}

static const struct {
	const char *key;
	size_t off;
} ip_counter_keys[] = {
#define IP_COUNTER(f) { #f, offsetof(struct interpose_counters, f) }
	IP_COUNTER(seen), IP_COUNTER(passed), IP_COUNTER(redirected),
	IP_COUNTER(remapped), IP_COUNTER(failed), IP_COUNTER(completed),
	IP_COUNTER(invalid), IP_COUNTER(lost),
#undef IP_COUNTER
};

static int ip_parse_dev(const char *val, dev_t *dev)
{
	unsigned int maj, min;
	char end;

	if (sscanf(val, "%u:%u%c", &maj, &min, &end) != 2)
		return -EINVAL;
	*dev = makedev(maj, min);
	return 0;
}

static int ip_parse_targets(char *val, struct interpose_info *info)
{
	dev_t devs[IP_MAX_TARGETS];
	unsigned int n = 0;
	char *tok, *save;

	for (tok = strtok_r(val, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == IP_MAX_TARGETS || ip_parse_dev(tok, &devs[n]))
			return -EINVAL;
		n++;
	}
	ip_info_set_targets(info, devs, n);
	return 0;
}

int ip_info_parse_sysfs(const char *line, struct interpose_info *info)
{
	char buf[1024], *tok, *save, *val;
	bool lost_seen = false;
	dev_t dev;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", line);
	tok = strtok_r(buf, " \t\n", &save);
	if (!tok)
		return -EINVAL;
	if (!strcmp(tok, "none")) {
		info->state = INTERPOSE_STATE_NONE;
		return 0;
	}
	if (!strcmp(tok, "reserved")) {
		/* "reserved for=M:m refused=N" */
		info->state = INTERPOSE_STATE_RESERVED;
		while ((tok = strtok_r(NULL, " \t\n", &save))) {
			val = strchr(tok, '=');
			if (!val)
				continue;
			*val++ = '\0';
			if (!strcmp(tok, "for") && ip_parse_targets(val, info))
				return -EINVAL;
			if (!strcmp(tok, "refused"))
				info->counters.failed = strtoull(val, NULL, 10);
		}
		return info->nr_targets == 1 ? 0 : -EINVAL;
	}
	if (!strcmp(tok, "attached"))
		info->state = INTERPOSE_STATE_ATTACHED;
	else if (!strcmp(tok, "failed"))
		/* "failed lost=M:m targets=M:m,... ops=NAME|- seen=N ..." */
		info->state = INTERPOSE_STATE_FAILED;
	else if (!strcmp(tok, "observed"))
		info->state = INTERPOSE_STATE_OBSERVED;
	else
		return -EINVAL;

	while ((tok = strtok_r(NULL, " \t\n", &save))) {
		val = strchr(tok, '=');
		if (!val)
			continue;
		*val++ = '\0';
		if (!strcmp(tok, "lost") &&
		    info->state == INTERPOSE_STATE_FAILED && !lost_seen) {
			/* the first lost= names the target, the second counts */
			if (ip_parse_dev(val, &dev))
				return -EINVAL;
			ip_devref_set(&info->lost, dev);
			lost_seen = true;
		} else if (!strcmp(tok, "targets")) {
			if (ip_parse_targets(val, info))
				return -EINVAL;
		} else if (!strcmp(tok, "ops")) {
			snprintf(info->ops_name, sizeof(info->ops_name), "%s",
				 strcmp(val, "-") ? val : "");
		} else if (!strcmp(tok, "observers")) {
			if (ip_parse_observers(val, info))
				return -EINVAL;
		} else if (!strcmp(tok, "flags")) {
			info->flags = strtoul(val, NULL, 0);
		} else {
			for (i = 0; i < ARRAY_SIZE(ip_counter_keys); i++)
				if (!strcmp(tok, ip_counter_keys[i].key))
					*(__u64 *)((char *)&info->counters +
						   ip_counter_keys[i].off) =
						strtoull(val, NULL, 10);
		}
	}
	if (info->state == INTERPOSE_STATE_FAILED && !lost_seen)
		return -EINVAL;
	return 0;
}

/* The "interposer" line of sysfs, for devices we cannot open. */
static int ip_query_sysfs(dev_t dev, struct interpose_info *info)
{
	char path[PATH_MAX], line[1024];
	int err;

	err = ip_snprintf(path, sizeof(path), "%s/dev/block/%u:%u/interposer",
			  ip_sysfs_root(), major(dev), minor(dev));
	if (err)
		return err;
	err = ip_read_line(path, line, sizeof(line));
	if (err == -ENOENT) {
		/* The device exists but has no such attribute. */
		path[strlen(path) - strlen("/interposer")] = '\0';
		return access(path, F_OK) ? -ENOENT : -ENOTTY;
	}
	if (err)
		return err;
	return ip_info_parse_sysfs(line, info);
}

int ip_query_dev(const struct ip_dev *d, struct interpose_info *info)
{
	struct blkinterpose_observer observers[IP_MAX_OBSERVERS];
	struct blkinterpose_dev targets[IP_MAX_TARGETS];
	struct blkinterpose_info ki;
	int fd, err, open_err = -ENOENT;

	memset(info, 0, sizeof(*info));
	info->orig.dev = d->dev;
	snprintf(info->orig.name, sizeof(info->orig.name), "%s", d->name);
	snprintf(info->path, sizeof(info->path), "%s", d->path);
	if (!info->orig.name[0] && d->path[0])
		snprintf(info->orig.name, sizeof(info->orig.name), "%s",
			 strrchr(d->path, '/') + 1);

	if (ip_backend() == INTERPOSE_BACKEND_MODULE) {
		err = ip_query_ctl_dev(d->dev, &ki, targets, IP_MAX_TARGETS,
				       observers, IP_MAX_OBSERVERS);
		if (err == -ENOENT)
			return 0;	/* not interposed */
		if (!err)
			ip_info_from_kernel(info, &ki, targets, observers);
		if (err != -EACCES)
			return err;
		/* the control device is root's: the module's sysfs line */
		return ip_query_sysfs(d->dev, info);
	}
	if (d->path[0]) {
		fd = open(d->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0) {
			err = ip_query_fd_obs(fd, &ki, targets, IP_MAX_TARGETS,
					      observers, IP_MAX_OBSERVERS);
			close(fd);
			if (err == -EINVAL)
				err = -ENOTTY;
			if (!err)
				ip_info_from_kernel(info, &ki, targets,
						    observers);
			return err;
		}
		open_err = -errno;
	}
	err = ip_query_sysfs(d->dev, info);
	return err == -ENOENT ? open_err : err;
}
int ip_query_class_dev(const char *name, struct interpose_info *info)
{
	char path[PATH_MAX], line[1024];
	int err;

	memset(info, 0, sizeof(*info));
	err = ip_snprintf(path, sizeof(path), "%s/class/block/%s/interposer",
			  ip_sysfs_root(), name);
	if (err)
		return err;
	err = ip_read_line(path, line, sizeof(line));
	if (err)
		return err;
	return ip_info_parse_sysfs(line, info);
}

static int ip_query_err(const char *verb, const char *label, int err)
{
	const char *reason = ip_common_reason(-err);

	if (err == -ENOENT)
		reason = "no device node and no interposer state in sysfs";
	return ip_err(-err, "%s %s: %s", verb, label, reason ?: strerror(-err));
}

int interpose_query(const char *dev, struct interpose_info **infop)
{
	struct interpose_info *info;
	struct ip_dev d;
	int err;

	ip_errmsg_clear();
	if (!infop)
		return ip_err(EINVAL, "query: no result pointer given");
	*infop = NULL;
	err = ip_resolve(dev, &d);
	if (err)
		return ip_err(-err, "query %s: %s", dev ?: "(null)",
			      ip_resolve_reason(-err));
	info = calloc(1, sizeof(*info));
	if (!info)
		return ip_err(ENOMEM, "query %s: out of memory", dev);
	err = ip_query_dev(&d, info);
	if (err) {
		free(info);
		return ip_query_err("query", ip_label(&d, dev), err);
	}
	*infop = info;
	return 0;
}

static int ip_info_cmp(const void *a, const void *b)
{
	const struct interpose_info *x = *(struct interpose_info *const *)a;
	const struct interpose_info *y = *(struct interpose_info *const *)b;

	return strverscmp(x->orig.name, y->orig.name);
}

/* Query @name, one entry of /sys/class/block, if it is interposed. */
static int ip_list_one(const char *name, struct interpose_info **infop,
		       bool *supported)
{
	char path[PATH_MAX], line[1024], val[32];
	struct interpose_info *info;
	unsigned int maj, min;
	struct ip_dev d = { };
	int err;

	*infop = NULL;
	if (ip_snprintf(path, sizeof(path), "%s/class/block/%s/interposer",
			ip_sysfs_root(), name) ||
	    ip_read_line(path, line, sizeof(line)))
		return 0;
	*supported = true;
	/*
	 * attached, failed (a target went away: it must be detached) and
	 * reserved (a dm device made for --dm-table, serving one original)
	 */
	if (strncmp(line, "attached ", strlen("attached ")) &&
	    strncmp(line, "failed ", strlen("failed ")) &&
	    strncmp(line, "reserved ", strlen("reserved ")))
		return 0;

	snprintf(path, sizeof(path), "%s/class/block/%s/dev", ip_sysfs_root(),
		 name);
	if (ip_read_line(path, val, sizeof(val)) ||
	    sscanf(val, "%u:%u", &maj, &min) != 2)
		return 0;	/* gone meanwhile */
	d.dev = makedev(maj, min);
	snprintf(d.name, sizeof(d.name), "%s", name);
	if (ip_dev_node(d.dev, d.path, sizeof(d.path)) == -ENOENT)
		return 0;

	info = calloc(1, sizeof(*info));
	if (!info)
		return ip_err(ENOMEM, "list: out of memory");
	err = ip_query_dev(&d, info);
	if (err || info->state == INTERPOSE_STATE_NONE) {
		free(info);
		if (err == -ENOENT || err == -ENODEV || err == -ENXIO || !err)
			return 0;
		return ip_query_err("list: query", name, err);
	}
	*infop = info;
	return 0;
}

int interpose_list(struct interpose_info ***infosp, size_t *cntp)
{
	struct interpose_info **infos = NULL, **tmp, *info;
	bool supported = false, any = false;
	size_t cnt = 0, cap = 0;
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;
	int err = 0;

	ip_errmsg_clear();
	if (!infosp || !cntp)
		return ip_err(EINVAL, "list: no result pointer given");
	*infosp = NULL;
	*cntp = 0;
	snprintf(path, sizeof(path), "%s/class/block", ip_sysfs_root());
	dir = opendir(path);
	if (!dir)
		return ip_err(errno, "list: cannot read %s: %s", path,
			      strerror(errno));
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		any = true;
		err = ip_list_one(e->d_name, &info, &supported);
		if (err)
			break;
		if (!info)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			tmp = realloc(infos, cap * sizeof(*infos));
			if (!tmp) {
				free(info);
				err = ip_err(ENOMEM, "list: out of memory");
				break;
			}
			infos = tmp;
		}
		infos[cnt++] = info;
	}
	closedir(dir);
	if (!err && any && !supported)
		err = ip_err(ENOTTY, "list: %s",
			     ip_common_reason(ENOTTY));
	if (err) {
		interpose_list__free(infos, cnt);
		return err;
	}
	if (cnt)
		qsort(infos, cnt, sizeof(*infos), ip_info_cmp);
	*infosp = infos;
	*cntp = cnt;
	return 0;
}

void interpose_list__free(struct interpose_info **infos, size_t cnt)
{
	size_t i;

	if (!infos)
		return;
	for (i = 0; i < cnt; i++)
		free(infos[i]);
	free(infos);
}

void interpose_info__free(struct interpose_info *info)
{
	free(info);
}

enum interpose_state interpose_info__state(const struct interpose_info *info)
{
	return info->state;
}

dev_t interpose_info__dev(const struct interpose_info *info)
{
	return info->orig.dev;
}

const char *interpose_info__name(const struct interpose_info *info)
{
	return info->orig.name;
}

const char *interpose_info__path(const struct interpose_info *info)
{
	return info->path;
}

__u32 interpose_info__flags(const struct interpose_info *info)
{
	return info->flags;
}

unsigned int interpose_info__nr_targets(const struct interpose_info *info)
{
	return info->nr_targets;
}

dev_t interpose_info__target_dev(const struct interpose_info *info,
				 unsigned int idx)
{
	return idx < info->nr_targets ? info->targets[idx].dev : 0;
}

const char *interpose_info__target_name(const struct interpose_info *info,
					unsigned int idx)
{
	return idx < info->nr_targets ? info->targets[idx].name : NULL;
}

dev_t interpose_info__lost_dev(const struct interpose_info *info)
{
	return info->state == INTERPOSE_STATE_FAILED ? info->lost.dev : 0;
}

const char *interpose_info__lost_name(const struct interpose_info *info)
{
	return info->state == INTERPOSE_STATE_FAILED ? info->lost.name : NULL;
}

bool ip_info_has_observer(const struct interpose_info *info, const char *name)
{
	unsigned int i;

	for (i = 0; i < info->nr_observers; i++)
		if (!strcmp(info->observers[i].name, name))
			return true;
	return false;
}

unsigned int interpose_info__nr_observers(const struct interpose_info *info)
{
	return info->nr_observers;
}

const char *interpose_info__observer_name(const struct interpose_info *info,
					  unsigned int idx)
{
	return idx < info->nr_observers ? info->observers[idx].name : NULL;
}

int interpose_info__observer_counts(const struct interpose_info *info,
				    unsigned int idx, __u64 *seen,
				    __u64 *ended)
{
	if (idx >= info->nr_observers)
		return -ENOENT;
	if (seen)
		*seen = info->observers[idx].seen;
	if (ended)
		*ended = info->observers[idx].ended;
	return 0;
}

const char *interpose_info__ops_name(const struct interpose_info *info)
{
	return info->ops_name[0] ? info->ops_name : NULL;
}

const struct interpose_counters *
interpose_info__counters(const struct interpose_info *info)
{
	return &info->counters;
}

int interpose_info__counter(const struct interpose_info *info, size_t idx,
			    const char **namep, __u64 *valp)
{
	ip_errmsg_clear();
	if (!info || !namep || !valp)
		return ip_err(EINVAL, "counter: no %s given",
			      info ? "result pointer" : "interposer info");
	if (idx >= ARRAY_SIZE(ip_counter_keys))
		return -ENOENT;
	*namep = ip_counter_keys[idx].key;
	*valp = *(const __u64 *)((const char *)&info->counters +
				 ip_counter_keys[idx].off);
	return 0;
}

int interpose_info__get_counters(const struct interpose_info *info,
				 struct interpose_counters *counters, size_t sz)
{
	size_t n = sz < sizeof(info->counters) ? sz : sizeof(info->counters);

	ip_errmsg_clear();
	if (!info || !counters)
		return ip_err(EINVAL, "counters: no %s given",
			      info ? "result buffer" : "interposer info");
	memcpy(counters, &info->counters, n);
	memset((char *)counters + n, 0, sz - n);
	return n;
}
