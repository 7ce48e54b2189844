// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: what a program attached from an object file reports
 * through the conventions of interpose/event.h: per-bio events from its
 * "events" ring buffer, latency histograms from its "hist" map.  Both are
 * found through the pins of the program (pin.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libinterpose_internal.h"

struct interpose_events {
	char dev[PATH_MAX];		/* as given, to read events_lost */
	struct ring_buffer *rb;
	__u32 map_id;			/* the ring buffer being read */
	interpose_event_fn fn;
	void *ctx;
	__u64 received;
	__u64 short_records;
	int stop;			/* the callback's non-zero return */
};

/* Open the pinned map @name of @dev's program, checked for @type. */
static int ip_open_conv_map(const char *what, const char *dev,
			    const char *name, enum bpf_map_type type,
			    __u32 value_size, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	int fd, err;

	fd = ip_prog_map_fd_what(what, dev, name);
	if (fd < 0)
		return fd;
	memset(info, 0, sizeof(*info));
	if (bpf_map_get_info_by_fd(fd, info, &len)) {
		err = errno;
		close(fd);
		return ip_err(err, "%s %s: cannot read map %s: %s", what, dev,
			      name, strerror(err));
	}
	if (info->type != type ||
	    (value_size && info->value_size != value_size)) {
		close(fd);
		return ip_err(EINVAL, "%s %s: map %s does not follow the convention of interpose/event.h (type %u, value size %u; expected type %u, value size %u)",
			      what, dev, name, info->type, info->value_size,
			      type, value_size);
	}
	return fd;
}

static int ip_events_sample(void *ctx, void *data, size_t size)
{
	struct interpose_events *ev = ctx;
	struct interpose_event e;
	int ret;

	/*
	 * Older, shorter records read as zero in the fields they lack; the
	 * others are passed as they are, with all their bytes, for callers
	 * built against a newer header.
	 */
	ev->received++;
	if (size < sizeof(e)) {
		memset(&e, 0, sizeof(e));
		memcpy(&e, data, size);
		ev->short_records++;
		ret = ev->fn(ev->ctx, &e, sizeof(e));
	} else {
		ret = ev->fn(ev->ctx, data, size);
	}
	if (!ret)
		return 0;
	/* libbpf stops on a negative return only */
	ev->stop = ret;
	return ret < 0 ? ret : -ECANCELED;
}

/*
 * The result of a poll or consume that libbpf returned as @n; @saved_errno
 * is errno before it.
 */
static int ip_events_result(struct interpose_events *ev, const char *op, int n,
			    int saved_errno)
{
	int stop = ev->stop;

	ev->stop = 0;
	if (stop > 0) {
		errno = saved_errno;
		return stop;	/* a deliberate stop, not an error */
	}
	if (stop < 0)
		return ip_err(-stop, "events %s: %s: stopped by the callback: %s",
			      ev->dev, op, strerror(-stop));
	if (n == -EINTR) {
		errno = EINTR;
		return n;	/* a signal: not worth a message */
	}
	if (n < 0)
		return ip_err(-n, "events %s: %s: %s", ev->dev, op, strerror(-n));
	return n;
}

int interpose_events__new(const char *dev, interpose_event_fn fn,
			  const struct interpose_events_opts *opts,
			  struct interpose_events **evp)
{
	struct bpf_map_info info;
	int fd, err;

	ip_errmsg_clear();
	if (!evp || !fn)
		return ip_err(EINVAL, "events %s: no callback or result pointer",
			      dev ?: "(null)");
	*evp = NULL;
	err = OPTS_CHECK(opts, interpose_events_opts);
	if (err)
		return ip_err(-err, "events %s: bad options (size %zu)",
			      dev ?: "(null)", opts ? opts->sz : 0);
	if (OPTS_GET(opts, flags, 0))
		return ip_err(EINVAL, "events %s: flags must be 0", dev ?: "(null)");
	if (!dev || strlen(dev) >= PATH_MAX)
		return ip_err(EINVAL, "events: bad device name");

	fd = ip_open_conv_map("events", dev, INTERPOSE_EVENTS_MAP,
			      BPF_MAP_TYPE_RINGBUF, 0, &info);
	if (fd < 0)
		return fd;
	err = ip_events_new_fd(dev, fd, &info, fn, OPTS_GET(opts, ctx, NULL),
			       evp);
	close(fd);	/* the ring buffer holds the map */
	return err;
}

int ip_events_new_fd(const char *dev, int fd, const struct bpf_map_info *info,
		     interpose_event_fn fn, void *ctx,
		     struct interpose_events **evp)
{
	struct interpose_events *ev;
	int err;

	if (info->type != BPF_MAP_TYPE_RINGBUF)
		return ip_err(EINVAL, "events %s: map %s is not a ring buffer (type %u)",
			      dev, INTERPOSE_EVENTS_MAP, info->type);
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return ip_err(ENOMEM, "events %s: out of memory", dev);
	snprintf(ev->dev, sizeof(ev->dev), "%s", dev);
	ev->map_id = info->id;
	ev->fn = fn;
	ev->ctx = ctx;
	ev->rb = ring_buffer__new(fd, ip_events_sample, ev, NULL);
	err = ev->rb ? 0 : errno;
	if (err) {
		free(ev);
		return ip_err(err, "events %s: cannot map the ring buffer: %s",
			      dev, strerror(err));
	}
	*evp = ev;
	return 0;
}

int interpose_events__poll(struct interpose_events *ev, int timeout_ms)
{
	int n, saved;

	ip_errmsg_clear();
	if (!ev)
		return ip_err(EINVAL, "events: no events object");
	saved = errno;
	n = ring_buffer__poll(ev->rb, timeout_ms);
	return ip_events_result(ev, "poll", n, saved);
}

int interpose_events__consume(struct interpose_events *ev)
{
	int n, saved;

	ip_errmsg_clear();
	if (!ev)
		return ip_err(EINVAL, "events: no events object");
	saved = errno;
	n = ring_buffer__consume(ev->rb);
	return ip_events_result(ev, "consume", n, saved);
}

int interpose_events__fd(const struct interpose_events *ev)
{
	if (!ev)
		return -EINVAL;
	return ring_buffer__epoll_fd(ev->rb);
}

__u64 interpose_events__received(const struct interpose_events *ev)
{
	return ev ? ev->received : 0;
}

int interpose_events__current(const struct interpose_events *ev)
{
	struct bpf_map_info info = { };
	__u32 len = sizeof(info);
	int fd, ret;

	ip_errmsg_clear();
	if (!ev)
		return ip_err(EINVAL, "events: no events object");
	fd = ip_prog_map_fd_what("map", ev->dev, INTERPOSE_EVENTS_MAP);
	if (fd < 0)
		return 0;	/* gone: not the one we read */
	ret = !bpf_map_get_info_by_fd(fd, &info, &len) && info.id == ev->map_id;
	close(fd);
	ip_errmsg_clear();
	return ret;
}

int interpose_events__lost(const struct interpose_events *ev, __u64 *lost)
{
	int err;

	ip_errmsg_clear();
	if (!ev || !lost)
		return ip_err(EINVAL, "events: no events object or result pointer");
	err = ip_prog_var(ev->dev, INTERPOSE_EVENTS_LOST, lost);
	if (err == -ENOENT)
		return ip_err(ENOENT, "events %s: the program has no %s counter, or it is gone",
			      ev->dev, INTERPOSE_EVENTS_LOST);
	return err;
}

void interpose_events__free(struct interpose_events *ev)
{
	if (!ev)
		return;
	ring_buffer__free(ev->rb);
	free(ev);
}

int ip_hist_check(const char *dev, const struct bpf_map_info *info)
{
	if (info->type == BPF_MAP_TYPE_PERCPU_ARRAY &&
	    info->value_size == sizeof(struct interpose_hist))
		return 0;
	return ip_err(EINVAL, "hist %s: map %s does not follow the convention of interpose/event.h (type %u, value size %u; expected type %u, value size %zu)",
		      dev, INTERPOSE_HIST_MAP, info->type, info->value_size,
		      BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(struct interpose_hist));
}

int ip_hist_read_fd(const char *dev, int fd, const struct bpf_map_info *info,
		    struct interpose_hist *hists, size_t nr)
{
	struct interpose_hist *percpu = NULL;
	int ncpus, err = 0;
	__u32 key, cpu, i;

	memset(hists, 0, nr * sizeof(*hists));
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		err = ip_err(ncpus ? -ncpus : EINVAL,
			     "hist %s: cannot count the CPUs", dev);
		goto out;
	}
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu) {
		err = ip_err(ENOMEM, "hist %s: out of memory", dev);
		goto out;
	}
	for (key = 0; key < info->max_entries && key < nr; key++) {
		if (bpf_map_lookup_elem(fd, &key, percpu)) {
			err = ip_err(errno, "hist %s: cannot read row %u: %s",
				     dev, key, strerror(errno));
			goto out;
		}
		for (cpu = 0; cpu < (__u32)ncpus; cpu++) {
			for (i = 0; i < INTERPOSE_HIST_SLOTS; i++)
				hists[key].slots[i] += percpu[cpu].slots[i];
			hists[key].count += percpu[cpu].count;
			hists[key].sum_ns += percpu[cpu].sum_ns;
		}
	}
	err = key;
out:
	free(percpu);
	return err;
}

int interpose_hist_read(const char *dev, struct interpose_hist *hists,
			size_t nr)
{
	struct bpf_map_info info;
	int fd, err;

	ip_errmsg_clear();
	if (!hists || !nr)
		return ip_err(EINVAL, "hist %s: no result array", dev ?: "(null)");
	memset(hists, 0, nr * sizeof(*hists));
	fd = ip_open_conv_map("hist", dev, INTERPOSE_HIST_MAP,
			      BPF_MAP_TYPE_PERCPU_ARRAY,
			      sizeof(struct interpose_hist), &info);
	if (fd < 0)
		return fd;
	err = ip_hist_read_fd(dev, fd, &info, hists, nr);
	close(fd);
	return err;
}
