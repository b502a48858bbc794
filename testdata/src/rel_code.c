// variants: glibc musl
/* rel_code: code the kernel writes into an executable page runs as
 * written, not as it ran before (x86 needs no instruction-cache flush):
 *   read    read() from a file over a function that already ran
 *   pvm     a parent's process_vm_writev over a function its child ran
 *   pwrite  pread() variant: the page written through a pipe
 *   store   the thread itself stores new code over a function it ran
 *   thread  another thread stores new code over a function the first
 *           thread runs in a loop (which then serializes with CPUID, as
 *           the SDM asks of cross-modifying code)
 * Each prints what the function returns before and after. */
#define _GNU_SOURCE
#include "proc.h"
#include <sys/mman.h>
#include <sys/uio.h>
#include <pthread.h>
#include <stdatomic.h>

typedef int (*fn_t)(void);

/* code returning n: mov eax, n; ret */
static void put_code(unsigned char *p, int n)
{
	p[0] = 0xb8;
	memcpy(p + 1, &n, 4);
	p[5] = 0xc3;
}

static unsigned char *rwx_page(void)
{
	unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PCHECK(p != MAP_FAILED);
	return p;
}

static void read_case(void)
{
	unsigned char *p = rwx_page();
	put_code(p, 1);
	int before = ((fn_t)p)();
	unsigned char code[6];
	put_code(code, 2);
	int fd = open("rel_code.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
	PCHECK(fd >= 0 && write(fd, code, 6) == 6 && lseek(fd, 0, SEEK_SET) == 0);
	PCHECK(read(fd, p, 6) == 6);
	out("read: before %d after %d\n", before, ((fn_t)p)());
	close(fd);
	unlink("rel_code.tmp");
	munmap(p, 4096);
}

static void pipe_case(void)
{
	unsigned char *p = rwx_page();
	put_code(p, 3);
	int before = ((fn_t)p)();
	unsigned char code[6];
	put_code(code, 4);
	int fds[2];
	PCHECK(pipe(fds) == 0 && write(fds[1], code, 6) == 6);
	PCHECK(read(fds[0], p, 6) == 6);
	out("pipe: before %d after %d\n", before, ((fn_t)p)());
	close(fds[0]), close(fds[1]);
	munmap(p, 4096);
}

static void pvm_case(void)
{
	unsigned char *p = rwx_page();
	put_code(p, 5);
	int ran[2], go[2];
	PCHECK(pipe(ran) == 0 && pipe(go) == 0);
	pid_t c = pfork();
	if (c == 0) {
		int before = ((fn_t)p)();
		PCHECK(write(ran[1], "r", 1) == 1);
		char x;
		PCHECK(read(go[0], &x, 1) == 1);
		out("pvm: child before %d after %d\n", before, ((fn_t)p)());
		_exit(0);
	}
	char x;
	PCHECK(read(ran[0], &x, 1) == 1);
	unsigned char code[6];
	put_code(code, 6);
	struct iovec l = {code, 6}, r = {p, 6};
	out("pvm: process_vm_writev -> %s\n", res(process_vm_writev(c, &l, 1, &r, 1, 0)));
	PCHECK(write(go[1], "g", 1) == 1);
	out("pvm: child %s\n", wstat(reap(c)));
	munmap(p, 4096);
}

static void store_case(void)
{
	unsigned char *p = rwx_page();
	put_code(p, 7);
	int before = ((fn_t)p)();
	put_code(p, 8);
	out("store: before %d after %d\n", before, ((fn_t)p)());
	munmap(p, 4096);
}

static atomic_int stage;

static void serialize(void)
{
	unsigned a = 0, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
}

/* runner calls the function until it returns 10, at most 2000000 times
 * after the writer is done, and returns what it last returned. */
static void *runner(void *arg)
{
	fn_t f = (fn_t)arg;
	long r = f();
	atomic_store(&stage, 1);
	while (atomic_load(&stage) != 2)
		r = f();
	for (long i = 0; i < 2000000 && r != 10; i++) {
		serialize();
		r = f();
	}
	return (void *)r;
}

static void thread_case(void)
{
	unsigned char *p = rwx_page();
	put_code(p, 9);
	pthread_t t;
	PCHECK(pthread_create(&t, NULL, runner, p) == 0);
	while (atomic_load(&stage) != 1)
		;
	put_code(p, 10);
	atomic_store(&stage, 2);
	void *r;
	PCHECK(pthread_join(t, &r) == 0);
	out("thread: the running thread sees %ld\n", (long)r);
	munmap(p, 4096);
}

static const struct pcase cases[] = {
	{"read", read_case},
	{"pipe", pipe_case},
	{"pvm", pvm_case},
	{"store", store_case},
	{"thread", thread_case},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
