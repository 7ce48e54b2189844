#!/bin/bash
# desc: bpf/passthrough: on blk-mq and bio-based null_blk, data written and read through it is the device's own, every bio counted as passed
. "$REPO/tests/lib.sh"
OBJ=$PROGOBJ/passthrough.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
head -c $((4 << 20)) /dev/urandom >"$TMP/D"

for mode in 2 0; do
	log "queue_mode $mode"
	nullb_create ipa 64 $mode
	fill /dev/ipa "$TMP/A" 16
	"$CTL" attach /dev/ipa --prog "$OBJ" || fail "attach"
	expect_eq "ops" passthrough "$(show_field /dev/ipa .ops)"
	same /dev/ipa "$TMP/A" 16 || fail "reads through passthrough differ"
	dd if="$TMP/D" of=/dev/ipa bs=1M seek=2 count=4 oflag=direct status=none || fail "write"
	expect_region /dev/ipa 2 4 "$TMP/D" 0
	s0=$(counter /dev/ipa seen)
	n=$(fio_count /dev/ipa randrw 300)
	expect_eq "bios seen during fio" "$n" "$(($(counter /dev/ipa seen) - s0))"
	expect_eq "passed == seen" "$(counter /dev/ipa seen)" "$(counter /dev/ipa passed)"
	for c in redirected remapped failed completed invalid; do
		expect_eq "$c" 0 "$(counter /dev/ipa $c)"
	done
	"$CTL" detach /dev/ipa || fail "detach"
	not_interposed /dev/ipa || fail "still interposed"
	nullb_remove ipa
done

log "fio verify through passthrough"
nullb_create ipa 64 2
"$CTL" attach /dev/ipa --prog "$OBJ" || fail "attach"
fio_verify_start /dev/ipa
sleep 3
fio_verify_stop
expect_eq "passed == seen" "$(counter /dev/ipa seen)" "$(counter /dev/ipa passed)"
"$CTL" detach /dev/ipa || fail "detach"
