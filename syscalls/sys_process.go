package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
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

// ArchPrctl implements x86-64's arch_prctl(2): the FS and GS bases (an
// address at or above TASK_SIZE is EPERM) and the options both ABIs
// have (archPrctlCommon).
func ArchPrctl(t *Task, a Args) (uintptr, error) {
	code, arg := a.Int(0), a.Uint64(1)
	switch code {
	case linux.ARCH_SET_FS, linux.ARCH_SET_GS, linux.ARCH_GET_FS, linux.ARCH_GET_GS:
	default:
		return archPrctlCommon(t, code, arg)
	}
	if t.cpu == nil {
		return 0, linux.ENOSYS // a task that runs no code (kerneltest)
	}
	switch code {
	case linux.ARCH_SET_FS:
		if arg >= uint64(mm.TaskSize) {
			return 0, linux.EPERM
		}
		return 0, t.cpu.SetFSBase(arg)
	case linux.ARCH_SET_GS:
		if arg >= uint64(mm.TaskSize) {
			return 0, linux.EPERM
		}
		regs, err := t.cpu.Regs()
		if err != nil {
			return 0, err
		}
		regs.GSBase = arg
		return 0, t.cpu.SetRegs(&regs)
	}
	regs, err := t.cpu.Regs()
	if err != nil {
		return 0, err
	}
	v := regs.FSBase
	if code == linux.ARCH_GET_GS {
		v = regs.GSBase
	}
	return 0, t.putUint64(mm.Addr(arg), v)
}

// ArchPrctl32 implements i386's arch_prctl (384): only the options of
// both ABIs; the FS and GS bases are EINVAL there.
func ArchPrctl32(t *Task, a Args) (uintptr, error) {
	return archPrctlCommon(t, a.Int(0), uint64(a.Uint(1)))
}

// xfeatures are the XSAVE state components of the emulated CPU, which
// has no AVX: x87 and SSE (XFEATURE_MASK_FPSSE).
const xfeatures = 0x3

// xfeatureMax is XFEATURE_MAX, the number of state components Linux
// knows.
const xfeatureMax = 20

// archPrctlCommon is do_arch_prctl_common: CPUID is always enabled and
// cannot be switched off (the CPU has no CPUID faulting: ENODEV); the
// XSAVE features are reported, and permission can only be requested for
// dynamically enabled ones (AMX tile data), which the CPU lacks
// (EOPNOTSUPP). Linux writes the
// feature masks as 64-bit values for both ABIs. Everything else is
// EINVAL, as on a kernel without CONFIG_CHECKPOINT_RESTORE (no vDSO to
// map), shadow stacks or linear address masking.
func archPrctlCommon(t *Task, code int32, arg uint64) (uintptr, error) {
	switch code {
	case linux.ARCH_GET_CPUID:
		return 1, nil
	case linux.ARCH_SET_CPUID:
		return 0, linux.ENODEV
	case linux.ARCH_GET_XCOMP_SUPP, linux.ARCH_GET_XCOMP_PERM, linux.ARCH_GET_XCOMP_GUEST_PERM:
		return 0, t.putUint64(mm.Addr(arg), xfeatures)
	case linux.ARCH_REQ_XCOMP_PERM, linux.ARCH_REQ_XCOMP_GUEST_PERM:
		if arg >= xfeatureMax {
			return 0, linux.EINVAL
		}
		return 0, linux.EOPNOTSUPP
	}
	return 0, linux.EINVAL
}

// putUint64 writes v at addr.
func (t *Task) putUint64(addr mm.Addr, v uint64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	_, err := t.MM().CopyOut(addr, b[:])
	return err
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
