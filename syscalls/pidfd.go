package syscalls

import (
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// pidFD is a pidfd: a reference to a process (pidfd_open). It is
// readable (POLLIN|POLLRDNORM) once the process has exited, with POLLHUP
// too once it has been reaped; reading it is EINVAL.
type pidFD struct {
	proc *Process
	file.Refs
	file.StatusFlags // O_NONBLOCK (PIDFD_NONBLOCK)
}

func newPidFD(p *Process, flags uint32) *pidFD {
	f := &pidFD{proc: p}
	f.InitStatus(linux.O_RDWR | flags&linux.O_NONBLOCK)
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
