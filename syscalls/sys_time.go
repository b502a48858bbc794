package syscalls

import (
	"encoding/binary"
	"syscall"
	"time"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
)

// ClockGettime implements clock_gettime(2) with the host's clocks.
func ClockGettime(t *Task, a Args) (uintptr, error) {
	if d, ok, err := t.cpuClockGettime(a.Int(0), false); ok {
		return 0, t.putTimespec(a.Pointer(1), d, err, false)
	}
	var ts [16]byte
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(a.Int(0)), uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, linux.Errno(e)
	}
	_, err := t.MM().CopyOut(a.Pointer(1), ts[:])
	return 0, err
}

// ClockGetres implements clock_getres(2).
func ClockGetres(t *Task, a Args) (uintptr, error) {
	if d, ok, err := t.cpuClockGettime(a.Int(0), true); ok {
		if a.Pointer(1) == 0 {
			return 0, err
		}
		return 0, t.putTimespec(a.Pointer(1), d, err, false)
	}
	var ts [16]byte
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETRES, uintptr(a.Int(0)), uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, linux.Errno(e)
	}
	if a.Pointer(1) == 0 {
		return 0, nil
	}
	_, err := t.MM().CopyOut(a.Pointer(1), ts[:])
	return 0, err
}

// Gettimeofday implements gettimeofday(2).
func Gettimeofday(t *Task, a Args) (uintptr, error) {
	var tv [16]byte
	if _, _, e := syscall.Syscall(syscall.SYS_GETTIMEOFDAY, uintptr(unsafe.Pointer(&tv)), 0, 0); e != 0 {
		return 0, linux.Errno(e)
	}
	if a.Pointer(0) != 0 {
		if _, err := t.MM().CopyOut(a.Pointer(0), tv[:]); err != nil {
			return 0, err
		}
	}
	if a.Pointer(1) != 0 {
		if _, err := t.MM().CopyOut(a.Pointer(1), make([]byte, 8)); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Time implements time(2).
func Time(t *Task, a Args) (uintptr, error) {
	var tv syscall.Timeval
	syscall.Gettimeofday(&tv)
	if a.Pointer(0) != 0 {
		var b [8]byte
		*(*int64)(unsafe.Pointer(&b)) = tv.Sec
		if _, err := t.MM().CopyOut(a.Pointer(0), b[:]); err != nil {
			return 0, err
		}
	}
	return uintptr(tv.Sec), nil
}

// ClockNanosleep implements clock_nanosleep(2); the sleep is
// interruptible by signals.
var ClockNanosleep = sleepHandler(false, true)

// Nanosleep implements nanosleep(2).
var Nanosleep = sleepHandler(false, false)

// clockGettime reads a host clock.
func clockGettime(clock uintptr, ts *[2]int64) {
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clock, uintptr(unsafe.Pointer(ts)), 0)
}

// Time32 implements i386 time(2).
func Time32(t *Task, a Args) (uintptr, error) {
	var tv syscall.Timeval
	syscall.Gettimeofday(&tv)
	if a.Pointer(0) != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(tv.Sec))
		if _, err := t.MM().CopyOut(a.Pointer(0), b[:]); err != nil {
			return 0, err
		}
	}
	return uintptr(uint32(tv.Sec)), nil
}

// sleepHandler makes nanosleep (clockArg false) or clock_nanosleep for a
// timespec layout; the sleep is interruptible by signals.
func sleepHandler(time32, clockArg bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		clock, flags, req := int32(0), int32(0), a.Pointer(0)
		if clockArg {
			clock, flags, req = a.Int(0), a.Int(1), a.Pointer(2)
		}
		if clockArg {
			if err := sleepClockOK(clock); err != nil {
				return 0, err
			}
		}
		d, err := t.timespec(req, time32)
		if err != nil {
			return 0, err
		}
		if flags&1 != 0 { // TIMER_ABSTIME
			d = t.untilAbsolute(d, clock == 0)
		}
		if d <= 0 {
			return 0, nil
		}
		deadline := time.Now().Add(d)
		switch err := t.Block(nil, d); err {
		case linux.ETIMEDOUT:
			return 0, nil
		case errRestart:
			// A relative sleep tells how much of it was left.
			rem := a.Pointer(1)
			if clockArg {
				rem = a.Pointer(3)
			}
			if flags&1 == 0 && rem != 0 {
				left := max(time.Until(deadline), 0)
				if err := t.putTimespec(rem, left, nil, time32); err != nil {
					return 0, err
				}
			}
			return 0, linux.EINTR
		default:
			return 0, err
		}
	}
}
