#!/bin/bash
# desc: redirect a bio-based device (dm-linear over a null_blk) to a blk-mq null_blk and back: data read back, dm sees no I/O while interposed
. "$REPO/tests/lib.sh"
. "$REPO/tests/vm/redirect-common.inc"
require_cmd dmsetup blockdev
nullb_create ipa 64 2
nullb_create ipb 64 2
dm_create iplin "0 $(blockdev --getsz /dev/ipa) linear /dev/ipa 0"
redirect_roundtrip /dev/mapper/iplin /dev/ipb 16
redirect_roundtrip /dev/ipb /dev/mapper/iplin 16
