// variants: glibc musl
/* proc_pipe: pipes between processes and the file descriptor calls around
 * them. A three-process pipeline (parent -> exec'd filter -> counting
 * child) over dup2'd stdin/stdout moves 1 MiB; end of file only when every
 * writer has closed; pipe2(O_CLOEXEC), dup, dup2, dup3, F_DUPFD(_CLOEXEC),
 * F_GETFD/F_SETFD across execve of /proc/self/exe; O_NONBLOCK reads and
 * writes (EAGAIN, 64 KiB capacity); poll/ppoll/pselect on pipe ends
 * (POLLIN, POLLOUT, POLLHUP, POLLERR, POLLNVAL); writes of PIPE_BUF bytes
 * from four children stay whole; select(2). One line a case; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <ctype.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/select.h>
#include <time.h>

#ifndef F_GETPIPE_SZ
#define F_GETPIPE_SZ 1032
#endif

static void exec_self(char *const *argv)
{
	execv("/proc/self/exe", argv);
	out("FAIL execv /proc/self/exe: %s\n", perr(errno));
	_exit(127);
}

/* role @upper: stdin to stdout, upper-cased. */
static int role_upper(void)
{
	char buf[5000];
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		PCHECK(n >= 0);
		if (n == 0)
			return 0;
		for (ssize_t i = 0; i < n; i++)
			buf[i] = (char)toupper((unsigned char)buf[i]);
		writeall(1, buf, (size_t)n);
	}
}

/* role @fdcheck NAME=FD...: F_GETFD of each FD in the exec'd program. */
static int role_fdcheck(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		PCHECK(eq != NULL);
		*eq = 0;
		int r = fcntl(atoi(eq + 1), F_GETFD);
		out("cloexec: after exec %s -> %s\n", argv[i], r < 0 ? perr(errno) : "open");
	}
	return 0;
}

static void pipeline(void)
{
	int a[2], b[2], c[2];
	PCHECK(pipe(a) == 0 && pipe(b) == 0 && pipe(c) == 0);
	/* child 1: a -> upper -> b, by exec */
	pid_t p1 = pfork();
	if (p1 == 0) {
		PCHECK(dup2(a[0], 0) == 0 && dup2(b[1], 1) == 1);
		close(a[0]), close(a[1]), close(b[0]), close(b[1]), close(c[0]), close(c[1]);
		char *args[] = {"proc_pipe", "@upper", NULL};
		exec_self(args);
	}
	/* child 2: b -> count -> c, by fork */
	pid_t p2 = pfork();
	if (p2 == 0) {
		close(a[0]), close(a[1]), close(b[1]), close(c[0]);
		unsigned long bytes = 0, lines = 0, lower = 0;
		uint32_t sum = 0;
		char buf[3000];
		ssize_t n;
		while ((n = read(b[0], buf, sizeof buf)) > 0) {
			for (ssize_t i = 0; i < n; i++) {
				unsigned char ch = (unsigned char)buf[i];
				sum = sum * 31 + ch;
				lines += ch == '\n';
				lower += islower(ch) != 0;
			}
			bytes += (unsigned long)n;
		}
		PCHECK(n == 0);
		char line[128];
		int l = snprintf(line, sizeof line, "received=%lu lines=%lu lowercase=%lu sum=%08x",
				 bytes, lines, lower, (unsigned)sum);
		writeall(c[1], line, (size_t)l);
		_exit(0);
	}
	close(a[0]), close(b[0]), close(b[1]), close(c[1]);
	/* 1 MiB of lines of lowercase text */
	static char data[1 << 20];
	uint32_t want = 0;
	for (size_t i = 0; i < sizeof data; i++) {
		data[i] = i % 64 == 63 ? '\n' : (char)('a' + (i * 7 + i / 64) % 26);
		want = want * 31 + (unsigned char)toupper((unsigned char)data[i]);
	}
	for (size_t off = 0; off < sizeof data; off += 10000)
		writeall(a[1], data + off, sizeof data - off < 10000 ? sizeof data - off : 10000);
	close(a[1]);
	char line[128] = "";
	size_t got = readall(c[0], line, sizeof line - 1);
	line[got] = 0;
	close(c[0]);
	int s1 = reap(p1), s2 = reap(p2);
	out("pipeline: sent=%zu %s want_sum=%08x filter=%s counter=%s\n", sizeof data, line,
	    (unsigned)want, wstat(s1), wstat(s2));
}

static void eof(void)
{
	int p[2], hold[2];
	PCHECK(pipe(p) == 0 && pipe(hold) == 0);
	pid_t w1 = pfork();
	if (w1 == 0) {
		close(p[0]);
		writeall(p[1], "first", 5);
		_exit(0);
	}
	pid_t w2 = pfork();
	if (w2 == 0) {
		close(p[0]), close(hold[1]);
		char ch;
		PCHECK(readall(hold[0], &ch, 1) == 1); /* until the parent says so */
		writeall(p[1], "second", 6);
		_exit(0);
	}
	close(p[1]), close(hold[0]);
	char buf[16];
	size_t got = readall(p[0], buf, 5);
	reap(w1);
	struct pollfd pf = {p[0], POLLIN, 0};
	int pr = poll(&pf, 1, 0);
	out("eof: read=%zu '%.5s' one writer left: poll=%d revents=%#x\n", got, buf, pr, pf.revents);
	writeall(hold[1], "g", 1);
	got = readall(p[0], buf, sizeof buf); /* reads until end of file */
	reap(w2);
	out("eof: then read=%zu '%.*s' at eof read=%s\n", got, (int)got, buf, res(read(p[0], buf, 1)));
	close(p[0]), close(hold[1]);

	/* a pipe whose only writer is the reader itself: no end of file */
	PCHECK(pipe(p) == 0);
	PCHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
	out("eof: own writer open read=%s\n", res(read(p[0], buf, 1)));
	close(p[1]);
	out("eof: own writer closed read=%s\n", res(read(p[0], buf, 1)));
	close(p[0]);
}

static void cloexec(void)
{
	int ce[2], pl[2];
	PCHECK(pipe2(ce, O_CLOEXEC) == 0 && pipe(pl) == 0);
	int d = dup(ce[0]);
	int d3 = dup3(pl[0], 50, O_CLOEXEC);
	int dc = fcntl(pl[1], F_DUPFD_CLOEXEC, 60);
	int d2 = dup2(ce[1], 70);
	out("cloexec: pipe2 %d %d pipe %d %d dup %d dup3 %d=%d F_DUPFD_CLOEXEC>=60 %d %d dup2 %d\n",
	    fcntl(ce[0], F_GETFD), fcntl(ce[1], F_GETFD), fcntl(pl[0], F_GETFD),
	    fcntl(pl[1], F_GETFD), fcntl(d, F_GETFD), d3, fcntl(d3, F_GETFD), dc >= 60,
	    fcntl(dc, F_GETFD), fcntl(d2, F_GETFD));
	int cleared = dup(pl[0]);
	PCHECK(fcntl(cleared, F_SETFD, FD_CLOEXEC) == 0);
	int set = fcntl(cleared, F_GETFD);
	PCHECK(fcntl(cleared, F_SETFD, 0) == 0);
	out("cloexec: F_SETFD set=%d cleared=%d flags rd=%d wr=%d\n", set,
	    fcntl(cleared, F_GETFD), fcntl(ce[0], F_GETFL) & O_ACCMODE,
	    fcntl(ce[1], F_GETFL) & O_ACCMODE);
	pid_t p = pfork();
	if (p == 0) {
		char a[8][32];
		int fds[] = {ce[0], ce[1], pl[0], pl[1], d, d3, dc, d2};
		const char *names[] = {"pipe2_r", "pipe2_w", "pipe_r", "pipe_w",
				       "dup", "dup3", "dupfd_cloexec", "dup2"};
		char *args[12] = {"proc_pipe", "@fdcheck"};
		for (int i = 0; i < 8; i++) {
			snprintf(a[i], sizeof a[i], "%s=%d", names[i], fds[i]);
			args[2 + i] = a[i];
		}
		args[10] = NULL;
		exec_self(args);
	}
	out("cloexec: child %s\n", wstat(reap(p)));
	close(ce[0]), close(ce[1]), close(pl[0]), close(pl[1]);
	close(d), close(d3), close(dc), close(d2), close(cleared);
}

static void dups(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	int lowest = dup(p[0]);
	out("dup: lowest_free=%d dup2_same=%d dup3_same=%s dup2_badold=%s dup_bad=%s\n",
	    lowest == p[1] + 1, dup2(p[0], p[0]) == p[0], res(dup3(p[0], p[0], 0)),
	    res(dup2(999, 40)), res(dup(-1)));
	close(lowest);
	/* dup2 onto an open descriptor replaces it */
	int q[2];
	PCHECK(pipe(q) == 0);
	PCHECK(dup2(p[1], q[1]) == q[1]);
	writeall(q[1], "via", 3);
	char buf[8];
	ssize_t n = read(p[0], buf, sizeof buf);
	/* q's write end is gone: its reader sees end of file */
	out("dup: dup2 replaced read=%zd '%.3s' old pipe eof=%s\n", n, buf, res(read(q[0], buf, 1)));
	/* status flags are shared by duplicates */
	int d = dup(p[0]);
	PCHECK(fcntl(d, F_SETFL, O_NONBLOCK) == 0);
	out("dup: O_NONBLOCK shared=%d read=%s\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0,
	    res(read(p[0], buf, 1)));
	int hi = fcntl(p[0], F_DUPFD, 100);
	int c1 = close(hi);
	const char *c2 = res(close(hi));
	out("dup: F_DUPFD>=100 %d close=%d close_again=%s F_GETFD_closed=%s\n", hi >= 100, c1, c2,
	    res(fcntl(hi, F_GETFD)));
	close(d), close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

static void nonblock(void)
{
	int p[2];
	char buf[4096];
	PCHECK(pipe2(p, O_NONBLOCK) == 0);
	out("nonblock: flags rd=%d wr=%d empty read=%s\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0,
	    (fcntl(p[1], F_GETFL) & O_NONBLOCK) != 0, res(read(p[0], buf, 1)));
	memset(buf, 'n', sizeof buf);
	long total = 0;
	ssize_t w;
	while ((w = write(p[1], buf, sizeof buf)) > 0)
		total += w;
	int e = errno;
	int sz = fcntl(p[1], F_GETPIPE_SZ);
	out("nonblock: filled=%ld then %zd/%s F_GETPIPE_SZ=%s\n", total, w, perr(e),
	    sz < 0 ? perr(errno) : (sz == 65536 ? "65536" : "other"));
	/* a partial write: one byte does not fit, neither do 2 pages */
	errno = 0;
	out("nonblock: full write1=%s\n", res(write(p[1], buf, 1)));
	long drained = 0;
	ssize_t r;
	while ((r = read(p[0], buf, sizeof buf)) > 0)
		drained += r;
	out("nonblock: drained=%ld then %s\n", drained, res(r));
	close(p[1]);
	out("nonblock: writer closed read=%s\n", res(read(p[0], buf, 1)));
	close(p[0]);

	/* F_SETFL on a blocking pipe */
	PCHECK(pipe(p) == 0);
	out("nonblock: blocking flags=%d\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
	PCHECK(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK) == 0);
	out("nonblock: F_SETFL read=%s\n", res(read(p[0], buf, 1)));
	close(p[0]), close(p[1]);
}

static const char *ev(short r)
{
	static char buf[4][64];
	static int next;
	char *b = buf[next++ & 3];
	b[0] = 0;
	if (r & POLLIN)
		strcat(b, "|IN");
	if (r & POLLOUT)
		strcat(b, "|OUT");
	if (r & POLLERR)
		strcat(b, "|ERR");
	if (r & POLLHUP)
		strcat(b, "|HUP");
	if (r & POLLNVAL)
		strcat(b, "|NVAL");
	if (r & ~(POLLIN | POLLOUT | POLLERR | POLLHUP | POLLNVAL))
		strcat(b, "|other");
	return b[0] ? b + 1 : "0";
}

static void polls(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
	int r = poll(pf, 2, 0);
	out("poll: empty -> %d rd=%s wr=%s\n", r, ev(pf[0].revents), ev(pf[1].revents));
	writeall(p[1], "x", 1);
	r = poll(pf, 2, 0);
	out("poll: after write -> %d rd=%s wr=%s\n", r, ev(pf[0].revents), ev(pf[1].revents));
	close(p[1]);
	r = poll(pf, 1, 0);
	out("poll: writer closed, data left -> %d rd=%s\n", r, ev(pf[0].revents));
	char c;
	PCHECK(read(p[0], &c, 1) == 1);
	r = poll(pf, 1, 1000);
	out("poll: writer closed, drained -> %d rd=%s\n", r, ev(pf[0].revents));
	close(p[0]);

	PCHECK(pipe(p) == 0);
	close(p[0]);
	struct pollfd w = {p[1], POLLOUT, 0};
	r = poll(&w, 1, 0);
	out("poll: reader closed -> %d wr=%s\n", r, ev(w.revents));
	close(p[1]);
	struct pollfd bad[2] = {{p[1], POLLIN, 0}, {-1, POLLIN, 0x7f}};
	r = poll(bad, 2, 0);
	out("poll: closed fd -> %d revents=%s negative fd revents=%s\n", r, ev(bad[0].revents),
	    ev(bad[1].revents));

	/* blocking poll woken by a child's write */
	PCHECK(pipe(p) == 0);
	pid_t ch = pfork();
	if (ch == 0) {
		usleep(50000);
		writeall(p[1], "late", 4);
		_exit(0);
	}
	struct pollfd one = {p[0], POLLIN, 0};
	r = poll(&one, 1, 10000);
	out("poll: woken -> %d rd=%s\n", r, ev(one.revents));
	reap(ch);

	/* ppoll and pselect */
	struct timespec zero = {0, 0};
	one.revents = 0;
	r = ppoll(&one, 1, &zero, NULL);
	out("ppoll: data -> %d rd=%s\n", r, ev(one.revents));
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(p[0], &rd);
	FD_SET(p[1], &rd);
	FD_SET(p[1], &wr);
	r = pselect(p[1] + 1, &rd, &wr, NULL, &zero, NULL);
	out("pselect: -> %d rd_r=%d rd_w=%d wr_w=%d\n", r, FD_ISSET(p[0], &rd) != 0,
	    FD_ISSET(p[1], &rd) != 0, FD_ISSET(p[1], &wr) != 0);
	char buf[8];
	PCHECK(read(p[0], buf, 4) == 4);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	struct timespec ten_ms = {0, 10000000};
	r = pselect(p[0] + 1, &rd, NULL, NULL, &ten_ms, NULL);
	out("pselect: empty, timeout -> %d rd=%d\n", r, FD_ISSET(p[0], &rd) != 0);
	close(p[0]), close(p[1]);
}

static void selects(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	writeall(p[1], "s", 1);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	struct timeval tv = {0, 0};
	int r = select(p[0] + 1, &rd, NULL, NULL, &tv);
	out("select: -> %s rd=%d\n", res(r), r > 0 && FD_ISSET(p[0], &rd));
	close(p[0]), close(p[1]);
}

static void atomic(void)
{
	int p[2];
	PCHECK(pipe(p) == 0);
	enum { KIDS = 4, RECS = 1000, LEN = 64 };
	pid_t pids[KIDS];
	for (int k = 0; k < KIDS; k++) {
		pids[k] = pfork();
		if (pids[k] == 0) {
			close(p[0]);
			char rec[LEN];
			memset(rec, 'A' + k, LEN);
			for (int i = 0; i < RECS; i++)
				PCHECK(write(p[1], rec, LEN) == LEN);
			_exit(0);
		}
	}
	close(p[1]);
	static char all[KIDS * RECS * LEN];
	size_t got = readall(p[0], all, sizeof all);
	char extra;
	size_t more = readall(p[0], &extra, 1);
	close(p[0]);
	int count[KIDS] = {0}, torn = 0;
	for (size_t off = 0; off + LEN <= got; off += LEN) {
		int k = all[off] - 'A';
		int whole = k >= 0 && k < KIDS;
		for (int i = 1; whole && i < LEN; i++)
			whole = all[off + i] == all[off];
		if (whole)
			count[k]++;
		else
			torn++;
	}
	for (int k = 0; k < KIDS; k++)
		reap(pids[k]);
	out("atomic: bytes=%zu extra=%zu records=%d,%d,%d,%d torn=%d pipe_buf=%d\n", got, more,
	    count[0], count[1], count[2], count[3], torn, PIPE_BUF);
}

static const struct pcase cases[] = {
	{"pipeline", pipeline}, {"eof", eof},	    {"cloexec", cloexec}, {"dup", dups},
	{"nonblock", nonblock}, {"poll", polls},    {"atomic", atomic},	  {"select", selects},
};

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "@upper") == 0)
		return role_upper();
	if (argc > 1 && strcmp(argv[1], "@fdcheck") == 0)
		return role_fdcheck(argc, argv);
	return run_cases(cases, NCASES(cases), argc, argv);
}
