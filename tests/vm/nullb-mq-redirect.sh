#!/bin/bash
# desc: redirect a blk-mq null_blk (queue_mode=2) to another, data read back
. "$REPO/tests/lib.sh"
. "$REPO/tests/vm/redirect-common.inc"
nullb_create ipa 64 2
nullb_create ipb 64 2
redirect_roundtrip /dev/ipa /dev/ipb 16
