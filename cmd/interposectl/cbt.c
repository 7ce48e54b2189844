// SPDX-License-Identifier: GPL-2.0
/*
 * interposectl cbt DEV --start [--block-size SIZE] | DEV [--reset] | DEV --stop
 *
 * Changed-block tracking: an observer of the ready program cbt (carried
 * here as a skeleton) marks the blocks that writes, discards and
 * write-zeroes touch in a bitmap of two generations; cbt DEV reads it as
 * extents, --reset reads and clears it without losing a racing write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/blk-interposer.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <bpf/libbpf.h>

#include "main.h"
#include "cbt.skel.h"

#define CBT_MAP		"cbt_words"
#define CBT_MIN_SHIFT	12
#define CBT_MAX_SHIFT	20

void cbt_usage(FILE *f)
{
	fprintf(f,
		"Usage: %1$s cbt DEV --start [--block-size SIZE]\n"
		"       %1$s cbt DEV [--reset]\n"
		"       %1$s cbt DEV --stop\n"
		"\n"
		"Changed-block tracking.  --start attaches an observer (the ready program\n"
		"cbt, named cbt_NAME after DEV's kernel name) that marks every block a\n"
		"write, discard or write-zeroes touches, at submission, beside any policy.\n"
		"cbt DEV prints the marked blocks as extents (byte offset and length,\n"
		"adjacent blocks merged, sorted); --reset prints the blocks marked since\n"
		"the last reset and clears them: a write racing with it is printed by\n"
		"this read or by the next one, never lost.  --stop detaches the observer.\n"
		"\n"
		"Options:\n"
		"  -b, --block-size SIZE  tracking unit: 4k (default) to 1M, a power of 2\n"
		"  -r, --reset            print and clear (the blocks since the last reset)\n"
		"      --start            start tracking DEV\n"
		"      --stop             stop tracking DEV\n"
		"  -h, --help             show this help\n"
		"\n"
		"-j prints {\"block_size\": N, \"extents\": [{\"offset\": BYTES, \"length\": BYTES}, ...]}.\n",
		BIN_NAME);
}

int cbt_parse(int argc, char **argv, struct cbt_args *a)
{
	enum { OPT_START = 256, OPT_STOP };
	static const struct option opts[] = {
		{ "start",      no_argument,       NULL, OPT_START },
		{ "stop",       no_argument,       NULL, OPT_STOP },
		{ "reset",      no_argument,       NULL, 'r' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "help",       no_argument,       NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ }
	};
	unsigned long long bytes;
	bool has_size = false;
	int c, err = 0;

	memset(a, 0, sizeof(*a));
	a->block_shift = CBT_MIN_SHIFT;
	getopt_reset();
	while (!err && (c = getopt_long(argc, argv, ":rb:h" GLOBAL_SHORTOPTS,
					opts, NULL)) != -1) {
		switch (c) {
		case OPT_START:
			a->start = true;
			break;
		case OPT_STOP:
			a->stop = true;
			break;
		case 'r':
			a->reset = true;
			break;
		case 'b':
			has_size = true;
			if (parse_size(optarg, &bytes) || bytes < 4096 ||
			    bytes > (1 << CBT_MAX_SHIFT) || (bytes & (bytes - 1)))
				err = p_usage("cbt", "--block-size %s: a power of 2 from 4k to 1M",
					      optarg);
			else
				a->block_shift = __builtin_ctzll(bytes);
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			if (!global_opt(c))
				err = p_bad_option("cbt", c, argv);
		}
	}
	if (err)
		return err;
	if (optind >= argc)
		return p_usage("cbt", "no device given");
	a->dev = argv[optind++];
	if (optind < argc)
		return p_usage("cbt", "unexpected argument '%s'", argv[optind]);
	if (a->start + a->stop + a->reset > 1)
		return p_usage("cbt", "--start, --stop and --reset go alone");
	if (has_size && !a->start)
		return p_usage("cbt", "--block-size goes with --start");
	return 0;
}

/*
 * The name of DEV's cbt observer in @ops (@len bytes): 1 if it has one,
 * 0 if not, or the exit status after reporting the error (negative).
 */
static int cbt_find(const char *dev, struct interpose_info **infop,
		    char *ops, size_t len)
{
	char spec[PATH_MAX + BLKINTERPOSE_NAME_LEN + 1];
	unsigned int i, n;
	const char *name;
	int err, fd;

	*infop = NULL;
	err = interpose_query(dev, infop);
	if (err)
		return -p_err_lib(err);
	n = interpose_info__nr_observers(*infop);
	for (i = 0; i < n; i++) {
		name = interpose_info__observer_name(*infop, i);
		snprintf(spec, sizeof(spec), "%s@%s", dev, name);
		fd = interpose_prog_map_fd(spec, CBT_MAP);
		if (fd < 0)
			continue;
		close(fd);
		snprintf(ops, len, "%s", name);
		return 1;
	}
	return 0;
}

/* The size of @info's device in bytes, from sysfs: 0 or -errno. */
static int cbt_dev_bytes(const struct interpose_info *info, __u64 *bytes)
{
	dev_t dev = interpose_info__dev(info);
	unsigned long long sectors;
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/size", major(dev),
		 minor(dev));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%llu", &sectors);
	fclose(f);
	if (n != 1)
		return -EINVAL;
	*bytes = sectors << 9;
	return 0;
}

static int cbt_start(const struct cbt_args *a)
{
	char ops[BLKINTERPOSE_NAME_LEN], *c;
	struct interpose_info *info;
	struct cbt_bpf *skel;
	__u64 bytes, blocks, words;
	int err;

	err = cbt_find(a->dev, &info, ops, sizeof(ops));
	if (err < 0)
		return -err;
	if (err) {
		err = p_err(EEXIST, "cbt %s: changed blocks are tracked already (observer %s); cbt %s --stop first",
			    a->dev, ops, a->dev);
		goto out;
	}
	snprintf(ops, sizeof(ops), "cbt_%s", interpose_info__name(info));
	for (c = ops; *c; c++)
		if (*c != '_' && *c != '.' && !(*c >= '0' && *c <= '9') &&
		    !(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z'))
			*c = '_';
	err = cbt_dev_bytes(info, &bytes);
	if (err) {
		err = p_err(-err, "cbt %s: cannot read the device's size", a->dev);
		goto out;
	}
	blocks = (bytes + (1ULL << a->block_shift) - 1) >> a->block_shift;
	words = (blocks + 63) / 64 ?: 1;
	if (2 * words > UINT32_MAX / 8) {
		err = p_err(E2BIG, "cbt %s: %llu blocks of %u bytes are too many for one bitmap: choose a larger --block-size",
			    a->dev, (unsigned long long)blocks,
			    1U << a->block_shift);
		goto out;
	}
	skel = cbt_bpf__open();
	if (!skel) {
		err = p_err(errno, "cbt %s: cannot open the program cbt", a->dev);
		goto out;
	}
	skel->rodata->block_shift = a->block_shift;
	skel->rodata->nr_words = words;
	err = bpf_map__set_max_entries(skel->maps.cbt_words, 2 * words);
	if (err) {
		err = p_err(-err, "cbt %s: cannot size the bitmap", a->dev);
	} else {
		LIBINTERPOSE_OPTS(interpose_attach_opts, opts,
			.flags = INTERPOSE_ATTACH_OBSERVER,
			.prog_obj = skel->obj,
			.ops_name = ops,
		);

		err = interpose_attach(a->dev, &opts);
		if (err)
			err = p_err_lib(err);
	}
	cbt_bpf__destroy(skel);
	if (!err && json_output) {
		json_object *o = json_object_new_object();

		json_add_dev_arg(o, a->dev);
		json_object_object_add(o, "observer", json_object_new_string(ops));
		json_object_object_add(o, "block_size",
				       json_object_new_int64(1LL << a->block_shift));
		print_json(o);
	}
out:
	interpose_info__free(info);
	return err;
}

static int cbt_stop(const struct cbt_args *a)
{
	char ops[BLKINTERPOSE_NAME_LEN];
	struct interpose_info *info;
	int err;

	err = cbt_find(a->dev, &info, ops, sizeof(ops));
	interpose_info__free(info);
	if (err < 0)
		return -err;
	if (!err)
		return p_err(ENOENT, "cbt %s: changed blocks are not tracked (cbt %s --start)",
			     a->dev, a->dev);
	{
		LIBINTERPOSE_OPTS(interpose_detach_opts, opts, .observer = ops);

		err = interpose_detach(a->dev, &opts);
	}
	if (err)
		return p_err_lib(err);
	if (json_output) {
		json_object *o = json_object_new_object();

		json_add_dev_arg(o, a->dev);
		json_object_object_add(o, "stopped", json_object_new_string(ops));
		print_json(o);
	}
	return 0;
}

json_object *cbt_extents_json(const __u64 *bits, __u64 words,
			      unsigned int shift, __u64 dev_bytes)
{
	json_object *o = json_object_new_object(), *arr, *e;
	__u64 total = 0, b, start = 0, end;
	bool in = false, set;

	arr = json_object_new_array();
	json_object_object_add(o, "block_size",
			       json_object_new_int64(1LL << shift));
	for (b = 0; b <= words * 64; b++) {
		/* skip a word without a mark */
		if (!in && !(b % 64) && b < words * 64 && !bits[b / 64]) {
			b += 63;
			continue;
		}
		set = b < words * 64 && (bits[b / 64] >> (b % 64) & 1);
		if (set && !in) {
			start = b;
			in = true;
		}
		if (set || !in)
			continue;
		in = false;
		/* the last block may reach past the end of the device */
		end = b << shift;
		if (end > dev_bytes)
			end = dev_bytes;
		if (end <= start << shift)
			continue;
		total += end - (start << shift);
		e = json_object_new_object();
		json_object_object_add(e, "offset",
				       json_object_new_int64(start << shift));
		json_object_object_add(e, "length",
				       json_object_new_int64(end - (start << shift)));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "extents", arr);
	json_object_object_add(o, "bytes", json_object_new_int64(total));
	return o;
}

/* cbt_extents_json() as text: a header, then OFFSET LENGTH per extent. */
static void cbt_text(json_object *o)
{
	json_object *arr = json_object_object_get(o, "extents"), *e;
	size_t i, n = json_object_array_length(arr);

	printf("%-16s %s\n", "OFFSET", "LENGTH");
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		printf("%-16" PRId64 " %" PRId64 "\n",
		       json_object_get_int64(json_object_object_get(e, "offset")),
		       json_object_get_int64(json_object_object_get(e, "length")));
	}
	fprintf(stderr, "%zu extents, %" PRId64 " bytes in blocks of %" PRId64 "\n",
		n, json_object_get_int64(json_object_object_get(o, "bytes")),
		json_object_get_int64(json_object_object_get(o, "block_size")));
	json_object_put(o);
}

static int cbt_read(const struct cbt_args *a)
{
	char ops[BLKINTERPOSE_NAME_LEN];
	char spec[PATH_MAX + BLKINTERPOSE_NAME_LEN + 1];
	struct interpose_info *info;
	struct interpose_prog *prog = NULL;
	__u64 shift, words, g, ov, dev_bytes, i, *map = MAP_FAILED, *bits = NULL;
	size_t map_len = 0;
	__u32 flip;
	int err, fd;

	err = cbt_find(a->dev, &info, ops, sizeof(ops));
	if (err < 0)
		return -err;
	if (!err) {
		err = p_err(ENOENT, "cbt %s: changed blocks are not tracked (cbt %s --start)",
			    a->dev, a->dev);
		goto out;
	}
	snprintf(spec, sizeof(spec), "%s@%s", a->dev, ops);
	err = interpose_prog__open(spec, &prog);
	if (!err)
		err = interpose_prog__var(prog, "block_shift", &shift);
	if (!err)
		err = interpose_prog__var(prog, "nr_words", &words);
	if (!err)
		err = interpose_prog__var(prog, "gen", &g);
	if (!err)
		err = interpose_prog__var(prog, "overflow", &ov);
	if (err) {
		err = p_err_lib(err);
		goto out;
	}
	/*
	 * Writes past the bitmap (the device grew) are marked nowhere: no
	 * list of changed blocks is complete any more, so none is given
	 * (and a reset clears nothing).
	 */
	if (ov) {
		err = p_err(EOVERFLOW, "cbt %s: %llu writes reached past the %llu bytes tracked (the device grew), and the bitmap misses them: cbt %s --stop, then --start again and copy it all",
			    a->dev, (unsigned long long)ov,
			    (unsigned long long)(words * 64) << shift, a->dev);
		goto out;
	}
	fd = interpose_prog__map_fd(prog, CBT_MAP);
	if (fd < 0) {
		err = p_err_lib(fd);
		goto out;
	}
	err = cbt_dev_bytes(info, &dev_bytes);
	if (err) {
		err = p_err(-err, "cbt %s: cannot read the device's size", a->dev);
		goto out;
	}
	map_len = 2 * words * sizeof(__u64);
	map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	bits = calloc(words, sizeof(__u64));
	if (map == MAP_FAILED || !bits) {
		err = p_err(map == MAP_FAILED ? errno : ENOMEM,
			    "cbt %s: cannot map the bitmap of %s", a->dev, spec);
		goto out;
	}
	g &= 1;
	if (a->reset) {
		/*
		 * Bios mark the other generation from now on; after a grace
		 * period every bio that still marked generation g has done
		 * so: take its words and zero them.  A bio that read @gen
		 * before the flip and marks late is reported next time.
		 */
		flip = !g;
		err = interpose_prog__set_var(prog, "gen", &flip, sizeof(flip));
		if (err) {
			err = p_err_lib(err);
			goto out;
		}
		if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
			usleep(10000);
		for (i = 0; i < words; i++)
			bits[i] = __atomic_exchange_n(&map[g * words + i], 0,
						      __ATOMIC_SEQ_CST);
	} else {
		for (i = 0; i < words; i++)
			bits[i] = __atomic_load_n(&map[i], __ATOMIC_RELAXED) |
				  __atomic_load_n(&map[words + i], __ATOMIC_RELAXED);
	}
	{
		json_object *o = cbt_extents_json(bits, words, shift, dev_bytes);

		if (json_output) {
			json_add_dev(o, interpose_info__name(info),
				     interpose_info__dev(info));
			print_json(o);
		}
		else
			cbt_text(o);
	}
out:
	if (map != MAP_FAILED)
		munmap(map, map_len);
	free(bits);
	interpose_prog__free(prog);
	interpose_info__free(info);
	return err;
}

int do_cbt(int argc, char **argv)
{
	struct cbt_args a;
	int err;

	err = cbt_parse(argc, argv, &a);
	if (err)
		return err;
	if (a.help) {
		cbt_usage(stdout);
		return 0;
	}
	if (a.start)
		return cbt_start(&a);
	if (a.stop)
		return cbt_stop(&a);
	return cbt_read(&a);
}
