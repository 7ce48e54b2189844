#!/bin/bash
# desc: random and malformed BLKINTERPOSE_* ioctls (5000, FUZZ_CALLS=, FUZZ_SEED=) return only documented errnos and leave the devices working and detached
. "$REPO/tests/lib.sh"
FUZZ=$BUILD/tests/ioctl-fuzz
calls=${FUZZ_CALLS:-5000}
seed=${FUZZ_SEED:-1}
[ -x "$FUZZ" ] || fail "$FUZZ not built (make test-tools)"
nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipc 64 0
nullb_create ipsmall 16 2

log "ioctl-fuzz --seed $seed --calls $calls"
"$FUZZ" --seed "$seed" --calls "$calls" /dev/ipa /dev/ipb /dev/ipc /dev/ipsmall >"$TMP/fuzz.out" 2>&1
rc=$?
grep -v '^UNEXPECTED\|^  ' "$TMP/fuzz.out" | sed 's/^/# /'
if [ $rc -ne 0 ]; then
	grep -A4 '^UNEXPECTED' "$TMP/fuzz.out" | head -60
	fail "ioctl-fuzz exited with $rc (seed $seed)"
fi
tail -1 "$TMP/fuzz.out" | grep -q "^fuzz: $calls calls, 0 unexpected$" || fail "no clean summary line"

for d in ipa ipb ipc ipsmall; do
	expect_eq "$d after fuzzing" none "$(cat /sys/block/$d/interposer)"
	dd if=/dev/$d of=/dev/null bs=1M count=4 iflag=direct status=none || fail "read $d"
	can_claim /dev/$d || fail "$d is still held by someone"
done

log "a plain attach still redirects, and detach gives the original back"
fill /dev/ipa "$TMP/a" 8
fill /dev/ipb "$TMP/b" 8
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
same /dev/ipa "$TMP/b" 8 || fail "reads of ipa do not come from ipb"
"$CTL" detach /dev/ipa || fail detach
same /dev/ipa "$TMP/a" 8 || fail "ipa lost its data"
expect_eq "state" none "$(cat /sys/block/ipa/interposer)"
