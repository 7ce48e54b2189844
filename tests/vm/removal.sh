#!/bin/bash
# desc: original or target removed while attached (plain and with a program) and under I/O: detached with the original, failed closed without a target until detach, the load clean until the removal and only failing with the device's errors after it, the deletion raced with attach and detach (and meeting an attached interposer), nothing leaks or oopses
. "$REPO/tests/lib.sh"

[ -b /dev/ram0 ] || skip "no brd devices (boot with brd.rd_nr=2)"

# --- the load, checked ---------------------------------------------------
# load_ok DEV: a second of random 4k I/O at QD32 that must succeed: fio
# exits 0, did I/O and saw no error.  Before each removal, the interposed
# device works under load.
load_ok() {
	local err
	fio --name=ok --filename="$1" --rw=randrw --bs=4k --ioengine=libaio \
		--iodepth=32 --direct=1 --size=32M --runtime=1 --time_based \
		--output-format=json >"$TMP/ok.out" 2>"$TMP/ok.err" ||
		fail "load on $1 failed: $(tail -3 "$TMP/ok.err")"
	sed -n '/^{/,$p' "$TMP/ok.out" >"$TMP/ok.json"	# past fio's notes
	# error: the job's errno; total_err only with continue_on_error
	err=$(jq '"\(.jobs[0].error) \(.jobs[0].total_err // 0)"' -r "$TMP/ok.json") ||
		fail "load on $1: no JSON: $(head -3 "$TMP/ok.out")"
	[ "$err" = "0 0" ] || fail "load on $1 saw errors (errno, count: $err)"
	[ "$(jq '.jobs[0].read.total_ios + .jobs[0].write.total_ios' "$TMP/ok.json")" -gt 0 ] ||
		fail "load on $1 did no I/O"
}
# busy_start DEV: the same load in the background until busy_stop, going on
# past errors (the device may go away under it); it must be running and
# doing I/O through DEV's interposer.
busy_start() {
	local s0
	BUSY_DEV=$1
	s0=$(counter "$1" seen)
	fio --name=busy --filename="$1" --rw=randrw --bs=4k --ioengine=libaio \
		--iodepth=32 --direct=1 --size=32M --runtime=3600 --time_based \
		--continue_on_error=all --output-format=json \
		>"$TMP/busy.out" 2>"$TMP/busy.err" &
	BUSY=$!
	defer "kill $BUSY 2>/dev/null; wait $BUSY 2>/dev/null; true"
	# fio takes a while to start under TCG: the removal must come under I/O
	for _ in $(seq 100); do
		[ "$(counter "$1" seen)" -gt $((s0 + 256)) ] && break
		kill -0 "$BUSY" 2>/dev/null || fail "load on $1 ended before the removal: $(tail -3 "$TMP/busy.err")"
		sleep 0.2
	done
	[ "$(counter "$1" seen)" -gt $((s0 + 256)) ] || fail "load on $1 does no I/O"
}
# busy_stop clean|lost|gone: stop the load and check it.  clean: the
# device stayed usable: the load still runs and saw no error at all.
# lost: its target went away: the load still runs (it goes on past
# errors) and its I/O fails with EIO only.  gone: the device itself went
# away: the load may have ended, and its I/O failed with EIO, ENXIO,
# ENODEV or ENOSPC (the capacity drops to 0) if at all.  fio exits 128
# when stopped by SIGINT.
busy_stop() {
	local rc err first ok
	sleep 0.5	# some I/O after the removal
	if kill -0 "$BUSY" 2>/dev/null; then
		kill -INT "$BUSY"
	elif [ "$1" != gone ]; then
		fail "load on $BUSY_DEV ended by itself: $(grep -m3 error "$TMP/busy.err")"
	fi
	wait "$BUSY"
	rc=$?
	sed -n '/^{/,$p' "$TMP/busy.out" >"$TMP/busy.json"	# past fio's notes
	jq -e . "$TMP/busy.json" >/dev/null 2>&1 || fail "no fio JSON: $(head -3 "$TMP/busy.out") $(tail -3 "$TMP/busy.err")"
	err=$(jq '.jobs[0].total_err // 0' "$TMP/busy.json")
	first=$(jq '.jobs[0].first_error // .jobs[0].error' "$TMP/busy.json")
	log "load on $BUSY_DEV: exit $rc, $err errors, first errno $first"
	case $1 in
	clean)
		case $rc in 0 | 128) ;; *) fail "load on $BUSY_DEV: exit $rc: $(tail -3 "$TMP/busy.err")" ;; esac
		[ "$err" = 0 ] && [ "$first" = 0 ] || fail "load on $BUSY_DEV failed ($err errors, errno $first)"
		return ;;
	lost) ok="0 5" ;;		# EIO
	gone) ok="0 5 6 19 28" ;;	# EIO, ENXIO, ENODEV, ENOSPC
	esac
	case " $ok " in
	*" $first "*) ;;
	*) fail "load on $BUSY_DEV: unexpected errno $first: $(grep -m3 error "$TMP/busy.err")" ;;
	esac
	# every error fio printed is one of those
	if grep 'io_u error' "$TMP/busy.err" | grep -v 'Input/output error' |
		{ [ "$1" = lost ] && cat || grep -v 'No such device\|No space left on device'; } | grep -q .; then
		fail "load on $BUSY_DEV: unexpected error: $(grep 'io_u error' "$TMP/busy.err" | grep -v 'Input/output error' | head -3)"
	fi
}
# failed_closed DEV: bios of the load failed with EIO for the lost target
failed_closed() {
	local lost
	lost=$(counter "$1" lost)
	[ "$lost" -gt 0 ] || fail "no bio of the load on $1 failed for the lost target"
	log "$1: $lost bios failed closed"
}

log "original powered off under I/O"
nullb_create ipa 64 2
nullb_create ipb 64 2
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
load_ok /dev/ipa
mark=$(kmsg_mark)
busy_start /dev/ipa
echo 0 >/sys/kernel/config/nullb/ipa/power
busy_stop gone
wait_for "target released after the original went away" can_claim /dev/ipb
kmsg_since "$mark" | grep -q "ipa: interposer detached" || fail "no detach message in the kernel log"
nullb_remove ipa

log "target powered off under I/O"
nullb_create ipa 64 2
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
load_ok /dev/ipa
busy_start /dev/ipa
echo 0 >/sys/kernel/config/nullb/ipb/power
busy_stop lost
expect_eq "show after target removal" failed "$(show_field /dev/ipa .state)"
failed_closed /dev/ipa
dd if=/dev/ipa of=/dev/null bs=1M count=4 iflag=direct status=none 2>/dev/null &&
	fail "the original served its own data without its target"
"$CTL" detach /dev/ipa || fail "detach after the target went away"
dd if=/dev/ipa of=/dev/null bs=1M count=4 iflag=direct status=none || fail "original unusable after detach"
nullb_remove ipb

# brd and dm-linear, the bio-based devices there are (6.12's null_blk has no
# bio-based mode), cannot be deleted while the interposer holds them: the
# target that goes away is a null_blk.
log "bio-based original (brd) with a blk-mq target, target removed under I/O"
[ -e /sys/block/ram0/mq ] && fail "ram0 is not bio-based"
nullb_create ipd 64 2
"$CTL" attach /dev/ram0 --to /dev/ipd || fail attach
load_ok /dev/ram0
busy_start /dev/ram0
echo 0 >/sys/kernel/config/nullb/ipd/power
busy_stop lost
expect_eq "failed" failed "$(show_field /dev/ram0 .state)"
failed_closed /dev/ram0
"$CTL" detach /dev/ram0 || fail "detach ram0"
dd if=/dev/ram0 of=/dev/null bs=1M count=4 iflag=direct status=none || fail "ram0 unusable after detach"

log "loop original detached under I/O: it goes away at its last close, the load keeps working until then"
truncate -s 32M "$TMP/l0.img"
l0=$(losetup --show -f "$TMP/l0.img") || fail "losetup $TMP/l0.img"
defer "losetup -d $l0 2>/dev/null; true"
"$CTL" attach "$l0" --to /dev/ipa || fail attach
load_ok "$l0"
busy_start "$l0"
losetup -d "$l0" || fail "losetup -d"
busy_stop clean
wait_for "interposer gone after the loop device was detached" not_interposed "$l0"
wait_for "target released" can_claim /dev/ipa

log "partition original deleted"
l1=$(loop_create "$TMP/l1.img" 64)
sgdisk -n 1:2048:+16M -n 2:0:+16M "$l1" >/dev/null || fail sgdisk
partx -u "$l1" 2>/dev/null || blockdev --rereadpt "$l1"
udev_settle "${l1}p1"
"$CTL" attach "${l1}p1" --to /dev/ipa || fail "attach p1"
partx -d --nr 1 "$l1" || fail "delete partition 1"
wait_for "target released after the partition was deleted" can_claim /dev/ipa
expect_eq "p2 untouched" none "$(cat /sys/class/block/"$(basename "$l1")p2"/interposer)"

log "program redirecting to a target, target powered off under I/O"
nullb_create ipe 64 2
nullb_create ipf 64 2
defer rm -rf /sys/fs/bpf/interpose/ipe /sys/fs/bpf/interpose/ipg
"$CTL" attach /dev/ipe --prog "$BUILD/bpf/redirect.bpf.o" --to /dev/ipf || fail attach
load_ok /dev/ipe
busy_start /dev/ipe
echo 0 >/sys/kernel/config/nullb/ipf/power
busy_stop lost
expect_eq "show" failed "$(show_field /dev/ipe .state)"
failed_closed /dev/ipe
expect_eq "ops of the failed device" '[{"name":"redirect","devices":["ipe"]}]' \
	"$("$CTL" -j ops | jq -c 'map({name, devices: [.devices[].device]})')"
"$CTL" detach /dev/ipe || fail "detach of the failed device should remove the pins"
dd if=/dev/ipe of=/dev/null bs=1M count=4 iflag=direct status=none || fail "original unusable"
expect_eq "ops after detach" 0 "$("$CTL" -j ops | jq length)"
[ ! -e /sys/fs/bpf/interpose/ipe ] || fail "pins of ipe left"

log "program with end_bio, original powered off under I/O"
nullb_create ipg 64 2
"$CTL" attach /dev/ipg --prog "$BUILD/bpf/latency.bpf.o" || fail attach
load_ok /dev/ipg
mark=$(kmsg_mark)
busy_start /dev/ipg
echo 0 >/sys/kernel/config/nullb/ipg/power
busy_stop gone
ipg_detached() { kmsg_since "$mark" | grep -q "ipg: interposer detached"; }
wait_for "detach message" ipg_detached
expect_eq "ops of the gone device" '[{"name":"latency","devices":[]}]' \
	"$("$CTL" -j ops | jq -c 'map({name, devices: [.devices[].device]})')"
nullb_remove ipg
log "detach of the deleted device unloads its program"
"$CTL" detach /dev/ipg || fail "detach of the deleted ipg"
expect_eq "ops after detaching the deleted device" 0 "$("$CTL" -j ops | jq length)"
[ ! -e /sys/fs/bpf/interpose/ipg ] || fail "pins of the deleted ipg left"
expect_fail ENOENT "$CTL" detach /dev/ipg
log "a new device of the same name gets a program again, and detach cleans up"
nullb_create ipg 64 2
"$CTL" attach /dev/ipg --prog "$BUILD/bpf/latency.bpf.o" || fail "attach to the new ipg"
expect_eq "ops" '[{"name":"latency","devices":["ipg"]}]' "$("$CTL" -j ops | jq -c 'map({name, devices: [.devices[].device]})')"
"$CTL" detach /dev/ipg || fail detach
expect_eq "ops after detach" 0 "$("$CTL" -j ops | jq length)"
[ -z "$(ls /sys/fs/bpf/interpose 2>/dev/null)" ] || fail "pins left: $(ls -R /sys/fs/bpf/interpose)"

log "attach through the open file of a disk deleted meanwhile: ENODEV (errors.md row 25)"
nullb_create ipz 64 2
nullb_create ipy 64 2
probe_expect ENODEV attach /dev/ipz --to /dev/ipy \
	--before "echo 0 >/sys/kernel/config/nullb/ipz/power"
nullb_create ipx 64 2
log "a target deleted between its open and the attach"
got=$("$PROBE" attach /dev/ipx --to /dev/ipy \
	--before "echo 0 >/sys/kernel/config/nullb/ipy/power" 2>&1 | head -1)
log "attach with a deleted target: $got"
case $got in ENXIO|ENODEV) ;; *) fail "attach with a deleted target: $got" ;; esac
expect_eq "ipx not interposed" none "$(cat /sys/block/ipx/interposer)"

log "attach/detach racing with the deletion of the original: only documented errors, and deletions that meet an attached interposer"
nullb_create ipw 64 2
declare -A seen
met=0
# about half the deletions meet an attached interposer on the patched
# kernel (10 of 20 in a recorded run), fewer with the module, whose
# attach takes longer: the rounds go on past $rounds, up to four times
# as many, until one did
rounds=${RACE_ROUNDS:-12}
round=0
while [ "$round" -lt "$rounds" ] ||
	{ [ "$met" -eq 0 ] && [ "$round" -lt $((rounds * 4)) ]; }; do
	round=$((round + 1))
	nullb_create ipv 64 2
	(
		while [ -e /dev/ipv ]; do
			echo "attach $("$PROBE" attach /dev/ipv --to /dev/ipw 2>&1 | head -1)"
			echo "detach $("$PROBE" detach /dev/ipv 2>&1 | head -1)"
		done
	) >"$TMP/race.$round" &
	racer=$!
	# delete it in the middle of the racer's cycles, not before they start
	for _ in $(seq 100); do
		[ "$(grep -c '^detach OK' "$TMP/race.$round")" -ge 1 ] && break
		sleep 0.05
	done
	if [ $((round % 2)) -eq 0 ]; then
		# even rounds: right after an attach returned
		n=$(grep -c '^attach OK' "$TMP/race.$round")
		for _ in $(seq 500); do
			[ "$(grep -c '^attach OK' "$TMP/race.$round")" -gt "$n" ] && break
			sleep 0.01
		done
	else
		sleep "0.0$((RANDOM % 10))"
	fi
	mark=$(kmsg_mark)
	echo 0 >/sys/kernel/config/nullb/ipv/power
	wait "$racer"
	nullb_remove ipv
	# the deletion met an attached interposer: it detached it
	if kmsg_since "$mark" | grep -q "ipv: interposer detached, the device is going away"; then
		met=$((met + 1))
	fi
	while read -r op r; do
		case $op:$r in
		attach:OK | attach:ENODEV | attach:ENXIO | detach:OK | detach:ENOENT) ;;
		# the interposer the deletion detached still holds the target
		attach:EBUSY) ;;
		*:/dev/ipv:*) r=gone ;;
		*) fail "round $round: undocumented result '$op $r'" ;;
		esac
		seen[$op:$r]=$((${seen[$op:$r]:-0} + 1))
	done <"$TMP/race.$round"
	# the next round's attaches need the target released
	wait_for "ipw released after round $round" can_claim /dev/ipw >/dev/null
done
log "$round rounds: $met deletions met an attached interposer; results: $(for k in "${!seen[@]}"; do printf '%s=%s ' "$k" "${seen[$k]}"; done)"
[ "${seen[attach:OK]:-0}" -gt 0 ] && [ "${seen[detach:OK]:-0}" -gt 0 ] ||
	fail "no attach or no detach ever succeeded"
[ "$met" -gt 0 ] || fail "no deletion met an attached interposer in $round rounds: the race never happened"
log "the target is free again: another device can take it"
"$CTL" attach /dev/ipx --to /dev/ipw || fail "ipw still held after the races"
"$CTL" detach /dev/ipx || fail "detach ipx"
expect_eq "ipw not interposed" none "$(cat /sys/block/ipw/interposer)"
