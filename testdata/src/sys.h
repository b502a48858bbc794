/* Helpers for the sys_*.c guests (limits, scheduling, CPUs, memory):
 * cases in forked children, children that wait for a go-ahead, and
 * children that drop root. Built on proc.h. */
#ifndef CMAEMU_SYS_H
#define CMAEMU_SYS_H

#include "proc.h"
#include <grp.h>

/* sys_root is whether the guest runs as root (main sets it). */
static int sys_root;

/* in_child runs fn in a forked child and reports a child that does not
 * exit with 0. */
static inline void in_child(const char *name, void (*fn)(void))
{
	pid_t p = pfork();
	if (p == 0) {
		fn();
		_exit(0);
	}
	int st = reap(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		out("%s: child %s\n", name, wstat(st));
}

/* as_user runs fn in a forked child that first runs prep (as root; may
 * be NULL) and then becomes uid and gid 1000. Without root it prints
 * "NAME: skipped: not root". */
static inline void as_user(const char *name, void (*prep)(void), void (*fn)(void))
{
	if (!sys_root) {
		out("%s: skipped: not root\n", name);
		return;
	}
	pid_t p = pfork();
	if (p == 0) {
		if (prep)
			prep();
		PCHECK(setgroups(0, NULL) == 0);
		PCHECK(setresgid(1000, 1000, 1000) == 0);
		PCHECK(setresuid(1000, 1000, 1000) == 0);
		fn();
		_exit(0);
	}
	int st = reap(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		out("%s: child %s\n", name, wstat(st));
}

/* A child that waits until its parent lets it go (release_waiter), then
 * runs fn (may be NULL) and exits. */
struct waiter {
	pid_t pid;
	int go;
};

static inline struct waiter spawn_waiter(void (*fn)(void))
{
	int fds[2];
	PCHECK(pipe(fds) == 0);
	pid_t p = pfork();
	if (p == 0) {
		close(fds[1]);
		char c;
		PCHECK(read(fds[0], &c, 1) == 1);
		if (fn)
			fn();
		_exit(0);
	}
	close(fds[0]);
	return (struct waiter){p, fds[1]};
}

static inline void release_waiter(const char *name, struct waiter w)
{
	writeall(w.go, "x", 1);
	close(w.go);
	int st = reap(w.pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		out("%s: waiter %s\n", name, wstat(st));
}

#endif
