/*
 * The oracle of syscalls/trace_test.go: the calls whose strace lines that
 * test expects, made with syscall(2) so that strace sees exactly these
 * arguments. On an x86-64 host with strace:
 *
 *   mkdir -p /tmp/st && gcc -static -O0 -o trace_oracle trace_oracle.c
 *   strace -f -e signal=none -e trace=read,write,readv,writev,preadv,\
 *   process_vm_readv,process_vm_writev,open,openat,close,dup3,mkdir,chmod,\
 *   umask,access,mmap,mprotect,madvise,munmap,brk,kill,tgkill,rt_sigaction,\
 *   arch_prctl,lseek,clock_gettime,clock_getres,pipe,pipe2,wait4,waitid,\
 *   clone,execve,getrandom,kexec_load ./trace_oracle
 *
 * It creates /tmp/st/created, /tmp/st/d and /tmp/st/pv. The test's lines
 * are strace 6.1's output for these calls with addresses, pids and
 * descriptor numbers replaced by the test's.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char stack[65536];
static void h(int s) {}

static void buffers_iovecs_cma(void)
{
	int null = open("/dev/null", O_WRONLY);
	int p[2];
	char buf[256];
	/* BufIn */
	syscall(SYS_write, null, "hi\n", 3);
	syscall(SYS_write, -1, "abc", 3);
	syscall(SYS_write, null, NULL, 3);
	syscall(SYS_write, null, (void*)8, 3);
	syscall(SYS_write, null, "0123456789abcdef0123456789abcdefXYZ", 35);
	syscall(SYS_write, null, "0123456789abcdef0123456789abcdefXYZ", 32);
	syscall(SYS_write, null, "0123456789abcdef0123456789abcde\0017", 33);
	syscall(SYS_write, null, "\001\0027\t\"\\\177\377", 8);
	syscall(SYS_write, null, "", 0);
	syscall(SYS_write, null, NULL, 0);
	/* BufOut */
	pipe(p);
	syscall(SYS_write, p[1], "hello world", 11);
	syscall(SYS_read, p[0], buf, 5);
	syscall(SYS_read, -1, buf, 5);
	syscall(SYS_read, p[0], NULL, 5);
	syscall(SYS_read, p[0], (void*)8, 5);
	close(p[1]);
	syscall(SYS_read, p[0], buf, 5);
	syscall(SYS_read, p[0], buf, 5);
	syscall(SYS_read, p[0], buf, 5);
	close(p[0]);
	/* IovIn / IovOut */
	pipe(p);
	struct iovec w[2] = {{"abc", 3}, {"defgh", 5}};
	syscall(SYS_writev, p[1], w, 2);
	syscall(SYS_writev, -1, w, 2);
	syscall(SYS_writev, p[1], NULL, 2);
	syscall(SYS_writev, p[1], w, 0);
	syscall(SYS_writev, p[1], (void*)8, 1);
	char b1[4], b2[8];
	struct iovec r[2] = {{b1, 4}, {b2, 8}};
	syscall(SYS_readv, p[0], r, 2);
	syscall(SYS_readv, -1, r, 2);
	syscall(SYS_readv, p[0], NULL, 1);
	syscall(SYS_readv, p[0], r, 0);
	struct iovec holes[2] = {{NULL, 0}, {(void *)8, 4}};
	syscall(SYS_writev, p[1], holes, 2);
	int pv = open("/tmp/st/pv", O_RDWR|O_CREAT|O_TRUNC, 0600);
	syscall(SYS_write, pv, "abcdef", 6);
	syscall(SYS_preadv, pv, r, 2, 0);
	close(pv);
	struct iovec many[40];
	for (int i = 0; i < 40; i++) { many[i].iov_base = "x"; many[i].iov_len = 1; }
	syscall(SYS_writev, null, many, 40);
	/* partially readable iovec array */
	char *pg = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	munmap(pg + 4096, 4096);
	struct iovec *edge = (struct iovec *)(pg + 4096 - sizeof(struct iovec));
	edge->iov_base = "yz"; edge->iov_len = 2;
	syscall(SYS_writev, null, edge, 2);
	syscall(SYS_writev, null, w, 1025);
	/* process_vm */
	pid_t me = getpid();
	char src[64] = "remote-data";
	char dst[64];
	struct iovec l = {dst, 11}, rm = {src, 11};
	syscall(SYS_process_vm_readv, me, &l, 1, &rm, 1, 0);
	struct iovec rbad = {(void*)0x300000000, 64};
	struct iovec l64 = {dst, 64};
	syscall(SYS_process_vm_readv, me, &l64, 1, &rbad, 1, 0);
	syscall(SYS_process_vm_readv, me, &l64, 1, &rm, 1, 5);
	syscall(SYS_process_vm_readv, 99999, &l64, 1, &rm, 1, 0);
	syscall(SYS_process_vm_readv, me, NULL, 1, &rm, 1, 0);
	syscall(SYS_process_vm_readv, me, &l64, 1, NULL, 1, 0);
	struct iovec wl = {"written", 7}, wr = {dst, 7};
	syscall(SYS_process_vm_writev, me, &wl, 1, &wr, 1, 0);
	syscall(SYS_process_vm_writev, me, &wl, 1, &rbad, 1, 0);
	/* partial readv: two local elements, result smaller than first */
	struct iovec l2[2] = {{dst, 4}, {dst + 8, 20}};
	struct iovec rm2 = {src, 6};
	syscall(SYS_process_vm_readv, me, l2, 2, &rm2, 1, 0);
	return;
}

static void fetch_paths_signals(void)
{
	int null = open("/dev/null", O_WRONLY);
	char *pg = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	munmap(pg + 4096, 4096);
	memset(pg, 'a', 4096);
	syscall(SYS_write, null, pg + 4096 - 32, 40);
	syscall(SYS_write, null, pg + 4096 - 31, 40);
	syscall(SYS_write, null, pg + 4096 - 32, 32);
	syscall(SYS_write, null, pg + 4096 - 10, 10);
	syscall(SYS_write, null, pg + 4096 - 10, 11);
	struct iovec v = {pg + 4096 - 31, 40};
	syscall(SYS_writev, null, &v, 1);
	char path[400];
	memset(path, 'p', sizeof path); path[0] = '/'; path[399] = 0;
	syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
	syscall(SYS_openat, AT_FDCWD, "/x\3774\001a\tb", O_RDONLY);
	/* unterminated path at page end */
	syscall(SYS_openat, AT_FDCWD, pg + 4096 - 5, O_RDONLY);
	syscall(SYS_kill, 999999, 32);
	syscall(SYS_kill, 999999, 33);
	int p[2]; pipe(p);
	char big[100]; memset(big, 'z', 100);
	write(p[1], big, 100);
	char buf[200];
	syscall(SYS_read, p[0], buf, 200);
	write(p[1], "\0\0\0\0", 4);
	syscall(SYS_read, p[0], buf, 200);
	char *argv[] = {"/nonexistent", "a", NULL};
	char *envp[] = {"X=1", NULL};
	syscall(SYS_execve, "/nonexistent", argv, envp);
	syscall(SYS_getrandom, buf, 8, 0);
	syscall(SYS_getrandom, buf, 8, 0x10);
	return;
}

static void flags_modes_enums(void)
{
	/* Path + OpenFlags + Octal */
	syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
	syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY, 0644);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st/created", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st/created", O_WRONLY|O_CREAT, 0);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st/created", O_WRONLY|O_CREAT, 04755);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st/created", O_WRONLY|O_CREAT, 07);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st", O_TMPFILE|O_RDWR, 0600);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st", O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK|O_SYNC|O_LARGEFILE|O_NOATIME|O_APPEND|O_EXCL|O_NOCTTY|O_ASYNC|O_DSYNC);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st", O_PATH|O_DIRECT);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st", 3);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st", O_RDONLY|0x40000000);
	syscall(SYS_openat, AT_FDCWD, "/nonexistent/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", O_RDONLY);
	syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY);
	syscall(SYS_openat, AT_FDCWD, (void*)8, O_RDONLY);
	syscall(SYS_openat, 5, "rel\n\"x", O_RDONLY);
	syscall(SYS_openat, -100, "", O_RDONLY);
	syscall(SYS_openat, -200, "x", O_RDONLY);
	syscall(SYS_open, "/tmp/st/created", O_RDONLY);
	syscall(SYS_open, "/tmp/st/created", O_RDWR|O_CREAT, 0666);
	syscall(SYS_close, -100);
	syscall(SYS_dup3, 0, 10, O_CLOEXEC);
	syscall(SYS_dup3, 0, 11, 0);
	syscall(SYS_mkdir, "/tmp/st/d", 0755);
	syscall(SYS_mkdir, "/tmp/st/d", 0);
	syscall(SYS_chmod, "/tmp/st/d", 01777);
	syscall(SYS_umask, 022);
	syscall(SYS_umask, 0);
	syscall(SYS_umask, 0777);
	syscall(SYS_access, "/tmp/st", R_OK|W_OK);
	syscall(SYS_access, "/tmp/st", F_OK);
	syscall(SYS_access, "/tmp/st", 0x10);
	/* mmap, prot, map flags */
	void *m = (void*)syscall(SYS_mmap, NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	syscall(SYS_mmap, NULL, 4096, PROT_NONE, MAP_SHARED|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0);
	syscall(SYS_mmap, NULL, 4096, PROT_READ|PROT_EXEC|0x10, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK|MAP_POPULATE, -1, 0);
	syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE|MAP_ANONYMOUS, -1, 0);
	syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0);
	syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|0x200000 | 0x4000000, -1, 0);
	syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|(21<<26), -1, 0);
	syscall(SYS_mmap, (void*)0x10000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED_NOREPLACE|MAP_ANONYMOUS, -1, 0);
	syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_PRIVATE, 77, 0x1000);
	syscall(SYS_mprotect, m, 4096, PROT_NONE);
	syscall(SYS_mprotect, m, 4096, PROT_READ|PROT_GROWSDOWN);
	syscall(SYS_mprotect, m, 4096, 0x10);
	syscall(SYS_madvise, m, 4096, MADV_DONTNEED);
	syscall(SYS_madvise, m, 4096, MADV_FREE);
	syscall(SYS_madvise, m, 4096, 99);
	syscall(SYS_madvise, m, 4096, MADV_DONTFORK);
	syscall(SYS_munmap, m, 8192);
	/* signals */
	syscall(SYS_kill, getpid(), 0);
	syscall(SYS_kill, getpid(), SIGWINCH);
	syscall(SYS_kill, 999999, SIGTERM);
	syscall(SYS_kill, 999999, 34);
	syscall(SYS_kill, 999999, 40);
	syscall(SYS_kill, 999999, 64);
	syscall(SYS_kill, 999999, 65);
	syscall(SYS_kill, 999999, -1);
	syscall(SYS_tgkill, getpid(), getpid(), 0);
	/* arch_prctl */
	unsigned long fs;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	syscall(SYS_arch_prctl, 0x9999, 0);
	/* lseek */
	syscall(SYS_lseek, 0, -1, SEEK_CUR);
	syscall(SYS_lseek, -1, 10, SEEK_END);
	syscall(SYS_lseek, -1, 10, 7);
	/* clock */
	struct timespec ts;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	syscall(SYS_clock_gettime, 100, &ts);
	syscall(SYS_clock_gettime, CLOCK_BOOTTIME, NULL);
	syscall(SYS_clock_gettime, CLOCK_TAI, &ts);
	syscall(SYS_clock_gettime, 11, &ts);
	syscall(SYS_clock_gettime, -6, &ts);
	syscall(SYS_clock_gettime, -6, NULL);
	syscall(SYS_clock_getres, CLOCK_REALTIME_ALARM, &ts);
	/* pipe */
	int p[2];
	syscall(SYS_pipe, p);
	syscall(SYS_pipe2, p, O_CLOEXEC|O_NONBLOCK);
	syscall(SYS_pipe2, p, 0);
	syscall(SYS_pipe2, p, 0x8);
	syscall(SYS_pipe2, p, O_CLOEXEC|0x8);
	syscall(SYS_pipe2, NULL, 0);
	syscall(SYS_pipe, (void*)8);
	return;
}

static void more_flags_clone_failures(void)
{
	syscall(SYS_mprotect, 0, 0, 0x8);
	syscall(SYS_mprotect, 0, 0, PROT_READ|0x8|0x1000000|0x2000000);
	syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_FIXED|MAP_ANONYMOUS|MAP_32BIT|0x80|MAP_NORESERVE|MAP_POPULATE|MAP_NONBLOCK|MAP_GROWSDOWN|MAP_DENYWRITE|MAP_EXECUTABLE|MAP_LOCKED|MAP_STACK|MAP_HUGETLB|MAP_SYNC|MAP_FIXED_NOREPLACE|MAP_SHARED, -1, 0);
	syscall(SYS_mmap, 0, 4096, PROT_READ, 0x8|MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	syscall(SYS_mmap, 0, 4096, PROT_READ, 0x8, -1, 0);
	syscall(SYS_mmap, 0, 4096, PROT_READ, 0, -1, 0);
	syscall(SYS_mmap, 0, 4096, PROT_READ, 0x200000, -1, 0);
	syscall(SYS_madvise, 0, 0, 24);
	syscall(SYS_madvise, 0, 0, 25);
	syscall(SYS_madvise, 0, 0, 100);
	syscall(SYS_madvise, 0, 0, 102);
	syscall(SYS_madvise, 0, 0, 12);
	syscall(SYS_madvise, 0, 0, 19);
	syscall(SYS_madvise, 0, 0, -1);
	syscall(SYS_waitid, P_ALL, 0, NULL, WEXITED|WSTOPPED|WNOHANG|WNOWAIT|WCONTINUED, NULL);
	syscall(SYS_wait4, -1, NULL, WNOHANG|WUNTRACED|WCONTINUED|__WALL|__WCLONE|__WNOTHREAD|WNOWAIT|WEXITED, NULL);
	syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0);
	syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
	syscall(SYS_arch_prctl, ARCH_SET_GS, 0);
	unsigned long gs = 0;
	syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
	syscall(SYS_arch_prctl, ARCH_GET_GS, NULL);
	syscall(SYS_arch_prctl, 0x1021, &gs);
	syscall(SYS_arch_prctl, 0x5001, 0);
	syscall(SYS_arch_prctl, 0x4001, 0);
	if (syscall(SYS_clone, 0x200000000ULL|CLONE_DETACHED, 0, 0, 0, 0) == 0)
		syscall(SYS_exit, 0);
	syscall(SYS_clone, 0x200000000ULL|SIGCHLD|CLONE_THREAD, 0, 0, 0, 0);
	syscall(SYS_clone, CLONE_PARENT_SETTID|CLONE_THREAD|SIGCHLD, 0, 8, 0, 0);
	syscall(SYS_clone, CLONE_PIDFD|CLONE_THREAD|SIGCHLD|CLONE_SETTLS|CLONE_CHILD_CLEARTID, 0x1000, 8, 0x20, 0x30);
	syscall(SYS_clone, CLONE_PARENT_SETTID|CLONE_THREAD|SIGCHLD, 0, 0, 0, 0);
	syscall(SYS_openat, AT_FDCWD, "/nonexistent", 04000000);
	syscall(SYS_openat, AT_FDCWD, "/nonexistent", 020000000|O_CREAT, 0644);
	syscall(SYS_openat, AT_FDCWD, "/nonexistent", 020000000, 0644);
	syscall(SYS_openat, AT_FDCWD, "/nonexistent", O_RDONLY|O_TMPFILE, 0644);
	int p[2];
	syscall(SYS_pipe2, p, O_DIRECT|O_EXCL);
	syscall(SYS_lseek, -1, 0, 3);
	syscall(SYS_lseek, -1, 0, 4);
	syscall(SYS_lseek, -1, 0, 5);
	syscall(SYS_kill, 999999, 128);
	syscall(SYS_kill, 999999, 0x80000001);
	syscall(SYS_brk, 0);
	return;
}

static void enum_tables(void)
{
	int ops[] = {0x1022, 0x1023, 0x1024, 0x1025, 0x2001, 0x2002, 0x2003};
	for (int i = 0; i < 7; i++) syscall(SYS_arch_prctl, ops[i], 0);
	for (int i = 0; i < 26; i++) syscall(SYS_madvise, 0, 0, i);
	syscall(SYS_madvise, 0, 0, 101);
	for (int i = 0; i < 14; i++) syscall(SYS_clock_getres, i, 0);
	return;
}

static void wait_clone(void)
{
	int st;
	pid_t c = fork();
	if (c == 0) _exit(7);
	syscall(SYS_wait4, c, &st, 0, NULL);
	syscall(SYS_wait4, -1, &st, 0, NULL);
	syscall(SYS_wait4, -1, NULL, WNOHANG, NULL);
	c = fork();
	if (c == 0) { pause(); _exit(0); }
	syscall(SYS_wait4, c, &st, WNOHANG, NULL);
	kill(c, SIGSTOP);
	syscall(SYS_wait4, c, &st, WUNTRACED, NULL);
	kill(c, SIGCONT);
	syscall(SYS_wait4, c, &st, WCONTINUED, NULL);
	kill(c, SIGKILL);
	syscall(SYS_wait4, c, &st, __WALL|WUNTRACED|WCONTINUED, NULL);
	c = fork();
	if (c == 0) { struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY}; setrlimit(RLIMIT_CORE, &r); chdir("/tmp"); abort(); }
	syscall(SYS_wait4, c, &st, __WNOTHREAD|__WCLONE|0x10, NULL);
	syscall(SYS_wait4, c, &st, 0x10, NULL);
	syscall(SYS_wait4, c, &st, 0, NULL);
	syscall(SYS_wait4, -1, (void*)8, 0, NULL);
	/* clone */
	c = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (c == 0) _exit(0);
	waitpid(c, NULL, 0);
	int ptid = 0, ctid = 0;
	c = syscall(SYS_clone, CLONE_PARENT_SETTID|CLONE_CHILD_SETTID|SIGCHLD, 0, &ptid, &ctid, 0);
	if (c == 0) _exit(0);
	waitpid(c, NULL, 0);
	c = syscall(SYS_clone, CLONE_VM|CLONE_VFORK|0x200000000ULL, stack + sizeof stack, 0, 0, 0);
	if (c == 0) syscall(SYS_exit, 0);
	c = syscall(SYS_clone, CLONE_NEWNS|CLONE_NEWUSER|CLONE_DETACHED|CLONE_IO, 0, 0, 0, 0);
	if (c == 0) syscall(SYS_exit, 0);
	c = syscall(SYS_clone, CLONE_SETTLS|SIGCHLD, 0, 0, 0, 0x1234);
	if (c == 0) syscall(SYS_exit, 0);
	c = syscall(SYS_clone, 0, 0, 0, 0, 0);
	if (c == 0) syscall(SYS_exit, 0);
	/* O_LARGEFILE */
	syscall(SYS_openat, AT_FDCWD, "/dev/null", 0100000);
	syscall(SYS_openat, AT_FDCWD, "/dev/null", 0100000|O_WRONLY|O_DSYNC);
	syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY|O_DSYNC);
	syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY|O_ASYNC);
	syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR|O_CREAT|O_EXCL|O_TRUNC, 0600);
	syscall(SYS_openat, AT_FDCWD, "/tmp/st", O_DIRECTORY);
	/* misc */
	syscall(SYS_umask, 022);
	syscall(3333, 1, 2, 3, 4, 5, 6);
	syscall(SYS_kexec_load, 1, 2, 3, 4, 5, 6);
	syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 8);
	syscall(SYS_rt_sigaction, 0, NULL, NULL, 8);
	syscall(SYS_arch_prctl, 0x1001, 0x1234); /* ARCH_SET_GS: ARCH_SET_FS would lose the TLS */
	syscall(SYS_arch_prctl, 0x1003, 8);
	return;
}

static void restart(void)
{
	struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = h;
	sigaction(SIGALRM, &sa, NULL);
	int p[2]; pipe(p);
	char b[4];
	alarm(1);
	syscall(SYS_read, p[0], b, 4);
	sa.sa_flags = SA_RESTART; sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	if (fork() == 0) { sleep(2); write(p[1], "x", 1); _exit(0); }
	syscall(SYS_read, p[0], b, 4);
	return;
}

int main(void)
{
	buffers_iovecs_cma();
	fetch_paths_signals();
	flags_modes_enums();
	more_flags_clone_failures();
	enum_tables();
	wait_clone();
	restart();
	return 0;
}
