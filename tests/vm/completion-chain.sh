#!/bin/bash
# desc: a chain of 10,000 interposed bios whose first bio completes last ends iteratively (no stack overflow), every bio seen once by end_bio
. "$REPO/tests/lib.sh"
# BLKZEROOUT on a device without write-zeroes writes the zero page in
# bios of 1 MiB, each chained to the next (__blkdev_issue_zero_pages):
# 10,000 MiB are a chain of 10,000 bios.  null_blk without memory backing
# takes them at no cost.
N=10000
nullb_create ipa $((N + 64)) 2 0
expect_eq "ipa has no write-zeroes" 0 "$(cat /sys/block/ipa/queue/write_zeroes_max_bytes)"
# the first bio of the chain goes to a target that holds it for 2 s, the
# others complete at once on the original: each waits for its child, and
# the first one's completion then ends all of them, last-first
nullb_create ipb 64 2 0
dm_create ipdelay "0 $(blockdev --getsz /dev/ipb) delay /dev/ipb 0 2000"
defer rm -rf /sys/fs/bpf/interpose/ipa
"$CTL" attach /dev/ipa --prog "$BPFOBJ/verdict.bpf.o" --set mode=7 --set split=8 \
	--to /dev/mapper/ipdelay || fail attach
start=$(date +%s%N)
python3 - /dev/ipa $((N << 20)) <<'PY' || fail "BLKZEROOUT"
import fcntl, os, struct, sys
BLKZEROOUT = 0x127f
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.ioctl(fd, BLKZEROOUT, struct.pack("QQ", 0, int(sys.argv[2])))
PY
ms=$((($(date +%s%N) - start) / 1000000))
log "BLKZEROOUT of $N MiB took $ms ms"
[ "$ms" -ge 1900 ] || fail "the first bio did not wait for the delay target ($ms ms)"
expect_eq "bios decided" $N "$(prog_var /dev/ipa submitted)"
expect_eq "bios completed through end_bio" $N "$(prog_var /dev/ipa completed)"
expect_eq "completion errors" 0 "$(prog_var /dev/ipa completed_errors)"
expect_eq "redirected (the first bio)" 1 "$(counter /dev/ipa redirected)"
expect_eq "passed" $((N - 1)) "$(counter /dev/ipa passed)"
"$CTL" detach /dev/ipa || fail detach
