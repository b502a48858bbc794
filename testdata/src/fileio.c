/* fileio: file syscalls on files it creates (and removes) in the directory
 * argv[1] (default "."): creat, open O_CREAT|O_TRUNC, write and pwrite of a
 * 100 KiB pattern, lseek, read, pread, readv, fstat/stat, error cases.
 * Exit status 0. */
#include "guest.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>

#define SIZE (100 * 1024)
static unsigned char data[SIZE], back[SIZE];

static void err(const char *what, long r)
{
	printf("%s=%ld errno=%s\n", what, r, r < 0 ? errname(errno) : "0");
	errno = 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	char path[PATH_MAX], small[PATH_MAX], missing[PATH_MAX];
	snprintf(path, sizeof path, "%s/fileio-data.tmp", dir);
	snprintf(small, sizeof small, "%s/fileio-small.tmp", dir);
	snprintf(missing, sizeof missing, "%s/fileio-missing.tmp", dir);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 7 + (i >> 10));
	struct stat st;

	int fd = creat(small, 0644);
	CHECK(fd >= 0 && write(fd, "hello\n", 6) == 6 && close(fd) == 0);
	CHECK(stat(small, &st) == 0);
	printf("creat wrote size=%ld\n", (long)st.st_size);
	CHECK((fd = creat(small, 0600)) >= 0 && fstat(fd, &st) == 0);
	printf("creat again truncates size=%ld mode=%o\n", (long)st.st_size, (unsigned)st.st_mode & 0777);
	CHECK(close(fd) == 0 && unlink(small) == 0);

	CHECK((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644)) >= 0);
	size_t half = SIZE / 2, done = 0;
	while (done < half) {
		size_t chunk = half - done < 10000 ? half - done : 10000;
		ssize_t n = write(fd, data + done, chunk);
		CHECK(n > 0);
		done += (size_t)n;
	}
	printf("write total=%ld\n", (long)done);
	printf("pwrite returned=%ld\n", (long)pwrite(fd, data + half, SIZE - half, half));
	printf("offset after pwrite=%ld\n", (long)lseek(fd, 0, SEEK_CUR));
	printf("lseek SEEK_END=%ld\n", (long)lseek(fd, 0, SEEK_END));
	printf("lseek SEEK_SET=%ld\n", (long)lseek(fd, 1000, SEEK_SET));
	printf("lseek SEEK_END-100=%ld\n", (long)lseek(fd, -100, SEEK_END));
	err("lseek to -1", (long)lseek(fd, -1, SEEK_SET));
	CHECK(close(fd) == 0);

	CHECK((fd = open(path, O_RDONLY)) >= 0);
	done = 0;
	for (;;) {
		ssize_t n = read(fd, back + done, SIZE - done < 8192 ? SIZE - done : 8192);
		CHECK(n >= 0);
		if (n == 0)
			break;
		done += (size_t)n;
	}
	printf("read total=%ld match=%d\n", (long)done, memcmp(back, data, SIZE) == 0);
	printf("read at eof=%ld\n", (long)read(fd, back, 10));
	memset(back, 0, SIZE);
	ssize_t n = pread(fd, back, 1000, 50000);
	printf("pread returned=%ld match=%d offset kept=%d\n", (long)n,
	       memcmp(back, data + 50000, 1000) == 0, lseek(fd, 0, SEEK_CUR) == SIZE);
	printf("pread past end=%ld\n", (long)pread(fd, back, 10, SIZE + 5));

	char a[10], z[1], c[5000];
	struct iovec iov[] = {{a, sizeof a}, {z, 0}, {c, sizeof c}};
	CHECK(lseek(fd, 12345, SEEK_SET) == 12345);
	n = readv(fd, iov, 3);
	printf("readv returned=%ld match=%d offset=%ld\n", (long)n,
	       memcmp(a, data + 12345, 10) == 0 && memcmp(c, data + 12355, 5000) == 0,
	       (long)lseek(fd, 0, SEEK_CUR));

	CHECK(fstat(fd, &st) == 0);
	printf("fstat size=%ld regular=%d\n", (long)st.st_size, S_ISREG(st.st_mode));
	CHECK(stat(path, &st) == 0);
	printf("stat size=%ld regular=%d\n", (long)st.st_size, S_ISREG(st.st_mode));
	CHECK(stat(dir, &st) == 0);
	printf("stat dir directory=%d\n", S_ISDIR(st.st_mode));
	err("write to O_RDONLY fd", (long)write(fd, "x", 1));
	CHECK(close(fd) == 0);
	err("read from closed fd", (long)read(fd, back, 1));
	err("close closed fd", close(fd));

	err("open missing", open(missing, O_RDONLY));
	err("stat missing", stat(missing, &st));
	err("open O_CREAT|O_EXCL existing", open(path, O_RDWR | O_CREAT | O_EXCL, 0644));
	err("open dir O_WRONLY", open(dir, O_WRONLY));
	err("unlink", unlink(path));
	err("stat unlinked", stat(path, &st));
	err("unlink again", unlink(path));
	return 0;
}
