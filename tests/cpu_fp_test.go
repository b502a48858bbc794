package tests

// The floating-point guests: x87 instructions that cmaemu executes on the
// host's own x87 unit, the status word they and ordinary arithmetic
// leave, and the alignment legacy SSE requires.
var cpuFPGuests = []Guest{
	{Name: "cpu_fp_x87", Want: Exited(0)},
	{Name: "cpu_sse_align", Want: Exited(0)},
}

func init() {
	guests = append(guests, cpuFPGuests...)
	// qemu-i386 computes the x87 transcendentals itself and is not an
	// oracle for them; the x87 instructions, their status word and the
	// long double functions of the C library give the same lines in an
	// x86-64 and an i386 process (the guest prints no pointer-sized
	// value), so the oracle is the x86-64 build.
	i386Fallbacks["cpu_fp_x87"] = I386Fallback{From: FromAMD64}
	// qemu-i386 runs misaligned legacy SSE operands; the lines (bytes
	// and siginfo fields) do not depend on the ABI.
	i386Fallbacks["cpu_sse_align"] = I386Fallback{From: FromAMD64}
}
