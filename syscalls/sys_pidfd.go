package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
)

// pidfdNonblock is PIDFD_NONBLOCK (O_NONBLOCK).
const pidfdNonblock = linux.O_NONBLOCK

// pidfd_send_signal flags: whom the signal is for.
const (
	pidfdSignalThread       = 1 << 0
	pidfdSignalThreadGroup  = 1 << 1
	pidfdSignalProcessGroup = 1 << 2
)

// pPIDFD is waitid's P_PIDFD.
const pPIDFD = 3

// PidfdOpen implements pidfd_open(2): a pidfd (close-on-exec) for the
// process pid, zombies included; a thread that does not lead its group
// is EINVAL, a pid that does not exist ESRCH.
func PidfdOpen(t *Task, a Args) (uintptr, error) {
	pid, flags := a.Int(0), a.Uint(1)
	if flags&^pidfdNonblock != 0 || pid <= 0 {
		return 0, linux.EINVAL
	}
	p := t.k.ProcessByID(pid)
	if p == nil {
		if t.k.TaskByID(pid) != nil {
			return 0, linux.EINVAL
		}
		return 0, linux.ESRCH
	}
	fd, err := t.proc.fds.Install(newPidFD(p, flags), 0, true)
	return uintptr(fd), err
}

// pidfdProcess returns the process of pidfd fd (EBADF if fd is none).
func (t *Task) pidfdProcess(fd int32) (*Process, bool, error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return nil, false, err
	}
	defer f.DecRef()
	pf, ok := f.(*pidFD)
	if !ok {
		return nil, false, linux.EBADF
	}
	return pf.proc, pf.Nonblocking(), nil
}

// PidfdSendSignal implements pidfd_send_signal(2): kill(2) through a
// pidfd, with an optional siginfo under rt_sigqueueinfo's rules; the
// flags send it to the thread the pidfd names (its leader), its process
// (the default) or its process group (as kill(-pgid) does).
func PidfdSendSignal(t *Task, a Args) (uintptr, error) {
	sig, infoAddr, flags := linux.Signal(a.Int(1)), a.Pointer(2), a.Uint(3)
	switch flags {
	case 0, pidfdSignalThread, pidfdSignalThreadGroup, pidfdSignalProcessGroup:
	default:
		return 0, linux.EINVAL
	}
	p, _, err := t.pidfdProcess(a.Int(0))
	if err != nil {
		return 0, err
	}
	info := sigInfoKill(sig, siUser, t.proc)
	if infoAddr != 0 {
		if info, err = t.getSigInfo(infoAddr); err != nil {
			return 0, err
		}
		if linux.Signal(binary.LittleEndian.Uint32(info[0:])) != sig {
			return 0, linux.EINVAL
		}
		code := int32(binary.LittleEndian.Uint32(info[8:]))
		if p != t.proc && (code >= 0 || code == siTkill) {
			return 0, linux.EPERM
		}
	}
	t.k.mu.Lock()
	reaped := p.state == procReaped
	t.k.mu.Unlock()
	if reaped {
		return 0, linux.ESRCH
	}
	if err := t.checkKill(p, sig); err != nil {
		return 0, err
	}
	if sig == 0 {
		return 0, nil
	}
	switch flags {
	case pidfdSignalThread:
		if leader := t.k.TaskByID(p.pid); leader != nil && leader.proc == p {
			t.k.signal(p, leader, sig, info)
		}
	case pidfdSignalProcessGroup:
		t.k.mu.Lock()
		pgid := p.pgid
		t.k.mu.Unlock()
		_, err := Kill(t, Args{uint64(uint32(-pgid)), uint64(sig)})
		return 0, err
	default:
		t.k.signalProcess(p, sig, info)
	}
	return 0, nil
}

// pidfdSelector is waitid's child filter for P_PIDFD: the pidfd's
// process, and whether the pidfd is non-blocking (waitid then answers
// EAGAIN instead of waiting).
func (t *Task) pidfdSelector(fd int32) (func(c *Process) bool, bool, error) {
	p, nonblock, err := t.pidfdProcess(fd)
	if err != nil {
		return nil, false, err
	}
	return func(c *Process) bool { return c == p }, nonblock, nil
}
