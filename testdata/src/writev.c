/* writev: gather writes to stdout (zero-length and NULL-based iovecs
 * included), writev edge cases, scatter reads from a file it creates in
 * argv[1] (default "."), and readv of stdin until EOF. Exit status 0. */
#include "guest.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>

static struct iovec many[1025];

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	struct iovec out[] = {
		{(void *)"writev: ", 8}, {NULL, 0}, {(void *)"hello", 5},
		{(void *)"unused", 0}, {(void *)", ", 2}, {(void *)"world\n", 6},
	};
	fflush(stdout);
	ssize_t n = writev(1, out, 6);
	printf("writev returned=%ld\n", (long)n);
	printf("writev iovcnt=0 returned=%ld\n", (long)writev(1, out, 0));
	printf("writev only empty returned=%ld\n", (long)writev(1, out + 1, 1));
	errno = 0;
	volatile int negative = -1; /* hidden from the compiler */
	n = writev(1, out, negative);
	printf("writev iovcnt=-1 returned=%ld errno=%s\n", (long)n, errname(errno));
	errno = 0;
	n = writev(1, many, 1025);
	printf("writev iovcnt=1025 returned=%ld errno=%s\n", (long)n, errname(errno));
	errno = 0;
	n = writev(99, out, 6);
	printf("writev fd=99 returned=%ld errno=%s\n", (long)n, errname(errno));
	fflush(stdout);

	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/writev-data.tmp", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, "abcdefghijklmnopqrstuvwxyz", 26) == 26);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	char a[6] = {0}, b[11] = {0}, c[4] = {0};
	struct iovec in[] = {{a, 5}, {c, 0}, {b, 10}};
	n = readv(fd, in, 3);
	printf("readv returned=%ld a=%s b=%s\n", (long)n, a, b);
	memset(a, 0, sizeof a), memset(b, 0, sizeof b);
	n = readv(fd, in, 3);
	printf("readv returned=%ld a=%s b=%s\n", (long)n, a, b);
	printf("readv at eof returned=%ld\n", (long)readv(fd, in, 3));
	CHECK(close(fd) == 0);
	CHECK(unlink(path) == 0);

	/* stdin: /dev/null, a file or a pipe; read it whole with readv. */
	static char data[65536];
	size_t total = 0;
	for (;;) {
		char small[7];
		struct iovec si[] = {{small, sizeof small}, {data + total + sizeof small, 64}};
		if (total + sizeof small + 64 > sizeof data)
			break;
		errno = 0;
		n = readv(0, si, 2);
		if (n <= 0)
			break;
		size_t first = (size_t)n < sizeof small ? (size_t)n : sizeof small;
		memcpy(data + total, small, first);
		/* bytes past the small buffer already sit at their place */
		total += (size_t)n;
	}
	printf("stdin readv last=%ld errno=%s bytes=%zu\n", (long)n, errname(errno), total);
	fflush(stdout);
	struct iovec echo[] = {{(void *)"stdin: [", 8}, {data, total}, {(void *)"]\n", 2}};
	n = writev(1, echo, 3);
	printf("echo returned=%ld\n", (long)n);
	return 0;
}
