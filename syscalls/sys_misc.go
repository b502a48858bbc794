package syscalls

import (
	"crypto/rand"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
)

// Uname implements uname(2): the host's identity, as x86_64.
func Uname(t *Task, a Args) (uintptr, error) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return 0, hostErr(err)
	}
	raw := (*[6 * 65]byte)(unsafe.Pointer(&u))[:]
	out := make([]byte, len(raw))
	copy(out, raw)
	field := out[4*65 : 5*65]
	clear(field)
	copy(field, "x86_64")
	_, err := t.MM().CopyOut(a.Pointer(0), out)
	return 0, err
}

// Getrandom implements getrandom(2).
func Getrandom(t *Task, a Args) (uintptr, error) {
	if a.Uint(2)&^7 != 0 {
		return 0, linux.EINVAL
	}
	n := min(a.Uint64(1), 1<<25)
	buf := make([]byte, n)
	rand.Read(buf)
	got, err := t.MM().CopyOut(a.Pointer(0), buf)
	if got > 0 {
		return uintptr(got), nil
	}
	return 0, err
}

// rlimit resources.
const (
	rlimitStack  = 3
	rlimitNofile = 7
	rlimNLimits  = 16
)

// Prlimit64 implements prlimit64(2) for the caller itself: limits are
// the host's, except those cmaemu imposes (stack, open files); setting
// is accepted and has no effect.
func Prlimit64(t *Task, a Args) (uintptr, error) {
	if pid := a.Int(0); pid != 0 && pid != t.proc.pid {
		return 0, linux.ESRCH
	}
	res := a.Uint(1)
	if res >= rlimNLimits {
		return 0, linux.EINVAL
	}
	if a.Pointer(3) == 0 {
		return 0, nil
	}
	var lim [2]uint64
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, 0, uintptr(res), 0, uintptr(unsafe.Pointer(&lim)), 0, 0); e != 0 {
		return 0, linux.Errno(e)
	}
	switch res {
	case rlimitStack:
		lim[0] = 8 << 20
	case rlimitNofile:
		lim[0], lim[1] = maxFDs, maxFDs
	}
	_, err := t.MM().CopyOut(a.Pointer(3), (*[16]byte)(unsafe.Pointer(&lim))[:])
	return 0, err
}

// Getrlimit implements getrlimit(2).
func Getrlimit(t *Task, a Args) (uintptr, error) {
	return Prlimit64(t, Args{0, a[0], 0, a[1]})
}

// SchedGetaffinity implements sched_getaffinity(2) with the host's CPUs.
func SchedGetaffinity(t *Task, a Args) (uintptr, error) {
	size := a.Uint64(1)
	if size == 0 || size%8 != 0 {
		return 0, linux.EINVAL
	}
	buf := make([]byte, min(size, 1024))
	r, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, uintptr(len(buf)), uintptr(unsafe.Pointer(&buf[0])))
	if e != 0 {
		return 0, linux.Errno(e)
	}
	_, err := t.MM().CopyOut(a.Pointer(2), buf[:r])
	return r, err
}

// SchedYield implements sched_yield(2).
func SchedYield(t *Task, a Args) (uintptr, error) { return 0, nil }
