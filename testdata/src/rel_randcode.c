// variants: glibc musl i386
/* rel_randcode: code that is not code. Each blob is a page of bytes placed
 * in an executable page (PROT_READ|PROT_EXEC, rewritten for every blob, a
 * PROT_NONE page after it) and entered with every general register set
 * from the seed and the stack pointer on a scratch stack. Handlers for
 * SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP and the others a blob can raise
 * run on an alternate stack, put the thread's segment state back and
 * siglongjmp out; a one-shot ITIMER_REAL is each blob's time budget
 * (SIGALRM: 20 ms, 1 s for the fixed blobs). The guest writes one letter a blob as it ends:
 *
 *   S SIGSEGV  I SIGILL  F SIGFPE  B SIGBUS  T SIGTRAP  A out of time
 *   R returned  X another signal
 *
 * and at the end a line "blobs N: S=.. I=.. ..." with the counts.
 *
 *   rel_randcode fixed            hand-written blobs with known outcomes
 *                                 (the differential entry: ud2, int3, a
 *                                 division by zero, a load from 0, hlt, a
 *                                 loop that runs out of time, ret, a jump
 *                                 off the page, ud2 with EFLAGS.NT set)
 *   rel_randcode random SEED N [sys|nosys [FROM]]
 *                                 N blobs of random bytes from SEED; the
 *                                 bytes of syscall, sysenter and int 0x80
 *                                 are replaced unless "sys" is given; with
 *                                 FROM, the blobs before FROM are skipped.
 *
 * The random mode is for the emulator only, never a real kernel: random
 * code (with "sys", random system calls) may do anything the process may.
 * At its end the guest kills its process group (children a blob forked). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "guest.h"

#define PAGE 4096UL
#define STACKSZ (64 * 1024UL)

#ifdef __x86_64__
#define NREGS 16
#define SP_INDEX 7
/* run_blob(code, regs): registers from regs[] (rax rbx rcx rdx rsi rdi rbp
 * rsp r8..r15), then a jump to code; a ret from the blob comes back. */
__asm__(".intel_syntax noprefix\n"
	".text\n"
	".globl run_blob\n"
	"run_blob:\n"
	"  push rbx\n push rbp\n push r12\n push r13\n push r14\n push r15\n"
	"  mov [rip+saved_sp], rsp\n"
	"  mov [rip+blob_entry], rdi\n"
	"  mov r15, rsi\n"
	"  mov rsp, [r15+56]\n"
	"  lea rax, [rip+blob_back]\n push rax\n"
	"  mov rax, [r15]\n mov rbx, [r15+8]\n mov rcx, [r15+16]\n mov rdx, [r15+24]\n"
	"  mov rsi, [r15+32]\n mov rdi, [r15+40]\n mov rbp, [r15+48]\n"
	"  mov r8, [r15+64]\n mov r9, [r15+72]\n mov r10, [r15+80]\n mov r11, [r15+88]\n"
	"  mov r12, [r15+96]\n mov r13, [r15+104]\n mov r14, [r15+112]\n mov r15, [r15+120]\n"
	"  cld\n"
	"  jmp [rip+blob_entry]\n"
	"blob_back:\n"
	"  mov rsp, [rip+saved_sp]\n"
	"  pop r15\n pop r14\n pop r13\n pop r12\n pop rbp\n pop rbx\n"
	"  xor eax, eax\n"
	"  ret\n"
	".att_syntax\n");
typedef uint64_t reg_t;
#else
#define NREGS 8
#define SP_INDEX 7
/* run_blob(code, regs): eax ebx ecx edx esi edi ebp esp. */
__asm__(".intel_syntax noprefix\n"
	".text\n"
	".globl run_blob\n"
	"run_blob:\n"
	"  push ebp\n push ebx\n push esi\n push edi\n"
	"  mov eax, [esp+20]\n mov edx, [esp+24]\n"
	"  mov [saved_sp], esp\n"
	"  mov [blob_entry], eax\n"
	"  mov esp, [edx+28]\n"
	"  push offset blob_back\n"
	"  mov eax, [edx]\n mov ebx, [edx+4]\n mov ecx, [edx+8]\n"
	"  mov esi, [edx+16]\n mov edi, [edx+20]\n mov ebp, [edx+24]\n mov edx, [edx+12]\n"
	"  cld\n"
	"  jmp [blob_entry]\n"
	"blob_back:\n"
	"  mov esp, [saved_sp]\n"
	"  pop edi\n pop esi\n pop ebx\n pop ebp\n"
	"  xor eax, eax\n"
	"  ret\n"
	".att_syntax\n");
typedef uint32_t reg_t;
#endif

void run_blob(void *code, reg_t *regs);
void *saved_sp, *blob_entry;

static sigjmp_buf env;
static volatile int in_blob;

#ifdef __x86_64__
static unsigned long saved_fs;
/* restore_thread puts back the FS base (TLS: glibc's longjmp needs it)
 * with a raw system call, as a blob may have changed it. */
static inline void restore_thread(void)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "0"(158L), "D"(0x1002L), "S"(saved_fs) : "rcx", "r11", "memory");
	(void)ret;
}
static void save_thread(void) { syscall(SYS_arch_prctl, 0x1003, &saved_fs); }
#else
static unsigned short saved_gs, saved_ds;
/* restore_thread puts back GS (TLS), DS and ES. */
static inline void restore_thread(void)
{
	__asm__ volatile("mov %0, %%gs\n mov %1, %%ds\n mov %1, %%es" : : "r"(saved_gs), "r"(saved_ds) : "memory");
}
static void save_thread(void) { __asm__ volatile("mov %%gs, %0\n mov %%ds, %1" : "=r"(saved_gs), "=r"(saved_ds)); }
#endif

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)si, (void)uc;
	restore_thread();
	if (in_blob)
		siglongjmp(env, sig);
}

static const int caught[] = {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP, SIGALRM, SIGSYS, SIGPIPE, SIGXFSZ,
			     SIGXCPU, SIGUSR1, SIGUSR2, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN,
			     SIGTTOU, SIGVTALRM, SIGPROF, SIGABRT};

static unsigned char *altstack;

/* arm installs the handlers, the alternate stack and the mask again (a
 * blob with system calls may have changed them). */
static void arm(void)
{
	stack_t ss = {.ss_sp = altstack, .ss_size = STACKSZ, .ss_flags = 0};
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
		sigaction(caught[i], &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static uint64_t rng;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned char *code, *stack, *data;
/* budget_us is each blob's time: long for the fixed blobs, so that a busy
 * host cannot make one that ends at once run out of time. */
static long budget_us = 20000;
static long counts[128];
static long blobs;

static char letter(int sig)
{
	switch (sig) {
	case 0: return 'R';
	case SIGSEGV: return 'S';
	case SIGILL: return 'I';
	case SIGFPE: return 'F';
	case SIGBUS: return 'B';
	case SIGTRAP: return 'T';
	case SIGALRM: return 'A';
	}
	return 'X';
}

/* run puts len bytes at the start of the code page (the rest: int3) and
 * runs them, returning the letter of the outcome. */
static char run(const unsigned char *bytes, size_t len)
{
	CHECK(mprotect(code, PAGE, PROT_READ | PROT_WRITE) == 0);
	memset(code, 0xcc, PAGE);
	memcpy(code, bytes, len);
	CHECK(mprotect(code, PAGE, PROT_READ | PROT_EXEC) == 0);
	reg_t regs[NREGS];
	for (int i = 0; i < NREGS; i++) {
		uint64_t r = next();
		switch (r % 4) { /* a pointer into the data page, or a random value */
		case 0:
		case 1: regs[i] = (reg_t)(uintptr_t)(data + (r >> 8) % PAGE); break;
		default: regs[i] = (reg_t)(r >> 3);
		}
	}
	regs[SP_INDEX] = (reg_t)(uintptr_t)(stack + STACKSZ / 2);
	memset(stack, 0, STACKSZ);
	memset(data, 0, PAGE);
	arm();
	int sig = sigsetjmp(env, 1);
	if (sig == 0) {
		struct itimerval budget = {.it_value = {.tv_sec = budget_us / 1000000, .tv_usec = budget_us % 1000000}};
		setitimer(ITIMER_REAL, &budget, NULL);
		in_blob = 1;
		run_blob(code, regs);
	}
	in_blob = 0;
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	char c = letter(sig);
	counts[(unsigned char)c]++;
	blobs++;
	CHECK(write(1, &c, 1) == 1);
	return c;
}

static void summary(void)
{
	outf("\nblobs %ld: S=%ld I=%ld F=%ld B=%ld T=%ld A=%ld R=%ld X=%ld\n", blobs, counts['S'], counts['I'],
	     counts['F'], counts['B'], counts['T'], counts['A'], counts['R'], counts['X']);
}

/* The fixed blobs and the letter each must give. */
static const struct {
	const char *name;
	unsigned char bytes[16];
	size_t len;
	char want;
} fixed[] = {
	{"ud2", {0x0f, 0x0b}, 2, 'I'},
	{"int3", {0xcc}, 1, 'T'},
	{"div by zero", {0x31, 0xc9, 0x31, 0xd2, 0xf7, 0xf1}, 6, 'F'}, /* xor ecx,ecx; xor edx,edx; div ecx */
	{"load from 0", {0x31, 0xc0, 0x8b, 0x00}, 4, 'S'},             /* xor eax,eax; mov eax,[eax/rax] */
	{"hlt", {0xf4}, 1, 'S'},
	{"loop", {0xeb, 0xfe}, 2, 'A'}, /* jmp $ */
	{"ret", {0xc3}, 1, 'R'},
	{"off the page", {0xe9, 0xfb, 0x0f, 0x00, 0x00}, 5, 'S'}, /* jmp to the PROT_NONE page */
	/* pushf; or dword [rsp/esp], NT; popf; ud2: the fault is taken with
	 * EFLAGS.NT set (which user mode may set). */
	{"NT then ud2", {0x9c, 0x81, 0x0c, 0x24, 0x00, 0x40, 0x00, 0x00, 0x9d, 0x0f, 0x0b}, 11, 'I'},
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	save_thread();
	unsigned char *pages = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(pages != MAP_FAILED);
	code = pages;
	stack = mmap(NULL, STACKSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	data = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	altstack = mmap(NULL, STACKSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(stack != MAP_FAILED && data != MAP_FAILED && altstack != MAP_FAILED);
	rng = 0x9e3779b97f4a7c15ULL;

	if (argc < 2 || strcmp(argv[1], "fixed") == 0) {
		int bad = 0;
		budget_us = 1000000;
		for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
			char got = run(fixed[i].bytes, fixed[i].len);
			if (got != fixed[i].want) {
				outf("\n%s: %c, want %c\n", fixed[i].name, got, fixed[i].want);
				bad = 1;
			}
		}
		summary();
		return bad;
	}
	CHECK(argc >= 4 && strcmp(argv[1], "random") == 0);
	setpgid(0, 0);
	rng = strtoull(argv[2], NULL, 0) * 0x2545f4914f6cdd1dULL | 1;
	long n = atol(argv[3]);
	int sys = argc > 4 && strcmp(argv[4], "sys") == 0;
	long from = argc > 5 ? atol(argv[5]) : 0; /* to run one blob again: skip the ones before */
	unsigned char bytes[PAGE];
	for (long b = 0; b < n; b++) {
		for (size_t i = 0; i < PAGE; i += 8) {
			uint64_t r = next();
			memcpy(bytes + i, &r, 8);
		}
		for (size_t i = 0; !sys && i + 1 < PAGE; i++)
			if ((bytes[i] == 0x0f && (bytes[i + 1] == 0x05 || bytes[i + 1] == 0x34)) ||
			    (bytes[i] == 0xcd && bytes[i + 1] == 0x80))
				bytes[i + 1] = 0x90;
		if (b < from) {
			for (int i = 0; i < NREGS; i++)
				next();
			continue;
		}
		run(bytes, PAGE);
	}
	summary();
	kill(0, SIGKILL); /* whatever a blob forked */
	return 0;
}
