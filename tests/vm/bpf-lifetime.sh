#!/bin/bash
# desc: program replace (link update, 10 cycles, REPLACE_CYCLES=) and unregister while attached under fio --verify; counters match fio's I/O
. "$REPO/tests/lib.sh"
requires_patched_kernel "a target over the original under fio --verify (dm-linear; the module refuses it: ELOOP)"
OBJ=$BPFOBJ/verdict.bpf.o
nullb_create ipa 128 2
sz=$(blockdev --getsz /dev/ipa)
dm_create iplin "0 $sz linear /dev/ipa 0"

log "counters match fio's issued I/O"
"$CTL" attach /dev/ipa --prog "$OBJ" --to /dev/mapper/iplin --set mode=1 --set write_target=0 ||
	fail attach
n=$(fio_count /dev/ipa randrw 400)
expect_eq "seen" "$n" "$(counter /dev/ipa seen)"
expect_eq "redirected" "$n" "$(counter /dev/ipa redirected)"
expect_eq "end_bio callbacks" "$n" "$(prog_var /dev/ipa completed)"
"$CTL" detach /dev/ipa || fail detach
[ -z "$(ls /sys/fs/bpf/interpose 2>/dev/null)" ] || fail "pins left: $(ls -R /sys/fs/bpf/interpose)"

log "replace cycles under load: pass <-> redirect to dm-linear over the original"
fio_verify_start /dev/ipa --runtime="${FIO_RUNTIME:-3600}"
"$CTL" attach /dev/ipa --prog "$OBJ" --to /dev/mapper/iplin --set mode=0 || fail attach
for i in $(seq "${REPLACE_CYCLES:-10}"); do
	"$CTL" replace /dev/ipa --prog "$OBJ" --set mode=1 --set write_target=0 || fail "replace $i"
	"$CTL" replace /dev/ipa --prog "$OBJ" --set mode=0 || fail "replace back $i"
done
# one snapshot: the counters keep moving under fio
read -r s p r < <("$CTL" -j stats /dev/ipa |
	jq -r '.counters | "\(.seen) \(.passed) \(.redirected)"')
[ "$r" -gt 0 ] && [ "$p" -gt 0 ] || fail "both programs should have run: passed $p redirected $r"
log "seen $s = passed $p + redirected $r (+ in flight)"
[ $((p + r)) -le "$s" ] || fail "more verdicts than bios"
expect_eq "state" attached "$(show_field /dev/ipa .state)"

log "unregister while attached under load: remove the link pin"
mark=$(kmsg_mark)
rm -f /sys/fs/bpf/interpose/ipa/link
wait_for "device detached when its ops was unregistered" not_interposed /dev/ipa
sleep 2
fio_verify_stop
rm -rf /sys/fs/bpf/interpose/ipa
"$CTL" -j ops | jq -e 'map(select(.name == "verdict")) | length == 0' >/dev/null ||
	fail "ops still registered"
kmsg_since "$mark" | grep -q "ipa: interposer detached, ops verdict unregistered" || fail "no detach message"
