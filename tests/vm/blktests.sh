#!/bin/bash
# desc: the blktests-format group tests/blktests/tests/interposer (attach and detach, a BPF verdict, the failed state) passes with its own runner, and every test of it runs
. "$REPO/tests/lib.sh"

# what a failed test of the group left behind
defer 'for n in ipbt_o ipbt_t; do d=/sys/kernel/config/nullb/$n; [ -d "$d" ] || continue; "$PROBE" detach /dev/$n >/dev/null; echo 0 >"$d/power"; rmdir "$d"; done; rm -rf /sys/fs/bpf/ipbt_002'
out=$(RESULTS=$TMP/results IOCTL_PROBE=$PROBE BPFTOOL=$BUILD/bin/bpftool \
	IP_BPF_DIR=$BUILD/bpf "$REPO/tests/blktests/check" interposer 2>&1)
rc=$?
sed 's/^/# /' <<<"$out"
summary=$(tail -1 <<<"$out")
if [ "$rc" != 0 ]; then
	for f in "$TMP"/results/interposer/*/full; do
		[ -s "$f" ] && sed "s|^|# ${f%/full}: |" "$f"
	done
	fail "blktests interposer: $summary"
fi
# a test the runner did not run would pass unseen
grep -q '\[not run\]' <<<"$out" && fail "a test of the group did not run: $summary"
expect_eq "the group's tests" "3 passed, 0 failed, 0 skipped" "$summary"
