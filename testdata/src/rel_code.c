// variants: glibc musl
/* rel_code: code the kernel writes into an executable page runs as
 * written, not as it ran before (x86 needs no instruction-cache flush):
 *   read    read() from a file over a function that already ran
 *   pvm     a parent's process_vm_writev over a function its child ran
 *   pwrite  pread() variant: the page written through a pipe
 * Each prints what the function returns before and after. */
#define _GNU_SOURCE
#include "proc.h"
#include <sys/mman.h>
#include <sys/uio.h>

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

static const struct pcase cases[] = {
	{"read", read_case},
	{"pipe", pipe_case},
	{"pvm", pvm_case},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
