#!/bin/bash
# desc: self-test: a test that skips itself (exit 77) is counted as skipped
. "$REPO/tests/lib.sh"
skip "nothing to test here"
