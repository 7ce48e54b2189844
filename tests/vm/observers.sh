#!/bin/bash
# desc: observers beside a policy: seen and ended equal fio's I/O with no policy, a plain redirect, a readonly program and a dm table; the policy still decides; verdicts reach the observer; detach one or all; refusals; unregistering; attach/detach cycles under fio --verify
. "$REPO/tests/lib.sh"
require_cmd fio jq
PROGS=$BUILD/bpf
for p in trace passthrough readonly; do
	[ -f "$PROGS/$p.bpf.o" ] || fail "$PROGS/$p.bpf.o not built (make bpf)"
done

nullb_create oba 64 2
nullb_create obb 64 2
nullb_create obc 64 2
PINS=/sys/fs/bpf/interpose

# obs_field DEV NAME FIELD: seen or ended of observer NAME of DEV
obs_field() {
	"$CTL" -j show "$1" | jq -r ".observers[] | select(.ops == \"$2\") | .$3"
}
# fio_n RW N [args]: N 4k direct psync I/Os on /dev/oba, prints their number
fio_n() {
	local rw=$1 n=$2
	shift 2
	fio --name=job --filename=/dev/oba --rw="$rw" --bs=4k --ioengine=psync \
		--direct=1 --size=32M --number_ios="$n" --output-format=json "$@" \
		>"$TMP/job.json" 2>"$TMP/job.err" || { cat "$TMP/job.err"; fail "fio $rw"; }
	jq '.jobs[0].read.total_ios + .jobs[0].write.total_ios' "$TMP/job.json"
}

log "an observer on a device without a policy: every bio passes, and it sees each one and its end"
"$CTL" attach /dev/oba --observer --prog "$PROGS/trace.bpf.o" || fail "attach observer"
expect_eq "state" observed "$(show_field /dev/oba .state)"
expect_eq "sysfs" "observed targets= ops=- seen=0 passed=0 redirected=0 remapped=0 failed=0 completed=0 invalid=0 lost=0 observers=trace" \
	"$(cat "$(sysfs_of /dev/oba)/interposer")"
[ -e "$PINS/oba@trace/link" ] || fail "no pin at $PINS/oba@trace/link"
n=$(fio_n randrw 300 --rwmixread=50)
expect_eq "observer seen = fio's I/Os" "$n" "$(obs_field /dev/oba trace seen)"
expect_eq "observer ended" "$n" "$(obs_field /dev/oba trace ended)"
expect_eq "the program's own count" "$n" "$(prog_var /dev/oba@trace traced)"
expect_eq "every bio passed" "$n" "$(counter /dev/oba passed)"
"$CTL" show /dev/oba | grep -q "^  observer trace: seen $n, ended $n\$" ||
	fail "show text: $("$CTL" show /dev/oba)"
pattern 1048576 >"$TMP/p1"
dd if="$TMP/p1" of=/dev/oba bs=1M oflag=direct status=none || fail "write"

log "apply --prune and save leave observers alone: they are not the tab's"
: >"$TMP/tab"
INTERPOSECTL_RUN_DIR=$TMP/run "$CTL" apply "$TMP/tab" --prune || fail "apply --prune"
expect_eq "still observed after apply --prune" observed "$(show_field /dev/oba .state)"
"$CTL" save | grep -q oba && fail "save printed a line for observers: $("$CTL" save)"

log "a policy attached to an observed device keeps its observers"
expect_fail EEXIST "$CTL" attach /dev/oba --ops trace --to /dev/obb
"$CTL" attach /dev/oba --ops trace --to /dev/obb 2>&1 | grep -q "already watches it as an observer" ||
	fail "message for a policy that is an observer already"
expect_eq "refused: still observed" observed "$(show_field /dev/oba .state)"
"$CTL" attach /dev/oba --to /dev/obb || fail "policy onto an observed device"
expect_eq "state" attached "$(show_field /dev/oba .state)"
expect_eq "the observer stays" trace "$("$CTL" -j show /dev/oba | jq -r '[.observers[].ops] | join(" ")')"
n=$(fio_n randrw 100 --rwmixread=50)
expect_eq "the observer sees the bios the policy now redirects (its counts afresh)" "$n" "$(obs_field /dev/oba trace seen)"
expect_eq "redirected" "$n" "$(counter /dev/oba redirected)"
"$CTL" detach /dev/oba || fail "detach policy and observer"
not_interposed /dev/oba || fail "oba still interposed"
"$CTL" attach /dev/oba --observer --prog "$PROGS/trace.bpf.o" || fail "observer again"
log "the same under fio --verify: a policy comes and goes while an observer watches"
# a dm table slid under the device; the module takes none: a program
if on_module; then
	policy=(--prog "$PROGS/passthrough.bpf.o")
else
	policy=(--dm-table "0 131072 linear /dev/oba 0")
fi
fio_verify_start /dev/oba --offset=32M --size=16M
for i in 1 2 3; do
	"$CTL" attach /dev/oba "${policy[@]}" || fail "policy $i"
	nap 0.5
	"$CTL" detach /dev/oba || fail "detach $i"
	"$CTL" attach /dev/oba --observer --prog "$PROGS/trace.bpf.o" || fail "observer $i"
	nap 0.5
done
fio_verify_stop

log "the last observer takes the interposer along, and its pins"
"$CTL" detach /dev/oba --observer trace || fail "detach observer"
not_interposed /dev/oba || fail "oba still interposed"
[ ! -e "$PINS/oba@trace" ] || fail "pins left at $PINS/oba@trace"
region /dev/oba 0 1 "$TMP/r1"
cmp "$TMP/p1" "$TMP/r1" || fail "the write through the observed device did not reach it"

log "observers beside a plain redirect: the policy still decides"
"$CTL" attach /dev/oba --to /dev/obb || fail "attach redirect"
"$CTL" attach /dev/oba --observer --prog "$PROGS/trace.bpf.o" || fail "observer 1"
"$CTL" attach /dev/oba --observer --prog "$PROGS/passthrough.bpf.o" --ops obs2 || fail "observer 2"
expect_eq "state" attached "$(show_field /dev/oba .state)"
expect_eq "observers in attach order" "trace obs2" "$("$CTL" -j show /dev/oba | jq -r '[.observers[].ops] | join(" ")')"
pattern 1048576 >"$TMP/p2"
dd if="$TMP/p2" of=/dev/oba bs=1M oflag=direct status=none || fail "write"
region /dev/obb 0 1 "$TMP/r2"
cmp "$TMP/p2" "$TMP/r2" || fail "the write did not land on the target"
n0=$(counter /dev/oba seen)
n=$(fio_n randrw 200 --rwmixread=50)
expect_eq "policy counts every bio as redirected" "$((n0 + n))" "$(counter /dev/oba redirected)"
expect_eq "observer 1 saw them all" "$(counter /dev/oba seen)" "$(obs_field /dev/oba trace seen)"
expect_eq "observer 2 saw them all" "$(counter /dev/oba seen)" "$(obs_field /dev/oba obs2 seen)"
# passthrough has no end_bio: it is shown no completion
expect_eq "observer 2 (no end_bio) saw no end" 0 "$(obs_field /dev/oba obs2 ended)"
expect_eq "observer 1 saw them end" "$(counter /dev/oba seen)" "$(obs_field /dev/oba trace ended)"

log "refusals"
expect_fail EEXIST "$CTL" attach /dev/oba --observer --ops trace
expect_fail ENOENT "$CTL" attach /dev/oba --observer --ops nosuchops
expect_fail ENOENT "$CTL" detach /dev/oba --observer nosuchops
"$CTL" detach /dev/oba --observer nosuchops 2>&1 | grep -q "no observer named nosuchops" ||
	fail "message for an unknown observer"
out=$("$CTL" attach /dev/oba --observer --to /dev/obb --ops trace 2>&1)
[ $? = 2 ] || fail "observer with --to: expected a usage error, got: $out"
echo "$out" | grep -q "an observer has no --to" || fail "message: $out"
out=$("$CTL" attach /dev/oba --observer 2>&1)
[ $? = 2 ] && echo "$out" | grep -q "needs --ops NAME or --prog" || fail "observer without ops: $out"
probe_expect EINVAL attach /dev/oba --to /dev/obb --flags 1 --ops trace
probe_expect EINVAL attach /dev/oba --flags 1
probe_expect EINVAL attach /dev/oba --flags 3 --ops trace
probe_expect EEXIST attach /dev/oba --flags 1 --ops trace
probe_expect ENOENT attach /dev/oba --flags 1 --ops nosuchops

log "an observer's program that watches another device too is not unloaded behind its back"
"$CTL" attach /dev/obc --observer --ops obs2 || fail "obs2 by name on obc"
expect_eq "ops lists the devices it observes" "oba obc" \
	"$("$CTL" -j ops | jq -r '.[] | select(.name == "obs2") | [.devices[].device] | sort | join(" ")')"
expect_fail EBUSY "$CTL" detach /dev/oba --observer obs2
"$CTL" detach /dev/oba --observer obs2 2>&1 |
	grep -q "the observer's program (ops obs2) is also attached to obc; detach that first" ||
	fail "message for an observer program in use elsewhere"
expect_fail EBUSY "$CTL" detach /dev/oba
expect_eq "nothing was detached" "trace obs2" "$("$CTL" -j show /dev/oba | jq -r '[.observers[].ops] | join(" ")')"
expect_eq "obc still observed" observed "$(show_field /dev/obc .state)"
"$CTL" detach /dev/obc --observer obs2 || fail "detach obs2 from obc"

log "detach one observer: the policy and the other stay"
"$CTL" detach /dev/oba --observer trace || fail "detach trace"
expect_eq "observers left" obs2 "$("$CTL" -j show /dev/oba | jq -r '[.observers[].ops] | join(" ")')"
expect_eq "still redirected" attached "$(show_field /dev/oba .state)"
[ ! -e "$PINS/oba@trace" ] || fail "pins of trace left"
[ -e "$PINS/oba@obs2/link" ] || fail "pins of obs2 gone"

log "plain detach removes the policy and every observer, and their programs"
"$CTL" detach /dev/oba || fail "detach"
not_interposed /dev/oba || fail "still interposed"
[ ! -e "$PINS/oba@obs2" ] || fail "pins of obs2 left"
"$CTL" ops | grep -q obs2 && fail "ops obs2 still registered"

log "an observer beside a readonly program sees its failed verdicts"
"$CTL" attach /dev/oba --prog "$PROGS/readonly.bpf.o" || fail "attach readonly"
"$CTL" attach /dev/oba --observer --prog "$PROGS/trace.bpf.o" || fail "attach observer"
"$CTL" -j trace /dev/oba@trace >"$TMP/tr.jsonl" 2>"$TMP/tr.err" &
TR=$!
defer stop_bg $TR INT
nap 1
expect_eq "write refused by the policy" "$RO_ERRNO" "$(pwrite_errno /dev/oba 0)"
expect_eq "read passes" OK "$(pread_errno /dev/oba 0)"
nap 1
kill -INT $TR
wait $TR || fail "trace of the observer: $(cat "$TMP/tr.err")"
ev() { grep -v '"events":' "$TMP/tr.jsonl" | jq -s "$1"; }
expect_eq "the observer saw the write failed by the policy" 1 \
	"$(ev "[.[] | select(.op == \"write\" and .verdict == \"fail\" and .error == -$RO_ERRNO_NR)] | length")"
expect_eq "and the read passed" 1 "$(ev '[.[] | select(.op == "read" and .verdict == "pass")] | length')"
"$CTL" detach /dev/oba || fail "detach"

log "an observer beside a dm table sees each bio once, not again from the table"
if patched_kernel_case "--dm-table"; then
	"$CTL" attach /dev/oba --dm-table "0 131072 linear /dev/oba 0" || fail "attach dm table"
	"$CTL" attach /dev/oba --observer --ops trace 2>/dev/null &&
		fail "ops trace should be gone with its program"
	"$CTL" attach /dev/oba --observer --prog "$PROGS/trace.bpf.o" || fail "observer under a dm table"
	n=$(fio_n randrw 200 --rwmixread=50)
	expect_eq "observer seen = fio's I/Os" "$n" "$(obs_field /dev/oba trace seen)"
	expect_eq "policy redirected them all" "$n" "$(counter /dev/oba redirected)"
	dmdev=/dev/$("$CTL" -j show /dev/oba | jq -r '.targets[0].device')
	expect_eq "the table's device is reserved" reserved "$(show_field "$dmdev" .state)"
	expect_fail EBUSY "$CTL" attach "$dmdev" --observer --ops trace
	"$CTL" detach /dev/oba || fail "detach dm table"
fi

log "a target that goes away: the observer sees every bio fail (EIO, verdict fail)"
nullb_create obt 64 2
defer nullb_remove obt
"$CTL" attach /dev/oba --to /dev/obt || fail "attach --to obt"
"$CTL" attach /dev/oba --observer --prog "$PROGS/trace.bpf.o" || fail "observer"
nullb_remove obt
wait_for "the interposer failed" sh -c "[ \"\$('$CTL' -j show /dev/oba | jq -r .state)\" = failed ]"
"$CTL" -j trace /dev/oba@trace >"$TMP/lost.jsonl" 2>"$TMP/lost.err" &
TR=$!
nap 1
expect_eq "write on the failed device" EIO "$(pwrite_errno /dev/oba 0)"
expect_eq "read on the failed device" EIO "$(pread_errno /dev/oba 0)"
nap 1
kill -INT $TR
wait $TR || fail "trace of the observer: $(cat "$TMP/lost.err")"
expect_eq "observer seen = lost bios" "$(counter /dev/oba lost)" "$(obs_field /dev/oba trace seen)"
expect_eq "observer ended = lost bios" "$(counter /dev/oba lost)" "$(obs_field /dev/oba trace ended)"
expect_eq "records: failed with EIO" 2 \
	"$(grep -v '"events":' "$TMP/lost.jsonl" | jq -s '[.[] | select(.verdict == "fail" and .error == -5)] | length')"
"$CTL" detach /dev/oba || fail "detach the failed interposer"

log "an observed device that goes away: its interposer goes, detach unloads the observer's program"
nullb_create obr 64 2
defer nullb_remove obr
"$CTL" attach /dev/obr --observer --prog "$PROGS/passthrough.bpf.o" --ops obr1 || fail "observer on obr"
nullb_remove obr
wait_for "obr gone" sh -c "[ ! -e /sys/block/obr ]"
[ -e "$PINS/obr@obr1/link" ] || fail "the observer's pins went with the device (they should wait for detach)"
"$CTL" detach obr || fail "detach of the gone device"
[ ! -e "$PINS/obr@obr1" ] || fail "pins of obr1 left after detach"
"$CTL" ops | grep -qw obr1 && fail "ops obr1 still registered"

log "unregistering an observer's ops takes it off; its last one takes the interposer"
"$CTL" attach /dev/oba --to /dev/obb || fail "attach redirect"
"$CTL" attach /dev/oba --observer --prog "$PROGS/trace.bpf.o" || fail "observer"
"$CTL" attach /dev/obb --observer --prog "$PROGS/passthrough.bpf.o" --ops obsb 2>&1 |
	grep -q "ELOOP\|target of another interposer" || fail "observing a target should be refused"
rm -r "$PINS/oba@trace"
wait_for "observer gone with its ops" sh -c "[ \"\$('$CTL' -j show /dev/oba | jq '.observers | length')\" = 0 ]"
expect_eq "the policy stays" attached "$(show_field /dev/oba .state)"
"$CTL" detach /dev/oba || fail "detach"
"$CTL" attach /dev/oba --observer --prog "$PROGS/trace.bpf.o" || fail "observer"
rm -r "$PINS/oba@trace"
wait_for "the device without a policy detached with its only observer" not_interposed /dev/oba

log "eight observers at most"
for i in 1 2 3 4 5 6 7 8; do
	"$CTL" attach /dev/oba --observer --prog "$PROGS/passthrough.bpf.o" --ops "o$i" ||
		fail "observer $i"
done
expect_fail ENOSPC "$CTL" attach /dev/oba --observer --prog "$PROGS/passthrough.bpf.o" --ops o9
"$CTL" ops | grep -qw o9 && fail "o9 left registered after the refusal"
n=$(fio_n randread 50)
for i in 1 8; do
	expect_eq "observer o$i" "$n" "$(obs_field /dev/oba "o$i" seen)"
done
"$CTL" detach /dev/oba || fail "detach"
ls "$PINS" | grep -q '^oba@' && fail "pins left: $(ls "$PINS")"

log "observers come and go under fio --verify on a redirected device"
"$CTL" attach /dev/oba --to /dev/obb || fail "attach redirect"
fio_verify_start /dev/oba --offset=32M --size=16M
for i in $(seq 1 6); do
	"$CTL" attach /dev/oba --observer --prog "$PROGS/passthrough.bpf.o" --ops "c$i" ||
		fail "cycle $i attach"
	nap 0.3
	"$CTL" detach /dev/oba --observer "c$i" || fail "cycle $i detach"
done
fio_verify_stop
"$CTL" detach /dev/oba || fail "detach"
