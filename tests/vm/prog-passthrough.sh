#!/bin/bash
# desc: bpf/passthrough: on a blk-mq null_blk and a bio-based dm-linear, data written and read through it is the device's own, every bio counted as passed
. "$REPO/tests/lib.sh"
require_cmd dmsetup blockdev
OBJ=$PROGOBJ/passthrough.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
pattern $((4 << 20)) >"$TMP/D"

nullb_create ipa 64 2
nullb_create ipb 64 2
dm_create iplin "0 $(blockdev --getsz /dev/ipb) linear /dev/ipb 0"
for dev in /dev/ipa /dev/mapper/iplin; do
	log "$dev"
	fill $dev "$TMP/A" 16
	"$CTL" attach $dev --prog "$OBJ" || fail "attach"
	expect_eq "ops" passthrough "$(show_field $dev .ops)"
	same $dev "$TMP/A" 16 || fail "reads through passthrough differ"
	dd if="$TMP/D" of=$dev bs=1M seek=2 count=4 oflag=direct status=none || fail "write"
	expect_region $dev 2 4 "$TMP/D" 0
	s0=$(counter $dev seen)
	n=$(fio_count $dev randrw 300)
	expect_eq "bios seen during fio" "$n" "$(($(counter $dev seen) - s0))"
	expect_eq "passed == seen" "$(counter $dev seen)" "$(counter $dev passed)"
	for c in redirected remapped failed completed invalid; do
		expect_eq "$c" 0 "$(counter $dev $c)"
	done
	"$CTL" detach $dev || fail "detach"
	not_interposed $dev || fail "still interposed"
done

log "fio verify through passthrough"
"$CTL" attach /dev/ipa --prog "$OBJ" || fail "attach"
fio_verify_start /dev/ipa
# fio may take a while to get going under TCG
fio_busy() { [ "$(counter /dev/ipa seen)" -ge 2000 ]; }
wait_for "fio's I/O through passthrough" fio_busy
sleep 2
fio_verify_stop
expect_eq "passed == seen" "$(counter /dev/ipa seen)" "$(counter /dev/ipa passed)"
"$CTL" detach /dev/ipa || fail "detach"
