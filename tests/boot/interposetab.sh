#!/bin/bash
# desc: boot with systemd and /run/interposetab: a line's device is interposed before its filesystem is mounted (a boot unit's file lands on the target), a required line before local-fs-pre.target, a broken line is logged and the boot goes on, a device added later is attached by the udev rule
. "$REPO/tests/lib.sh"
require_cmd systemctl debugfs blkid
[ -e /run/interposetab ] || { echo "run by kernel/vm-run --systemd tests/boot/setup"; exit 77; }
tab=/run/interposetab

# mono UNIT: when UNIT became active, in microseconds since boot
mono() { systemctl show -P ActiveEnterTimestampMonotonic "$1"; }

log "the first line: ram0 interposed at boot, before its mount"
expect_eq "interpose-dev-ram0.service" active "$(systemctl is-active interpose-dev-ram0.service)"
expect_eq "ram0's target" ram1 "$(show_field /dev/ram0 '.targets[0].device')"
expect_eq "mnt-boot.mount" active "$(systemctl is-active mnt-boot.mount)"
expect_eq "boot-writer.service" active "$(systemctl is-active boot-writer.service)"
[ "$(mono interpose-dev-ram0.service)" -le "$(mono mnt-boot.mount)" ] ||
	fail "ram0 was mounted before its interposer was attached"
expect_eq "the boot unit's file, through the interposer" written-at-boot "$(cat /mnt/boot/boot-file)"
expect_eq "the unit names its line" "Interposer of /dev/ram0 ($tab:2)" \
	"$(systemctl show -P Description interpose-dev-ram0.service)"

log "the second line (required): ram2 interposed before local-fs-pre.target"
expect_eq "interpose-dev-ram2.service" active "$(systemctl is-active interpose-dev-ram2.service)"
expect_eq "ram2's target" ram3 "$(show_field /dev/ram2 '.targets[0].device')"
[ "$(mono interpose-dev-ram2.service)" -le "$(mono local-fs-pre.target)" ] ||
	fail "ram2's interposer came after local-fs-pre.target"
systemctl show -P RequiredBy interpose-dev-ram2.service | grep -qw local-fs-pre.target ||
	fail "local-fs-pre.target does not require ram2's unit"

log "the broken line is logged with its line number and skipped"
dmesg | grep -q "interpose-generator\[[0-9]*\]: $tab:4: unknown option '--bogus'; line skipped" ||
	fail "no kernel log line for the broken line"
systemctl cat interpose-dev-ram2x.service >/dev/null 2>&1 && fail "a unit for the broken line"
log "the nofail line of a missing device blocks nothing: we run, its unit waits"
state=$(systemctl is-active interpose-dev-nosuchdev.service)
[ "$state" != active ] || fail "the unit of a missing device is active"
log "interpose-dev-nosuchdev.service: $state"

log "a device added after boot is attached by the udev rule"
nullb_create hott 16 2
nullb_create hotb 16 2
for ((i = 0; i < 120; i++)); do
	[ "$(show_field /dev/hotb .state 2>/dev/null)" = attached ] && break
	nap 0.5
done
expect_eq "hotb, once udev and systemd ran" attached "$(show_field /dev/hotb .state)"
expect_eq "hotb's target" hott "$(show_field /dev/hotb '.targets[0].device')"
fill /dev/hotb "$TMP/p" 1
same /dev/hott "$TMP/p" 1 || fail "a write to hotb did not land on hott"
expect_eq "its hotplug unit" inactive "$(systemctl is-active interpose-hotplug@hotb.service)"
expect_eq "and it succeeded" success "$(systemctl show -P Result interpose-hotplug@hotb.service)"

log "apply from the running system: everything unchanged"
"$CTL" -j apply "$tab" >"$TMP/apply.json" && fail "apply exit status 0 with a broken line"
expect_eq "apply results" "2:unchanged 3:unchanged 4:failed 5:absent 6:unchanged" \
	"$(jq -r 'map("\(.line):\(.result)") | join(" ")' "$TMP/apply.json")"

log "the file is on the target, not on the original"
umount /mnt/boot || fail "umount"
for d in /dev/ram0 /dev/ram2 /dev/hotb; do "$CTL" detach $d || fail "detach $d"; done
expect_eq "ram1 (target)" written-at-boot "$(debugfs -R 'cat /boot-file' /dev/ram1 2>/dev/null)"
[ -z "$(blkid -p /dev/ram0)" ] || fail "the original ram0 has a filesystem: $(blkid -p /dev/ram0)"
log "interposetab at boot: all cases passed"
