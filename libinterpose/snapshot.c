// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: point-in-time snapshots of devices in use, with stock
 * dm-snapshot.
 *
 * For each original: the table "snapshot-origin ORIG" is slid under it
 * (interpose_attach()'s dm_table: the mapped device interpose-DEVNAME,
 * reserved for the original's interposer), so every write of its holder
 * copies the old chunk out first once a snapshot exists.  Then every
 * filesystem mounted on an original is frozen, the snapshot devices are
 * created (DM_INTERPOSE_READ_FLAG: they read the original without
 * claiming it, which the kernel allows only while a reserved device
 * interposes it) while the origin mappings are suspended, the mappings
 * are resumed (which is when dm-snapshot's origin learns the chunk size to
 * split writes at) and the filesystems are thawed.  With the filesystems
 * frozen, no write of theirs is in flight meanwhile.
 *
 * The snapshot device has the uuid "INTERPOSE-SNAP-DEVNAME":
 * interpose_detach() finds it there and removes it before the origin
 * mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>

#include "libinterpose_internal.h"

#define IP_SNAP_MAX		16
#define IP_SNAP_MIN_COW		2048	/* sectors: 1 MiB */

struct ip_snap {
	const char *label;		/* the original as the caller named it */
	struct ip_dev orig, cow;
	struct ip_geom og, cg;
	char devname[IP_NAME_LEN];
	char name[128];
	bool attached, created, suspended;
	int freeze_fd;
};

/*
 * Suspend or resume the origin mapping of @s.  dm-snapshot's origin target
 * learns the chunk size it splits writes at (so that each chunk a write
 * covers is copied out) when it is resumed, as lvcreate does it: suspend
 * the origin, add the snapshot, resume the origin.
 */
static int ip_snap_origin(struct ip_snap *s, bool suspend)
{
	char name[IP_NAME_LEN + 16];
	int err;

	if (s->suspended == suspend)
		return 0;
	ip_dm_name(s->devname, name, sizeof(name), false);
	err = ip_dm_suspend(name, suspend, NULL);
	if (err)
		return ip_err(-err, "snapshot %s: cannot %s its origin mapping %s: %s",
			      s->label, suspend ? "suspend" : "resume", name,
			      strerror(-err));
	s->suspended = suspend;
	return 0;
}

/* What interposes @d now, for the refusal: "" if nothing. */
static void ip_snap_policy(const struct ip_dev *d, const char *devname,
			   char *buf, size_t len)
{
	struct interpose_info info;
	char dm[IP_NAME_LEN];
	int openers;

	buf[0] = '\0';
	if (ip_query_dev(d, &info))
		return;
	if (info.state == INTERPOSE_STATE_RESERVED) {
		snprintf(buf, len, "it is reserved for %u:%u",
			 major(info.targets[0].dev), minor(info.targets[0].dev));
		return;
	}
	if (!ip_state_attached(info.state))
		return;
	if (info.nr_targets == 1 &&
	    ip_dm_ours(info.targets[0].dev, devname, dm, sizeof(dm), &openers) == 1)
		snprintf(buf, len, "a dm table (%.128s) is under it%s", dm,
			 ip_dm_snap_find(devname, &(struct ip_dm_snap){ }) == 1 ?
			 ", with a snapshot" : "");
	else if (info.ops_name[0])
		snprintf(buf, len, "the program '%.64s' is attached", info.ops_name);
	else if (info.nr_targets)
		snprintf(buf, len, "it redirects to %s",
			 info.targets[0].name[0] ? info.targets[0].name : "a target");
	else
		snprintf(buf, len, "it has an interposer");
}

/* Zero the first chunk of the store (its header) on @fd. */
static int ip_snap_zero(int fd, __u32 chunk)
{
	size_t len = (size_t)chunk * 512, off = 0;
	char *zero = calloc(1, len);
	ssize_t n;
	int err = 0;

	if (!zero)
		return -ENOMEM;
	while (off < len) {
		n = pwrite(fd, zero + off, len - off, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += n;
	}
	if (!err && fsync(fd))
		err = -errno;
	free(zero);
	return err;
}

static int ip_snap_check(struct ip_snap *s, const char *dev, const char *cow,
			 const char *name)
{
	char why[512];
	int err, fd;

	s->label = dev;
	s->freeze_fd = -1;
	err = ip_resolve(dev, &s->orig);
	if (err)
		return ip_err(-err, "snapshot %s: %s", dev, ip_resolve_reason(-err));
	if (!cow)
		return ip_err(EINVAL, "snapshot %s: no COW device given", dev);
	err = ip_resolve(cow, &s->cow);
	if (err)
		return ip_err(-err, "snapshot %s: COW device %s: %s", dev, cow,
			      ip_resolve_reason(-err));
	ip_pin_devname(&s->orig, s->devname, sizeof(s->devname));
	if (name && *name)
		snprintf(s->name, sizeof(s->name), "%s", name);
	else if (snprintf(s->name, sizeof(s->name), "%s-snap", s->devname) >=
		 (int)sizeof(s->name))
		return ip_err(EINVAL, "snapshot %s: name too long", dev);
	if (strchr(s->name, '/') || !strcmp(s->name, ".") ||
	    !strcmp(s->name, ".."))
		return ip_err(EINVAL, "snapshot %s: '%s' is no dm device name",
			      dev, s->name);
	err = ip_geom(s->orig.dev, &s->og);
	if (!err)
		err = ip_geom(s->cow.dev, &s->cg);
	if (err)
		return ip_err(-err, "snapshot %s: cannot read the devices' sizes: %s",
			      dev, strerror(-err));
	if (s->og.zoned || s->cg.zoned)
		return ip_err(EOPNOTSUPP, "snapshot %s: %s is zoned: dm-snapshot does not take zoned devices",
			      dev, s->og.zoned ? dev : cow);
	if (s->cow.dev == s->orig.dev || ip_geom_overlap(&s->og, &s->cg))
		return ip_err(EINVAL, "snapshot %s: the COW device %s is the original or overlaps it",
			      dev, cow);
	if (s->cg.nr_sectors < IP_SNAP_MIN_COW)
		return ip_err(ENOSPC, "snapshot %s: the COW device %s has %llu sectors, at least %u are needed",
			      dev, cow, (unsigned long long)s->cg.nr_sectors,
			      IP_SNAP_MIN_COW);
	ip_snap_policy(&s->orig, s->devname, why, sizeof(why));
	if (why[0])
		return ip_err(EBUSY, "snapshot %s: %s; detach it first", dev, why);
	ip_snap_policy(&s->cow, "", why, sizeof(why));
	if (why[0])
		return ip_err(EBUSY, "snapshot %s: the COW device %s is interposed: %s",
			      dev, cow, why);
	fd = ip_open(&s->cow, O_RDWR | O_EXCL);
	if (fd < 0)
		return ip_err(-fd, "snapshot %s: the COW device %s %s", dev, cow,
			      fd == -EBUSY ?
			      "is in use (mounted, or held by another driver)" :
			      strerror(-fd));
	close(fd);
	return 0;
}

/*
 * A store starts with an empty header, or dm-snapshot takes up the
 * exceptions of whatever snapshot used the device before (lvcreate zeroes
 * it too).  Only once every device is checked: a COW device may turn out
 * to be another original.
 */
static int ip_snap_clear(struct ip_snap *s, __u32 chunk)
{
	int fd, err;

	fd = ip_open(&s->cow, O_RDWR | O_EXCL);
	if (fd < 0)
		return ip_err(-fd, "snapshot %s: cannot open the COW device: %s",
			      s->label, strerror(-fd));
	err = ip_snap_zero(fd, chunk);
	close(fd);
	if (err)
		return ip_err(-err, "snapshot %s: cannot clear the header of the COW device: %s",
			      s->label, strerror(-err));
	return 0;
}

/* A mount point of the filesystem on @dev, from mountinfo: 0 or -ENOENT. */
static int ip_snap_mountpoint(dev_t dev, char *buf, size_t len)
{
	char line[4096], mp[4096];
	unsigned int maj, min;
	FILE *f;
	int err = -ENOENT;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		char *src, *dst;

		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mp) != 3 ||
		    makedev(maj, min) != dev)
			continue;
		/* mountinfo escapes space, tab, newline and \ as \ooo */
		for (src = dst = mp; *src; dst++) {
			if (src[0] == '\\' && src[1] >= '0' && src[1] <= '3' &&
			    src[2] >= '0' && src[2] <= '7' &&
			    src[3] >= '0' && src[3] <= '7') {
				*dst = (src[1] - '0') << 6 | (src[2] - '0') << 3 |
				       (src[3] - '0');
				src += 4;
			} else {
				*dst = *src++;
			}
		}
		*dst = '\0';
		snprintf(buf, len, "%s", mp);
		err = 0;
	}
	fclose(f);
	return err;
}

static int ip_snap_freeze(struct ip_snap *s)
{
	char mp[4096];
	int fd, err;

	if (ip_snap_mountpoint(s->orig.dev, mp, sizeof(mp)))
		return 0;	/* nothing mounted */
	fd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ip_err(errno, "snapshot %s: cannot open its mount point %s: %s",
			      s->label, mp, strerror(errno));
	if (ioctl(fd, FIFREEZE, 0)) {
		err = errno;
		close(fd);
		return ip_err(err, "snapshot %s: cannot freeze the filesystem on %s: %s",
			      s->label, mp, err == EBUSY ?
			      "it is frozen already" : strerror(err));
	}
	pr_debug("snapshot %s: froze %s\n", s->label, mp);
	s->freeze_fd = fd;
	return 0;
}

static void ip_snap_thaw(struct ip_snap *s)
{
	if (s->freeze_fd < 0)
		return;
	if (ioctl(s->freeze_fd, FITHAW, 0))
		pr_warn("snapshot %s: cannot thaw its filesystem: %s\n",
			s->label, strerror(errno));
	close(s->freeze_fd);
	s->freeze_fd = -1;
}

int interpose_snapshot(const char * const *devs, const char * const *cows,
		       size_t n, const struct interpose_snapshot_opts *opts)
{
	const char * const *names;
	struct ip_snap *snaps;
	__u32 chunk;
	size_t i, j;
	int err;

	ip_errmsg_clear();
	err = OPTS_CHECK(opts, interpose_snapshot_opts);
	if (err)
		return ip_err(-err, "snapshot: %s", err == -E2BIG ?
			      "options have non-zero fields unknown to this library" :
			      "options size is too small");
	if (!devs || !cows || !n)
		return ip_err(EINVAL, "snapshot: no device given");
	if (ip_backend() == INTERPOSE_BACKEND_MODULE)
		return ip_err(EOPNOTSUPP, "snapshot: %s",
			      ip_module_refusal("a snapshot"));
	if (n > IP_SNAP_MAX)
		return ip_err(EINVAL, "snapshot: %zu devices, at most %d at once",
			      n, IP_SNAP_MAX);
	names = OPTS_GET(opts, names, NULL);
	chunk = OPTS_GET(opts, chunk_sectors, 0);
	if (!chunk)
		chunk = 8;
	if (chunk < 8 || chunk > 1024 || (chunk & (chunk - 1)))
		return ip_err(EINVAL, "snapshot: chunk of %u sectors: it must be a power of 2 from 8 (4 KiB) to 1024 (512 KiB)",
			      chunk);
	if (!ip_has_sys_admin())
		return ip_err(EPERM, "snapshot: %s", ip_common_reason(EPERM));
	snaps = calloc(n, sizeof(*snaps));
	if (!snaps)
		return ip_err(ENOMEM, "snapshot: out of memory");
	for (i = 0; i < n; i++)
		snaps[i].freeze_fd = -1;
	for (i = 0; i < n; i++) {
		err = ip_snap_check(&snaps[i], devs[i], cows[i],
				    names ? names[i] : NULL);
		if (err)
			goto out;
		for (j = 0; j < i; j++) {
			struct ip_snap *a = &snaps[i], *b = &snaps[j];

			if (a->orig.dev == b->orig.dev ||
			    ip_geom_overlap(&a->og, &b->og)) {
				err = ip_err(EINVAL, "snapshot: %s and %s are the same device or overlap",
					     b->label, a->label);
				goto out;
			}
			if (a->cow.dev == b->cow.dev ||
			    ip_geom_overlap(&a->cg, &b->cg) ||
			    ip_geom_overlap(&a->cg, &b->og) ||
			    ip_geom_overlap(&a->og, &b->cg)) {
				err = ip_err(EINVAL, "snapshot: the COW devices of %s and %s are the same, overlap or are an original",
					     b->label, a->label);
				goto out;
			}
			if (!strcmp(a->name, b->name)) {
				err = ip_err(EINVAL, "snapshot: %s and %s would both be named %s",
					     b->label, a->label, a->name);
				goto out;
			}
		}
	}

	for (i = 0; i < n; i++) {
		err = ip_snap_clear(&snaps[i], chunk);
		if (err)
			goto out;
	}

	/* the origin mappings */
	for (i = 0; i < n; i++) {
		struct interpose_attach_opts ao = { .sz = sizeof(ao) };
		char table[96];

		snprintf(table, sizeof(table), "0 %llu snapshot-origin %u:%u",
			 (unsigned long long)snaps[i].og.nr_sectors,
			 major(snaps[i].orig.dev), minor(snaps[i].orig.dev));
		ao.dm_table = table;
		err = ip_attach(snaps[i].label, &ao);
		if (err)
			goto undo;
		snaps[i].attached = true;
	}
	/* one point in time: everything frozen, every snapshot taken */
	for (i = 0; i < n; i++) {
		err = ip_snap_freeze(&snaps[i]);
		if (err)
			goto undo;
	}
	for (i = 0; i < n; i++) {
		err = ip_snap_origin(&snaps[i], true);
		if (err)
			goto undo;
	}
	for (i = 0; i < n; i++) {
		char what[PATH_MAX + 16];
		dev_t sdev;

		snprintf(what, sizeof(what), "snapshot %s", snaps[i].label);
		err = ip_dm_snap_create(what, &snaps[i].orig, snaps[i].devname,
					&snaps[i].cow, snaps[i].name, chunk,
					snaps[i].og.nr_sectors, &sdev);
		if (err)
			goto undo;
		snaps[i].created = true;
		pr_debug("snapshot %s: %s (%u:%u)\n", snaps[i].label,
			 snaps[i].name, major(sdev), minor(sdev));
	}
	for (i = 0; i < n; i++) {
		err = ip_snap_origin(&snaps[i], false);
		if (err)
			goto undo;
	}
	for (i = 0; i < n; i++)
		ip_snap_thaw(&snaps[i]);
	goto out;

undo:
	for (i = n; i-- > 0;) {
		if (snaps[i].created)
			ip_dm_remove(snaps[i].name);
		ip_snap_origin(&snaps[i], false);
		ip_snap_thaw(&snaps[i]);
	}
	for (i = n; i-- > 0;) {
		if (!snaps[i].attached)
			continue;
		/* keep the message of the first failure */
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", ip_errmsg());
		ip_detach(snaps[i].label, NULL);
		ip_err(-err, "%s", msg);
	}
out:
	free(snaps);
	return err;
}

static void ip_snap_parse(const struct ip_dm_snap *ds,
			  struct interpose_snapshot_info *info)
{
	unsigned long long a, t, m;
	unsigned int omaj, omin, cmaj, cmin, chunk;
	char mode[8];

	snprintf(info->name, sizeof(info->name), "%s", ds->name);
	info->dev = ds->dev;
	info->open_count = ds->open_count;
	if (sscanf(ds->table, "%u:%u %u:%u %7s %u", &omaj, &omin, &cmaj, &cmin,
		   mode, &chunk) == 6) {
		info->cow = makedev(cmaj, cmin);
		info->chunk_sectors = chunk;
	}
	info->state = INTERPOSE_SNAPSHOT_UNKNOWN;
	if (sscanf(ds->status, "%llu/%llu %llu", &a, &t, &m) == 3) {
		info->state = INTERPOSE_SNAPSHOT_VALID;
		info->allocated = a;
		info->total = t;
		info->metadata = m;
	} else if (!strncmp(ds->status, "Invalid", 7) ||
		   !strncmp(ds->status, "Overflow", 8)) {
		info->state = INTERPOSE_SNAPSHOT_INVALID;
	}
}

int interpose_snapshot_query(const char *dev,
			     struct interpose_snapshot_info *info)
{
	struct interpose_snapshot_info out = { };
	char devname[IP_NAME_LEN];
	struct ip_dm_snap ds;
	struct ip_dev d;
	size_t sz;
	int err;

	ip_errmsg_clear();
	if (!dev || !info)
		return ip_err(EINVAL, "snapshot query: no device or no info");
	sz = info->sz;
	if (sz < offsetof(struct interpose_snapshot_info, name) + sizeof(out.name))
		return ip_err(EINVAL, "snapshot query %s: info->sz is too small", dev);
	err = ip_resolve(dev, &d);
	if (err)
		return ip_err(-err, "snapshot query %s: %s", dev,
			      ip_resolve_reason(-err));
	ip_pin_devname(&d, devname, sizeof(devname));
	err = ip_dm_snap_find(devname, &ds);
	if (err < 0)
		return ip_err(-err, "snapshot query %s: %s", dev, strerror(-err));
	if (!err)
		return -ENOENT;
	ip_snap_parse(&ds, &out);
	out.sz = sz < sizeof(out) ? sz : sizeof(out);
	memcpy(info, &out, out.sz);
	return 0;
}

const char *interpose_snapshot_state_str(enum interpose_snapshot_state state)
{
	switch (state) {
	case INTERPOSE_SNAPSHOT_VALID:
		return "valid";
	case INTERPOSE_SNAPSHOT_INVALID:
		return "invalid";
	default:
		return "unknown";
	}
}
