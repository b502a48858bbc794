// variants: glibc musl i386
/* proc_self: /proc as a process sees itself and its child, checked
 * against its own view: status (Pid, PPid, Uid, Gid, State), stat (pid,
 * comm, state, ppid, pgrp), maps (the line holding a known variable is
 * rw-p; a PROT_NONE mapping is ---p), cmdline and comm, oom_score_adj
 * (read, write, range), /proc/self/mem (read a variable; a write into a
 * read-only private page succeeds, FOLL_FORCE, where process_vm_writev
 * is EFAULT; an unmapped range is EIO), a child's /proc/PID/mem read by
 * its parent, and the permission failure of a uid-1000 process opening
 * root's mem (as root; otherwise those lines say "skipped: not root").
 * One line a case; exit status 0. */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64 /* /proc/PID/mem offsets above 2 GiB on i386 */
#include "guest.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

static char readbuf[8192];

/* slurp reads a whole /proc file into readbuf (NUL-terminated). */
static ssize_t slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = 0, r;
	while (n < (ssize_t)sizeof readbuf - 1 && (r = read(fd, readbuf + n, sizeof readbuf - 1 - n)) > 0)
		n += r;
	close(fd);
	readbuf[n] = 0;
	return n;
}

/* field returns the value after "Key:\t" in readbuf, as a long. */
static long field(const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\n%s:", key);
	char *p = strstr(readbuf, pat);
	if (!p)
		return -999;
	return strtol(p + strlen(pat), NULL, 10);
}

static char secret[64] = "the parent's secret";
static volatile int marker = 0x1234;

/* maps_line returns the permissions of the mapping holding addr. */
static const char *maps_perms(uintptr_t addr)
{
	static char perms[8];
	if (slurp("/proc/self/maps") < 0)
		return "none";
	for (char *line = readbuf; *line;) {
		char *nl = strchr(line, '\n');
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi)
			return perms;
		if (!nl)
			break;
		line = nl + 1;
	}
	return "none";
}

int main(int argc, char **argv)
{
	(void)argc;
	CHECK(slurp("/proc/self/status") > 0);
	outf("status Pid==getpid: %d\n", field("Pid") == getpid());
	outf("status PPid==getppid: %d\n", field("PPid") == getppid());
	outf("status Uid real==getuid: %d\n", field("Uid") == (long)getuid());
	outf("status Gid real==getgid: %d\n", field("Gid") == (long)getgid());
	outf("status Tgid==Pid: %d\n", field("Tgid") == field("Pid"));
	outf("status State R or S: %d\n", strstr(readbuf, "\nState:\tR") || strstr(readbuf, "\nState:\tS"));
	outf("status Name is proc_self: %d\n", !strncmp(readbuf, "Name:\tproc_self", 15));

	CHECK(slurp("/proc/self/stat") > 0);
	int pid, ppid, pgrp;
	char comm[64], state;
	CHECK(sscanf(readbuf, "%d (%63[^)]) %c %d %d", &pid, comm, &state, &ppid, &pgrp) == 5);
	outf("stat pid=%d ppid=%d pgrp=%d comm=%s\n", pid == getpid(), ppid == getppid(), pgrp == getpgrp(), comm);

	outf("maps: variable in %s\n", maps_perms((uintptr_t)&marker));
	void *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(none != MAP_FAILED);
	outf("maps: PROT_NONE mapping %s\n", maps_perms((uintptr_t)none));
	outf("maps: code in %s\n", maps_perms((uintptr_t)&main));

	ssize_t n = slurp("/proc/self/cmdline");
	outf("cmdline is argv0 and a NUL: %d\n", n == (ssize_t)strlen(argv[0]) + 1 && !strcmp(readbuf, argv[0]));
	slurp("/proc/self/comm");
	outf("comm: %s", readbuf);

	/* oom_score_adj */
	slurp("/proc/self/oom_score_adj");
	outf("oom_score_adj: %s", readbuf);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	outf("oom_score_adj write 500: %s\n", fd >= 0 && write(fd, "500", 3) == 3 ? "ok" : errname(errno));
	errno = 0;
	outf("oom_score_adj write 2000: %s\n", fd >= 0 && write(fd, "2000", 4) == 4 ? "ok" : errname(errno));
	close(fd);
	slurp("/proc/self/oom_score_adj");
	outf("oom_score_adj now: %s", readbuf);

	/* /proc/self/mem */
	int mem = open("/proc/self/mem", O_RDWR);
	CHECK(mem >= 0);
	char got[32] = {0};
	outf("mem read secret: %d\n", pread(mem, got, 19, (off_t)(uintptr_t)secret) == 19 && !memcmp(got, secret, 19));
	char *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ro != MAP_FAILED);
	strcpy(ro, "read-only page");
	CHECK(mprotect(ro, 4096, PROT_READ) == 0);
	outf("mem write into a read-only page: %zd content=%.14s\n", pwrite(mem, "FORCED", 6, (off_t)(uintptr_t)ro), ro);
	struct iovec l = {"CMA", 3}, r = {ro, 3};
	errno = 0;
	long cr = syscall(SYS_process_vm_writev, getpid(), &l, 1, &r, 1, 0);
	outf("process_vm_writev into it: %ld %s\n", cr, cr < 0 ? errname(errno) : "");
	errno = 0;
	ssize_t ur = pread(mem, got, 8, (off_t)(uintptr_t)none + 1 * 0x10000000);
	outf("mem read of an unmapped range: %zd %s\n", ur, ur < 0 ? errname(errno) : "");
	close(mem);

	/* the child's memory through /proc/PID/mem */
	int sync[2], back[2];
	CHECK(pipe(sync) == 0 && pipe(back) == 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		strcpy(secret, "the child's own words");
		CHECK(write(sync[1], "r", 1) == 1);
		char x;
		CHECK(read(back[0], &x, 1) == 1);
		_exit(0);
	}
	char x;
	CHECK(read(sync[0], &x, 1) == 1);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)c);
	int cm = open(path, O_RDONLY);
	memset(got, 0, sizeof got);
	outf("child mem: open %s read=%d\n", cm >= 0 ? "ok" : errname(errno),
	     cm >= 0 && pread(cm, got, 21, (off_t)(uintptr_t)secret) == 21 && !strcmp(got, "the child's own words"));
	close(cm);
	CHECK(write(back[1], "g", 1) == 1);
	int st;
	CHECK(waitpid(c, &st, 0) == c);

	/* a uid-1000 process may not open root's mem */
	if (geteuid() != 0) {
		outf("uid 1000 opens root's mem: skipped: not root\n");
		return 0;
	}
	c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		snprintf(path, sizeof path, "/proc/%d/mem", (int)getppid());
		CHECK(setgid(1000) == 0 && setuid(1000) == 0);
		errno = 0;
		int m = open(path, O_RDONLY);
		outf("uid 1000 opens root's mem: %s\n", m >= 0 ? "ok" : errname(errno));
		snprintf(path, sizeof path, "/proc/%d/status", (int)getppid());
		outf("uid 1000 reads root's status: %s\n", slurp(path) > 0 ? "ok" : errname(errno));
		_exit(0);
	}
	CHECK(waitpid(c, &st, 0) == c);
	return 0;
}
