#!/bin/bash
# desc: empty bios (flushes) of a partition: a remapping program never turns fsync into EIO, and programs see partition-relative sectors for them
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
