#!/bin/bash
# desc: callers without CAP_SYS_ADMIN: attach, detach, replace refused (EPERM), query works, struct_ops registration refused as the kernel refuses it
. "$REPO/tests/lib.sh"
PASS=$BUILD/bpf/passthrough.bpf.o
VERDICT=$BPFOBJ/verdict.bpf.o
[ -f "$PASS" ] || PASS=$VERDICT
# uid/gid 65534, no capability at all
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$@"; }
# root (so file permissions do not stop it) with every capability but CAP_SYS_ADMIN
nosysadmin() { setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$@"; }
# root with every capability but CAP_BPF and CAP_SYS_ADMIN
nobpf() { setpriv --inh-caps=-bpf,-sys_admin --bounding-set=-bpf,-sys_admin "$@"; }

# bpf_errno CMD: the errno name of a bpf(2) call that needs a capability:
# btf-load (BPF_BTF_LOAD), struct-ops-map (BPF_MAP_CREATE of
# BPF_MAP_TYPE_STRUCT_OPS), struct-ops-prog (BPF_PROG_LOAD of
# BPF_PROG_TYPE_STRUCT_OPS).  The arguments pass the checks that come
# before the capability check and are otherwise invalid, so a caller that
# passes the capability check gets another error.
cat >"$TMP/bpf-errno.py" <<'PY'
import ctypes, errno, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_bpf = 321                                   # x86_64
attr = ctypes.create_string_buffer(128)
insns = ctypes.create_string_buffer(struct.pack("<QQ", 0xb7, 0x95))  # r0 = 0; exit
what = sys.argv[1]
if what == "btf-load":
    cmd = 18                                    # BPF_BTF_LOAD
elif what == "struct-ops-map":
    cmd = 0                                     # BPF_MAP_CREATE
    # BPF_MAP_TYPE_STRUCT_OPS, key 4, value 8, 1 entry: enough to pass
    # map_alloc_check (which comes before the capability check); a made-up
    # btf_vmlinux_value_type_id
    struct.pack_into("<IIII", attr, 0, 26, 4, 8, 1)
    struct.pack_into("<I", attr, 60, 1)
elif what == "struct-ops-prog":
    cmd = 5                                     # BPF_PROG_LOAD
    struct.pack_into("<IIQ", attr, 0, 27, 2, ctypes.addressof(insns))  # STRUCT_OPS, 2 insns
else:
    sys.exit("bad argument")
r = libc.syscall(SYS_bpf, cmd, attr, 128)
e = ctypes.get_errno()
print("OK" if r >= 0 else errno.errorcode.get(e, "E%d" % e))
PY
chmod 755 "$TMP"
bpf_errno() { python3 "$TMP/bpf-errno.py" "$1"; }

nullb_create ipa 64 2
nullb_create ipb 64 2
chmod 666 /dev/ipa /dev/ipb
fill /dev/ipa "$TMP/a" 4
fill /dev/ipb "$TMP/b" 4

log "the kernel: struct_ops registration needs CAP_BPF (what bpf(2) asks of any struct_ops)"
for c in btf-load struct-ops-map struct-ops-prog; do
	expect_eq "nobody: $c" EPERM "$(nobody python3 "$TMP/bpf-errno.py" $c)"
	expect_eq "root without CAP_BPF: $c" EPERM "$(nobpf python3 "$TMP/bpf-errno.py" $c)"
	got=$(bpf_errno $c)
	[ "$got" != EPERM ] || fail "root: $c refused with EPERM"
	log "root: $c passes the capability check ($got for the made-up arguments)"
done

log "bpftool struct_ops register without CAP_BPF fails and registers nothing"
mkdir -p /sys/fs/bpf/unpriv
defer rm -rf /sys/fs/bpf/unpriv
chmod 1777 /sys/fs/bpf/unpriv
for who in nobody nobpf; do
	if $who "$BPFTOOL" struct_ops register "$PASS" /sys/fs/bpf/unpriv >"$TMP/reg.out" 2>&1; then
		cat "$TMP/reg.out"
		fail "$who: bpftool struct_ops register succeeded"
	fi
	log "$who: bpftool refused: $(grep -m1 -i 'error\|fail' "$TMP/reg.out")"
	expect_eq "$who: registered ops" 0 "$("$CTL" -j ops | jq length)"
	expect_eq "$who: pins" "" "$(ls /sys/fs/bpf/unpriv)"
done

log "CAP_BPF without CAP_SYS_ADMIN cannot register ops either: a registered ops decides for every device that attaches it"
if nosysadmin "$BPFTOOL" struct_ops register "$PASS" /sys/fs/bpf/unpriv >"$TMP/reg.out" 2>&1; then
	cat "$TMP/reg.out"
	fail "bpftool struct_ops register without CAP_SYS_ADMIN succeeded"
fi
# on the module, libbpf without CAP_SYS_ADMIN cannot walk the modules'
# BTF (bpf(BPF_BTF_GET_NEXT_ID) is an admin's) and finds no type at all
refusal='Operation not permitted\|EPERM'
on_module && refusal="$refusal\\|is not found in kernel BTF"
grep -qi "$refusal" "$TMP/reg.out" || fail "register: $(cat "$TMP/reg.out")"
log "refused: $(grep -i "$refusal" "$TMP/reg.out" | head -1)"
no_ops() { [ "$("$CTL" -j ops | jq '[.[] | select(.state == "registered")] | length')" = 0 ]; }
wait_for "nothing registered" no_ops
expect_eq "no link pinned" "" "$(ls /sys/fs/bpf/unpriv)"

log "unprivileged attach: raw ioctl and CLI, plain and with a program"
nobody "$PROBE" attach /dev/ipa --to /dev/ipb --expect "$NOBODY_RAW_ERRNO" || fail "raw attach not $NOBODY_RAW_ERRNO"
nosysadmin "$PROBE" attach /dev/ipa --to /dev/ipb --expect EPERM || fail "raw attach without CAP_SYS_ADMIN not EPERM"
expect_fail EPERM nobody "$CTL" attach /dev/ipa --to /dev/ipb
expect_fail EPERM nosysadmin "$CTL" attach /dev/ipa --to /dev/ipb
expect_fail EPERM nosysadmin "$CTL" attach /dev/ipa --prog "$PASS"
expect_fail EPERM nobody "$CTL" attach /dev/ipa --prog "$PASS"
expect_eq "state after refused attaches" none "$(cat /sys/block/ipa/interposer)"
expect_eq "ops after refused attaches" 0 "$("$CTL" -j ops | jq length)"
[ -z "$(ls /sys/fs/bpf/interpose 2>/dev/null)" ] || fail "pins left: $(ls -R /sys/fs/bpf/interpose)"

log "attached by root with a program: others cannot detach or replace it"
"$CTL" attach /dev/ipa --prog "$VERDICT" --to /dev/ipb --set mode=1 --set write_target=0 || fail attach
same /dev/ipa "$TMP/b" 4 || fail "reads of ipa do not come from ipb"
before=$("$CTL" -j show /dev/ipa | jq -c '{state, ops, targets}')
nobody "$PROBE" detach /dev/ipa --expect "$NOBODY_RAW_ERRNO" || fail "raw detach not $NOBODY_RAW_ERRNO"
nosysadmin "$PROBE" detach /dev/ipa --expect EPERM || fail "raw detach without CAP_SYS_ADMIN not EPERM"
expect_fail EPERM nobody "$CTL" detach /dev/ipa
expect_fail EPERM nosysadmin "$CTL" detach /dev/ipa
expect_fail EPERM nosysadmin "$CTL" replace /dev/ipa --prog "$VERDICT" --set mode=0
expect_fail EPERM nobody "$CTL" replace /dev/ipa --prog "$VERDICT" --set mode=0

log "query works without privileges"
nobody "$PROBE" query /dev/ipa --expect "$NOBODY_RAW_QUERY" || fail "raw query refused"
expect_eq "nobody: show" "$before" "$(nobody "$CTL" -j show /dev/ipa | jq -c '{state, ops, targets}')"
expect_eq "nobody: sysfs" attached "$(nobody cat /sys/block/ipa/interposer | cut -d' ' -f1)"

log "nothing changed: same program, still redirecting, root can detach"
expect_eq "state after refused calls" "$before" "$("$CTL" -j show /dev/ipa | jq -c '{state, ops, targets}')"
expect_eq "program mode" 1 "$(prog_var /dev/ipa mode)"
same /dev/ipa "$TMP/b" 4 || fail "reads of ipa no longer come from ipb"
"$CTL" detach /dev/ipa || fail detach
same /dev/ipa "$TMP/a" 4 || fail "ipa lost its data"
expect_eq "ops after detach" 0 "$("$CTL" -j ops | jq length)"
