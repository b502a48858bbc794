/* fs_fifo: named pipes (FIFOs), as fifo_open and pipe_poll treat them,
 * in each directory of argv[1..] (a host directory, /dev/shm: a tmpfs):
 *   - O_RDONLY|O_NONBLOCK opens at once and reads EOF; O_WRONLY|O_NONBLOCK
 *     without a reader is ENXIO, with one it opens
 *   - a blocking reader waits for a writer and a blocking writer for a
 *     reader (a forked child is the other side); the data goes through,
 *     EOF after the writer closes
 *   - poll on a reader opened before any writer: no POLLHUP until a
 *     writer has come and gone
 *   - O_RDWR never waits; a FIFO's data is gone when the last descriptor
 *     closes
 *   - a blocking open is interrupted by a signal (EINTR without
 *     SA_RESTART)
 *   - fstat says S_IFIFO with the inode's mode
 * One line a check; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>

static void on_alarm(int sig) { (void)sig; }

static const char *ores(int fd)
{
	if (fd >= 0) {
		close(fd);
		return "opened";
	}
	return perr(errno);
}

static void run_in(const char *label, const char *dir)
{
	char path[256];
	snprintf(path, sizeof path, "%s/fs_fifo.%d", dir, (int)getpid());
	unlink(path);
	PCHECK(mkfifo(path, 0640) == 0);
	out("%s:\n", label);

	struct stat st;
	PCHECK(stat(path, &st) == 0);
	out("stat: fifo %d, mode %o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);

	int r = open(path, O_RDONLY | O_NONBLOCK);
	PCHECK(r >= 0);
	char buf[64];
	out("nonblocking reader, no writer: read %s\n", res(read(r, buf, sizeof buf)));
	struct pollfd pfd = {r, POLLIN, 0};
	poll(&pfd, 1, 0);
	out("poll before any writer: %#x\n", pfd.revents);
	PCHECK(fstat(r, &st) == 0);
	out("fstat: fifo %d, mode %o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);
	out("nonblocking writer with a reader: %s\n", ores(open(path, O_WRONLY | O_NONBLOCK)));
	poll(&pfd, 1, 0);
	out("poll after a writer came and went: %#x\n", pfd.revents);
	close(r);
	out("nonblocking writer, no reader: %s\n", ores(open(path, O_WRONLY | O_NONBLOCK)));

	pid_t c = pfork();
	if (c == 0) {
		int w = open(path, O_WRONLY);
		PCHECK(w >= 0);
		PCHECK(write(w, "through the fifo", 16) == 16);
		_exit(0);
	}
	r = open(path, O_RDONLY);
	PCHECK(r >= 0);
	long n = 0, got;
	while ((got = read(r, buf + n, sizeof buf - 1 - n)) > 0)
		n += got;
	buf[n] = 0;
	out("blocking reader got \"%s\", then %s\n", buf, res(got));
	close(r);
	out("writer child %s\n", wstat(reap(c)));

	c = pfork();
	if (c == 0) {
		usleep(50000);
		int rr = open(path, O_RDONLY);
		PCHECK(rr >= 0);
		n = read(rr, buf, sizeof buf);
		out("reader child read %s bytes\n", res(n));
		_exit(0);
	}
	int w = open(path, O_WRONLY);
	out("blocking writer: %s\n", w >= 0 ? "opened" : perr(errno));
	PCHECK(write(w, "abc", 3) == 3);
	close(w);
	out("reader child %s\n", wstat(reap(c)));

	int rw = open(path, O_RDWR);
	PCHECK(rw >= 0);
	PCHECK(write(rw, "xyz", 3) == 3);
	int queued = -1;
	PCHECK(ioctl(rw, FIONREAD, &queued) == 0);
	out("O_RDWR: opened, %d bytes queued\n", queued);
	close(rw);
	rw = open(path, O_RDWR);
	PCHECK(rw >= 0);
	PCHECK(ioctl(rw, FIONREAD, &queued) == 0);
	out("reopened after the last close: %d bytes queued\n", queued);
	close(rw);

	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {0, 100000}};
	setitimer(ITIMER_REAL, &it, NULL);
	int fd = open(path, O_RDONLY);
	out("blocking reader, no writer, SIGALRM: %s\n", fd >= 0 ? "opened" : perr(errno));
	PCHECK(unlink(path) == 0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		out("usage: fs_fifo DIR...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		run_in(strcmp(argv[i], "/dev/shm") ? "host directory" : argv[i], argv[i]);
	return 0;
}
