/* ipc_shm: System V shared memory between a parent and its children.
 * - shmget(IPC_PRIVATE) + shmat in the parent, a forked child sees and
 *   writes the same bytes; shm_nattch counts the parent's attach, the
 *   child's inherited one and goes down at the child's exit;
 * - IPC_RMID while attached: the segment lives on (SHM_DEST, key 0),
 *   still usable and visible in /proc/sysvipc/shm until the last detach;
 * - IPC_STAT's stable fields, IPC_SET, SHM_RDONLY (a write is SIGSEGV),
 *   SHM_RND, SHM_REMAP, shmdt errors, keys with IPC_CREAT/IPC_EXCL and
 *   the error cases (EEXIST, ENOENT, EINVAL, EACCES as uid 1000).
 * Identifiers and keys of IPC_PRIVATE vary: only relations are printed.
 * Exit status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

static int waitchild(pid_t pid)
{
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* show prints a call's result and errno (read after the call). */
static void show(const char *what, long r)
{
	if (r == -1)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
	errno = 0;
}

static unsigned long nattch(int id)
{
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) != 0)
		return (unsigned long)-errno;
	return ds.shm_nattch;
}

/* procline finds the /proc/sysvipc/shm line of id: prints its perms,
 * size and nattch columns, or "absent". */
static void procline(const char *what, int id)
{
	FILE *f = fopen("/proc/sysvipc/shm", "r");
	CHECK(f != NULL);
	char line[512];
	CHECK(fgets(line, sizeof line, f) != NULL);
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		int key, sid, cpid, lpid;
		unsigned perms;
		unsigned long size, natt;
		if (sscanf(line, "%d %d %o %lu %d %d %lu", &key, &sid, &perms, &size, &cpid, &lpid, &natt) != 7)
			continue;
		if (sid != id)
			continue;
		found = 1;
		printf("%s: proc perms=%o size=%lu cpid_self=%d nattch=%lu key0=%d\n", what, perms, size,
		       cpid == getpid(), natt, key == 0);
	}
	if (!found)
		printf("%s: proc absent\n", what);
	fclose(f);
}

static void errors(void)
{
	key_t key = 0x5eed0000 + (getpid() & 0xffff);
	shmctl(shmget(key, 0, 0), IPC_RMID, NULL);
	show("get missing key", (long)shmget(key, 4096, 0600));
	int id = shmget(key, 8192, IPC_CREAT | 0640);
	CHECK(id >= 0);
	printf("get same key: %d\n", shmget(key, 4096, 0) == id);
	printf("get same key, no size: %d\n", shmget(key, 0, 0) == id);
	show("get bigger than it", (long)shmget(key, 8193, 0));
	show("IPC_CREAT|IPC_EXCL existing", (long)shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600));
	printf("IPC_CREAT existing: %d\n", shmget(key, 4096, IPC_CREAT | 0600) == id);
	show("size 0", (long)shmget(IPC_PRIVATE, 0, 0600));
	/* (size_t)-1 is above SHMMAX on x86-64, below it on i386. */
	int huge = shmget(IPC_PRIVATE, (size_t)-1, 0600);
	printf("size huge: %s\n", huge >= 0 ? "created" : errname(errno));
	if (huge >= 0)
		CHECK(shmctl(huge, IPC_RMID, NULL) == 0);
	show("shmat bad id", (long)shmat(-1, NULL, 0));
	show("shmat unaligned", (long)shmat(id, (void *)0x12345, 0));
	show("shmat SHM_REMAP without address", (long)shmat(id, NULL, SHM_REMAP));
	show("shmdt not attached", (long)shmdt((void *)0x10000));
	show("shmctl bad cmd", (long)shmctl(id, 99, NULL));
	show("shmctl negative id", (long)shmctl(-1, IPC_STAT, NULL));

	/* Another user: the mode decides. */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgid(1000) != 0 || setuid(1000) != 0)
			_exit(99);
		show("uid 1000 get 0640 segment rw", (long)shmget(key, 0, 0600));
		errno = 0;
		printf("uid 1000 get, no mode: %d\n", shmget(key, 0, 0) == id);
		show("uid 1000 shmat", (long)shmat(id, NULL, 0));
		struct shmid_ds ds;
		show("uid 1000 IPC_STAT", (long)shmctl(id, IPC_STAT, &ds));
		show("uid 1000 IPC_RMID", (long)shmctl(id, IPC_RMID, NULL));
		fflush(stdout);
		_exit(0);
	}
	printf("child: %d\n", waitchild(pid));
	CHECK(shmctl(id, IPC_RMID, NULL) == 0);
	show("after IPC_RMID", (long)shmget(key, 0, 0));
	show("IPC_STAT removed", (long)shmctl(id, IPC_STAT, NULL));
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
	CHECK(id >= 0);
	struct shmid_ds ds;
	CHECK(shmctl(id, IPC_STAT, &ds) == 0);
	printf("new: segsz=%lu mode=%o nattch=%lu cpid_self=%d lpid=%d uid=%u cuid=%u key=%d\n",
	       (unsigned long)ds.shm_segsz, (unsigned)ds.shm_perm.mode, (unsigned long)ds.shm_nattch,
	       ds.shm_cpid == getpid(), (int)ds.shm_lpid, (unsigned)ds.shm_perm.uid, (unsigned)ds.shm_perm.cuid,
	       (int)ds.shm_perm.__key);
	procline("new", id);

	char *p = shmat(id, NULL, 0);
	CHECK(p != (void *)-1);
	CHECK(shmctl(id, IPC_STAT, &ds) == 0);
	printf("attached: nattch=%lu lpid_self=%d atime_set=%d\n", (unsigned long)ds.shm_nattch,
	       ds.shm_lpid == getpid(), ds.shm_atime != 0);
	printf("fresh bytes zero: %d\n", p[0] == 0 && p[9999] == 0);
	strcpy(p, "from parent");

	int go[2], back[2];
	CHECK(pipe(go) == 0 && pipe(back) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char c;
		printf("child sees: %s\n", p);
		printf("child nattch: %lu\n", nattch(id));
		strcpy(p + 100, "from child");
		CHECK(write(back[1], "x", 1) == 1);
		CHECK(read(go[0], &c, 1) == 1);
		/* After the parent's IPC_RMID: still attached, still shared. */
		printf("child after rmid sees: %s\n", p + 200);
		strcpy(p + 300, "child after rmid");
		_exit(0);
	}
	char c;
	CHECK(read(back[0], &c, 1) == 1);
	printf("parent sees: %s\n", p + 100);
	printf("with child: nattch=%lu\n", nattch(id));
	CHECK(shmctl(id, IPC_RMID, NULL) == 0);
	CHECK(shmctl(id, IPC_STAT, &ds) == 0);
	printf("removed, attached: nattch=%lu dest=%d key=%d\n", (unsigned long)ds.shm_nattch,
	       (ds.shm_perm.mode & SHM_DEST) != 0, (int)ds.shm_perm.__key);
	procline("removed", id);
	strcpy(p + 200, "parent after rmid");
	CHECK(write(go[1], "x", 1) == 1);
	printf("child: %d\n", waitchild(pid));
	printf("parent sees: %s\n", p + 300);
	printf("after child exit: nattch=%lu\n", nattch(id));

	/* A second attach of the removed segment, read-only. */
	char *r = shmat(id, NULL, SHM_RDONLY);
	printf("reattach removed: %d\n", r != (void *)-1);
	if (r != (void *)-1) {
		printf("read-only view: %s nattch=%lu\n", r, nattch(id));
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			r[0] = 'X';
			_exit(0);
		}
		printf("write to SHM_RDONLY: %d\n", waitchild(pid));
		CHECK(shmdt(r) == 0);
	}
	CHECK(shmdt(p) == 0);
	show("IPC_STAT after last shmdt", shmctl(id, IPC_STAT, &ds));
	procline("gone", id);

	/* SHM_RND and SHM_REMAP at a chosen address. */
	id = shmget(IPC_PRIVATE, 8192, 0600);
	CHECK(id >= 0);
	char *base = shmat(id, NULL, 0);
	CHECK(base != (void *)-1);
	CHECK(shmdt(base) == 0);
	char *q = shmat(id, base + 100, SHM_RND);
	printf("SHM_RND rounds down: %d\n", q == base);
	show("over itself without SHM_REMAP", (long)shmat(id, base, 0));
	char *q2 = shmat(id, base, SHM_REMAP);
	printf("SHM_REMAP: %d nattch=%lu\n", q2 == base, nattch(id));
	strcpy(q, "rnd");
	CHECK(shmdt(q) == 0);
	printf("after shmdt: nattch=%lu\n", nattch(id));

	/* IPC_SET changes owner and mode bits. */
	CHECK(shmctl(id, IPC_STAT, &ds) == 0);
	ds.shm_perm.mode = 0644 | 0100000;
	ds.shm_perm.uid = 1234;
	printf("IPC_SET: %d\n", shmctl(id, IPC_SET, &ds));
	CHECK(shmctl(id, IPC_STAT, &ds) == 0);
	printf("after IPC_SET: mode=%o uid=%u cuid=%u\n", (unsigned)ds.shm_perm.mode, (unsigned)ds.shm_perm.uid,
	       (unsigned)ds.shm_perm.cuid);
	CHECK(shmctl(id, IPC_RMID, NULL) == 0);

	errors();
	return 0;
}
