#!/bin/bash
# desc: detach followed at once by the deletion of the target, in a loop under QD32 I/O: bios in transit to the target entered it before the detach returned (no use-after-free)
. "$REPO/tests/lib.sh"
nullb_create ipa 64 2
load_start /dev/ipa
rounds=${LIFETIME_ROUNDS:-12}
for i in $(seq "$rounds"); do
	# blk-mq (null_blk) and bio-based (dm-linear) targets in turn: the
	# direct path and submit_bio_noacct()
	nullb_create ipt 64 2
	t=/dev/ipt
	if [ $((i % 2)) = 1 ]; then
		dmsetup create iplt --table "0 $(blockdev --getsz /dev/ipt) linear /dev/ipt 0" ||
			fail "dmsetup create round $i"
		dmsetup mknodes iplt
		t=/dev/mapper/iplt
	fi
	"$CTL" attach /dev/ipa --to "$t" || fail "attach round $i"
	sleep 0.$((RANDOM % 3 + 1))
	"$CTL" detach /dev/ipa || fail "detach round $i"
	[ "$t" = /dev/ipt ] || dmsetup remove iplt || fail "dmsetup remove round $i"
	echo 0 >/sys/kernel/config/nullb/ipt/power
	rmdir /sys/kernel/config/nullb/ipt
done
kill -0 $LOAD || fail "fio died"
log "$rounds rounds of attach, I/O, detach and target deletion"
