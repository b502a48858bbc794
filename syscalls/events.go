package syscalls

import (
	"time"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// The kernel's events: what --trace prints and what cmaemu demo narrates
// and draws, from one source. Config.Events receives, in order:
//
//   - a SyscallEvent when a system call returns, with the line strace
//     would print for it (the same line Config.Trace gets);
//   - with Config.EventsMM, a CopyStepEvent for every piece of a Cross
//     Memory Attach copy: the mm.CopyStep of each side, with the page walk
//     mm.CopyBetween made to pin the page (the steps --trace=mm prints);
//   - a CopyEvent when a CMA copy ends: the iovecs as the kernel imported
//     them, the bytes copied and, for a short copy, the page it stopped
//     at and that page's VMA and walk;
//   - PageEvent and ProcessEvent when a Go caller inspects a page or a
//     process with Kernel.InspectPage and Kernel.InspectProcess (an
//     observer's look at the page table, as a debugger would take it).
//
// Events are delivered on the goroutine of the task that caused them,
// with no kernel lock held; the function must not block for long.

// Event is one of SyscallEvent, CopyStepEvent, CopyEvent, PageEvent and
// ProcessEvent.
type Event interface {
	// Time is when the event happened, since the kernel started.
	Time() time.Duration
}

// SyscallEvent is a system call that returned.
type SyscallEvent struct {
	PID, TID int32
	Nr       uint64
	Name     string
	Args     Args
	Ret      uintptr
	Errno    linux.Errno // 0 on success
	// Line is strace's line for the call, without the "[pid N] " prefix
	// and the newline: "process_vm_writev(1001, [...], 1, [...], 1, 0) = 40".
	Line       string
	Start, End time.Duration // entry and return, since the kernel started
}

// CopyStepEvent is one piece of a CMA copy on one side.
type CopyStepEvent struct {
	PID, TID int32 // the caller
	Target   int32 // the remote pid
	Dir      mm.CopyDirection
	Step     mm.CopyStep
	At       time.Duration
}

// CopyEvent is the end of a CMA copy (after the argument checks passed
// and the target was attached).
type CopyEvent struct {
	PID, TID int32 // the caller
	Target   int32 // the remote pid
	Dir      mm.CopyDirection
	// IovecSize is the size of one struct iovec in the caller's ABI: 16
	// for x86-64, 8 for i386's compat_iovec {u32 base, u32 len}.
	IovecSize int
	// LocalArray and RemoteArray are the iovec arrays' addresses in the
	// caller, LocalRaw and RemoteRaw their bytes as the kernel read them.
	LocalArray, RemoteArray mm.Addr
	LocalRaw, RemoteRaw     []byte
	Local, Remote           []mm.IOVec // as imported (lengths capped)
	Copied                  int
	Errno                   linux.Errno // EFAULT if nothing could be copied
	// Stop, for a copy that moved less than both sides asked, is where
	// it stopped.
	Stop *CopyStop
	At   time.Duration
}

// Wanted is how many bytes the copy could have moved: the smaller of the
// two sides' totals.
func (c CopyEvent) Wanted() uint64 {
	return min(iovSum(c.Local), iovSum(c.Remote))
}

// CopyStop is the first byte a short CMA copy could not move.
type CopyStop struct {
	Remote bool  // the remote side refused (else the local one)
	PID    int32 // the process whose page it is
	VA     mm.Addr
	Access mm.Access // the access that was refused
	VMA    mm.VMA    // the VMA holding VA, if HasVMA
	HasVMA bool
	Walk   mm.Walk // VA's page walk after the copy
}

// PageEvent is a look at one page of a process (Kernel.InspectPage).
type PageEvent struct {
	PID    int32
	Label  string
	VA     mm.Addr
	Walk   mm.Walk
	VMA    mm.VMA
	HasVMA bool
	// Refs is the reference count of the page's frame (0 if none).
	Refs int
	// Bytes are the bytes at VA, read as /proc/PID/mem would (the zero
	// page's zeros if nothing is mapped), up to the length asked.
	Bytes []byte
	At    time.Duration
}

// ProcessEvent is a look at a process (Kernel.InspectProcess).
type ProcessEvent struct {
	PID      int32
	Label    string
	I386     bool
	Creds    Creds
	Dumpable bool
	CR3      mm.PhysAddr
	VMAs     []mm.VMA
	At       time.Duration
}

func (e SyscallEvent) Time() time.Duration  { return e.End }
func (e CopyStepEvent) Time() time.Duration { return e.At }
func (e CopyEvent) Time() time.Duration     { return e.At }
func (e PageEvent) Time() time.Duration     { return e.At }
func (e ProcessEvent) Time() time.Duration  { return e.At }

// since is the time since the kernel started.
func (k *Kernel) since() time.Duration { return time.Since(k.boot) }

// emit delivers e if anyone listens.
func (k *Kernel) emit(e Event) {
	if tr := k.tracer; tr != nil && tr.events != nil {
		tr.events(e)
	}
}

// listening reports whether Config.Events is set.
func (k *Kernel) listening() bool { return k.tracer != nil && k.tracer.events != nil }

// copySteps returns the function that receives the pieces of a CMA copy
// by t into target: it prints them for --trace=mm and delivers them as
// CopyStepEvents with Config.EventsMM. It returns nil if no one wants
// them (the copy then runs untraced, in big batches).
func (k *Kernel) copySteps(t, target *Task, dir mm.CopyDirection) func(mm.CopyStep) {
	tr := k.tracer
	if tr == nil || !tr.mm && !tr.eventsMM {
		return nil
	}
	pid, tid, tpid := t.proc.pid, t.tid, target.proc.pid
	return func(s mm.CopyStep) {
		if tr.mm {
			tr.copyStep(t, target, s)
		}
		if tr.eventsMM {
			tr.events(CopyStepEvent{PID: pid, TID: tid, Target: tpid, Dir: dir, Step: s, At: k.since()})
		}
	}
}

// copyDone delivers the CopyEvent of a CMA copy that ended.
func (k *Kernel) copyDone(t, target *Task, dir mm.CopyDirection, layout iovecLayout, lvec, rvec mm.Addr,
	local, remote *mm.MM, liov, riov []mm.IOVec, n int, err error) {
	if !k.listening() {
		return
	}
	raw := func(at mm.Addr, cnt int) []byte {
		b := make([]byte, cnt*layout.size)
		got, _ := local.CopyIn(at, b)
		return b[:got]
	}
	e := CopyEvent{PID: t.proc.pid, TID: t.tid, Target: target.proc.pid, Dir: dir, IovecSize: layout.size,
		LocalArray: lvec, RemoteArray: rvec, LocalRaw: raw(lvec, len(liov)), RemoteRaw: raw(rvec, len(riov)),
		Local: append([]mm.IOVec(nil), liov...), Remote: append([]mm.IOVec(nil), riov...), Copied: n}
	if err != nil {
		e.Errno = errnoOf(err)
	}
	if uint64(n) < e.Wanted() {
		e.Stop = stopAt(t.proc.pid, target.proc.pid, dir, local, remote, liov, riov, uint64(n))
	}
	e.At = k.since()
	k.emit(e)
}

// stopAt finds the byte a copy that moved n bytes stopped at: the remote
// address n bytes into riov if its page refuses the access, else the
// local one. The copy itself decided; this only names the page.
func stopAt(lpid, rpid int32, dir mm.CopyDirection, local, remote *mm.MM, liov, riov []mm.IOVec, n uint64) *CopyStop {
	racc, lacc := mm.Read, mm.Write
	if dir == mm.WriteRemote {
		racc, lacc = mm.Write, mm.Read
	}
	s := &CopyStop{Remote: true, PID: rpid, VA: iovAt(riov, n), Access: racc}
	s.VMA, s.HasVMA = remote.FindVMA(s.VA)
	want := mm.ProtRead
	if racc == mm.Write {
		want = mm.ProtWrite
	}
	if s.HasVMA && s.VMA.Prot&want != 0 {
		// The remote page allowed it: the local side stopped the copy.
		s = &CopyStop{PID: lpid, VA: iovAt(liov, n), Access: lacc}
		s.VMA, s.HasVMA = local.FindVMA(s.VA)
		s.Walk = local.Walk(s.VA)
		return s
	}
	s.Walk = remote.Walk(s.VA)
	return s
}

// iovAt is the address n bytes into iov, zero-length elements skipped.
func iovAt(iov []mm.IOVec, n uint64) mm.Addr {
	for _, v := range iov {
		if n < v.Len {
			return v.Base + mm.Addr(n)
		}
		n -= v.Len
	}
	return 0
}

func iovSum(iov []mm.IOVec) uint64 {
	var t uint64
	for _, v := range iov {
		t += v.Len
	}
	return t
}

// InspectPage delivers a PageEvent for the page holding va in p (label
// says why, e.g. "before"), with up to n bytes at va, no further than the
// page's end. It changes nothing: the bytes are read from the frame the
// leaf entry holds (zeros if it holds none), and no bit is set.
func (k *Kernel) InspectPage(p *Process, va mm.Addr, n int, label string) PageEvent {
	e := PageEvent{PID: p.pid, Label: label, VA: va}
	as := p.MM()
	if as == nil {
		return e
	}
	e.Walk = as.Walk(va)
	e.VMA, e.HasVMA = as.FindVMA(va)
	n = min(n, int(mm.PageSize-va.PageOffset()))
	leaf := e.Walk.Entry[mm.Levels-1]
	switch {
	case e.Walk.Depth == mm.Levels && leaf.HasFrame():
		e.Refs = k.ram.Refs(leaf.Frame())
		off := va.PageOffset()
		e.Bytes = append([]byte(nil), k.ram.Bytes(leaf.Frame())[off:off+uint64(n)]...)
	case n > 0:
		e.Bytes = make([]byte, n)
	}
	e.At = k.since()
	k.emit(e)
	return e
}

// InspectProcess delivers a ProcessEvent for p.
func (k *Kernel) InspectProcess(p *Process, label string) ProcessEvent {
	p.mu.Lock()
	e := ProcessEvent{PID: p.pid, Label: label, Creds: p.creds.clone(), Dumpable: p.dumpable}
	p.mu.Unlock()
	if t := p.Main(); t != nil {
		e.I386 = t.is32()
	}
	if as := p.MM(); as != nil {
		e.CR3, e.VMAs = as.Root(), as.VMAs()
	}
	e.At = k.since()
	k.emit(e)
	return e
}
