/* fs_lock: fcntl record locks between processes, in a file under argv[1]
 * (default "."): POSIX locks (F_SETLK conflicts, F_GETLK reports with the
 * holder's pid, F_SETLKW waiting until the holder unlocks, deadlock
 * detection with EDEADLK, merging and splitting of one's own locks, the
 * rule that closing any descriptor of the file drops the process's
 * locks, release at exit), open-file-description locks (conflicts with
 * POSIX locks, F_OFD_GETLK's pid -1, kept across other closes), leases
 * and the owner commands (F_SETOWN_EX, F_SETSIG). One line a case; exit
 * status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

static const char *res(long r) { return r < 0 ? errname(errno) : "ok"; }

static int lk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	return fcntl(fd, cmd, &fl);
}

static const char *tname(short t)
{
	return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

/* getlk prints what F_GETLK (or F_OFD_GETLK) reports for a request. */
static void getlk(const char *name, int fd, int cmd, short type, off_t start, off_t len, pid_t holder)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	errno = 0;
	int r = fcntl(fd, cmd, &fl);
	if (r < 0) {
		outf("%s: %s\n", name, errname(errno));
		return;
	}
	if (fl.l_type == F_UNLCK)
		outf("%s: F_UNLCK\n", name);
	else
		outf("%s: %s start=%lld len=%lld pid=%s\n", name, tname(fl.l_type), (long long)fl.l_start,
		     (long long)fl.l_len, fl.l_pid == holder ? "holder" : fl.l_pid == -1 ? "-1" : "other");
}

static void sync_wait(int fd)
{
	char c;
	CHECK(read(fd, &c, 1) == 1);
}

static void sync_post(int fd) { CHECK(write(fd, "x", 1) == 1); }

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : ".";
	CHECK(chdir(base) == 0);
	int fd = open("lockfile", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 1000) == 0);
	pid_t me = getpid();
	int down[2], up[2];
	CHECK(pipe(down) == 0 && pipe(up) == 0);

	/* own locks merge, split and convert */
	outf("parent wrlck 0-99: %s\n", res(lk(fd, F_SETLK, F_WRLCK, 0, 100)));
	outf("parent rdlck 50-59 (converts): %s\n", res(lk(fd, F_SETLK, F_RDLCK, 50, 10)));
	outf("parent wrlck 200-: %s\n", res(lk(fd, F_SETLK, F_WRLCK, 200, 0)));

	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		int cfd = open("lockfile", O_RDWR);
		CHECK(cfd >= 0);
		getlk("child getlk wr 0-9", cfd, F_GETLK, F_WRLCK, 0, 10, me);
		getlk("child getlk rd 50-59", cfd, F_GETLK, F_RDLCK, 50, 10, me);
		getlk("child getlk wr 55-55", cfd, F_GETLK, F_WRLCK, 55, 1, me);
		getlk("child getlk rd 60-61", cfd, F_GETLK, F_RDLCK, 60, 2, me);
		getlk("child getlk wr 150-159", cfd, F_GETLK, F_WRLCK, 150, 10, me);
		getlk("child getlk wr 500-", cfd, F_GETLK, F_WRLCK, 500, 0, me);
		outf("child setlk wr 0-9: %s\n", res(lk(cfd, F_SETLK, F_WRLCK, 0, 10)));
		outf("child setlk rd 50-59: %s\n", res(lk(cfd, F_SETLK, F_RDLCK, 50, 10)));
		outf("child setlk wr 100-199: %s\n", res(lk(cfd, F_SETLK, F_WRLCK, 100, 100)));
		outf("child bad type: %s\n", res(lk(cfd, F_SETLK, 7, 0, 1)));
		outf("child bad whence: %s\n", res(({ struct flock f = {.l_type = F_RDLCK, .l_whence = 9}; fcntl(cfd, F_SETLK, &f); })));
		outf("child negative start: %s\n", res(lk(cfd, F_SETLK, F_RDLCK, -5, 1)));
		/* deadlock: child holds 100-199, waits for 0-9; parent waits for 100 */
		sync_post(up[1]);
		sync_wait(down[0]);
		outf("child setlkw wr 0-9 (waits for the parent): %s\n", res(lk(cfd, F_SETLKW, F_WRLCK, 0, 10)));
		_exit(0);
	}
	sync_wait(up[0]);
	/* the child holds 100-199 and is about to wait for 0-9, which we hold */
	sync_post(down[1]);
	usleep(100000);
	outf("parent setlkw wr 100-109 (deadlock): %s\n", res(lk(fd, F_SETLKW, F_WRLCK, 100, 10)));
	/* unlocking 0-99 lets the child through (printed once it is done:
	 * the child's line comes first) */
	const char *unlocked = res(lk(fd, F_SETLK, F_UNLCK, 0, 100));
	int st;
	CHECK(waitpid(c, &st, 0) == c);
	outf("parent unlock 0-99: %s\n", unlocked);
	outf("child exited=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	getlk("after the child's exit, wr 0-199", fd, F_GETLK, F_WRLCK, 0, 200, me);

	/* closing any descriptor of the file drops the process's POSIX locks */
	int fd2 = open("lockfile", O_RDONLY);
	CHECK(fd2 >= 0);
	close(fd2);
	c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		int cfd = open("lockfile", O_RDWR);
		getlk("child getlk wr 200- after the parent closed another fd", cfd, F_GETLK, F_WRLCK, 200, 0, me);
		_exit(0);
	}
	CHECK(waitpid(c, &st, 0) == c);

	/* OFD locks */
	int o1 = open("lockfile", O_RDWR), o2 = open("lockfile", O_RDWR);
	CHECK(o1 >= 0 && o2 >= 0);
	outf("ofd o1 wrlck 0-9: %s\n", res(lk(o1, F_OFD_SETLK, F_WRLCK, 0, 10)));
	outf("ofd o2 wrlck 5-14: %s\n", res(lk(o2, F_OFD_SETLK, F_WRLCK, 5, 10)));
	outf("posix wrlck 0-0 against ofd: %s\n", res(lk(fd, F_SETLK, F_WRLCK, 0, 1)));
	getlk("ofd o2 getlk wr 0-9", o2, F_OFD_GETLK, F_WRLCK, 0, 10, me);
	outf("ofd nonzero l_pid: %s\n", res(({ struct flock f = {.l_type = F_RDLCK, .l_pid = 1}; fcntl(o2, F_OFD_SETLK, &f); })));
	close(o2);
	outf("ofd o1 lock survives closing o2: %s\n", res(lk(fd, F_SETLK, F_WRLCK, 0, 1)));
	close(o1);
	outf("ofd lock goes with o1: %s\n", res(lk(fd, F_SETLK, F_WRLCK, 0, 1)));
	int ro = open("lockfile", O_RDONLY);
	outf("wrlck on O_RDONLY: %s\n", res(lk(ro, F_SETLK, F_WRLCK, 0, 1)));

	/* owner and signal */
	struct f_owner_ex ow = {F_OWNER_PID, me};
	outf("setown_ex pid: %s\n", res(fcntl(fd, F_SETOWN_EX, &ow)));
	ow.pid = 0;
	outf("getown_ex: %s", res(fcntl(fd, F_GETOWN_EX, &ow)));
	outf(" type=%d is_me=%d\n", ow.type, ow.pid == me);
	outf("getown is_me=%d\n", fcntl(fd, F_GETOWN) == me);
	ow.type = 7;
	outf("setown_ex bad type: %s\n", res(fcntl(fd, F_SETOWN_EX, &ow)));
	const char *setsig = res(fcntl(fd, F_SETSIG, SIGUSR1));
	outf("setsig SIGUSR1: %s getsig is SIGUSR1: %d\n", setsig, fcntl(fd, F_GETSIG) == SIGUSR1);
	outf("setsig 99: %s\n", res(fcntl(fd, F_SETSIG, 99)));

	/* leases: a read lease on a read-only open file; a write lease needs
	 * no other open description */
	outf("getlease: %d\n", fcntl(ro, F_GETLEASE));
	outf("setlease wr with others open: %s\n", res(fcntl(ro, F_SETLEASE, F_WRLCK)));
	close(fd);
	outf("setlease rd: %s\n", res(fcntl(ro, F_SETLEASE, F_RDLCK)));
	outf("getlease is rd: %d\n", fcntl(ro, F_GETLEASE) == F_RDLCK);
	outf("setlease unlock: %s\n", res(fcntl(ro, F_SETLEASE, F_UNLCK)));
	close(ro);
	CHECK(unlink("lockfile") == 0);
	return 0;
}
