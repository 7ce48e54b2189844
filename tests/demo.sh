#!/bin/bash
# The main demo, run in the VM by `make demo`, on memory-backed null_blk
# devices:
#  1. an interposer slid under a device in use redirects its I/O to a
#     second one, and is taken away again with the first device's own data
#     intact;
#  2. a BPF program decides per bio: readonly refuses writes with EROFS,
#     trace shows each bio live;
#  3. device-mapper (dm-linear, then dm-flakey with dmsetup) slid under a
#     mounted ext4 while it is written, and taken away again;
#  4. a point-in-time snapshot of that mounted ext4 (stock dm-snapshot):
#     it keeps the old file while the mounted one changes.
# Every act checks its outcome; the demo fails if one does not hold.
# On Debian's stock kernel with the blk_interposer module (make demo
# KERNEL=debian) acts 1 and 2 run; 3 and 4 need the patched kernel.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
PATH=$REPO/build/bin:$PATH
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# the module of a stock kernel keeps no sysfs line: its backend instead
module=0
[ -d /sys/module/blk_interposer ] && module=1
state() {
	if [ $module = 1 ]; then
		echo "backend: $(interposectl -j show demo0 | jq -r '.backend + ", " + .state')"
	else
		echo "sysfs: $(cat /sys/block/demo0/interposer)"
	fi
}
mk() {
	mkdir /sys/kernel/config/nullb/"$1"
	echo 64 >/sys/kernel/config/nullb/"$1"/size
	echo 1 >/sys/kernel/config/nullb/"$1"/memory_backed
	echo 1 >/sys/kernel/config/nullb/"$1"/power
	while [ ! -b /dev/"$1" ]; do sleep 0.1; done
}
put() { printf '%-64s' "$2" | dd of="$1" bs=512 count=1 conv=sync,fsync oflag=direct status=none; }
get() { dd if="$1" bs=512 count=1 iflag=direct status=none | tr -d '\0' | sed 's/ *$//'; }

uname -r
say "two null_blk devices: demo0 (original) and demo1 (target)"
mk demo0
mk demo1
put /dev/demo0 "data that lives on demo0"
put /dev/demo1 "data that lives on demo1"
echo "demo0: $(get /dev/demo0)"
echo "demo1: $(get /dev/demo1)"

say "a reader keeps demo0 open the whole time"
exec 3</dev/demo0

say "interposectl attach /dev/demo0 --to /dev/demo1"
interposectl attach /dev/demo0 --to /dev/demo1
interposectl show
state

say "I/O to demo0 now goes to demo1"
echo "read demo0 -> $(get /dev/demo0)"
put /dev/demo0 "written through demo0 while interposed"
echo "demo1 now holds: $(get /dev/demo1)"
interposectl -p show demo0

say "interposectl detach /dev/demo0"
interposectl detach /dev/demo0
echo "demo0: $(get /dev/demo0)   <- its own data, untouched"
echo "demo1: $(get /dev/demo1)"
state
exec 3<&-

[ "$(get /dev/demo0)" = "data that lives on demo0" ]
[ "$(get /dev/demo1)" = "written through demo0 while interposed" ]

B=$REPO/build/bpf
if [ -f "$B/readonly.bpf.o" ] && [ -f "$B/trace.bpf.o" ]; then
	say "a BPF program decides per bio: interposectl attach /dev/demo0 --prog readonly.bpf.o"
	interposectl attach /dev/demo0 --prog "$B/readonly.bpf.o"
	if put /dev/demo0 "this write must be refused" 2>/tmp/demo-err; then
		echo "the write went through" >&2
		exit 1
	fi
	echo "write to demo0 -> $(sed -n 's/.*: //p' /tmp/demo-err | tail -1)"
	echo "read demo0 -> $(get /dev/demo0)"
	interposectl stats demo0

	say "swap it atomically for trace.bpf.o and watch the bios"
	interposectl replace /dev/demo0 --prog "$B/trace.bpf.o"
	(sleep 1; get /dev/demo0 >/dev/null; put /dev/demo0 "written while traced") &
	interposectl trace /dev/demo0 --count 2
	wait
	interposectl detach /dev/demo0
	[ "$(get /dev/demo0)" = "written while traced" ]
fi

if [ $module = 1 ]; then
	say "device-mapper under a mounted filesystem and snapshots need the patched kernel"
	interposectl attach /dev/demo0 --dm-table "0 8 linear /dev/demo1 0" || true
elif command -v mkfs.ext4 >/dev/null && command -v dmsetup >/dev/null; then
	say "device-mapper under a mounted filesystem"
	mk demo2
	mkfs.ext4 -q /dev/demo2
	mkdir -p /tmp/demo-mnt
	mount /dev/demo2 /tmp/demo-mnt
	S=$(blockdev --getsz /dev/demo2)
	echo "ext4 on demo2 is mounted; slide dm-linear under it"
	echo "+ interposectl attach /dev/demo2 --dm-table \"0 $S linear /dev/demo2 0\""
	interposectl attach /dev/demo2 --dm-table "0 $S linear /dev/demo2 0"
	interposectl show demo2
	echo "file written through dm" >/tmp/demo-mnt/file
	sync
	echo "+ dmsetup reload interpose-demo2 (dm-flakey, up 60 s / down 0 s); dmsetup resume"
	dmsetup reload interpose-demo2 --table "0 $S flakey /dev/demo2 0 60 0"
	dmsetup resume interpose-demo2
	dmsetup table interpose-demo2
	echo "another file, through flakey" >/tmp/demo-mnt/file2
	sync
	dm=$(basename "$(readlink -f /sys/dev/block/"$(dmsetup info -c --noheadings -o major,minor interpose-demo2 | tr -d ' ')")")
	echo "$dm: $(cat /sys/block/"$dm"/interposer); bios it completed: $(awk '{print $1 + $5}' /sys/block/"$dm"/stat)"
	interposectl detach /dev/demo2
	echo "detached; interpose-demo2 removed: $(dmsetup info interpose-demo2 >/dev/null 2>&1 && echo no || echo yes)"
	cat /tmp/demo-mnt/file /tmp/demo-mnt/file2

	say "a snapshot of the mounted ext4 (stock dm-snapshot)"
	mk demo3
	echo "+ interposectl snapshot /dev/demo2 --cow /dev/demo3"
	interposectl snapshot /dev/demo2 --cow /dev/demo3
	dmsetup mknodes demo2-snap	# udev makes the node on a real system
	echo "changed after the snapshot" >/tmp/demo-mnt/file
	sync
	interposectl show demo2
	mkdir -p /tmp/demo-snap
	mount -o ro /dev/mapper/demo2-snap /tmp/demo-snap
	echo "mounted: $(cat /tmp/demo-mnt/file); snapshot: $(cat /tmp/demo-snap/file)"
	[ "$(cat /tmp/demo-snap/file)" = "file written through dm" ]
	umount /tmp/demo-snap
	fsck.ext4 -n -f /dev/mapper/demo2-snap >/dev/null && echo "fsck -n of the snapshot: clean"
	interposectl detach /dev/demo2
	echo "detached: demo2-snap removed: $(dmsetup info demo2-snap >/dev/null 2>&1 && echo no || echo yes)"
	umount /tmp/demo-mnt
	fsck.ext4 -n -f /dev/demo2 >/dev/null && echo "fsck -n: clean"
fi
say "demo passed"
