// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl show: one device, or every interposed device; stats: the
 * counters of one.
 *
 * show text: one line per device,
 *   nullb0 (251:0): attached, targets nullb1 (251:1), ops -, seen 10 ...
 *   nullb0 (251:0): failed (target nullb1 went away; I/O fails until
 *	detach), targets nullb1 (251:1), ops -, seen 10 ... lost 2
 *   dm-0 (253:0): reserved for nullb0 (251:0), refused 0
 *   nullb2 (251:2): observed (no policy: every bio passes), targets none,
 *	ops -, seen 10 ...
 * each followed, for a device with observers, by one line per observer:
 *   observer trace: seen 10, ended 10
 * show JSON: one object per device (an array without DEV), with the fields
 *   device, dev, state ("attached", "failed", "observed", "reserved" or
 *   "none"),
 *   targets[{device, dev}] (for "reserved": the original it serves),
 *   lost{device, dev} (only for "failed": the target that went away; every
 *   bio fails with EIO until detach), ops, flags, counters{seen, passed,
 *   redirected, remapped, failed, completed, invalid, lost} (for
 *   "reserved": failed = refused bios), observers[{ops, seen, ended}]
 *   in the order they were attached.
 * A device whose kernel name is unknown (e.g. a target that went away and
 * left sysfs) is named by its MAJ:MIN in "device" and in the text.
 * stats text: "NAME VALUE" per counter; JSON: device, dev, ops, counters{}.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/sysmacros.h>

#include "main.h"

/* "nullb1 (251:1)", or "251:1" when sysfs did not know the name. */
static void print_dev(FILE *f, const char *name, dev_t dev)
{
	char buf[32];

	dev_str(dev, buf, sizeof(buf));
	if (name && name[0])
		fprintf(f, "%s (%s)", name, buf);
	else
		fprintf(f, "%s", buf);
}

void show_info_text(FILE *f, const struct interpose_info *info)
{
	unsigned int i, n = interpose_info__nr_targets(info);
	const char *ops = interpose_info__ops_name(info), *name;
	__u64 val;
	struct interpose_counters c;
	char buf[32];

	print_dev(f, interpose_info__name(info), interpose_info__dev(info));
	if (interpose_info__state(info) == INTERPOSE_STATE_RESERVED) {
		interpose_info__get_counters(info, &c, sizeof(c));
		fprintf(f, ": reserved for ");
		print_dev(f, interpose_info__target_name(info, 0),
			  interpose_info__target_dev(info, 0));
		fprintf(f, ", refused %llu\n", (unsigned long long)c.failed);
		return;
	}
	switch (interpose_info__state(info)) {
	case INTERPOSE_STATE_ATTACHED:
		fprintf(f, ": attached, targets");
		break;
	case INTERPOSE_STATE_FAILED:
		fprintf(f, ": failed (target %s went away; I/O fails until detach), targets",
			name_or_dev(interpose_info__lost_name(info),
				    interpose_info__lost_dev(info), buf,
				    sizeof(buf)));
		break;
	case INTERPOSE_STATE_OBSERVED:
		fprintf(f, ": observed (no policy: every bio passes), targets");
		break;
	default:
		fprintf(f, ": not interposed\n");
		return;
	}
	if (!n)
		fprintf(f, " none");
	for (i = 0; i < n; i++) {
		fprintf(f, " ");
		print_dev(f, interpose_info__target_name(info, i),
			  interpose_info__target_dev(info, i));
	}
	fprintf(f, ", ops %s,", ops ?: "-");
	/* every counter the library knows, in its order */
	for (i = 0; !interpose_info__counter(info, i, &name, &val); i++)
		fprintf(f, " %s %llu", name, (unsigned long long)val);
	if (interpose_info__flags(info))
		fprintf(f, ", flags 0x%x", interpose_info__flags(info));
	fprintf(f, "\n");
	n = interpose_info__nr_observers(info);
	for (i = 0; i < n; i++) {
		__u64 seen = 0, ended = 0;

		interpose_info__observer_counts(info, i, &seen, &ended);
		fprintf(f, "  observer %s: seen %llu, ended %llu\n",
			interpose_info__observer_name(info, i),
			(unsigned long long)seen, (unsigned long long)ended);
	}
	snapshot_text(f, interpose_info__name(info));
}

/* [{"ops": NAME, "seen": N, "ended": N}, ...] */
static json_object *observers_json(const struct interpose_info *info)
{
	unsigned int i, n = interpose_info__nr_observers(info);
	json_object *arr = json_object_new_array(), *o;
	__u64 seen, ended;

	for (i = 0; i < n; i++) {
		seen = ended = 0;
		interpose_info__observer_counts(info, i, &seen, &ended);
		o = json_object_new_object();
		json_object_object_add(o, "ops", json_object_new_string(
			interpose_info__observer_name(info, i)));
		json_object_object_add(o, "seen", json_object_new_uint64(seen));
		json_object_object_add(o, "ended",
				       json_object_new_uint64(ended));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* {"seen": N, "passed": N, ...} */
static json_object *counters_json(const struct interpose_info *info)
{
	json_object *cnt = json_object_new_object();
	const char *name;
	size_t i;
	__u64 val;

	for (i = 0; !interpose_info__counter(info, i, &name, &val); i++)
		json_object_object_add(cnt, name, json_object_new_uint64(val));
	return cnt;
}

static const char *state_str(enum interpose_state state)
{
	switch (state) {
	case INTERPOSE_STATE_ATTACHED:
		return "attached";
	case INTERPOSE_STATE_FAILED:
		return "failed";
	case INTERPOSE_STATE_RESERVED:
		return "reserved";
	case INTERPOSE_STATE_OBSERVED:
		return "observed";
	default:
		return "none";
	}
}

json_object *show_info_json(const struct interpose_info *info)
{
	unsigned int i, n = interpose_info__nr_targets(info);
	const char *ops = interpose_info__ops_name(info);
	enum interpose_state state = interpose_info__state(info);
	json_object *obj, *targets;

	obj = dev_json(interpose_info__name(info), interpose_info__dev(info));
	json_object_object_add(obj, "state", json_object_new_string(
		state_str(state)));
	json_object_object_add(obj, "backend", json_object_new_string(
		interpose_backend_name(interpose_backend())));

	targets = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(targets, dev_json(
			interpose_info__target_name(info, i),
			interpose_info__target_dev(info, i)));
	json_object_object_add(obj, "targets", targets);
	if (state == INTERPOSE_STATE_FAILED)
		json_object_object_add(obj, "lost", dev_json(
			interpose_info__lost_name(info),
			interpose_info__lost_dev(info)));
	json_object_object_add(obj, "ops",
			       ops ? json_object_new_string(ops) : NULL);
	json_object_object_add(obj, "flags",
			       json_object_new_int64(interpose_info__flags(info)));

	json_object_object_add(obj, "counters", counters_json(info));
	json_object_object_add(obj, "observers", observers_json(info));
	json_object_object_add(obj, "snapshot", state == INTERPOSE_STATE_ATTACHED ?
			       snapshot_json(interpose_info__name(info)) : NULL);
	return obj;
}

void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s show [DEV]\n"
		"\n"
		"Show the interposer of the block device DEV (/dev/NAME, NAME or\n"
		"MAJ:MIN), or without DEV every interposed device, one per line\n"
		"(a JSON array with -j).  The state is attached, failed (a target\n"
		"went away: every bio fails with EIO until the interposer is\n"
		"detached), observed (observers only, every bio passes), reserved\n"
		"(a dm device made for --dm-table) or not interposed.  Observers\n"
		"follow their device, one per line, with the bios they saw.\n"
		"\n"
		"Options:\n"
		"  -h, --help        show this help\n"
		"  -j, -p, -d        global options, here as before COMMAND\n",
		BIN_NAME);
}

static int show_one(const char *dev)
{
	struct interpose_info *info;
	int err;

	err = interpose_query(dev, &info);
	if (err)
		return p_err_lib(err);
	if (json_output)
		print_json(show_info_json(info));
	else
		show_info_text(stdout, info);
	interpose_info__free(info);
	return 0;
}

static int show_all(void)
{
	struct interpose_info **infos;
	json_object *arr = NULL;
	size_t i, cnt;
	int err;

	err = interpose_list(&infos, &cnt);
	if (err)
		return p_err_lib(err);
	if (json_output)
		arr = json_object_new_array();
	for (i = 0; i < cnt; i++) {
		if (json_output)
			json_object_array_add(arr, show_info_json(infos[i]));
		else
			show_info_text(stdout, infos[i]);
	}
	if (json_output)
		print_json(arr);
	interpose_list__free(infos, cnt);
	return 0;
}

int show_parse(int argc, char **argv, struct show_args *a)
{
	return parse_dev_arg("show", argc, argv, true, &a->dev, &a->help);
}

int do_show(int argc, char **argv)
{
	struct show_args a;

	if (show_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		show_usage(stdout);
		return 0;
	}
	return a.dev ? show_one(a.dev) : show_all();
}

void stats_text(FILE *f, const struct interpose_info *info)
{
	const char *name;
	size_t i;
	__u64 val;

	for (i = 0; !interpose_info__counter(info, i, &name, &val); i++)
		fprintf(f, "%s %llu\n", name, (unsigned long long)val);
}

json_object *stats_json(const struct interpose_info *info)
{
	const char *ops = interpose_info__ops_name(info);
	json_object *obj;

	obj = dev_json(interpose_info__name(info), interpose_info__dev(info));
	json_object_object_add(obj, "ops",
			       ops ? json_object_new_string(ops) : NULL);
	json_object_object_add(obj, "counters", counters_json(info));
	return obj;
}

void stats_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s stats DEV\n"
		"\n"
		"Show the bio counters of the interposer of the block device DEV\n"
		"(/dev/NAME, NAME or MAJ:MIN), one \"NAME VALUE\" per line: seen,\n"
		"passed, redirected, remapped, failed, completed, invalid, lost.\n"
		"A failed interposer (a target went away) has counters too.\n"
		"\n"
		"Options:\n"
		"  -h, --help        show this help\n"
		"  -j, -p, -d        global options, here as before COMMAND\n",
		BIN_NAME);
}

int stats_parse(int argc, char **argv, struct stats_args *a)
{
	return parse_dev_arg("stats", argc, argv, false, &a->dev, &a->help);
}

int do_stats(int argc, char **argv)
{
	struct interpose_info *info;
	struct stats_args a;
	int err;

	if (stats_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		stats_usage(stdout);
		return 0;
	}
	err = interpose_query(a.dev, &info);
	if (err)
		return p_err_lib(err);
	if (interpose_info__state(info) != INTERPOSE_STATE_ATTACHED &&
	    interpose_info__state(info) != INTERPOSE_STATE_FAILED) {
		err = p_err(ENOENT, "stats %s: not interposed",
			    interpose_info__path(info)[0] ?
			    interpose_info__path(info) : a.dev);
		interpose_info__free(info);
		return err;
	}
	if (json_output)
		print_json(stats_json(info));
	else
		stats_text(stdout, info);
	interpose_info__free(info);
	return 0;
}
