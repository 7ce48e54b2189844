/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The direct-call trampoline of submit_bio_noacct() (x86-64): ftrace
 * patches the function's fentry into a call of this, which asks
 * blk_interposer_direct() about the bio.  If the module took the bio, the
 * trampoline returns to submit_bio_noacct()'s caller instead of into its
 * body.  A direct call saves only what the C function may clobber of the
 * arguments (%rdi), not a pt_regs as an IP-modifying ftrace handler needs.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

/*
 * On entry: (%rsp) returns into submit_bio_noacct() past its fentry,
 * 8(%rsp) returns to its caller; %rdi is the bio.
 */
SYM_FUNC_START(blk_interposer_submit_tramp)
	pushq	%rbp
	movq	%rsp, %rbp
	CALL_DEPTH_ACCOUNT
	pushq	%rdi
	/* bool blk_interposer_direct(struct bio *bio, unsigned long caller) */
	movq	16(%rbp), %rsi
	call	blk_interposer_direct
	popq	%rdi
	leave
	testb	%al, %al
	jnz	.Ltaken
	RET
.Ltaken:
	/* the bio was decided: skip submit_bio_noacct() */
	addq	$8, %rsp
	UNWIND_HINT_FUNC
	RET
SYM_FUNC_END(blk_interposer_submit_tramp)
