#!/bin/bash
# desc: interposetab: apply --check attaches nothing, apply attaches what is missing and leaves what matches, save round-trips, differences and bad lines are reported as FILE:LINE with exit 1, --device, --prune
. "$REPO/tests/lib.sh"
require_cmd jq cmp
P=$BUILD/bpf
for d in ta tb tc td te tf; do nullb_create $d 16 2; done
# a stable name, as /dev/disk/by-id/... would be (no udev in the guest)
ln -s /dev/ta "$TMP/disk-a"
tab=$TMP/interposetab
cat >"$tab" <<EOF
# interposers of the test
$TMP/disk-a   --to /dev/tb           # plain redirect

/dev/tc --prog $P/redirect.bpf.o --to /dev/td --set write_target=0 --set 'read_target=0'
/dev/nosuch --to /dev/tb nofail
EOF

# results FILE [ARGS]: "LINE:RESULT ..." of apply -j
results() {
	"$CTL" -j apply "$@" | jq -r 'map("\(.line):\(.result)") | join(" ")'
}

log "--check: every line is valid, nothing is attached"
expect_eq "apply --check" "2:valid 4:valid 5:absent" "$(results "$tab" --check)"
not_interposed /dev/ta || fail "--check attached ta"
not_interposed /dev/tc || fail "--check attached tc"
[ -e /sys/fs/bpf/interpose/tc ] && fail "--check left the program of tc pinned"
"$CTL" ops | grep -q redirect && fail "--check left an ops registered"

log "apply attaches both"
out=$("$CTL" apply "$tab") || fail "apply: $out"
echo "$out"
expect_eq "first line" "$tab:2: $TMP/disk-a: attached" "$(sed -n 1p <<<"$out")"
expect_eq "ta's target" tb "$(show_field /dev/ta '.targets[0].device')"
expect_eq "tc's ops" redirect "$(show_field /dev/tc .ops)"
fill /dev/ta "$TMP/pa" 1
same /dev/tb "$TMP/pa" 1 || fail "a write to ta did not land on tb"
fill /dev/tc "$TMP/pc" 1
same /dev/td "$TMP/pc" 1 || fail "a write to tc did not land on td"
seen=$(counter /dev/ta seen)

log "apply again: everything matches, nothing is touched"
expect_eq "apply again" "2:unchanged 4:unchanged 5:absent" "$(results "$tab")"
expect_eq "ta's counters kept (not attached again)" "$seen" "$(counter /dev/ta seen)"

log "save writes lines that apply takes back"
"$CTL" save >"$TMP/saved" || fail save
cat "$TMP/saved"
grep -qx "$TMP/disk-a --to /dev/tb" "$TMP/saved" || fail "save: no line for ta"
grep -qx "/dev/tc --to /dev/td --prog $P/redirect.bpf.o --set write_target=0 --set read_target=0" \
	"$TMP/saved" || fail "save: no line for tc"
expect_eq "save -j" "ta:$TMP/disk-a --to /dev/tb" \
	"$("$CTL" -j save | jq -r '.[] | select(.device == "ta") | "\(.device):\(.line)"')"
expect_eq "-p save is -j save" "$("$CTL" -j save)" "$("$CTL" -p save | jq -c .)"
"$CTL" detach "$TMP/disk-a" || fail "detach ta"
"$CTL" detach /dev/tc || fail "detach tc"
expect_eq "apply the saved file" "2:attached 3:attached" "$(results "$TMP/saved")"
"$CTL" save >"$TMP/saved2" || fail "save 2"
cmp "$TMP/saved" "$TMP/saved2" || fail "save after apply of save differs"

log "a device interposed otherwise is reported, not changed"
"$CTL" detach /dev/ta || fail "detach ta"
"$CTL" attach /dev/ta --to /dev/te || fail "attach ta --to te"
err=$("$CTL" apply "$tab" 2>&1 >/dev/null)
rc=$?
expect_eq "exit status" 1 "$rc"
echo "$err"
[[ $err == "$tab:2: $TMP/disk-a: differs: it is interposed with '--to /dev/te', the line asks for '--to /dev/tb'" ]] ||
	fail "differs message: $err"
expect_eq "ta still goes to te" te "$(show_field /dev/ta '.targets[0].device')"
"$CTL" detach /dev/ta || fail "detach ta"

log "attached by other means (no record): a plain line is compared with the kernel's state"
"$CTL" attach /dev/ta --to /dev/tb || fail "attach ta"
rm -f "/run/interposectl/$(cat /sys/block/ta/dev)"
expect_eq "plain line without a record" "2:unchanged 4:unchanged 5:absent" "$(results "$tab")"
rm -f "/run/interposectl/$(cat /sys/block/tc/dev)"
expect_eq "program line without a record" "2:unchanged 4:differs 5:absent" "$(results "$tab")"
"$CTL" save | grep -q "^/dev/tc" && fail "save printed a line for a program it cannot know"
"$CTL" save | grep -q "^# /dev/tc: its program was attached without interposectl" ||
	fail "save: no note for tc"
"$CTL" detach /dev/ta || fail "detach ta"
"$CTL" detach /dev/tc || fail "detach tc"

log "--device applies the lines of one device"
expect_eq "apply --device tc" "4:attached" "$(results "$tab" --device /dev/tc)"
not_interposed /dev/ta || fail "--device tc attached ta"
expect_eq "apply --device of an unlisted device" "" "$(results "$tab" --device /dev/te)"

log "--prune detaches what no line names, but never a device with a line"
"$CTL" attach /dev/te --to /dev/tf || fail "attach te"
expect_eq "--prune --check" "2:valid 4:unchanged 5:absent null:would-detach" \
	"$(results "$tab" --prune --check)"
"$CTL" show /dev/te | grep -q attached || fail "--check pruned te"
expect_eq "--prune" "2:attached 4:unchanged 5:absent null:detached" "$(results "$tab" --prune)"
not_interposed /dev/te || fail "te not pruned"
expect_eq "tc kept" redirect "$(show_field /dev/tc .ops)"
"$CTL" detach /dev/ta || fail "detach ta"
"$CTL" detach /dev/tc || fail "detach tc"

log "bad lines: FILE:LINE and why on stderr, the good lines still applied, exit 1"
cat >"$TMP/bad" <<EOF
/dev/ta --to /dev/tb
/dev/tc --to
/dev/tc --prog $P/redirect.bpf.o --to /dev/td --set no_such_var=1
/dev/tc --prog $P/nothing.bpf.o --to /dev/td
/dev/tc 'unterminated
/dev/tc --dm-table "0 100 linear /dev/tc 0"
/dev/tc --to /dev/td -j
/dev/ta nofail required --to /dev/tb
EOF
err=$("$CTL" apply "$TMP/bad" --check 2>&1 >/dev/null)
expect_eq "exit status of --check" 1 "$?"
echo "$err"
not_interposed /dev/ta || fail "--check attached ta"
expect_line() { grep -qF -- "$1" <<<"$err" || fail "no '$1' in: $err"; }
expect_line "$TMP/bad:2: /dev/tc: failed: option '--to' needs an argument"
expect_line "$TMP/bad:3: /dev/tc: failed: "
expect_line "no_such_var"
expect_line "$TMP/bad:4: /dev/tc: failed: "
expect_line "(ENOENT)"
expect_line "$TMP/bad:5: failed: column 9: unterminated ' quote"
expect_line "$TMP/bad:6: /dev/tc: failed: "
if on_module; then
	expect_line "a dm table needs a kernel with the interposer built in"
else
	expect_line "the dm table covers 100 sectors"
fi
expect_line "$TMP/bad:7: /dev/tc: failed: option '-j' has no place in a tab line"
expect_line "$TMP/bad:8: /dev/ta: failed: nofail and required exclude each other"
"$CTL" apply "$TMP/bad" >/dev/null 2>&1
expect_eq "exit status of apply" 1 "$?"
expect_eq "the good line was applied" tb "$(show_field /dev/ta '.targets[0].device')"
not_interposed /dev/tc || fail "a bad line attached tc"
"$CTL" detach /dev/ta || fail "detach ta"

log "usage errors"
"$CTL" apply "$tab" --prune --device /dev/ta >/dev/null 2>&1
expect_eq "--prune with --device" 2 "$?"
expect_fail ENOENT "$CTL" apply "$TMP/none"
log "apply: all cases passed"
