// SPDX-License-Identifier: GPL-2.0
/*
 * A fake sysfs and /dev tree for the unit tests, and output capture.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "unit.h"

static void mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	assert_true(!mkdir(buf, 0755) || errno == EEXIST);
}

static void write_file(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "%s\n", val);
	assert_int_equal(fclose(f), 0);
}

static void fmt_file(const char *dir, const char *name, const char *fmt, ...)
{
	char path[PATH_MAX + 64], val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, val);
}

/* sys/class/block/NAME and sys/dev/block/MAJ:MIN -> @rel (from sys/). */
static void link_dev(struct fake *f, const char *name, unsigned int maj,
		     unsigned int min, const char *rel)
{
	char path[PATH_MAX + 64], target[PATH_MAX];

	snprintf(target, sizeof(target), "../../%s", rel);
	snprintf(path, sizeof(path), "%s/class/block/%s", f->sys, name);
	assert_int_equal(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", f->sys, maj, min);
	assert_int_equal(symlink(target, path), 0);
}

static void fake_common(const char *dir, const char *name, unsigned int maj,
			unsigned int min, unsigned long long sectors)
{
	mkdir_p(dir);
	fmt_file(dir, "dev", "%u:%u", maj, min);
	fmt_file(dir, "size", "%llu", sectors);
	fmt_file(dir, "uevent", "MAJOR=%u\nMINOR=%u\nDEVNAME=%s\nDEVTYPE=disk",
		 maj, min, name);
	fmt_file(dir, "interposer", "none");
}

void fake_disk(struct fake *f, const char *name, unsigned int maj,
	       unsigned int min, unsigned long long sectors, unsigned int lbs)
{
	char rel[PATH_MAX], dir[2 * PATH_MAX];

	snprintf(rel, sizeof(rel), "devices/virtual/block/%s", name);
	snprintf(dir, sizeof(dir), "%s/%s", f->sys, rel);
	fake_common(dir, name, maj, min, sectors);
	strcat(dir, "/queue");
	mkdir_p(dir);
	fmt_file(dir, "logical_block_size", "%u", lbs);
	link_dev(f, name, maj, min, rel);
}

void fake_part(struct fake *f, const char *disk, const char *name,
	       unsigned int maj, unsigned int min, unsigned long long start,
	       unsigned long long sectors)
{
	char rel[PATH_MAX], dir[2 * PATH_MAX];

	snprintf(rel, sizeof(rel), "devices/virtual/block/%s/%s", disk, name);
	snprintf(dir, sizeof(dir), "%s/%s", f->sys, rel);
	fake_common(dir, name, maj, min, sectors);
	fmt_file(dir, "start", "%llu", start);
	fmt_file(dir, "partition", "%u", min);
	link_dev(f, name, maj, min, rel);
}

void fake_attr(struct fake *f, const char *name, const char *attr,
	       const char *val)
{
	char dir[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/class/block/%s", f->sys, name);
	fmt_file(dir, attr, "%s", val);
}

const char *fake_dev_path(struct fake *f, const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", f->dev, name);
	return path;
}

bool fake_mknod(struct fake *f, const char *name, unsigned int maj,
		unsigned int min)
{
	return !mknod(fake_dev_path(f, name), S_IFBLK | 0600, makedev(maj, min));
}

void fake_unlink_node(struct fake *f, const char *name)
{
	unlink(fake_dev_path(f, name));
}

int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	char buf[2 * PATH_MAX];

	if (!f) {
		print_error("fake_setup: out of memory\n");
		return -1;
	}
	snprintf(f->root, sizeof(f->root), "%s/interpose-unit.XXXXXX",
		 getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(f->root)) {
		print_error("fake_setup: cannot create %s: %s\n", f->root,
			    strerror(errno));
		free(f);
		return -1;
	}
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->root);
	snprintf(f->dev, sizeof(f->dev), "%s/dev", f->root);
	snprintf(buf, sizeof(buf), "%s/class/block", f->sys);
	mkdir_p(buf);
	snprintf(buf, sizeof(buf), "%s/dev/block", f->sys);
	mkdir_p(buf);
	mkdir_p(f->dev);

	fake_disk(f, "nullb0", 251, 0, 131072, 512);
	fake_part(f, "nullb0", "nullb0p1", 251, 1, 2048, 32768);
	fake_part(f, "nullb0", "nullb0p2", 251, 2, 34816, 32768);
	fake_part(f, "nullb0", "nullb0p3", 251, 3, 40000, 10000);
	fake_disk(f, "nullb1", 252, 0, 131072, 512);
	fake_disk(f, "nullsmall", 253, 0, 32768, 512);
	fake_disk(f, "big4k", 250, 0, 262144, 4096);
	if (symlink("/dev/null", fake_dev_path(f, "nullc"))) {
		print_error("fake_setup: cannot create %s: %s\n",
			    fake_dev_path(f, "nullc"), strerror(errno));
		return -1;
	}
	write_file(fake_dev_path(f, "regular"), "not a device");

	snprintf(f->bpffs, sizeof(f->bpffs), "%s/bpffs", f->root);
	mkdir_p(f->bpffs);

	setenv("INTERPOSE_SYSFS_ROOT", f->sys, 1);
	setenv("INTERPOSE_DEV_ROOT", f->dev, 1);
	setenv("INTERPOSE_BPFFS_ROOT", f->bpffs, 1);
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int fake_teardown(void **state)
{
	struct fake *f = *state;

	unsetenv("INTERPOSE_SYSFS_ROOT");
	unsetenv("INTERPOSE_DEV_ROOT");
	unsetenv("INTERPOSE_BPFFS_ROOT");
	if (f)
		nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int capture_saved[3] = { -1, -1, -1 };
static FILE *capture_file[3];

void capture_start(int fd)
{
	assert_true(fd == 1 || fd == 2);
	fflush(fd == 1 ? stdout : stderr);
	capture_file[fd] = tmpfile();
	assert_non_null(capture_file[fd]);
	capture_saved[fd] = dup(fd);
	assert_true(capture_saved[fd] >= 0);
	assert_true(dup2(fileno(capture_file[fd]), fd) >= 0);
}

char *capture_end(int fd)
{
	FILE *f = capture_file[fd];
	char *buf;
	long n;

	fflush(fd == 1 ? stdout : stderr);
	dup2(capture_saved[fd], fd);
	close(capture_saved[fd]);
	n = ftell(f);
	buf = calloc(1, n + 1);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	return buf;
}
