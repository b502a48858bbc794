package tests

// sigGuests are the signal and timer guests: signalfd, rt_sigtimedwait,
// sigqueue, POSIX timers, pidfd, prctl, sleeps (testdata/src/sig_*.c).
var sigGuests = []Guest{
	{Name: "sig_signalfd", Want: Exited(0)},
	{Name: "sig_timer", Want: Exited(0), Threads: true},
	{Name: "sig_pidfd", Want: Exited(0)},
	{Name: "sig_prctl", Want: Exited(0), Threads: true},
}

// sigFallbacks are the i386 oracles of the guests that qemu-i386 cannot
// give.
var sigFallbacks = map[string]I386Fallback{
	// qemu-user answers PR_GET_TID_ADDRESS with EINVAL and shows its own
	// threads' state; the lines do not depend on the ABI (Linux writes
	// the 64-bit pointer for i386 tasks too, and the guest reads it so).
	"sig_prctl": {From: FromAMD64},
	// Timer and sleep timing under qemu-user on a loaded host drifts
	// (getitimer right after a periodic SIGALRM); the lines do not
	// depend on the ABI, so the oracle is the x86-64 build.
	"sig_timer": {From: FromAMD64},
	"sig_signalfd": {From: FromQEMU, Edits: Edits{{
		From: "errors: size 3",
		To:   "errors: size -1/EINVAL",
		Why:  "qemu-user accepts a 4-byte mask; Linux's compat signalfd4 wants sizeof(compat_sigset_t), 8 (as the x86-64 build shows natively)",
	}}},
}

func init() {
	guests = append(guests, sigGuests...)
	for name, f := range sigFallbacks {
		i386Fallbacks[name] = f
	}
}
