#!/bin/bash
# desc: self-test: a WARN (KERN_WARNING, below the console's level) while this test runs must fail it, although the test exits 0
. "$REPO/tests/lib.sh"
d=/sys/kernel/debug/provoke-crash/DIRECT
[ -w $d ] || fail "no $d (CONFIG_LKDTM in the test kernel)"
echo WARNING >$d
log "provoked a WARN; exiting 0"
