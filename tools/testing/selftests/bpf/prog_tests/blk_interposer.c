// SPDX-License-Identifier: GPL-2.0
/*
 * The block device interposer's BPF struct_ops: register a
 * blk_interposer_ops, attach it to a loop device with a second one as its
 * target, and check each verdict by the data read back and the errno.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/blk-interposer.h>
#include <linux/loop.h>
#include <test_progs.h>
#include "blk_interposer.skel.h"

#define DEV_SIZE	(1024 * 1024)
#define IO_SIZE		4096

/* the buffer of the O_DIRECT reads and writes */
static char *io_buf;

struct loop_dev {
	int backing_fd;
	int fd;
	char path[32];
};

static int loop_setup(struct loop_dev *ld, char fill)
{
	char tmpl[] = "/tmp/blk_interposer_XXXXXX";
	struct loop_config cfg = {};
	char buf[IO_SIZE];
	int ctl, nr, i;

	ld->fd = -1;
	ld->backing_fd = mkstemp(tmpl);
	if (!ASSERT_GE(ld->backing_fd, 0, "mkstemp"))
		return -1;
	unlink(tmpl);
	memset(buf, fill, sizeof(buf));
	for (i = 0; i < DEV_SIZE / IO_SIZE; i++)
		if (!ASSERT_EQ(write(ld->backing_fd, buf, sizeof(buf)), IO_SIZE, "fill"))
			return -1;

	ctl = open("/dev/loop-control", O_RDWR);
	if (!ASSERT_GE(ctl, 0, "open /dev/loop-control"))
		return -1;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (!ASSERT_GE(nr, 0, "LOOP_CTL_GET_FREE"))
		return -1;
	snprintf(ld->path, sizeof(ld->path), "/dev/loop%d", nr);
	ld->fd = open(ld->path, O_RDWR | O_DIRECT);
	if (!ASSERT_GE(ld->fd, 0, "open loop"))
		return -1;
	cfg.fd = ld->backing_fd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (!ASSERT_OK(ioctl(ld->fd, LOOP_CONFIGURE, &cfg), "LOOP_CONFIGURE"))
		return -1;
	return 0;
}

static void loop_teardown(struct loop_dev *ld)
{
	if (ld->fd >= 0) {
		ioctl(ld->fd, LOOP_CLR_FD);
		close(ld->fd);
	}
	if (ld->backing_fd >= 0)
		close(ld->backing_fd);
}

/* The byte that fills IO_SIZE bytes at @sector, -1 if they differ, or -errno. */
static int read_fill(int fd, __u64 sector)
{
	int i;

	if (pread(fd, io_buf, IO_SIZE, sector << 9) != IO_SIZE)
		return -errno;
	for (i = 1; i < IO_SIZE; i++)
		if (io_buf[i] != io_buf[0])
			return -1;
	return (unsigned char)io_buf[0];
}

/* Write IO_SIZE bytes of @fill at @sector: 0 or -errno. */
static int write_fill(int fd, __u64 sector, char fill)
{
	memset(io_buf, fill, IO_SIZE);
	if (pwrite(fd, io_buf, IO_SIZE, sector << 9) != IO_SIZE)
		return -errno;
	return 0;
}

static void check_verdicts(struct blk_interposer *skel, struct loop_dev *orig,
			   struct loop_dev *target)
{
	struct blkinterpose_dev tdev[1];
	struct blkinterpose_info info = {
		.size = sizeof(info),
		.nr_targets = 1,
		.targets_ptr = (__u64)(uintptr_t)tdev,
	};

	/* pass: the original's own data */
	ASSERT_EQ(read_fill(orig->fd, 0), 'O', "pass: read");
	/* redirect: the target's data */
	ASSERT_EQ(read_fill(orig->fd, 8), 'T', "redirect: read");
	/* remap: a write to sector 16 lands at sector 64 of the target */
	ASSERT_OK(write_fill(orig->fd, 16, 'R'), "remap: write");
	ASSERT_EQ(read_fill(target->fd, 64), 'R', "remap: the target's sector 64");
	/* fail: the write is refused with the program's errno */
	ASSERT_EQ(write_fill(orig->fd, 24, 'F'), -EROFS, "fail: write");
	ASSERT_EQ(read_fill(orig->fd, 24), 'O', "fail: read");
	/* complete: no I/O, a read returns zeroes */
	ASSERT_EQ(read_fill(orig->fd, 32), 0, "complete: read");

	/* the six reads and writes of the original above, one bio each */
	ASSERT_GE(skel->bss->submitted, 6, "submit_bio calls");
	ASSERT_EQ(skel->bss->ended, skel->bss->submitted, "end_bio calls");
	ASSERT_EQ(skel->bss->end_error, -EROFS, "end_bio error");

	if (!ASSERT_OK(ioctl(orig->fd, BLKINTERPOSE_QUERY, &info), "BLKINTERPOSE_QUERY"))
		return;
	ASSERT_EQ(info.state, BLKINTERPOSE_STATE_ATTACHED, "state");
	ASSERT_STREQ(info.ops_name, "selftest_ip", "ops_name");
	ASSERT_EQ(info.nr_targets, 1, "nr_targets");
	ASSERT_EQ(info.counters.failed, 1, "failed counter");
	ASSERT_EQ(info.counters.redirected, 1, "redirected counter");
}

void test_blk_interposer(void)
{
	struct loop_dev orig = { .fd = -1, .backing_fd = -1 };
	struct loop_dev target = { .fd = -1, .backing_fd = -1 };
	struct blkinterpose_attach attach = {
		.size = sizeof(attach),
		.nr_targets = 1,
		.ops_name = "selftest_ip",
	};
	struct blkinterpose_detach detach = { .size = sizeof(detach) };
	struct blk_interposer *skel = NULL;
	struct bpf_link *link = NULL;
	__s32 fds[1];

	io_buf = aligned_alloc(IO_SIZE, IO_SIZE);
	if (!ASSERT_OK_PTR(io_buf, "aligned_alloc"))
		return;
	skel = blk_interposer__open_and_load();
	if (!ASSERT_OK_PTR(skel, "blk_interposer__open_and_load"))
		goto out;
	link = bpf_map__attach_struct_ops(skel->maps.selftest_ip);
	if (!ASSERT_OK_PTR(link, "bpf_map__attach_struct_ops"))
		goto out;
	if (loop_setup(&orig, 'O') || loop_setup(&target, 'T'))
		goto out;

	/* an unknown ops name is refused */
	fds[0] = target.fd;
	attach.targets_ptr = (__u64)(uintptr_t)fds;
	snprintf(attach.ops_name, sizeof(attach.ops_name), "selftest_nosuch");
	ASSERT_ERR(ioctl(orig.fd, BLKINTERPOSE_ATTACH, &attach), "attach unknown ops");
	ASSERT_EQ(errno, ENOENT, "attach unknown ops: errno");

	snprintf(attach.ops_name, sizeof(attach.ops_name), "selftest_ip");
	if (!ASSERT_OK(ioctl(orig.fd, BLKINTERPOSE_ATTACH, &attach), "BLKINTERPOSE_ATTACH"))
		goto out;
	check_verdicts(skel, &orig, &target);
	ASSERT_OK(ioctl(orig.fd, BLKINTERPOSE_DETACH, &detach), "BLKINTERPOSE_DETACH");

	/* detached: the original's own data, untouched by the refused write */
	ASSERT_EQ(read_fill(orig.fd, 8), 'O', "after detach: read");
	ASSERT_EQ(read_fill(orig.fd, 24), 'O', "after detach: refused range");
out:
	loop_teardown(&target);
	loop_teardown(&orig);
	bpf_link__destroy(link);
	blk_interposer__destroy(skel);
	free(io_buf);
}
