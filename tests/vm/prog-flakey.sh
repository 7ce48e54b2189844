#!/bin/bash
# desc: bpf/flakey: up/down intervals timed against its attach time, failing only the chosen ops and only while down; dropped writes leave the data unchanged; probability; op-flag filter; counters
. "$REPO/tests/lib.sh"
OBJ=$PROGOBJ/flakey.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
nullb_create_cached ipa 64
fill /dev/ipa "$TMP/A" 16

# flakey.py DEV START_NS UP DOWN SECONDS OPS: 4 KiB O_DIRECT I/O in a loop
# (OPS r, w or rw), each classified by the interval it was issued in: the
# monotonic clock before and after the syscall against the program's
# start_ns (the same clock); I/O straddling an up/down edge is "edge".
# Each write goes to a new 4 KiB block of the first 16 MiB, with a unique
# pattern.  Prints JSON: counts[state][op][result], writes [[off, state, ok]].
cat >"$TMP/flakey.py" <<'PY'
import errno, json, mmap, os, sys, time
dev, start, up, down, secs, ops = sys.argv[1], int(sys.argv[2]), \
    int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
NS = 10**9
cycle = (up + down) * NS
def state(t):
    return "down" if down and (t - start) % cycle >= up * NS else "up"
fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
counts, writes = {}, []
end = time.monotonic() + secs
i = 0
while time.monotonic() < end and len(writes) < 4096:
    for op in ops:
        off = (len(writes) if op == "w" else i % 4096) * 4096
        if op == "w":
            buf[:] = (b"%08d" % len(writes)) * 512
        t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        try:
            if op == "r":
                os.preadv(fd, [buf], off)
            else:
                os.pwritev(fd, [buf], off)
            res = "OK"
        except OSError as e:
            res = errno.errorcode[e.errno]
        t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        s = state(t0) if state(t0) == state(t1) else "edge"
        c = counts.setdefault(s, {}).setdefault(op, {})
        c[res] = c.get(res, 0) + 1
        if op == "w":
            writes.append([off, s, res == "OK"])
    i += 1
    time.sleep(0.01)
print(json.dumps({"counts": counts, "writes": writes}))
PY
# verify.py DEV ORIG RESULT: for each write, is its pattern on DEV ("new")
# or the original's bytes ("old")?  Prints counts per state: new/old/bad.
cat >"$TMP/verify.py" <<'PY'
import json, os, sys
dev, orig, res = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
fd = os.open(dev, os.O_RDONLY)
o = open(orig, "rb")
out = {}
for n, (off, s, ok) in enumerate(res["writes"]):
    got = os.pread(fd, 4096, off)
    o.seek(off)
    kind = "new" if got == (b"%08d" % n) * 512 else \
           "old" if got == o.read(4096) else "bad"
    key = s + "/" + ("ok" if ok else "err") + "/" + kind
    out[key] = out.get(key, 0) + 1
print(json.dumps(out, sort_keys=True))
PY

# run UP DOWN SECONDS OPS: the I/O loop against the attached program
run() {
	local start
	start=$(prog_var /dev/ipa start_ns)
	[ "$start" -gt 0 ] || fail "start_ns not set by the attach callback"
	python3 "$TMP/flakey.py" /dev/ipa "$start" "$@" >"$TMP/res.json" || fail "flakey.py"
	log "results: $(jq -c .counts "$TMP/res.json")"
}
# n STATE OP RESULT: how many I/Os of the last run
n() { jq "(.counts.$1.$2.$3 // 0)" "$TMP/res.json"; }
# total OP RESULT: over all states
total() { jq "[.counts[].$1.$2 // 0] | add" "$TMP/res.json"; }
# enough STATE OP: the run exercised STATE with OP at least 10 times
enough() { [ "$(jq "[.counts.$1.$2[]?] | add // 0" "$TMP/res.json")" -ge 10 ] || fail "fewer than 10 $2 while $1"; }
attach() { "$CTL" attach /dev/ipa --prog "$OBJ" "$@" || fail "attach $*"; }
detach() { "$CTL" detach /dev/ipa || fail "detach"; }
verify() {
	python3 "$TMP/verify.py" /dev/ipa "$TMP/A" "$TMP/res.json" >"$TMP/ver.json" || fail "verify.py"
	log "data after detach: $(cat "$TMP/ver.json")"
	[ "$(jq '[to_entries[] | select(.key | endswith("/bad")) | .value] | add // 0' "$TMP/ver.json")" = 0 ] ||
		fail "blocks with neither the written nor the original data"
}
v() { jq "(.\"$1\" // 0)" "$TMP/ver.json"; }

log "up 2 s / down 2 s, fail reads only"
attach --set up_interval=2 --set down_interval=2 --set fail_writes=0
run 2 2 8 rw
enough up r; enough down r; enough down w
expect_eq "reads failed while up" 0 "$(n up r EIO)"
expect_eq "reads passed while down" 0 "$(n down r OK)"
expect_eq "writes failed" 0 "$(total w EIO)"
expect_eq "failed_reads == EIO reads" "$(total r EIO)" "$(prog_var /dev/ipa failed_reads)"
expect_eq "failed_writes" 0 "$(prog_var /dev/ipa failed_writes)"
expect_eq "kernel failed counter" "$(total r EIO)" "$(counter /dev/ipa failed)"
detach
verify
expect_eq "every write landed" "$(jq '.writes | length' "$TMP/res.json")" \
	"$(jq '[to_entries[] | select(.key | endswith("/ok/new")) | .value] | add' "$TMP/ver.json")"
fill /dev/ipa "$TMP/A" 16

log "up 2 s / down 2 s, fail writes only"
attach --set up_interval=2 --set down_interval=2 --set fail_reads=0
run 2 2 8 rw
enough up w; enough down w; enough down r
expect_eq "writes failed while up" 0 "$(n up w EIO)"
expect_eq "writes passed while down" 0 "$(n down w OK)"
expect_eq "reads failed" 0 "$(total r EIO)"
expect_eq "failed_writes == EIO writes" "$(total w EIO)" "$(prog_var /dev/ipa failed_writes)"
expect_eq "failed_reads" 0 "$(prog_var /dev/ipa failed_reads)"
detach
verify
expect_eq "failed writes left the old data" "$(total w EIO)" \
	"$(jq '[to_entries[] | select(.key | endswith("/err/old")) | .value] | add // 0' "$TMP/ver.json")"
expect_eq "writes while up landed" "$(n up w OK)" "$(v up/ok/new)"
fill /dev/ipa "$TMP/A" 16

log "up 2 s / down 2 s, drop writes (reads pass)"
attach --set up_interval=2 --set down_interval=2 --set fail_reads=0 --set drop_writes=1
run 2 2 8 rw
enough up w; enough down w
expect_eq "I/O errors" 0 "$(($(total r EIO) + $(total w EIO)))"
d=$(prog_var /dev/ipa dropped_writes)
c=$(counter /dev/ipa completed)
detach
verify
expect_eq "writes while up landed" "$(n up w OK)" "$(v up/ok/new)"
expect_eq "writes while down were dropped" "$(n down w OK)" "$(v down/ok/old)"
expect_eq "dropped_writes == writes not on the device" "$(($(v down/ok/old) + $(v edge/ok/old)))" "$d"
expect_eq "kernel completed counter" "$d" "$c"
fill /dev/ipa "$TMP/A" 16

log "always down (up 0), defaults: reads and writes fail"
attach --set down_interval=3600
expect_eq "read" EIO "$(dio_errno r /dev/ipa 0)"
expect_eq "write" EIO "$(dio_errno w /dev/ipa 0)"
expect_eq "down_bios" 2 "$(prog_var /dev/ipa down_bios)"
detach
log "down_interval 0: never down"
attach --set up_interval=0
expect_eq "read" OK "$(dio_errno r /dev/ipa 0 | cut -d' ' -f1)"
expect_eq "down_bios" 0 "$(prog_var /dev/ipa down_bios)"
detach

log "probability 50%: about half the reads fail while down"
attach --set down_interval=3600 --set probability=50 --set fail_writes=0
run 0 3600 4 r
e=$(total r EIO)
o=$(total r OK)
log "$e of $((e + o)) reads failed"
[ $((e + o)) -ge 100 ] || fail "too few reads: $((e + o))"
[ $((e * 4)) -ge $((e + o)) ] && [ $((e * 4)) -le $((3 * (e + o))) ] || fail "$e of $((e + o)) is far from 50%"
expect_eq "failed_reads" "$e" "$(prog_var /dev/ipa failed_reads)"
expect_eq "down_bios" "$((e + o))" "$(prog_var /dev/ipa down_bios)"
detach

log "op-flag filter, always down, failing writes"
attach --set down_interval=3600 --set fail_reads=0 --set req_flags=0x8
expect_eq "REQ_FUA: plain write" OK "$(dio_errno w /dev/ipa 0)"
expect_eq "REQ_FUA: O_DSYNC (FUA) write" EIO "$(dio_errno wsync /dev/ipa 0)"
expect_eq "REQ_FUA: fsync (empty preflush)" OK "$(dio_errno fsync /dev/ipa)"
expect_eq "failed_writes" 1 "$(prog_var /dev/ipa failed_writes)"
detach
attach --set down_interval=3600 --set fail_reads=0 --set req_flags=0x10
expect_eq "REQ_PREFLUSH: plain write" OK "$(dio_errno w /dev/ipa 0)"
expect_eq "REQ_PREFLUSH: fsync" EIO "$(dio_errno fsync /dev/ipa)"
expect_eq "failed_writes (the flush)" 1 "$(prog_var /dev/ipa failed_writes)"
detach
attach --set down_interval=3600 --set fail_reads=0 --set req_flags=0x9 --set req_flags_all=1
expect_eq "REQ_SYNC|REQ_FUA all: O_DIRECT write (REQ_SYNC)" OK "$(dio_errno w /dev/ipa 0)"
expect_eq "REQ_SYNC|REQ_FUA all: FUA write" EIO "$(dio_errno wsync /dev/ipa 0)"
detach
attach --set down_interval=3600 --set fail_reads=0 --set req_flags=0x9
expect_eq "REQ_SYNC|REQ_FUA any: O_DIRECT write" EIO "$(dio_errno w /dev/ipa 0)"
detach
