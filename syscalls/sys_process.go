package syscalls

import (
	"encoding/binary"
	"strings"

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
	prSetPdeathsig  = 1
	prGetPdeathsig  = 2
	prGetDumpable   = 3
	prSetDumpable   = 4
	prGetKeepcaps   = 7
	prSetKeepcaps   = 8
	prSetName       = 15
	prGetName       = 16
	prCapbsetRead   = 23
	prCapbsetDrop   = 24
	prGetSecurebits = 27
	prSetTimerslack = 29
	prGetTimerslack = 30
	prSetSubreaper  = 36
	prGetSubreaper  = 37
	prSetNoNewPrivs = 38
	prGetTIDAddress = 40
	prGetNoNewPrivs = 39
	prSetTHPDisable = 41
	prGetTHPDisable = 42
)

// secbitKeepCaps is SECBIT_KEEP_CAPS, as PR_GET_SECUREBITS reports it.
const secbitKeepCaps = 1 << 4

// defaultTimerSlack is a task's default timer slack (50 us).
const defaultTimerSlack = 50000

// Prctl implements prctl(2): the parent-death signal, dumpable, keepcaps
// and the other securebits (only SECBIT_KEEP_CAPS is ever set), the
// name (kept per process: /proc/PID/comm), the capability bounding set,
// the timer slack (kept, not applied), the child subreaper,
// PR_GET_TID_ADDRESS (a pointer of 8 bytes in both ABIs, as Linux
// writes it),
// no_new_privs and the transparent-huge-page switch (kept, not applied).
// Other options are EINVAL.
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
	case prSetPdeathsig:
		if a.Uint64(1) > linux.NSig {
			return 0, linux.EINVAL
		}
		p.mu.Lock()
		p.pdeathsig = linux.Signal(a.Uint64(1))
		p.mu.Unlock()
		return 0, nil
	case prGetPdeathsig:
		p.mu.Lock()
		sig := p.pdeathsig
		p.mu.Unlock()
		return 0, t.putUint32(a.Pointer(1), uint32(sig))
	case prGetKeepcaps:
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.keepCapsLocked() {
			return 1, nil
		}
		return 0, nil
	case prSetKeepcaps:
		if a.Uint64(1) > 1 {
			return 0, linux.EINVAL
		}
		p.mu.Lock()
		p.keepCaps, p.keepCapsExec = a.Uint64(1) == 1, p.exec
		p.mu.Unlock()
		return 0, nil
	case prGetSecurebits:
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.keepCapsLocked() {
			return secbitKeepCaps, nil
		}
		return 0, nil
	case prSetName:
		// strncpy_from_user of at most 15 bytes: a longer name is cut.
		var b [15]byte
		n, _ := t.MM().CopyIn(a.Pointer(1), b[:])
		name := string(b[:n])
		if i := strings.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		} else if n < len(b) {
			return 0, linux.EFAULT
		}
		p.mu.Lock()
		t.setCommLocked(name)
		p.mu.Unlock()
		return 0, nil
	case prGetName:
		var b [16]byte
		p.mu.Lock()
		copy(b[:15], t.commLocked())
		p.mu.Unlock()
		_, err := t.MM().CopyOut(a.Pointer(1), b[:])
		return 0, err
	case prCapbsetRead:
		if a.Uint64(1) > linux.CAP_LAST_CAP {
			return 0, linux.EINVAL
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		return uintptr(p.capBset >> a.Uint64(1) & 1), nil
	case prCapbsetDrop:
		if !p.capable(capSetpcap) {
			return 0, linux.EPERM
		}
		if a.Uint64(1) > linux.CAP_LAST_CAP {
			return 0, linux.EINVAL
		}
		p.mu.Lock()
		p.capBset &^= 1 << a.Uint64(1)
		p.mu.Unlock()
		return 0, nil
	case prSetTimerslack:
		p.mu.Lock()
		defer p.mu.Unlock()
		if rtPolicy(t.sched.policy) {
			return 0, nil
		}
		t.timerSlack = a.Uint64(1)
		return 0, nil
	case prGetTimerslack:
		p.mu.Lock()
		defer p.mu.Unlock()
		if t.timerSlack == 0 {
			return defaultTimerSlack, nil
		}
		return uintptr(t.timerSlack), nil
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
		return 0, t.putUint32(a.Pointer(1), v)
	case prSetNoNewPrivs:
		if a.Uint64(1) != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, linux.EINVAL
		}
		p.mu.Lock()
		p.noNewPrivs = true
		p.mu.Unlock()
		return 0, nil
	case prGetNoNewPrivs:
		if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, linux.EINVAL
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.noNewPrivs {
			return 1, nil
		}
		return 0, nil
	case prGetTIDAddress:
		return 0, t.putUint64(a.Pointer(1), uint64(t.clearChildTID))
	case prSetTHPDisable:
		if a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, linux.EINVAL
		}
		p.mu.Lock()
		p.thpDisable = a.Uint64(1) != 0
		p.mu.Unlock()
		return 0, nil
	case prGetTHPDisable:
		if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, linux.EINVAL
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.thpDisable {
			return 1, nil
		}
		return 0, nil
	}
	return 0, linux.EINVAL
}

// putUint32 writes v at addr.
func (t *Task) putUint32(addr mm.Addr, v uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	_, err := t.MM().CopyOut(addr, b[:])
	return err
}
