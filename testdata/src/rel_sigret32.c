// variants: i386 i386dyn
/* rel_sigret32: segment selectors an i386 signal handler leaves in its
 * frame, as a 64-bit Linux kernel restores them on sigreturn
 * (ia32_restore_sigcontext). A SIGILL handler (the ud2 inside one asm
 * statement) edits the frame and skips the ud2; the same statement reads
 * the register back and restores the old value, so no libc code runs
 * with the edited selector.
 *   fs, gs  the selector | 3 is loaded; one the CPU refuses (beyond the
 *           GDT, the LDT, kernel, system or empty entries) is loaded as
 *           0 instead (the kernel's exception fixup): the task goes on.
 *           A null selector reads back as 3; 0x23 (the 32-bit code
 *           segment, readable) and 0x2b load; 0x63 is glibc's TLS entry.
 *           (0x7b, Linux's per-CPU entry, is not used: cmaemu's GDT has
 *           no such entry.)
 *   cs, ss  loaded | 3 by the return to user mode (iret): a selector it
 *           refuses (a data segment as CS, a code segment as SS, null,
 *           kernel segments) is a general protection fault at the
 *           restored state: SIGSEGV with si_code SI_KERNEL (128) and
 *           si_addr 0, which a handler can catch.
 * One line a check; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

static volatile int edit_reg = -1;
static volatile unsigned edit_val;

static void on_ill(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si;
	ucontext_t *uc = ctx;
	uc->uc_mcontext.gregs[REG_EIP] += 2; /* ud2 */
	if (edit_reg >= 0)
		uc->uc_mcontext.gregs[edit_reg] = edit_val;
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

static unsigned after_fs(unsigned v)
{
	unsigned got, save;
	edit_reg = REG_FS, edit_val = v;
	__asm__ volatile("mov %%fs, %1\n\tud2\n\tmov %%fs, %0\n\tmov %1, %%fs"
			 : "=&r"(got), "=&r"(save) : : "memory");
	edit_reg = -1;
	return got & 0xffff;
}

static unsigned after_gs(unsigned v)
{
	unsigned got, save;
	edit_reg = REG_GS, edit_val = v;
	__asm__ volatile("mov %%gs, %1\n\tud2\n\tmov %%gs, %0\n\tmov %1, %%gs"
			 : "=&r"(got), "=&r"(save) : : "memory");
	edit_reg = -1;
	return got & 0xffff;
}

static const unsigned sels[] = {0x1234, 0, 3, 0x2b, 0x28, 0x23, 0x18, 0x10, 0x04, 0x38,
				0x43, 0x63, 0x6b, 0x73, 0x83, 0xffff};

static void fs_case(void)
{
	handlers();
	for (size_t i = 0; i < sizeof sels / sizeof sels[0]; i++)
		out("fs %#x: %#x\n", sels[i], after_fs(sels[i]));
}

static void gs_case(void)
{
	handlers();
	unsigned gs;
	__asm__ volatile("mov %%gs, %0" : "=r"(gs));
	out("gs is 0x63: %d\n", (gs & 0xffff) == 0x63);
	for (size_t i = 0; i < sizeof sels / sizeof sels[0]; i++)
		out("gs %#x: %#x\n", sels[i], after_gs(sels[i]));
}

static void edit_cs_ss(const char *name, int reg, unsigned v)
{
	segv_code = 0, segv_addr = 1;
	if (sigsetjmp(env, 1) == 0) {
		edit_reg = reg, edit_val = v;
		__asm__ volatile("ud2" ::: "memory");
		edit_reg = -1;
		out("%s %#x: returned\n", name, v);
	} else {
		edit_reg = -1;
		out("%s %#x: SIGSEGV code=%d si_addr=%s\n", name, v, segv_code, segv_addr ? "other" : "0");
	}
}

static void cs_ss_case(void)
{
	handlers();
	static const unsigned cs[] = {0x23, 0x20, 0x2b, 0, 0x13, 0x63, 0x1234};
	static const unsigned ss[] = {0x2b, 0x28, 0x23, 0, 0x1b, 0x1234};
	for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
		edit_cs_ss("cs", REG_CS, cs[i]);
	for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++)
		edit_cs_ss("ss", REG_SS, ss[i]);
}

static const struct pcase cases[] = {
	{"fs", fs_case},
	{"gs", gs_case},
	{"cs_ss", cs_ss_case},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
