// variants: glibc musl
/* rel_shfile: MAP_SHARED file mappings keep the file's data: only dirty
 * pages are written back, at their own offset, through a descriptor that
 * may write. argv[1] is the directory, argv[2..] the cases:
 *   pwrite_unmap   a PROT_READ mapping's unmap keeps data pwrite wrote
 *   rdonly_first   a write through an O_RDWR mapping reaches the file when
 *                  the file was first mapped through an O_RDONLY descriptor
 *   append         a mapping of an O_APPEND descriptor writes in place
 *   mprotect       PROT_WRITE on a shared mapping of an O_RDONLY descriptor
 *   msync          msync's flags, holes and write-back
 *   coherent       read() sees a store through the mapping before msync,
 *                  the mapping sees pwrite() at once */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"

#define PG 4096

static char path[4096];

static int mkfile(const char *dir, const char *name, size_t size, char fill)
{
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	char buf[PG];
	memset(buf, fill, sizeof buf);
	for (size_t off = 0; off < size; off += PG)
		CHECK(pwrite(fd, buf, PG, off) == PG);
	return fd;
}

static char at(int fd, off_t off)
{
	char c = 0;
	CHECK(pread(fd, &c, 1, off) == 1);
	return c;
}

static off_t size_of(int fd)
{
	struct stat st;
	CHECK(fstat(fd, &st) == 0);
	return st.st_size;
}

static void pwrite_unmap(const char *dir)
{
	int fd = mkfile(dir, "pw", PG, 'a');
	char *p = mmap(0, PG, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	outf("pwrite_unmap: mapped=%c\n", p[0]);
	CHECK(pwrite(fd, "B", 1, 0) == 1);
	CHECK(munmap(p, PG) == 0);
	outf("pwrite_unmap: file=%c\n", at(fd, 0));
	/* The same with a read-write mapping that was only read. */
	p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	outf("pwrite_unmap: rw mapped=%c\n", p[0]);
	CHECK(pwrite(fd, "C", 1, 1) == 1);
	CHECK(munmap(p, PG) == 0);
	outf("pwrite_unmap: rw file=%c%c\n", at(fd, 0), at(fd, 1));
	close(fd);
	unlink(path);
}

static void rdonly_first(const char *dir)
{
	int rw = mkfile(dir, "ro", PG, 'a');
	int ro = open(path, O_RDONLY);
	CHECK(ro >= 0);
	char *r = mmap(0, PG, PROT_READ, MAP_SHARED, ro, 0);
	CHECK(r != MAP_FAILED);
	char *w = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
	CHECK(w != MAP_FAILED);
	w[10] = 'W';
	outf("rdonly_first: seen through the read-only mapping=%c\n", r[10]);
	int ret = msync(w, PG, MS_SYNC);
	outf("rdonly_first: msync=%d\n", ret);
	outf("rdonly_first: file=%c\n", at(ro, 10));
	CHECK(munmap(w, PG) == 0);
	close(rw);
	CHECK(munmap(r, PG) == 0);
	outf("rdonly_first: after unmap file=%c\n", at(ro, 10));
	close(ro);
	unlink(path);
}

static void append(const char *dir)
{
	int fd0 = mkfile(dir, "ap", 2 * PG, 'a');
	close(fd0);
	int fd = open(path, O_RDWR | O_APPEND);
	CHECK(fd >= 0);
	char *p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	p[PG + 5] = 'X';
	int ret = msync(p, 2 * PG, MS_SYNC);
	outf("append: msync=%d size=%ld\n", ret, (long)size_of(fd));
	p[0] = 'Y';
	CHECK(munmap(p, 2 * PG) == 0);
	outf("append: size=%ld first=%c at=%c\n", (long)size_of(fd), at(fd, 0), at(fd, PG + 5));
	close(fd);
	unlink(path);
}

static void mprotect_case(const char *dir)
{
	int rw = mkfile(dir, "mp", PG, 'a');
	int ro = open(path, O_RDONLY);
	CHECK(ro >= 0);
	errno = 0;
	void *q = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
	outf("mprotect: mmap rw of O_RDONLY: %s\n", q == MAP_FAILED ? errname(errno) : "ok");
	char *r = mmap(0, PG, PROT_READ, MAP_SHARED, ro, 0);
	CHECK(r != MAP_FAILED);
	errno = 0;
	int ret = mprotect(r, PG, PROT_READ | PROT_WRITE);
	outf("mprotect: PROT_WRITE: %d %s\n", ret, ret ? errname(errno) : "");
	/* Private mappings of an O_RDONLY descriptor may be made writable. */
	char *pv = mmap(0, PG, PROT_READ, MAP_PRIVATE, ro, 0);
	CHECK(pv != MAP_FAILED);
	outf("mprotect: private PROT_WRITE: %d\n", mprotect(pv, PG, PROT_READ | PROT_WRITE));
	pv[0] = 'P';
	outf("mprotect: file=%c mapping=%c\n", at(ro, 0), r[0]);
	errno = 0;
	ret = madvise(r, PG, MADV_REMOVE);
	outf("mprotect: MADV_REMOVE: %d %s\n", ret, ret ? errname(errno) : "");
	/* A read-write shared mapping may lose and regain PROT_WRITE. */
	char *w = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
	CHECK(w != MAP_FAILED);
	CHECK(mprotect(w, PG, PROT_READ) == 0);
	outf("mprotect: regain PROT_WRITE: %d\n", mprotect(w, PG, PROT_READ | PROT_WRITE));
	w[1] = 'Q';
	CHECK(munmap(w, PG) == 0);
	outf("mprotect: file=%c%c\n", at(ro, 0), at(ro, 1));
	munmap(r, PG);
	munmap(pv, PG);
	close(ro);
	close(rw);
	unlink(path);
}

static void msync_case(const char *dir)
{
	int fd = mkfile(dir, "ms", 3 * PG, 'a');
	char *p = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	int ret = msync(p, PG, MS_SYNC | MS_ASYNC);
	outf("msync: both flags: %d %s\n", ret, errname(errno));
	ret = msync(p, PG, 8);
	outf("msync: bad flag: %d %s\n", ret, errname(errno));
	ret = msync(p + 1, PG, MS_SYNC);
	outf("msync: unaligned: %d %s\n", ret, errname(errno));
	outf("msync: empty: %d\n", msync(p, 0, MS_SYNC));
	p[0] = 'S';
	p[2 * PG] = 'T';
	ret = msync(p, PG, MS_SYNC);
	outf("msync: first page: %d file=%c\n", ret, at(fd, 0));
	outf("msync: MS_ASYNC|MS_INVALIDATE: %d\n", msync(p, 3 * PG, MS_ASYNC | MS_INVALIDATE));
	ret = msync(p, 3 * PG, MS_SYNC);
	outf("msync: all: %d file=%c\n", ret, at(fd, 2 * PG));
	/* A hole in the middle: ENOMEM, after the mapped parts. */
	CHECK(munmap(p + PG, PG) == 0);
	p[2 * PG + 1] = 'U';
	errno = 0;
	ret = msync(p, 3 * PG, MS_SYNC);
	outf("msync: hole: %d %s file=%c\n", ret, errname(errno), at(fd, 2 * PG + 1));
	errno = 0;
	ret = msync(p + PG, 2 * PG, MS_ASYNC);
	outf("msync: hole first, MS_ASYNC: %d %s\n", ret, errname(errno));
	CHECK(munmap(p, 3 * PG) == 0);
	errno = 0;
	ret = msync(p, PG, MS_SYNC);
	outf("msync: unmapped: %d %s\n", ret, errname(errno));
	close(fd);
	unlink(path);
}

static void coherent(const char *dir)
{
	int fd = mkfile(dir, "co", PG, 'a');
	char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	p[0] = 'M';
	outf("coherent: read after store=%c\n", at(fd, 0));
	CHECK(pwrite(fd, "P", 1, 1) == 1);
	outf("coherent: mapping after pwrite=%c\n", p[1]);
	CHECK(munmap(p, PG) == 0);
	outf("coherent: file=%c%c\n", at(fd, 0), at(fd, 1));
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "pwrite_unmap"))
			pwrite_unmap(dir);
		else if (!strcmp(argv[i], "rdonly_first"))
			rdonly_first(dir);
		else if (!strcmp(argv[i], "append"))
			append(dir);
		else if (!strcmp(argv[i], "mprotect"))
			mprotect_case(dir);
		else if (!strcmp(argv[i], "msync"))
			msync_case(dir);
		else if (!strcmp(argv[i], "coherent"))
			coherent(dir);
		else {
			outf("unknown case %s\n", argv[i]);
			return 2;
		}
	}
	return 0;
}
