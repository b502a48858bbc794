package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
)

// ExitGroup implements exit_group(2).
func ExitGroup(t *Task, a Args) (uintptr, error) {
	t.proc.killGroup(ExitStatus{Code: int(a.Int(0) & 0xff)})
	return 0, nil
}

// Exit implements exit(2): it ends the calling thread; the last thread
// ends the process with the given code.
func Exit(t *Task, a Args) (uintptr, error) {
	t.exitStatus = &ExitStatus{Code: int(a.Int(0) & 0xff)}
	return 0, nil
}

// Getpid implements getpid(2).
func Getpid(t *Task, a Args) (uintptr, error) { return uintptr(t.proc.pid), nil }

// Gettid implements gettid(2).
func Gettid(t *Task, a Args) (uintptr, error) { return uintptr(t.tid), nil }

// Getppid implements getppid(2): orphans and the first process have the
// reaper, pid 1, as parent.
func Getppid(t *Task, a Args) (uintptr, error) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return uintptr(t.proc.parent.pid), nil
}

// Getuid and friends return the credentials.
func Getuid(t *Task, a Args) (uintptr, error)  { return uintptr(t.proc.Creds().RUID), nil }
func Geteuid(t *Task, a Args) (uintptr, error) { return uintptr(t.proc.Creds().EUID), nil }
func Getgid(t *Task, a Args) (uintptr, error)  { return uintptr(t.proc.Creds().RGID), nil }
func Getegid(t *Task, a Args) (uintptr, error) { return uintptr(t.proc.Creds().EGID), nil }

// SetTidAddress implements set_tid_address(2).
func SetTidAddress(t *Task, a Args) (uintptr, error) {
	t.clearChildTID = a.Pointer(0)
	return uintptr(t.tid), nil
}

// SetRobustList implements set_robust_list(2).
func SetRobustList(t *Task, a Args) (uintptr, error) {
	if a.Uint64(1) != t.table.abi.robust {
		return 0, linux.EINVAL
	}
	t.robustList = a.Pointer(0)
	return 0, nil
}

// ArchPrctl implements arch_prctl(2) for the FS and GS bases.
func ArchPrctl(t *Task, a Args) (uintptr, error) {
	if t.cpu == nil {
		return 0, linux.ENOSYS // a task that runs no code (kerneltest)
	}
	switch a.Int(0) {
	case linux.ARCH_SET_FS:
		if a.Uint64(1) >= uint64(1)<<47 {
			return 0, linux.EPERM
		}
		return 0, t.cpu.SetFSBase(a.Uint64(1))
	case linux.ARCH_GET_FS, linux.ARCH_GET_GS:
		regs, err := t.cpu.Regs()
		if err != nil {
			return 0, err
		}
		v := regs.FSBase
		if a.Int(0) == linux.ARCH_GET_GS {
			v = regs.GSBase
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		_, err = t.MM().CopyOut(a.Pointer(1), b[:])
		return 0, err
	case linux.ARCH_SET_GS:
		regs, err := t.cpu.Regs()
		if err != nil {
			return 0, err
		}
		regs.GSBase = a.Uint64(1)
		return 0, t.cpu.SetRegs(&regs)
	}
	return 0, linux.EINVAL
}

// prctl options.
const (
	prSetPdeathsig = 1
	prGetDumpable  = 3
	prSetDumpable  = 4
	prSetName      = 15
	prGetName      = 16
	prSetSubreaper = 36
	prGetSubreaper = 37
)

// Prctl implements prctl(2) for dumpable and the thread name.
func Prctl(t *Task, a Args) (uintptr, error) {
	p := t.proc
	switch a.Int(0) {
	case prGetDumpable:
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.dumpable {
			return 1, nil
		}
		return 0, nil
	case prSetDumpable:
		if a.Uint64(1) > 1 {
			return 0, linux.EINVAL
		}
		p.mu.Lock()
		p.dumpable = a.Uint64(1) == 1
		p.mu.Unlock()
		return 0, nil
	case prSetName, prSetPdeathsig:
		return 0, nil
	case prSetSubreaper:
		t.k.mu.Lock()
		p.subreaper = a.Uint64(1) != 0
		t.k.mu.Unlock()
		return 0, nil
	case prGetSubreaper:
		t.k.mu.Lock()
		v := uint32(0)
		if p.subreaper {
			v = 1
		}
		t.k.mu.Unlock()
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], v)
		_, err := t.MM().CopyOut(a.Pointer(1), b[:])
		return 0, err
	case prGetName:
		_, err := t.MM().CopyOut(a.Pointer(1), []byte("cmaemu-guest\x00\x00\x00\x00"))
		return 0, err
	}
	return 0, linux.EINVAL
}
