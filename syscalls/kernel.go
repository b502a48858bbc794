// Package syscalls is cmaemu's kernel: processes and tasks, their
// credentials, file descriptors and signal state, and the per-ABI system
// call tables with their handlers, one file per syscall family.
//
// Kernel is also a Go API for unit-testing syscall semantics without any
// ELF program: NewKernel, Kernel.NewProcess (x86-64, or i386 with
// ProcessOptions.I386), Process.Map and Process.Write to lay out memory,
// Kernel.Fork, and Kernel.Call to invoke a syscall by number and get
// (value, errno) back. The runnable examples in example_test.go show Cross
// Memory Attach that way (go test -run Example -v ./syscalls):
//
//   - Example: a parent reads its forked child's memory with
//     process_vm_readv;
//   - ExampleKernel_Call_permission: another user's process is EPERM, root
//     may read it;
//   - ExampleKernel_Call_setuid: a process that drops root with setuid can
//     no longer read another user's process;
//   - ExampleKernel_Call_dumpable: a target that changed its ids with
//     setuid is non-dumpable (EPERM even for its own uid) until
//     prctl(PR_SET_DUMPABLE, 1);
//   - ExampleKernel_Call_partial: a copy across a PROT_NONE page returns
//     the bytes before it;
//   - ExampleKernel_Call_i386: an i386 process calls the compat
//     process_vm_readv (347) with 32-bit iovecs.
//
// Lock order: Kernel.mu, then Process.mu, then the mm locks.
package syscalls

import (
	"fmt"
	"github.com/cmaemu/cmaemu/kernel/event"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/fs/hostfs"
	"github.com/cmaemu/cmaemu/fs/lock"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/ipc"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/net/netlink"
	"github.com/cmaemu/cmaemu/net/unix"
)

// CPUFactory makes the processor of a new task (emu.New in the emulator,
// a fake in kernel tests).
type CPUFactory func(as *mm.MM, mode arch.Mode) (arch.CPU, error)

// Config configures a Kernel.
type Config struct {
	RAM    *mm.RAM
	NewCPU CPUFactory
	// Trace, if not nil, receives one strace-format line per system call.
	Trace io.Writer
	// TraceMM adds the page walks of Cross Memory Attach copies to Trace.
	TraceMM bool
	// Events, if not nil, receives the kernel's events (events.go): the
	// system calls Trace prints and the ends of CMA copies.
	Events func(Event)
	// EventsMM adds the pieces of CMA copies, with their page walks, to
	// Events.
	EventsMM bool
	// Root is the host directory that is the guest's "/" ("": the host's
	// own root). No name the guest resolves leads outside it.
	Root string
	// Sysroot ("": none) is qemu-user's -L: absolute names that exist
	// under this host directory resolve there first.
	Sysroot string
	// MaxTasks bounds the guest tasks (threads and processes) alive at
	// once: clone, fork and vfork beyond it fail with EAGAIN. 0 means
	// DefaultMaxTasks().
	MaxTasks int
	// NoNetwork leaves AF_INET and AF_INET6 out of the kernel: socket(2)
	// fails with EAFNOSUPPORT (cmaemu run --net none). Otherwise they are
	// host sockets, as in qemu-user.
	NoNetwork bool
	// Exit, if not nil, ends the emulator after an internal error
	// (report.go) with the given status; it must not return. nil:
	// os.Exit.
	Exit func(code int)
	// Watchdog, if > 0, reports a task that stays inside one system
	// call handler, outside the waits a guest may make last, for longer
	// than this as an internal error (watchdog.go). 0: off.
	Watchdog time.Duration
}

// Kernel is the emulated kernel: the process table and what all processes
// share. There is no global state beyond it.
type Kernel struct {
	ram    *mm.RAM
	newCPU CPUFactory
	tracer *tracer

	mu      sync.Mutex // protects tasks, procs, nextPID and the process tree
	tasks   map[int32]*Task
	procs   map[int32]*Process
	nextPID int32
	reaper  *Process // pid 1: adopts orphans and reaps them
	fgPgrp  int32    // the host terminal's foreground group, in guest pids (0: unset)

	futexes futexTable
	epolls  event.Nest // the nesting of epoll files (sys_epoll.go)

	sharedMu    sync.Mutex // protects sharedFiles
	sharedFiles map[fileID]*mm.SharedObject
	sharedCount atomic.Int32 // len(sharedFiles), read without sharedMu (pagecache.go)

	boot        time.Time           // when the kernel started (/proc's uptime)
	cpus        machine             // the emulated machine's CPUs (sys_sched.go)
	initRlimits rlimits             // the resource limits of the first process
	capBound    uint64              // the capability bounding set (sys_caps.go)
	locks       *lock.Table[fileID] // POSIX, OFD locks and leases of every file
	ipc         *ipc.Namespace      // System V shared memory, semaphores and queues
	memfdIno    atomic.Uint64       // the last inode number of a memfd
	pipeIno     atomic.Uint64       // the last inode number of a pipe (pipe.go)
	signalfdIno atomic.Uint64       // the last inode number of a signalfd
	lockIDs     atomic.Uint64       // the last OFD lock owner id (sys_lock.go)
	ns          *vfs.Namespace      // the mount table every process sees
	hostRoot    string              // the host directory mounted at "/"
	sysroot     *vfs.Namespace      // the -L overlay, or nil
	unix        *unix.Names         // AF_UNIX sockets and their bound names
	netlink     *netlink.Ports      // the port ids of netlink sockets
	noNetwork   bool                // Config.NoNetwork

	maxTasks int           // Config.MaxTasks (tasklimit.go)
	reserved int           // tasks being created, counted against maxTasks; protected by mu
	fifos    fifoTable     // the pipes of open FIFOs of cmaemu's filesystems (fifo.go)
	exit     func(int)     // Config.Exit
	dying    atomic.Bool   // an internal error is being reported
	watchdog time.Duration // Config.Watchdog

	cpuLimitOnce sync.Once // starts the RLIMIT_CPU checks (cpulimit.go)
	barrierOnce  sync.Once // registers the host membarrier (hostBarrier)
	barrierCmd   int       // the host membarrier command hostBarrier issues

	timerCount atomic.Int64 // POSIX timers of all processes (posix_timer.go)
}

// NewKernel returns a kernel with no guest processes.
func NewKernel(cfg Config) *Kernel {
	k := &Kernel{boot: time.Now(), cpus: probeMachine(), initRlimits: hostRlimits(), capBound: hostCapBound(), locks: lock.New[fileID](lock.Config{}), ram: cfg.RAM, newCPU: cfg.NewCPU, tasks: map[int32]*Task{}, procs: map[int32]*Process{},
		nextPID: firstPID, sharedFiles: map[fileID]*mm.SharedObject{}, maxTasks: cfg.MaxTasks, exit: cfg.Exit, watchdog: cfg.Watchdog,
		unix: unix.NewNames(unix.HostConfig(), unixFS{}), netlink: netlink.NewPorts(nil), noNetwork: cfg.NoNetwork}
	k.ipc = ipc.New(cfg.RAM)
	if k.maxTasks <= 0 {
		k.maxTasks = DefaultMaxTasks()
	}
	k.reaper = &Process{k: k, pid: 1, pgid: 1, sid: 1, children: map[int32]*Process{},
		done: make(chan struct{})}
	k.procs[1] = k.reaper
	if cfg.Trace != nil || cfg.Events != nil {
		k.tracer = &tracer{w: cfg.Trace, mm: cfg.Trace != nil && cfg.TraceMM,
			events: cfg.Events, eventsMM: cfg.Events != nil && cfg.EventsMM}
	}
	if err := k.mountDefaults(cfg.Root, cfg.Sysroot); err != nil {
		panic(fmt.Sprintf("syscalls: the guest's filesystem view: %v", err))
	}
	k.watchInheritedCPULimit()
	k.startWatchdog()
	return k
}

// CheckRoot reports whether dir can be a guest's root directory (for
// Config.Root): an existing host directory outside the host's /proc and
// /sys.
func CheckRoot(dir string) error {
	fs, err := hostfs.New(dir)
	if err != nil {
		return err
	}
	fs.Root().DecRef()
	return nil
}

// firstPID is the pid of the first guest process; lower pids are the
// kernel's own (1 is the reaper that adopts orphans).
const firstPID = 1000

// maxPID is pid_max: pids are not reused before it wraps.
const maxPID = 4194304

// RAM returns the guest-physical memory.
func (k *Kernel) RAM() *mm.RAM { return k.ram }

// allocPID reserves a new pid (also used as a thread id), skipping ids
// still in use.
func (k *Kernel) allocPID() int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		pid := k.nextPID
		k.nextPID++
		if k.nextPID >= maxPID {
			k.nextPID = firstPID
		}
		if k.procs[pid] == nil && k.tasks[pid] == nil {
			return pid
		}
	}
}

// newTask makes a task of p with a fresh thread id (the pid for the first).
func (k *Kernel) newTask(p *Process) *Task { return k.makeTask(p, false) }

// newReservedTask is newTask for a task reserveTask counted: the
// reservation ends as the task is added.
func (k *Kernel) newReservedTask(p *Process) *Task { return k.makeTask(p, true) }

func (k *Kernel) makeTask(p *Process, reserved bool) *Task {
	t := &Task{k: k, proc: p, wake: make(chan struct{}, 1), alt: disabledAltStack}
	k.mu.Lock()
	if len(p.tasks) == 0 {
		t.tid = p.pid
	}
	k.mu.Unlock()
	if t.tid == 0 {
		t.tid = k.allocPID()
	}
	k.mu.Lock()
	k.tasks[t.tid] = t
	p.tasks = append(p.tasks, t)
	if reserved {
		k.reserved--
	}
	k.mu.Unlock()
	return t
}

// TaskByID returns the live task with thread id tid.
func (k *Kernel) TaskByID(tid int32) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.tasks[tid]
}

// ProcessByID returns the process with pid (zombies included).
func (k *Kernel) ProcessByID(pid int32) *Process {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p := k.procs[pid]; p != k.reaper {
		return p
	}
	return nil
}

// multiProcess reports whether more than one guest process exists, for
// the [pid N] prefix of traces.
func (k *Kernel) multiProcess() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.procs) > 2 // the reaper and one guest
}

// tasksOf returns a snapshot of p's tasks.
func (k *Kernel) tasksOf(p *Process) []*Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*Task(nil), p.tasks...)
}
