/* cma_perm: the permission check of process_vm_readv/process_vm_writev
 * (PTRACE_MODE_ATTACH_REALCREDS). Needs root: each scenario runs in a forked
 * process that drops to uid/gid 1000 with setresuid/setresgid as needed.
 * Root (CAP_SYS_PTRACE) may access anybody; a uid-1000 caller may not
 * access a root process, nor a uid-1000 process that is not dumpable
 * (set*uid clears dumpable, fork inherits it) until it calls
 * prctl(PR_SET_DUMPABLE, 1), nor one whose saved uid or whose gid differs;
 * the caller's real uid counts, not its effective one; its own mm is always
 * allowed; a local or remote total of 0 returns 0 before the check. The
 * reader is always the target's parent (or the target itself), so Yama's
 * ptrace_scope=1 would change nothing. Not root: every line says
 * "skipped: not root". One line a case; exit status 0. */
#define _GNU_SOURCE
#define GUEST_CMA
#include "guest.h"
#include <grp.h>
#include <sys/prctl.h>

#define N 64
static unsigned char *buf, *dst;

struct creds {
	uid_t r, e, s;
	gid_t g;
	int dumpable; /* 1: prctl(PR_SET_DUMPABLE, 1) after the change */
};

static void drop(const struct creds *c)
{
	CHECK(setgroups(0, NULL) == 0);
	CHECK(setresgid(c->g, c->g, c->g) == 0);
	CHECK(setresuid(c->r, c->e, c->s) == 0);
	if (c->dumpable)
		CHECK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0);
}

/* target: drops to *arg (if any), fills buf with seed 2, then serves
 * 'd' (become dumpable) and 'c' (does buf hold seed 3?) until EOF. */
static int target(void *arg, int out, int in)
{
	if (arg)
		drop(arg);
	cma_fill(buf, N, 0, 2);
	cma_send(out, "r", 1);
	for (int op; (op = cma_hold(in)) >= 0;) {
		int ok = op == 'd' ? prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0 : cma_same(buf, N, 0, 3);
		cma_send(out, ok ? "1" : "0", 1);
	}
	return 0;
}

static void rd(const char *name, pid_t pid)
{
	struct iovec l = {dst, N}, r = {buf, N};
	memset(dst, 0xee, N);
	long ret = cma_rw(0, (unsigned long)pid, &l, 1, &r, 1, 0);
	if (ret < 0)
		outf("%s: readv %s\n", name, cma_res(ret));
	else
		outf("%s: readv %s bytes_ok=%d\n", name, cma_res(ret), cma_same(dst, N, 0, 2));
}

static void wr(const char *name, cma_child *t)
{
	struct iovec l = {dst, N}, r = {buf, N};
	cma_fill(dst, N, 0, 3);
	long ret = cma_rw(1, (unsigned long)t->pid, &l, 1, &r, 1, 0);
	char ok = '?';
	cma_send(t->to, "c", 1);
	CHECK(cma_recv(t->from, &ok, 1));
	outf("%s: writev %s target_sees=%c\n", name, cma_res(ret), ok);
}

static void ready(cma_child *t)
{
	char r;
	CHECK(cma_recv(t->from, &r, 1));
}

static const struct creds u1000 = {1000, 1000, 1000, 1000, 0};
static const struct creds u1000d = {1000, 1000, 1000, 1000, 1};

static void root_reads_dropped(void)
{
	cma_child t = cma_spawn(target, (void *)&u1000);
	ready(&t);
	rd("root reads uid-1000 non-dumpable child", t.pid);
	wr("root writes uid-1000 non-dumpable child", &t);
	CHECK(cma_reap(&t) == 0);
}

static void user_reads_root_parent(void)
{
	pid_t root = getppid();
	drop(&u1000d);
	rd("uid 1000 reads root parent", root);
	struct iovec l = {dst, N}, r = {buf, N}, lz = {dst, 0}, rz = {buf, 0};
	long ret = cma_rw(1, (unsigned long)root, &l, 1, &r, 1, 0);
	outf("uid 1000 writes root parent: writev %s\n", cma_res(ret));
	ret = cma_rw(0, (unsigned long)root, &lz, 1, &r, 1, 0);
	outf("uid 1000 reads root parent local total 0: readv %s\n", cma_res(ret));
	ret = cma_rw(0, (unsigned long)root, &l, 1, &rz, 1, 0);
	outf("uid 1000 reads root parent remote total 0: readv %s\n", cma_res(ret));
	cma_fill(buf, N, 0, 2);
	rd("uid 1000 non-dumpable reads itself", getpid());
}

/* The target changes its own credentials (not dumpable any more), or
 * (inherit) the reader drops first and forks a target that inherits its
 * non-dumpable mm. Either way prctl(PR_SET_DUMPABLE, 1) lets the reader in. */
static void user_reads_user(int inherit)
{
	const char *what = inherit ? "child inheriting non-dumpable" : "child that dropped itself";
	char name[128];
	if (inherit)
		drop(&u1000);
	cma_child t = cma_spawn(target, inherit ? NULL : (void *)&u1000);
	ready(&t);
	if (!inherit)
		drop(&u1000);
	snprintf(name, sizeof name, "uid 1000 reads uid-1000 %s", what);
	rd(name, t.pid);
	snprintf(name, sizeof name, "uid 1000 writes uid-1000 %s", what);
	wr(name, &t);
	char ok;
	cma_send(t.to, "d", 1);
	CHECK(cma_recv(t.from, &ok, 1) && ok == '1');
	snprintf(name, sizeof name, "uid 1000 reads uid-1000 %s after PR_SET_DUMPABLE", what);
	rd(name, t.pid);
	snprintf(name, sizeof name, "uid 1000 writes uid-1000 %s after PR_SET_DUMPABLE", what);
	wr(name, &t);
	CHECK(cma_reap(&t) == 0);
}

/* A dumpable target whose credentials differ from the caller's real ones
 * in one place: the reader (uid/gid 1000, or real uid 1000 with effective
 * and saved uid 1001) reads it. */
static void user_reads_other(const char *name, struct creds tc, struct creds rc)
{
	cma_child t = cma_spawn(target, &tc);
	ready(&t);
	drop(&rc);
	rd(name, t.pid);
	CHECK(cma_reap(&t) == 0);
}

static void s_dropped_self(void) { user_reads_user(0); }
static void s_inherit(void) { user_reads_user(1); }
static void s_suid(void)
{
	user_reads_other("uid 1000 reads target with saved uid 0", (struct creds){1000, 1000, 0, 1000, 1},
			 u1000);
}
static void s_gid(void)
{
	user_reads_other("uid 1000 reads target with gid 1001", (struct creds){1000, 1000, 1000, 1001, 1},
			 u1000);
}
static void s_real_same(void)
{
	user_reads_other("real uid 1000 euid 1001 reads uid-1000 target", u1000d,
			 (struct creds){1000, 1001, 1001, 1000, 0});
}
static void s_real_other(void)
{
	user_reads_other("real uid 1000 euid 1001 reads uid-1001 target",
			 (struct creds){1001, 1001, 1001, 1000, 1}, (struct creds){1000, 1001, 1001, 1000, 0});
}

/* Each scenario runs in its own forked process; names are the lines it
 * prints, for the runs that are not root. */
static const struct {
	void (*fn)(void);
	int lines;
	const char *names[6];
} scenarios[] = {
	{root_reads_dropped, 2,
	 {"root reads uid-1000 non-dumpable child", "root writes uid-1000 non-dumpable child"}},
	{user_reads_root_parent, 5,
	 {"uid 1000 reads root parent", "uid 1000 writes root parent",
	  "uid 1000 reads root parent local total 0", "uid 1000 reads root parent remote total 0",
	  "uid 1000 non-dumpable reads itself"}},
	{s_dropped_self, 4,
	 {"uid 1000 reads uid-1000 child that dropped itself",
	  "uid 1000 writes uid-1000 child that dropped itself",
	  "uid 1000 reads uid-1000 child that dropped itself after PR_SET_DUMPABLE",
	  "uid 1000 writes uid-1000 child that dropped itself after PR_SET_DUMPABLE"}},
	{s_inherit, 4,
	 {"uid 1000 reads uid-1000 child inheriting non-dumpable",
	  "uid 1000 writes uid-1000 child inheriting non-dumpable",
	  "uid 1000 reads uid-1000 child inheriting non-dumpable after PR_SET_DUMPABLE",
	  "uid 1000 writes uid-1000 child inheriting non-dumpable after PR_SET_DUMPABLE"}},
	{s_suid, 1, {"uid 1000 reads target with saved uid 0"}},
	{s_gid, 1, {"uid 1000 reads target with gid 1001"}},
	{s_real_same, 1, {"real uid 1000 euid 1001 reads uid-1000 target"}},
	{s_real_other, 1, {"real uid 1000 euid 1001 reads uid-1001 target"}},
};

static int run(void *arg, int out, int in)
{
	(void)out, (void)in;
	scenarios[(intptr_t)arg].fn();
	return 0;
}

int main(void)
{
	buf = cma_map(CMA_PAGE, PROT_READ | PROT_WRITE);
	dst = cma_map(CMA_PAGE, PROT_READ | PROT_WRITE);
	int root = geteuid() == 0;
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		if (!root) {
			for (int j = 0; j < scenarios[i].lines; j++)
				outf("%s: skipped: not root\n", scenarios[i].names[j]);
			continue;
		}
		cma_fill(buf, N, 0, 1);
		cma_child s = cma_spawn(run, (void *)(intptr_t)i);
		CHECK(cma_reap(&s) == 0);
	}
	return 0;
}
