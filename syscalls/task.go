package syscalls

import (
	"errors"

	"cmaemu/arch"
	"cmaemu/linux"
	"cmaemu/mm"
)

// Task is a thread of a process: a CPU and per-thread kernel state.
// Its fields belong to the task's goroutine unless noted.
type Task struct {
	k     *Kernel
	proc  *Process
	tid   int32
	cpu   arch.CPU
	table *Table

	frame         *arch.SyscallFrame // the system call being handled
	sigmask       linux.SigSet
	clearChildTID mm.Addr
	robustList    mm.Addr
	exitStatus    *ExitStatus // set when the task must stop
}

// TID returns the thread id.
func (t *Task) TID() int32 { return t.tid }

// Process returns the task's process.
func (t *Task) Process() *Process { return t.proc }

// MM returns the task's address space.
func (t *Task) MM() *mm.MM { return t.proc.MM() }

// run is the task's goroutine: it runs guest code until the task exits.
func (t *Task) run() {
	for t.exitStatus == nil {
		exit, err := t.cpu.Run(t)
		if err != nil {
			internalError("pid %d: %v", t.tid, err)
			t.exitStatus = &ExitStatus{Signal: linux.SIGKILL}
			break
		}
		switch exit.Reason {
		case arch.ExitStop:
			// exit, exit_group or execve: the loop condition decides.
		case arch.ExitPageFault:
			t.die(linux.SIGSEGV, &exit, true)
		case arch.ExitIllegal:
			t.die(linux.SIGILL, &exit, false)
		case arch.ExitInterrupt:
			t.die(signalForVector(exit.Vector), &exit, false)
		}
	}
	t.proc.exit(*t.exitStatus)
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

// die kills the process with sig raised by a fault (no handlers yet: the
// default action of every fault signal is to dump core).
func (t *Task) die(sig linux.Signal, exit *arch.Exit, hasAddr bool) {
	info := &FaultInfo{Mode: t.cpu.Mode(), RIP: exit.RIP, Addr: exit.Addr, Access: exit.Access, HasAddr: hasAddr}
	code := make([]byte, 16)
	for n := len(code); n > 0; n-- {
		if got, err := t.MM().CopyIn(mm.Addr(exit.RIP), code[:n]); err == nil {
			info.Code = code[:got]
			break
		}
	}
	t.exitStatus = &ExitStatus{Signal: sig, Core: true, Fault: info}
}

// Syscall implements arch.Kernel: it dispatches one system call.
func (t *Task) Syscall(c arch.CPU, f *arch.SyscallFrame) {
	t.frame = f
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
	if err != nil {
		f.Ret = uint64(-int64(errnoOf(err)))
	} else {
		f.Ret = uint64(ret)
	}
	if t.exitStatus != nil {
		f.Stop = true
	}
	if tr != nil {
		t.k.tracer.exit(tr, t, ret, err)
	}
	t.frame = nil
}

// errnoOf turns a handler's error into the errno the guest sees. Memory
// faults are EFAULT; anything that is not an errno is an emulator bug,
// reported once and returned as EIO.
func errnoOf(err error) linux.Errno {
	var e linux.Errno
	if errors.As(err, &e) {
		return e
	}
	var f *mm.Fault
	if errors.As(err, &f) {
		return linux.EFAULT
	}
	internalError("syscall returned a non-errno error: %v", err)
	return linux.EIO
}
