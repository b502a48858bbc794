package syscalls

import (
	"github.com/cmaemu/cmaemu/kernel/event"
)

// Eventfd2 implements eventfd2(2).
func Eventfd2(t *Task, a Args) (uintptr, error) {
	e, err := event.NewEventFD(a.Uint(0), a.Uint(1))
	if err != nil {
		return 0, err
	}
	fd, err := t.proc.fds.Install(e, 0, a.Uint(1)&event.EFDCloexec != 0)
	return uintptr(fd), err
}

// Eventfd implements eventfd(2): eventfd2 without flags.
func Eventfd(t *Task, a Args) (uintptr, error) { return Eventfd2(t, Args{a[0]}) }
