#!/bin/bash
# desc: every BPF verdict with data read back: redirect by op and by range, remap on the original and on a target, fail with each errno, complete, invalid verdicts; a policy declining completions (BLK_INTERPOSE_NO_END) sees only those it wants unless an observer wants them all
. "$REPO/tests/lib.sh"
OBJ=$BPFOBJ/verdict.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipc 64 2
fill /dev/ipa "$TMP/A" 16
fill /dev/ipb "$TMP/B" 16
fill /dev/ipc "$TMP/C" 16
pattern $((16 << 20)) >"$TMP/D"

attach() { "$CTL" attach /dev/ipa --prog "$OBJ" --to /dev/ipb --to /dev/ipc "$@" || fail "attach --prog $*"; }
detach() { "$CTL" detach /dev/ipa || fail detach; }

log "redirect by op: reads from target 0, writes to target 1"
attach --set mode=1
expect_region /dev/ipa 0 4 "$TMP/B" 0
dd if="$TMP/D" of=/dev/ipa bs=1M count=2 oflag=direct status=none || fail "write"
expect_eq "writes redirected to target 1" "$(counter /dev/ipa redirected)" "$(counter /dev/ipa seen)"
detach
expect_region /dev/ipc 0 2 "$TMP/D" 0
expect_region /dev/ipc 2 14 "$TMP/C" 2
expect_region /dev/ipb 0 16 "$TMP/B" 0
expect_region /dev/ipa 0 16 "$TMP/A" 0
fill /dev/ipc "$TMP/C" 16

log "redirect by sector range: below 8 MiB to target 0, the rest to target 1"
attach --set mode=2 --set split=16384
dd if="$TMP/D" of=/dev/ipa bs=1M count=16 oflag=direct status=none || fail "write"
detach
expect_region /dev/ipb 0 8 "$TMP/D" 0
expect_region /dev/ipb 8 8 "$TMP/B" 8
expect_region /dev/ipc 0 8 "$TMP/C" 0
expect_region /dev/ipc 8 8 "$TMP/D" 8
expect_region /dev/ipa 0 16 "$TMP/A" 0
fill /dev/ipb "$TMP/B" 16
fill /dev/ipc "$TMP/C" 16

log "remap on the original: +8 MiB"
attach --set mode=3 --set offset=16384
expect_region /dev/ipa 0 2 "$TMP/A" 8
dd if="$TMP/D" of=/dev/ipa bs=1M count=2 oflag=direct status=none || fail "write"
expect_eq "remapped" "$(counter /dev/ipa seen)" "$(counter /dev/ipa remapped)"
detach
expect_region /dev/ipa 8 2 "$TMP/D" 0
expect_region /dev/ipa 0 8 "$TMP/A" 0
expect_region /dev/ipa 10 6 "$TMP/A" 10
fill /dev/ipa "$TMP/A" 16

log "remap on target 1: +2 MiB"
attach --set mode=3 --set remap_target=1 --set offset=4096
dd if="$TMP/D" of=/dev/ipa bs=1M count=1 oflag=direct status=none || fail "write"
detach
expect_region /dev/ipc 2 1 "$TMP/D" 0
expect_region /dev/ipc 0 2 "$TMP/C" 0
expect_region /dev/ipa 0 16 "$TMP/A" 0

log "remap past the end fails only that bio, counted, never truncated"
sz=$(blockdev --getsz /dev/ipa)
attach --set mode=3 --set offset=$((sz - 4))
expect_eq "4 KiB write remapped 2 KiB before the end" EIO "$(pwrite_errno /dev/ipa 0)"
expect_eq "invalid counted" 1 "$(counter /dev/ipa invalid)"
detach
expect_region /dev/ipa 0 16 "$TMP/A" 0
# the end of the original was not written
expect_range /dev/ipa $(((64 << 20) - 4096)) 4096 /dev/zero 0

log "fail writes with each errno; reads pass"
for e in EIO:5 ENOSPC:28 ETIMEDOUT:110 $RO_ERRNO:30; do
	attach --set mode=4 --set error=${e#*:}
	expect_eq "write fails with" "${e%:*}" "$(pwrite_errno /dev/ipa 0)"
	expect_eq "read passes" OK "$(pread_errno /dev/ipa 0)"
	expect_eq "failed counter" 1 "$(counter /dev/ipa failed)"
	expect_eq "passed counter" 1 "$(counter /dev/ipa passed)"
	detach
done
expect_region /dev/ipa 0 16 "$TMP/A" 0

log "complete without I/O: zero-filled reads, dropped writes"
attach --set mode=5
expect_region /dev/ipa 0 1 /dev/zero 0
dd if="$TMP/D" of=/dev/ipa bs=1M count=1 oflag=direct status=none || fail "dropped write did not succeed"
expect_eq "completed" "$(counter /dev/ipa seen)" "$(counter /dev/ipa completed)"
detach
expect_region /dev/ipa 0 16 "$TMP/A" 0

log "redirect to a missing target fails only that bio"
attach --set mode=6 --set bad_target=2
expect_eq "write to target 2 of 2" EIO "$(pwrite_errno /dev/ipa 0)"
expect_eq "invalid counted" 1 "$(counter /dev/ipa invalid)"
detach
"$CTL" attach /dev/ipa --prog "$OBJ" --set mode=1 || fail "attach without targets"
expect_eq "redirect with no target at all" EIO "$(pread_errno /dev/ipa 0)"
expect_eq "invalid counted" 1 "$(counter /dev/ipa invalid)"
detach
expect_region /dev/ipa 0 16 "$TMP/A" 0

log "a redirect past the end of a smaller target fails there, the rest lands"
# the kernel sends bios that fit straight to a blk-mq target's queue and the
# others through submit_bio_noacct(), whose end-of-device check fails them
nullb_create ipsmall 16 2
"$CTL" attach /dev/ipa --prog "$OBJ" --to /dev/ipsmall --set mode=1 \
	--set write_target=0 || fail "attach with a smaller target"
expect_eq "read inside the target" OK "$(pread_errno /dev/ipa $((8 << 20)))"
expect_eq "read past the target's end" EIO "$(pread_errno /dev/ipa $((32 << 20)))"
expect_eq "write past the target's end" EIO "$(pwrite_errno /dev/ipa $((32 << 20)))"
expect_eq "write inside the target" OK "$(pwrite_errno /dev/ipa $((4 << 20)))"
expect_eq "all four redirected" 4 "$(counter /dev/ipa redirected)"
detach
# the write landed on the target
head -c 4096 /dev/zero | tr '\0' x >"$TMP/x"
expect_range /dev/ipsmall $((4 << 20)) 4096 "$TMP/x" 0
expect_region /dev/ipa 0 16 "$TMP/A" 0

log "the completion callback sees every bio"
attach --set mode=0
n=$(fio_count /dev/ipa randrw 300)
expect_eq "bios seen by the kernel" "$n" "$(counter /dev/ipa seen)"
expect_eq "passed" "$n" "$(counter /dev/ipa passed)"
expect_eq "submit callbacks" "$n" "$(prog_var /dev/ipa submitted)"
expect_eq "end_bio callbacks" "$n" "$(prog_var /dev/ipa completed)"
expect_eq "end_bio errors" 0 "$(prog_var /dev/ipa completed_errors)"
[ "$(prog_var /dev/ipa last_latency_ns)" -gt 0 ] || fail "no latency measured"
expect_eq "end_bio saw each bio as submitted" "$n" "$(prog_var /dev/ipa end_as_submitted)"
detach

log "a policy that declines the completions of reads sees only the writes'"
attach --set mode=0 --set skip_end_reads=1
n=$(fio_count /dev/ipa randrw 300)
reads=$(prog_var /dev/ipa submitted_reads)
[ "$reads" -gt 0 ] && [ "$reads" -lt "$n" ] || fail "fio's mix: $reads reads of $n bios"
expect_eq "submit callbacks" "$n" "$(prog_var /dev/ipa submitted)"
expect_eq "end_bio callbacks: the writes" "$((n - reads))" "$(prog_var /dev/ipa completed)"
expect_eq "end_bio callbacks of reads" 0 "$(prog_var /dev/ipa completed_reads)"
log "beside an observer that wants every completion, the policy is shown the reads' too (a hint)"
"$CTL" attach /dev/ipa --observer --prog "$BUILD/bpf/trace.bpf.o" || fail "attach the trace observer"
m=$(fio_count /dev/ipa randrw 300)
expect_eq "end_bio callbacks: the writes before, every bio since" "$((n - reads + m))" "$(prog_var /dev/ipa completed)"
expect_eq "end_bio callbacks of reads: those since the observer came" \
	"$(($(prog_var /dev/ipa submitted_reads) - reads))" "$(prog_var /dev/ipa completed_reads)"
detach

log "the completion callback sees redirected and remapped bios as submitted"
attach --set mode=1 --set read_target=0 --set write_target=0
n=$(fio_count /dev/ipa randrw 300)
expect_eq "redirected" "$n" "$(counter /dev/ipa redirected)"
expect_eq "end_bio callbacks" "$n" "$(prog_var /dev/ipa completed)"
expect_eq "end_bio saw each bio on the original, at its sector and size" \
	"$n" "$(prog_var /dev/ipa end_as_submitted)"
detach
attach --set mode=3 --set remap_target=1 --set offset=0
n=$(fio_count /dev/ipa randrw 200)
expect_eq "remapped" "$n" "$(counter /dev/ipa remapped)"
expect_eq "end_bio saw each remapped bio as submitted" \
	"$n" "$(prog_var /dev/ipa end_as_submitted)"
detach
