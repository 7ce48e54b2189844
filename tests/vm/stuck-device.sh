#!/bin/bash
# desc: a device whose queue never drains (dm-multipath, queue_if_no_path, no path) blocks only its own attach and detach (not an observer's): other devices attach, detach, are queried and removed meanwhile, and BPF's struct_ops updates go on
. "$REPO/tests/lib.sh"
require_cmd dmsetup
# t CMD...: CMD must finish within 15 s
t() { timeout 15 "$@" || fail "'$*' blocked or failed (rc $?) while another device is stuck"; }

nullb_create ipp 64 2
S=$(blockdev --getsz /dev/ipp)
dm_create ipmp "0 $S multipath 1 queue_if_no_path 0 1 1 round-robin 0 1 1 /dev/ipp 1000"
nullb_create ipt 64 2
nullb_create ipa 64 2
nullb_create ipb 64 2
mp=$(basename "$(readlink -f "$(sysfs_of /dev/mapper/ipmp)")")
defer rm -rf /sys/fs/bpf/interpose/ipa "/sys/fs/bpf/interpose/$mp"
# a program on the device that is going to be stuck, from its own link
"$CTL" attach /dev/mapper/ipmp --prog "$BUILD/bpf/passthrough.bpf.o" || fail "attach ipmp"
"$CTL" attach /dev/ipa --prog "$BUILD/bpf/trace.bpf.o" || fail "attach ipa"
release() { dmsetup message ipmp 0 fail_if_no_path; }
defer release

log "stick ipmp: its only path failed, queue_if_no_path keeps a read in its queue"
dmsetup message ipmp 0 "fail_path $(cat /sys/block/ipp/dev)" || fail "fail_path"
dd if=/dev/mapper/ipmp of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null &
DD=$!
sleep 1
kill -0 $DD 2>/dev/null || fail "the read did not stay queued"

log "an observer comes and goes on the stuck device: nothing is frozen for it"
t "$CTL" attach /dev/mapper/ipmp --observer --prog "$BUILD/bpf/passthrough.bpf.o" --ops mpobs
expect_eq "ipmp's observer" mpobs "$("$CTL" -j show /dev/mapper/ipmp | jq -r '.observers[0].ops')"
t "$CTL" detach /dev/mapper/ipmp --observer mpobs

log "unregister ipmp's ops (BPF_LINK_DETACH, under BPF's struct_ops update mutex)"
link=$("$BPFTOOL" -j link show pinned "/sys/fs/bpf/interpose/$mp/link" | jq .id)
[ "$link" != null ] || fail "no link pinned for $mp"
t "$BPFTOOL" link detach id "$link"
log "ipmp's interposer leaves in the background, waiting for its queue"
sleep 1
grep -q '^attached' "$(sysfs_of /dev/mapper/ipmp)/interposer" ||
	fail "ipmp's interposer left although its queue cannot drain: $(cat "$(sysfs_of /dev/mapper/ipmp)/interposer")"
expect_fail EBUSY "$CTL" attach /dev/mapper/ipmp --to /dev/ipt

log "meanwhile, other devices"
t "$CTL" replace /dev/ipa --prog "$BUILD/bpf/latency.bpf.o"
t "$CTL" detach /dev/ipa
t "$CTL" attach /dev/ipa --to /dev/ipb
t cat /sys/block/ipa/interposer >/dev/null
t "$CTL" show >/dev/null
t "$CTL" -j show /dev/ipa >/dev/null
t "$CTL" detach /dev/ipa
nullb_create ipc 64 2
"$CTL" attach /dev/ipc --to /dev/ipt || fail "attach ipc"
t bash -c 'echo 0 >/sys/kernel/config/nullb/ipc/power'
wait_for "ipc's interposer gone with ipc" test ! -e /sys/block/ipc
grep -q '^attached' "$(sysfs_of /dev/mapper/ipmp)/interposer" ||
	fail "ipmp's interposer left while its queue was stuck"

log "release the stuck device: its interposer leaves"
release
wait $DD
wait_for "ipmp's interposer gone once its queue drained" not_interposed /dev/mapper/ipmp
"$CTL" detach /dev/mapper/ipmp >/dev/null 2>&1   # its pins
