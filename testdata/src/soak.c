// variants: glibc musl
/* soak: many processes doing random kernel work at once, checked against a
 * model, with a deterministic summary.
 *
 *   soak DIR [WORKERS [OPS [SEED]]]      (defaults: . 32 40 1)
 *
 * The parent forks WORKERS processes (at most 256). Each runs OPS random
 * operations drawn from its own generator (seeded from SEED and its index):
 *
 *   - process_vm_writev of a 16-byte cell into another worker (each worker
 *     owns one cell in every other worker's cell page), and
 *     process_vm_readv of it back, compared with what it last wrote;
 *   - process_vm_readv of another worker's read-only page with random
 *     local and remote pieces, across into a PROT_NONE page (a partial
 *     copy);
 *   - bad calls with known results: PROT_NONE and read-only remote pages,
 *     unmapped local buffers, liovcnt above UIO_MAXIOV, flags, negative
 *     lengths, a pid that cannot exist, a zero-length copy;
 *   - CMA to a child that is exiting (success with the right bytes, or
 *     ESRCH), to a zombie and to a reaped child (ESRCH);
 *   - fork and exit with chosen codes; MAP_SHARED anonymous memory written
 *     by a child and read by its parent;
 *   - mmap, munmap, mprotect, mremap (grow, shrink, move) and
 *     MADV_DONTNEED on private mappings whose contents are checked;
 *   - writes through a MAP_SHARED file mapping, checked through a second
 *     mapping of the same page and with pread after msync;
 *   - SIGUSR1 to other workers.
 *
 * At the end every worker has been alive throughout, so every CMA between
 * workers had one right answer. Each worker checks its neighbour's cells,
 * file page and shared slot against the neighbour's own account, and the
 * parent prints the totals and checksums: the same lines on every run, on
 * Linux and under cmaemu. Any mismatch prints a FAIL line and fails the
 * worker (exit 1) and the run. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "guest.h"

#define PAGE 4096UL
#define MAXW 256
#define CELL 16
#define NSLOTS 6
#define SLOTBYTES 256
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

/* What every worker's address space holds at the same addresses (made by
 * the parent before the forks). */
static unsigned char *pub;   /* 3 pages: cells, read-only static, PROT_NONE */
static unsigned char *fmap;  /* the file, MAP_SHARED, one page per worker */
static int filefd;
static int nworkers, nops;
static unsigned long seed;

/* The control block, MAP_SHARED anonymous. */
struct result {
	uint64_t cellsum, filesum, slotval;
	uint64_t counts[16];
	uint64_t bytes;
};
struct control {
	int start;
	int barrier[4];
	int pids[MAXW];
	int sent_to[MAXW];
	struct result res[MAXW];
	unsigned char slots[MAXW][SLOTBYTES]; /* MAP_SHARED anonymous, per worker */
};
static struct control *ctl;

/* Per worker. */
static int self;
static uint64_t rng;
static uint32_t cellseq[MAXW];
static volatile sig_atomic_t received;
static int failures;
static struct result *me;

enum { OP_CELL_W, OP_CELL_R, OP_STATIC, OP_BAD, OP_FORK, OP_EXITING, OP_MMAP, OP_FILE, OP_SHANON, OP_SIGNAL, NOPKINDS };
static const char *opname[NOPKINDS] = {"cma_write", "cma_read", "cma_static", "cma_bad", "fork_exit",
				       "cma_exiting", "mmap", "shared_file", "shared_anon", "signal"};

#define FAIL(...)                                                            \
	do {                                                                 \
		if (failures++ < 5) {                                        \
			char m_[256];                                        \
			snprintf(m_, sizeof m_, __VA_ARGS__);                \
			outf("FAIL worker %d line %d: %s (errno=%s)\n", self, \
			     __LINE__, m_, errname(errno));                  \
		}                                                            \
	} while (0)
#define EXPECT(cond, ...)                                                    \
	do {                                                                 \
		if (!(cond))                                                 \
			FAIL(__VA_ARGS__);                                   \
	} while (0)

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned below(unsigned n) { return (unsigned)(next() % n); }

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t sum(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static long cma(int write, int pid, struct iovec *l, unsigned long nl, struct iovec *r,
		unsigned long nr, unsigned long flags)
{
	errno = 0;
	return syscall(write ? SYS_process_vm_writev : SYS_process_vm_readv, pid, l, nl, r, nr, flags);
}

static void futex_wait(int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void futex_wake(int *addr) { syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0); }

/* barrier waits until every worker has arrived at barrier i. */
static void barrier(int i)
{
	int *b = &ctl->barrier[i];
	if (__atomic_add_fetch(b, 1, __ATOMIC_SEQ_CST) == nworkers) {
		futex_wake(b);
		return;
	}
	for (;;) {
		int v = __atomic_load_n(b, __ATOMIC_SEQ_CST);
		if (v >= nworkers)
			return;
		futex_wait(b, v);
	}
}

static void on_usr1(int sig)
{
	(void)sig;
	received++;
}

/* The static page of worker w: its byte i. */
static unsigned char static_byte(int w, size_t i) { return (unsigned char)(w * 131 + i * 7 + (i >> 8) * 3 + 1); }

static int other(void)
{
	if (nworkers == 1)
		return self;
	int b = (int)below((unsigned)nworkers - 1);
	return b >= self ? b + 1 : b;
}

static void make_cell(unsigned char *c, int writer, int target, uint32_t seq)
{
	uint32_t v[4] = {(uint32_t)writer, (uint32_t)target, seq, 0};
	v[3] = seq ? (uint32_t)mix(((uint64_t)writer << 40) ^ ((uint64_t)target << 20) ^ seq) : 0;
	if (!seq)
		v[0] = v[1] = 0;
	memcpy(c, v, CELL);
}

static void op_cell_write(void)
{
	int b = other();
	unsigned char c[CELL];
	make_cell(c, self, b, ++cellseq[b]);
	size_t cut = 1 + below(CELL - 1);
	struct iovec l[2] = {{c, cut}, {c + cut, CELL - cut}};
	unsigned char *dst = pub + (size_t)self * CELL;
	struct iovec r[2] = {{dst, 8}, {dst + 8, 8}};
	long n = cma(1, ctl->pids[b], l, 2, r, below(2) ? 2 : 1, 0);
	if (r[0].iov_len == 8 && n == 8) /* one remote piece of 8: write the rest */
		n += cma(1, ctl->pids[b], (struct iovec[]){{c + 8, 8}}, 1, &r[1], 1, 0);
	EXPECT(n == CELL, "writev cell to %d: %ld", b, n);
	me->bytes += CELL;
}

static void op_cell_read(void)
{
	int b = other();
	unsigned char want[CELL], got[CELL];
	make_cell(want, self, b, cellseq[b]);
	memset(got, 0xee, sizeof got);
	struct iovec l = {got, CELL}, r = {pub + (size_t)self * CELL, CELL};
	long n = cma(0, ctl->pids[b], &l, 1, &r, 1, 0);
	EXPECT(n == CELL && memcmp(got, want, CELL) == 0, "readv cell of %d: %ld", b, n);
	me->bytes += CELL;
}

static unsigned char scratch[2 * PAGE];

static void op_static(void)
{
	int b = other();
	size_t off = below(PAGE);
	int cross = below(4) == 0;
	size_t len = cross ? PAGE - off + 1 + below(PAGE) : 1 + below(PAGE - off);
	/* remote pieces: up to 4, cut at random points */
	struct iovec r[4], l[8];
	int nr = 1 + below(4), nl = 1 + below(8);
	size_t at = 0;
	for (int i = 0; i < nr; i++) {
		size_t piece = i == nr - 1 ? len - at : below((unsigned)(len - at + 1));
		r[i].iov_base = pub + PAGE + off + at;
		r[i].iov_len = piece;
		at += piece;
	}
	at = 0;
	for (int i = 0; i < nl; i++) {
		size_t piece = i == nl - 1 ? len - at : below((unsigned)(len - at + 1));
		l[i].iov_base = scratch + at;
		l[i].iov_len = piece;
		at += piece;
	}
	memset(scratch, 0, len);
	long n = cma(0, ctl->pids[b], l, (unsigned long)nl, r, (unsigned long)nr, 0);
	size_t want = cross ? PAGE - off : len;
	EXPECT(n == (long)want, "readv static of %d off %zu len %zu: %ld", b, off, len, n);
	for (size_t i = 0; n > 0 && i < (size_t)n; i++)
		if (scratch[i] != static_byte(b, off + i)) {
			FAIL("readv static of %d: byte %zu", b, off + i);
			break;
		}
	me->bytes += n > 0 ? (uint64_t)n : 0;
}

static void op_bad(void)
{
	int b = other(), pid = ctl->pids[b];
	unsigned char buf[64];
	struct iovec l = {buf, sizeof buf}, r = {pub, sizeof buf};
	long n;
	switch (below(8)) {
	case 0: /* the PROT_NONE page */
		r.iov_base = pub + 2 * PAGE;
		n = cma(below(2), pid, &l, 1, &r, 1, 0);
		EXPECT(n == -1 && errno == EFAULT, "PROT_NONE remote: %ld", n);
		break;
	case 1: /* the read-only page, written */
		r.iov_base = pub + PAGE;
		n = cma(1, pid, &l, 1, &r, 1, 0);
		EXPECT(n == -1 && errno == EFAULT, "read-only remote: %ld", n);
		break;
	case 2:
		n = cma(below(2), pid, &l, UIO_MAXIOV + 1, &r, 1, 0);
		EXPECT(n == -1 && errno == EINVAL, "liovcnt 1025: %ld", n);
		break;
	case 3:
		n = cma(below(2), pid, &l, 1, &r, 1, 1);
		EXPECT(n == -1 && errno == EINVAL, "flags 1: %ld", n);
		break;
	case 4: /* an unmapped local buffer */
		l.iov_base = (void *)(uintptr_t)PAGE;
		n = cma(0, pid, &l, 1, &r, 1, 0);
		EXPECT(n == -1 && errno == EFAULT, "unmapped local: %ld", n);
		break;
	case 5:
		r.iov_len = (size_t)-1;
		n = cma(0, pid, &l, 1, &r, 1, 0);
		EXPECT(n == -1 && errno == EINVAL, "negative remote length: %ld", n);
		break;
	case 6: /* a pid above pid_max */
		n = cma(below(2), INT_MAX, &l, 1, &r, 1, 0);
		EXPECT(n == -1 && errno == ESRCH, "no such pid: %ld", n);
		break;
	default: /* nothing to copy: 0 before any other check */
		l.iov_len = 0;
		n = cma(below(2), INT_MAX, &l, 1, (struct iovec *)(uintptr_t)PAGE, 1, 0);
		EXPECT(n == 0, "zero-length: %ld", n);
	}
}

static void reap(int pid, int code)
{
	int st;
	pid_t w;
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	EXPECT(w == pid && WIFEXITED(st) && WEXITSTATUS(st) == code, "child exit: want %d, status %#x", code, st);
}

static void op_fork(void)
{
	int code = (int)below(128);
	pid_t c = fork();
	if (c == 0) {
		if (code & 1) { /* some memory work on the way out */
			void *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m != MAP_FAILED)
				memset(m, code, 3 * PAGE);
		}
		_exit(code);
	}
	EXPECT(c > 0, "fork");
	if (c > 0)
		reap(c, code);
}

static unsigned char exiting_buf[PAGE];

/* CMA to a child while it exits, to it as a zombie, and once reaped. */
static void op_exiting(void)
{
	unsigned pat = (unsigned)next();
	for (size_t i = 0; i < sizeof exiting_buf; i++)
		exiting_buf[i] = (unsigned char)(pat + i * 5);
	int spins = (int)below(64);
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < spins; i++)
			getppid();
		_exit(0);
	}
	EXPECT(c > 0, "fork");
	if (c < 0)
		return;
	unsigned char got[256];
	for (int tries = 0; tries < 16; tries++) {
		struct iovec l = {got, sizeof got}, r = {exiting_buf + 256 * (tries % 16), sizeof got};
		int write = tries & 1;
		if (write)
			memcpy(got, exiting_buf + 256 * (tries % 16), sizeof got);
		long n = cma(write, c, &l, 1, &r, 1, 0);
		if (n < 0) {
			EXPECT(errno == ESRCH, "CMA to an exiting child: %ld", n);
			break;
		}
		EXPECT(n == (long)sizeof got, "CMA to an exiting child: %ld", n);
		if (!write)
			EXPECT(memcmp(got, exiting_buf + 256 * (tries % 16), sizeof got) == 0, "CMA to an exiting child: bytes");
	}
	siginfo_t si;
	int w;
	while ((w = waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT)) < 0 && errno == EINTR)
		;
	EXPECT(w == 0, "waitid WNOWAIT");
	struct iovec l = {got, 16}, r = {exiting_buf, 16};
	long n = cma(below(2), c, &l, 1, &r, 1, 0);
	EXPECT(n == -1 && errno == ESRCH, "CMA to a zombie: %ld", n);
	reap(c, 0);
	n = cma(below(2), c, &l, 1, &r, 1, 0);
	EXPECT(n == -1 && errno == ESRCH, "CMA to a reaped child: %ld", n);
}

/* Private mappings with known contents. */
struct slot {
	uint64_t *addr;
	size_t pages;
	uint64_t key;
};
static struct slot slots[NSLOTS];

static uint64_t word(uint64_t key, size_t i) { return mix(key + i); }

static void fill(struct slot *s, size_t from)
{
	for (size_t i = from * (PAGE / 8); i < s->pages * (PAGE / 8); i++)
		s->addr[i] = word(s->key, i);
}

static int intact(struct slot *s, size_t pages)
{
	for (size_t i = 0; i < pages * (PAGE / 8); i++)
		if (s->addr[i] != word(s->key, i))
			return 0;
	return 1;
}

static int zero(const uint64_t *p, size_t words)
{
	for (size_t i = 0; i < words; i++)
		if (p[i])
			return 0;
	return 1;
}

static void op_mmap(void)
{
	struct slot *s = &slots[below(NSLOTS)];
	if (!s->addr) {
		s->pages = 1 + below(8);
		s->key = next();
		void *m = mmap(NULL, s->pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		EXPECT(m != MAP_FAILED, "mmap");
		if (m == MAP_FAILED)
			return;
		s->addr = m;
		EXPECT(zero(s->addr, s->pages * PAGE / 8), "a new mapping is zero");
		fill(s, 0);
		return;
	}
	switch (below(6)) {
	case 0: /* munmap */
		EXPECT(intact(s, s->pages), "contents before munmap");
		EXPECT(munmap(s->addr, s->pages * PAGE) == 0, "munmap");
		s->addr = NULL;
		break;
	case 1: /* read-only and back */
		EXPECT(mprotect(s->addr, s->pages * PAGE, PROT_READ) == 0, "mprotect read");
		EXPECT(intact(s, s->pages), "contents read-only");
		EXPECT(mprotect(s->addr, s->pages * PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect rw");
		break;
	case 2: { /* grow, perhaps moving */
		size_t more = 1 + below(6);
		void *m = mremap(s->addr, s->pages * PAGE, (s->pages + more) * PAGE, MREMAP_MAYMOVE);
		EXPECT(m != MAP_FAILED, "mremap grow");
		if (m == MAP_FAILED)
			break;
		s->addr = m;
		EXPECT(intact(s, s->pages), "contents after growing");
		EXPECT(zero(s->addr + s->pages * (PAGE / 8), more * (PAGE / 8)), "grown part is zero");
		size_t old = s->pages;
		s->pages += more;
		fill(s, old);
		break;
	}
	case 3: /* shrink */
		if (s->pages > 1) {
			size_t keep = 1 + below((unsigned)s->pages - 1);
			void *m = mremap(s->addr, s->pages * PAGE, keep * PAGE, 0);
			EXPECT(m == s->addr, "mremap shrink");
			s->pages = keep;
		}
		EXPECT(intact(s, s->pages), "contents after shrinking");
		break;
	case 4: { /* move to a fresh place */
		void *dst = mmap(NULL, s->pages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		EXPECT(dst != MAP_FAILED, "mmap for a move");
		if (dst == MAP_FAILED)
			break;
		void *m = mremap(s->addr, s->pages * PAGE, s->pages * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		EXPECT(m == dst, "mremap fixed");
		if (m == dst)
			s->addr = m;
		EXPECT(intact(s, s->pages), "contents after moving");
		break;
	}
	default: /* drop the pages */
		EXPECT(madvise(s->addr, s->pages * PAGE, MADV_DONTNEED) == 0, "madvise");
		EXPECT(zero(s->addr, s->pages * PAGE / 8), "zero after MADV_DONTNEED");
		fill(s, 0);
	}
}

static uint64_t filekey;

static void fill_page(unsigned char *p, uint64_t key)
{
	uint64_t *w = (uint64_t *)p;
	for (size_t i = 0; i < PAGE / 8; i++)
		w[i] = mix(key ^ (i << 48) ^ (uint64_t)self);
}

static int page_is(const unsigned char *p, uint64_t key)
{
	const uint64_t *w = (const uint64_t *)p;
	for (size_t i = 0; i < PAGE / 8; i++)
		if (w[i] != mix(key ^ (i << 48) ^ (uint64_t)self))
			return 0;
	return 1;
}

static void op_file(void)
{
	unsigned char *mine = fmap + (size_t)self * PAGE;
	off_t off = (off_t)self * (off_t)PAGE;
	switch (below(3)) {
	case 0: /* write through the shared mapping, msync, pread */
		filekey = next();
		fill_page(mine, filekey);
		EXPECT(msync(mine, PAGE, MS_SYNC) == 0, "msync");
		EXPECT(pread(filefd, scratch, PAGE, off) == (ssize_t)PAGE, "pread");
		EXPECT(page_is(scratch, filekey), "pread after msync sees the mapping's writes");
		break;
	case 1: { /* a second mapping of the page sees and makes the same data */
		unsigned char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, filefd, off);
		EXPECT(m != MAP_FAILED, "mmap shared file");
		if (m == MAP_FAILED)
			break;
		EXPECT(filekey == 0 ? zero((uint64_t *)m, PAGE / 8) : page_is(m, filekey), "second mapping sees the first");
		filekey = next();
		fill_page(m, filekey);
		EXPECT(page_is(mine, filekey), "first mapping sees the second");
		EXPECT(munmap(m, PAGE) == 0, "munmap shared file");
		break;
	}
	default: /* just write */
		filekey = next();
		fill_page(mine, filekey);
	}
}

static void op_shanon(void)
{
	unsigned char *slot = ctl->slots[self];
	uint64_t v = next(), v2 = mix(v);
	memcpy(slot, &v, 8);
	pid_t c = fork();
	if (c == 0) {
		uint64_t got;
		memcpy(&got, slot, 8);
		if (got != v)
			_exit(3);
		memcpy(slot, &v2, 8);
		_exit(0);
	}
	EXPECT(c > 0, "fork");
	if (c < 0)
		return;
	reap(c, 0);
	uint64_t got;
	memcpy(&got, slot, 8);
	EXPECT(got == v2, "the child's write to MAP_SHARED anonymous memory");
}

static void op_signal(void)
{
	int b = other();
	EXPECT(kill(ctl->pids[b], SIGUSR1) == 0, "kill %d", b);
	__atomic_add_fetch(&ctl->sent_to[b], 1, __ATOMIC_SEQ_CST);
}

static void worker(int w)
{
	self = w;
	me = &ctl->res[w];
	rng = mix(seed * 1000003ULL + (uint64_t)w) | 1;

	/* The read-only page: this worker's own contents. */
	CHECK(mprotect(pub + PAGE, PAGE, PROT_READ | PROT_WRITE) == 0);
	for (size_t i = 0; i < PAGE; i++)
		pub[PAGE + i] = static_byte(w, i);
	CHECK(mprotect(pub + PAGE, PAGE, PROT_READ) == 0);
	while (!__atomic_load_n(&ctl->start, __ATOMIC_SEQ_CST)) /* every pid is known */
		futex_wait(&ctl->start, 0);
	barrier(0); /* every worker is ready */

	for (int i = 0; i < nops; i++) {
		unsigned r = below(32), op;
		if (r < 5)
			op = OP_CELL_W;
		else if (r < 8)
			op = OP_CELL_R;
		else if (r < 10)
			op = OP_STATIC;
		else if (r < 12)
			op = OP_BAD;
		else if (r < 14)
			op = OP_FORK;
		else if (r < 16)
			op = OP_EXITING;
		else if (r < 22)
			op = OP_MMAP;
		else if (r < 26)
			op = OP_FILE;
		else if (r < 28)
			op = OP_SHANON;
		else
			op = OP_SIGNAL;
		me->counts[op]++;
		switch (op) {
		case OP_CELL_W: op_cell_write(); break;
		case OP_CELL_R: op_cell_read(); break;
		case OP_STATIC: op_static(); break;
		case OP_BAD: op_bad(); break;
		case OP_FORK: op_fork(); break;
		case OP_EXITING: op_exiting(); break;
		case OP_MMAP: op_mmap(); break;
		case OP_FILE: op_file(); break;
		case OP_SHANON: op_shanon(); break;
		default: op_signal();
		}
	}
	for (int s = 0; s < NSLOTS; s++)
		if (slots[s].addr)
			EXPECT(intact(&slots[s], slots[s].pages), "slot %d at the end", s);

	barrier(1); /* every operation of every worker is done */
	getppid();  /* signals sent before the barrier have been delivered */
	EXPECT(received > 0 || ctl->sent_to[w] == 0, "%d signals sent, none received", ctl->sent_to[w]);
	me->cellsum = sum(pub, PAGE);
	me->filesum = sum(fmap + (size_t)w * PAGE, PAGE);
	memcpy(&me->slotval, ctl->slots[w], 8);
	barrier(2); /* every account is written */
	for (int b = 0; b < nworkers; b++) { /* every cell this worker wrote holds its last write */
		unsigned char want[CELL], got[CELL];
		if (b == w || !cellseq[b])
			continue;
		make_cell(want, w, b, cellseq[b]);
		struct iovec cl = {got, CELL}, cr = {pub + (size_t)w * CELL, CELL};
		long n = cma(0, ctl->pids[b], &cl, 1, &cr, 1, 0);
		uint32_t g[4], x[4];
		memcpy(g, got, CELL);
		memcpy(x, want, CELL);
		EXPECT(n == CELL && memcmp(got, want, CELL) == 0, "final cell in %d: %ld, %x %x %x %x, want %x %x %x %x", b, n,
		       g[0], g[1], g[2], g[3], x[0], x[1], x[2], x[3]);
	}
	int n = (w + 1) % nworkers;
	unsigned char cells[PAGE];
	struct iovec l = {cells, PAGE}, r = {pub, PAGE};
	long got = cma(0, ctl->pids[n], &l, 1, &r, 1, 0);
	EXPECT(got == (long)PAGE && sum(cells, PAGE) == ctl->res[n].cellsum, "neighbour's cells");
	EXPECT(sum(fmap + (size_t)n * PAGE, PAGE) == ctl->res[n].filesum, "neighbour's file page");
	uint64_t v;
	memcpy(&v, ctl->slots[n], 8);
	EXPECT(v == ctl->res[n].slotval, "neighbour's shared slot");
	barrier(3); /* no one reads another worker any more */
	_exit(failures ? 1 : 0);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	nworkers = argc > 2 ? atoi(argv[2]) : 32;
	nops = argc > 3 ? atoi(argv[3]) : 40;
	seed = argc > 4 ? strtoul(argv[4], NULL, 0) : 1;
	CHECK(nworkers >= 1 && nworkers <= MAXW && nops >= 0);
	setvbuf(stdout, NULL, _IONBF, 0);

	char path[4096];
	snprintf(path, sizeof path, "%s/soak.file", dir);
	filefd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(filefd >= 0);
	CHECK(ftruncate(filefd, (off_t)nworkers * (off_t)PAGE) == 0);
	fmap = mmap(NULL, (size_t)nworkers * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, filefd, 0);
	CHECK(fmap != MAP_FAILED);
	pub = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(pub != MAP_FAILED);
	CHECK(mprotect(pub + PAGE, PAGE, PROT_READ) == 0);
	CHECK(mprotect(pub + 2 * PAGE, PAGE, PROT_NONE) == 0);
	ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ctl != MAP_FAILED);

	struct sigaction sa; /* the workers' handler, before any can be signalled */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	int pids[MAXW];
	for (int w = 0; w < nworkers; w++) {
		pids[w] = fork();
		CHECK(pids[w] >= 0);
		if (pids[w] == 0)
			worker(w);
		ctl->pids[w] = pids[w];
	}
	__atomic_store_n(&ctl->start, 1, __ATOMIC_SEQ_CST);
	futex_wake(&ctl->start);

	int failed = 0;
	for (int w = 0; w < nworkers; w++) {
		int st;
		CHECK(waitpid(pids[w], &st, 0) == pids[w]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			outf("FAIL worker %d ended with status %#x\n", w, st);
			failed++;
		}
	}
	CHECK(munmap(fmap, (size_t)nworkers * PAGE) == 0);
	uint64_t filesum = 1, cellsum = 1, slotsum = 1, bytes = 0, counts[NOPKINDS] = {0}, total = 0;
	for (int w = 0; w < nworkers; w++) {
		CHECK(pread(filefd, scratch, PAGE, (off_t)w * (off_t)PAGE) == (ssize_t)PAGE);
		if (sum(scratch, PAGE) != ctl->res[w].filesum) {
			outf("FAIL the file's page %d differs from the worker's mapping\n", w);
			failed++;
		}
		filesum = mix(filesum ^ sum(scratch, PAGE));
		cellsum = mix(cellsum ^ ctl->res[w].cellsum);
		slotsum = mix(slotsum ^ ctl->res[w].slotval);
		bytes += ctl->res[w].bytes;
		for (int k = 0; k < NOPKINDS; k++)
			counts[k] += ctl->res[w].counts[k];
	}
	close(filefd);
	unlink(path);
	printf("soak: %d workers, %d operations each, seed %lu\n", nworkers, nops, seed);
	for (int k = 0; k < NOPKINDS; k++) {
		printf("  %-12s %llu\n", opname[k], (unsigned long long)counts[k]);
		total += counts[k];
	}
	printf("  total        %llu operations, %llu bytes between workers\n", (unsigned long long)total,
	       (unsigned long long)bytes);
	printf("  checksums    cells %016llx file %016llx shared %016llx\n", (unsigned long long)cellsum,
	       (unsigned long long)filesum, (unsigned long long)slotsum);
	printf("  failed workers %d\n", failed);
	return failed ? 1 : 0;
}
