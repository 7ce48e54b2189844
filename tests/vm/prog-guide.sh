#!/bin/bash
# desc: bpf/README.md: the guide's filter, built out of tree with the guide's exact commands (vmlinux.h from the running kernel's BTF), loads, takes --set, fails and counts what it should, its map edits with bpftool
. "$REPO/tests/lib.sh"
require_cmd clang
GUIDE=$REPO/bpf/README.md
# block NAME: the code block that follows "<!-- guide: NAME -->"
block() {
	awk -v n="<!-- guide: $1 -->" '
		$0 == n { found = 1; next }
		found && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }' "$GUIDE"
}
nullb_create ipa 64 2
fill /dev/ipa "$TMP/A" 16
mkdir "$TMP/guard"
cd "$TMP/guard" || fail "cd"
block guard.bpf.c >guard.bpf.c
block build >build.sh
block use | sed 's/sdX/ipa/g' >use.sh
for f in guard.bpf.c build.sh use.sh; do
	[ -s $f ] || fail "no '$f' block in $GUIDE"
done

log "build, out of tree: $(tr '\n\t' '  ' <build.sh)"
bash -e build.sh || fail "the guide's build commands failed"
[ -s vmlinux.h ] && [ -s guard.bpf.o ] || fail "no vmlinux.h or guard.bpf.o"
grep -q "struct blk_interposer_ops {" vmlinux.h || fail "vmlinux.h has no blk_interposer_ops"

log "the guide's use commands, on ipa"
bash -e use.sh >use.out 2>&1 || { cat use.out; fail "the guide's use commands failed"; }
sed 's/^/    /' use.out
not_interposed /dev/ipa || fail "still interposed after the guide's detach"
[ -e "/sys/fs/bpf/interpose/ipa" ] && fail "pins left behind"
grep -q "$RO_STRERROR" use.out || fail "the guide's dd was not refused with $RO_ERRNO"

log "step by step, with assertions"
"$CTL" attach /dev/ipa --prog guard.bpf.o --set protect=64 || fail "attach"
expect_eq "ops" guard "$(show_field /dev/ipa .ops)"
expect_eq "protect" 64 "$(prog_var /dev/ipa protect)"
expect_eq "write to sector 0" "$RO_ERRNO" "$(dio_errno w /dev/ipa 0)"
expect_eq "write to sector 56..63" "$RO_ERRNO" "$(dio_errno w /dev/ipa $((56 * 512)))"
expect_eq "write to sector 64" OK "$(dio_errno w /dev/ipa $((64 * 512)) 4096 0)"
expect_eq "read of sector 0" OK "$(dio_errno r /dev/ipa 0 | cut -d' ' -f1)"
expect_eq "denied" 2 "$(prog_var /dev/ipa denied)"
expect_eq "failed" 2 "$(counter /dev/ipa failed)"
M=$(map_path /dev/ipa bytes)
wbytes() { "$BPFTOOL" -j map lookup pinned "$M" key 1 0 0 0 | jq .formatted.value; }
expect_eq "write bytes in the map" 12288 "$(wbytes)"
"$BPFTOOL" map update pinned "$M" key 1 0 0 0 value 0 0 0 0 0 0 0 0 || fail "map update"
expect_eq "write bytes after the reset" 0 "$(wbytes)"
dio_errno w /dev/ipa $((1 << 20)) 4096 0 >/dev/null
expect_eq "write bytes counted again" 4096 "$(wbytes)"
"$CTL" detach /dev/ipa || fail "detach"
expect_range /dev/ipa 0 $((64 * 512)) "$TMP/A" 0
expect_range /dev/ipa $((64 * 512)) 4096 /dev/zero 0
expect_range /dev/ipa $((1 << 20)) 4096 /dev/zero 0
expect_range /dev/ipa $((72 * 512)) $(((1 << 20) - 72 * 512)) "$TMP/A" $((72 * 512))
log "the protected sectors kept their data, the others took the writes"
