// variants: glibc musl
/* rel_sigret: CS and SS an x86-64 signal handler leaves in its frame, as
 * Linux restores them on rt_sigreturn (restore_sigcontext). A SIGILL
 * handler (a ud2) edits the frame and skips the ud2.
 *   cs      loaded | 3 by the return to user mode: the 64-bit user code
 *           segment (0x33) returns; a data segment, null, a kernel
 *           segment or one beyond the GDT is a general protection fault
 *           at the restored state: SIGSEGV, si_code SI_KERNEL (128),
 *           si_addr 0. (0x23, compat mode, is not tried.)
 *   ss      with UC_STRICT_RESTORE_SS in uc_flags (the kernel sets it):
 *           0x2b returns, anything else faults as above
 *   ss_lax  without it, an invalid SS is replaced by the user data
 *           segment (force_valid_ss): every value returns
 * One line a check; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

#define UC_STRICT_SS 0x4UL

static volatile int edit_shift = -1, clear_strict;
static volatile unsigned edit_val;

static void on_ill(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si;
	ucontext_t *uc = ctx;
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* ud2 */
	if (edit_shift >= 0) {
		unsigned long v = uc->uc_mcontext.gregs[REG_CSGSFS];
		v &= ~(0xffffUL << edit_shift);
		v |= (unsigned long)edit_val << edit_shift;
		uc->uc_mcontext.gregs[REG_CSGSFS] = v;
	}
	if (clear_strict)
		uc->uc_flags &= ~UC_STRICT_SS;
}

static sigjmp_buf env;
static volatile int segv_code;
static volatile uintptr_t segv_addr;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)ctx;
	segv_code = si->si_code;
	segv_addr = (uintptr_t)si->si_addr;
	siglongjmp(env, 1);
}

static void handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_ill;
	sa.sa_flags = SA_SIGINFO;
	PCHECK(sigaction(SIGILL, &sa, NULL) == 0);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	PCHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
}

static void edit(const char *name, int shift, unsigned v, int lax)
{
	segv_code = 0, segv_addr = 1;
	if (sigsetjmp(env, 1) == 0) {
		edit_shift = shift, edit_val = v, clear_strict = lax;
		__asm__ volatile("ud2" ::: "memory");
		edit_shift = -1, clear_strict = 0;
		unsigned short ss;
		__asm__ volatile("mov %%ss, %0" : "=r"(ss));
		out("%s %#x: returned ss=%#x\n", name, v, ss);
	} else {
		edit_shift = -1, clear_strict = 0;
		out("%s %#x: SIGSEGV code=%d si_addr=%s\n", name, v, segv_code, segv_addr ? "other" : "0");
	}
}

static const unsigned cs_vals[] = {0x33, 0x30, 0x2b, 0, 0x13, 0x10, 0x63, 0x1234};
static const unsigned ss_vals[] = {0x2b, 0x28, 0x33, 0x23, 0, 0x1b, 0x1234};

static void cs_case(void)
{
	handlers();
	for (size_t i = 0; i < sizeof cs_vals / sizeof cs_vals[0]; i++)
		edit("cs", 0, cs_vals[i], 0);
}

static void ss_case(void)
{
	handlers();
	for (size_t i = 0; i < sizeof ss_vals / sizeof ss_vals[0]; i++)
		edit("ss", 48, ss_vals[i], 0);
}

static void ss_lax_case(void)
{
	handlers();
	for (size_t i = 0; i < sizeof ss_vals / sizeof ss_vals[0]; i++)
		edit("ss_lax", 48, ss_vals[i], 1);
}

static const struct pcase cases[] = {
	{"cs", cs_case},
	{"ss", ss_case},
	{"ss_lax", ss_lax_case},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
