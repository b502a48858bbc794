/* Shared helpers for the cmaemu test guests: plain libc only (glibc and musl,
 * x86-64 and i386). Everything here is static inline so that a guest that
 * does not use a helper still builds with -Wall -Werror. */
#ifndef CMAEMU_GUEST_H
#define CMAEMU_GUEST_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* errname returns the symbolic name of an errno value ("ENOENT"), so that
 * guests print names rather than libc-specific strerror texts. */
static inline const char *errname(int e)
{
	static char other[32];
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EOVERFLOW: return "EOVERFLOW";
	case ELOOP: return "ELOOP";
	case EXDEV: return "EXDEV";
	case EROFS: return "EROFS";
	case ENXIO: return "ENXIO";
	case ENODEV: return "ENODEV";
	case ENOTTY: return "ENOTTY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETXTBSY: return "ETXTBSY";
	case EDEADLK: return "EDEADLK";
	case ENOLCK: return "ENOLCK";
	}
	snprintf(other, sizeof other, "errno%d", e);
	return other;
}

/* CHECK stops the guest with status 1 and a FAIL line when cond is false. */
#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			printf("FAIL %s:%d: %s (errno=%s)\n", __FILE__,      \
			       __LINE__, #cond, errname(errno));             \
			fflush(stdout);                                      \
			exit(1);                                             \
		}                                                            \
	} while (0)

/* say prints a line and flushes stdout at once: used right before a guest
 * deliberately dies by a signal, so the line is not lost in a buffer. */
static inline void say(const char *line)
{
	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* voutf formats one line and writes it to fd 1 with a single write(2),
 * so that output from forked processes is never duplicated or torn. */
static inline void voutf(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	for (char *p = buf; n > 0;) {
		ssize_t w = write(1, p, (size_t)n);
		if (w <= 0)
			return;
		p += w, n -= (int)w;
	}
}

/* outf is voutf with its arguments. */
static inline void outf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	voutf(fmt, ap);
	va_end(ap);
}

#ifdef GUEST_CMA
/* Cross Memory Attach helpers (process_vm_readv/process_vm_writev), for the
 * cma_*.c guests, which define GUEST_CMA before including this header.
 * Their remotes are forked children, so every line is written with outf()
 * (one write(2) a line, no stdio buffer a fork could duplicate). */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define CMA_PAGE 4096UL
#define CMA_MAX_RW_COUNT 0x7ffff000UL /* INT_MAX & PAGE_MASK */
#define CMA_UIO_MAXIOV 1024
#ifdef __x86_64__
#define CMA_NR_READV 310
#define CMA_NR_WRITEV 311
#define CMA_TASK_SIZE 0x7ffffffff000UL /* x86-64, 4-level paging */
#else
#define CMA_NR_READV SYS_process_vm_readv
#define CMA_NR_WRITEV SYS_process_vm_writev
#endif
/* CMA_HI32 is 1<<32 where unsigned long has 64 bits (0 on i386, where the
 * cases that use it are not compiled). */
#if ULONG_MAX > 0xffffffffUL
#define CMA_HI32 (1UL << 32)
#endif


/* cma_rw is the raw syscall: process_vm_writev when write is set, else
 * process_vm_readv; every argument is passed at full register width. */
static inline long cma_rw(int write, unsigned long pid, const void *liov,
			  unsigned long liovcnt, const void *riov,
			  unsigned long riovcnt, unsigned long flags)
{
	errno = 0;
	return syscall(write ? CMA_NR_WRITEV : CMA_NR_READV, pid, liov,
		       liovcnt, riov, riovcnt, flags);
}

/* cma_res formats a result: "ret=N", or "ret=-1 errno=NAME" on failure
 * (errno must still be the call's). Each call reuses one of four buffers. */
static inline const char *cma_res(long ret)
{
	static char buf[4][80];
	static int next;
	char *b = buf[next++ & 3];
	if (ret < 0)
		snprintf(b, sizeof buf[0], "ret=%ld errno=%s", ret, errname(errno));
	else
		snprintf(b, sizeof buf[0], "ret=%ld", ret);
	return b;
}

/* cma_say prints "name: ret=..." for a call's result. */
static inline void cma_say(const char *name, long ret)
{
	outf("%s: %s\n", name, cma_res(ret));
}

/* cma_map maps n bytes of private anonymous memory with prot. */
static inline unsigned char *cma_map(size_t n, int prot)
{
	void *p = mmap(NULL, n, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	return p;
}

/* cma_pat is byte i of the test pattern seed. */
static inline unsigned char cma_pat(size_t i, unsigned seed)
{
	return (unsigned char)(seed * 41u + i * 7u + (i >> 8) * 13u + 1u);
}

static inline void cma_fill(unsigned char *p, size_t n, size_t off, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = cma_pat(off + i, seed);
}

/* cma_same: p[0:n] holds the pattern seed from offset off. */
static inline int cma_same(const unsigned char *p, size_t n, size_t off, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != cma_pat(off + i, seed))
			return 0;
	return 1;
}

/* cma_all: every byte of p[0:n] is c. */
static inline int cma_all(const unsigned char *p, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

/* cma_send/cma_recv move exactly n bytes through a pipe; cma_recv returns
 * 0 at end of file (the other side closed its end). */
static inline void cma_send(int fd, const void *p, size_t n)
{
	for (const char *c = p; n > 0;) {
		ssize_t w = write(fd, c, n);
		CHECK(w > 0);
		c += w, n -= (size_t)w;
	}
}

static inline int cma_recv(int fd, void *p, size_t n)
{
	for (char *c = p; n > 0;) {
		ssize_t r = read(fd, c, n);
		if (r == 0)
			return 0;
		CHECK(r > 0);
		c += r, n -= (size_t)r;
	}
	return 1;
}

/* A remote: a forked child running fn(arg, out, in) with pipes to and from
 * the parent. fn typically maps memory, sends its addresses on out, waits
 * with cma_hold(in) until the parent is done and returns its exit status. */
typedef struct {
	pid_t pid;
	int to;   /* parent -> child: the child's in */
	int from; /* child -> parent: the child's out */
} cma_child;

static inline cma_child cma_spawn(int (*fn)(void *arg, int out, int in), void *arg)
{
	int down[2], up[2];
	CHECK(pipe(down) == 0 && pipe(up) == 0);
	fflush(stdout);
	cma_child c = {fork(), down[1], up[0]};
	CHECK(c.pid >= 0);
	if (c.pid == 0) {
		close(down[1]), close(up[0]);
		_exit(fn(arg, up[1], down[0]));
	}
	close(down[0]), close(up[1]);
	return c;
}

/* cma_hold blocks until the parent closes its end (or sends a byte):
 * returns the byte, or -1 at end of file. */
static inline int cma_hold(int in)
{
	unsigned char b;
	return cma_recv(in, &b, 1) ? b : -1;
}

/* cma_reap releases the child (closes the pipes), reaps it and returns
 * its exit status (128+N for a death by signal N). */
static inline int cma_reap(cma_child *c)
{
	int st;
	close(c->to), close(c->from);
	CHECK(waitpid(c->pid, &st, 0) == c->pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
#endif /* GUEST_CMA */

#endif
