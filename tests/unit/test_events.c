// SPDX-License-Identifier: GPL-2.0
/*
 * interpose_events__poll() on a real ring buffer of the host's kernel
 * (root only, skipped otherwise): bpf/fill_events.bpf.c writes records
 * into a ring buffer pinned where the program of the fake nullb0 would
 * pin it, on a bpffs mounted for the test.  A callback's positive return
 * stops the poll cleanly (returned as it is, no error), a negative one
 * stops it as an error, and the callback gets each record's size:
 * a caller built against a newer header, whose struct interpose_event
 * has one more field, reads it only when the size covers it (`make asan`
 * proves nothing is read past a record).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "unit.h"
#include "libinterpose_internal.h"

struct fill_args {
	__u32 n;
	__u32 size;
};

/* As a program built against a newer header sees it. */
struct event_newer {
	struct interpose_event known;
	__u64 newer;
};

struct ev_env {
	struct fake *f;
	char bpffs[PATH_MAX];
	struct bpf_object *obj;
	int prog_fd;
};

static struct ev_env env;

static int mkdir_pin_dirs(char *path, size_t len)
{
	static const char *const subs[] = { "/interpose", "/nullb0", "/maps" };
	size_t i;

	snprintf(path, len, "%s", env.bpffs);
	for (i = 0; i < ARRAY_SIZE(subs); i++) {
		strncat(path, subs[i], len - strlen(path) - 1);
		if (mkdir(path, 0700))
			return -errno;
	}
	strncat(path, "/events", len - strlen(path) - 1);
	return 0;
}

/* The group: the fake tree, and where possible a real bpffs and map. */
static int events_setup(void **state)
{
	char path[PATH_MAX];
	int err;

	err = fake_setup(state);
	if (err)
		return err;
	env.f = *state;
	env.obj = NULL;
	env.bpffs[0] = '\0';
	if (geteuid() || access(UNIT_BPF_DIR "/fill_events.bpf.o", R_OK))
		return 0;
	snprintf(env.bpffs, sizeof(env.bpffs), "%s/real-bpffs", env.f->root);
	if (mkdir(env.bpffs, 0700) || mount("bpf", env.bpffs, "bpf", 0, NULL)) {
		env.bpffs[0] = '\0';
		return 0;
	}
	env.obj = bpf_object__open_file(UNIT_BPF_DIR "/fill_events.bpf.o", NULL);
	if (env.obj && !bpf_object__load(env.obj) &&
	    !mkdir_pin_dirs(path, sizeof(path)) &&
	    !bpf_map__pin(bpf_object__find_map_by_name(env.obj, "events"), path)) {
		env.prog_fd = bpf_program__fd(
			bpf_object__find_program_by_name(env.obj, "fill"));
		return 0;
	}
	bpf_object__close(env.obj);
	env.obj = NULL;
	return 0;
}

static int events_teardown(void **state)
{
	bpf_object__close(env.obj);
	if (env.bpffs[0])
		umount(env.bpffs);	/* the pins go with it */
	return fake_teardown(state);
}

/* Write @n records of @size bytes, ts_ns 1..n. */
static void write_records(unsigned int n, unsigned int size)
{
	struct fill_args args = { .n = n, .size = size };
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &args,
		    .ctx_size_in = sizeof(args));

	assert_int_equal(bpf_prog_test_run_opts(env.prog_fd, &run), 0);
	assert_int_equal(run.retval, 0);
}

/* Open the ring buffer as nullb0's events; NULL without one. */
static struct interpose_events *open_events(interpose_event_fn fn, void *ctx)
{
	LIBINTERPOSE_OPTS(interpose_events_opts, opts, .ctx = ctx);
	struct interpose_events *ev;

	if (!env.obj)
		return NULL;
	setenv("INTERPOSE_BPFFS_ROOT", env.bpffs, 1);
	assert_int_equal(interpose_events__new("nullb0", fn, &opts, &ev), 0);
	setenv("INTERPOSE_BPFFS_ROOT", env.f->bpffs, 1);
	return ev;
}

static struct interpose_events *fill(unsigned int n, unsigned int size,
				     interpose_event_fn fn, void *ctx)
{
	struct interpose_events *ev = open_events(fn, ctx);

	if (ev)
		write_records(n, size);
	return ev;
}

#define NEED_RINGBUF(ev)						\
	do {								\
		if (!(ev))						\
			unit_skip("needs root, a bpffs and BPF on the host"); \
	} while (0)

struct seen {
	unsigned int n;
	__u64 ts[16];
	size_t size[16];
	__u64 newer[16];
	int stop_at;		/* 1-based record to stop at, 0: never */
	int stop_ret;
};

static int on_event(void *ctx, const struct interpose_event *e, size_t size)
{
	const struct event_newer *en = (const void *)e;
	struct seen *s = ctx;

	s->ts[s->n] = e->ts_ns;
	s->size[s->n] = size;
	/* a caller built against a newer header, as the docs say */
	s->newer[s->n] = size >= offsetofend(struct event_newer, newer) ?
			 en->newer : 0;
	s->n++;
	return (int)s->n == s->stop_at ? s->stop_ret : 0;
}

static void test_poll_stop_positive(void **state)
{
	struct seen s = { .stop_at = 2, .stop_ret = 7 };
	struct interpose_events *ev;

	(void)state;
	ev = fill(4, sizeof(struct interpose_event), on_event, &s);
	NEED_RINGBUF(ev);
	errno = 0;
	/* stopped at the second record: returned as it is, no error */
	assert_int_equal(interpose_events__poll(ev, 1000), 7);
	assert_int_equal(errno, 0);
	assert_string_equal(interpose_errmsg(), "");
	assert_int_equal(s.n, 2);
	assert_int_equal(interpose_events__received(ev), 2);
	/* the rest is there for the next poll */
	s.stop_at = 0;
	assert_int_equal(interpose_events__poll(ev, 0), 2);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.ts[3], 4);
	interpose_events__free(ev);
}

static void test_poll_stop_negative(void **state)
{
	struct seen s = { .stop_at = 1, .stop_ret = -EPROTO };
	struct interpose_events *ev;

	(void)state;
	ev = fill(2, sizeof(struct interpose_event), on_event, &s);
	NEED_RINGBUF(ev);
	assert_int_equal(interpose_events__consume(ev), -EPROTO);
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(interpose_errmsg(),
			       "events nullb0: consume: stopped by the callback"));
	assert_int_equal(s.n, 1);
	s.stop_at = 0;
	assert_int_equal(interpose_events__consume(ev), 1);
	assert_int_equal(s.n, 2);
	interpose_events__free(ev);
}

static void test_record_sizes(void **state)
{
	struct seen s = { 0 };
	struct interpose_events *ev;

	(void)state;
	/*
	 * An older program's record (zero-filled to the library's size), one
	 * of the library's own size, one of a newer program with one more
	 * field (passed with all its bytes).
	 */
	ev = fill(1, 8, on_event, &s);
	NEED_RINGBUF(ev);
	write_records(1, sizeof(struct interpose_event));
	write_records(1, sizeof(struct event_newer));
	assert_int_equal(interpose_events__poll(ev, 1000), 3);
	assert_int_equal(s.size[0], sizeof(struct interpose_event));
	assert_int_equal(s.size[1], sizeof(struct interpose_event));
	assert_int_equal(s.size[2], sizeof(struct event_newer));
	assert_int_equal(s.newer[0] + s.newer[1] + s.newer[2], 0);
	interpose_events__free(ev);
}

int run_events_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_stop_positive),
		cmocka_unit_test(test_poll_stop_negative),
		cmocka_unit_test(test_record_sizes),
	};

	return RUN_GROUP("events", tests, events_setup, events_teardown,
			 total);
}
