#!/bin/bash
# desc: self-test: a test without kernel reports passes, also right after one with a report
. "$REPO/tests/lib.sh"
echo "itest: an ordinary kernel line" >/dev/kmsg
log "nothing reported"
