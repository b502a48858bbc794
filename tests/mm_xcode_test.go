package tests

// xcodeGuests check code one process rewrites in memory another process
// runs (MAP_SHARED: anonymous after fork, memfd mapped twice, pwrite into
// the memfd); DESIGN.md, "Code another thread writes".
var xcodeGuests = []Guest{
	{Name: "mm_xcode", Want: Exited(0)},
}

func init() {
	guests = append(guests, xcodeGuests...)
	// qemu-i386 keeps running the code it translated before the other
	// process rewrote it (every round prints 100); the i386 build runs
	// the same instructions (mov eax, imm32; ret) and prints what the
	// x86-64 build prints natively.
	i386Fallbacks["mm_xcode"] = I386Fallback{From: FromAMD64}
}
