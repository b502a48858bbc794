// C half of package unicorn. See shim.h.
//
// The trampolines run on the thread inside uc_emu_start and call exactly one
// exported Go function each. The syscall and int 0x80 paths read the argument
// registers with one uc_reg_read_batch and write the results back with one
// uc_reg_write_batch, so a guest syscall costs a single C->Go transition.

#include <string.h>

#include "shim.h"
#include "_cgo_export.h"

static void kick(cmuc_ctx *ctx); // see "Requests to a running engine"

// --- Guest mode -------------------------------------------------------------
//
// A TLB shootdown (mm's) must not return before every engine that may use
// the old translation has dropped it. An engine is in guest mode from the
// moment it may run guest code with the translations in its TLB until it
// stops or calls into Go; every Go callback leaves guest mode first and
// re-enters it after. The requester increments flush_req, then reads
// in_guest; the engine sets in_guest, then reads flush_req (both
// sequentially consistent), so one of them sees the other: either the
// requester waits for an engine in guest mode to flush (at its next block
// start, see "Requests to a running engine") and acknowledge, or the engine flushes
// on entering guest mode, before it runs guest code again.

// flush_now flushes the TLB if a request newer than the last flush
// exists. Owner thread.
static void flush_now(uc_engine *uc, cmuc_ctx *ctx)
{
	uint64_t r = __atomic_load_n(&ctx->flush_req, __ATOMIC_SEQ_CST);
	if (r != ctx->flush_ack) {
		uc_ctl_flush_tlb(uc);
		__atomic_store_n(&ctx->flush_ack, r, __ATOMIC_RELEASE);
	}
}

static void leave_guest(cmuc_ctx *ctx)
{
	__atomic_store_n(&ctx->in_guest, 0, __ATOMIC_SEQ_CST);
}

static void enter_guest(uc_engine *uc, cmuc_ctx *ctx)
{
	__atomic_store_n(&ctx->in_guest, 1, __ATOMIC_SEQ_CST);
	flush_now(uc, ctx);
}

// cmuc_request_flush asks the engine to flush its TLB before it uses a
// translation again and returns the request's ticket. Any thread.
uint64_t cmuc_request_flush(cmuc_ctx *ctx)
{
	uint64_t ticket = __atomic_add_fetch(&ctx->flush_req, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&ctx->interrupt, CMUC_FLUSH, __ATOMIC_SEQ_CST);
	kick(ctx);
	return ticket;
}

// cmuc_flushed reports whether the request with the ticket is done: the
// engine flushed since, or it is not in guest mode (it flushes on
// entering it). Any thread.
int cmuc_flushed(cmuc_ctx *ctx, uint64_t ticket)
{
	if (!__atomic_load_n(&ctx->in_guest, __ATOMIC_SEQ_CST))
		return 1;
	return __atomic_load_n(&ctx->flush_ack, __ATOMIC_ACQUIRE) >= ticket;
}

// 64-bit syscall: nr, args (Linux order rdi rsi rdx r10 r8 r9), rip, rflags.
static int sys64_regs[9] = {
	UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
	UC_X86_REG_R10, UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_RIP,
	UC_X86_REG_RFLAGS,
};

// i386 int 0x80: nr, args (ebx ecx edx esi edi ebp), eip, eflags.
static int int80_32_regs[9] = {
	UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX,
	UC_X86_REG_ESI, UC_X86_REG_EDI, UC_X86_REG_EBP, UC_X86_REG_EIP,
	UC_X86_REG_EFLAGS,
};

// int 0x80 executed by 64-bit code: same ABI, but RIP/RFLAGS are 64-bit.
static int int80_64_regs[9] = {
	UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX,
	UC_X86_REG_ESI, UC_X86_REG_EDI, UC_X86_REG_EBP, UC_X86_REG_RIP,
	UC_X86_REG_RFLAGS,
};

static void read_sysregs(uc_engine *uc, int *ids, cmuc_sysregs *r)
{
	void *p[9] = {
		&r->nr, &r->args[0], &r->args[1], &r->args[2], &r->args[3],
		&r->args[4], &r->args[5], &r->rip, &r->rflags,
	};
	uc_reg_read_batch(uc, ids, p, 9);
}

static void tramp_syscall(uc_engine *uc, void *ud)
{
	cmuc_ctx *ctx = ud;
	cmuc_sysregs r = {0};
	read_sysregs(uc, sys64_regs, &r);

	leave_guest(ctx);
	cmucGoSyscall(ctx->handle, &r);
	enter_guest(uc, ctx);

	// Unicorn adds 2 (the length of `syscall`) to RIP after this hook
	// returns, so a redirect must be written as target-2.
	uint64_t rcx = r.rip + 2, rip = r.new_rip - 2;
	int ids[4];
	void *vals[4];
	int n = 0;
	if (!r.keep_regs) {
		ids[n] = UC_X86_REG_RAX, vals[n++] = &r.ret;
		ids[n] = UC_X86_REG_RCX, vals[n++] = &rcx;
		ids[n] = UC_X86_REG_R11, vals[n++] = &r.rflags;
	}
	if (r.set_rip)
		ids[n] = UC_X86_REG_RIP, vals[n++] = &rip;
	if (n)
		uc_reg_write_batch(uc, ids, vals, n);
	if (r.stop)
		uc_emu_stop(uc);
}

static void tramp_int80(uc_engine *uc, cmuc_ctx *ctx)
{
	cmuc_sysregs r = {0};
	read_sysregs(uc, ctx->is64 ? int80_64_regs : int80_32_regs, &r);

	leave_guest(ctx);
	cmucGoInt80(ctx->handle, &r);
	enter_guest(uc, ctx);

	// EIP already points after `int 0x80`: no adjustment.
	uint64_t ret = r.ret;
	int ids[2];
	void *vals[2];
	int n = 0;
	if (!r.keep_regs) {
		if (ctx->is64) {
			ret = (uint64_t)(int64_t)(int32_t)(uint32_t)r.ret;
			ids[n] = UC_X86_REG_RAX;
		} else {
			ids[n] = UC_X86_REG_EAX;
		}
		vals[n++] = &ret;
	}
	if (r.set_rip) {
		ids[n] = ctx->is64 ? UC_X86_REG_RIP : UC_X86_REG_EIP;
		vals[n++] = &r.new_rip;
	}
	if (n)
		uc_reg_write_batch(uc, ids, vals, n);
	if (r.stop)
		uc_emu_stop(uc);
}

static void tramp_intr(uc_engine *uc, uint32_t intno, void *ud)
{
	cmuc_ctx *ctx = ud;
	if (intno == 0x80 && ctx->int80) {
		tramp_int80(uc, ctx);
		return;
	}
	leave_guest(ctx);
	cmucGoIntr(ctx->handle, intno);
	enter_guest(uc, ctx);
}

// x86-64 page-table entry bits used by the fast path.
#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

// TASK_SIZE_MAX of x86-64 with 4-level paging: no user page lies at or
// above it. The table's indices use only bits 12..47 of an address, so a
// non-canonical address (0x0001000000400000) or one in the kernel half
// would alias a user page if it were walked.
#define USER_END 0x00007ffffffff000ULL

// walk_fast translates vaddr with the 4-level table at ctx->root, as the
// CPU would, and fills result if the present leaf already grants the
// access. Anything else (not present, a write to a read-only or COW page,
// a fetch from a no-exec page, an address at or above USER_END, an entry
// whose frame lies outside the RAM pool) goes to Go, which faults the
// page in or refuses. Table frames are never freed while an engine maps
// the table, so walking without the Go lock is safe; entries are read
// atomically.
static bool walk_fast(cmuc_ctx *ctx, uint64_t vaddr, uc_mem_type type, uc_tlb_entry *result)
{
	uint64_t table = ctx->root, e = 0, *slot = 0;
	if (vaddr >= USER_END)
		return false;
	for (int shift = 39; shift >= 12; shift -= 9) {
		if (table >= ctx->ram_size || ctx->ram_size - table < 4096)
			return false;
		slot = (uint64_t *)(ctx->ram + table + ((vaddr >> shift) & 511) * 8);
		e = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		if (!(e & PTE_P))
			return false;
		table = e & PTE_ADDR;
	}
	// The leaf's frame, like every table's, must lie inside the pool.
	if (table >= ctx->ram_size || ctx->ram_size - table < 4096)
		return false;
	if (type == UC_MEM_WRITE && !(e & PTE_RW))
		return false;
	if (type == UC_MEM_FETCH && (e & PTE_NX))
		return false;
	// A frame with a code mark is never writable through the TLB: a
	// write to it fills through Go (cmuc_mark_code).
	bool writable = (e & PTE_RW) != 0;
	if (ctx->code_marks && (__atomic_load_n(&ctx->code_marks[table >> 12], __ATOMIC_ACQUIRE) & CODE_MARK)) {
		if (type == UC_MEM_WRITE)
			return false;
		writable = false;
	}
	uint64_t used = PTE_A | (type == UC_MEM_WRITE ? PTE_D : 0);
	if ((e & used) != used)
		__atomic_fetch_or(slot, used, __ATOMIC_RELAXED);
	result->paddr = e & PTE_ADDR;
	result->perms = UC_PROT_READ | (writable ? UC_PROT_WRITE : 0) | ((e & PTE_NX) ? 0 : UC_PROT_EXEC);
	return true;
}

// leaf_of returns the present leaf entry mapping guest virtual address
// va through the page table of the fast path, or 0 when there is none
// (or no page table yet, or va is not a user address, or an entry points
// outside the RAM pool).
static uint64_t leaf_of(cmuc_ctx *ctx, uint64_t va)
{
	uint64_t table = ctx->root, e = 0;
	if (!table || va >= USER_END)
		return 0;
	for (int shift = 39; shift >= 12; shift -= 9) {
		if (table >= ctx->ram_size || ctx->ram_size - table < 4096)
			return 0;
		e = __atomic_load_n((uint64_t *)(ctx->ram + table + ((va >> shift) & 511) * 8), __ATOMIC_ACQUIRE);
		if (!(e & PTE_P))
			return 0;
		table = e & PTE_ADDR;
	}
	if (table >= ctx->ram_size || ctx->ram_size - table < 4096)
		return 0;
	return e;
}

// cmuc_guest_ptr returns the host address of the byte at guest virtual
// address va through the page table of the fast path, or NULL when it is
// not mapped (see leaf_of). It changes nothing.
const uint8_t *cmuc_guest_ptr(cmuc_ctx *ctx, uint64_t va)
{
	uint64_t e = leaf_of(ctx, va);
	if (!e)
		return NULL;
	return ctx->ram + (e & PTE_ADDR) + (va & 4095);
}

// cmuc_mark_code sets the code mark of the frame mapped at va (see
// SetCodeMarks) before the engine translates code from it. When it sets
// a mark and the page is writable, or the frame is shared (another
// address space may map it writable), Go flushes the TLBs of every
// engine that may write the frame first, so that from then on a write
// to the frame fills a TLB entry through Go, which drops the code.
// Owner thread, in guest mode.
void cmuc_mark_code(cmuc_ctx *ctx, uint64_t va)
{
	uint64_t e;
	if (!ctx->code_marks || !(e = leaf_of(ctx, va)))
		return;
	uint64_t frame = (e & PTE_ADDR) >> 12;
	uint32_t *mark = &ctx->code_marks[frame];
	if (__atomic_load_n(mark, __ATOMIC_ACQUIRE) & CODE_MARK)
		return;
	uint32_t old = __atomic_fetch_or(mark, CODE_MARK, __ATOMIC_SEQ_CST);
	if ((old & CODE_MARK) || !((e & PTE_RW) || (old & SHARED_FRAME)))
		return;
	leave_guest(ctx);
	cmucGoCodeMarked(ctx->handle, frame);
	enter_guest(ctx->uc, ctx);
}

static bool tramp_tlb_fill(uc_engine *uc, uint64_t vaddr, uc_mem_type type,
			   uc_tlb_entry *result, void *ud)
{
	cmuc_ctx *ctx = ud;
	cmuc_tlb_count_fill(uc, ctx);
	for (;;) {
		if (ctx->root && walk_fast(ctx, vaddr, type, result))
			return true;
		leave_guest(ctx);
		uint64_t before = __atomic_load_n(&ctx->flush_req, __ATOMIC_SEQ_CST);
		bool ok = cmucGoTLBFill(ctx->handle, vaddr, (int)type, result) != 0;
		enter_guest(uc, ctx);
		// A shootdown while Go translated may have removed what it
		// found (the requester did not wait for an engine outside
		// guest mode): translate again.
		if (__atomic_load_n(&ctx->flush_req, __ATOMIC_SEQ_CST) == before)
			return ok;
	}
}

static bool tramp_mem_invalid(uc_engine *uc, uc_mem_type type, uint64_t addr,
			      int size, int64_t value, void *ud)
{
	cmuc_ctx *ctx = ud;
	leave_guest(ctx);
	bool retry = cmucGoMemInvalid(ctx->handle, (int)type, addr, size, value) != 0;
	enter_guest(uc, ctx);
	return retry;
}

static bool tramp_insn_invalid(uc_engine *uc, void *ud)
{
	cmuc_ctx *ctx = ud;
	leave_guest(ctx);
	bool handled = cmucGoInsnInvalid(ctx->handle) != 0;
	enter_guest(uc, ctx);
	return handled;
}

static uint32_t tramp_in(uc_engine *uc, uint32_t port, int size, void *ud)
{
	cmuc_ctx *ctx = ud;
	leave_guest(ctx);
	cmucGoPortIO(ctx->handle, port, 0);
	enter_guest(uc, ctx);
	return 0;
}

static void tramp_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *ud)
{
	cmuc_ctx *ctx = ud;
	leave_guest(ctx);
	cmucGoPortIO(ctx->handle, port, 1);
	enter_guest(uc, ctx);
}

// --- Requests to a running engine -------------------------------------------
//
// Another thread asks an engine to stop (CMUC_STOP) or to flush its TLB
// (CMUC_FLUSH) by setting the bit in ctx->interrupt and kicking the
// engine with QEMU's cpu_exit: the exit flag that translated code tests
// at the start of every translation block, chained or not (a load and a
// branch that QEMU emits anyway). The block then returns to QEMU's
// execution loop without running; with no stop request set, QEMU sets
// the guest PC from the block (synchronize_from_tb) and cpu_exec returns,
// every register consistent. Its wrapper (below) does what is asked for
// there: a flush, and the engine goes on running; a stop, and the run
// ends with RIP at the block's first instruction. (uc_emu_stop from
// another thread sets Unicorn's stop request first, which makes QEMU skip
// that PC update: RIP stays stale while chained blocks ran.) The bits
// stay set until done, so a kick lost because the engine was between
// runs, or cleared by Unicorn as a run ends, is made up for before the
// next run executes anything.

// cpu_exit is QEMU's (hw/core/cpu.c): it sets the CPU's exit request and
// the exit flag translated code tests. Any thread.
void cpu_exit(void *cpu);

#define EXCP_INTERRUPT 0x10000 // QEMU: the execution loop was asked to exit

// kick makes the engine leave translated code at its next block start.
// Any thread.
static void kick(cmuc_ctx *ctx)
{
	void *cpu = __atomic_load_n(&ctx->cpu, __ATOMIC_ACQUIRE);
	if (cpu)
		cpu_exit(cpu);
}

// uc_struct.no_exit_request (Unicorn 2.1.1): nonzero, the translator does
// not test the exit flag after every guest memory access. Only its ARM
// translator ever sets it (inside Thumb IT blocks).
#define UC_NO_EXIT_REQUEST 0x7da

// cmuc_attach_cpu records the engine's CPU for kicks, once Unicorn has
// created it (at the first mapping), and limits the exit tests to block
// starts: Unicorn also tests the exit flag after each memory access of
// the translated code (for memory hooks that stop the engine, which
// cmaemu has none of), and a kick seen there would end the run with the
// block's first instruction as RIP after some of the block ran. It also
// spares each load and store a test and a branch. Owner thread.
void cmuc_attach_cpu(uc_engine *uc, cmuc_ctx *ctx)
{
	*((uint8_t *)uc + UC_NO_EXIT_REQUEST) = 1;
	__atomic_store_n(&ctx->cpu, cmuc_cpu(uc), __ATOMIC_RELEASE);
}

// attend does what ctx->interrupt asks for and reports whether the run
// must stop. The flush bit is cleared before flush_req is read: a request
// that sets it again after is seen at the next block start. Owner thread,
// outside translated code.
static int attend(uc_engine *uc, cmuc_ctx *ctx)
{
	if (__builtin_expect(__atomic_load_n(&ctx->interrupt, __ATOMIC_ACQUIRE) == 0, 1))
		return 0;
	int32_t v = __atomic_fetch_and(&ctx->interrupt, ~CMUC_FLUSH, __ATOMIC_SEQ_CST);
	if (v & CMUC_FLUSH)
		flush_now(uc, ctx);
	if (v & CMUC_STOP) {
		uc_emu_stop(uc);
		return 1;
	}
	return 0;
}

int __real_cpu_exec_x86_64(uc_engine *uc, void *cpu);

// __wrap_cpu_exec_x86_64 is QEMU's execution loop (linked over it with
// ld --wrap) with the requests attended to before it starts and after
// it returns. Unicorn calls it again while no stop is requested.
int __wrap_cpu_exec_x86_64(uc_engine *uc, void *cpu)
{
	cmuc_ctx *ctx = cmuc_running();
	if (ctx && attend(uc, ctx))
		return EXCP_INTERRUPT;
	int r = __real_cpu_exec_x86_64(uc, cpu);
	if (ctx)
		attend(uc, ctx);
	return r;
}

uc_err cmuc_hook_add(uc_engine *uc, uc_hook *hh, int kind, cmuc_ctx *ctx)
{
	// begin=1 > end=0: the hook covers every address.
	switch (kind) {
	case CMUC_HOOK_SYSCALL:
		return uc_hook_add(uc, hh, UC_HOOK_INSN, (void *)tramp_syscall, ctx,
				   1, 0, UC_X86_INS_SYSCALL);
	case CMUC_HOOK_INTR:
		return uc_hook_add(uc, hh, UC_HOOK_INTR, (void *)tramp_intr, ctx, 1, 0);
	case CMUC_HOOK_TLB_FILL:
		return uc_hook_add(uc, hh, UC_HOOK_TLB_FILL, (void *)tramp_tlb_fill,
				   ctx, 1, 0);
	case CMUC_HOOK_MEM_INVALID:
		return uc_hook_add(uc, hh, UC_HOOK_MEM_INVALID,
				   (void *)tramp_mem_invalid, ctx, 1, 0);
	case CMUC_HOOK_INSN_INVALID:
		return uc_hook_add(uc, hh, UC_HOOK_INSN_INVALID,
				   (void *)tramp_insn_invalid, ctx, 1, 0);
	case CMUC_HOOK_IN:
		return uc_hook_add(uc, hh, UC_HOOK_INSN, (void *)tramp_in, ctx, 1, 0,
				   UC_X86_INS_IN);
	case CMUC_HOOK_OUT:
		return uc_hook_add(uc, hh, UC_HOOK_INSN, (void *)tramp_out, ctx, 1, 0,
				   UC_X86_INS_OUT);
	}
	return UC_ERR_ARG;
}

uc_err cmuc_set_tcg_buffer_size(uc_engine *uc, uint32_t size)
{
	return uc_ctl_set_tcg_buffer_size(uc, size);
}

uc_err cmuc_set_cpu_model(uc_engine *uc, int model)
{
	return uc_ctl_set_cpu_model(uc, model);
}

uc_err cmuc_set_tlb_mode(uc_engine *uc, int mode)
{
	return uc_ctl_tlb_mode(uc, mode);
}

uc_err cmuc_flush_tlb(uc_engine *uc) { return uc_ctl_flush_tlb(uc); }

uc_err cmuc_flush_tb(uc_engine *uc) { return uc_ctl_flush_tb(uc); }

uc_err cmuc_remove_cache(uc_engine *uc, uint64_t begin, uint64_t end)
{
	return uc_ctl_remove_cache(uc, begin, end);
}

// Unicorn's own (QEMU 5's), which uc_ctl_remove_cache calls once it has
// translated the virtual address: it drops the translation blocks with
// code in the physical range, unlinks them and takes them out of the
// jump cache.
void tb_invalidate_phys_range_x86_64(uc_engine *uc, uint64_t start, uint64_t end);

// cmuc_remove_phys_cache drops translated code from the guest-physical
// range [begin, end), whatever maps it now (uc_ctl_remove_cache finds
// nothing for a virtual page no longer mapped). Guest RAM is the only
// RAM block, mapped at physical 0, so a physical address is the RAM
// address QEMU keys translations by. Between runs, from the owner thread.
void cmuc_remove_phys_cache(uc_engine *uc, uint64_t begin, uint64_t end)
{
	if (begin < end)
		tb_invalidate_phys_range_x86_64(uc, begin, end);
}

// reg_fits reports whether register r is at most 8 bytes wide, i.e. whether
// it can be read into / written from a uint64_t without overflow.
static int reg_fits(int64_t r)
{
	if (r <= UC_X86_REG_INVALID || r >= UC_X86_REG_ENDING)
		return 0;
	if (r >= UC_X86_REG_FP0 && r <= UC_X86_REG_FP7)
		return 0;
	if (r >= UC_X86_REG_ST0 && r <= UC_X86_REG_ZMM31)
		return 0;
	if (r >= UC_X86_REG_IDTR && r <= UC_X86_REG_TR)
		return 0;
	if (r == UC_X86_REG_MSR)
		return 0;
	return 1;
}

uc_err cmuc_reg_read(uc_engine *uc, int reg, uint64_t *val)
{
	*val = 0;
	if (!reg_fits(reg))
		return UC_ERR_ARG;
	return uc_reg_read(uc, reg, val);
}

uc_err cmuc_reg_write(uc_engine *uc, int reg, uint64_t val)
{
	if (!reg_fits(reg))
		return UC_ERR_ARG;
	return uc_reg_write(uc, reg, &val);
}

#define CHUNK 32

uc_err cmuc_reg_read_batch(uc_engine *uc, const int64_t *regs, uint64_t *vals, int n)
{
	int ids[CHUNK];
	void *ptrs[CHUNK];
	for (int i = 0; i < n; i += CHUNK) {
		int m = n - i < CHUNK ? n - i : CHUNK;
		for (int j = 0; j < m; j++) {
			if (!reg_fits(regs[i + j]))
				return UC_ERR_ARG;
			ids[j] = (int)regs[i + j];
			vals[i + j] = 0;
			ptrs[j] = &vals[i + j];
		}
		uc_err err = uc_reg_read_batch(uc, ids, ptrs, m);
		if (err != UC_ERR_OK)
			return err;
	}
	return UC_ERR_OK;
}

uc_err cmuc_reg_write_batch(uc_engine *uc, const int64_t *regs, const uint64_t *vals, int n)
{
	int ids[CHUNK];
	void *ptrs[CHUNK];
	for (int i = 0; i < n; i += CHUNK) {
		int m = n - i < CHUNK ? n - i : CHUNK;
		for (int j = 0; j < m; j++) {
			if (!reg_fits(regs[i + j]))
				return UC_ERR_ARG;
			ids[j] = (int)regs[i + j];
			ptrs[j] = (void *)&vals[i + j];
		}
		uc_err err = uc_reg_write_batch(uc, ids, ptrs, m);
		if (err != UC_ERR_OK)
			return err;
	}
	return UC_ERR_OK;
}

static int is_mmr(int reg)
{
	return reg >= UC_X86_REG_IDTR && reg <= UC_X86_REG_TR;
}

uc_err cmuc_write_mmr(uc_engine *uc, int reg, uint64_t base, uint32_t limit,
		      uint16_t selector, uint32_t flags)
{
	if (!is_mmr(reg))
		return UC_ERR_ARG;
	uc_x86_mmr m = {.selector = selector, .base = base, .limit = limit, .flags = flags};
	return uc_reg_write(uc, reg, &m);
}

uc_err cmuc_read_mmr(uc_engine *uc, int reg, uc_x86_mmr *out)
{
	if (!is_mmr(reg))
		return UC_ERR_ARG;
	*out = (uc_x86_mmr){0};
	return uc_reg_read(uc, reg, out);
}

uc_err cmuc_msr_read(uc_engine *uc, uint32_t id, uint64_t *val)
{
	uc_x86_msr m = {.rid = id, .value = 0};
	uc_err err = uc_reg_read(uc, UC_X86_REG_MSR, &m);
	*val = m.value;
	return err;
}

uc_err cmuc_msr_write(uc_engine *uc, uint32_t id, uint64_t val)
{
	uc_x86_msr m = {.rid = id, .value = val};
	return uc_reg_write(uc, UC_X86_REG_MSR, &m);
}

void cmuc_set_interrupt(cmuc_ctx *ctx, int32_t v)
{
	if (v) {
		__atomic_fetch_or(&ctx->interrupt, CMUC_STOP, __ATOMIC_SEQ_CST);
		kick(ctx);
	} else
		__atomic_fetch_and(&ctx->interrupt, ~CMUC_STOP, __ATOMIC_SEQ_CST);
}

// cmuc_xmm reads (write == 0) or writes the first n XMM registers, 16
// bytes each, in one call.
uc_err cmuc_xmm(uc_engine *uc, uint8_t *buf, int n, int write)
{
	for (int i = 0; i < n; i++) {
		uc_err err = write ? uc_reg_write(uc, UC_X86_REG_XMM0 + i, buf + 16 * i)
				   : uc_reg_read(uc, UC_X86_REG_XMM0 + i, buf + 16 * i);
		if (err != UC_ERR_OK)
			return err;
	}
	return UC_ERR_OK;
}

// cmuc_fp_read reads the x87 state, MXCSR and the first nxmm XMM
// registers. Unicorn's ST0..ST7 are stack-relative (FP0..FP7 physical);
// FPSW carries TOP; FPTAG is the full tag word of the physical registers.
uc_err cmuc_fp_read(uc_engine *uc, cmuc_fpregs *fp, int nxmm)
{
	static const int ids[7] = {
		UC_X86_REG_FPCW, UC_X86_REG_FPSW, UC_X86_REG_FPTAG, UC_X86_REG_FOP,
		UC_X86_REG_MXCSR, UC_X86_REG_FIP, UC_X86_REG_FDP,
	};
	uint64_t v[7] = {0};
	void *p[7] = {&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]};
	cmuc_fp_sync(uc); // the flags of Unicorn's arithmetic (x87.c)
	uc_err err = uc_reg_read_batch(uc, (int *)ids, p, 7);
	if (err != UC_ERR_OK)
		return err;
	fp->fcw = v[0], fp->fsw = v[1], fp->ftag = v[2], fp->fop = v[3] & 0x7ff;
	fp->mxcsr = v[4], fp->pad = 0, fp->fip = v[5], fp->fdp = v[6];
	for (int i = 0; i < 8; i++) {
		uint8_t buf[16] = {0};
		if ((err = uc_reg_read(uc, UC_X86_REG_ST0 + i, buf)) != UC_ERR_OK)
			return err;
		memcpy(fp->st[i], buf, 10);
	}
	memset(fp->xmm, 0, sizeof fp->xmm);
	return cmuc_xmm(uc, &fp->xmm[0][0], nxmm, 0);
}

// cmuc_fp_write loads what cmuc_fp_read reads. FPSW goes first: it sets
// TOP, which places the stack-relative registers.
uc_err cmuc_fp_write(uc_engine *uc, const cmuc_fpregs *fp, int nxmm)
{
	uint64_t fsw = fp->fsw;
	cmuc_fp_drop(uc); // flags raised before are not the new state's
	uc_err err = uc_reg_write(uc, UC_X86_REG_FPSW, &fsw);
	if (err != UC_ERR_OK)
		return err;
	for (int i = 0; i < 8; i++) {
		uint8_t buf[16] = {0};
		memcpy(buf, fp->st[i], 10);
		if ((err = uc_reg_write(uc, UC_X86_REG_ST0 + i, buf)) != UC_ERR_OK)
			return err;
	}
	static const int ids[6] = {
		UC_X86_REG_FPTAG, UC_X86_REG_FPCW, UC_X86_REG_FOP,
		UC_X86_REG_MXCSR, UC_X86_REG_FIP, UC_X86_REG_FDP,
	};
	uint64_t v[6] = {fp->ftag, fp->fcw, fp->fop & 0x7ff, fp->mxcsr, fp->fip, fp->fdp};
	void *p[6] = {&v[0], &v[1], &v[2], &v[3], &v[4], &v[5]};
	if ((err = uc_reg_write_batch(uc, (int *)ids, p, 6)) != UC_ERR_OK)
		return err;
	cmuc_fp_mxcsr_loaded(uc);
	return cmuc_xmm(uc, (uint8_t *)&fp->xmm[0][0], nxmm, 1);
}

// cmuc_emu_start is uc_emu_start with ctx as the engine running on this
// thread while it runs (the translator's wrappers in wrap.c need it).
uc_err cmuc_emu_start(uc_engine *uc, cmuc_ctx *ctx, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)
{
	cmuc_set_running(ctx);
	enter_guest(uc, ctx);
	uc_err err = uc_emu_start(uc, begin, until, timeout, count);
	leave_guest(ctx);
	cmuc_set_running(NULL);
	return err;
}
