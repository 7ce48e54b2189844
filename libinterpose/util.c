// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: version, printing, error messages, options and file
 * helpers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "libinterpose_internal.h"

#define __STR(x) #x
#define STR(x) __STR(x)

__u32 libinterpose_major_version(void)
{
	return LIBINTERPOSE_MAJOR_VERSION;
}

__u32 libinterpose_minor_version(void)
{
	return LIBINTERPOSE_MINOR_VERSION;
}

const char *libinterpose_version_string(void)
{
	return "v" STR(LIBINTERPOSE_MAJOR_VERSION) "."
		STR(LIBINTERPOSE_MINOR_VERSION) "."
		STR(LIBINTERPOSE_PATCH_VERSION);
}

/* Set and read from any thread, as libbpf_set_print() does. */
static interpose_print_fn_t ip_print_fn;

interpose_print_fn_t interpose_set_print(interpose_print_fn_t fn)
{
	return __atomic_exchange_n(&ip_print_fn, fn, __ATOMIC_ACQ_REL);
}

void ip_print(enum interpose_print_level level, const char *fmt, ...)
{
	interpose_print_fn_t fn = __atomic_load_n(&ip_print_fn, __ATOMIC_ACQUIRE);
	int saved = errno;
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	fn(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

static __thread char ip_errbuf[512];

const char *interpose_errmsg(void)
{
	return ip_errbuf;
}

const char *ip_errmsg(void)
{
	return ip_errbuf;
}

void ip_errmsg_clear(void)
{
	ip_errbuf[0] = '\0';
}

int ip_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ip_errbuf, sizeof(ip_errbuf), fmt, ap);
	va_end(ap);
	pr_warn("%s\n", ip_errbuf);
	errno = err;
	return -err;
}

int ip_opts_check(const void *opts, size_t known_sz, size_t user_sz)
{
	const char *p = opts;
	size_t i;

	if (user_sz < sizeof(size_t))
		return -EINVAL;
	for (i = known_sz; i < user_sz; i++)
		if (p[i])
			return -E2BIG;
	return 0;
}

static const char *ip_root(const char *env, const char *fallback)
{
	const char *root = secure_getenv(env);

	return root && root[0] ? root : fallback;
}

const char *ip_sysfs_root(void)
{
	return ip_root("INTERPOSE_SYSFS_ROOT", "/sys");
}

const char *ip_dev_root(void)
{
	return ip_root("INTERPOSE_DEV_ROOT", "/dev");
}

const char *ip_bpffs_root(void)
{
	return ip_root("INTERPOSE_BPFFS_ROOT", "/sys/fs/bpf");
}

int ip_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int ip_read_line(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int ip_read_u64(const char *path, __u64 *val)
{
	unsigned long long v;
	char buf[32], *end;
	int err;

	err = ip_read_line(path, buf, sizeof(buf));
	if (err)
		return err;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || *end)
		return -EINVAL;
	*val = v;
	return 0;
}

bool ip_has_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { };

	/* unknown: let the kernel decide */
	if (syscall(SYS_capget, &hdr, data))
		return true;
	return data[CAP_SYS_ADMIN / 32].effective &
	       (1U << (CAP_SYS_ADMIN % 32));
}

const char *ip_common_reason(int err)
{
	switch (err) {
	case EPERM:
		return "permission denied (CAP_SYS_ADMIN required)";
	case ENODEV:
		return "device is going away";
	case ENOTTY:
		return "kernel does not support block interposers (no CONFIG_BLK_INTERPOSER, no blk_interposer module loaded)";
	case E2BIG:
		return "the kernel does not know an option that was given";
	default:
		return NULL;
	}
}
