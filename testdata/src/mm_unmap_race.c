/* mm_unmap_race: a page taken away from under a thread that is using it.
 * Each round maps a private anonymous page holding a pattern, starts a
 * reader thread that loads it (and, in the _write cases, also stores to
 * it) in a tight loop, and once the reader is running the main thread
 *
 *   munmap_*     unmaps the page
 *   mprotect_*   makes it PROT_NONE
 *   dontneed_*   drops it with MADV_DONTNEED (the page stays mapped and
 *                reads back as zeros)
 *
 * then sets a flag. Meanwhile a forked child keeps mapping fresh pages
 * (private and shared), checks that they are zero, fills them with a
 * marker and checks that the marker stays. The reader must never see the
 * marker or any value but the pattern (and zeros after MADV_DONTNEED, never
 * the pattern again once it saw a zero); once the call has returned (the
 * flag is set) every access must fault for munmap and mprotect, with
 * SIGSEGV at the page (the handler leaves with siglongjmp), and must read
 * zero for MADV_DONTNEED. ROUNDS rounds a case; the case prints only
 * yes/no facts and counts that are 0 natively. One line a case; exit 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>

enum {
	PAGE = 4096,
	ROUNDS = 40,
	WARMUP = 1000,	   /* reader loads before the page goes */
	AFTER = 1000,	   /* MADV_DONTNEED: loads after the flag */
	STOP_AFTER = 1000, /* munmap/mprotect: give up when nothing faults */
	CHURN_PAGES = 16,
};
#define MARKER 0x6d61726bu /* "mark" */

enum op { OP_MUNMAP, OP_MPROTECT, OP_DONTNEED };

/* ---- the churning child ---- */

struct control {
	volatile uint32_t stop, iters;
	volatile uint32_t dirty_fresh;	/* a fresh page that was not zero */
	volatile uint32_t foreign;	/* a marker page that changed */
};

static void churn(struct control *c)
{
	const size_t n = CHURN_PAGES * PAGE / 4;
	for (uint32_t it = 0; !c->stop; it++) {
		int flags = (it & 1 ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
		volatile uint32_t *p = mmap(NULL, CHURN_PAGES * PAGE, PROT_READ | PROT_WRITE, flags, -1, 0);
		PCHECK(p != MAP_FAILED);
		for (size_t i = 0; i < n; i++)
			if (p[i] != 0) {
				c->dirty_fresh++;
				break;
			}
		for (size_t i = 0; i < n; i++)
			p[i] = MARKER;
		for (size_t i = 0; i < n; i++)
			if (p[i] != MARKER) {
				c->foreign++;
				break;
			}
		PCHECK(munmap((void *)p, CHURN_PAGES * PAGE) == 0);
		c->iters = it + 1;
	}
}

/* ---- the reader ---- */

struct reader {
	volatile uint32_t *page;
	uint32_t pattern;
	enum op op;
	int write;
	/* results */
	int faulted, fault_at_page;
	long after_return;	/* accesses that worked after the call returned */
	long marker, wrong;	/* values seen: the marker, anything unexpected */
	long stale;		/* MADV_DONTNEED: the pattern again after a zero */
	int zero_at_end;	/* MADV_DONTNEED: a zero read after the flag */
};

static volatile long reads;
static volatile int done;
static __thread int in_reader;
static sigjmp_buf reader_jmp;
static volatile uintptr_t fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!in_reader) {
		/* not the reader: a real crash, let it happen */
		signal(sig, SIG_DFL);
		return;
	}
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(reader_jmp, 1);
}

static void classify(struct reader *r, uint32_t v)
{
	if (v == MARKER)
		r->marker++;
	else if (v != r->pattern && !(r->op == OP_DONTNEED && v == 0))
		r->wrong++;
}

static void *reader(void *arg)
{
	struct reader *r = arg;
	volatile uint32_t *p = r->page;
	in_reader = 1;
	if (sigsetjmp(reader_jmp, 1)) {
		r->faulted = 1;
		r->fault_at_page = fault_addr >= (uintptr_t)p && fault_addr < (uintptr_t)p + PAGE;
		return NULL;
	}
	int saw_zero = 0;
	uint32_t k = 0, last = 0; /* _write: what this thread stored in p[1] */
	for (long after = 0;;) {
		int d = done; /* read before the access: set means the call returned */
		uint32_t v = p[0];
		classify(r, v);
		if (r->op == OP_DONTNEED) {
			if (v == 0)
				saw_zero = 1;
			else if (saw_zero && v == r->pattern)
				r->stale++;
		}
		if (r->write) {
			uint32_t w = p[1];
			if (w != last && !(r->op == OP_DONTNEED && w == 0))
				w == MARKER ? r->marker++ : r->wrong++;
			p[1] = last = ++k;
		}
		reads++;
		if (d) {
			if (r->op == OP_DONTNEED) {
				if (v == 0 && after == 0)
					r->zero_at_end = 1;
				else if (v != 0)
					r->zero_at_end = 0;
			} else {
				r->after_return++;
			}
			if (++after == (r->op == OP_DONTNEED ? AFTER : STOP_AFTER))
				return NULL;
		}
	}
}

/* ---- a case ---- */

static const char *yes(int b)
{
	return b ? "yes" : "no";
}

static void race(const char *name, enum op op, int write)
{
	struct control *c = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	PCHECK(c != MAP_FAILED);
	pid_t child = pfork();
	if (child == 0) {
		churn(c);
		_exit(0);
	}
	while (c->iters == 0)
		sched_yield();

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	PCHECK(sigaction(SIGSEGV, &sa, NULL) == 0);

	int all_faulted = 1, all_at_page = 1, all_zero = 1, none_faulted = 1;
	long after_return = 0, marker = 0, wrong = 0, stale = 0;
	for (int round = 0; round < ROUNDS; round++) {
		volatile uint32_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		PCHECK(p != MAP_FAILED);
		struct reader r = {.page = p, .pattern = 0x600d0000u + (uint32_t)round, .op = op, .write = write};
		p[0] = r.pattern;
		reads = 0;
		done = 0;
		pthread_t th;
		PCHECK(pthread_create(&th, NULL, reader, &r) == 0);
		while (reads < WARMUP)
			sched_yield();
		switch (op) {
		case OP_MUNMAP:
			PCHECK(munmap((void *)p, PAGE) == 0);
			break;
		case OP_MPROTECT:
			PCHECK(mprotect((void *)p, PAGE, PROT_NONE) == 0);
			break;
		case OP_DONTNEED:
			PCHECK(madvise((void *)p, PAGE, MADV_DONTNEED) == 0);
			break;
		}
		done = 1;
		PCHECK(pthread_join(th, NULL) == 0);
		if (op != OP_MUNMAP)
			PCHECK(munmap((void *)p, PAGE) == 0);
		all_faulted &= r.faulted;
		all_at_page &= r.faulted && r.fault_at_page;
		none_faulted &= !r.faulted;
		all_zero &= r.zero_at_end;
		after_return += r.after_return;
		marker += r.marker;
		wrong += r.wrong;
		stale += r.stale;
	}
	signal(SIGSEGV, SIG_DFL);

	c->stop = 1;
	int st = reap(child);
	if (op == OP_DONTNEED)
		out("%s: rounds=%d reader_faulted=%s zeros_after_return=%s stale_after_zero=%ld "
		    "marker_seen=%ld wrong_values=%ld churn: fresh_zero=%s marker_kept=%s %s\n",
		    name, ROUNDS, none_faulted ? "no" : "yes", yes(all_zero), stale, marker, wrong,
		    yes(c->dirty_fresh == 0), yes(c->foreign == 0), wstat(st));
	else
		out("%s: rounds=%d reader_faulted=%s at_page=%s accesses_after_return=%ld "
		    "marker_seen=%ld wrong_values=%ld churn: fresh_zero=%s marker_kept=%s %s\n",
		    name, ROUNDS, yes(all_faulted), yes(all_at_page), after_return, marker, wrong,
		    yes(c->dirty_fresh == 0), yes(c->foreign == 0), wstat(st));
	munmap(c, PAGE);
}

static void munmap_read(void) { race("munmap_read", OP_MUNMAP, 0); }
static void munmap_write(void) { race("munmap_write", OP_MUNMAP, 1); }
static void mprotect_read(void) { race("mprotect_read", OP_MPROTECT, 0); }
static void mprotect_write(void) { race("mprotect_write", OP_MPROTECT, 1); }
static void dontneed_read(void) { race("dontneed_read", OP_DONTNEED, 0); }
static void dontneed_write(void) { race("dontneed_write", OP_DONTNEED, 1); }

static const struct pcase cases[] = {
	{"munmap_read", munmap_read},	  {"munmap_write", munmap_write},
	{"mprotect_read", mprotect_read}, {"mprotect_write", mprotect_write},
	{"dontneed_read", dontneed_read}, {"dontneed_write", dontneed_write},
};

int main(int argc, char **argv)
{
	return run_cases(cases, NCASES(cases), argc, argv);
}
