#!/bin/bash
# desc: interposectl show lists every interposed device and reserved dm devices (marked); -j/-p output is valid JSON with the documented fields; DEV as /dev/NAME, NAME, MAJ:MIN
. "$REPO/tests/lib.sh"
nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipc 64 2
nullb_create ipd 64 2
majmin=$(cat /sys/block/ipb/dev)
"$CTL" attach ipa --to "$majmin" || fail "attach NAME --to MAJ:MIN"
"$CTL" attach /dev/ipc --to ipd || fail "attach /dev/NAME --to NAME"
"$CTL" -j show >"$TMP/all.json" || fail "show -j"
python3 -m json.tool "$TMP/all.json" >/dev/null || fail "show -j is not JSON"
expect_eq "devices listed" 2 "$(jq length "$TMP/all.json")"
expect_eq "listed names" "ipa ipc" "$(jq -r '[.[].device] | sort | join(" ")' "$TMP/all.json")"
expect_eq "target of ipa" "$majmin" "$(jq -r '.[] | select(.device=="ipa") | .targets[0].dev' "$TMP/all.json")"
"$CTL" -p show ipa >"$TMP/one.json" || fail "show -p"
python3 -m json.tool "$TMP/one.json" >/dev/null || fail "show -p is not JSON"
for f in device dev state targets ops counters; do
	jq -e "has(\"$f\")" "$TMP/one.json" >/dev/null || fail "show -p lacks field $f"
done
for f in seen passed redirected remapped failed completed invalid; do
	jq -e ".counters | has(\"$f\")" "$TMP/one.json" >/dev/null || fail "counters lack $f"
done
[ "$(wc -l <"$TMP/one.json")" -gt 3 ] || fail "-p output is not pretty-printed"
"$CTL" show /dev/ipa | grep -q "attached" || fail "text show lacks 'attached'"
"$CTL" show "$(cat /sys/block/ipa/dev)" | grep -q "ipb" || fail "text show lacks the target"
"$CTL" detach ipa || fail detach
"$CTL" detach ipc || fail detach
expect_eq "show -j with nothing attached" 0 "$("$CTL" -j show | jq length)"

# a dm device made for --dm-table is listed beside its original, as reserved
if patched_kernel_case "--dm-table (reserved devices)"; then
	sz=$(blockdev --getsz /dev/ipa)
	"$CTL" attach ipa --dm-table "0 $sz linear /dev/ipa 0" || fail "attach --dm-table"
	defer detach_if /dev/ipa
	dm=$(show_field ipa '.targets[0].device')
	"$CTL" -j show >"$TMP/all.json" || fail "show -j"
	expect_eq "listed with the reserved device" "$dm:reserved ipa:attached" \
		"$(jq -r '[.[] | "\(.device):\(.state)"] | sort | join(" ")' "$TMP/all.json")"
	expect_eq "the original the reserved device serves" ipa \
		"$(jq -r ".[] | select(.device==\"$dm\") | .targets[0].device" "$TMP/all.json")"
	"$CTL" show | grep -q "^$dm ([0-9]*:[0-9]*): reserved for ipa" || fail "text show: $("$CTL" show)"
	"$CTL" detach ipa || fail "detach the --dm-table interposer"
	expect_eq "nothing listed after its detach" 0 "$("$CTL" -j show | jq length)"
fi
expect_eq "show -j of a plain device" none "$(show_field ipa .state)"
expect_fail ENOENT "$CTL" show /dev/nosuchdev
expect_fail ENOTBLK "$CTL" show /dev/null
"$CTL" --version >/dev/null || fail "--version"
"$CTL" attach -h | grep -q -- "--to" || fail "attach -h"
"$CTL" bogus >/dev/null 2>&1 && fail "unknown command accepted"
true
