// SPDX-License-Identifier: GPL-2.0
/*
 * The layering of libinterpose, read off the static library's symbol
 * tables (nm): which file calls which.  The files call downwards only,
 * in the layers libinterpose_internal.h lists, never a public entry point
 * (interpose_*) of another file, and no two files call each other, even
 * through others.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define MAX_FILES	32
#define MAX_SYMS	1024

static const struct {
	const char *file;
	int layer;
} layers[] = {
	{ "util.o", 0 }, { "libbpf_private.o", 0 }, { "backend.o", 0 },
	{ "dev.o", 1 }, { "dm.o", 1 }, { "query.o", 1 }, { "filter.o", 1 },
	{ "prog.o", 2 }, { "pin.o", 2 }, { "ops.o", 2 },
	{ "interposer.o", 3 }, { "events.o", 3 }, { "handle.o", 4 },
	{ "snapshot.o", 4 },
};

static struct {
	char file[64];
	char sym[128];
	bool defined;
} syms[MAX_SYMS * 4];
static size_t nr_syms;

static char files[MAX_FILES][64];
static size_t nr_files;
/* calls[a][b]: file a uses a symbol that file b defines */
static bool calls[MAX_FILES][MAX_FILES];

static int file_idx(const char *f)
{
	size_t i;

	for (i = 0; i < nr_files; i++)
		if (!strcmp(files[i], f))
			return i;
	assert_true(nr_files < MAX_FILES);
	snprintf(files[nr_files], sizeof(files[0]), "%s", f);
	return nr_files++;
}

static int layer_of(const char *f)
{
	size_t i;

	for (i = 0; i < sizeof(layers) / sizeof(layers[0]); i++)
		if (!strcmp(layers[i].file, f))
			return layers[i].layer;
	return -1;
}

/* "lib.a:dev.o:                 U ip_err", "...:0000000000000120 T ip_x" */
static void read_symbols(void)
{
	char cmd[PATH_MAX + 64], line[512], *p, *obj, *rest;
	char type, name[128];
	unsigned long long addr;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nm -A '%s' 2>/dev/null", UNIT_LIBINTERPOSE_A);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		p = strchr(line, ':');
		if (!p)
			continue;
		obj = p + 1;
		p = strchr(obj, ':');
		if (!p)
			continue;
		*p = '\0';
		rest = p + 1;
		if (sscanf(rest, " %llx %c %127s", &addr, &type, name) != 3 &&
		    sscanf(rest, " %c %127s", &type, name) != 2)
			continue;
		if (type != 'U' && type != 'T')
			continue;
		assert_true(nr_syms < sizeof(syms) / sizeof(syms[0]));
		snprintf(syms[nr_syms].file, sizeof(syms[0].file), "%s", obj);
		snprintf(syms[nr_syms].sym, sizeof(syms[0].sym), "%s", name);
		syms[nr_syms].defined = type == 'T';
		nr_syms++;
		file_idx(obj);
	}
	assert_int_equal(pclose(f), 0);
}

static bool reaches(int from, int to, bool *seen)
{
	size_t i;

	if (from == to)
		return true;
	seen[from] = true;
	for (i = 0; i < nr_files; i++)
		if (calls[from][i] && !seen[i] && reaches(i, to, seen))
			return true;
	return false;
}

static void test_layers(void **state)
{
	size_t i, j, edges = 0, bad = 0;

	(void)state;
	read_symbols();
	assert_true(nr_files >= 8);
	for (i = 0; i < nr_syms; i++) {
		if (syms[i].defined)
			continue;
		for (j = 0; j < nr_syms; j++) {
			int a, b;

			if (!syms[j].defined || strcmp(syms[i].sym, syms[j].sym) ||
			    !strcmp(syms[i].file, syms[j].file))
				continue;
			a = file_idx(syms[i].file);
			b = file_idx(syms[j].file);
			if (!calls[a][b])
				edges++;
			calls[a][b] = true;
			if (!strncmp(syms[i].sym, "interpose_", 10) ||
			    !strncmp(syms[i].sym, "libinterpose_", 13)) {
				printf("%s calls %s, a public entry point of %s\n",
				       syms[i].file, syms[i].sym, syms[j].file);
				bad++;
			}
			if (layer_of(syms[i].file) < 0 || layer_of(syms[j].file) < 0) {
				printf("%s or %s is in no layer (test_layers.c)\n",
				       syms[i].file, syms[j].file);
				bad++;
			} else if (layer_of(syms[i].file) < layer_of(syms[j].file)) {
				printf("%s calls %s of %s, a higher layer\n",
				       syms[i].file, syms[i].sym, syms[j].file);
				bad++;
			}
		}
	}
	for (i = 0; i < nr_files; i++)
		for (j = 0; j < nr_files; j++) {
			bool seen[MAX_FILES] = { };

			if (i != j && calls[i][j] && reaches(j, i, seen)) {
				printf("%s and %s call each other\n", files[i],
				       files[j]);
				bad++;
			}
		}
	assert_true(edges > 10);
	assert_int_equal(bad, 0);
}

int run_layers_tests(unsigned int *total)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layers),
	};

	return RUN_GROUP("layers", tests, NULL, NULL, total);
}
