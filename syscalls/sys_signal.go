package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
)

// sigsetSize is the only sigsetsize the x86-64 kernel accepts.
const sigsetSize = 8

// RtSigaction implements rt_sigaction(2): dispositions are recorded and
// used when signals are delivered.
func RtSigaction(t *Task, a Args) (uintptr, error) {
	le := binary.LittleEndian
	return rtSigaction(t, a, 32, func(b []byte) linux.SigAction {
		return linux.SigAction{Handler: le.Uint64(b), Flags: le.Uint64(b[8:]), Restorer: le.Uint64(b[16:]),
			Mask: linux.SigSet(le.Uint64(b[24:]))}
	}, func(b []byte, s linux.SigAction) {
		le.PutUint64(b, s.Handler)
		le.PutUint64(b[8:], s.Flags)
		le.PutUint64(b[16:], s.Restorer)
		le.PutUint64(b[24:], uint64(s.Mask))
	})
}

// rtSigaction is rt_sigaction for a struct sigaction of size bytes.
func rtSigaction(t *Task, a Args, size int, decode func([]byte) linux.SigAction, encode func([]byte, linux.SigAction)) (uintptr, error) {
	sig := linux.Signal(a.Int(0))
	if a.Uint64(3) != sigsetSize || sig < 1 || sig > linux.NSig {
		return 0, linux.EINVAL
	}
	var next *linux.SigAction
	if a.Pointer(1) != 0 {
		if sig == linux.SIGKILL || sig == linux.SIGSTOP {
			return 0, linux.EINVAL
		}
		b := make([]byte, size)
		if _, err := t.MM().CopyIn(a.Pointer(1), b); err != nil {
			return 0, err
		}
		act := decode(b)
		next = &act
	}
	p := t.proc
	tasks := t.k.tasksOf(p) // before p.mu: lock order
	p.mu.Lock()
	old := p.sigacts[sig-1]
	if next != nil {
		p.sigacts[sig-1] = *next
		if p.ignoredLocked(sig) { // ignoring a signal discards it
			p.pending &^= linux.Bit(sig)
			for _, x := range tasks {
				x.pending &^= linux.Bit(sig)
			}
		}
	}
	p.mu.Unlock()
	if a.Pointer(2) != 0 {
		b := make([]byte, size)
		encode(b, old)
		if _, err := t.MM().CopyOut(a.Pointer(2), b); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// unblockable are the signals no mask can hold.
const unblockable = linux.SigSet(1<<(linux.SIGKILL-1) | 1<<(linux.SIGSTOP-1))

// RtSigprocmask implements rt_sigprocmask(2).
func RtSigprocmask(t *Task, a Args) (uintptr, error) {
	if a.Uint64(3) != sigsetSize {
		return 0, linux.EINVAL
	}
	t.proc.mu.Lock()
	old := t.sigmask
	t.proc.mu.Unlock()
	if a.Pointer(1) != 0 {
		var b [8]byte
		if _, err := t.MM().CopyIn(a.Pointer(1), b[:]); err != nil {
			return 0, err
		}
		set := linux.SigSet(binary.LittleEndian.Uint64(b[:]))
		switch a.Int(0) {
		case linux.SIG_BLOCK:
			t.setMask(old | set)
		case linux.SIG_UNBLOCK:
			t.setMask(old &^ set)
		case linux.SIG_SETMASK:
			t.setMask(set)
		default:
			return 0, linux.EINVAL
		}
	}
	if a.Pointer(2) != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(old))
		if _, err := t.MM().CopyOut(a.Pointer(2), b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}
