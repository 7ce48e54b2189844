// SPDX-License-Identifier: GPL-2.0
/*
 * lib-threads TARGET DEV OBJ PATTERN [DEV OBJ PATTERN ...]
 *
 * One thread per DEV OBJ PATTERN: all start together and attach OBJ (a
 * program the verifier refuses) to DEV with TARGET as its target, through
 * libinterpose.  Each thread's interpose_errmsg() must contain its own
 * PATTERN (and no other thread's object), and the libbpf print callback
 * this program installs must still be installed at the end.  Prints one
 * line per thread; exits 1 if any check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <interpose/libinterpose.h>

struct job {
	pthread_t tid;
	const char *target, *dev, *obj, *pattern;
	pthread_barrier_t *start;
	int err;
	char msg[512];
};

static int app_print(enum libbpf_print_level level, const char *fmt,
		     va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static void *run(void *arg)
{
	struct job *j = arg;
	const char *targets[] = { j->target };
	LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
		.targets = targets,
		.nr_targets = 1,
		.prog_path = j->obj,
	);

	pthread_barrier_wait(j->start);
	j->err = interpose_attach(j->dev, &opts);
	snprintf(j->msg, sizeof(j->msg), "%s", interpose_errmsg());
	if (!j->err)
		interpose_detach(j->dev, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_barrier_t start;
	struct job *jobs;
	int i, n, bad = 0;

	if (argc < 5 || (argc - 2) % 3) {
		fprintf(stderr, "usage: %s TARGET DEV OBJ PATTERN [DEV OBJ PATTERN ...]\n",
			argv[0]);
		return 2;
	}
	n = (argc - 2) / 3;
	jobs = calloc(n, sizeof(*jobs));
	if (!jobs)
		return 2;
	libbpf_set_print(app_print);
	pthread_barrier_init(&start, NULL, n);
	for (i = 0; i < n; i++) {
		jobs[i].target = argv[1];
		jobs[i].dev = argv[2 + 3 * i];
		jobs[i].obj = argv[3 + 3 * i];
		jobs[i].pattern = argv[4 + 3 * i];
		jobs[i].start = &start;
		if (pthread_create(&jobs[i].tid, NULL, run, &jobs[i]))
			return 2;
	}
	for (i = 0; i < n; i++)
		pthread_join(jobs[i].tid, NULL);
	for (i = 0; i < n; i++) {
		bool ok = jobs[i].err && strstr(jobs[i].msg, jobs[i].obj) &&
			  strstr(jobs[i].msg, jobs[i].pattern);

		printf("%s %d %s: %d %s\n", ok ? "ok" : "not ok", i + 1,
		       jobs[i].dev, jobs[i].err, jobs[i].msg);
		bad |= !ok;
	}
	if (libbpf_set_print(NULL) != app_print) {
		printf("not ok: the libbpf print callback was replaced\n");
		bad = 1;
	}
	return bad;
}
