package syscalls

import (
	"encoding/binary"
	"math/bits"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Scheduling: CPU affinity and getcpu, nice values (getpriority,
// setpriority, i386's nice) and scheduling policies (sched_*). Each task
// keeps its own attributes (schedState, under Process.mu), as Linux does
// per thread; clone copies the creator's, and SCHED_RESET_ON_FORK resets
// them in the child.
//
// The emulated machine has the host CPUs the emulator may run on,
// numbered from 0 in host order. A task's affinity mask is applied to
// the host thread that runs it, so a guest pinned to CPU k runs on that
// host CPU, and getcpu reports the CPU the task runs on. Nice values and
// policies are bookkeeping: the host scheduler does not see them.

// sysGetcpu is the host's getcpu (x86-64), which package syscall lacks.
const sysGetcpu = 309

// machine describes the emulated machine's processors.
type machine struct {
	// hostCPUs is the host CPU number of each guest CPU (the
	// emulator's own affinity mask when the kernel started).
	hostCPUs []int
	// maskSize is cpumask_size(): at most this many bytes of a mask are
	// read by sched_setaffinity and written by sched_getaffinity. It is
	// the host kernel's, so that guests see the same return values.
	maskSize int
}

// probeMachine reads the emulator's host affinity mask.
func probeMachine() machine {
	buf := make([]uint64, 1024) // 65536 CPUs
	r, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, uintptr(len(buf)*8), uintptr(unsafe.Pointer(&buf[0])))
	var m machine
	if e != 0 {
		m.hostCPUs = []int{0}
		m.maskSize = 8
		return m
	}
	for i, w := range buf[:r/8] {
		for ; w != 0; w &= w - 1 {
			m.hostCPUs = append(m.hostCPUs, 64*i+bits.TrailingZeros64(w))
		}
	}
	if len(m.hostCPUs) == 0 {
		m.hostCPUs = []int{0}
	}
	m.maskSize = max(int(r), (len(m.hostCPUs)+63)/64*8)
	return m
}

// ncpu returns the number of guest CPUs (nr_cpu_ids).
func (m *machine) ncpu() int { return len(m.hostCPUs) }

// cpuSet is a set of guest CPUs, bit i of word i/64 for CPU i.
type cpuSet []uint64

// allCPUs returns the set of every guest CPU.
func (m *machine) allCPUs() cpuSet {
	s := make(cpuSet, (m.ncpu()+63)/64)
	for i := 0; i < m.ncpu(); i++ {
		s[i/64] |= 1 << (i % 64)
	}
	return s
}

// empty reports whether s has no CPU.
func (s cpuSet) empty() bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

// first returns the lowest CPU of s (0 if empty).
func (s cpuSet) first() int {
	for i, w := range s {
		if w != 0 {
			return 64*i + bits.TrailingZeros64(w)
		}
	}
	return 0
}

// hostMask returns s as a host CPU mask.
func (m *machine) hostMask(s cpuSet) []uint64 {
	out := make([]uint64, m.hostCPUs[len(m.hostCPUs)-1]/64+1)
	for i, h := range m.hostCPUs {
		if s == nil || s[i/64]&(1<<(i%64)) != 0 {
			out[h/64] |= 1 << (h % 64)
		}
	}
	return out
}

// schedState are a task's scheduling attributes.
type schedState struct {
	nice        int32 // MIN_NICE..MAX_NICE
	policy      int32 // SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO or SCHED_RR
	rtPriority  int32 // 1..99 for SCHED_FIFO and SCHED_RR, else 0
	resetOnFork bool
	affinity    cpuSet // nil: every CPU
}

// forked returns the attributes of a task's clone: a copy, with
// SCHED_RESET_ON_FORK's reset (normal policy, no negative nice) applied.
func (s schedState) forked() schedState {
	c := s
	c.affinity = append(cpuSet(nil), s.affinity...)
	if s.affinity == nil {
		c.affinity = nil
	}
	if s.resetOnFork {
		if s.policy == linux.SCHED_FIFO || s.policy == linux.SCHED_RR {
			c.policy, c.rtPriority = linux.SCHED_OTHER, 0
		}
		c.nice = max(c.nice, 0)
		c.resetOnFork = false
	}
	return c
}

// hostThread is the host thread that runs a task and how much CPU time
// it had used when the task began; set by the task's goroutine at start.
type hostThread struct {
	tid  int32 // 0 until the task runs (and always for kerneltest's tasks)
	base cpuTimes
	// pinned: the thread's host affinity was changed for the task.
	pinned bool
}

// startHostThread binds the calling goroutine, which runs t, to its host
// thread for the task's life: the thread's CPU time is then the task's,
// and the task's affinity mask is applied to it. endHostThread undoes it.
func (t *Task) startHostThread() {
	runtime.LockOSThread()
	p := t.proc
	p.mu.Lock()
	t.host = hostThread{tid: int32(syscall.Gettid()), base: threadTimes(0)}
	mask := t.sched.affinity
	p.mu.Unlock()
	if mask != nil {
		t.applyAffinity(mask)
	}
}

// endHostThread gives the host thread its affinity back and unbinds it.
func (t *Task) endHostThread() {
	p := t.proc
	p.mu.Lock()
	pinned := t.host.pinned
	t.host.pinned = false
	p.mu.Unlock()
	if pinned {
		setHostAffinity(0, t.k.cpus.hostMask(nil))
	}
	runtime.UnlockOSThread()
}

// applyAffinity applies mask to the task's host thread, if it runs.
func (t *Task) applyAffinity(mask cpuSet) {
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.host.tid == 0 {
		return
	}
	if setHostAffinity(t.host.tid, t.k.cpus.hostMask(mask)) == nil {
		t.host.pinned = mask != nil
	}
}

// setHostAffinity sets the host affinity of host thread tid (0: the
// caller's).
func setHostAffinity(tid int32, mask []uint64) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), uintptr(len(mask)*8), uintptr(unsafe.Pointer(&mask[0])))
	if e != 0 {
		return e
	}
	return nil
}

// affinityTarget is find_process_by_pid for the affinity calls: the
// caller for 0, else the live thread pid.
func (t *Task) schedTarget(pid int32) *Task {
	if pid == 0 {
		return t
	}
	if pid < 0 {
		return nil
	}
	return t.k.TaskByID(pid)
}

// sameOwner is check_same_owner: the caller's effective uid is the
// target's real or effective uid.
func sameOwner(caller, target *Process) bool {
	me, them := caller.Creds(), target.Creds()
	return me.EUID == them.EUID || me.EUID == them.RUID
}

// SchedGetaffinity implements sched_getaffinity(2): len must cover every
// CPU and be a multiple of the ABI's long (EINVAL); the result is the
// number of bytes written, at most cpumask_size().
func SchedGetaffinity(t *Task, a Args) (uintptr, error) {
	size := a.Uint(1)
	if size*8 < uint32(t.k.cpus.ncpu()) || size%uint32(t.table.abi.ptrSize) != 0 {
		return 0, linux.EINVAL
	}
	target := t.schedTarget(a.Int(0))
	if target == nil {
		return 0, linux.ESRCH
	}
	target.proc.mu.Lock()
	mask := target.sched.affinity
	target.proc.mu.Unlock()
	if mask == nil {
		mask = t.k.cpus.allCPUs()
	}
	n := min(int(size), t.k.cpus.maskSize)
	buf := make([]byte, n)
	for i, w := range mask {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], w)
		if 8*i < n {
			copy(buf[8*i:], b[:])
		}
	}
	if _, err := t.MM().CopyOut(a.Pointer(2), buf); err != nil {
		return 0, err
	}
	return uintptr(n), nil
}

// SchedSetaffinity implements sched_setaffinity(2): at most
// cpumask_size() bytes of the mask are read (a shorter one is
// zero-extended); CPUs that do not exist are dropped, and a mask with no
// CPU left is EINVAL. Another user's task needs CAP_SYS_NICE (EPERM).
func SchedSetaffinity(t *Task, a Args) (uintptr, error) {
	n := min(int(a.Uint(1)), t.k.cpus.maskSize)
	raw := make([]byte, t.k.cpus.maskSize)
	if _, err := t.MM().CopyIn(a.Pointer(2), raw[:n]); err != nil {
		return 0, err
	}
	target := t.schedTarget(a.Int(0))
	if target == nil {
		return 0, linux.ESRCH
	}
	if !sameOwner(t.proc, target.proc) && !t.proc.capable(capSysNice) {
		return 0, linux.EPERM
	}
	mask := t.k.cpus.allCPUs()
	for i := range mask {
		var b [8]byte
		if 8*i < len(raw) {
			copy(b[:], raw[8*i:])
		}
		mask[i] &= binary.LittleEndian.Uint64(b[:])
	}
	if mask.empty() {
		return 0, linux.EINVAL
	}
	p := target.proc
	p.mu.Lock()
	target.sched.affinity = mask
	p.mu.Unlock()
	target.applyAffinity(mask)
	return 0, nil
}

// currentCPU returns the guest CPU the calling task runs on: its host
// thread's CPU, or the first CPU of its mask if that is not one of the
// machine's.
func (t *Task) currentCPU() int {
	var cpu uint32
	if _, _, e := syscall.RawSyscall(sysGetcpu, uintptr(unsafe.Pointer(&cpu)), 0, 0); e == 0 {
		for i, h := range t.k.cpus.hostCPUs {
			if h == int(cpu) && t.runsOn(i) {
				return i
			}
		}
	}
	t.proc.mu.Lock()
	defer t.proc.mu.Unlock()
	return t.sched.affinity.first()
}

// runsOn reports whether CPU i is in the task's affinity mask.
func (t *Task) runsOn(i int) bool {
	t.proc.mu.Lock()
	defer t.proc.mu.Unlock()
	s := t.sched.affinity
	return s == nil || s[i/64]&(1<<(i%64)) != 0
}

// Getcpu implements getcpu(2): the CPU and NUMA node (always 0, the
// machine has one) the caller runs on; either pointer may be NULL.
func Getcpu(t *Task, a Args) (uintptr, error) {
	var b [4]byte
	if a.Pointer(0) != 0 {
		binary.LittleEndian.PutUint32(b[:], uint32(t.currentCPU()))
		if _, err := t.MM().CopyOut(a.Pointer(0), b[:]); err != nil {
			return 0, err
		}
	}
	if a.Pointer(1) != 0 {
		binary.LittleEndian.PutUint32(b[:], 0)
		if _, err := t.MM().CopyOut(a.Pointer(1), b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// prioTargets returns the live tasks getpriority and setpriority act on.
// which has been checked.
func (t *Task) prioTargets(which, who int32) []*Task {
	k := t.k
	switch which {
	case linux.PRIO_PROCESS:
		if who == 0 {
			return []*Task{t}
		}
		if tt := k.TaskByID(who); tt != nil {
			return []*Task{tt}
		}
		return nil
	case linux.PRIO_PGRP:
		k.mu.Lock()
		defer k.mu.Unlock()
		pg := who
		if who == 0 {
			pg = t.proc.pgid
		}
		var out []*Task
		for _, p := range k.procs {
			if p != k.reaper && p.pgid == pg && p.state == procRunning {
				out = append(out, p.tasks...)
			}
		}
		return out
	}
	uid := uint32(who)
	if who == 0 {
		uid = t.proc.Creds().RUID
	}
	k.mu.Lock()
	var all []*Task
	for _, tt := range k.tasks {
		all = append(all, tt)
	}
	k.mu.Unlock()
	var out []*Task
	for _, tt := range all {
		if tt.proc.Creds().RUID == uid {
			out = append(out, tt)
		}
	}
	return out
}

// Getpriority implements getpriority(2): the highest priority (20 -
// nice, 1..40: the raw system call does not return the nice value
// itself, which could be negative) among the targets; ESRCH if there is
// none.
func Getpriority(t *Task, a Args) (uintptr, error) {
	which, who := a.Int(0), a.Int(1)
	if which < linux.PRIO_PROCESS || which > linux.PRIO_USER {
		return 0, linux.EINVAL
	}
	best := int32(-1)
	for _, tt := range t.prioTargets(which, who) {
		tt.proc.mu.Lock()
		best = max(best, 20-tt.sched.nice)
		tt.proc.mu.Unlock()
	}
	if best < 0 {
		return 0, linux.ESRCH
	}
	return uintptr(best), nil
}

// Setpriority implements setpriority(2): the nice value is clamped to
// -20..19 and set on every target the caller may change (its effective
// uid is the target's real or effective uid, or CAP_SYS_NICE: else
// EPERM); lowering a target's nice value needs 20 - nice within its
// RLIMIT_NICE or CAP_SYS_NICE (else EACCES). As in Linux, the result is
// the error of the last target that refused, ESRCH if there was none.
func Setpriority(t *Task, a Args) (uintptr, error) {
	which, who, nice := a.Int(0), a.Int(1), a.Int(2)
	if which < linux.PRIO_PROCESS || which > linux.PRIO_USER {
		return 0, linux.EINVAL
	}
	nice = min(max(nice, linux.MIN_NICE), linux.MAX_NICE)
	var err error = linux.ESRCH
	privileged := t.proc.capable(capSysNice)
	me := t.proc.Creds()
	for _, tt := range t.prioTargets(which, who) {
		them := tt.proc.Creds()
		if me.EUID != them.RUID && me.EUID != them.EUID && !privileged {
			err = linux.EPERM
			continue
		}
		limit := tt.proc.rlimit(linux.RLIMIT_NICE).cur
		p := tt.proc
		p.mu.Lock()
		if nice < tt.sched.nice && uint64(20-nice) > limit && !privileged {
			p.mu.Unlock()
			err = linux.EACCES
			continue
		}
		tt.sched.nice = nice
		p.mu.Unlock()
		if err == linux.ESRCH {
			err = nil
		}
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// Nice implements i386's nice(2): the caller's nice value changes by
// the increment (clamped), lowering it needs RLIMIT_NICE or CAP_SYS_NICE
// (EPERM).
func Nice(t *Task, a Args) (uintptr, error) {
	inc := min(max(a.Int(0), -40), 40)
	limit := t.proc.rlimit(linux.RLIMIT_NICE).cur
	privileged := t.proc.capable(capSysNice)
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	nice := min(max(t.sched.nice+inc, linux.MIN_NICE), linux.MAX_NICE)
	if inc < 0 && uint64(20-nice) > limit && !privileged {
		return 0, linux.EPERM
	}
	t.sched.nice = nice
	return 0, nil
}

// rtPolicy reports whether policy is a real-time one.
func rtPolicy(policy int32) bool { return policy == linux.SCHED_FIFO || policy == linux.SCHED_RR }

// setScheduler is __sched_setscheduler for a user request: policy -1
// keeps the target's policy (sched_setparam).
func (t *Task) setScheduler(target *Task, policy, prio int32, resetOnFork bool) error {
	p := target.proc
	p.mu.Lock()
	cur := target.sched
	p.mu.Unlock()
	if policy < 0 {
		policy, resetOnFork = cur.policy, cur.resetOnFork
	} else {
		switch policy {
		case linux.SCHED_OTHER, linux.SCHED_BATCH, linux.SCHED_IDLE, linux.SCHED_FIFO, linux.SCHED_RR, linux.SCHED_DEADLINE:
		default:
			return linux.EINVAL
		}
	}
	if uint32(prio) > linux.MAX_RT_PRIO-1 || policy == linux.SCHED_DEADLINE || rtPolicy(policy) != (prio != 0) {
		return linux.EINVAL // SCHED_DEADLINE needs sched_setattr's runtime and deadline
	}
	needPriv := false
	if rtPolicy(policy) {
		rtLimit := p.rlimit(linux.RLIMIT_RTPRIO).cur
		if (policy != cur.policy && rtLimit == 0) || (uint64(prio) > uint64(cur.rtPriority) && uint64(prio) > rtLimit) {
			needPriv = true
		}
	}
	if cur.policy == linux.SCHED_IDLE && policy != linux.SCHED_IDLE && uint64(20-cur.nice) > p.rlimit(linux.RLIMIT_NICE).cur {
		needPriv = true
	}
	if !sameOwner(t.proc, p) || (cur.resetOnFork && !resetOnFork) {
		needPriv = true
	}
	if needPriv && !t.proc.capable(capSysNice) {
		return linux.EPERM
	}
	p.mu.Lock()
	target.sched.policy, target.sched.rtPriority, target.sched.resetOnFork = policy, prio, resetOnFork
	p.mu.Unlock()
	return nil
}

// schedParam reads struct sched_param (an int) for do_sched_setscheduler:
// a NULL pointer or negative pid is EINVAL, then EFAULT, then ESRCH.
func (t *Task) schedParam(pid int32, addr mm.Addr) (*Task, int32, error) {
	if addr == 0 || pid < 0 {
		return nil, 0, linux.EINVAL
	}
	var b [4]byte
	if _, err := t.MM().CopyIn(addr, b[:]); err != nil {
		return nil, 0, err
	}
	target := t.schedTarget(pid)
	if target == nil {
		return nil, 0, linux.ESRCH
	}
	return target, int32(binary.LittleEndian.Uint32(b[:])), nil
}

// SchedSetscheduler implements sched_setscheduler(2).
func SchedSetscheduler(t *Task, a Args) (uintptr, error) {
	policy := a.Int(1)
	if policy < 0 {
		return 0, linux.EINVAL
	}
	target, prio, err := t.schedParam(a.Int(0), a.Pointer(2))
	if err != nil {
		return 0, err
	}
	reset := policy&linux.SCHED_RESET_ON_FORK != 0
	return 0, t.setScheduler(target, policy&^linux.SCHED_RESET_ON_FORK, prio, reset)
}

// SchedSetparam implements sched_setparam(2).
func SchedSetparam(t *Task, a Args) (uintptr, error) {
	target, prio, err := t.schedParam(a.Int(0), a.Pointer(1))
	if err != nil {
		return 0, err
	}
	return 0, t.setScheduler(target, -1, prio, false)
}

// SchedGetscheduler implements sched_getscheduler(2).
func SchedGetscheduler(t *Task, a Args) (uintptr, error) {
	if a.Int(0) < 0 {
		return 0, linux.EINVAL
	}
	target := t.schedTarget(a.Int(0))
	if target == nil {
		return 0, linux.ESRCH
	}
	target.proc.mu.Lock()
	defer target.proc.mu.Unlock()
	policy := target.sched.policy
	if target.sched.resetOnFork {
		policy |= linux.SCHED_RESET_ON_FORK
	}
	return uintptr(policy), nil
}

// SchedGetparam implements sched_getparam(2).
func SchedGetparam(t *Task, a Args) (uintptr, error) {
	if a.Pointer(1) == 0 || a.Int(0) < 0 {
		return 0, linux.EINVAL
	}
	target := t.schedTarget(a.Int(0))
	if target == nil {
		return 0, linux.ESRCH
	}
	target.proc.mu.Lock()
	prio := target.sched.rtPriority
	target.proc.mu.Unlock()
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(prio))
	_, err := t.MM().CopyOut(a.Pointer(1), b[:])
	return 0, err
}

// SchedGetPriorityMax implements sched_get_priority_max(2): 99 for the
// real-time policies, 0 for the others (SCHED_EXT included, though the
// policy itself cannot be set: Linux 6.12+ answers so without
// CONFIG_SCHED_CLASS_EXT), EINVAL for unknown ones.
func SchedGetPriorityMax(t *Task, a Args) (uintptr, error) {
	switch a.Int(0) {
	case linux.SCHED_FIFO, linux.SCHED_RR:
		return linux.MAX_RT_PRIO - 1, nil
	case linux.SCHED_OTHER, linux.SCHED_BATCH, linux.SCHED_IDLE, linux.SCHED_DEADLINE, linux.SCHED_EXT:
		return 0, nil
	}
	return 0, linux.EINVAL
}

// SchedGetPriorityMin implements sched_get_priority_min(2).
func SchedGetPriorityMin(t *Task, a Args) (uintptr, error) {
	switch a.Int(0) {
	case linux.SCHED_FIFO, linux.SCHED_RR:
		return 1, nil
	case linux.SCHED_OTHER, linux.SCHED_BATCH, linux.SCHED_IDLE, linux.SCHED_DEADLINE, linux.SCHED_EXT:
		return 0, nil
	}
	return 0, linux.EINVAL
}

// rrTimeslice is SCHED_RR's time slice (RR_TIMESLICE).
const rrTimeslice = 100 * time.Millisecond

// schedRRGetInterval makes sched_rr_get_interval for a timespec layout:
// SCHED_RR's slice, 0 for SCHED_FIFO, and for the normal policies the
// host's slice of the calling thread.
func schedRRGetInterval(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		if a.Int(0) < 0 {
			return 0, linux.EINVAL
		}
		target := t.schedTarget(a.Int(0))
		if target == nil {
			return 0, linux.ESRCH
		}
		target.proc.mu.Lock()
		policy := target.sched.policy
		target.proc.mu.Unlock()
		var d time.Duration
		switch policy {
		case linux.SCHED_RR:
			d = rrTimeslice
		case linux.SCHED_FIFO:
		default:
			var ts [2]int64
			if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_RR_GET_INTERVAL, 0, uintptr(unsafe.Pointer(&ts)), 0); e == 0 {
				d = time.Duration(ts[0])*time.Second + time.Duration(ts[1])
			}
		}
		return 0, t.putTimePair(a.Pointer(1), int64(d/time.Second), int64(d%time.Second), time32)
	}
}

// SchedRRGetInterval implements sched_rr_get_interval(2) (x86-64, and
// i386's sched_rr_get_interval_time64); SchedRRGetInterval32 is i386's
// with struct old_timespec32.
var (
	SchedRRGetInterval   = schedRRGetInterval(false)
	SchedRRGetInterval32 = schedRRGetInterval(true)
)

// schedAttrSize is sizeof(struct sched_attr) (SCHED_ATTR_SIZE_VER1);
// schedAttrSizeVer0 the smallest one accepted.
const (
	schedAttrSize     = 56
	schedAttrSizeVer0 = 48
)

// SchedGetattr implements sched_getattr(2): struct sched_attr up to the
// size the caller gives (48 to 4096 bytes; EINVAL otherwise, or for
// flags), the policy, SCHED_FLAG_RESET_ON_FORK, nice and priority.
func SchedGetattr(t *Task, a Args) (uintptr, error) {
	pid, addr, size, flags := a.Int(0), a.Pointer(1), a.Uint(2), a.Uint(3)
	if addr == 0 || pid < 0 || size > mm.PageSize || size < schedAttrSizeVer0 || flags != 0 {
		return 0, linux.EINVAL
	}
	target := t.schedTarget(pid)
	if target == nil {
		return 0, linux.ESRCH
	}
	target.proc.mu.Lock()
	s := target.sched
	target.proc.mu.Unlock()
	var b [schedAttrSize]byte
	n := min(int(size), schedAttrSize)
	binary.LittleEndian.PutUint32(b[0:], uint32(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(s.policy))
	if s.resetOnFork {
		binary.LittleEndian.PutUint64(b[8:], 1) // SCHED_FLAG_RESET_ON_FORK
	}
	if rtPolicy(s.policy) {
		binary.LittleEndian.PutUint32(b[20:], uint32(s.rtPriority))
	} else {
		binary.LittleEndian.PutUint32(b[16:], uint32(s.nice))
	}
	_, err := t.MM().CopyOut(addr, b[:n])
	return 0, err
}
