/* fs_perm: file permissions with the caller's credentials, in a scratch
 * tree under argv[1] (default "."). As root the guest builds files owned
 * by root and by uid 2000 with chosen modes, then a child drops to uid and
 * gid 1000 (with supplementary group 50) and tries: open for read and
 * write, create in a directory it cannot write, search a 0700 directory,
 * execute a file without x bits, chmod and chown of others' files and of
 * its own, unlink in a sticky directory, utimensat, truncate, access(2)
 * with real and effective ids (AT_EACCESS), rename out of a sticky
 * directory, and hard links to files it does not own
 * (protected_hardlinks). Root's own capabilities are checked too (it reads
 * 0000 files, cannot execute a file without x bits). Needs root: not
 * root, it prints one "skipped: not root" line. Exit status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

static const char *res(long r) { return r < 0 ? errname(errno) : "ok"; }

#define T(name, call)                                                   \
	do {                                                            \
		errno = 0;                                              \
		long r_ = (long)(call);                                 \
		outf("%s: %s\n", name, res(r_));                        \
	} while (0)

static int fdres(int fd)
{
	if (fd >= 0)
		close(fd);
	return fd;
}

static void mkfile(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, "#!/bin/sh\nexit 0\n", 17) == 17);
	close(fd);
	CHECK(chown(path, uid, gid) == 0 && chmod(path, mode) == 0);
}

static void mkd(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	CHECK(mkdir(path, 0700) == 0);
	CHECK(chown(path, uid, gid) == 0 && chmod(path, mode) == 0);
}

static void as_user(void)
{
	struct stat st;
	struct timespec ts[2] = {{1, 0}, {2, 0}};
	T("user: read root 0644", fdres(open("p/root644", O_RDONLY)));
	T("user: write root 0644", fdres(open("p/root644", O_WRONLY)));
	T("user: read root 0600", fdres(open("p/root600", O_RDONLY)));
	T("user: read group-50 0640", fdres(open("p/grp50", O_RDONLY)));
	T("user: read own 0000", fdres(open("p/mine000", O_RDONLY)));
	T("user: O_TRUNC root 0644 read-only", fdres(open("p/root644", O_RDONLY | O_TRUNC)));
	T("user: create in root 0755 dir", fdres(open("p/new", O_CREAT | O_WRONLY, 0644)));
	T("user: mkdir in root 0755 dir", mkdir("p/newdir", 0755));
	T("user: stat in 0700 dir", stat("p/private/f", &st));
	T("user: open 0700 dir", fdres(open("p/private", O_RDONLY)));
	T("user: chdir 0700 dir", chdir("p/private"));
	T("user: exec 0644 file", execl("p/root644", "x", (char *)NULL));
	T("user: chmod root file", chmod("p/root644", 0666));
	T("user: chmod own file", chmod("p/mine000", 0600));
	T("user: chown own file to root", chown("p/mine000", 0, (gid_t)-1));
	T("user: chgrp own file to group 50", chown("p/mine000", (uid_t)-1, 50));
	T("user: chgrp own file to group 60", chown("p/mine000", (uid_t)-1, 60));
	T("user: chown root file no change", chown("p/root644", (uid_t)-1, (gid_t)-1));
	T("user: chown root file to itself", chown("p/root644", 0, (gid_t)-1));
	T("user: unlink other's in sticky", unlink("p/sticky/theirs"));
	T("user: rename other's out of sticky", rename("p/sticky/theirs", "p/sticky/moved"));
	T("user: unlink own in sticky", unlink("p/sticky/mine"));
	T("user: utimensat now on other's 0666", utimensat(AT_FDCWD, "p/other666", NULL, 0));
	T("user: utimensat times on other's 0666", utimensat(AT_FDCWD, "p/other666", ts, 0));
	T("user: utimensat now on root 0644", utimensat(AT_FDCWD, "p/root644", NULL, 0));
	T("user: truncate root 0644", truncate("p/root644", 0));
	T("user: truncate other's 0666", truncate("p/other666", 3));
	T("user: link other's 0600", link("p/other600", "p/sticky/l1"));
	T("user: link other's 0666", link("p/other666", "p/sticky/l2"));
	T("user: unlink l2", unlink("p/sticky/l2"));
	T("user: access R_OK root 0600", access("p/root600", R_OK));
	T("user: access W_OK other 0666", access("p/other666", W_OK));
	T("user: access X_OK root 0755", access("p/root755", X_OK));
	T("user: access F_OK in 0700 dir", access("p/private/f", F_OK));
	T("user: faccessat AT_EACCESS R_OK root 0600", faccessat(AT_FDCWD, "p/root600", R_OK, AT_EACCESS));
	T("user: open /proc/1/mem-like root 0600 O_RDWR", fdres(open("p/root600", O_RDWR)));
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : ".";
	CHECK(chdir(base) == 0);
	if (geteuid() != 0) {
		outf("skipped: not root\n");
		return 0;
	}
	umask(0);
	mkd("p", 0755, 0, 0);
	mkfile("p/root644", 0644, 0, 0);
	mkfile("p/root600", 0600, 0, 0);
	mkfile("p/root755", 0755, 0, 0);
	mkfile("p/root000", 0000, 0, 0);
	mkfile("p/grp50", 0640, 0, 50);
	mkfile("p/mine000", 0000, 1000, 1000);
	mkfile("p/other666", 0666, 2000, 2000);
	mkfile("p/other600", 0600, 2000, 2000);
	mkd("p/private", 0700, 0, 0);
	mkfile("p/private/f", 0644, 0, 0);
	mkd("p/sticky", 01777, 0, 0);
	mkfile("p/sticky/theirs", 0644, 2000, 2000);
	mkfile("p/sticky/mine", 0644, 1000, 1000);

	/* root: CAP_DAC_OVERRIDE, but execution needs an x bit */
	T("root: read 0000", fdres(open("p/root000", O_RDONLY)));
	T("root: write 0000", fdres(open("p/root000", O_WRONLY)));
	T("root: exec 0644 file", access("p/root644", X_OK));
	T("root: exec 0755 file", access("p/root755", X_OK));
	T("root: search 0700 dir", access("p/private/f", F_OK));
	T("root: chown other's file", chown("p/other600", 1000, 1000));
	T("root: chown back", chown("p/other600", 2000, 2000));

	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		gid_t g = 50;
		CHECK(setgroups(1, &g) == 0 && setgid(1000) == 0 && setuid(1000) == 0);
		as_user();
		_exit(0);
	}
	int status;
	CHECK(waitpid(c, &status, 0) == c);
	outf("child: exited=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* new files belong to the creator's fsuid and fsgid */
	c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0);
		_exit(fdres(open("p/sticky/created", O_CREAT | O_WRONLY, 0644)) >= 0 ? 0 : 1);
	}
	CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct stat st;
	CHECK(stat("p/sticky/created", &st) == 0);
	outf("created by uid 1000: uid=%d gid=%d\n", (int)st.st_uid, (int)st.st_gid);

	const char *rm[] = {"p/sticky/created", "p/sticky/theirs", "p/sticky/mine", "p/sticky/moved", "p/sticky/l1",
			    "p/sticky/l2", "p/private/f", "p/root644", "p/root600", "p/root755", "p/root000",
			    "p/grp50", "p/mine000", "p/other666", "p/other600", "p/new", NULL};
	for (int i = 0; rm[i]; i++)
		unlink(rm[i]);
	rmdir("p/newdir");
	CHECK(rmdir("p/sticky") == 0 && rmdir("p/private") == 0 && rmdir("p") == 0);
	return 0;
}
