// SPDX-License-Identifier: GPL-2.0
/*
 * interpose-generator: the systemd generator of interposetab(5).
 * interposectl runs as the generator when it is called by that name
 * (installed as a link in a system-generators directory); systemd calls
 * it at boot and at daemon-reload with the directories to write units to.
 *
 * For each line of the tab it writes interpose-DEVICE.service (DEVICE
 * escaped as systemd escapes paths), a oneshot that runs
 * `interposectl apply TAB --device DEVICE` once the device exists:
 *   - BindsTo= and After= the device's unit, Before= and Wants=
 *     blockdev@DEVICE.target, after which systemd orders the mounts of
 *     DEVICE;
 *   - the mount units of /etc/fstab's entries for DEVICE (the same path,
 *     UUID=... for /dev/disk/by-uuid/..., or the same device node now)
 *     get a drop-in: Requires= it (Wants= for a nofail line) and After=;
 *   - a required line pulls in local-fs-pre.target (a passive target)
 *     and is Before= and RequiredBy= it;
 *     every line is WantedBy= sysinit.target, so that it is part of the
 *     boot transaction and its ordering applies.
 * A line it cannot parse is logged to the kernel log (FILE:LINE: why) and
 * skipped.  The kernel command line may name another tab with
 * interposetab=FILE, or none with interposetab=no.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "main.h"

#define GEN_NAME	"interpose-generator"

/* A message for the kernel log (systemd's generators have no journal). */
__printf(2, 3) static void gen_log(int prio, const char *fmt, ...)
{
	const char *target;
	char msg[1024];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* SYSTEMD_LOG_TARGET=console, as for systemd's own generators */
	target = getenv("SYSTEMD_LOG_TARGET");
	fd = target && !strcmp(target, "console") ? -1 :
	     open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		char line[1100];

		n = snprintf(line, sizeof(line), "<%d>%s[%d]: %s\n", prio,
			     GEN_NAME, getpid(), msg);
		if (write(fd, line, n) == n) {
			close(fd);
			return;
		}
		close(fd);
	}
	fprintf(stderr, "%s: %s\n", GEN_NAME, msg);
}

void gen_escape_path(const char *path, char *buf, size_t len)
{
	size_t off = 0;
	const char *p;

	while (*path == '/')
		path++;
	if (!*path) {
		snprintf(buf, len, "-");
		return;
	}
	for (p = path; *p && off + 5 < len; p++) {
		unsigned char c = *p;

		if (c == '/') {
			/* one '-' for a run of slashes, none at the end */
			while (p[1] == '/')
				p++;
			if (p[1])
				buf[off++] = '-';
		} else if ((c == '.' && p == path) ||
			   !(isalnum(c) || c == ':' || c == '_' || c == '.')) {
			off += snprintf(buf + off, len - off, "\\x%02x", c);
		} else {
			buf[off++] = c;
		}
	}
	buf[off] = '\0';
}

/* @s in a unit file's quoted value: %, $, \ and " escaped. */
static void unit_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '%')
			fputs("%%", f);
		else if (*s == '$')
			fputs("$$", f);
		else if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else
			fputc(*s, f);
	}
}

/* @s as one argument of an ExecStart= line. */
static void unit_quote(FILE *f, const char *s)
{
	fputc('"', f);
	unit_escape(f, s);
	fputc('"', f);
}

/* Make the directory @sub below @dir: 0 or -errno. */
static int mkdirs(const char *dir, const char *sub)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Symlink @dir/@wants/@unit to @dir/@unit. */
static int gen_link(const char *dir, const char *wants, const char *unit)
{
	char link[PATH_MAX * 3], target[PATH_MAX * 2];
	int err = mkdirs(dir, wants);

	if (err)
		return err;
	snprintf(link, sizeof(link), "%s/%s/%s", dir, wants, unit);
	snprintf(target, sizeof(target), "%s/%s", dir, unit);
	if (symlink(target, link) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The device an fstab source names, as a path: UUID=, LABEL=, PARTUUID=
 * and PARTLABEL= as the /dev/disk/by-* links udev makes, others as they
 * are.  NULL for what is not a device (a network or pseudo filesystem).
 */
static char *fstab_what(const char *spec)
{
	static const struct {
		const char *tag, *dir;
	} tags[] = {
		{ "UUID=", "by-uuid" }, { "LABEL=", "by-label" },
		{ "PARTUUID=", "by-partuuid" }, { "PARTLABEL=", "by-partlabel" },
	};
	size_t i;
	char *p;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		size_t n = strlen(tags[i].tag);

		if (strncmp(spec, tags[i].tag, n))
			continue;
		if (asprintf(&p, "/dev/disk/%s/%s", tags[i].dir, spec + n) < 0)
			return NULL;
		return p;
	}
	if (spec[0] != '/')
		return NULL;
	return strdup(spec);
}

/* Whether fstab's @what is the tab's device @dev: the same path or node. */
static bool same_device(const char *what, const char *dev)
{
	struct stat a, b;

	if (!strcmp(what, dev))
		return true;
	return !stat(what, &a) && !stat(dev, &b) && S_ISBLK(a.st_mode) &&
	       S_ISBLK(b.st_mode) && a.st_rdev == b.st_rdev;
}

/*
 * Give the mount units of /etc/fstab's entries on @dev a drop-in that
 * makes them need @unit (want it, for nofail).  Returns how many.
 */
static int gen_mounts(const char *dir, const char *dev, const char *unit,
		      bool nofail)
{
	const char *fstab = getenv("SYSTEMD_FSTAB") ?: "/etc/fstab";
	char esc[PATH_MAX], sub[PATH_MAX + 16], path[PATH_MAX * 2];
	struct mntent *m;
	int n = 0;
	FILE *f, *out;

	f = setmntent(fstab, "re");
	if (!f)
		return 0;
	while ((m = getmntent(f))) {
		char *what = fstab_what(m->mnt_fsname);
		bool match = what && same_device(what, dev);

		free(what);
		if (!match || !strcmp(m->mnt_type, "swap") ||
		    m->mnt_dir[0] != '/' || !strcmp(m->mnt_dir, "/"))
			continue;
		gen_escape_path(m->mnt_dir, esc, sizeof(esc));
		snprintf(sub, sizeof(sub), "%s.mount.d", esc);
		if (mkdirs(dir, sub))
			continue;
		snprintf(path, sizeof(path), "%s/%s/50-interpose.conf", dir, sub);
		out = fopen(path, "we");
		if (!out)
			continue;
		fprintf(out, "# Automatically generated by %s\n\n[Unit]\n%s=%s\nAfter=%s\n",
			GEN_NAME, nofail ? "Wants" : "Requires", unit, unit);
		if (!fclose(out))
			n++;
	}
	endmntent(f);
	return n;
}

/* Write the unit of line @l; 0 or -errno. */
static int gen_line(const char *dir, const char *tab, const struct tab_line *l,
		    const char *ctl)
{
	char esc[PATH_MAX], unit[PATH_MAX + 32], path[PATH_MAX * 2];
	FILE *f;
	int err;

	gen_escape_path(l->a.dev, esc, sizeof(esc));
	snprintf(unit, sizeof(unit), "interpose-%s.service", esc);
	snprintf(path, sizeof(path), "%s/%s", dir, unit);
	f = fopen(path, "wxe");
	if (!f)
		return -errno;
	fprintf(f, "# Automatically generated by %s\n\n", GEN_NAME);
	fprintf(f, "[Unit]\nDescription=Interposer of %s (%s:%u)\n",
		l->a.dev, tab, l->lineno);
	fprintf(f, "Documentation=man:interposetab(5) man:interposectl(8)\n");
	fprintf(f, "SourcePath=%s\nDefaultDependencies=no\n", tab);
	fprintf(f, "BindsTo=%s.device\nAfter=%s.device\n", esc, esc);
	fprintf(f, "Wants=blockdev@%s.target\nBefore=blockdev@%s.target\n",
		esc, esc);
	fprintf(f, "Conflicts=umount.target\nBefore=umount.target\n");
	/* a passive target: pulled in by the units that must precede it */
	if (l->required)
		fprintf(f, "Wants=local-fs-pre.target\nBefore=local-fs-pre.target\n");
	fprintf(f, "\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=");
	unit_quote(f, ctl);
	fputs(" apply ", f);
	unit_quote(f, tab);
	fputs(" --device ", f);
	unit_quote(f, l->a.dev);
	fputc('\n', f);
	if (fclose(f))
		return -errno;
	err = gen_link(dir, "sysinit.target.wants", unit);
	if (!err && l->required)
		err = gen_link(dir, "local-fs-pre.target.requires", unit);
	if (!err)
		gen_mounts(dir, l->a.dev, unit, l->nofail);
	return err;
}

/* interposetab= of the kernel command line, NULL if it has none. */
static char *cmdline_tab(void)
{
	const char *src = getenv("SYSTEMD_PROC_CMDLINE");
	char *buf = NULL, *res = NULL, **words;
	size_t cap = 0, n, col, i;
	const char *why;
	FILE *f;

	if (src) {
		buf = strdup(src);
	} else if ((f = fopen("/proc/cmdline", "re"))) {
		if (getline(&buf, &cap, f) < 0) {
			free(buf);
			buf = NULL;
		}
		fclose(f);
	}
	if (!buf || tab_split(buf, &words, &n, &col, &why)) {
		free(buf);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (!strncmp(words[i], "interposetab=", 13)) {
			free(res);
			res = strdup(words[i] + 13);
		}
		free(words[i]);
	}
	free(words);
	free(buf);
	return res;
}

/*
 * The path of this program for ExecStart=: interposectl under its own
 * name (/proc/self/exe is the file the generator link leads to).
 */
static void self_path(char *buf, size_t len, const char *argv0)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n > 0) {
		buf[n] = '\0';
		return;
	}
	snprintf(buf, len, "%s", strchr(argv0, '/') ? argv0 : "/usr/sbin/interposectl");
}

int generator_main(int argc, char **argv)
{
	char ctl[PATH_MAX], *arg;
	const char *tab = "/etc/interposetab", *dir;
	struct tab t;
	size_t i;
	int err;

	if (argc < 2) {
		fprintf(stderr, "Usage: %s NORMAL-DIR [EARLY-DIR LATE-DIR]\n"
			"A systemd generator (systemd.generator(7)): writes the units of\n"
			"interposetab(5) to NORMAL-DIR.\n", GEN_NAME);
		return EXIT_USAGE;
	}
	dir = argv[1];
	arg = cmdline_tab();
	if (arg && !strcmp(arg, "no")) {
		gen_log(6, "interposetab=no on the kernel command line: no interposers");
		free(arg);
		return 0;
	}
	if (arg && arg[0])
		tab = arg;
	err = tab_read(tab, &t);
	if (err == -ENOENT && !arg) {
		free(arg);
		return 0;
	}
	if (err) {
		gen_log(3, "cannot read %s: %s", tab, strerror(-err));
		free(arg);
		return 1;
	}
	self_path(ctl, sizeof(ctl), argv[0]);
	for (i = 0; i < t.nr_lines; i++) {
		const struct tab_line *l = &t.lines[i];

		if (!l->valid) {
			gen_log(3, "%s:%u: %s; line skipped", tab, l->lineno,
				l->error);
			continue;
		}
		err = gen_line(dir, tab, l, ctl);
		if (err == -EEXIST)
			gen_log(3, "%s:%u: %s is listed twice; line skipped",
				tab, l->lineno, l->a.dev);
		else if (err)
			gen_log(3, "%s:%u: cannot write its unit: %s", tab,
				l->lineno, strerror(-err));
	}
	/* the hotplug units read the same tab */
	if (arg && !mkdirs(dir, "interpose-hotplug@.service.d")) {
		char path[PATH_MAX];
		FILE *f;

		snprintf(path, sizeof(path), "%s/interpose-hotplug@.service.d/50-tab.conf",
			 dir);
		f = fopen(path, "we");
		if (f) {
			fprintf(f, "# Automatically generated by %s\n\n[Unit]\nConditionPathExists=\nConditionPathExists=%s\n\n[Service]\nEnvironment=\"INTERPOSETAB=",
				GEN_NAME, tab);
			unit_escape(f, tab);
			fprintf(f, "\"\n");
			fclose(f);
		}
	}
	tab_free(&t);
	free(arg);
	return 0;
}
