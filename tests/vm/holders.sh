#!/bin/bash
# desc: an original's disk lists its targets in slaves/, each target names it in holders/ (lsblk shows the tree), for whole disks, partitions and --dm-table; the links go with detach, a lost target, a deleted original or a dropped partition, and an attach racing the original's deletion leaves no link behind
. "$REPO/tests/lib.sh"
requires_patched_kernel "the module links no targets as slaves of their original (README)"
require_cmd sgdisk

# links DISK TARGET: DISK/slaves/TARGET and TARGET/holders/DISK exist
links() {
	[ -L "/sys/block/$1/slaves/$2" ] && [ -L "/sys/class/block/$2/holders/$1" ]
}
# no_links DIR...: each directory is empty (or gone with its device)
no_links() {
	local d
	for d; do
		[ ! -d "$d" ] || [ -z "$(ls -A "$d")" ] || return 1
	done
}
expect_links() {
	links "$1" "$2" ||
		fail "$3: no holder link between $1 and $2 (slaves: $(ls "/sys/block/$1/slaves" 2>&1); holders: $(ls "/sys/class/block/$2/holders" 2>&1))"
}
expect_no_links() {
	local desc=$1
	shift
	no_links "$@" || fail "$desc: links left: $(ls -l "$@" 2>&1)"
}

log "whole disks: slaves and holders, lsblk's tree"
nullb_create hla 64 2
nullb_create hlb 64 2
expect_no_links "before attach" /sys/block/hla/slaves /sys/block/hlb/holders
"$CTL" attach /dev/hla --to /dev/hlb || fail attach
expect_links hla hlb "plain redirect"
tree=$(lsblk -nr -o NAME /dev/hlb | tr '\n' ' ')
log "lsblk /dev/hlb: $tree"
expect_eq "lsblk shows hla over hlb" "hlb hla " "$tree"
"$CTL" detach /dev/hla || fail detach
expect_no_links "after detach" /sys/block/hla/slaves /sys/block/hlb/holders

log "several targets of a program"
nullb_create hlc 64 2
defer rm -rf /sys/fs/bpf/interpose/hla
"$CTL" attach /dev/hla --prog "$BUILD/bpf/redirect.bpf.o" --to /dev/hlb --to /dev/hlc ||
	fail "attach two targets"
expect_links hla hlb "first target"
expect_links hla hlc "second target"
"$CTL" detach /dev/hla || fail detach
expect_no_links "after detach" /sys/block/hla/slaves /sys/block/hlb/holders /sys/block/hlc/holders

log "a target goes away: its links go, the failed interposer keeps none"
"$CTL" attach /dev/hla --to /dev/hlb || fail attach
echo 0 >/sys/kernel/config/nullb/hlb/power
expect_eq "state" failed "$(show_field /dev/hla .state)"
expect_no_links "after the target's deletion" /sys/block/hla/slaves
"$CTL" detach /dev/hla || fail "detach the failed interposer"
nullb_remove hlb

log "the original goes away: the target's holders go with it"
"$CTL" attach /dev/hla --to /dev/hlc || fail attach
expect_links hla hlc "before the original's deletion"
echo 0 >/sys/kernel/config/nullb/hla/power
wait_for "target released after the original went away" can_claim /dev/hlc
expect_no_links "after the original's deletion" /sys/block/hlc/holders

log "a partition: the holder is its disk; a target on the same disk is not linked"
l0=$(loop_create "$TMP/gpt.img" 64) || exit 1
l=${l0#/dev/}
sgdisk -n 1:2048:+16M -n 2:0:+16M "$l0" >/dev/null || fail "sgdisk"
blockdev --rereadpt "$l0" || fail "rereadpt"
udev_settle "${l0}p1"
udev_settle "${l0}p2"
"$CTL" attach "${l0}p1" --to /dev/hlc || fail "attach ${l0}p1"
expect_links "$l" hlc "partition original"
"$CTL" detach "${l0}p1" || fail detach
expect_no_links "after detach" "/sys/block/$l/slaves" /sys/block/hlc/holders
"$CTL" attach "${l0}p1" --to "${l0}p2" || fail "attach ${l0}p1 --to ${l0}p2"
expect_no_links "same disk" "/sys/block/$l/slaves" "/sys/class/block/${l}p2/holders"
"$CTL" detach "${l0}p1" || fail detach

log "a partition dropped by a rescan: its links go"
"$CTL" attach "${l0}p1" --to /dev/hlc || fail "attach ${l0}p1"
sgdisk -Z "$l0" >/dev/null 2>&1
blockdev --rereadpt "$l0" || fail "rereadpt after zapping the table"
[ ! -e "/sys/class/block/${l}p1" ] || fail "${l0}p1 still there after the rescan"
wait_for "target released after the partition was dropped" can_claim /dev/hlc
expect_no_links "after the rescan" "/sys/block/$l/slaves" /sys/block/hlc/holders

log "--dm-table: the mapped device names the original as its holder"
nullb_create hld 64 2
S=$(blockdev --getsz /dev/hld)
"$CTL" attach /dev/hld --dm-table "0 $S linear /dev/hld 0" || fail "attach --dm-table"
dm=$(show_field /dev/hld '.targets[0].device')
log "mapped device: $dm"
[[ $dm == dm-* ]] || fail "no mapped device in show: $dm"
expect_links hld "$dm" "--dm-table"
"$CTL" detach /dev/hld || fail detach
expect_no_links "after detach" /sys/block/hld/slaves

log "attach racing the original's deletion, 20 rounds"
nullb_create hle 64 2
won=0
for i in $(seq 20); do
	nullb_create hlr 64 2
	"$CTL" attach /dev/hlr --to /dev/hle 2>/dev/null &
	pid=$!
	sleep "0.0$((RANDOM % 10))"
	echo 0 >/sys/kernel/config/nullb/hlr/power
	wait "$pid" && won=$((won + 1))
	nullb_remove hlr
	for j in $(seq 100); do can_claim /dev/hle && break; sleep 0.1; done
	can_claim /dev/hle || fail "round $i: the target is still held"
	expect_no_links "round $i" /sys/block/hle/holders
done
log "attach succeeded before the deletion in $won of 20 rounds"
