package syscalls

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"cmaemu/linux"
	"cmaemu/mm"
)

// ClockGettime implements clock_gettime(2) with the host's clocks.
func ClockGettime(t *Task, a Args) (uintptr, error) {
	var ts [16]byte
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(a.Int(0)), uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, linux.Errno(e)
	}
	_, err := t.MM().CopyOut(a.Pointer(1), ts[:])
	return 0, err
}

// ClockGetres implements clock_getres(2).
func ClockGetres(t *Task, a Args) (uintptr, error) {
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

// ClockNanosleep implements clock_nanosleep(2) on the host clock.
func ClockNanosleep(t *Task, a Args) (uintptr, error) {
	return sleep(t, a.Int(0), a.Int(1), a.Pointer(2), a.Pointer(3))
}

// Nanosleep implements nanosleep(2).
func Nanosleep(t *Task, a Args) (uintptr, error) {
	return sleep(t, 0 /* CLOCK_REALTIME */, 0, a.Pointer(0), a.Pointer(1))
}

// sleep sleeps on the host's clock; host signals that interrupt it are
// the emulator's own, so the sleep goes on with the time remaining.
func sleep(t *Task, clock, flags int32, req, rem mm.Addr) (uintptr, error) {
	var ts [2]int64
	var b [16]byte
	if _, err := t.MM().CopyIn(req, b[:]); err != nil {
		return 0, err
	}
	ts[0], ts[1] = int64(binary.LittleEndian.Uint64(b[:])), int64(binary.LittleEndian.Uint64(b[8:]))
	if ts[0] < 0 || ts[1] < 0 || ts[1] >= 1e9 {
		return 0, linux.EINVAL
	}
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_CLOCK_NANOSLEEP, uintptr(clock), uintptr(flags),
			uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&ts)), 0, 0)
		switch e {
		case 0:
			return 0, nil
		case syscall.EINTR:
			continue
		}
		return 0, linux.Errno(e)
	}
}

// clockGettime reads a host clock.
func clockGettime(clock uintptr, ts *[2]int64) {
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clock, uintptr(unsafe.Pointer(ts)), 0)
}
