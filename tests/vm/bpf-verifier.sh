#!/bin/bash
# desc: the verifier rejects writes to the bio or outside the verdict, a sleepable callback, an ops with neither submit_bio nor end_bio, and the interposer kfuncs from another struct_ops or from end_bio
. "$REPO/tests/lib.sh"

# rejected OBJ PATTERN: registering OBJ fails and the log says PATTERN
rejected() {
	local out
	[ -f "$BPFOBJ/$1.bpf.o" ] || fail "$1.bpf.o not built"
	if out=$("$BPFTOOL" struct_ops register "$BPFOBJ/$1.bpf.o" 2>&1); then
		"$BPFTOOL" struct_ops unregister name "$1" >/dev/null 2>&1
		fail "$1 was accepted"
	fi
	echo "$out" | grep -q -- "$2" || { echo "$out" | tail -20; fail "$1: no '$2' in the log"; }
	log "$1 rejected: $2"
}
rejected bad_write_bio "only struct blk_interposer_verdict is writable"
rejected bad_write_outside "outside blk_interposer_verdict"
rejected bad_write_completion "only struct blk_interposer_verdict is writable"
rejected bad_sleepable "attach to unsupported member\|sleepable\|Invalid argument"
rejected bad_no_callbacks "Invalid argument"
rejected bad_kfunc_other_ops "calling kernel function bpf_blk_interposer_nr_targets is not allowed"
# the kfuncs read the interposer only the submission pins
rejected bad_kfunc_end_bio "calling kernel function bpf_blk_interposer_nr_targets is not allowed"
expect_eq "nothing registered" "" "$("$CTL" -j ops | jq -r '.[].name' | grep '^bad' || true)"

log "positive control: the kfuncs from an interposer program"
nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipsmall 16 2
mkdir -p /sys/fs/bpf/kfunc_ok
defer rm -rf /sys/fs/bpf/kfunc_ok
"$BPFTOOL" struct_ops register "$BPFOBJ/kfunc_ok.bpf.o" /sys/fs/bpf/kfunc_ok >/dev/null ||
	fail "kfunc_ok rejected"
"$CTL" attach /dev/ipa --ops kfunc_ok --to /dev/ipb --to /dev/ipsmall || fail "attach --ops kfunc_ok"
expect_eq "write inside the last target" OK "$(pwrite_errno /dev/ipa 4096)"
expect_eq "write beyond the last target's size" ENOSPC "$(pwrite_errno /dev/ipa $((32 << 20)))"
"$CTL" detach /dev/ipa || fail detach
