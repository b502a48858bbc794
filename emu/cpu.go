// Package emu runs a task's guest code: one Unicorn engine per task, in
// virtual-TLB mode so that every translation comes from the task's mm page
// table, entered at CPL 3, with system calls handed to the kernel from the
// engine's hooks.
package emu

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/emu/unicorn"
	"github.com/cmaemu/cmaemu/mm"
)

// TCGBufferSize is the translated-code buffer of each engine. Unicorn's
// default reserves 1 GiB of address space per engine; 32 MiB holds the
// code of any test program and lets hundreds of engines coexist.
const TCGBufferSize = 32 << 20

// cpuModel advertises SSSE3, SSE4.x and POPCNT (x86-64-v2) but no AVX.
const cpuModel = unicorn.CPUModelHaswell

// Control-register bits set for guests, as Linux sets them.
const (
	cr0MP        = 1 << 1  // monitor coprocessor
	cr0EM        = 1 << 2  // x87 emulation: must be clear for SSE
	cr0NE        = 1 << 5  // x87 errors raise #MF (not the IRQ 13 of old PCs)
	cr4OSFXSR    = 1 << 9  // SSE enabled (FXSAVE/FXRSTOR)
	cr4OSXMMEXCP = 1 << 10 // unmasked SSE exceptions raise #XM
	cr4FSGSBase  = 1 << 16 // RDFSBASE and friends: the model advertises them
	// XSAVE and XGETBV enabled, as Linux always has it when the CPU has
	// XSAVE: CPUID then reports OSXSAVE, and XCR0 is x87|SSE.
	cr4OSXSAVE = 1 << 18
)

// CPU is the processor of one task: a Unicorn engine bound to an address
// space. It implements arch.CPU.
//
// Run, Regs and SetRegs belong to the goroutine that runs the task (which
// holds its OS thread locked while Run is active). FlushTLB, WaitTLB and
// InvalidateCode may be called from anywhere: a flush is done by the
// engine at its next block start or before it runs guest code again
// (unicorn.Engine.RequestFlush); dropped code is queued and the engine
// is stopped to apply it before it runs guest code again.
type CPU struct {
	uc    *unicorn.Engine
	mode  arch.Mode
	as    *mm.MM
	kpage uint64   // virtual address of the kernel page
	kfr   mm.Frame // its frame

	// Owner-goroutine state.
	fresh    *unicorn.Context // the engine's state right after setup
	faulted  bool             // a fault happened: reset before running
	kernel   arch.Kernel
	entered  bool // the engine runs at CPL 3
	inKernel bool // the kernel page is mapped (during entry only)
	// beforeEntry holds the user registers while the engine runs the
	// entry trampoline (entered and inKernel).
	beforeEntry userEntry
	flushEntry  bool // the TLB may still hold the kernel page
	frame       arch.SyscallFrame
	stopReq     bool
	intr        *arch.Exit
	fault       arch.Exit
	haveFault   bool
	regIDs      []unicorn.Reg
	regVals     []uint64

	kicked      atomic.Bool  // Kick was called: Run returns ExitKicked
	owner       atomic.Int32 // OS thread id running Run, 0 when not running
	pending     atomic.Bool  // pendingCode is set
	mu          sync.Mutex   // protects pendingCode
	pendingCode []mm.Frame
}

var _ arch.CPU = (*CPU)(nil)

// Options are the choices a CPU is created with.
type Options struct {
	// ApproxFP leaves x87 arithmetic (FADD FSUB FMUL FDIV) to the
	// engine's softfloat, which computes no C1 or DE in the status word.
	// By default it runs on the host's x87 unit (unicorn.Engine.SetExactFP),
	// which costs nothing measurable.
	ApproxFP bool
}

// New creates a CPU for address space as in the given mode. The CPU
// registers itself for the address space's TLB shootdowns.
func New(as *mm.MM, mode arch.Mode) (*CPU, error) {
	return Options{}.New(as, mode)
}

// New creates a CPU with these options (see the function New).
func (o Options) New(as *mm.MM, mode arch.Mode) (*CPU, error) {
	ucMode, kpage := unicorn.Mode64, kernelPage64
	if mode == arch.Mode32 {
		ucMode, kpage = unicorn.Mode32, kernelPage32
	}
	uc, err := unicorn.Open(unicorn.ArchX86, ucMode)
	if err != nil {
		return nil, fmt.Errorf("emu: opening engine: %w", err)
	}
	c := &CPU{uc: uc, mode: mode, as: as, kpage: kpage}
	uc.SetExactFP(!o.ApproxFP)
	if err := c.setup(); err != nil {
		uc.Close()
		if c.kfr != 0 {
			as.RAM().DecRef(c.kfr)
		}
		return nil, err
	}
	as.AddTLB(c)
	return c, nil
}

func (c *CPU) setup() error {
	ram := c.as.RAM()
	// Order matters: buffer size and model before anything else.
	if err := c.uc.SetTCGBufferSize(TCGBufferSize); err != nil {
		return fmt.Errorf("emu: TCG buffer: %w", err)
	}
	if err := c.uc.SetCPUModel(cpuModel); err != nil {
		return fmt.Errorf("emu: CPU model: %w", err)
	}
	if err := c.uc.SetTLBMode(true); err != nil {
		return fmt.Errorf("emu: virtual TLB: %w", err)
	}
	if err := c.uc.MemMapPtr(0, ram.Size(), unicorn.ProtAll, ram.Base()); err != nil {
		return fmt.Errorf("emu: mapping guest RAM: %w", err)
	}
	kfr, err := ram.Alloc()
	if err != nil {
		return fmt.Errorf("emu: kernel page: %w", err)
	}
	c.kfr = kfr
	writeKernelPage(ram.Bytes(kfr), c.mode == arch.Mode64)
	c.inKernel = true
	if err := c.uc.WriteMMR(unicorn.GDTR, c.kpage+gdtOffset, 8*gdtEntries-1, 0, 0); err != nil {
		return fmt.Errorf("emu: GDTR: %w", err)
	}
	if err := c.setControlRegs(); err != nil {
		return err
	}
	if err := c.setInitialFPU(); err != nil {
		return err
	}
	if c.mode == arch.Mode64 {
		c.regIDs = regs64[:]
		err = c.uc.HookSyscall(c.onSyscall)
		if err != nil {
			return err
		}
	} else {
		c.regIDs = regs32[:]
		if err := c.uc.HookInt80(c.onInt80); err != nil {
			return err
		}
	}
	c.regVals = make([]uint64, len(c.regIDs))
	if err := c.uc.HookTLBFill(c.onTLBFill); err != nil {
		return err
	}
	if err := c.uc.HookPortIO(c.onPortIO); err != nil {
		return err
	}
	// Code another thread overwrites is dropped (mm.MM.CodeMarked).
	c.uc.HookCodeMarked(func(f uint64) { c.as.CodeMarked(mm.Frame(f)) })
	if err := c.uc.HookInterrupt(c.onInterrupt); err != nil {
		return err
	}
	// Instructions the emulated CPU refuses but Unicorn runs raise #UD.
	c.uc.SetInsnCheck(true)
	// Unicorn never clears its exception-in-flight state: after a fault
	// the engine is reset to this context (UNICORN.md).
	ctx, err := c.uc.ContextSave()
	if err != nil {
		return fmt.Errorf("emu: saving the initial context: %w", err)
	}
	c.fresh = ctx
	return nil
}

// resetAfterFault restores the context saved at creation, keeping the
// task's registers and its whole x87/SSE state, so that the next fault is
// reported as itself. The engine re-enters user mode through the
// trampoline.
func (c *CPU) resetAfterFault() error {
	regs, err := c.Regs()
	if err != nil {
		return err
	}
	fp, err := c.FP()
	if err != nil {
		return err
	}
	if err := c.uc.ContextRestore(c.fresh); err != nil {
		return fmt.Errorf("emu: resetting after a fault: %w", err)
	}
	if err := c.SetFP(&fp); err != nil {
		return err
	}
	c.uc.SetPageTable(nil, 0, 0) // until entry is over (see onTLBFill)
	if err := c.uc.FlushTLB(); err != nil {
		return err
	}
	c.entered = false
	return c.SetRegs(&regs)
}

// setInitialFPU loads Linux's initial FPU state (arch.InitialFP).
// Unicorn starts with the x87 control word and MXCSR 0, which runs long
// double arithmetic at single precision, and with all eight x87
// registers tagged valid (UNICORN.md, "Initial CPU state"). It runs
// before the context that fault resets return to is saved.
func (c *CPU) setInitialFPU() error {
	fp := arch.InitialFP()
	return c.SetFP(&fp)
}

// setControlRegs enables SSE (and FSGSBASE in 64-bit mode).
func (c *CPU) setControlRegs() error {
	cr0, err := c.uc.RegRead(unicorn.CR0)
	if err != nil {
		return fmt.Errorf("emu: CR0: %w", err)
	}
	if err := c.uc.RegWrite(unicorn.CR0, cr0&^cr0EM|cr0MP|cr0NE); err != nil {
		return fmt.Errorf("emu: CR0: %w", err)
	}
	cr4, err := c.uc.RegRead(unicorn.CR4)
	if err != nil {
		return fmt.Errorf("emu: CR4: %w", err)
	}
	cr4 |= cr4OSFXSR | cr4OSXMMEXCP | cr4OSXSAVE
	if c.mode == arch.Mode64 {
		cr4 |= cr4FSGSBase
	}
	if err := c.uc.RegWrite(unicorn.CR4, cr4); err != nil {
		return fmt.Errorf("emu: CR4: %w", err)
	}
	return nil
}

// Mode returns the CPU mode.
func (c *CPU) Mode() arch.Mode { return c.mode }

// Close releases the engine and its kernel page.
func (c *CPU) Close() error {
	if c.uc == nil {
		return nil
	}
	c.as.RemoveTLB(c)
	err := c.uc.Close()
	c.uc = nil
	c.as.RAM().DecRef(c.kfr)
	return err
}

// regs64 and regs32 list the registers of arch.Regs in field order (FS
// and GS bases are handled apart).
var (
	regs64 = [...]unicorn.Reg{unicorn.R15, unicorn.R14, unicorn.R13, unicorn.R12, unicorn.RBP, unicorn.RBX,
		unicorn.R11, unicorn.R10, unicorn.R9, unicorn.R8, unicorn.RAX, unicorn.RCX, unicorn.RDX,
		unicorn.RSI, unicorn.RDI, unicorn.RIP, unicorn.RFLAGS, unicorn.RSP}
	regs32 = [...]unicorn.Reg{unicorn.EBP, unicorn.EBX, unicorn.EAX, unicorn.ECX, unicorn.EDX,
		unicorn.ESI, unicorn.EDI, unicorn.EIP, unicorn.EFLAGS, unicorn.ESP, unicorn.FS, unicorn.GS}
)

// fields returns pointers to the fields of r in the order of c.regIDs.
func (c *CPU) fields(r *arch.Regs) []*uint64 {
	if c.mode == arch.Mode64 {
		return []*uint64{&r.R15, &r.R14, &r.R13, &r.R12, &r.RBP, &r.RBX, &r.R11, &r.R10, &r.R9, &r.R8,
			&r.RAX, &r.RCX, &r.RDX, &r.RSI, &r.RDI, &r.RIP, &r.RFLAGS, &r.RSP}
	}
	return []*uint64{&r.RBP, &r.RBX, &r.RAX, &r.RCX, &r.RDX, &r.RSI, &r.RDI, &r.RIP, &r.RFLAGS, &r.RSP, &r.FS, &r.GS}
}

// Regs reads the register file.
func (c *CPU) Regs() (arch.Regs, error) {
	var r arch.Regs
	if err := c.uc.RegReadBatch(c.regIDs, c.regVals); err != nil {
		return r, err
	}
	for i, p := range c.fields(&r) {
		*p = c.regVals[i]
	}
	if c.mode == arch.Mode64 {
		var err error
		if r.FSBase, err = c.uc.RegRead(unicorn.FSBase); err != nil {
			return r, err
		}
		if r.GSBase, err = c.uc.RegRead(unicorn.GSBase); err != nil {
			return r, err
		}
	}
	return r, nil
}

// SetRegs writes the register file, and the FPU state when r.FP is set.
func (c *CPU) SetRegs(r *arch.Regs) error {
	for i, p := range c.fields(r) {
		c.regVals[i] = *p
	}

	if err := c.uc.RegWriteBatch(c.regIDs, c.regVals); err != nil {
		return err
	}
	if r.FP != nil {
		if err := c.SetFP(r.FP); err != nil {
			return err
		}
	}
	if c.mode == arch.Mode64 {
		if err := c.uc.RegWrite(unicorn.FSBase, r.FSBase); err != nil {
			return err
		}
		return c.uc.RegWrite(unicorn.GSBase, r.GSBase)
	}
	return nil
}

// SetTLS implements arch.CPU: it writes the descriptors into the GDT in
// the task's kernel page.
func (c *CPU) SetTLS(desc [3]uint64) {
	page := c.as.RAM().Bytes(c.kfr)
	for i, d := range desc {
		off := gdtOffset + 8*(TLSFirstEntry+i)
		for b := 0; b < 8; b++ {
			page[off+b] = byte(d >> (8 * b))
		}
	}
}

// xmmCount is how many XMM registers the mode has.
func (c *CPU) xmmCount() int {
	if c.mode == arch.Mode32 {
		return 8
	}
	return 16
}

// FP implements arch.CPU.
func (c *CPU) FP() (arch.FPState, error) {
	var r unicorn.FPRegs
	if err := c.uc.ReadFP(&r, c.xmmCount()); err != nil {
		return arch.FPState{}, fmt.Errorf("emu: reading the FPU state: %w", err)
	}
	s := arch.FPState{FCW: r.FCW, FSW: r.FSW, FTW: arch.AbridgedTag(r.FTag), FOP: r.FOP,
		FIP: r.FIP, FDP: r.FDP, MXCSR: r.MXCSR, ST: r.ST, XMM: r.XMM}
	return s, nil
}

// SetFP implements arch.CPU. Only the tags' empty or in-use state is
// loaded: the engine classifies registers in use by their contents, as
// FXRSTOR does.
func (c *CPU) SetFP(s *arch.FPState) error {
	r := unicorn.FPRegs{FCW: s.FCW, FSW: s.FSW, FTag: fullTags(s.FTW), FOP: s.FOP,
		FIP: s.FIP, FDP: s.FDP, MXCSR: s.MXCSR, ST: s.ST, XMM: s.XMM}
	if err := c.uc.WriteFP(&r, c.xmmCount()); err != nil {
		return fmt.Errorf("emu: loading the FPU state: %w", err)
	}
	return nil
}

// fullTags widens an abridged tag byte to a tag word the engine loads:
// empty (3) or in use (0).
func fullTags(ftw uint8) uint16 {
	var tw uint16
	for phys := 0; phys < 8; phys++ {
		if ftw&(1<<phys) == 0 {
			tw |= arch.TagEmpty << (2 * phys)
		}
	}
	return tw
}

// SetFSBase sets the FS base (x86-64 only).
func (c *CPU) SetFSBase(base uint64) error {
	if c.mode != arch.Mode64 {
		return errors.New("emu: FS base of an i386 task")
	}
	return c.uc.RegWrite(unicorn.FSBase, base)
}

// FlushTLB implements mm.TLB.
func (c *CPU) FlushTLB() uint64 { return c.uc.RequestFlush() }

// WaitTLB implements mm.TLB: it spins briefly, then yields, then sleeps
// in growing steps. An engine running guest code reaches its next block
// start within microseconds, unless its host thread is not scheduled.
func (c *CPU) WaitTLB(ticket uint64) {
	for i := 0; !c.uc.Flushed(ticket); i++ {
		switch {
		case i < 64:
			// spin
		case i < 256:
			runtime.Gosched()
		default:
			time.Sleep(time.Duration(min(i-255, 100)) * 10 * time.Microsecond)
		}
	}
}

// Kick implements arch.CPU. The engine stops at the start of its next
// translation block (see unicorn.Engine.Interrupt).
func (c *CPU) Kick() {
	c.kicked.Store(true)
	c.uc.Interrupt()
}

// InvalidateCode implements mm.TLB. Translated code may only be dropped
// between runs of the engine, so it is queued and applied before guest
// code runs again. It is dropped by frame, as the engine finds it: the
// frames may no longer be mapped by then.
func (c *CPU) InvalidateCode(frames []mm.Frame) {
	c.mu.Lock()
	c.pendingCode = append(c.pendingCode, frames...)
	c.mu.Unlock()
	c.pending.Store(true)
	if !c.onOwnerThread() {
		c.uc.Interrupt()
	}
}

func (c *CPU) onOwnerThread() bool {
	tid := c.owner.Load()
	return tid != 0 && int(tid) == syscall.Gettid()
}

// applyPending performs queued shootdowns. Called between runs.
func (c *CPU) applyPending() error {
	if !c.pending.Swap(false) {
		return nil
	}
	c.mu.Lock()
	code := c.pendingCode
	c.pendingCode = nil
	c.mu.Unlock()
	for _, f := range code {
		pa := uint64(f.Addr())
		if err := c.uc.RemovePhysCache(pa, pa+mm.PageSize); err != nil {
			return fmt.Errorf("emu: dropping translated code: %w", err)
		}
	}
	if len(code) > 0 {
		return c.uc.FlushTLB()
	}
	return nil
}
