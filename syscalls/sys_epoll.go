package syscalls

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/cmaemu/cmaemu/kernel/event"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// epollEventSize is sizeof(struct epoll_event): packed on x86-64, and so
// the same 12 bytes on i386.
const epollEventSize = 12

// epollMaxEvents is EP_MAX_EVENTS: maxevents beyond it is EINVAL.
const epollMaxEvents = math.MaxInt32 / epollEventSize

// EpollCreate1 implements epoll_create1(2).
func EpollCreate1(t *Task, a Args) (uintptr, error) {
	ep, err := event.NewEPoll(&t.k.epolls, a.Uint(0))
	if err != nil {
		return 0, err
	}
	fd, err := t.proc.fds.Install(ep, 0, a.Uint(0)&event.EPOLLCloexec != 0)
	return uintptr(fd), err
}

// EpollCreate implements epoll_create(2): the size must be positive and
// means nothing else.
func EpollCreate(t *Task, a Args) (uintptr, error) {
	if a.Int(0) <= 0 {
		return 0, linux.EINVAL
	}
	return EpollCreate1(t, Args{})
}

// EpollCtl implements epoll_ctl(2).
func EpollCtl(t *Task, a Args) (uintptr, error) {
	op, fd := a.Int(1), a.Int(2)
	var ev event.Event
	if op != event.CtlDel {
		var b [epollEventSize]byte
		if _, err := t.MM().CopyIn(a.Pointer(3), b[:]); err != nil {
			return 0, err
		}
		ev = event.Event{Events: binary.LittleEndian.Uint32(b[:]), Data: binary.LittleEndian.Uint64(b[4:])}
	}
	epf, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	defer epf.DecRef()
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, event.Ctl(epf, op, f, fd, ev)
}

// EpollWait implements epoll_wait(2) (timeout in milliseconds, < 0: none).
func EpollWait(t *Task, a Args) (uintptr, error) {
	timeout := time.Duration(-1)
	if ms := a.Int(3); ms >= 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	return t.epollWait(a.Int(0), a.Pointer(1), a.Int(2), timeout)
}

// EpollPwait implements epoll_pwait(2): epoll_wait with a signal mask,
// as ppoll has.
func EpollPwait(t *Task, a Args) (uintptr, error) {
	return t.withMask(a.Pointer(4), a.Uint64(5), func() (uintptr, error) { return EpollWait(t, a) })
}

// EpollPwait2 implements epoll_pwait2(2): the timeout is a struct
// __kernel_timespec (64-bit on both ABIs; NULL: none).
func EpollPwait2(t *Task, a Args) (uintptr, error) {
	timeout := time.Duration(-1)
	if a.Pointer(3) != 0 {
		var b [16]byte
		if _, err := t.MM().CopyIn(a.Pointer(3), b[:]); err != nil {
			return 0, err
		}
		ns := timespecNanos(int64(binary.LittleEndian.Uint64(b[:])), int64(binary.LittleEndian.Uint64(b[8:])))
		if ns < 0 {
			return 0, linux.EINVAL
		}
		timeout = time.Duration(ns)
	}
	return t.withMask(a.Pointer(4), a.Uint64(5), func() (uintptr, error) {
		return t.epollWait(a.Int(0), a.Pointer(1), a.Int(2), timeout)
	})
}

// epollWait checks epoll_wait's arguments in Linux's order, waits and
// writes the events. An interrupted wait is EINTR, never restarted.
func (t *Task) epollWait(epfd int32, events mm.Addr, max int32, timeout time.Duration) (uintptr, error) {
	f, err := t.proc.fds.Get(epfd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if max <= 0 || max > epollMaxEvents {
		return 0, linux.EINVAL
	}
	if end := uint64(events) + uint64(max)*epollEventSize; end < uint64(events) || end > uint64(mm.TaskSize) {
		return 0, linux.EFAULT
	}
	ep, ok := f.(*event.EPoll)
	if !ok {
		return 0, linux.EINVAL
	}
	got, err := ep.Wait(t, int(max), timeout)
	if err == errRestart {
		return 0, linux.EINTR
	}
	if err != nil || len(got) == 0 {
		return 0, err
	}
	b := make([]byte, epollEventSize*len(got))
	for i, e := range got {
		binary.LittleEndian.PutUint32(b[epollEventSize*i:], e.Events)
		binary.LittleEndian.PutUint64(b[epollEventSize*i+4:], e.Data)
	}
	if _, err := t.MM().CopyOut(events, b); err != nil {
		return 0, err
	}
	return uintptr(len(got)), nil
}
