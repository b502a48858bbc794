/* ipc_msg: System V message queues.
 * - msgrcv by type: 0 (the first), positive (the first of that type),
 *   negative (the lowest type up to |type|), MSG_EXCEPT; MSG_NOERROR
 *   truncates, without it a long message is E2BIG and stays;
 * - blocking both ways between two processes: a receiver waits for its
 *   type; a sender waits on a full queue (msg_qbytes lowered by
 *   IPC_SET) until the other side reads;
 * - a waiting receiver gets EIDRM when the queue is removed;
 * - IPC_STAT's qnum, cbytes, qbytes and pids; /proc/sysvipc/msg;
 * - errors: ENOMSG, EAGAIN, EINVAL (type 0, size above MSGMAX, negative
 *   size), EEXIST, ENOENT, EACCES and EPERM as uid 1000.
 * Identifiers vary: only relations are printed. Exit status 0. */
#define _GNU_SOURCE
#include "guest.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>

struct msg {
	long type;
	char text[64];
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

static void send(int id, long type, const char *text)
{
	struct msg m = {type, ""};
	strcpy(m.text, text);
	CHECK(msgsnd(id, &m, strlen(text) + 1, 0) == 0);
}

/* recv receives one message and prints it. */
static void recv(int id, const char *what, long type, int flags)
{
	struct msg m;
	memset(&m, 0, sizeof m);
	ssize_t n = msgrcv(id, &m, sizeof m.text, type, flags);
	if (n < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: n=%zd type=%ld text=%s\n", what, n, m.type, m.text);
}

static void qstat(int id, const char *what)
{
	struct msqid_ds ds;
	CHECK(msgctl(id, IPC_STAT, &ds) == 0);
	printf("%s: qnum=%lu cbytes=%lu qbytes=%lu lspid_self=%d lrpid_self=%d mode=%o\n", what,
	       (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qbytes,
	       ds.msg_lspid == getpid(), ds.msg_lrpid == getpid(), (unsigned)ds.msg_perm.mode);
}

static int waitqnum(int id, unsigned long want)
{
	for (int i = 0; i < 2000; i++) {
		struct msqid_ds ds;
		CHECK(msgctl(id, IPC_STAT, &ds) == 0);
		if (ds.msg_qnum == want)
			return 1;
		usleep(1000);
	}
	return 0;
}

static void types(void)
{
	int id = msgget(IPC_PRIVATE, 0600);
	CHECK(id >= 0);
	qstat(id, "empty");
	send(id, 5, "five");
	send(id, 2, "two");
	send(id, 7, "seven");
	send(id, 2, "two again");
	send(id, 1, "one");
	qstat(id, "five sent");
	recv(id, "type 2", 2, 0);
	recv(id, "type -6 (lowest up to 6)", -6, 0);
	recv(id, "MSG_EXCEPT 5", 5, MSG_EXCEPT);
	recv(id, "type 0", 0, 0);
	recv(id, "type 9, IPC_NOWAIT", 9, IPC_NOWAIT);
	qstat(id, "one left");

	struct msg m = {3, "a fairly long text"};
	CHECK(msgsnd(id, &m, 19, 0) == 0);
	char small[sizeof(long) + 4];
	show("too long without MSG_NOERROR", msgrcv(id, small, 4, 3, IPC_NOWAIT));
	show("MSG_NOERROR", msgrcv(id, small, 4, 3, IPC_NOWAIT | MSG_NOERROR));
	printf("truncated text: %.4s\n", small + sizeof(long));
	recv(id, "last", 0, IPC_NOWAIT);
	CHECK(msgctl(id, IPC_RMID, NULL) == 0);
}

static void blocking(void)
{
	int id = msgget(IPC_PRIVATE, 0600);
	CHECK(id >= 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		recv(id, "child waits for type 4", 4, 0);
		send(id, 8, "reply");
		_exit(0);
	}
	CHECK(waitqnum(id, 0));
	usleep(20000);
	send(id, 3, "not for the child");
	send(id, 4, "for the child");
	recv(id, "parent waits for type 8", 8, 0);
	printf("child: %d\n", waitchild(pid));
	qstat(id, "after exchange");

	/* A full queue blocks the sender. */
	struct msqid_ds ds;
	CHECK(msgctl(id, IPC_STAT, &ds) == 0);
	ds.msg_qbytes = 40;
	CHECK(msgctl(id, IPC_SET, &ds) == 0);
	recv(id, "drain", 0, IPC_NOWAIT);
	struct msg m = {1, "0123456789012345678901234567890"};
	CHECK(msgsnd(id, &m, 32, 0) == 0);
	show("full, IPC_NOWAIT", msgsnd(id, &m, 32, IPC_NOWAIT));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int r = msgsnd(id, &m, 32, 0);
		_exit(r == 0 ? 0 : 1);
	}
	usleep(50000);
	qstat(id, "sender waiting");
	recv(id, "make room", 0, 0);
	printf("sender: %d\n", waitchild(pid));
	qstat(id, "after sender");

	/* EIDRM to a waiting receiver. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct msg r;
		ssize_t n = msgrcv(id, &r, sizeof r.text, 99, 0);
		_exit(n == -1 && errno == EIDRM ? 42 : 1);
	}
	usleep(50000);
	CHECK(msgctl(id, IPC_RMID, NULL) == 0);
	printf("receiver after IPC_RMID: %d\n", waitchild(pid));
}

static void procline(int id)
{
	FILE *f = fopen("/proc/sysvipc/msg", "r");
	CHECK(f != NULL);
	char line[512];
	CHECK(fgets(line, sizeof line, f) != NULL);
	printf("proc header: %s", line);
	while (fgets(line, sizeof line, f)) {
		int key, qid, lspid, lrpid;
		unsigned perms;
		unsigned long cbytes, qnum;
		if (sscanf(line, "%d %d %o %lu %lu %d %d", &key, &qid, &perms, &cbytes, &qnum, &lspid, &lrpid) == 7 &&
		    qid == id)
			printf("proc: perms=%o cbytes=%lu qnum=%lu lspid_self=%d lrpid=%d\n", perms, cbytes, qnum,
			       lspid == getpid(), lrpid);
	}
	fclose(f);
}

static void errors(void)
{
	key_t key = 0x5e390000 + (getpid() & 0xffff);
	msgctl(msgget(key, 0), IPC_RMID, NULL);
	show("get missing key", msgget(key, 0600));
	int id = msgget(key, IPC_CREAT | 0620);
	CHECK(id >= 0);
	printf("get same key: %d\n", msgget(key, 0) == id);
	show("IPC_CREAT|IPC_EXCL existing", msgget(key, IPC_CREAT | IPC_EXCL | 0600));
	struct msg m = {0, "x"};
	show("type 0", msgsnd(id, &m, 2, 0));
	m.type = -3;
	show("type -3", msgsnd(id, &m, 2, 0));
	m.type = 1;
	show("size 8193", msgsnd(id, &m, 8193, 0));
	show("size -1", msgsnd(id, &m, (size_t)-1, 0));
	show("msgrcv size -1", msgrcv(id, &m, (size_t)-1, 0, IPC_NOWAIT));
	show("empty, IPC_NOWAIT", msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT));
	show("bad cmd", msgctl(id, 99, NULL));
	show("bad id", msgsnd(-1, &m, 2, 0));
	CHECK(msgsnd(id, &m, 2, 0) == 0);
	procline(id);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgid(1000) != 0 || setuid(1000) != 0)
			_exit(99);
		show("uid 1000 get for read", msgget(key, 0400));
		show("uid 1000 get for write", msgget(key, 0200) == id);
		show("uid 1000 msgrcv", msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT));
		show("uid 1000 msgsnd", msgsnd(id, &m, 2, IPC_NOWAIT));
		struct msqid_ds ds;
		show("uid 1000 IPC_STAT", msgctl(id, IPC_STAT, &ds));
		show("uid 1000 IPC_RMID", msgctl(id, IPC_RMID, NULL));
		fflush(stdout);
		_exit(0);
	}
	printf("child: %d\n", waitchild(pid));
	qstat(id, "after uid 1000");
	struct msqid_ds ds;
	CHECK(msgctl(id, IPC_STAT, &ds) == 0);
	ds.msg_qbytes = 16385;
	show("IPC_SET qbytes above MSGMNB as root", msgctl(id, IPC_SET, &ds));
	CHECK(msgctl(id, IPC_RMID, NULL) == 0);
	show("after IPC_RMID", msgget(key, 0));
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	types();
	blocking();
	errors();
	return 0;
}
