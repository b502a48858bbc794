/* ev_epoll_fork: an epoll file shared across fork. The child waits on the
 * parent's epoll file and sees the parent's eventfd; an interest the child
 * adds (its own eventfd) shows in the parent's waits while the child
 * lives, and leaves the set when the child exits and its file goes; the
 * child's close of an inherited descriptor keeps the interest, the file
 * being still open in the parent. One line a case; exit 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

static int wait_tags(const char *label, int ep, int timeout)
{
	struct epoll_event evs[8];
	int n = epoll_wait(ep, evs, 8, timeout);
	CHECK(n >= 0);
	unsigned mask = 0;
	for (int i = 0; i < n; i++)
		mask |= 1u << evs[i].data.u32;
	printf("%s: %d tags %#x\n", label, n, mask);
	return n;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int ep = epoll_create1(0);
	int e = eventfd(0, 0);
	int go[2], back[2];
	CHECK(ep >= 0 && e >= 0 && pipe(go) == 0 && pipe(back) == 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0);

	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* the parent's eventfd, through the shared epoll file */
		wait_tags("child: parent's eventfd", ep, 5000);
		/* an interest of the child's own */
		int mine = eventfd(1, 0);
		struct epoll_event cev = {.events = EPOLLIN, .data.u32 = 2};
		CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, mine, &cev) == 0);
		close(e); /* still open in the parent: stays in the set */
		CHECK(write(back[1], "a", 1) == 1);
		char c;
		CHECK(read(go[0], &c, 1) == 1);
		_exit(0);
	}
	usleep(30000);
	uint64_t one = 1;
	CHECK(write(e, &one, 8) == 8);
	char c;
	CHECK(read(back[0], &c, 1) == 1);
	wait_tags("parent: its eventfd and the child's", ep, 0);
	CHECK(write(go[1], "b", 1) == 1);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	printf("child exit %d\n", WEXITSTATUS(status));
	wait_tags("parent: after the child exited", ep, 0);
	uint64_t v;
	CHECK(read(e, &v, 8) == 8);
	wait_tags("parent: all read", ep, 0);
	printf("done\n");
	return 0;
}
