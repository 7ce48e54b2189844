#!/bin/bash
# desc: empty bios (flushes) of a partition: a remapping program never turns fsync into EIO, and programs (a policy, and an observer beside a remapping policy) see partition-relative sectors for them
. "$REPO/tests/lib.sh"
require_cmd sgdisk
nullb_create_cached ipt 64
l0=$(loop_create "$TMP/gpt.img" 64) || exit 1
sgdisk -n 1:2048:+16M -n 2:0:+16M "$l0" >/dev/null || fail "sgdisk"
partx -u "$l0" 2>/dev/null || blockdev --rereadpt "$l0"
p1=${l0}p1
udev_settle "$p1"
psize=$(blockdev --getsz "$p1")
defer rm -rf "/sys/fs/bpf/interpose/$(basename "$p1")"

log "linear program on a partition: direct writes with fsync"
"$CTL" attach "$p1" --prog "$BUILD/bpf/linear.bpf.o" --set offset=8 --to /dev/ipt ||
	fail "attach linear"
pattern 1M >"$TMP/data"
dd if="$TMP/data" of="$p1" bs=64k oflag=direct conv=fsync status=none ||
	fail "dd with fsync through the remapping program failed"
expect_eq "invalid verdicts" 0 "$(counter "$p1" invalid)"
log "data at target sector 8"
expect_range /dev/ipt $((8 * 512)) $((1 << 20)) "$TMP/data" 0
sync -f "$p1" 2>/dev/null
python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDWR); os.fsync(fd)' "$p1" ||
	fail "fsync of the partition"
"$CTL" detach "$p1" || fail detach

log "trace on a partition: flushes at a sane sector"
"$CTL" attach "$p1" --prog "$BUILD/bpf/trace.bpf.o" || fail "attach trace"
"$CTL" -j trace "$p1" --duration 4 >"$TMP/trace.json" &
TR=$!
sleep 1.5
for i in 1 2 3; do
	dd if="$TMP/data" of="$p1" bs=64k count=1 oflag=direct conv=fsync status=none ||
		fail "dd with fsync under trace"
done
wait $TR
n=$(jq -s '[.[] | select(.op == "flush" or (.flags | index("preflush")))] | length' "$TMP/trace.json")
log "flush records: $n"
[ "$n" -gt 0 ] || { head -5 "$TMP/trace.json"; fail "no flush seen by trace"; }
bad=$(jq -s --argjson size "$psize" '[.[] | select(.sector >= $size)] | length' "$TMP/trace.json")
expect_eq "records with a sector beyond the partition" 0 "$bad"
"$CTL" detach "$p1" || fail detach

log "trace's own observer beside a remapping policy on a partition: fsync works, flushes at a sane sector"
"$CTL" attach "$p1" --prog "$BUILD/bpf/linear.bpf.o" --set offset=8 --to /dev/ipt ||
	fail "attach linear"
"$CTL" -j trace "$p1" --duration 6 >"$TMP/trace2.json" 2>"$TMP/trace2.err" &
TR=$!
wait_for "trace's observer attached" sh -c "'$CTL' -j show '$p1' | jq -e '.observers[0].ops | test(\"^trace_\")'"
for i in 1 2 3; do
	dd if="$TMP/data" of="$p1" bs=64k count=1 oflag=direct conv=fsync status=none ||
		fail "dd with fsync under the observer"
done
wait $TR || fail "trace: $(cat "$TMP/trace2.err")"
n=$(grep -v '"events":' "$TMP/trace2.json" | jq -s '[.[] | select(.op == "flush")] | length')
[ "$n" -gt 0 ] || fail "no flush seen by the observer"
log "flush records seen by the observer: $n"
expect_eq "the observer's records with a sector beyond the partition" 0 \
	"$(grep -v '"events":' "$TMP/trace2.json" | jq -s --argjson size "$psize" '[.[] | select(.sector >= $size)] | length')"
expect_eq "no invalid verdicts" 0 "$(counter "$p1" invalid)"
expect_eq "trace's observer is gone" 0 "$("$CTL" -j show "$p1" | jq '.observers | length')"
"$CTL" detach "$p1" || fail detach
