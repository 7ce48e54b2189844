#!/bin/bash
# desc: trace --filter: expressions compiled to BPF by the library; on a mixed workload each filter keeps exactly the bios it should (op, size, comm and globs, pid, cgroup, sector, error under a readonly policy), the records carry every field; a bad expression is refused with its column and nothing is attached; a bio the filter cannot match has its completion left alone (the observer's ended counter); the observer goes at the end; the program is told which fields the filter reads (interpose_filter_fields)
. "$REPO/tests/lib.sh"
require_cmd fio jq
PROGS=$BUILD/bpf
[ -f "$PROGS/readonly.bpf.o" ] || fail "$PROGS/readonly.bpf.o not built (make bpf)"

nullb_create fta 64 2
nullb_create ftb 64 2

# one_observer DEV: DEV has one observer (trace's own)
one_observer() { [ "$("$CTL" -j show "$1" | jq '.observers | length')" = 1 ]; }
# trace_start EXPR: interposectl -j trace /dev/fta --filter EXPR in the
# background, into $TMP/t.jsonl
trace_start() {
	"$CTL" -j trace /dev/fta --filter "$1" >"$TMP/t.jsonl" 2>"$TMP/t.err" &
	TRACE_PID=$!
	defer stop_bg $TRACE_PID INT
	wait_for "trace's observer" one_observer /dev/fta
	kill -0 $TRACE_PID 2>/dev/null || fail "trace did not start: $(cat "$TMP/t.err")"
}
trace_stop() {
	kill -INT "$TRACE_PID"
	wait "$TRACE_PID" || fail "trace exited with $?: $(cat "$TMP/t.err")"
	expect_eq "trace's observer gone" 0 "$("$CTL" -j show /dev/fta | jq '(.observers // []) | length')"
}
# recs JQ: jq -s over the records (the summary line left out)
recs() { grep -v '"events":' "$TMP/t.jsonl" | jq -s "$1"; }
# fio_w BS N [RW]: N direct I/Os of BS by fio on fta
fio_w() {
	fio --name=job --filename=/dev/fta --rw="${3:-randwrite}" --bs="$1" --ioengine=psync \
		--direct=1 --size=32M --number_ios="$2" >"$TMP/fio.out" 2>&1 ||
		fail "fio: $(cat "$TMP/fio.out")"
}
# the mixed workload: fio writes 64k x 40, 4k x 50, reads 64k x 30; dd
# writes 64k x 20 at sector 65536 on
mixed() {
	fio_w 64k 40
	fio_w 4k 50
	fio_w 64k 30 randread
	dd if=/dev/zero of=/dev/fta bs=64k count=20 seek=512 oflag=direct status=none || fail dd
}

log "op, size and command: only fio's 64k writes"
trace_start 'op == write && bytes >= 64k && comm == "fio"'
mixed
trace_stop
expect_eq "records" 40 "$(recs 'length')"
expect_eq "each a 64k write by fio" 0 \
	"$(recs '[.[] | select(.op != "write" or .bytes != 65536 or .comm != "fio")] | length')"
expect_eq "summary: lost" 0 "$(tail -1 "$TMP/t.jsonl" | jq .lost)"
expect_eq "every field" '["bytes","cgroup_id","comm","dev","device","error","flags","kind","lat_us","latency_ns","op","pid","sector","target","tid","time","ts_ns","verdict"]' \
	"$(recs '.[0] | keys' | jq -c .)"
expect_eq "tid and pid set, lat_us = latency_ns / 1000" 0 \
	"$(recs '[.[] | select(.tid == 0 or .pid == 0 or .lat_us != ((.latency_ns / 1000) | floor))] | length')"

log "|| and !, globs: reads, or writes not by fio"
trace_start '!(op == write && comm == "f*") && (op == read || op == write)'
mixed
trace_stop
expect_eq "records: 30 reads + 20 dd writes" 50 "$(recs 'length')"
expect_eq "of them by dd" 20 "$(recs '[.[] | select(.comm == "dd")] | length')"
expect_eq "reads" 30 "$(recs '[.[] | select(.op == "read")] | length')"

log "sector and size: dd's writes, above sector 65535 (bytes < 1M)"
trace_start 'sector >= 65536 && bytes < 1M && comm == "?d"'
mixed
trace_stop
expect_eq "records" 20 "$(recs 'length')"
expect_eq "their sectors" "65536 67968" "$(recs '[.[].sector] | "\(min) \(max)"' | tr -d '"')"

log "pid: one process's bios"
# dd waits for the go, so that its pid is known before the filter is made
sh -c 'echo $$ >"$0"; while [ ! -e "$0.go" ]; do sleep 0.1; done
	exec dd if=/dev/zero of=/dev/fta bs=4k count=7 oflag=direct status=none' "$TMP/dd.pid" &
DDW=$!
wait_for "dd's pid" test -s "$TMP/dd.pid"
DD_PID=$(cat "$TMP/dd.pid")
trace_start "pid == $DD_PID"
touch "$TMP/dd.pid.go"
wait $DDW || fail "dd"
fio_w 4k 10
trace_stop
expect_eq "records of dd's pid" 7 "$(recs 'length')"
expect_eq "all of dd, writes" 0 "$(recs '[.[] | select(.comm != "dd" or .op != "write" or .tid != '"$DD_PID"')] | length')"

log "cgroup: a path, resolved to its id"
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup || fail "mount cgroup2"
CG=/sys/fs/cgroup/itest-filter
mkdir -p "$CG" || fail "mkdir $CG"
defer rmdir "$CG"
trace_start 'cgroup == "/itest-filter"'
sh -c 'echo $$ >"$0/cgroup.procs"; exec dd if=/dev/zero of=/dev/fta bs=4k count=9 oflag=direct status=none' "$CG" ||
	fail "dd in $CG"
fio_w 4k 10
trace_stop
expect_eq "records of dd in the cgroup" 9 "$(recs 'length')"
expect_eq "their cgroup id is the directory's" 1 "$(recs '[.[].cgroup_id] | unique | length')"
CG_ID=$(stat -c %i "$CG")
expect_eq "that id: the directory's inode" "$CG_ID" "$(recs '[.[].cgroup_id] | unique | .[0]')"
log "a filter that does not read the cgroup: the record has it all the same"
trace_start 'comm == "dd" && op == write'
sh -c 'echo $$ >"$0/cgroup.procs"; exec dd if=/dev/zero of=/dev/fta bs=4k count=5 oflag=direct status=none' "$CG" ||
	fail "dd in $CG"
trace_stop
expect_eq "records of dd" 5 "$(recs 'length')"
expect_eq "each with dd's cgroup, pid and tid" 0 \
	"$(recs '[.[] | select(.cgroup_id != '"$CG_ID"' or .pid == 0 or .tid == 0)] | length')"

log "error and verdict under a readonly policy, the observer beside it"
"$CTL" attach /dev/fta --prog "$PROGS/readonly.bpf.o" || fail "attach readonly"
trace_start "error == $RO_ERRNO && verdict == fail"
for i in 1 2 3 4 5 6; do
	dd if=/dev/zero of=/dev/fta bs=4k count=1 seek=$i oflag=direct status=none 2>/dev/null &&
		fail "a write passed the readonly policy"
done
dd if=/dev/fta of=/dev/null bs=4k count=8 iflag=direct status=none
trace_stop
failed=$(counter /dev/fta failed)
expect_eq "the policy failed the 6 writes" 6 "$failed"
expect_eq "records = the bios the policy failed" "$failed" "$(recs 'length')"
expect_eq "each a write failed with $RO_ERRNO" 0 \
	"$(recs "[.[] | select(.op != \"write\" or .error != -$RO_ERRNO_NR or .verdict != \"fail\")] | length")"
"$CTL" detach /dev/fta || fail "detach fta"

log "lat_us: beside an unfiltered trace, the filter keeps exactly its slow bios"
nullb_create ftc 64 2 1 completion_nsec=2000000 irqmode=2
# lat_check DEV: two traces, one filtered; prints the slow bios' count
lat_check() {
	local dev=$1 a b
	"$CTL" -j trace "$dev" >"$TMP/all.jsonl" 2>"$TMP/all.err" &
	a=$!
	defer stop_bg $a INT
	# one after the other: the first observer brings the interposer
	wait_for "one observer on $dev" one_observer "$dev"
	"$CTL" -j trace "$dev" --filter 'lat_us >= 1500' >"$TMP/slow.jsonl" 2>"$TMP/slow.err" &
	b=$!
	defer stop_bg $b INT
	wait_for "two observers on $dev" two_observers "$dev"
	dd if="$dev" of=/dev/null bs=4k count=12 iflag=direct status=none
	kill -INT $a $b
	wait $a || fail "trace on $dev: $(cat "$TMP/all.err")"
	wait $b || fail "trace --filter on $dev: $(cat "$TMP/slow.err")"
	expect_eq "$dev: every read traced" 12 "$(grep -v '"events":' "$TMP/all.jsonl" | jq -s length)"
	expect_eq "$dev: the filtered records are the slow ones" \
		"$(grep -v '"events":' "$TMP/all.jsonl" | jq -s -c '[.[] | select(.latency_ns >= 1500000) | .ts_ns] | sort')" \
		"$(grep -v '"events":' "$TMP/slow.jsonl" | jq -s -c '[.[].ts_ns] | sort')"
}
two_observers() { [ "$("$CTL" -j show "$1" | jq '.observers | length')" = 2 ]; }
lat_check /dev/ftc
expect_eq "ftc: all 12 slow" 12 "$(grep -v '"events":' "$TMP/slow.jsonl" | jq -s length)"
lat_check /dev/fta

log "a bio no completion can make match: its completion is left alone"
# filter_fields: interpose_filter_fields in the .rodata of the trace program
# loaded now, which the library sets to the fields the filter reads
filter_fields() {
	local id
	for id in $("$BPFTOOL" -j prog show name trace_submit | jq '.map_ids[]?'); do
		"$BPFTOOL" -j map show id "$id" | jq -e '.name | endswith(".rodata")' >/dev/null || continue
		"$BPFTOOL" -j map dump id "$id" |
			jq '.[0].formatted.value[".rodata"][] | select(has("interpose_filter_fields")) | .interpose_filter_fields'
	done
}
# id_calls: the calls of bpf_get_current_pid_tgid() in the trace program's
# submit_bio as loaded now: one gives both ids, so one is all it needs
id_calls() {
	"$BPFTOOL" prog dump xlated name trace_submit | grep -c 'call bpf_get_current_pid_tgid'
}
# filtered_run EXPR: fio's 50 writes and 20 reads under a trace filtered by EXPR;
# ENDED: the completions its observer was shown; FIELDS: filter_fields;
# CALLS: id_calls
filtered_run() {
	local seen
	trace_start "$1"
	FIELDS=$(filter_fields)
	CALLS=$(id_calls)
	fio_w 4k 50
	fio_w 4k 20 randread
	read -r seen ENDED <<<"$("$CTL" -j show /dev/fta | jq -r '.observers[0] | "\(.seen) \(.ended)"')"
	[ "$seen" -ge 70 ] || fail "$1: the observer saw $seen bios, not the 70 fio sent"
	trace_stop
}
filtered_run 'op == write && comm == "nomatch"'
expect_eq "completions shown to the observer" 0 "$ENDED"
# INTERPOSE_FILTER_OP | INTERPOSE_FILTER_COMM (interpose/event.h)
expect_eq "the fields the filter reads, told to the program" $((0x04 | 0x80)) "$FIELDS"
expect_eq "records" 0 "$(recs 'length')"
expect_eq "pid and tid read by one call" 1 "$CALLS"
filtered_run 'op == write && lat_us >= 0'
expect_eq "completions shown: the writes only" 50 "$ENDED"
expect_eq "records: the writes" 50 "$(recs 'length')"
# a filter that reads the pid: the tid comes from the same call
filtered_run 'pid == 1'
expect_eq "pid filter: INTERPOSE_FILTER_PID" $((0x10)) "$FIELDS"
expect_eq "pid filter: pid and tid read by one call" 1 "$CALLS"
expect_eq "pid filter: records" 0 "$(recs 'length')"

log "a bad expression: refused with its column, before anything is attached"
out=$("$CTL" trace /dev/fta --filter 'op == write && bytes >= 64x' 2>&1) && fail "a bad filter was taken"
grep -q "column 27: expected a number, a size suffix k, M or G, or an operator after 64, found 'x' (EINVAL)" <<<"$out" ||
	fail "message: $out"
log "refused: $out"
expect_eq "nothing attached" none "$(show_field /dev/fta .state)"
out=$("$CTL" -j trace /dev/fta --filter 'comm == fio' 2>/dev/null) && fail "a bad filter was taken"
expect_eq "-j: errno" EINVAL "$(jq -r .errno <<<"$out")"
jq -r .error <<<"$out" | grep -q 'column 9: expected a "string" for comm' || fail "-j message: $out"
out=$("$CTL" trace /dev/fta@x --filter 'op == read' 2>&1) && fail "DEV@OPS with --filter was taken"
grep -q "attaches an observer of its own" <<<"$out" || fail "DEV@OPS message: $out"
expect_eq "still nothing attached" none "$(show_field /dev/fta .state)"
