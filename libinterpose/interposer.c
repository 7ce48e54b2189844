// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: attach and detach interposers through the BLKINTERPOSE_*
 * ioctls of include/uapi/linux/blk-interposer.h, and replace the program
 * of one attached from an object file.
 *
 * Attach checks what userspace can see (counts, duplicates, overlaps,
 * sizes, block sizes) before the ioctl, so that the error message names
 * the target at fault; the kernel checks again.  When the kernel refuses,
 * a few read-only probes (query, exclusive open) pick the message.
 *
 * With an object file, attach loads and registers it (a struct_ops link),
 * pins the link and the maps (pin.c) and attaches by the registered name;
 * detach removes the pins, which unregisters the ops.
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
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libinterpose_internal.h"

#ifndef BLKGETDISKSEQ
#define BLKGETDISKSEQ	_IOR(0x12, 128, __u64)
#endif

const char *ip_attach_reason(int err, const struct ip_attach_ctx *ctx,
			     char *buf, size_t len)
{
	const char *reason;

	if ((err == ENOTTY || err == EINVAL) && ctx->unsupported)
		return ip_common_reason(ENOTTY);
	switch (err) {
	case EBUSY:
		if (ctx->orig_attached && ctx->orig_failed)
			return "already interposed (its interposer failed: a target went away; detach it first)";
		if (ctx->orig_attached)
			return "already interposed";
		if (ctx->reserved_target) {
			snprintf(buf, len, "target %s is reserved for another device",
				 ctx->reserved_target);
			return buf;
		}
		if (!ctx->busy_target)
			return "a target is busy (in exclusive use)";
		snprintf(buf, len, "target %s is busy (in exclusive use)",
			 ctx->busy_target);
		return buf;
	case ENOENT:
		if (!ctx->ops_name)
			return "no such device";
		snprintf(buf, len, "ops %s is not registered", ctx->ops_name);
		return buf;
	case EEXIST:
		/* only an ops that watches the device as an observer */
		snprintf(buf, len, "ops %s already watches it as an observer: a device's ops is its policy or an observer, not both",
			 ctx->ops_name ?: "?");
		return buf;
	case ELOOP:
		if (ctx->stacked_target) {
			snprintf(buf, len, "target %s is built over the original, whose interposer would take its bios again: the blk_interposer module cannot tell them apart (that needs CONFIG_BLK_INTERPOSER)",
				 ctx->stacked_target);
			return buf;
		}
		if (!ctx->interposed_target)
			return "the original is a target of another interposer";
		snprintf(buf, len, "target %s is itself interposed",
			 ctx->interposed_target);
		return buf;
	case EINVAL:
		return "the kernel refused the targets or options";
	case EOPNOTSUPP:
		if (ctx->integrity_dev) {
			snprintf(buf, len, "%s has integrity metadata, which cannot follow a bio to another device",
				 ctx->integrity_dev);
			return buf;
		}
		if (ctx->zoned)
			return "zoned devices cannot be interposed";
		return "zoned devices and devices with integrity metadata cannot be interposed";
	case EBADF:
		/* the library opens the original for writing itself */
		return "the original is not open for writing, or a target is not an open block device";
	case ENOTBLK:
		return "a target is not a block device";
	case ENODEV:
		if (!ctx->gone_target)
			break;
		snprintf(buf, len, "target %s went away", ctx->gone_target);
		return buf;
	}
	reason = ip_common_reason(err);
	return reason ?: strerror(err);
}

const char *ip_detach_reason(int err, bool unsupported)
{
	const char *reason;

	if ((err == ENOTTY || err == EINVAL) && unsupported)
		return ip_common_reason(ENOTTY);
	switch (err) {
	case ENOENT:
		return "not interposed";
	case EINVAL:
		return "the kernel refused the options";
	case EBUSY:
		return "it is reserved as the target of another device, not interposed; its driver ends that (remove the dm device)";
	}
	reason = ip_common_reason(err);
	return reason ?: strerror(err);
}

/*
 * Whether the target @d, open as @fd, went away: its device number is
 * gone from sysfs, or belongs to another disk now (a new disk sequence
 * number behind its node).
 */
static bool ip_target_gone(int fd, const struct ip_dev *d)
{
	__u64 seq, seq_now;
	char path[PATH_MAX];
	bool gone;
	int nfd;

	if (ip_snprintf(path, sizeof(path), "%s/dev/block/%u:%u",
			ip_sysfs_root(), major(d->dev), minor(d->dev)) ||
	    access(path, F_OK))
		return true;
	if (!d->path[0] || ioctl(fd, BLKGETDISKSEQ, &seq))
		return false;
	nfd = open(d->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (nfd < 0)
		return errno == ENXIO || errno == ENODEV || errno == ENOENT;
	gone = !ioctl(nfd, BLKGETDISKSEQ, &seq_now) && seq_now != seq;
	close(nfd);
	return gone;
}

/* Probes after a refused attach, to explain it. */
/*
 * Whether the slaves directory @dir (sysfs) lists @name, at any depth
 * below @depth levels of stacking drivers.
 */
static bool ip_slaves_reach(const char *dir, const char *name, int depth)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	if (depth <= 0 || !(d = opendir(dir)))
		return false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		found = !strcmp(e->d_name, name) ||
			(!ip_snprintf(path, sizeof(path), "%s/class/block/%s/slaves",
				      ip_sysfs_root(), e->d_name) &&
			 ip_slaves_reach(path, name, depth - 1));
	}
	closedir(d);
	return found;
}

/* Whether @t is built over @orig by stacking drivers (its sysfs slaves). */
static bool ip_stacked_on(const struct ip_dev *t, const struct ip_dev *orig)
{
	char path[PATH_MAX], name[IP_NAME_LEN];

	ip_dev_name(orig->dev, name, sizeof(name));
	if (ip_snprintf(path, sizeof(path), "%s/dev/block/%u:%u/slaves",
			ip_sysfs_root(), major(t->dev), minor(t->dev)))
		return false;
	return ip_slaves_reach(path, name, 16);
}

static void ip_attach_explain(int err, int orig_fd, const struct ip_dev *orig,
			      const struct ip_dev *devs, const int *fds,
			      size_t n, const char *const *names,
			      struct ip_attach_ctx *ctx)
{
	struct blkinterpose_info ki;
	struct ip_geom g;
	size_t i;
	int fd;

	switch (err) {
	case ENOTTY:
	case EINVAL:
		ctx->unsupported = ip_fd_unsupported(orig_fd);
		break;
	case EBUSY:
		ctx->orig_attached = !ip_query_fd(orig_fd, &ki, NULL, 0) &&
				     ip_kstate_attached(ki.state);
		ctx->orig_failed = ctx->orig_attached &&
				   ki.state == BLKINTERPOSE_STATE_FAILED;
		for (i = 0; i < n && !ctx->orig_attached; i++) {
			if (!ip_query_fd(fds[i], &ki, NULL, 0) &&
			    ki.state == BLKINTERPOSE_STATE_RESERVED) {
				ctx->reserved_target =
					ip_label(&devs[i], names[i]);
				break;
			}
			/* O_EXCL on a block device: an exclusive open. */
			fd = open(devs[i].path, O_RDONLY | O_EXCL | O_CLOEXEC |
				  O_NONBLOCK);
			if (fd >= 0) {
				close(fd);
			} else if (errno == EBUSY) {
				ctx->busy_target = ip_label(&devs[i], names[i]);
				break;
			}
		}
		break;
	case ELOOP:
		for (i = 0; i < n; i++) {
			if (!ip_query_fd(fds[i], &ki, NULL, 0) &&
			    ip_kstate_attached(ki.state)) {
				ctx->interposed_target =
					ip_label(&devs[i], names[i]);
				break;
			}
			if (ip_backend() == INTERPOSE_BACKEND_MODULE &&
			    ip_stacked_on(&devs[i], orig)) {
				ctx->stacked_target =
					ip_label(&devs[i], names[i]);
				break;
			}
		}
		break;
	case ENODEV:
		for (i = 0; i < n; i++) {
			if (ip_target_gone(fds[i], &devs[i])) {
				ctx->gone_target = ip_label(&devs[i], names[i]);
				break;
			}
		}
		break;
	case EOPNOTSUPP:
		for (i = 0; i <= n; i++) {
			const struct ip_dev *d = i < n ? &devs[i] : orig;

			if (ip_geom(d->dev, &g))
				continue;
			if (g.integrity && !ctx->integrity_dev)
				ctx->integrity_dev = i < n ?
					ip_label(d, names[i]) : "the original";
			if (g.zoned)
				ctx->zoned = true;
		}
		break;
	}
}

static int ip_attach_check(const char *dev, const struct ip_dev *orig,
			   const struct ip_dev *tgts, const char *const *names,
			   size_t n, bool plain)
{
	const char *olabel = ip_label(orig, dev), *tlabel;
	struct ip_geom og, tg;
	bool have_geom;
	size_t i;

	have_geom = !ip_geom(orig->dev, &og);
	if (have_geom && og.integrity)
		return ip_err(EOPNOTSUPP,
			      "attach %s: it has integrity metadata, which cannot follow a bio to another device",
			      olabel);
	for (i = 0; i < n; i++) {
		tlabel = ip_label(&tgts[i], names[i]);
		if (!have_geom || ip_geom(tgts[i].dev, &tg))
			continue;
		if (tg.integrity)
			return ip_err(EOPNOTSUPP,
				      "attach %s: target %s has integrity metadata, which cannot follow a bio to another device",
				      olabel, tlabel);
		if (ip_geom_overlap(&og, &tg))
			return ip_err(EINVAL, "attach %s: target %s overlaps the original",
				      olabel, tlabel);
		if (og.lbs && tg.lbs > og.lbs)
			return ip_err(EINVAL,
				      "attach %s: target %s has a larger logical block size (%u) than the original (%u)",
				      olabel, tlabel, tg.lbs, og.lbs);
		if (og.have_dma && tg.have_dma && tg.dma_align > og.dma_align)
			return ip_err(EINVAL,
				      "attach %s: target %s has a larger DMA alignment (%u bytes) than the original (%u)",
				      olabel, tlabel, tg.dma_align + 1,
				      og.dma_align + 1);
		if (plain && i == 0 && tg.nr_sectors < og.nr_sectors)
			return ip_err(EINVAL,
				      "attach %s: target %s is smaller than the original (%llu < %llu bytes)",
				      olabel, tlabel,
				      (unsigned long long)tg.nr_sectors * 512,
				      (unsigned long long)og.nr_sectors * 512);
	}
	return 0;
}

/* Resolve the original and the targets; the cheap checks first. */
static int ip_attach_resolve(const char *dev, struct ip_dev *orig,
			     struct ip_dev *tgts, const char *const *names,
			     size_t n)
{
	const char *olabel;
	size_t i, j;
	int err;

	err = ip_resolve(dev, orig);
	if (err)
		return ip_err(-err, "attach %s: %s", dev, ip_resolve_reason(-err));
	olabel = ip_label(orig, dev);
	for (i = 0; i < n; i++) {
		const char *tlabel;

		err = ip_resolve(names[i], &tgts[i]);
		if (err)
			return ip_err(-err, "attach %s: target %s: %s", olabel,
				      names[i] ?: "(null)", ip_resolve_reason(-err));
		tlabel = ip_label(&tgts[i], names[i]);
		if (tgts[i].dev == orig->dev)
			return ip_err(EINVAL, "attach %s: target %s is the original itself",
				      olabel, tlabel);
		for (j = 0; j < i; j++) {
			if (tgts[j].dev != tgts[i].dev)
				continue;
			if (!strcmp(names[i], names[j]))
				return ip_err(EINVAL, "attach %s: target %s is given twice",
					      olabel, tlabel);
			return ip_err(EINVAL, "attach %s: targets %s and %s are the same device",
				      olabel, names[j], names[i]);
		}
	}
	return 0;
}

/*
 * A program whose pins another attach left behind: @dev was detached
 * without interpose_detach() (the device went away, which detaches its
 * interposer, and a device of the same name came back).  Remove them
 * unless the ops is still attached elsewhere.
 */
static int ip_stale_pins(const char *what, const char *devname)
{
	char dir[PATH_MAX], name[BLKINTERPOSE_NAME_LEN], list[256], **users;
	size_t cnt = 0;
	int fd, err;

	if (ip_pin_path(devname, NULL, dir, sizeof(dir)) || access(dir, F_OK))
		return 0;
	fd = ip_pinned_link_fd(devname);
	if (fd >= 0) {
		err = ip_link_ops_name(fd, name, sizeof(name));
		close(fd);
		if (!err && !ip_ops_users(name, devname, &users, &cnt) && cnt) {
			ip_names_join(users, cnt, list, sizeof(list));
			ip_names_free(users, cnt);
			return ip_err(EBUSY, "%s: the program pinned at %s by an earlier attach is still attached to %s as ops %s",
				      what, dir, list, name);
		}
	}
	pr_info("%s: removing the stale pins at %s\n", what, dir);
	err = ip_unpin_all(devname);
	if (err)
		return ip_err(-err, "%s: cannot remove the stale pins at %s: %s",
			      what, dir, strerror(-err));
	return 0;
}

/* Where the program of an attach or a replace comes from. */
struct ip_prog_src {
	const char *path;
	struct bpf_object *obj;
	const void *buf;
	size_t buf_sz;
	const char *const *set_vars;
	size_t nr_set_vars;
	const struct interpose_var *vars;
	size_t nr_vars;
	const char *filter;	/* attach only: an expression (filter.c) */
};

/* The program fields of interpose_attach_opts or interpose_replace_opts. */
#define IP_PROG_SRC(opts) ((struct ip_prog_src) {			\
	.path = OPTS_GET(opts, prog_path, NULL),			\
	.obj = OPTS_GET(opts, prog_obj, NULL),				\
	.buf = OPTS_GET(opts, prog_buf, NULL),				\
	.buf_sz = OPTS_GET(opts, prog_buf_sz, 0),			\
	.set_vars = OPTS_GET(opts, set_vars, NULL),			\
	.nr_set_vars = OPTS_GET(opts, nr_set_vars, 0),			\
	.vars = OPTS_GET(opts, vars, NULL),				\
	.nr_vars = OPTS_GET(opts, nr_vars, 0),				\
})

static bool ip_prog_src_any(const struct ip_prog_src *s)
{
	return s->path || s->obj || s->buf;
}

/* Compile @expr into *@fp: 0, or the error with @what before it. */
static int ip_filter_build(const char *what, const char *expr,
			   struct interpose_filter **fp)
{
	char msg[512];
	int err;

	err = ip_filter_compile(expr, fp);
	if (!err)
		return 0;
	snprintf(msg, sizeof(msg), "%s", ip_errmsg());
	return ip_err(-err, "%s: %s", what, msg);
}

/* "" for an empty path; at most one source; counts with their arrays. */
static int ip_prog_src_check(const char *what, struct ip_prog_src *s)
{
	if (s->path && !s->path[0])
		s->path = NULL;
	if (!!s->path + !!s->obj + !!s->buf > 1)
		return ip_err(EINVAL, "%s: more than one of prog_path, prog_obj and prog_buf given",
			      what);
	if (s->buf && !s->buf_sz)
		return ip_err(EINVAL, "%s: prog_buf_sz is 0", what);
	if (s->nr_set_vars && !s->set_vars)
		return ip_err(EINVAL, "%s: nr_set_vars is %zu but set_vars is NULL",
			      what, s->nr_set_vars);
	if (s->nr_vars && !s->vars)
		return ip_err(EINVAL, "%s: nr_vars is %zu but vars is NULL",
			      what, s->nr_vars);
	if ((s->nr_set_vars || s->nr_vars) && !ip_prog_src_any(s))
		return ip_err(EINVAL, "%s: variables can only be set for a program",
			      what);
	if (s->filter && !s->filter[0])
		s->filter = NULL;
	if (s->filter && !s->path && !s->buf)
		return ip_err(EINVAL, "%s: a filter goes into a program given by prog_path or prog_buf (not an ops name, not an opened object)",
			      what);
	if (s->filter) {
		/* refused before any device is looked at */
		struct interpose_filter *f;
		int err = ip_filter_build(what, s->filter, &f);

		ip_filter_free(f);
		return err;
	}
	return 0;
}

/* Open the program, set its variables, name its ops @rename, load it. */
static int ip_prog_prepare(const char *what, const struct ip_prog_src *s,
			   const char *rename, struct ip_prog *p)
{
	struct interpose_filter *filter = NULL;
	int err;

	if (s->filter) {
		err = ip_filter_build(what, s->filter, &filter);
		if (err)
			return err;
		ip_filter_hook_register();
	}
	if (s->obj)
		err = ip_prog_use_obj(what, s->obj, p);
	else if (s->buf)
		err = ip_prog_open_mem(what, s->buf, s->buf_sz, p);
	else
		err = ip_prog_open(what, s->path, p);
	if (err) {
		ip_filter_free(filter);
		return err;
	}
	p->filter = filter;
	if (s->nr_set_vars || s->nr_vars)
		err = ip_prog_not_loaded(what, p, "variables can be set");
	if (!err)
		err = ip_prog_set_vars(what, p, s->set_vars, s->nr_set_vars);
	if (!err)
		err = ip_prog_set_typed_vars(what, p, s->vars, s->nr_vars);
	if (!err && rename)
		err = ip_prog_set_name(what, p, rename);
	if (!err)
		err = ip_prog_load(what, p);
	return err;
}

/*
 * Load the program of an attach, register its ops and pin it for
 * @devname, or for an @observer at "@devname@OPS" (written to @devname,
 * @len bytes).  On success *@linkp is the link and @p->name the
 * registered name.
 */
static int ip_attach_prog(const char *what, char *devname, size_t len,
			  bool observer, const struct ip_prog_src *src,
			  const char *rename, struct ip_prog *p,
			  struct bpf_link **linkp)
{
	struct bpf_link *link;
	char why[256];
	size_t used;
	int err;

	*linkp = NULL;
	if (!observer) {
		err = ip_stale_pins(what, devname);
		if (err)
			return err;
	}
	err = ip_prog_prepare(what, src, rename, p);
	if (err)
		return err;
	if (observer) {
		used = strlen(devname);
		if (ip_snprintf(devname + used, len - used, "@%s", p->name))
			return ip_err(ENAMETOOLONG, "%s: pin name %s@%s is too long",
				      what, devname, p->name);
		err = ip_stale_pins(what, devname);
		if (err)
			return err;
	}

	link = bpf_map__attach_struct_ops(p->ops_map);
	err = link ? 0 : errno;
	if (!link) {
		if (err == EEXIST)
			snprintf(why, sizeof(why), "an ops named %s is registered already",
				 p->name);
		else if (err == EPERM)
			snprintf(why, sizeof(why), "%s", ip_common_reason(EPERM));
		else
			snprintf(why, sizeof(why), "the kernel refused its struct_ops %s: %s",
				 bpf_map__name(p->ops_map), strerror(err));
		return ip_err(err, "%s: cannot register %s: %s", what, p->path,
			      why);
	}
	pr_debug("%s: registered ops %s from %s\n", what, p->name, p->path);
	err = ip_pin_prog(what, devname, link, p->obj, p->ops_map);
	if (err) {
		ip_unpin_all(devname);
		bpf_link__detach(link);
		bpf_link__destroy(link);
		return err;
	}
	*linkp = link;
	return 0;
}

/*
 * The dm part of an attach with a dm table: the original must exist and
 * not be interposed; then the mapped device is made (dm.c).
 */
static int ip_attach_dm(const char *dev, const char *table, dev_t *dmdev,
			char *dm_name, size_t len, bool check)
{
	char what[PATH_MAX + 8], devname[IP_NAME_LEN];
	struct interpose_info info;
	struct ip_dev d;
	int err;

	err = ip_resolve(dev, &d);
	if (err)
		return ip_err(-err, "attach %s: %s", dev, ip_resolve_reason(-err));
	snprintf(what, sizeof(what), "attach %s", ip_label(&d, dev));
	err = ip_query_dev(&d, &info);
	if (!err && info.state != INTERPOSE_STATE_NONE &&
	    info.state != INTERPOSE_STATE_OBSERVED)
		return ip_err(EBUSY, "%s: %s", what,
			      info.state == INTERPOSE_STATE_RESERVED ?
			      "it is reserved as a target of another device" :
			      "already interposed");
	ip_pin_devname(&d, devname, sizeof(devname));
	err = ip_dm_create(what, &d, devname, table, check ? NULL : dmdev);
	if (err || check)
		return err;
	ip_dm_name(devname, dm_name, len, false);
	return 0;
}

/* "A, B": the ops names of the observers a query returned. */
static void ip_observer_names(const struct blkinterpose_info *ki,
			      const struct blkinterpose_observer *kobs,
			      char *buf, size_t len)
{
	unsigned int i, n = ki->nr_observers < IP_MAX_OBSERVERS ?
			    ki->nr_observers : IP_MAX_OBSERVERS;
	size_t used = 0;

	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%.*s",
				 i ? ", " : "", BLKINTERPOSE_NAME_LEN,
				 kobs[i].ops_name);
}

/*
 * What the device's state refuses before anything is loaded: a policy
 * where observers alone are attached (the kernel takes a policy only on a
 * device without an interposer), an observer on a reserved device, past
 * the kernel's number of observers, or twice.
 */
static int ip_attach_state_check(const char *label,
				 const struct blkinterpose_info *ki,
				 const struct blkinterpose_observer *kobs,
				 bool observer)
{
	char names[BLKINTERPOSE_NAME_LEN * IP_MAX_OBSERVERS + 32];

	ip_observer_names(ki, kobs, names, sizeof(names));
	if (!observer)
		return 0;
	if (ki->state == BLKINTERPOSE_STATE_RESERVED)
		return ip_err(EBUSY, "attach %s: it is reserved as a target of another device, which cannot be observed",
			      label);
	if (ki->max_observers && ki->nr_observers >= ki->max_observers)
		return ip_err(ENOSPC, "attach %s: it has %u observers (%s), the most the kernel takes",
			      label, ki->nr_observers, names);
	return 0;
}

/* Why the kernel refused an observer. */
static const char *ip_observer_reason(int err, const char *ops,
				      const struct blkinterpose_info *ki,
				      char *buf, size_t len)
{
	const char *reason;

	switch (err) {
	case ENOENT:
		snprintf(buf, len, "ops %s is not registered", ops);
		return buf;
	case EEXIST:
		snprintf(buf, len, "ops %s already watches it, or is its policy",
			 ops);
		return buf;
	case ENOSPC:
		snprintf(buf, len, "it has the most observers the kernel takes (%u)",
			 ki->max_observers);
		return buf;
	case EBUSY:
		return "it is reserved as a target of another device, or its interposer is being attached or detached";
	case ELOOP:
		return "it is a target of another interposer";
	case EOPNOTSUPP:
		return "zoned devices and devices with integrity metadata cannot be observed";
	case EINVAL:
		return "the kernel refused the observer (a kernel without observers?)";
	}
	reason = ip_common_reason(err);
	return reason ?: strerror(err);
}

int ip_attach(const char *dev, const struct interpose_attach_opts *opts)
{
	struct blkinterpose_attach arg = { .size = sizeof(arg) };
	int fds[IP_MAX_TARGETS], ofd = -1, err;
	__s32 kfds[IP_MAX_TARGETS];
	char why[256], what[PATH_MAX + 8], devname[IP_NAME_LEN];
	const char *const *names;
	struct ip_attach_ctx ctx = { };
	struct ip_prog_src src;
	struct ip_prog prog = { };
	struct blkinterpose_observer kobs[IP_MAX_OBSERVERS];
	struct blkinterpose_info ki;
	bool have_ki;
	struct bpf_link *link = NULL;
	const char *ops, *olabel;
	struct ip_dev *devs;
	size_t n, i, nfds = 0;
	const char *dmt, *dm_target[1];
	char dm_tname[32], dm_name[IP_NAME_LEN] = "";
	__u32 flags;
	bool check, observer;

	ip_errmsg_clear();
	if (!dev)
		return ip_err(EINVAL, "attach: no device given");
	err = OPTS_CHECK(opts, interpose_attach_opts);
	if (err)
		return ip_err(-err, "attach %s: %s", dev, err == -E2BIG ?
			      "options have non-zero fields unknown to this library" :
			      "options size is too small");
	names = OPTS_GET(opts, targets, NULL);
	n = OPTS_GET(opts, nr_targets, 0);
	ops = OPTS_GET(opts, ops_name, NULL);
	flags = OPTS_GET(opts, flags, 0);
	src = IP_PROG_SRC(opts);
	src.filter = OPTS_GET(opts, filter, NULL);
	dmt = OPTS_GET(opts, dm_table, NULL);
	if (ops && !ops[0])
		ops = NULL;
	if (dmt && !dmt[0])
		dmt = NULL;
	snprintf(what, sizeof(what), "attach %s", dev);
	err = ip_prog_src_check(what, &src);
	if (err)
		return err;
	if (dmt && (n || ops || ip_prog_src_any(&src)))
		return ip_err(EINVAL, "attach %s: a dm table cannot be combined with targets, an ops or a program",
			      dev);
	if (dmt && ip_backend() == INTERPOSE_BACKEND_MODULE)
		return ip_err(EOPNOTSUPP, "attach %s: %s", dev,
			      ip_module_refusal("a dm table"));

	if (flags & ~(INTERPOSE_ATTACH_CHECK | INTERPOSE_ATTACH_OBSERVER))
		return ip_err(EINVAL, "attach %s: unknown flags 0x%x", dev,
			      flags & ~(INTERPOSE_ATTACH_CHECK |
					INTERPOSE_ATTACH_OBSERVER));
	check = flags & INTERPOSE_ATTACH_CHECK;
	observer = flags & INTERPOSE_ATTACH_OBSERVER;
	flags = observer ? BLKINTERPOSE_ATTACH_OBSERVER : 0;
	if (observer && (n || dmt))
		return ip_err(EINVAL, "attach %s: an observer has no targets and no dm table",
			      dev);
	if (observer && !ops && !ip_prog_src_any(&src))
		return ip_err(EINVAL, "attach %s: an observer needs an ops name or a program",
			      dev);
	if (ops && strlen(ops) >= BLKINTERPOSE_NAME_LEN)
		return ip_err(EINVAL, "attach %s: ops name %s is too long (at most %d characters)",
			      dev, ops, BLKINTERPOSE_NAME_LEN - 1);
	if (!ip_has_sys_admin())
		return ip_err(EPERM, "attach %s: %s", dev,
			      ip_common_reason(EPERM));
	if (dmt) {
		dev_t dmdev;

		err = ip_attach_dm(dev, dmt, &dmdev, dm_name, sizeof(dm_name),
				   check);
		if (err || check)
			return err;
		snprintf(dm_tname, sizeof(dm_tname), "%u:%u", major(dmdev),
			 minor(dmdev));
		dm_target[0] = dm_tname;
		names = dm_target;
		n = 1;
	}
	if (!ops && !ip_prog_src_any(&src) && !n)
		return ip_err(EINVAL, "attach %s: no target given", dev);
	if (n > IP_MAX_TARGETS)
		return ip_err(EINVAL, "attach %s: too many targets (%zu, at most %d)",
			      dev, n, IP_MAX_TARGETS);
	if (n && !names)
		return ip_err(EINVAL, "attach %s: nr_targets is %zu but targets is NULL",
			      dev, n);

	devs = calloc(n + 1, sizeof(*devs));
	if (!devs) {
		err = ip_err(ENOMEM, "attach %s: out of memory", dev);
		goto out;
	}
	err = ip_attach_resolve(dev, &devs[n], devs, names, n);
	if (err)
		goto out;
	olabel = ip_label(&devs[n], dev);
	/* an observer sends nothing elsewhere: nothing to fit */
	if (!observer)
		err = ip_attach_check(dev, &devs[n], devs, names, n,
				      !ops && !ip_prog_src_any(&src));
	if (err)
		goto out;
	if (check) {
		if (ip_prog_src_any(&src)) {
			snprintf(what, sizeof(what), "attach %s", olabel);
			err = ip_prog_prepare(what, &src, ops, &prog);
		}
		goto out;
	}

	/*
	 * The kernel takes an attach only through a writable descriptor,
	 * unless a holder (a mounted filesystem) keeps writers out (EBUSY).
	 */
	ofd = ip_open(&devs[n], O_RDWR);
	if (ofd == -EBUSY)
		ofd = ip_open(&devs[n], O_RDONLY);
	if (ofd < 0) {
		err = ip_err(-ofd, "attach %s: cannot open: %s", olabel,
			     ofd == -ENOENT ? "no device node" :
			     ofd == -EROFS ? "it is read-only (an attach needs it open for writing)" :
			     strerror(-ofd));
		goto out;
	}
	/* The kernel's limit, if it says (an older one does not). */
	have_ki = !ip_query_fd_obs(ofd, &ki, NULL, 0, kobs, IP_MAX_OBSERVERS);
	if (have_ki && ki.max_targets && n > ki.max_targets) {
		err = ip_err(EINVAL, "attach %s: too many targets (%zu, the kernel takes at most %u)",
			     olabel, n, ki.max_targets);
		goto out;
	}
	if (have_ki) {
		err = ip_attach_state_check(olabel, &ki, kobs, observer);
		if (err)
			goto out;
	}
	for (i = 0; i < n; i++) {
		fds[i] = ip_open(&devs[i], O_RDWR);
		if (fds[i] < 0) {
			err = ip_err(-fds[i], "attach %s: cannot open target %s: %s",
				     olabel, ip_label(&devs[i], names[i]),
				     fds[i] == -ENOENT ? "no device node" :
				     strerror(-fds[i]));
			goto out;
		}
		nfds++;
		kfds[i] = fds[i];
	}
	arg.nr_targets = n;
	arg.targets_ptr = n ? (__u64)(unsigned long)kfds : 0;
	arg.flags = flags;

	if (ip_prog_src_any(&src)) {
		/* Nothing to load for a device that cannot take it. */
		if (!observer && have_ki &&
		    ki.state != BLKINTERPOSE_STATE_NONE &&
		    ki.state != BLKINTERPOSE_STATE_OBSERVED) {
			ctx.orig_attached = ip_kstate_attached(ki.state);
			ctx.orig_failed = ki.state == BLKINTERPOSE_STATE_FAILED;
			err = ip_err(EBUSY, "attach %s: %s", olabel,
				     ctx.orig_attached ?
				     ip_attach_reason(EBUSY, &ctx, why, sizeof(why)) :
				     "it is reserved as a target of another device");
			goto out;
		}
		ip_pin_devname(&devs[n], devname, sizeof(devname));
		snprintf(what, sizeof(what), "attach %s", olabel);
		err = ip_attach_prog(what, devname, sizeof(devname), observer,
				     &src, ops, &prog, &link);
		if (err)
			goto out;
		ops = prog.name;
	}
	if (ops)
		strcpy(arg.ops_name, ops);

	pr_debug("attach %s (%u:%u): %zu target(s), ops %s\n", olabel,
		 major(devs[n].dev), minor(devs[n].dev), n, ops ?: "-");
	if (ip_dev_ioctl(ofd, BLKINTERPOSE_ATTACH, &arg)) {
		err = errno;
		ctx.ops_name = ops;
		if (observer)
			err = ip_err(err, "attach %s: %s", olabel,
				     ip_observer_reason(err, ops, &ki,
							why, sizeof(why)));
		else
			ip_attach_explain(err, ofd, &devs[n], devs, fds, n,
					  names, &ctx);
		if (ctx.unsupported)
			err = ENOTTY;
		if (!observer)
			err = ip_err(err, "attach %s: %s", olabel,
				     ip_attach_reason(err, &ctx, why,
						      sizeof(why)));
		if (link) {
			/* Unregister the ops again, and forget it. */
			ip_unpin_all(devname);
			bpf_link__detach(link);
			bpf_link__destroy(link);
			link = NULL;
		}
	}
out:
	/* A pinned link stays; this only closes our descriptor. */
	bpf_link__destroy(link);
	ip_prog_close(&prog);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (ofd >= 0)
		close(ofd);
	free(devs);
	if (err && dm_name[0])
		ip_dm_remove(dm_name);
	return err;
}

/*
 * Unpinning the program of ops @name unregisters it, which detaches it
 * everywhere: -EBUSY while a device other than @devname uses it, as its
 * policy or as an observer.
 */
static int ip_detach_check_users(const char *label, const char *what,
				 const char *name, const char *devname)
{
	char list[256], **users;
	size_t cnt = 0;

	if (ip_ops_users(name, devname, &users, &cnt) || !cnt)
		return 0;
	ip_names_join(users, cnt, list, sizeof(list));
	ip_names_free(users, cnt);
	return ip_err(EBUSY, "detach %s: %s (ops %s) is also attached to %s; detach %s first",
		      label, what, name, list, cnt > 1 ? "those" : "that");
}

/*
 * Before detaching @dev: its pinned program, if any, must not be attached
 * to other devices too, which unpinning it would detach.  *@pinned says
 * whether there is one.
 */
static int ip_detach_check_pins(const char *label, const char *devname,
				bool *pinned)
{
	char dir[PATH_MAX], name[BLKINTERPOSE_NAME_LEN];
	int fd, err;

	*pinned = !ip_pin_path(devname, NULL, dir, sizeof(dir)) &&
		  !access(dir, F_OK);
	if (!*pinned)
		return 0;
	fd = ip_pinned_link_fd(devname);
	if (fd < 0)
		return 0;
	err = ip_link_ops_name(fd, name, sizeof(name));
	close(fd);
	return err ? 0 : ip_detach_check_users(label, "its program", name,
						devname);
}

struct ip_detach_ctx {
	const char *label;
	const char *devname;
};

static int ip_detach_check_observer(const char *pin, const char *ops,
				    void *ctx)
{
	const struct ip_detach_ctx *c = ctx;

	(void)pin;
	return ip_detach_check_users(c->label, "its observer's program", ops,
				     c->devname);
}

/*
 * The programs of @devname's observers (pinned at "@devname@OPS") are
 * unloaded with the detach: none may be attached elsewhere too.
 */
static int ip_detach_check_observer_pins(const char *label,
					 const char *devname)
{
	struct ip_detach_ctx c = { .label = label, .devname = devname };

	return ip_for_each_observer_pin(devname, ip_detach_check_observer, &c);
}

static int ip_detach_unpin(const char *label, const char *devname)
{
	char dir[PATH_MAX];
	int err;

	err = ip_unpin_all(devname);
	if (!err || err == -ENOENT)
		return 0;
	ip_pin_path(devname, NULL, dir, sizeof(dir));
	return ip_err(-err, "detach %s: detached, but cannot remove the program's pins at %s: %s",
		      label, dir, strerror(-err));
}

/*
 * Before detaching @d: if its target is the dm device made for a dm table,
 * nobody else may have it open, since it goes away with the detach.
 * @dm_name gets its name ("" if there is none).
 */
static int ip_detach_check_dm(const struct ip_dev *d, const char *label,
			      const char *devname, char *dm_name, size_t len)
{
	struct interpose_info info;
	int openers;

	dm_name[0] = '\0';
	if (ip_query_dev(d, &info) || !ip_state_attached(info.state) ||
	    info.nr_targets != 1 ||
	    ip_dm_ours(info.targets[0].dev, devname, dm_name, len, &openers) != 1)
		return 0;
	/* the interposer holds it open once */
	if (openers > 1) {
		int err = ip_err(EBUSY, "detach %s: dm device %s is open elsewhere (%d opener%s besides the interposer); close it first",
				 label, dm_name, openers - 1,
				 openers > 2 ? "s" : "");

		dm_name[0] = '\0';
		return err;
	}
	return 0;
}

/*
 * The snapshot of @devname (interpose_snapshot()) goes before its origin
 * mapping: -EBUSY while it is open, before anything is done.
 */
static int ip_detach_snapshot(const char *label, const char *devname)
{
	struct ip_dm_snap snap;
	int err;

	err = ip_dm_snap_find(devname, &snap);
	if (err <= 0)
		return err;
	if (snap.open_count > 0)
		return ip_err(EBUSY, "detach %s: its snapshot %s is open (%d opener%s): unmount or close it first",
			      label, snap.name, snap.open_count,
			      snap.open_count > 1 ? "s" : "");
	err = ip_dm_remove_wait(snap.name);
	if (err && err != -ENXIO)
		return ip_err(-err, "detach %s: cannot remove its snapshot %s: %s",
			      label, snap.name, strerror(-err));
	pr_info("detach %s: removed its snapshot %s\n", label, snap.name);
	return 0;
}

/* Remove the dm device of a dm table after the detach. */
static int ip_detach_dm(const char *label, const char *dm_name)
{
	int err;

	err = ip_dm_remove_wait(dm_name);
	if (err && err != -ENXIO)
		return ip_err(-err, "detach %s: detached, but cannot remove dm device %s: %s",
			      label, dm_name, strerror(-err));
	return 0;
}

/*
 * @dev names no device any more (deleted while programs were attached to
 * it): unload its program and its observers' programs if their pins are
 * left.  0 if there were any, else -ENOENT.
 */
static int ip_detach_gone(const char *dev)
{
	const char *name = dev;
	char dir[PATH_MAX];
	int n;

	if (!strncmp(name, "/dev/", 5))
		name += 5;
	if (!name[0] || strchr(name, '/') || strchr(name, ':') ||
	    ip_pin_path(name, NULL, dir, sizeof(dir)) || !ip_has_sys_admin())
		return -ENOENT;
	n = !access(dir, F_OK) && !ip_unpin_all(name);
	n += ip_unpin_observers(name);
	if (!n)
		return -ENOENT;
	pr_info("detach %s: the device is gone; unloaded the programs pinned for it\n",
		dev);
	return 0;
}

/*
 * Detach the observer @name of the device open as @fd, and unload its
 * program if it was attached from one (pinned at "@devname@@name").
 */
static int ip_detach_observer(int fd, const char *label, const char *devname,
			      const char *name)
{
	struct blkinterpose_detach arg = {
		.size = sizeof(arg),
		.flags = BLKINTERPOSE_DETACH_OBSERVER,
	};
	char pin[IP_NAME_LEN + BLKINTERPOSE_NAME_LEN + 1], dir[PATH_MAX];
	bool pinned;
	int err = 0;

	snprintf(arg.ops_name, sizeof(arg.ops_name), "%s", name);
	if (ip_snprintf(pin, sizeof(pin), "%s@%s", devname, name))
		return ip_err(ENAMETOOLONG, "detach %s: pin name too long",
			      label);
	pinned = !ip_pin_path(pin, NULL, dir, sizeof(dir)) &&
		 !access(dir, F_OK);
	if (pinned) {
		err = ip_detach_check_users(label, "the observer's program",
					    name, devname);
		if (err)
			return err;
	}
	pr_debug("detach %s: observer %s\n", label, name);
	if (ip_dev_ioctl(fd, BLKINTERPOSE_DETACH, &arg)) {
		err = errno;
		if (err == ENOENT && pinned) {
			pr_info("detach %s: %s observes it no more, unloading its program\n",
				label, name);
			err = 0;
		} else if (err == ENOENT) {
			return ip_err(err, "detach %s: no observer named %s",
				      label, name);
		} else {
			return ip_err(err, "detach %s: observer %s: %s", label,
				      name, err == EINVAL ?
				      "the kernel refused it (a kernel without observers?)" :
				      ip_detach_reason(err, false));
		}
	}
	if (!pinned)
		return 0;
	err = ip_unpin_all(pin);
	if (err && err != -ENOENT)
		return ip_err(-err, "detach %s: observer %s detached, but cannot remove its program's pins at %s: %s",
			      label, name, dir, strerror(-err));
	return 0;
}

int ip_detach(const char *dev, const struct interpose_detach_opts *opts)
{
	struct blkinterpose_detach arg = { .size = sizeof(arg) };
	char devname[IP_NAME_LEN], dm_name[IP_NAME_LEN];
	const char *label, *observer;
	struct ip_dev d;
	bool unsupported = false, pinned;
	int fd, err;

	ip_errmsg_clear();
	if (!dev)
		return ip_err(EINVAL, "detach: no device given");
	err = OPTS_CHECK(opts, interpose_detach_opts);
	if (err)
		return ip_err(-err, "detach %s: %s", dev, err == -E2BIG ?
			      "options have non-zero fields unknown to this library" :
			      "options size is too small");
	arg.flags = OPTS_GET(opts, flags, 0);
	if (arg.flags)
		return ip_err(EINVAL, "detach %s: unknown flags 0x%x", dev,
			      arg.flags);
	observer = OPTS_GET(opts, observer, NULL);
	if (observer && !observer[0])
		observer = NULL;
	if (observer && strlen(observer) >= BLKINTERPOSE_NAME_LEN)
		return ip_err(EINVAL, "detach %s: observer name %s is too long (at most %d characters)",
			      dev, observer, BLKINTERPOSE_NAME_LEN - 1);
	if (observer && (strchr(observer, '/') || observer[0] == '.'))
		return ip_err(EINVAL, "detach %s: %s is not an ops name", dev,
			      observer);

	err = ip_resolve(dev, &d);
	if (err) {
		/* the device went away with its program still pinned */
		if (!ip_detach_gone(dev))
			return 0;
		return ip_err(-err, "detach %s: %s", dev, ip_resolve_reason(-err));
	}
	label = ip_label(&d, dev);
	if (!ip_has_sys_admin())
		return ip_err(EPERM, "detach %s: %s", label,
			      ip_common_reason(EPERM));
	fd = ip_open(&d, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return ip_err(-fd, "detach %s: cannot open: %s", label,
			      fd == -ENOENT ? "no device node" : strerror(-fd));
	ip_pin_devname(&d, devname, sizeof(devname));
	if (observer) {
		err = ip_detach_observer(fd, label, devname, observer);
		goto out;
	}
	err = ip_detach_check_pins(label, devname, &pinned);
	if (!err)
		err = ip_detach_check_observer_pins(label, devname);
	if (!err)
		err = ip_detach_check_dm(&d, label, devname, dm_name,
					 sizeof(dm_name));
	if (!err && dm_name[0])
		err = ip_detach_snapshot(label, devname);
	if (err)
		goto out;
	pr_debug("detach %s (%u:%u)\n", label, major(d.dev), minor(d.dev));
	if (ip_dev_ioctl(fd, BLKINTERPOSE_DETACH, &arg)) {
		err = errno;
		if (err == ENOTTY || err == EINVAL)
			unsupported = ip_fd_unsupported(fd);
		if (unsupported)
			err = ENOTTY;
		if (err == ENOENT && pinned) {
			/* Detached already; its program is left to unload. */
			pr_info("detach %s: not interposed any more, unloading its program\n",
				label);
			err = 0;
		} else {
			err = ip_err(err, "detach %s: %s", label,
				     ip_detach_reason(err, unsupported));
			goto out;
		}
	}
	if (pinned)
		err = ip_detach_unpin(label, devname);
	/* the kernel detached the observers with the policy */
	ip_unpin_observers(devname);
	if (!err && dm_name[0])
		err = ip_detach_dm(label, dm_name);
out:
	close(fd);
	return err;
}

int interpose_replace(const char *dev,
		      const struct interpose_replace_opts *opts)
{
	char what[PATH_MAX + 8], devname[IP_NAME_LEN], name[BLKINTERPOSE_NAME_LEN];
	struct ip_prog prog = { };
	struct ip_prog_src src;
	struct bpf_link *link;
	const char *label;
	struct ip_dev d;
	int link_fd = -1, err;
	__u32 flags;

	ip_errmsg_clear();
	if (!dev)
		return ip_err(EINVAL, "replace: no device given");
	err = OPTS_CHECK(opts, interpose_replace_opts);
	if (err)
		return ip_err(-err, "replace %s: %s", dev, err == -E2BIG ?
			      "options have non-zero fields unknown to this library" :
			      "options size is too small");
	src = IP_PROG_SRC(opts);
	flags = OPTS_GET(opts, flags, 0);
	if (flags)
		return ip_err(EINVAL, "replace %s: unknown flags 0x%x", dev, flags);
	snprintf(what, sizeof(what), "replace %s", dev);
	err = ip_prog_src_check(what, &src);
	if (err)
		return err;
	if (!ip_prog_src_any(&src))
		return ip_err(EINVAL, "replace %s: no program given", dev);

	err = ip_resolve(dev, &d);
	if (err)
		return ip_err(-err, "replace %s: %s", dev, ip_resolve_reason(-err));
	label = ip_label(&d, dev);
	snprintf(what, sizeof(what), "replace %s", label);
	if (!ip_has_sys_admin())
		return ip_err(EPERM, "%s: %s", what, ip_common_reason(EPERM));
	ip_pin_devname(&d, devname, sizeof(devname));
	link_fd = ip_pinned_link_fd(devname);
	if (link_fd < 0) {
		if (link_fd == -ENOENT)
			return ip_err(ENOENT, "%s: no program is pinned for it (it was not attached with a program file)",
				      what);
		return ip_err(-link_fd, "%s: cannot open its pinned link: %s",
			      what, link_fd == -EPERM ? ip_common_reason(EPERM) :
			      strerror(-link_fd));
	}
	err = ip_link_ops_name(link_fd, name, sizeof(name));
	if (err) {
		err = ip_err(err == -ENOENT ? ENOENT : -err,
			     "%s: its pinned link holds no blk_interposer_ops any more%s%s",
			     what, err == -ENOENT ? "" : ": ",
			     err == -ENOENT ? "" : strerror(-err));
		goto out;
	}

	err = ip_prog_prepare(what, &src, name, &prog);
	if (err)
		goto out;

	/*
	 * libbpf fills the new map's value (programs and name) in
	 * bpf_map__attach_struct_ops() only, before it creates a link; that
	 * link is refused since the name is registered (EEXIST), leaving the
	 * map ready for the link update.  (bpf_link__update_map() would do
	 * both but needs a link libbpf made itself, not one opened from a
	 * pin.)
	 */
	link = bpf_map__attach_struct_ops(prog.ops_map);
	err = link ? 0 : -errno;
	if (link) {
		bpf_link__detach(link);
		bpf_link__destroy(link);
		err = ip_err(ENOENT, "%s: ops %s of its pinned link is not registered any more",
			     what, name);
		goto out;
	}
	if (err != -EEXIST) {
		err = ip_err(-err, "%s: the kernel refused the struct_ops of %s: %s",
			     what, prog.path, err == -EPERM ? ip_common_reason(EPERM) :
			     strerror(-err));
		goto out;
	}
	if (bpf_link_update(link_fd, bpf_map__fd(prog.ops_map), NULL)) {
		err = errno;
		err = ip_err(err, "%s: the kernel refused to replace ops %s: %s",
			     what, name, err == ENOLINK ? "its link is detached" :
			     strerror(err));
		goto out;
	}
	pr_debug("%s: ops %s now runs %s\n", what, name, prog.path);
	ip_unpin_maps(devname);
	err = ip_pin_prog(what, devname, NULL, prog.obj, prog.ops_map);
out:
	ip_prog_close(&prog);
	if (link_fd >= 0)
		close(link_fd);
	return err;
}

int interpose_attach(const char *dev, const struct interpose_attach_opts *opts)
{
	return ip_attach(dev, opts);
}

int interpose_detach(const char *dev, const struct interpose_detach_opts *opts)
{
	return ip_detach(dev, opts);
}
