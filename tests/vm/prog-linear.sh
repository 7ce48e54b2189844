#!/bin/bash
# desc: bpf/linear: the original maps onto target 0 at offset (reads and writes land there, the original is untouched), remaps past the end fail
. "$REPO/tests/lib.sh"
OBJ=$PROGOBJ/linear.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
nullb_create ipa 64 2
nullb_create ipb 64 2
fill /dev/ipa "$TMP/A" 16
fill /dev/ipb "$TMP/B" 16
pattern $((4 << 20)) >"$TMP/D"

log "default offset 0: the original reads as target 0"
"$CTL" attach /dev/ipa --prog "$OBJ" --to /dev/ipb || fail "attach"
expect_eq "ops" linear "$(show_field /dev/ipa .ops)"
expect_region /dev/ipa 0 16 "$TMP/B" 0
expect_eq "remapped == seen" "$(counter /dev/ipa seen)" "$(counter /dev/ipa remapped)"
"$CTL" detach /dev/ipa || fail "detach"

log "offset 8 MiB"
"$CTL" attach /dev/ipa --prog "$OBJ" --to /dev/ipb --set offset=16384 || fail "attach"
expect_eq "offset" 16384 "$(prog_var /dev/ipa offset)"
expect_region /dev/ipa 0 8 "$TMP/B" 8
dd if="$TMP/D" of=/dev/ipa bs=1M seek=1 count=4 oflag=direct status=none || fail "write"
expect_region /dev/ipa 1 4 "$TMP/D" 0
expect_eq "remapped == seen" "$(counter /dev/ipa seen)" "$(counter /dev/ipa remapped)"
expect_eq "invalid" 0 "$(counter /dev/ipa invalid)"
"$CTL" detach /dev/ipa || fail "detach"
expect_region /dev/ipb 0 9 "$TMP/B" 0
expect_region /dev/ipb 9 4 "$TMP/D" 0
expect_region /dev/ipb 13 3 "$TMP/B" 13
expect_region /dev/ipa 0 16 "$TMP/A" 0
log "data landed at +8 MiB on the target, the original is untouched"

log "offset 8 sectors: the last 4 KiB of the original would end past the target"
sz=$(blockdev --getsz /dev/ipb)
"$CTL" attach /dev/ipa --prog "$OBJ" --to /dev/ipb --set offset=8 || fail "attach"
expect_eq "read of the last 4 KiB" EIO "$(dio_errno r /dev/ipa $(((sz - 8) * 512)))"
expect_eq "write of the last 4 KiB" EIO "$(dio_errno w /dev/ipa $(((sz - 8) * 512)))"
expect_eq "invalid" 2 "$(counter /dev/ipa invalid)"
expect_eq "4 KiB just before" OK "$(dio_errno w /dev/ipa $(((sz - 16) * 512)) 4096 7)"
"$CTL" detach /dev/ipa || fail "detach"
log "the 4 KiB just before the end were written at +8 sectors"
head -c 4096 /dev/zero | tr '\0' '\007' >"$TMP/sevens"
expect_range /dev/ipb $(((sz - 8) * 512)) 4096 "$TMP/sevens" 0
expect_region /dev/ipa 0 16 "$TMP/A" 0
