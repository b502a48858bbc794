package unicorn

// SetExactFP makes the engine run x87 arithmetic (FADD, FSUB, FSUBR,
// FMUL, FDIV, FDIVR in every form) on the host's x87 unit, which gives
// the status word's C1 (rounded up) and DE (denormal operand) exactly, at
// a cost per instruction (x87.c). Off, Unicorn's softfloat computes the
// same results and flags except those two. Called by the owner goroutine.
func (e *Engine) SetExactFP(on bool) {
	if e.ctx != nil {
		e.ctx.exact_fp = 0
		if on {
			e.ctx.exact_fp = 1
		}
	}
}
