#!/bin/bash
# desc: bpf/readonly: writes, FUA writes, discards and zeroouts fail with EROFS and leave the bytes unchanged; reads and empty flushes pass
. "$REPO/tests/lib.sh"
OBJ=$PROGOBJ/readonly.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
require_cmd blkdiscard
nullb_create_cached ipa 64
# the whole device, so that a write that leaks through anywhere (the last
# sector included) shows in the comparisons below
expect_eq "device size" $((64 << 20)) "$(blockdev --getsize64 /dev/ipa)"
fill /dev/ipa "$TMP/A" 64
pattern $((1 << 20)) >"$TMP/D"

"$CTL" attach /dev/ipa --prog "$OBJ" || fail "attach"
expect_eq "ops" readonly "$(show_field /dev/ipa .ops)"

expect_eq "O_DIRECT write" "$RO_ERRNO" "$(dio_errno w /dev/ipa 0)"
expect_eq "O_DIRECT|O_DSYNC (FUA) write" "$RO_ERRNO" "$(dio_errno wsync /dev/ipa 8192)"
expect_eq "512-byte write at the end" "$RO_ERRNO" "$(dio_errno w /dev/ipa $(((64 << 20) - 512)) 512)"
failed=$(counter /dev/ipa failed)
expect_eq "refused bios counted" 3 "$failed"

if dd if="$TMP/D" of=/dev/ipa bs=1M seek=1 count=1 oflag=direct 2>"$TMP/dd.err"; then
	fail "dd wrote through readonly"
fi
grep -q "$RO_STRERROR" "$TMP/dd.err" || fail "dd: no $RO_ERRNO: $(cat "$TMP/dd.err")"
log "dd: $(grep "$RO_STRERROR" "$TMP/dd.err")"

blkdiscard -f -o $((2 << 20)) -l $((1 << 20)) /dev/ipa 2>"$TMP/err" &&
	fail "discard passed"
grep -q "$RO_STRERROR" "$TMP/err" || fail "discard: no $RO_ERRNO: $(cat "$TMP/err")"
log "discard refused: $(tail -1 "$TMP/err")"
blkdiscard -f -z -o $((3 << 20)) -l $((1 << 20)) /dev/ipa 2>"$TMP/err" &&
	fail "zeroout passed"
grep -q "$RO_STRERROR" "$TMP/err" || fail "zeroout: no $RO_ERRNO: $(cat "$TMP/err")"
log "zeroout refused: $(tail -1 "$TMP/err")"
[ "$(counter /dev/ipa failed)" -ge $((failed + 3)) ] || fail "dd, discard, zeroout not all refused"

s0=$(counter /dev/ipa seen)
p0=$(counter /dev/ipa passed)
expect_eq "fsync (an empty preflush)" OK "$(dio_errno fsync /dev/ipa)"
[ "$(counter /dev/ipa seen)" -gt "$s0" ] || fail "the flush did not reach the interposer"
expect_eq "flushes passed" "$(($(counter /dev/ipa seen) - s0))" "$(($(counter /dev/ipa passed) - p0))"

log "reads pass and see the original data, the whole device"
same /dev/ipa "$TMP/A" 64 || fail "reads through readonly differ"
f0=$(counter /dev/ipa failed)
n=$(fio_count /dev/ipa randread 200)
expect_eq "no read refused" "$f0" "$(counter /dev/ipa failed)"
expect_eq "seen == passed + failed" "$(counter /dev/ipa seen)" \
	"$(($(counter /dev/ipa passed) + $(counter /dev/ipa failed)))"
log "$n reads passed"

"$CTL" detach /dev/ipa || fail "detach"
same /dev/ipa "$TMP/A" 64 || fail "the device changed under readonly"
log "the device's bytes are unchanged, all 64 MiB"
expect_eq "writable again" OK "$(dio_errno w /dev/ipa 0)"
