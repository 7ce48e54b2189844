#!/bin/bash
# desc: the CLI and a program from the Debian packages (tests/deb/run installed them into build/deb/root) attach, decide and detach; apply --check of a tab line that names the installed program
. "$REPO/tests/lib.sh"
R=$BUILD/deb/root
ICTL=$R/usr/sbin/interposectl
[ -x "$ICTL" ] || { echo "no $ICTL (make deb && tests/deb/run; make check runs both)"; exit 77; }
nullb_create dea 16 2
nullb_create deb 16 2
log "$("$ICTL" --version)"
"$ICTL" attach /dev/dea --prog "$R/usr/lib/interpose/bpf/redirect.bpf.o" --to /dev/deb ||
	fail "attach with the installed CLI and program"
expect_eq "ops" redirect "$("$ICTL" -j show /dev/dea | jq -r .ops)"
fill /dev/dea "$TMP/p" 1
same /dev/deb "$TMP/p" 1 || fail "a write to dea did not land on deb"
[ "$(counter /dev/dea redirected)" -gt 0 ] || fail "no bio counted as redirected"
"$ICTL" detach /dev/dea || fail "detach with the installed CLI"
not_interposed /dev/dea || fail "still interposed"
echo "/dev/dea --prog $R/usr/lib/interpose/bpf/readonly.bpf.o" >"$TMP/tab"
expect_eq "apply --check with the installed program" "1:valid" \
	"$("$ICTL" -j apply "$TMP/tab" --check | jq -r 'map("\(.line):\(.result)") | join(" ")')"
log "the installed packages work"
