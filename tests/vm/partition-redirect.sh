#!/bin/bash
# desc: on a GPT loop disk only the interposed partition is redirected, in partition-relative sectors
. "$REPO/tests/lib.sh"
. "$REPO/tests/vm/redirect-common.inc"
require_cmd sgdisk
part_test() {
	local disk=$1 p1=$2 p2=$3
	fill "$p2" "$TMP/p2" 8
	redirect_roundtrip "$p1" /dev/ipb 8
	same "$p2" "$TMP/p2" 8 || fail "$p2 changed while $p1 was interposed"
	# the whole disk is not interposed by a partition's interposer
	expect_eq "whole disk state" none "$(show_field "$disk" .state)"
	# a partition's bios reach the target at partition-relative sectors:
	# the target's first MB is what was written at p1's first MB
	"$CTL" attach "$p1" --to /dev/ipb || fail "attach $p1"
	pattern 1048576 >"$TMP/c"
	dd if="$TMP/c" of="$p1" bs=1M oflag=direct status=none || fail "write $p1"
	"$CTL" detach "$p1" || fail "detach $p1"
	same /dev/ipb "$TMP/c" 1 || fail "partition sector 0 did not map to target sector 0"
	same "$p2" "$TMP/p2" 8 || fail "$p2 changed"
}
nullb_create ipb 64 2
l0=$(loop_create "$TMP/gpt.img" 64) || exit 1
sgdisk -n 1:2048:+16M -n 2:0:+16M "$l0" >/dev/null || fail "sgdisk"
partx -u "$l0" 2>/dev/null || blockdev --rereadpt "$l0"
udev_settle "${l0}p1"
udev_settle "${l0}p2"
part_test "$l0" "${l0}p1" "${l0}p2"
if [ -b /dev/vda ]; then
	log "virtio disk present: same on /dev/vda"
	sgdisk -Z /dev/vda >/dev/null 2>&1
	sgdisk -n 1:2048:+16M -n 2:0:+16M /dev/vda >/dev/null || fail "sgdisk vda"
	blockdev --rereadpt /dev/vda
	udev_settle /dev/vda1
	part_test /dev/vda /dev/vda1 /dev/vda2
	nullb_create ipv $(($(blockdev --getsize64 /dev/vda) >> 20)) 2
	redirect_roundtrip /dev/vda /dev/ipv 8
else
	skip_case "no virtio disk /dev/vda (kernel/vm-run --disk FILE) for the same on a real disk"
fi
