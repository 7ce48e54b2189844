#!/bin/bash
# desc: the blk_interposer module on Debian's stock kernel: hooked only while something is attached (a direct call, or the ftrace handler beside a BPF trampoline), plain and BPF redirects with data compared, bpftool registration, rmmod refused while in use, target and original loss, partitions, attach and detach under fio --verify, refusals of what needs a patched kernel
. "$REPO/tests/lib.sh"

[ -d /sys/module/blk_interposer ] ||
	skip "no blk_interposer module loaded (a patched kernel: kernel/vm-run --kernel debian runs this)"
KO=$BUILD/module/src/blk_interposer.ko
FT=/sys/kernel/tracing/enabled_functions

# hooked: how many functions of the I/O path the module hooks now
# (submit_bio_noacct, bdev_mark_dead); the slaves links of stacking
# drivers (bd_link_disk_holder, bd_unlink_disk_holder) are watched from
# load on, off the I/O path.  A direct call is shown on the line after
# its function's.
hooked() {
	awk '/^(submit_bio_noacct|bdev_mark_dead) /{f=$0; if (f ~ /blk_interposer/) n++; next}
		/^\tdirect-->blk_interposer/ && f ~ /^submit_bio_noacct /{n++}
		{f=""} END{print n+0}' "$FT"
}
# hook_kind: how submit_bio_noacct() is hooked: direct (the trampoline),
# ftrace (an IP-modifying handler: the flag I after the count of its
# line, which names the handler only when it is alone there) or none
hook_kind() {
	if grep -q '^	direct-->blk_interposer_submit_tramp' "$FT"; then
		echo direct
	elif grep -qE '^submit_bio_noacct \([0-9]+\)(  | R) I' "$FT"; then
		echo ftrace
	else
		echo none
	fi
}
PARAM=/sys/module/blk_interposer/parameters/direct
expect_eq "slaves links watched from load on" 2 \
	"$(grep -cE '^bd_(un)?link_disk_holder .*blk_interposer' "$FT")"

# rmmod_errno: rmmod blk_interposer, the errno name of its failure
rmmod_errno() {
	local out
	out=$(rmmod blk_interposer 2>&1) && { echo OK; return; }
	case $out in *"in use"*) echo EBUSY ;; *) echo "$out" ;; esac
}
[ -c /dev/blk-interposer ] || fail "no /dev/blk-interposer"
[ -e /sys/kernel/btf/blk_interposer ] || fail "no module BTF: struct_ops cannot be registered"
expect_eq "functions hooked with nothing attached" 0 "$(hooked)"

log "plain redirect, data read back on both sides"
nullb_create ipa 64 2
nullb_create ipb 64 2
fill /dev/ipa "$TMP/own" 8
dd if=/dev/zero of=/dev/ipb bs=1M count=8 oflag=direct status=none
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
expect_eq "functions hooked while attached" 2 "$(hooked)"
expect_eq "submit_bio_noacct() hooked by" direct "$(hook_kind)"
expect_eq "show -j backend" module "$(show_field /dev/ipa .backend)"
expect_eq "show -j state" attached "$(show_field /dev/ipa .state)"
fill /dev/ipa "$TMP/through" 8
same /dev/ipb "$TMP/through" 8 || fail "the target does not hold what was written through the original"
same /dev/ipa "$TMP/through" 8 || fail "reads through the interposer"
[ "$(counter /dev/ipa redirected)" -ge 16 ] || fail "redirected: $(counter /dev/ipa redirected)"
expect_eq "rmmod while attached" EBUSY "$(rmmod_errno)"
"$CTL" detach /dev/ipa || fail detach
expect_eq "functions hooked after detach" 0 "$(hooked)"
same /dev/ipa "$TMP/own" 8 || fail "after detach the original does not read its own data"

log "the slower hooks give the same: the ftrace handler (parameter direct=0), a kprobe beside the direct call, a BPF trampoline there first"
# redirect_round WHAT: attach ipa to ipb, write through it, compare, detach
redirect_round() {
	"$CTL" attach /dev/ipa --to /dev/ipb || fail "attach ($1)"
	fill /dev/ipa "$TMP/r" 8
	same /dev/ipb "$TMP/r" 8 || fail "$1: the target does not hold what was written"
	same /dev/ipa "$TMP/r" 8 || fail "$1: reads through the interposer"
}
echo 0 >"$PARAM"
redirect_round "direct=0"
expect_eq "direct=0: submit_bio_noacct() hooked by" ftrace "$(hook_kind)"
"$CTL" detach /dev/ipa || fail detach
echo 1 >"$PARAM"
KP=/sys/kernel/tracing/kprobe_events
echo 'p:itest_submit submit_bio_noacct' >>"$KP" || fail "kprobe"
KPE=/sys/kernel/tracing/events/kprobes/itest_submit/enable
defer "! grep -q itest_submit $KP || { echo 0 >$KPE; echo -:itest_submit >>$KP; }"
echo 1 >"$KPE"
redirect_round "kprobe"
expect_eq "with a kprobe: submit_bio_noacct() hooked by" direct "$(hook_kind)"
hits=$(awk '$1 == "itest_submit" {print $2}' /sys/kernel/tracing/kprobe_profile)
[ "${hits:-0}" -ge 32 ] || fail "the kprobe beside the direct call saw ${hits:-0} bios"
# ftrace takes one direct call per function (README): a BPF trampoline
# cannot come while the module's is there (bpftool then pins the program
# without a link)
# tracing_links: how many BPF tracing links there are
tracing_links() { "$BPFTOOL" -j link show | jq '[.[] | select(.type == "tracing")] | length'; }
sysctl -q kernel.bpf_stats_enabled=1
"$BPFTOOL" prog load "$BUILD/tests/bpf/fentry_submit.bpf.o" /sys/fs/bpf/itest_fentry autoattach 2>/dev/null
# loaded (pinned without a link): not refused for some other reason
[ -e /sys/fs/bpf/itest_fentry ] || fail "the fentry program did not even load"
expect_eq "fentry links beside the direct call" 0 "$(tracing_links)"
rm -rf /sys/fs/bpf/itest_fentry
"$CTL" detach /dev/ipa || fail detach
echo 0 >"$KPE"
echo -:itest_submit >>"$KP"
"$BPFTOOL" prog load "$BUILD/tests/bpf/fentry_submit.bpf.o" /sys/fs/bpf/itest_fentry autoattach ||
	fail "fentry program on submit_bio_noacct()"
defer "rm -rf /sys/fs/bpf/itest_fentry"
expect_eq "fentry links with nothing attached" 1 "$(tracing_links)"
mark=$(kmsg_mark)
redirect_round "fentry first"
expect_eq "after a fentry program: submit_bio_noacct() hooked by" ftrace "$(hook_kind)"
kmsg_since "$mark" | grep -q "submit_bio_noacct() cannot take a direct call" ||
	fail "no kernel line says why the slower hook is used"
runs=$("$BPFTOOL" -j prog show name fentry_submit | jq '.run_cnt // 0')
[ "$runs" -ge 32 ] || fail "the fentry program ran $runs times"
"$CTL" detach /dev/ipa || fail detach
rm -rf /sys/fs/bpf/itest_fentry
expect_eq "functions hooked after detach" 0 "$(hooked)"

log "the control device's envelope is extensible like the ioctl arguments: a larger size with a zero tail is taken, a set tail is E2BIG"
# ctl_query SIZE TAIL: BLKINTERPOSE_QUERY of ipa by number (fd -1) in an
# envelope of SIZE bytes followed by TAIL (hex); prints the errno name
ctl_query() {
	python3 - "$1" "$2" "$(cat /sys/block/ipa/dev)" <<'PY'
import errno, fcntl, os, struct, sys
size, tail, dev = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3]
maj, mnr = map(int, dev.split(':'))
buf = bytearray(struct.pack('<IiQII', size, -1, 0, maj, mnr) + tail)
fd = os.open('/dev/blk-interposer', os.O_RDWR)
try:
    fcntl.ioctl(fd, 0x12d2, buf)
    print('OK')
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}
# ipa has no interposer now: a query that got through says ENOENT
expect_eq "envelope of its own size" ENOENT "$(ctl_query 24 '')"
expect_eq "a larger envelope, zero tail" ENOENT "$(ctl_query 32 0000000000000000)"
expect_eq "a larger envelope, tail set" E2BIG "$(ctl_query 32 0100000000000000)"
expect_eq "a smaller envelope" EINVAL "$(ctl_query 16 '')"

log "rmmod with nothing attached, insmod again"
rmmod blk_interposer || fail "rmmod with nothing attached"
[ ! -e /dev/blk-interposer ] || fail "/dev/blk-interposer left after rmmod"
expect_fail ENOTTY "$CTL" attach /dev/ipa --to /dev/ipb
insmod "$KO" || fail "insmod $KO"
wait_for "the control device is back" test -c /dev/blk-interposer

log "BPF programs: readonly, redirect, bpftool struct_ops register and --ops"
defer rm -rf /sys/fs/bpf/interpose/ipa
"$CTL" attach /dev/ipa --prog "$BUILD/bpf/readonly.bpf.o" || fail "attach readonly"
expect_eq "ops" readonly "$(show_field /dev/ipa .ops)"
# no BLK_STS_READONLY in a stock kernel: the refused write fails with EIO
expect_eq "write under readonly" EIO "$(pwrite_errno /dev/ipa 0)"
same /dev/ipa "$TMP/own" 8 || fail "reads under readonly"
expect_eq "failed counter" 1 "$(counter /dev/ipa failed)"
expect_eq "rmmod while attached" EBUSY "$(rmmod_errno)"
"$CTL" detach /dev/ipa || fail detach
"$CTL" attach /dev/ipa --prog "$BUILD/bpf/redirect.bpf.o" --to /dev/ipb || fail "attach redirect"
fill /dev/ipa "$TMP/prog" 4
same /dev/ipb "$TMP/prog" 4 || fail "the program's redirect did not reach the target"
"$CTL" detach /dev/ipa || fail detach
mkdir -p /sys/fs/bpf/module-test
defer rm -rf /sys/fs/bpf/module-test
bpftool struct_ops register "$BUILD/bpf/readonly.bpf.o" /sys/fs/bpf/module-test >"$TMP/reg" 2>&1 ||
	fail "bpftool struct_ops register: $(cat "$TMP/reg")"
log "bpftool: $(cat "$TMP/reg")"
grep -q "blk_interposer_ops" "$TMP/reg" || fail "bpftool does not name the module's type"
"$CTL" ops | grep -q '^readonly: registered' || fail "ops: $("$CTL" ops)"
"$CTL" attach /dev/ipa --ops readonly || fail "attach --ops readonly"
expect_eq "write under --ops readonly" EIO "$(pwrite_errno /dev/ipa 0)"
"$CTL" detach /dev/ipa || fail detach
rm -rf /sys/fs/bpf/module-test
expect_eq "functions hooked" 0 "$(hooked)"

log "what needs a patched kernel is refused with a reason"
expect_fail EOPNOTSUPP "$CTL" attach /dev/ipa --dm-table "0 1024 linear /dev/ipb 0"
"$CTL" attach /dev/ipa --dm-table "0 1024 linear /dev/ipb 0" 2>&1 |
	grep -q "CONFIG_BLK_INTERPOSER" || fail "the dm-table refusal does not say why"
expect_fail EOPNOTSUPP "$CTL" snapshot /dev/ipa --cow /dev/ipb

log "a target that sends bios back to the original is refused, at any depth and later (their bios would go round for ever)"
sz=$(blockdev --getsz /dev/ipa)
dm_create module-over-ipa "0 $sz linear /dev/ipa 0"
expect_fail ELOOP "$CTL" attach /dev/ipa --to /dev/mapper/module-over-ipa
"$CTL" attach /dev/ipa --to /dev/mapper/module-over-ipa 2>&1 |
	grep -q "module-over-ipa is built over the original" ||
	fail "the refusal does not say why: $("$CTL" attach /dev/ipa --to /dev/mapper/module-over-ipa 2>&1)"
dm_create module-over-over "0 $sz linear /dev/mapper/module-over-ipa 0"
expect_fail ELOOP "$CTL" attach /dev/ipa --to /dev/mapper/module-over-over
"$CTL" attach /dev/ipa --to /dev/mapper/module-over-over 2>&1 |
	grep -q "module-over-over is built over the original" ||
	fail "the two-level refusal does not say why: $("$CTL" attach /dev/ipa --to /dev/mapper/module-over-over 2>&1)"
dm_remove module-over-over
dm_remove module-over-ipa
# a target over another device, whose table is then reloaded over the original
dm_create module-tgt "0 $sz linear /dev/ipb 0"
"$CTL" attach /dev/ipa --to /dev/mapper/module-tgt || fail "attach to a dm target"
mark=$(kmsg_mark)
dmsetup reload module-tgt --table "0 $sz linear /dev/ipa 0" 2>"$TMP/reload.err" &&
	fail "a table over the original was loaded into its interposer's target"
log "reload refused: $(tr '\n' ' ' <"$TMP/reload.err")"
expect_eq "kernel line" 1 "$(kmsg_since "$mark" | grep -c 'cannot take ipa: an interposer.s target would send its bios back to its original')"
fill /dev/ipa "$TMP/tgt" 4
same /dev/ipb "$TMP/tgt" 4 || fail "writes through the interposer did not reach the dm target's device"
"$CTL" detach /dev/ipa || fail detach
dm_remove module-tgt
same /dev/ipa "$TMP/own" 8 || fail "after detach the original does not read its own data"

log "a target going away fails the original closed; the original going away detaches"
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
mark=$(kmsg_mark)
echo 0 >/sys/kernel/config/nullb/ipb/power
expect_eq "state after the target went away" failed "$(show_field /dev/ipa .state)"
expect_eq "read after the target went away" EIO "$(pread_errno /dev/ipa 0)"
expect_eq "kernel line" 1 "$(kmsg_since "$mark" | grep -c 'ipa: interposer failed: its target ipb went away')"
"$CTL" detach /dev/ipa || fail "detach of a failed interposer"
same /dev/ipa "$TMP/own" 8 || fail "after detach A does not read its own data"
nullb_remove ipb
nullb_create ipc 64 2
"$CTL" attach /dev/ipa --to /dev/ipc || fail attach
mark=$(kmsg_mark)
nullb_remove ipa
expect_eq "kernel line" 1 "$(kmsg_since "$mark" | grep -c 'ipa: interposer detached, the device is going away')"
wait_for "the interposer of ipa gone" test -z "$(interposed_devices)"
expect_eq "functions hooked" 0 "$(hooked)"

log "a partition: redirect, then the partition is deleted"
sgdisk -n 1:2048:+16M -n 2:0:+16M /dev/ipc >/dev/null || fail sgdisk
blockdev --rereadpt /dev/ipc
udev_settle /dev/ipc1
nullb_create ipd 64 2
fill /dev/ipc2 "$TMP/p2" 4
"$CTL" attach /dev/ipc1 --to /dev/ipd || fail "attach a partition"
fill /dev/ipc1 "$TMP/p1" 4
same /dev/ipd "$TMP/p1" 4 || fail "the partition's writes did not reach the target"
same /dev/ipc2 "$TMP/p2" 4 || fail "the other partition changed"
mark=$(kmsg_mark)
sgdisk -d 1 /dev/ipc >/dev/null || fail "sgdisk -d"
blockdev --rereadpt /dev/ipc
wait_for "the partition's interposer gone" test -z "$(interposed_devices)"
expect_eq "kernel line" 1 "$(kmsg_since "$mark" | grep -c 'ipc1: interposer detached, the device is going away')"

log "attach and detach under fio --verify"
nullb_create ipe 64 2
fio_verify_start /dev/ipe
defer rm -rf /sys/fs/bpf/interpose/ipe
for ((i = 0; i < 10; i++)); do
	"$CTL" attach /dev/ipe --prog "$BUILD/bpf/passthrough.bpf.o" || fail "attach $i under load"
	nap 0.2
	"$CTL" detach /dev/ipe || fail "detach $i under load"
	"$CTL" attach /dev/ipe --observer --prog "$BUILD/bpf/latency.bpf.o" || fail "observer $i under load"
	nap 0.2
	"$CTL" detach /dev/ipe || fail "observer detach $i under load"
done
fio_verify_stop
expect_eq "functions hooked at the end" 0 "$(hooked)"
rmmod blk_interposer || fail "rmmod at the end"
insmod "$KO" || fail "insmod at the end"
log "ok"
