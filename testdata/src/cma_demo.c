/*
 * The cmaemu demo: two processes exchange a message with Cross Memory
 * Attach. The parent writes into the child's inbox with process_vm_writev
 * and reads the child's reply with process_vm_readv: one copy each way,
 * straight between the two address spaces. Pipes only say "your turn".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char inbox[64];  /* the child's; written by the parent */
static char outbox[64]; /* the child's; read by the parent */

static void turn(int fd) { write(fd, "x", 1); }
static void wait_turn(int fd)
{
	char c;
	if (read(fd, &c, 1) != 1)
		_exit(1);
}

int main(void)
{
	int to_child[2], to_parent[2];
	if (pipe(to_child) || pipe(to_parent))
		return 1;
	pid_t child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		wait_turn(to_child[0]);
		printf("child:  inbox says \"%s\"\n", inbox);
		fflush(stdout);
		strcpy(outbox, "pong from the child");
		turn(to_parent[1]);
		wait_turn(to_child[0]);
		_exit(0);
	}

	const char msg[] = "ping from the parent";
	struct iovec local = {(void *)msg, sizeof msg};
	struct iovec remote = {inbox, sizeof msg};
	ssize_t n = process_vm_writev(child, &local, 1, &remote, 1, 0);
	printf("parent: process_vm_writev copied %zd bytes\n", n);
	fflush(stdout);
	turn(to_child[1]);

	wait_turn(to_parent[0]);
	char reply[64] = {0};
	local = (struct iovec){reply, sizeof reply};
	remote = (struct iovec){outbox, 20};
	n = process_vm_readv(child, &local, 1, &remote, 1, 0);
	printf("parent: process_vm_readv copied %zd bytes: \"%s\"\n", n, reply);
	turn(to_child[1]);

	int status;
	waitpid(child, &status, 0);
	printf("parent: child exited with %d\n", WEXITSTATUS(status));
	return 0;
}
