#!/bin/bash
# desc: bpf/redirect: by default to target 0, by op (reads/writes), by sector range; data lands where the parameters say, bios crossing the split and missing targets fail
. "$REPO/tests/lib.sh"
OBJ=$PROGOBJ/redirect.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipc 64 2
fill /dev/ipa "$TMP/A" 16
fill /dev/ipb "$TMP/B" 16
fill /dev/ipc "$TMP/C" 16
pattern $((16 << 20)) >"$TMP/D"

attach() { "$CTL" attach /dev/ipa --prog "$OBJ" --to /dev/ipb --to /dev/ipc "$@" || fail "attach $*"; }
detach() { "$CTL" detach /dev/ipa || fail detach; }
refill() { fill /dev/ipb "$TMP/B" 16; fill /dev/ipc "$TMP/C" 16; }

log "no parameters: everything to target 0"
attach
expect_eq "ops" redirect "$(show_field /dev/ipa .ops)"
expect_region /dev/ipa 0 4 "$TMP/B" 0
dd if="$TMP/D" of=/dev/ipa bs=1M seek=4 count=2 oflag=direct status=none || fail "write"
expect_region /dev/ipa 4 2 "$TMP/D" 0
expect_eq "redirected == seen" "$(counter /dev/ipa seen)" "$(counter /dev/ipa redirected)"
detach
expect_region /dev/ipb 4 2 "$TMP/D" 0
expect_region /dev/ipb 0 4 "$TMP/B" 0
expect_region /dev/ipb 6 10 "$TMP/B" 6
expect_region /dev/ipc 0 16 "$TMP/C" 0
expect_region /dev/ipa 0 16 "$TMP/A" 0
refill

log "by op: reads from target 1, writes to target 0"
attach --set read_target=1 --set write_target=0
expect_region /dev/ipa 0 16 "$TMP/C" 0
dd if="$TMP/D" of=/dev/ipa bs=1M count=3 oflag=direct status=none || fail "write"
expect_region /dev/ipa 0 3 "$TMP/C" 0
expect_eq "redirected == seen" "$(counter /dev/ipa seen)" "$(counter /dev/ipa redirected)"
detach
expect_region /dev/ipb 0 3 "$TMP/D" 0
expect_region /dev/ipb 3 13 "$TMP/B" 3
expect_region /dev/ipc 0 16 "$TMP/C" 0
expect_region /dev/ipa 0 16 "$TMP/A" 0
refill

log "by range: below 8 MiB to target 0 (writes) / 1 (reads), from 8 MiB to target 1"
attach --set split=16384 --set read_target=1 --set write_target=0 --set high_target=1
dd if="$TMP/D" of=/dev/ipa bs=1M count=16 oflag=direct status=none || fail "write"
expect_region /dev/ipa 0 8 "$TMP/C" 0
expect_region /dev/ipa 8 8 "$TMP/D" 8
expect_eq "crossed" 0 "$(prog_var /dev/ipa crossed)"
log "a bio across the split fails and writes nothing"
expect_eq "4 KiB at 8 MiB - 2 KiB" EIO "$(dio_errno w /dev/ipa $(((8 << 20) - 2048)))"
expect_eq "crossed" 1 "$(prog_var /dev/ipa crossed)"
expect_eq "failed" 1 "$(counter /dev/ipa failed)"
expect_eq "4 KiB ending at the split" OK "$(dio_errno w /dev/ipa $(((8 << 20) - 4096)) 4096 0)"
detach
expect_range /dev/ipb 0 $(((8 << 20) - 4096)) "$TMP/D" 0
expect_range /dev/ipb $(((8 << 20) - 4096)) 4096 /dev/zero 0
expect_region /dev/ipb 8 8 "$TMP/B" 8
expect_region /dev/ipc 0 8 "$TMP/C" 0
expect_region /dev/ipc 8 8 "$TMP/D" 8
expect_region /dev/ipa 0 16 "$TMP/A" 0
log "data is where the split says"

log "a missing target fails the bio, counted as invalid"
attach --set write_target=2
expect_eq "write to target 2 of 2" EIO "$(dio_errno w /dev/ipa 0)"
expect_eq "read from target 0" OK "$(dio_errno r /dev/ipa 0 | cut -d' ' -f1)"
expect_eq "invalid" 1 "$(counter /dev/ipa invalid)"
detach
expect_region /dev/ipa 0 16 "$TMP/A" 0
