package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/arch"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// clone(2) flags.
const (
	cloneVM            = 0x00000100
	cloneFS            = 0x00000200
	cloneFiles         = 0x00000400
	cloneSighand       = 0x00000800
	clonePidfd         = 0x00001000
	clonePtrace        = 0x00002000
	cloneVfork         = 0x00004000
	cloneParent        = 0x00008000
	cloneThread        = 0x00010000
	cloneNewNS         = 0x00020000
	cloneSysvsem       = 0x00040000
	cloneSetTLS        = 0x00080000
	cloneParentSetTID  = 0x00100000
	cloneChildClearTID = 0x00200000
	cloneDetached      = 0x00400000
	cloneUntraced      = 0x00800000
	cloneChildSetTID   = 0x01000000
	cloneNamespaces    = 0x7e020080 // CLONE_NEW* and CLONE_NEWTIME
	cloneIO            = 0x80000000
)

// Clone implements clone(2) (x86-64 argument order: flags, stack,
// parent_tid, child_tid, tls).
func Clone(t *Task, a Args) (uintptr, error) {
	return t.clone(a.Uint64(0), a.Uint64(1), a.Pointer(2), a.Pointer(3), a.Uint64(4))
}

// Fork implements fork(2).
func Fork(t *Task, a Args) (uintptr, error) {
	return t.clone(uint64(linux.SIGCHLD), 0, 0, 0, 0)
}

// Vfork implements vfork(2).
func Vfork(t *Task, a Args) (uintptr, error) {
	return t.clone(cloneVM|cloneVfork|uint64(linux.SIGCHLD), 0, 0, 0, 0)
}

func (t *Task) clone(flags, stack uint64, ptid, ctid mm.Addr, tls uint64) (uintptr, error) {
	return t.cloneWith(flags, stack, ptid, ctid, tls, nil)
}

// cloneWith is clone; for i386 tasks the TLS is desc (a set_thread_area
// descriptor) rather than an FS base.
func (t *Task) cloneWith(flags, stack uint64, ptid, ctid mm.Addr, tls uint64, desc *userDesc) (uintptr, error) {
	if t.cpu == nil {
		return 0, linux.ENOSYS // a task that runs no code (kerneltest)
	}
	switch {
	case flags&cloneNamespaces != 0:
		return 0, linux.EPERM
	case flags&cloneThread != 0 && flags&cloneSighand == 0,
		flags&cloneSighand != 0 && flags&cloneVM == 0:
		return 0, linux.EINVAL
	case flags&clonePidfd != 0:
		return 0, linux.EINVAL
	}
	regs, err := t.cpu.Regs()
	if err != nil {
		return 0, err
	}
	// The child starts with the parent's x87 and SSE state, threads
	// included (fpu_clone).
	fp, err := t.cpu.FP()
	if err != nil {
		return 0, err
	}
	regs.FP = &fp
	f := t.frame
	regs.RAX, regs.RIP = 0, f.Next
	if t.mode == arch.Mode64 {
		regs.RCX, regs.R11 = f.Next, regs.RFLAGS
	}
	if stack != 0 {
		regs.RSP = stack
	}
	if flags&cloneSetTLS != 0 && desc == nil {
		regs.FSBase = tls
	}

	p := t.proc
	if err := t.k.reserveTask(t); err != nil {
		return 0, err
	}
	var child *Task
	if flags&cloneThread != 0 {
		child = t.k.newReservedTask(p)
	} else {
		np, err := t.forkProcess(flags)
		if err != nil {
			t.k.unreserveTask()
			return 0, err
		}
		child = t.k.newReservedTask(np)
	}
	child.startRegs, child.mode, child.table, child.tls = &regs, t.mode, t.table, t.tls
	if flags&cloneVM == 0 || flags&cloneVfork != 0 {
		child.alt = t.alt // a thread sharing the memory starts without one (sas_ss_reset)
	}
	if desc != nil {
		if err := child.setTLS(0, *desc, false); err != nil {
			t.k.exitTask(child, ExitStatus{})
			return 0, err
		}
	}
	p.mu.Lock()
	child.sigmask = t.sigmask
	sched, pers, pol, slack := t.sched.forked(), t.personality, t.mempolicy, t.timerSlack
	comm := t.commLocked()
	p.mu.Unlock()
	child.proc.mu.Lock()
	child.sched, child.personality, child.mempolicy, child.timerSlack = sched, pers, pol, slack
	child.setCommLocked(comm)
	child.proc.mu.Unlock()
	if flags&cloneChildClearTID != 0 {
		child.clearChildTID = ctid
	}
	var tid [4]byte
	binary.LittleEndian.PutUint32(tid[:], uint32(child.tid))
	if flags&cloneParentSetTID != 0 {
		t.MM().CopyOut(ptid, tid[:])
	}
	if flags&cloneChildSetTID != 0 {
		child.MM().CopyOut(ctid, tid[:])
	}
	var done chan struct{}
	if flags&cloneVfork != 0 {
		done = make(chan struct{})
		child.vforkDone = done
	}
	go child.run()
	if done != nil {
		t.waitVforkChild(done)
	}
	return uintptr(child.tid), nil
}

// forkProcess makes the process of a clone without CLONE_THREAD.
func (t *Task) forkProcess(flags uint64) (*Process, error) {
	p := t.proc
	var as *mm.MM
	if flags&cloneVM != 0 {
		as = t.MM()
		as.AddUser()
	} else {
		var err error
		if as, err = t.MM().Fork(); err != nil {
			return nil, err
		}
	}
	parent := p
	if flags&cloneParent != 0 {
		t.k.mu.Lock()
		parent = p.parent
		t.k.mu.Unlock()
	}
	np := t.k.newProcess(parent)
	p.mu.Lock()
	p.exe.IncRef()
	np.mm, np.creds, np.dumpable, np.sigacts, np.exe, np.exeName = as, p.creds.clone(), p.dumpable, p.sigacts, p.exe, p.exeName
	np.exec, np.comm, np.oomAdj, np.oomAdjMin = p.exec, t.commLocked(), p.oomAdj, p.oomAdjMin
	np.rlimits, np.caps, np.capsValid, np.capsExec = p.rlimits, p.caps, p.capsValid, p.capsExec
	np.membarrier, np.membarrierExec = p.membarrier, p.membarrierExec
	np.capBset, np.keepCaps, np.keepCapsExec = p.capBset, p.keepCaps, p.keepCapsExec
	np.noNewPrivs, np.thpDisable = p.noNewPrivs, p.thpDisable
	fds, fs := p.fds, p.fs
	p.mu.Unlock()
	if flags&cloneFiles != 0 {
		np.fds = fds.share()
	} else {
		np.fds = fds.fork()
		np.fds.setLimit(np.rlimits[linux.RLIMIT_NOFILE].cur)
		t.k.watchCloses(np.fds, np.pid)
	}
	if flags&cloneFS != 0 {
		np.fs = fs.share()
	} else {
		np.fs = fs.fork()
	}
	t.k.mu.Lock()
	np.pgid, np.sid = p.pgid, p.sid
	if parent == p {
		np.forker = t.tid
	}
	np.exitSignal = linux.Signal(flags & 0xff)
	t.k.mu.Unlock()
	return np, nil
}

// killOtherThreads ends the other tasks of the process (execve).
func (t *Task) killOtherThreads() {
	t.k.mu.Lock()
	others := make([]*Task, 0, len(t.proc.tasks))
	for _, x := range t.proc.tasks {
		if x != t {
			others = append(others, x)
		}
	}
	t.k.mu.Unlock()
	for _, x := range others {
		x.proc.mu.Lock()
		x.exitRequested = true
		x.proc.mu.Unlock()
		x.poke()
	}
}
