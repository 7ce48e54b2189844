#!/bin/bash
# desc: the completion reserve: with every allocation from the interposer's completion cache failing (failslab), bios whose completion is taken over (a latency policy, a plain redirect watched by an observer) draw on the interposer's mempool; fio --verify at QD32 (libaio, io_uring) stays clean, every completion reaches the program, and each completion gives its state back (thousands of bios through a reserve of two)
. "$REPO/tests/lib.sh"
on_module && skip "needs a kernel with CONFIG_FAILSLAB (Debian's has no fault injection)"
OBJ=$PROGOBJ/latency.bpf.o
[ -f "$OBJ" ] || fail "$OBJ not built (make bpf)"
F=/sys/kernel/debug/failslab
S=/sys/kernel/slab/blk_interposer_io
[ -d $F ] || fail "no $F: the test kernel is built with CONFIG_FAILSLAB (kernel/configs/test.config)"
[ -e $S/failslab ] || fail "no $S/failslab"
# a cache merged with others cannot fail on its own
[ -L $S ] && fail "$S is merged into $(readlink $S)"

nullb_create ipa 64 2
nullb_create ipb 64 2

# failslab_on: every allocation from the completion cache fails, those
# that may wait too; TIMES counts down with each failure
TIMES=100000000
failslab_on() {
	echo Y >$F/cache-filter
	echo N >$F/ignore-gfp-wait
	echo 0 >$F/verbose
	echo 0 >$F/space
	echo 1 >$F/interval
	echo $TIMES >$F/times
	echo 100 >$F/probability
	echo 1 >$S/failslab || fail "cannot set $S/failslab"
}
failslab_off() {
	echo 0 >$F/probability
	echo 0 >$S/failslab
}
defer failslab_off
# injected: the failures since failslab_on
injected() { echo $((TIMES - $(cat $F/times))); }

# verified_run WHAT [fio args]: fio --verify on ipa under failslab;
# DONE: the bios the interposer passed or redirected meanwhile (a verdict:
# a REQ_NOWAIT bio the reserve had nothing for is then ended with EAGAIN
# and retried); IOS: the I/Os fio completed
verified_run() {
	local what=$1 c0 n i
	shift
	c0=$(($(counter /dev/ipa passed) + $(counter /dev/ipa redirected)))
	failslab_on
	fio_verify_start /dev/ipa "$@"
	# stuck at two bios in flight if a completion did not give its
	# state back to the reserve
	done_now() { echo $(($(counter /dev/ipa passed) + $(counter /dev/ipa redirected) - c0)); }
	for ((i = 0; i < 100; i++)); do
		[ "$(done_now)" -ge 1000 ] && break
		nap 0.1
	done
	if [ "$(done_now)" -lt 1000 ]; then
		# let the bios waiting for the reserve go before the cleanups
		# detach (which waits for them)
		failslab_off
		fail "$what: I/O stuck after $(done_now) bios: the reserve ran dry"
	fi
	fio_verify_stop
	n=$(injected)
	failslab_off
	log "$what: $n allocations failed"
	[ "$n" -gt 0 ] || fail "$what: no allocation from the completion cache failed"
	DONE=$(($(counter /dev/ipa passed) + $(counter /dev/ipa redirected) - c0))
	IOS=$(jq '.jobs[0].write.total_ios + .jobs[0].read.total_ios' "$TMP/fio.json")
	log "$what: $DONE bios decided, $IOS I/Os completed"
	expect_eq "$what: failed" 0 "$(counter /dev/ipa failed)"
	expect_eq "$what: invalid" 0 "$(counter /dev/ipa invalid)"
}

# hist_total: the bios the latency program saw complete on ipa
hist_total() {
	"$CTL" -j hist "$1" | jq '[.hist[].count] | add // 0'
}

log "a policy with end_bio: the latency program"
"$CTL" attach /dev/ipa --prog "$OBJ" || fail "attach latency"
verified_run "libaio"
expect_eq "libaio: fio's I/Os, each decided once" "$IOS" "$DONE"
expect_eq "libaio: every completion reached the program" "$IOS" "$(hist_total /dev/ipa)"
h0=$(hist_total /dev/ipa)
verified_run "io_uring" --ioengine=io_uring
expect_eq "io_uring: every completion reached the program" "$IOS" "$(($(hist_total /dev/ipa) - h0))"
[ "$DONE" -ge "$IOS" ] || fail "io_uring: $DONE bios decided for $IOS I/Os"
"$CTL" detach /dev/ipa || fail "detach"

log "a plain redirect watched by an observer with end_bio"
"$CTL" attach /dev/ipa --to /dev/ipb || fail "attach --to"
"$CTL" attach /dev/ipa --observer --prog "$OBJ" || fail "attach --observer"
verified_run "redirect"
expect_eq "redirect: fio's I/Os, each decided once" "$IOS" "$DONE"
expect_eq "redirect: every completion shown to the observer" "$IOS" \
	"$("$CTL" -j show /dev/ipa | jq '.observers[0].ended')"
"$CTL" detach /dev/ipa || fail "detach"
not_interposed /dev/ipa || fail "still interposed"
