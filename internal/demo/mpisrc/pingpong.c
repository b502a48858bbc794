/* The program of cmaemu demo mpi: rank 0 sends one message of MSG bytes
 * to rank 1, which sends it back with its first line changed. With Open
 * MPI's vader BTL and single_copy_mechanism cma, each rank pulls the
 * other's message with one process_vm_readv. The message starts 24 bytes
 * before a page boundary of the sender's buffer, so the copy is cut into
 * pieces at both sides' page boundaries. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG 9000

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	char *page = aligned_alloc(4096, 4 * 4096);
	char *buf = page + 4096 - 24;
	memset(page, 0, 4 * 4096);
	if (rank == 0) {
		for (int i = 0; i < MSG; i++)
			buf[i] = "ping from rank 0. "[i % 18];
		MPI_Send(buf, MSG, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
		MPI_Recv(buf, MSG, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		printf("rank 0 got %d bytes back: \"%.18s\"\n", MSG, buf);
	} else {
		MPI_Recv(buf, MSG, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		printf("rank 1 got %d bytes: \"%.18s\"\n", MSG, buf);
		fflush(stdout);
		memcpy(buf, "pong from rank 1. ", 18);
		MPI_Send(buf, MSG, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
	}
	MPI_Finalize();
	return 0;
}
