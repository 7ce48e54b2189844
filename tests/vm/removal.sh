#!/bin/bash
# desc: original or target removed while attached (plain and with a program) and under I/O: detached with the original, failed closed without a target until detach, nothing leaks or oopses
. "$REPO/tests/lib.sh"

log "original powered off under I/O"
nullb_create ipa 64 2
nullb_create ipb 64 2
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
mark=$(kmsg_mark)
load_start /dev/ipa
echo 0 >/sys/kernel/config/nullb/ipa/power
load_stop
wait_for "target released after the original went away" can_claim /dev/ipb
kmsg_since "$mark" | grep -q "ipa: interposer detached" || fail "no detach message in the kernel log"
nullb_remove ipa

log "target powered off under I/O"
nullb_create ipa 64 2
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
load_start /dev/ipa
echo 0 >/sys/kernel/config/nullb/ipb/power
load_stop
expect_eq "show after target removal" failed "$(show_field /dev/ipa .state)"
dd if=/dev/ipa of=/dev/null bs=1M count=4 iflag=direct status=none 2>/dev/null &&
	fail "the original served its own data without its target"
"$CTL" detach /dev/ipa || fail "detach after the target went away"
dd if=/dev/ipa of=/dev/null bs=1M count=4 iflag=direct status=none || fail "original unusable after detach"
nullb_remove ipb

log "bio-based original with a bio-based target, target removed"
nullb_create ipc 64 0
nullb_create ipd 64 0
"$CTL" attach /dev/ipc --to /dev/ipd || fail attach
load_start /dev/ipc
echo 0 >/sys/kernel/config/nullb/ipd/power
load_stop
expect_eq "failed" failed "$(show_field /dev/ipc .state)"
"$CTL" detach /dev/ipc || fail "detach ipc"

log "loop original detached under I/O"
l0=$(loop_create "$TMP/l0.img" 32)
"$CTL" attach "$l0" --to /dev/ipa || fail attach
load_start "$l0"
losetup -d "$l0" || fail "losetup -d"
load_stop
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
load_start /dev/ipe
echo 0 >/sys/kernel/config/nullb/ipf/power
load_stop
expect_eq "show" failed "$(show_field /dev/ipe .state)"
expect_eq "ops of the failed device" '[{"name":"redirect","devices":["ipe"]}]' \
	"$("$CTL" -j ops | jq -c 'map({name, devices})')"
"$CTL" detach /dev/ipe || fail "detach of the failed device should remove the pins"
dd if=/dev/ipe of=/dev/null bs=1M count=4 iflag=direct status=none || fail "original unusable"
expect_eq "ops after detach" 0 "$("$CTL" -j ops | jq length)"
[ ! -e /sys/fs/bpf/interpose/ipe ] || fail "pins of ipe left"

log "program with end_bio, original powered off under I/O"
nullb_create ipg 64 2
"$CTL" attach /dev/ipg --prog "$BUILD/bpf/latency.bpf.o" || fail attach
mark=$(kmsg_mark)
load_start /dev/ipg
echo 0 >/sys/kernel/config/nullb/ipg/power
load_stop
ipg_detached() { kmsg_since "$mark" | grep -q "ipg: interposer detached"; }
wait_for "detach message" ipg_detached
expect_eq "ops of the gone device" '[{"name":"latency","devices":[]}]' \
	"$("$CTL" -j ops | jq -c 'map({name, devices})')"
nullb_remove ipg
log "detach of the deleted device unloads its program"
"$CTL" detach /dev/ipg || fail "detach of the deleted ipg"
expect_eq "ops after detaching the deleted device" 0 "$("$CTL" -j ops | jq length)"
[ ! -e /sys/fs/bpf/interpose/ipg ] || fail "pins of the deleted ipg left"
expect_fail ENOENT "$CTL" detach /dev/ipg
log "a new device of the same name gets a program again, and detach cleans up"
nullb_create ipg 64 2
"$CTL" attach /dev/ipg --prog "$BUILD/bpf/latency.bpf.o" || fail "attach to the new ipg"
expect_eq "ops" '[{"name":"latency","devices":["ipg"]}]' "$("$CTL" -j ops | jq -c 'map({name, devices})')"
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

log "attach/detach racing with the deletion of the original: only documented errors"
nullb_create ipw 64 2
declare -A seen
for round in $(seq "${RACE_ROUNDS:-20}"); do
	nullb_create ipv 64 2
	(
		while [ -e /dev/ipv ]; do
			"$PROBE" attach /dev/ipv --to /dev/ipw 2>&1 | head -1
			"$PROBE" detach /dev/ipv 2>&1 | head -1
		done
	) >"$TMP/race.$round" &
	racer=$!
	sleep "0.$((RANDOM % 5))"
	echo 0 >/sys/kernel/config/nullb/ipv/power
	wait "$racer"
	nullb_remove ipv
	while read -r r; do
		case $r in
		OK|ENODEV|ENOENT|ENXIO) seen[$r]=$((${seen[$r]:-0} + 1)) ;;
		/dev/ipv:*) seen[gone]=$((${seen[gone]:-0} + 1)) ;;
		*) fail "round $round: undocumented result '$r'" ;;
		esac
	done <"$TMP/race.$round"
done
log "results: $(for k in "${!seen[@]}"; do printf '%s=%s ' "$k" "${seen[$k]}"; done)"
[ "${seen[OK]:-0}" -gt 0 ] || fail "no attach or detach ever succeeded"
log "the target is free again: another device can take it"
"$CTL" attach /dev/ipx --to /dev/ipw || fail "ipw still held after the races"
"$CTL" detach /dev/ipx || fail "detach ipx"
expect_eq "ipw not interposed" none "$(cat /sys/block/ipw/interposer)"
