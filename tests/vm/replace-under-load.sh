#!/bin/bash
# desc: program replace cycles (20, REPLACE_CYCLES=; make stress runs 1000) passthrough -> redirect -> linear under fio --verify QD32: each replace takes effect, no verify error, counters add up
. "$REPO/tests/lib.sh"
requires_patched_kernel "a target over the original under fio --verify (dm-linear; the module refuses it: ELOOP)"
cycles=${REPLACE_CYCLES:-20}
nullb_create ipa 128 2
sz=$(blockdev --getsz /dev/ipa)
# the targets see the original's data: every program keeps fio's data intact
dm_create iplin "0 $sz linear /dev/ipa 0"

# the three programs, by kind of verdict (the kernel's counter that grows)
progs=(passthrough redirect linear)
declare -A kind=([passthrough]=passed [redirect]=redirected [linear]=remapped)
declare -A args
for p in "${progs[@]}"; do
	args[$p]="--prog $BUILD/bpf/$p.bpf.o"
done
if [ ! -f "$BUILD/bpf/linear.bpf.o" ]; then
	log "build/bpf programs missing: using verdict.bpf.o modes"
	args=([passthrough]="--prog $BPFOBJ/verdict.bpf.o --set mode=0"
		[redirect]="--prog $BPFOBJ/verdict.bpf.o --set mode=1 --set write_target=0"
		[linear]="--prog $BPFOBJ/verdict.bpf.o --set mode=3 --set remap_target=0")
fi

# snapshot -> "seen passed redirected remapped failed completed invalid"
snapshot() {
	"$CTL" -j stats /dev/ipa | jq -r '.counters |
		"\(.seen) \(.passed) \(.redirected) \(.remapped) \(.failed) \(.completed) \(.invalid)"'
}
# count KIND: one counter, from sysfs with bash builtins only (an exec
# costs a lot under TCG)
count() {
	local line
	read -r line </sys/block/ipa/interposer
	[[ $line =~ \ $1=([0-9]+) ]] || fail "no $1 in: $line"
	echo "${BASH_REMATCH[1]}"
}

# shellcheck disable=SC2086
"$CTL" attach /dev/ipa ${args[passthrough]} --to /dev/mapper/iplin || fail attach
name=$(show_field /dev/ipa .ops)
# make stress runs longer than fio_verify_start's hour: FIO_RUNTIME=
fio_verify_start /dev/ipa --runtime="${FIO_RUNTIME:-3600}"
cur=passthrough
for i in $(seq "$cycles"); do
	next=${progs[i % 3]}
	before=$(count "${kind[$next]}")
	# shellcheck disable=SC2086
	"$CTL" replace /dev/ipa ${args[$next]} || fail "replace $cur -> $next, cycle $i"
	# the new program's verdicts must show up (fio keeps 32 I/Os in flight)
	for t in $(seq 100); do
		[ "$(count "${kind[$next]}")" -gt "$before" ] && break
		[ "$t" = 100 ] && fail "cycle $i: no ${kind[$next]} bio 10 s after replacing $cur by $next"
		sleep 0.1
	done
	kill -0 "$FIO_PID" || fail "fio died at cycle $i"
	cur=$next
done
log "$cycles replaces, ending with $cur"
fio_verify_stop
reads=$(jq '.jobs[0].read.total_ios' "$TMP/fio.json")

log "counters and state after the load"
read -r seen passed redirected remapped failed completed invalid < <(snapshot)
log "seen $seen: passed $passed, redirected $redirected, remapped $remapped, failed $failed, completed $completed, invalid $invalid"
expect_eq "bios seen = fio's I/O" $((FIO_WRITES + reads)) "$seen"
expect_eq "seen = sum of verdicts" "$seen" $((passed + redirected + remapped + failed + completed + invalid))
expect_eq "failed + completed + invalid" 0 $((failed + completed + invalid))
[ "$passed" -gt 0 ] && [ "$redirected" -gt 0 ] && [ "$remapped" -gt 0 ] ||
	fail "every program should have had bios"
expect_eq "show: state" attached "$(show_field /dev/ipa .state)"
expect_eq "show: ops name kept across replaces" "$name" "$(show_field /dev/ipa .ops)"
expect_eq "sysfs agrees" \
	"attached targets=$(stat -L -c '%Hr:%Lr' /dev/mapper/iplin) ops=$name seen=$seen passed=$passed redirected=$redirected remapped=$remapped failed=$failed completed=$completed invalid=$invalid lost=0" \
	"$(cat /sys/block/ipa/interposer)"
expect_eq "one ops registered" 1 "$("$CTL" -j ops | jq length)"

"$CTL" detach /dev/ipa || fail detach
expect_eq "state after detach" none "$(cat /sys/block/ipa/interposer)"
expect_eq "ops after detach" 0 "$("$CTL" -j ops | jq length)"
[ -z "$(ls /sys/fs/bpf/interpose 2>/dev/null)" ] || fail "pins left: $(ls -R /sys/fs/bpf/interpose)"
