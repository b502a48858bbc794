// variants: glibc musl
/* proc_exec: execve. A chain of five self-execs through /proc/self/exe
 * passing a counter in argv and the environment; pid and parent survive
 * exec; handled signals reset to SIG_DFL, ignored ones stay ignored, the
 * signal mask and a pending blocked signal are kept; errors (ENOENT, ENOTDIR, EACCES for a 0644 file and
 * a directory, ENOEXEC for a text file and an empty file with exec bits);
 * #! scripts run the guest as interpreter (with and without an argument,
 * whitespace rules, a script as another script's interpreter, a missing
 * interpreter, a script without exec bit). Files are created in the
 * current directory and removed. The exec'd roles are chosen by the
 * PROC_ROLE environment variable. One line a case; exit status 0. */
#define _GNU_SOURCE
#include "proc.h"
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>

extern char **environ;

static const char *self;

/* env builds an environment with PROC_ROLE=role and one more entry. */
static char **env(const char *role, const char *extra)
{
	static char r[64], e[128];
	static char *envp[3];
	snprintf(r, sizeof r, "PROC_ROLE=%s", role);
	envp[0] = r;
	envp[1] = NULL;
	if (extra) {
		snprintf(e, sizeof e, "%s", extra);
		envp[1] = e;
	}
	envp[2] = NULL;
	return envp;
}

static int role_chain(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	const char *trail = getenv("PROC_TRAIL");
	if (n < 5) {
		char num[16], trailbuf[100];
		snprintf(num, sizeof num, "%d", n + 1);
		snprintf(trailbuf, sizeof trailbuf, "PROC_TRAIL=%s%d", trail ? trail : "", n);
		char *args[] = {"chain-link", num, NULL};
		execve("/proc/self/exe", args, env("chain", trailbuf));
		out("FAIL chain exec: %s\n", perr(errno));
		return 1;
	}
	int entries = 0;
	while (environ[entries])
		entries++;
	out("chain: reached n=%d argc=%d argv0=%s trail=%s env_entries=%d\n", n, argc, argv[0],
	    trail ? trail : "(none)", entries);
	return n;
}

static void chain(void)
{
	pid_t p = pfork();
	if (p == 0) {
		char *args[] = {"chain-start", "0", NULL};
		execve("/proc/self/exe", args, env("chain", NULL));
		_exit(127);
	}
	out("chain: exec'd child %s\n", wstat(reap(p)));
}

/* role pid: writes its pid and parent pid to fd PROC_FD. */
static int role_pid(void)
{
	int fd = atoi(getenv("PROC_FD"));
	pid_t ids[2] = {getpid(), getppid()};
	writeall(fd, ids, sizeof ids);
	return 0;
}

static void same_pid(void)
{
	int up[2];
	PCHECK(pipe(up) == 0);
	pid_t me = getpid();
	pid_t p = pfork();
	if (p == 0) {
		close(up[0]);
		pid_t ids[2] = {getpid(), getppid()};
		writeall(up[1], ids, sizeof ids);
		char fdenv[32];
		snprintf(fdenv, sizeof fdenv, "PROC_FD=%d", up[1]);
		char *args[] = {"pid", NULL};
		execve(self, args, env("pid", fdenv));
		_exit(127);
	}
	close(up[1]);
	pid_t ids[4];
	size_t n = readall(up[0], ids, sizeof ids);
	close(up[0]);
	int st = reap(p);
	out("same_pid: got=%zu pid_kept=%d ppid_kept=%d is_child=%d %s\n", n, ids[0] == ids[2],
	    ids[1] == ids[3], ids[0] == p && ids[1] == me, wstat(st));
}

static void on_usr1(int sig)
{
	(void)sig;
}

static volatile sig_atomic_t hups;

static void on_hup(int sig)
{
	(void)sig;
	hups++;
}

static int role_signals(void)
{
	static const int sigs[] = {SIGUSR1, SIGUSR2, SIGTERM, SIGHUP};
	char line[256] = "exec_signals:";
	for (int i = 0; i < 4; i++) {
		struct sigaction sa;
		PCHECK(sigaction(sigs[i], NULL, &sa) == 0);
		sigset_t m;
		PCHECK(sigprocmask(SIG_BLOCK, NULL, &m) == 0);
		size_t l = strlen(line);
		snprintf(line + l, sizeof line - l, " %s=%s%s", signame(sigs[i]),
			 sa.sa_handler == SIG_DFL   ? "SIG_DFL"
			 : sa.sa_handler == SIG_IGN ? "SIG_IGN"
						    : "handler",
			 sigismember(&m, sigs[i]) ? "+blocked" : "");
	}
	/* the SIGHUP raised before the exec is still pending: a handler sees
	 * it once SIGHUP is unblocked */
	struct sigaction sa = {0};
	sa.sa_handler = on_hup;
	PCHECK(sigaction(SIGHUP, &sa, NULL) == 0);
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	PCHECK(sigprocmask(SIG_UNBLOCK, &hup, NULL) == 0);
	out("%s pending_hup_delivered=%d\n", line, (int)hups);
	return 0;
}

static void exec_signals(void)
{
	pid_t p = pfork();
	if (p == 0) {
		struct sigaction sa = {0};
		sa.sa_handler = on_usr1;
		PCHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
		signal(SIGUSR2, SIG_IGN);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, SIGTERM);
		sigaddset(&m, SIGHUP);
		PCHECK(sigprocmask(SIG_BLOCK, &m, NULL) == 0);
		raise(SIGHUP); /* pending across exec */
		char *args[] = {"signals", NULL};
		execve(self, args, env("signals", NULL));
		_exit(127);
	}
	out("exec_signals: child %s\n", wstat(reap(p)));
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	PCHECK(fd >= 0);
	writeall(fd, text, strlen(text));
	PCHECK(close(fd) == 0 && chmod(path, mode) == 0);
}

static void try_exec(const char *what, const char *path)
{
	char *args[] = {"x", NULL};
	errno = 0;
	int r = execve(path, args, env("none", NULL));
	out("errors: %s -> %s\n", what, res(r));
}

static void errors(void)
{
	put("proc_exec-noexec.tmp", "#!/bin/sh\nexit 0\n", 0644);
	put("proc_exec-text.tmp", "just some text, no interpreter line\n", 0755);
	put("proc_exec-empty.tmp", "", 0755);
	put("proc_exec-nointerp.tmp", "#!./proc_exec-no-such-interpreter\n", 0755);
	PCHECK(mkdir("proc_exec-dir.tmp", 0755) == 0);
	try_exec("missing", "./proc_exec-missing.tmp");
	try_exec("missing dir", "./proc_exec-missing-dir/x");
	try_exec("empty path", "");
	try_exec("not a dir", "./proc_exec-text.tmp/x");
	try_exec("mode 0644", "./proc_exec-noexec.tmp");
	try_exec("directory", "./proc_exec-dir.tmp");
	try_exec("text with x bit", "./proc_exec-text.tmp");
	try_exec("empty with x bit", "./proc_exec-empty.tmp");
	try_exec("#! missing interpreter", "./proc_exec-nointerp.tmp");
	out("errors: still running=1\n");
	unlink("proc_exec-noexec.tmp");
	unlink("proc_exec-text.tmp");
	unlink("proc_exec-empty.tmp");
	unlink("proc_exec-nointerp.tmp");
	rmdir("proc_exec-dir.tmp");
}

/* role interp: the guest run as a #! interpreter prints its argv (the
 * first element only as whether it names the guest). */
static int role_interp(int argc, char **argv)
{
	char real[4096], exe[4096];
	int same = realpath(argv[0], real) != NULL && strcmp(real, self) == 0;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	char line[512];
	int l = snprintf(line, sizeof line, "script: argc=%d argv0_is_guest=%d exe_is_guest=%d",
			 argc, same, strcmp(exe, self) == 0);
	for (int i = 1; i < argc && l < (int)sizeof line; i++)
		l += snprintf(line + l, sizeof line - (size_t)l, " [%s]", argv[i]);
	out("%s\n", line);
	return argc;
}

static void run_script(const char *path, char **args)
{
	pid_t p = pfork();
	if (p == 0) {
		execve(path, args, env("interp", NULL));
		out("script: %s -> %s\n", path, res(-1));
		_exit(127);
	}
	out("script: %s %s\n", path, wstat(reap(p)));
}

static void script(void)
{
	char text[4200];
	snprintf(text, sizeof text, "#!%s one-arg\necho not a shell\n", self);
	put("proc_exec-s1.sh", text, 0755);
	snprintf(text, sizeof text, "#!%s\n", self);
	put("proc_exec-s2.sh", text, 0755);
	snprintf(text, sizeof text, "#! \t%s   two  words \t \nrest\n", self);
	put("proc_exec-s3.sh", text, 0755);
	put("proc_exec-s4.sh", "#!./proc_exec-s1.sh nested\n", 0755);
	snprintf(text, sizeof text, "#!%s\n", self);
	put("proc_exec-s5.sh", text, 0644);

	char *a1[] = {"script-one", "x", "y", NULL};
	run_script("./proc_exec-s1.sh", a1);
	char *a2[] = {"script-two", NULL};
	run_script("./proc_exec-s2.sh", a2);
	char *a3[] = {"script-three", "z", NULL};
	run_script("./proc_exec-s3.sh", a3);
	char *a4[] = {"script-four", "w", NULL};
	run_script("./proc_exec-s4.sh", a4);
	char *a5[] = {"script-five", NULL};
	run_script("./proc_exec-s5.sh", a5);
	for (int i = 1; i <= 5; i++) {
		char name[32];
		snprintf(name, sizeof name, "proc_exec-s%d.sh", i);
		unlink(name);
	}
}

/* role fdinterp: the guest as a #! interpreter, started through a
 * descriptor: prints the script's path as given and the marker line of
 * the file that path opens now (which directory it came from). */
static int role_fdinterp(int argc, char **argv)
{
	char text[4200] = "";
	int fd = open(argv[argc - 1], O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, text, sizeof text - 1);
		text[n > 0 ? n : 0] = 0;
		close(fd);
	}
	char *marker = strchr(text, '\n');
	out("fdexec: script path [%s] opens %s", argv[argc - 1], marker ? marker + 1 : "nothing\n");
	return 0;
}

/* role execfn: prints AT_EXECFN. */
static int role_execfn(void)
{
	out("fdexec: AT_EXECFN [%s]\n", (const char *)getauxval(AT_EXECFN));
	return 0;
}

static void run_execveat(const char *what, int dirfd, const char *path, int flags, const char *role)
{
	pid_t p = pfork();
	if (p == 0) {
		char *args[] = {"fdexec", NULL};
		syscall(SYS_execveat, dirfd, path, args, env(role, NULL), flags);
		out("fdexec: %s -> %s\n", what, res(-1));
		_exit(127);
	}
	out("fdexec: %s %s\n", what, wstat(reap(p)));
}

/* fdexec: execveat and fexecve name the file through the descriptor, not
 * by the name it was opened with (a script's interpreter gets /dev/fd/N,
 * which opens the same file after a chdir); a close-on-exec descriptor
 * cannot run a script (ENOENT), but can run a program. */
static void fdexec(void)
{
	char text[4200];
	PCHECK(mkdir("proc_exec-d1.tmp", 0755) == 0);
	PCHECK(mkdir("proc_exec-d2.tmp", 0755) == 0);
	snprintf(text, sizeof text, "#!%s\nthe first directory's\n", self);
	put("proc_exec-d1.tmp/s.sh", text, 0755);
	snprintf(text, sizeof text, "#!%s\nthe second directory's\n", self);
	put("proc_exec-d2.tmp/s.sh", text, 0755);
	PCHECK(chdir("proc_exec-d1.tmp") == 0);
	int file = open("s.sh", O_RDONLY);
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	int file_cloexec = open("s.sh", O_RDONLY | O_CLOEXEC);
	int dir_cloexec = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int exe = open(self, O_RDONLY);
	int exe_cloexec = open(self, O_RDONLY | O_CLOEXEC);
	PCHECK(file >= 0 && dir >= 0 && file_cloexec >= 0 && dir_cloexec >= 0 && exe >= 0 && exe_cloexec >= 0);
	PCHECK(chdir("../proc_exec-d2.tmp") == 0);
	run_execveat("script by its descriptor", file, "", AT_EMPTY_PATH, "fdinterp");
	run_execveat("script relative to a directory descriptor", dir, "s.sh", 0, "fdinterp");
	run_execveat("script by a close-on-exec descriptor", file_cloexec, "", AT_EMPTY_PATH, "fdinterp");
	run_execveat("script relative to a close-on-exec directory", dir_cloexec, "s.sh", 0, "fdinterp");
	run_execveat("program by its descriptor", exe, "", AT_EMPTY_PATH, "execfn");
	run_execveat("program by a close-on-exec descriptor", exe_cloexec, "", AT_EMPTY_PATH, "execfn");
	run_execveat("empty path without AT_EMPTY_PATH", exe, "", 0, "execfn");
	run_execveat("bad descriptor, relative path", 1000, "s.sh", 0, "execfn");
	PCHECK(chdir("..") == 0);
	unlink("proc_exec-d1.tmp/s.sh");
	unlink("proc_exec-d2.tmp/s.sh");
	rmdir("proc_exec-d1.tmp");
	rmdir("proc_exec-d2.tmp");
	close(file), close(dir), close(file_cloexec), close(dir_cloexec), close(exe), close(exe_cloexec);
}

static const struct pcase cases[] = {
	{"chain", chain},	       {"same_pid", same_pid}, {"exec_signals", exec_signals},
	{"errors", errors},	       {"script", script},	{"fdexec", fdexec},
};

int main(int argc, char **argv)
{
	self = set_self(argv[0]);
	const char *role = getenv("PROC_ROLE");
	if (role != NULL) {
		/* the exec'd roles: argv[0] may be anything, find ourselves
		 * through /proc/self/exe (read with readlink) */
		self = set_self("exe");
		if (strcmp(role, "chain") == 0)
			return role_chain(argc, argv);
		if (strcmp(role, "pid") == 0)
			return role_pid();
		if (strcmp(role, "signals") == 0)
			return role_signals();
		if (strcmp(role, "interp") == 0)
			return role_interp(argc, argv);
		if (strcmp(role, "fdinterp") == 0)
			return role_fdinterp(argc, argv);
		if (strcmp(role, "execfn") == 0)
			return role_execfn();
		out("FAIL unknown role %s\n", role);
		return 1;
	}
	return run_cases(cases, NCASES(cases), argc, argv);
}
