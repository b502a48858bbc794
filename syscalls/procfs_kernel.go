package syscalls

import (
	"encoding/binary"
	"os"
	"path"
	"runtime"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/fs/procfs"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/loader"
	"github.com/cmaemu/cmaemu/mm"
)

// The kernel as procfs reads it (procfs.Kernel, procfs.Process,
// procfs.Task): /proc is generated from these tables, never the host's.

// procKernel adapts the kernel to procfs.Kernel.
type procKernel struct{ k *Kernel }

// procProcess and procTask are comparable handles: equal for the same
// process or task.
type procProcess struct{ p *Process }

// procTask is a task, or (t nil) the leader of a zombie whose tasks are
// gone.
type procTask struct {
	t *Task
	p *Process
}

// execInfo is what execve leaves for /proc/PID: where the program's
// arguments lie and its auxiliary vector. Immutable once made.
type execInfo struct {
	layout procfs.Layout
	auxv   []byte
}

// newExecInfo records a loaded image's layout and auxv in the ABI's
// layout.
func newExecInfo(img *loader.Image, as *mm.MM, mode arch.Mode) *execInfo {
	e := &execInfo{layout: procfs.Layout{StartCode: img.StartCode, EndCode: img.EndCode,
		StartData: img.StartData, EndData: img.EndData, StartBrk: img.BrkStart, Brk: img.BrkStart,
		StartStack: img.SP, ArgStart: img.ArgStart, ArgEnd: img.ArgEnd, EnvStart: img.EnvStart, EnvEnd: img.EnvEnd}}
	le := binary.LittleEndian
	for _, a := range append(img.Auxv, loader.AuxEntry{}) {
		if mode == arch.Mode32 {
			e.auxv = le.AppendUint32(le.AppendUint32(e.auxv, uint32(a.Type)), uint32(a.Val))
		} else {
			e.auxv = le.AppendUint64(le.AppendUint64(e.auxv, a.Type), a.Val)
		}
	}
	return e
}

// PIDs implements procfs.Kernel: the guest's processes (not the kernel's
// pid-1 reaper), zombies included.
func (pk procKernel) PIDs() []int32 {
	k := pk.k
	k.mu.Lock()
	pids := make([]int32, 0, len(k.procs))
	for pid := range k.procs {
		if pid != 1 {
			pids = append(pids, pid)
		}
	}
	k.mu.Unlock()
	slices.Sort(pids)
	return pids
}

// Task implements procfs.Kernel.
func (pk procKernel) Task(tid int32) procfs.Task {
	k := pk.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.tasks[tid]; ok {
		return procTask{t: t, p: t.proc}
	}
	if p, ok := k.procs[tid]; ok && tid != 1 && p.state == procZombie {
		return procTask{p: p}
	}
	return nil
}

// MayAccess implements procfs.Kernel: __ptrace_may_access with the
// caller's fs or real ids (Yama's scope is 0 here).
func (pk procKernel) MayAccess(c vfs.Caller, target procfs.Process, mode procfs.AccessMode) bool {
	k := pk.k
	k.mu.Lock()
	caller := k.tasks[c.TID]
	k.mu.Unlock()
	tp := target.(procProcess).p
	if caller == nil {
		return false
	}
	if caller.proc == tp {
		return true
	}
	me := caller.proc.Creds()
	tp.mu.Lock()
	tc, dumpable := tp.creds.clone(), tp.dumpable
	tp.mu.Unlock()
	uid, gid := me.RUID, me.RGID
	if mode&procfs.PtraceFSCreds != 0 {
		uid, gid = me.FSUID, me.FSGID
	}
	if me.EUID == 0 {
		return true
	}
	sameIDs := uid == tc.RUID && uid == tc.EUID && uid == tc.SUID &&
		gid == tc.RGID && gid == tc.EGID && gid == tc.SGID
	return sameIDs && dumpable
}

// System implements procfs.Kernel.
func (pk procKernel) System() procfs.System {
	k := pk.k
	var u syscall.Utsname
	syscall.Uname(&u)
	k.mu.Lock()
	threads, last := len(k.tasks), k.nextPID-1
	k.mu.Unlock()
	host, _ := os.Hostname()
	return procfs.System{
		CPU:       emulatedCPU,
		NumCPU:    runtime.NumCPU(),
		MemTotal:  k.ram.Size(),
		MemFree:   k.ram.Size() - uint64(k.ram.UsedFrames())*mm.PageSize,
		BootTime:  k.boot,
		Uptime:    time.Since(k.boot),
		Running:   1,
		Threads:   threads,
		LastPID:   last,
		PIDMax:    maxPID,
		Hostname:  host,
		OSRelease: utsField(u.Release[:]),
		Version:   utsField(u.Version[:]),
	}
}

// utsField is a NUL-terminated utsname field as a string.
func utsField(f []int8) string {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f))
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// emulatedCPU is the processor the guest's CPUID describes (the engine's
// Haswell-class model without AVX).
var emulatedCPU = procfs.CPU{
	VendorID: "GenuineIntel", Family: 6, Model: 60, Stepping: 1,
	ModelName: "Intel Core Processor (Haswell, no TSX)", MHz: 2400, CacheKB: 4096, CPUIDLevel: 13,
	Flags: "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 " +
		"syscall nx lm constant_tsc rep_good nopl xtopology cpuid pni pclmulqdq ssse3 cx16 sse4_1 sse4_2 movbe " +
		"popcnt aes xsave rdrand hypervisor lahf_lm abm fsgsbase bmi1 bmi2 erms",
	Bogomips: 4800, ClflushSize: 64, CacheAlignment: 64, PhysBits: 40, VirtBits: 48,
}

// PID implements procfs.Process.
func (pp procProcess) PID() int32 { return pp.p.pid }

// Info implements procfs.Process.
func (pp procProcess) Info() procfs.ProcessInfo {
	p := pp.p
	k := p.k
	var info procfs.ProcessInfo
	k.mu.Lock()
	if p.parent != nil {
		info.PPID = p.parent.pid // the reaper is 1, as getppid says
	}
	info.PGID, info.SID, info.ExitSignal = p.pgid, p.sid, int32(p.exitSignal)
	info.TPGID = -1
	if p.state == procZombie {
		info.ExitCode = int32(p.status.WaitStatus())
	}
	info.ChildUTime, info.ChildSTime = p.childUsage.cpu.user, p.childUsage.cpu.sys
	k.mu.Unlock()
	p.mu.Lock()
	c := p.creds
	info.Creds = procfs.Creds{RUID: c.RUID, EUID: c.EUID, SUID: c.SUID, FSUID: c.FSUID,
		RGID: c.RGID, EGID: c.EGID, SGID: c.SGID, FSGID: c.FSGID, Groups: slices.Clone(c.Groups)}
	info.Dumpable = p.dumpable
	if p.exec != nil {
		info.Layout = p.exec.layout
	}
	info.SigPending = uint64(p.pending)
	for i, act := range p.sigacts {
		switch act.Handler {
		case 0:
		case 1: // SIG_IGN
			info.SigIgnored |= 1 << i
		default:
			info.SigCaught |= 1 << i
		}
	}
	info.OOMScoreAdj, info.OOMScoreAdjMin = p.oomAdj, p.oomAdjMin
	info.NoNewPrivs = p.noNewPrivs
	if p.fs != nil {
		info.Umask = p.fs.getUmask()
		info.Namespace = k.ns
	}
	for i, l := range p.rlimits {
		info.Limits[i] = procfs.Rlimit{Cur: l.cur, Max: l.max}
	}
	p.mu.Unlock()
	info.FDSize = 64
	return info
}

// Tasks implements procfs.Process.
func (pp procProcess) Tasks() []procfs.Task {
	k := pp.p.k
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]procfs.Task, 0, len(pp.p.tasks))
	for _, t := range pp.p.tasks {
		out = append(out, procTask{t: t, p: pp.p})
	}
	if len(out) == 0 {
		out = append(out, procTask{p: pp.p})
	}
	return out
}

// MM implements procfs.Process.
func (pp procProcess) MM() *mm.MM {
	p := pp.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mm == nil {
		return nil
	}
	p.mm.AddUser()
	return p.mm
}

// Auxv implements procfs.Process.
func (pp procProcess) Auxv() []byte {
	p := pp.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exec == nil {
		return nil
	}
	return p.exec.auxv
}

// FDs implements procfs.Process.
func (pp procProcess) FDs() []int32 {
	p := pp.p
	p.mu.Lock()
	fds := p.fds
	p.mu.Unlock()
	if fds == nil {
		return nil
	}
	fds.mu.Lock()
	out := make([]int32, 0, len(fds.fds))
	for fd := range fds.fds {
		out = append(out, fd)
	}
	fds.mu.Unlock()
	slices.Sort(out)
	return out
}

// File implements procfs.Process.
func (pp procProcess) File(fd int32) (procfs.File, bool) {
	p := pp.p
	p.mu.Lock()
	fds := p.fds
	p.mu.Unlock()
	if fds == nil {
		return procfs.File{}, false
	}
	f, err := fds.Get(fd)
	if err != nil {
		return procfs.File{}, false
	}
	defer f.DecRef()
	ce, _ := fds.CloseOnExec(fd, nil)
	var out procfs.File
	fl, _ := f.Status()
	out.Flags = fl
	if ce {
		out.Flags |= 0o2000000
	}
	switch f := f.(type) {
	case *openFile:
		pth := f.Path()
		if pth.Inode == nil {
			out.Name = f.Name()
		} else {
			pth.IncRef()
			out.Path = pth
		}
		// The position of host files; the kernel's own handles are
		// not asked (the one being listed may be this very directory,
		// whose handle is busy).
		if h, ok := f.host(); ok {
			out.Pos, _ = syscall.Seek(h, 0, 1)
		}
	default:
		out.Name = f.Name()
	}
	return out, true
}

// Path implements procfs.Process.
func (pp procProcess) Path(which procfs.PathKind) (vfs.Path, bool) {
	p := pp.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var pth vfs.Path
	switch which {
	case procfs.PathExe:
		pth = p.exe
	case procfs.PathCwd, procfs.PathRoot:
		if p.fs == nil {
			return vfs.Path{}, false
		}
		root, cwd := p.fs.dirs()
		if which == procfs.PathCwd {
			root.DecRef()
			return cwd, true
		}
		cwd.DecRef()
		return root, true
	}
	if pth.Inode == nil {
		return vfs.Path{}, false
	}
	pth.IncRef()
	return pth, true
}

// SetOOMScoreAdj implements procfs.Process.
func (pp procProcess) SetOOMScoreAdj(adj, min int16) {
	p := pp.p
	p.mu.Lock()
	p.oomAdj, p.oomAdjMin = adj, min
	p.mu.Unlock()
}

// TID implements procfs.Task.
func (pt procTask) TID() int32 {
	if pt.t == nil {
		return pt.p.pid
	}
	return pt.t.tid
}

// Process implements procfs.Task.
func (pt procTask) Process() procfs.Process { return procProcess{pt.p} }

// Info implements procfs.Task.
func (pt procTask) Info() procfs.TaskInfo {
	p := pt.p
	info := procfs.TaskInfo{State: 'S'}
	p.k.mu.Lock()
	switch {
	case p.state == procZombie || pt.t == nil:
		info.State = 'Z'
	case p.stopped:
		info.State = 'T'
	}
	p.k.mu.Unlock()
	p.mu.Lock()
	info.Comm, info.StartTime = p.comm, p.start
	if pt.t != nil {
		info.Comm = pt.t.commLocked()
		info.SigPending, info.SigBlocked = uint64(pt.t.pending), uint64(pt.t.sigmask)
		info.CPU = pt.t.sched.affinity.first()
	}
	p.mu.Unlock()
	if pt.t != nil {
		cpu := pt.t.cpuTimes(nil)
		info.UTime, info.STime = cpu.user, cpu.sys
	}
	return info
}

// SetComm implements procfs.Task.
func (pt procTask) SetComm(comm string) {
	pt.p.mu.Lock()
	defer pt.p.mu.Unlock()
	if pt.t != nil {
		pt.t.setCommLocked(comm)
		return
	}
	pt.p.comm = comm
}

// commOf is the name execve gives a process: the file name's last
// component, at most 15 bytes.
func commOf(name string) string {
	c := path.Base(name)
	if len(c) > 15 {
		c = c[:15]
	}
	return c
}
