package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
)

// canSignal reports whether sender may signal target (kill(2)'s rule: the
// sender is privileged, or its real or effective uid is the target's
// real or saved uid).
func canSignal(sender, target Creds) bool {
	if sender.EUID == 0 {
		return true
	}
	return sender.EUID == target.RUID || sender.EUID == target.SUID ||
		sender.RUID == target.RUID || sender.RUID == target.SUID
}

// Kill implements kill(2).
func Kill(t *Task, a Args) (uintptr, error) {
	pid, sig := a.Int(0), linux.Signal(a.Int(1))
	if sig < 0 || sig > linux.NSig {
		return 0, linux.EINVAL
	}
	k := t.k
	k.mu.Lock()
	var targets []*Process
	switch {
	case pid > 0:
		// A zombie can still be named (kill(pid, 0) succeeds); signals to
		// it are discarded.
		if p := k.procs[pid]; p != nil && p != k.reaper && p.state != procReaped {
			targets = append(targets, p)
		}
	case pid == -1:
		for _, p := range k.procs {
			if p != k.reaper && p != t.proc && p.state == procRunning {
				targets = append(targets, p)
			}
		}
	default:
		pg := -pid
		if pid == 0 {
			pg = t.proc.pgid
		}
		for _, p := range k.procs {
			if p != k.reaper && p.pgid == pg && p.state == procRunning {
				targets = append(targets, p)
			}
		}
	}
	k.mu.Unlock()
	if len(targets) == 0 {
		return 0, linux.ESRCH
	}
	me := t.proc.Creds()
	sent := 0
	for _, p := range targets {
		if !canSignal(me, p.Creds()) {
			continue
		}
		sent++
		if sig != 0 {
			k.signalProcess(p, sig, sigInfoKill(sig, siUser, t.proc))
		}
	}
	if sent == 0 {
		return 0, linux.EPERM
	}
	return 0, nil
}

// Tgkill implements tgkill(2).
func Tgkill(t *Task, a Args) (uintptr, error) {
	return t.tkill(a.Int(0), a.Int(1), linux.Signal(a.Int(2)))
}

// Tkill implements tkill(2).
func Tkill(t *Task, a Args) (uintptr, error) {
	return t.tkill(-1, a.Int(0), linux.Signal(a.Int(1)))
}

func (t *Task) tkill(tgid, tid int32, sig linux.Signal) (uintptr, error) {
	if tid <= 0 || (tgid != -1 && tgid <= 0) || sig < 0 || sig > linux.NSig {
		return 0, linux.EINVAL
	}
	target := t.k.TaskByID(tid)
	if target == nil || (tgid != -1 && target.proc.pid != tgid) {
		return 0, linux.ESRCH
	}
	if !canSignal(t.proc.Creds(), target.proc.Creds()) {
		return 0, linux.EPERM
	}
	if sig != 0 {
		t.k.signal(target.proc, target, sig, sigInfoKill(sig, siTkill, t.proc))
	}
	return 0, nil
}

// RtSigsuspend implements rt_sigsuspend(2): it waits, with the given
// mask, for a signal whose handler runs before the call returns EINTR.
func RtSigsuspend(t *Task, a Args) (uintptr, error) {
	if a.Uint64(1) != sigsetSize {
		return 0, linux.EINVAL
	}
	var b [8]byte
	if _, err := t.MM().CopyIn(a.Pointer(0), b[:]); err != nil {
		return 0, err
	}
	t.proc.mu.Lock()
	old := t.sigmask
	t.proc.mu.Unlock()
	t.savedMask = &old
	t.setMask(linux.SigSet(leUint64(b[:])))
	t.Block(nil, 0)
	return 0, linux.EINTR
}

// Pause implements pause(2).
func Pause(t *Task, a Args) (uintptr, error) {
	t.Block(nil, 0)
	return 0, linux.EINTR
}

// RtSigpending implements rt_sigpending(2).
func RtSigpending(t *Task, a Args) (uintptr, error) {
	if a.Uint64(1) > sigsetSize {
		return 0, linux.EINVAL
	}
	p := t.proc
	p.mu.Lock()
	set := (p.pending | t.pending) & t.sigmask
	p.mu.Unlock()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(set))
	_, err := t.MM().CopyOut(a.Pointer(0), b[:a.Uint64(1)])
	return 0, err
}
