// Package sleep lets a task's host thread sleep in the host kernel until
// another goroutine wakes it, without the Go scheduler between them.
//
// A task runs on a host thread of its own, locked to its goroutine. Had
// it waited on a channel, each wake-up would pass through the scheduler:
// the waker makes the goroutine runnable on its own P, an idle thread is
// started to take it, finds it locked to the sleeping thread and hands
// the P over, so that three host threads run for one wake-up. A Waker
// is a host futex word instead: the sleeper waits on it with FUTEX_WAIT
// (a blocking system call to the Go runtime) and the waker's FUTEX_WAKE
// makes the host kernel run the sleeping thread directly, as it would
// run a native program's.
package sleep

import (
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Waker is the wake-up word of one sleeper. The zero Waker is ready to
// use; it must not be copied after first use. Any goroutine may Wake it;
// only its owner sleeps on it.
type Waker struct {
	// count is incremented by every Wake: a sleeper that took a Token
	// sleeps only while count still equals it. It is the host futex word.
	count atomic.Uint32
	// sleeping is 1 while the owner may be in FUTEX_WAIT: Wake makes the
	// system call only then.
	sleeping atomic.Uint32
	// wakes and syscalls count Wake calls and the FUTEX_WAKEs they made
	// (for the figures of the benchmarks; not synchronized with count).
	wakes, syscalls atomic.Uint64
}

// Token returns the wake count now. Take it before looking at the state
// that decides whether to sleep: a Wake after Token ends the next Sleep
// with that token at once, so no wake-up is lost between the look and
// the sleep.
func (w *Waker) Token() uint32 { return w.count.Load() }

// Wake ends the owner's Sleep (or its next one, with a token taken
// before this call). It never blocks and may be called from any
// goroutine, with locks held.
func (w *Waker) Wake() {
	w.count.Add(1)
	w.wakes.Add(1)
	// Go's atomics are sequentially consistent: either the sleeper sees
	// the new count before it waits, or this load sees it sleeping.
	if w.sleeping.Load() != 0 {
		w.syscalls.Add(1)
		futex(&w.count, futexWakePrivate, 1, nil)
	}
}

// Sleep waits until the wake count differs from token or the timeout
// (> 0; 0: none) has passed, and reports whether it was woken. It may
// return early and report true without a Wake (the caller looks again
// at what it waits for and sleeps again if need be).
func (w *Waker) Sleep(token uint32, timeout time.Duration) bool {
	if w.count.Load() != token {
		return true
	}
	var ts *syscall.Timespec
	if timeout > 0 {
		t := syscall.NsecToTimespec(int64(timeout))
		ts = &t
	}
	w.sleeping.Store(1)
	var err syscall.Errno
	if w.count.Load() == token {
		err = futex(&w.count, futexWaitPrivate, token, ts)
	}
	w.sleeping.Store(0)
	return err != syscall.ETIMEDOUT || w.count.Load() != token
}

// SleepUntil is Sleep with an absolute deadline on the monotonic clock
// of package time (the zero Time: none). It reports false once the
// deadline has passed without a Wake.
func (w *Waker) SleepUntil(token uint32, deadline time.Time) bool {
	if deadline.IsZero() {
		return w.Sleep(token, 0)
	}
	left := time.Until(deadline)
	if left <= 0 {
		return w.count.Load() != token
	}
	return w.Sleep(token, left)
}

// Stats returns how many Wakes there were and how many of them made a
// FUTEX_WAKE system call.
func (w *Waker) Stats() (wakes, syscalls uint64) { return w.wakes.Load(), w.syscalls.Load() }

const (
	futexWaitPrivate = 0 | 128 // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
	futexWakePrivate = 1 | 128 // FUTEX_WAKE | FUTEX_PRIVATE_FLAG
)

// futex is the host's futex(2) on word. A wait is a blocking system call
// to the Go runtime (its P may go to other goroutines meanwhile); a wake
// never blocks and is made raw.
func futex(word *atomic.Uint32, op uintptr, val uint32, ts *syscall.Timespec) syscall.Errno {
	if op == futexWakePrivate {
		_, _, e := syscall.RawSyscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(word)), op, uintptr(val), 0, 0, 0)
		return e
	}
	_, _, e := syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(word)), op, uintptr(val), uintptr(unsafe.Pointer(ts)), 0, 0)
	return e
}
