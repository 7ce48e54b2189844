#!/bin/bash
# desc: random and malformed BLKINTERPOSE_* ioctls (2000, FUZZ_CALLS=; make stress runs 100000, FUZZ_SEED=) return only documented errnos, fail whenever the kernel's rules say they must and succeed otherwise, and leave the devices working and detached; the benchmark's attach-latency tool attaches and detaches with the same ioctls
. "$REPO/tests/lib.sh"
FUZZ=$BUILD/tests/ioctl-fuzz
calls=${FUZZ_CALLS:-2000}
seed=${FUZZ_SEED:-1}
[ -x "$FUZZ" ] || fail "$FUZZ not built (make test-tools)"
# a bio-based target: brd (null_blk has no bio-based mode in 6.12)
[ -b /dev/ram0 ] || skip "no brd devices (boot with brd.rd_nr=2)"
nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipsmall 16 2
# the fuzzer takes every ops name as unregistered: an attach naming one
# must fail (ENOENT)
expect_eq "registered ops" 0 "$("$CTL" -j ops | jq length)"

log "ioctl-fuzz --seed $seed --calls $calls"
"$FUZZ" --seed "$seed" --calls "$calls" /dev/ipa /dev/ipb /dev/ram0 /dev/ipsmall >"$TMP/fuzz.out" 2>&1
rc=$?
grep -v '^UNEXPECTED\|^  ' "$TMP/fuzz.out" | sed 's/^/# /'
if [ $rc -ne 0 ]; then
	grep -A5 '^UNEXPECTED' "$TMP/fuzz.out" | head -60
	fail "ioctl-fuzz exited with $rc (seed $seed)"
fi
tail -1 "$TMP/fuzz.out" | grep -q "^fuzz: $calls calls, 0 unexpected$" || fail "no clean summary line"
# the rules must let some calls of each ioctl through, and those succeed
for k in ATTACH DETACH QUERY; do
	ok=$(sed -n "s/^may succeed: $k *[0-9]* calls, \([0-9]*\) succeeded$/\1/p" "$TMP/fuzz.out")
	[ "${ok:-0}" -gt 0 ] || fail "no $k the rules let through succeeded"
done
must=$(sed -n 's/^must fail: \([0-9]*\) calls.*/\1/p' "$TMP/fuzz.out")
[ "${must:-0}" -gt $((calls / 2)) ] || fail "only ${must:-0} calls the rules refuse"

for d in ipa ipb ram0 ipsmall; do
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

log "the benchmark's attach-latency speaks the ioctls of this kernel"
if patched_kernel_case "tests/bench/attach-latency issues the ioctls on the device, not on /dev/blk-interposer"; then
	"$REPO/tests/bench/attach-latency" --cycles 3 /dev/ipa /dev/ipb >"$TMP/lat.out" 2>&1 ||
		fail "attach-latency: $(cat "$TMP/lat.out")"
	expect_eq "attach-latency: one time per call" 6 "$(grep -cE '^ioctl-(attach|detach)	[0-9]+$' "$TMP/lat.out")"
	expect_eq "state after attach-latency" none "$(cat /sys/block/ipa/interposer)"
fi
