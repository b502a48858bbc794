/* sig_altstack: the alternate signal stack (sigaltstack(2), SA_ONSTACK):
 *   query     the initial state: disabled
 *   errors    ENOMEM below MINSIGSTKSZ, EINVAL for bad flags, EFAULT
 *   overflow  a SIGSEGV handler with SA_ONSTACK catches a stack overflow
 *             on the alternate stack; there the stack reports SS_ONSTACK,
 *             changing it is EPERM, a nested signal stays on it, and
 *             uc_stack holds the stack; a handler without SA_ONSTACK runs
 *             on the normal stack
 *   autodisarm  SS_AUTODISARM: disabled while the handler runs, back
 *             after sigreturn
 *   inherit   fork keeps the stack, a new thread starts without one
 * Prints only facts (yes/no, errno names). */
#define _GNU_SOURCE
#include "proc.h"
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

#define ALT_SIZE (64 * 1024)

static char *alt;
static sigjmp_buf back;

static int on_alt(const void *p)
{
	return (const char *)p >= alt && (const char *)p < alt + ALT_SIZE;
}

static void set_alt(int flags)
{
	stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = flags};
	PCHECK(sigaltstack(&ss, NULL) == 0);
}

static const char *flagname(int f)
{
	static char buf[64];
	snprintf(buf, sizeof buf, "%s%s%s%s", f & SS_ONSTACK ? "ONSTACK " : "", f & SS_DISABLE ? "DISABLE " : "",
		 f & SS_AUTODISARM ? "AUTODISARM " : "", f & ~(SS_ONSTACK | SS_DISABLE | SS_AUTODISARM) ? "other " : "");
	if (!buf[0])
		return "0";
	buf[strlen(buf) - 1] = 0;
	return buf;
}

static void query(void)
{
	stack_t o;
	PCHECK(sigaltstack(NULL, &o) == 0);
	out("query: flags %s, sp null %d, size %lu\n", flagname(o.ss_flags), o.ss_sp == NULL, (unsigned long)o.ss_size);
}

static void errors(void)
{
	stack_t ss = {.ss_sp = alt, .ss_size = 1024, .ss_flags = 0};
	/* the raw call: libc wrappers may check (or read) the argument first */
	out("errors: size 1024 -> %s\n", res(syscall(SYS_sigaltstack, &ss, NULL)));
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = 0x100;
	out("errors: flags 0x100 -> %s\n", res(syscall(SYS_sigaltstack, &ss, NULL)));
	out("errors: bad pointer -> %s\n", res(syscall(SYS_sigaltstack, (stack_t *)8, NULL)));
	out("errors: bad old pointer -> %s\n", res(syscall(SYS_sigaltstack, NULL, (stack_t *)8)));
	ss.ss_flags = SS_DISABLE;
	ss.ss_size = 1;
	out("errors: disable with size 1 -> %s\n", res(syscall(SYS_sigaltstack, &ss, NULL)));
	stack_t o;
	PCHECK(sigaltstack(NULL, &o) == 0);
	out("errors: then flags %s size %lu\n", flagname(o.ss_flags), (unsigned long)o.ss_size);
}

static volatile int nested_on_alt, nested_deeper, in_eperm, in_flags, uc_ok, depth_reached;
static volatile char *first_local;

static void on_usr1(int sig)
{
	(void)sig;
	volatile char here;
	nested_on_alt = on_alt((const void *)&here);
	nested_deeper = &here < first_local;
}

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)si;
	volatile char here;
	first_local = &here;
	ucontext_t *uc = ucv;
	uc_ok = uc->uc_stack.ss_sp == alt && uc->uc_stack.ss_size == ALT_SIZE;
	stack_t o;
	sigaltstack(NULL, &o);
	in_flags = o.ss_flags;
	stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
	in_eperm = sigaltstack(&ss, NULL) == -1 && errno == EPERM;
	raise(SIGUSR1);
	siglongjmp(back, on_alt((const void *)&here) ? 1 : 2);
}

/* recurse calls itself through a pointer the compiler cannot see through,
 * until the stack overflows. */
static int (*volatile recurse_ptr)(int);

static int recurse(int n)
{
	volatile char pad[1024];
	pad[0] = (char)n;
	depth_reached = n;
	return recurse_ptr(n + 1) + pad[0];
}

static void overflow(void)
{
	pid_t p = pfork();
	if (p == 0) {
		set_alt(0);
		struct sigaction sa = {0};
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigaction(SIGSEGV, &sa, NULL);
		struct sigaction su = {0};
		su.sa_handler = on_usr1;
		su.sa_flags = SA_ONSTACK;
		sigaction(SIGUSR1, &su, NULL);
		int r = sigsetjmp(back, 1);
		if (r == 0) {
			recurse_ptr = recurse;
			recurse(0);
			out("overflow: FAIL returned\n");
			_exit(1);
		}
		out("overflow: caught, handler on the alternate stack %s\n", r == 1 ? "yes" : "no");
		out("overflow: in the handler flags %s, change -> EPERM %s, uc_stack right %s\n", flagname(in_flags),
		    in_eperm ? "yes" : "no", uc_ok ? "yes" : "no");
		out("overflow: nested signal on the alternate stack %s, below the first %s\n",
		    nested_on_alt ? "yes" : "no", nested_deeper ? "yes" : "no");
		/* a handler without SA_ONSTACK: the normal stack */
		su.sa_flags = 0;
		sigaction(SIGUSR1, &su, NULL);
		nested_on_alt = -1;
		raise(SIGUSR1);
		out("overflow: without SA_ONSTACK on the alternate stack %s\n", nested_on_alt ? "yes" : "no");
		_exit(0);
	}
	out("overflow: child %s\n", wstat(reap(p)));
}

static volatile int ad_flags, ad_on_alt;

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	volatile char here;
	stack_t o;
	sigaltstack(NULL, &o);
	ad_flags = o.ss_flags;
	ad_on_alt = on_alt((const void *)&here);
}

static void autodisarm(void)
{
	set_alt(SS_AUTODISARM);
	struct sigaction sa = {0};
	/* SA_SIGINFO: an rt frame in both ABIs (the frame that saves the
	 * stack and disarms it) */
	sa.sa_sigaction = on_usr2;
	sa.sa_flags = SA_ONSTACK | SA_SIGINFO;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	stack_t o;
	PCHECK(sigaltstack(NULL, &o) == 0);
	out("autodisarm: handler on the alternate stack %s, flags there %s\n", ad_on_alt ? "yes" : "no",
	    flagname(ad_flags));
	out("autodisarm: after return flags %s, size %lu\n", flagname(o.ss_flags), (unsigned long)o.ss_size);
	stack_t off = {.ss_flags = SS_DISABLE};
	PCHECK(sigaltstack(&off, NULL) == 0);
}

static void *thread_query(void *arg)
{
	stack_t o;
	sigaltstack(NULL, &o);
	*(int *)arg = o.ss_flags;
	return NULL;
}

static void inherit(void)
{
	set_alt(0);
	pid_t p = pfork();
	if (p == 0) {
		stack_t o;
		PCHECK(sigaltstack(NULL, &o) == 0);
		out("inherit: child flags %s, same stack %s\n", flagname(o.ss_flags),
		    o.ss_sp == alt && o.ss_size == ALT_SIZE ? "yes" : "no");
		_exit(0);
	}
	reap(p);
	int flags = -1;
	pthread_t th;
	PCHECK(pthread_create(&th, NULL, thread_query, &flags) == 0);
	PCHECK(pthread_join(th, NULL) == 0);
	out("inherit: new thread flags %s\n", flagname(flags));
	stack_t off = {.ss_flags = SS_DISABLE};
	PCHECK(sigaltstack(&off, NULL) == 0);
}

static const struct pcase cases[] = {
	{"query", query}, {"errors", errors}, {"overflow", overflow}, {"autodisarm", autodisarm}, {"inherit", inherit},
};

int main(int argc, char **argv)
{
	alt = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PCHECK(alt != MAP_FAILED);
	return run_cases(cases, NCASES(cases), argc, argv);
}
