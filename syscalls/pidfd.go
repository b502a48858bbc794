package syscalls

import (
	"sync/atomic"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// anonStatus are the status flags of an anonymous-inode file: O_RDWR
// and O_NONBLOCK, which F_SETFL may change.
type anonStatus struct{ status atomic.Uint32 }

// Status implements File.
func (a *anonStatus) Status() (uint32, error) { return a.status.Load(), nil }

// SetStatus implements File: only O_NONBLOCK changes.
func (a *anonStatus) SetStatus(flags uint32) error {
	old := a.status.Load()
	a.status.Store(old&^linux.O_NONBLOCK | flags&linux.O_NONBLOCK)
	return nil
}

// pidFD is a pidfd: a reference to a process (pidfd_open). It is
// readable (POLLIN|POLLRDNORM) once the process has exited, with POLLHUP
// too once it has been reaped; reading it is EINVAL.
type pidFD struct {
	proc *Process
	file.Refs
	anonStatus // O_NONBLOCK (PIDFD_NONBLOCK)
}

func newPidFD(p *Process, flags uint32) *pidFD {
	f := &pidFD{proc: p}
	f.status.Store(linux.O_RDWR | flags&linux.O_NONBLOCK)
	return f
}

// DecRef implements File.
func (f *pidFD) DecRef() { f.Drop() }

// Name implements File.
func (f *pidFD) Name() string { return "anon_inode:[pidfd]" }

// Read implements File: a pidfd has no read.
func (f *pidFD) Read(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	return 0, linux.EINVAL
}

// Write implements File: a pidfd has no write.
func (f *pidFD) Write(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	return 0, linux.EINVAL
}

// Stat implements File: an anonymous inode.
func (f *pidFD) Stat() ([statSize]byte, error) { return anonStat(uint64(f.proc.pid) + 300000), nil }

// Readiness implements File: the process's exit is its one change.
func (f *pidFD) Readiness() (uint32, <-chan struct{}) {
	p := f.proc
	select {
	case <-p.done:
	default:
		return 0, p.done
	}
	p.k.mu.Lock()
	reaped := p.state == procReaped
	p.k.mu.Unlock()
	if reaped {
		return pollIn | file.PollRdNorm | pollHup, nil
	}
	return pollIn | file.PollRdNorm, nil
}
