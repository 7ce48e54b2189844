// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: attach and detach interposers through the BLKINTERPOSE_*
 * ioctls of include/uapi/linux/blk-interposer.h.
 *
 * Attach checks what userspace can see (counts, duplicates, overlaps,
 * sizes, block sizes) before the ioctl, so that the error message names
 * the target at fault; the kernel checks again.  When the kernel refuses,
 * a few read-only probes (query, exclusive open) pick the message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libinterpose_internal.h"

const char *ip_common_reason(int err)
{
	switch (err) {
	case EPERM:
		return "permission denied (CAP_SYS_ADMIN required)";
	case ENODEV:
		return "device is going away";
	case ENOTTY:
		return "kernel does not support block interposers";
	case E2BIG:
		return "the kernel does not know an option that was given";
	default:
		return NULL;
	}
}

const char *ip_attach_reason(int err, const struct ip_attach_ctx *ctx,
			     char *buf, size_t len)
{
	const char *reason;

	if ((err == ENOTTY || err == EINVAL) && ctx->unsupported)
		return ip_common_reason(ENOTTY);
	switch (err) {
	case EBUSY:
		if (ctx->orig_attached)
			return "already interposed";
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
	case ELOOP:
		if (!ctx->interposed_target)
			return "the original is a target of another interposer";
		snprintf(buf, len, "target %s is itself interposed",
			 ctx->interposed_target);
		return buf;
	case EINVAL:
		return "the kernel refused the targets or options";
	case EOPNOTSUPP:
		return "zoned devices cannot be interposed";
	case EBADF:
	case ENOTBLK:
		return "a target is not a block device";
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
	}
	reason = ip_common_reason(err);
	return reason ?: strerror(err);
}

/* Probes after a refused attach, to explain it. */
static void ip_attach_explain(int err, int orig_fd, const struct ip_dev *devs,
			      const int *fds, size_t n, const char *const *names,
			      struct ip_attach_ctx *ctx)
{
	struct blkinterpose_info ki;
	size_t i;
	int fd;

	switch (err) {
	case ENOTTY:
	case EINVAL:
		ctx->unsupported = ip_fd_unsupported(orig_fd);
		break;
	case EBUSY:
		ctx->orig_attached = !ip_query_fd(orig_fd, &ki) &&
				     ki.state == BLKINTERPOSE_STATE_ATTACHED;
		for (i = 0; i < n && !ctx->orig_attached; i++) {
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
			if (!ip_query_fd(fds[i], &ki) &&
			    ki.state == BLKINTERPOSE_STATE_ATTACHED) {
				ctx->interposed_target =
					ip_label(&devs[i], names[i]);
				break;
			}
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
	for (i = 0; i < n; i++) {
		tlabel = ip_label(&tgts[i], names[i]);
		if (!have_geom || ip_geom(tgts[i].dev, &tg))
			continue;
		if (ip_geom_overlap(&og, &tg))
			return ip_err(EINVAL, "attach %s: target %s overlaps the original",
				      olabel, tlabel);
		if (og.lbs && tg.lbs > og.lbs)
			return ip_err(EINVAL,
				      "attach %s: target %s has a larger logical block size (%u) than the original (%u)",
				      olabel, tlabel, tg.lbs, og.lbs);
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

static int ip_open(const struct ip_dev *d, int flags)
{
	int fd;

	if (!d->path[0])
		return -ENOENT;
	fd = open(d->path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int interpose_attach(const char *dev, const struct interpose_attach_opts *opts)
{
	struct blkinterpose_attach arg = { .size = sizeof(arg) };
	int fds[BLKINTERPOSE_MAX_TARGETS], ofd = -1, err;
	struct ip_attach_ctx ctx = { };
	const char *const *names;
	struct ip_dev *devs;
	const char *ops, *olabel;
	size_t n, i, nfds = 0;
	char why[256];
	__u32 flags;

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
	if (ops && !ops[0])
		ops = NULL;

	if (flags)
		return ip_err(EINVAL, "attach %s: unknown flags 0x%x", dev, flags);
	if (ops && strlen(ops) >= BLKINTERPOSE_NAME_LEN)
		return ip_err(EINVAL, "attach %s: ops name %s is too long (at most %d characters)",
			      dev, ops, BLKINTERPOSE_NAME_LEN - 1);
	if (!ops && !n)
		return ip_err(EINVAL, "attach %s: no target given", dev);
	if (n > BLKINTERPOSE_MAX_TARGETS)
		return ip_err(EINVAL, "attach %s: too many targets (%zu, at most %d)",
			      dev, n, BLKINTERPOSE_MAX_TARGETS);
	if (n && !names)
		return ip_err(EINVAL, "attach %s: nr_targets is %zu but targets is NULL",
			      dev, n);

	devs = calloc(n + 1, sizeof(*devs));
	if (!devs)
		return ip_err(ENOMEM, "attach %s: out of memory", dev);
	err = ip_attach_resolve(dev, &devs[n], devs, names, n);
	if (err)
		goto out;
	olabel = ip_label(&devs[n], dev);
	err = ip_attach_check(dev, &devs[n], devs, names, n, !ops);
	if (err)
		goto out;

	ofd = ip_open(&devs[n], O_RDONLY);
	if (ofd < 0) {
		err = ip_err(-ofd, "attach %s: cannot open: %s", olabel,
			     ofd == -ENOENT ? "no device node" : strerror(-ofd));
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
		arg.target_fds[i] = fds[i];
	}
	arg.nr_targets = n;
	arg.flags = flags;
	if (ops)
		strcpy(arg.ops_name, ops);

	pr_debug("attach %s (%u:%u): %zu target(s), ops %s\n", olabel,
		 major(devs[n].dev), minor(devs[n].dev), n, ops ?: "-");
	if (ioctl(ofd, BLKINTERPOSE_ATTACH, &arg)) {
		err = errno;
		ctx.ops_name = ops;
		ip_attach_explain(err, ofd, devs, fds, n, names, &ctx);
		if (ctx.unsupported)
			err = ENOTTY;
		err = ip_err(err, "attach %s: %s", olabel,
			     ip_attach_reason(err, &ctx, why, sizeof(why)));
	}
out:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (ofd >= 0)
		close(ofd);
	free(devs);
	return err;
}

int interpose_detach(const char *dev, const struct interpose_detach_opts *opts)
{
	struct blkinterpose_detach arg = { .size = sizeof(arg) };
	const char *label;
	struct ip_dev d;
	bool unsupported = false;
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

	err = ip_resolve(dev, &d);
	if (err)
		return ip_err(-err, "detach %s: %s", dev, ip_resolve_reason(-err));
	label = ip_label(&d, dev);
	fd = ip_open(&d, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return ip_err(-fd, "detach %s: cannot open: %s", label,
			      fd == -ENOENT ? "no device node" : strerror(-fd));
	pr_debug("detach %s (%u:%u)\n", label, major(d.dev), minor(d.dev));
	err = 0;
	if (ioctl(fd, BLKINTERPOSE_DETACH, &arg)) {
		err = errno;
		if (err == ENOTTY || err == EINVAL)
			unsupported = ip_fd_unsupported(fd);
		if (unsupported)
			err = ENOTTY;
		err = ip_err(err, "detach %s: %s", label,
			     ip_detach_reason(err, unsupported));
	}
	close(fd);
	return err;
}
