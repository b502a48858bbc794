// variants: glibc musl
/* proc_sigpipe: writing to a pipe without readers. With the default action
 * the writer dies by SIGPIPE (its parent sees WTERMSIG == SIGPIPE and the
 * line after the write never appears); ignored, the write fails with EPIPE;
 * handled, the handler runs and the write fails with EPIPE; blocked, the
 * write fails with EPIPE and the signal stays pending until unblocked; the
 * reader dying later (a child) has the same effect; writev too. One line a
 * case; exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <poll.h>
#include <sys/uio.h>

/* readerless returns the write end of a pipe whose read end is closed. */
static int readerless(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	close(p[0]);
	return p[1];
}

static void killed(void)
{
	int w = readerless();
	pid_t p = pfork();
	if (p == 0) {
		out("killed: child writes\n");
		ssize_t r = write(w, "x", 1);
		out("killed: FAIL still alive after write=%s\n", res(r));
		_exit(0);
	}
	close(w);
	int st = reap(p);
	out("killed: child %s termsig_is_sigpipe=%d\n", wstat(st),
	    WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
}

static void ignored(void)
{
	int w = readerless();
	pid_t p = pfork();
	if (p == 0) {
		signal(SIGPIPE, SIG_IGN);
		out("ignored: write -> %s\n", res(write(w, "x", 1)));
		struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
		out("ignored: writev -> %s\n", res(writev(w, iov, 2)));
		out("ignored: empty write -> %s\n", res(write(w, "", 0)));
		_exit(0);
	}
	close(w);
	out("ignored: child %s\n", wstat(reap(p)));
}

static volatile sig_atomic_t caught;

static void on_pipe(int sig)
{
	caught = sig == SIGPIPE ? caught + 1 : -100;
}

static void handled(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_pipe;
	PCHECK(sigaction(SIGPIPE, &sa, NULL) == 0);
	caught = 0;
	int w = readerless();
	const char *r = res(write(w, "x", 1));
	out("handled: write -> %s caught=%d\n", r, (int)caught);
	r = res(write(w, "y", 1));
	out("handled: again -> %s caught=%d\n", r, (int)caught);

	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	PCHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	caught = 0;
	r = res(write(w, "z", 1));
	out("blocked: write -> %s caught=%d\n", r, (int)caught);
	PCHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	out("blocked: after unblock caught=%d\n", (int)caught);
	close(w);
	signal(SIGPIPE, SIG_DFL);
}

static void reader_dies(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	pid_t c = pfork();
	if (c == 0) {
		close(p[1]);
		char buf[3];
		_exit(readall(p[0], buf, 3) == 3 ? 0 : 1);
	}
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	const char *r = res(write(p[1], "abc", 3));
	int st = reap(c);
	struct pollfd pf = {p[1], POLLOUT, 0};
	int n = poll(&pf, 1, 0);
	out("reader_dies: first write -> %s reader %s poll=%d err=%d then write -> %s\n", r,
	    wstat(st), n, (pf.revents & POLLERR) != 0, res(write(p[1], "d", 1)));
	close(p[1]);
	signal(SIGPIPE, SIG_DFL);

	/* without SIG_IGN, in a child: the death comes with the write */
	PCHECK(pipe(p) == 0);
	c = pfork();
	if (c == 0) {
		close(p[1]);
		_exit(0);
	}
	close(p[0]);
	reap(c);
	pid_t w = pfork();
	if (w == 0) {
		write(p[1], "late", 4);
		_exit(0);
	}
	close(p[1]);
	out("reader_dies: writer %s\n", wstat(reap(w)));
}

static const struct pcase cases[] = {
	{"killed", killed},
	{"ignored", ignored},
	{"handled", handled},
	{"reader_dies", reader_dies},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
