package syscalls

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/fs/lock"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Creds are a process's credentials. uid 0 holds every capability.
type Creds struct {
	RUID, EUID, SUID, FSUID uint32
	RGID, EGID, SGID, FSGID uint32
	Groups                  []uint32
}

// SameIDs returns credentials with every uid set to uid and every gid to gid.
func SameIDs(uid, gid uint32) Creds {
	return Creds{RUID: uid, EUID: uid, SUID: uid, FSUID: uid, RGID: gid, EGID: gid, SGID: gid, FSGID: gid}
}

func (c Creds) clone() Creds {
	c.Groups = append([]uint32(nil), c.Groups...)
	return c
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code   int          // exit code, if Signal == 0
	Signal linux.Signal // terminating signal, or 0
	Core   bool
	// Fault describes the fault that raised Signal, if one did.
	Fault *FaultInfo
}

// WaitStatus encodes the status as wait(2) reports it.
func (s ExitStatus) WaitStatus() uint32 {
	if s.Signal != 0 {
		w := uint32(s.Signal)
		if s.Core {
			w |= 0x80
		}
		return w
	}
	return uint32(s.Code&0xff) << 8
}

// ShellStatus is the status a shell shows: the code, or 128+signal.
func (s ExitStatus) ShellStatus() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code & 0xff
}

// FaultInfo describes a guest fault that killed it: the faulting address
// and the instruction bytes at RIP, for reports.
type FaultInfo struct {
	Mode    arch.Mode
	RIP     uint64
	Addr    mm.Addr
	Access  mm.Access
	HasAddr bool
	Code    []byte // up to 16 instruction bytes at RIP (fewer if unreadable)
}

// procState is where a process is in its life.
type procState int

const (
	procRunning procState = iota
	procZombie            // exited, not yet reaped
	procReaped
)

// Process is a thread group: an address space, a file table, credentials
// and signal dispositions shared by its tasks.
//
// Fields under "k.mu" belong to the process tree and are protected by the
// kernel's lock; the others by mu.
type Process struct {
	k   *Kernel
	pid int32

	// Protected by k.mu.
	parent     *Process
	children   map[int32]*Process
	pgid, sid  int32
	state      procState
	status     ExitStatus
	exitSignal linux.Signal  // sent to the parent at exit (SIGCHLD)
	execed     bool          // has called execve (setpgid by the parent: EACCES)
	subreaper  bool          // PR_SET_CHILD_SUBREAPER: adopts orphaned descendants
	forker     int32         // the parent's thread that forked it (0: the whole parent)
	stopped    bool          // job control: stopped by a stop signal (also in stoppedHint)
	stopSig    linux.Signal  // the signal that stopped it
	stopReport bool          // the stop is not yet reported to wait(WUNTRACED)
	contReport bool          // a continue is not yet reported to wait(WCONTINUED)
	resume     chan struct{} // closed when a stopped process continues
	// childEvents is notified when a child changes state (wait4 waits
	// on it); its own lock, notified after k.mu is released.
	childEvents file.Queue
	tasks       []*Task
	usage       usage // CPU time of the exited threads; maxrss (sys_usage.go)
	childUsage  usage // of the children waited for, and their waited-for children

	mu       sync.Mutex // protects the fields below
	mm       *mm.MM
	fds      *FDTable
	fs       *FSContext
	creds    Creds
	dumpable bool
	sigacts  [linux.NSig]linux.SigAction
	pending  linux.SigSet // process-directed signals not yet delivered
	exe      vfs.Path     // the program file
	exeName  string       // the name it was run by
	exec     *execInfo    // the last execve's layout and auxv (for /proc)
	comm     string       // the name /proc/PID/comm shows (per process here)
	start    time.Duration
	// oom_score_adj and the lowest value it may be set to unprivileged.
	oomAdj, oomAdjMin int16
	exiting           *ExitStatus // set once the group is being torn down
	alarm             *time.Timer // alarm(2)
	alarmAt           time.Time
	rlimits           rlimits // resource limits (sys_rlimit.go)
	// Capability sets (sys_caps.go): caps holds them once capset or a
	// set*uid call changed them, while capsExec is still the current
	// exec; otherwise they are those execve gives the credentials.
	caps      capSets
	capsValid bool
	capsExec  *execInfo
	// membarrier registrations (sys_misc.go) of the address space
	// execve made as membarrierExec.
	membarrier     uint32
	membarrierExec *execInfo
	// prctl state (sys_process.go): the parent-death signal; the
	// capability bounding set; SECBIT_KEEP_CAPS, until the execve after
	// keepCapsExec; no_new_privs; the transparent-huge-page switch.
	pdeathsig    linux.Signal
	capBset      uint64
	keepCaps     bool
	keepCapsExec *execInfo
	noNewPrivs   bool
	thpDisable   bool
	// Signal waiters and POSIX timers (signalfd.go, sys_timer.go).
	sigTimers procSigTimers

	done chan struct{} // closed when the process becomes a zombie

	stoppedHint atomic.Bool // mirrors stopped, for the syscall path's check
}

// PID returns the process id.
func (p *Process) PID() int32 { return p.pid }

// MM returns the process's address space (nil once it has exited).
func (p *Process) MM() *mm.MM {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mm
}

// Creds returns a copy of the credentials.
func (p *Process) Creds() Creds {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.creds.clone()
}

// Wait blocks until the process has exited and returns its status.
func (p *Process) Wait() ExitStatus {
	<-p.done
	p.k.mu.Lock()
	defer p.k.mu.Unlock()
	return p.status
}

func (p *Process) String() string { return fmt.Sprintf("pid %d", p.pid) }

// SpawnOptions configure the first process of a program.
type SpawnOptions struct {
	Args, Env []string
	Creds     Creds
	// Cwd is the guest's working directory on the host ("" = the host's).
	Cwd string
	// Stdio are the host files behind guest fds 0, 1 and 2 (nil: the
	// host's own descriptors).
	Stdio [3]*os.File
}

// newProcess makes a process with no tasks, child of parent (the reaper
// if nil). Caller holds no locks.
func (k *Kernel) newProcess(parent *Process) *Process {
	p := &Process{k: k, pid: k.allocPID(), children: map[int32]*Process{}, dumpable: true, start: time.Since(k.boot),
		exitSignal: linux.SIGCHLD, done: make(chan struct{}),
		rlimits: k.initRlimits, capBset: k.capBound}
	k.mu.Lock()
	if parent == nil {
		parent = k.reaper
	}
	p.parent = parent
	p.pgid, p.sid = parent.pgid, parent.sid
	parent.children[p.pid] = p
	k.procs[p.pid] = p
	k.mu.Unlock()
	return p
}

// Spawn creates a process running the static ELF program at path (a host
// path) and starts it. The process leads its own session and group. Errors
// are those of loading: the loader's error types or an errno.
func (k *Kernel) Spawn(path string, opts SpawnOptions) (*Process, error) {
	fs := k.newFSContext(opts.Cwd, opts.Creds.fsCreds())
	fds, err := newStdioTable(opts.Stdio)
	if err != nil {
		fs.release()
		return nil, err
	}
	p := k.newProcess(nil)
	k.mu.Lock()
	p.pgid, p.sid = p.pid, p.pid
	k.mu.Unlock()
	p.fds, p.fs, p.creds = fds, fs, opts.Creds.clone()
	fds.setLimit(p.rlimits[linux.RLIMIT_NOFILE].cur)
	k.watchCloses(fds, p.pid)
	t := k.newTask(p)
	img, err := t.loadProgram(fs.cwd, path, nil, execName{name: path}, opts.Args, opts.Env)
	if err != nil {
		k.discard(p, t)
		return nil, err
	}
	p.mm, p.exe, p.exeName, p.exec, p.comm = img.mm, img.exe, img.exeName, img.info, commOf(img.exeName)
	t.startRegs, t.mode, t.table = &img.regs, img.mode, img.table
	go t.run()
	return p, nil
}

// discard removes a process that never ran.
func (k *Kernel) discard(p *Process, t *Task) {
	k.mu.Lock()
	delete(k.tasks, t.tid)
	delete(k.procs, p.pid)
	delete(p.parent.children, p.pid)
	k.mu.Unlock()
	p.fds.release()
	p.fs.release()
}

// exitTask ends task t with status. The last task of a process turns it
// into a zombie: its memory and files are released, its children go to
// the reaper, and its parent is told.
func (k *Kernel) exitTask(t *Task, status ExitStatus) {
	p := t.proc
	// mm_release's part comes first, while t still holds the process's
	// address space: once t leaves p.tasks, the last task may drop it.
	t.exitThread()
	t.releaseVfork()
	cpu, rss := t.exitTimes()
	k.mu.Lock()
	t.exitAccountingLocked(cpu, rss)
	delete(k.tasks, t.tid)
	for i, x := range p.tasks {
		if x == t {
			p.tasks = append(p.tasks[:i], p.tasks[i+1:]...)
			break
		}
	}
	last := len(p.tasks) == 0
	k.mu.Unlock()
	t.setCPU(nil)
	if !last {
		k.forkerExited(t)
		return
	}

	p.mu.Lock()
	if p.exiting != nil {
		status = *p.exiting
	}
	if status.Core && p.rlimits[linux.RLIMIT_CORE].cur < mm.PageSize {
		status.Core = false // no core dump below a page (binfmt_elf's min_coredump)
	}
	if p.alarm != nil {
		p.alarm.Stop()
	}
	p.sigTimers.exitLocked(k)
	as, fds, fs, exe := p.mm, p.fds, p.fs, p.exe
	p.mm, p.fds, p.fs, p.exe = nil, nil, nil, vfs.Path{}
	p.mu.Unlock()
	exe.DecRef()
	if as != nil {
		as.DropUser()
	}
	if fds != nil {
		fds.release()
	}
	if fs != nil {
		fs.release()
	}
	k.locks.ReleaseAll(lock.Process(p.pid))
	k.ipc.ExitSem(p.pid)

	k.mu.Lock()
	p.status = status
	p.state = procZombie
	adopter := k.reaper
	for a := p.parent; a != nil && a != k.reaper; a = a.parent {
		if a.subreaper && a.state == procRunning {
			adopter = a
			break
		}
	}
	var orphans []*Process // children with a parent-death signal
	for pid, c := range p.children {
		delete(p.children, pid)
		c.parent = adopter
		adopter.children[pid] = c
		c.mu.Lock()
		if c.pdeathsig != 0 && c.state == procRunning {
			orphans = append(orphans, c)
		}
		c.mu.Unlock()
	}
	adopted := adopter != k.reaper && len(adopter.children) > 0
	parent := p.parent
	if parent.autoReaps() {
		k.reapLocked(p)
	}
	k.reapOrphansLocked()
	k.mu.Unlock()
	// Told with k.mu released: a parent woken in wait4 takes it at once.
	if adopted {
		adopter.childEvents.Notify(0)
	}
	parent.childEvents.Notify(0)
	close(p.done)
	for _, c := range orphans {
		c.mu.Lock()
		sig := c.pdeathsig
		c.mu.Unlock()
		k.signalProcess(c, sig, sigInfoKill(sig, siUser, p))
	}
	if parent != k.reaper && p.exitSignal != 0 {
		k.signalProcess(parent, p.exitSignal, sigInfoChild(p, status))
	}
}

// reapOrphansLocked reaps the reaper's zombie children: pid 1 always waits.
func (k *Kernel) reapOrphansLocked() {
	for pid, c := range k.reaper.children {
		if c.state == procZombie {
			k.reapLocked(c)
			delete(k.reaper.children, pid)
		}
	}
}

// reapLocked frees a zombie's pid. Preconditions: k.mu held.
func (k *Kernel) reapLocked(c *Process) {
	c.state = procReaped
	delete(k.procs, c.pid)
	delete(c.parent.children, c.pid)
}

// autoReaps reports whether the process's children are reaped at exit
// without a wait: SIGCHLD is ignored or SA_NOCLDWAIT set.
func (p *Process) autoReaps() bool {
	if p.pid == 1 {
		return false // the reaper reaps in reapOrphansLocked
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.sigacts[linux.SIGCHLD-1]
	return a.Handler == linux.SIG_IGN || a.Flags&saNoCldWait != 0
}
