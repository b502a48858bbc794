/* ipc_sem: System V semaphores between processes.
 * - a ping-pong of 200 rounds between a parent and a child on a set of
 *   two semaphores (each waits for its own, posts the other's);
 * - SEM_UNDO: a child's increments and decrements are undone at its
 *   exit; SETVAL clears the adjustments;
 * - GETNCNT and GETZCNT while a child waits; GETPID; GETALL/SETALL;
 *   IPC_STAT's stable fields; IPC_SET;
 * - a waiter gets EIDRM when the set is removed;
 * - IPC_NOWAIT (EAGAIN), semtimedop's timeout (EAGAIN), E2BIG, EFBIG,
 *   ERANGE, EINVAL, EEXIST, ENOENT, EACCES as uid 1000.
 * Identifiers vary: only relations are printed. Exit status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static void show(const char *what, long r)
{
	if (r == -1)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
	errno = 0;
}

static int waitchild(pid_t pid)
{
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int op(int id, unsigned short num, short delta, short flg)
{
	struct sembuf b = {num, delta, flg};
	return semop(id, &b, 1);
}

/* waitcount waits until semctl(cmd) on num gives want. */
static int waitcount(int id, int num, int cmd, int want)
{
	for (int i = 0; i < 2000; i++) {
		if (semctl(id, num, cmd) == want)
			return 1;
		usleep(1000);
	}
	return 0;
}

static void pingpong(void)
{
	int id = semget(IPC_PRIVATE, 2, 0600);
	CHECK(id >= 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 200; i++) {
			CHECK(op(id, 1, -1, 0) == 0);
			CHECK(op(id, 0, 1, 0) == 0);
		}
		_exit(0);
	}
	int rounds = 0;
	for (int i = 0; i < 200; i++) {
		CHECK(op(id, 1, 1, 0) == 0);
		CHECK(op(id, 0, -1, 0) == 0);
		rounds++;
	}
	printf("ping-pong: rounds=%d child=%d vals=%d,%d\n", rounds, waitchild(pid), semctl(id, 0, GETVAL),
	       semctl(id, 1, GETVAL));
	printf("GETPID is a process of the game: %d\n", semctl(id, 0, GETPID) == pid);
	CHECK(semctl(id, 0, IPC_RMID) == 0);
}

static void undo(void)
{
	int id = semget(IPC_PRIVATE, 3, 0600);
	CHECK(id >= 0);
	unsigned short init[3] = {5, 5, 5};
	CHECK(semctl(id, 0, SETALL, (union semun){.array = init}) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct sembuf ops[3] = {{0, 3, SEM_UNDO}, {1, -2, SEM_UNDO}, {2, 1, 0}};
		CHECK(semop(id, ops, 3) == 0);
		CHECK(op(id, 0, 1, SEM_UNDO) == 0);
		printf("child before exit: %d %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL),
		       semctl(id, 2, GETVAL));
		_exit(0);
	}
	printf("child: %d\n", waitchild(pid));
	unsigned short got[3];
	CHECK(semctl(id, 0, GETALL, (union semun){.array = got}) == 0);
	printf("after undo: %u %u %u\n", got[0], got[1], got[2]);
	printf("GETPID after undo is the child: %d\n", semctl(id, 0, GETPID) == pid);

	/* An adjustment that SETVAL clears is not undone. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHECK(op(id, 0, 2, SEM_UNDO) == 0);
		CHECK(semctl(id, 0, SETVAL, (union semun){.val = 10}) == 0);
		CHECK(op(id, 1, 4, SEM_UNDO) == 0);
		_exit(0);
	}
	printf("child: %d\n", waitchild(pid));
	printf("after SETVAL and undo: %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));

	/* Undo clamps at 0. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHECK(op(id, 2, 3, SEM_UNDO) == 0);
		CHECK(semctl(id, 2, SETVAL, (union semun){.val = 1}) == 0);
		CHECK(op(id, 2, 1, SEM_UNDO) == 0);
		CHECK(op(id, 2, -2, 0) == 0);
		_exit(0);
	}
	printf("child: %d\n", waitchild(pid));
	printf("undo clamps at 0: %d\n", semctl(id, 2, GETVAL));
	CHECK(semctl(id, 0, IPC_RMID) == 0);
}

static void counts(void)
{
	int id = semget(IPC_PRIVATE, 2, 0600);
	CHECK(id >= 0);
	CHECK(semctl(id, 1, SETVAL, (union semun){.val = 1}) == 0);
	pid_t a = fork();
	CHECK(a >= 0);
	if (a == 0) {
		CHECK(op(id, 0, -1, 0) == 0);
		_exit(0);
	}
	pid_t b = fork();
	CHECK(b >= 0);
	if (b == 0) {
		CHECK(op(id, 1, 0, 0) == 0);
		_exit(0);
	}
	printf("GETNCNT 1: %d\n", waitcount(id, 0, GETNCNT, 1));
	printf("GETZCNT 1: %d\n", waitcount(id, 1, GETZCNT, 1));
	printf("GETZCNT of sem 0: %d\n", semctl(id, 0, GETZCNT));
	CHECK(op(id, 0, 1, 0) == 0);
	CHECK(op(id, 1, -1, 0) == 0);
	printf("children: %d %d\n", waitchild(a), waitchild(b));
	printf("counts after: %d %d\n", semctl(id, 0, GETNCNT), semctl(id, 1, GETZCNT));

	/* EIDRM to a waiter. */
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		int r = op(id, 0, -1, 0);
		_exit(r == -1 && errno == EIDRM ? 42 : 1);
	}
	CHECK(waitcount(id, 0, GETNCNT, 1));
	CHECK(semctl(id, 0, IPC_RMID) == 0);
	printf("waiter after IPC_RMID: %d\n", waitchild(c));
}

static void errors(void)
{
	key_t key = 0x5e300000 + (getpid() & 0xffff);
	semctl(semget(key, 0, 0), 0, IPC_RMID);
	show("get missing key", semget(key, 1, 0600));
	int id = semget(key, 4, IPC_CREAT | 0640);
	CHECK(id >= 0);
	printf("get same key: %d\n", semget(key, 2, 0) == id);
	show("get more sems than it has", semget(key, 5, 0));
	show("IPC_CREAT|IPC_EXCL existing", semget(key, 4, IPC_CREAT | IPC_EXCL | 0600));
	show("nsems 0 new", semget(IPC_PRIVATE, 0, 0600));
	show("nsems -1", semget(IPC_PRIVATE, -1, 0600));
	show("nsems 32001", semget(IPC_PRIVATE, 32001, 0600));
	show("IPC_NOWAIT", op(id, 0, -1, IPC_NOWAIT));
	CHECK(op(id, 3, 1, 0) == 0);
	show("wait for zero, IPC_NOWAIT", op(id, 3, 0, IPC_NOWAIT));
	struct timespec ts = {0, 20 * 1000 * 1000};
	struct sembuf b = {0, -1, 0};
	show("semtimedop timeout", semtimedop(id, &b, 1, &ts));
	struct timespec bad = {0, 1000000000};
	show("semtimedop bad timeout", semtimedop(id, &b, 1, &bad));
	struct sembuf many[501];
	memset(many, 0, sizeof many);
	show("501 operations", semop(id, many, 501));
	show("0 operations", semop(id, many, 0));
	struct sembuf far = {4, 1, 0};
	show("sem_num past the set", semop(id, &far, 1));
	show("value above SEMVMX", op(id, 0, 32767, 0) == 0 ? op(id, 0, 1, 0) : -2);
	show("SETVAL 32768", semctl(id, 0, SETVAL, (union semun){.val = 32768}));
	show("SETVAL -1", semctl(id, 0, SETVAL, (union semun){.val = -1}));
	show("GETVAL", semctl(id, 0, GETVAL));
	show("GETVAL sem 4", semctl(id, 4, GETVAL));
	show("bad cmd", semctl(id, 0, 99));
	show("bad id", semctl(-1, 0, GETVAL));
	struct semid_ds ds;
	CHECK(semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}) == 0);
	printf("IPC_STAT: nsems=%lu mode=%o uid=%u otime_set=%d\n", (unsigned long)ds.sem_nsems,
	       (unsigned)ds.sem_perm.mode, (unsigned)ds.sem_perm.uid, ds.sem_otime != 0);
	ds.sem_perm.mode = 0604;
	show("IPC_SET", semctl(id, 0, IPC_SET, (union semun){.buf = &ds}));
	CHECK(semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}) == 0);
	printf("after IPC_SET: mode=%o\n", (unsigned)ds.sem_perm.mode);

	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgid(1000) != 0 || setuid(1000) != 0)
			_exit(99);
		show("uid 1000 GETVAL (others r)", semctl(id, 0, GETVAL) >= 0);
		show("uid 1000 semop +1", op(id, 1, 1, IPC_NOWAIT));
		show("uid 1000 SETVAL", semctl(id, 1, SETVAL, (union semun){.val = 1}));
		show("uid 1000 IPC_RMID", semctl(id, 0, IPC_RMID));
		show("uid 1000 get for write", semget(key, 0, 0600));
		fflush(stdout);
		_exit(0);
	}
	printf("child: %d\n", waitchild(pid));
	CHECK(semctl(id, 0, IPC_RMID) == 0);
	show("after IPC_RMID", semget(key, 0, 0));
	show("GETVAL removed", semctl(id, 0, GETVAL));
}

/* procline prints the /proc/sysvipc/sem line of id: perms and nsems. */
static void procline(int id)
{
	FILE *f = fopen("/proc/sysvipc/sem", "r");
	CHECK(f != NULL);
	char line[512];
	CHECK(fgets(line, sizeof line, f) != NULL);
	printf("proc header: %s", line);
	while (fgets(line, sizeof line, f)) {
		int key, sid;
		unsigned perms, nsems;
		if (sscanf(line, "%d %d %o %u", &key, &sid, &perms, &nsems) == 4 && sid == id)
			printf("proc: perms=%o nsems=%u key0=%d\n", perms, nsems, key == 0);
	}
	fclose(f);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int id = semget(IPC_PRIVATE, 7, 0640);
	CHECK(id >= 0);
	procline(id);
	CHECK(semctl(id, 0, IPC_RMID) == 0);
	pingpong();
	undo();
	counts();
	errors();
	return 0;
}
