package syscalls

import (
	"encoding/binary"
	"sort"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
)

// wait options.
const (
	wNoHang    = 0x1
	wUntraced  = 0x2
	wExited    = 0x4
	wContinued = 0x8
	wNoWait    = 0x01000000
	wNoThread  = 0x20000000
	wAll       = 0x40000000
	wClone     = 0x80000000
)

// waitid idtypes.
const (
	pAll  = 0
	pPID  = 1
	pPGID = 2
)

// waitResult is a reaped (or, with WNOWAIT, observed) child.
type waitResult struct {
	pid       int32
	uid       uint32
	status    ExitStatus
	stopped   linux.Signal // the child stopped with this signal (WUNTRACED)
	continued bool         // the child was continued (WCONTINUED)
	usage     usage        // the child's, with its waited-for children's
}

// waitStatus encodes the result as wait4 reports it.
func (r *waitResult) waitStatus() uint32 {
	switch {
	case r.stopped != 0:
		return uint32(r.stopped)<<8 | 0x7f
	case r.continued:
		return 0xffff
	}
	return r.status.WaitStatus()
}

// sigInfo is the SIGCHLD siginfo waitid fills in for the result.
func (r *waitResult) sigInfo() sigInfo {
	c := &Process{pid: r.pid, creds: Creds{RUID: r.uid}}
	switch {
	case r.stopped != 0:
		return sigInfoJob(c, cldStopped, r.stopped)
	case r.continued:
		return sigInfoJob(c, cldContinued, linux.SIGCONT)
	}
	return sigInfoChild(c, r.status)
}

// waitChild waits for a child matching sel to exit. It returns nil with
// no error when WNOHANG finds nothing ready.
func (t *Task) waitChild(sel func(c *Process) bool, options uint32) (*waitResult, error) {
	k, p := t.k, t.proc
	for {
		k.mu.Lock()
		kids := make([]*Process, 0, len(p.children))
		for _, c := range p.children {
			if sel(c) {
				kids = append(kids, c)
			}
		}
		if len(kids) == 0 {
			k.mu.Unlock()
			return nil, linux.ECHILD
		}
		sort.Slice(kids, func(i, j int) bool { return kids[i].pid < kids[j].pid })
		for _, c := range kids {
			r := &waitResult{pid: c.pid, uid: c.Creds().RUID, status: c.status}
			r.usage = c.usage
			r.usage.merge(c.childUsage)
			consume := options&wNoWait == 0
			switch {
			case c.state == procZombie && options&wExited != 0:
				if consume {
					p.waitedLocked(c)
					k.reapLocked(c)
				}
			case c.stopReport && options&wUntraced != 0:
				r.stopped = c.stopSig
				c.stopReport = c.stopReport && !consume
			case c.contReport && options&wContinued != 0:
				r.continued = true
				c.contReport = c.contReport && !consume
			default:
				continue
			}
			k.mu.Unlock()
			return r, nil
		}
		if options&wNoHang != 0 {
			k.mu.Unlock()
			return nil, nil
		}
		w := p.childEvents.Arm(t)
		k.mu.Unlock()
		if err := w.Block(t, 0); err != nil {
			return nil, err
		}
	}
}

// selector returns the child filter of wait4's pid argument.
func (t *Task) selector(pid int32) func(c *Process) bool {
	t.k.mu.Lock()
	myPgid := t.proc.pgid
	t.k.mu.Unlock()
	switch {
	case pid > 0:
		return func(c *Process) bool { return c.pid == pid }
	case pid == 0:
		return func(c *Process) bool { return c.pgid == myPgid }
	case pid == -1:
		return func(c *Process) bool { return true }
	}
	return func(c *Process) bool { return c.pgid == -pid }
}

// Wait4 implements wait4(2).
func Wait4(t *Task, a Args) (uintptr, error) {
	pid, statusAddr, options, ru := a.Int(0), a.Pointer(1), a.Uint(2), a.Pointer(3)
	if options&^(wNoHang|wUntraced|wContinued|wNoThread|wAll|wClone) != 0 {
		return 0, linux.EINVAL
	}
	if pid == -2147483648 {
		return 0, linux.ESRCH
	}
	r, err := t.waitChild(t.selector(pid), options|wExited)
	if err != nil || r == nil {
		return 0, err
	}
	if statusAddr != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], r.waitStatus())
		if _, err := t.MM().CopyOut(statusAddr, b[:]); err != nil {
			return 0, err
		}
	}
	if ru != 0 {
		if err := t.putRusage(ru, r.usage); err != nil {
			return 0, err
		}
	}
	return uintptr(r.pid), nil
}

// Waitid implements waitid(2) for exited children.
func Waitid(t *Task, a Args) (ret uintptr, err error) {
	idtype, id, infop, options, ru := a.Int(0), a.Int(1), a.Pointer(2), a.Uint(3), a.Pointer(4)
	if options&^(wNoHang|wUntraced|wExited|wContinued|wNoWait|wNoThread|wAll|wClone) != 0 ||
		options&(wExited|wUntraced|wContinued) == 0 {
		return 0, linux.EINVAL
	}
	var sel func(c *Process) bool
	var r *waitResult
	switch idtype {
	case pAll:
		sel = t.selector(-1)
	case pPID:
		if id <= 0 {
			return 0, linux.EINVAL
		}
		sel = t.selector(id)
	case pPGID:
		if id < 0 {
			return 0, linux.EINVAL
		}
		if id == 0 {
			sel = t.selector(0)
		} else {
			sel = t.selector(-id)
		}
	case pPIDFD:
		var nonblock bool
		var perr error
		if sel, nonblock, perr = t.pidfdSelector(id); perr != nil {
			return 0, perr
		}
		if nonblock && options&wNoHang == 0 {
			options |= wNoHang
			defer func() { // nothing ready: EAGAIN
				if ret == 0 && err == nil && r == nil {
					err = linux.EAGAIN
				}
			}()
		}
	default:
		return 0, linux.EINVAL
	}
	r, err = t.waitChild(sel, options)
	if err != nil {
		return 0, err
	}
	if infop != 0 {
		var si sigInfo
		if r != nil {
			si = r.sigInfo()
			if t.mode == arch.Mode32 {
				si = sigInfo32(si)
			}
		}
		if _, err := t.MM().CopyOut(infop, si[:]); err != nil {
			return 0, err
		}
	}
	if ru != 0 {
		var u usage
		if r != nil {
			u = r.usage
		}
		if err := t.putRusage(ru, u); err != nil {
			return 0, err
		}
	}
	return 0, nil
}
