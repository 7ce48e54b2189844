#!/bin/bash
# desc: seed use case: dm-linear then dm-flakey (up) built over the original, slid in under fio --verify
. "$REPO/tests/lib.sh"
requires_patched_kernel "targets built over the original (the module refuses them: ELOOP)"
nullb_create ipa 256 2
sz=$(blockdev --getsz /dev/ipa)
dm_create iplin "0 $sz linear /dev/ipa 0"
dm_create ipflk "0 $sz flakey /dev/ipa 0 3600 0"

through_dm() {
	local dm=$1 dmdev dm0 dm1 o0 o1 n seen redir
	dmdev=$(dmsetup info -c --noheadings -o blkdevname "$dm")

	# A counted burst: each of its bios goes through dm exactly once and
	# dm's clones reach the original without looping back.
	"$CTL" attach /dev/ipa --to "/dev/mapper/$dm" || fail "attach --to $dm"
	dm0=$(awk '{print $5}' "/sys/block/$dmdev/stat")
	o0=$(awk '{print $5}' /sys/block/ipa/stat)
	n=$(fio_count /dev/ipa randwrite 500)
	dm1=$(awk '{print $5}' "/sys/block/$dmdev/stat")
	o1=$(awk '{print $5}' /sys/block/ipa/stat)
	expect_eq "writes completed by $dm for fio's $n" "$n" $((dm1 - dm0))
	expect_eq "writes reaching the original through $dm" "$n" $((o1 - o0))
	seen=$(show_field /dev/ipa .counters.seen)
	redir=$(show_field /dev/ipa .counters.redirected)
	expect_eq "bios seen by the interposer" "$n" "$seen"
	expect_eq "bios redirected" "$n" "$redir"
	"$CTL" detach /dev/ipa || fail "detach"

	# Slid in and out under a verifying writer.
	fio_verify_start /dev/ipa
	"$CTL" attach /dev/ipa --to "/dev/mapper/$dm" || fail "attach under load"
	sleep 3
	[ "$(show_field /dev/ipa .counters.seen)" -gt 0 ] || fail "no bio went through $dm"
	"$CTL" detach /dev/ipa || fail "detach under load"
	sleep 1
	"$CTL" attach /dev/ipa --to "/dev/mapper/$dm" || fail "attach under load"
	sleep 2
	"$CTL" detach /dev/ipa || fail "detach under load"
	fio_verify_stop
}
through_dm iplin
through_dm ipflk
