/* ev_eventfd: eventfd and eventfd2. Flags (EFD_SEMAPHORE, EFD_NONBLOCK,
 * EFD_CLOEXEC, bad ones EINVAL), the 8-byte reads and writes (EINVAL for a
 * short buffer, for 0xffffffffffffffff; ESPIPE for pread), counter and
 * semaphore reads, EAGAIN when empty or full, a read that blocks until a
 * child writes, a write that blocks on overflow until a child reads, and
 * fstat/F_GETFL/readlink of the anonymous file. One line a case; exit 0. */
#define _GNU_SOURCE
#include "ev.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

static void rd(const char *what, int fd)
{
	uint64_t v = 0;
	errno = 0;
	ssize_t n = read(fd, &v, sizeof v);
	if (n < 0)
		printf("%s: read -1 %s\n", what, errname(errno));
	else
		printf("%s: read %zd value %llu\n", what, n, (unsigned long long)v);
}

static void wr(const char *what, int fd, uint64_t v)
{
	errno = 0;
	ssize_t n = write(fd, &v, sizeof v);
	printf("%s: write %zd %s\n", what, n, n < 0 ? errname(errno) : "");
}

static int revents(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLPRI};
	CHECK(poll(&p, 1, 0) >= 0);
	return p.revents;
}

int main(void)
{
	/* flags */
	SHOW("eventfd2 bad flags", eventfd(0, 0x4));
	int raw = (int)syscall(SYS_eventfd, 3);
	CHECK(raw >= 0);
	rd("eventfd(3) syscall", raw);
	close(raw);

	int e = eventfd(5, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(e >= 0);
	struct stat st;
	CHECK(fstat(e, &st) == 0);
	printf("fstat mode %o nlink %lu size %lld blksize %ld\n", (unsigned)st.st_mode, (unsigned long)st.st_nlink,
	       (long long)st.st_size, (long)st.st_blksize);
	printf("F_GETFL %#x F_GETFD %d\n", fcntl(e, F_GETFL), fcntl(e, F_GETFD));
	char link[64] = {0}, path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", e);
	CHECK(readlink(path, link, sizeof link - 1) > 0);
	printf("link %s\n", link);
	printf("poll with 5: %#x\n", revents(e));

	/* short buffers and bad values */
	char small[7];
	SHOW("read 7 bytes", read(e, small, sizeof small));
	SHOW("write 7 bytes", write(e, small, sizeof small));
	wr("write all ones", e, UINT64_MAX);
	uint64_t v = 1;
	SHOW("pread", pread(e, &v, 8, 0));
	SHOW("pwrite", pwrite(e, &v, 8, 0));
	/* a larger buffer still moves 8 bytes; readv across two iovecs */
	char big[16];
	memset(big, 0xaa, sizeof big);
	SHOW("read 16", read(e, big, sizeof big));
	printf("  value %llu, byte 8 %#x\n", (unsigned long long)*(uint64_t *)big, (unsigned char)big[8]);
	wr("write 0", e, 0);
	rd("read empty", e);
	wr("write 7", e, 7);
	uint32_t lo = 0, hi = 0;
	struct iovec iov[2] = {{&lo, 4}, {&hi, 4}};
	SHOW("readv 4+4", readv(e, iov, 2));
	printf("  value %u %u\n", lo, hi);

	/* overflow: the counter holds at most 2^64-2 */
	wr("write max-1", e, UINT64_MAX - 1);
	printf("poll full: %#x\n", revents(e));
	wr("write 1 more", e, 1);
	wr("write 0 when full", e, 0);
	rd("read full", e);
	wr("write max-2", e, UINT64_MAX - 2);
	wr("write 1", e, 1);
	wr("write 1 again", e, 1);
	rd("read", e);

	/* semaphore mode */
	int s = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	CHECK(s >= 0);
	rd("sem 1", s);
	rd("sem 2", s);
	rd("sem 3", s);
	rd("sem 4", s);
	wr("sem write 2", s, 2);
	rd("sem 5", s);
	printf("poll sem: %#x\n", revents(s));
	rd("sem 6", s);
	printf("poll sem empty: %#x\n", revents(s));

	/* blocking read, woken by a child's write */
	int b = eventfd(0, 0);
	CHECK(b >= 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(50000);
		uint64_t one = 42;
		_exit(write(b, &one, 8) == 8 ? 0 : 1);
	}
	rd("blocking read", b);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	printf("child status %d\n", WEXITSTATUS(status));

	/* blocking write on overflow, released by a child's read */
	wr("fill", b, UINT64_MAX - 1);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(50000);
		uint64_t x;
		_exit(read(b, &x, 8) == 8 && x == UINT64_MAX - 1 ? 0 : 1);
	}
	wr("blocking write", b, 9);
	CHECK(waitpid(pid, &status, 0) == pid);
	printf("child status %d\n", WEXITSTATUS(status));
	rd("after", b);

	/* O_NONBLOCK through fcntl */
	CHECK(fcntl(b, F_SETFL, O_NONBLOCK) == 0);
	printf("F_GETFL %#x\n", fcntl(b, F_GETFL));
	rd("nonblocking read", b);
	printf("done\n");
	return 0;
}
