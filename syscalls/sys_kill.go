package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
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

// Alarm implements alarm(2) with a timer that sends SIGALRM.
func Alarm(t *Task, a Args) (uintptr, error) {
	left := t.proc.setAlarm(time.Duration(a.Uint(0)) * time.Second)
	return uintptr((left + time.Second - 1) / time.Second), nil
}

// itimerval layout: interval then value, each a timeval of the ABI.
const itimerReal = 0

// Setitimer implements setitimer(2) for ITIMER_REAL (the alarm timer; its
// interval is not repeated).
func Setitimer(t *Task, a Args) (uintptr, error) {
	if a.Int(0) != itimerReal {
		return 0, linux.EINVAL
	}
	time32 := t.mode == arch.Mode32
	var value time.Duration
	if a.Pointer(1) != 0 {
		half := mm.Addr(16)
		if time32 {
			half = 8
		}
		d, err := t.timeval(a.Pointer(1)+half, time32)
		if err != nil {
			return 0, err
		}
		value = d
	}
	left := t.proc.setAlarm(value)
	if a.Pointer(2) != 0 {
		return 0, t.putItimer(a.Pointer(2), left, time32)
	}
	return 0, nil
}

// Getitimer implements getitimer(2) for ITIMER_REAL.
func Getitimer(t *Task, a Args) (uintptr, error) {
	if a.Int(0) != itimerReal {
		return 0, linux.EINVAL
	}
	p := t.proc
	p.mu.Lock()
	var left time.Duration
	if p.alarm != nil {
		left = max(time.Until(p.alarmAt), 0)
	}
	p.mu.Unlock()
	return 0, t.putItimer(a.Pointer(1), left, t.mode == arch.Mode32)
}

func (t *Task) putItimer(addr mm.Addr, left time.Duration, time32 bool) error {
	half := mm.Addr(16)
	if time32 {
		half = 8
	}
	if err := t.putTimePair(addr, 0, 0, time32); err != nil {
		return err
	}
	return t.putTimePair(addr+half, int64(left/time.Second), int64(left%time.Second/time.Microsecond), time32)
}

// timeval reads a struct timeval.
func (t *Task) timeval(addr mm.Addr, time32 bool) (time.Duration, error) {
	d, err := t.timespec(addr, time32) // same layout, microseconds
	if err != nil {
		return 0, err
	}
	usec := d % time.Second
	if usec >= time.Second/1000 {
		return 0, linux.EINVAL
	}
	return d - usec + usec*1000, nil
}

// setAlarm arms (or, with 0, disarms) the SIGALRM timer and returns the
// time that was left.
func (p *Process) setAlarm(d time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var left time.Duration
	if p.alarm != nil {
		if p.alarm.Stop() {
			left = max(time.Until(p.alarmAt), 0)
		}
		p.alarm = nil
	}
	if d > 0 {
		p.alarmAt = time.Now().Add(d)
		p.alarm = time.AfterFunc(d, func() {
			p.k.signalProcess(p, linux.SIGALRM, newSigInfo(linux.SIGALRM, siKernel))
		})
	}
	return left
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
