// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: a device-mapper table slid under a device in use.
 *
 * interpose_attach() with a dm_table creates the mapped device
 * "interpose-DEVNAME" (uuid "INTERPOSE-DEVNAME") with DM_INTERPOSE_FLAG
 * naming the original, so that the kernel uses the original without
 * claiming it and reserves the mapped device for the original's
 * interposer, loads the table, resumes it and attaches it as the only
 * target.
 * interpose_detach() recognises the mapped device by its uuid and removes
 * it after the detach.  Everything else (reload, suspend, resume, status,
 * message) is stock dmsetup's.
 *
 * libdevmapper has no way to pass a flag it does not know, so this talks
 * to /dev/mapper/control directly.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>

#include "libinterpose_internal.h"

#ifndef DM_INTERPOSE_FLAG
#define DM_INTERPOSE_FLAG	(1 << 20)
#endif

#ifndef DM_INTERPOSE_READ_FLAG
#define DM_INTERPOSE_READ_FLAG	(1 << 21)
#endif

#define IP_DM_BUF	16384

/* "/dev/mapper/control", or under the dev root for the unit tests */
static int ip_dm_control(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/mapper/control", ip_dev_root());
	return open(path, O_RDWR | O_CLOEXEC);
}

static struct dm_ioctl *ip_dm_new(const char *name, size_t size)
{
	struct dm_ioctl *io = calloc(1, size);

	if (!io)
		return NULL;
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = size;
	io->data_start = sizeof(*io);
	snprintf(io->name, sizeof(io->name), "%s", name);
	return io;
}

/* One dm ioctl on a fresh control descriptor: 0 or -errno. */
static int ip_dm_ioctl(unsigned long cmd, struct dm_ioctl *io)
{
	int fd, err = 0;

	fd = ip_dm_control();
	if (fd < 0)
		return -errno;
	if (ioctl(fd, cmd, io))
		err = -errno;
	close(fd);
	return err;
}

void ip_dm_name(const char *devname, char *name, size_t len, bool uuid)
{
	snprintf(name, len, "%s%s", uuid ? IP_DM_UUID_PREFIX : IP_DM_PREFIX,
		 devname);
}

/*
 * Parse @table ("START LEN TYPE ARGS" lines, separated by newlines or
 * ';') into dm_target_spec records after @io.  *@sectors is the end of
 * the last target; the targets must follow one another from 0.
 */
int ip_dm_parse_table(const char *what, const char *table,
		      struct dm_ioctl *io, size_t size, __u64 *sectors,
		      char ***argsp, size_t *nargsp)
{
	char *copy, *line, *save, *p, *end;
	size_t off = io->data_start, n = 0;
	char **args = NULL;
	__u64 next = 0;
	int err = 0;

	*argsp = NULL;
	*nargsp = 0;
	copy = strdup(table);
	if (!copy)
		return ip_err(ENOMEM, "%s: out of memory", what);
	for (line = strtok_r(copy, "\n;", &save); line;
	     line = strtok_r(NULL, "\n;", &save)) {
		struct dm_target_spec *spec;
		unsigned long long start, len;
		char type[DM_MAX_TYPE_NAME], **tmp;
		size_t tlen, plen;

		while (isspace((unsigned char)*line))
			line++;
		if (!*line)
			continue;
		n++;
		errno = 0;
		start = strtoull(line, &end, 10);
		if (errno || end == line || !isspace((unsigned char)*end)) {
			err = ip_err(EINVAL, "%s: dm table line %zu: no start sector in '%s'",
				     what, n, line);
			goto out;
		}
		p = end;
		len = strtoull(p, &end, 10);
		if (errno || end == p || !isspace((unsigned char)*end) || !len) {
			err = ip_err(EINVAL, "%s: dm table line %zu: no length in '%s'",
				     what, n, line);
			goto out;
		}
		if (start != next) {
			err = ip_err(EINVAL, "%s: dm table line %zu starts at sector %llu, expected %llu (targets must follow one another)",
				     what, n, start, (unsigned long long)next);
			goto out;
		}
		next = start + len;
		p = end;
		while (isspace((unsigned char)*p))
			p++;
		tlen = strcspn(p, " \t");
		if (!tlen || tlen >= sizeof(type)) {
			err = ip_err(EINVAL, "%s: dm table line %zu: no target type in '%s'",
				     what, n, line);
			goto out;
		}
		memcpy(type, p, tlen);
		type[tlen] = '\0';
		p += tlen;
		while (isspace((unsigned char)*p))
			p++;
		/* trailing blanks */
		plen = strlen(p);
		while (plen && isspace((unsigned char)p[plen - 1]))
			p[--plen] = '\0';

		if (off + sizeof(*spec) + plen + 1 + 8 > size) {
			err = ip_err(E2BIG, "%s: dm table is too long", what);
			goto out;
		}
		spec = (struct dm_target_spec *)((char *)io + off);
		spec->sector_start = start;
		spec->length = len;
		snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);
		memcpy(spec + 1, p, plen + 1);
		spec->next = (sizeof(*spec) + plen + 1 + 7) & ~7UL;
		off += spec->next;
		io->target_count++;

		tmp = realloc(args, (n + 1) * sizeof(*args));
		if (!tmp || !(tmp[n - 1] = strdup(p))) {
			free(tmp ?: args);
			args = NULL;
			err = ip_err(ENOMEM, "%s: out of memory", what);
			goto out;
		}
		args = tmp;
		args[n] = NULL;
	}
	if (!n) {
		err = ip_err(EINVAL, "%s: the dm table is empty", what);
		goto out;
	}
	io->data_size = off;
	*sectors = next;
	*argsp = args;
	*nargsp = n;
	args = NULL;
out:
	if (args) {
		for (size_t i = 0; args[i]; i++)
			free(args[i]);
		free(args);
	}
	free(copy);
	return err;
}

/* Does one of the words of @args name the device @dev? */
static bool ip_dm_args_use(char **args, size_t n, dev_t dev)
{
	char *copy, *w, *save;
	struct ip_dev d;
	bool found = false;
	size_t i;

	for (i = 0; i < n && !found; i++) {
		copy = strdup(args[i]);
		if (!copy)
			return true;	/* let the kernel decide */
		for (w = strtok_r(copy, " \t", &save); w && !found;
		     w = strtok_r(NULL, " \t", &save))
			if ((strchr(w, '/') || strchr(w, ':')) &&
			    !ip_resolve(w, &d) && d.dev == dev)
				found = true;
		free(copy);
	}
	return found;
}

/* Remove the mapped device @name (it may be suspended): 0 or -errno. */
int ip_dm_remove(const char *name)
{
	struct dm_ioctl *io = ip_dm_new(name, sizeof(*io) + 256);
	int err;

	if (!io)
		return -ENOMEM;
	err = ip_dm_ioctl(DM_DEV_REMOVE, io);
	free(io);
	return err;
}

/*
 * Suspend (@suspend) or resume the mapped device @name; its number in
 * *@devp if that is not NULL.  0 or -errno.
 */
int ip_dm_suspend(const char *name, bool suspend, dev_t *devp)
{
	struct dm_ioctl *io = ip_dm_new(name, sizeof(*io));
	int err;

	if (!io)
		return -ENOMEM;
	/* no filesystem is on our mapped devices: nothing to freeze there */
	if (suspend)
		io->flags = DM_SUSPEND_FLAG | DM_SKIP_LOCKFS_FLAG;
	err = ip_dm_ioctl(DM_DEV_SUSPEND, io);
	if (!err && devp)
		*devp = (dev_t)io->dev;
	free(io);
	return err;
}

/* ip_dm_remove(), retried for a second while the device is still busy */
int ip_dm_remove_wait(const char *name)
{
	int err, i;

	for (i = 0; i < 50; i++) {
		err = ip_dm_remove(name);
		if (err != -EBUSY)
			break;
		usleep(20000);
	}
	return err;
}

int ip_dm_create(const char *what, const struct ip_dev *orig,
		 const char *devname, const char *table, dev_t *dmdev)
{
	char name[DM_NAME_LEN], uuid[DM_UUID_LEN], **args = NULL;
	struct ip_geom g;
	struct dm_ioctl *io;
	__u64 sectors = 0;
	size_t nargs = 0, i;
	int err;

	ip_dm_name(devname, name, sizeof(name), false);
	ip_dm_name(devname, uuid, sizeof(uuid), true);
	io = ip_dm_new(name, IP_DM_BUF);
	if (!io)
		return ip_err(ENOMEM, "%s: out of memory", what);
	err = ip_dm_parse_table(what, table, io, IP_DM_BUF, &sectors, &args,
				&nargs);
	if (err)
		goto out_free;
	if (!ip_geom(orig->dev, &g) && sectors != g.nr_sectors) {
		err = ip_err(EINVAL, "%s: the dm table covers %llu sectors, the original has %llu: it must cover all of it",
			     what, (unsigned long long)sectors,
			     (unsigned long long)g.nr_sectors);
		goto out_free;
	}
	if (!ip_dm_args_use(args, nargs, orig->dev)) {
		err = ip_err(EINVAL, "%s: the dm table does not use the original (name it as /dev/NAME or MAJ:MIN)",
			     what);
		goto out_free;
	}
	/* INTERPOSE_ATTACH_CHECK: the table is fine, create nothing */
	if (!dmdev)
		goto out_free;

	/* create */
	{
		struct dm_ioctl *c = ip_dm_new(name, sizeof(*c) + 256);

		if (!c) {
			err = ip_err(ENOMEM, "%s: out of memory", what);
			goto out_free;
		}
		snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
		c->flags = DM_INTERPOSE_FLAG;
		c->dev = orig->dev;
		err = ip_dm_ioctl(DM_DEV_CREATE, c);
		free(c);
		if (err == -EBUSY) {
			err = ip_err(EBUSY, "%s: a dm device %s (or uuid %s) exists already",
				     what, name, uuid);
			goto out_free;
		}
		if (err) {
			err = ip_err(-err, "%s: cannot create dm device %s: %s%s",
				     what, name, strerror(-err), err == -ENOENT ?
				     " (no /dev/mapper/control: is device-mapper in the kernel?)" : "");
			goto out_free;
		}
	}

	/* the kernel checks the table again and reserves the device */
	err = ip_dm_ioctl(DM_TABLE_LOAD, io);
	if (err) {
		err = ip_err(-err, "%s: loading the dm table failed: %s%s", what,
			     err == -EBUSY ?
			     "another device interposes the original already" :
			     strerror(-err),
			     err == -EBUSY ? "" : " (the kernel log says why)");
		goto out_remove;
	}
	err = ip_dm_suspend(name, false, dmdev);
	if (err) {
		err = ip_err(-err, "%s: cannot activate dm device %s: %s", what,
			     name, strerror(-err));
		goto out_remove;
	}
	pr_debug("%s: dm device %s (%u:%u), %llu sectors, reserved for it\n",
		 what, name, major(*dmdev), minor(*dmdev),
		 (unsigned long long)sectors);
	goto out_free;

out_remove:
	ip_dm_remove(name);
out_free:
	for (i = 0; i < nargs; i++)
		free(args[i]);
	free(args);
	free(io);
	return err;
}

int ip_dm_ours(dev_t dev, const char *devname, char *name, size_t len,
	       int *open_count)
{
	char path[PATH_MAX], uuid[DM_UUID_LEN], want[DM_UUID_LEN];
	struct dm_ioctl *io;
	int err;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/dm/uuid",
		 ip_sysfs_root(), major(dev), minor(dev));
	if (ip_read_line(path, uuid, sizeof(uuid)))
		return 0;
	ip_dm_name(devname, want, sizeof(want), true);
	if (strcmp(uuid, want))
		return 0;
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/dm/name",
		 ip_sysfs_root(), major(dev), minor(dev));
	if (ip_read_line(path, name, len))
		return 0;
	*open_count = -1;
	io = ip_dm_new(name, sizeof(*io) + 256);
	if (!io)
		return -ENOMEM;
	err = ip_dm_ioctl(DM_DEV_STATUS, io);
	if (!err)
		*open_count = io->open_count;
	free(io);
	return 1;
}

/*
 * The status (or with @table the table) of the first target of the mapped
 * device @name, with @io as the buffer of @size bytes.
 */
static int ip_dm_target_status(struct dm_ioctl *io, size_t size,
			       const char *name, bool table, char *buf,
			       size_t len)
{
	struct dm_target_spec *spec;
	int err;

	memset(io, 0, size);
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = size;
	io->data_start = sizeof(*io);
	snprintf(io->name, sizeof(io->name), "%s", name);
	io->flags = table ? DM_STATUS_TABLE_FLAG : 0;
	err = ip_dm_ioctl(DM_TABLE_STATUS, io);
	if (err)
		return err;
	if (io->flags & DM_BUFFER_FULL_FLAG)
		return -ENOSPC;
	if (!io->target_count) {
		buf[0] = '\0';
		return 0;
	}
	spec = (struct dm_target_spec *)((char *)io + io->data_start);
	snprintf(buf, len, "%s", (char *)(spec + 1));
	return 0;
}

int ip_dm_snap_find(const char *devname, struct ip_dm_snap *snap)
{
	struct dm_ioctl *io = ip_dm_new("", 4096);
	int err;

	memset(snap, 0, sizeof(*snap));
	if (!io)
		return -ENOMEM;
	snprintf(io->uuid, sizeof(io->uuid), "%s%s", IP_DM_SNAP_UUID_PREFIX,
		 devname);
	err = ip_dm_ioctl(DM_DEV_STATUS, io);
	if (err) {
		free(io);
		return err == -ENXIO ? 0 : err;
	}
	snprintf(snap->name, sizeof(snap->name), "%s", io->name);
	snap->dev = (dev_t)io->dev;
	snap->open_count = io->open_count;
	ip_dm_target_status(io, 4096, snap->name, false, snap->status,
			    sizeof(snap->status));
	ip_dm_target_status(io, 4096, snap->name, true, snap->table,
			    sizeof(snap->table));
	free(io);
	return 1;
}

int ip_dm_snap_create(const char *what, const struct ip_dev *orig,
		      const char *devname, const struct ip_dev *cow,
		      const char *name, __u32 chunk, __u64 sectors,
		      dev_t *snapdev)
{
	char table[128], **args = NULL;
	struct dm_ioctl *io = ip_dm_new(name, 4096);
	size_t nargs = 0, i;
	__u64 end;
	int err;

	if (!io)
		return ip_err(ENOMEM, "%s: out of memory", what);
	snprintf(table, sizeof(table), "0 %llu snapshot %u:%u %u:%u P %u",
		 (unsigned long long)sectors, major(orig->dev),
		 minor(orig->dev), major(cow->dev), minor(cow->dev), chunk);
	err = ip_dm_parse_table(what, table, io, 4096, &end, &args, &nargs);
	if (err)
		goto out;

	/* create, then load: the load reads from the create's name */
	{
		struct dm_ioctl *c = ip_dm_new(name, sizeof(*c));

		if (!c) {
			err = ip_err(ENOMEM, "%s: out of memory", what);
			goto out;
		}
		snprintf(c->uuid, sizeof(c->uuid), "%s%s",
			 IP_DM_SNAP_UUID_PREFIX, devname);
		c->flags = DM_INTERPOSE_READ_FLAG;
		c->dev = orig->dev;
		err = ip_dm_ioctl(DM_DEV_CREATE, c);
		free(c);
	}
	if (err) {
		err = ip_err(-err, "%s: cannot create dm device %s: %s", what,
			     name, err == -EBUSY ?
			     "a dm device of that name or a snapshot of it exists already" :
			     strerror(-err));
		goto out;
	}
	err = ip_dm_ioctl(DM_TABLE_LOAD, io);
	if (err) {
		err = ip_err(-err, "%s: loading the snapshot table failed: %s (the kernel log says why)",
			     what, strerror(-err));
		goto out_remove;
	}
	err = ip_dm_suspend(name, false, snapdev);
	if (err) {
		err = ip_err(-err, "%s: cannot activate snapshot %s: %s (the kernel log says why)",
			     what, name, strerror(-err));
		goto out_remove;
	}
	goto out;

out_remove:
	ip_dm_remove(name);
out:
	for (i = 0; i < nargs; i++)
		free(args[i]);
	free(args);
	free(io);
	return err;
}

