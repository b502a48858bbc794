// Package arch is the contract between a task's CPU (package emu) and the
// kernel (package syscalls): the register file, the system-call frame, the
// reasons a CPU stops, and the CPU interface. It is pure Go so that the
// kernel builds and tests without the CPU engine.
package arch

import "github.com/cmaemu/cmaemu/mm"

// Mode is the CPU mode a task runs in.
type Mode int

const (
	Mode64 Mode = iota // x86-64 long mode
	Mode32             // i386 protected mode (compat task)
)

func (m Mode) String() string {
	if m == Mode32 {
		return "i386"
	}
	return "x86_64"
}

// Regs is a task's user register file, in the order of Linux's
// struct user_regs_struct for x86-64 (i386 tasks use the low halves).
type Regs struct {
	R15, R14, R13, R12, RBP, RBX, R11, R10, R9, R8 uint64
	RAX, RCX, RDX, RSI, RDI                        uint64
	RIP, RFLAGS, RSP                               uint64
	FSBase, GSBase                                 uint64
	// FS and GS are the segment selectors of i386 tasks (their TLS lives
	// in GS); x86-64 tasks use the bases.
	FS, GS uint64

	// FP, when set, is an x87/SSE state that SetRegs loads as well: a
	// new task's CPU starts with it (fork and clone copy the parent's,
	// as Linux does). Regs leaves it nil; without it a new CPU has
	// Linux's initial state (InitialFP).
	FP *FPState
}

// SyscallFrame is one system call as the CPU hands it to the kernel.
type SyscallFrame struct {
	Nr   uint64    // RAX (EAX)
	Args [6]uint64 // RDI RSI RDX R10 R8 R9 (EBX ECX EDX ESI EDI EBP)
	// Next is the address of the instruction after the syscall: where the
	// task resumes.
	Next uint64

	// Set by the kernel:
	Ret uint64 // written to RAX (EAX)
	// Redirect, when set, makes the task resume at NewRIP (execve,
	// sigreturn, signal delivery).
	Redirect bool
	NewRIP   uint64
	// Stop ends CPU.Run after this call (exit, execve, a blocking wait the
	// kernel wants to run outside the engine).
	Stop bool
	// KeepRegs: the kernel wrote the registers itself; Ret is not stored.
	KeepRegs bool
}

// Kernel receives the system calls of a running CPU, on the goroutine that
// called Run.
type Kernel interface {
	Syscall(c CPU, f *SyscallFrame)
}

// ExitReason says why CPU.Run returned.
type ExitReason int

const (
	// ExitStop: the kernel set SyscallFrame.Stop.
	ExitStop ExitReason = iota
	// ExitPageFault: an access the address space refused (Addr, Access,
	// Mapped describe it).
	ExitPageFault
	// ExitInterrupt: a CPU exception or software interrupt (Vector).
	ExitInterrupt
	// ExitIllegal: an invalid or undecodable instruction.
	ExitIllegal
	// ExitKicked: another goroutine called Kick (a signal arrived).
	ExitKicked
)

// Exit describes why CPU.Run returned.
type Exit struct {
	Reason ExitReason
	RIP    uint64 // the instruction that faulted (or where the task stopped)
	Addr   mm.Addr
	Access mm.Access
	Mapped bool   // for page faults: a VMA covers Addr
	Vector uint32 // for interrupts: the vector (0 #DE, 3 #BP, 13 #GP, ...)
}

// Exception vectors the kernel maps to signals.
const (
	VectorDivide     = 0
	VectorDebug      = 1
	VectorBreakpoint = 3
	VectorOverflow   = 4
	VectorBound      = 5
	VectorInvalidOp  = 6
	VectorNoDevice   = 7
	VectorGP         = 13
	VectorPageFault  = 14
	VectorFPU        = 16
	VectorAlignment  = 17
	VectorSIMD       = 19
)

// CPU is a task's processor: an engine bound to one address space.
//
// Run, Regs and SetRegs are called only from the task's goroutine. The
// TLB methods (mm.TLB) may be called from any goroutine.
type CPU interface {
	mm.TLB
	Mode() Mode
	// Run executes guest code, delivering system calls to k, until the
	// kernel stops it or the guest faults.
	Run(k Kernel) (Exit, error)
	Regs() (Regs, error)
	SetRegs(r *Regs) error
	// Kick makes a running (or the next) Run return ExitKicked soon. It
	// may be called from any goroutine.
	Kick()
	// FP returns the x87 and SSE state; SetFP loads it.
	FP() (FPState, error)
	SetFP(s *FPState) error
	// SetTLS installs the three TLS descriptors of an i386 task in its
	// GDT (entries 12 to 14).
	SetTLS(desc [3]uint64)
	// SetFSBase sets the FS segment base (arch_prctl ARCH_SET_FS).
	SetFSBase(base uint64) error
	Close() error
}
