// Growing the softmmu TLB of an engine that misses it a lot.
//
// Unicorn (QEMU 5) gives each MMU mode a direct-mapped TLB of 256 entries
// and resizes it only when the TLB is flushed: a flush that finds it more
// than 70% used doubles it (up to 2^22 entries), one that finds it less
// than 30% used after 100 ms shrinks it. An engine that never flushes
// keeps 256 entries (1 MiB of guest memory) for ever, and a guest whose
// working set is larger pays a fill, and a page-table walk, on nearly
// every access (a random walk over 256 MiB: one per access).
//
// The fill hook counts fills. After twice as many fills as the TLB has
// entries it flushes the TLB, which lets QEMU's own policy double it; a
// flush that does not grow it (the working set fits, the fills were
// first touches) makes the next attempt wait twice as long. The growth
// stops at TLB_GROW_MAX_ENTRIES: 64 KiB entries map 256 MiB, and cost
// 5 MiB per engine (64-byte entries plus QEMU's 16-byte iotlb entries).
// QEMU shrinks it again at a later flush when it is little used.
//
// It relies on Unicorn 2.1.1's x86 layout: CPUTLBDescFast {mask, table}
// for the three MMU modes just before the CPU's icount word, which is
// 16 bytes before CPUX86State; mask = (entries - 1) << 6. The layout is
// checked when the engine is set up (cmuc_tlb_layout_ok); emu/unicorn's
// TLB test fails if the TLB does not grow.

#include "shim.h"

#define TLB_FAST_OFS (-0x40) // f[0] relative to CPUX86State
#define TLB_ENTRY_BITS 6
#define TLB_MIN_BITS 6
#define TLB_MAX_BITS 22
#define NB_MMU_MODES 3 // kernel with SMAP, user (CPL 3), kernel without
#define TLB_GROW_MAX_ENTRIES (1u << 16)
#define TLB_GROW_MAX_BACKOFF 64u

struct tlb_fast {
	uintptr_t mask;
	void *table;
};

static struct tlb_fast *tlb_fast(void *env, int mmu_idx)
{
	return (struct tlb_fast *)((char *)env + TLB_FAST_OFS) + mmu_idx;
}

// entries_of returns the number of entries mask describes, or 0 when it
// is not a mask QEMU would make.
static uint64_t entries_of(uintptr_t mask)
{
	uint64_t n = (mask >> TLB_ENTRY_BITS) + 1;
	if (mask & ((1u << TLB_ENTRY_BITS) - 1))
		return 0;
	if (n & (n - 1) || n < (1u << TLB_MIN_BITS) || n > (1u << TLB_MAX_BITS))
		return 0;
	return n;
}

// cmuc_tlb_layout_ok reports whether the engine's TLB descriptors are
// where this file looks (each of the three modes has a table and a
// mask of a size QEMU uses), and turns the growth on if they are.
int cmuc_tlb_layout_ok(uc_engine *uc, cmuc_ctx *ctx)
{
	void *env = cmuc_env(uc);
	if (!env)
		return 0;
	for (int i = 0; i < NB_MMU_MODES; i++) {
		struct tlb_fast *f = tlb_fast(env, i);
		if (!f->table || !entries_of(f->mask))
			return 0;
	}
	ctx->tlb_env = env;
	ctx->tlb_backoff = 1;
	ctx->tlb_fills = 0;
	return 1;
}

// cmuc_tlb_entries is the size of the largest of the engine's TLBs, one
// per MMU mode (guests use the user mode's; 0: unknown).
uint64_t cmuc_tlb_entries(cmuc_ctx *ctx)
{
	uint64_t max = 0;
	if (!ctx->tlb_env)
		return 0;
	for (int i = 0; i < NB_MMU_MODES; i++) {
		uint64_t n = entries_of(tlb_fast(ctx->tlb_env, i)->mask);
		if (n > max)
			max = n;
	}
	return max;
}

// cmuc_tlb_count_fill is called by the fill hook for every fill. Owner
// thread (a flush from here is what flush_now does too).
void cmuc_tlb_count_fill(uc_engine *uc, cmuc_ctx *ctx)
{
	if (!ctx->tlb_env)
		return;
	uint64_t n = cmuc_tlb_entries(ctx);
	if (++ctx->tlb_fills < 2 * n * ctx->tlb_backoff || n >= TLB_GROW_MAX_ENTRIES)
		return;
	ctx->tlb_fills = 0;
	uc_ctl_flush_tlb(uc);
	if (cmuc_tlb_entries(ctx) > n)
		ctx->tlb_backoff = 1;
	else if (ctx->tlb_backoff < TLB_GROW_MAX_BACKOFF)
		ctx->tlb_backoff *= 2;
}
