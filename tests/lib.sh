# shellcheck shell=bash
# Helpers for the VM tests (sourced).  Each test is a small script under
# tests/vm/: it prints what it checks, exits 0 on success, 1 on failure and
# 77 to skip (printing why).  Tests run as root in the guest booted by
# kernel/vm-run, with the repository at the same path as on the host.

set -u
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=$REPO/build
PATH=$BUILD/bin:$BUILD/tests:$PATH
CTL=$BUILD/bin/interposectl
PROBE=$BUILD/tests/ioctl-probe
TMP=$(mktemp -d /tmp/itest.XXXXXX)
CLEANUPS=()

log() { echo "# $*"; }

# nap SECONDS: sleep without a process (read times out on a pipe that
# this shell holds open for writing): under TCG a fork costs about a
# third of a second, longer than most waits in the helpers below
exec {NAPFD}<> <(:)
nap() { read -r -t "$1" -u "$NAPFD"; return 0; }

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# skip_case WHY: one case of the test cannot run here, the others go on;
# tests/run counts the lines of $ITEST_SKIP_FILE as skipped.
skip_case() {
	echo "# SKIP $*"
	echo "$(basename "$0" .sh): $*" >>"${ITEST_SKIP_FILE:-/dev/null}"
}

# on_module: the interposer is the blk_interposer module of a stock kernel
# (kernel/vm-run --kernel debian), not the patched kernel's own
on_module() { [ -d /sys/module/blk_interposer ]; }

# requires_patched_kernel WHY: skip the whole test on the module, saying
# why (README, "Use it on your kernel": what differs)
requires_patched_kernel() {
	on_module && skip "needs the patched kernel: $*"
	return 0
}

# patched_kernel_case WHY: false on the module, after counting one skipped
# case that says why; `if patched_kernel_case WHY; then ...; fi`
patched_kernel_case() {
	on_module || return 0
	skip_case "needs the patched kernel: $*"
	return 1
}

# patched_kernel_rest WHY: on the module, the rest of the test is one
# skipped case that says why, and the test ends here (passed so far)
patched_kernel_rest() {
	on_module || return 0
	skip_case "needs the patched kernel: $*"
	exit 0
}

# NOBODY_RAW_ERRNO, NOBODY_RAW_QUERY: what a raw command (ioctl-probe) of
# an unprivileged user gets: the kernel's capability check (EPERM; a query
# works), or on the module the open of its control device, which is
# root's (EACCES for both; interposectl says EPERM and queries sysfs)
if on_module; then
	NOBODY_RAW_ERRNO=EACCES NOBODY_RAW_QUERY=EACCES
else
	NOBODY_RAW_ERRNO=EPERM NOBODY_RAW_QUERY=OK
fi

# The errno, and strerror, of a write that a program refuses with EROFS:
# a stock kernel has no block status for it, the module's bio fails EIO
if on_module; then
	RO_ERRNO=EIO RO_ERRNO_NR=5 RO_STRERROR="Input/output error"
else
	RO_ERRNO=EROFS RO_ERRNO_NR=30 RO_STRERROR="Read-only file system"
fi

# interposed_devices [reserved]: "DEV STATE" of every device with an
# interposer (attached or failed); with "reserved", reserved devices too
interposed_devices() {
	local f s
	# builtins only: every fork costs a third of a second under TCG, and
	# this runs over every block device at the end of every test
	for f in /sys/class/block/*/interposer; do
		read -r s 2>/dev/null <"$f" || continue
		case $s in
		"" | none) continue ;;
		reserved*) [ "${1:-}" = reserved ] || continue ;;
		esac
		f=${f%/interposer}
		echo "/dev/${f##*/} $s"
	done
}

# Run cleanups in reverse order on exit, whatever happened.  A test that
# passed fails here if it left an interposer attached (a leak) or if a
# cleanup failed: cleanups must find their work undone or check first.
# Whatever a test left attached is detached, pass or fail.
on_exit() {
	local _rc=$? _passed=0 _i _dev _s
	[ $_rc = 0 ] && _passed=1
	# cleanup_fail WHAT: a FAIL of a passed test, a note of a failed one
	cleanup_fail() {
		if [ $_passed = 1 ]; then
			echo "FAIL: $*" >&2
			_rc=1
		else
			echo "# also: $*"
		fi
	}
	while read -r _dev _s; do
		cleanup_fail "$_dev left interposed at exit: $_s"
		"$CTL" detach "$_dev" </dev/null >/dev/null 2>&1
	done < <(interposed_devices)
	for ((_i = ${#CLEANUPS[@]} - 1; _i >= 0; _i--)); do
		eval "${CLEANUPS[_i]}" >"$TMP/.cleanup.out" 2>&1 ||
			cleanup_fail "cleanup '${CLEANUPS[_i]}' failed: $(tr '\n' ' ' <"$TMP/.cleanup.out")"
	done
	# a reserved dm device is removed by a cleanup; nothing may be left
	while read -r _dev _s; do
		cleanup_fail "$_dev still interposed after the cleanups: $_s"
	done < <(interposed_devices reserved)
	rm -rf "$TMP"
	exit $_rc
}
trap on_exit EXIT
defer() { CLEANUPS+=("$*"); }
# the last cleanup of all: loop_create runs in $(...), which loses defers
defer loop_cleanup

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
	log "$1: $3"
}

# expect_fail ERRNO CMD...: CMD must fail and name ERRNO on stderr.
expect_fail() {
	local want=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -ne 0 ] || fail "'$*' succeeded, expected $want"
	echo "$out" | grep -q "($want)" || fail "'$*': expected ($want) in: $out"
	log "refused as expected: $* -> $out"
}

# probe_expect ERRNO ARGS...: the raw ioctl must return ERRNO.
probe_expect() {
	local want=$1 got
	shift
	got=$("$PROBE" "$@" 2>&1 | head -1)
	[ "$got" = "$want" ] || fail "ioctl-probe $*: expected $want, got $got"
	log "ioctl-probe $*: $got"
}

# nullb_create NAME SIZE_MB [QUEUE_MODE] [MEMORY_BACKED] [ATTR=VALUE...]:
# a null_blk, blk-mq (queue_mode 2, the default and the only one 6.12
# has: it turns 0, bio-based, into 2; use dm-linear or brd for that),
# memory-backed by default, 512-byte blocks; more configfs attributes as
# ATTR=VALUE, e.g. cache_size=16 zoned=1 blocksize=4096.  Every setting
# is read back after power-on: one that did not take effect fails the
# test.
nullb_create() {
	local d=/sys/kernel/config/nullb/$1 kv got
	local set=("size=$2" "queue_mode=${3:-2}" "memory_backed=${4:-1}")
	[[ " ${*:5} " == *" blocksize="* ]] || set+=(blocksize=512)
	set+=("${@:5}")
	mkdir "$d" || fail "cannot create null_blk $1"
	defer nullb_remove "$1"
	for kv in "${set[@]}"; do
		echo "${kv#*=}" >"$d/${kv%%=*}" || fail "null_blk $1: cannot set $kv"
	done
	echo 1 >"$d/power" || fail "cannot power on null_blk $1"
	for kv in "${set[@]}"; do
		read -r got <"$d/${kv%%=*}"
		[ "$got" = "${kv#*=}" ] ||
			fail "null_blk $1: ${kv%%=*} is $got after power-on, not ${kv#*=} as set"
	done
	udev_settle "/dev/$1"
}

nullb_remove() {
	local d=/sys/kernel/config/nullb/$1
	[ -d "$d" ] || return 0
	echo 0 >"$d/power" 2>/dev/null
	rmdir "$d"
}

# No udev in the guest: devtmpfs creates the node, wait for it.
udev_settle() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ -b "$1" ] && return 0
		nap 0.1
	done
	fail "$1 did not appear"
}

# loop_create FILE SIZE_MB -> prints /dev/loopN; FILE must be in $TMP
# (loop_cleanup detaches it at exit).  Call as dev=$(...) || exit 1.
loop_create() {
	local dev
	case $1 in "$TMP"/*) ;; *) fail "loop_create: $1 is not in $TMP" ;; esac
	truncate -s "${2}M" "$1" || fail "truncate $1"
	dev=$(losetup --show -f -P "$1") || fail "losetup $1"
	echo "$dev"
}

# loop_cleanup: detach the loop devices over files in $TMP
loop_cleanup() {
	local f b
	for f in /sys/block/loop*/loop/backing_file; do
		read -r b 2>/dev/null <"$f" || continue
		case $b in
		"$TMP"/*)
			f=${f%/loop/backing_file}
			losetup -d "/dev/${f##*/}" || return 1
			;;
		esac
	done
}

# fill DEV PATTERN_FILE SIZE_MB: write a fresh random pattern, direct I/O.
fill() {
	pattern "$(($3 * 1024 * 1024))" >"$2"
	dd if="$2" of="$1" bs=1M oflag=direct conv=fsync status=none ||
		fail "write $1"
}

# same DEV FILE SIZE_MB: the device's first SIZE_MB equal FILE's (a read
# that fails or comes back short fails the test).
same() {
	region "$1" 0 "$3" "$TMP/.same"
	cmp -n "$(($3 * 1024 * 1024))" "$TMP/.same" "$2" >/dev/null
}

sysfs_of() {
	# by device number: /dev/mapper nodes are not symlinks without udev
	echo "/sys/dev/block/$(stat -L -c '%Hr:%Lr' "$1")"
}

# dev_stat DEV: "reads writes" completed I/Os from the device's stat file
dev_stat() {
	awk '{print $1, $5}' "$(sysfs_of "$1")/stat"
}

# show_field DEV JQ_FILTER
show_field() {
	"$CTL" -j show "$1" | jq -r "$2"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c not installed"
	done
}

# fio_verify_start DEV [extra fio args]: mixed random writes with
# verification (crc32c, verify_backlog) at QD32 in the background until
# fio_verify_stop.  Data must read back as written at every moment.
fio_verify_start() {
	local dev=$1
	shift
	fio --name=verify --filename="$dev" --rw=randwrite --bs=4k \
		--ioengine=libaio --iodepth=32 --direct=1 --size=32M \
		--verify=crc32c --verify_backlog=256 --verify_fatal=1 \
		--verify_state_save=0 \
		--runtime=3600 --time_based --output-format=json "$@" \
		>"$TMP/fio.out" 2>"$TMP/fio.err" &
	FIO_PID=$!
	defer stop_bg $FIO_PID INT
	sleep 1
	kill -0 $FIO_PID 2>/dev/null || { cat "$TMP/fio.err"; fail "fio did not start"; }
}

# fs_fio_start DIR [FILESIZE [IODEPTH]]: 4 files on DIR (default 8M each)
# written and verified (default QD32) until fio_verify_stop
fs_fio_start() {
	fio --name=fsverify --directory="$1" --nrfiles=4 --filesize="${2:-8M}" \
		--rw=randwrite --bs=4k --ioengine=libaio --iodepth="${3:-32}" --direct=1 \
		--verify=crc32c --verify_backlog=256 --verify_fatal=1 \
		--verify_state_save=0 --runtime=3600 --time_based \
		--output-format=json >"$TMP/fio.out" 2>"$TMP/fio.err" &
	FIO_PID=$!
	defer stop_bg $FIO_PID INT
	nap 2
	kill -0 $FIO_PID 2>/dev/null || { cat "$TMP/fio.err"; fail "fio did not start"; }
}

# fio_verify_stop: stop fio (SIGINT) and check it saw no error at all.
fio_verify_stop() {
	local err w r
	kill -0 "$FIO_PID" 2>/dev/null || { cat "$TMP/fio.err"; fail "fio ended early"; }
	kill -INT "$FIO_PID"
	wait "$FIO_PID"
	sed -n '/^{/,$p' "$TMP/fio.out" >"$TMP/fio.json"
	err=$(jq '.jobs[0].error' "$TMP/fio.json") || fail "no fio JSON output: $(cat "$TMP/fio.err")"
	w=$(jq '.jobs[0].write.total_ios' "$TMP/fio.json")
	r=$(jq '.jobs[0].read.total_ios' "$TMP/fio.json")
	log "fio: $w writes, $r verify reads, error $err"
	[ "$err" = 0 ] || { cat "$TMP/fio.err"; fail "fio reported error $err"; }
	grep -qi "verify" "$TMP/fio.err" && grep -i verify "$TMP/fio.err" && fail "fio verify failure"
	[ "$w" -gt 0 ] && [ "$r" -gt 0 ] || { cat "$TMP/fio.err"; fail "fio did no verified I/O"; }
	FIO_WRITES=$w
}

# load_start DEV [RW]: random 4k I/O (RW, default randrw) at QD32 on DEV in
# the background until load_stop; errors are expected and ignored (devices
# go away under it).  The fio pid is $LOAD.
load_start() {
	fio --name=load --filename="$1" --rw="${2:-randrw}" --bs=4k \
		--ioengine=libaio --iodepth=32 --direct=1 --size=32M \
		--runtime=3600 --time_based --continue_on_error=all \
		>/dev/null 2>&1 &
	LOAD=$!
	defer stop_bg $LOAD
	sleep 1
}
load_stop() {
	stop_bg "$LOAD"
}

# stop_bg PID [SIGNAL]: stop a background job of the test (SIGTERM by
# default) and reap it, unless it is gone already
stop_bg() {
	kill -0 "$1" 2>/dev/null || return 0
	kill -"${2:-TERM}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# fio_count DEV RW N: exactly N 4k direct I/Os of kind RW, prints the
# number fio issued.
fio_count() {
	fio --name=count --filename="$1" --rw="$2" --bs=4k --ioengine=psync \
		--direct=1 --size=64M --number_ios="$3" --randrepeat=0 \
		--output-format=json 2>"$TMP/fio-count.err" >"$TMP/fio-count.json" ||
		{ cat "$TMP/fio-count.err"; fail "fio $2 on $1"; }
	jq '.jobs[0].write.total_ios + .jobs[0].read.total_ios' "$TMP/fio-count.json"
}

dm_create() {
	dmsetup create "$1" --table "$2" || fail "dmsetup create $1"
	dmsetup mknodes "$1" 2>/dev/null
	udev_settle "/dev/mapper/$1"
	defer dm_remove "$1"
}

# dm_remove NAME: remove a dm device, if the test did not already
dm_remove() {
	dmsetup info "$1" >/dev/null 2>&1 || return 0
	dmsetup remove --retry "$1"
}

# umount_if DIR: unmount DIR (lazily) if something is mounted there
umount_if() {
	! mountpoint -q "$1" || umount -l "$1"
}

# wait_for DESC CMD...: poll CMD for up to 10 s.
wait_for() {
	local desc=$1 i
	shift
	for ((i = 0; i < 100; i++)); do
		"$@" >/dev/null 2>&1 && { log "$desc"; return 0; }
		nap 0.1
	done
	fail "timed out waiting for: $desc"
}

# can_claim DEV: DEV can be opened exclusively (no holder left on it).
can_claim() {
	python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_RDWR | os.O_EXCL))' "$1" 2>/dev/null
}

not_interposed() {
	[ "$(cat "$(sysfs_of "$1")/interposer")" = none ]
}

# detach_if DEV: detach DEV's interposer, if DEV is there and has one
# (a cleanup)
detach_if() {
	[ -b "$1" ] && grep -q '^\(attached\|failed\)' "$(sysfs_of "$1")/interposer" || return 0
	"$CTL" detach "$1"
}

# --- BPF programs -------------------------------------------------------
BPFOBJ=$BUILD/tests/bpf
BPFTOOL=$BUILD/bin/bpftool

# prog_var DEV NAME: a global variable of the program attached to DEV
prog_var() {
	"$CTL" var "$1" "$2" | awk '{print $NF}'
}

# counter DEV NAME: one of the interposer's counters
counter() {
	show_field "$1" ".counters.$2"
}

# pwrite_errno DEV OFFSET: write 4 KiB with O_DIRECT at OFFSET, print the
# errno name ("OK" on success)
pwrite_errno() { dio w "$1" "$2"; }

# pread_errno DEV OFFSET
pread_errno() { dio r "$1" "$2"; }

# region DEV OFFSET_MB SIZE_MB FILE: copy a region of a device into FILE,
# direct I/O; a read that fails or comes back short fails the test.
region() {
	dev_read "$1" $(($2 << 20)) $(($3 << 20)) "$4" 1M
}

# dev_read DEV OFFSET LEN FILE [BS]: LEN bytes of DEV at OFFSET into FILE,
# direct I/O in BS (default 64K) reads; fails the test if the read fails
# or comes back short.  Never read a device in <(...): dd's status is lost.
dev_read() {
	local got
	dd if="$1" of="$4" iflag=direct,skip_bytes,count_bytes bs="${5:-64K}" \
		skip="$2" count="$3" status=none 2>"$TMP/.dd.err" ||
		fail "read of $1 [$2, +$3] failed: $(cat "$TMP/.dd.err")"
	got=$(stat -c %s "$4")
	[ "$got" = "$3" ] || fail "read of $1 [$2, +$3] came back short: $got bytes"
}

# file_read FILE OFFSET LEN OUT: LEN bytes of FILE (a file, /dev/zero or
# a pipe) at OFFSET into OUT; fails the test if the read fails
file_read() {
	dd if="$1" of="$4" iflag=skip_bytes,count_bytes,fullblock bs=64K \
		skip="$2" count="$3" status=none 2>"$TMP/.dd.err" ||
		fail "read of $1 [$2, +$3] failed: $(cat "$TMP/.dd.err")"
}

# --- helpers for the prog-* tests (the ready programs of bpf/) -----------
PROGOBJ=$BUILD/bpf

# nullb_create_cached NAME SIZE_MB: a memory-backed blk-mq null_blk with a
# volatile write cache, FUA and discard, so that flushes, FUA writes and
# discards reach the interposer instead of being dropped on submission.
nullb_create_cached() {
	nullb_create "$1" "$2" 2 1 cache_size=16 discard=1
}

# expect_region DEV OFF_MB LEN_MB FILE FILE_OFF_MB: that region of DEV
# holds that region of FILE (FILE may be /dev/zero).
expect_region() {
	region "$1" "$2" "$3" "$TMP/.dev"
	file_read "$4" $(($5 << 20)) $(($3 << 20)) "$TMP/.file"
	cmp "$TMP/.dev" "$TMP/.file" >/dev/null ||
		fail "$1 [$2 MiB, +$3 MiB] differs from $(basename "$4") at $5 MiB"
}

# map_path DEV MAP: where interposectl pinned map MAP of DEV's program
map_path() {
	echo "/sys/fs/bpf/interpose/$(basename "$1")/maps/$2"
}

# le_bytes VALUE NBYTES: VALUE as little-endian bytes, for bpftool map
# keys and values
le_bytes() {
	python3 -c 'import sys; print(*int(sys.argv[1]).to_bytes(int(sys.argv[2]), "little"))' "$1" "$2"
}

# map_entries DEV MAP: the number of entries of a pinned map
map_entries() {
	"$BPFTOOL" -j map dump pinned "$(map_path "$1" "$2")" | jq length
}

# dio_errno r|w|wsync|fsync DEV OFFSET LEN [BYTE]: one O_DIRECT read or
# write (wsync: O_DSYNC, a FUA write) of LEN bytes at OFFSET, or an fsync
# of the device; prints the errno name, "OK" on success.  Writes write
# BYTE (a number, default 120 'x').  tests/tools/dio.c.
dio_errno() { dio "$@"; }

# expect_range DEV OFFSET LEN FILE FILE_OFFSET: LEN bytes of DEV at
# OFFSET equal those of FILE at FILE_OFFSET (FILE may be /dev/zero).
expect_range() {
	dev_read "$1" "$2" "$3" "$TMP/.dev"
	file_read "$4" "$5" "$3" "$TMP/.file"
	cmp "$TMP/.dev" "$TMP/.file" >/dev/null ||
		fail "$1 [$2, +$3] differs from $(basename "$4") at $5"
}

# --- the kernel log ------------------------------------------------------
# No test clears the kernel log (tests/run follows it for reports); a test
# that looks for its own kernel lines marks where it starts looking.

# kmsg_mark: write a unique marker line into the kernel log, print its id
kmsg_mark() {
	local id="mark-$$-$RANDOM$RANDOM"
	echo "itest: $id" >/dev/kmsg
	echo "$id"
}

# kmsg_since ID: the kernel log after the marker ID
kmsg_since() {
	dmesg | sed -n "/itest: $1\$/,\$p" | tail -n +2
}
