// SPDX-License-Identifier: GPL-2.0
/*
 * Loading from several threads at once (the "threads" group; run it under
 * ThreadSanitizer with `make tsan`).  libinterpose must never switch
 * libbpf's process-wide print callback: the application's stays installed
 * and gets libbpf's messages of every thread, and each thread's error
 * message has its own verifier reason, read from a log buffer of its own
 * load.  The programs are socket filters of bpf/bad_ctx.bpf.c refused by
 * the host kernel's verifier (root only; skipped otherwise), loaded
 * through ip_obj_load(), the path of every interposer program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "unit.h"
#include "libinterpose_internal.h"

#define NR_THREADS	8
#define ROUNDS		4

/* What the application's libbpf callback saw, per thread. */
static __thread unsigned int app_msgs, app_own_msgs;
static __thread char app_prog[32];

static int app_libbpf_print(enum libbpf_print_level level, const char *fmt,
			    va_list ap)
{
	char buf[1024];

	(void)level;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	app_msgs++;
	if (app_prog[0] && strstr(buf, app_prog))
		app_own_msgs++;
	return 0;
}

static int app_print(enum interpose_print_level level, const char *fmt,
		     va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

struct loader {
	pthread_t tid;
	int idx;
	pthread_barrier_t *start;
	char path[PATH_MAX];
	char msg[512];		/* the thread's last error message */
	int err;
	unsigned int msgs, own_msgs;
	bool failed_open;
};

static void *loader(void *arg)
{
	struct loader *l = arg;
	struct bpf_program *prog;
	struct bpf_object *obj;
	char want[16], what[32];
	int r;

	snprintf(want, sizeof(want), "bad%d", l->idx);
	snprintf(app_prog, sizeof(app_prog), "'%s'", want);
	snprintf(what, sizeof(what), "attach t%d", l->idx);
	pthread_barrier_wait(l->start);
	for (r = 0; r < ROUNDS; r++) {
		obj = bpf_object__open_file(l->path, NULL);
		if (!obj) {
			l->failed_open = true;
			break;
		}
		bpf_object__for_each_program(prog, obj)
			bpf_program__set_autoload(prog,
				!strcmp(bpf_program__name(prog), want));
		l->err = ip_obj_load(what, l->path, obj);
		snprintf(l->msg, sizeof(l->msg), "%s", interpose_errmsg());
		bpf_object__close(obj);
		if (l->err != -EACCES && l->err != -EINVAL)
			break;
	}
	l->msgs = app_msgs;
	l->own_msgs = app_own_msgs;
	return NULL;
}

/* Switches the print callback while the loaders print (TSan's part). */
static void *switcher(void *arg)
{
	bool *stop = arg;

	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
		interpose_set_print(app_print);
		interpose_set_print(NULL);
	}
	return NULL;
}

/* Both tests load bad_ctx.bpf.o on the host's kernel: root, clang-19. */
static void skip_unless_loadable(void)
{
	if (geteuid())
		unit_skip("loading BPF programs needs root");
	if (access(UNIT_BPF_DIR "/bad_ctx.bpf.o", R_OK))
		unit_skip("no test BPF object (clang-19 missing?)");
}

static void test_concurrent_loads(void **state)
{
	struct loader l[NR_THREADS];
	pthread_barrier_t start;
	pthread_t sw;
	bool stop = false;
	char want[128];
	libbpf_print_fn_t prev, now;
	int i;

	(void)state;
	skip_unless_loadable();

	prev = libbpf_set_print(app_libbpf_print);
	pthread_barrier_init(&start, NULL, NR_THREADS);
	assert_int_equal(pthread_create(&sw, NULL, switcher, &stop), 0);
	for (i = 0; i < NR_THREADS; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].idx = i;
		l[i].start = &start;
		snprintf(l[i].path, sizeof(l[i].path), "%s/bad_ctx.bpf.o",
			 UNIT_BPF_DIR);
		assert_int_equal(pthread_create(&l[i].tid, NULL, loader, &l[i]), 0);
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(l[i].tid, NULL);
	__atomic_store_n(&stop, true, __ATOMIC_RELEASE);
	pthread_join(sw, NULL);
	pthread_barrier_destroy(&start);
	interpose_set_print(NULL);

	/* Still the application's callback: nobody replaced it. */
	now = libbpf_set_print(prev);
	assert_ptr_equal(now, app_libbpf_print);

	for (i = 0; i < NR_THREADS; i++) {
		assert_false(l[i].failed_open);
		if (l[i].err == -EPERM)
			unit_skip("the kernel refuses BPF programs here");
		snprintf(want, sizeof(want),
			 "attach t%d: cannot load %s: the verifier refused program bad%d: invalid bpf_context access off=%d ",
			 i, l[i].path, i, 4000 + 4 * i);
		if (strncmp(l[i].msg, want, strlen(want)))
			fail_msg("thread %d: got \"%s\", want \"%s...\"", i,
				 l[i].msg, want);
		assert_int_equal(l[i].err, -EACCES);
		/* libbpf's own warnings of this thread went to the app. */
		if (!l[i].own_msgs)
			fail_msg("thread %d: the application's libbpf callback saw %u messages, none about bad%d",
				 i, l[i].msgs, i);
	}
}

/*
 * A program that loads before the refused one: libbpf closes every
 * program of an object whose load failed, so only the log buffers tell
 * which program the verifier refused.
 */
static void test_refused_prog_named(void **state)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	char want[256];
	const char *name;
	int err;

	(void)state;
	skip_unless_loadable();
	obj = bpf_object__open_file(UNIT_BPF_DIR "/bad_ctx.bpf.o", NULL);
	assert_non_null(obj);
	bpf_object__for_each_program(prog, obj) {
		name = bpf_program__name(prog);
		bpf_program__set_autoload(prog, !strcmp(name, "good") ||
					  !strcmp(name, "bad3"));
	}
	err = ip_obj_load("attach two", UNIT_BPF_DIR "/bad_ctx.bpf.o", obj);
	bpf_object__close(obj);
	if (err == -EPERM)
		unit_skip("the kernel refuses BPF programs here");
	assert_int_equal(err, -EACCES);
	snprintf(want, sizeof(want),
		 "attach two: cannot load %s/bad_ctx.bpf.o: the verifier refused program bad3: invalid bpf_context access off=4012 ",
		 UNIT_BPF_DIR);
	if (strncmp(interpose_errmsg(), want, strlen(want)))
		fail_msg("got \"%s\", want \"%s...\"", interpose_errmsg(), want);
}

int run_threads_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_loads),
		cmocka_unit_test(test_refused_prog_named),
	};

	return RUN_GROUP("threads", tests, NULL, NULL, total);
}
