package syscalls

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/kernel/sleep"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Task is a thread of a process: a CPU and per-thread kernel state. Its
// fields belong to the task's goroutine unless noted.
type Task struct {
	k     *Kernel
	proc  *Process
	tid   int32
	cpu   arch.CPU
	mode  arch.Mode
	table *Table

	// startRegs, if set, are the registers a new CPU starts with (a new
	// task, or after execve).
	startRegs *arch.Regs
	// execMM is the address space execve prepared: the task loop swaps it
	// in, with a new CPU, once the old engine has stopped.
	execMM *mm.MM

	frame         *arch.SyscallFrame // the system call being handled
	sigmask       linux.SigSet       // protected by proc.mu
	pending       linux.SigSet       // thread-directed signals; proc.mu
	savedMask     *linux.SigSet      // mask to restore after rt_sigsuspend
	tls           [3]uint64          // i386 TLS descriptors (GDT entries 12-14)
	clearChildTID mm.Addr
	robustList    mm.Addr
	vforkDone     chan struct{} // closed when a vfork child execs or exits
	exitStatus    *ExitStatus   // set when the task must stop
	exitRequested bool          // another thread's execve ends this one; proc.mu
	signalInfo    [linux.NSig]sigInfo
	recent        syscallRing // the last system calls, for reports (report.go)
	watch         kernelClock // time in the kernel, for the watchdog (watchdog.go)

	// wake is signalled (without blocking) when a signal may need
	// attention; blocking calls select on it.
	wake chan struct{}
	// waker is the task's host wake-up word: Sleep waits on it, poke and
	// the objects the task waits for (futexes, file queues) wake it.
	waker sleep.Waker
	// cpuMu protects writes of cpu and its use by other goroutines (poke).
	cpuMu sync.Mutex
	// hostWake ends a wait on a host descriptor (hostwait.go); poke
	// signals it.
	hostWake hostWake
	// alt is the alternate signal stack (sys_sigaltstack.go); task
	// goroutine only.
	alt altStack

	sched       schedState   // nice, policy, affinity (sys_sched.go); proc.mu
	host        hostThread   // the host thread running the task; proc.mu
	personality uint32       // personality(2); proc.mu
	mempolicy   mm.MemPolicy // set_mempolicy(2) (sys_numa.go); proc.mu
	timerSlack  uint64       // PR_SET_TIMERSLACK (0: the default); proc.mu
	comm        string       // a thread's own name (sys_prctl.go); proc.mu
}

// TID returns the thread id.
func (t *Task) TID() int32 { return t.tid }

// Process returns the task's process.
func (t *Task) Process() *Process { return t.proc }

// MM returns the task's address space.
func (t *Task) MM() *mm.MM { return t.proc.MM() }

// run is the task's goroutine: it runs guest code until the task exits.
func (t *Task) run() {
	defer t.recoverFatal()
	t.recordGoroutine()
	t.startHostThread()
	defer t.endHostThread()
	status := t.loop()
	t.installExecMM() // an execve that a fatal signal ended before it ran
	t.hostWake.release()
	t.k.exitTask(t, status)
}

func (t *Task) loop() ExitStatus {
	for {
		if st := t.proc.groupExit(); st != nil {
			return *st
		}
		if t.exitStatus != nil {
			return *t.exitStatus
		}
		if t.threadExitRequested() {
			return ExitStatus{}
		}
		t.waitIfStopped()
		if err := t.switchCPU(); err != nil {
			t.k.fatal(t, fmt.Errorf("a CPU for the task: %w", err), debug.Stack())
		}
		exit, err := t.cpu.Run(t)
		if err != nil {
			t.k.fatal(t, err, debug.Stack())
		}
		switch exit.Reason {
		case arch.ExitStop:
			// exit, execve or a fatal signal: the checks above decide.
		case arch.ExitKicked:
			t.deliverAsync()
		case arch.ExitPageFault:
			t.fault(linux.SIGSEGV, &exit, true)
		case arch.ExitIllegal:
			t.fault(linux.SIGILL, &exit, false)
		case arch.ExitInterrupt:
			t.fault(signalForVector(exit.Vector), &exit, false)
		}
	}
}

func (t *Task) threadExitRequested() bool {
	t.proc.mu.Lock()
	defer t.proc.mu.Unlock()
	return t.exitRequested
}

// switchCPU gives the task a CPU for its current address space: at start,
// and after execve replaced the address space.
func (t *Task) switchCPU() error {
	t.installExecMM()
	if t.cpu != nil {
		return nil
	}
	cpu, err := t.k.newCPU(t.MM(), t.mode)
	if err != nil {
		return err
	}
	cpu.SetTLS(t.tls)
	if err := cpu.SetRegs(t.startRegs); err != nil {
		cpu.Close()
		return err
	}
	t.setCPU(cpu)
	t.startRegs = nil
	return nil
}

// installExecMM makes the address space a committed execve prepared the
// process's, dropping the old one, as exec_mmap does. A task that exits
// before running the new image installs it too, so that the process's
// exit releases it.
func (t *Task) installExecMM() {
	if t.execMM == nil {
		return
	}
	t.setCPU(nil)
	old := t.proc.swapMM(t.execMM)
	t.execMM = nil
	if old != nil {
		old.DropUser()
	}
	t.releaseVfork()
}

// setCPU replaces the task's CPU, closing the old one.
func (t *Task) setCPU(cpu arch.CPU) {
	t.cpuMu.Lock()
	defer t.cpuMu.Unlock()
	if t.cpu != nil {
		t.cpu.Close()
	}
	t.cpu = cpu
}

// releaseVfork lets a vfork parent go on.
func (t *Task) releaseVfork() {
	if t.vforkDone != nil {
		close(t.vforkDone)
		t.vforkDone = nil
	}
}

func (p *Process) swapMM(as *mm.MM) *mm.MM {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.mm
	p.mm = as
	return old
}

// signalForVector maps a CPU exception to the signal Linux sends for it.
func signalForVector(v uint32) linux.Signal {
	switch v {
	case arch.VectorDivide, arch.VectorFPU, arch.VectorSIMD:
		return linux.SIGFPE
	case arch.VectorDebug, arch.VectorBreakpoint:
		return linux.SIGTRAP
	case arch.VectorInvalidOp:
		return linux.SIGILL
	case arch.VectorAlignment:
		return linux.SIGBUS
	}
	return linux.SIGSEGV // #GP, #OF, #BR, #NM and software interrupts
}

// fault handles a synchronous fault: the signal is delivered to a handler
// if the program has one and does not block it; otherwise the process dies
// with a report of where.
func (t *Task) fault(sig linux.Signal, exit *arch.Exit, hasAddr bool) {
	t.icebpIsDebug(exit)
	info := sigInfoFault(sig, exit)
	if !t.fpFaultCode(exit, &info) {
		return // a spurious floating-point exception: Linux returns to the instruction
	}
	if t.deliverFault(sig, info, exit) {
		return
	}
	fi := &FaultInfo{Mode: t.mode, RIP: exit.RIP, Addr: exit.Addr, Access: exit.Access, HasAddr: hasAddr}
	code := make([]byte, 16)
	for n := len(code); n > 0; n-- {
		if got, err := t.MM().CopyIn(mm.Addr(exit.RIP), code[:n]); err == nil {
			fi.Code = code[:got]
			break
		}
	}
	t.proc.killGroup(ExitStatus{Signal: sig, Core: true, Fault: fi})
}

// Syscall implements arch.Kernel: it dispatches one system call and, on
// the way out, delivers pending signals.
func (t *Task) Syscall(c arch.CPU, f *arch.SyscallFrame) {
	defer t.recoverFatal() // here rather than in the CPU's hook: the report has the stack of the panic
	t.frame = f
	t.enterKernel()
	e := t.table.lookup(f.Nr)
	args := Args(f.Args)
	var tr *traceCall
	if t.k.tracer != nil {
		tr = t.k.tracer.enter(t, f.Nr, e, args)
	}
	var ret uintptr
	var err error
	if e == nil || e.Fn == nil {
		err = linux.ENOSYS
	} else {
		ret, err = e.Fn(t, args)
	}
	if tr != nil {
		t.k.tracer.exit(tr, t, ret, err)
	}
	restart := false
	if errors.Is(err, errRestart) {
		restart, err = true, linux.EINTR
	}
	if err != nil {
		f.Ret = uint64(-int64(errnoOf(err)))
	} else if !f.KeepRegs {
		f.Ret = uint64(ret)
	}
	t.recent.record(f.Nr, f.Ret)
	t.waitIfStopped() // a stop during the call takes effect before user mode
	t.leaveKernel()
	if t.exitStatus != nil || t.execMM != nil || t.proc.groupExit() != nil || t.threadExitRequested() {
		f.Stop = true
	} else {
		t.deliverAtSyscallExit(restart)
	}
	t.frame = nil
}

// errRestart is returned by interrupted calls that restart after a
// handler with SA_RESTART (and return EINTR otherwise).
var errRestart = file.ErrRestart

// errnoOf turns a handler's error into the errno the guest sees. Memory
// faults are EFAULT; anything that is not an errno is an emulator bug:
// an internal error (report.go).
func errnoOf(err error) linux.Errno {
	var e linux.Errno
	if errors.As(err, &e) {
		return e
	}
	var f *mm.Fault
	if errors.As(err, &f) {
		return linux.EFAULT
	}
	var x *execError
	if errors.As(err, &x) {
		return linux.ENOEXEC
	}
	if errors.Is(err, errRestart) {
		return linux.EINTR
	}
	internalError("syscall returned a non-errno error: %v", err)
	return linux.EIO // not reached
}

// Block waits until ready is closed, a signal needs the task, or the
// timeout (if > 0) passes. It returns nil when ready, errRestart when
// interrupted, and ETIMEDOUT on timeout. With no channel it sleeps on the
// task's wake-up word, so that the host kernel times the sleep.
func (t *Task) Block(ready <-chan struct{}, timeout time.Duration) error {
	if ready == nil {
		return t.sleepFor(timeout)
	}
	if t.interrupted() {
		return errRestart
	}
	defer t.legitWait()()
	var timer <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		timer = tm.C
	}
	for {
		select {
		case <-ready:
			return nil
		case <-timer:
			return linux.ETIMEDOUT
		case <-t.wake:
			if t.interrupted() {
				return errRestart
			}
		}
	}
}

// sleepFor waits until the timeout (0: for ever) passes (ETIMEDOUT) or
// the task is interrupted (errRestart).
func (t *Task) sleepFor(timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if err := t.Sleep(t.waker.Token(), deadline); err != nil {
			return err
		}
	}
}

// Waker implements file.Sleeper.
func (t *Task) Waker() *sleep.Waker { return &t.waker }

// Sleep implements file.Sleeper: it waits on the task's wake-up word
// until a wake-up after token, the deadline (the zero Time: none;
// ETIMEDOUT) or an interruption (errRestart).
func (t *Task) Sleep(token uint32, deadline time.Time) error {
	if t.interrupted() {
		return errRestart
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return linux.ETIMEDOUT
	}
	defer t.legitWait()()
	if !t.waker.SleepUntil(token, deadline) {
		return linux.ETIMEDOUT
	}
	if t.interrupted() {
		return errRestart
	}
	return nil
}

// poke wakes the task if it is blocked, and stops its CPU if it runs.
func (t *Task) poke() {
	t.waker.Wake()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	t.hostWake.signal()
	t.cpuMu.Lock()
	if t.cpu != nil {
		t.cpu.Kick()
	}
	t.cpuMu.Unlock()
}

// SendSIGPIPE implements file.Context: SIGPIPE for the calling thread, as
// a write to a pipe or socket without readers raises it.
func (t *Task) SendSIGPIPE() {
	t.k.signal(t.proc, t, linux.SIGPIPE, sigInfoKill(linux.SIGPIPE, siUser, t.proc))
}

// Capable reports whether the task's process has capability c in its
// effective set (net/inet's Capable).
func (t *Task) Capable(c int) bool { return t.proc.capable(c) }

// Ucred implements file.Context.
func (t *Task) Ucred() file.Ucred {
	c := t.proc.Creds()
	return file.Ucred{Pid: t.proc.pid, UID: c.EUID, GID: c.EGID}
}
