#!/bin/bash
# desc: every refused input returns its documented errno, through the raw ioctl and the CLI
. "$REPO/tests/lib.sh"
nullb_create ipa 64 2
nullb_create ipb 64 2
nullb_create ipc 64 2
nullb_create ipsmall 16 2
l0=$(loop_create "$TMP/gpt.img" 64) || exit 1
sgdisk -n 1:2048:+16M -n 2:0:+16M "$l0" >/dev/null || fail sgdisk
partx -u "$l0" 2>/dev/null || blockdev --rereadpt "$l0"
udev_settle "${l0}p2"
touch "$TMP/regular"

log "targets the kernel refuses"
probe_expect EINVAL attach /dev/ipa --to /dev/ipa
probe_expect EINVAL attach /dev/ipa --to /dev/ipsmall
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --to /dev/ipb
probe_expect EINVAL attach "${l0}p1" --to "$l0"
probe_expect EINVAL attach "$l0" --to "${l0}p1"
probe_expect EINVAL attach "${l0}p1" --to "${l0}p1"
expect_fail EINVAL "$CTL" attach /dev/ipa --to /dev/ipa
expect_fail EINVAL "$CTL" attach /dev/ipa --to /dev/ipsmall
expect_fail EINVAL "$CTL" attach "${l0}p1" --to "$l0"
log "a sibling partition that does not overlap is a valid target"
"$CTL" attach "${l0}p1" --to "${l0}p2" || fail "p1 -> p2"
"$CTL" detach "${l0}p1" || fail "detach p1"

log "malformed arguments"
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --flags 1
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --flags 0x80000000
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --reserved0 1
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --reserved 0
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --reserved 3
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --size 0
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --size 8
probe_expect E2BIG attach /dev/ipa --to /dev/ipb --size 200 --tail 190
probe_expect E2BIG attach /dev/ipa --to /dev/ipb --size 65536
probe_expect EINVAL attach /dev/ipa --nr 0
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --nr 9
probe_expect EINVAL attach /dev/ipa --to /dev/ipb --ops-unterminated
probe_expect ENOENT attach /dev/ipa --to /dev/ipb --ops nosuchops
probe_expect EBADF attach /dev/ipa --rawfd 999
probe_expect EBADF attach /dev/ipa --rawfd -1
exec 7</dev/null 8<"$TMP/regular"
probe_expect ENOTBLK attach /dev/ipa --rawfd 7
probe_expect ENOTBLK attach /dev/ipa --rawfd 8
probe_expect EINVAL detach /dev/ipa --flags 1
probe_expect EINVAL detach /dev/ipa --reserved 1
probe_expect EINVAL detach /dev/ipa --size 4
probe_expect E2BIG detach /dev/ipa --size 80 --tail 60
probe_expect EINVAL detach /dev/ipa --ops trace
probe_expect EINVAL detach /dev/ipa --flags 1 --ops-unterminated
probe_expect EINVAL detach /dev/ipa --flags 2 --ops trace
probe_expect ENOENT detach /dev/ipa --flags 1 --ops nosuchops
probe_expect EINVAL query /dev/ipa --size 16
probe_expect OK query /dev/ipa --size 4096
expect_eq "nothing was attached by any of the above" none "$(cat /sys/block/ipa/interposer)"

log "a larger structure with a zero tail is accepted (forward compatibility)"
probe_expect OK attach /dev/ipa --to /dev/ipb --size 200
probe_expect OK detach /dev/ipa --size 64

log "state conflicts"
probe_expect ENOENT detach /dev/ipa
expect_fail ENOENT "$CTL" detach /dev/ipa
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
probe_expect EBUSY attach /dev/ipa --to /dev/ipc
expect_fail EBUSY "$CTL" attach /dev/ipa --to /dev/ipc
log "a target is held exclusively by its interposer"
probe_expect EBUSY attach /dev/ipc --to /dev/ipb
can_claim /dev/ipb && fail "target not held exclusively"
log "no chains"
probe_expect ELOOP attach /dev/ipb --to /dev/ipc
probe_expect ELOOP attach /dev/ipc --to /dev/ipa
expect_fail ELOOP "$CTL" attach /dev/ipb --to /dev/ipc
"$CTL" detach /dev/ipa || fail detach
can_claim /dev/ipb || fail "target still held after detach"

log "unprivileged callers"
chmod 666 /dev/ipa /dev/ipb
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$@"; }
nobody "$PROBE" attach /dev/ipa --to /dev/ipb --expect "$NOBODY_RAW_ERRNO" || fail "unprivileged attach not $NOBODY_RAW_ERRNO"
"$CTL" attach /dev/ipa --to /dev/ipb || fail attach
nobody "$PROBE" detach /dev/ipa --expect "$NOBODY_RAW_ERRNO" || fail "unprivileged detach not $NOBODY_RAW_ERRNO"
nobody "$PROBE" query /dev/ipa --expect "$NOBODY_RAW_QUERY" || fail "unprivileged query refused"
expect_fail EPERM nobody "$CTL" detach /dev/ipa
"$CTL" detach /dev/ipa || fail detach
expect_fail EPERM nobody "$CTL" attach /dev/ipa --to /dev/ipb
expect_eq "state" none "$(cat /sys/block/ipa/interposer)"

log "zoned devices, as original or as target"
nullb_create ipz 64 2 1 zoned=1 zone_size=8
expect_eq "ipz is zoned" host-managed "$(cat /sys/block/ipz/queue/zoned)"
probe_expect EOPNOTSUPP attach /dev/ipz --to /dev/ipb
probe_expect EOPNOTSUPP attach /dev/ipa --to /dev/ipz
out=$("$CTL" attach /dev/ipz --to /dev/ipb 2>&1) && fail "attach of a zoned original succeeded"
expect_eq "message" "interposectl: attach /dev/ipz: zoned devices cannot be interposed (EOPNOTSUPP)" "$out"
expect_fail EOPNOTSUPP "$CTL" attach /dev/ipa --prog "$BUILD/bpf/passthrough.bpf.o" --to /dev/ipz
expect_eq "state of ipz" none "$(cat /sys/block/ipz/interposer)"
expect_eq "state of ipa" none "$(cat /sys/block/ipa/interposer)"
can_claim /dev/ipz || fail "zoned target still held after the refusal"
expect_eq "ops left by the refused --prog attach" 0 "$("$CTL" -j ops | jq length)"
# an observer neither: the completion's takeover would undo a zone append's sector
out=$("$CTL" attach /dev/ipz --observer --prog "$BUILD/bpf/trace.bpf.o" 2>&1) &&
	fail "an observer on a zoned device was attached"
expect_eq "observer message" "interposectl: attach /dev/ipz: zoned devices and devices with integrity metadata cannot be observed (EOPNOTSUPP)" "$out"
expect_eq "state of ipz after the observer" none "$(cat /sys/block/ipz/interposer)"
expect_eq "ops left by the refused observer" 0 "$("$CTL" -j ops | jq length)"

log "a target with a larger logical block size than the original"
k=/sys/kernel/config/nullb/ip4k
mkdir "$k" || fail "cannot create null_blk ip4k"
defer nullb_remove ip4k
echo 64 >"$k/size"; echo 2 >"$k/queue_mode"; echo 4096 >"$k/blocksize"
echo 1 >"$k/power" || fail "cannot power on ip4k"
udev_settle /dev/ip4k
probe_expect EINVAL attach /dev/ipa --to /dev/ip4k
out=$("$CTL" attach /dev/ipa --to /dev/ip4k 2>&1) && fail "attach with a 4k target succeeded"
expect_eq "message" "interposectl: attach /dev/ipa: target /dev/ip4k has a larger logical block size (4096) than the original (512) (EINVAL)" "$out"
log "the other way round is fine: a 512-byte target under a 4k original"
"$CTL" attach /dev/ip4k --to /dev/ipb || fail "attach ip4k --to ipb"
"$CTL" detach /dev/ip4k || fail detach

log "a target with a larger DMA alignment: dm-log-writes over 4k devices asks for 4 KiB"
nullb_create ipl4 64 2 1 blocksize=4096
nullb_create ipg4 64 2 1 blocksize=4096
dm_create iplw "0 $(blockdev --getsz /dev/ipl4) log-writes /dev/ipl4 /dev/ipg4"
lw=dm-$(dmsetup info -c --noheadings -o minor iplw | tr -d " ")
expect_eq "DMA alignment of the log-writes device" 4095 "$(cat "/sys/block/$lw/queue/dma_alignment")"
expect_eq "DMA alignment of ip4k" 511 "$(cat /sys/block/ip4k/queue/dma_alignment)"
probe_expect EINVAL attach /dev/ip4k --to /dev/mapper/iplw
out=$("$CTL" attach /dev/ip4k --to /dev/mapper/iplw 2>&1) && fail "attach with a 4 KiB-aligned target succeeded"
expect_eq "message" "interposectl: attach /dev/ip4k: target /dev/mapper/iplw has a larger DMA alignment (4096 bytes) than the original (512) (EINVAL)" "$out"
can_claim /dev/mapper/iplw || fail "the refused target is still held"
log "the other way round is fine: ip4k under the log-writes device"
"$CTL" attach /dev/mapper/iplw --to /dev/ip4k || fail "attach iplw --to ip4k"
"$CTL" detach /dev/mapper/iplw || fail detach

log "integrity metadata: dm-integrity without an internal hash, as original or as target"
nullb_create ipi 64 2
dm_create ipint "0 65536 integrity /dev/ipi 0 4 D 0"
in=dm-$(dmsetup info -c --noheadings -o minor ipint | tr -d " ")
expect_eq "integrity tag size of $in" 4 "$(cat "/sys/block/$in/integrity/tag_size")"
probe_expect EOPNOTSUPP attach /dev/mapper/ipint --to /dev/ipb
probe_expect EOPNOTSUPP attach /dev/ipa --to /dev/mapper/ipint
out=$("$CTL" attach /dev/ipa --to /dev/mapper/ipint 2>&1) && fail "attach with an integrity target succeeded"
expect_eq "message" "interposectl: attach /dev/ipa: target /dev/mapper/ipint has integrity metadata, which cannot follow a bio to another device (EOPNOTSUPP)" "$out"
out=$("$CTL" attach /dev/mapper/ipint --to /dev/ipb 2>&1) && fail "attach of an integrity original succeeded"
expect_eq "message" "interposectl: attach /dev/mapper/ipint: it has integrity metadata, which cannot follow a bio to another device (EOPNOTSUPP)" "$out"
expect_eq "state of $in" none "$(cat "/sys/block/$in/interposer")"
can_claim /dev/mapper/ipint || fail "the refused target is still held"
