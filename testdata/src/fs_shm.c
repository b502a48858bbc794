/* fs_shm: POSIX shared memory and what a test library does at set-up.
 * - shm_open + ftruncate + mmap(MAP_SHARED) in a parent and, after an
 *   exec-free fork, a separate shm_open + mmap in the child: both see
 *   each other's bytes; a futex in the shared page wakes across them;
 *   the object lists in /dev/shm and goes with shm_unlink.
 * - LTP's set-up: a temporary directory made, chmodded, chowned and
 *   removed; /proc/self/oom_score_adj read and written; a checkpoint
 *   futex in a MAP_SHARED file in that directory between two processes.
 * Files live under argv[1] (default "."). Exit status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define FUTEX_WAIT 0 /* shared: no FUTEX_PRIVATE_FLAG */
#define FUTEX_WAKE 1

static long futex(volatile uint32_t *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* wait_for waits until *w == want, with FUTEX_WAIT (shared). */
static void wait_for(volatile uint32_t *w, uint32_t want)
{
	uint32_t v;
	while ((v = __atomic_load_n(w, __ATOMIC_SEQ_CST)) != want)
		futex(w, FUTEX_WAIT, v);
}

static void post(volatile uint32_t *w, uint32_t v)
{
	__atomic_store_n(w, v, __ATOMIC_SEQ_CST);
	futex(w, FUTEX_WAKE, 1);
}

static int listed(const char *name)
{
	DIR *d = opendir("/dev/shm");
	if (!d)
		return -1;
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d)) != NULL)
		found |= !strcmp(e->d_name, name);
	closedir(d);
	return found;
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : ".";
	CHECK(chdir(base) == 0);
	char name[64];
	snprintf(name, sizeof name, "/cmaemu-fs_shm-%d", (int)getpid());

	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 8192) == 0);
	struct stat st;
	CHECK(fstat(fd, &st) == 0);
	outf("shm size=%lld mode=%o\n", (long long)st.st_size, (unsigned)(st.st_mode & 0777));
	volatile uint32_t *w = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(w != MAP_FAILED);
	outf("listed in /dev/shm: %d\n", listed(name + 1));
	outf("shm_open O_EXCL again: %s\n", shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600) < 0 ? errname(errno) : "ok");

	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		int cfd = shm_open(name, O_RDWR, 0);
		CHECK(cfd >= 0);
		volatile uint32_t *cw = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
		CHECK(cw != MAP_FAILED && cw != w);
		strcpy((char *)(cw + 16), "written by the child");
		post(cw, 1);
		wait_for(cw + 1, 2);
		_exit(strcmp((char *)(cw + 32), "answered by the parent") ? 3 : 0);
	}
	wait_for(w, 1);
	outf("parent reads: %s\n", (char *)(w + 16));
	strcpy((char *)(w + 32), "answered by the parent");
	post(w + 1, 2);
	int status;
	CHECK(waitpid(c, &status, 0) == c);
	outf("child exited=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	CHECK(munmap((void *)w, 8192) == 0 && close(fd) == 0);
	const char *unlinked = shm_unlink(name) == 0 ? "ok" : errname(errno);
	outf("shm_unlink: %s listed=%d\n", unlinked, listed(name + 1));
	outf("shm_unlink again: %s\n", shm_unlink(name) == 0 ? "ok" : errname(errno));

	/* LTP's set-up, as tst_test does it */
	CHECK(mkdir("ltp-tmp", 0700) == 0);
	outf("tmpdir chmod 0777: %s\n", chmod("ltp-tmp", 0777) == 0 ? "ok" : errname(errno));
	outf("tmpdir chown 1000:1000 as %s: %s\n", geteuid() == 0 ? "root" : "user",
	     chown("ltp-tmp", 1000, 1000) == 0 ? "ok" : errname(errno));
	char buf[32] = {0};
	int ofd = open("/proc/self/oom_score_adj", O_RDWR);
	CHECK(ofd >= 0);
	outf("oom_score_adj read: %zd\n", read(ofd, buf, sizeof buf));
	outf("oom_score_adj write 500: %s\n", pwrite(ofd, "500", 3, 0) == 3 ? "ok" : errname(errno));
	close(ofd);
	int cp = open("ltp-tmp/checkpoint", O_CREAT | O_RDWR, 0666);
	CHECK(cp >= 0 && ftruncate(cp, 4096) == 0);
	volatile uint32_t *ck = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, cp, 0);
	CHECK(ck != MAP_FAILED);
	c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		wait_for(ck, 7);
		post(ck + 1, 8);
		_exit(0);
	}
	post(ck, 7);
	wait_for(ck + 1, 8);
	CHECK(waitpid(c, &status, 0) == c);
	outf("checkpoint futex in a shared file: passed exited=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	CHECK(munmap((void *)ck, 4096) == 0 && close(cp) == 0);
	CHECK(unlink("ltp-tmp/checkpoint") == 0);
	outf("tmpdir removed: %s\n", rmdir("ltp-tmp") == 0 ? "ok" : errname(errno));
	return 0;
}
