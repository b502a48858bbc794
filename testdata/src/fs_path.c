/* fs_path: path resolution and the errors of the path system calls, in a
 * scratch tree under argv[1] (default "."): "..", symlinks (relative,
 * absolute, dangling, loops and the 40-link limit), trailing slashes,
 * O_NOFOLLOW, O_DIRECTORY, O_CREAT|O_EXCL, dirfd-relative names,
 * AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, rename and link rules, umask, getcwd
 * after chdir and fchdir. One line a case; the tree is removed at the end;
 * exit status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static const char *res(long r)
{
	static char buf[64];
	if (r < 0)
		return errname(errno);
	snprintf(buf, sizeof buf, "ok");
	return buf;
}

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

static void mode_of(const char *what, const char *path)
{
	struct stat st;
	CHECK(lstat(path, &st) == 0);
	outf("%s: mode=%04o\n", what, (unsigned)(st.st_mode & 07777));
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : ".";
	CHECK(chdir(base) == 0);
	umask(022);
	CHECK(mkdir("t", 0777) == 0);
	CHECK(chdir("t") == 0);
	CHECK(mkdir("d", 0777) == 0 && mkdir("d/sub", 0777) == 0 && mkdir("e", 0777) == 0);
	CHECK(fdres(open("f", O_CREAT | O_WRONLY, 0666)) >= 0);
	CHECK(symlink("d/sub", "rel") == 0 && symlink("nowhere", "dangling") == 0);
	CHECK(symlink("loop2", "loop1") == 0 && symlink("loop1", "loop2") == 0);
	CHECK(symlink("f", "flink") == 0 && symlink("../../../../../../..", "up") == 0);

	/* umask */
	mode_of("umask 022 file 0666", "f");
	mode_of("umask 022 dir 0777", "d");
	umask(077);
	CHECK(fdres(open("g", O_CREAT | O_WRONLY, 0666)) >= 0);
	mode_of("umask 077 file 0666", "g");
	umask(022);

	/* resolution */
	T("open d/sub/../../f", fdres(open("d/sub/../../f", O_RDONLY)));
	T("open rel/../../f", fdres(open("rel/../../f", O_RDONLY)));
	T("stat up (.. above /)", ({ struct stat st; stat("up", &st); }));
	T("open f/", fdres(open("f/", O_RDONLY)));
	T("open flink/", fdres(open("flink/", O_RDONLY)));
	T("open f/x", fdres(open("f/x", O_RDONLY)));
	T("open missing/x", fdres(open("missing/x", O_RDONLY)));
	T("open dangling", fdres(open("dangling", O_RDONLY)));
	T("open loop1", fdres(open("loop1", O_RDONLY)));
	T("open flink O_NOFOLLOW", fdres(open("flink", O_RDONLY | O_NOFOLLOW)));
	T("open flink O_NOFOLLOW|O_PATH", fdres(open("flink", O_PATH | O_NOFOLLOW)));
	T("open f O_DIRECTORY", fdres(open("f", O_RDONLY | O_DIRECTORY)));
	T("open d O_WRONLY", fdres(open("d", O_WRONLY)));
	T("open d O_RDONLY", fdres(open("d", O_RDONLY)));
	T("open d O_CREAT", fdres(open("d", O_CREAT | O_RDONLY, 0644)));
	T("open f O_CREAT|O_EXCL", fdres(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644)));
	T("open dangling O_CREAT|O_EXCL", fdres(open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644)));
	T("open new/ O_CREAT", fdres(open("new/", O_CREAT | O_WRONLY, 0644)));
	T("open '' ", fdres(open("", O_RDONLY)));
	{
		char name[300];
		memset(name, 'x', 256);
		name[256] = 0;
		T("open 256-byte name", fdres(open(name, O_RDONLY)));
	}

	/* 40 symlinks resolve, 41 do not */
	CHECK(symlink("f", "c1") == 0);
	for (int i = 2; i <= 41; i++) {
		char a[16], b[16];
		snprintf(a, sizeof a, "c%d", i - 1);
		snprintf(b, sizeof b, "c%d", i);
		CHECK(symlink(a, b) == 0);
	}
	T("open chain of 40", fdres(open("c40", O_RDONLY)));
	T("open chain of 41", fdres(open("c41", O_RDONLY)));

	/* dirfd-relative names and the *at flags */
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	int ffd = open("f", O_RDONLY);
	CHECK(dfd >= 0 && ffd >= 0);
	struct stat st;
	T("fstatat(dfd, sub)", fstatat(dfd, "sub", &st, 0));
	T("fstatat(dfd, ../f)", fstatat(dfd, "../f", &st, 0));
	T("fstatat(ffd, x) (not a dir)", fstatat(ffd, "x", &st, 0));
	T("fstatat(ffd, '', AT_EMPTY_PATH)", fstatat(ffd, "", &st, AT_EMPTY_PATH));
	T("fstatat(ffd, '') no flag", fstatat(ffd, "", &st, 0));
	T("fstatat(99, x) bad fd", fstatat(99, "x", &st, 0));
	T("fstatat(99, /) absolute ignores fd", fstatat(99, "/", &st, 0));
	T("fstatat(dangling, NOFOLLOW)", fstatat(AT_FDCWD, "dangling", &st, AT_SYMLINK_NOFOLLOW));
	T("fstatat bad flag", fstatat(AT_FDCWD, "f", &st, 0x8000));
	T("mkdirat(dfd, new)", mkdirat(dfd, "new", 0777));
	T("unlinkat(dfd, new, AT_REMOVEDIR)", unlinkat(dfd, "new", AT_REMOVEDIR));
	T("unlinkat bad flag", unlinkat(dfd, "x", 0x1));

	/* mkdir, rmdir, unlink */
	T("mkdir d (exists)", mkdir("d", 0777));
	T("mkdir f/x", mkdir("f/x", 0777));
	T("mkdir .", mkdir(".", 0777));
	T("rmdir d (not empty)", rmdir("d"));
	T("rmdir f", rmdir("f"));
	T("rmdir .", rmdir("."));
	T("rmdir ..", rmdir(".."));
	T("unlink d", unlink("d"));
	T("unlink flink/", unlink("flink/"));
	T("unlink missing", unlink("missing"));

	/* rename */
	T("rename d d/sub/x (into itself)", rename("d", "d/sub/x"));
	T("rename f d (file over dir)", rename("f", "d"));
	T("rename e f (dir over file)", rename("e", "f"));
	T("rename e d (over non-empty)", rename("e", "d"));
	T("rename f f (same)", rename("f", "f"));
	T("rename missing x", rename("missing", "x"));
	T("rename f d/sub/f2", rename("f", "d/sub/f2"));
	T("rename d/sub/f2 f", rename("d/sub/f2", "f"));
	T("renameat2 NOREPLACE f g", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "g", 1));
	T("renameat2 EXCHANGE f missing", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "missing", 2));
	T("renameat2 bad flags", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "g", 8 | 1 | 2));

	/* link, symlink, readlink */
	T("link f f2", link("f", "f2"));
	CHECK(stat("f", &st) == 0);
	outf("nlink after link: %d\n", (int)st.st_nlink);
	T("link d d2 (directory)", link("d", "d2"));
	T("link f f2 (exists)", link("f", "f2"));
	T("link dangling x (AT_SYMLINK_FOLLOW)", linkat(AT_FDCWD, "dangling", AT_FDCWD, "x", AT_SYMLINK_FOLLOW));
	T("symlink '' x", symlink("", "x"));
	T("symlink x f (exists)", symlink("x", "f"));
	char buf[64];
	errno = 0;
	long n = readlink("rel", buf, sizeof buf);
	outf("readlink rel: %ld %.*s\n", n, n > 0 ? (int)n : 0, buf);
	T("readlink f (not a link)", readlink("f", buf, sizeof buf));
	T("readlink size 0", readlink("rel", buf, 0));
	errno = 0;
	n = readlink("rel", buf, 3);
	outf("readlink rel size 3: %ld\n", n);

	/* working directory */
	T("chdir f", chdir("f"));
	T("chdir missing", chdir("missing"));
	CHECK(chdir("d/sub") == 0);
	char cwd[4096], top[4096];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir("../..") == 0);
	CHECK(getcwd(top, sizeof top) != NULL);
	outf("getcwd d/sub ends with /t/d/sub: %d\n", strlen(cwd) > 8 && !strcmp(cwd + strlen(cwd) - 8, "/t/d/sub"));
	outf("getcwd after ../.. ends with /t: %d\n", !strcmp(top + strlen(top) - 2, "/t"));
	CHECK(fchdir(dfd) == 0);
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	outf("fchdir d: ends with /t/d: %d\n", !strcmp(cwd + strlen(cwd) - 4, "/t/d"));
	T("fchdir ffd (not a dir)", fchdir(ffd));
	T("getcwd size 1", getcwd(cwd, 1) ? 0 : -1);
	CHECK(chdir(top) == 0);
	close(dfd);
	close(ffd);

	/* truncate */
	T("truncate f 10", truncate("f", 10));
	CHECK(stat("f", &st) == 0);
	outf("size after truncate: %lld\n", (long long)st.st_size);
	T("truncate d", truncate("d", 0));
	T("truncate f -1", truncate("f", -1));

	/* clean up */
	CHECK(chdir("..") == 0);
	const char *rm[] = {"t/f", "t/f2", "t/g", "t/flink", "t/rel", "t/dangling", "t/loop1", "t/loop2", "t/up",
			    "t/d/sub", "t/d", "t/e", NULL};
	for (int i = 1; i <= 41; i++) {
		char c[16];
		snprintf(c, sizeof c, "t/c%d", i);
		CHECK(unlink(c) == 0);
	}
	for (int i = 0; rm[i]; i++)
		CHECK(unlink(rm[i]) == 0 || rmdir(rm[i]) == 0);
	CHECK(rmdir("t") == 0);
	return 0;
}
