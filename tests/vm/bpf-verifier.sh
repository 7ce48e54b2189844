#!/bin/bash
# desc: the verifier rejects writes to the bio or outside the verdict, a sleepable callback, an ops with neither submit_bio nor end_bio, and the interposer kfuncs from another struct_ops or from end_bio
. "$REPO/tests/lib.sh"

nullb_create ipa 64 2

# vlog OBJ: what bpftool (libbpf) prints when registering OBJ fails
vlog() {
	[ -f "$BPFOBJ/$1.bpf.o" ] || fail "$1.bpf.o not built"
	if "$BPFTOOL" struct_ops register "$BPFOBJ/$1.bpf.o" >"$TMP/$1.log" 2>&1; then
		"$BPFTOOL" struct_ops unregister name "$1" >/dev/null 2>&1
		fail "$1 was accepted"
	fi
}
# rejected OBJ PROG REASON ERRNO: the verifier refuses program PROG of OBJ
# and REASON is the line of its log that says why (libbpf's load log as
# bpftool prints it); interposectl attach --prog OBJ names the program and
# the same reason (unless ERRNO is -: OBJ is not an interposer's)
rejected() {
	local obj=$1 prog=$2 reason=$3 want=$4 got
	vlog "$obj"
	sed -n "/^libbpf: prog '$prog': -- BEGIN PROG LOAD LOG --\$/,/^-- END PROG LOAD LOG --\$/p" \
		"$TMP/$obj.log" >"$TMP/$obj.vlog"
	[ -s "$TMP/$obj.vlog" ] || { tail -20 "$TMP/$obj.log"; fail "$obj: no verifier log of program $prog"; }
	grep -qxF -- "$reason" "$TMP/$obj.vlog" ||
		{ cat "$TMP/$obj.vlog"; fail "$obj: the verifier's log of $prog lacks '$reason'"; }
	log "$obj: the verifier refused $prog: $reason"
	[ "$want" = - ] && return
	got=$("$CTL" attach /dev/ipa --prog "$BPFOBJ/$obj.bpf.o" 2>&1) && fail "interposectl attached $obj"
	expect_eq "$obj through interposectl" \
		"interposectl: attach /dev/ipa: cannot load $BPFOBJ/$obj.bpf.o: the verifier refused program $prog: $reason ($want)" \
		"$got"
}
rejected bad_write_bio bad_submit "only struct blk_interposer_verdict is writable" EACCES
# v->sector is at 8: the u64 after it is at 16, past the 16-byte verdict
rejected bad_write_outside bad_submit "write at off 16 size 8 outside blk_interposer_verdict" EACCES
rejected bad_write_completion bad_end "only struct blk_interposer_verdict is writable" EACCES
# the ops' check_member refuses sleepable programs, which the verifier
# reports as an unsupported member
rejected bad_sleepable bad_submit "attach to unsupported member submit_bio of struct blk_interposer_ops" EINVAL
rejected bad_kfunc_other_ops other_test_1 "calling kernel function bpf_blk_interposer_nr_targets is not allowed" -
# the kfuncs read the interposer only the submission pins
rejected bad_kfunc_end_bio kfunc_end_bio "calling kernel function bpf_blk_interposer_nr_targets is not allowed" EACCES

# no submit_bio nor end_bio: the verifier takes the program, the ops'
# validate() refuses the struct_ops map (EINVAL, no log)
vlog bad_no_callbacks
grep -q "PROG LOAD LOG" "$TMP/bad_no_callbacks.log" &&
	{ cat "$TMP/bad_no_callbacks.log"; fail "bad_no_callbacks: a program was refused by the verifier"; }
grep -qxF "Error: can't register struct_ops bad_no_callbacks: Invalid argument" "$TMP/bad_no_callbacks.log" ||
	{ cat "$TMP/bad_no_callbacks.log"; fail "bad_no_callbacks: not refused at registration with EINVAL"; }
expect_eq "bad_no_callbacks through interposectl" \
	"interposectl: attach /dev/ipa: cannot register $BPFOBJ/bad_no_callbacks.bpf.o: the kernel refused its struct_ops bad_no_callbacks: Invalid argument (EINVAL)" \
	"$("$CTL" attach /dev/ipa --prog "$BPFOBJ/bad_no_callbacks.bpf.o" 2>&1)"
expect_eq "ipa after the refused attaches" none "$(cat /sys/block/ipa/interposer)"
expect_eq "nothing registered" "" "$("$CTL" -j ops | jq -r '.[].name' | grep '^bad' || true)"

log "positive control: the kfuncs from an interposer program"
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
