// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl snapshot DEV... --cow COW... [--chunk SIZE] [--name NAME]...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "main.h"

void snapshot_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s snapshot DEV [DEV]... --cow COW [--cow COW]... [--chunk SIZE] [--name NAME]...\n"
		"\n"
		"Take a point-in-time snapshot of each block device DEV, even while a\n"
		"filesystem is mounted on it, with stock dm-snapshot: the table\n"
		"\"snapshot-origin DEV\" is slid under DEV (as attach --dm-table does),\n"
		"the filesystems on all DEVs are frozen, the snapshot devices are\n"
		"created, one for each DEV with the copy-on-write store COW given in\n"
		"the same position, and the filesystems are thawed: all snapshots show\n"
		"the same point in time.  A snapshot is read-only: /dev/mapper/NAME\n"
		"(default DEVNAME-snap).  A COW device that fills up invalidates its\n"
		"snapshot (reads fail with EIO); DEV loses nothing.  'show DEV' shows\n"
		"the snapshot and how full its store is; 'detach DEV' removes the\n"
		"snapshot (refused while it is open) and the origin mapping.\n"
		"\n"
		"Options:\n"
		"  -c, --cow COW      the copy-on-write store of the DEV in the same position\n"
		"  -C, --chunk SIZE   copy-out unit: 4k (default) to 512k, a power of 2\n"
		"  -n, --name NAME    the name of the snapshot of the DEV in the same position\n"
		"  -h, --help         show this help\n"
		"  -j, -p, -d         global options, here as before COMMAND\n"
		"\n"
		"Prints the snapshot devices, one a line; with -j\n"
		"{\"snapshot\": \"/dev/mapper/NAME\", \"dev\": \"MAJ:MIN\", \"origin\": {...}, \"cow\": {...}},\n"
		"an array of them for several devices.\n",
		BIN_NAME);
}

int snapshot_parse(int argc, char **argv, struct snapshot_args *a)
{
	static const struct option opts[] = {
		{ "cow",   required_argument, NULL, 'c' },
		{ "chunk", required_argument, NULL, 'C' },
		{ "name",  required_argument, NULL, 'n' },
		{ "help",  no_argument,       NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ }
	};
	unsigned long long bytes;
	int c, err = 0;

	memset(a, 0, sizeof(*a));
	a->devs = calloc(argc, sizeof(*a->devs));
	a->cows = calloc(argc, sizeof(*a->cows));
	a->names = calloc(argc, sizeof(*a->names));
	if (!a->devs || !a->cows || !a->names) {
		snapshot_args_free(a);
		return p_usage("snapshot", "out of memory");
	}
	getopt_reset();
	while (!err && (c = getopt_long(argc, argv, ":c:C:n:h" GLOBAL_SHORTOPTS,
					opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->cows[a->nr_cows++] = optarg;
			break;
		case 'n':
			a->names[a->nr_names++] = optarg;
			break;
		case 'C':
			if (parse_size(optarg, &bytes) || bytes % 512 ||
			    bytes < 4096 || bytes > 512 * 1024 ||
			    (bytes & (bytes - 1)))
				err = p_usage("snapshot", "--chunk %s: a power of 2 from 4k to 512k",
					      optarg);
			else
				a->chunk_sectors = bytes / 512;
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			if (!global_opt(c))
				err = p_bad_option("snapshot", c, argv);
		}
	}
	while (!err && optind < argc)
		a->devs[a->nr_devs++] = argv[optind++];
	if (!err && !a->nr_devs)
		err = p_usage("snapshot", "no device given");
	if (!err && a->nr_cows != a->nr_devs)
		err = p_usage("snapshot", "%zu device%s and %zu --cow: give one --cow for each device, in order",
			      a->nr_devs, a->nr_devs > 1 ? "s" : "", a->nr_cows);
	if (!err && a->nr_names && a->nr_names != a->nr_devs)
		err = p_usage("snapshot", "%zu device%s and %zu --name: give one --name for each device, or none",
			      a->nr_devs, a->nr_devs > 1 ? "s" : "", a->nr_names);
	if (err)
		snapshot_args_free(a);
	return err;
}

void snapshot_args_free(struct snapshot_args *a)
{
	free(a->devs);
	free(a->cows);
	free(a->names);
	memset(a, 0, sizeof(*a));
}

int do_snapshot(int argc, char **argv)
{
	struct snapshot_args a;
	json_object *arr = NULL;
	size_t i;
	int err;

	if (snapshot_parse(argc, argv, &a))
		return EXIT_USAGE;
	if (a.help) {
		snapshot_usage(stdout);
		snapshot_args_free(&a);
		return 0;
	}
	LIBINTERPOSE_OPTS(interpose_snapshot_opts, opts,
		.names = a.nr_names ? a.names : NULL,
		.chunk_sectors = a.chunk_sectors,
	);
	err = interpose_snapshot(a.devs, a.cows, a.nr_devs, &opts);
	if (err) {
		snapshot_args_free(&a);
		return p_err_lib(err);
	}
	if (json_output)
		arr = json_object_new_array();
	for (i = 0; i < a.nr_devs; i++) {
		struct interpose_snapshot_info si = { .sz = sizeof(si) };
		char path[160], buf[32];
		json_object *o;

		err = interpose_snapshot_query(a.devs[i], &si);
		if (err) {
			json_object_put(arr);
			snapshot_args_free(&a);
			return p_err_lib(err);
		}
		snprintf(path, sizeof(path), "/dev/mapper/%s", si.name);
		if (!json_output) {
			printf("%s\n", path);
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "snapshot", json_object_new_string(path));
		json_object_object_add(o, "dev", json_object_new_string(
			dev_str(si.dev, buf, sizeof(buf))));
		json_object_object_add(o, "origin", json_object_new_object());
		json_add_dev_arg(json_object_object_get(o, "origin"), a.devs[i]);
		json_object_object_add(o, "cow", json_object_new_object());
		json_add_dev_arg(json_object_object_get(o, "cow"), a.cows[i]);
		json_object_array_add(arr, o);
	}
	/* one device: its object; several: an array of them, in order */
	if (json_output && a.nr_devs == 1) {
		json_object *one = json_object_get(json_object_array_get_idx(arr, 0));

		json_object_put(arr);
		arr = one;
	}
	if (json_output)
		print_json(arr);
	snapshot_args_free(&a);
	return 0;
}

/* The snapshot of @dev for show: NULL if it has none. */
json_object *snapshot_json(const char *dev)
{
	struct interpose_snapshot_info si = { .sz = sizeof(si) };
	char path[160], buf[32];
	json_object *o;

	if (interpose_snapshot_query(dev, &si))
		return NULL;
	snprintf(path, sizeof(path), "/dev/mapper/%s", si.name);
	o = json_object_new_object();
	json_object_object_add(o, "snapshot", json_object_new_string(path));
	json_object_object_add(o, "dev", json_object_new_string(
		dev_str(si.dev, buf, sizeof(buf))));
	json_object_object_add(o, "cow", dev_json(dev_name(si.cow, buf, sizeof(buf)),
						  si.cow));
	json_object_object_add(o, "state", json_object_new_string(
		interpose_snapshot_state_str(si.state)));
	json_object_object_add(o, "allocated", json_object_new_int64(si.allocated));
	json_object_object_add(o, "total", json_object_new_int64(si.total));
	json_object_object_add(o, "metadata", json_object_new_int64(si.metadata));
	json_object_object_add(o, "chunk_sectors",
			       json_object_new_int64(si.chunk_sectors));
	json_object_object_add(o, "open_count", json_object_new_int(si.open_count));
	return o;
}

void snapshot_text(FILE *f, const char *dev)
{
	struct interpose_snapshot_info si = { .sz = sizeof(si) };
	char buf[32], cbuf[32];

	if (interpose_snapshot_query(dev, &si))
		return;
	fprintf(f, "  snapshot /dev/mapper/%s (%s): cow %s, %s", si.name,
		dev_str(si.dev, buf, sizeof(buf)),
		dev_name(si.cow, cbuf, sizeof(cbuf)),
		interpose_snapshot_state_str(si.state));
	if (si.state == INTERPOSE_SNAPSHOT_VALID)
		fprintf(f, ", %llu/%llu sectors used (%llu metadata)",
			(unsigned long long)si.allocated,
			(unsigned long long)si.total,
			(unsigned long long)si.metadata);
	fprintf(f, ", chunk %u sectors, open %d\n", si.chunk_sectors,
		si.open_count);
}
