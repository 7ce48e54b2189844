#!/bin/bash
# desc: interposectl snapshot of a mounted ext4 under fio verify (old data in the snapshot, fsck clean, mounts read-only without recovery), two devices at one point, COW overflow and COW loss, a partition, detach, DM_INTERPOSE_READ_FLAG's kernel checks, refusals
. "$REPO/tests/lib.sh"
requires_patched_kernel "snapshots slide dm-snapshot-origin in (module.sh checks the refusal)"
require_cmd fio jq mkfs.ext4 fsck.ext4 dmsetup blockdev sha256sum sgdisk
DMLOAD=$BUILD/tests/dm-load
[ -x "$DMLOAD" ] || fail "$DMLOAD not built (make test-tools)"

# snap_node NAME: /dev/mapper/NAME (no udev in the guest: dmsetup makes it)
snap_node() {
	dmsetup mknodes "$1" >/dev/null 2>&1
	udev_settle "/dev/mapper/$1"
}
devnum() { cat "/sys/block/$1/dev"; }
mnt=$TMP/mnt snapmnt=$TMP/snap
mkdir -p "$mnt" "$snapmnt"
defer umount_if "$snapmnt"

# --- 1. a mounted ext4 under fio verify --------------------------------
nullb_create ipa 128
nullb_create ipc 64
nullb_create ipd 64
defer dm_remove ipa-snap
defer detach_if /dev/ipa
mkfs.ext4 -q -F /dev/ipa || fail mkfs
mount /dev/ipa "$mnt" || fail mount
defer umount_if "$mnt"
pattern 1M >"$mnt/A"
old_a=$(sha256sum <"$mnt/A")
sync
fs_fio_start "$mnt" 4M 16

log "snapshot of the mounted ext4 while fio writes it"
out=$("$CTL" snapshot /dev/ipa --cow /dev/ipc) || fail "snapshot: $out"
expect_eq "snapshot prints its device" /dev/mapper/ipa-snap "$out"
snap_node ipa-snap
pattern 1M >"$mnt/A"
echo after >"$mnt/B"
sync
sleep 2

expect_eq "show -j: the snapshot's state" valid "$("$CTL" -j show ipa | jq -r .snapshot.state)"
expect_eq "show -j: its COW device" "ipc $(devnum ipc)" \
	"$("$CTL" -j show ipa | jq -r '"\(.snapshot.cow.device) \(.snapshot.cow.dev)"')"
alloc=$("$CTL" -j show ipa | jq .snapshot.allocated)
[ "$alloc" -gt 0 ] || fail "the snapshot's store is empty after writes: $alloc"
log "COW store in use: $alloc sectors"
"$CTL" show ipa | grep -q '^  snapshot /dev/mapper/ipa-snap .*cow ipc, valid, [0-9]*/[0-9]* sectors used' ||
	fail "show text has no snapshot line: $("$CTL" show ipa)"

fsck.ext4 -fn /dev/mapper/ipa-snap >"$TMP/fsck.snap" 2>&1 ||
	{ cat "$TMP/fsck.snap"; fail "e2fsck -fn of the snapshot found errors"; }
log "e2fsck -fn of the snapshot: clean"
# ro on a read-only device: ext4 refuses if its journal needed recovery
mount -o ro /dev/mapper/ipa-snap "$snapmnt" || fail "the snapshot does not mount read-only"
expect_eq "A in the snapshot has its old content" "$old_a" "$(sha256sum <"$snapmnt/A")"
[ ! -e "$snapmnt/B" ] || fail "B, written after the snapshot, is in it"
log "B is not in the snapshot"
expect_fail EBUSY "$CTL" detach /dev/ipa
out=$("$CTL" snapshot /dev/ipa --cow /dev/ipd 2>&1) && fail "a second snapshot of ipa"
echo "$out" | grep -q 'a dm table (interpose-ipa) is under it, with a snapshot; detach it first (EBUSY)' ||
	fail "the second snapshot's refusal does not say why: $out"
log "refused: $out"
umount "$snapmnt"

fio_verify_stop
log "detach: the snapshot, then the origin mapping"
"$CTL" detach /dev/ipa || fail detach
[ ! -e /sys/block/ipa/holders ] || [ -z "$(ls /sys/block/ipa/holders)" ] ||
	fail "ipa still has holders: $(ls /sys/block/ipa/holders)"
dmsetup info ipa-snap >/dev/null 2>&1 && fail "ipa-snap is still there"
dmsetup info interpose-ipa >/dev/null 2>&1 && fail "interpose-ipa is still there"
expect_eq "B on the original" after "$(cat "$mnt/B")"
umount "$mnt"
fsck.ext4 -fn /dev/ipa >"$TMP/fsck.orig" 2>&1 ||
	{ cat "$TMP/fsck.orig"; fail "e2fsck -fn of the original found errors"; }
log "e2fsck -fn of the original after detach: clean"

log "the same COW device for a new snapshot starts empty"
"$CTL" -j snapshot /dev/ipa --cow /dev/ipc >"$TMP/one.json" ||
	fail "a second snapshot on the same COW device"
expect_eq "-j of one device" "/dev/mapper/ipa-snap ipa $(devnum ipa) ipc" \
	"$(jq -r '"\(.snapshot) \(.origin.device) \(.origin.dev) \(.cow.device)"' "$TMP/one.json")"
snap_node ipa-snap
region /dev/ipa 0 128 "$TMP/ipa.now"
same /dev/mapper/ipa-snap "$TMP/ipa.now" 128 ||
	fail "a snapshot on a used COW device shows the old snapshot's chunks"
expect_eq "its store holds no chunk yet" 0 \
	"$("$CTL" -j show ipa | jq '.snapshot.allocated - .snapshot.metadata')"
"$CTL" detach /dev/ipa || fail "detach the second snapshot"

# --- 2. refusals ----------------------------------------------------------
expect_fail EINVAL "$CTL" snapshot /dev/ipa --cow /dev/ipa
expect_eq "--chunk 3k" EINVAL "$("$CTL" -j snapshot /dev/ipa --cow /dev/ipc --chunk 3k 2>/dev/null | jq -r .errno)"
expect_eq "no --cow" EINVAL "$("$CTL" -j snapshot /dev/ipa 2>/dev/null | jq -r .errno)"
"$CTL" attach /dev/ipd --to /dev/ipc || fail "attach ipd"
out=$("$CTL" snapshot /dev/ipd --cow /dev/ipa 2>&1) && fail "a snapshot of a redirected device"
echo "$out" | grep -q 'it redirects to ipc.*(EBUSY)' || fail "refusal does not say why: $out"
log "refused: $out"
"$CTL" detach /dev/ipd || fail "detach ipd"
mount /dev/ipa "$mnt" || fail "mount ipa again"
out=$("$CTL" snapshot /dev/ipd --cow /dev/ipa 2>&1) && fail "a mounted COW device"
echo "$out" | grep -q 'is in use.*(EBUSY)' || fail "refusal does not say why: $out"
log "refused: $out"

nullb_create ipz 64 2 1 zoned=1 zone_size=8
expect_fail EOPNOTSUPP "$CTL" snapshot /dev/ipz --cow /dev/ipc
dm_create small "0 1000 linear /dev/ipd 0"
expect_fail ENOSPC "$CTL" snapshot /dev/ipa --cow /dev/mapper/small
dm_remove small
expect_fail EPERM setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	--bounding-set=-all "$CTL" snapshot /dev/ipd --cow /dev/ipc
expect_fail EPERM setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \
	"$CTL" snapshot /dev/ipd --cow /dev/ipc
fill /dev/ipd "$TMP/ipd" 1
expect_fail EINVAL "$CTL" snapshot /dev/ipd /dev/ipc --cow /dev/ipc --cow /dev/ipd
same /dev/ipd "$TMP/ipd" 1 || fail "a refused snapshot cleared an original named as a COW device"
not_interposed /dev/ipd && not_interposed /dev/ipc || fail "a refused snapshot left an interposer"

# --- 3. DM_INTERPOSE_READ_FLAG in the kernel ------------------------------
S=$(blockdev --getsz /dev/ipd)
ipd=$(devnum ipd) ipc=$(devnum ipc)
defer dm_remove rd1
defer dm_remove rd2
defer dm_remove rd3
expect_eq "read flag, nothing interposes ipd" EBUSY \
	"$("$DMLOAD" --read rd1 "$ipd" "0 $S snapshot $ipd $ipc P 8")"
"$CTL" attach /dev/ipd --to /dev/ipc || fail "attach ipd"
expect_eq "read flag, ipd redirected to a device not reserved for it" EBUSY \
	"$("$DMLOAD" --read rd2 "$ipd" "0 $S snapshot $ipd $ipc P 8")"
"$CTL" detach /dev/ipd || fail "detach ipd"
"$CTL" attach /dev/ipd --dm-table "0 $S snapshot-origin $ipd" || fail "attach snapshot-origin"
expect_eq "read flag, a table that writes ipd" EROFS \
	"$("$DMLOAD" --read rd3 "$ipd" "0 $S linear $ipd 0")"
expect_eq "both flags" "create: EINVAL" \
	"$("$DMLOAD" --both rd4 "$ipd" "0 $S snapshot $ipd $ipc P 8")"
"$CTL" detach /dev/ipd || fail "detach ipd"
umount "$mnt"

# --- 4. two devices, one point in time ------------------------------------
nullb_create ipe 64
nullb_create ipf 64
nullb_create ipg 32
nullb_create iph 32
defer dm_remove ipe-snap
defer dm_remove ipf-snap
defer detach_if /dev/ipe
defer detach_if /dev/ipf
mkfs.ext4 -q -F /dev/ipe && mkfs.ext4 -q -F /dev/ipf || fail mkfs
mkdir -p "$TMP/e" "$TMP/f"
mount /dev/ipe "$TMP/e" && mount /dev/ipf "$TMP/f" || fail mount
defer umount_if "$TMP/f"
defer umount_if "$TMP/e"
# one writer: e/n then f/n, counting up, never fsynced; each count is one
# write of 10 bytes in place, so a file never shows half of one
(i=0; while :; do i=$((i + 1)); printf '%010d' $i 1<>"$TMP/e/n"; printf '%010d' $i 1<>"$TMP/f/n"; done) &
W=$!
defer stop_bg $W KILL
sleep 2
"$CTL" -j snapshot /dev/ipe /dev/ipf --cow /dev/ipg --cow /dev/iph >"$TMP/two.json" ||
	fail "snapshot of two devices"
sleep 1
stop_bg $W KILL
expect_eq "-j: one object per device" \
	"/dev/mapper/ipe-snap ipe ipg|/dev/mapper/ipf-snap ipf iph" \
	"$(jq -r '[.[] | "\(.snapshot) \(.origin.device) \(.cow.device)"] | join("|")' "$TMP/two.json")"
snap_node ipe-snap
snap_node ipf-snap
mkdir -p "$TMP/se" "$TMP/sf"
mount -o ro /dev/mapper/ipe-snap "$TMP/se" && mount -o ro /dev/mapper/ipf-snap "$TMP/sf" ||
	fail "the two snapshots do not mount read-only"
defer umount_if "$TMP/se"
defer umount_if "$TMP/sf"
ne=$((10#$(cat "$TMP/se/n"))) nf=$((10#$(cat "$TMP/sf/n")))
log "the writer's counter: $(cat "$TMP/e/n") now, $ne and $nf in the snapshots"
[ "$ne" -gt 1 ] || fail "the snapshot of ipe has no count: '$ne'"
# e/n is written first: the same count in both, or e one ahead
[ "$ne" = "$nf" ] || [ "$ne" = $((nf + 1)) ] ||
	fail "the snapshots are not of one point: e $ne, f $nf"
umount "$TMP/se" "$TMP/sf"
"$CTL" detach /dev/ipe && "$CTL" detach /dev/ipf || fail "detach ipe, ipf"
umount "$TMP/e" "$TMP/f"

# --- 5. the COW device fills up, then a COW device goes away --------------
nullb_create ipi 64
nullb_create ipj 1
defer dm_remove ipi-snap
defer detach_if /dev/ipi
fill /dev/ipi "$TMP/i-before" 8
"$CTL" snapshot /dev/ipi --cow /dev/ipj --chunk 64k || fail "snapshot ipi"
snap_node ipi-snap
fill /dev/ipi "$TMP/i-after" 8
expect_eq "a full COW store invalidates the snapshot" invalid \
	"$("$CTL" -j show ipi | jq -r .snapshot.state)"
dd if=/dev/mapper/ipi-snap of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null &&
	fail "an invalid snapshot was read"
log "reading the invalid snapshot fails"
same /dev/ipi "$TMP/i-after" 8 || fail "the original lost writes when its snapshot overflowed"
log "the original has every write"
"$CTL" detach /dev/ipi || fail "detach ipi"

"$CTL" snapshot /dev/ipi --cow /dev/ipd || fail "snapshot ipi on ipd"
snap_node ipi-snap
nullb_remove ipd
fill /dev/ipi "$TMP/i-after2" 4
dd if=/dev/mapper/ipi-snap of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null &&
	fail "a snapshot whose COW device went away was read"
log "the snapshot fails without its COW device"
same /dev/ipi "$TMP/i-after2" 4 || fail "the original lost writes when the COW device went away"
log "the original keeps working"
"$CTL" detach /dev/ipi || fail "detach ipi without its COW device"

# --- 6. a partition as the original, its COW device on the same disk -----
l0=$(loop_create "$TMP/gpt.img" 48) || exit 1
sgdisk -n 1:2048:+16M -n 2:0:+16M "$l0" >/dev/null || fail sgdisk
partx -u "$l0" 2>/dev/null || blockdev --rereadpt "$l0"
udev_settle "${l0}p1"
udev_settle "${l0}p2"
pn=${l0#/dev/}p1
defer dm_remove "$pn-snap"
defer detach_if "${l0}p1"
fill "${l0}p1" "$TMP/p1-before" 4
"$CTL" snapshot "${l0}p1" --cow "${l0}p2" || fail "snapshot of a partition"
snap_node "$pn-snap"
fill "${l0}p1" "$TMP/p1-after" 4
same "/dev/mapper/$pn-snap" "$TMP/p1-before" 4 || fail "the partition's snapshot changed"
same "${l0}p1" "$TMP/p1-after" 4 || fail "the partition lost writes"
log "a partition: the snapshot keeps the old data, the partition has the new"
"$CTL" detach "${l0}p1" || fail "detach the partition"
exit 0
