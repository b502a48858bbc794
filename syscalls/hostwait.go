package syscalls

import (
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
)

// Host descriptors that can block (pipes, FIFOs, terminals and other
// character devices, sockets) are waited on with poll(2) together with
// the task's wake-up descriptor, an eventfd that poke writes: a signal,
// a kill or another thread's execve ends the wait, as it ends a blocking
// call in Linux, instead of waiting for the host call to return (for
// ever, on an idle terminal). The host call itself is made only once
// poll says it will not block, and with the descriptor's own flags, which
// other host processes may share: O_NONBLOCK is never set on them.

// hostWake is a task's wake-up descriptor, made on first use.
type hostWake struct {
	mu sync.Mutex // protects fd against poke racing with release
	fd int        // the eventfd, or 0 before first use, -1 once released
}

const (
	sysEventfd2 = 290
	efdCloexec  = 0x80000
	efdNonblock = 0x800
)

// get returns the eventfd, making it if needed.
func (w *hostWake) get() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd == 0 {
		fd, _, e := syscall.RawSyscall(sysEventfd2, 0, efdCloexec|efdNonblock, 0)
		if e != 0 {
			return -1, linux.Errno(e)
		}
		w.fd = int(fd)
	}
	return w.fd, nil
}

// signal wakes a poll on the eventfd, if there is one.
func (w *hostWake) signal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd > 0 {
		one := uint64(1)
		syscall.Write(w.fd, (*[8]byte)(unsafe.Pointer(&one))[:])
	}
}

// drain reads the eventfd's count back to zero.
func (w *hostWake) drain(fd int) {
	var buf [8]byte
	syscall.Read(fd, buf[:])
}

// release closes the eventfd (the task has exited).
func (w *hostWake) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd > 0 {
		syscall.Close(w.fd)
	}
	w.fd = -1
}

type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// WaitHost waits until the host descriptor fd is ready for events
// (pollIn or pollOut), or the task is interrupted (errRestart).
func (t *Task) WaitHost(fd int, events int16) error {
	return t.WaitHostTimeout(fd, events, 0)
}

// WaitHostTimeout is WaitHost that gives up with ETIMEDOUT once timeout
// (> 0; 0: none) has passed (net/inet's TimedHostWaiter: SO_RCVTIMEO).
func (t *Task) WaitHostTimeout(fd int, events int16, timeout time.Duration) error {
	wfd, err := t.hostWake.get()
	if err != nil {
		return nil // no eventfd: the host call blocks as before
	}
	defer t.legitWait()()
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if t.interrupted() {
			return errRestart
		}
		ms := -1
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return linux.ETIMEDOUT
			}
			ms = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		fds := [2]pollFd{{fd: int32(fd), events: events}, {fd: int32(wfd), events: pollIn}}
		_, _, e := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&fds[0])), 2, uintptr(ms))
		switch {
		case e == syscall.EINTR:
		case e != 0:
			return nil // let the host call report the problem
		case fds[0].revents != 0:
			return nil
		case fds[1].revents != 0:
			t.hostWake.drain(wfd)
		}
	}
}

// hostKindMayBlock reports whether host descriptor fd is of a kind whose
// reads or writes can block: a pipe, FIFO, socket or character device,
// except the memory devices (null, zero, full, random, urandom), which
// never wait.
func hostKindMayBlock(fd int) bool {
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil {
		return false
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFIFO, syscall.S_IFSOCK:
		return true
	case syscall.S_IFCHR:
		const memMajor = 1
		return (st.Rdev>>8)&0xfff != memMajor
	}
	return false
}

// hostNonblocking reports whether the host descriptor has O_NONBLOCK.
func hostNonblocking(fd int) bool {
	fl, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	return e != 0 || fl&syscall.O_NONBLOCK != 0
}
