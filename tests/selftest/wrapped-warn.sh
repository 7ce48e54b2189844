#!/bin/bash
# desc: self-test: a WARN that the ring buffer overwrites before the test ends still fails the test
. "$REPO/tests/lib.sh"
d=/sys/kernel/debug/provoke-crash/DIRECT
[ -w $d ] || fail "no $d (CONFIG_LKDTM in the test kernel)"
mark=$(kmsg_mark)
echo WARNING >$d
kmsg_since "$mark" | grep -q 'WARNING:' || fail "the WARN is not in the kernel log"
# write more than the ring buffer holds, slowly enough for a reader
python3 - <<'PY'
import time
with open("/dev/kmsg", "w") as k:
    for i in range(6000):
        k.write("itest: filler line %05d %s\n" % (i, "x" * 60))
        k.flush()
        if i % 200 == 199:
            time.sleep(0.05)
PY
if dmesg | grep -q "itest: $mark"; then
	fail "the ring buffer did not wrap: the check would prove nothing"
fi
log "wrapped: the WARN is gone from dmesg; exiting 0"
