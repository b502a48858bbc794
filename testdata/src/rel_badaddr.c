// variants: glibc musl
/* rel_badaddr: addresses a 64-bit program cannot use, as Linux answers
 * them. A page is mapped at PAGE; the addresses below share its low 48
 * bits, so an emulator that walks its page table with bits 47..12 only
 * would reach PAGE through each of them.
 *   access  loads, stores and calls through each address (a register
 *           base, so the CPU checks the address with DS):
 *           non-canonical (bit 48, bit 47 alone, bit 63, just below the
 *           kernel half) -> #GP: SIGSEGV, si_code SI_KERNEL (128),
 *           si_addr 0; canonical but at or above TASK_SIZE (the kernel
 *           half, TASK_SIZE itself) -> page fault: SIGSEGV, SEGV_MAPERR,
 *           si_addr the address
 *   copy    the kernel copying to or from such an address: write, read,
 *           pipe I/O, getrandom, futex wake, a path name -> EFAULT
 * One line a check; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#ifndef FUTEX_WAKE
#define FUTEX_WAKE 1
#define FUTEX_WAKE_PRIVATE 129
#endif
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PAGE 0x10000000UL

static sigjmp_buf env;
static volatile int got_sig, got_code;
static volatile uintptr_t got_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = (uintptr_t)si->si_addr;
	siglongjmp(env, 1);
}

static void map_page(void)
{
	void *p = mmap((void *)PAGE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	PCHECK(p == (void *)PAGE);
	/* ret: a call that reached the page would come back. */
	memset(p, 0xc3, 4096);
	memcpy(p, "secret", 7);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	PCHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
	PCHECK(sigaction(SIGBUS, &sa, NULL) == 0);
}

static const struct {
	const char *name;
	uintptr_t addr;
} addrs[] = {
	{"bit48", PAGE | 1UL << 48},
	{"bit47", PAGE | 1UL << 47},
	{"bit63", PAGE | 1UL << 63},
	{"below_kernel_half", 0xffff7fff00000000UL | PAGE},
	{"kernel_half", 0xffff800000000000UL | PAGE},
	{"task_size", 0x7ffffffff000UL},
};

static void report(const char *what, const char *name, uintptr_t a, int ok)
{
	if (ok) {
		out("%s %s: no fault\n", what, name);
		return;
	}
	const char *addr = got_addr == 0 ? "0" : got_addr == a ? "addr" : "other";
	out("%s %s: sig=%s code=%d si_addr=%s\n", what, name, signame(got_sig), got_code, addr);
}

static void access_case(void)
{
	map_page();
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		uintptr_t a = addrs[i].addr;
		got_sig = got_code = 0, got_addr = 1;
		if (sigsetjmp(env, 1) == 0) {
			unsigned char v;
			__asm__ volatile("movb (%1), %0" : "=q"(v) : "a"(a) : "memory");
			report("load", addrs[i].name, a, 1);
		} else {
			report("load", addrs[i].name, a, 0);
		}
		got_sig = got_code = 0, got_addr = 1;
		if (sigsetjmp(env, 1) == 0) {
			__asm__ volatile("movb $1, (%0)" : : "a"(a) : "memory");
			report("store", addrs[i].name, a, 1);
		} else {
			report("store", addrs[i].name, a, 0);
		}
		got_sig = got_code = 0, got_addr = 1;
		if (sigsetjmp(env, 1) == 0) {
			__asm__ volatile("call *%0" : : "a"(a) : "memory", "rcx", "rdx", "rsi", "rdi",
					 "r8", "r9", "r10", "r11");
			report("call", addrs[i].name, a, 1);
		} else {
			report("call", addrs[i].name, a, 0);
		}
	}
	out("page intact: %d\n", memcmp((void *)PAGE, "secret", 7) == 0);
}

static void copy_case(void)
{
	map_page();
	int fds[2];
	PCHECK(pipe(fds) == 0);
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		const char *n = addrs[i].name;
		char *a = (char *)addrs[i].addr;
		errno = 0;
		out("write %s: %s\n", n, res(write(fds[1], a, 6)));
		PCHECK(write(fds[1], "abcdef", 6) == 6);
		out("read %s: %s\n", n, res(read(fds[0], a, 6)));
		char b[8];
		PCHECK(read(fds[0], b, 6) == 6);
		out("getrandom %s: %s\n", n, res(syscall(SYS_getrandom, a, 4, 0)));
		out("futex_wake %s: %s\n", n, res(syscall(SYS_futex, a, FUTEX_WAKE, 1, NULL, NULL, 0)));
		out("futex_wake_private %s: %s\n", n,
		    res(syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
		out("open %s: %s\n", n, res(syscall(SYS_open, a, 0)));
	}
	close(fds[0]);
	close(fds[1]);
	out("page intact: %d\n", memcmp((void *)PAGE, "secret", 7) == 0);
}

static const struct pcase cases[] = {
	{"access", access_case},
	{"copy", copy_case},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
