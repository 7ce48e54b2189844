#!/bin/bash
# desc: "decided by this interposer" is per device: stacked interposers see each other's bios, a reserved device takes only its original's, and every dm target type under a mounted ext4 (flakey corrupting writes, mirror, snapshot-origin) reaches the original without looping
. "$REPO/tests/lib.sh"
require_cmd fio jq mkfs.ext4 fsck.ext4 dmsetup blockdev
DMLOAD=$BUILD/tests/dm-load
[ -x "$DMLOAD" ] || fail "$DMLOAD not built (make test-tools)"
mnt=$TMP/mnt
mkdir -p "$mnt"

log "stacked: O redirected to a dm device over U, U with a read-only program"
nullb_create ipo 64 2
nullb_create ipu 64 2
S=$(blockdev --getsz /dev/ipu)
dm_create ipd "0 $S linear /dev/ipu 0"
defer rm -rf /sys/fs/bpf/interpose/ipu
"$CTL" attach /dev/ipu --prog "$BUILD/bpf/readonly.bpf.o" || fail "attach U"
"$CTL" attach /dev/ipo --to /dev/mapper/ipd || fail "attach O"
expect_eq "write through O reaches U's interposer" "$RO_ERRNO" "$(pwrite_errno /dev/ipo 4096)"
expect_eq "read through O" OK "$(pread_errno /dev/ipo 4096)"
expect_eq "U's program failed the write" 1 "$(counter /dev/ipu failed)"
[ "$(counter /dev/ipu passed)" -ge 1 ] || fail "U's program saw no read"
"$CTL" detach /dev/ipo || fail "detach O"
"$CTL" detach /dev/ipu || fail "detach U"

patched_kernel_rest "reserved devices and --dm-table"

log "a reserved device takes only the bios of its own original's interposer"
nullb_create ipc 64 2
nullb_create ipx 64 2
S=$(blockdev --getsz /dev/ipc)
expect_eq "reserved dm device for ipc" OK "$("$DMLOAD" ipcr "$(cat /sys/block/ipc/dev)" "0 $S linear /dev/ipc 0")"
defer dm_remove ipcr
dmsetup resume ipcr || fail "resume ipcr"
dmsetup mknodes ipcr 2>/dev/null
udev_settle /dev/mapper/ipcr
dm_create ipe "0 $S linear /dev/mapper/ipcr 0"
"$CTL" attach /dev/ipx --to /dev/mapper/ipe || fail "attach ipx"
cr=$(basename "$(readlink -f /sys/dev/block/"$(stat -L -c '%Hr:%Lr' /dev/mapper/ipcr)")")
before=$(show_field "/dev/$cr" .counters.failed)
got=$(pwrite_errno /dev/ipx 0)
log "a bio ipx's interposer decided, at ipc's reserved device: $got"
[ "$got" != OK ] || fail "the reserved device took a bio of another interposer"
[ "$(show_field "/dev/$cr" .counters.failed)" -gt "$before" ] || fail "the reserved device did not count the refusal"
"$CTL" detach /dev/ipx || fail "detach ipx"
dmsetup remove ipe
dmsetup remove ipcr

log "dm-flakey corrupting writes (a new bio per write) under --dm-table"
nullb_create ipf 64 2
S=$(blockdev --getsz /dev/ipf)
"$CTL" attach /dev/ipf --dm-table "0 $S flakey /dev/ipf 0 0 1 5 corrupt_bio_byte 1 w 0 0" ||
	fail "attach flakey corrupt"
python3 - /dev/ipf <<'PY' || fail "write/read through dm-flakey"
import mmap, os, sys
buf = mmap.mmap(-1, 4096)
buf.write(b"\xff" * 4096)
fd = os.open(sys.argv[1], os.O_RDWR | os.O_DIRECT)
os.pwrite(fd, buf, 8192)
back = mmap.mmap(-1, 4096)
os.preadv(fd, [back], 8192)
# dm-flakey: the 1st byte of each written bio set to 0, the rest as written
assert back[0] == 0, "byte 1 not corrupted: %r" % back[0]
assert back[1:] == b"\xff" * 4095, "other bytes changed"
print("# corrupted as documented: byte 1 = 0, 4095 bytes intact")
PY
expect_eq "redirected" 2 "$(counter /dev/ipf redirected)"
"$CTL" detach /dev/ipf || fail "detach flakey"
dev_read /dev/ipf 8192 4096 "$TMP/ipf"
expect_eq "the corrupted write is on the original" "00ff" \
	"$(head -c 2 "$TMP/ipf" | od -An -tx1 | tr -d ' \n')"

# fs_fio DIR SECONDS: 4 files written and verified at QD32, then checked
fs_fio() {
	fio --name=fsverify --directory="$1" --nrfiles=4 --filesize=8M \
		--rw=randwrite --bs=4k --ioengine=libaio --iodepth=32 --direct=1 \
		--verify=crc32c --verify_backlog=256 --verify_fatal=1 \
		--verify_state_save=0 --runtime="$2" --time_based \
		--output-format=json >"$TMP/fio.out" 2>"$TMP/fio.err" ||
		{ cat "$TMP/fio.err"; fail "fio on $1"; }
	sed -n '/^{/,$p' "$TMP/fio.out" >"$TMP/fio.json"
	expect_eq "fio errors" 0 "$(jq '.jobs[0].error' "$TMP/fio.json")"
	[ "$(jq '.jobs[0].read.total_ios' "$TMP/fio.json")" -gt 0 ] || fail "fio verified nothing"
	grep -qi "verify" "$TMP/fio.err" && { cat "$TMP/fio.err"; fail "fio verify failure"; }
	true
}

log "dm-mirror slid under a mounted ext4 (the original is its first leg, resync under fio)"
nullb_create ipm 64 2
nullb_create ipm2 64 2
S=$(blockdev --getsz /dev/ipm)
mkfs.ext4 -q -F /dev/ipm || fail mkfs
mount /dev/ipm "$mnt" || fail mount
"$CTL" attach /dev/ipm --dm-table "0 $S mirror core 1 1024 2 /dev/ipm 0 /dev/ipm2 0" ||
	fail "attach mirror"
fs_fio "$mnt" 8
umount "$mnt" || fail umount
# the resync read the original through the mapped device (kcopyd I/O
# takes that trip): it must finish, and leave both legs alike
mirror_in_sync() { dmsetup status interpose-ipm | awk '{split($7, r, "/"); exit !(r[1] == r[2] && $9 == "AA")}'; }
wait_for "mirror resynced: $(dmsetup status interpose-ipm)" mirror_in_sync
"$CTL" detach /dev/ipm || fail "detach mirror"
# read both legs directly, not through the mirror (it reads either leg)
region /dev/ipm 0 64 "$TMP/leg1"
region /dev/ipm2 0 64 "$TMP/leg2"
cmp "$TMP/leg1" "$TMP/leg2" || fail "the mirror's second leg differs from the original"
rm -f "$TMP/leg1" "$TMP/leg2"
log "the second leg holds the original's data"
fsck.ext4 -fn /dev/ipm >"$TMP/fsck" 2>&1 || { cat "$TMP/fsck"; fail "fsck of ipm"; }
log "fsck clean on the original"

log "snapshot-origin slid under a mounted ext4"
nullb_create ips 64 2
S=$(blockdev --getsz /dev/ips)
mkfs.ext4 -q -F /dev/ips || fail mkfs
mount /dev/ips "$mnt" || fail mount
"$CTL" attach /dev/ips --dm-table "0 $S snapshot-origin /dev/ips" || fail "attach snapshot-origin"
fs_fio "$mnt" 6
umount "$mnt" || fail umount
"$CTL" detach /dev/ips || fail "detach snapshot-origin"
fsck.ext4 -fn /dev/ips >"$TMP/fsck" 2>&1 || { cat "$TMP/fsck"; fail "fsck of ips"; }
log "fsck clean"
