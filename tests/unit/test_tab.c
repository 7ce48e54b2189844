// SPDX-License-Identifier: GPL-2.0
/*
 * interposetab(5) lines: splitting into words, quoting back, parsing the
 * line options and the attach options, and every refusal with its column
 * or reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "unit.h"
#include "main.h"

static void expect_words(const char *line, const char *const *want, size_t n)
{
	const char *why = NULL;
	size_t got_n, col = 0, i;
	char **words;

	assert_int_equal(tab_split(line, &words, &got_n, &col, &why), 0);
	assert_int_equal(got_n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(words[i], want[i]);
	if (words)
		assert_null(words[n]);
	for (i = 0; i < n; i++)
		free(words[i]);
	free(words);
}

static void test_split_words(void **state)
{
	(void)state;
	expect_words("", NULL, 0);
	expect_words("   \t ", NULL, 0);
	expect_words("# only a comment", NULL, 0);
	expect_words("/dev/sda --to /dev/sdb",
		     (const char *[]){ "/dev/sda", "--to", "/dev/sdb" }, 3);
	expect_words("  a\tb  # comment 'x",
		     (const char *[]){ "a", "b" }, 2);
	/* # inside a word is the word's */
	expect_words("a --set x=b#c", (const char *[]){ "a", "--set", "x=b#c" }, 3);
	expect_words("a '0 8 linear /dev/a 0'",
		     (const char *[]){ "a", "0 8 linear /dev/a 0" }, 2);
	expect_words("a \"say \\\"hi\\\" \\\\ \" b",
		     (const char *[]){ "a", "say \"hi\" \\ ", "b" }, 3);
	expect_words("a\\ b 'c'\"d\"e ''",
		     (const char *[]){ "a b", "cde", "" }, 3);
	expect_words("'it'\\''s'", (const char *[]){ "it's" }, 1);
}

static void expect_split_error(const char *line, size_t want_col,
			       const char *want_why)
{
	const char *why = NULL;
	size_t n = 99, col = 0;
	char **words = (char **)1;

	assert_int_equal(tab_split(line, &words, &n, &col, &why), -EINVAL);
	assert_null(words);
	assert_int_equal(n, 0);
	assert_int_equal(col, want_col);
	assert_string_equal(why, want_why);
}

static void test_split_errors(void **state)
{
	(void)state;
	expect_split_error("/dev/a 'x", 8, "unterminated ' quote");
	expect_split_error("a \"x\\\"", 3, "unterminated \" quote");
	expect_split_error("a b\\", 4, "\\ at the end of the line");
}

/* tab_quote() then tab_split() gives the word back. */
static void test_quote_round_trip(void **state)
{
	static const char *const words[] = {
		"/dev/disk/by-id/ata-X_Y-part1", "0 100 linear /dev/a 0",
		"it's", "", "a\"b\\c", "#x", "tab\there", "msg=hello world",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		char *buf = NULL, **got, *line;
		size_t len = 0, n, col;
		const char *why;
		FILE *f = open_memstream(&buf, &len);

		tab_quote(f, words[i]);
		fclose(f);
		assert_int_equal(asprintf(&line, "dev %s", buf) > 0, 1);
		assert_int_equal(tab_split(line, &got, &n, &col, &why), 0);
		assert_int_equal(n, 2);
		assert_string_equal(got[1], words[i]);
		free(got[0]);
		free(got[1]);
		free(got);
		free(line);
		free(buf);
	}
	/* plain words stay unquoted */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		tab_quote(f, "/dev/disk/by-uuid/1234-ab:c=d,e+f@g");
		fclose(f);
		assert_string_equal(buf, "/dev/disk/by-uuid/1234-ab:c=d,e+f@g");
		free(buf);
	}
}

static void test_parse_line(void **state)
{
	struct tab_line l;

	(void)state;
	assert_int_equal(tab_parse_line("   # nothing", 3, &l), 1);
	tab_line_free(&l);

	assert_int_equal(tab_parse_line("/dev/a --to /dev/b nofail --to=/dev/c", 7, &l), 0);
	assert_true(l.valid);
	assert_int_equal(l.lineno, 7);
	assert_true(l.nofail);
	assert_false(l.required);
	assert_string_equal(l.a.dev, "/dev/a");
	assert_int_equal(l.a.nr_targets, 2);
	assert_string_equal(l.a.targets[0], "/dev/b");
	assert_string_equal(l.a.targets[1], "/dev/c");
	tab_line_free(&l);

	/* a value carried in the option's word: the next word is a line option */
	assert_int_equal(tab_parse_line("a -t/dev/b nofail --to=/dev/c required", 1, &l), -EINVAL);
	assert_string_equal(l.error, "nofail and required exclude each other");
	tab_line_free(&l);
	assert_int_equal(tab_parse_line("a -t/dev/b nofail --ops=x", 1, &l), 0);
	assert_true(l.nofail);
	assert_string_equal(l.a.targets[0], "/dev/b");
	assert_string_equal(l.a.ops, "x");
	tab_line_free(&l);

	/* a line option as the value of an option is that option's value */
	assert_int_equal(tab_parse_line("a --ops nofail required", 1, &l), 0);
	assert_string_equal(l.a.ops, "nofail");
	assert_true(l.required);
	assert_false(l.nofail);
	tab_line_free(&l);

	assert_int_equal(tab_parse_line("a --prog /nonexistent/x.bpf.o --set 'msg=a b' -s n=1", 1, &l), 0);
	assert_string_equal(l.a.prog, "/nonexistent/x.bpf.o");
	assert_null(l.prog_abs);
	assert_int_equal(l.a.nr_vars, 2);
	assert_string_equal(l.a.vars[0], "msg=a b");
	assert_string_equal(l.a.vars[1], "n=1");
	tab_line_free(&l);

	assert_int_equal(tab_parse_line("a --dm-table '0 8 linear /dev/a 0'", 1, &l), 0);
	assert_string_equal(l.a.dm_table, "0 8 linear /dev/a 0");
	tab_line_free(&l);
}

static void expect_line_error(const char *text, const char *want)
{
	struct tab_line l;

	assert_int_equal(tab_parse_line(text, 4, &l), -EINVAL);
	assert_false(l.valid);
	assert_string_equal(l.error, want);
	assert_int_equal(l.lineno, 4);
	tab_line_free(&l);
}

static void test_parse_line_errors(void **state)
{
	(void)state;
	expect_line_error("--to /dev/b /dev/a",
			  "a line starts with the device, not with an option ('--to')");
	expect_line_error("/dev/a", "no --to, --ops, --prog or --dm-table: nothing to attach");
	expect_line_error("/dev/a nofail", "no --to, --ops, --prog or --dm-table: nothing to attach");
	expect_line_error("/dev/a --to", "option '--to' needs an argument");
	expect_line_error("/dev/a --to b --bogus", "unknown option '--bogus'");
	expect_line_error("/dev/a --to b extra", "unexpected argument 'extra'");
	expect_line_error("/dev/a --to b -j", "option '-j' has no place in a tab line");
	expect_line_error("/dev/a --to b --help", "option '--help' has no place in a tab line");
	/* derived from attach's own options: clusters and long forms too */
	expect_line_error("/dev/a --to b -jp", "option '-jp' has no place in a tab line");
	expect_line_error("/dev/a --to b --pretty", "option '--pretty' has no place in a tab line");
	expect_line_error("/dev/a --to b -d", "option '-d' has no place in a tab line");
	/* an observer is attached by hand or by trace/hist, not from the tab */
	expect_line_error("/dev/a --ops t --observer", "option '--observer' has no place in a tab line");
	expect_line_error("/dev/a --ops t -O", "option '-O' has no place in a tab line");
	expect_line_error("/dev/a --to b nofail required", "nofail and required exclude each other");
	expect_line_error("/dev/a --prog x.bpf.o", "--prog x.bpf.o: a tab line needs an absolute path");
	expect_line_error("/dev/a --set x=1 --to b", "--set needs --prog");
	expect_line_error("/dev/a --dm-table '0 8 zero' --to b",
			  "--dm-table cannot be combined with --to, --ops or --prog");
	expect_line_error("/dev/a --ops x --ops y", "--ops given twice");
	expect_line_error("/dev/a \"--to", "column 8: unterminated \" quote");
}

/* Nothing of a line's parse leaks to stderr or flips the JSON mode. */
static void test_parse_line_quiet(void **state)
{
	struct tab_line l;
	char *err;

	(void)state;
	json_output = false;
	capture_start(2);
	tab_parse_line("/dev/a --bogus", 1, &l);
	tab_line_free(&l);
	tab_parse_line("/dev/a --to b --json", 1, &l);
	tab_line_free(&l);
	err = capture_end(2);
	assert_string_equal(err, "");
	assert_false(json_output);
	free(err);
}

static void test_apply_args(void **state)
{
	struct apply_args a;
	char *err;

	(void)state;
	assert_int_equal(apply_parse(1, (char *[]){ "apply", NULL }, &a), 0);
	assert_string_equal(a.file, "/etc/interposetab");
	assert_false(a.check);
	setenv("INTERPOSETAB", "/tmp/other", 1);
	assert_int_equal(apply_parse(1, (char *[]){ "apply", NULL }, &a), 0);
	assert_string_equal(a.file, "/tmp/other");
	unsetenv("INTERPOSETAB");
	assert_int_equal(apply_parse(5, (char *[]){ "apply", "f", "--check",
			 "-D", "/dev/a", NULL }, &a), 0);
	assert_string_equal(a.file, "f");
	assert_true(a.check);
	assert_string_equal(a.device, "/dev/a");
	capture_start(2);
	assert_int_equal(apply_parse(4, (char *[]){ "apply", "--prune",
			 "--device", "x", NULL }, &a), EXIT_USAGE);
	assert_int_equal(apply_parse(3, (char *[]){ "apply", "a", "b", NULL }, &a),
			 EXIT_USAGE);
	err = capture_end(2);
	assert_non_null(strstr(err, "--prune works on the whole file"));
	assert_non_null(strstr(err, "unexpected argument 'b'"));
	free(err);
}

static void test_read_file(void **state)
{
	char path[] = "/tmp/tab-unit.XXXXXX";
	struct tab t;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# header\n\n/dev/a --to /dev/b\n  # indented\n/dev/c --bogus\n/dev/d --ops x required", f);
	fclose(f);
	assert_int_equal(tab_read(path, &t), 0);
	unlink(path);
	assert_int_equal(t.nr_lines, 3);
	assert_int_equal(t.lines[0].lineno, 3);
	assert_true(t.lines[0].valid);
	assert_int_equal(t.lines[1].lineno, 5);
	assert_false(t.lines[1].valid);
	assert_string_equal(t.lines[1].error, "unknown option '--bogus'");
	assert_int_equal(t.lines[2].lineno, 6);
	assert_true(t.lines[2].required);
	tab_free(&t);
	assert_int_equal(tab_read("/nonexistent/tab", &t), -ENOENT);
}

/* As systemd-escape --path does. */
static void test_escape_path(void **state)
{
	static const char *const cases[][2] = {
		{ "/dev/disk/by-uuid/abcd-1234", "dev-disk-by\\x2duuid-abcd\\x2d1234" },
		{ "/mnt/b x", "mnt-b\\x20x" },
		{ "/dev/loop0", "dev-loop0" },
		{ "/.hidden/x", "\\x2ehidden-x" },
		{ "/a//b/", "a-b" },
		{ "/", "-" },
		{ "/dev/disk/by-path/pci-0000:00:1f.2-ata-3",
		  "dev-disk-by\\x2dpath-pci\\x2d0000:00:1f.2\\x2data\\x2d3" },
	};
	char buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gen_escape_path(cases[i][0], buf, sizeof(buf));
		assert_string_equal(buf, cases[i][1]);
	}
}

static char *slurp(const char *dir, const char *name)
{
	char path[512], *buf = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static bool is_link(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !lstat(path, &st) && S_ISLNK(st.st_mode);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The generator's units, links and drop-ins for a tab and an fstab. */
static void test_generator(void **state)
{
	char dir[] = "/tmp/gen-unit.XXXXXX", tab[64], fstab[64], cmd[256];
	char *argv[] = { (char *)"interpose-generator", dir, dir, dir, NULL };
	char *unit, *err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(tab, sizeof(tab), "%s.tab", dir);
	snprintf(fstab, sizeof(fstab), "%s.fstab", dir);
	write_file(tab,
		   "/dev/disk/by-uuid/abcd-1234 --to /dev/sdz required\n"
		   "/dev/vdb --to /dev/vdc nofail\n"
		   "/dev/vdc --bogus\n"
		   "/dev/vdb --to /dev/vdd\n");
	write_file(fstab,
		   "UUID=abcd-1234 /srv/data ext4 defaults 0 2\n"
		   "/dev/vdb /mnt/b\\040x xfs defaults,nofail 0 0\n"
		   "/dev/vdb none swap sw 0 0\n"
		   "/dev/vdb / ext4 defaults 0 1\n"
		   "LABEL=other /other ext4 defaults 0 2\n");
	snprintf(cmd, sizeof(cmd), "quiet interposetab=%s ro", tab);
	setenv("SYSTEMD_PROC_CMDLINE", cmd, 1);
	setenv("SYSTEMD_FSTAB", fstab, 1);
	setenv("SYSTEMD_LOG_TARGET", "console", 1);
	capture_start(2);
	assert_int_equal(generator_main(4, argv), 0);
	err = capture_end(2);
	assert_non_null(strstr(err, ".tab:3: unknown option '--bogus'; line skipped"));
	assert_non_null(strstr(err, ".tab:4: /dev/vdb is listed twice; line skipped"));
	free(err);

	unit = slurp(dir, "interpose-dev-disk-by\\x2duuid-abcd\\x2d1234.service");
	assert_non_null(unit);
	assert_non_null(strstr(unit, "\nBindsTo=dev-disk-by\\x2duuid-abcd\\x2d1234.device\n"));
	assert_non_null(strstr(unit, "\nBefore=blockdev@dev-disk-by\\x2duuid-abcd\\x2d1234.target\n"));
	assert_non_null(strstr(unit, "\nWants=local-fs-pre.target\nBefore=local-fs-pre.target\n"));
	assert_non_null(strstr(unit, "--device \"/dev/disk/by-uuid/abcd-1234\"\n"));
	free(unit);
	assert_true(is_link(dir, "local-fs-pre.target.requires/interpose-dev-disk-by\\x2duuid-abcd\\x2d1234.service"));
	assert_true(is_link(dir, "sysinit.target.wants/interpose-dev-vdb.service"));
	assert_false(is_link(dir, "local-fs-pre.target.requires/interpose-dev-vdb.service"));
	unit = slurp(dir, "interpose-dev-vdb.service");
	assert_non_null(unit);
	assert_null(strstr(unit, "local-fs-pre"));
	free(unit);
	assert_null(slurp(dir, "interpose-dev-vdc.service"));

	/* UUID= is the by-uuid link: its mount requires the interposer */
	unit = slurp(dir, "srv-data.mount.d/50-interpose.conf");
	assert_non_null(unit);
	assert_non_null(strstr(unit, "\nRequires=interpose-dev-disk-by\\x2duuid-abcd\\x2d1234.service\n"));
	free(unit);
	/* nofail: wanted only; swap and / are left alone */
	unit = slurp(dir, "mnt-b\\x20x.mount.d/50-interpose.conf");
	assert_non_null(unit);
	assert_non_null(strstr(unit, "\nWants=interpose-dev-vdb.service\nAfter=interpose-dev-vdb.service\n"));
	free(unit);
	assert_null(slurp(dir, "-.mount.d/50-interpose.conf"));
	assert_null(slurp(dir, "other.mount.d/50-interpose.conf"));
	/* the hotplug units read the same tab */
	unit = slurp(dir, "interpose-hotplug@.service.d/50-tab.conf");
	assert_non_null(unit);
	assert_non_null(strstr(unit, "Environment=\"INTERPOSETAB="));
	free(unit);

	/* interposetab=no: nothing at all */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/* && rmdir '%s'", dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_non_null(mkdtemp(strcpy(dir, "/tmp/gen-unit.XXXXXX")));
	setenv("SYSTEMD_PROC_CMDLINE", "interposetab=no", 1);
	capture_start(2);
	assert_int_equal(generator_main(4, argv), 0);
	free(capture_end(2));
	assert_null(slurp(dir, "interpose-dev-vdb.service"));
	/* a tab named on the command line that does not exist: logged */
	setenv("SYSTEMD_PROC_CMDLINE", "interposetab=/nonexistent/tab", 1);
	capture_start(2);
	assert_int_equal(generator_main(4, argv), 1);
	err = capture_end(2);
	assert_non_null(strstr(err, "cannot read /nonexistent/tab"));
	free(err);
	unsetenv("SYSTEMD_PROC_CMDLINE");
	unsetenv("SYSTEMD_FSTAB");
	unsetenv("SYSTEMD_LOG_TARGET");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s'", dir, tab, fstab);
	assert_int_equal(system(cmd), 0);
}

int run_tab_tests(unsigned int *total)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_quote_round_trip),
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_parse_line_errors),
		cmocka_unit_test(test_parse_line_quiet),
		cmocka_unit_test(test_apply_args),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_escape_path),
		cmocka_unit_test(test_generator),
	};

	return RUN_GROUP("tab", tests, NULL, NULL, total);
}
