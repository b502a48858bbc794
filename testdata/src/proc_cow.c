// variants: glibc musl
/* proc_cow: memory across fork. Private memory is copied on write: parent
 * and child write the same page (global, stack, heap) after fork and each
 * sees its own; an 8 MiB malloc'd buffer has the same checksum on both
 * sides and the child's writes do not reach the parent. MAP_SHARED
 * anonymous memory is shared both ways (also a counter that four children
 * increment 100000 times each with lock xadd), MAP_PRIVATE is not; a
 * child's munmap and mprotect leave the parent's mapping alone; a
 * MAP_SHARED file mapping written by a child is seen by the parent and in
 * the file. One line a case; exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <stdint.h>
#include <sys/mman.h>

#define PAGE 4096

static char global_page[PAGE] __attribute__((aligned(PAGE)));

static int all(const volatile char *p, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

/* sync_pair: two pipes, so that parent and child can take turns. */
struct turn {
	int to_child[2], to_parent[2];
};

static void turn_init(struct turn *t)
{
	PCHECK(pipe(t->to_child) == 0 && pipe(t->to_parent) == 0);
}

static void turn_wait(int fd)
{
	char c;
	PCHECK(readall(fd, &c, 1) == 1);
}

static void cow_page(void)
{
	char stack_page[PAGE];
	char *heap = malloc(PAGE);
	PCHECK(heap != NULL);
	memset(global_page, 'P', PAGE);
	memset(stack_page, 'P', PAGE);
	memset(heap, 'P', PAGE);
	struct turn t;
	turn_init(&t);
	pid_t p = pfork();
	if (p == 0) {
		/* the child writes first, then lets the parent write */
		memset(global_page, 'C', PAGE);
		memset(stack_page, 'C', PAGE);
		memset(heap, 'C', PAGE);
		writeall(t.to_parent[1], "1", 1);
		turn_wait(t.to_child[0]);
		int ok = all(global_page, PAGE, 'C') && all(stack_page, PAGE, 'C') &&
			 all(heap, PAGE, 'C');
		_exit(ok ? 0 : 1);
	}
	turn_wait(t.to_parent[0]);
	int before = all(global_page, PAGE, 'P') && all(stack_page, PAGE, 'P') &&
		     all(heap, PAGE, 'P');
	memset(global_page, 'Q', PAGE);
	memset(stack_page, 'Q', PAGE);
	memset(heap, 'Q', PAGE);
	writeall(t.to_child[1], "2", 1);
	int st = reap(p);
	int after = all(global_page, PAGE, 'Q') && all(stack_page, PAGE, 'Q') && all(heap, PAGE, 'Q');
	out("cow_page: parent_saw_own_before=%d child_kept_own=%d (%s) parent_kept_own=%d\n",
	    before, WIFEXITED(st) && WEXITSTATUS(st) == 0, wstat(st), after);
	for (int i = 0; i < 2; i++)
		close(t.to_child[i]), close(t.to_parent[i]);
	free(heap);
}

static uint32_t checksum(const unsigned char *p, size_t n)
{
	uint32_t a = 1, b = 0; /* adler-32 style, without the modulo slowness */
	for (size_t i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return (b << 16) | a;
}

static void cow_big(void)
{
	const size_t n = 8 << 20;
	unsigned char *buf = malloc(n);
	PCHECK(buf != NULL);
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 31 + (i >> 12));
	uint32_t sum = checksum(buf, n);
	int up[2];
	PCHECK(pipe(up) == 0);
	pid_t p = pfork();
	if (p == 0) {
		uint32_t res[2];
		res[0] = checksum(buf, n);
		for (size_t i = 0; i < n; i += 1000)
			buf[i] ^= 0xa5;
		res[1] = checksum(buf, n);
		writeall(up[1], res, sizeof res);
		_exit(0);
	}
	close(up[1]);
	uint32_t child[2] = {0, 0};
	size_t got = readall(up[0], child, sizeof child);
	close(up[0]);
	int st = reap(p);
	out("cow_big: size=%zu sum=%08x child_sum_same=%d child_changed=%d parent_unchanged=%d %s\n",
	    n, (unsigned)sum, got == sizeof child && child[0] == sum, child[1] != sum,
	    checksum(buf, n) == sum, wstat(st));
	free(buf);
}

static void shared_anon(void)
{
	const size_t n = 3 * PAGE;
	char *sh = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *pr = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PCHECK(sh != MAP_FAILED && pr != MAP_FAILED);
	memset(sh, 'a', n);
	memset(pr, 'a', n);
	struct turn t;
	turn_init(&t);
	pid_t p = pfork();
	if (p == 0) {
		memset(sh, 'c', n);
		memset(pr, 'c', n);
		writeall(t.to_parent[1], "1", 1);
		turn_wait(t.to_child[0]);
		/* the parent wrote its last page meanwhile */
		int ok = all(sh, 2 * PAGE, 'c') && all(sh + 2 * PAGE, PAGE, 'p') && all(pr, n, 'c');
		_exit(ok ? 0 : 1);
	}
	turn_wait(t.to_parent[0]);
	int shared_seen = all(sh, n, 'c');
	int private_kept = all(pr, n, 'a');
	memset(sh + 2 * PAGE, 'p', PAGE);
	memset(pr + 2 * PAGE, 'p', PAGE);
	writeall(t.to_child[1], "2", 1);
	int st = reap(p);
	out("shared_anon: parent_sees_child_shared=%d private_not_shared=%d child_sees_parent_shared=%d (%s)\n",
	    shared_seen, private_kept, WIFEXITED(st) && WEXITSTATUS(st) == 0, wstat(st));
	for (int i = 0; i < 2; i++)
		close(t.to_child[i]), close(t.to_parent[i]);

	/* after wait: the child's writes to MAP_SHARED stay */
	memset(sh, 0, n);
	p = pfork();
	if (p == 0) {
		for (size_t i = 0; i < n; i++)
			sh[i] = (char)(i % 251);
		pr[0] = 'z';
		_exit(0);
	}
	st = reap(p);
	int pattern = 1;
	for (size_t i = 0; i < n; i++)
		if (sh[i] != (char)(i % 251))
			pattern = 0;
	out("shared_anon: after wait pattern=%d private_first=%c\n", pattern, pr[0]);

	/* a child's munmap and mprotect are its own */
	p = pfork();
	if (p == 0) {
		PCHECK(munmap(sh, n) == 0);
		PCHECK(mprotect(pr, n, PROT_NONE) == 0);
		_exit(0);
	}
	st = reap(p);
	sh[0] = 'x';
	pr[0] = 'y';
	out("shared_anon: child munmap/mprotect (%s) parent still writes=%d\n", wstat(st),
	    sh[0] == 'x' && pr[0] == 'y');
	munmap(sh, n);
	munmap(pr, n);
}

static void shared_counter(void)
{
	volatile long *ctr = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	PCHECK(ctr != MAP_FAILED);
	pid_t pids[4];
	for (int i = 0; i < 4; i++) {
		pids[i] = pfork();
		if (pids[i] == 0) {
			/* enough increments for the children to overlap */
			for (int j = 0; j < 100000; j++)
				__sync_fetch_and_add(ctr, 1);
			_exit(0);
		}
	}
	int ok = 0;
	for (int i = 0; i < 4; i++)
		ok += WIFEXITED(reap(pids[i]));
	out("shared_counter: children=%d counter=%ld\n", ok, *ctr);
	munmap((void *)ctr, PAGE);
}

static void shared_file(void)
{
	const char *path = "proc_cow-shared.tmp";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	PCHECK(fd >= 0 && ftruncate(fd, PAGE) == 0);
	char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	PCHECK(m != MAP_FAILED);
	pid_t p = pfork();
	if (p == 0) {
		memcpy(m + 100, "written by the child", 20);
		_exit(0);
	}
	int st = reap(p);
	char back[20];
	PCHECK(pread(fd, back, 20, 100) == 20);
	out("shared_file: %s mapping=%d file=%d\n", wstat(st),
	    memcmp(m + 100, "written by the child", 20) == 0,
	    memcmp(back, "written by the child", 20) == 0);
	munmap(m, PAGE);
	close(fd);
	unlink(path);
}

static const struct pcase cases[] = {
	{"cow_page", cow_page},		    {"cow_big", cow_big},
	{"shared_anon", shared_anon},	    {"shared_counter", shared_counter},
	{"shared_file", shared_file},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
