// Package unicorn is a thin cgo binding to the Unicorn 2.1 CPU emulator,
// specialised for cmaemu: x86 only, statically linked, with C trampolines
// that make a guest syscall cost a single C->Go transition.
//
// # Threading
//
// An Engine is owned by one goroutine at a time: every method except Stop
// must be called by the owner, never concurrently with another method of the
// same engine. Hooks run on the goroutine that called Start, so hook
// functions may call the engine's methods (RegRead, RegWriteBatch, FlushTLB,
// RemoveCache, ...), with the exceptions documented on each method (Close,
// Start and FlushTB must not be called from a hook). Different engines are
// independent and run fully in parallel. Locking the owner goroutine to its
// OS thread is not required.
//
// Stop may be called from any goroutine at any time, including after Close.
//
// # Hooks
//
// Each hook kind is one Unicorn hook whose C trampoline (shim.c) finds the
// Engine through a runtime/cgo.Handle (one per engine, created by Open,
// deleted by Close) and calls the Go function currently set. Setting a hook
// again replaces the Go function without adding a second Unicorn hook;
// setting nil removes the Unicorn hook. The Hook* methods are called by the
// owner goroutine, possibly from inside a hook.
//
// Hook functions run on the goroutine that called Start. They must not call
// Close, Start or FlushTB, nor runtime.Goexit (so not t.FailNow either). A
// panic in a hook is recovered before it reaches C, stops the engine and is
// returned by Start as a *PanicError. The callback path takes no lock and
// allocates nothing.
//
// # Instructions
//
// wrap.c replaces a few of Unicorn's instruction helpers (PCMPESTRI and
// PCMPESTRM, LDMXCSR, FXRSTOR, XRSTOR) with ones that check what the CPU
// checks first, and, with SetInsnCheck, shows Unicorn's translator an
// undefined instruction where the emulated CPU would refuse one that
// Unicorn runs. intfix.c does the integer instructions Unicorn computes
// wrongly: replacement helpers, and a carrier (PAUSE, whose helper it
// replaces) that the translator is shown instead of the instruction.
//
// # Memory
//
// The binding only maps host memory (MemMapPtr); with SetTLBMode(true) and a
// HookTLBFill hook, guest virtual addresses are translated by the hook into
// the physical addresses given to MemMapPtr.
package unicorn

/*
#cgo CFLAGS: -I${SRCDIR}/../../.deps/usr/include
#cgo LDFLAGS: -L${SRCDIR}/../../.deps/usr/lib/x86_64-linux-gnu -l:libunicorn.a -lm -lpthread
#cgo LDFLAGS: -Wl,--wrap=helper_pcmpestri_xmm_x86_64 -Wl,--wrap=helper_pcmpestrm_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_ldmxcsr_x86_64 -Wl,--wrap=helper_fxrstor_x86_64 -Wl,--wrap=helper_xrstor_x86_64
#cgo LDFLAGS: -Wl,--wrap=gen_intermediate_code_x86_64 -Wl,--wrap=cpu_ldub_code_x86_64
#cgo LDFLAGS: -Wl,--wrap=cpu_lduw_code_x86_64 -Wl,--wrap=cpu_ldl_code_x86_64 -Wl,--wrap=cpu_ldq_code_x86_64
// hostmem.c
#cgo LDFLAGS: -Wl,--wrap=qht_init -Wl,--wrap=qemu_madvise
// shim.c
#cgo LDFLAGS: -Wl,--wrap=cpu_exec_x86_64
// atomic.c
#cgo LDFLAGS: -Wl,--wrap=tcg_func_start_x86_64 -Wl,--wrap=helper_cmpxchg8b_unlocked_x86_64 -Wl,--wrap=helper_cmpxchg16b_unlocked_x86_64
#cgo LDFLAGS: -Wl,--wrap=cpu_loop_exit_atomic_x86_64 -Wl,--wrap=helper_atomic_xchgb_x86_64 -Wl,--wrap=helper_atomic_xchgw_le_x86_64 -Wl,--wrap=helper_atomic_xchgl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_xchgq_le_x86_64 -Wl,--wrap=helper_atomic_fetch_addw_le_x86_64 -Wl,--wrap=helper_atomic_fetch_addl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_fetch_addq_le_x86_64 -Wl,--wrap=helper_atomic_fetch_andw_le_x86_64 -Wl,--wrap=helper_atomic_fetch_andl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_fetch_andq_le_x86_64 -Wl,--wrap=helper_atomic_fetch_orw_le_x86_64 -Wl,--wrap=helper_atomic_fetch_orl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_fetch_orq_le_x86_64 -Wl,--wrap=helper_atomic_fetch_xorw_le_x86_64 -Wl,--wrap=helper_atomic_fetch_xorl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_fetch_xorq_le_x86_64 -Wl,--wrap=helper_atomic_add_fetchw_le_x86_64 -Wl,--wrap=helper_atomic_add_fetchl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_add_fetchq_le_x86_64 -Wl,--wrap=helper_atomic_and_fetchw_le_x86_64 -Wl,--wrap=helper_atomic_and_fetchl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_and_fetchq_le_x86_64 -Wl,--wrap=helper_atomic_or_fetchw_le_x86_64 -Wl,--wrap=helper_atomic_or_fetchl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_or_fetchq_le_x86_64 -Wl,--wrap=helper_atomic_xor_fetchw_le_x86_64 -Wl,--wrap=helper_atomic_xor_fetchl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_xor_fetchq_le_x86_64 -Wl,--wrap=helper_atomic_cmpxchgw_le_x86_64 -Wl,--wrap=helper_atomic_cmpxchgl_le_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_atomic_cmpxchgq_le_x86_64
// x87.c
#cgo LDFLAGS: -Wl,--wrap=helper_addps_x86_64 -Wl,--wrap=helper_addss_x86_64 -Wl,--wrap=helper_addpd_x86_64 -Wl,--wrap=helper_addsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_subps_x86_64 -Wl,--wrap=helper_subss_x86_64 -Wl,--wrap=helper_subpd_x86_64 -Wl,--wrap=helper_subsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_mulps_x86_64 -Wl,--wrap=helper_mulss_x86_64 -Wl,--wrap=helper_mulpd_x86_64 -Wl,--wrap=helper_mulsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_divps_x86_64 -Wl,--wrap=helper_divss_x86_64 -Wl,--wrap=helper_divpd_x86_64 -Wl,--wrap=helper_divsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_sqrtps_x86_64 -Wl,--wrap=helper_sqrtss_x86_64 -Wl,--wrap=helper_sqrtpd_x86_64 -Wl,--wrap=helper_sqrtsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_minps_x86_64 -Wl,--wrap=helper_minss_x86_64 -Wl,--wrap=helper_minpd_x86_64 -Wl,--wrap=helper_minsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_maxps_x86_64 -Wl,--wrap=helper_maxss_x86_64 -Wl,--wrap=helper_maxpd_x86_64 -Wl,--wrap=helper_maxsd_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fsin_x86_64 -Wl,--wrap=helper_fcos_x86_64 -Wl,--wrap=helper_fsincos_x86_64 -Wl,--wrap=helper_fptan_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fpatan_x86_64 -Wl,--wrap=helper_f2xm1_x86_64 -Wl,--wrap=helper_fyl2x_x86_64 -Wl,--wrap=helper_fyl2xp1_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fscale_x86_64 -Wl,--wrap=helper_fprem_x86_64 -Wl,--wrap=helper_fprem1_x86_64 -Wl,--wrap=helper_frndint_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fsqrt_x86_64 -Wl,--wrap=helper_fxtract_x86_64 -Wl,--wrap=helper_fnstsw_x86_64 -Wl,--wrap=helper_fwait_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fclex_x86_64 -Wl,--wrap=helper_fninit_x86_64 -Wl,--wrap=helper_fstenv_x86_64 -Wl,--wrap=helper_fsave_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fldenv_x86_64 -Wl,--wrap=helper_frstor_x86_64 -Wl,--wrap=helper_fxsave_x86_64 -Wl,--wrap=helper_xsave_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_xsaveopt_x86_64 -Wl,--wrap=helper_fadd_ST0_FT0_x86_64 -Wl,--wrap=helper_fmul_ST0_FT0_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fsub_ST0_FT0_x86_64 -Wl,--wrap=helper_fsubr_ST0_FT0_x86_64 -Wl,--wrap=helper_fdiv_ST0_FT0_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fdivr_ST0_FT0_x86_64 -Wl,--wrap=helper_fadd_STN_ST0_x86_64 -Wl,--wrap=helper_fmul_STN_ST0_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fsub_STN_ST0_x86_64 -Wl,--wrap=helper_fsubr_STN_ST0_x86_64 -Wl,--wrap=helper_fdiv_STN_ST0_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_fdivr_STN_ST0_x86_64 -Wl,--wrap=helper_rcpps_x86_64 -Wl,--wrap=helper_rcpss_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_rsqrtps_x86_64 -Wl,--wrap=helper_rsqrtss_x86_64
// sse_align.c
#cgo LDFLAGS: -Wl,--wrap=tcg_gen_qemu_ld_i64_x86_64 -Wl,--wrap=tcg_gen_qemu_st_i64_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_le_ldq_mmu_x86_64 -Wl,--wrap=helper_le_stq_mmu_x86_64
// sse_ops.c
#cgo LDFLAGS: -Wl,--wrap=helper_psrlw_xmm_x86_64 -Wl,--wrap=helper_psraw_xmm_x86_64 -Wl,--wrap=helper_psllw_xmm_x86_64 -Wl,--wrap=helper_psrld_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_psrad_xmm_x86_64 -Wl,--wrap=helper_pslld_xmm_x86_64 -Wl,--wrap=helper_psrlq_xmm_x86_64 -Wl,--wrap=helper_psllq_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_paddb_xmm_x86_64 -Wl,--wrap=helper_paddw_xmm_x86_64 -Wl,--wrap=helper_paddl_xmm_x86_64 -Wl,--wrap=helper_paddq_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_psubb_xmm_x86_64 -Wl,--wrap=helper_psubw_xmm_x86_64 -Wl,--wrap=helper_psubl_xmm_x86_64 -Wl,--wrap=helper_psubq_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_pand_xmm_x86_64 -Wl,--wrap=helper_pandn_xmm_x86_64 -Wl,--wrap=helper_por_xmm_x86_64 -Wl,--wrap=helper_pxor_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_packuswb_xmm_x86_64 -Wl,--wrap=helper_punpcklbw_xmm_x86_64 -Wl,--wrap=helper_punpcklwd_xmm_x86_64 -Wl,--wrap=helper_punpckldq_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_punpcklqdq_xmm_x86_64 -Wl,--wrap=helper_punpckhbw_xmm_x86_64 -Wl,--wrap=helper_punpckhwd_xmm_x86_64 -Wl,--wrap=helper_punpckhdq_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_punpckhqdq_xmm_x86_64
// intfix.c
#cgo LDFLAGS: -Wl,--wrap=helper_pause_x86_64 -Wl,--wrap=helper_pcmpistri_xmm_x86_64 -Wl,--wrap=helper_pcmpistrm_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_phaddw_xmm_x86_64 -Wl,--wrap=helper_phaddd_xmm_x86_64 -Wl,--wrap=helper_phaddsw_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_phsubw_xmm_x86_64 -Wl,--wrap=helper_phsubd_xmm_x86_64 -Wl,--wrap=helper_phsubsw_xmm_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_phaddw_mmx_x86_64 -Wl,--wrap=helper_phaddd_mmx_x86_64 -Wl,--wrap=helper_phaddsw_mmx_x86_64
#cgo LDFLAGS: -Wl,--wrap=helper_phsubw_mmx_x86_64 -Wl,--wrap=helper_phsubd_mmx_x86_64 -Wl,--wrap=helper_phsubsw_mmx_x86_64
#cgo noescape cmuc_reg_read
#cgo nocallback cmuc_reg_read
#cgo noescape cmuc_reg_write
#cgo noescape cmuc_reg_read_batch
#cgo nocallback cmuc_reg_read_batch
#cgo noescape cmuc_reg_write_batch
#cgo noescape cmuc_read_mmr
#cgo nocallback cmuc_read_mmr
#cgo noescape cmuc_msr_read
#cgo nocallback cmuc_msr_read
#cgo noescape cmuc_fp_read
#cgo nocallback cmuc_fp_read
#cgo noescape cmuc_fp_write
#cgo nocallback cmuc_fp_write
#cgo noescape uc_mem_read
#cgo noescape uc_mem_write
#cgo nocallback uc_emu_stop
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Error is a Unicorn error code (uc_err). Values are comparable, so
// errors.Is(err, ErrException) works on any error returned by this package.
type Error int

// Error returns Unicorn's description of the code (uc_strerror).
func (e Error) Error() string { return C.GoString(C.uc_strerror(C.uc_err(e))) }

// Code returns the numeric uc_err value.
func (e Error) Code() int { return int(e) }

// errOf converts a uc_err into nil or an Error. Error values are small ints,
// so boxing them in an interface does not allocate.
func errOf(rc C.uc_err) error {
	if rc == C.UC_ERR_OK {
		return nil
	}
	return Error(rc)
}

// PanicError is returned by Start when a hook function panicked. The panic
// was recovered in the hook (it never unwinds through C), the engine was
// stopped, and the first panic of the run is reported here.
type PanicError struct {
	Hook  string // which hook panicked, e.g. "syscall"
	Value any    // the value passed to panic
	Stack []byte // the goroutine stack at the panic
	Err   error  // what uc_emu_start itself returned (often nil)
}

// Error describes the panic and the hook it happened in.
func (p *PanicError) Error() string {
	return fmt.Sprintf("unicorn: panic in %s hook: %v", p.Hook, p.Value)
}

// Unwrap returns the error uc_emu_start returned, if any.
func (p *PanicError) Unwrap() error { return p.Err }

// Engine is one Unicorn CPU instance. Create it with Open and release it with
// Close. See the package documentation for which goroutine may call what.
type Engine struct {
	// uc is nil once the engine is closed. Written only by Close (under
	// stopMu); read without the lock by owner-goroutine methods, which
	// never run concurrently with Close.
	uc     *C.uc_engine
	ctx    *C.cmuc_ctx // C memory; user_data of every hook
	handle cgo.Handle  // resolves ctx.handle back to this Engine
	arch   Arch
	mode   Mode
	stopMu sync.Mutex // serialises Stop against Close

	hooks  [C.CMUC_HOOK_KINDS]C.uc_hook
	hooked [C.CMUC_HOOK_KINDS]bool

	syscallFn     func(*SyscallRegs)
	int80Fn       func(*SyscallRegs)
	intrFn        func(uint32)
	tlbFn         func(vaddr uint64, t MemType) (uint64, Prot, bool)
	memInvalidFn  func(t MemType, addr uint64, size int, value int64) bool
	insnInvalidFn func() bool
	portIOFn      func(port uint32, out bool)
	codeMarkedFn  func(frame uint64)

	// panicked is the first panic recovered in a hook during the current
	// Start; hooks run on Start's goroutine, so no locking is needed.
	panicked *PanicError

	contexts map[*Context]struct{} // live contexts, freed by Close

	fpLayoutChecked bool // x87.c's view of the CPU state was checked
}

// Open creates an engine. For cmaemu call, in this order and before anything
// else: SetTCGBufferSize, SetCPUModel, SetTLBMode (UNICORN.md: later calls
// are ignored).
func Open(arch Arch, mode Mode) (*Engine, error) {
	var uc *C.uc_engine
	if rc := C.uc_open(C.uc_arch(arch), C.uc_mode(mode), &uc); rc != C.UC_ERR_OK {
		return nil, Error(rc)
	}
	ctx := (*C.cmuc_ctx)(C.calloc(1, C.sizeof_cmuc_ctx))
	if ctx == nil {
		C.uc_close(uc)
		return nil, ErrNoMem
	}
	e := &Engine{uc: uc, ctx: ctx, arch: arch, mode: mode}
	e.handle = cgo.NewHandle(e)
	ctx.handle = C.uintptr_t(e.handle)
	ctx.uc = uc
	if mode == Mode64 {
		ctx.is64 = 1
	}
	return e, nil
}

// Close frees the engine, its hooks, its handle, its C memory and every
// Context not yet freed. It is idempotent. It must not be called from a hook
// or while Start runs.
func (e *Engine) Close() error {
	if e.uc == nil {
		return nil
	}
	for c := range e.contexts {
		c.free()
	}
	e.contexts = nil
	e.stopMu.Lock()
	rc := C.uc_close(e.uc)
	e.uc = nil
	e.stopMu.Unlock()
	C.free(unsafe.Pointer(e.ctx))
	e.ctx = nil
	e.handle.Delete()
	e.syscallFn, e.int80Fn, e.intrFn = nil, nil, nil
	e.tlbFn, e.memInvalidFn, e.insnInvalidFn, e.portIOFn, e.codeMarkedFn = nil, nil, nil, nil, nil
	return errOf(rc)
}

// Arch returns the architecture the engine was opened with.
func (e *Engine) Arch() Arch { return e.arch }

// Mode returns the mode the engine was opened with.
func (e *Engine) Mode() Mode { return e.mode }

// SetTCGBufferSize sets the size of the translated-code buffer (the default
// reserves 1 GiB of address space). Call right after Open.
func (e *Engine) SetTCGBufferSize(bytes uint32) error {
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.cmuc_set_tcg_buffer_size(e.uc, C.uint32_t(bytes)))
}

// SetCPUModel selects the emulated CPU (a CPUModel* constant). Call right
// after Open, after SetTCGBufferSize.
func (e *Engine) SetCPUModel(model int) error {
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.cmuc_set_cpu_model(e.uc, C.int(model)))
}

// SetTLBMode selects the virtual TLB (true: addresses are translated by the
// HookTLBFill hook) or the emulated CPU's own paging (false, the default).
// Call right after Open, after SetCPUModel.
func (e *Engine) SetTLBMode(virtual bool) error {
	if e.uc == nil {
		return ErrHandle
	}
	mode := C.int(C.UC_TLB_CPU)
	if virtual {
		mode = C.UC_TLB_VIRTUAL
	}
	return errOf(C.cmuc_set_tlb_mode(e.uc, mode))
}

// FlushTLB drops every TLB entry (and translation blocks). Needed after any
// change of the virtual-to-physical mapping before the engine runs again.
// May be called from a hook.
func (e *Engine) FlushTLB() error {
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.cmuc_flush_tlb(e.uc))
}

// FlushTB drops all translated code. Never call it from a hook (Unicorn
// crashes); prefer RemoveCache.
func (e *Engine) FlushTB() error {
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.cmuc_flush_tb(e.uc))
}

// RemoveCache drops translated code for the VIRTUAL address range
// [begin, end). Needed when code bytes change behind the engine's back.
func (e *Engine) RemoveCache(begin, end uint64) error {
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.cmuc_remove_cache(e.uc, C.uint64_t(begin), C.uint64_t(end)))
}

// RemovePhysCache drops translated code from the guest-PHYSICAL range
// [begin, end), whatever virtual pages map it (or none). Translations
// are keyed by physical page, so code of a frame that was unmapped,
// freed and handed out again for other code would otherwise run again.
// Between runs only.
func (e *Engine) RemovePhysCache(begin, end uint64) error {
	if e.uc == nil {
		return ErrHandle
	}
	C.cmuc_remove_phys_cache(e.uc, C.uint64_t(begin), C.uint64_t(end))
	return nil
}

// MemMapPtr maps size bytes of host memory at ptr to physical address addr.
// addr and size must be 4 KiB aligned. ptr must not be Go-managed memory
// (use mmap or C memory) and must stay valid until MemUnmap or Close.
func (e *Engine) MemMapPtr(addr, size uint64, perms Prot, ptr unsafe.Pointer) error {
	if e.uc == nil {
		return ErrHandle
	}
	if err := errOf(C.uc_mem_map_ptr(e.uc, C.uint64_t(addr), C.size_t(size), C.uint32_t(perms), ptr)); err != nil {
		return err
	}
	if C.cmuc_fix_memory_mapping(e.uc) != 0 {
		return fmt.Errorf("unicorn: the library is not the Unicorn 2.1.1 build atomic.c expects")
	}
	if !e.fpLayoutChecked {
		if C.cmuc_check_fp_layout(e.uc) != 0 {
			return fmt.Errorf("unicorn: the library is not the Unicorn 2.1.1 build x87.c expects")
		}
		e.fpLayoutChecked = true
	}
	if e.ctx.tlb_env == nil && C.cmuc_tlb_layout_ok(e.uc, e.ctx) == 0 {
		return fmt.Errorf("unicorn: the library is not the Unicorn 2.1.1 build tlbsize.c expects")
	}
	C.cmuc_attach_cpu(e.uc, e.ctx)
	return nil
}

// TLBEntries is the number of entries of the engine's largest TLB (one
// per MMU mode; the engine grows the one that misses often, see
// tlbsize.c), or 0 before the first MemMapPtr. Owner goroutine.
func (e *Engine) TLBEntries() int {
	if e.ctx == nil {
		return 0
	}
	return int(C.cmuc_tlb_entries(e.ctx))
}

// MemUnmap removes the physical range [addr, addr+size).
func (e *Engine) MemUnmap(addr, size uint64) error {
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.uc_mem_unmap(e.uc, C.uint64_t(addr), C.size_t(size)))
}

// MemRead copies len(buf) bytes at addr into buf (tests and debugging).
func (e *Engine) MemRead(addr uint64, buf []byte) error {
	if e.uc == nil {
		return ErrHandle
	}
	if len(buf) == 0 {
		return nil
	}
	return errOf(C.uc_mem_read(e.uc, C.uint64_t(addr), unsafe.Pointer(&buf[0]), C.size_t(len(buf))))
}

// MemWrite copies data to addr (tests and debugging). Translated code of the
// written range is not invalidated: see RemoveCache.
func (e *Engine) MemWrite(addr uint64, data []byte) error {
	if e.uc == nil {
		return ErrHandle
	}
	if len(data) == 0 {
		return nil
	}
	return errOf(C.uc_mem_write(e.uc, C.uint64_t(addr), unsafe.Pointer(&data[0]), C.size_t(len(data))))
}

// RegRead returns a register of at most 64 bits (narrower ones are
// zero-extended). Wider registers yield ErrArg.
func (e *Engine) RegRead(reg Reg) (uint64, error) {
	if e.uc == nil {
		return 0, ErrHandle
	}
	var v C.uint64_t
	rc := C.cmuc_reg_read(e.uc, C.int(reg), &v)
	return uint64(v), errOf(rc)
}

// RegWrite sets a register of at most 64 bits (narrower ones take the low
// bits of v).
func (e *Engine) RegWrite(reg Reg, v uint64) error {
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.cmuc_reg_write(e.uc, C.int(reg), C.uint64_t(v)))
}

// RegReadBatch reads regs[i] into vals[i] in one cgo call without
// allocating. len(vals) must be at least len(regs).
func (e *Engine) RegReadBatch(regs []Reg, vals []uint64) error {
	if e.uc == nil {
		return ErrHandle
	}
	if len(vals) < len(regs) {
		return ErrArg
	}
	if len(regs) == 0 {
		return nil
	}
	return errOf(C.cmuc_reg_read_batch(e.uc, (*C.int64_t)(unsafe.Pointer(&regs[0])),
		(*C.uint64_t)(unsafe.Pointer(&vals[0])), C.int(len(regs))))
}

// RegWriteBatch writes vals[i] to regs[i] in one cgo call without
// allocating. len(vals) must be at least len(regs).
func (e *Engine) RegWriteBatch(regs []Reg, vals []uint64) error {
	if e.uc == nil {
		return ErrHandle
	}
	if len(vals) < len(regs) {
		return ErrArg
	}
	if len(regs) == 0 {
		return nil
	}
	return errOf(C.cmuc_reg_write_batch(e.uc, (*C.int64_t)(unsafe.Pointer(&regs[0])),
		(*C.uint64_t)(unsafe.Pointer(&vals[0])), C.int(len(regs))))
}

// WriteMMR sets a memory-management register (GDTR, IDTR, LDTR or TR).
// selector and flags are ignored for GDTR and IDTR.
func (e *Engine) WriteMMR(reg Reg, base uint64, limit uint32, selector uint16, flags uint32) error {
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.cmuc_write_mmr(e.uc, C.int(reg), C.uint64_t(base), C.uint32_t(limit),
		C.uint16_t(selector), C.uint32_t(flags)))
}

// ReadMMR returns a memory-management register (GDTR, IDTR, LDTR or TR).
func (e *Engine) ReadMMR(reg Reg) (base uint64, limit uint32, selector uint16, flags uint32, err error) {
	if e.uc == nil {
		return 0, 0, 0, 0, ErrHandle
	}
	var m C.uc_x86_mmr
	rc := C.cmuc_read_mmr(e.uc, C.int(reg), &m)
	return uint64(m.base), uint32(m.limit), uint16(m.selector), uint32(m.flags), errOf(rc)
}

// ReadMSR returns model-specific register id (e.g. MSREFER).
func (e *Engine) ReadMSR(id uint32) (uint64, error) {
	if e.uc == nil {
		return 0, ErrHandle
	}
	var v C.uint64_t
	rc := C.cmuc_msr_read(e.uc, C.uint32_t(id), &v)
	return uint64(v), errOf(rc)
}

// WriteMSR sets model-specific register id.
func (e *Engine) WriteMSR(id uint32, v uint64) error {
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.cmuc_msr_write(e.uc, C.uint32_t(id), C.uint64_t(v)))
}

// Start runs guest code from begin until the instruction at until is reached,
// timeout microseconds pass (0: none), count instructions ran (0: no limit),
// Stop is called, a hook asks to stop, or an error occurs. With count != 0
// Unicorn adds a per-instruction hook: slow. `hlt` at CPL 0 ends the run
// with nil.
//
// If a hook panicked the result is a *PanicError. Start must not be called
// from a hook.
func (e *Engine) Start(begin, until, timeout, count uint64) error {
	if e.uc == nil {
		return ErrHandle
	}
	e.panicked = nil
	rc := C.cmuc_emu_start(e.uc, e.ctx, C.uint64_t(begin), C.uint64_t(until), C.uint64_t(timeout), C.size_t(count))
	if p := e.panicked; p != nil {
		e.panicked = nil
		p.Err = errOf(rc)
		return p
	}
	if e.ctx.atomic_gp != 0 {
		e.ctx.atomic_gp = 0
		return ErrAtomicGP
	}
	return errOf(rc)
}

// ErrAtomicGP is returned by Start when a locked instruction needed an
// exclusive step, which Unicorn does not implement (atomic.c): RIP is at
// the instruction, and the CPU would raise #GP for it.
var ErrAtomicGP = errors.New("unicorn: locked instruction cannot be done atomically")

// Stop asks a running Start to return (after the current hook, if any).
// Safe from any goroutine, also after Close (then it returns ErrHandle). A
// Stop on an engine that is not running is lost: callers keep their own
// "interrupt pending" flag and check it before each Start.
func (e *Engine) Stop() error {
	e.stopMu.Lock()
	defer e.stopMu.Unlock()
	if e.uc == nil {
		return ErrHandle
	}
	return errOf(C.uc_emu_stop(e.uc))
}

// Context is a saved CPU state (uc_context) of one engine. It lives in C
// memory; release it with Free (Close frees the rest).
type Context struct {
	e *Engine
	p *C.uc_context
}

// ContextSave allocates a Context and saves the CPU state into it.
func (e *Engine) ContextSave() (*Context, error) {
	if e.uc == nil {
		return nil, ErrHandle
	}
	var p *C.uc_context
	if rc := C.uc_context_alloc(e.uc, &p); rc != C.UC_ERR_OK {
		return nil, Error(rc)
	}
	c := &Context{e: e, p: p}
	if rc := C.uc_context_save(e.uc, p); rc != C.UC_ERR_OK {
		C.uc_context_free(p)
		return nil, Error(rc)
	}
	if e.contexts == nil {
		e.contexts = make(map[*Context]struct{})
	}
	e.contexts[c] = struct{}{}
	return c, nil
}

// ContextUpdate saves the current CPU state into an existing Context of this
// engine, reusing its memory.
func (e *Engine) ContextUpdate(c *Context) error {
	if e.uc == nil {
		return ErrHandle
	}
	if c == nil || c.p == nil || c.e != e {
		return ErrArg
	}
	return errOf(C.uc_context_save(e.uc, c.p))
}

// ContextRestore loads the CPU state saved in c (a Context of this engine).
func (e *Engine) ContextRestore(c *Context) error {
	if e.uc == nil {
		return ErrHandle
	}
	if c == nil || c.p == nil || c.e != e {
		return ErrArg
	}
	return errOf(C.uc_context_restore(e.uc, c.p))
}

// Free releases the context. It is idempotent and a no-op once the engine
// has been closed. Call it from the engine's owner goroutine.
func (c *Context) Free() {
	if c.p == nil {
		return
	}
	delete(c.e.contexts, c)
	c.free()
}

func (c *Context) free() {
	C.uc_context_free(c.p)
	c.p = nil
}

// ReadXMM reads the first len(regs) XMM registers (16 in 64-bit mode, 8
// in 32-bit mode) in one call.
func (e *Engine) ReadXMM(regs [][16]byte) error {
	if len(regs) == 0 {
		return nil
	}
	return errOf(C.cmuc_xmm(e.uc, (*C.uint8_t)(unsafe.Pointer(&regs[0][0])), C.int(len(regs)), 0))
}

// WriteXMM writes the first len(regs) XMM registers.
func (e *Engine) WriteXMM(regs [][16]byte) error {
	if len(regs) == 0 {
		return nil
	}
	return errOf(C.cmuc_xmm(e.uc, (*C.uint8_t)(unsafe.Pointer(&regs[0][0])), C.int(len(regs)), 1))
}

// FPRegs is the x87 and SSE state in one block (it mirrors struct
// cmuc_fpregs in shim.h).
type FPRegs struct {
	FCW, FSW uint16
	// FTag is the full x87 tag word of the physical registers, two bits
	// a register (3 = empty).
	FTag  uint16
	FOP   uint16
	MXCSR uint32
	_     uint32
	FIP   uint64
	FDP   uint64
	// ST holds ST(0) to ST(7), stack-relative: 64-bit significand, then
	// sign and exponent.
	ST  [8][10]byte
	XMM [16][16]byte
}

var (
	_ = [1]struct{}{}[unsafe.Sizeof(FPRegs{})-unsafe.Sizeof(C.cmuc_fpregs{})]
	_ = [1]struct{}{}[unsafe.Offsetof(FPRegs{}.ST)-unsafe.Offsetof(C.cmuc_fpregs{}.st)]
	_ = [1]struct{}{}[unsafe.Offsetof(FPRegs{}.XMM)-unsafe.Offsetof(C.cmuc_fpregs{}.xmm)]
)

// ReadFP reads the x87 state, MXCSR and the first nxmm XMM registers
// (the others read as zero) in one call.
func (e *Engine) ReadFP(fp *FPRegs, nxmm int) error {
	if e.uc == nil {
		return ErrHandle
	}
	if nxmm < 0 || nxmm > len(fp.XMM) {
		return ErrArg
	}
	return errOf(C.cmuc_fp_read(e.uc, (*C.cmuc_fpregs)(unsafe.Pointer(fp)), C.int(nxmm)))
}

// WriteFP loads what ReadFP reads.
func (e *Engine) WriteFP(fp *FPRegs, nxmm int) error {
	if e.uc == nil {
		return ErrHandle
	}
	if nxmm < 0 || nxmm > len(fp.XMM) {
		return ErrArg
	}
	return errOf(C.cmuc_fp_write(e.uc, (*C.cmuc_fpregs)(unsafe.Pointer(fp)), C.int(nxmm)))
}
