/* sig_signalfd: signalfd(2) and signalfd4(2):
 *   errors    bad flags, bad mask size, an fd that is no signalfd (EINVAL),
 *             one that is not open (EBADF)
 *   basic     SFD_NONBLOCK read of nothing is EAGAIN, poll says not ready;
 *             raise() (SI_TKILL) and kill() (SI_USER) then poll POLLIN, one
 *             read takes both in signal order with pid and uid; a short
 *             buffer is EINVAL, write is EINVAL; F_GETFL, FD_CLOEXEC, the
 *             /proc/self/fd link
 *   mask      signalfd on an existing fd changes its mask: a pending signal
 *             outside the old mask becomes readable
 *   block     a blocking read waits until a child sends the signal;
 *             sigqueue's value arrives in ssi_int
 *   handler   a signal in the mask that is not blocked goes to its handler
 *             and is not read
 * Prints only facts (yes/no, errno names, signal names). */
#define _GNU_SOURCE
#include "proc.h"
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

static int ready(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, 0);
	PCHECK(n >= 0);
	return n == 1 && (p.revents & POLLIN);
}

static const char *code(int c)
{
	switch (c) {
	case SI_USER: return "SI_USER";
	case SI_TKILL: return "SI_TKILL";
	case SI_QUEUE: return "SI_QUEUE";
	}
	return "other";
}

static void block(int a, int b)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, a);
	if (b)
		sigaddset(&s, b);
	PCHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);
}

static void unblock_all(void)
{
	sigset_t s;
	sigemptyset(&s);
	PCHECK(sigprocmask(SIG_SETMASK, &s, NULL) == 0);
}

static void c_errors(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	out("errors: flags %s\n", res(syscall(SYS_signalfd4, -1, &s, 8, 1)));
	out("errors: size %s\n", res(syscall(SYS_signalfd4, -1, &s, 4, 0)));
	out("errors: not signalfd %s\n", res(signalfd(1, &s, 0)));
	out("errors: closed %s\n", res(signalfd(999, &s, 0)));
	out("errors: fault %s\n", res(syscall(SYS_signalfd4, -1, (void *)8, 8, 0)));
}

static void c_basic(void)
{
	block(SIGUSR1, SIGUSR2);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	int fd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
	PCHECK(fd >= 0);
	struct signalfd_siginfo si[4];
	out("basic: empty read %s ready=%d\n", res(read(fd, si, sizeof si)), ready(fd));
	int fl = fcntl(fd, F_GETFL);
	out("basic: rdwr=%d nonblock=%d cloexec=%d\n", (fl & O_ACCMODE) == O_RDWR, !!(fl & O_NONBLOCK),
	    fcntl(fd, F_GETFD) == FD_CLOEXEC);
	char path[64], link[64] = "";
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	out("basic: link %s\n", n > 0 ? link : "none");
	PCHECK(kill(getpid(), SIGUSR2) == 0);
	PCHECK(raise(SIGUSR1) == 0);
	out("basic: ready=%d\n", ready(fd));
	out("basic: short read %s\n", res(read(fd, si, sizeof si[0] - 1)));
	out("basic: write %s\n", res(write(fd, si, sizeof si[0])));
	n = read(fd, si, sizeof si);
	out("basic: read %s\n", res(n));
	for (int i = 0; i < n / (int)sizeof si[0]; i++)
		out("basic: %s code=%s pid_self=%d uid_self=%d\n", signame(si[i].ssi_signo), code(si[i].ssi_code),
		    si[i].ssi_pid == (unsigned)getpid(), si[i].ssi_uid == getuid());
	out("basic: after ready=%d\n", ready(fd));
	close(fd);
	unblock_all();
}

static void c_mask(void)
{
	block(SIGUSR1, SIGUSR2);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	int fd = signalfd(-1, &s, SFD_NONBLOCK);
	PCHECK(fd >= 0);
	PCHECK(kill(getpid(), SIGUSR2) == 0);
	out("mask: usr1 only ready=%d\n", ready(fd));
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	out("mask: update %s\n", res(signalfd(fd, &s, 0) == fd));
	out("mask: usr2 ready=%d\n", ready(fd));
	struct signalfd_siginfo si;
	out("mask: read %s %s\n", res(read(fd, &si, sizeof si)), signame(si.ssi_signo));
	sigset_t p;
	sigpending(&p);
	out("mask: still pending=%d\n", sigismember(&p, SIGUSR2));
	close(fd);
	unblock_all();
}

static void c_block(void)
{
	block(SIGUSR1, 0);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	int fd = signalfd(-1, &s, 0);
	PCHECK(fd >= 0);
	pid_t parent = getpid();
	pid_t c = pfork();
	if (c == 0) {
		usleep(50000);
		union sigval v = {.sival_int = 4242};
		PCHECK(sigqueue(parent, SIGUSR1, v) == 0);
		_exit(0);
	}
	struct signalfd_siginfo si;
	ssize_t n = read(fd, &si, sizeof si);
	out("block: read %s %s code=%s int=%d from_child=%d\n", res(n), signame(si.ssi_signo), code(si.ssi_code),
	    si.ssi_int, si.ssi_pid == (unsigned)c);
	out("block: child %s\n", wstat(reap(c)));
	close(fd);
	unblock_all();
}

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	handled++;
}

static void c_handler(void)
{
	signal(SIGUSR1, on_usr1);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	int fd = signalfd(-1, &s, SFD_NONBLOCK);
	PCHECK(fd >= 0);
	handled = 0;
	PCHECK(raise(SIGUSR1) == 0);
	struct signalfd_siginfo si;
	out("handler: handled=%d read %s\n", handled, res(read(fd, &si, sizeof si)));
	close(fd);
	signal(SIGUSR1, SIG_DFL);
}

static const struct pcase cases[] = {
	{"errors", c_errors}, {"basic", c_basic}, {"mask", c_mask}, {"block", c_block}, {"handler", c_handler},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
