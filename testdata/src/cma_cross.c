// variants: glibc musl i386
/* cma_cross: Cross Memory Attach between a 64-bit and a 32-bit process.
 * The guest forks and execs the OTHER ABI's build of itself as the remote
 * (the .glibc and .musl builds run the .i386 sibling, the .i386 build runs
 * the .glibc one; the sibling's path is /proc/self/exe with the suffix
 * after the last '.' replaced), then reads and writes the child's memory
 * with process_vm_readv/process_vm_writev:
 * - both ABIs map 2 pages at 0x30000000 (below 4 GiB);
 * - a 32-bit remote also fills the last 64 bytes below its top (0xffffe000;
 *   the page is mapped afresh, or is the stack's): a 64-bit caller reads
 *   off that top partially and finds nothing at 0xffffe000 or above 4 GiB;
 * - a 64-bit remote also maps 0x600000000000 and 0x600030000000 (above
 *   4 GiB) and 2 pages at 0xfffff000 (across 4 GiB): a 32-bit caller cannot
 *   name the first two (their addresses truncated to 32 bits are 0, not
 *   mapped, and 0x30000000, the low buffer), but an element that starts
 *   below 4 GiB runs on into the page above it.
 * The child reports what it sees after every write through a pipe; only
 * the parent prints. One line a case; exit status 0.
 * Child mode: argv[1] = "child", argv[2] = command fd, argv[3] = reply fd. */
#define _GNU_SOURCE
#define GUEST_CMA
#include "guest.h"
#include <stdint.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define IS64 (sizeof(void *) == 8)
#define WSEED 7u /* the pattern the parent writes */

/* A region of the remote: addresses are 64-bit in both builds. */
struct region {
	const char *name;
	uint64_t addr;
	uint32_t len;
	unsigned seed;
};

static const struct region regions32[] = {
	{"lo", 0x30000000u, 0x2000, 3},
	{"top", 0xffffe000u - 64, 64, 6}, /* the last 64 bytes of a compat task */
};
static const struct region regions64[] = {
	{"lo", 0x30000000u, 0x2000, 3},
	{"hi", 0x600000000000ull, 0x1000, 4},
	{"hi2", 0x600030000000ull, 0x1000, 5},
	{"edge", 0xfffff000ull, 0x2000, 6}, /* 0xfffff000..0x100001000 */
};

/* What the child sends when it is ready, and per region after a write. */
struct ready {
	uint32_t abi, nregions;
};
struct seen {
	uint32_t written, first, other;
};

static void *ptr(uint64_t a) { return (void *)(uintptr_t)a; }

/* child: the remote. Maps and fills its regions, reports "ready", then
 * answers every command byte with what it sees, until end of file. */
static int child(int in, int out)
{
	const struct region *rg = IS64 ? regions64 : regions32;
	uint32_t n = IS64 ? 4 : 2;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t page = rg[i].addr & ~(uint64_t)(CMA_PAGE - 1);
		uint64_t end = (rg[i].addr + rg[i].len + CMA_PAGE - 1) & ~(uint64_t)(CMA_PAGE - 1);
		errno = 0;
		void *p = mmap(ptr(page), (size_t)(end - page), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		/* "top" may be the stack's page already (EEXIST): writable too */
		CHECK(p == ptr(page) || (p == MAP_FAILED && errno == EEXIST &&
					 !strcmp(rg[i].name, "top")));
		cma_fill(ptr(rg[i].addr), rg[i].len, 0, rg[i].seed);
	}
	struct ready r = {IS64 ? 64 : 32, n};
	cma_send(out, &r, sizeof r);
	unsigned char cmd;
	while (cma_recv(in, &cmd, 1)) {
		struct seen s[4];
		for (uint32_t i = 0; i < n; i++) {
			const unsigned char *b = ptr(rg[i].addr);
			s[i] = (struct seen){0, 0xffffffffu, 0};
			for (uint32_t j = 0; j < rg[i].len; j++) {
				if (b[j] == cma_pat(j, rg[i].seed))
					continue;
				if (b[j] != cma_pat(j, WSEED)) {
					s[i].other++;
					continue;
				}
				if (s[i].written++ == 0)
					s[i].first = j;
			}
		}
		cma_send(out, s, n * sizeof s[0]);
	}
	return 0;
}

static cma_child kid;
static const struct region *krg; /* the child's regions */
static uint32_t kn;
static unsigned char *buf; /* 4 pages: local side of every copy */
static const char *dir;    /* "64->32" or "32->64" */

/* riov is a remote element as this ABI can express it: a 32-bit caller's
 * iovec has 32-bit bases, so an address above 4 GiB loses its high bits. */
static struct iovec riov(uint64_t addr, size_t len)
{
	return (struct iovec){(void *)(uintptr_t)addr, len};
}

/* looks names the child region whose pattern buf[0:n] holds from addr's
 * offset in it (comparing by the truncated address a 32-bit caller used). */
static const char *looks(uint64_t addr, size_t n)
{
	for (uint32_t i = 0; i < kn; i++) {
		uint64_t a = (uint64_t)(uintptr_t)addr;
		if (a >= krg[i].addr && a + n <= krg[i].addr + krg[i].len &&
		    cma_same(buf, n, (size_t)(a - krg[i].addr), krg[i].seed))
			return krg[i].name;
	}
	return "other";
}

static void rd(const char *what, uint64_t addr, size_t len)
{
	memset(buf, 0xee, 4 * CMA_PAGE);
	struct iovec l = {buf, len}, r = riov(addr, len);
	long ret = cma_rw(0, (unsigned long)kid.pid, &l, 1, &r, 1, 0);
	if (ret > 0)
		outf("%s read %s: %s data=%s\n", dir, what, cma_res(ret), looks(addr, (size_t)ret));
	else
		outf("%s read %s: %s\n", dir, what, cma_res(ret));
}

/* report asks the child what it sees and prints one line. */
static void report(void)
{
	struct seen s[4];
	char line[400];
	int off = 0;
	cma_send(kid.to, "?", 1);
	CHECK(cma_recv(kid.from, s, kn * sizeof s[0]));
	off += snprintf(line, sizeof line, "  child sees:");
	for (uint32_t i = 0; i < kn; i++) {
		if (s[i].written || s[i].other)
			off += snprintf(line + off, sizeof line - off, " %s written=%u first=%u other=%u",
					krg[i].name, s[i].written, s[i].first, s[i].other);
		else
			off += snprintf(line + off, sizeof line - off, " %s unchanged", krg[i].name);
	}
	outf("%s\n", line);
}

/* wr writes len bytes of the WSEED pattern, as it would lie from offset
 * off in the region named by where, to the child's addr. */
static void wr(const char *what, uint64_t addr, size_t len, size_t off)
{
	cma_fill(buf, len, off, WSEED);
	struct iovec l = {buf, len}, r = riov(addr, len);
	long ret = cma_rw(1, (unsigned long)kid.pid, &l, 1, &r, 1, 0);
	outf("%s write %s: %s\n", dir, what, cma_res(ret));
	report();
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "child"))
		return child(atoi(argv[2]), atoi(argv[3]));

	char self[4096], sib[4096 + 8];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	CHECK(n > 0);
	self[n] = 0;
	char *dot = strrchr(self, '.');
	CHECK(dot != NULL);
	*dot = 0;
	snprintf(sib, sizeof sib, "%s.%s", self, IS64 ? "i386" : "glibc");
	outf("caller=%d sibling=%s\n", IS64 ? 64 : 32, IS64 ? "i386" : "glibc");

	buf = cma_map(4 * CMA_PAGE, PROT_READ | PROT_WRITE);
	int down[2], up[2];
	CHECK(pipe(down) == 0 && pipe(up) == 0);
	kid.pid = fork();
	CHECK(kid.pid >= 0);
	if (kid.pid == 0) {
		char a[16], b[16];
		close(down[1]), close(up[0]);
		snprintf(a, sizeof a, "%d", down[0]);
		snprintf(b, sizeof b, "%d", up[1]);
		execl(sib, sib, "child", a, b, (char *)NULL);
		outf("FAIL execl: %s\n", errname(errno));
		_exit(127);
	}
	close(down[0]), close(up[1]);
	kid.to = down[1], kid.from = up[0];

	struct ready r;
	CHECK(cma_recv(kid.from, &r, sizeof r));
	outf("child abi=%u regions=%u\n", r.abi, r.nregions);
	CHECK(r.abi == (IS64 ? 32u : 64u));
	krg = IS64 ? regions32 : regions64;
	kn = IS64 ? 2 : 4;
	CHECK(r.nregions == kn);

	if (IS64) {
		dir = "64->32";
		rd("lo 0x30000000 len 0x2000", 0x30000000u, 0x2000);
		rd("lo end 0x30001ff0 len 32 (partial)", 0x30001ff0u, 32);
		rd("0x130000000 (lo + 4 GiB)", 0x130000000ull, 16);
		rd("top 0xffffdfc0 len 128 (runs off the top)", 0xffffdfc0u, 128);
		rd("0xffffe000 len 16", 0xffffe000u, 16);
		rd("0xfffff000 len 0x2000", 0xfffff000u, 0x2000);
		wr("lo 0x30000064 len 32", 0x30000064u, 32, 100);
		wr("top 0xffffdfe0 len 64 (runs off the top)", 0xffffdfe0u, 64, 32);
		wr("0xffffe000 len 16", 0xffffe000u, 16, 0);
		wr("0x130000000 (lo + 4 GiB)", 0x130000000ull, 16, 0);
	} else {
		dir = "32->64";
		rd("lo 0x30000000 len 0x2000", 0x30000000u, 0x2000);
		rd("lo end 0x30001ff0 len 32 (partial)", 0x30001ff0u, 32);
		rd("hi 0x600000000000 (as 0x00000000)", 0x600000000000ull, 16);
		rd("hi2 0x600030000000 (as 0x30000000)", 0x600030000000ull, 16);
		rd("edge 0xffffffc0 len 128 (across 4 GiB)", 0xffffffc0u, 128);
		rd("edge 0xfffff000 len 0x2000 (across 4 GiB)", 0xfffff000u, 0x2000);
		rd("0xffffe000 len 16", 0xffffe000u, 16);
		wr("lo 0x30000064 len 32", 0x30000064u, 32, 100);
		wr("hi2+300 (as 0x3000012c) len 32", 0x60003000012cull, 32, 300);
		wr("edge 0xffffffe0 len 64 (across 4 GiB)", 0xffffffe0u, 64, 0xfe0);
		wr("hi 0x600000000000 (as 0x00000000)", 0x600000000000ull, 16, 0);
	}
	outf("child exit=%d\n", cma_reap(&kid));
	return 0;
}
