// Cross-modifying code between processes: one process runs a function in
// MAP_SHARED executable memory, another rewrites the function's immediate
// between rounds, handing off through pipes. Each round prints the value
// the function returned: the code as last written, not a stale copy.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 6

typedef int (*fn_t)(void);

// put_code writes "mov eax, imm; ret" at p (the same bytes in 32- and 64-bit mode).
static void put_code(volatile uint8_t *p, uint32_t imm)
{
	p[0] = 0xb8;
	memcpy((uint8_t *)p + 1, &imm, 4);
	p[5] = 0xc3;
}

static void put_imm(volatile uint8_t *p, uint32_t imm)
{
	for (int i = 0; i < 4; i++)
		p[1 + i] = (uint8_t)(imm >> (8 * i));
}

static int xread(int fd, void *b, size_t n)
{
	return read(fd, b, n) == (ssize_t)n ? 0 : -1;
}

// runner calls fn once per token read from in and writes the result to out.
static void runner(fn_t fn, int in, int out)
{
	char t;
	while (xread(in, &t, 1) == 0 && t == 'r') {
		int v = fn();
		if (write(out, &v, sizeof v) != sizeof v)
			_exit(3);
	}
	_exit(0);
}

// rounds drives the runner: before each round, set(i) rewrites the code.
static int rounds(const char *name, int to, int from, void (*set)(void *, uint32_t), void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		if (i > 0)
			set(arg, 100 + i);
		char t = 'r';
		int v;
		if (write(to, &t, 1) != 1 || xread(from, &v, sizeof v) != 0) {
			printf("%s: round %d: lost the runner\n", name, i);
			return 1;
		}
		printf("%s: round %d: %d\n", name, i, v);
	}
	char q = 'q';
	if (write(to, &q, 1) != 1)
		return 1;
	return 0;
}

static void set_mem(void *arg, uint32_t imm) { put_imm(arg, imm); }

static void set_pwrite(void *arg, uint32_t imm)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(imm >> (8 * i));
	if (pwrite(*(int *)arg, b, 4, 1) != 4)
		printf("pwrite failed\n");
}

// start forks a runner of the function at offset 0 of the page that
// map_runner returns in the child; it returns the child's pid.
static pid_t start(int *to, int *from, void *(*map_runner)(void *), void *arg)
{
	int a[2], b[2];
	if (pipe(a) || pipe(b))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		void *p = map_runner(arg);
		if (!p)
			_exit(4);
		runner((fn_t)p, a[0], b[1]);
	}
	close(a[0]);
	close(b[1]);
	*to = a[1];
	*from = b[0];
	return pid;
}

static int finish(const char *name, pid_t pid, int to, int from)
{
	int st;
	close(to);
	close(from);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("%s: runner status %#x\n", name, st);
		return 1;
	}
	return 0;
}

static void *same(void *arg) { return arg; }

static void *map_rx(void *arg)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, *(int *)arg, 0);
	return p == MAP_FAILED ? NULL : p;
}

// anon: anonymous shared memory inherited across fork; the parent writes.
static int anon(void)
{
	uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	put_code(p, 100);
	int to, from;
	pid_t pid = start(&to, &from, same, p);
	int bad = rounds("anon", to, from, set_mem, p);
	return finish("anon", pid, to, from) | bad;
}

// memfd: the parent writes through a read-write view, or with pwrite;
// the child runs its own read-execute view.
static int memfd(int use_pwrite)
{
	const char *name = use_pwrite ? "memfd-pwrite" : "memfd";
	int fd = syscall(SYS_memfd_create, "code", 0);
	if (fd < 0 || ftruncate(fd, 4096))
		return 1;
	uint8_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED)
		return 1;
	put_code(w, 100);
	int to, from;
	pid_t pid = start(&to, &from, map_rx, &fd);
	int bad = use_pwrite ? rounds(name, to, from, set_pwrite, &fd) : rounds(name, to, from, set_mem, w);
	bad |= finish(name, pid, to, from);
	munmap(w, 4096);
	close(fd);
	return bad;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int bad = anon();
	bad |= memfd(0);
	bad |= memfd(1);
	return bad;
}
