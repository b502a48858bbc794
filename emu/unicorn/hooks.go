package unicorn

/*
#include "shim.h"
*/
import "C"

import (
	"runtime/cgo"
	"runtime/debug"
	"unsafe"
)

// SyscallRegs is the register block of one guest system call, shared with
// the C trampoline (it mirrors struct cmuc_sysregs in shim.h field for field).
//
// The hook receives a pointer into the trampoline's C stack frame: it is
// valid only during the call and must not be retained.
//
// For `syscall` (HookSyscall): Nr = RAX, Args = RDI RSI RDX R10 R8 R9,
// RIP = address of the syscall instruction, RFLAGS = current flags. After
// the hook returns the trampoline writes RAX = Ret, RCX = RIP+2 and
// R11 = RFLAGS (as Linux does), unless KeepRegs is set.
//
// For `int 0x80` (HookInt80): Nr = EAX, Args = EBX ECX EDX ESI EDI EBP
// (zero-extended), RIP = EIP after the int instruction, RFLAGS = EFLAGS.
// Afterwards EAX = low 32 bits of Ret (in a 64-bit engine RAX = Ret
// sign-extended from 32 bits, like the compat entry), unless KeepRegs is set.
//
// In both cases, if SetRIP != 0 execution continues at NewRIP (for syscall
// the trampoline writes NewRIP-2 because Unicorn adds 2 after the hook), and
// if Stop != 0 the engine stops after the hook; Start then returns nil and
// RIP is where execution would have continued.
type SyscallRegs struct {
	Nr     uint64
	Args   [6]uint64
	RIP    uint64
	RFLAGS uint64
	Ret    uint64 // result, written to RAX/EAX
	NewRIP uint64 // continuation address if SetRIP != 0
	SetRIP uint32
	Stop   uint32
	// KeepRegs != 0: the trampoline writes back no RAX/RCX/R11 (EAX); use
	// it when the hook has set the registers itself (e.g. rt_sigreturn).
	KeepRegs uint32
	_        uint32
}

// Compile-time checks that SyscallRegs and cmuc_sysregs agree.
var (
	_ = [1]struct{}{}[unsafe.Sizeof(SyscallRegs{})-unsafe.Sizeof(C.cmuc_sysregs{})]
	_ = [1]struct{}{}[unsafe.Offsetof(SyscallRegs{}.RFLAGS)-unsafe.Offsetof(C.cmuc_sysregs{}.rflags)]
	_ = [1]struct{}{}[unsafe.Offsetof(SyscallRegs{}.NewRIP)-unsafe.Offsetof(C.cmuc_sysregs{}.new_rip)]
	_ = [1]struct{}{}[unsafe.Offsetof(SyscallRegs{}.KeepRegs)-unsafe.Offsetof(C.cmuc_sysregs{}.keep_regs)]
)

// Redirect makes execution continue at rip after the hook (sets NewRIP and
// SetRIP).
func (r *SyscallRegs) Redirect(rip uint64) {
	r.NewRIP = rip
	r.SetRIP = 1
}

// HookSyscall routes the x86-64 `syscall` instruction to fn (see
// SyscallRegs for the register protocol). This is the hot path: one C->Go
// call per guest syscall, no allocation.
func (e *Engine) HookSyscall(fn func(r *SyscallRegs)) error {
	e.syscallFn = fn
	return e.setHook(C.CMUC_HOOK_SYSCALL, fn != nil)
}

// HookInt80 routes `int 0x80` (the i386 Linux syscall gate) to fn, with the
// register protocol of SyscallRegs. Other interrupts go to HookInterrupt.
func (e *Engine) HookInt80(fn func(r *SyscallRegs)) error {
	e.int80Fn = fn
	if e.ctx != nil {
		e.ctx.int80 = 0
		if fn != nil {
			e.ctx.int80 = 1
		}
	}
	return e.setHook(C.CMUC_HOOK_INTR, e.int80Fn != nil || e.intrFn != nil)
}

// HookInterrupt routes CPU interrupts and exceptions (INTR hook) to fn:
// e.g. 3 for int3, 0 for divide error, 13 for #GP, 14 for #PF, and 0x80
// when no HookInt80 function is set. After a fault-type exception see
// UNICORN.md (the engine's exception state must be reset).
func (e *Engine) HookInterrupt(fn func(intno uint32)) error {
	e.intrFn = fn
	return e.setHook(C.CMUC_HOOK_INTR, e.int80Fn != nil || e.intrFn != nil)
}

// HookTLBFill installs the virtual TLB fill function (needs SetTLBMode(true)),
// covering all addresses. It is called on TLB misses with the page-aligned
// virtual address (measured: the offset within the page is not reported)
// and the access kind (MemRead, MemWrite or MemFetch), and returns the
// page-aligned physical address (as mapped with MemMapPtr) and the allowed
// access. A store to a page filled without ProtWrite calls fn again with
// MemWrite. Returning ok=false makes the access fault: Start returns
// ErrException with RIP at the faulting instruction (for a refused fetch, the
// jump target). Unicorn reports no fault address: record vaddr in fn.
func (e *Engine) HookTLBFill(fn func(vaddr uint64, t MemType) (paddr uint64, perms Prot, ok bool)) error {
	e.tlbFn = fn
	return e.setHook(C.CMUC_HOOK_TLB_FILL, fn != nil)
}

// HookMemInvalid installs fn for accesses to unmapped or protected physical
// memory (UC_HOOK_MEM_INVALID). Returning true retries the access (the
// memory must have been fixed), false stops with the matching error.
func (e *Engine) HookMemInvalid(fn func(t MemType, addr uint64, size int, value int64) bool) error {
	e.memInvalidFn = fn
	return e.setHook(C.CMUC_HOOK_MEM_INVALID, fn != nil)
}

// Interrupt asks the engine to stop at the start of its next translation
// block, where the guest state, RIP included, is consistent. It may be
// called from any goroutine; the request stays set until
// ClearInterrupt, so it is not lost if the engine is not running. (A
// plain Stop from another thread can leave RIP stale while chained blocks
// run.)
func (e *Engine) Interrupt() {
	C.cmuc_set_interrupt(e.ctx, 1)
}

// RequestFlush asks the engine to drop every TLB entry before it uses a
// translation again, and returns a ticket for Flushed. Any goroutine. An
// engine running guest code flushes at its next translation-block start,
// one in a hook or stopped flushes before it runs guest code again
// (shim.c, "Guest mode").
func (e *Engine) RequestFlush() uint64 {
	return uint64(C.cmuc_request_flush(e.ctx))
}

// Flushed reports whether the request with the ticket is done: the engine
// has flushed since, or runs no guest code now (and flushes before it
// does). Any goroutine.
func (e *Engine) Flushed(ticket uint64) bool {
	return C.cmuc_flushed(e.ctx, C.uint64_t(ticket)) != 0
}

// ClearInterrupt withdraws an Interrupt request (owner goroutine).
func (e *Engine) ClearInterrupt() { C.cmuc_set_interrupt(e.ctx, 0) }

// SetInsnCheck turns the instruction check on or off for code translated
// from now on. With it, Unicorn's translator reads, in place of an
// instruction the emulated CPU refuses with #UD but Unicorn would run
// (VEX and EVEX encodings other than BMI1/BMI2, XOP, LOCK where it is
// not allowed), the bytes of UD2: running it stops Start with
// ErrInsnInvalid, RIP at the instruction, as UD2 does. The decoder
// (decode.c) runs once per instruction translated, reading the code
// through the page table given to SetPageTable; translated code runs at
// full speed.
func (e *Engine) SetInsnCheck(on bool) {
	if e.ctx != nil {
		e.ctx.insn_check = 0
		if on {
			e.ctx.insn_check = 1
		}
	}
}

// SetPageTable enables the C fast path of the TLB fill hook: before
// calling the Go hook, the trampoline walks the x86-64 4-level page table
// whose PML4 is at guest-physical root, in guest RAM mapped at host
// address ram (size bytes), and fills the entry itself when the present
// leaf grants the access (setting the Accessed and Dirty bits as a CPU
// does). root 0 disables it. The table's frames must stay allocated while
// the engine may run.
func (e *Engine) SetPageTable(ram unsafe.Pointer, size, root uint64) {
	e.ctx.ram = (*C.uint8_t)(ram)
	e.ctx.ram_size = C.uint64_t(size)
	e.ctx.root = C.uint64_t(root)
}

// SetCodeMarks makes the engine keep code marks (one 32-bit word per
// frame of the RAM given to SetPageTable, at host address marks): before
// it translates code from a frame it sets the frame's mark, and if that
// was not set and the page is writable or the frame shared (a second
// bit of its word, which Go sets) it calls fn (HookCodeMarked) first;
// while a frame's mark is set, its TLB entries are not writable
// and a write fills through the Go TLB fill hook. nil disables it.
func (e *Engine) SetCodeMarks(marks unsafe.Pointer) {
	e.ctx.code_marks = (*C.uint32_t)(marks)
}

// HookCodeMarked sets what the engine calls, with the frame number, when
// it set the code mark of a writable or shared frame, before it
// translates from it (SetCodeMarks).
func (e *Engine) HookCodeMarked(fn func(frame uint64)) { e.codeMarkedFn = fn }

// HookPortIO routes the `in` and `out` instructions to fn (port, and
// whether it is an output). Unicorn executes them even at CPL 3; a
// kernel treats them as #GP. An `in` reads 0.
func (e *Engine) HookPortIO(fn func(port uint32, out bool)) error {
	e.portIOFn = fn
	if err := e.setHook(C.CMUC_HOOK_IN, fn != nil); err != nil {
		return err
	}
	return e.setHook(C.CMUC_HOOK_OUT, fn != nil)
}

// HookInsnInvalid installs fn for invalid instructions. Returning false
// stops Start with ErrInsnInvalid (RIP at the instruction); true continues.
func (e *Engine) HookInsnInvalid(fn func() bool) error {
	e.insnInvalidFn = fn
	return e.setHook(C.CMUC_HOOK_INSN_INVALID, fn != nil)
}

// setHook adds or removes the single Unicorn hook of the given kind.
func (e *Engine) setHook(kind int, on bool) error {
	if e.uc == nil {
		return ErrHandle
	}
	if on == e.hooked[kind] {
		return nil
	}
	if !on {
		e.hooked[kind] = false
		return errOf(C.uc_hook_del(e.uc, e.hooks[kind]))
	}
	var hh C.uc_hook
	if rc := C.cmuc_hook_add(e.uc, &hh, C.int(kind), e.ctx); rc != C.UC_ERR_OK {
		return Error(rc)
	}
	e.hooks[kind] = hh
	e.hooked[kind] = true
	return nil
}

// engineOf resolves the user_data handle of a trampoline.
func engineOf(h C.uintptr_t) *Engine {
	return cgo.Handle(h).Value().(*Engine)
}

// recoverHook is deferred by every exported callback: it keeps a panic from
// unwinding into C, records it for Start and stops the engine.
func (e *Engine) recoverHook(name string) {
	p := recover()
	if p == nil {
		return
	}
	if e.panicked == nil {
		e.panicked = &PanicError{Hook: name, Value: p, Stack: debug.Stack()}
	}
	C.uc_emu_stop(e.uc)
}

//export cmucGoSyscall
func cmucGoSyscall(h C.uintptr_t, r *C.cmuc_sysregs) {
	e := engineOf(h)
	defer e.recoverHook("syscall")
	if fn := e.syscallFn; fn != nil {
		fn((*SyscallRegs)(unsafe.Pointer(r)))
	}
}

//export cmucGoInt80
func cmucGoInt80(h C.uintptr_t, r *C.cmuc_sysregs) {
	e := engineOf(h)
	defer e.recoverHook("int80")
	if fn := e.int80Fn; fn != nil {
		fn((*SyscallRegs)(unsafe.Pointer(r)))
	}
}

//export cmucGoIntr
func cmucGoIntr(h C.uintptr_t, intno C.uint32_t) {
	e := engineOf(h)
	defer e.recoverHook("interrupt")
	if fn := e.intrFn; fn != nil {
		fn(uint32(intno))
	}
}

//export cmucGoTLBFill
func cmucGoTLBFill(h C.uintptr_t, vaddr C.uint64_t, typ C.int, ent *C.uc_tlb_entry) (ok C.int) {
	e := engineOf(h)
	defer e.recoverHook("tlb fill")
	if fn := e.tlbFn; fn != nil {
		pa, perms, good := fn(uint64(vaddr), MemType(typ))
		if good {
			ent.paddr = C.uint64_t(pa)
			ent.perms = C.uc_prot(perms)
			return 1
		}
	}
	return 0
}

//export cmucGoMemInvalid
func cmucGoMemInvalid(h C.uintptr_t, typ C.int, addr C.uint64_t, size C.int, value C.int64_t) (ok C.int) {
	e := engineOf(h)
	defer e.recoverHook("mem invalid")
	if fn := e.memInvalidFn; fn != nil && fn(MemType(typ), uint64(addr), int(size), int64(value)) {
		return 1
	}
	return 0
}

//export cmucGoInsnInvalid
func cmucGoInsnInvalid(h C.uintptr_t) (ok C.int) {
	e := engineOf(h)
	defer e.recoverHook("invalid instruction")
	if fn := e.insnInvalidFn; fn != nil && fn() {
		return 1
	}
	return 0
}

//export cmucGoCodeMarked
func cmucGoCodeMarked(h C.uintptr_t, frame C.uint64_t) {
	e := engineOf(h)
	defer e.recoverHook("code mark")
	if fn := e.codeMarkedFn; fn != nil {
		fn(uint64(frame))
	}
}

//export cmucGoPortIO
func cmucGoPortIO(h C.uintptr_t, port C.uint32_t, out C.int) {
	e := engineOf(h)
	defer e.recoverHook("port I/O")
	if fn := e.portIOFn; fn != nil {
		fn(uint32(port), out != 0)
	}
}
