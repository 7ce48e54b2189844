#!/bin/bash
# desc: REQ_NOWAIT: a bio the interposer sends to a target that cannot take it without blocking gets EAGAIN (retry where it may block), not EOPNOTSUPP; nowait targets take it
. "$REPO/tests/lib.sh"

# nowait_errno r|w DEV OFFSET: one 4 KiB O_DIRECT preadv2/pwritev2 with
# RWF_NOWAIT, prints the errno name or OK
nowait_errno() {
	python3 - "$@" <<'PY'
import errno, mmap, os, sys
op, dev, off = sys.argv[1], sys.argv[2], int(sys.argv[3])
buf = mmap.mmap(-1, 4096)
buf[:] = b"n" * 4096
fd = os.open(dev, (os.O_RDONLY if op == "r" else os.O_RDWR) | os.O_DIRECT)
try:
    if op == "r":
        os.preadv(fd, [buf], off, os.RWF_NOWAIT)
    else:
        os.pwritev(fd, [buf], off, os.RWF_NOWAIT)
    print("OK")
except OSError as e:
    # Python names 95 ENOTSUP; the kernel's name is EOPNOTSUPP
    print("EOPNOTSUPP" if e.errno == errno.EOPNOTSUPP else errno.errorcode[e.errno])
PY
}

nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipc 64 2
S=$(blockdev --getsz /dev/ipc)
# dm-flakey is no DM_TARGET_NOWAIT target: its device takes no REQ_NOWAIT
dm_create ipfl "0 $S flakey /dev/ipc 0 3600 0"
expect_eq "the flakey device refuses RWF_NOWAIT itself" EOPNOTSUPP \
	"$(nowait_errno w /dev/mapper/ipfl 0)"
expect_eq "ipa takes RWF_NOWAIT" OK "$(nowait_errno w /dev/ipa 0)"

log "redirect to a nowait target (null_blk)"
"$CTL" attach /dev/ipa --to /dev/ipb || fail "attach --to ipb"
expect_eq "RWF_NOWAIT write through the interposer" OK "$(nowait_errno w /dev/ipa 4096)"
expect_eq "RWF_NOWAIT read through the interposer" OK "$(nowait_errno r /dev/ipa 4096)"
"$CTL" detach /dev/ipa || fail detach

log "redirect to a target without nowait (dm-flakey)"
"$CTL" attach /dev/ipa --to /dev/mapper/ipfl || fail "attach --to ipfl"
w0=$(dev_stat /dev/ipc)
expect_eq "RWF_NOWAIT write: EAGAIN" EAGAIN "$(nowait_errno w /dev/ipa 8192)"
expect_eq "RWF_NOWAIT read: EAGAIN" EAGAIN "$(nowait_errno r /dev/ipa 8192)"
expect_eq "nothing reached the target" "$w0" "$(dev_stat /dev/ipc)"
# the same write without RWF_NOWAIT goes through
expect_eq "plain direct write" OK "$(dio_errno w /dev/ipa 8192 4096 110)"
expect_eq "it reached the target" OK "$(dio_errno r /dev/mapper/ipfl 8192 4096 | cut -d' ' -f1)"
expect_range /dev/ipa 8192 4096 <(head -c 4096 /dev/zero | tr '\0' n) 0
log "with its data"
"$CTL" detach /dev/ipa || fail detach
