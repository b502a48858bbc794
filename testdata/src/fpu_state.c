// variants: glibc musl
/* fpu_state: the x87 and SSE state Linux gives a process and keeps for it.
 * Cases:
 *   initial   a new program: FCW 0x37f, FSW 0, an empty x87 stack (tag
 *             word 0xffff, FXSAVE's abridged tags 0), MXCSR 0x1f80;
 *             CPUID's OSXSAVE is set and XGETBV works (XCR0 has x87 and
 *             SSE); long double arithmetic is at 64-bit precision.
 *   fork      a raw fork(2) with values on the x87 stack, in XMM6 and
 *             XMM13 and a non-default FCW and MXCSR: parent and child
 *             both see them after the syscall.
 *   thread    a thread starts with its creator's FCW and MXCSR.
 *   handler   a handler starts with a fresh FPU (FCW 0x37f, MXCSR
 *             0x1f80, empty stack) while the frame holds the interrupted
 *             state: the FXSAVE image (cwd, swd with TOP, abridged tags,
 *             mxcsr, ST0-7, XMM), uc_flags' UC_FP_XSTATE and the
 *             FP_XSTATE magics; after sigreturn the state is back.
 *   edit      a handler edits cwd, mxcsr, ST0 and XMM3 in the frame:
 *             sigreturn loads the edits.
 *   nofpstate a handler clears the fpstate pointer: sigreturn gives the
 *             initial state.
 *   badmxcsr  a handler sets a reserved MXCSR bit in the frame: sigreturn
 *             fails and the process dies of SIGSEGV (not run by default).
 *   printf    floating-point printf (musl's goes through long double).
 * One line or a few a case; exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <ucontext.h>

/* The frame's FPU state (struct _fpstate_64 with its software bytes), with
 * our own names so that glibc and musl headers need not agree. */
struct fxstate {
	uint16_t cwd, swd;
	uint8_t ftw, rsvd;
	uint16_t fop;
	uint64_t rip, rdp;
	uint32_t mxcsr, mxcsr_mask;
	uint8_t st[8][16];
	uint8_t xmm[16][16];
	uint8_t pad[48];
	uint32_t magic1, extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size, sw_pad[7];
};

#define XSTATE_MAGIC1 0x46505853u
#define XSTATE_MAGIC2 0x46505845u

static struct fxstate *frame_fp(void *ucv)
{
	ucontext_t *uc = ucv;
	return (struct fxstate *)uc->uc_mcontext.fpregs;
}

static long double ld_of(const uint8_t *r)
{
	long double v = 0;
	memcpy(&v, r, 10);
	return v;
}

struct fpenv {
	uint16_t cw, r0, sw, r1, tag, r2;
	uint32_t ip, op, ds;
};

static struct fpenv fnstenv(void)
{
	struct fpenv e;
	__asm__ volatile("fnstenv %0\n\tfldenv %0" : "=m"(e));
	return e;
}

static uint32_t get_mxcsr(void)
{
	uint32_t m;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

static uint16_t get_fcw(void)
{
	uint16_t c;
	__asm__ volatile("fnstcw %0" : "=m"(c));
	return c;
}

static void initial(void)
{
	struct fpenv e = fnstenv();
	static uint8_t fx[512] __attribute__((aligned(16)));
	__asm__ volatile("fxsave %0" : "=m"(fx));
	out("initial: fcw=%#x fsw=%#x tag=%#x mxcsr=%#x fxsave_ftw=%#x\n", e.cw, e.sw, e.tag,
	    get_mxcsr(), fx[4]);
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	int osxsave = (c >> 27) & 1;
	uint32_t lo = 0, hi = 0;
	if (osxsave)
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	out("initial: xsave=%u osxsave=%d xcr0_x87_sse=%#x\n", (c >> 26) & 1, osxsave, lo & 3);
	volatile long double third = 1.0L;
	third /= 3;
	out("initial: 1/3L=%.21Lg 2^64+1=%.0Lf\n", third, 18446744073709551616.0L + 1);
}

/* The state the fork and thread cases set up. */
static const uint16_t test_fcw = 0x027f;  /* 53-bit precision (x87 constant loads ignore a rounding mode in Unicorn) */
static const uint32_t test_mxcsr = 0x5f80; /* round down, all masked */
static const uint16_t def_fcw = 0x37f;
static const uint32_t def_mxcsr = 0x1f80;

static void show_forked(const char *who, long ret, const long double st[3], const float x6[4],
			const uint32_t x13[4], uint16_t cw, uint32_t mx)
{
	(void)ret;
	out("fork %s: st0=%.21Lg st1=%.21Lg st2=%.21Lg xmm6=%g,%g,%g,%g xmm13=%#x,%#x,%#x,%#x fcw=%#x mxcsr=%#x\n",
	    who, st[0], st[1], st[2], x6[0], x6[1], x6[2], x6[3], x13[0], x13[1], x13[2], x13[3], cw,
	    mx);
}

static void fork_case(void)
{
	static const float in6[4] = {1.5f, -2.25f, 1e10f, 0.1f};
	static const uint32_t in13[4] = {0xdeadbeef, 0x01234567, 0x89abcdef, 0xfeedface};
	long double st[3];
	float x6[4];
	uint32_t x13[4];
	uint16_t cw;
	uint32_t mx;
	long ret;
	fflush(stdout);
	__asm__ volatile(
	    "fldcw %[tcw]\n\t"
	    "ldmxcsr %[tmx]\n\t"
	    "fldl2t\n\t"
	    "fld1\n\t"
	    "fldpi\n\t"
	    "movups %[in6], %%xmm6\n\t"
	    "movups %[in13], %%xmm13\n\t"
	    "mov $57, %%eax\n\t"
	    "syscall\n\t"
	    "mov %%rax, %[ret]\n\t"
	    "fstpt %[st0]\n\t"
	    "fstpt %[st1]\n\t"
	    "fstpt %[st2]\n\t"
	    "movups %%xmm6, %[x6]\n\t"
	    "movups %%xmm13, %[x13]\n\t"
	    "fnstcw %[cw]\n\t"
	    "stmxcsr %[mx]\n\t"
	    "fldcw %[dcw]\n\t"
	    "ldmxcsr %[dmx]\n\t"
	    : [ret] "=m"(ret), [st0] "=m"(st[0]), [st1] "=m"(st[1]), [st2] "=m"(st[2]), [x6] "=m"(x6),
	      [x13] "=m"(x13), [cw] "=m"(cw), [mx] "=m"(mx)
	    : [tcw] "m"(test_fcw), [tmx] "m"(test_mxcsr), [dcw] "m"(def_fcw), [dmx] "m"(def_mxcsr),
	      [in6] "m"(in6), [in13] "m"(in13)
	    : "rax", "rcx", "r11", "xmm6", "xmm13", "memory");
	PCHECK(ret >= 0);
	if (ret == 0) {
		show_forked("child", ret, st, x6, x13, cw, mx);
		_exit(0);
	}
	out("fork: child %s\n", wstat(reap((pid_t)ret)));
	show_forked("parent", ret, st, x6, x13, cw, mx);
}

static void *thread_fn(void *arg)
{
	(void)arg;
	volatile long double one = 1.0L, three = 3.0L;
	long double q = one / three;
	out("thread: fcw=%#x mxcsr=%#x 1/3L=%.21Lg\n", get_fcw(), get_mxcsr(), q);
	return NULL;
}

static void thread_case(void)
{
	pthread_t th;
	__asm__ volatile("fldcw %0\n\tldmxcsr %1" ::"m"(test_fcw), "m"(test_mxcsr));
	int r = pthread_create(&th, NULL, thread_fn, NULL);
	__asm__ volatile("fldcw %0\n\tldmxcsr %1" ::"m"(def_fcw), "m"(def_mxcsr));
	PCHECK(r == 0);
	PCHECK(pthread_join(th, NULL) == 0);
}

/* What a handler sees. */
static struct {
	struct fpenv env;
	uint32_t mxcsr;
	uint64_t xmm3[2];
	struct fxstate frame;
	unsigned long uc_flags;
	int magic2_ok;
	int edit;
} seen;

static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)si;
	seen.env = fnstenv();
	seen.mxcsr = get_mxcsr();
	__asm__ volatile("movups %%xmm3, %0" : "=m"(seen.xmm3));
	struct fxstate *f = frame_fp(ucv);
	seen.uc_flags = ((ucontext_t *)ucv)->uc_flags;
	if (f) {
		memcpy(&seen.frame, f, sizeof *f);
		seen.magic2_ok = f->magic1 == XSTATE_MAGIC1 &&
				 *(uint32_t *)((char *)f + f->xstate_size) == XSTATE_MAGIC2;
	}
	/* A handler that uses the FPU: the interrupted code must not notice. */
	volatile long double x = 1.0L;
	volatile double y = 1.0;
	for (int i = 0; i < 20; i++)
		x = x * 1.5L + 0.25L, y = y * 2.5 + 0.5;
	switch (seen.edit) {
	case 1: {
		static const long double two_and_half = 2.5L;
		f->cwd = 0x0c7f;     /* round toward zero, 24-bit precision */
		f->mxcsr = 0x7f80;   /* round toward zero */
		memcpy(f->st[0], &two_and_half, 10);
		static const float four[4] = {4, 3, 2, 1};
		memcpy(f->xmm[3], four, 16);
		break;
	}
	case 2:
		((ucontext_t *)ucv)->uc_mcontext.fpregs = NULL;
		break;
	case 3:
		f->mxcsr |= 1u << 20; /* reserved */
		break;
	}
}

/* interrupted sets up x87, XMM3, FCW and MXCSR, sends itself SIGUSR1
 * with a raw kill(2) (the handler runs as the syscall returns), and
 * reports what is there after sigreturn. */
static void interrupted(const char *name)
{
	static const float in3[4] = {0.5f, 0.25f, 0.125f, 0.0625f};
	long double st[2];
	float x3[4];
	uint16_t cw, sw;
	uint32_t mx;
	long pid = getpid();
	__asm__ volatile(
	    "fldcw %[tcw]\n\t"
	    "ldmxcsr %[tmx]\n\t"
	    "fld1\n\t"
	    "fldpi\n\t"
	    "movups %[in3], %%xmm3\n\t"
	    "mov $62, %%eax\n\t"
	    "syscall\n\t"
	    "fnstsw %[sw]\n\t"
	    "fnstcw %[cw]\n\t"
	    "stmxcsr %[mx]\n\t"
	    "fstpt %[st0]\n\t"
	    "fstpt %[st1]\n\t"
	    "movups %%xmm3, %[x3]\n\t"
	    "fldcw %[dcw]\n\t"
	    "ldmxcsr %[dmx]\n\t"
	    : [st0] "=m"(st[0]), [st1] "=m"(st[1]), [x3] "=m"(x3), [cw] "=m"(cw), [sw] "=m"(sw),
	      [mx] "=m"(mx)
	    : [tcw] "m"(test_fcw), [tmx] "m"(test_mxcsr), [dcw] "m"(def_fcw), [dmx] "m"(def_mxcsr),
	      [in3] "m"(in3), "D"(pid), "S"((long)SIGUSR1)
	    : "rax", "rcx", "r11", "xmm3", "memory");
	/* An empty stack (nofpstate) pops the indefinite NaN: not printed,
	 * the x87's stack faults are another matter. */
	if (((sw >> 11) & 7) != 6)
		st[0] = st[1] = 0;
	out("%s after: fcw=%#x fsw_top=%d mxcsr=%#x st0=%.21Lg st1=%.21Lg xmm3=%g,%g,%g,%g\n", name, cw,
	    (sw >> 11) & 7, mx, st[0], st[1], x3[0], x3[1], x3[2], x3[3]);
}

static void install_usr1(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	PCHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
}

static void handler_case(void)
{
	install_usr1();
	memset(&seen, 0, sizeof seen);
	interrupted("handler");
	out("handler inside: fcw=%#x fsw=%#x tag=%#x mxcsr=%#x xmm3=%#llx,%#llx\n", seen.env.cw,
	    seen.env.sw, seen.env.tag, seen.mxcsr, (unsigned long long)seen.xmm3[0],
	    (unsigned long long)seen.xmm3[1]);
	struct fxstate *f = &seen.frame;
	float x3[4];
	memcpy(x3, f->xmm[3], 16);
	/* swd's TOP only: the exception flags are the arithmetic's business. */
	out("handler frame: uc_fp_xstate=%lu cwd=%#x swd_top=%d ftw=%#x mxcsr=%#x st0=%.21Lg st1=%.21Lg "
	    "xmm3=%g,%g,%g,%g magics=%d xfeatures_x87_sse=%#llx\n",
	    seen.uc_flags & 1, f->cwd, (f->swd >> 11) & 7, f->ftw, f->mxcsr, ld_of(f->st[0]), ld_of(f->st[1]),
	    x3[0], x3[1], x3[2], x3[3], seen.magic2_ok, (unsigned long long)(f->xfeatures & 3));
}

static void edit_case(void)
{
	install_usr1();
	memset(&seen, 0, sizeof seen);
	seen.edit = 1;
	interrupted("edit");
}

static void nofpstate_case(void)
{
	install_usr1();
	memset(&seen, 0, sizeof seen);
	seen.edit = 2;
	interrupted("nofpstate");
}

static void badmxcsr_case(void)
{
	install_usr1();
	memset(&seen, 0, sizeof seen);
	seen.edit = 3;
	interrupted("badmxcsr");
	out("badmxcsr: sigreturn accepted a reserved MXCSR bit\n");
}

static void printf_case(void)
{
	volatile double pi = 3.14159, big = 1e300, tiny = 5e-324;
	volatile long double lpi = 3.14159265358979323846264L;
	out("printf: %g %f %e %.17g %g %g %.25Lg %La\n", pi, pi, pi, pi, big, tiny, lpi, lpi);
	char buf[64];
	snprintf(buf, sizeof buf, "%g", 3.14159);
	out("printf: snprintf %%g 3.14159 = %s, strtod back = %.17g\n", buf, strtod(buf, NULL));
}

int main(int argc, char **argv)
{
	static const struct pcase cases[] = {
	    {"initial", initial},     {"fork", fork_case},     {"thread", thread_case},
	    {"handler", handler_case}, {"edit", edit_case},     {"nofpstate", nofpstate_case},
	    {"printf", printf_case},
	};
	if (argc == 2 && strcmp(argv[1], "badmxcsr") == 0) {
		default_signals();
		badmxcsr_case();
		return 0;
	}
	return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
