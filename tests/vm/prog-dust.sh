#!/bin/bash
# desc: bpf/dust: reads of exactly the blocks listed in its map (bpftool) fail with EIO, a write clears a block, write-failure counts, multi-block bios, blksz
. "$REPO/tests/lib.sh"
OBJ=$PROGOBJ/dust.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
nullb_create ipa 64 2
fill /dev/ipa "$TMP/A" 16
pattern $((1 << 20)) >"$TMP/D"
M=$(map_path /dev/ipa badblocks)
# add BLOCK [WRITE_FAILURES], del BLOCK
add() {
	"$BPFTOOL" map update pinned "$M" key $(le_bytes "$1" 8) value $(le_bytes "${2:-0}" 4) ||
		fail "bpftool map update block $1"
}
listed() { "$BPFTOOL" map lookup pinned "$M" key $(le_bytes "$1" 8) >/dev/null 2>&1; }
# blk_read BLOCK [BLKSZ]: errno of a read of exactly that block
blk_read() { dio_errno r /dev/ipa $(($1 * ${2:-512})) "${2:-512}" | cut -d' ' -f1; }

"$CTL" attach /dev/ipa --prog "$OBJ" || fail "attach"
expect_eq "ops" dust "$(show_field /dev/ipa .ops)"
[ -e "$M" ] || fail "map not pinned at $M"
same /dev/ipa "$TMP/A" 16 || fail "reads differ with an empty map"

log "blocks 100, 101 and 3000 listed"
for b in 100 101 3000; do add $b; done
expect_eq "entries" 3 "$(map_entries /dev/ipa badblocks)"
for b in 99 100 101 102 2999 3000 3001; do
	case $b in 100 | 101 | 3000) want=EIO ;; *) want=OK ;; esac
	expect_eq "read of block $b" $want "$(blk_read $b)"
done
expect_eq "4 KiB read over block 100" EIO "$(dio_errno r /dev/ipa $((96 * 512)))"
expect_eq "4 KiB read next to it" OK "$(dio_errno r /dev/ipa $((104 * 512)) | cut -d' ' -f1)"
log "1 MiB reads (2048 blocks: walk over the map instead of lookups)"
expect_eq "1 MiB over blocks 100, 101" EIO "$(dio_errno r /dev/ipa 0 $((1 << 20)))"
expect_eq "1 MiB over block 3000" EIO "$(dio_errno r /dev/ipa $((1 << 20)) $((1 << 20)))"
expect_eq "1 MiB with no bad block" OK "$(dio_errno r /dev/ipa $((2 << 20)) $((1 << 20)) | cut -d' ' -f1)"
expect_eq "read_errors" 6 "$(prog_var /dev/ipa read_errors)"
expect_eq "failed" 6 "$(counter /dev/ipa failed)"

log "a write clears the block it writes"
expect_eq "write block 100" OK "$(dio_errno w /dev/ipa $((100 * 512)) 512 65)"
listed 100 && fail "block 100 still listed after a write"
listed 101 || fail "block 101 unlisted by a write to block 100"
expect_eq "read of block 100 after the write" OK "$(blk_read 100)"
expect_range /dev/ipa $((100 * 512)) 512 <(head -c 512 /dev/zero | tr '\0' 'A') 0
expect_eq "read of block 101" EIO "$(blk_read 101)"
expect_eq "cleared" 1 "$(prog_var /dev/ipa cleared)"

log "a 1 MiB write clears every listed block in it"
add 200
dd if="$TMP/D" of=/dev/ipa bs=1M seek=1 count=1 oflag=direct status=none || fail "1 MiB write over block 3000"
dd if="$TMP/D" of=/dev/ipa bs=1M count=1 oflag=direct status=none || fail "1 MiB write over blocks 101, 200"
expect_eq "entries" 0 "$(map_entries /dev/ipa badblocks)"
expect_eq "cleared" 4 "$(prog_var /dev/ipa cleared)"
expect_region /dev/ipa 0 1 "$TMP/D" 0
expect_region /dev/ipa 1 1 "$TMP/D" 0
expect_region /dev/ipa 2 14 "$TMP/A" 2

log "a block with 2 write failures: two writes fail, the third clears it"
add 500 2
expect_eq "write 1" EIO "$(dio_errno w /dev/ipa $((500 * 512)) 512 66)"
expect_eq "write 2 (4 KiB over it)" EIO "$(dio_errno w /dev/ipa $((496 * 512)) 4096 66)"
listed 500 || fail "block 500 unlisted too early"
expect_eq "read" EIO "$(blk_read 500)"
expect_eq "write 3" OK "$(dio_errno w /dev/ipa $((500 * 512)) 512 67)"
listed 500 && fail "block 500 still listed"
expect_range /dev/ipa $((500 * 512)) 512 <(head -c 512 /dev/zero | tr '\0' 'C') 0
expect_range /dev/ipa $((496 * 512)) 2048 "$TMP/D" $((496 * 512))
expect_eq "write_errors" 2 "$(prog_var /dev/ipa write_errors)"

log "removing a block with bpftool makes it readable"
add 700
expect_eq "read" EIO "$(blk_read 700)"
"$BPFTOOL" map delete pinned "$M" key $(le_bytes 700 8) || fail "bpftool map delete"
expect_eq "read after delete" OK "$(blk_read 700)"
"$CTL" detach /dev/ipa || fail "detach"

log "blksz=4096: block 3 is sectors 24..31"
"$CTL" attach /dev/ipa --prog "$OBJ" --set blksz=4096 || fail "attach"
add 3
for s in 23 24 31 32; do
	case $s in 24 | 31) want=EIO ;; *) want=OK ;; esac
	expect_eq "read of sector $s" $want "$(blk_read $s)"
done
expect_eq "read of 4 KiB block 3" EIO "$(blk_read 3 4096)"
expect_eq "write of sector 28 clears block 3" OK "$(dio_errno w /dev/ipa $((28 * 512)) 512 68)"
expect_eq "read of 4 KiB block 3" OK "$(blk_read 3 4096)"
"$CTL" detach /dev/ipa || fail "detach"
