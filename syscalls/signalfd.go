package syscalls

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// procSigTimers is the state of a process that waits for signals and
// raises them: who waits for a signal to become pending, and the POSIX
// timers (sys_timer.go). Protected by the process's mu.
type procSigTimers struct {
	// changed, if not nil, is closed when a signal becomes pending in
	// the process or one of its tasks.
	changed chan struct{}
	timers  posixTimers
	// realInterval is ITIMER_REAL's period; realGen tells a firing of
	// p.alarm that it was re-armed meanwhile (sys_itimer.go).
	realInterval time.Duration
	realGen      uint64
}

// exitLocked stops the timers of an exiting process.
// Preconditions: p.mu held.
func (s *procSigTimers) exitLocked(k *Kernel) {
	s.realGen++
	s.timers.exitLocked(k)
}

// signalPendingLocked wakes whoever waits for a signal to become pending
// (signalfd readers and pollers, rt_sigtimedwait).
// Preconditions: p.mu held.
func (p *Process) signalPendingLocked() {
	if s := &p.sigTimers; s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// pendingChangedLocked returns a channel closed when a signal next
// becomes pending in p. Preconditions: p.mu held.
func (p *Process) pendingChangedLocked() <-chan struct{} {
	s := &p.sigTimers
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// dequeueIn takes the lowest pending signal of set, whether blocked or
// not, as signalfd and rt_sigtimedwait do: the thread's own signals
// first, then the process's. No default action is taken. If none is
// pending it returns ok false and a channel closed when one may be.
func (t *Task) dequeueIn(set linux.SigSet) (sig linux.Signal, info sigInfo, changed <-chan struct{}, ok bool) {
	set &^= unblockable
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exiting != nil {
		return 0, info, nil, false
	}
	switch {
	case t.pending&set != 0:
		sig = lowestSignal(t.pending & set)
		t.pending &^= linux.Bit(sig)
	case p.pending&set != 0:
		sig = lowestSignal(p.pending & set)
		p.pending &^= linux.Bit(sig)
	default:
		return 0, info, p.pendingChangedLocked(), false
	}
	return sig, p.timerSignalTakenLocked(t.signalInfo[sig-1]), nil, true
}

// pendingIn reports whether a signal of set is pending in p or any of its
// tasks.
func (p *Process) pendingIn(set linux.SigSet) (bool, <-chan struct{}) {
	tasks := p.k.tasksOf(p) // before p.mu: lock order
	p.mu.Lock()
	defer p.mu.Unlock()
	all := p.pending
	for _, x := range tasks {
		all |= x.pending
	}
	return all&set != 0, p.pendingChangedLocked()
}

// signalfd flags (SFD_CLOEXEC, SFD_NONBLOCK).
const (
	sfdCloexec  = linux.O_CLOEXEC
	sfdNonblock = linux.O_NONBLOCK
)

// signalfdSiginfoSize is sizeof(struct signalfd_siginfo).
const signalfdSiginfoSize = 128

// signalFD is a signalfd: reading it takes pending signals of its mask
// from the reading thread and its process. It belongs to the process that
// made it: readiness (poll, epoll) looks at that process's pending
// signals and those of all its threads (Linux looks at the polling
// thread's).
type signalFD struct {
	proc *Process
	id   uint64
	file.Refs
	file.StatusFlags              // O_NONBLOCK
	mu               sync.Mutex   // protects mask
	mask             linux.SigSet // without SIGKILL and SIGSTOP
}

func newSignalFD(p *Process, mask linux.SigSet, flags uint32) *signalFD {
	f := &signalFD{proc: p, id: p.k.signalfdIno.Add(1) + 200000, mask: mask &^ unblockable}
	f.InitStatus(linux.O_RDWR | flags&linux.O_NONBLOCK)
	return f
}

// setMask replaces the mask (signalfd on an existing descriptor) and
// wakes pollers, whose readiness may change.
func (f *signalFD) setMask(mask linux.SigSet) {
	f.mu.Lock()
	f.mask = mask &^ unblockable
	f.mu.Unlock()
	f.proc.mu.Lock()
	f.proc.signalPendingLocked()
	f.proc.mu.Unlock()
}

func (f *signalFD) getMask() linux.SigSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mask
}

// DecRef implements File: the last reference runs the release hooks
// (an epoll file drops the signalfd from its interest lists then).
func (f *signalFD) DecRef() { f.Drop() }

// Name implements File.
func (f *signalFD) Name() string { return "anon_inode:[signalfd]" }

// Read implements File: one struct signalfd_siginfo per signal, as many
// as fit; it waits for the first unless the file is non-blocking.
func (f *signalFD) Read(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	t, ok := ctx.(*Task)
	if !ok {
		return 0, linux.EINVAL
	}
	var out []byte
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total < signalfdSiginfoSize {
		return 0, linux.EINVAL
	}
	for len(out)+signalfdSiginfoSize <= total {
		sig, info, changed, ok := t.dequeueIn(f.getMask())
		if !ok {
			if len(out) > 0 {
				break
			}
			if f.Nonblocking() || changed == nil {
				return 0, linux.EAGAIN
			}
			if err := t.Block(changed, 0); err != nil {
				return 0, err
			}
			continue
		}
		ssi := signalfdSiginfo(sig, info)
		out = append(out, ssi[:]...)
	}
	n := 0
	for _, b := range bufs {
		n += copy(b, out[n:])
	}
	return n, nil
}

// Write implements File: a signalfd has no write.
func (f *signalFD) Write(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	return 0, linux.EINVAL
}

// Stat implements File: an anonymous inode.
func (f *signalFD) Stat() ([statSize]byte, error) { return anonStat(f.id), nil }

// anonStat is the struct stat of an anonymous inode with number ino.
func anonStat(ino uint64) [statSize]byte {
	var st [statSize]byte
	putU64(st[8:], ino)    // st_ino
	putU64(st[16:], 1)     // st_nlink
	putU32(st[24:], 0o600) // st_mode
	putU64(st[56:], 4096)  // st_blksize
	return st
}

// Readiness implements File: readable while a signal of the mask is
// pending in the process or one of its threads.
func (f *signalFD) Readiness() (uint32, <-chan struct{}) {
	pending, changed := f.proc.pendingIn(f.getMask())
	if pending {
		return pollIn, changed
	}
	return 0, changed
}

// siginfo layouts (siginfo_layout), as far as they decide what signalfd
// copies.
const (
	siTimer = -2 // SI_TIMER
	siQueue = -1 // SI_QUEUE
	siSigio = -5 // SI_SIGIO
)

// signalfdSiginfo converts a siginfo to struct signalfd_siginfo
// (signalfd_copyinfo).
func signalfdSiginfo(sig linux.Signal, si sigInfo) [signalfdSiginfoSize]byte {
	le := binary.LittleEndian
	var out [signalfdSiginfoSize]byte
	code := int32(le.Uint32(si[8:]))
	le.PutUint32(out[0:], uint32(sig))
	copy(out[4:12], si[4:12]) // ssi_errno, ssi_code
	fault := code > 0 && code < siKernel && (sig == linux.SIGSEGV || sig == linux.SIGILL ||
		sig == linux.SIGFPE || sig == linux.SIGBUS || sig == linux.SIGTRAP)
	switch {
	case fault:
		copy(out[72:80], si[16:24]) // ssi_addr
	case code > 0 && code < siKernel && sig == linux.SIGCHLD:
		copy(out[12:20], si[16:24]) // ssi_pid, ssi_uid
		copy(out[40:44], si[24:28]) // ssi_status
		copy(out[56:72], si[32:48]) // ssi_utime, ssi_stime
	case code == siTimer:
		copy(out[24:28], si[16:20]) // ssi_tid
		copy(out[32:36], si[20:24]) // ssi_overrun
		copy(out[44:48], si[24:28]) // ssi_int
		copy(out[48:56], si[24:32]) // ssi_ptr
	case code == siSigio:
		copy(out[28:32], si[16:20]) // ssi_band
		copy(out[20:24], si[24:28]) // ssi_fd
	case code < 0:
		copy(out[12:20], si[16:24]) // ssi_pid, ssi_uid
		copy(out[44:48], si[24:28]) // ssi_int
		copy(out[48:56], si[24:32]) // ssi_ptr
	default:
		copy(out[12:20], si[16:24]) // ssi_pid, ssi_uid
	}
	return out
}
