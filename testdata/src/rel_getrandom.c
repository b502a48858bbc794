/* rel_getrandom: getrandom's argument rules, as Linux has them.
 *   flags   each of the 32 flag bits alone: GRND_NONBLOCK, GRND_RANDOM
 *           and GRND_INSECURE are accepted, every other bit is EINVAL
 *           (also with a bad buffer: flags are checked first);
 *           GRND_RANDOM|GRND_INSECURE is EINVAL; on x86-64 the upper
 *           half of the flags register is not looked at
 *   count   0 bytes (at NULL, at TASK_SIZE: 0; past it: EFAULT); NULL
 *           (EFAULT); counts above MAX_RW_COUNT (0x7ffff000), up to
 *           SIZE_MAX, are cut to it before the buffer is checked, so a
 *           one-page buffer before a PROT_NONE page gets 4096 bytes (the
 *           buffer is low enough for buffer+MAX_RW_COUNT to pass the
 *           TASK_SIZE check)
 *   big     a 36 MiB buffer is filled whole (no cap at 33554431, which
 *           older kernels had), and a 40 MiB request into 36 MiB before
 *           a PROT_NONE page stops at the page
 * One line a check; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define G_NONBLOCK 1
#define G_RANDOM 2
#define G_INSECURE 4

static long gr(void *buf, unsigned long n, unsigned long flags)
{
	return syscall(SYS_getrandom, buf, n, flags);
}

/* guarded maps n bytes of read-write memory followed by a PROT_NONE page,
 * at a low address: the buffer plus MAX_RW_COUNT stays below TASK_SIZE
 * wherever the kernel would place mappings. */
static char *guarded(size_t n)
{
	/* the first free low address from 0x30000000 on (MAP_FIXED there
	 * could replace memory the libc uses) */
	char *p = MAP_FAILED;
	for (uintptr_t at = 0x30000000UL; p == MAP_FAILED && at < 0x80000000UL; at += 0x4000000UL) {
		p = mmap((void *)at, n + 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != MAP_FAILED && p != (char *)at) { /* a kernel without NOREPLACE: a hint */
			munmap(p, n + 4096);
			p = MAP_FAILED;
		}
	}
	PCHECK(p != MAP_FAILED);
	PCHECK(mprotect(p + n, 4096, PROT_NONE) == 0);
	return p;
}

static void flags_case(void)
{
	char buf[8];
	for (int b = 0; b < 32; b++)
		out("flag bit %d: %s\n", b, res(gr(buf, sizeof buf, 1UL << b)));
	out("random|insecure: %s\n", res(gr(buf, sizeof buf, G_RANDOM | G_INSECURE)));
	out("nonblock|insecure: %s\n", res(gr(buf, sizeof buf, G_NONBLOCK | G_INSECURE)));
	out("nonblock|random: %s\n", res(gr(buf, sizeof buf, G_NONBLOCK | G_RANDOM)));
	out("bad flag, NULL buffer: %s\n", res(gr(NULL, 8, 8)));
	out("random|insecure, NULL buffer: %s\n", res(gr(NULL, 8, G_RANDOM | G_INSECURE)));
#ifdef __x86_64__
	out("flags 1<<32 (as 0): %s\n", res(gr(buf, sizeof buf, 1UL << 32)));
	out("flags 1<<32|8 (as 8): %s\n", res(gr(buf, sizeof buf, 1UL << 32 | 8)));
#endif
}

static void count_case(void)
{
	out("0 at NULL: %s\n", res(gr(NULL, 0, 0)));
	out("1 at NULL: %s\n", res(gr(NULL, 1, 0)));
#ifdef __x86_64__
	out("0 at TASK_SIZE: %s\n", res(gr((void *)0x7ffffffff000UL, 0, 0)));
	out("0 past TASK_SIZE: %s\n", res(gr((void *)0x7ffffffff001UL, 0, 0)));
	out("0 non-canonical: %s\n", res(gr((void *)0x0001000000000000UL, 0, 0)));
#endif
	char *p = guarded(4096);
	memset(p, 0, 4096);
	out("SIZE_MAX into one page: %s\n", res(gr(p, SIZE_MAX, 0)));
	out("SIZE_MAX/2+1 into one page: %s\n", res(gr(p, SIZE_MAX / 2 + 1, 0)));
	out("0x7ffff001 into one page: %s\n", res(gr(p, 0x7ffff001UL, 0)));
	out("0x7ffff000 into one page: %s\n", res(gr(p, 0x7ffff000UL, 0)));
	out("4097 into one page: %s\n", res(gr(p, 4097, 0)));
	out("at the guard page: %s\n", res(gr(p + 4096, 1, 0)));
	out("last byte and the guard page: %s\n", res(gr(p + 4095, 2, 0)));
	PCHECK(munmap(p, 8192) == 0);
}

static int page_nonzero(const char *p)
{
	for (int i = 0; i < 4096; i++)
		if (p[i])
			return 1;
	return 0;
}

static void big_case(void)
{
	size_t n = 36 << 20;
	char *p = guarded(n);
	out("36 MiB: %s\n", res(gr(p, n, 0)));
	out("first and last page written: %d\n", page_nonzero(p) && page_nonzero(p + n - 4096));
	memset(p, 0, n);
	out("40 MiB into 36 MiB: %s\n", res(gr(p, 40 << 20, 0)));
	out("last page written: %d\n", page_nonzero(p + n - 4096));
	PCHECK(munmap(p, n + 4096) == 0);
}

static const struct pcase cases[] = {
	{"flags", flags_case},
	{"count", count_case},
	{"big", big_case},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
