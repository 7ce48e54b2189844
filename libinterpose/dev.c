// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: block device names and geometry.
 *
 * A device is named by the path of its node, by its kernel name (looked up
 * as /dev/NAME, then in /sys/class/block) or by MAJ:MIN (its node found
 * through the DEVNAME of /sys/dev/block/MAJ:MIN/uevent).  The geometry
 * used to check targets before the kernel does comes from sysfs too.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libinterpose_internal.h"

/* Linux dev_t: 12 bits of major, 20 bits of minor. */
#define IP_MAJOR_MAX	0xfffUL
#define IP_MINOR_MAX	0xfffffUL

static int ip_parse_majmin(const char *s, dev_t *devp)
{
	unsigned long maj, min;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	maj = strtoul(s, &end, 10);
	if (errno || *end != ':' || !isdigit((unsigned char)end[1]))
		return -EINVAL;
	min = strtoul(end + 1, &end, 10);
	if (errno || *end || maj > IP_MAJOR_MAX || min > IP_MINOR_MAX)
		return -EINVAL;
	*devp = makedev(maj, min);
	return 0;
}

/* The sysfs directory of a block device: /sys/dev/block/MAJ:MIN. */
static int ip_sysdir(dev_t dev, char *buf, size_t len)
{
	return ip_snprintf(buf, len, "%s/dev/block/%u:%u", ip_sysfs_root(),
			   major(dev), minor(dev));
}

void ip_dev_name(dev_t dev, char *name, size_t len)
{
	char sys[PATH_MAX], *real;

	name[0] = '\0';
	if (ip_sysdir(dev, sys, sizeof(sys)))
		return;
	real = realpath(sys, NULL);
	if (!real)
		return;
	snprintf(name, len, "%s", basename(real));
	free(real);
}

/* The value of KEY= in a uevent file, "" if absent. */
static int ip_uevent_get(const char *path, const char *key, char *val,
			 size_t len)
{
	size_t klen = strlen(key);
	char line[256];
	FILE *f;

	val[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, key, klen) && line[klen] == '=') {
			snprintf(val, len, "%s", line + klen + 1);
			break;
		}
	}
	fclose(f);
	return 0;
}

int ip_dev_node(dev_t dev, char *path, size_t len)
{
	char sys[PATH_MAX], devname[PATH_MAX / 2], node[PATH_MAX];
	struct stat st;
	int err;

	path[0] = '\0';
	err = ip_sysdir(dev, sys, sizeof(sys));
	if (err)
		return err;
	if (strlen(sys) + sizeof("/uevent") > sizeof(sys))
		return -ENAMETOOLONG;
	strcat(sys, "/uevent");
	err = ip_uevent_get(sys, "DEVNAME", devname, sizeof(devname));
	if (err)
		return err == -ENOTDIR ? -ENOENT : err;
	if (!devname[0])
		ip_dev_name(dev, devname, sizeof(devname));
	if (!devname[0])
		return 0;
	err = ip_snprintf(node, sizeof(node), "%s/%s", ip_dev_root(), devname);
	if (err)
		return err;
	/* Only a node of this very device counts. */
	if (stat(node, &st) || !S_ISBLK(st.st_mode) || st.st_rdev != dev)
		return 0;
	return ip_snprintf(path, len, "%s", node);
}

static int ip_resolve_node(const char *path, struct ip_dev *d)
{
	struct stat st;
	int err;

	if (stat(path, &st))
		return errno == ENOTDIR ? -ENOENT : -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	err = ip_snprintf(d->path, sizeof(d->path), "%s", path);
	if (err)
		return err;
	d->dev = st.st_rdev;
	ip_dev_name(d->dev, d->name, sizeof(d->name));
	return 0;
}

/* @d->dev is set: its node, if any, and its name. */
static int ip_resolve_sysfs(struct ip_dev *d)
{
	int err;

	err = ip_dev_node(d->dev, d->path, sizeof(d->path));
	if (err)
		return err;
	ip_dev_name(d->dev, d->name, sizeof(d->name));
	return 0;
}

int ip_resolve(const char *arg, struct ip_dev *d)
{
	char buf[PATH_MAX], val[32];
	int err;

	memset(d, 0, sizeof(*d));
	if (!arg || !arg[0])
		return -EINVAL;
	if (arg[0] == '/')
		return ip_resolve_node(arg, d);
	if (strchr(arg, ':')) {
		err = ip_parse_majmin(arg, &d->dev);
		return err ?: ip_resolve_sysfs(d);
	}

	err = ip_snprintf(buf, sizeof(buf), "%s/%s", ip_dev_root(), arg);
	if (err)
		return err;
	err = ip_resolve_node(buf, d);
	if (err != -ENOENT || strchr(arg, '/'))
		return err;

	/* No node of that name: a kernel name whose node is elsewhere. */
	err = ip_snprintf(buf, sizeof(buf), "%s/class/block/%s/dev",
			  ip_sysfs_root(), arg);
	if (err)
		return err;
	err = ip_read_line(buf, val, sizeof(val));
	if (err)
		return err == -ENOTDIR ? -ENOENT : err;
	if (ip_parse_majmin(val, &d->dev))
		return -ENOENT;
	return ip_resolve_sysfs(d);
}

const char *ip_resolve_reason(int err)
{
	switch (err) {
	case ENOENT:
		return "no such device";
	case ENOTBLK:
		return "not a block device";
	case EINVAL:
		return "invalid device name (expected /dev/NAME, NAME or MAJ:MIN)";
	case ENAMETOOLONG:
		return "name too long";
	default:
		return strerror(err);
	}
}

int interpose_resolve_dev(const char *name, dev_t *devp, char *path,
			  size_t len)
{
	struct ip_dev d;
	int err;

	ip_errmsg_clear();
	err = ip_resolve(name, &d);
	if (err)
		return ip_err(-err, "resolve %s: %s", name ?: "(null)",
			      ip_resolve_reason(-err));
	if (path) {
		err = ip_snprintf(path, len, "%s", d.path);
		if (err)
			return ip_err(-err, "resolve %s: path buffer too small",
				      name);
	}
	if (devp)
		*devp = d.dev;
	return 0;
}

int ip_geom(dev_t dev, struct ip_geom *g)
{
	char sys[PATH_MAX], path[PATH_MAX + 64], val[32];
	const char *disk;
	__u64 lbs, dma;
	int err;

	memset(g, 0, sizeof(*g));
	err = ip_sysdir(dev, sys, sizeof(sys));
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/size", sys);
	err = ip_read_u64(path, &g->nr_sectors);
	if (err)
		return err;

	snprintf(path, sizeof(path), "%s/partition", sys);
	g->partition = !access(path, F_OK);
	if (g->partition) {
		snprintf(path, sizeof(path), "%s/start", sys);
		err = ip_read_u64(path, &g->start);
		if (err)
			return err;
		/* The partition's directory sits in its disk's. */
		snprintf(path, sizeof(path), "%s/../dev", sys);
		err = ip_read_line(path, val, sizeof(val));
		if (err)
			return err;
		err = ip_parse_majmin(val, &g->disk);
		if (err)
			return err;
		disk = "/..";
	} else {
		g->disk = dev;
		disk = "";
	}
	/* queue/ and integrity/ are the whole disk's */
	snprintf(path, sizeof(path), "%s%s/queue/logical_block_size", sys, disk);
	if (!ip_read_u64(path, &lbs))
		g->lbs = lbs;
	snprintf(path, sizeof(path), "%s%s/queue/dma_alignment", sys, disk);
	if (!ip_read_u64(path, &dma)) {
		g->have_dma = true;
		g->dma_align = dma;
	}
	snprintf(path, sizeof(path), "%s%s/queue/zoned", sys, disk);
	g->zoned = !ip_read_line(path, val, sizeof(val)) && strcmp(val, "none");
	snprintf(path, sizeof(path), "%s%s/integrity/format", sys, disk);
	g->integrity = !ip_read_line(path, val, sizeof(val)) &&
		       strcmp(val, "none");
	return 0;
}

bool ip_geom_overlap(const struct ip_geom *a, const struct ip_geom *b)
{
	if (a->disk != b->disk)
		return false;
	if (!a->partition || !b->partition)
		return true;
	return a->start < b->start + b->nr_sectors &&
	       b->start < a->start + a->nr_sectors;
}

int ip_open(const struct ip_dev *d, int flags)
{
	int fd;

	if (!d->path[0])
		return -ENOENT;
	fd = open(d->path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
