#!/bin/bash
# The main demo, run in the VM by `make demo`: two memory-backed null_blk
# devices; an interposer slid under the first redirects its I/O to the
# second while it is in use, and is taken away again with the first
# device's own data intact.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
PATH=$REPO/build/bin:$PATH
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
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
echo "sysfs: $(cat /sys/block/demo0/interposer)"

say "I/O to demo0 now goes to demo1"
echo "read demo0 -> $(get /dev/demo0)"
put /dev/demo0 "written through demo0 while interposed"
echo "demo1 now holds: $(get /dev/demo1)"
interposectl -p show demo0

say "interposectl detach /dev/demo0"
interposectl detach /dev/demo0
echo "demo0: $(get /dev/demo0)   <- its own data, untouched"
echo "demo1: $(get /dev/demo1)"
echo "sysfs: $(cat /sys/block/demo0/interposer)"
exec 3<&-

[ "$(get /dev/demo0)" = "data that lives on demo0" ]
[ "$(get /dev/demo1)" = "written through demo0 while interposed" ]
say "demo passed"
