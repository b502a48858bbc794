// variants: glibc musl
/* rel_forkpin: a read blocked in one thread keeps its buffer while another
 * thread forks and writes the buffer's page (Linux copies a page the
 * kernel has pinned for the child at fork, so the data lands in the
 * parent's buffer, not in the child's copy):
 *   pipe    the read is from a pipe
 *   fifo    the read is from a FIFO in the run directory (a host file)
 * Each prints what the reader got and what the buffer holds after. */
#include "proc.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

static char *page;
static int rfd;
static long got;

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void *reader(void *arg)
{
	(void)arg;
	got = read(rfd, page, 16);
	return NULL;
}

static void run(const char *name, int r, int w)
{
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PCHECK(page != MAP_FAILED);
	memset(page, '.', 4096);
	rfd = r;
	pthread_t th;
	PCHECK(pthread_create(&th, NULL, reader, NULL) == 0);
	pause_ms(200); /* the reader is blocked in read() */
	pid_t p = pfork();
	if (p == 0)
		_exit(page[100] == '.' ? 0 : 1);
	page[100] = 'x'; /* the parent writes the page after the fork */
	out("%s: child %s\n", name, wstat(reap(p)));
	PCHECK(write(w, "from the pipe", 13) == 13);
	PCHECK(pthread_join(th, NULL) == 0);
	out("%s: read %ld, buffer \"%.13s\", byte 100 '%c'\n", name, got, page, page[100]);
	munmap(page, 4096);
}

static void pipe_case(void)
{
	int fds[2];
	PCHECK(pipe(fds) == 0);
	run("pipe", fds[0], fds[1]);
	close(fds[0]), close(fds[1]);
}

static void fifo_case(void)
{
	unlink("rel_forkpin.fifo");
	PCHECK(mkfifo("rel_forkpin.fifo", 0600) == 0);
	int fd = open("rel_forkpin.fifo", O_RDWR);
	PCHECK(fd >= 0);
	run("fifo", fd, fd);
	close(fd);
	unlink("rel_forkpin.fifo");
}

static const struct pcase cases[] = {
	{"pipe", pipe_case},
	{"fifo", fifo_case},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
