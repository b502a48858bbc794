/*
 * Wake-up latency: a one-byte (or one-word) token bounced between two
 * sides, each of which sleeps in the kernel until the token arrives.
 * argv (after an optional -q): MECHANISM SIDES
 *
 *   MECHANISM  pipe   write 1 byte into the other side's pipe, read 1 byte
 *                     from one's own (blocking read)
 *              futex  a turn word in a MAP_SHARED page: store the other
 *                     side's number, FUTEX_WAKE; wait with FUTEX_WAIT
 *                     (shared, not _PRIVATE) until the word names oneself
 *              poll   eventfds: write 1 to the other side's; poll() one's
 *                     own for POLLIN, then read it
 *              epoll  the same with epoll_wait() on an epoll instance of
 *                     one's own
 *   SIDES      thread  two threads of one process
 *              process a parent and a forked child
 *
 * 20000 round trips (5000 with -q) after 200 untimed ones. Prints
 * roundtrip_us (the time of one round trip: two hand-offs, each a wake-up
 * of a side that is, or may be, asleep) and the check of the rounds done.
 * A watchdog (alarm, 60 s) ends a run whose hand-off got lost.
 */
#include "bench.h"
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

enum { WARM = 200 };

static const char *mech;
static long rounds;
static int pipes[2][2];   /* pipes[s]: into side s */
static int efd[2];        /* eventfd of side s */
static int *turn;         /* futex word, MAP_SHARED */
static double elapsed;    /* side 0's timed part */

static void futex_wait(int *w, int val)
{
	if (syscall(SYS_futex, w, FUTEX_WAIT, val, NULL, NULL, 0) && errno != EAGAIN && errno != EINTR)
		die("FUTEX_WAIT");
}

static void futex_wake(int *w)
{
	if (syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0) < 0)
		die("FUTEX_WAKE");
}

static void send_to(int to)
{
	char c = 'x';
	uint64_t one = 1;
	switch (mech[0]) {
	case 'p':
		if (mech[1] == 'i') {
			if (write(pipes[to][1], &c, 1) != 1)
				die("pipe write");
		} else if (write(efd[to], &one, 8) != 8)
			die("eventfd write");
		break;
	case 'e':
		if (write(efd[to], &one, 8) != 8)
			die("eventfd write");
		break;
	case 'f':
		__atomic_store_n(turn, to, __ATOMIC_SEQ_CST);
		futex_wake(turn);
		break;
	}
}

static void receive(int me, int ep)
{
	char c;
	uint64_t v;
	switch (mech[0]) {
	case 'p':
		if (mech[1] == 'i') {
			if (read(pipes[me][0], &c, 1) != 1)
				die("pipe read");
			return;
		}
		struct pollfd p = {.fd = efd[me], .events = POLLIN};
		if (poll(&p, 1, -1) != 1 || !(p.revents & POLLIN))
			die("poll");
		if (read(efd[me], &v, 8) != 8 || v != 1)
			die("eventfd read");
		return;
	case 'e': {
		struct epoll_event ev;
		if (epoll_wait(ep, &ev, 1, -1) != 1)
			die("epoll_wait");
		if (read(efd[me], &v, 8) != 8 || v != 1)
			die("eventfd read");
		return;
	}
	case 'f':
		for (;;) {
			int t = __atomic_load_n(turn, __ATOMIC_SEQ_CST);
			if (t == me)
				return;
			futex_wait(turn, t);
		}
	}
}

/* side runs one side's rounds and returns how many it completed. */
static long side(int me)
{
	int ep = -1;
	if (mech[0] == 'e') {
		struct epoll_event ev = {.events = EPOLLIN};
		ep = epoll_create1(0);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd[me], &ev))
			die("epoll");
	}
	long done = 0;
	double t0 = 0;
	for (long i = 0; i < WARM + rounds; i++) {
		if (me == 0 && i == WARM)
			t0 = now();
		if (me == 0) {
			send_to(1);
			receive(0, ep);
		} else {
			receive(1, ep);
			send_to(0);
		}
		done++;
	}
	if (me == 0)
		elapsed = now() - t0;
	if (ep >= 0)
		close(ep);
	return done;
}

static void *thread_side(void *arg)
{
	(void)arg;
	return (void *)side(1);
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	if (argc < 3) {
		errno = EINVAL;
		die("usage: pingpong [-q] pipe|futex|poll|epoll thread|process");
	}
	mech = argv[argc - 2];
	const char *sides = argv[argc - 1];
	rounds = quick ? 5000 : 20000;
	alarm(60);
	if (strcmp(mech, "pipe") == 0) {
		if (pipe(pipes[0]) || pipe(pipes[1]))
			die("pipe");
	} else if (strcmp(mech, "poll") == 0 || strcmp(mech, "epoll") == 0) {
		efd[0] = eventfd(0, 0);
		efd[1] = eventfd(0, 0);
		if (efd[0] < 0 || efd[1] < 0)
			die("eventfd");
	} else if (strcmp(mech, "futex") == 0) {
		turn = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (turn == MAP_FAILED)
			die("mmap");
		*turn = 0;  /* side 0 starts by handing the turn to side 1 */
	} else {
		errno = EINVAL;
		die("unknown mechanism %s", mech);
	}
	long mine, theirs;
	if (strcmp(sides, "thread") == 0) {
		pthread_t t;
		void *ret;
		if (pthread_create(&t, NULL, thread_side, NULL))
			die("pthread_create");
		mine = side(0);
		if (pthread_join(t, &ret))
			die("pthread_join");
		theirs = (long)ret;
	} else if (strcmp(sides, "process") == 0) {
		pid_t c = fork();
		if (c < 0)
			die("fork");
		if (c == 0)
			_exit(side(1) == WARM + rounds ? 0 : 2);
		mine = side(0);
		int st;
		if (waitpid(c, &st, 0) != c)
			die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("child: status %#x", st);
		theirs = mine;
	} else {
		errno = EINVAL;
		die("unknown sides %s", sides);
	}
	report("roundtrip_us", elapsed * 1e6 / rounds, NULL);
	check("rounds", (unsigned long long)(mine + theirs));
	return 0;
}
