package event

import (
	"encoding/binary"
	"sync"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// eventfd2 flags (EFD_CLOEXEC is O_CLOEXEC, EFD_NONBLOCK O_NONBLOCK).
const (
	EFDSemaphore = 0x1
	EFDNonblock  = linux.O_NONBLOCK
	EFDCloexec   = linux.O_CLOEXEC
)

// maxCount is the largest value an eventfd counter holds; writes that
// would pass it wait.
const maxCount = ^uint64(0) - 1

// EventFD is an eventfd: a 64-bit counter that writes add to and reads
// take (all of it, or one in semaphore mode).
type EventFD struct {
	anon
	semaphore bool
	mu        sync.Mutex // protects count
	count     uint64     // at most maxCount
}

// NewEventFD returns an eventfd holding initval. flags are eventfd2's
// (EFD_CLOEXEC is the caller's business); others are EINVAL.
func NewEventFD(initval uint32, flags uint32) (*EventFD, error) {
	if flags&^(EFDSemaphore|EFDNonblock|EFDCloexec) != 0 {
		return nil, linux.EINVAL
	}
	e := &EventFD{semaphore: flags&EFDSemaphore != 0, count: uint64(initval)}
	e.init("eventfd", flags&EFDNonblock != 0)
	return e, nil
}

// DecRef implements file.File.
func (e *EventFD) DecRef() { e.Drop() }

// Read implements file.File: with at least 8 bytes of room it takes the
// counter (or 1 of it in semaphore mode), waiting while it is zero.
func (e *EventFD) Read(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return 0, linux.ESPIPE
	}
	if bufLen(bufs) < 8 {
		return 0, linux.EINVAL
	}
	for {
		e.mu.Lock()
		if e.count > 0 {
			v := e.count
			if e.semaphore {
				v = 1
			}
			e.count -= v
			e.mu.Unlock()
			e.Notify(file.PollOut)
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], v)
			scatter(bufs, b[:])
			return 8, nil
		}
		w := e.Arm(ctx)
		e.mu.Unlock()
		if err := e.wait(ctx, w); err != nil {
			return 0, err
		}
	}
}

// Write implements file.File: it adds the 8-byte value of bufs to the
// counter, waiting while that would pass 0xfffffffffffffffe; the value
// 0xffffffffffffffff itself is EINVAL.
func (e *EventFD) Write(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return 0, linux.ESPIPE
	}
	if bufLen(bufs) < 8 {
		return 0, linux.EINVAL
	}
	var b [8]byte
	gather(b[:], bufs)
	v := binary.LittleEndian.Uint64(b[:])
	if v == ^uint64(0) {
		return 0, linux.EINVAL
	}
	for {
		e.mu.Lock()
		if maxCount-e.count >= v {
			e.count += v
			e.mu.Unlock()
			e.Notify(file.PollIn)
			return 8, nil
		}
		w := e.Arm(ctx)
		e.mu.Unlock()
		if err := e.wait(ctx, w); err != nil {
			return 0, err
		}
	}
}

// Readiness implements file.File: readable while the counter is not
// zero, writable while it is below 0xfffffffffffffffe.
func (e *EventFD) Readiness() (uint32, <-chan struct{}) {
	ch := e.Changed()
	e.mu.Lock()
	defer e.mu.Unlock()
	var ev uint32
	if e.count > 0 {
		ev |= file.PollIn
	}
	if e.count < maxCount {
		ev |= file.PollOut
	}
	return ev, ch
}

// Count returns the counter (for /proc/PID/fdinfo and tests).
func (e *EventFD) Count() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count
}
