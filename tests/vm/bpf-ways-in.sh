#!/bin/bash
# desc: the ways a program gets in: bpftool struct_ops register + attach --ops on two devices (unregistered by removing the pin), attach --prog with --set (pinned, unloaded by detach), renamed and shared ops, replace by another object, EEXIST/ENOENT refusals
. "$REPO/tests/lib.sh"
BYOP=$BPFOBJ/byop.bpf.o
VERDICT=$BPFOBJ/verdict.bpf.o
[ -f "$BYOP" ] && [ -f "$VERDICT" ] || fail "BPF objects not built (make bpf)"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || fail "no bpffs"
MB=4

for d in ipa ipa0 ipa1 ipb ipb0 ipb1; do
	nullb_create $d 16 2
done

# ops_field NAME JQ: a field of ops NAME in interposectl -j ops
ops_field() {
	"$CTL" -j ops | jq -r --arg n "$1" "map(select(.name == \$n)) | .[0] | $2"
}
# ops_count NAME: how many registered ops are named NAME
ops_count() {
	"$CTL" -j ops | jq --arg n "$1" 'map(select(.name == $n and .state == "registered")) | length'
}
# ops_gone NAME: no struct_ops map of that name is left at all
ops_gone() {
	[ "$("$CTL" -j ops | jq --arg n "$1" 'map(select(.name == $n)) | length')" = 0 ]
}
# stats_of DEV NAME: a counter from the text output of interposectl stats
stats_of() {
	"$CTL" stats "$1" | awk -v k="$2" '$1 == k { print $2 }'
}
# fresh DEV: a new pattern on DEV, kept in $TMP/DEV
fresh() {
	fill "/dev/$1" "$TMP/$1" $MB
}
# byop_data ORIG: reads of ORIG come from ORIG0, writes land on ORIG1,
# ORIG itself untouched; leaves the written data in $TMP/ORIG.w
byop_data() {
	local o=$1
	same "/dev/$o" "$TMP/${o}0" $MB || fail "reads of $o do not come from ${o}0"
	pattern $((2 << 20)) >"$TMP/$o.w"
	dd if="$TMP/$o.w" of="/dev/$o" bs=1M oflag=direct conv=fsync status=none ||
		fail "write through $o"
	same "/dev/${o}1" "$TMP/$o.w" 2 || fail "writes through $o did not land on ${o}1"
	same "/dev/${o}0" "$TMP/${o}0" $MB || fail "${o}0 was written"
	log "$o: reads from ${o}0, writes to ${o}1"
}
# untouched ORIG: the original still holds its own pattern
untouched() {
	same "/dev/$1" "$TMP/$1" $MB || fail "$1's own data changed"
}

for d in ipa ipa0 ipa1 ipb ipb0 ipb1; do
	fresh $d
done

log "--- (a) bpftool struct_ops register, attached by name to two devices"
"$BPFTOOL" struct_ops register "$BYOP" /sys/fs/bpf/byop_link >/dev/null ||
	fail "bpftool struct_ops register byop"
defer rm -rf /sys/fs/bpf/byop_link
[ -e /sys/fs/bpf/byop_link/byop ] || fail "bpftool did not pin the link at /sys/fs/bpf/byop_link/byop"
"$CTL" ops | grep -q "^byop: registered, map [0-9]*, link [0-9]*, devices none$" ||
	fail "interposectl ops does not list byop: $("$CTL" ops)"
expect_eq "byop state (JSON)" registered "$(ops_field byop .state)"
expect_eq "byop has a link" true "$(ops_field byop '.link_id > 0')"

"$CTL" attach ipa --ops byop --to ipa0 --to ipa1 || fail "attach ipa --ops byop"
"$CTL" attach /dev/ipb --ops byop --to /dev/ipb0 --to /dev/ipb1 || fail "attach ipb --ops byop"
expect_eq "byop used by" "ipa ipb" "$(ops_field byop '[.devices[].device] | join(" ")')"
expect_eq "ops of ipa" byop "$(show_field ipa .ops)"
grep -q "ops=byop" /sys/class/block/ipb/interposer || fail "sysfs of ipb does not name byop"
byop_data ipa
byop_data ipb
seen=$(stats_of ipa seen)
[ "$seen" -gt 0 ] || fail "no bio seen on ipa"
# the module's hook also sees the empty flush of conv=fsync, which
# submit_bio_noacct() ends on a device without a write cache (README):
# byop passes it
flushes=0
on_module && flushes=1
expect_eq "ipa: every bio redirected" "$((seen - flushes))" "$(stats_of ipa redirected)"
expect_eq "ipa: passed" "$flushes" "$(stats_of ipa passed)"
expect_eq "ipa: stats -j agrees" "$seen" "$("$CTL" -j stats ipa | jq .counters.seen)"
expect_eq "ipb: stats -j ops" byop "$("$CTL" -j stats ipb | jq -r .ops)"

log "removing the pinned link unregisters byop and detaches both devices"
mark=$(kmsg_mark)
rm /sys/fs/bpf/byop_link/byop || fail "rm the link pin"
wait_for "ipa detached" not_interposed /dev/ipa
wait_for "ipb detached" not_interposed /dev/ipb
expect_eq "sysfs of ipb" none "$(cat /sys/class/block/ipb/interposer)"
wait_for "byop no longer listed by interposectl ops" ops_gone byop
kmsg_since "$mark" | grep -q "ipa: interposer detached, ops byop unregistered" || fail "no detach message for ipa"
kmsg_since "$mark" | grep -q "ipb: interposer detached, ops byop unregistered" || fail "no detach message for ipb"
untouched ipa
untouched ipb
expect_fail ENOENT "$CTL" stats ipa
for d in ipa0 ipa1 ipb0 ipb1; do fresh $d; done

log "--- (b) attach --prog with --set: loaded, pinned, unloaded by detach"
"$CTL" attach /dev/ipa --prog "$VERDICT" --to ipa0 --to ipa1 --set mode=1 ||
	fail "attach --prog verdict"
defer detach_if /dev/ipa
[ -e /sys/fs/bpf/interpose/ipa/link ] || fail "no link pinned for ipa"
for m in bss rodata; do
	[ -e /sys/fs/bpf/interpose/ipa/maps/$m ] || fail "map $m not pinned: $(ls /sys/fs/bpf/interpose/ipa/maps)"
done
"$BPFTOOL" map show pinned /sys/fs/bpf/interpose/ipa/maps/bss >/dev/null ||
	fail "bpftool cannot read the pinned bss map"
expect_eq "ops of ipa" verdict "$(show_field ipa .ops)"
expect_eq "verdict is the program of" ipa "$(ops_field verdict .prog_dev.device)"
"$CTL" ops | grep -q "^verdict: registered, map [0-9]*, link [0-9]*, program of ipa, devices ipa$" ||
	fail "ops text: $("$CTL" ops)"
expect_eq "var mode (set with --set)" 1 "$("$CTL" var ipa mode)"
expect_eq "var write_target (default)" 1 "$("$CTL" var ipa write_target)"
byop_data ipa
seen=$(counter ipa seen)
expect_eq "var submitted == stats seen" "$seen" "$("$CTL" var ipa submitted)"
expect_eq "var -j" "$seen" "$("$CTL" -j var ipa submitted | jq .value)"
expect_eq "end_bio ran for every bio" "$seen" "$(prog_var ipa completed)"
expect_eq "no completion errors" 0 "$("$CTL" var /dev/ipa completed_errors)"
expect_fail ENOENT "$CTL" var ipa nosuchvar

log "a second device shares the program by name"
"$CTL" attach ipb --ops verdict --to ipb0 --to ipb1 || fail "attach ipb --ops verdict"
expect_eq "verdict used by" "ipa ipb" "$(ops_field verdict '[.devices[].device] | join(" ")')"
expect_fail EBUSY "$CTL" detach ipa
expect_eq "ipa still attached after the refusal" attached "$(show_field ipa .state)"
"$CTL" detach ipb || fail "detach ipb"
"$CTL" detach ipa || fail "detach ipa"
[ -z "$(ls -A /sys/fs/bpf/interpose)" ] || fail "pins left: $(ls -R /sys/fs/bpf/interpose)"
expect_eq "verdict unregistered when detach returns" 0 "$(ops_count verdict)"
wait_for "verdict no longer listed" ops_gone verdict
untouched ipa
untouched ipb
for d in ipa0 ipa1 ipb0 ipb1; do fresh $d; done

log "one object, two registrations under other names"
"$CTL" attach ipa --prog "$VERDICT" --ops verdict_a --to ipa0 --to ipa1 --set mode=1 ||
	fail "attach --prog --ops verdict_a"
"$CTL" attach ipb --prog "$VERDICT" --ops verdict_b --to ipb0 --to ipb1 --set mode=0 ||
	fail "attach --prog --ops verdict_b"
expect_eq "ops of ipa" verdict_a "$(show_field ipa .ops)"
expect_eq "ops of ipb" verdict_b "$(show_field ipb .ops)"
byop_data ipa
untouched ipb
expect_eq "ipb passes everything" "$(counter ipb seen)" "$(counter ipb passed)"
expect_eq "each has its own variables" "0 1" "$("$CTL" var ipb mode) $("$CTL" var ipa mode)"
"$CTL" detach ipa || fail "detach ipa"
"$CTL" detach ipb || fail "detach ipb"
expect_eq "both unregistered" "0 0" "$(ops_count verdict_a) $(ops_count verdict_b)"
for d in ipa0 ipa1; do fresh $d; done

log "replace by another object: the registered name stays"
"$CTL" attach ipa --prog "$VERDICT" --to ipa0 --to ipa1 --set mode=0 || fail "attach mode=0"
untouched ipa
"$CTL" replace ipa --prog "$BYOP" || fail "replace with byop.bpf.o"
expect_eq "ops name after replace" verdict "$(show_field ipa .ops)"
expect_eq "still registered once" 1 "$(ops_count verdict)"
byop_data ipa
expect_fail ENOENT "$CTL" var ipa submitted
"$CTL" replace ipa --prog "$VERDICT" --set mode=5 || fail "replace back, mode=5"
expect_eq "fresh variables" 0 "$("$CTL" var ipa submitted)"
log "complete: reads see zeroes"
expect_region /dev/ipa 0 1 /dev/zero 0
[ "$("$CTL" var ipa submitted)" -gt 0 ] || fail "the new program saw no bio"
"$CTL" detach ipa || fail "detach ipa"
[ -z "$(ls -A /sys/fs/bpf/interpose)" ] || fail "pins left: $(ls -R /sys/fs/bpf/interpose)"
untouched ipa

log "--- (c) refusals"
"$BPFTOOL" struct_ops register "$BYOP" /sys/fs/bpf/byop_link >/dev/null ||
	fail "register byop again"
out=$("$BPFTOOL" struct_ops register "$BYOP" /sys/fs/bpf/byop_link2 2>&1) &&
	fail "byop registered twice"
rm -rf /sys/fs/bpf/byop_link2
echo "$out" | grep -q "File exists" || fail "second register: no EEXIST in: $out"
log "bpftool refused a second byop: $(echo "$out" | grep -m1 'File exists')"
expect_eq "byop registered once" 1 "$(ops_count byop)"
expect_fail EEXIST "$CTL" attach ipa --prog "$BYOP" --to ipa0 --to ipa1
"$CTL" attach ipa --prog "$BYOP" --to ipa0 --to ipa1 2>&1 |
	grep -q "an ops named byop is registered already" || fail "EEXIST message"
[ ! -e /sys/fs/bpf/interpose/ipa ] || fail "a refused attach left pins"
not_interposed /dev/ipa || fail "a refused attach left ipa attached"
"$CTL" attach ipa --ops byop --to ipa0 --to ipa1 || fail "attach --ops byop"
expect_fail ENOENT "$CTL" replace ipa --prog "$VERDICT"
"$CTL" replace ipa --prog "$VERDICT" 2>&1 | grep -q "was not attached with a program file" ||
	fail "replace message"
expect_fail ENOENT "$CTL" var ipa submitted
"$CTL" detach ipa || fail "detach ipa (byop from bpftool)"
log "an ops needs no target: attach --ops byop alone"
"$CTL" attach ipa --ops byop || fail "attach --ops byop without targets"
expect_eq "no targets" 0 "$(show_field ipa '.targets | length')"
expect_eq "a read redirected to a missing target 0 fails" EIO "$(pread_errno /dev/ipa 0)"
expect_eq "counted invalid" 1 "$(counter ipa invalid)"
"$CTL" detach ipa || fail "detach ipa (no targets)"
expect_eq "byop stays registered after a detach" 1 "$(ops_count byop)"
rm -rf /sys/fs/bpf/byop_link
wait_for "byop unregistered" ops_gone byop

expect_fail ENOENT "$CTL" attach ipa --ops nosuch --to ipa0
"$CTL" attach ipa --ops nosuch 2>&1 | grep -q "ops nosuch is not registered" ||
	fail "ENOENT message for --ops nosuch"
expect_fail ENOENT "$CTL" attach ipa --prog "$VERDICT" --to ipa0 --set nosuchvar=1
expect_fail EINVAL "$CTL" attach ipa --prog "$VERDICT" --to ipa0 --set mode=0x100000000
expect_fail ENOENT "$CTL" attach ipa --prog /nonexistent.bpf.o
out=$("$CTL" attach ipa --prog "$BPFOBJ/bad_write_bio.bpf.o" --to ipa0 2>&1) &&
	fail "bad_write_bio was attached"
expect_eq "a refused program: one line, libbpf's log stays out" 1 "$(echo "$out" | wc -l)"
echo "$out" | grep -q "the verifier refused program .*: only struct blk_interposer_verdict is writable (EACCES)$" ||
	fail "verifier message: $out"
log "$out"
"$CTL" -d attach ipa --prog "$BPFOBJ/bad_write_bio.bpf.o" --to ipa0 2>&1 |
	grep -q "BEGIN PROG LOAD LOG" || fail "-d does not show libbpf's log"
[ -z "$(ls -A /sys/fs/bpf/interpose)" ] || fail "refusals left pins: $(ls -R /sys/fs/bpf/interpose)"
expect_eq "nothing registered" 0 "$("$CTL" -j ops | jq 'map(select(.state == "registered")) | length')"
not_interposed /dev/ipa || fail "ipa attached after the refusals"
untouched ipa
true
