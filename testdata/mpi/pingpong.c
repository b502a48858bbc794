/* pingpong [MAX]: rank 0 sends a message of each size from 8 bytes to
 * MAX (16 MiB unless given), by factors of 8, to rank 1, which adds 1
 * to every byte and sends it back; rank 0 checks every byte. With Open MPI's vader BTL and single_copy_mechanism cma,
 * each message of 4 KiB or more is pulled by the receiver with one
 * process_vm_readv. One line a size. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned char pattern(long i, long n) { return (unsigned char)(i * 7 + n / 8); }

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (size != 2) {
		if (rank == 0)
			printf("needs 2 ranks, has %d\n", size);
		MPI_Finalize();
		return 1;
	}
	long max = argc > 1 ? atol(argv[1]) : 16L << 20;
	for (long n = 8; n <= max; n *= 8) {
		unsigned char *b = malloc(n);
		if (rank == 0) {
			for (long i = 0; i < n; i++)
				b[i] = pattern(i, n);
			MPI_Send(b, (int)n, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
			MPI_Recv(b, (int)n, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			long bad = 0;
			for (long i = 0; i < n; i++)
				bad += b[i] != (unsigned char)(pattern(i, n) + 1);
			printf("%8ld bytes: %s\n", n, bad ? "WRONG" : "every byte back, plus one");
		} else {
			MPI_Recv(b, (int)n, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			for (long i = 0; i < n; i++)
				b[i]++;
			MPI_Send(b, (int)n, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
		}
		free(b);
	}
	MPI_Finalize();
	return 0;
}
