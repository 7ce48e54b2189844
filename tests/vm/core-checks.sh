#!/bin/bash
# desc: the core's smaller guarantees: attach() before the first bio, the FAIL verdict's errno set, EROFS is no path error for dm-multipath, a read-only original fd, every target checked, a target reopened only as the device its fd names
. "$REPO/tests/lib.sh"
DMLOAD=$BUILD/tests/dm-load
[ -x "$DMLOAD" ] || fail "$DMLOAD not built (make test-tools)"
nullb_create ipa 64 2
nullb_create ipb 64 2
defer rm -rf /sys/fs/bpf/interpose/ipa

log "attach() runs before the interposer is published, under I/O"
load_start /dev/ipa randread
for i in 1 2 3 4 5; do
	"$CTL" attach /dev/ipa --prog "$BPFOBJ/attach_order.bpf.o" || fail "attach $i"
	saw_bios() { [ "$(prog_var /dev/ipa late)" -gt 0 ]; }
	wait_for "cycle $i: the program sees fio's bios" saw_bios
	expect_eq "cycle $i: bios seen before attach()" 0 "$(prog_var /dev/ipa early)"
	"$CTL" detach /dev/ipa || fail "detach $i"
done
load_stop

log "FAIL verdict: documented errnos pass through, others are invalid verdicts"
for e in 30:$RO_ERRNO 28:ENOSPC 61:ENODATA 5:EIO; do
	"$CTL" attach /dev/ipa --prog "$BPFOBJ/verdict.bpf.o" --set mode=4 --set error=${e%%:*} ||
		fail "attach error=$e"
	expect_eq "write failed with ${e#*:}" "${e#*:}" "$(pwrite_errno /dev/ipa 0)"
	expect_eq "counted failed" 1 "$(counter /dev/ipa failed)"
	"$CTL" detach /dev/ipa || fail detach
done
for e in 11 66 16 12 117; do        # EAGAIN EREMCHG EBUSY ENOMEM EUCLEAN
	"$CTL" attach /dev/ipa --prog "$BPFOBJ/verdict.bpf.o" --set mode=4 --set error=$e ||
		fail "attach error=$e"
	expect_eq "errno $e outside the set: EIO" EIO "$(pwrite_errno /dev/ipa 0)"
	expect_eq "errno $e counted invalid" 1 "$(counter /dev/ipa invalid)"
	"$CTL" detach /dev/ipa || fail detach
done

if patched_kernel_case "the module fails a refused write with EIO, which dm-multipath takes for a path error"; then
	log "EROFS is no path error: dm-multipath with queue_if_no_path fails the write"
	"$CTL" attach /dev/ipa --prog "$BUILD/bpf/readonly.bpf.o" || fail "attach readonly"
	S=$(blockdev --getsz /dev/ipa)
	# bio-based: request-based dm-multipath inserts cloned requests straight
	# into the path's queue, below any bio-level interposer
	dm_create ipmp "0 $S multipath 3 queue_if_no_path queue_mode bio 0 1 1 round-robin 0 1 1 /dev/ipa 1000"
	defer "! dmsetup info ipmp >/dev/null 2>&1 || dmsetup message ipmp 0 fail_if_no_path"
	got=$(timeout 30 python3 - /dev/mapper/ipmp <<'PY'
import errno, mmap, os, sys
buf = mmap.mmap(-1, 4096)
fd = os.open(sys.argv[1], os.O_RDWR | os.O_DIRECT)
try:
    os.pwrite(fd, buf, 0)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
	)
	rc=$?
	if [ $rc -eq 124 ]; then
		dmsetup message ipmp 0 fail_if_no_path
		fail "the write through dm-multipath hung (EROFS taken for a path error)"
	fi
	expect_eq "write through dm-multipath" EROFS "$got"
	expect_eq "path still active" 1 "$(dmsetup status ipmp | grep -c ' A ')"
	dmsetup remove ipmp
	"$CTL" detach /dev/ipa || fail detach
fi

log "attach through a read-only descriptor of the original: EBADF"
probe_expect EBADF --rdonly attach /dev/ipa --to /dev/ipb
expect_eq "not attached" none "$(show_field /dev/ipa .state)"

if patched_kernel_case "reserved devices"; then
	log "every target is checked, also after a reserved one"
	nullb_create ipc 64 2
	nullb_create ipx 64 2
	nullb_create ipy 64 2
	S=$(blockdev --getsz /dev/ipc)
	# ipc mounted, as it is when a dm table is slid under it
	mkfs.ext4 -q -F /dev/ipc || fail mkfs
	mkdir -p "$TMP/mnt"
	mount /dev/ipc "$TMP/mnt" || fail mount
	defer umount "$TMP/mnt"
	expect_eq "reserved dm device for ipc" OK "$("$DMLOAD" ipcr "$(cat /sys/block/ipc/dev)" "0 $S linear /dev/ipc 0")"
	defer dm_remove ipcr
	dmsetup resume ipcr || fail "resume ipcr"
	dmsetup mknodes ipcr 2>/dev/null
	udev_settle /dev/mapper/ipcr
	"$CTL" attach /dev/ipx --to /dev/ipy || fail "attach ipx"
	probe_expect ELOOP attach /dev/ipc --to /dev/mapper/ipcr --to /dev/ipx
	expect_eq "ipc not attached" none "$(show_field /dev/ipc .state)"
	"$CTL" detach /dev/ipx || fail detach
fi

log "a target's device number reused by another disk between its open and the attach: ENODEV"
nullb_create ipr 64 2
nullb_create ipq 64 2
old=$(cat /sys/block/ipq/dev)
probe_expect ENODEV attach /dev/ipr --to /dev/ipq --before \
	"echo 0 >/sys/kernel/config/nullb/ipq/power; rmdir /sys/kernel/config/nullb/ipq; mkdir /sys/kernel/config/nullb/ipq2; echo 64 >/sys/kernel/config/nullb/ipq2/size; echo 1 >/sys/kernel/config/nullb/ipq2/memory_backed; echo 1 >/sys/kernel/config/nullb/ipq2/power"
defer nullb_remove ipq2
expect_eq "the new disk took the old number" "$old" "$(cat /sys/block/ipq2/dev)"
expect_eq "ipr not attached" none "$(show_field /dev/ipr .state)"
expect_eq "the new disk is free" none "$(cat /sys/block/ipq2/interposer)"
