// variants: glibc musl
/* sys_memory: memory advice, locking and residency, membarrier, NUMA
 * policies on a one-node machine, and arch_prctl. x86-64 only: the i386
 * oracle of hosts that run no i386 programs, qemu-i386, answers madvise
 * with 0 whatever the advice, has no mlock2, mbind or get_mempolicy, and
 * reports PROT_NONE pages as unmapped to mincore; the Go tests of package
 * syscalls cover the i386 forms.
 *   madvise   the advice programs use and Linux's errors: unknown advice,
 *             unaligned start, lengths that wrap (EINVAL); holes (ENOMEM,
 *             after the mapped parts are done); MADV_DONTNEED zeroes
 *             private anonymous memory, keeps shared memory; MADV_FREE and
 *             MADV_WIPEONFORK only on private anonymous memory; MADV_REMOVE
 *             (private: EINVAL; shared anonymous: zeroes it for everyone);
 *             MADV_DONTFORK (the child has no such mapping: SIGSEGV) and
 *             MADV_DOFORK, MADV_WIPEONFORK (the child's copy is zero);
 *             MADV_POPULATE_READ/WRITE and their permissions; the hints
 *   mlock     mlock, mlock2 (MLOCK_ONFAULT), munlock, mlockall, munlockall:
 *             populating, holes and PROT_NONE (ENOMEM), flags (EINVAL),
 *             locked memory refuses MADV_DONTNEED; as uid 1000 within
 *             RLIMIT_MEMLOCK only (ENOMEM), none at all with a 0 limit
 *             (EPERM)
 *   mincore   residency of untouched, read, written, dropped and locked
 *             pages; unaligned (EINVAL), unmapped (ENOMEM), bad vector
 *             (EFAULT)
 *   membarrier query, registration before the private commands (EPERM),
 *             fork keeps registrations, flags (EINVAL)
 *   numa      set_mempolicy/get_mempolicy/mbind with node 0, other nodes
 *             (EINVAL), mode flags, the node mask sizes, holes (EFAULT)
 *   arch      arch_prctl: FS base, TASK_SIZE (EPERM), CPUID, XSAVE
 *             features, unknown codes (EINVAL)
 * Root is needed for the uid-1000 parts. One line a check; exit 0. */
#define _GNU_SOURCE
#include "sys.h"
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define PG 4096UL

/* Advice that older libc headers (musl's) do not name. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif

static unsigned char *map(size_t pages, int prot, int flags)
{
	void *p = mmap(NULL, pages * PG, prot, flags | MAP_ANONYMOUS, -1, 0);
	PCHECK(p != MAP_FAILED);
	return p;
}

static long madv(void *p, size_t len, int advice)
{
	errno = 0;
	return syscall(SYS_madvise, p, len, advice);
}

/* core returns mincore's answer for n pages at p as "0101...". */
static const char *core(void *p, size_t n)
{
	static char buf[4][64];
	static int next;
	char *b = buf[next++ & 3];
	unsigned char v[64];
	errno = 0;
	if (syscall(SYS_mincore, p, n * PG, v) != 0) {
		snprintf(b, sizeof buf[0], "%s", res(-1));
		return b;
	}
	for (size_t i = 0; i < n; i++)
		b[i] = '0' + (v[i] & 1);
	b[n] = 0;
	return b;
}

/* ---- madvise ---- */

static unsigned char *dontfork_page;

static void dontfork_child(void)
{
	say("madvise: the child touches the MADV_DONTFORK page");
	dontfork_page[0] = 1;
	out("madvise: the child survived\n");
}

static unsigned char *wipe_page, *keep_page;

static void wipe_child(void)
{
	out("madvise: the child's WIPEONFORK page %d, normal page %d\n", wipe_page[0], keep_page[0]);
}

static void madvise_case(void)
{
	unsigned char *a = map(4, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	out("madvise: unknown advice 77 -> %s\n", res(madv(a, PG, 77)));
	out("madvise: unknown advice, length 0 -> %s\n", res(madv(a, 0, 77)));
	out("madvise: unaligned -> %s\n", res(madv(a + 1, PG, MADV_NORMAL)));
	out("madvise: length -1 -> %s\n", res(madv(a, (size_t)-1, MADV_NORMAL)));
	out("madvise: length -4096 -> %s\n", res(madv(a, (size_t)-4096, MADV_NORMAL)));
	out("madvise: length 0 -> %s\n", res(madv(a, 0, MADV_NORMAL)));
	out("madvise: partial page -> %s\n", res(madv(a, 1, MADV_NORMAL)));
	static const struct {
		int advice;
		const char *name;
	} hints[] = {
		{MADV_NORMAL, "NORMAL"},         {MADV_RANDOM, "RANDOM"},     {MADV_SEQUENTIAL, "SEQUENTIAL"},
		{MADV_WILLNEED, "WILLNEED"},     {MADV_HUGEPAGE, "HUGEPAGE"}, {MADV_NOHUGEPAGE, "NOHUGEPAGE"},
		{MADV_MERGEABLE, "MERGEABLE"},   {MADV_UNMERGEABLE, "UNMERGEABLE"},
		{MADV_DONTDUMP, "DONTDUMP"},     {MADV_DODUMP, "DODUMP"},     {MADV_COLD, "COLD"},
		{MADV_PAGEOUT, "PAGEOUT"},       {MADV_KEEPONFORK, "KEEPONFORK"},
	};
	for (size_t i = 0; i < NCASES(hints); i++)
		out("madvise: %s -> %s\n", hints[i].name, res(madv(a, 4 * PG, hints[i].advice)));

	/* A hole: the mapped parts get the advice, the result is ENOMEM. */
	unsigned char *h = map(3, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	PCHECK(munmap(h + PG, PG) == 0);
	h[0] = 1, h[2 * PG] = 2;
	const char *r = res(madv(h, 3 * PG, MADV_DONTNEED));
	out("madvise: DONTNEED across a hole -> %s, pages now %d %d\n", r, h[0], h[2 * PG]);
	out("madvise: unmapped -> %s\n", res(madv(h + PG, PG, MADV_NORMAL)));
	out("madvise: unmapped, length 0 -> %s\n", res(madv(h + PG, 0, MADV_NORMAL)));

	/* DONTNEED and FREE on private anonymous memory: zeros again. */
	memset(a, 7, 4 * PG);
	r = res(madv(a, PG, MADV_DONTNEED));
	out("madvise: DONTNEED -> %s, reads %d\n", r, a[0]);
	out("madvise: FREE -> %s\n", res(madv(a + PG, PG, MADV_FREE)));
	out("madvise: REMOVE private anonymous -> %s\n", res(madv(a, PG, MADV_REMOVE)));

	/* Shared anonymous memory: DONTNEED keeps it, FREE and WIPEONFORK
	 * refuse it, REMOVE zeroes it in every process. */
	unsigned char *s = map(2, PROT_READ | PROT_WRITE, MAP_SHARED);
	s[0] = 5;
	r = res(madv(s, PG, MADV_DONTNEED));
	out("madvise: shared DONTNEED -> %s, reads %d\n", r, s[0]);
	out("madvise: shared FREE -> %s\n", res(madv(s, PG, MADV_FREE)));
	out("madvise: shared WIPEONFORK -> %s\n", res(madv(s, PG, MADV_WIPEONFORK)));
	int fds[2];
	PCHECK(pipe(fds) == 0);
	pid_t p = pfork();
	if (p == 0) {
		char c;
		PCHECK(read(fds[0], &c, 1) == 1);
		out("madvise: the child sees %d after the parent's REMOVE\n", s[0]);
		_exit(0);
	}
	r = res(madv(s, PG, MADV_REMOVE));
	out("madvise: shared REMOVE -> %s, reads %d\n", r, s[0]);
	writeall(fds[1], "x", 1);
	reap(p);
	close(fds[0]), close(fds[1]);

	/* File mappings. */
	char path[] = "sys_memory.tmp";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	PCHECK(fd >= 0);
	unlink(path);
	PCHECK(ftruncate(fd, 2 * PG) == 0);
	unsigned char *fp = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	PCHECK(fp != MAP_FAILED);
	out("madvise: private file FREE -> %s\n", res(madv(fp, PG, MADV_FREE)));
	out("madvise: private file REMOVE -> %s\n", res(madv(fp, PG, MADV_REMOVE)));
	out("madvise: private file WIPEONFORK -> %s\n", res(madv(fp, PG, MADV_WIPEONFORK)));
	fp[0] = 9;
	r = res(madv(fp, PG, MADV_DONTNEED));
	out("madvise: private file DONTNEED -> %s, reads the file again %d\n", r, fp[0]);
	munmap(fp, 2 * PG);
	close(fd);

	/* A shared file mapping: MADV_REMOVE punches a hole in the file
	 * (where the filesystem can), a read-only descriptor's mapping may
	 * not (EACCES). */
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	PCHECK(fd >= 0);
	unsigned char page[PG];
	memset(page, 3, sizeof page);
	writeall(fd, page, PG);
	writeall(fd, page, PG);
	unsigned char *sp = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	PCHECK(sp != MAP_FAILED);
	long rr = madv(sp, PG, MADV_REMOVE);
	r = res(rr);
	unsigned char back = 0xee;
	PCHECK(pread(fd, &back, 1, 0) == 1);
	out("madvise: shared file REMOVE -> %s, the mapping reads %d, the file %d, the next page %d\n", r,
	    rr == 0 ? sp[0] : 0, rr == 0 ? back : 0, sp[PG]);
	munmap(sp, 2 * PG);
	int rfd = open(path, O_RDONLY);
	PCHECK(rfd >= 0);
	sp = mmap(NULL, PG, PROT_READ, MAP_SHARED, rfd, 0);
	PCHECK(sp != MAP_FAILED);
	out("madvise: shared read-only file REMOVE -> %s\n", res(madv(sp, PG, MADV_REMOVE)));
	munmap(sp, PG);
	close(rfd);
	close(fd);
	unlink(path);

	/* Fork and the advice. */
	dontfork_page = map(1, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	dontfork_page[0] = 3;
	out("madvise: DONTFORK -> %s\n", res(madv(dontfork_page, PG, MADV_DONTFORK)));
	p = pfork();
	if (p == 0) {
		dontfork_child();
		_exit(0);
	}
	out("madvise: the child %s\n", wstat(reap(p)));
	out("madvise: DOFORK -> %s\n", res(madv(dontfork_page, PG, MADV_DOFORK)));
	in_child("madvise", dontfork_child);
	wipe_page = map(1, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	keep_page = map(1, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	wipe_page[0] = 4, keep_page[0] = 6;
	out("madvise: WIPEONFORK -> %s\n", res(madv(wipe_page, PG, MADV_WIPEONFORK)));
	in_child("madvise", wipe_child);
	out("madvise: the parent keeps %d\n", wipe_page[0]);

	/* Populating. */
	unsigned char *none = map(1, PROT_NONE, MAP_PRIVATE);
	unsigned char *ro = map(1, PROT_READ, MAP_PRIVATE);
	unsigned char *wo = map(1, PROT_WRITE, MAP_PRIVATE);
	unsigned char *fresh = map(2, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	r = res(madv(fresh, PG, MADV_POPULATE_READ));
	out("madvise: POPULATE_READ -> %s, resident %s\n", r, core(fresh, 2));
	r = res(madv(fresh + PG, PG, MADV_POPULATE_WRITE));
	out("madvise: POPULATE_WRITE -> %s, resident %s\n", r, core(fresh, 2));
	out("madvise: POPULATE_READ PROT_NONE -> %s\n", res(madv(none, PG, MADV_POPULATE_READ)));
	out("madvise: POPULATE_WRITE read-only -> %s\n", res(madv(ro, PG, MADV_POPULATE_WRITE)));
	out("madvise: POPULATE_READ write-only -> %s\n", res(madv(wo, PG, MADV_POPULATE_READ)));
	unsigned char *h2 = map(3, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	PCHECK(munmap(h2 + PG, PG) == 0);
	r = res(madv(h2, 3 * PG, MADV_POPULATE_READ));
	out("madvise: POPULATE_READ across a hole -> %s, resident before it %s\n", r, core(h2, 1));
}

/* ---- mlock ---- */

static long ml(void *p, size_t n) { errno = 0; return syscall(SYS_mlock, p, n); }
static long ml2(void *p, size_t n, unsigned f) { errno = 0; return syscall(SYS_mlock2, p, n, f); }
static long mul(void *p, size_t n) { errno = 0; return syscall(SYS_munlock, p, n); }
static long mla(int f) { errno = 0; return syscall(SYS_mlockall, f); }

static void mlock_root(void)
{
	unsigned char *a = map(4, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	unsigned char *none = map(1, PROT_NONE, MAP_PRIVATE);
	unsigned char *ro = map(1, PROT_READ, MAP_PRIVATE);
	unsigned char *h = map(3, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	PCHECK(munmap(h + PG, PG) == 0);
	const char *r = res(ml(a + 5, 10));
	out("mlock: bytes 5..15 -> %s, resident %s\n", r, core(a, 4));
	out("mlock: locked memory refuses DONTNEED -> %s\n", res(madv(a, PG, MADV_DONTNEED)));
	r = res(madv(a, PG, MADV_DONTNEED_LOCKED));
	out("mlock: MADV_DONTNEED_LOCKED -> %s, resident %s\n", r, core(a, 4));
	out("mlock: MADV_FREE -> %s\n", res(madv(a, PG, MADV_FREE)));
	out("mlock: MADV_COLD -> %s\n", res(madv(a, PG, MADV_COLD)));
	out("mlock: munlock -> %s\n", res(mul(a, 4 * PG)));
	r = res(ml2(a + 2 * PG, PG, 1));
	out("mlock: mlock2 MLOCK_ONFAULT -> %s, resident %s\n", r, core(a, 4));
	out("mlock: mlock2 flags 2 -> %s\n", res(ml2(a, PG, 2)));
	out("mlock: read-only -> %s\n", res(ml(ro, PG)));
	out("mlock: PROT_NONE -> %s\n", res(ml(none, PG)));
	r = res(ml(h, 3 * PG));
	out("mlock: across a hole -> %s, first page resident %s\n", r, core(h, 1));
	out("mlock: munlock across a hole -> %s\n", res(mul(h, 3 * PG)));
	out("mlock: unmapped -> %s\n", res(ml(h + PG, PG)));
	out("mlock: length 0 at an unmapped page -> %s\n", res(ml(h + PG, 0)));
	out("mlock: length -1 (wraps to 0) -> %s\n", res(ml(a, (size_t)-1)));
	out("mlockall: 0 -> %s\n", res(mla(0)));
	out("mlockall: ONFAULT alone -> %s\n", res(mla(MCL_ONFAULT)));
	out("mlockall: 8 -> %s\n", res(mla(8)));
	out("mlockall: FUTURE -> %s\n", res(mla(MCL_FUTURE)));
	unsigned char *later = map(2, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	out("mlockall: a later mapping is resident %s\n", core(later, 2));
	out("mlockall: FUTURE|ONFAULT -> %s\n", res(mla(MCL_FUTURE | MCL_ONFAULT)));
	unsigned char *lazy = map(2, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	out("mlockall: a mapping locked on fault is resident %s\n", core(lazy, 2));
	errno = 0;
	out("munlockall -> %s\n", res(syscall(SYS_munlockall)));
	unsigned char *after = map(2, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	out("munlockall: later mappings are not locked %s\n", core(after, 2));
	unsigned char *ml_map = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	PCHECK(ml_map != MAP_FAILED);
	out("mlock: MAP_LOCKED is resident %s\n", core(ml_map, 2));
	unsigned char *pop = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	PCHECK(pop != MAP_FAILED);
	out("mlock: MAP_POPULATE is resident %s\n", core(pop, 2));
}

static void mlock_prep(void)
{
	struct rlimit r;
	PCHECK(getrlimit(RLIMIT_MEMLOCK, &r) == 0);
	if (r.rlim_max >= 2 * PG) {
		r.rlim_cur = 2 * PG;
		PCHECK(setrlimit(RLIMIT_MEMLOCK, &r) == 0);
	}
}

static void mlock_user(void)
{
	struct rlimit r;
	PCHECK(getrlimit(RLIMIT_MEMLOCK, &r) == 0);
	out("mlock: uid 1000 RLIMIT_MEMLOCK is two pages %d\n", r.rlim_cur == 2 * PG);
	unsigned char *a = map(4, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	out("mlock: uid 1000 two pages -> %s\n", res(ml(a, 2 * PG)));
	out("mlock: uid 1000 the same again -> %s\n", res(ml(a, 2 * PG)));
	out("mlock: uid 1000 a third page -> %s\n", res(ml(a + 2 * PG, PG)));
	out("mlock: uid 1000 mlockall CURRENT -> %s\n", res(mla(MCL_CURRENT)));
	out("mlock: uid 1000 mlockall FUTURE -> %s\n", res(mla(MCL_FUTURE)));
	PCHECK(syscall(SYS_munlockall) == 0);
	unsigned char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	out("mlock: uid 1000 MAP_LOCKED beyond the limit -> %s\n", m == MAP_FAILED ? res(-1) : "0");
	PCHECK(mul(a, 4 * PG) == 0);
	r.rlim_cur = 0;
	PCHECK(setrlimit(RLIMIT_MEMLOCK, &r) == 0);
	out("mlock: uid 1000 with RLIMIT_MEMLOCK 0 -> %s\n", res(ml(a, PG)));
	out("mlock: uid 1000 mlockall with RLIMIT_MEMLOCK 0 -> %s\n", res(mla(MCL_CURRENT)));
	out("mlock: uid 1000 munlock needs no limit -> %s\n", res(mul(a, PG)));
}

static void mlock_case(void)
{
	in_child("mlock", mlock_root);
	as_user("mlock", mlock_prep, mlock_user);
}

/* ---- mincore ---- */

static void mincore_case(void)
{
	unsigned char *a = map(4, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	out("mincore: untouched %s\n", core(a, 4));
	volatile unsigned char x = a[PG];
	(void)x;
	a[2 * PG] = 1;
	out("mincore: read page 1, written page 2 %s\n", core(a, 4));
	PCHECK(madv(a + 2 * PG, PG, MADV_DONTNEED) == 0);
	out("mincore: page 2 dropped %s\n", core(a, 4));
	PCHECK(mprotect(a + PG, PG, PROT_NONE) == 0);
	out("mincore: page 1 PROT_NONE keeps its frame %s\n", core(a, 4));
	unsigned char v[8];
	errno = 0;
	out("mincore: unaligned -> %s\n", res(syscall(SYS_mincore, a + 1, PG, v)));
	errno = 0;
	out("mincore: bad vector -> %s\n", res(syscall(SYS_mincore, a, PG, (void *)8)));
	errno = 0;
	out("mincore: length 0 -> %s\n", res(syscall(SYS_mincore, a, 0, v)));
	unsigned char *h = map(3, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	PCHECK(munmap(h + PG, PG) == 0);
	h[0] = 1;
	memset(v, 9, sizeof v);
	errno = 0;
	long r = syscall(SYS_mincore, h, 3 * PG, v);
	out("mincore: across a hole -> %s, the page before it reported %d\n", res(r), v[0]);
	errno = 0;
	out("mincore: unmapped -> %s\n", res(syscall(SYS_mincore, h + PG, PG, v)));
	errno = 0;
	out("mincore: unmapped, length 0 -> %s\n", res(syscall(SYS_mincore, h + PG, 0, v)));
	errno = 0;
	out("mincore: past the address space -> %s\n", res(syscall(SYS_mincore, a, (size_t)-PG * 2, v)));
	errno = 0;
	memset(v, 9, sizeof v);
	errno = 0;
	r = syscall(SYS_mincore, a, PG + 1, v);
	out("mincore: PG+1 bytes -> %s, two entries %d\n", res(r), v[1] != 9 && v[2] == 9);
	unsigned char *s = map(1, PROT_READ | PROT_WRITE, MAP_SHARED);
	pid_t p = pfork();
	if (p == 0) {
		s[0] = 1;
		_exit(0);
	}
	reap(p);
	out("mincore: shared memory a child wrote %s\n", core(s, 1));
}

/* ---- membarrier ---- */

static long mb(int cmd, unsigned flags)
{
	errno = 0;
	return syscall(SYS_membarrier, cmd, flags, 0);
}

#define MB_GLOBAL 1
#define MB_GLOBAL_EXPEDITED 2
#define MB_REGISTER_GLOBAL_EXPEDITED 4
#define MB_PRIVATE_EXPEDITED 8
#define MB_REGISTER_PRIVATE_EXPEDITED 16
#define MB_PRIVATE_EXPEDITED_SYNC_CORE 32
#define MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE 64
#define MB_GET_REGISTRATIONS 512

static void mb_child(void)
{
	out("membarrier: the child: private -> %s\n", res(mb(MB_PRIVATE_EXPEDITED, 0)));
	out("membarrier: the child: registrations %s\n", res(mb(MB_GET_REGISTRATIONS, 0)));
}

static void membarrier_run(void)
{
	long q = mb(0, 0);
	out("membarrier: query has GLOBAL, PRIVATE_EXPEDITED, SYNC_CORE and GET_REGISTRATIONS %d\n",
	    q > 0 && (q & (MB_GLOBAL | MB_PRIVATE_EXPEDITED | MB_REGISTER_PRIVATE_EXPEDITED |
			  MB_PRIVATE_EXPEDITED_SYNC_CORE | MB_GET_REGISTRATIONS)) ==
			 (MB_GLOBAL | MB_PRIVATE_EXPEDITED | MB_REGISTER_PRIVATE_EXPEDITED |
			  MB_PRIVATE_EXPEDITED_SYNC_CORE | MB_GET_REGISTRATIONS));
	out("membarrier: query with flags -> %s\n", res(mb(0, 1)));
	out("membarrier: private before registering -> %s\n", res(mb(MB_PRIVATE_EXPEDITED, 0)));
	out("membarrier: sync-core before registering -> %s\n", res(mb(MB_PRIVATE_EXPEDITED_SYNC_CORE, 0)));
	out("membarrier: registrations %s\n", res(mb(MB_GET_REGISTRATIONS, 0)));
	out("membarrier: register private -> %s\n", res(mb(MB_REGISTER_PRIVATE_EXPEDITED, 0)));
	out("membarrier: private -> %s\n", res(mb(MB_PRIVATE_EXPEDITED, 0)));
	out("membarrier: registrations %s\n", res(mb(MB_GET_REGISTRATIONS, 0)));
	out("membarrier: global -> %s\n", res(mb(MB_GLOBAL, 0)));
	out("membarrier: global expedited -> %s\n", res(mb(MB_GLOBAL_EXPEDITED, 0)));
	out("membarrier: register global expedited -> %s\n", res(mb(MB_REGISTER_GLOBAL_EXPEDITED, 0)));
	out("membarrier: register sync-core -> %s\n", res(mb(MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0)));
	out("membarrier: sync-core -> %s\n", res(mb(MB_PRIVATE_EXPEDITED_SYNC_CORE, 0)));
	out("membarrier: registrations %s\n", res(mb(MB_GET_REGISTRATIONS, 0)));
	out("membarrier: private with flags -> %s\n", res(mb(MB_PRIVATE_EXPEDITED, 1)));
	out("membarrier: unknown command -> %s\n", res(mb(1 << 12, 0)));
	in_child("membarrier", mb_child);
}

static void membarrier_case(void) { in_child("membarrier", membarrier_run); }

/* ---- numa ---- */

#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_LOCAL 4
#define MPOL_PREFERRED_MANY 5
#define MPOL_WEIGHTED_INTERLEAVE 6
#define MPOL_F_STATIC_NODES (1 << 15)
#define MPOL_F_RELATIVE_NODES (1 << 14)
#define MPOL_F_NUMA_BALANCING (1 << 13)
#define MPOL_F_NODE 1
#define MPOL_F_ADDR 2
#define MPOL_F_MEMS_ALLOWED 4

static long setpol(int mode, const unsigned long *nodes, unsigned long maxnode)
{
	errno = 0;
	return syscall(SYS_set_mempolicy, mode, nodes, maxnode);
}

/* getpol formats get_mempolicy's answer: "mode=M nodes=N" or an error. */
static const char *getpol(void *addr, unsigned long flags)
{
	static char b[4][64];
	static int next;
	char *s = b[next++ & 3];
	int mode = -7;
	unsigned long nodes = 0xee;
	errno = 0;
	long r = syscall(SYS_get_mempolicy, &mode, &nodes, 64, addr, flags);
	if (r < 0)
		snprintf(s, sizeof b[0], "%s", res(r));
	else
		snprintf(s, sizeof b[0], "mode=%#x nodes=%#lx", mode, nodes);
	return s;
}

static long mbind_(void *p, size_t len, int mode, const unsigned long *nodes, unsigned long maxnode, unsigned flags)
{
	errno = 0;
	return syscall(SYS_mbind, p, len, mode, nodes, maxnode, flags);
}

static void numa_run(void)
{
	unsigned long n0 = 1, n1 = 2, n01 = 3, none = 0;
	const char *r;
	out("numa: default %s\n", getpol(NULL, 0));
	out("numa: mems allowed %s\n", getpol(NULL, MPOL_F_MEMS_ALLOWED));
	out("numa: mems allowed with MPOL_F_NODE -> %s\n", getpol(NULL, MPOL_F_MEMS_ALLOWED | MPOL_F_NODE));
	out("numa: MPOL_F_NODE of the default policy -> %s\n", getpol(NULL, MPOL_F_NODE));
	out("numa: an address without MPOL_F_ADDR -> %s\n", getpol(&n0, 0));
	out("numa: flags 8 -> %s\n", getpol(NULL, 8));
	int mode;
	unsigned long big[4];
	errno = 0;
	out("numa: maxnode 0 with a mask -> %s\n", res(syscall(SYS_get_mempolicy, &mode, big, 0, NULL, 0)));
	big[0] = 0xee;
	errno = 0;
	long n = syscall(SYS_get_mempolicy, &mode, big, 1, NULL, 0);
	out("numa: maxnode 1 -> %s, mask untouched %d\n", res(n), big[0] == 0xee);
	memset(big, 0xee, sizeof big);
	errno = 0;
	n = syscall(SYS_get_mempolicy, &mode, big, 200, NULL, 0);
	out("numa: maxnode 200 -> %s, words %#lx %#lx %#lx %d\n", res(n), big[0], big[1], big[2], big[3] == 0xeeeeeeeeeeeeeeeeUL);
	unsigned long huge[600];
	errno = 0;
	out("numa: maxnode 40000 -> %s\n", res(syscall(SYS_get_mempolicy, &mode, huge, 40000, NULL, 0)));

	r = res(setpol(MPOL_BIND, &n0, 64));
	out("numa: BIND node 0 -> %s, %s\n", r, getpol(NULL, 0));
	out("numa: BIND node 1 -> %s\n", res(setpol(MPOL_BIND, &n1, 64)));
	r = res(setpol(MPOL_BIND, &n01, 64));
	out("numa: BIND nodes 0,1 -> %s, %s\n", r, getpol(NULL, 0));
	out("numa: BIND no node -> %s\n", res(setpol(MPOL_BIND, &none, 64)));
	r = res(setpol(MPOL_INTERLEAVE, &n0, 64));
	out("numa: INTERLEAVE 0 -> %s, next node %s\n", r, getpol(NULL, MPOL_F_NODE));
	out("numa: WEIGHTED_INTERLEAVE 0 -> %s\n", res(setpol(MPOL_WEIGHTED_INTERLEAVE, &n0, 64)));
	r = res(setpol(MPOL_PREFERRED, &n01, 64));
	out("numa: PREFERRED 0,1 -> %s, %s\n", r, getpol(NULL, 0));
	r = res(setpol(MPOL_PREFERRED, &none, 64));
	out("numa: PREFERRED no node -> %s, %s\n", r, getpol(NULL, 0));
	out("numa: PREFERRED NULL -> %s\n", res(setpol(MPOL_PREFERRED, NULL, 0)));
	out("numa: PREFERRED_MANY 0 -> %s\n", res(setpol(MPOL_PREFERRED_MANY, &n0, 64)));
	r = res(setpol(MPOL_LOCAL, NULL, 0));
	out("numa: LOCAL -> %s, %s\n", r, getpol(NULL, 0));
	out("numa: LOCAL with a node -> %s\n", res(setpol(MPOL_LOCAL, &n0, 64)));
	out("numa: DEFAULT with a node -> %s\n", res(setpol(MPOL_DEFAULT, &n0, 64)));
	out("numa: mode 7 -> %s\n", res(setpol(7, &n0, 64)));
	out("numa: mode -1 -> %s\n", res(setpol(-1, &n0, 64)));
	r = res(setpol(MPOL_BIND | MPOL_F_STATIC_NODES, &n01, 64));
	out("numa: STATIC 0,1 -> %s, %s\n", r, getpol(NULL, 0));
	out("numa: STATIC 1 -> %s\n", res(setpol(MPOL_BIND | MPOL_F_STATIC_NODES, &n1, 64)));
	r = res(setpol(MPOL_BIND | MPOL_F_RELATIVE_NODES, &n1, 64));
	out("numa: RELATIVE 1 -> %s, %s\n", r, getpol(NULL, 0));
	out("numa: STATIC|RELATIVE -> %s\n", res(setpol(MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES, &n0, 64)));
	r = res(setpol(MPOL_BIND | MPOL_F_NUMA_BALANCING, &n0, 64));
	out("numa: NUMA_BALANCING BIND -> %s, %s\n", r, getpol(NULL, 0));
	out("numa: NUMA_BALANCING INTERLEAVE -> %s\n", res(setpol(MPOL_INTERLEAVE | MPOL_F_NUMA_BALANCING, &n0, 64)));
	out("numa: PREFERRED no node STATIC -> %s\n", res(setpol(MPOL_PREFERRED | MPOL_F_STATIC_NODES, &none, 64)));
	out("numa: maxnode 0 with a mask -> %s\n", res(setpol(MPOL_BIND, &n0, 0)));
	out("numa: maxnode 1 (no bits) -> %s\n", res(setpol(MPOL_BIND, &n0, 1)));
	out("numa: maxnode 2 -> %s\n", res(setpol(MPOL_BIND, &n0, 2)));
	memset(huge, 0, sizeof huge);
	huge[0] = 1;
	out("numa: maxnode 2000, node 0 -> %s\n", res(setpol(MPOL_BIND, huge, 2000)));
	huge[15] = 1;
	out("numa: maxnode 2000, nodes 0 and 960 -> %s\n", res(setpol(MPOL_BIND, huge, 2000)));
	huge[15] = 0, huge[20] = 1;
	out("numa: maxnode 2000, nodes 0 and 1280 -> %s\n", res(setpol(MPOL_BIND, huge, 2000)));
	out("numa: maxnode 40000 -> %s\n", res(setpol(MPOL_BIND, huge, 40000)));
	out("numa: bad mask -> %s\n", res(setpol(MPOL_BIND, (void *)8, 64)));
	r = res(setpol(MPOL_DEFAULT, NULL, 0));
	out("numa: back to DEFAULT -> %s, %s\n", r, getpol(NULL, 0));

	unsigned char *m = map(4, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	PCHECK(munmap(m + 2 * PG, PG) == 0);
	r = res(mbind_(m, PG, MPOL_BIND, &n0, 64, 0));
	out("numa: mbind BIND 0 -> %s, %s\n", r, getpol(m, MPOL_F_ADDR));
	out("numa: the next page keeps the default %s\n", getpol(m + PG, MPOL_F_ADDR));
	out("numa: the node of the page %s\n", getpol(m, MPOL_F_ADDR | MPOL_F_NODE));
	out("numa: an unmapped address %s\n", getpol(m + 2 * PG, MPOL_F_ADDR));
	r = res(mbind_(m, PG, MPOL_PREFERRED, &n01, 64, 0));
	out("numa: mbind PREFERRED 0,1 -> %s, %s\n", r, getpol(m, MPOL_F_ADDR));
	out("numa: mbind across a hole -> %s\n", res(mbind_(m, 4 * PG, MPOL_BIND, &n0, 64, 0)));
	r = res(mbind_(m, 4 * PG, MPOL_DEFAULT, NULL, 0, 0));
	out("numa: mbind DEFAULT across a hole -> %s, %s\n", r, getpol(m, MPOL_F_ADDR));
	out("numa: mbind DEFAULT on a hole only -> %s\n", res(mbind_(m + 2 * PG, PG, MPOL_DEFAULT, NULL, 0, 0)));
	out("numa: mbind node 1 -> %s\n", res(mbind_(m, PG, MPOL_BIND, &n1, 64, 0)));
	out("numa: mbind unaligned -> %s\n", res(mbind_(m + 1, PG, MPOL_BIND, &n0, 64, 0)));
	out("numa: mbind flags 8 -> %s\n", res(mbind_(m, PG, MPOL_BIND, &n0, 64, 8)));
	out("numa: mbind STRICT|MOVE -> %s\n", res(mbind_(m, PG, MPOL_BIND, &n0, 64, 3)));
	out("numa: mbind length 0 -> %s\n", res(mbind_(m, 0, MPOL_BIND, &n0, 64, 0)));
	out("numa: mbind mode 9 -> %s\n", res(mbind_(m, 0, 9, &n0, 64, 0)));
}

static void numa_case(void) { in_child("numa", numa_run); }

/* ---- arch ---- */

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_CPUID 0x1011
#define ARCH_GET_XCOMP_SUPP 0x1021
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023

static long ap(int code, unsigned long arg)
{
	errno = 0;
	return syscall(SYS_arch_prctl, code, arg);
}

static void arch_case(void)
{
	unsigned long fs = 0, v = 0;
	const char *r = res(ap(ARCH_GET_FS, (unsigned long)&fs));
	out("arch: GET_FS -> %s, FS base non-zero %d\n", r, fs != 0);
	out("arch: GET_FS bad pointer -> %s\n", res(ap(ARCH_GET_FS, 8)));
	out("arch: SET_FS at TASK_SIZE -> %s\n", res(ap(ARCH_SET_FS, 0x7ffffffff000UL)));
	out("arch: SET_FS the same base -> %s\n", res(ap(ARCH_SET_FS, fs)));
	out("arch: GET_CPUID -> %s\n", res(ap(ARCH_GET_CPUID, 0)));
	long n = ap(ARCH_GET_XCOMP_SUPP, (unsigned long)&v);
	out("arch: GET_XCOMP_SUPP -> %s, has x87 and SSE %d\n", res(n), (v & 3) == 3);
	v = 0;
	n = ap(ARCH_GET_XCOMP_PERM, (unsigned long)&v);
	out("arch: GET_XCOMP_PERM -> %s, has x87 and SSE %d\n", res(n), (v & 3) == 3);
	out("arch: REQ_XCOMP_PERM SSE (not a dynamic feature) -> %s\n", res(ap(ARCH_REQ_XCOMP_PERM, 1)));
	out("arch: REQ_XCOMP_PERM 64 -> %s\n", res(ap(ARCH_REQ_XCOMP_PERM, 64)));
	out("arch: unknown code 0x1fff -> %s\n", res(ap(0x1fff, 0)));
}

static const struct pcase cases[] = {
	{"madvise", madvise_case},
	{"mlock", mlock_case},
	{"mincore", mincore_case},
	{"membarrier", membarrier_case},
	{"numa", numa_case},
	{"arch", arch_case},
};

int main(int argc, char **argv)
{
	sys_root = geteuid() == 0;
	return run_cases(cases, NCASES(cases), argc, argv);
}
