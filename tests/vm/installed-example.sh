#!/bin/bash
# desc: the installed tree of make install-test: its interposectl and BPF objects attach (a program on a bio-based dm-linear), the docs example (shared and static, built against the installed .pc) names devices, targets, ops and counters; interpose-skel attaches trace through its installed skeleton (bpf_object, and bytes with a typed variable)
. "$REPO/tests/lib.sh"

# Built on the host by tests/install/run (make install-test, which make
# check runs before the VM).
T=$BUILD/install-test
LIB=$T/root/usr/lib
ICTL=$T/root/usr/sbin/interposectl
BPFDIR=$LIB/interpose/bpf
[ -x "$T/shared/interpose-list" ] && [ -x "$T/static/interpose-list" ] &&
	[ -x "$ICTL" ] || skip "no installed tree: run make install-test on the host"

# example shared|static ARGS...: stdout and stderr
example() {
	LD_LIBRARY_PATH=$LIB "$T/$1/interpose-list" "${@:2}" 2>&1
}

nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipc 64 2
# a bio-based device for the program: dm-linear over ipc, listed as dm-N
dm_create iplc "0 $(blockdev --getsz /dev/ipc) linear /dev/ipc 0"
dm=$(basename "$(readlink -f "$(sysfs_of /dev/mapper/iplc)")")
ipa=$(cat /sys/block/ipa/dev) ipb=$(cat /sys/block/ipb/dev) dmdev=$(cat "/sys/block/$dm/dev")

for kind in shared static; do
	expect_eq "$kind: nothing interposed" "no interposed devices" "$(example $kind)"
done

# a plain redirect with the installed CLI, 8 direct 4 KiB writes through it
"$ICTL" attach /dev/ipa --to ipb || fail "installed interposectl: attach"
pattern 32768 >"$TMP/data"
dd if="$TMP/data" of=/dev/ipa bs=4k oflag=direct status=none || fail "write ipa"
dev_read /dev/ipb 0 32768 "$TMP/ipb"
cmp "$TMP/data" "$TMP/ipb" || fail "the writes did not land on the target"
expect_eq "redirected (kernel)" 8 "$(counter ipa redirected)"

line2="  seen 8 passed 0 redirected 8 remapped 0 failed 0 completed 0 invalid 0"
want="ipa ($ipa): ops - (redirect), targets ipb ($ipb)
$line2"
for kind in shared static; do
	expect_eq "$kind: list" "$want" "$(example $kind)"
	expect_eq "$kind: query by MAJ:MIN and name" "$want
ipb ($ipb): not interposed" "$(example $kind "$ipa" ipb)"
done

# an installed ready program, on a bio-based device, next to the redirect
if [ -f "$BPFDIR/passthrough.bpf.o" ]; then
	"$ICTL" attach /dev/mapper/iplc --prog "$BPFDIR/passthrough.bpf.o" ||
		fail "attach --prog installed object"
	dd if=/dev/mapper/iplc of=/dev/null bs=4k count=3 iflag=direct status=none || fail "read iplc"
	expect_eq "passed (kernel)" 3 "$(counter /dev/mapper/iplc passed)"
	# listed by name: dm-N before ipa
	expect_eq "static: list with a program" "$dm ($dmdev): ops passthrough, targets none
  seen 3 passed 3 redirected 0 remapped 0 failed 0 completed 0 invalid 0
$want" "$(example static)"
	"$ICTL" detach "$dm" || fail "detach $dm"
else
	skip_case "no installed passthrough.bpf.o"
fi

"$ICTL" detach /dev/ipa || fail "detach ipa"
expect_eq "shared: nothing interposed after detach" "no interposed devices" "$(example shared)"
out=$(example shared /dev/nosuch)
rc=$?
[ $rc = 1 ] || fail "query of a missing device: exit status $rc"
expect_eq "query of a missing device" "interpose-list: query /dev/nosuch: no such device (errno 2)" "$out"

# docs/examples/interpose-skel (static): the ready program trace through
# its installed skeleton, as a bpf_object (prog_obj: the count read from the
# skeleton's mmaped .bss) and as bytes with a typed variable (prog_buf,
# vars: the count read from the pins); it stays attached after the example
SKEL=$T/static/interpose-skel
if [ -x "$SKEL" ]; then
	expect_eq "interpose-skel: prog_obj" "traced 3" "$("$SKEL" /dev/ipa 3 2>&1)"
	expect_eq "still attached, ops trace" "attached trace" \
		"$("$ICTL" -j show ipa | jq -r '"\(.state) \(.ops)"')"
	expect_eq "the kernel's count" 3 "$(counter ipa seen)"
	"$ICTL" detach /dev/ipa || fail "detach the skeleton's program"
	expect_eq "interpose-skel --buf: prog_buf, vars, a handle" "traced 5
set to 100, then traced 101
events 6
refused: prog /dev/ipa: variable min_us is read-only (rodata): set it before load (interpose_attach_opts.vars)
refused: prog /dev/ipa: variable traced has 8 bytes, the value given 4" "$("$SKEL" --buf /dev/ipa 5 2>&1)"
	expect_eq "its program" trace "$(show_field ipa .ops)"
	"$ICTL" detach /dev/ipa || fail "detach the buffer's program"
	out=$(LD_LIBRARY_PATH=$LIB "$T/shared/interpose-list" 2>&1)
	expect_eq "nothing left" "no interposed devices" "$out"
else
	fail "no $SKEL: make install-test builds it"
fi
