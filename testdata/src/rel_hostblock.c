// variants: glibc musl
/* rel_hostblock: a task blocked on a host descriptor (a FIFO in the run
 * directory, which is the host's) is woken by signals as in Linux:
 *   kill      SIGKILL ends a child blocked reading the FIFO at once
 *   eintr     a handler without SA_RESTART makes the read fail with EINTR
 *   restart   with SA_RESTART the read goes on and gets the data
 *   write     a writer blocked on a full FIFO is killed too
 *   exec      a thread blocked reading the FIFO does not delay execve in
 *             another thread, and does not take the new program's input
 * Each blocked child has an alarm as a safety net: a wait that does not
 * end shows as "killed by SIGALRM". */
#include "proc.h"
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

static const char *self;

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* fifo makes the FIFO NAME and opens it for reading and writing (which
 * does not block), returning the descriptor. */
static int fifo(const char *name)
{
	unlink(name);
	PCHECK(mkfifo(name, 0600) == 0);
	int fd = open(name, O_RDWR);
	PCHECK(fd >= 0);
	return fd;
}

static void kill_reader(void)
{
	int fd = fifo("rel_hostblock-kill.fifo");
	pid_t p = pfork();
	if (p == 0) {
		alarm(10);
		char c;
		out("kill: child read -> %s\n", res(read(fd, &c, 1)));
		_exit(0);
	}
	pause_ms(200);
	kill(p, SIGKILL);
	out("kill: child %s\n", wstat(reap(p)));
	close(fd);
	unlink("rel_hostblock-kill.fifo");
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void interrupted_read(int restart)
{
	const char *name = restart ? "restart" : "eintr";
	int fd = fifo("rel_hostblock-sig.fifo");
	int ready[2];
	PCHECK(pipe(ready) == 0);
	pid_t p = pfork();
	if (p == 0) {
		alarm(10);
		struct sigaction sa = {0};
		sa.sa_handler = on_usr1;
		sa.sa_flags = restart ? SA_RESTART : 0;
		sigaction(SIGUSR1, &sa, NULL);
		PCHECK(write(ready[1], "r", 1) == 1);
		char buf[16] = "";
		long n = read(fd, buf, sizeof buf - 1);
		out("%s: child read -> %s%s%s\n", name, res(n), n > 0 ? " " : "", n > 0 ? buf : "");
		_exit(0);
	}
	char c;
	PCHECK(read(ready[0], &c, 1) == 1);
	pause_ms(200);
	kill(p, SIGUSR1);
	pause_ms(200);
	PCHECK(write(fd, "data", 4) == 4);
	out("%s: child %s\n", name, wstat(reap(p)));
	close(fd), close(ready[0]), close(ready[1]);
	unlink("rel_hostblock-sig.fifo");
}

static void eintr(void)
{
	interrupted_read(0);
}

static void restart(void)
{
	interrupted_read(1);
}

static void kill_writer(void)
{
	int fd = fifo("rel_hostblock-write.fifo");
	pid_t p = pfork();
	if (p == 0) {
		alarm(10);
		static char buf[1 << 20];
		out("write: child write -> %s\n", res(write(fd, buf, sizeof buf)));
		_exit(0);
	}
	pause_ms(300);
	kill(p, SIGKILL);
	out("write: child %s\n", wstat(reap(p)));
	close(fd);
	unlink("rel_hostblock-write.fifo");
}

static int exec_fd;

static void *blocked_reader(void *arg)
{
	(void)arg;
	char c;
	long n = read(exec_fd, &c, 1);
	out("exec: the old thread read %s\n", res(n));
	return NULL;
}

static void exec_case(void)
{
	int fd = fifo("rel_hostblock-exec.fifo");
	pid_t p = pfork();
	if (p == 0) {
		alarm(10);
		exec_fd = fd;
		pthread_t th;
		PCHECK(pthread_create(&th, NULL, blocked_reader, NULL) == 0);
		pause_ms(200);
		char fdarg[16];
		snprintf(fdarg, sizeof fdarg, "%d", fd);
		char *args[] = {(char *)self, "@after_exec", fdarg, NULL};
		execv(self, args);
		out("exec: execv -> %s\n", res(-1));
		_exit(1);
	}
	pause_ms(1000);
	PCHECK(write(fd, "input", 5) == 5);
	out("exec: child %s\n", wstat(reap(p)));
	close(fd);
	unlink("rel_hostblock-exec.fifo");
}

/* role @after_exec: the new program reads the input written for it. */
static int after_exec(const char *fdarg)
{
	alarm(10);
	char buf[16] = "";
	long n = read(atoi(fdarg), buf, sizeof buf - 1);
	out("exec: the new program read %s %s\n", res(n), n > 0 ? buf : "");
	return 0;
}

static const struct pcase cases[] = {
	{"kill", kill_reader}, {"eintr", eintr}, {"restart", restart}, {"write", kill_writer}, {"exec", exec_case},
};

int main(int argc, char **argv)
{
	self = set_self(argv[0]);
	if (argc == 3 && strcmp(argv[1], "@after_exec") == 0)
		return after_exec(argv[2]);
	return run_cases(cases, NCASES(cases), argc, argv);
}
