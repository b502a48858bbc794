// variants: glibc musl i386 i386dyn
/* sys_limits: per-process limits and scheduling state, each case in forked
 * children so that nothing leaks between cases.
 *   rlimit    getrlimit/setrlimit/prlimit64: soft above hard and unknown
 *             resources are EINVAL, a hard RLIMIT_NOFILE above fs.nr_open
 *             EPERM, EFAULT; RLIMIT_NOFILE bounds the descriptors (EMFILE,
 *             dup2's EBADF, F_DUPFD's EINVAL, poll's EINVAL); fork copies
 *             the limits; prlimit64 of a child, of no such pid (ESRCH,
 *             before the resource is checked); as uid 1000: a hard limit
 *             cannot be raised again, another user's limits are EPERM
 *   nice      getpriority/setpriority: the raw call returns 20-nice, nice
 *             values clamp to -20..19, PRIO_PROCESS/PGRP/USER, EINVAL and
 *             ESRCH; fork copies the nice value; as uid 1000: lowering
 *             needs RLIMIT_NICE (EACCES), another user's process is EPERM
 *   sched     sched_{get,set}scheduler/param, priority ranges, SCHED_BATCH
 *             and SCHED_IDLE, SCHED_FIFO as root and, as uid 1000, within
 *             RLIMIT_RTPRIO only; SCHED_RESET_ON_FORK; sched_rr_get_interval
 *             of SCHED_FIFO; EINVAL, ESRCH, EFAULT
 *   sched_attr sched_getattr: the sizes it takes, what it reports
 *   pers      personality: query, set returns the previous value, fork
 *             keeps it
 *   prctl     the name (PR_SET_NAME cuts at 15 bytes, /proc/self/comm
 *             agrees), the parent-death signal (delivered when the parent
 *             exits, cleared by fork and by a change of credentials),
 *             keepcaps and the securebits, the capability bounding set,
 *             no_new_privs, the timer slack, the THP switch, EINVAL
 *   caps      capget/capset (v3, v1, the version probe): root's sets as
 *             far as they do not depend on the host's bounding set; an
 *             effective capability dropped and raised again, a permitted
 *             one dropped for good; seteuid and setfsuid adjust the sets;
 *             uid 1000 has none and cannot raise them (EPERM)
 * Root is needed for the uid-1000 parts (they print "skipped: not root"
 * otherwise). Raw system calls are used where musl stubs a call (the
 * sched_* ones) or glibc adds its own checks. One line a check; exit 0. */
#define _GNU_SOURCE
#include "sys.h"
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <sys/fsuid.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <signal.h>
#include <time.h>

/* linux/capability.h, which musl does not ship. */
struct cap_header {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};
#define CAP_V1 0x19980330
#define CAP_V3 0x20080522
#define CAP_CHOWN 0
#define CAP_DAC_OVERRIDE 1
#define CAP_FOWNER 3
#define CAP_KILL 5
#define CAP_SETUID 7
#define CAP_IPC_LOCK 14
#define CAP_SYS_NICE 23

/* ---- rlimit ---- */

static long prlimit_raw(pid_t pid, int res, const struct rlimit *nl, struct rlimit *ol)
{
	errno = 0;
	return syscall(SYS_prlimit64, pid, res, nl, ol);
}

static void nofile_child_report(void)
{
	struct rlimit r;
	PCHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
	out("rlimit: the child sees its NOFILE soft limit %ld\n", (long)r.rlim_cur);
}

static void rlimit_root(void)
{
	struct rlimit r, old;
	PCHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
	out("rlimit: NOFILE soft<=hard %d\n", r.rlim_cur <= r.rlim_max);
	rlim_t hard = r.rlim_max;

	/* Errors. */
	struct rlimit bad = {10, 5};
	out("rlimit: soft above hard -> %s\n", res(setrlimit(RLIMIT_NOFILE, &bad)));
	out("rlimit: resource 16 get -> %s\n", res(prlimit_raw(0, 16, NULL, &r)));
	out("rlimit: resource 16 set -> %s\n", res(prlimit_raw(0, 16, &bad, NULL)));
	out("rlimit: resource -1 -> %s\n", res(prlimit_raw(0, -1, NULL, &r)));
	struct rlimit huge = {64, 1048577};
	out("rlimit: NOFILE hard above nr_open -> %s\n", res(prlimit_raw(0, RLIMIT_NOFILE, &huge, NULL)));
	out("rlimit: bad new pointer -> %s\n", res(prlimit_raw(0, RLIMIT_NOFILE, (void *)8, NULL)));
	out("rlimit: bad old pointer -> %s\n", res(prlimit_raw(0, RLIMIT_NOFILE, NULL, (void *)8)));
	out("rlimit: no such pid, bad resource -> %s\n", res(prlimit_raw(0x3fffffff, 99, NULL, &r)));
	out("rlimit: pid -1 -> %s\n", res(prlimit_raw(-1, RLIMIT_NOFILE, NULL, &r)));
	errno = 0;
	out("rlimit: setrlimit bad pointer -> %s\n", res(syscall(SYS_setrlimit, RLIMIT_NOFILE, (void *)8)));

	/* RLIMIT_NOFILE bounds the descriptor table. */
	struct rlimit small = {64, hard};
	const char *r1 = res(prlimit_raw(0, RLIMIT_NOFILE, &small, &old));
	out("rlimit: prlimit64 set NOFILE 64 -> %s old_ok=%d\n", r1, old.rlim_max == hard);
	PCHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
	out("rlimit: NOFILE now %ld, hard kept %d\n", (long)r.rlim_cur, r.rlim_max == hard);
	out("rlimit: dup2 to 64 -> %s\n", res(dup2(0, 64)));
	out("rlimit: dup2 to 63 -> %s\n", res(dup2(0, 63)));
	out("rlimit: F_DUPFD 64 -> %s\n", res(fcntl(0, F_DUPFD, 64)));
	int last = -1, fd;
	while ((fd = dup(0)) >= 0)
		last = fd;
	out("rlimit: dup until failure: %s, last fd %d\n", perr(errno), last);
	for (int i = 3; i < 64; i++)
		close(i);
	struct pollfd pf[65];
	for (int i = 0; i < 65; i++)
		pf[i] = (struct pollfd){.fd = -1};
	out("rlimit: poll 64 fds -> %s\n", res(poll(pf, 64, 0)));
	out("rlimit: poll 65 fds -> %s\n", res(poll(pf, 65, 0)));

	/* fork copies the limits; prlimit64 reads and sets a child's. */
	in_child("rlimit", nofile_child_report);
	struct waiter w = spawn_waiter(nofile_child_report);
	struct rlimit mid = {32, hard};
	r1 = res(prlimit_raw(w.pid, RLIMIT_NOFILE, &mid, &old));
	out("rlimit: prlimit64 of the child -> %s old=%ld\n", r1, (long)old.rlim_cur);
	release_waiter("rlimit", w);
	PCHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
	out("rlimit: the parent keeps %ld\n", (long)r.rlim_cur);
}

static pid_t root_parent;

static void rlimit_user(void)
{
	struct rlimit r;
	PCHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
	rlim_t hard = r.rlim_max;
	struct rlimit lower = {16, 100};
	out("rlimit: uid 1000 lowers hard NOFILE -> %s\n", res(setrlimit(RLIMIT_NOFILE, &lower)));
	struct rlimit raise = {16, 101};
	out("rlimit: uid 1000 raises it again -> %s\n", res(setrlimit(RLIMIT_NOFILE, &raise)));
	struct rlimit back = {16, hard};
	out("rlimit: uid 1000 back to the old hard limit -> %s\n", res(setrlimit(RLIMIT_NOFILE, &back)));
	struct rlimit soft = {100, 100};
	out("rlimit: uid 1000 soft up to hard -> %s\n", res(setrlimit(RLIMIT_NOFILE, &soft)));
	out("rlimit: uid 1000 reads root's limits -> %s\n", res(prlimit_raw(root_parent, RLIMIT_NOFILE, NULL, &r)));
	out("rlimit: uid 1000 reads its own by pid -> %s\n", res(prlimit_raw(getpid(), RLIMIT_NOFILE, NULL, &r)));
}

static void rlimit_case(void)
{
	in_child("rlimit", rlimit_root);
	root_parent = getpid();
	as_user("rlimit", NULL, rlimit_user);
}

/* ---- nice ---- */

static long getprio_raw(int which, int who)
{
	errno = 0;
	return syscall(SYS_getpriority, which, who);
}

static void nice_child_report(void)
{
	out("nice: the child has raw priority %ld\n", getprio_raw(PRIO_PROCESS, 0));
}

static void nice_root(void)
{
	out("nice: setpriority 5 -> %s\n", res(setpriority(PRIO_PROCESS, 0, 5)));
	errno = 0;
	int n = getpriority(PRIO_PROCESS, 0);
	const char *e = perr(errno);
	out("nice: getpriority -> %d (%s), raw %ld\n", n, e, getprio_raw(PRIO_PROCESS, 0));
	const char *r1 = res(setpriority(PRIO_PROCESS, 0, 100));
	out("nice: setpriority 100 -> %s, raw now %ld\n", r1, getprio_raw(PRIO_PROCESS, 0));
	r1 = res(setpriority(PRIO_PROCESS, 0, -100));
	out("nice: setpriority -100 -> %s, raw now %ld\n", r1, getprio_raw(PRIO_PROCESS, 0));
	r1 = res(setpriority(PRIO_PROCESS, getpid(), 3));
	out("nice: by own pid -> %s, raw %ld\n", r1, getprio_raw(PRIO_PROCESS, getpid()));
	r1 = res(setpriority(3, 0, 0));
	out("nice: which 3 -> %s / %s\n", r1, res(getprio_raw(3, 0)));
	out("nice: which -1 -> %s\n", res(getprio_raw(-1, 0)));
	r1 = res(setpriority(PRIO_PROCESS, 0x3fffffff, 0));
	out("nice: no such pid -> %s / %s\n", r1, res(getprio_raw(PRIO_PROCESS, 0x3fffffff)));
	out("nice: no such group -> %s\n", res(getprio_raw(PRIO_PGRP, 0x3fffffff)));
	out("nice: no such user -> %s\n", res(getprio_raw(PRIO_USER, 54321)));
	/* A new group of our own: PRIO_PGRP 0 is this process alone. */
	PCHECK(setpgid(0, 0) == 0);
	r1 = res(setpriority(PRIO_PGRP, 0, 7));
	out("nice: PRIO_PGRP 0 set 7 -> %s, raw %ld\n", r1, getprio_raw(PRIO_PGRP, 0));
	out("nice: PRIO_PGRP by id -> raw %ld\n", getprio_raw(PRIO_PGRP, getpgrp()));
	in_child("nice", nice_child_report);
	struct waiter w = spawn_waiter(nice_child_report);
	r1 = res(setpriority(PRIO_PROCESS, w.pid, 11));
	out("nice: setpriority of the child 11 -> %s, raw %ld\n", r1, getprio_raw(PRIO_PROCESS, w.pid));
	out("nice: the group's best is still raw %ld\n", getprio_raw(PRIO_PGRP, 0));
	release_waiter("nice", w);
	r1 = res(setpriority(PRIO_PROCESS, 0, -3));
	out("nice: root lowers to -3 -> %s, raw %ld\n", r1, getprio_raw(PRIO_PROCESS, 0));
}

/* nice_prep lowers RLIMIT_NICE's soft limit to 22 (nice down to -2);
 * the hard limit stays whatever it is (raising it needs
 * CAP_SYS_RESOURCE, which the host may not give root). */
static void nice_prep(void)
{
	struct rlimit r;
	PCHECK(getrlimit(RLIMIT_NICE, &r) == 0);
	r.rlim_cur = r.rlim_max < 22 ? r.rlim_max : 22;
	PCHECK(setrlimit(RLIMIT_NICE, &r) == 0);
	PCHECK(setpriority(PRIO_PROCESS, 0, 0) == 0);
}

static void nice_user(void)
{
	struct rlimit lim;
	PCHECK(getrlimit(RLIMIT_NICE, &lim) == 0);
	out("nice: uid 1000 raises to 4 -> %s\n", res(setpriority(PRIO_PROCESS, 0, 4)));
	out("nice: uid 1000 with RLIMIT_NICE %ld lowers to 1 -> %s\n", (long)lim.rlim_cur,
	    res(setpriority(PRIO_PROCESS, 0, 1)));
	const char *r1 = res(setpriority(PRIO_PROCESS, 0, -2));
	out("nice: uid 1000 lowers to -2 -> %s, raw %ld\n", r1, getprio_raw(PRIO_PROCESS, 0));
	out("nice: uid 1000 lowers to -3 -> %s\n", res(setpriority(PRIO_PROCESS, 0, -3)));
	out("nice: uid 1000 sets root's process -> %s\n", res(setpriority(PRIO_PROCESS, root_parent, 0)));
	out("nice: uid 1000 reads root's process -> raw %ld\n", getprio_raw(PRIO_PROCESS, root_parent) > 0 ? 1L : -1L);
	/* PRIO_USER spans every process of the user on the machine (other
	 * tests' too): only that this process counts is deterministic. */
	out("nice: PRIO_USER 0 (own uid) counts this process: %d\n",
	    getprio_raw(PRIO_USER, 0) >= getprio_raw(PRIO_PROCESS, 0));
}

static void nice_case(void)
{
	in_child("nice", nice_root);
	root_parent = getpid();
	as_user("nice", nice_prep, nice_user);
}

/* ---- sched ---- */

struct sattr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};

static long setsched(pid_t pid, int policy, int prio)
{
	struct sched_param sp = {.sched_priority = prio};
	errno = 0;
	return syscall(SYS_sched_setscheduler, pid, policy, &sp);
}

static long getsched(pid_t pid)
{
	errno = 0;
	return syscall(SYS_sched_getscheduler, pid);
}

static const char *getparam(pid_t pid)
{
	static char b[4][40];
	static int next;
	char *s = b[next++ & 3];
	struct sched_param sp = {.sched_priority = -7};
	errno = 0;
	long r = syscall(SYS_sched_getparam, pid, &sp);
	if (r < 0)
		snprintf(s, sizeof b[0], "%s", res(r));
	else
		snprintf(s, sizeof b[0], "prio=%d", sp.sched_priority);
	return s;
}

static void sched_child_report(void)
{
	out("sched: the child's policy %s\n", res(getsched(0)));
}

static void sched_root(void)
{
	const char *r1 = res(getsched(0));
	out("sched: policy %s, %s\n", r1, getparam(0));
	static const int pols[] = {SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, 6, 4, 7, -1};
	for (size_t i = 0; i < NCASES(pols); i++) {
		errno = 0;
		long mx = syscall(SYS_sched_get_priority_max, pols[i]);
		const char *a = res(mx);
		errno = 0;
		long mn = syscall(SYS_sched_get_priority_min, pols[i]);
		out("sched: priority range of policy %d: %s..%s\n", pols[i], res(mn), a);
	}
	out("sched: OTHER prio 0 -> %s\n", res(setsched(0, SCHED_OTHER, 0)));
	out("sched: OTHER prio 1 -> %s\n", res(setsched(0, SCHED_OTHER, 1)));
	out("sched: OTHER prio -1 -> %s\n", res(setsched(0, SCHED_OTHER, -1)));
	out("sched: FIFO prio 0 -> %s\n", res(setsched(0, SCHED_FIFO, 0)));
	out("sched: FIFO prio 100 -> %s\n", res(setsched(0, SCHED_FIFO, 100)));
	out("sched: policy 4 -> %s\n", res(setsched(0, 4, 0)));
	out("sched: policy -1 -> %s\n", res(setsched(0, -1, 0)));
	out("sched: DEADLINE -> %s\n", res(setsched(0, 6, 0)));
	errno = 0;
	out("sched: NULL param -> %s\n", res(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL)));
	errno = 0;
	out("sched: bad param -> %s\n", res(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, (void *)8)));
	out("sched: pid -1 -> %s\n", res(setsched(-1, SCHED_OTHER, 0)));
	out("sched: no such pid -> %s\n", res(setsched(0x3fffffff, SCHED_OTHER, 0)));
	r1 = res(getsched(-1));
	out("sched: getscheduler -1 -> %s, no such pid -> %s\n", r1, res(getsched(0x3fffffff)));
	errno = 0;
	r1 = res(syscall(SYS_sched_getparam, 0, NULL));
	const char *r2 = getparam(-1);
	out("sched: getparam NULL -> %s, -1 -> %s, no such pid -> %s\n", r1, r2, getparam(0x3fffffff));
	errno = 0;
	out("sched: getparam bad pointer -> %s\n", res(syscall(SYS_sched_getparam, 0, (void *)8)));

	r1 = res(setsched(0, SCHED_BATCH, 0));
	out("sched: BATCH -> %s, policy %s\n", r1, res(getsched(0)));
	r1 = res(setsched(0, SCHED_IDLE, 0));
	out("sched: IDLE -> %s, policy %s\n", r1, res(getsched(0)));
	struct sched_param sp = {.sched_priority = 0};
	errno = 0;
	r1 = res(syscall(SYS_sched_setparam, 0, &sp));
	out("sched: setparam 0 -> %s, policy %s\n", r1, res(getsched(0)));
	sp.sched_priority = 3;
	errno = 0;
	out("sched: setparam 3 under IDLE -> %s\n", res(syscall(SYS_sched_setparam, 0, &sp)));
	out("sched: back to OTHER -> %s\n", res(setsched(0, SCHED_OTHER, 0)));
	r1 = res(setsched(0, SCHED_FIFO, 1));
	r2 = res(getsched(0));
	out("sched: FIFO 1 -> %s, policy %s, %s\n", r1, r2, getparam(0));
	struct timespec ts = {9, 9};
	errno = 0;
	r1 = res(syscall(SYS_sched_rr_get_interval, 0, &ts));
	out("sched: rr_get_interval under FIFO -> %s %ld.%09ld\n", r1, (long)ts.tv_sec, (long)ts.tv_nsec);
	errno = 0;
	out("sched: rr_get_interval -1 -> %s\n", res(syscall(SYS_sched_rr_get_interval, -1, &ts)));
	sp.sched_priority = 2;
	errno = 0;
	r1 = res(syscall(SYS_sched_setparam, 0, &sp));
	out("sched: setparam 2 under FIFO -> %s, %s\n", r1, getparam(0));
	r1 = res(setsched(0, SCHED_OTHER, 0));
	out("sched: OTHER again -> %s, %s\n", r1, getparam(0));

	/* SCHED_RESET_ON_FORK: reported with the policy, cleared in children. */
	r1 = res(setsched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0));
	out("sched: OTHER|RESET_ON_FORK -> %s, policy %#lx\n", r1, getsched(0));
	in_child("sched", sched_child_report);
}

static void sched_attr(void)
{
	const char *r1 = res(setsched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0));
	out("sched_attr: policy OTHER|RESET_ON_FORK, nice 3 -> %s %s\n", r1, res(setpriority(PRIO_PROCESS, 0, 3)));
	struct sattr at;
	memset(&at, 0xee, sizeof at);
	errno = 0;
	long r = syscall(SYS_sched_getattr, 0, &at, 48, 0);
	out("sched_attr: getattr 48 -> %s size=%u policy=%u flags=%llu nice=%d prio=%u tail_untouched=%d\n", res(r),
	    at.size, at.policy, (unsigned long long)at.flags, at.nice, at.priority, at.util_min == 0xeeeeeeee);
	errno = 0;
	r1 = res(syscall(SYS_sched_getattr, 0, &at, 47, 0));
	errno = 0;
	out("sched_attr: getattr size 47 -> %s, flags 1 -> %s\n", r1, res(syscall(SYS_sched_getattr, 0, &at, 48, 1)));
	errno = 0;
	out("sched_attr: getattr size 4097 -> %s\n", res(syscall(SYS_sched_getattr, 0, &at, 4097, 0)));
	memset(&at, 0xee, sizeof at);
	errno = 0;
	r = syscall(SYS_sched_getattr, 0, &at, sizeof at + 8, 0);
	out("sched_attr: getattr %u -> %s size=%u nice=%d\n", (unsigned)sizeof at + 8, res(r), at.size, at.nice);
	struct sched_param sp = {.sched_priority = 1};
	errno = 0;
	if (syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &sp) == 0) {
		errno = 0;
		r = syscall(SYS_sched_getattr, 0, &at, 48, 0);
		out("sched_attr: FIFO 1: getattr -> %s policy=%u flags=%llu nice=%d prio=%u\n", res(r), at.policy,
		    (unsigned long long)at.flags, at.nice, at.priority);
	} else {
		out("sched_attr: FIFO 1 -> %s\n", res(-1));
	}
}

static void sched_attr_case(void)
{
	in_child("sched_attr", sched_attr);
}

/* sched_prep sets SCHED_RESET_ON_FORK and lowers RLIMIT_RTPRIO's soft
 * limit to 2 where the hard limit allows (it is usually 0: the uid-1000
 * child then gets no real-time policy at all). */
static void sched_prep(void)
{
	struct rlimit r;
	PCHECK(getrlimit(RLIMIT_RTPRIO, &r) == 0);
	r.rlim_cur = r.rlim_max < 2 ? r.rlim_max : 2;
	PCHECK(setrlimit(RLIMIT_RTPRIO, &r) == 0);
	PCHECK(setsched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0) == 0);
}

static long nice_limit(void)
{
	struct rlimit r;
	PCHECK(getrlimit(RLIMIT_NICE, &r) == 0);
	return (long)r.rlim_cur;
}

static void sched_user(void)
{
	out("sched: uid 1000 clears RESET_ON_FORK -> %s\n", res(setsched(0, SCHED_OTHER, 0)));
	struct rlimit lim;
	PCHECK(getrlimit(RLIMIT_RTPRIO, &lim) == 0);
	out("sched: uid 1000 with RLIMIT_RTPRIO %ld: FIFO 3 -> %s\n", (long)lim.rlim_cur,
	    res(setsched(0, SCHED_FIFO | SCHED_RESET_ON_FORK, 3)));
	const char *r1 = res(setsched(0, SCHED_FIFO | SCHED_RESET_ON_FORK, 2));
	out("sched: uid 1000 FIFO 2 -> %s, policy %#lx\n", r1, getsched(0));
	out("sched: uid 1000 back to OTHER -> %s\n", res(setsched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0)));
	out("sched: uid 1000 IDLE -> %s\n", res(setsched(0, SCHED_IDLE | SCHED_RESET_ON_FORK, 0)));
	out("sched: uid 1000 from IDLE to OTHER (RLIMIT_NICE %ld) -> %s\n", nice_limit(),
	    res(setsched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0)));
	out("sched: uid 1000 changes root's policy -> %s\n", res(setsched(root_parent, SCHED_OTHER, 0)));
	out("sched: uid 1000 reads root's policy -> %s\n", res(getsched(root_parent)));
}

static void sched_case(void)
{
	in_child("sched", sched_root);
	root_parent = getpid();
	as_user("sched", sched_prep, sched_user);
}

/* ---- pers ---- */

static void pers_child_report(void)
{
	out("pers: the child has %#lx\n", (unsigned long)personality(0xffffffff));
}

static void pers_root(void)
{
	out("pers: initially PER_LINUX %d\n", personality(0xffffffff) == PER_LINUX);
	out("pers: set ADDR_NO_RANDOMIZE -> previous %#x\n", personality(ADDR_NO_RANDOMIZE));
	out("pers: query -> %#x\n", personality(0xffffffff));
	in_child("pers", pers_child_report);
	out("pers: set 0x12345678 -> previous %#x\n", personality(0x12345678));
	out("pers: query -> %#x\n", personality(0xffffffff));
	out("pers: set PER_LINUX -> previous %#x\n", personality(PER_LINUX));
}

static void pers_case(void)
{
	in_child("pers", pers_root);
}

/* ---- caps ---- */

static long capget_raw(uint32_t version, int pid, struct cap_data *d, uint32_t *ver_out)
{
	struct cap_header h = {version, pid};
	errno = 0;
	long r = syscall(SYS_capget, &h, d);
	if (ver_out)
		*ver_out = h.version;
	return r;
}

static long capset_raw(int pid, const struct cap_data *d)
{
	struct cap_header h = {CAP_V3, pid};
	errno = 0;
	return syscall(SYS_capset, &h, d);
}

static int has(uint32_t set, int cap) { return (set >> cap) & 1; }

static void caps_root(void)
{
	struct cap_data d[2];
	uint32_t v;
	const char *r = res(capget_raw(0, 0, NULL, &v));
	out("caps: probe (version 0, NULL data) -> %s version %#x\n", r, v);
	r = res(capget_raw(0, 0, d, &v));
	out("caps: version 0 with data -> %s version %#x\n", r, v);
	out("caps: v3 NULL data -> %s\n", res(capget_raw(CAP_V3, 0, NULL, NULL)));
	r = res(capget_raw(CAP_V3, -1, d, NULL));
	out("caps: pid -1 -> %s, no such pid -> %s\n", r, res(capget_raw(CAP_V3, 0x3fffffff, d, NULL)));
	errno = 0;
	out("caps: bad header -> %s\n", res(syscall(SYS_capget, (void *)8, d)));
	out("caps: bad data -> %s\n", res(capget_raw(CAP_V3, 0, (void *)8, NULL)));
	memset(d, 0xee, sizeof d);
	out("caps: v3 -> %s\n", res(capget_raw(CAP_V3, 0, d, NULL)));
	out("caps: root: effective==permitted %d inheritable 0 %d, CAP_SETUID %d CAP_SYS_NICE %d CAP_IPC_LOCK %d CAP_KILL %d\n",
	    d[0].effective == d[0].permitted && d[1].effective == d[1].permitted,
	    d[0].inheritable == 0 && d[1].inheritable == 0, has(d[0].effective, CAP_SETUID),
	    has(d[0].effective, CAP_SYS_NICE), has(d[0].effective, CAP_IPC_LOCK), has(d[0].effective, CAP_KILL));
	struct cap_data full[2];
	memcpy(full, d, sizeof d);
	memset(d, 0xee, sizeof d);
	r = res(capget_raw(CAP_V1, 0, d, NULL));
	out("caps: v1 -> %s, same low word %d, second struct untouched %d\n", r, d[0].effective == full[0].effective,
	    d[1].effective == 0xeeeeeeee);
	out("caps: own pid -> %s\n", res(capget_raw(CAP_V3, getpid(), d, NULL)));

	/* Drop CAP_SYS_NICE from the effective set: lowering the nice value
	 * needs it (RLIMIT_NICE is 0 here). */
	struct rlimit nr = {0, 0};
	PCHECK(setrlimit(RLIMIT_NICE, &nr) == 0);
	struct cap_data e[2];
	memcpy(e, full, sizeof e);
	e[0].effective &= ~(1u << CAP_SYS_NICE);
	out("caps: drop effective CAP_SYS_NICE -> %s\n", res(capset_raw(0, e)));
	PCHECK(capget_raw(CAP_V3, 0, d, NULL) == 0);
	out("caps: effective CAP_SYS_NICE %d permitted %d\n", has(d[0].effective, CAP_SYS_NICE),
	    has(d[0].permitted, CAP_SYS_NICE));
	out("caps: setpriority -1 without it -> %s\n", res(setpriority(PRIO_PROCESS, 0, -1)));
	out("caps: raise it again -> %s\n", res(capset_raw(0, full)));
	out("caps: setpriority -1 with it -> %s\n", res(setpriority(PRIO_PROCESS, 0, -1)));
	e[0].permitted &= ~(1u << CAP_SYS_NICE);
	out("caps: drop permitted CAP_SYS_NICE -> %s\n", res(capset_raw(0, e)));
	out("caps: raise it again -> %s\n", res(capset_raw(0, full)));
	struct cap_data bad[2];
	memcpy(bad, e, sizeof bad);
	bad[0].effective |= 1u << CAP_SYS_NICE;
	out("caps: effective beyond permitted -> %s\n", res(capset_raw(0, bad)));
	out("caps: capset of another pid -> %s\n", res(capset_raw(getppid(), e)));
	out("caps: capset of own pid -> %s\n", res(capset_raw(getpid(), e)));
	errno = 0;
	struct cap_header h = {0x12345678, 0};
	r = res(syscall(SYS_capset, &h, e));
	out("caps: capset bad version -> %s version %#x\n", r, h.version);
}

static void caps_setuid(void)
{
	struct cap_data d[2];
	PCHECK(seteuid(1000) == 0);
	PCHECK(capget_raw(CAP_V3, 0, d, NULL) == 0);
	out("caps: after seteuid(1000): effective empty %d, CAP_SETUID permitted %d\n",
	    d[0].effective == 0 && d[1].effective == 0, has(d[0].permitted, CAP_SETUID));
	PCHECK(seteuid(0) == 0);
	PCHECK(capget_raw(CAP_V3, 0, d, NULL) == 0);
	out("caps: after seteuid(0): effective==permitted %d\n",
	    d[0].effective == d[0].permitted && d[1].effective == d[1].permitted);
	setfsuid(1000);
	PCHECK(capget_raw(CAP_V3, 0, d, NULL) == 0);
	out("caps: after setfsuid(1000): CAP_CHOWN %d CAP_DAC_OVERRIDE %d CAP_FOWNER %d CAP_SETUID %d\n",
	    has(d[0].effective, CAP_CHOWN), has(d[0].effective, CAP_DAC_OVERRIDE), has(d[0].effective, CAP_FOWNER),
	    has(d[0].effective, CAP_SETUID));
	setfsuid(0);
	PCHECK(capget_raw(CAP_V3, 0, d, NULL) == 0);
	out("caps: after setfsuid(0): CAP_CHOWN %d\n", has(d[0].effective, CAP_CHOWN));
}

static void caps_user(void)
{
	struct cap_data d[2];
	memset(d, 0xee, sizeof d);
	const char *r = res(capget_raw(CAP_V3, 0, d, NULL));
	out("caps: uid 1000 -> %s, all empty %d\n", r,
	    !d[0].effective && !d[0].permitted && !d[0].inheritable && !d[1].effective && !d[1].permitted &&
		!d[1].inheritable);
	PCHECK(capget_raw(CAP_V3, root_parent, d, NULL) == 0);
	out("caps: uid 1000 reads root's: CAP_SETUID %d\n", has(d[0].effective, CAP_SETUID));
	struct cap_data up[2] = {{1u << CAP_KILL, 1u << CAP_KILL, 0}, {0, 0, 0}};
	out("caps: uid 1000 raises CAP_KILL -> %s\n", res(capset_raw(0, up)));
	struct cap_data inh[2] = {{0, 0, 1u << CAP_KILL}, {0, 0, 0}};
	out("caps: uid 1000 raises inheritable CAP_KILL -> %s\n", res(capset_raw(0, inh)));
	struct cap_data none[2] = {{0, 0, 0}, {0, 0, 0}};
	out("caps: uid 1000 sets nothing -> %s\n", res(capset_raw(0, none)));
}

static void caps_case(void)
{
	if (!sys_root) {
		out("caps: skipped: not root\n");
		return;
	}
	in_child("caps", caps_root);
	in_child("caps", caps_setuid);
	root_parent = getpid();
	as_user("caps", NULL, caps_user);
}

/* ---- prctl ---- */

static long pr(int op, unsigned long a2, unsigned long a3)
{
	errno = 0;
	return syscall(SYS_prctl, op, a2, a3, 0, 0);
}

static const char *comm_file(void)
{
	static char b[32];
	memset(b, 0, sizeof b);
	int fd = open("/proc/self/comm", O_RDONLY);
	PCHECK(fd >= 0);
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n > 0 && b[n - 1] == '\n')
		b[n - 1] = 0;
	return b;
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* The orphan: it asks for SIGUSR1 when its parent dies, tells the parent
 * it is ready, and waits for the signal (at most 5 s). */
static void orphan(int ready)
{
	signal(SIGUSR1, on_usr1);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	PCHECK(prctl(PR_SET_PDEATHSIG, SIGUSR1) == 0);
	pid_t parent = getppid();
	writeall(ready, "x", 1);
	close(ready);
	for (int i = 0; i < 50 && !got_usr1; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		sigprocmask(SIG_SETMASK, &old, NULL);
		nanosleep(&ts, NULL);
		sigprocmask(SIG_BLOCK, &block, NULL);
	}
	out("prctl: the orphan got SIGUSR1 %d, its parent changed %d\n", (int)got_usr1, getppid() != parent);
}

static void prctl_run(void)
{
	char name[32];
	memset(name, 0, sizeof name);
	const char *r = res(pr(PR_GET_NAME, (unsigned long)name, 0));
	out("prctl: GET_NAME -> %s \"%s\", /proc/self/comm \"%s\"\n", r, name, comm_file());
	out("prctl: SET_NAME a long name -> %s\n", res(pr(PR_SET_NAME, (unsigned long)"worker-name-that-is-long", 0)));
	memset(name, 0, sizeof name);
	pr(PR_GET_NAME, (unsigned long)name, 0);
	out("prctl: now \"%s\", /proc/self/comm \"%s\"\n", name, comm_file());
	out("prctl: SET_NAME bad pointer -> %s\n", res(pr(PR_SET_NAME, 8, 0)));
	out("prctl: GET_NAME bad pointer -> %s\n", res(pr(PR_GET_NAME, 8, 0)));

	int sig = -1;
	r = res(pr(PR_GET_PDEATHSIG, (unsigned long)&sig, 0));
	out("prctl: GET_PDEATHSIG -> %s %d\n", r, sig);
	out("prctl: SET_PDEATHSIG 65 -> %s\n", res(pr(PR_SET_PDEATHSIG, 65, 0)));
	out("prctl: SET_PDEATHSIG SIGUSR2 -> %s\n", res(pr(PR_SET_PDEATHSIG, SIGUSR2, 0)));
	pr(PR_GET_PDEATHSIG, (unsigned long)&sig, 0);
	out("prctl: now %s\n", signame(sig));
	pid_t c = pfork();
	if (c == 0) {
		int s2 = -1;
		pr(PR_GET_PDEATHSIG, (unsigned long)&s2, 0);
		out("prctl: the child's parent-death signal %d\n", s2);
		_exit(0);
	}
	reap(c);
	if (sys_root) {
		PCHECK(setresuid(0, 1000, 0) == 0);
		pr(PR_GET_PDEATHSIG, (unsigned long)&sig, 0);
		out("prctl: after seteuid(1000) the parent-death signal %d\n", sig);
		PCHECK(setresuid(0, 0, 0) == 0);
	} else {
		out("prctl: skipped: not root\n");
	}
	out("prctl: GET_PDEATHSIG bad pointer -> %s\n", res(pr(PR_GET_PDEATHSIG, 8, 0)));

	/* The parent-death signal arrives when the parent exits: this
	 * process is the subreaper that adopts the orphan and waits for it. */
	PCHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	int fds[2];
	PCHECK(pipe(fds) == 0);
	pid_t mid = pfork();
	if (mid == 0) {
		pid_t o = pfork();
		if (o == 0) {
			close(fds[0]);
			orphan(fds[1]);
			_exit(0);
		}
		close(fds[1]);
		char ch;
		PCHECK(read(fds[0], &ch, 1) == 1);
		_exit(0);
	}
	close(fds[0]), close(fds[1]);
	reap(mid);
	int st;
	pid_t w;
	do
		w = wait(&st);
	while (w < 0 && errno == EINTR);
	out("prctl: the orphan was adopted and ended %s\n", w > 0 ? wstat(st) : res(w));

	out("prctl: GET_KEEPCAPS -> %s\n", res(pr(PR_GET_KEEPCAPS, 0, 0)));
	out("prctl: GET_SECUREBITS -> %s\n", res(pr(PR_GET_SECUREBITS, 0, 0)));
	out("prctl: SET_KEEPCAPS 2 -> %s\n", res(pr(PR_SET_KEEPCAPS, 2, 0)));
	out("prctl: SET_KEEPCAPS 1 with arg3 -> %s\n", res(pr(PR_SET_KEEPCAPS, 1, 1)));
	out("prctl: SET_KEEPCAPS 1 -> %s\n", res(pr(PR_SET_KEEPCAPS, 1, 0)));
	out("prctl: GET_KEEPCAPS -> %s\n", res(pr(PR_GET_KEEPCAPS, 0, 0)));
	out("prctl: GET_SECUREBITS -> %s\n", res(pr(PR_GET_SECUREBITS, 0, 0)));
	out("prctl: CAPBSET_READ CAP_SETUID -> %s\n", res(pr(PR_CAPBSET_READ, CAP_SETUID, 0)));
	out("prctl: CAPBSET_READ 41 -> %s\n", res(pr(PR_CAPBSET_READ, 41, 0)));

	out("prctl: GET_NO_NEW_PRIVS -> %s\n", res(pr(PR_GET_NO_NEW_PRIVS, 0, 0)));
	out("prctl: GET_NO_NEW_PRIVS with arg2 -> %s\n", res(pr(PR_GET_NO_NEW_PRIVS, 1, 0)));
	out("prctl: SET_NO_NEW_PRIVS 2 -> %s\n", res(pr(PR_SET_NO_NEW_PRIVS, 2, 0)));

	long slack = pr(PR_GET_TIMERSLACK, 0, 0);
	out("prctl: SET_TIMERSLACK 1000 -> %s\n", res(pr(PR_SET_TIMERSLACK, 1000, 0)));
	out("prctl: GET_TIMERSLACK -> %s\n", res(pr(PR_GET_TIMERSLACK, 0, 0)));
	pr(PR_SET_TIMERSLACK, 0, 0);
	out("prctl: SET_TIMERSLACK 0 gives the default again %d\n", pr(PR_GET_TIMERSLACK, 0, 0) == slack);

	out("prctl: GET_THP_DISABLE -> %s\n", res(pr(PR_GET_THP_DISABLE, 0, 0)));
	out("prctl: SET_THP_DISABLE 1 -> %s\n", res(pr(PR_SET_THP_DISABLE, 1, 0)));
	out("prctl: GET_THP_DISABLE -> %s\n", res(pr(PR_GET_THP_DISABLE, 0, 0)));
	out("prctl: unknown option 9999 -> %s\n", res(pr(9999, 0, 0)));
}

static void prctl_privs(void)
{
	out("prctl: SET_NO_NEW_PRIVS -> %s\n", res(pr(PR_SET_NO_NEW_PRIVS, 1, 0)));
	out("prctl: GET_NO_NEW_PRIVS -> %s\n", res(pr(PR_GET_NO_NEW_PRIVS, 0, 0)));
	pid_t c = pfork();
	if (c == 0) {
		out("prctl: the child's no_new_privs -> %s\n", res(pr(PR_GET_NO_NEW_PRIVS, 0, 0)));
		_exit(0);
	}
	reap(c);
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	PCHECK(fd >= 0);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *l = strstr(buf, "NoNewPrivs:");
	out("prctl: /proc/self/status %.14s\n", l ? l : "no NoNewPrivs line");
}

/* keepcaps_user: as root with SECBIT_KEEP_CAPS, dropping every root uid
 * keeps the permitted set and empties the effective one. */
static void keepcaps_run(void)
{
	PCHECK(prctl(PR_SET_KEEPCAPS, 1) == 0);
	PCHECK(setresuid(1000, 1000, 1000) == 0);
	struct cap_data d[2];
	struct cap_header h = {CAP_V3, 0};
	PCHECK(syscall(SYS_capget, &h, d) == 0);
	out("prctl: keepcaps then setresuid(1000): CAP_SETUID permitted %d effective %d\n",
	    has(d[0].permitted, CAP_SETUID), has(d[0].effective, CAP_SETUID));
	out("prctl: uid 1000 CAPBSET_DROP -> %s\n", res(pr(PR_CAPBSET_DROP, CAP_SETUID, 0)));
}

static void bset_run(void)
{
	out("prctl: root CAPBSET_DROP CAP_SYS_NICE -> %s\n", res(pr(PR_CAPBSET_DROP, CAP_SYS_NICE, 0)));
	out("prctl: CAPBSET_READ CAP_SYS_NICE -> %s\n", res(pr(PR_CAPBSET_READ, CAP_SYS_NICE, 0)));
	out("prctl: CAPBSET_DROP 41 -> %s\n", res(pr(PR_CAPBSET_DROP, 41, 0)));
}

static void prctl_case(void)
{
	in_child("prctl", prctl_run);
	in_child("prctl", prctl_privs);
	if (!sys_root) {
		out("prctl: skipped: not root\n");
		return;
	}
	in_child("prctl", keepcaps_run);
	in_child("prctl", bset_run);
}

static const struct pcase cases[] = {
	{"rlimit", rlimit_case},
	{"nice", nice_case},
	{"sched", sched_case},
	{"sched_attr", sched_attr_case},
	{"pers", pers_case},
	{"prctl", prctl_case},
	{"caps", caps_case},
};

int main(int argc, char **argv)
{
	sys_root = geteuid() == 0;
	return run_cases(cases, NCASES(cases), argc, argv);
}
