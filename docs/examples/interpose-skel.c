// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * interpose-skel [--buf] DEV [N]: attach the ready program "trace" to DEV
 * through its libbpf skeleton, read N (default 3) blocks of DEV, and print
 * how many bios the program counted, read from the skeleton's own .bss:
 *
 *	traced 3
 *
 * With --buf, the library gets the skeleton's object bytes instead
 * (prog_buf, as the shared library takes them), its variable min_us a
 * typed value (vars), and the count is read through a handle on the
 * attached program (interpose_prog__open()), which then sets the count
 * to 100 in the running program and reads it again after one more read:
 *
 *	traced 3
 *	set to 100, then traced 101
 *	events 4
 *	refused: prog DEV: variable min_us is read-only (rodata): ...
 *	refused: prog DEV: variable traced has 8 bytes, the value given 4
 *
 * (the records of the 4 bios in its ring buffer, read through the
 * handle too; then two writes the handle refuses: a .rodata variable, a
 * value of the wrong size).
 *
 * The program stays attached when this exits (libinterpose pins it):
 * "interposectl detach DEV" takes it off.  The skeleton is the one make
 * installs (<interpose/skel/trace.skel.h>, bpftool gen skeleton); handing
 * its bpf_object to libinterpose needs the static library, which uses
 * this program's libbpf (make STATIC=1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <interpose/libinterpose.h>
#include <interpose/skel/trace.skel.h>

/* N direct reads of 4 KiB at the start of @dev */
static int read_blocks(const char *dev, int n)
{
	void *buf;
	int fd, i, err = 0;

	if (posix_memalign(&buf, 4096, 4096))
		return -ENOMEM;
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		err = -errno;
		free(buf);
		return err;
	}
	for (i = 0; i < n && !err; i++)
		if (pread(fd, buf, 4096, (off_t)i * 4096) != 4096)
			err = -EIO;
	close(fd);
	free(buf);
	return err;
}

static unsigned long long nr_events;

static int count_event(void *ctx, const struct interpose_event *e, size_t size)
{
	(void)ctx;
	(void)e;
	(void)size;
	nr_events++;
	return 0;
}

/* The object's bytes, a typed variable, the count from the pins. */
static int attach_buf(const char *dev, int n)
{
	const __u64 min_us = 0;
	struct interpose_var var = { "min_us", &min_us, sizeof(min_us) };
	size_t sz;
	const void *buf = trace_bpf__elf_bytes(&sz);
	struct interpose_prog *prog = NULL;
	struct interpose_events *ev = NULL;
	__u64 traced;
	int err;

	LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
		.prog_buf = buf, .prog_buf_sz = sz,
		.vars = &var, .nr_vars = 1,
	);
	err = interpose_attach(dev, &opts);
	if (err) {
		fprintf(stderr, "%s\n", interpose_errmsg());
		return 1;
	}
	err = read_blocks(dev, n);
	if (err) {
		fprintf(stderr, "read %s: %d\n", dev, err);
		return 1;
	}
	err = interpose_prog__open(dev, &prog);
	if (!err)
		err = interpose_prog__var(prog, "traced", &traced);
	if (err)
		goto fail;
	printf("traced %llu\n", (unsigned long long)traced);
	/* the running program's .bss, written in place */
	traced = 100;
	err = interpose_prog__set_var(prog, "traced", &traced, sizeof(traced));
	if (!err)
		err = read_blocks(dev, 1);
	if (!err)
		err = interpose_prog__var(prog, "traced", &traced);
	if (err)
		goto fail;
	printf("set to 100, then traced %llu\n", (unsigned long long)traced);
	err = interpose_prog__events(prog, count_event, NULL, &ev);
	if (!err)
		err = interpose_events__consume(ev);
	interpose_events__free(ev);
	if (err < 0)
		goto fail;
	printf("events %llu\n", (unsigned long long)nr_events);
	/* what a handle does not write: .rodata, a value of another size */
	if (interpose_prog__set_var(prog, "min_us", &traced,
				    sizeof(traced)) == -EPERM)
		printf("refused: %s\n", interpose_errmsg());
	if (interpose_prog__set_var(prog, "traced", &n, sizeof(n)) == -EINVAL)
		printf("refused: %s\n", interpose_errmsg());
	interpose_prog__free(prog);
	return 0;
fail:
	fprintf(stderr, "%s (%d)\n", interpose_errmsg(), err);
	interpose_prog__free(prog);
	return 1;
}

int main(int argc, char **argv)
{
	struct trace_bpf *skel;
	int buf = argc > 1 && !strcmp(argv[1], "--buf"), n, err;

	argc -= buf;
	argv += buf;
	n = argc > 2 ? atoi(argv[2]) : 3;
	if (argc < 2 || argc > 3 || n < 0) {
		fprintf(stderr, "usage: interpose-skel [--buf] DEV [N]\n");
		return 2;
	}
	if (buf)
		return attach_buf(argv[1], n);
	skel = trace_bpf__open();
	if (!skel) {
		fprintf(stderr, "cannot open the skeleton: %d\n", -errno);
		return 1;
	}
	skel->rodata->min_us = 0;	/* every bio, however fast */
	err = trace_bpf__load(skel);
	if (err) {
		fprintf(stderr, "cannot load the skeleton: %d (root?)\n", err);
		goto out;
	}

	LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
		.prog_obj = skel->obj,
	);
	err = interpose_attach(argv[1], &opts);
	if (err) {
		fprintf(stderr, "%s\n", interpose_errmsg());
		goto out;
	}
	err = read_blocks(argv[1], n);
	if (err) {
		fprintf(stderr, "read %s: %d\n", argv[1], err);
		goto out;
	}
	/* the attached program's .bss, mmaped by the skeleton's load */
	printf("traced %llu\n", (unsigned long long)skel->bss->traced);
out:
	trace_bpf__destroy(skel);
	return err ? 1 : 0;
}
