package syscalls

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"

	"github.com/cmaemu/cmaemu/linux"
)

// Capabilities: capget and capset, and the capability checks of the
// calls that follow Linux's capability rules (resource limits, nice and
// scheduling, affinity, memory locking).
//
// A process's capability sets are those Linux gives a uid-0 process
// without file capabilities: after execve (and for the first process)
// the permitted set is the bounding set if the real or effective uid is
// 0 and the effective set equals it if the effective uid is 0; the
// bounding set is the emulator's own (so a guest's root can do what root
// can where the emulator runs: a container may withhold, say,
// CAP_SYS_RESOURCE); set*uid calls
// adjust them as cap_emulate_setxuid does (see setCreds); capset may
// lower them. The rest of the kernel decides privilege by the effective
// uid being 0, so a root process that dropped a capability with capset
// still passes those other checks; the calls of this file and of the
// resource, scheduling and mlock families do not. The sets are kept per
// process rather than per thread.

// Capabilities the kernel checks.
const (
	capChown          = 0
	capDacOverride    = 1
	capDacReadSearch  = 2
	capFowner         = 3
	capFsetid         = 4
	capSetpcap        = 8
	capLinuxImmutable = 9
	capIPCLock        = 14
	capSysAdmin       = 21
	capSysNice        = 23
	capSysResource    = 24
	capMknod          = 27
	capMacOverride    = 32
)

// capFull is every capability Linux 6.x knows (CAP_VALID_MASK).
const capFull = uint64(1)<<(linux.CAP_LAST_CAP+1) - 1

// capFSSet are the capabilities that follow the filesystem uid
// (CAP_FS_SET).
const capFSSet = 1<<capChown | 1<<capDacOverride | 1<<capDacReadSearch | 1<<capFowner |
	1<<capFsetid | 1<<capLinuxImmutable | 1<<capMknod | 1<<capMacOverride

// capSets are a process's capability sets.
type capSets struct {
	effective, permitted, inheritable uint64
}

// execCaps are the sets execve gives a process with credentials c (no
// file capabilities, no securebits): the bounding set bset for root.
func execCaps(c *Creds, bset uint64) capSets {
	var s capSets
	if c.RUID == 0 || c.EUID == 0 {
		s.permitted = bset
	}
	if c.EUID == 0 {
		s.effective = s.permitted
	}
	return s
}

// fixSetuid adjusts s for a change of credentials from old to next, as
// cap_task_fix_setuid does: losing every root uid clears the permitted
// and effective sets (the permitted one stays with keepCaps,
// SECBIT_KEEP_CAPS), losing or gaining a root effective uid clears the
// effective set or fills it from the permitted one, and a change of the
// filesystem uid alone drops or raises the filesystem capabilities.
func (s *capSets) fixSetuid(old, next *Creds, keepCaps bool) {
	anyRoot := func(c *Creds) bool { return c.RUID == 0 || c.EUID == 0 || c.SUID == 0 }
	if old.RUID != next.RUID || old.EUID != next.EUID || old.SUID != next.SUID {
		if anyRoot(old) && !anyRoot(next) && !keepCaps {
			s.permitted, s.effective = 0, 0
		}
		if old.EUID == 0 && next.EUID != 0 {
			s.effective = 0
		}
		if old.EUID != 0 && next.EUID == 0 {
			s.effective = s.permitted
		}
		return
	}
	if old.FSUID == 0 && next.FSUID != 0 {
		s.effective &^= capFSSet
	}
	if old.FSUID != 0 && next.FSUID == 0 {
		s.effective |= capFSSet & s.permitted
	}
}

// capsLocked returns the process's capability sets.
// Preconditions: p.mu held.
func (p *Process) capsLocked() capSets {
	if p.capsValid && p.capsExec == p.exec {
		return p.caps
	}
	return execCaps(&p.creds, p.capBset)
}

// keepCapsLocked reports SECBIT_KEEP_CAPS, which execve clears.
// Preconditions: p.mu held.
func (p *Process) keepCapsLocked() bool { return p.keepCaps && p.keepCapsExec == p.exec }

// hostCapBound returns the emulator's capability bounding set (CapBnd
// of /proc/self/status), or every capability if it cannot be read.
func hostCapBound() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return capFull
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil {
				return n & capFull
			}
		}
	}
	return capFull
}

// setCapsLocked stores the process's capability sets, until its next
// execve.
// Preconditions: p.mu held.
func (p *Process) setCapsLocked(s capSets) {
	p.caps, p.capsValid, p.capsExec = s, true, p.exec
}

// capable reports whether the process has capability c in its effective
// set.
func (p *Process) capable(c int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.capsLocked().effective&(1<<c) != 0
}

// capUserHeader reads struct __user_cap_header_struct and validates its
// version as cap_validate_magic does: an unknown version is EINVAL, and
// the version the kernel prefers (3) is written back. words is how many
// 32-bit halves of each set the data array holds (1 for version 1, 2
// for versions 2 and 3).
func (t *Task) capUserHeader(a Args) (words int, pid int32, err error) {
	var b [8]byte
	if _, err := t.MM().CopyIn(a.Pointer(0), b[:4]); err != nil {
		return 0, 0, err
	}
	switch binary.LittleEndian.Uint32(b[:]) {
	case linux.LINUX_CAPABILITY_VERSION_1:
		words = 1
	case linux.LINUX_CAPABILITY_VERSION_2, linux.LINUX_CAPABILITY_VERSION_3:
		words = 2
	default:
		binary.LittleEndian.PutUint32(b[:], linux.LINUX_CAPABILITY_VERSION_3)
		if _, err := t.MM().CopyOut(a.Pointer(0), b[:4]); err != nil {
			return 0, 0, err
		}
		return 0, 0, linux.EINVAL
	}
	if _, err := t.MM().CopyIn(a.Pointer(0)+4, b[4:]); err != nil {
		return 0, 0, err
	}
	return words, int32(binary.LittleEndian.Uint32(b[4:])), nil
}

// Capget implements capget(2): the sets of the caller (pid 0 or its own
// thread id) or of any thread pid. With a NULL data pointer it only
// checks the version, and an unknown one is not an error then (libcap
// asks the preferred version that way).
func Capget(t *Task, a Args) (uintptr, error) {
	words, pid, err := t.capUserHeader(a)
	if a.Pointer(1) == 0 {
		if err == linux.EINVAL {
			return 0, nil
		}
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	if pid < 0 {
		return 0, linux.EINVAL
	}
	target := t.proc
	if pid != 0 && pid != t.tid {
		tt := t.k.TaskByID(pid)
		if tt == nil {
			return 0, linux.ESRCH
		}
		target = tt.proc
	}
	target.mu.Lock()
	s := target.capsLocked()
	target.mu.Unlock()
	var b [24]byte
	for i := 0; i < words; i++ {
		shift := 32 * i
		binary.LittleEndian.PutUint32(b[12*i:], uint32(s.effective>>shift))
		binary.LittleEndian.PutUint32(b[12*i+4:], uint32(s.permitted>>shift))
		binary.LittleEndian.PutUint32(b[12*i+8:], uint32(s.inheritable>>shift))
	}
	_, err = t.MM().CopyOut(a.Pointer(1), b[:12*words])
	return 0, err
}

// Capset implements capset(2) for the caller only (another pid: EPERM):
// the new permitted set must be a subset of the old one, the effective
// set of the new permitted one, and the inheritable set of the old
// inheritable and permitted ones (without CAP_SETPCAP); else EPERM.
// Capabilities beyond the last one are ignored.
func Capset(t *Task, a Args) (uintptr, error) {
	words, pid, err := t.capUserHeader(a)
	if err != nil {
		return 0, err
	}
	if pid != 0 && pid != t.tid {
		return 0, linux.EPERM
	}
	var b [24]byte
	if _, err := t.MM().CopyIn(a.Pointer(1), b[:12*words]); err != nil {
		return 0, err
	}
	var s capSets
	for i := 0; i < words; i++ {
		shift := 32 * i
		s.effective |= uint64(binary.LittleEndian.Uint32(b[12*i:])) << shift
		s.permitted |= uint64(binary.LittleEndian.Uint32(b[12*i+4:])) << shift
		s.inheritable |= uint64(binary.LittleEndian.Uint32(b[12*i+8:])) << shift
	}
	s.effective &= capFull
	s.permitted &= capFull
	s.inheritable &= capFull
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.capsLocked()
	subset := func(a, b uint64) bool { return a&^b == 0 }
	if old.effective&(1<<capSetpcap) == 0 && !subset(s.inheritable, old.inheritable|old.permitted) {
		return 0, linux.EPERM
	}
	if !subset(s.inheritable, old.inheritable|p.capBset) {
		return 0, linux.EPERM
	}
	if !subset(s.permitted, old.permitted) || !subset(s.effective, s.permitted) {
		return 0, linux.EPERM
	}
	p.setCapsLocked(s)
	return 0, nil
}
