package syscalls

import (
	"fmt"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// This file is the kernel's API for driving system calls from Go without
// any ELF program: make processes with chosen credentials, lay out and
// fill their memory, fork them, and call any syscall by number, getting
// (value, errno) back. Calls made so are traced (Config.Trace) and
// observed (Config.Events) as a guest's are. Processes made here run no
// guest code: their task has no CPU, and syscalls that need one (clone,
// arch_prctl, rt_sigreturn, execve) answer ENOSYS.

// ProcessOptions configure NewProcess.
type ProcessOptions struct {
	Creds Creds
	// I386 makes an i386 (compat) process: a 4 GiB address space and
	// the i386 syscall table for Call.
	I386 bool
}

// NewProcess creates a process with an empty address space, no open
// files and one task that runs no code.
func (k *Kernel) NewProcess(o ProcessOptions) (*Process, error) {
	fs := k.newFSContext("", o.Creds.fsCreds())
	layout, mode, table := mm.Layout64, arch.Mode64, &AMD64
	if o.I386 {
		layout, mode, table = mm.Layout32, arch.Mode32, &I386
	}
	as, err := mm.New(k.ram, layout)
	if err != nil {
		fs.release()
		return nil, err
	}
	p := k.newProcess(nil)
	k.mu.Lock()
	p.pgid, p.sid = p.pid, p.pid
	k.mu.Unlock()
	p.mm, p.fds, p.fs, p.creds = as, newFDTable(), fs, o.Creds.clone()
	k.watchCloses(p.fds, p.pid)
	t := k.newTask(p)
	t.mode, t.table = mode, table
	return p, nil
}

// Map maps pages anonymous private pages at addr (page-aligned) with prot.
func (p *Process) Map(addr mm.Addr, pages int, prot mm.Prot) error {
	_, err := p.MM().Map(mm.MapOpts{Addr: addr, Length: uint64(pages) * mm.PageSize, Prot: prot, Fixed: true})
	return err
}

// MapShared maps pages of shared anonymous memory (shared with the
// process's future forks) at addr with prot.
func (p *Process) MapShared(addr mm.Addr, pages int, prot mm.Prot) error {
	_, err := p.MM().Map(mm.MapOpts{Addr: addr, Length: uint64(pages) * mm.PageSize, Prot: prot, Fixed: true, Shared: true})
	return err
}

// Write stores data at addr whatever the protection (as a debugger
// would); every byte must be mapped.
func (p *Process) Write(addr mm.Addr, data []byte) error { return p.MM().WriteForce(addr, data) }

// Read loads n bytes at addr with the guest's read permission.
func (p *Process) Read(addr mm.Addr, n int) ([]byte, error) {
	b := make([]byte, n)
	got, err := p.MM().CopyIn(addr, b)
	return b[:got], err
}

// Main returns the process's first task.
func (p *Process) Main() *Task {
	p.k.mu.Lock()
	defer p.k.mu.Unlock()
	if len(p.tasks) == 0 {
		return nil
	}
	return p.tasks[0]
}

// SetCreds replaces the credentials without the side effects of the
// set*id calls (dumpable is left alone).
func (p *Process) SetCreds(c Creds) {
	p.mu.Lock()
	p.creds = c.clone()
	p.capsValid = false // the capabilities execve would give
	p.mu.Unlock()
}

// SetDumpable sets what prctl(PR_SET_DUMPABLE) sets.
func (p *Process) SetDumpable(d bool) {
	p.mu.Lock()
	p.dumpable = d
	p.mu.Unlock()
}

// Fork makes a child of p as fork(2) does: a copy-on-write copy of its
// address space, its credentials and its files.
func (k *Kernel) Fork(p *Process) (*Process, error) {
	t := p.Main()
	if t == nil {
		return nil, fmt.Errorf("fork: %v has exited", p)
	}
	np, err := t.forkProcess(uint64(linux.SIGCHLD))
	if err != nil {
		return nil, err
	}
	c := k.newTask(np)
	c.mode, c.table = t.mode, t.table
	return np, nil
}

// NewThread adds a task (a thread with its own id) to p.
func (k *Kernel) NewThread(p *Process) *Task {
	main := p.Main()
	t := k.newTask(p)
	t.mode, t.table = main.mode, main.table
	return t
}

// Exit ends every task of p with the exit code: p becomes a zombie until
// its parent reaps it (the reaper, pid 1, reaps at once).
func (k *Kernel) Exit(p *Process, code int) {
	p.killGroup(ExitStatus{Code: code})
	for t := p.Main(); t != nil; t = p.Main() {
		k.exitTask(t, ExitStatus{Code: code})
	}
}

// Call runs system call nr of the process's table (x86-64, or i386 for
// an I386 process) on p's first task and returns the result and the errno
// (0 on success).
func (k *Kernel) Call(p *Process, nr uintptr, args ...uint64) (uintptr, linux.Errno) {
	t := p.Main()
	if t == nil {
		return 0, linux.ESRCH
	}
	return t.Call(nr, args...)
}

// Call runs system call nr on the task.
func (t *Task) Call(nr uintptr, args ...uint64) (uintptr, linux.Errno) {
	var a Args
	copy(a[:], args)
	f := &arch.SyscallFrame{Nr: uint64(nr), Args: a}
	t.frame = f
	defer func() { t.frame = nil }()
	e := t.table.lookup(uint64(nr))
	var tr *traceCall
	if t.k.tracer != nil {
		tr = t.k.tracer.enter(t, uint64(nr), e, a)
	}
	var ret uintptr
	var err error
	if e == nil || e.Fn == nil {
		err = linux.ENOSYS
	} else {
		ret, err = e.Fn(t, a)
	}
	if tr != nil {
		t.k.tracer.exit(tr, t, ret, err)
	}
	if err != nil {
		return 0, errnoOf(err)
	}
	return ret, 0
}
