#!/bin/bash
# desc: a redirect target going away fails the original closed (EIO, state failed, until detach); the original going away detaches after its filesystem wrote its last data through the interposer
. "$REPO/tests/lib.sh"

# read_errno DEV: a 4 KiB direct read at 0, its errno name
read_errno() { pread_errno "$1" 0; }

log "plain redirect: write through A, then B goes away"
nullb_create ipa 64 2
nullb_create ipb 64 2
fill /dev/ipa "$TMP/before" 8                      # A's own data
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
fill /dev/ipa "$TMP/through" 8                     # written to B
ipb_dev=$(cat /sys/block/ipb/dev)
same /dev/ipa "$TMP/through" 8 || fail "reads through the interposer"
mark=$(kmsg_mark)
echo 0 >/sys/kernel/config/nullb/ipb/power
expect_eq "read after the target went away" EIO "$(read_errno /dev/ipa)"
expect_eq "write after the target went away" EIO "$(pwrite_errno /dev/ipa 4096)"
line=$(cat /sys/block/ipa/interposer)
log "sysfs: $line"
[[ $line == "failed lost="* ]] || fail "sysfs does not say failed: $line"
expect_eq "show -j state" failed "$(show_field /dev/ipa .state)"
[[ $line == "failed lost=$ipb_dev "* ]] || fail "sysfs does not name ipb ($ipb_dev): $line"
# the lost disk left sysfs and /dev: it is named by its number
expect_eq "show -j names the lost target" "$ipb_dev" "$(show_field /dev/ipa .lost.dev)"
"$CTL" show /dev/ipa | grep -q "failed" || fail "show text: $("$CTL" show /dev/ipa)"
"$CTL" show /dev/ipa | grep -q "$ipb_dev" || fail "show text does not name $ipb_dev: $("$CTL" show /dev/ipa)"
[ "$(counter /dev/ipa lost)" -ge 2 ] || fail "lost counter: $(counter /dev/ipa lost)"
expect_eq "one kernel line" 1 "$(kmsg_since "$mark" | grep -c 'ipa: interposer failed: its target ipb went away')"
# still failed a while later: nothing detaches it behind the user's back
sleep 1
expect_eq "still failed" failed "$(show_field /dev/ipa .state)"
"$CTL" detach /dev/ipa || fail "detach of a failed interposer"
expect_eq "after detach" none "$(show_field /dev/ipa .state)"
same /dev/ipa "$TMP/before" 8 || fail "after detach A does not read its own data"
nullb_remove ipb

log "program redirecting writes, target powered off under I/O"
nullb_create ipc 64 2
nullb_create ipd 64 2
defer rm -rf /sys/fs/bpf/interpose/ipc
"$CTL" attach /dev/ipc --prog "$BUILD/bpf/redirect.bpf.o" --to /dev/ipd || fail attach
load_start /dev/ipc
echo 0 >/sys/kernel/config/nullb/ipd/power
sleep 1
load_stop
expect_eq "state" failed "$(show_field /dev/ipc .state)"
expect_eq "read" EIO "$(read_errno /dev/ipc)"
"$CTL" detach /dev/ipc || fail detach
expect_eq "read after detach" OK "$(read_errno /dev/ipc)"
nullb_remove ipd

log "the original goes away with a mounted filesystem: its last writes reach the target"
nullb_create ipe 64 2
nullb_create ipf 64 2
mkfs.ext4 -q -F /dev/ipf || fail mkfs
"$CTL" attach /dev/ipe --to /dev/ipf || fail attach
mkdir -p "$TMP/mnt"
mount /dev/ipe "$TMP/mnt" || fail mount
defer umount_if "$TMP/mnt"
pattern 1M >"$TMP/last"
cp "$TMP/last" "$TMP/mnt/last"                     # dirty in the page cache
echo 0 >/sys/kernel/config/nullb/ipe/power        # del_gendisk: fs synced first
umount -l "$TMP/mnt"
wait_for "target released after the original went away" can_claim /dev/ipf
mount -o ro /dev/ipf "$TMP/mnt" || fail "mount the target"
cmp "$TMP/last" "$TMP/mnt/last" || fail "the filesystem's last write did not reach the target"
log "the last write is on the target"
umount "$TMP/mnt"
