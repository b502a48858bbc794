package syscalls

import (
	"encoding/binary"

	"cmaemu/linux"
)

// sigsetSize is the only sigsetsize the x86-64 kernel accepts.
const sigsetSize = 8

// RtSigaction implements rt_sigaction(2): dispositions are recorded
// (delivery of caught signals is not emulated yet).
func RtSigaction(t *Task, a Args) (uintptr, error) {
	sig := linux.Signal(a.Int(0))
	if a.Uint64(3) != sigsetSize {
		return 0, linux.EINVAL
	}
	if sig < 1 || sig > linux.NSig {
		return 0, linux.EINVAL
	}
	var next *linux.SigAction
	if a.Pointer(1) != 0 {
		if sig == linux.SIGKILL || sig == linux.SIGSTOP {
			return 0, linux.EINVAL
		}
		var b [32]byte
		if _, err := t.MM().CopyIn(a.Pointer(1), b[:]); err != nil {
			return 0, err
		}
		next = &linux.SigAction{
			Handler:  binary.LittleEndian.Uint64(b[0:]),
			Flags:    binary.LittleEndian.Uint64(b[8:]),
			Restorer: binary.LittleEndian.Uint64(b[16:]),
			Mask:     linux.SigSet(binary.LittleEndian.Uint64(b[24:])),
		}
	}
	p := t.proc
	p.mu.Lock()
	old := p.sigacts[sig-1]
	if next != nil {
		p.sigacts[sig-1] = *next
	}
	p.mu.Unlock()
	if a.Pointer(2) != 0 {
		var b [32]byte
		binary.LittleEndian.PutUint64(b[0:], old.Handler)
		binary.LittleEndian.PutUint64(b[8:], old.Flags)
		binary.LittleEndian.PutUint64(b[16:], old.Restorer)
		binary.LittleEndian.PutUint64(b[24:], uint64(old.Mask))
		if _, err := t.MM().CopyOut(a.Pointer(2), b[:]); err != nil {
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
