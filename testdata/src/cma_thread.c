/* cma_thread: thread ids as the pid of process_vm_readv/process_vm_writev.
 * A thread's id (gettid) names its whole process: the guest reads and
 * writes itself through a second thread's tid, that thread reads the guest
 * through its own tid and the process id, and a thread of a forked child
 * names that child. Bit 32 of a tid is ignored like that of a pid. Once a
 * thread is joined (or its process reaped) its tid is ESRCH. One line a
 * case; exit status 0. */
#define _GNU_SOURCE
#define GUEST_CMA
#include "guest.h"
#include <pthread.h>

#define N 64
static unsigned char *buf, *dst;
static int up[2], down[2]; /* thread -> main, main -> thread */

static long tid(void) { return syscall(SYS_gettid); }

static void rd(const char *name, unsigned long pid, const unsigned char *from, unsigned seed)
{
	unsigned char got[N];
	struct iovec l = {got, N}, r = {(void *)from, N};
	memset(got, 0xee, N);
	long ret = cma_rw(0, pid, &l, 1, &r, 1, 0);
	if (ret < 0)
		outf("%s: %s\n", name, cma_res(ret));
	else
		outf("%s: %s bytes_ok=%d\n", name, cma_res(ret), cma_same(got, N, 0, seed));
}

struct thread_info {
	long tid;
	unsigned char *stack; /* N bytes of seed 4 on the thread's stack */
};

static void *thread(void *arg)
{
	unsigned char local[N];
	cma_fill(local, N, 0, 4);
	struct thread_info ti = {tid(), local};
	unsigned seed = (unsigned)(uintptr_t)arg; /* of buf in this process */
	const char *who = seed == 1 ? "thread" : "child's thread";
	char name[96];
	/* the thread reads its process's buffer through its own tid and the
	 * main thread's (the process id) */
	snprintf(name, sizeof name, "%s reads through its own tid", who);
	rd(name, (unsigned long)ti.tid, buf, seed);
	snprintf(name, sizeof name, "%s reads through the process id", who);
	rd(name, (unsigned long)getpid(), buf, seed);
	cma_send(up[1], &ti, sizeof ti);
	cma_hold(down[0]); /* until main is done with this thread */
	return cma_same(local, N, 0, 5) ? (void *)1 : NULL;
}

static int child(void *arg, int out, int in)
{
	(void)arg;
	cma_fill(buf, N, 0, 2);
	pthread_t t;
	CHECK(pipe(up) == 0 && pipe(down) == 0);
	CHECK(pthread_create(&t, NULL, thread, (void *)2) == 0);
	struct thread_info ti;
	CHECK(cma_recv(up[0], &ti, sizeof ti));
	cma_send(out, &ti.tid, sizeof ti.tid);
	cma_hold(in);
	close(down[1]);
	CHECK(pthread_join(t, NULL) == 0);
	return 0;
}

int main(void)
{
	buf = cma_map(CMA_PAGE, PROT_READ | PROT_WRITE);
	dst = cma_map(CMA_PAGE, PROT_READ | PROT_WRITE);
	cma_fill(buf, N, 0, 1);

	/* a forked child with a second thread: its tid names the child */
	cma_child c = cma_spawn(child, NULL);
	long ctid;
	CHECK(cma_recv(c.from, &ctid, sizeof ctid));
	rd("child thread tid", (unsigned long)ctid, buf, 2);
	rd("child pid", (unsigned long)c.pid, buf, 2);
	CHECK(cma_reap(&c) == 0);
	rd("reaped child thread tid", (unsigned long)ctid, buf, 2);

	/* a second thread of the guest itself */
	pthread_t t;
	CHECK(pipe(up) == 0 && pipe(down) == 0);
	CHECK(pthread_create(&t, NULL, thread, (void *)1) == 0);
	struct thread_info ti;
	CHECK(cma_recv(up[0], &ti, sizeof ti));
	rd("own buffer through the thread tid", (unsigned long)ti.tid, buf, 1);
	rd("thread stack through the thread tid", (unsigned long)ti.tid, ti.stack, 4);
	rd("thread stack through the process id", (unsigned long)getpid(), ti.stack, 4);
#ifdef CMA_HI32
	rd("thread tid|1<<32", (unsigned long)ti.tid | CMA_HI32, buf, 1);
#endif
	cma_fill(dst, N, 0, 5);
	struct iovec l = {dst, N}, r = {ti.stack, N};
	long ret = cma_rw(1, (unsigned long)ti.tid, &l, 1, &r, 1, 0);
	outf("writev thread stack through the thread tid: %s\n", cma_res(ret));
	close(down[1]);
	void *res;
	CHECK(pthread_join(t, &res) == 0);
	outf("thread saw the writev: %d\n", res != NULL);
	/* pthread_join returns once the kernel has cleared the thread's tid
	 * word, which it does just before the exiting thread drops its mm:
	 * for a moment the tid may still name the process. Wait (up to 5 s)
	 * for the tid to go away, then check both calls. */
	struct iovec lg = {dst, N}, rg = {buf, N};
	for (int i = 0; i < 5000 && cma_rw(0, (unsigned long)ti.tid, &lg, 1, &rg, 1, 0) >= 0; i++)
		usleep(1000);
	rd("joined thread tid", (unsigned long)ti.tid, buf, 1);
	ret = cma_rw(1, (unsigned long)ti.tid, &l, 1, &r, 1, 0);
	outf("joined thread tid writev: %s\n", cma_res(ret));
	return 0;
}
