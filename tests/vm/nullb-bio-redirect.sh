#!/bin/bash
# desc: redirect a bio-based null_blk (queue_mode=0) to a blk-mq one and back
. "$REPO/tests/lib.sh"
. "$REPO/tests/vm/redirect-common.inc"
nullb_create ipa 64 0
nullb_create ipb 64 2
redirect_roundtrip /dev/ipa /dev/ipb 16
redirect_roundtrip /dev/ipb /dev/ipa 16
