// Package file defines an open file description as the kernel's objects
// implement it — host and VFS files, pipes, sockets, event and IPC
// objects — and what their blocking operations need from the calling
// task. It sits below the system call handlers so that each family of
// objects can live in its own package (net/unix, kernel/event, ...).
package file

import (
	"errors"
	"time"
)

// File is an open file description. Guest buffers reach it as host memory
// (bufs) that stays pinned for the call. References: whoever holds a File
// holds one reference and drops it with DecRef.
type File interface {
	IncRef()
	DecRef()
	// Name is the path the file was opened by, or a label like "pipe:[7]".
	Name() string
	// Read fills bufs in order at offset off (-1: the file position). It
	// may block, interruptibly, through ctx.
	Read(ctx Context, bufs [][]byte, off int64) (int, error)
	// Write writes bufs in order at off (-1: the file position).
	Write(ctx Context, bufs [][]byte, off int64) (int, error)
	// Status returns the file status flags (O_APPEND, O_NONBLOCK, ...).
	Status() (uint32, error)
	// SetStatus changes the flags F_SETFL may change.
	SetStatus(flags uint32) error
	// Stat returns x86-64's struct stat (EncodeStat).
	Stat() ([StatSize]byte, error)
	// Readiness returns the poll events the file is ready for now, and a
	// channel closed at its next change (nil: it never changes, or it is a
	// host file whose readiness must be polled).
	Readiness() (events uint32, changed <-chan struct{})
}

// Context is what a file operation needs from the task that calls it.
type Context interface {
	// Block waits until ready is closed (nil), the timeout passes
	// (ETIMEDOUT; 0: no timeout) or the task is interrupted by a signal
	// or a kill (ErrRestart, which the caller returns as it is).
	Block(ready <-chan struct{}, timeout time.Duration) error
	// WaitHost waits until host descriptor fd is ready for events
	// (PollIn, PollOut) or the task is interrupted (ErrRestart).
	WaitHost(fd int, events int16) error
	// SendSIGPIPE raises SIGPIPE on the calling thread (a write to a pipe
	// or socket with no reader).
	SendSIGPIPE()
	// Ucred returns the caller's process id and effective ids, as
	// SO_PEERCRED and SCM_CREDENTIALS report them.
	Ucred() Ucred
}

// Ucred is struct ucred.
type Ucred struct {
	Pid int32
	UID uint32
	GID uint32
}

// ErrRestart is returned by interrupted calls: the call restarts after a
// handler with SA_RESTART and returns EINTR otherwise.
var ErrRestart = errors.New("restart system call")

// Poll events (asm-generic/poll.h), as Readiness reports them.
const (
	PollIn     = 0x1
	PollPri    = 0x2
	PollOut    = 0x4
	PollErr    = 0x8
	PollHup    = 0x10
	PollNval   = 0x20
	PollRdNorm = 0x40
	PollRdBand = 0x80
	PollWrNorm = 0x100
	PollWrBand = 0x200
	PollMsg    = 0x400
	PollRdHup  = 0x2000
)
