#!/bin/bash
# desc: changed-block tracking: cbt reports exactly the blocks written (writes of any size and alignment, discards, zeroouts; 4k and 64k blocks; on a partition beside a redirect policy), reads and other devices leave none; --reset under fio loses no write (the union of the reads equals fio's write log); refusals; --stop detaches
. "$REPO/tests/lib.sh"
require_cmd fio jq blkdiscard sgdisk

nullb_create cba 64 2 1 discard=1
nullb_create cbb 64 2

# ext DEV [ARGS]: the extents cbt prints, as [[offset,length],...]
ext() {
	local dev=$1
	shift
	"$CTL" -j cbt "$dev" "$@" >"$TMP/cbt.json" 2>"$TMP/cbt.err" ||
		fail "cbt $dev $*: $(cat "$TMP/cbt.err")"
	jq -c '[.extents[] | [.offset, .length]]' "$TMP/cbt.json"
}
# wr DEV OFFSET BYTES: a direct write of BYTES at OFFSET (both multiples of 512)
wr() {
	dd if=/dev/urandom of="$1" bs=512 seek=$(($2 / 512)) count=$(($3 / 512)) \
		oflag=direct status=none || fail "write $3 bytes at $2 on $1"
}
# blocks FILE BS: the block numbers of the extents of the cbt -j lines in FILE
blocks() {
	jq -r '.extents[] | "\(.offset) \(.length)"' "$1" |
		awk -v bs="$2" '{ for (o = $1; o < $1 + $2; o += bs) print o / bs }' |
		sort -n -u
}

log "4k blocks: exactly the blocks that writes of any size and alignment touch"
"$CTL" cbt /dev/cba --start || fail "cbt --start"
expect_eq "observer" cbt_cba "$(show_field /dev/cba '.observers[0].ops')"
expect_eq "state" observed "$(show_field /dev/cba .state)"
expect_eq "nothing written yet" "[]" "$(ext /dev/cba)"
expect_eq "block size" 4096 "$(jq .block_size "$TMP/cbt.json")"
wr /dev/cba 0 4096
wr /dev/cba $((8192 + 1024)) 512
wr /dev/cba $((1048576 - 4096 - 512)) 8192
wr /dev/cba $((4 << 20)) $((1 << 20))
dd if=/dev/cba of=/dev/null bs=1M count=8 skip=16 iflag=direct status=none || fail "read"
wr /dev/cbb 0 65536
expect_eq "extents" "[[0,4096],[8192,4096],[1040384,12288],[4194304,1048576]]" "$(ext /dev/cba)"
expect_eq "bytes" $((4096 + 4096 + 12288 + 1048576)) "$(jq .bytes "$TMP/cbt.json")"
# cbt has no end_bio: the completions are left alone, none is shown to it
expect_eq "observer seen > 0, ended 0" "true 0" \
	"$("$CTL" -j show /dev/cba | jq -r '.observers[0] | "\(.seen > 0) \(.ended)"')"
"$CTL" cbt /dev/cba >"$TMP/cbt.txt" 2>"$TMP/cbt.err" || fail "cbt text"
expect_eq "text" "OFFSET LENGTH|0 4096|8192 4096|1040384 12288|4194304 1048576" \
	"$(awk '{ s = s (NR > 1 ? "|" : "") $1 " " $2 } END { print s }' "$TMP/cbt.txt")"
grep -q "^4 extents, 1069056 bytes in blocks of 4096$" "$TMP/cbt.err" ||
	fail "text summary: $(cat "$TMP/cbt.err")"

log "discards and zeroouts change blocks too; --reset prints and clears"
blkdiscard -f -o $((8 << 20)) -l 65536 /dev/cba 2>"$TMP/err" || fail "discard: $(cat "$TMP/err")"
blkdiscard -f -z -o $((12 << 20)) -l 8192 /dev/cba 2>"$TMP/err" || fail "zeroout: $(cat "$TMP/err")"
expect_eq "--reset: everything so far" \
	"[[0,4096],[8192,4096],[1040384,12288],[4194304,1048576],[8388608,65536],[12582912,8192]]" \
	"$(ext /dev/cba --reset)"
expect_eq "after --reset" "[]" "$(ext /dev/cba)"
expect_eq "--reset again: nothing" "[]" "$(ext /dev/cba --reset)"
wr /dev/cba $(((64 << 20) - 4096)) 4096
expect_eq "the last block" "[[67104768,4096]]" "$(ext /dev/cba)"
expect_eq "--reset after two flips" "[[67104768,4096]]" "$(ext /dev/cba --reset)"
expect_eq "a plain read after it" "[]" "$(ext /dev/cba)"

log "refusals: not started, started twice, bad block size; --stop detaches"
expect_fail ENOENT "$CTL" cbt /dev/cbb
grep -q "changed blocks are not tracked (cbt /dev/cbb --start)" <<<"$("$CTL" cbt /dev/cbb 2>&1)" ||
	fail "message of cbt on an untracked device"
expect_fail ENOENT "$CTL" cbt /dev/cbb --stop
expect_fail EEXIST "$CTL" cbt /dev/cba --start
# usage_fail WHAT ARGS...: exit status 2 and WHAT on stderr
usage_fail() {
	local want=$1 out rc
	shift
	out=$("$CTL" cbt "$@" 2>&1)
	rc=$?
	[ $rc -eq 2 ] || fail "cbt $*: exit status $rc, expected 2: $out"
	grep -q -- "$want" <<<"$out" || fail "cbt $*: expected '$want' in: $out"
	log "usage error as expected: cbt $* -> $out"
}
usage_fail "power of 2 from 4k to 1M" /dev/cbb --start --block-size 3k
usage_fail "go alone" /dev/cbb --start --reset
usage_fail "goes with --start" /dev/cbb --block-size 64k
expect_eq "a refused start attached nothing" none "$(show_field /dev/cbb .state)"
# a zone append lands where the device puts it: no tracking on zoned devices
nullb_create cbz 64 2 1 zoned=1 zone_size=8
expect_fail EOPNOTSUPP "$CTL" cbt /dev/cbz --start
expect_eq "nothing on the zoned device" none "$(show_field /dev/cbz .state)"
"$CTL" -j cbt /dev/cbb >"$TMP/err.json" 2>/dev/null && fail "cbt -j on cbb passed"
expect_eq "-j error" ENOENT "$(jq -r .errno "$TMP/err.json")"

log "--reset under fio: the union of the reads is exactly fio's write log"
"$CTL" cbt /dev/cba --stop || fail "cbt --stop"
"$CTL" cbt /dev/cba --start || fail "cbt --start again"
fio --name=job --filename=/dev/cba --rw=randwrite --bs=4k --ioengine=psync \
	--direct=1 --size=64M --number_ios=4000 --write_iolog="$TMP/iolog" \
	>"$TMP/fio.out" 2>&1 &
FIO=$!
defer stop_bg $FIO
: >"$TMP/resets.jsonl"
n=0
while kill -0 $FIO 2>/dev/null; do
	"$CTL" -j cbt /dev/cba --reset >>"$TMP/resets.jsonl" || fail "cbt --reset under fio"
	echo >>"$TMP/resets.jsonl"
	n=$((n + 1))
done
wait $FIO || fail "fio: $(cat "$TMP/fio.out")"
"$CTL" -j cbt /dev/cba --reset >>"$TMP/resets.jsonl" || fail "last cbt --reset"
[ "$n" -ge 5 ] || fail "only $n resets while fio ran"
log "$n resets while fio wrote"
# fio's iolog v3: TIME FILE ACTION OFFSET LENGTH (v2: no TIME)
awk '$(NF - 2) == "write" { for (o = $(NF - 1); o < $(NF - 1) + $NF; o += 4096) print o / 4096 }' "$TMP/iolog" | sort -n -u >"$TMP/written"
blocks "$TMP/resets.jsonl" 4096 >"$TMP/reported"
[ "$(wc -l <"$TMP/written")" -gt 1000 ] || fail "fio's write log has only $(wc -l <"$TMP/written") blocks"
cmp -s "$TMP/written" "$TMP/reported" ||
	fail "reported blocks differ from fio's: $(diff "$TMP/written" "$TMP/reported" | head -5)"
log "$(wc -l <"$TMP/written") blocks written, the same reported"
expect_eq "nothing left" "[]" "$(ext /dev/cba)"
expect_eq "counter marked = fio's writes" 4000 "$(prog_var /dev/cba@cbt_cba marked)"
expect_eq "overflow" 0 "$(prog_var /dev/cba@cbt_cba overflow)"
"$CTL" cbt /dev/cba --stop || fail "cbt --stop"
expect_eq "no observer left" none "$(show_field /dev/cba .state)"

log "a device that grows under tracking: the list is refused, not silently short"
lg=$(loop_create "$TMP/grow.img" 16) || exit 1
"$CTL" cbt "$lg" --start || fail "cbt --start on $lg"
wr "$lg" 0 4096
truncate -s 32M "$TMP/grow.img" && losetup -c "$lg" || fail "grow $lg"
expect_eq "$lg grew" $((32 << 20)) "$(blockdev --getsize64 "$lg")"
wr "$lg" $((20 << 20)) 4096	# 8 writes of 512 bytes
expect_fail EOVERFLOW "$CTL" cbt "$lg" --reset
"$CTL" cbt "$lg" 2>&1 | grep -q "8 writes reached past the 16777216 bytes tracked (the device grew)" ||
	fail "message: $("$CTL" cbt "$lg" 2>&1)"
"$CTL" cbt "$lg" --stop || fail "cbt --stop $lg"
"$CTL" cbt "$lg" --start || fail "cbt --start again on $lg"
wr "$lg" $((20 << 20)) 4096
expect_eq "after a restart the new end is tracked" "[[20971520,4096]]" "$(ext "$lg")"
"$CTL" cbt "$lg" --stop || fail "cbt --stop $lg"

log "64k blocks on a partition with a redirect policy: partition-relative, other partitions and the disk apart"
l0=$(loop_create "$TMP/gpt.img" 64) || exit 1
sgdisk -n 1:2048:+16M -n 2:0:+16M "$l0" >/dev/null || fail "sgdisk"
partx -u "$l0" 2>/dev/null || blockdev --rereadpt "$l0"
udev_settle "${l0}p1"
udev_settle "${l0}p2"
p1=${l0}p1
"$CTL" attach "$p1" --to /dev/cbb || fail "attach $p1"
"$CTL" cbt "$p1" --start --block-size 64k || fail "cbt --start on $p1"
wr "$p1" 0 4096
wr "$p1" $((200 * 1024)) 4096
wr "$p1" $((1 << 20)) $((192 * 1024))
wr "${l0}p2" 0 65536
wr "$l0" $((40 << 20)) 65536
expect_eq "extents on $p1" "[[0,65536],[196608,65536],[1048576,196608]]" "$(ext "$p1")"
expect_eq "block size" 65536 "$(jq .block_size "$TMP/cbt.json")"
[ "$(counter "$p1" redirected)" -ge 3 ] || fail "the policy did not redirect the writes"
"$CTL" detach "$p1" || fail "detach $p1"
