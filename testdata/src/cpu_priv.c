/* cpu_priv: instructions a user process may not run (port I/O, cli/sti,
 * hlt, control and debug registers, descriptor tables, MSRs, ...). Each
 * runs between "mov $1, eax; mov $0, ebx" and "mov $2, eax; mov $3, ebx"
 * and must fault at itself: the signal, si_code and si_addr Linux gives,
 * the faulting instruction's address, the instructions before it done and
 * none after. The handler resumes after the case. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#ifdef __x86_64__
#define SAVE "push %rbx\n\tpush %rsi\n\tpush %rdi\n\tmov %rsp, %rsi\n\tmov %rsp, %rdi\n\t"
#define RESTORE "pop %rdi\n\tpop %rsi\n\tpop %rbx\n\t"
#define IP REG_RIP
#define AX REG_RAX
#define BX REG_RBX
#define CX REG_RCX
#else
#define SAVE "push %ebx\n\tpush %esi\n\tpush %edi\n\tmov %esp, %esi\n\tmov %esp, %edi\n\t"
#define RESTORE "pop %edi\n\tpop %esi\n\tpop %ebx\n\t"
#define IP REG_EIP
#define AX REG_EAX
#define BX REG_EBX
#define CX REG_ECX
#endif

/* CASE(name, ecx, bytes) defines name_fn (which returns EAX), the
 * instruction's address name_at and name_resume, where the handler goes
 * on. EDX holds port 0x80 and ESI/EDI point to the stack. */
#define CASE(name, ecx, bytes)                                                    \
	extern char name##_at[], name##_resume[];                                 \
	unsigned name##_fn(void);                                                 \
	__asm__(".text\n\t.globl " #name "_fn\n\t.globl " #name "_at\n\t.globl " #name \
		"_resume\n" #name "_fn:\n\t" SAVE "mov $0x80, %edx\n\tmov $" #ecx \
		", %ecx\n\tmov $1, %eax\n\tmov $0, %ebx\n" #name "_at:\n\t.byte " bytes \
		"\n\tmov $2, %eax\n\tmov $3, %ebx\n" #name "_resume:\n\t" RESTORE "ret\n");

CASE(in_al_imm, 0, "0xe4, 0x80")
CASE(in_eax_imm, 0, "0xe5, 0x80")
CASE(out_imm_al, 0, "0xe6, 0x80")
CASE(out_imm_eax, 0, "0xe7, 0x80")
CASE(in_al_dx, 0, "0xec")
CASE(in_ax_dx, 0, "0x66, 0xed")
CASE(in_eax_dx, 0, "0xed")
CASE(out_dx_al, 0, "0xee")
CASE(out_dx_ax, 0, "0x66, 0xef")
CASE(out_dx_eax, 0, "0xef")
CASE(insb, 0, "0x6c")
CASE(insd, 0, "0x6d")
CASE(outsb, 0, "0x6e")
CASE(outsw, 0, "0x66, 0x6f")
CASE(rep_insb_1, 1, "0xf3, 0x6c")
CASE(rep_outsd_4, 4, "0xf3, 0x6f")
CASE(rep_insb_0, 0, "0xf3, 0x6c")
CASE(rep_outsb_0, 0, "0xf3, 0x6e")
CASE(ds_out_dx_al, 0, "0x3e, 0xee")
CASE(cli, 0, "0xfa")
CASE(sti, 0, "0xfb")
CASE(hlt, 0, "0xf4")
CASE(clts, 0, "0x0f, 0x06")
CASE(invd, 0, "0x0f, 0x08")
CASE(wbinvd, 0, "0x0f, 0x09")
CASE(wrmsr, 0, "0x0f, 0x30")
CASE(rdmsr, 0, "0x0f, 0x32")
CASE(mov_cr0_from, 0, "0x0f, 0x20, 0xc0")
CASE(mov_cr3_to, 0, "0x0f, 0x22, 0xd8")
CASE(mov_dr7_from, 0, "0x0f, 0x21, 0xf8")
CASE(mov_dr0_to, 0, "0x0f, 0x23, 0xc0")
CASE(lgdt, 0, "0x0f, 0x01, 0x16")
CASE(lidt, 0, "0x0f, 0x01, 0x1e")
CASE(lmsw, 0, "0x0f, 0x01, 0xf0")
CASE(invlpg, 0, "0x0f, 0x01, 0x3e")
CASE(lldt, 0, "0x0f, 0x00, 0xd0")
CASE(ltr, 0, "0x0f, 0x00, 0xd8")
CASE(xsetbv, 0, "0x0f, 0x01, 0xd1")
CASE(int_21, 0, "0xcd, 0x21")
CASE(int3, 0, "0xcc")
CASE(rdpmc, 0, "0x0f, 0x33")
CASE(icebp, 0, "0xf1")

struct result {
	int sig, code;
	uintptr_t addr;
	long ip;
	unsigned long ax, bx;
};

static struct result got;
static char *resume, *at;

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	got.sig = sig;
	got.code = si->si_code;
	got.addr = (uintptr_t)si->si_addr;
	got.ip = (long)((char *)uc->uc_mcontext.gregs[IP] - at);
	got.ax = (unsigned long)uc->uc_mcontext.gregs[AX];
	got.bx = (unsigned long)uc->uc_mcontext.gregs[BX];
	uc->uc_mcontext.gregs[IP] = (greg_t)(uintptr_t)resume;
}

static void run(const char *name, unsigned (*fn)(void), char *insn, char *after)
{
	memset(&got, 0, sizeof got);
	at = insn, resume = after;
	unsigned ax = fn();
	if (!got.sig) {
		printf("%-14s ran: eax %u\n", name, ax);
		return;
	}
	printf("%-14s sig %d code %#x addr %s ip %+ld eax %lu ebx %lu\n", name, got.sig, got.code,
	       got.addr == 0 ? "0" : got.addr == (uintptr_t)insn ? "insn" : got.addr == (uintptr_t)insn + 1 ? "insn+1" : "other",
	       got.ip, got.ax, got.bx);
}

#define RUN(name) run(#name, name##_fn, name##_at, name##_resume)

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	int sigs[] = {SIGSEGV, SIGILL, SIGTRAP, SIGBUS, SIGFPE};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);

	RUN(in_al_imm);
	RUN(in_eax_imm);
	RUN(out_imm_al);
	RUN(out_imm_eax);
	RUN(in_al_dx);
	RUN(in_ax_dx);
	RUN(in_eax_dx);
	RUN(out_dx_al);
	RUN(out_dx_ax);
	RUN(out_dx_eax);
	RUN(insb);
	RUN(insd);
	RUN(outsb);
	RUN(outsw);
	RUN(rep_insb_1);
	RUN(rep_outsd_4);
	RUN(rep_insb_0);
	RUN(rep_outsb_0);
	RUN(ds_out_dx_al);
	RUN(cli);
	RUN(sti);
	RUN(hlt);
	RUN(clts);
	RUN(invd);
	RUN(wbinvd);
	RUN(wrmsr);
	RUN(rdmsr);
	RUN(mov_cr0_from);
	RUN(mov_cr3_to);
	RUN(mov_dr7_from);
	RUN(mov_dr0_to);
	RUN(lgdt);
	RUN(lidt);
	RUN(lmsw);
	RUN(invlpg);
	RUN(lldt);
	RUN(ltr);
	RUN(xsetbv);
	RUN(int_21);
	RUN(int3);
	RUN(rdpmc);
	RUN(icebp);

	/* In a loop, so the block with the instruction is translated once
	 * and run again. */
	int same = 1;
	for (int i = 0; i < 100; i++) {
		memset(&got, 0, sizeof got);
		at = out_dx_al_at, resume = out_dx_al_resume;
		out_dx_al_fn();
		same &= got.sig == SIGSEGV && got.ip == 0 && got.ax == 1 && got.bx == 0;
	}
	printf("repeated: %s\n", same ? "same" : "different");
	return 0;
}
