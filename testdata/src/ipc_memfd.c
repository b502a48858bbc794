/* ipc_memfd: memfd_create and file seals.
 * - write, read, lseek, ftruncate and fstat of a memfd; a MAP_SHARED
 *   mapping sees write(2) at once and read(2) sees stores through it;
 *   /proc/self/fd shows "/memfd:NAME (deleted)"; reopening through
 *   /proc/self/fd reaches the same file;
 * - a mapping made before fork is shared with the child, and the child
 *   maps the inherited descriptor again;
 * - seals: F_SEAL_SEAL without MFD_ALLOW_SEALING, F_SEAL_WRITE (EPERM to
 *   write, EBUSY while a writable shared mapping exists), F_SEAL_SHRINK,
 *   F_SEAL_GROW, F_SEAL_FUTURE_WRITE, MFD_NOEXEC_SEAL's F_SEAL_EXEC and
 *   mode;
 * - a memfd passed over an AF_UNIX socket (SCM_RIGHTS) to another
 *   process, which maps it MAP_SHARED: each sees the other's bytes;
 * - name and flag rules (EINVAL, EFAULT).
 * Exit status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x8
#define MFD_EXEC 0x10
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x10
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x20
#endif

static int mfd(const char *name, unsigned flags)
{
	return syscall(SYS_memfd_create, name, flags);
}

static void show(const char *what, long r)
{
	if (r == -1)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
	errno = 0;
}

static int waitchild(pid_t pid)
{
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static void basics(void)
{
	int fd = mfd("basics", MFD_CLOEXEC);
	CHECK(fd >= 0);
	printf("FD_CLOEXEC: %d\n", fcntl(fd, F_GETFD) == FD_CLOEXEC);
	printf("flags: %o\n", fcntl(fd, F_GETFL) & ~O_LARGEFILE);
	struct stat st;
	CHECK(fstat(fd, &st) == 0);
	printf("new: mode=%o size=%ld nlink=%lu uid=%u\n", (unsigned)st.st_mode, (long)st.st_size,
	       (unsigned long)st.st_nlink, (unsigned)st.st_uid);
	char link[64], path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	printf("link: %s\n", link);
	show("write", write(fd, "hello memfd", 11));
	show("lseek end", lseek(fd, 0, SEEK_END));
	char buf[32] = "";
	show("pread", pread(fd, buf, sizeof buf, 6));
	printf("read back: %s\n", buf);
	show("ftruncate 8192", ftruncate(fd, 8192));
	CHECK(fstat(fd, &st) == 0);
	printf("after ftruncate: size=%ld\n", (long)st.st_size);

	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	printf("mapping sees: %.11s\n", m);
	show("pwrite at 4096", pwrite(fd, "through write", 13, 4096));
	printf("mapping sees write: %.13s\n", m + 4096);
	memcpy(m + 100, "through map", 11);
	memset(buf, 0, sizeof buf);
	show("pread at 100", pread(fd, buf, 11, 100));
	printf("read sees store: %s\n", buf);

	int again = open(path, O_RDWR);
	CHECK(again >= 0);
	memset(buf, 0, sizeof buf);
	show("reopened pread", pread(again, buf, 11, 100));
	printf("reopened sees: %s\n", buf);
	close(again);

	show("ftruncate 10", ftruncate(fd, 10));
	show("ftruncate 8192 again", ftruncate(fd, 8192));
	printf("after shrink and grow: %d %d\n", m[9] == 'm', m[100] == 0 && m[4096] == 0);

	/* Shared with a child, which maps the descriptor again. */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
		if (c == MAP_FAILED)
			_exit(2);
		strcpy(m + 200, "child via inherited map");
		strcpy(c + 10, "child via own map");
		_exit(0);
	}
	printf("child: %d\n", waitchild(pid));
	printf("parent sees: %s | %s\n", m + 200, m + 4106);
	memset(buf, 0, sizeof buf);
	show("pread child's bytes", pread(fd, buf, 17, 4106));
	printf("read sees: %s\n", buf);

	char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(priv != MAP_FAILED);
	priv[200] = 'X';
	printf("private copy stays private: %c %c\n", m[200], priv[200]);
	munmap(priv, 4096);
	munmap(m, 8192);
	close(fd);
}

static void seals(void)
{
	int fd = mfd("noseal", 0);
	CHECK(fd >= 0);
	show("F_GET_SEALS without sealing", fcntl(fd, F_GET_SEALS));
	show("F_ADD_SEALS without sealing", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	close(fd);

	fd = mfd("sealed", MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	show("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
	CHECK(ftruncate(fd, 4096) == 0);
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	show("F_SEAL_WRITE with a writable mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	munmap(m, 4096);
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(ro != MAP_FAILED);
	show("F_SEAL_WRITE with a read-only shared mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	munmap(ro, 4096);
	show("F_SEAL_WRITE", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	show("write", write(fd, "x", 1));
	show("mmap shared writable", (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	show("mmap shared read-only", ro != MAP_FAILED);
	show("mprotect it writable", mprotect(ro, 4096, PROT_READ | PROT_WRITE));
	char *pv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	show("mmap private writable", pv != MAP_FAILED);
	show("ftruncate larger (no grow seal)", ftruncate(fd, 8192));
	show("F_SEAL_SHRINK|F_SEAL_GROW", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	show("ftruncate smaller", ftruncate(fd, 4096));
	show("ftruncate larger", ftruncate(fd, 16384));
	show("ftruncate same", ftruncate(fd, 8192));
	show("F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
	show("F_ADD_SEALS after F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	show("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
	show("unknown seal", fcntl(fd, F_ADD_SEALS, 0x100));
	close(fd);

	fd = mfd("grow", MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK(write(fd, "abcdef", 6) == 6);
	show("F_SEAL_GROW", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
	show("pwrite inside", pwrite(fd, "XY", 2, 2));
	show("pwrite across the end", pwrite(fd, "123456", 6, 3));
	show("pwrite past the end", pwrite(fd, "z", 1, 100));
	close(fd);

	fd = mfd("future", MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 4096) == 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	show("F_SEAL_FUTURE_WRITE with a writable mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	m[0] = 'k';
	printf("old mapping still writes: %c\n", m[0]);
	show("write", write(fd, "x", 1));
	show("new writable shared mapping", (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	int rd;
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	rd = open(path, O_RDONLY);
	CHECK(rd >= 0);
	show("F_ADD_SEALS through O_RDONLY", fcntl(rd, F_ADD_SEALS, F_SEAL_SHRINK));
	show("F_GET_SEALS through O_RDONLY", fcntl(rd, F_GET_SEALS));
	close(rd);
	close(fd);

	fd = mfd("noexec", MFD_NOEXEC_SEAL);
	CHECK(fd >= 0);
	struct stat st;
	CHECK(fstat(fd, &st) == 0);
	printf("MFD_NOEXEC_SEAL: mode=%o\n", (unsigned)st.st_mode);
	show("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
	show("fchmod +x", fchmod(fd, 0755));
	show("fchmod -w", fchmod(fd, 0444));
	show("F_SEAL_EXEC again (implies write seals)", fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC));
	show("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
	close(fd);

	fd = mfd("exec", MFD_EXEC | MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0);
	printf("MFD_EXEC: mode=%o seals=%d\n", (unsigned)st.st_mode, fcntl(fd, F_GET_SEALS));
	show("F_SEAL_EXEC on an executable file", fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC));
	show("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
	show("fchmod -x", fchmod(fd, 0644));
	close(fd);

	int pfd[2];
	CHECK(pipe(pfd) == 0);
	show("F_GET_SEALS on a pipe", fcntl(pfd[0], F_GET_SEALS));
	close(pfd[0]);
	close(pfd[1]);
}

static void sendfd(int sock, int fd)
{
	char byte = 'f';
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	CHECK(sendmsg(sock, &mh, 0) == 1);
}

static int recvfd(int sock)
{
	char byte;
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	CHECK(recvmsg(sock, &mh, 0) == 1);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	CHECK(c != NULL && c->cmsg_type == SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/* passed: a child makes a memfd and sends it; the parent maps it. */
static void passed(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		int fd = mfd("passed", 0);
		CHECK(fd >= 0);
		CHECK(ftruncate(fd, 4096) == 0);
		CHECK(pwrite(fd, "from the child", 14, 0) == 14);
		sendfd(sv[1], fd);
		char c;
		CHECK(read(sv[1], &c, 1) == 1);
		char buf[32] = "";
		CHECK(pread(fd, buf, 15, 100) == 15);
		printf("child reads the parent's store: %s\n", buf);
		_exit(0);
	}
	close(sv[1]);
	int fd = recvfd(sv[0]);
	char link[64], path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	printf("received: %s\n", link);
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	printf("parent maps: %.14s\n", m);
	memcpy(m + 100, "from the parent", 15);
	CHECK(write(sv[0], "x", 1) == 1);
	printf("child: %d\n", waitchild(pid));
	munmap(m, 4096);
	close(fd);
	close(sv[0]);
}

static void names(void)
{
	char name[300];
	memset(name, 'n', sizeof name);
	name[249] = 0;
	int fd = mfd(name, 0);
	show("name of 249 bytes", fd >= 0);
	close(fd);
	name[249] = 'n';
	name[250] = 0;
	show("name of 250 bytes", mfd(name, 0));
	show("empty name", (fd = mfd("", 0)) >= 0);
	close(fd);
	show("bad name pointer", mfd((const char *)8, 0));
	show("unknown flag", mfd("x", 0x100));
	show("MFD_EXEC|MFD_NOEXEC_SEAL", mfd("x", MFD_EXEC | MFD_NOEXEC_SEAL));
	fd = mfd("a/b c", 0);
	char link[80], path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	printf("slash and space: %s\n", link);
	close(fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	basics();
	seals();
	passed();
	names();
	return 0;
}
