#!/bin/bash
# desc: redirect a brd ramdisk (bio-based) to another ramdisk
. "$REPO/tests/lib.sh"
. "$REPO/tests/vm/redirect-common.inc"
[ -b /dev/ram0 ] && [ -b /dev/ram1 ] || skip "no brd devices (boot with brd.rd_nr=2)"
redirect_roundtrip /dev/ram0 /dev/ram1 4
