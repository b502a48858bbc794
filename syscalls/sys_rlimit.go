package syscalls

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Resource limits: getrlimit, setrlimit, prlimit64 and i386's
// ugetrlimit and old getrlimit. Each process keeps its own (signal->rlim)
// under Process.mu; fork copies them, execve keeps them.
//
// The kernel enforces RLIMIT_NOFILE (the descriptor table refuses
// descriptors at or above the soft limit: EMFILE, dup2's EBADF,
// F_DUPFD's EINVAL, poll's EINVAL), RLIMIT_MEMLOCK (mlock and friends),
// RLIMIT_NICE and RLIMIT_RTPRIO (setpriority, nice,
// sched_setscheduler), RLIMIT_AS and RLIMIT_DATA (mmap, mprotect, brk
// and mremap, through mm's may_expand_vm rule), RLIMIT_FSIZE for write, pwrite and writev to
// regular files (SIGXFSZ and EFBIG, or a short write), RLIMIT_NPROC
// (clone, fork) and RLIMIT_CPU (SIGXCPU each second from the soft limit,
// SIGKILL at the hard one; cpulimit.go).

// rlimit is one resource limit, as struct rlimit64 holds it.
type rlimit struct{ cur, max uint64 }

// rlimits are a process's resource limits, indexed by RLIMIT_*.
type rlimits [linux.RLIM_NLIMITS]rlimit

// defaultStack is the soft RLIMIT_STACK of the first process (_STK_LIM).
const defaultStack = 8 << 20

// hostRlimits returns the limits of the first guest process: the
// emulator's own (those its parent gave it, as a shell's child has
// them), except RLIMIT_STACK, whose soft limit is 8 MiB (the stack the
// loader gives is that size), and RLIMIT_NOFILE, whose soft limit is the
// descriptor table's default size (1024, INR_OPEN_CUR: the Go runtime
// raised the emulator's own soft limit to its hard one).
func hostRlimits() rlimits {
	var r rlimits
	for i := range r {
		r[i] = rlimit{linux.RLIM_INFINITY, linux.RLIM_INFINITY}
		var lim [2]uint64
		if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, 0, uintptr(i), 0, uintptr(unsafe.Pointer(&lim)), 0, 0); e == 0 {
			r[i] = rlimit{lim[0], lim[1]}
		}
	}
	r[linux.RLIMIT_STACK].cur = min(defaultStack, r[linux.RLIMIT_STACK].max)
	nofile := &r[linux.RLIMIT_NOFILE]
	nofile.max = min(nofile.max, linux.NR_OPEN)
	nofile.cur = min(maxFDs, nofile.max)
	return r
}

// memLimits returns the process's RLIMIT_AS and RLIMIT_DATA as mm takes
// them (mm.Limits): 0 for none, else at least 1. A soft RLIMIT_DATA of
// 0 lets mappings use the hard limit (may_expand_vm's exemption), not
// the break.
func (p *Process) memLimits() mm.Limits {
	bytes := func(v uint64) uint64 {
		if v == linux.RLIM_INFINITY {
			return 0
		}
		return max(v, 1)
	}
	as, data := p.rlimit(linux.RLIMIT_AS), p.rlimit(linux.RLIMIT_DATA)
	l := mm.Limits{AS: bytes(as.cur), Data: bytes(data.cur), Break: bytes(data.cur)}
	if data.cur == 0 {
		l.Data = bytes(data.max)
	}
	return l
}

// rlimit returns the process's limit of resource res.
func (p *Process) rlimit(res int) rlimit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rlimits[res]
}

// prlimit is do_prlimit: it returns target's limit of res and, if nl is
// not nil, replaces it: a soft limit above the hard one is EINVAL, a
// hard RLIMIT_NOFILE above fs.nr_open EPERM, and raising a hard limit
// needs CAP_SYS_RESOURCE of the caller t (EPERM).
func (t *Task) prlimit(target *Process, res uint32, nl *rlimit) (rlimit, error) {
	if res >= linux.RLIM_NLIMITS {
		return rlimit{}, linux.EINVAL
	}
	if nl != nil {
		if nl.cur > nl.max {
			return rlimit{}, linux.EINVAL
		}
		if res == linux.RLIMIT_NOFILE && nl.max > linux.NR_OPEN {
			return rlimit{}, linux.EPERM
		}
	}
	privileged := nl != nil && t.proc.capable(capSysResource)
	target.mu.Lock()
	defer target.mu.Unlock()
	old := target.rlimits[res]
	if nl == nil {
		return old, nil
	}
	if nl.max > old.max && !privileged {
		return rlimit{}, linux.EPERM
	}
	target.rlimits[res] = *nl
	if res == linux.RLIMIT_NOFILE && target.fds != nil {
		target.fds.setLimit(nl.cur)
	}
	if res == linux.RLIMIT_CPU && nl.cur != linux.RLIM_INFINITY {
		t.k.watchCPULimits()
	}
	return old, nil
}

// lookupLimitTarget returns the process prlimit64 acts on: the caller's
// for pid 0, else that of the thread (or zombie process) pid, if the
// caller may: its real ids must equal all of the target's user and group
// ids, or it needs CAP_SYS_RESOURCE (check_prlimit_permission).
func (t *Task) lookupLimitTarget(pid int32) (*Process, error) {
	if pid == 0 {
		return t.proc, nil
	}
	target, tt := t.k.lookupPID(pid)
	if target == nil {
		return nil, linux.ESRCH
	}
	if tt == t {
		return target, nil
	}
	me, them := t.proc.Creds(), target.Creds()
	idMatch := me.RUID == them.EUID && me.RUID == them.SUID && me.RUID == them.RUID &&
		me.RGID == them.EGID && me.RGID == them.SGID && me.RGID == them.RGID
	if !idMatch && !t.proc.capable(capSysResource) {
		return nil, linux.EPERM
	}
	return target, nil
}

// lookupPID returns the process of thread id tid and the thread, or a
// zombie process whose pid is tid (and no thread); nil if neither exists
// (the reaper, pid 1, is not looked up).
func (k *Kernel) lookupPID(tid int32) (*Process, *Task) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if tid <= 0 {
		return nil, nil
	}
	if t := k.tasks[tid]; t != nil {
		return t.proc, t
	}
	if p := k.procs[tid]; p != nil && p != k.reaper && p.state == procZombie {
		return p, nil
	}
	return nil, nil
}

// Prlimit64 implements prlimit64(2): struct rlimit64 on both ABIs. The
// new limit is read before the target is looked up (EFAULT first), the
// old one written after the change.
func Prlimit64(t *Task, a Args) (uintptr, error) {
	pid, res, newAddr, oldAddr := a.Int(0), a.Uint(1), a.Pointer(2), a.Pointer(3)
	var nl *rlimit
	if newAddr != 0 {
		var b [16]byte
		if _, err := t.MM().CopyIn(newAddr, b[:]); err != nil {
			return 0, err
		}
		nl = &rlimit{binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:])}
	}
	target, err := t.lookupLimitTarget(pid)
	if err != nil {
		return 0, err
	}
	old, err := t.prlimit(target, res, nl)
	if err != nil || oldAddr == 0 {
		return 0, err
	}
	return 0, t.putRlimit(oldAddr, old, rlimitWide)
}

// rlimitLayout is how a struct rlimit is laid out for one call.
type rlimitLayout int

const (
	rlimitWide   rlimitLayout = iota // two 64-bit values (x86-64, rlimit64)
	rlimitCompat                     // two 32-bit values, clamped to COMPAT_RLIM_INFINITY
	rlimitOld                        // two 32-bit values, clamped to 0x7fffffff (i386 getrlimit 76)
)

// putRlimit writes l at addr in layout.
func (t *Task) putRlimit(addr mm.Addr, l rlimit, layout rlimitLayout) error {
	var b [16]byte
	n := 16
	switch layout {
	case rlimitWide:
		binary.LittleEndian.PutUint64(b[:], l.cur)
		binary.LittleEndian.PutUint64(b[8:], l.max)
	default:
		clamp := uint64(linux.COMPAT_RLIM_INFINITY)
		if layout == rlimitOld {
			clamp = linux.COMPAT_RLIM_OLD_INFINITY
		}
		binary.LittleEndian.PutUint32(b[:], uint32(min(l.cur, clamp)))
		binary.LittleEndian.PutUint32(b[4:], uint32(min(l.max, clamp)))
		n = 8
	}
	_, err := t.MM().CopyOut(addr, b[:n])
	return err
}

// getrlimitHandler makes getrlimit for a layout.
func getrlimitHandler(layout rlimitLayout) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		l, err := t.prlimit(t.proc, a.Uint(0), nil)
		if err != nil {
			return 0, err
		}
		return 0, t.putRlimit(a.Pointer(1), l, layout)
	}
}

// Getrlimit implements getrlimit(2) (x86-64); Ugetrlimit is i386's
// ugetrlimit (191), OldGetrlimit i386's getrlimit (76), which reports
// limits above 0x7fffffff as 0x7fffffff.
var (
	Getrlimit    = getrlimitHandler(rlimitWide)
	Ugetrlimit   = getrlimitHandler(rlimitCompat)
	OldGetrlimit = getrlimitHandler(rlimitOld)
)

// setrlimitHandler makes setrlimit for struct rlimit (wide) or struct
// compat_rlimit, whose 0xffffffff is RLIM_INFINITY.
func setrlimitHandler(compat bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		var b [16]byte
		var nl rlimit
		if compat {
			if _, err := t.MM().CopyIn(a.Pointer(1), b[:8]); err != nil {
				return 0, err
			}
			widen := func(v uint32) uint64 {
				if v == linux.COMPAT_RLIM_INFINITY {
					return linux.RLIM_INFINITY
				}
				return uint64(v)
			}
			nl = rlimit{widen(binary.LittleEndian.Uint32(b[:])), widen(binary.LittleEndian.Uint32(b[4:]))}
		} else {
			if _, err := t.MM().CopyIn(a.Pointer(1), b[:]); err != nil {
				return 0, err
			}
			nl = rlimit{binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:])}
		}
		_, err := t.prlimit(t.proc, a.Uint(0), &nl)
		return 0, err
	}
}

// Setrlimit implements setrlimit(2); Setrlimit32 is i386's, with struct
// compat_rlimit.
var (
	Setrlimit   = setrlimitHandler(false)
	Setrlimit32 = setrlimitHandler(true)
)

// fsizeAllows applies RLIMIT_FSIZE to making a regular file of size cur
// newSize bytes long (truncate, ftruncate, fallocate), as Linux's
// inode_newsize_ok does: growing it past the soft limit sends SIGXFSZ and
// fails with EFBIG; shrinking is always allowed.
func (t *Task) fsizeAllows(cur, newSize int64) error {
	limit := t.proc.rlimit(linux.RLIMIT_FSIZE).cur
	if limit == linux.RLIM_INFINITY || newSize <= cur || uint64(newSize) <= limit {
		return nil
	}
	return t.fileTooBig()
}

// fileTooBig is what exceeding RLIMIT_FSIZE does: SIGXFSZ to the process
// (send_sig's SI_USER from itself), and EFBIG.
func (t *Task) fileTooBig() error {
	t.k.signalProcess(t.proc, linux.SIGXFSZ, sigInfoKill(linux.SIGXFSZ, 0 /* SI_USER */, t.proc))
	return linux.EFBIG
}
