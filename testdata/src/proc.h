/* Shared helpers for the proc_*.c guests (the process model: fork, exec,
 * wait, pipes, signals, credentials, sessions, threads). Plain libc, glibc
 * and musl on x86-64. Everything is static inline.
 *
 * Output: forked children and their parents both print, so every line is
 * written with out(): one write(2) a line, no stdio buffer that a fork
 * could duplicate or an _exit could lose.
 *
 * Cases: a guest is a table of named cases; with no arguments main runs
 * them all in order, else only the ones named in argv[1..]. An argv[1] that
 * starts with '@' names an internal role: the guest was exec'd (by itself)
 * to play a part in a case. */
#ifndef CMAEMU_PROC_H
#define CMAEMU_PROC_H

#include "guest.h"
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/wait.h>

/* out is guest.h's outf under the name the process guests use. */
static inline void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	voutf(fmt, ap);
	va_end(ap);
}

/* PCHECK is CHECK for code that may run in a forked child: the FAIL line
 * goes out with one write(2) and the process ends with _exit(1). */
#define PCHECK(cond)                                                         \
	do {                                                                 \
		if (!(cond)) {                                               \
			out("FAIL %s:%d: %s (errno=%s)\n", __FILE__,         \
			    __LINE__, #cond, perr(errno));                   \
			_exit(1);                                            \
		}                                                            \
	} while (0)

/* perr is errname() with the few errno values the process guests add. */
static inline const char *perr(int e)
{
	switch (e) {
	case ENOEXEC: return "ENOEXEC";
	case ECHILD: return "ECHILD";
	case ESRCH: return "ESRCH";
	case ETXTBSY: return "ETXTBSY";
	case ELOOP: return "ELOOP";
	}
	return errname(e);
}

/* res formats a call's result: "0", "N", or "-1/NAME" on failure (errno
 * must still be the call's). Each call reuses one of eight buffers. */
static inline const char *res(long r)
{
	static char buf[8][48];
	static int next;
	char *b = buf[next++ & 7];
	if (r < 0)
		snprintf(b, sizeof buf[0], "%ld/%s", r, perr(errno));
	else
		snprintf(b, sizeof buf[0], "%ld", r);
	return b;
}

/* signame names the signals the guests use. */
static inline const char *signame(int sig)
{
	static char other[16];
	switch (sig) {
	case SIGHUP: return "SIGHUP";
	case SIGINT: return "SIGINT";
	case SIGQUIT: return "SIGQUIT";
	case SIGILL: return "SIGILL";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGUSR1: return "SIGUSR1";
	case SIGSEGV: return "SIGSEGV";
	case SIGUSR2: return "SIGUSR2";
	case SIGPIPE: return "SIGPIPE";
	case SIGALRM: return "SIGALRM";
	case SIGTERM: return "SIGTERM";
	case SIGCHLD: return "SIGCHLD";
	case SIGCONT: return "SIGCONT";
	case SIGSTOP: return "SIGSTOP";
	}
	snprintf(other, sizeof other, "sig%d", sig);
	return other;
}

/* wstat formats a wait status: "exited=N", "signaled=NAME" (plus "+core"
 * when a core dump is flagged) or "other=0xHEX". One of four buffers. */
static inline const char *wstat(int st)
{
	static char buf[4][48];
	static int next;
	char *b = buf[next++ & 3];
	if (WIFEXITED(st))
		snprintf(b, sizeof buf[0], "exited=%d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(b, sizeof buf[0], "signaled=%s%s", signame(WTERMSIG(st)),
			 WCOREDUMP(st) ? "+core" : "");
	else
		snprintf(b, sizeof buf[0], "other=%#x", (unsigned)st);
	return b;
}

/* pfork flushes stdout (nothing should be buffered, but a stray printf
 * must not be duplicated) and forks; a failed fork stops the guest. */
static inline pid_t pfork(void)
{
	fflush(stdout);
	pid_t p = fork();
	PCHECK(p >= 0);
	return p;
}

/* reap waits for pid (retrying on EINTR) and returns its wait status. */
static inline int reap(pid_t pid)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r < 0 && errno == EINTR);
	PCHECK(r == pid);
	return st;
}

/* writeall/readall move exactly n bytes (readall returns the count read
 * before end of file). */
static inline void writeall(int fd, const void *p, size_t n)
{
	for (const char *c = p; n > 0;) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		PCHECK(w > 0);
		c += w, n -= (size_t)w;
	}
}

static inline size_t readall(int fd, void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		PCHECK(r >= 0);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* default_signals gives every signal the guests use its default action and
 * unblocks all signals: what the guest inherits from whoever started it
 * must not change its output. */
static inline void default_signals(void)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2,
				   SIGPIPE, SIGALRM, SIGTERM, SIGCHLD, SIGCONT};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A case of a guest: its name (what argv selects and what its lines start
 * with) and its code. */
struct pcase {
	const char *name;
	void (*fn)(void);
};

/* run_cases runs the cases named in argv[1..] (all of them, in order, when
 * there is none); an unknown name prints a line and returns status 2. */
static inline int run_cases(const struct pcase *c, size_t n, int argc, char **argv)
{
	default_signals();
	if (argc < 2) {
		for (size_t i = 0; i < n; i++)
			c[i].fn();
		return 0;
	}
	for (int a = 1; a < argc; a++) {
		size_t i = 0;
		while (i < n && strcmp(c[i].name, argv[a]) != 0)
			i++;
		if (i == n) {
			out("unknown case %s\n", argv[a]);
			return 2;
		}
		c[i].fn();
	}
	return 0;
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* proc_self is the absolute path of the guest's own program: set_self()
 * resolves argv[0] (the harness passes an absolute path), or reads
 * /proc/self/exe when argv[0] has no '/'. */
static char proc_self[4096];

static inline const char *set_self(const char *argv0)
{
	if (strchr(argv0, '/') != NULL) {
		PCHECK(realpath(argv0, proc_self) != NULL);
	} else {
		ssize_t n = readlink("/proc/self/exe", proc_self, sizeof proc_self - 1);
		PCHECK(n > 0);
		proc_self[n] = 0;
	}
	return proc_self;
}

#endif
