#!/bin/bash
# desc: attach/detach cycles (60, CYCLES=; make stress runs 10000) to dm-linear over the original while fio --verify runs at QD32; each one turns the interposer's static key on and off under that I/O
. "$REPO/tests/lib.sh"
requires_patched_kernel "a target over the original under fio --verify (dm-linear; the module refuses it: ELOOP)"
# Every attach and detach must turn the static key on and off: nothing
# else may be interposed.  The key is a jump label patched in and out of
# blk_mq_submit_bio() and __submit_bio() while other CPUs run through
# them: the test kernel keeps CONFIG_JUMP_LABEL on for that.  (The jump
# table's section symbols exist without it; the x86 patching code does
# not.)
[ -z "$(interposed_devices reserved)" ] ||
	fail "devices interposed before the test: the static key would not toggle: $(interposed_devices reserved)"
grep -qw arch_jump_label_transform_queue /proc/kallsyms ||
	fail "no jump labels in this kernel (CONFIG_JUMP_LABEL off): the key would be a plain branch and its patching untested"
log "jump labels: the key is patched in and out of the submit path"
cycles=${CYCLES:-60}
nullb_create ipa 128 2
sz=$(blockdev --getsz /dev/ipa)
dm_create iplin "0 $sz linear /dev/ipa 0"
# make stress runs longer than fio_verify_start's hour: FIO_RUNTIME=
fio_verify_start /dev/ipa --runtime="${FIO_RUNTIME:-3600}"
total=0
for i in $(seq "$cycles"); do
	"$CTL" attach /dev/ipa --to /dev/mapper/iplin || fail "attach, cycle $i"
	total=$((total + $(show_field /dev/ipa .counters.seen)))
	"$CTL" detach /dev/ipa || fail "detach, cycle $i"
	kill -0 "$FIO_PID" || fail "fio died at cycle $i"
done
log "$cycles cycles, $total bios went through the interposer"
[ "$total" -gt 0 ] || fail "no bio was ever interposed"
fio_verify_stop
expect_eq "state" none "$(show_field /dev/ipa .state)"
