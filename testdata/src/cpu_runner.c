// variants: glibc
// The runner of the randomized CPU suite (tests/cpu): it reads sequences
// of machine code with their start states from stdin, runs each from its
// start state, and writes the end states to stdout, all in binary (the
// layout is tests/cpu's blob.go). A fault inside a sequence ends it: the
// end state is then the one at the fault, with the signal and the offset
// of the faulting instruction. Code, data and stack sit at fixed
// addresses so that addresses computed by the code compare equal.

#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define MAGIC 0x46555043u // "CPUF"
#define CODE_ADDR 0x200000000ul
#define CODE_SIZE (64ul << 20)
#define DATA_ADDR 0x300000000ul // data area (DATA_SIZE bytes), then the state
#define DATA_SIZE 256
#define STACK_ADDR 0x310000000ul
#define STACK_SIZE (64ul << 10)
#define MAX_CODE 4096

// The state of one sequence, in and out (blob.go's State).
struct state {
	uint64_t gpr[16]; // rax rcx rdx rbx rsp rbp rsi rdi r8-r15
	uint64_t rflags;
	uint32_t signo;      // out: the signal that ended the sequence, or 0
	uint32_t fault_off;  // out: offset of the faulting instruction
	uint8_t fx[512];     // FXSAVE image: x87, MXCSR, XMM
	uint8_t data[DATA_SIZE];
};

_Static_assert(sizeof(struct state) == 912, "state layout");

struct state *run_state; // the state the trampoline loads and stores
void *run_code;
static unsigned run_index;
uint64_t run_host_rsp, run_scratch;
static uint8_t clean_fx[512] __attribute__((aligned(16)));
static sigjmp_buf fault_jmp;

void run_seq(void);

// run_seq loads *run_state, calls run_code on the fixed stack and stores
// the state it returns with.
__asm__(".text\n"
	".globl run_seq\n"
	"run_seq:\n"
	"\tpush %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n"
	"\tmov %rsp, run_host_rsp(%rip)\n"
	"\tmov run_state(%rip), %rax\n"
	"\tfxrstor 144(%rax)\n"
	"\tmov 32(%rax), %rsp\n"
	"\tpushq 128(%rax)\n"
	"\tpopfq\n"
	"\tmov 8(%rax), %rcx\n\tmov 16(%rax), %rdx\n\tmov 24(%rax), %rbx\n\tmov 40(%rax), %rbp\n"
	"\tmov 48(%rax), %rsi\n\tmov 56(%rax), %rdi\n\tmov 64(%rax), %r8\n\tmov 72(%rax), %r9\n"
	"\tmov 80(%rax), %r10\n\tmov 88(%rax), %r11\n\tmov 96(%rax), %r12\n\tmov 104(%rax), %r13\n"
	"\tmov 112(%rax), %r14\n\tmov 120(%rax), %r15\n"
	"\tmov 0(%rax), %rax\n"
	"\tcall *run_code(%rip)\n"
	"\tpushfq\n"
	"\tmov %rax, run_scratch(%rip)\n"
	"\tmov run_state(%rip), %rax\n"
	"\tpopq 128(%rax)\n"
	"\tmov %rcx, 8(%rax)\n\tmov %rdx, 16(%rax)\n\tmov %rbx, 24(%rax)\n\tmov %rsp, 32(%rax)\n"
	"\tmov %rbp, 40(%rax)\n\tmov %rsi, 48(%rax)\n\tmov %rdi, 56(%rax)\n\tmov %r8, 64(%rax)\n"
	"\tmov %r9, 72(%rax)\n\tmov %r10, 80(%rax)\n\tmov %r11, 88(%rax)\n\tmov %r12, 96(%rax)\n"
	"\tmov %r13, 104(%rax)\n\tmov %r14, 112(%rax)\n\tmov %r15, 120(%rax)\n"
	"\tmov run_scratch(%rip), %rcx\n\tmov %rcx, 0(%rax)\n"
	"\tfxsave 144(%rax)\n"
	"\tcld\n"
	"\tmov run_host_rsp(%rip), %rsp\n"
	"\tpop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n"
	"\tret\n");

static const int greg_of[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
				REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

// on_fault records the state at a fault in a sequence and leaves it.
static void on_fault(int sig, siginfo_t *si, void *uctx)
{
	(void)si;
	ucontext_t *uc = uctx;
	struct state *st = run_state;
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	uint64_t code = (uint64_t)run_code;
	if (rip < code || rip >= code + MAX_CODE) {
		char msg[128];
		int n = snprintf(msg, sizeof msg, "cpu_runner: signal %d at %#lx, outside sequence %u at %#lx\n", sig, (unsigned long)rip, run_index,
				 (unsigned long)code);
		write(2, msg, (size_t)n);
		_exit(3);
	}
	for (int i = 0; i < 16; i++)
		st->gpr[i] = (uint64_t)uc->uc_mcontext.gregs[greg_of[i]];
	st->rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
	st->signo = (uint32_t)sig;
	st->fault_off = (uint32_t)(rip - code);
	memcpy(st->fx, uc->uc_mcontext.fpregs, sizeof st->fx);
	siglongjmp(fault_jmp, 1);
}

static void read_full(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t k = read(0, p, n);
		if (k <= 0) {
			fprintf(stderr, "cpu_runner: short input\n");
			exit(2);
		}
		p += k, n -= (size_t)k;
	}
}

static void write_full(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t k = write(1, p, n);
		if (k <= 0)
			exit(2);
		p += k, n -= (size_t)k;
	}
}

static void *map_fixed(uint64_t addr, size_t size, int prot)
{
	void *p = mmap((void *)addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)addr) {
		perror("cpu_runner: mmap");
		exit(2);
	}
	return p;
}

int main(void)
{
	uint8_t *code = map_fixed(CODE_ADDR, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	uint8_t *data = map_fixed(DATA_ADDR, 4096, PROT_READ | PROT_WRITE);
	struct state *st = (struct state *)(data + 1024);
	map_fixed(STACK_ADDR, STACK_SIZE, PROT_READ | PROT_WRITE);

	static uint8_t altstack[65536];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
	sigaltstack(&ss, NULL);
	struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER};
	int sigs[] = {SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	__asm__ volatile("fxsave %0" : "=m"(clean_fx));

	uint32_t hdr[2];
	read_full(hdr, sizeof hdr);
	if (hdr[0] != MAGIC) {
		fprintf(stderr, "cpu_runner: bad magic\n");
		return 2;
	}
	uint64_t off = 0;
	for (uint32_t n = 0; n < hdr[1]; n++) {
		uint32_t len[2];
		read_full(len, sizeof len);
		if (len[0] > MAX_CODE - 1 || off + MAX_CODE > CODE_SIZE) {
			fprintf(stderr, "cpu_runner: code too long or too much\n");
			return 2;
		}
		read_full(st, sizeof *st);
		read_full(code + off, len[0]);
		code[off + len[0]] = 0xc3; // ret
		run_code = code + off;
		off += (len[0] + 64) & ~63ul;
		memcpy(data, st->data, DATA_SIZE);
		st->signo = 0, st->fault_off = 0;
		run_state = st;
		run_index = n;
		if (sigsetjmp(fault_jmp, 1) == 0)
			run_seq();
		__asm__ volatile("fxrstor %0" : : "m"(clean_fx));
		memcpy(st->data, data, DATA_SIZE);
		write_full(st, sizeof *st);
	}
	return 0;
}
