#!/bin/bash
# desc: bpf/switch: regions go to the targets its "regions" map names, edited at run time with bpftool; bios across differently mapped regions and missing targets fail
. "$REPO/tests/lib.sh"
OBJ=$PROGOBJ/switch.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipc 64 2
fill /dev/ipa "$TMP/A" 16
fill /dev/ipb "$TMP/B" 16
fill /dev/ipc "$TMP/C" 16
pattern $((16 << 20)) >"$TMP/D"
M=$(map_path /dev/ipa regions)
# set_region R T: region R -> target T
set_region() {
	"$BPFTOOL" map update pinned "$M" key $(le_bytes "$1" 4) value $(le_bytes "$2" 4) ||
		fail "bpftool map update region $1"
}

"$CTL" attach /dev/ipa --prog "$OBJ" --to /dev/ipb --to /dev/ipc --set region_sectors=2048 || fail "attach"
expect_eq "ops" switch "$(show_field /dev/ipa .ops)"
[ -e "$M" ] || fail "map not pinned at $M"
log "all regions start on target 0"
expect_region /dev/ipa 0 16 "$TMP/B" 0

log "regions 1, 3, 5 to target 1, then 8 MiB written in 1 MiB bios"
for r in 1 3 5; do set_region $r 1; done
expect_eq "region 3 in the map" 1 "$("$BPFTOOL" -j map lookup pinned "$M" key $(le_bytes 3 4) | jq '.formatted.value')"
dd if="$TMP/D" of=/dev/ipa bs=1M count=8 oflag=direct status=none || fail "write"
expect_eq "redirected == seen" "$(counter /dev/ipa seen)" "$(counter /dev/ipa redirected)"
for r in 0 1 2 3 4 5 6 7; do expect_region /dev/ipa $r 1 "$TMP/D" $r; done
log "reads come back from each region's target"

log "region 2 switched to target 1 at run time: reads now come from target 1"
set_region 2 1
expect_region /dev/ipa 2 1 "$TMP/C" 2
set_region 2 0

log "a bio across regions on different targets fails; on the same target it passes"
expect_eq "4 KiB across regions 0|1" EIO "$(dio_errno w /dev/ipa $(((1 << 20) - 2048)))"
expect_eq "refused" 1 "$(prog_var /dev/ipa refused)"
expect_eq "4 KiB across regions 6|7" OK "$(dio_errno w /dev/ipa $(((7 << 20) - 2048)) 4096 0)"
expect_eq "1 MiB across regions 2|3" EIO "$(dio_errno w /dev/ipa $((5 << 19)) $((1 << 20)))"
expect_eq "refused" 2 "$(prog_var /dev/ipa refused)"

log "a missing target fails the bio, counted as invalid"
set_region 4 5
expect_eq "read of region 4 (target 5 of 2)" EIO "$(dio_errno r /dev/ipa $((4 << 20)))"
expect_eq "invalid" 1 "$(counter /dev/ipa invalid)"
"$CTL" detach /dev/ipa || fail "detach"

log "each target holds exactly its regions"
for r in 0 1 2 3 4 5 6 7; do
	case $r in
	1 | 3 | 5) expect_region /dev/ipc $r 1 "$TMP/D" $r; expect_region /dev/ipb $r 1 "$TMP/B" $r ;;
	6 | 7) ;;
	*) expect_region /dev/ipb $r 1 "$TMP/D" $r; expect_region /dev/ipc $r 1 "$TMP/C" $r ;;
	esac
done
# the 4 KiB of zeroes across regions 6|7 went to target 0
expect_range /dev/ipb $((6 << 20)) $(((1 << 20) - 2048)) "$TMP/D" $((6 << 20))
expect_range /dev/ipb $(((7 << 20) - 2048)) 4096 /dev/zero 0
expect_range /dev/ipb $(((7 << 20) + 2048)) $(((1 << 20) - 2048)) "$TMP/D" $(((7 << 20) + 2048))
expect_region /dev/ipc 6 2 "$TMP/C" 6
expect_region /dev/ipb 8 8 "$TMP/B" 8
expect_region /dev/ipc 8 8 "$TMP/C" 8
expect_region /dev/ipa 0 16 "$TMP/A" 0
