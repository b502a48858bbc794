/* sig_pidfd: pidfd_open(2), pidfd_send_signal(2), waitid(P_PIDFD):
 *   errors    bad flags, pid 0, a pid that does not exist, a fd that is no
 *             pidfd, read
 *   poll      a running child's pidfd is not readable; after its exit it
 *             is (POLLIN), waitid(P_PIDFD) reaps it
 *   signal    pidfd_send_signal kills a child, a handler sees SI_USER from
 *             the sender; after the reap ESRCH
 *   nonblock  PIDFD_NONBLOCK: waitid on a running child is EAGAIN
 *   notchild  waitid(P_PIDFD) of a process that is no child: ECHILD
 * Prints only facts (yes/no, errno names). */
#define _GNU_SOURCE
#include "proc.h"
#include <poll.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define PIDFD_NONBLOCK O_NONBLOCK

static int pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send(int fd, int sig, siginfo_t *si, unsigned flags)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, si, flags);
}

static int readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, ms);
	PCHECK(n >= 0);
	return n == 1 && (p.revents & POLLIN);
}

/* child_waiting forks a child that exits with code when a byte arrives on
 * the returned pipe's write end. */
static pid_t child_waiting(int *wfd, int code)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	pid_t c = pfork();
	if (c == 0) {
		close(p[1]);
		char b;
		while (read(p[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(code);
	}
	close(p[0]);
	*wfd = p[1];
	return c;
}

static void c_errors(void)
{
	out("errors: flags %s\n", res(pidfd_open(getpid(), 1)));
	out("errors: pid 0 %s\n", res(pidfd_open(0, 0)));
	out("errors: no such pid %s\n", res(pidfd_open(0x3ffffff0, 0)));
	out("errors: not pidfd %s\n", res(pidfd_send(1, 0, NULL, 0)));
	int fd = pidfd_open(getpid(), 0);
	PCHECK(fd >= 0);
	out("errors: cloexec=%d\n", fcntl(fd, F_GETFD) == FD_CLOEXEC);
	char b[8];
	out("errors: read %s\n", res(read(fd, b, sizeof b)));
	out("errors: send flags %s\n", res(pidfd_send(fd, 0, NULL, 1)));
	out("errors: send 0 to self %s\n", res(pidfd_send(fd, 0, NULL, 0)));
	close(fd);
}

static void c_poll(void)
{
	int w;
	pid_t c = child_waiting(&w, 3);
	int fd = pidfd_open(c, 0);
	PCHECK(fd >= 0);
	out("poll: running readable=%d\n", readable(fd, 0));
	close(w);
	out("poll: exited readable=%d\n", readable(fd, 5000));
	siginfo_t si = {0};
	int r = waitid(P_PIDFD, fd, &si, WEXITED);
	out("poll: waitid %s pid_match=%d code=%d status=%d\n", res(r), si.si_pid == c, si.si_code == CLD_EXITED,
	    si.si_status);
	out("poll: again %s\n", res(waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG)));
	close(fd);
}

static int sigpipe_w;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	char m = si->si_code == SI_USER && si->si_pid == getppid() ? 'y' : 'n';
	write(sigpipe_w, &m, 1);
	_exit(9);
}

static void c_signal(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	pid_t c = pfork();
	if (c == 0) {
		close(p[0]);
		sigpipe_w = p[1];
		struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
		sigaction(SIGUSR1, &sa, NULL);
		char m = 'r';
		write(p[1], &m, 1);
		for (;;)
			pause();
	}
	close(p[1]);
	char m;
	PCHECK(read(p[0], &m, 1) == 1);
	int fd = pidfd_open(c, 0);
	PCHECK(fd >= 0);
	out("signal: send %s\n", res(pidfd_send(fd, SIGUSR1, NULL, 0)));
	PCHECK(read(p[0], &m, 1) == 1);
	out("signal: handler saw the sender=%c\n", m);
	siginfo_t si = {0};
	PCHECK(waitid(P_PIDFD, fd, &si, WEXITED) == 0);
	out("signal: child status=%d\n", si.si_status);
	out("signal: after reap %s\n", res(pidfd_send(fd, SIGUSR1, NULL, 0)));
	close(fd);
	close(p[0]);

	int w;
	c = child_waiting(&w, 0);
	fd = pidfd_open(c, 0);
	out("signal: kill %s\n", res(pidfd_send(fd, SIGKILL, NULL, 0)));
	out("signal: killed %s\n", wstat(reap(c)));
	close(w);
	close(fd);
}

static void c_nonblock(void)
{
	int w;
	pid_t c = child_waiting(&w, 5);
	int fd = pidfd_open(c, PIDFD_NONBLOCK);
	PCHECK(fd >= 0);
	siginfo_t si;
	out("nonblock: running %s\n", res(waitid(P_PIDFD, fd, &si, WEXITED)));
	close(w);
	PCHECK(readable(fd, 5000));
	out("nonblock: exited %s status=%d\n", res(waitid(P_PIDFD, fd, &si, WEXITED)), si.si_status);
	close(fd);
}

static void c_notchild(void)
{
	int fd = pidfd_open(getpid(), 0);
	siginfo_t si;
	out("notchild: self %s\n", res(waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG)));
	close(fd);
	out("notchild: bad fd %s\n", res(waitid(P_PIDFD, 1, &si, WEXITED | WNOHANG)));
}

static const struct pcase cases[] = {
	{"errors", c_errors}, {"poll", c_poll}, {"signal", c_signal}, {"nonblock", c_nonblock},
	{"notchild", c_notchild},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
