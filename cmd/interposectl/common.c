// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl: error reporting and output helpers shared by the commands.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "main.h"

bool json_output;
bool pretty_output;
bool debug_output;
char *err_capture;
size_t err_capture_len;

/* Keep @msg in err_capture instead of printing it, if that is set. */
static bool captured(const char *msg)
{
	if (!err_capture)
		return false;
	snprintf(err_capture, err_capture_len, "%s", msg);
	return true;
}

int print_debug(enum interpose_print_level level, const char *fmt,
		va_list ap)
{
	(void)level;
	fprintf(stderr, "libinterpose: ");
	return vfprintf(stderr, fmt, ap);
}

bool global_opt(int c)
{
	switch (c) {
	case 'p':
		pretty_output = true;
		/* fall through */
	case 'j':
		json_output = true;
		return true;
	case 'd':
		interpose_set_print(print_debug);
		debug_output = true;
		return true;
	default:
		return false;
	}
}

const char *errno_name(int err)
{
	/* glibc 2.32: every errno it knows, NULL for a number it does not */
	return err > 0 ? strerrorname_np(err) : NULL;
}

void format_error(char *buf, size_t len, const char *msg, int err)
{
	const char *name = errno_name(err);

	if (name)
		snprintf(buf, len, "%s (%s)", msg, name);
	else
		snprintf(buf, len, "%s (errno %d)", msg, err);
}

/* {"error": MSG, "errno": "ENAME"}; "errno" is a number without a name. */
static void p_err_json(const char *msg, int err)
{
	const char *name = errno_name(err);
	json_object *obj;

	if (!json_output)
		return;
	obj = json_object_new_object();
	json_object_object_add(obj, "error", json_object_new_string(msg));
	json_object_object_add(obj, "errno", name ?
			       json_object_new_string(name) :
			       json_object_new_int(err));
	print_json(obj);
}

int p_err_lib(int err)
{
	const char *msg = interpose_errmsg();
	char buf[768];

	if (err < 0)
		err = -err;
	format_error(buf, sizeof(buf), msg[0] ? msg : strerror(err), err);
	if (captured(buf))
		return 1;
	fprintf(stderr, "%s: %s\n", BIN_NAME, buf);
	p_err_json(buf, err);
	return 1;
}

int p_err(int err, const char *fmt, ...)
{
	char msg[512], buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	format_error(buf, sizeof(buf), msg, err);
	if (captured(buf))
		return 1;
	fprintf(stderr, "%s: %s\n", BIN_NAME, buf);
	p_err_json(buf, err);
	return 1;
}

int p_usage(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (captured(msg))
		return EXIT_USAGE;
	fprintf(stderr, "%s%s%s: %s\nTry '%s%s%s -h' for help.\n", BIN_NAME,
		cmd ? " " : "", cmd ?: "", msg, BIN_NAME, cmd ? " " : "",
		cmd ?: "");
	p_err_json(msg, EINVAL);
	return EXIT_USAGE;
}

void print_json(json_object *obj)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	flags |= pretty_output ? JSON_C_TO_STRING_PRETTY |
				 JSON_C_TO_STRING_SPACED :
				 JSON_C_TO_STRING_PLAIN;
	printf("%s\n", json_object_to_json_string_ext(obj, flags));
	json_object_put(obj);
}

int parse_size(const char *s, unsigned long long *bytes)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || *s == '+')
		return -EINVAL;
	if (*end == 'k' || *end == 'K') {
		v <<= 10;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v <<= 20;
		end++;
	}
	if (*end)
		return -EINVAL;
	*bytes = v;
	return 0;
}

void getopt_reset(void)
{
	/* 0, not 1: glibc then also forgets its internal state. */
	optind = 0;
	opterr = 0;
}

int p_bad_option(const char *cmd, int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return p_usage(cmd, "option '%s' needs an argument", opt);
	if (optopt)
		return p_usage(cmd, "unknown option '-%c'", optopt);
	return p_usage(cmd, "unknown option '%s'", opt);
}

int parse_dev_arg(const char *cmd, int argc, char **argv, bool optional,
		  const char **devp, bool *helpp)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ }
	};
	int c;

	*devp = NULL;
	*helpp = false;
	getopt_reset();
	while ((c = getopt_long(argc, argv, ":h" GLOBAL_SHORTOPTS, opts,
				 NULL)) != -1) {
		if (global_opt(c))
			continue;
		if (c != 'h')
			return p_bad_option(cmd, c, argv);
		*helpp = true;
		return 0;
	}
	if (optind < argc)
		*devp = argv[optind++];
	else if (!optional)
		return p_usage(cmd, "missing DEV");
	if (optind < argc)
		return p_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return 0;
}

const char *dev_str(dev_t dev, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", major(dev), minor(dev));
	return buf;
}

const char *name_or_dev(const char *name, dev_t dev, char *buf, size_t len)
{
	return name && name[0] ? name : dev_str(dev, buf, len);
}

void json_add_dev(json_object *obj, const char *name, dev_t dev)
{
	char b1[32], b2[32];

	json_object_object_add(obj, "device", json_object_new_string(
		name_or_dev(name, dev, b1, sizeof(b1))));
	json_object_object_add(obj, "dev", json_object_new_string(
		dev_str(dev, b2, sizeof(b2))));
}

json_object *dev_json(const char *name, dev_t dev)
{
	json_object *obj = json_object_new_object();

	json_add_dev(obj, name, dev);
	return obj;
}

json_object *dev_name_json(const char *name)
{
	json_object *obj;
	dev_t dev;

	if (!interpose_resolve_dev(name, &dev, NULL, 0))
		return dev_json(name, dev);
	obj = json_object_new_object();
	json_object_object_add(obj, "device", json_object_new_string(name));
	json_object_object_add(obj, "dev", NULL);
	return obj;
}

void json_add_dev_arg(json_object *obj, const char *arg)
{
	struct interpose_info *info;

	if (!interpose_query(arg, &info)) {
		json_add_dev(obj, interpose_info__name(info),
			     interpose_info__dev(info));
		interpose_info__free(info);
		return;
	}
	json_object_object_add(obj, "device", json_object_new_string(arg));
	json_object_object_add(obj, "dev", NULL);
}

const char *dev_name(dev_t dev, char *buf, size_t len)
{
	char link[64], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return dev_str(dev, buf, len);
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(buf, len, "%s", base ? base + 1 : target);
	return buf;
}
