package emu

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/emu/unicorn"
	"github.com/cmaemu/cmaemu/mm"
)

// userFlags is RFLAGS on entry to user mode: IF set, as Linux starts tasks.
const userFlags = 0x202

// kernelFlags is RFLAGS while the engine runs the iret trampoline: only
// the always-set bit.
const kernelFlags = 0x2

// never is the exit address given to every Start: guest code cannot reach
// it, as it lies above the user address space, in the page after the
// kernel page. When a run ends, Unicorn fetches the page of the byte
// before the exit address; a refusal there would replace the run's real
// error, so the TLB fill maps that page, for instruction fetch only, to
// the zero frame. Run reports a guest that gets there as a fetch fault.
func (c *CPU) never() uint64 { return c.neverPage() + 1 }

func (c *CPU) neverPage() uint64 { return c.kpage + mm.PageSize }

// Run implements arch.CPU.
func (c *CPU) Run(k arch.Kernel) (arch.Exit, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c.owner.Store(int32(syscall.Gettid()))
	defer c.owner.Store(0)
	c.kernel = k
	defer func() { c.kernel = nil }()

	if c.faulted {
		c.faulted = false
		if err := c.resetAfterFault(); err != nil {
			return arch.Exit{}, err
		}
	}
	for {
		// Withdraw the interrupt first: a Kick from now on stops the
		// engine again; one before is seen in the flags below.
		c.uc.ClearInterrupt()
		if err := c.applyPending(); err != nil {
			return arch.Exit{}, err
		}
		rip, err := c.uc.RegRead(c.ripReg())
		if err != nil {
			return arch.Exit{}, err
		}
		if c.kicked.Swap(false) {
			return arch.Exit{Reason: arch.ExitKicked, RIP: rip}, nil
		}
		if !c.entered {
			if rip, err = c.enterUser(); err != nil {
				return arch.Exit{}, err
			}
		}
		c.stopReq, c.intr, c.haveFault = false, nil, false
		err = c.uc.Start(rip, c.never(), 0, 0)
		rip, _ = c.uc.RegRead(c.ripReg())
		if c.entered && c.inKernel {
			// The run ended in the trampoline (a Kick or a shootdown
			// stopped it at its block start, or the iret faulted):
			// the task is where it was before the entry.
			var uerr error
			if rip, uerr = c.undoEntry(); uerr != nil {
				return arch.Exit{}, uerr
			}
		}
		var perr *unicorn.PanicError
		switch {
		case errors.As(err, &perr):
			return arch.Exit{}, err
		case c.intr != nil:
			c.faulted = true
			return *c.intr, nil
		case c.stopReq:
			return arch.Exit{Reason: arch.ExitStop, RIP: rip}, nil
		case err == nil && rip == c.never():
			return arch.Exit{Reason: arch.ExitPageFault, RIP: rip, Addr: mm.Addr(rip), Access: mm.Exec}, nil
		case err == nil && c.kicked.Swap(false):
			return arch.Exit{Reason: arch.ExitKicked, RIP: rip}, nil
		case err == nil:
			continue // stopped to apply a shootdown
		case errors.Is(err, unicorn.ErrAtomicGP):
			c.faulted = true
			return arch.Exit{Reason: arch.ExitInterrupt, Vector: arch.VectorGP, RIP: rip}, nil
		case errors.Is(err, unicorn.ErrInsnInvalid):
			c.faulted = true
			return arch.Exit{Reason: arch.ExitIllegal, RIP: rip}, nil
		case c.haveFault:
			c.faulted = true
			f := c.fault
			f.RIP = rip
			c.refineFaultAddr(&f)
			return f, nil
		default:
			return arch.Exit{}, fmt.Errorf("emu: engine stopped at %#x: %w", rip, err)
		}
	}
}

func (c *CPU) ripReg() unicorn.Reg {
	if c.mode == arch.Mode32 {
		return unicorn.EIP
	}
	return unicorn.RIP
}

// enterUser prepares the engine, which Unicorn starts at CPL 0, to enter
// CPL 3 at the current RIP and RSP through an iret in the kernel page, and
// returns where to start it. The kernel page stays reachable only until
// the first translation of a user page, and is flushed from the TLB at the
// first system call.
func (c *CPU) enterUser() (uint64, error) {
	regs, err := c.Regs()
	if err != nil {
		return 0, err
	}
	c.beforeEntry = userEntry{rip: regs.RIP, sp: regs.RSP, flags: regs.RFLAGS}
	page := c.as.RAM().Bytes(c.kfr)
	off := writeIretFrame(page, c.mode == arch.Mode64, regs.RIP, regs.RSP, userFlags)
	// The iret runs with the kernel's flags, not the guest's: with NT
	// (which popf sets at CPL 3) iretq is #GP and iretd a task switch,
	// with TF a debug trap. The frame holds the flags user mode gets.
	// They are loaded first: with the guest's VM flag (which the engine
	// lets an iret at CPL 3 set) the segment loads below would be
	// virtual-8086 ones, base = selector * 16, and the iret would pop
	// its frame from user memory.
	flagsReg := unicorn.RFLAGS
	if c.mode == arch.Mode32 {
		flagsReg = unicorn.EFLAGS
	}
	if err := c.uc.RegWrite(flagsReg, kernelFlags); err != nil {
		return 0, err
	}
	spReg := unicorn.RSP
	if c.mode == arch.Mode32 {
		spReg = unicorn.ESP
		// A flat 32-bit kernel stack for the iret; data segments with
		// DPL 3 survive the iret to CPL 3.
		segs := []struct {
			reg unicorn.Reg
			sel uint64
		}{{unicorn.SS, selKernelDS}, {unicorn.DS, selUserDS}, {unicorn.ES, selUserDS}}
		for _, s := range segs {
			if err := c.uc.RegWrite(s.reg, s.sel); err != nil {
				return 0, fmt.Errorf("emu: loading segments: %w", err)
			}
		}
	}
	if err := c.uc.RegWrite(spReg, c.kpage+uint64(off)); err != nil {
		return 0, err
	}
	c.inKernel = true
	c.entered = true
	return c.kpage + trampOffset, nil
}

// userEntry is what enterUser replaces of the task's registers.
type userEntry struct{ rip, sp, flags uint64 }

// undoEntry puts back the registers enterUser replaced, for a run that
// ended before it reached user mode, and returns the user RIP: the task
// enters user mode again at its next run. Whatever ended the run is
// reported there, at the instruction user mode was to start with.
func (c *CPU) undoEntry() (uint64, error) {
	e := c.beforeEntry
	ids := []unicorn.Reg{unicorn.RIP, unicorn.RSP, unicorn.RFLAGS}
	if c.mode == arch.Mode32 {
		ids = []unicorn.Reg{unicorn.EIP, unicorn.ESP, unicorn.EFLAGS}
	}
	for i, v := range []uint64{e.rip, e.sp, e.flags} {
		if err := c.uc.RegWrite(ids[i], v); err != nil {
			return 0, err
		}
	}
	c.entered = false
	if c.intr != nil {
		c.intr.RIP = e.rip
	}
	return e.rip, nil
}

func (c *CPU) onSyscall(r *unicorn.SyscallRegs) {
	c.syscall(r, r.RIP+2)
}

func (c *CPU) onInt80(r *unicorn.SyscallRegs) {
	c.syscall(r, r.RIP)
}

func (c *CPU) syscall(r *unicorn.SyscallRegs, next uint64) {
	if c.flushEntry {
		c.flushEntry = false
		c.uc.FlushTLB()
	}
	f := &c.frame
	*f = arch.SyscallFrame{Nr: r.Nr, Args: r.Args, Next: next}
	c.kernel.Syscall(c, f)
	r.Ret = f.Ret
	if f.Redirect {
		r.Redirect(f.NewRIP)
	}
	if f.KeepRegs {
		r.KeepRegs = 1
	}
	if f.Stop {
		c.stopReq = true
		r.Stop = 1
	}
	if c.pending.Load() {
		r.Stop = 1
	}
}

func (c *CPU) onInterrupt(intno uint32) {
	rip, _ := c.uc.RegRead(c.ripReg())
	c.intr = &arch.Exit{Reason: arch.ExitInterrupt, Vector: intno, RIP: rip}
	c.uc.Stop()
}

// onPortIO turns in/out, which Unicorn runs even at CPL 3, into the #GP
// a CPU raises for them without I/O privilege.
func (c *CPU) onPortIO(port uint32, out bool) {
	c.onInterrupt(arch.VectorGP)
}

// onTLBFill supplies a translation from the address space's page table,
// faulting pages in as needed. A refusal is recorded for Run to report.
func (c *CPU) onTLBFill(vaddr uint64, t unicorn.MemType) (uint64, unicorn.Prot, bool) {
	if vaddr&^(mm.PageSize-1) == c.neverPage() && t == unicorn.MemFetch {
		return uint64(c.as.RAM().ZeroFrame.Addr()), unicorn.ProtExec, true
	}
	if vaddr&^(mm.PageSize-1) == c.kpage {
		switch {
		case c.inKernel && t != unicorn.MemWrite:
			return uint64(c.kfr.Addr()), unicorn.ProtRead | unicorn.ProtExec, true
		case c.mode == arch.Mode32 && t == unicorn.MemRead:
			// i386 tasks load TLS selectors at any time: the GDT
			// stays readable (where Linux has its vDSO).
			return uint64(c.kfr.Addr()), unicorn.ProtRead, true
		}
		c.recordFault(vaddr, t, false)
		return 0, 0, false
	}
	if c.inKernel {
		// The first user page: entry is over. From now on present pages
		// are translated in C and Go sees only faults.
		c.inKernel = false
		c.flushEntry = true
		ram := c.as.RAM()
		c.uc.SetPageTable(ram.Base(), ram.Size(), uint64(c.as.Root()))
		c.uc.SetCodeMarks(ram.CodeMarks())
	}
	acc := access(t)
	pa, prot, err := c.as.Translate(mm.Addr(vaddr), acc)
	if err != nil {
		var f *mm.Fault
		c.recordFault(vaddr, t, errors.As(err, &f) && f.Mapped)
		return 0, 0, false
	}
	return uint64(pa) &^ (mm.PageSize - 1), ucProt(prot), true
}

func access(t unicorn.MemType) mm.Access {
	switch t {
	case unicorn.MemWrite:
		return mm.Write
	case unicorn.MemFetch:
		return mm.Exec
	}
	return mm.Read
}

func (c *CPU) recordFault(vaddr uint64, t unicorn.MemType, mapped bool) {
	c.fault = arch.Exit{Reason: arch.ExitPageFault, Addr: mm.Addr(vaddr), Access: access(t), Mapped: mapped}
	c.haveFault = true
}

func ucProt(p mm.Prot) unicorn.Prot {
	var u unicorn.Prot
	if p&mm.ProtRead != 0 {
		u |= unicorn.ProtRead
	}
	if p&mm.ProtWrite != 0 {
		u |= unicorn.ProtWrite
	}
	if p&mm.ProtExec != 0 {
		u |= unicorn.ProtExec
	}
	return u
}
