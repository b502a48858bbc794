/* cpu_fpflags: the floating-point status a program reads back. STMXCSR
 * after SSE arithmetic shows the sticky exception flags it raised;
 * MXCSR.FZ flushes SSE results but not x87 ones; an unmasked x87
 * exception is SIGFPE at the next FWAIT with the si_code Linux derives
 * from FSW and FCW. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SSE __attribute__((target("sse2"), noinline))

static void ldmxcsr(unsigned v) { __asm__ volatile("ldmxcsr %0" ::"m"(v)); }
static unsigned stmxcsr(void)
{
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static volatile double sink;

/* op runs one SSE double operation a OP b (from memory, so nothing is
 * folded at compile time) and returns the result. */
SSE static double sse_op(char op, double a, double b)
{
	double r = a;
	switch (op) {
	case '+': __asm__ volatile("addsd %1, %0" : "+x"(r) : "m"(b)); break;
	case '*': __asm__ volatile("mulsd %1, %0" : "+x"(r) : "m"(b)); break;
	case '/': __asm__ volatile("divsd %1, %0" : "+x"(r) : "m"(b)); break;
	case 's': r = 0; __asm__ volatile("sqrtsd %1, %0" : "+x"(r) : "m"(b)); break;
	case 'm': __asm__ volatile("minsd %1, %0" : "+x"(r) : "m"(b)); break;
	case 'c': r = 0; __asm__ volatile("cvtsd2ss %1, %0" : "+x"(r) : "m"(b)); break;
	}
	return r;
}

static uint64_t bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

static void sse_flags(void)
{
	const double tiny = 1e-300, big = 1e300, denorm = 4.9e-324;
	struct {
		const char *name;
		char op;
		double a, b;
	} cases[] = {
		{"1/0", '/', 1, 0},         {"0/0", '/', 0, 0},          {"1/3", '/', 1, 3},
		{"1+1", '+', 1, 1},         {"big*big", '*', big, big},  {"tiny*tiny", '*', tiny, tiny},
		{"sqrt(-1)", 's', 0, -1},   {"big to float", 'c', 0, big}, {"tiny*0.5", '*', 2.2250738585072014e-308, 0.5},
		{"min(denorm,1)", 'm', denorm, 1},
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (int mode = 0; mode < 3; mode++) {
			/* default, FZ, FZ|DAZ */
			unsigned csr = 0x1f80 | (mode >= 1 ? 0x8000 : 0) | (mode == 2 ? 0x40 : 0);
			ldmxcsr(csr);
			double r = sse_op(cases[i].op, cases[i].a, cases[i].b);
			unsigned got = stmxcsr();
			ldmxcsr(0x1f80);
			/* DE (0x02) is left out: the engine does not compute it. */
			printf("sse %-14s %s flags %#04x result %016llx\n", cases[i].name,
			       mode == 0 ? "    " : mode == 1 ? "FZ  " : "FZDZ", got & 0x3d,
			       (unsigned long long)bits(r));
		}
	}
}

/* x87 arithmetic is not flushed by MXCSR.FZ. */
static void x87_not_flushed(void)
{
	ldmxcsr(0x9f80);
	volatile long double a = 2.2250738585072014e-308L, b = 0.5L;
	long double r = a * b;
	volatile double d = (double)r;
	ldmxcsr(0x1f80);
	printf("x87 with FZ: %016llx\n", (unsigned long long)bits(d));
}

static sigjmp_buf env;
static volatile int got_sig, got_code, at_label;
static char *label;

static void on_fpe(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	at_label = (char *)si->si_addr == label;
	siglongjmp(env, 1);
}

/* x87 trap: unmask the exceptions in mask, compute, FWAIT. */
#define X87_CASE(fn, insns)                                                          \
	extern char fn##_wait[];                                                     \
	static void fn(unsigned short cw)                                             \
	{                                                                            \
		__asm__ volatile("fninit\n\tfldcw %0\n\t" insns "\n\t.globl " #fn     \
				 "_wait\n" #fn "_wait:\n\tfwait\n\tfninit" ::"m"(cw)); \
	}

X87_CASE(x87_div0, "fld1\n\tfldz\n\tfdivrp")
X87_CASE(x87_inv, "fldz\n\tfldz\n\tfdivrp")
X87_CASE(x87_third, "fld1\n\tfld1\n\tfadd %%st(0), %%st(0)\n\tfadd %%st(1), %%st(0)\n\tfdivrp")
#define SQ "\n\tfmul %%st(0), %%st(0)"
/* 2 squared 14 times: 2^16384 overflows */
X87_CASE(x87_ovf, "fld1\n\tfld1\n\tfaddp" SQ SQ SQ SQ SQ SQ SQ SQ SQ SQ SQ SQ SQ SQ)

static void x87_trap(const char *name, void (*fn)(unsigned short), char *wait, unsigned short cw)
{
	got_sig = got_code = at_label = 0;
	label = wait;
	if (!sigsetjmp(env, 1))
		fn(cw);
	__asm__ volatile("fninit");
	printf("x87 trap %-8s cw %#06x: sig %d code %d at fwait %d\n", name, cw, got_sig, got_code, at_label);
}

/* SSE trap: an unmasked SSE exception is #XM at the instruction, which
 * leaves its destination alone. */
static volatile double sse_dst;

SSE static void sse_trap(const char *name, char op, double a, double b, unsigned csr)
{
	got_sig = got_code = at_label = 0;
	label = NULL;
	volatile double r = 7.0;
	if (!sigsetjmp(env, 1)) {
		ldmxcsr(csr);
		r = sse_op(op, a, b);
	}
	ldmxcsr(0x1f80);
	sse_dst = r;
	printf("sse trap %-8s csr %#06x: sig %d code %d result %016llx\n", name, csr, got_sig, got_code,
	       (unsigned long long)bits(r));
}

int main(void)
{
	sse_flags();
	x87_not_flushed();

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fpe;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGFPE, &sa, NULL);
	x87_trap("1/0", x87_div0, x87_div0_wait, 0x37b);  /* ZM clear */
	x87_trap("1/0", x87_div0, x87_div0_wait, 0x37f);  /* masked: no trap */
	x87_trap("0/0", x87_inv, x87_inv_wait, 0x37e);    /* IM clear */
	x87_trap("0/0", x87_inv, x87_inv_wait, 0x35e);    /* IM and PM clear */
	x87_trap("1/3", x87_third, x87_third_wait, 0x35f); /* PM clear */
	x87_trap("ovf", x87_ovf, x87_ovf_wait, 0x377);    /* OM clear */
	x87_trap("ovf", x87_ovf, x87_ovf_wait, 0x357);    /* OM and PM clear */
	sse_trap("1/0", '/', 1, 0, 0x1d80);        /* ZM clear */
	sse_trap("1/0", '/', 1, 0, 0x1f80);        /* masked */
	sse_trap("0/0", '/', 0, 0, 0x1f00);        /* IM clear */
	sse_trap("1/3", '/', 1, 3, 0x0f80);        /* PM clear */
	sse_trap("big*big", '*', 1e300, 1e300, 0x1b80); /* OM clear */
	sse_trap("tiny", '*', 1e-300, 1e-300, 0x1780); /* UM clear */
	sse_trap("sqrt(-1)", 's', 0, -1, 0x1f00);  /* IM clear */
	return 0;
}
