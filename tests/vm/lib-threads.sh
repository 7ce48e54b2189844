#!/bin/bash
# desc: several threads attach programs the verifier refuses at once: each gets its own program's verifier reason, the application's libbpf print callback stays installed
. "$REPO/tests/lib.sh"

TOOL=$BUILD/tests/lib-threads
[ -x "$TOOL" ] || fail "lib-threads not built (make -C tests/tools)"
for o in bad_write_bio bad_write_outside bad_kfunc_end_bio bad_write_completion; do
	[ -f "$BPFOBJ/$o.bpf.o" ] || fail "$o.bpf.o not built"
done

nullb_create ltt 64 2
args=()
i=0
# the reasons bpf-verifier.sh expects of each object (bad_write_completion:
# its second program is the refused one, and must be named)
while read -r obj pattern; do
	nullb_create "lt$i" 64 2
	args+=("/dev/lt$i" "$BPFOBJ/$obj.bpf.o" "$pattern")
	i=$((i + 1))
done <<'LIST'
bad_write_bio only struct blk_interposer_verdict is writable
bad_write_outside outside blk_interposer_verdict
bad_kfunc_end_bio calling kernel function bpf_blk_interposer_nr_targets is not allowed
bad_write_completion program bad_end: only struct blk_interposer_verdict is writable
LIST

for round in 1 2 3; do
	log "round $round: ${#args[@]} arguments, $i threads"
	out=$("$TOOL" /dev/ltt "${args[@]}") || { echo "$out"; fail "round $round"; }
	echo "$out"
done
expect_eq "nothing registered" "" "$("$CTL" -j ops | jq -r '.[].name' | grep '^bad' || true)"
expect_eq "nothing attached" "" "$(grep -l '^attached' /sys/class/block/lt*/interposer 2>/dev/null || true)"
