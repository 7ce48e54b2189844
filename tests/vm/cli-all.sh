#!/bin/bash
# desc: every interposectl command end to end in text, -j/--json and -p/--pretty (JSON checked with a parser; global options before or after the command), -h and help of each, the completion, --version, --debug, usage errors (exit 2) and failures (exit 1, JSON error object)
. "$REPO/tests/lib.sh"
require_cmd jq python3
PROGS=$BUILD/bpf
nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipc 64 2

# The checks of output files are collected and made at the end, all in
# one python run: under TCG every process costs about a third of a second,
# and they were ten per command.  The check lines are tab-separated.
CHECKS=$TMP/checks
: >"$CHECKS"
chk() {
	local IFS=$'\t'
	echo "$*" >>"$CHECKS"
}
# json_ok FILE: one JSON document
json_ok() { chk json "$1"; }
# same_out A B WHAT: two outputs are byte for byte the same
same_out() { chk same "$1" "$2" "$3"; }
# pretty_ok FILE JFILE WHAT: FILE (-p output) is one JSON document over
# several lines, every line between the first and the last indented (with
# spaces), and the same document as JFILE (the -j output)
pretty_ok() { chk pretty "$1" "$2" "$3"; }
# err_ok FILE ERRNO WHAT [MSG]: a JSON error object, {"error": MSG, "errno": ERRNO}
err_ok() { chk error "$1" "$2" "$3"; }
run_checks() {
	python3 - "$CHECKS" <<'PY'
import json, sys

def doc(path):
    with open(path) as f:
        return json.loads(f.read())  # exactly one document, or it raises

bad = n = 0
for line in open(sys.argv[1]):
    kind, *a = line.rstrip("\n").split("\t")
    n += 1
    try:
        if kind == "json":
            doc(a[0])
        elif kind == "oneline":
            assert open(a[0]).read().count("\n") == 1, "not one line"
        elif kind == "same":
            assert open(a[0], "rb").read() == open(a[1], "rb").read(), "differ"
        elif kind == "pretty":
            lines = open(a[0]).read().splitlines()
            assert len(lines) >= 3, "not multi-line"
            assert all(l[:1].isspace() for l in lines[1:-1]), "not indented"
            assert any(l.startswith(" ") for l in lines[1:-1]), "no line indented with spaces"
            assert doc(a[0]) == doc(a[1]), "not the same document as -j"
        elif kind == "error":
            d = doc(a[0])
            assert isinstance(d.get("error"), str) and d["error"], "no JSON error"
            assert d.get("errno") == a[1], "errno is %r, expected %s" % (d.get("errno"), a[1])
            assert len(a) < 4 or d["error"] == a[3], "error is %r, expected %r" % (d["error"], a[3])
        else:
            raise AssertionError("unknown check " + kind)
    except Exception as e:
        bad += 1
        print("FAIL: %s %s: %s: %s" % (kind, " ".join(a[2:] or a[:1]), e,
              open(a[0], errors="replace").read()[:300]))
print("# %d output checks, %d failed" % (n, bad))
sys.exit(1 if bad else 0)
PY
}
# run3 NAME ARGS...: the command in text, -j, --json, -p and --pretty, on
# a quiescent device (the counters do not move): the JSON outputs parse,
# -j is one line and --json prints the same, -p is indented over several
# lines and the same document as -j, --pretty prints the same as -p
run3() {
	local name=$1
	shift
	"$CTL" "$@" >"$TMP/$name.txt" || fail "$* (text)"
	"$CTL" -j "$@" >"$TMP/$name.json" || fail "-j $*"
	json_ok "$TMP/$name.json"
	chk oneline "$TMP/$name.json" "-j $*"
	"$CTL" --json "$@" >"$TMP/$name.json2" || fail "--json $*"
	same_out "$TMP/$name.json" "$TMP/$name.json2" "-j $* and --json $*"
	"$CTL" -p "$@" >"$TMP/$name.pretty" || fail "-p $*"
	pretty_ok "$TMP/$name.pretty" "$TMP/$name.json" "-p $*"
	"$CTL" --pretty "$@" >"$TMP/$name.pretty2" || fail "--pretty $*"
	same_out "$TMP/$name.pretty" "$TMP/$name.pretty2" "-p $* and --pretty $*"
	log "$*: text, -j = --json, -p = --pretty (indented, = -j) ok"
}

# devs_ok FILE WHAT: every object with a "device" in the JSON (lines) of
# FILE names it as the kernel does and has its "dev", MAJ:MIN, beside it
devs_ok() {
	local name dev n=0
	while read -r name dev; do
		[ -e "/sys/class/block/$name/dev" ] || fail "$2: \"device\": \"$name\" is not a kernel name"
		[ "$dev" = "$(cat "/sys/class/block/$name/dev")" ] || fail "$2: $name has dev $dev"
		n=$((n + 1))
	done < <(jq -r '.. | objects | select(has("device")) | "\(.device) \(.dev)"' "$1")
	[ $n -gt 0 ] || fail "$2: no device named"
	log "$2: $n devices named with their dev"
}

log "--version and help"
"$CTL" --version | grep -q '^interposectl v[0-9.]* (libinterpose v[0-9.]*)$' || fail "--version: $("$CTL" --version)"
"$CTL" -j --version >"$TMP/v.json" && json_ok "$TMP/v.json"
expect_eq "-j --version fields" '["libinterpose","version"]' "$(jq -c 'keys' "$TMP/v.json")"
"$CTL" --json --version >"$TMP/v.json2" || fail "--json --version"
same_out "$TMP/v.json" "$TMP/v.json2" "-j --version and --json --version"
"$CTL" -p --version >"$TMP/v.pretty" || fail "-p --version"
pretty_ok "$TMP/v.pretty" "$TMP/v.json" "-p --version"
"$CTL" --pretty --version >"$TMP/v.pretty2" || fail "--pretty --version"
same_out "$TMP/v.pretty" "$TMP/v.pretty2" "-p --version and --pretty --version"
for c in attach detach replace show stats ops var trace hist cbt snapshot apply save; do
	"$CTL" $c -h >"$TMP/h.$c" || fail "$c -h"
	read -r first <"$TMP/h.$c"
	[[ $first == "Usage: interposectl $c"* ]] || fail "$c -h: $first"
	"$CTL" $c --help >"$TMP/hh.$c" || fail "$c --help"
	same_out "$TMP/h.$c" "$TMP/hh.$c" "'$c --help' and '$c -h'"
	"$CTL" $c help >"$TMP/h2.$c" || fail "$c help"
	same_out "$TMP/h.$c" "$TMP/h2.$c" "'$c -h' and '$c help'"
done
"$CTL" --help | grep -q 'attach DEV --dm-table TABLE' || fail "--help lacks --dm-table"
"$CTL" help | grep -q '^Usage: interposectl' || fail "help"
log "every command has -h/--help"

log "plain redirect: attach, show, stats"
"$CTL" -j attach ipa --to /dev/ipb >"$TMP/a.json" || fail "-j attach"
expect_eq "-j attach prints null" null "$(cat "$TMP/a.json")"
dd if=/dev/zero of=/dev/ipa bs=4k count=8 oflag=direct status=none
run3 show show ipa
expect_eq "show targets" ipb "$(jq -r '.targets[0].device' "$TMP/show.json")"
devs_ok "$TMP/show.json" "-j show"
grep -q '^ipa ([0-9]*:[0-9]*): attached, targets ipb' "$TMP/show.txt" || fail "show text: $(cat "$TMP/show.txt")"
run3 showall show
log "global options after the command, as before it"
"$CTL" show ipa -j >"$TMP/show.json3" || fail "show ipa -j"
same_out "$TMP/show.json" "$TMP/show.json3" "'-j show ipa' and 'show ipa -j'"
"$CTL" show --pretty ipa >"$TMP/show.pretty3" || fail "show --pretty ipa"
same_out "$TMP/show.pretty" "$TMP/show.pretty3" "'-p show ipa' and 'show --pretty ipa'"
expect_eq "show all" '["ipa"]' "$(jq -c '[.[].device]' "$TMP/showall.json")"
run3 stats stats /dev/ipa
expect_eq "stats redirected" 8 "$(jq .counters.redirected "$TMP/stats.json")"
devs_ok "$TMP/stats.json" "-j stats"
"$CTL" stats /dev/ipa --json >"$TMP/stats.json3" || fail "stats /dev/ipa --json"
same_out "$TMP/stats.json" "$TMP/stats.json3" "'-j stats' and 'stats --json'"
grep -q '^redirected *8$' "$TMP/stats.txt" || fail "stats text: $(cat "$TMP/stats.txt")"
"$CTL" -j detach /dev/ipa >"$TMP/d.json" || fail "-j detach"
expect_eq "-j detach prints null" null "$(cat "$TMP/d.json")"
"$CTL" --json attach ipa --to /dev/ipb >"$TMP/a.json2" || fail "--json attach"
same_out "$TMP/a.json" "$TMP/a.json2" "-j attach and --json attach"
"$CTL" --json detach /dev/ipa >"$TMP/d.json2" || fail "--json detach"
same_out "$TMP/d.json" "$TMP/d.json2" "-j detach and --json detach"
"$CTL" -p attach ipa --to /dev/ipb >"$TMP/a.pretty" || fail "-p attach"
same_out "$TMP/a.json" "$TMP/a.pretty" "-j attach and -p attach (null)"
"$CTL" -p detach /dev/ipa >"$TMP/d.pretty" || fail "-p detach"
same_out "$TMP/d.json" "$TMP/d.pretty" "-j detach and -p detach (null)"

log "program: attach --prog --set, ops, var, trace, hist, replace"
"$CTL" attach ipa --prog "$PROGS/trace.bpf.o" --set min_us=0 || fail "attach trace"
run3 ops ops
expect_eq "ops lists trace on ipa" '["ipa"]' "$(jq -c '.[] | select(.name == "trace") | [.devices[].device]' "$TMP/ops.json")"
expect_eq "ops: the program's device" ipa "$(jq -r '.[] | select(.name == "trace") | .prog_dev.device' "$TMP/ops.json")"
devs_ok "$TMP/ops.json" "-j ops"
grep -q '^trace: registered' "$TMP/ops.txt" || fail "ops text: $(cat "$TMP/ops.txt")"
dd if=/dev/ipa of=/dev/null bs=4k count=3 iflag=direct status=none
run3 var var ipa traced
expect_eq "var traced" 3 "$(cat "$TMP/var.txt")"
ipa_dev=$(cat /sys/block/ipa/dev)
expect_eq "-j var" '{"device":"ipa","dev":"'"$ipa_dev"'","var":"traced","value":3}' "$(jq -c . "$TMP/var.json")"
"$CTL" -j var "$ipa_dev" traced >"$TMP/var.json3" || fail "-j var MAJ:MIN"
same_out "$TMP/var.json" "$TMP/var.json3" "-j var ipa and -j var MAJ:MIN"
"$CTL" -j trace ipa --duration 1 >"$TMP/tr.jsonl" || fail "-j trace --duration"
jq -c . "$TMP/tr.jsonl" >/dev/null || fail "trace -j is not JSON lines"
expect_eq "trace summary" 0 "$(tail -1 "$TMP/tr.jsonl" | jq .lost)"
expect_eq "trace record device" "ipa $ipa_dev" "$(head -1 "$TMP/tr.jsonl" | jq -r '"\(.device) \(.dev)"')"
devs_ok "$TMP/tr.jsonl" "-j trace"
"$CTL" -p trace ipa --duration 0.5 >"$TMP/tr.p" || fail "-p trace"
jq -c . "$TMP/tr.p" >/dev/null || fail "-p trace output"
# no I/O now (the first trace took the events of the reads): only the
# summary, the same in every format
"$CTL" -j trace ipa --duration 0.5 >"$TMP/tr.j1" || fail "-j trace"
"$CTL" --json trace ipa --duration 0.5 >"$TMP/tr.j2" || fail "--json trace"
same_out "$TMP/tr.j1" "$TMP/tr.j2" "-j trace and --json trace (no I/O)"
# trace prints JSON lines, one record a line, with -p too (a stream)
"$CTL" -p trace ipa --duration 0.5 >"$TMP/tr.p1" || fail "-p trace"
cmp -s <(jq -S -c . "$TMP/tr.p1") <(jq -S -c . "$TMP/tr.j1") ||
	fail "-p trace and -j trace differ: $(diff "$TMP/tr.p1" "$TMP/tr.j1" | head)"
"$CTL" --pretty trace ipa --duration 0.5 >"$TMP/tr.p2" || fail "--pretty trace"
same_out "$TMP/tr.p1" "$TMP/tr.p2" "-p trace and --pretty trace (no I/O)"
"$CTL" replace ipa --prog "$PROGS/latency.bpf.o" || fail replace
dd if=/dev/ipa of=/dev/null bs=4k count=5 iflag=direct status=none
run3 hist hist ipa
expect_eq "hist read count" 5 "$(jq '.hist[] | select(.op == "read") | .count' "$TMP/hist.json")"
devs_ok "$TMP/hist.json" "-j hist"
grep -q '^op = read: 5 bios' "$TMP/hist.txt" || fail "hist text"
"$CTL" -j replace ipa --prog "$PROGS/trace.bpf.o" --set ops=1 >"$TMP/r.json" || fail "-j replace"
expect_eq "-j replace prints null" null "$(cat "$TMP/r.json")"
"$CTL" --json replace ipa --prog "$PROGS/trace.bpf.o" --set ops=1 >"$TMP/r.json2" || fail "--json replace"
same_out "$TMP/r.json" "$TMP/r.json2" "-j replace and --json replace"
expect_eq "replaced program's parameter" 1 "$(prog_var ipa ops)"
"$CTL" detach ipa || fail detach

log "cbt: start, read in every format, reset, stop"
"$CTL" cbt ipc --start || fail "cbt --start"
dd if=/dev/zero of=/dev/ipc bs=4k count=2 oflag=direct status=none
run3 cbt cbt ipc
expect_eq "cbt extents" '[{"offset":0,"length":8192}]' "$(jq -c .extents "$TMP/cbt.json")"
devs_ok "$TMP/cbt.json" "-j cbt"
grep -q '^0  *8192$' "$TMP/cbt.txt" || fail "cbt text: $(cat "$TMP/cbt.txt")"
"$CTL" -j cbt ipc --reset >"$TMP/cbtr.json" || fail "-j cbt --reset"
expect_eq "cbt --reset extents" '[{"offset":0,"length":8192}]' "$(jq -c .extents "$TMP/cbtr.json")"
run3 cbt0 cbt ipc
expect_eq "cbt after --reset" '[]' "$(jq -c .extents "$TMP/cbt0.json")"
"$CTL" -j cbt ipc --stop >"$TMP/cbts.json" || fail "-j cbt --stop"
expect_eq "-j cbt --stop" cbt_ipc "$(jq -r .stopped "$TMP/cbts.json")"
not_interposed /dev/ipc || fail "ipc still observed after cbt --stop"

log "ops by name"
mkdir -p /sys/fs/bpf/cli-all
defer rm -rf /sys/fs/bpf/cli-all
"$BPFTOOL" struct_ops register "$PROGS/passthrough.bpf.o" /sys/fs/bpf/cli-all >/dev/null 2>&1 ||
	fail "bpftool struct_ops register passthrough"
"$CTL" attach ipa --ops passthrough || fail "attach --ops"
expect_eq "ops name" passthrough "$(show_field ipa .ops)"
if [ -r /usr/share/bash-completion/bash_completion ]; then
	# the completion reads the JSON of "ops", and offers the global options
	# after a command
	out=$(bash -c '. /usr/share/bash-completion/bash_completion
		. "$1"
		COMP_WORDS=(interposectl attach ipa --ops pass); COMP_CWORD=4
		COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
		_interposectl; echo "${COMPREPLY[*]}"
		COMP_WORDS=(interposectl show ipa --j); COMP_CWORD=3
		COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
		_interposectl; echo "${COMPREPLY[*]}"' _ \
		"$REPO/cmd/interposectl/bash-completion/interposectl")
	expect_eq "completion of --ops" passthrough "$(sed -n 1p <<<"$out")"
	expect_eq "completion of a global option after show" --json "$(sed -n 2p <<<"$out")"
else
	skip_case "bash-completion is not installed: completion not run"
fi
"$CTL" detach ipa || fail detach
rm -rf /sys/fs/bpf/cli-all/*
wait_for "passthrough unregistered" bash -c "! '$CTL' ops | grep -q '^passthrough: registered'"

log "--debug shows libinterpose's messages"
"$CTL" --debug attach ipa --to ipb 2>"$TMP/dbg" || fail "--debug attach"
grep -q '^libinterpose: attach' "$TMP/dbg" || fail "--debug printed: $(cat "$TMP/dbg")"
"$CTL" -d detach ipa 2>"$TMP/dbg" || fail "-d detach"
grep -q '^libinterpose: detach' "$TMP/dbg" || fail "-d printed: $(cat "$TMP/dbg")"

log "usage errors: exit 2, a hint, and a JSON error object with -j"
nu=0
for args in "bogus" "attach" "attach ipa --to" "attach ipa --bogus" "detach" "show a b" \
	"stats" "var ipa" "trace" "hist ipa --count 2" "replace ipa" "attach ipa --set x=1 --to ipb" \
	"attach ipa --dm-table t --to ipb" "-x show"; do
	# shellcheck disable=SC2086
	"$CTL" $args >/dev/null 2>"$TMP/u.err"
	rc=$?
	[ $rc = 2 ] || fail "'$args': exit $rc, expected 2"
	grep -q "Try 'interposectl.* -h' for help" "$TMP/u.err" || fail "'$args': no hint: $(cat "$TMP/u.err")"
	# shellcheck disable=SC2086
	"$CTL" -j $args 2>/dev/null >"$TMP/u$nu.json"
	err_ok "$TMP/u$nu.json" EINVAL "'-j $args'"
	# shellcheck disable=SC2086
	"$CTL" --json $args 2>/dev/null >"$TMP/u$nu.json2"
	same_out "$TMP/u$nu.json" "$TMP/u$nu.json2" "'-j $args' and '--json $args'"
	# shellcheck disable=SC2086
	"$CTL" -p $args 2>/dev/null >"$TMP/u$nu.pretty"
	pretty_ok "$TMP/u$nu.pretty" "$TMP/u$nu.json" "'-p $args'"
	nu=$((nu + 1))
done
log "14 usage errors: exit 2 with a hint and a JSON error"
"$CTL" >/dev/null 2>"$TMP/u.err"
expect_eq "no command: exit" 2 $?
grep -q "^interposectl: missing command$" "$TMP/u.err" || fail "no command: $(cat "$TMP/u.err")"
"$CTL" --bogus show >/dev/null 2>"$TMP/u.err"
expect_eq "--bogus: exit" 2 $?
grep -q "^interposectl: unknown option '--bogus'$" "$TMP/u.err" || fail "--bogus: $(cat "$TMP/u.err")"

log "failures: exit 1, the message names the object and the errno, JSON error object"
check_err() {
	local want=$1 msg=$2
	shift 2
	"$CTL" "$@" >/dev/null 2>"$TMP/e.err"
	rc=$?
	[ $rc = 1 ] || fail "'$*': exit $rc, expected 1"
	grep -qF "interposectl: $msg ($want)" "$TMP/e.err" || fail "'$*': $(cat "$TMP/e.err")"
	"$CTL" -j "$@" 2>/dev/null >"$TMP/e$ne.json"
	err_ok "$TMP/e$ne.json" "$want" "'-j $*'" "$msg ($want)"
	"$CTL" "$@" -j 2>/dev/null >"$TMP/e$ne.json3"
	same_out "$TMP/e$ne.json" "$TMP/e$ne.json3" "'-j $*' and '$* -j'"
	"$CTL" --json "$@" 2>/dev/null >"$TMP/e$ne.json2"
	same_out "$TMP/e$ne.json" "$TMP/e$ne.json2" "'-j $*' and '--json $*'"
	"$CTL" -p "$@" 2>/dev/null >"$TMP/e$ne.pretty"
	pretty_ok "$TMP/e$ne.pretty" "$TMP/e$ne.json" "'-p $*'"
	ne=$((ne + 1))
	log "$* -> $msg ($want)"
}
ne=0
check_err ENOENT "attach /dev/nosuch: no such device" attach /dev/nosuch --to ipb
check_err ENOENT "attach /dev/ipa: target /dev/nosuch: no such device" attach ipa --to /dev/nosuch
check_err EINVAL "attach /dev/ipa: target /dev/ipa is the original itself" attach ipa --to ipa
check_err EINVAL "attach /dev/ipa: target /dev/ipb is given twice" attach ipa --to /dev/ipb --to /dev/ipb
check_err ENOENT "attach /dev/ipa: ops nosuchops is not registered" attach ipa --ops nosuchops
check_err ENOENT "detach /dev/ipa: not interposed" detach ipa
check_err ENOENT "stats /dev/ipa: not interposed" stats ipa
check_err ENOTBLK "query /dev/null: not a block device" show /dev/null
"$CTL" attach ipa --to ipb || fail attach
check_err EBUSY "attach /dev/ipa: already interposed" attach ipa --to ipc
check_err ELOOP "attach /dev/ipb: the original is a target of another interposer" attach ipb --to ipc
check_err ENOENT "var /dev/ipa: no program is pinned for it (it was not attached with a program file)" var ipa x
"$CTL" detach ipa || fail detach
run_checks || fail "output checks failed"
