// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl ops: the registered interposer ops.
 *
 * Text: one line per ops,
 *   byop: registered, map 12, link 5, devices nullb0 nullb1
 *   verdict: registered, map 15, link 7, program of nullb2, devices nullb2
 * JSON: an array of {name, state, map_id, link_id, prog_dev, devices[]}.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "main.h"

void ops_info_text(FILE *f, const struct interpose_ops_info *ops)
{
	size_t i, n = interpose_ops_info__nr_devs(ops);

	fprintf(f, "%s: %s, map %u", interpose_ops_info__name(ops),
		interpose_ops_state_str(interpose_ops_info__state(ops)),
		interpose_ops_info__map_id(ops));
	if (interpose_ops_info__link_id(ops))
		fprintf(f, ", link %u", interpose_ops_info__link_id(ops));
	if (interpose_ops_info__prog_dev(ops))
		fprintf(f, ", program of %s", interpose_ops_info__prog_dev(ops));
	if (interpose_ops_info__state(ops) == INTERPOSE_OPS_REGISTERED) {
		fprintf(f, ", devices");
		if (!n)
			fprintf(f, " none");
		for (i = 0; i < n; i++)
			fprintf(f, " %s", interpose_ops_info__dev(ops, i));
	}
	fprintf(f, "\n");
}

json_object *ops_info_json(const struct interpose_ops_info *ops)
{
	size_t i, n = interpose_ops_info__nr_devs(ops);
	const char *prog_dev = interpose_ops_info__prog_dev(ops);
	json_object *obj = json_object_new_object(), *devs;

	json_object_object_add(obj, "name", json_object_new_string(
		interpose_ops_info__name(ops)));
	json_object_object_add(obj, "state", json_object_new_string(
		interpose_ops_state_str(interpose_ops_info__state(ops))));
	json_object_object_add(obj, "map_id", json_object_new_int64(
		interpose_ops_info__map_id(ops)));
	json_object_object_add(obj, "link_id",
			       interpose_ops_info__link_id(ops) ?
			       json_object_new_int64(interpose_ops_info__link_id(ops)) :
			       NULL);
	json_object_object_add(obj, "prog_dev", prog_dev ?
			       dev_name_json(prog_dev) : NULL);
	devs = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(devs, dev_name_json(
			interpose_ops_info__dev(ops, i)));
	json_object_object_add(obj, "devices", devs);
	return obj;
}

void ops_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s ops\n"
		"\n"
		"List the interposer ops (blk_interposer_ops struct_ops) the kernel\n"
		"has: name, state (registered: attachable by name; ready: loaded but\n"
		"not registered), BPF map and link ids, the device whose --prog it is,\n"
		"and the devices it is attached to.  Needs CAP_SYS_ADMIN.\n"
		"\n"
		"Options:\n"
		"  -h, --help        show this help\n"
		"  -j, -p, -d        global options, here as before COMMAND\n",
		BIN_NAME);
}

int ops_parse(int argc, char **argv, struct ops_args *a)
{
	const char *dev;

	if (parse_dev_arg("ops", argc, argv, true, &dev, &a->help))
		return EXIT_USAGE;
	if (dev && !a->help)
		return p_usage("ops", "unexpected argument '%s'", dev);
	return 0;
}

int do_ops(int argc, char **argv)
{
	struct interpose_ops_info **ops;
	json_object *arr = NULL;
	struct ops_args a;
	size_t i, cnt;
	int err;

	if (ops_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		ops_usage(stdout);
		return 0;
	}
	err = interpose_ops_list(&ops, &cnt);
	if (err)
		return p_err_lib(err);
	if (json_output)
		arr = json_object_new_array();
	for (i = 0; i < cnt; i++) {
		if (json_output)
			json_object_array_add(arr, ops_info_json(ops[i]));
		else
			ops_info_text(stdout, ops[i]);
	}
	if (json_output)
		print_json(arr);
	interpose_ops_list__free(ops, cnt);
	return 0;
}
