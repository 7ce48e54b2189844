#!/bin/bash
# desc: trace, latency and writelog programs with interposectl trace/hist: event and histogram counts equal fio's I/O, write order kept; trace and hist on devices without a suitable program attach an observer of their own (beside a redirect or another program) and remove it on --count, --duration, SIGINT and SIGTERM
. "$REPO/tests/lib.sh"
require_cmd fio jq
PROGS=$BUILD/bpf
for p in trace latency writelog; do
	[ -f "$PROGS/$p.bpf.o" ] || fail "$PROGS/$p.bpf.o not built (make bpf)"
done

# a null_blk with a volatile write cache, so that flushes reach it
nullb_create ipa 64 2 1 cache_size=16
nullb_create ipb 64 2

# fio_job RW N [args]: N 4k direct I/Os, JSON in $TMP/job.json
fio_job() {
	local rw=$1 n=$2
	shift 2
	fio --name=job --filename=/dev/ipa --rw="$rw" --bs=4k --ioengine=psync \
		--direct=1 --size=32M --number_ios="$n" --output-format=json "$@" \
		>"$TMP/job.json" 2>"$TMP/job.err" || { cat "$TMP/job.err"; fail "fio $rw"; }
}
ios() { jq ".jobs[0].$1.total_ios" "$TMP/job.json"; }

# trace_start OUT [DEV]: interposectl -j trace in the background
trace_start() {
	"$CTL" -j trace "${2:-/dev/ipa}" >"$1" 2>"$1.err" &
	TRACE_PID=$!
	defer stop_bg $TRACE_PID INT
	sleep 1
	kill -0 $TRACE_PID 2>/dev/null || fail "trace did not start: $(cat "$1.err")"
}
trace_stop() {
	kill -INT "$TRACE_PID"
	wait "$TRACE_PID" || fail "trace exited with $?: $(cat "$1.err")"
	jq -c . "$1" >/dev/null || fail "trace output is not JSON lines"
}

log "trace: one event per bio, counts equal fio's"
"$CTL" attach /dev/ipa --prog "$PROGS/trace.bpf.o" || fail "attach trace"
trace_start "$TMP/trace.jsonl"
fio_job randrw 600 --rwmixread=50
r=$(ios read) w=$(ios write)
trace_stop "$TMP/trace.jsonl"
ev() { grep -v '"events":' "$TMP/trace.jsonl" | jq -s "$1"; }
expect_eq "traced reads" "$r" "$(ev '[.[] | select(.op == "read")] | length')"
expect_eq "traced writes" "$w" "$(ev '[.[] | select(.op == "write")] | length')"
expect_eq "every event is a 4 KiB bio from fio, passed, no error, with a latency" 0 \
	"$(ev '[.[] | select(.bytes != 4096 or .comm != "fio" or .verdict != "pass" or .error != 0 or .kind != "complete" or .latency_ns <= 0 or .sector >= 65536 or .sector % 8 != 0)] | length')"
summary=$(tail -1 "$TMP/trace.jsonl")
expect_eq "summary: events" "$((r + w))" "$(echo "$summary" | jq .events)"
expect_eq "summary: lost" 0 "$(echo "$summary" | jq .lost)"
expect_eq "program's own count" "$((r + w))" "$(prog_var /dev/ipa traced)"

log "trace --count stops after N records; text mode has a header and the lost count"
( sleep 1; fio_job randread 50 ) &
"$CTL" trace /dev/ipa --count 20 >"$TMP/trace.txt" 2>"$TMP/trace.err" || fail "trace --count"
wait
expect_eq "text lines (header + 20)" 21 "$(wc -l <"$TMP/trace.txt")"
head -1 "$TMP/trace.txt" | grep -q 'COMM.*SECTOR.*LAT(us)' || fail "no header: $(head -1 "$TMP/trace.txt")"
grep -q 'trace /dev/ipa: 20 events, 0 lost' "$TMP/trace.err" || fail "summary: $(cat "$TMP/trace.err")"

log "trace follows the program across a replace"
# records the --count run above left in the buffer
"$CTL" trace /dev/ipa --duration 0.5 >/dev/null 2>&1 || fail "drain"
"$CTL" -j trace /dev/ipa >"$TMP/trace3.jsonl" 2>"$TMP/trace3.err" &
TRACE_PID=$!
sleep 1
fio_job randread 40
"$CTL" replace /dev/ipa --prog "$PROGS/trace.bpf.o" --set ops=2 || fail "replace trace"
sleep 1
fio_job randrw 100 --rwmixread=50
w=$(ios write)
sleep 1
kill -INT $TRACE_PID
wait $TRACE_PID || fail "trace across replace exited with $?"
ev3() { grep -v '"events":' "$TMP/trace3.jsonl" | jq -s "$1"; }
expect_eq "reads before the replace" 40 "$(ev3 '[.[] | select(.op == "read")] | length')"
expect_eq "writes after it (the new program traces writes only)" "$w" "$(ev3 '[.[] | select(.op == "write")] | length')"
expect_eq "summary" "$((40 + w))" "$(tail -1 "$TMP/trace3.jsonl" | jq .events)"

log "trace ends by itself when the device is detached"
trace_start "$TMP/trace2.jsonl"
"$CTL" detach /dev/ipa || fail detach
wait_for "trace exited after detach" bash -c "! kill -0 $TRACE_PID"
tail -1 "$TMP/trace2.jsonl" | jq -e '.detached == true' >/dev/null || fail "no detached summary: $(tail -1 "$TMP/trace2.jsonl")"

log "latency: histogram counts equal fio's I/O, nothing lost by design"
"$CTL" attach /dev/ipa --prog "$PROGS/latency.bpf.o" || fail "attach latency"
fio_job randrw 800 --rwmixread=25
r=$(ios read) w=$(ios write)
"$CTL" -j hist /dev/ipa >"$TMP/hist.json" || fail hist
h() { jq "$1" "$TMP/hist.json"; }
expect_eq "hist reads" "$r" "$(h '.hist[] | select(.op == "read") | .count')"
expect_eq "hist writes" "$w" "$(h '.hist[] | select(.op == "write") | .count')"
expect_eq "slots add up" "$((r + w))" "$(h '[.hist[].slots[].count] | add')"
expect_eq "no other ops" 2 "$(h '.hist | length')"
"$CTL" hist /dev/ipa >"$TMP/hist.txt" || fail "hist text"
grep -q "^op = read: $r bios" "$TMP/hist.txt" || fail "hist text: $(cat "$TMP/hist.txt")"
"$CTL" -j hist /dev/ipa --interval 1 >"$TMP/hist-int.json" &
HIST_PID=$!
sleep 0.5
fio_job randread 300
sleep 2.5
kill -INT $HIST_PID
wait $HIST_PID || fail "hist --interval exited with $?"
n=$(jq -s length "$TMP/hist-int.json")
[ "$n" -ge 2 ] || fail "only $n intervals printed"
total=$(jq -s '[.[].hist[] | select(.op == "read") | .count] | add' "$TMP/hist-int.json")
expect_eq "reads over the $n intervals" 300 "$total"
"$CTL" -j hist /dev/ipa --interval 0.3 --count 2 >"$TMP/hist-c.json" || fail "hist --count"
expect_eq "hist --interval 0.3 --count 2: intervals" 2 "$(jq -s length "$TMP/hist-c.json")"
log "an fsync (an empty preflush write) counts as a flush, not as a write"
for i in 1 2 3; do expect_eq "fsync $i" OK "$(dio fsync /dev/ipa)"; done
"$CTL" -j hist /dev/ipa >"$TMP/hist2.json" || fail hist
expect_eq "hist flushes" 3 "$(jq '.hist[] | select(.op == "flush") | .count' "$TMP/hist2.json")"
expect_eq "hist writes unchanged" "$w" "$(jq '.hist[] | select(.op == "write") | .count' "$TMP/hist2.json")"
"$CTL" detach /dev/ipa || fail detach

log "writelog: every write and flush in submission order"
"$CTL" attach /dev/ipa --prog "$PROGS/writelog.bpf.o" || fail "attach writelog"
trace_start "$TMP/wl.jsonl"
fio_job write 512 --fsync=64
w=$(ios write)
syncs=$(jq '.jobs[0].sync.total_ios // 0' "$TMP/job.json")
fio_job randread 100
trace_stop "$TMP/wl.jsonl"
wev() { grep -v '"events":' "$TMP/wl.jsonl" | jq -s "$1"; }
expect_eq "logged writes" "$w" "$(wev '[.[] | select(.op == "write" and .bytes > 0)] | length')"
expect_eq "no reads logged" 0 "$(wev '[.[] | select(.op == "read")] | length')"
flushes=$(wev '[.[] | select(.bytes == 0 and (.flags | index("preflush")))] | length')
[ "$syncs" -ge 1 ] || fail "fio did no fsync"
expect_eq "flushes logged, one per fsync of fio" "$syncs" "$flushes"
expect_eq "and named flush" "$syncs" "$(wev '[.[] | select(.op == "flush")] | length')"
expect_eq "sequential writes logged in order, 8 sectors apart" true \
	"$(wev '[.[] | select(.op == "write" and .bytes > 0) | .sector] | . as $s | [range(1; length)] | all($s[.] == $s[. - 1] + 8)')"
expect_eq "first logged write at sector 0" 0 "$(wev '[.[] | select(.op == "write" and .bytes > 0)][0].sector')"
expect_eq "program's count" "$(wev 'length')" "$(prog_var /dev/ipa logged)"
"$CTL" detach /dev/ipa || fail detach

log "a bio the original splits is seen once, whole, and its data is intact"
# 1 MiB bios on a null_blk that takes 4 KiB per command: the driver splits
# each and sends the rest back through the submission path, which must not
# show it to the program again or take over its completion twice
nullb_create ips 64 2 1 max_sectors=8
expect_eq "ips takes 4 KiB per command" 4 "$(cat /sys/block/ips/queue/max_sectors_kb)"
split_job() {
	fio --name=split --filename=/dev/ips --bs=1M --ioengine=psync --direct=1 \
		--size=16M --verify_state_save=0 --output-format=json "$@" \
		>"$TMP/split.json" \
		2>"$TMP/split.err" || { cat "$TMP/split.err"; fail "fio split $*"; }
}
"$CTL" attach /dev/ips --prog "$PROGS/trace.bpf.o" || fail "attach trace to ips"
trace_start "$TMP/split.jsonl" /dev/ips
split_job --rw=write --verify=crc32c --do_verify=1
trace_stop "$TMP/split.jsonl"
sev() { grep -v '"events":' "$TMP/split.jsonl" | jq -s "$1"; }
expect_eq "fio verify errors" 0 "$(jq '.jobs[0].error' "$TMP/split.json")"
expect_eq "one traced write per 1 MiB bio" 16 "$(sev '[.[] | select(.op == "write")] | length')"
expect_eq "one traced read per 1 MiB bio (verify)" 16 "$(sev '[.[] | select(.op == "read")] | length')"
expect_eq "every event whole: 1 MiB at a 1 MiB boundary, from fio, no error" 0 \
	"$(sev '[.[] | select(.bytes != 1048576 or .sector % 2048 != 0 or .comm != "fio" or .error != 0)] | length')"
expect_eq "the interposer passed 32 bios, not their pieces" 32 "$(counter /dev/ips passed)"
"$CTL" detach /dev/ips || fail "detach trace from ips"
"$CTL" attach /dev/ips --prog "$PROGS/latency.bpf.o" || fail "attach latency to ips"
split_job --rw=read
"$CTL" -j hist /dev/ips >"$TMP/split-hist.json" || fail "hist ips"
expect_eq "latency counts each 1 MiB read once" 16 \
	"$(jq '.hist[] | select(.op == "read") | .count' "$TMP/split-hist.json")"
expect_eq "and the interposer passed 16 bios" 16 "$(counter /dev/ips passed)"
"$CTL" detach /dev/ips || fail "detach latency from ips"

log "trace and hist on a device without a suitable program attach an observer of their own, and take it off again"
no_own_observer() {
	expect_eq "$1: no observer left" 0 "$("$CTL" -j show /dev/ipa | jq '.observers | length')"
	ls /sys/fs/bpf/interpose | grep -q '^ipa@' && fail "$1: pins left: $(ls /sys/fs/bpf/interpose)"
	"$CTL" -j ops | jq -e '.[] | select(.name | test("^(trace|hist)_"))' >/dev/null &&
		fail "$1: an ops of its own is still registered"
	return 0
}
# own_started WHAT: wait until trace or hist attached its observer
own_started() {
	wait_for "$1's observer attached" sh -c "'$CTL' -j show /dev/ipa | jq -e '.observers[0].ops | test(\"^$1_\")'"
}
# on a device without an interposer: --count
"$CTL" -j trace /dev/ipa --count 10 >"$TMP/own1.jsonl" 2>"$TMP/own1.err" &
T=$!
own_started trace
expect_eq "a device without a policy is observed" observed "$(show_field /dev/ipa .state)"
fio_job randread 30
wait $T || fail "trace --count on a plain device: $(cat "$TMP/own1.err")"
expect_eq "records" 10 "$(grep -vc '"events":' "$TMP/own1.jsonl")"
not_interposed /dev/ipa || fail "ipa still interposed after trace --count"
no_own_observer "trace --count"
# beside a redirect: --duration; the policy stays and still decides
"$CTL" attach /dev/ipa --to /dev/ipb || fail "attach --to"
"$CTL" -j trace /dev/ipa --duration 15 >"$TMP/own2.jsonl" 2>"$TMP/own2.err" &
T=$!
own_started trace
fio_job randrw 200 --rwmixread=50
r=$(ios read) w=$(ios write)
wait $T || fail "trace beside a redirect: $(cat "$TMP/own2.err")"
ev2() { grep -v '"events":' "$TMP/own2.jsonl" | jq -s "$1"; }
expect_eq "traced reads beside a redirect" "$r" "$(ev2 '[.[] | select(.op == "read" and .verdict == "redirect")] | length')"
expect_eq "traced writes" "$w" "$(ev2 '[.[] | select(.op == "write" and .verdict == "redirect")] | length')"
expect_eq "the redirect stays" attached "$(show_field /dev/ipa .state)"
expect_eq "and sent every bio to its target" "$(counter /dev/ipa seen)" "$(counter /dev/ipa redirected)"
no_own_observer "trace --duration"
# SIGTERM
"$CTL" trace /dev/ipa >/dev/null 2>"$TMP/own3.err" &
T=$!
own_started trace
kill -TERM $T
wait $T || fail "trace on SIGTERM exited with $?: $(cat "$TMP/own3.err")"
no_own_observer "trace on SIGTERM"
# SIGKILL: the observer stays; the next trace or hist detaches it
"$CTL" trace /dev/ipa >/dev/null 2>"$TMP/own5.err" &
T=$!
own_started trace
kill -KILL $T
wait $T 2>/dev/null
# the inode of the pid namespace, 0 on a kernel without them
PIDNS=$(stat -Lc %i /proc/self/ns/pid 2>/dev/null || echo 0)
expect_eq "a killed trace leaves its observer" "trace_${T}_$PIDNS" "$("$CTL" -j show /dev/ipa | jq -r '.observers[0].ops')"
# observers that only look like a dead trace's: of another pid namespace
# (the pid means nothing here), or without one; they must stay
for o in trace_99999_1 trace_99999 hist_99999x; do
	"$CTL" attach /dev/ipa --observer --prog "$PROGS/trace.bpf.o" --ops "$o" || fail "observer $o"
done
"$CTL" trace /dev/ipa --duration 0.5 >/dev/null 2>"$TMP/own5.err" || fail "trace after a killed one: $(cat "$TMP/own5.err")"
grep -q "detached observer trace_${T}_$PIDNS, left by process $T, which is gone" "$TMP/own5.err" ||
	fail "no word of the stale observer: $(cat "$TMP/own5.err")"
expect_eq "the look-alikes stay" "trace_99999_1 trace_99999 hist_99999x" \
	"$("$CTL" -j show /dev/ipa | jq -r '[.observers[].ops] | join(" ")')"
for o in trace_99999_1 trace_99999 hist_99999x; do
	"$CTL" detach /dev/ipa --observer "$o" || fail "detach observer $o"
done
no_own_observer "trace after a killed trace"
# hist without --interval: collects until SIGINT, then prints once
"$CTL" -j hist /dev/ipa >"$TMP/own4.json" 2>"$TMP/own4.err" &
H=$!
own_started hist
fio_job randrw 100 --rwmixread=50
r=$(ios read) w=$(ios write)
kill -INT $H
wait $H || fail "hist on SIGINT exited with $?: $(cat "$TMP/own4.err")"
expect_eq "hist: reads" "$r" "$(jq '.hist[] | select(.op == "read") | .count' "$TMP/own4.json")"
expect_eq "hist: writes" "$w" "$(jq '.hist[] | select(.op == "write") | .count' "$TMP/own4.json")"
no_own_observer "hist on SIGINT"
"$CTL" detach /dev/ipa || fail detach
# a policy program without the map: an observer of our own beside it
"$CTL" attach /dev/ipa --prog "$PROGS/trace.bpf.o" || fail "attach trace"
"$CTL" -j hist /dev/ipa --interval 15 --count 1 >"$TMP/own5.json" 2>"$TMP/own5.err" &
H=$!
own_started hist
fio_job randread 40
wait $H || fail "hist beside trace: $(cat "$TMP/own5.err")"
expect_eq "hist --interval beside a trace program: reads" 40 "$(jq '.hist[] | select(.op == "read") | .count' "$TMP/own5.json")"
no_own_observer "hist --interval --count"
"$CTL" detach /dev/ipa || fail detach
"$CTL" attach /dev/ipa --prog "$PROGS/latency.bpf.o" || fail "attach latency"
"$CTL" -j trace /dev/ipa --duration 0.5 >/dev/null 2>"$TMP/own6.err" || fail "trace beside latency: $(cat "$TMP/own6.err")"
no_own_observer "trace beside latency"
expect_fail ENOENT "$CTL" trace /dev/ipa@nosuchops
"$CTL" trace /dev/ipa@nosuchops 2>&1 | grep -q "/dev/ipa has no observer named nosuchops" ||
	fail "message for an unknown observer"
log "hist --by comm, pid and cgroup: one histogram per submitter, counts equal each one's I/O"
"$CTL" detach /dev/ipa || fail detach
# khist_job BY: hist --by BY of its own observer while dd and fio write
khist_job() {
	"$CTL" -j hist /dev/ipa --by "$1" >"$TMP/kh-$1.json" 2>"$TMP/kh-$1.err" &
	H=$!
	own_started hist
	expect_eq "--by $1: the policy-less device is observed" observed "$(show_field /dev/ipa .state)"
	fio_job randread 120
	FIO_N=$(ios read)
	if [ "$1" = cgroup ]; then
		sh -c 'echo $$ >"$0/cgroup.procs"; exec dd if=/dev/zero of=/dev/ipa bs=4k count=37 oflag=direct status=none' "$CG" ||
			fail "dd in $CG"
	else
		dd if=/dev/zero of=/dev/ipa bs=4k count=37 oflag=direct status=none &
		DD_PID=$!
		wait $DD_PID || fail "dd"
	fi
	kill -INT $H
	wait $H || fail "hist --by $1: $(cat "$TMP/kh-$1.err")"
	no_own_observer "hist --by $1"
}
khist_job comm
expect_eq "--by comm: dd's bios" 37 "$(jq '.hist[] | select(.comm == "dd") | .count' "$TMP/kh-comm.json")"
expect_eq "--by comm: fio's bios" "$FIO_N" "$(jq '.hist[] | select(.comm == "fio") | .count' "$TMP/kh-comm.json")"
expect_eq "--by comm: percentiles ordered" true \
	"$(jq '[.hist[] | .percentiles_us | .p50 <= .p90 and .p90 <= .p99 and .p99 <= ."p99.9"] | all' "$TMP/kh-comm.json")"
khist_job pid
expect_eq "--by pid: dd's process" 37 "$(jq ".hist[] | select(.pid == $DD_PID) | .count" "$TMP/kh-pid.json")"
expect_eq "--by pid: every bio counted once" "$((37 + FIO_N))" "$(jq '[.hist[].count] | add' "$TMP/kh-pid.json")"
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup || fail "mount cgroup2"
CG=/sys/fs/cgroup/itest-khist
mkdir -p "$CG" || fail "mkdir $CG"
defer rmdir "$CG"
khist_job cgroup
expect_eq "--by cgroup: dd's cgroup, as a path" 37 "$(jq '.hist[] | select(.cgroup == "/itest-khist") | .count' "$TMP/kh-cgroup.json")"
expect_eq "--by cgroup: every bio counted once" "$((37 + FIO_N))" "$(jq '[.hist[].count] | add' "$TMP/kh-cgroup.json")"
"$CTL" hist /dev/ipa --by disk 2>"$TMP/u.err"
expect_eq "hist --by disk: usage error" 2 $?
grep -q "'disk' is not op, comm, pid or cgroup" "$TMP/u.err" || fail "$(cat "$TMP/u.err")"
"$CTL" attach /dev/ipa --prog "$PROGS/latency.bpf.o" || fail "attach latency"

log "records with only the kernel's bi_opf are named from its BTF, as the classified ones of trace.bpf.o"
"$CTL" detach /dev/ipa || fail detach
"$CTL" attach /dev/ipa --prog "$BPFOBJ/rawevent.bpf.o" || fail "attach rawevent"
"$CTL" -d attach /dev/ipa --observer --prog "$PROGS/trace.bpf.o" >"$TMP/load.log" 2>&1 ||
	fail "attach trace observer: $(cat "$TMP/load.log")"
# no kernel's numbers in the object: libbpf relocates each one to this kernel's
for r in "enum req_op::REQ_OP_WRITE" "enum req_op::REQ_OP_READ" \
	"enum req_flag_bits::__REQ_PREFLUSH" "enum req_flag_bits::__REQ_FUA"; do
	grep -q "<enumval_value> .*$r = " "$TMP/load.log" ||
		fail "trace.bpf.o has no CO-RE relocation of $r"
done
log "trace.bpf.o reads REQ_OP_* and __REQ_* through CO-RE relocations"
"$CTL" -j trace /dev/ipa >"$TMP/raw.jsonl" 2>"$TMP/raw.err" &
T1=$!
"$CTL" -j trace /dev/ipa@trace >"$TMP/cls.jsonl" 2>"$TMP/cls.err" &
T2=$!
nap 2
expect_eq "plain write" OK "$(dio_errno w /dev/ipa 0)"
expect_eq "FUA write" OK "$(dio_errno wsync /dev/ipa 4096)"
expect_eq "fsync" OK "$(dio_errno fsync /dev/ipa)"
expect_eq "read" OK "$(dio_errno r /dev/ipa 0)"
nap 1
kill -INT $T1 $T2
wait $T1 || fail "trace of rawevent: $(cat "$TMP/raw.err")"
wait $T2 || fail "trace of the observer: $(cat "$TMP/cls.err")"
opflags() { grep -v '"events":' "$1" | jq -c -s '[.[] | [.op, .flags]] | sort'; }
raw=$(opflags "$TMP/raw.jsonl")
expect_eq "raw records read with the kernel's BTF = classified records" "$(opflags "$TMP/cls.jsonl")" "$raw"
echo "$raw" | jq -e 'any(.[]; .[0] == "flush" and (.[1] | index("preflush")))' >/dev/null ||
	fail "no flush with preflush in $raw"
echo "$raw" | jq -e 'any(.[]; .[0] == "write" and (.[1] | index("fua")))' >/dev/null ||
	fail "no FUA write in $raw"
echo "$raw" | jq -e 'any(.[]; .[0] == "read")' >/dev/null || fail "no read in $raw"
"$CTL" detach /dev/ipa || fail detach
"$CTL" attach /dev/ipa --prog "$PROGS/latency.bpf.o" || fail "attach latency"
"$CTL" hist /dev/ipa --interval 0 2>"$TMP/u.err"
expect_eq "hist --interval 0: usage error" 2 $?
grep -q "interposectl hist: --interval: must be more than 0" "$TMP/u.err" || fail "$(cat "$TMP/u.err")"
"$CTL" trace /dev/ipa --duration x 2>"$TMP/u.err"
expect_eq "trace --duration x: usage error" 2 $?
grep -q "'x' is not a number of seconds" "$TMP/u.err" || fail "$(cat "$TMP/u.err")"
"$CTL" detach /dev/ipa || fail detach
