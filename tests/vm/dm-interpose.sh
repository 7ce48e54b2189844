#!/bin/bash
# desc: dm slid under a mounted ext4 (--dm-table): linear under fio verify, swapped to flakey and back with dmsetup, detached and removed, fsck clean; flakey's errors reach ext4; a partition; every refusal with its errno
. "$REPO/tests/lib.sh"
requires_patched_kernel "--dm-table (a stock device-mapper cannot take a device's place)"
require_cmd fio jq mkfs.ext4 fsck.ext4 dmsetup sgdisk blockdev
DMLOAD=$BUILD/tests/dm-load
[ -x "$DMLOAD" ] || fail "$DMLOAD not built (make test-tools)"

# dm_of DEV: the dm device (dm-N) DEV is attached to
dm_of() { show_field "$1" '.targets[0].device'; }
# dm_ios dm-N: bios dm completed: reads + writes + discards + flushes
dm_ios() { awk '{print $1 + $5 + $12 + $16}' "/sys/block/$1/stat"; }
mnt=$TMP/mnt
mkdir -p "$mnt"

# --- 1. linear under a mounted fs with fio verifying, reload to flakey
nullb_create ipa 128 2
S=$(blockdev --getsz /dev/ipa)
mkfs.ext4 -q -F /dev/ipa || fail mkfs
mount /dev/ipa "$mnt" || fail mount
defer umount_if "$mnt"
fs_fio_start "$mnt"

log "slide dm-linear under the mounted ext4 while fio runs"
"$CTL" attach /dev/ipa --dm-table "0 $S linear /dev/ipa 0" || fail "attach --dm-table"
dm=$(dm_of /dev/ipa)
expect_eq "dm device name" interpose-ipa "$(cat /sys/block/$dm/dm/name)"
expect_eq "the dm device is reserved for ipa" "reserved for=$(cat /sys/block/ipa/dev)" \
	"$(cut -d' ' -f1-2 /sys/block/$dm/interposer)"
expect_eq "show of the dm device" reserved "$(show_field /dev/$dm .state)"
dmsetup mknodes interpose-ipa
sleep 2
w1=$(counter /dev/ipa redirected)
[ "$w1" -gt 0 ] || fail "no bio went through the dm device"

log "dmsetup reload to dm-flakey (always up) and resume, under load"
dmsetup reload interpose-ipa --table "0 $S flakey /dev/ipa 0 3600 0" || fail "reload flakey"
dmsetup resume interpose-ipa || fail "resume flakey"
expect_eq "live table" flakey "$(dmsetup table interpose-ipa | awk '{print $3}')"
dmsetup status interpose-ipa >/dev/null || fail "dmsetup status"
sleep 2
log "and back to linear"
dmsetup reload interpose-ipa --table "0 $S linear /dev/ipa 0" || fail "reload linear"
dmsetup suspend interpose-ipa || fail suspend
dmsetup resume interpose-ipa || fail resume
expect_eq "live table" linear "$(dmsetup table interpose-ipa | awk '{print $3}')"
sleep 2
fio_verify_stop
sync
red=$(counter /dev/ipa redirected)
expect_eq "every bio of ipa went to the dm device" "$(counter /dev/ipa seen)" "$red"
expect_eq "dm completed every one of them" "$red" "$(dm_ios "$dm")"
"$CTL" detach /dev/ipa || fail detach
not_interposed /dev/ipa || fail "still interposed"
dmsetup info interpose-ipa >/dev/null 2>&1 && fail "dm device not removed by detach"
[ -e "/sys/block/$dm" ] && fail "$dm still exists"
log "dm device interpose-ipa removed"
umount "$mnt" || fail umount
fsck.ext4 -n -f /dev/ipa >"$TMP/fsck.out" 2>&1 || { cat "$TMP/fsck.out"; fail "fsck after the dm round trip"; }
log "fsck -n clean"

# --- 2. flakey down interval under the mounted fs
log "dm-flakey failing writes under the mounted fs"
mount -o noatime /dev/ipa "$mnt" || fail "mount again"
echo before >"$mnt/keep" && sync
"$CTL" attach /dev/ipa --dm-table "0 $S flakey /dev/ipa 0 0 3600 1 error_writes" || fail "attach flakey"
if dd if=/dev/urandom of="$mnt/new" bs=64k count=16 oflag=direct,sync 2>"$TMP/dd.err"; then
	fail "a write through flakey's down interval succeeded"
fi
grep -q 'Input/output error' "$TMP/dd.err" || fail "dd: $(cat "$TMP/dd.err")"
log "the writer got EIO: $(tail -1 "$TMP/dd.err")"
# from the device through flakey, not from the page cache
sync
echo 3 >/proc/sys/vm/drop_caches
r0=$(counter /dev/ipa redirected)
expect_eq "reads still pass" before "$(cat "$mnt/keep")"
[ "$(counter /dev/ipa redirected)" -gt "$r0" ] || fail "the read of keep did not go through flakey"
"$CTL" detach /dev/ipa || fail "detach flakey"
umount "$mnt" || fail "umount after flakey"
# Writes of the aborted journal and superblock that flakey failed left an
# error on the device's page cache that nobody has seen yet; the first
# fsync of a new opener reports it (errseq).  Take it, then check health.
if ! dd if=/dev/null of=/dev/ipa conv=fsync status=none 2>"$TMP/fsync.err"; then
	log "the writes lost in the down interval are reported once: $(cat "$TMP/fsync.err")"
fi
fill /dev/ipa "$TMP/after" 8
same /dev/ipa "$TMP/after" 8 || fail "the device is not healthy after detach"
log "after detach the device reads back what is written"
mkfs.ext4 -q -F /dev/ipa || fail mkfs
mount /dev/ipa "$mnt" || fail "mount after flakey"

# --- 3. refusals
log "refusals"
nullb_create ipc 128 2
expect_fail EINVAL "$CTL" attach /dev/ipa --dm-table "0 $((S - 8)) linear /dev/ipa 0"
expect_fail EINVAL "$CTL" attach /dev/ipa --dm-table "0 $S linear /dev/ipc 0"
expect_fail EINVAL "$CTL" attach /dev/ipa --dm-table "0 $S bogus"
expect_fail EINVAL "$CTL" attach /dev/ipa --dm-table "0 $S bogus /dev/ipa"
expect_fail EINVAL "$CTL" attach /dev/ipa --dm-table "0 8 linear /dev/ipa 0; 16 $((S - 8)) linear /dev/ipa 8"
dmsetup info interpose-ipa >/dev/null 2>&1 && fail "a refused attach left its dm device"
out=$("$CTL" attach /dev/ipa --dm-table "0 $S linear /dev/ipa 0" --to /dev/ipc 2>&1)
expect_eq "--dm-table with --to: usage error" 2 $?
log "$out"

log "the kernel's own checks (no libinterpose)"
expect_eq "table not using the original" EINVAL "$("$DMLOAD" ipx "$(cat /sys/block/ipa/dev)" "0 $S linear /dev/ipc 0")"
dmsetup remove ipx
expect_eq "table not covering it" EINVAL "$("$DMLOAD" ipx "$(cat /sys/block/ipa/dev)" "0 $((S / 2)) linear /dev/ipa 0")"
dmsetup remove ipx
expect_eq "no such original" "create: ENXIO" "$("$DMLOAD" ipx 250:999 "0 $S linear /dev/ipa 0")"
dmsetup info ipx >/dev/null 2>&1 && fail "ipx was created for a missing original"

log "attached: a second dm interposer, I/O straight to the dm device, detaching or reusing it"
"$CTL" attach /dev/ipa --dm-table "0 $S linear /dev/ipa 0" || fail attach
dm=$(dm_of /dev/ipa)
expect_fail EBUSY "$CTL" attach /dev/ipa --dm-table "0 $S linear /dev/ipa 0"
expect_eq "kernel: second reservation for ipa" EBUSY "$("$DMLOAD" ipx "$(cat /sys/block/ipa/dev)" "0 $S linear /dev/ipa 0")"
dmsetup remove ipx
expect_eq "direct read of the dm device (EOPNOTSUPP)" EOPNOTSUPP "$(pread_errno /dev/$dm 0)"
expect_eq "direct write of the dm device (EOPNOTSUPP)" EOPNOTSUPP "$(pwrite_errno /dev/$dm 4096)"
expect_eq "refused count" 2 "$(show_field /dev/$dm .counters.failed)"
expect_fail EBUSY "$CTL" detach /dev/$dm
expect_fail EBUSY "$CTL" attach /dev/ipc --to /dev/$dm
dmsetup remove interpose-ipa 2>/dev/null && fail "dmsetup remove of an attached dm device succeeded"
log "dmsetup remove refused while attached"
exec 3</dev/$dm
out=$("$CTL" detach /dev/ipa 2>&1) && fail "detach with the dm device open elsewhere succeeded"
echo "$out" | grep -q "detach /dev/ipa: dm device interpose-ipa is open elsewhere (1 opener besides the interposer); close it first (EBUSY)" ||
	fail "message: $out"
log "refused as expected: $out"
expect_eq "still attached" attached "$(show_field /dev/ipa .state)"
exec 3<&-
"$CTL" detach /dev/ipa || fail detach
dmsetup info interpose-ipa >/dev/null 2>&1 && fail "dm device left after detach"
echo data >"$mnt/f" && sync && echo 3 >/proc/sys/vm/drop_caches
expect_eq "fs still fine (read back from the device)" data "$(cat "$mnt/f")"
umount "$mnt" || fail umount
fsck.ext4 -n -f /dev/ipa >"$TMP/fsck.out" 2>&1 || { cat "$TMP/fsck.out"; fail "fsck"; }

# --- 4. a partition
log "the same on a partition of a GPT disk, the other partition untouched"
l0=$(loop_create "$TMP/gpt.img" 96)
sgdisk -n 1:2048:+40M -n 2:0:+40M "$l0" >/dev/null || fail sgdisk
partx -u "$l0" 2>/dev/null || blockdev --rereadpt "$l0"
udev_settle "${l0}p1"
udev_settle "${l0}p2"
fill "${l0}p2" "$TMP/p2" 8
P=$(blockdev --getsz "${l0}p1")
mkfs.ext4 -q -F "${l0}p1" || fail "mkfs p1"
mount "${l0}p1" "$mnt" || fail "mount p1"
fs_fio_start "$mnt" 4M
pdev=$(cat /sys/class/block/$(basename "${l0}p1")/dev)
"$CTL" attach "${l0}p1" --dm-table "0 $P linear $pdev 0" || fail "attach p1"
pn=$(basename "${l0}p1")
dmsetup reload "interpose-$pn" --table "0 $P flakey $pdev 0 3600 0" || fail "reload p1"
dmsetup resume "interpose-$pn" || fail "resume p1"
# until fio has verified some of what it wrote through the table
# (verify_backlog=256): a fixed time was too short on a busy host
r0=$(counter "${l0}p1" redirected)
p1_busy() { [ $(($(counter "${l0}p1" redirected) - r0)) -ge 800 ]; }
wait_for "fio's I/O through flakey on p1" p1_busy
fio_verify_stop
"$CTL" detach "${l0}p1" || fail "detach p1"
umount "$mnt" || fail "umount p1"
fsck.ext4 -n -f "${l0}p1" >"$TMP/fsck.out" 2>&1 || { cat "$TMP/fsck.out"; fail "fsck p1"; }
same "${l0}p2" "$TMP/p2" 8 || fail "p2 changed"
log "p1 round trip clean, p2 untouched"
