package tests

// privGuests check the instructions a user process may not run: each
// faults at itself with Linux's signal and si_code (emu/unicorn/decode.c).
var privGuests = []Guest{
	{Name: "cpu_priv", Want: Exited(0)},
	// STMXCSR's sticky flags, MXCSR.FZ for SSE only, DAZ for MIN/MAX,
	// and the SIGFPE of an unmasked x87 exception at FWAIT.
	{Name: "cpu_fpflags", Want: Exited(0)},
}

func init() {
	guests = append(guests, privGuests...)
	// The same faults in a compat task: the x86-64 run is the oracle
	// (qemu-i386 runs port I/O and INT n).
	i386Fallbacks["cpu_priv"] = I386Fallback{From: FromAMD64}
	// The SSE and x87 instructions give the same lines in an i386
	// process (qemu-i386 sets no MXCSR flags and raises no #MF).
	i386Fallbacks["cpu_fpflags"] = I386Fallback{From: FromAMD64}
}
