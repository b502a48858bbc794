package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// RtSigtimedwait implements rt_sigtimedwait(2) (x86-64, and i386's
// rt_sigtimedwait_time64).
var RtSigtimedwait = sigtimedwaitHandler(false)

// sigtimedwaitHandler makes rt_sigtimedwait for a timespec layout.
func sigtimedwaitHandler(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) { return t.sigtimedwait(a, time32) }
}

// sigtimedwait takes a pending signal of the set, waiting for one up to
// the timeout (none: for ever; zero: not at all, EAGAIN). While it waits
// the set's signals do not interrupt it; any other deliverable signal
// does (EINTR, its handler runs).
func (t *Task) sigtimedwait(a Args, time32 bool) (uintptr, error) {
	if a.Uint64(3) != sigsetSize {
		return 0, linux.EINVAL
	}
	var b [sigsetSize]byte
	if _, err := t.MM().CopyIn(a.Pointer(0), b[:]); err != nil {
		return 0, err
	}
	set := linux.SigSet(binary.LittleEndian.Uint64(b[:])) &^ unblockable
	var deadline time.Time
	if a.Pointer(2) != 0 {
		d, err := t.timespec(a.Pointer(2), time32)
		if err != nil {
			return 0, err
		}
		deadline = time.Now().Add(d)
	}
	for {
		sig, info, changed, ok := t.dequeueIn(set)
		if ok {
			return uintptr(sig), t.putSigInfo(a.Pointer(1), info)
		}
		if changed == nil { // the group is exiting
			return 0, linux.EINTR
		}
		wait := time.Duration(0)
		if !deadline.IsZero() {
			if wait = time.Until(deadline); wait <= 0 {
				return 0, linux.EAGAIN
			}
		}
		switch err := t.Block(changed, wait); err {
		case nil, linux.ETIMEDOUT:
		case errRestart:
			// A signal of the set wins over one that interrupts.
			if sig, info, _, ok := t.dequeueIn(set); ok {
				return uintptr(sig), t.putSigInfo(a.Pointer(1), info)
			}
			return 0, linux.EINTR
		default:
			return 0, err
		}
	}
}

// putSigInfo writes a siginfo at addr (if not NULL) in the task's layout.
func (t *Task) putSigInfo(addr mm.Addr, info sigInfo) error {
	if addr == 0 {
		return nil
	}
	if t.mode == arch.Mode32 {
		info = sigInfo32(info)
	}
	_, err := t.MM().CopyOut(addr, info[:])
	return err
}

// getSigInfo reads a siginfo from addr in the task's layout.
func (t *Task) getSigInfo(addr mm.Addr) (sigInfo, error) {
	var si sigInfo
	if _, err := t.MM().CopyIn(addr, si[:]); err != nil {
		return si, err
	}
	if t.mode == arch.Mode32 {
		si = sigInfoFrom32(si)
	}
	return si, nil
}

// sigInfoFrom32 converts a struct compat_siginfo to the native layout:
// the union moves from 12 to 16, addresses and clock_t widen.
func sigInfoFrom32(c sigInfo) sigInfo {
	le := binary.LittleEndian
	var si sigInfo
	copy(si[:12], c[:12])
	code := int32(le.Uint32(c[8:]))
	sig := linux.Signal(le.Uint32(c[0:]))
	switch {
	case code > 0 && code < siKernel && (sig == linux.SIGSEGV || sig == linux.SIGILL || sig == linux.SIGFPE ||
		sig == linux.SIGBUS || sig == linux.SIGTRAP):
		le.PutUint64(si[16:], uint64(le.Uint32(c[12:])))
	case code > 0 && code < siKernel && sig == linux.SIGCHLD:
		copy(si[16:28], c[12:24])
		le.PutUint64(si[32:], uint64(int64(int32(le.Uint32(c[24:])))))
		le.PutUint64(si[40:], uint64(int64(int32(le.Uint32(c[28:])))))
	default:
		copy(si[16:28], c[12:24]) // pid or tid, uid or overrun, sigval
	}
	return si
}

// RtSigqueueinfo implements rt_sigqueueinfo(2): a signal with the
// caller's siginfo to a process. Only a process signalling itself may
// claim a kernel or kill() origin (si_code >= 0, SI_TKILL).
func RtSigqueueinfo(t *Task, a Args) (uintptr, error) {
	pid, sig := a.Int(0), linux.Signal(a.Int(1))
	info, err := t.getSigInfo(a.Pointer(2))
	if err != nil {
		return 0, err
	}
	if info, err = t.queuedInfo(pid, sig, info); err != nil {
		return 0, err
	}
	var p *Process
	if pid > 0 {
		p = t.k.ProcessByID(pid)
	}
	if p == nil {
		return 0, linux.ESRCH
	}
	if err := t.checkKill(p, sig); err != nil {
		return 0, err
	}
	if sig != 0 {
		t.k.signalProcess(p, sig, info)
	}
	return 0, nil
}

// RtTgsigqueueinfo implements rt_tgsigqueueinfo(2): rt_sigqueueinfo to
// one thread.
func RtTgsigqueueinfo(t *Task, a Args) (uintptr, error) {
	tgid, tid, sig := a.Int(0), a.Int(1), linux.Signal(a.Int(2))
	info, err := t.getSigInfo(a.Pointer(3))
	if err != nil {
		return 0, err
	}
	if tgid <= 0 || tid <= 0 {
		return 0, linux.EINVAL
	}
	if info, err = t.queuedInfo(tid, sig, info); err != nil {
		return 0, err
	}
	target := t.k.TaskByID(tid)
	if target == nil || target.proc.pid != tgid {
		return 0, linux.ESRCH
	}
	if err := t.checkKill(target.proc, sig); err != nil {
		return 0, err
	}
	if sig != 0 {
		t.k.signal(target.proc, target, sig, info)
	}
	return 0, nil
}

// queuedInfo reads the siginfo of rt_(tg)sigqueueinfo: si_signo becomes
// sig; a forged kernel or kill origin to another task than the caller
// (Linux compares the caller's tid with the target id) is EPERM.
func (t *Task) queuedInfo(target int32, sig linux.Signal, info sigInfo) (sigInfo, error) {
	binary.LittleEndian.PutUint32(info[0:], uint32(sig))
	code := int32(binary.LittleEndian.Uint32(info[8:]))
	if (code >= 0 || code == siTkill) && target != t.tid {
		return info, linux.EPERM
	}
	return info, nil
}

// checkKill is check_kill_permission: a valid signal number, and the
// caller may signal p.
func (t *Task) checkKill(p *Process, sig linux.Signal) error {
	if sig < 0 || sig > linux.NSig {
		return linux.EINVAL
	}
	if !canSignal(t.proc.Creds(), p.Creds()) {
		return linux.EPERM
	}
	return nil
}
