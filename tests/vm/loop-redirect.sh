#!/bin/bash
# desc: redirect a loop device to another, and to a null_blk
. "$REPO/tests/lib.sh"
. "$REPO/tests/vm/redirect-common.inc"
l0=$(loop_create "$TMP/l0.img" 32) || exit 1
l1=$(loop_create "$TMP/l1.img" 32) || exit 1
nullb_create ipb 64 2
redirect_roundtrip "$l0" "$l1" 8
redirect_roundtrip "$l1" /dev/ipb 8
