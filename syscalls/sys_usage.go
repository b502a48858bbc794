package syscalls

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Resource usage: getrusage, times and sysinfo, from the kernel's own
// accounting.
//
// Each task runs on one host thread for its whole life
// (startHostThread), so the task's CPU time is what that thread used
// since: its user time (emulating guest code and handling the guest's
// calls) and its system time (the host kernel working for it). A process
// adds the times of its threads that have exited (Process.usage), and
// the times of its children that it waited for, with their own waited
// children (Process.childUsage), as Linux's cutime and cstime.

// userHZ is USER_HZ, the unit of clock_t (times, /proc).
const userHZ = 100

// cpuTimes are user and system CPU time.
type cpuTimes struct{ user, sys time.Duration }

func (c cpuTimes) add(o cpuTimes) cpuTimes { return cpuTimes{c.user + o.user, c.sys + o.sys} }

// since returns c - base, never negative.
func (c cpuTimes) since(base cpuTimes) cpuTimes {
	return cpuTimes{max(c.user-base.user, 0), max(c.sys-base.sys, 0)}
}

// usage is what getrusage reports of a set of tasks.
type usage struct {
	cpu    cpuTimes
	maxRSS uint64 // bytes (ru_maxrss is in KiB)
}

// merge adds o's times and keeps the larger maxRSS.
func (u *usage) merge(o usage) {
	u.cpu = u.cpu.add(o.cpu)
	u.maxRSS = max(u.maxRSS, o.maxRSS)
}

// threadTimes returns the CPU times of host thread tid (0: the caller).
func threadTimes(tid int32) cpuTimes {
	if tid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
			return cpuTimes{}
		}
		return cpuTimes{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())}
	}
	// Another thread of the emulator: its /proc/self/task/TID/stat
	// (utime and stime in clock ticks, fields 14 and 15).
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(int(tid)) + "/stat")
	if err != nil {
		return cpuTimes{}
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 {
		b = b[i+1:]
	}
	f := bytes.Fields(b)
	if len(f) < 13 {
		return cpuTimes{}
	}
	u, _ := strconv.ParseInt(string(f[11]), 10, 64)
	s, _ := strconv.ParseInt(string(f[12]), 10, 64)
	return cpuTimes{time.Duration(u) * time.Second / userHZ, time.Duration(s) * time.Second / userHZ}
}

// cpuTimes returns the CPU time task tt has used; caller is the task
// asking (its own times are read directly).
func (tt *Task) cpuTimes(caller *Task) cpuTimes {
	tt.proc.mu.Lock()
	h := tt.host
	tt.proc.mu.Unlock()
	if h.tid == 0 {
		return cpuTimes{}
	}
	if tt == caller {
		return threadTimes(0).since(h.base)
	}
	return threadTimes(h.tid).since(h.base)
}

// selfUsage returns the usage of caller's process: its live threads and
// those that have exited.
func (t *Task) selfUsage() usage {
	u := t.proc.usageOf(t)
	if as := t.MM(); as != nil {
		u.maxRSS = max(u.maxRSS, as.Stats().Resident)
	}
	return u
}

// usageOf returns the usage of process p from its live threads and those
// that have exited; caller is the task asking (nil for the kernel), whose
// own times are read directly.
func (p *Process) usageOf(caller *Task) usage {
	k := p.k
	k.mu.Lock()
	u := p.usage
	tasks := append([]*Task(nil), p.tasks...)
	k.mu.Unlock()
	for _, tt := range tasks {
		u.cpu = u.cpu.add(tt.cpuTimes(caller))
	}
	return u
}

// childUsage returns the usage of the caller's waited-for children.
func (t *Task) childUsage() usage {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.proc.childUsage
}

// exitAccountingLocked adds the exiting task's CPU time to its process;
// as the last task it also records the process's resident size.
// Preconditions: k.mu held; called on the task's own goroutine.
func (t *Task) exitAccountingLocked(cpu cpuTimes, rss uint64) {
	t.proc.usage.cpu = t.proc.usage.cpu.add(cpu)
	t.proc.usage.maxRSS = max(t.proc.usage.maxRSS, rss)
}

// waitedLocked adds a reaped child's usage, and that of the children it
// waited for, to p's children's usage (wait_task_zombie).
// Preconditions: k.mu held.
func (p *Process) waitedLocked(c *Process) {
	p.childUsage.merge(c.usage)
	p.childUsage.merge(c.childUsage)
}

// putRusage writes struct rusage (or compat_rusage) at addr: the times
// and maxrss; the other counters are zero.
func (t *Task) putRusage(addr mm.Addr, u usage) error {
	var b [144]byte
	n := t.table.abi.rusage
	put := func(i int, v int64) { // the i-th long of the structure
		if t.table.abi.ptrSize == 4 {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
	}
	put(0, int64(u.cpu.user/time.Second))
	put(1, int64(u.cpu.user%time.Second/time.Microsecond))
	put(2, int64(u.cpu.sys/time.Second))
	put(3, int64(u.cpu.sys%time.Second/time.Microsecond))
	put(4, int64(u.maxRSS/1024))
	_, err := t.MM().CopyOut(addr, b[:n])
	return err
}

// Getrusage implements getrusage(2): RUSAGE_SELF (every thread of the
// process), RUSAGE_THREAD (the caller) and RUSAGE_CHILDREN (the waited-for
// children); anything else is EINVAL.
func Getrusage(t *Task, a Args) (uintptr, error) {
	var u usage
	switch a.Int(0) {
	case linux.RUSAGE_SELF:
		u = t.selfUsage()
	case linux.RUSAGE_THREAD:
		u.cpu = t.cpuTimes(t)
		if as := t.MM(); as != nil {
			u.maxRSS = as.Stats().Resident
		}
	case linux.RUSAGE_CHILDREN:
		u = t.childUsage()
	default:
		return 0, linux.EINVAL
	}
	return 0, t.putRusage(a.Pointer(1), u)
}

// ticks converts d to clock ticks (USER_HZ).
func ticks(d time.Duration) int64 { return int64(d / (time.Second / userHZ)) }

// Times implements times(2): the process's and its waited-for children's
// user and system times in clock ticks (struct tms of longs, or of
// 32-bit values for i386); the result is the clock ticks since the
// kernel started. buf may be NULL.
func Times(t *Task, a Args) (uintptr, error) {
	if a.Pointer(0) != 0 {
		self, kids := t.selfUsage(), t.childUsage()
		vals := [4]int64{ticks(self.cpu.user), ticks(self.cpu.sys), ticks(kids.cpu.user), ticks(kids.cpu.sys)}
		var b [32]byte
		size := t.table.abi.ptrSize
		for i, v := range vals {
			if size == 4 {
				binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
			} else {
				binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
			}
		}
		if _, err := t.MM().CopyOut(a.Pointer(0), b[:4*size]); err != nil {
			return 0, err
		}
	}
	now := ticks(time.Since(t.k.boot))
	if t.table.abi.ptrSize == 4 {
		return uintptr(uint32(now)), nil
	}
	return uintptr(now), nil
}

// Sysinfo implements sysinfo(2) from the emulated machine: the uptime
// since the kernel started (in whole seconds, rounded up), the guest RAM
// as total and free memory, no swap, and the number of guest threads
// (procs: nr_threads). The load averages are 0. The i386 structure has
// 32-bit fields; when the RAM does not fit them it is counted in pages
// (mem_unit 4096), as compat_sysinfo does.
func Sysinfo(t *Task, a Args) (uintptr, error) {
	k := t.k
	up := time.Since(k.boot)
	secs := int64(up / time.Second)
	if up%time.Second != 0 {
		secs++
	}
	total := k.ram.Size()
	free := total - uint64(k.ram.UsedFrames())*mm.PageSize
	k.mu.Lock()
	procs := len(k.tasks)
	k.mu.Unlock()
	var b [112]byte
	le := binary.LittleEndian
	if t.table.abi.ptrSize == 8 {
		le.PutUint64(b[0:], uint64(secs))
		le.PutUint64(b[32:], total)
		le.PutUint64(b[40:], free)
		le.PutUint16(b[80:], uint16(procs))
		le.PutUint32(b[104:], 1)
		_, err := t.MM().CopyOut(a.Pointer(0), b[:112])
		return 0, err
	}
	unit := uint32(1)
	if total>>32 != 0 {
		unit = mm.PageSize
		total, free = total>>mm.PageShift, free>>mm.PageShift
	}
	le.PutUint32(b[0:], uint32(secs))
	le.PutUint32(b[16:], uint32(total))
	le.PutUint32(b[20:], uint32(free))
	le.PutUint16(b[40:], uint16(procs))
	le.PutUint32(b[52:], unit)
	_, err := t.MM().CopyOut(a.Pointer(0), b[:64])
	return 0, err
}

// exitTimes returns the CPU time of t, which is exiting (on its own
// goroutine), and, if it is its process's last thread, the process's
// resident size.
func (t *Task) exitTimes() (cpuTimes, uint64) {
	cpu := t.cpuTimes(t)
	t.k.mu.Lock()
	last := len(t.proc.tasks) == 1
	t.k.mu.Unlock()
	var rss uint64
	if as := t.MM(); last && as != nil {
		rss = as.Stats().Resident
	}
	return cpu, rss
}
