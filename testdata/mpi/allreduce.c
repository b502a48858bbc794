/* allreduce [N]: every rank contributes rank*i + 1 at index i of N
 * longs (1 Mi unless given); MPI_Allreduce sums them; every rank checks
 * every element against the closed form, and rank 0 prints the ranks'
 * verdicts. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	long N = argc > 1 ? atol(argv[1]) : 1L << 20;
	long *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
	for (long i = 0; i < N; i++)
		in[i] = rank * i + 1;
	MPI_Allreduce(in, out, (int)N, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	long ranksum = (long)size * (size - 1) / 2, bad = 0;
	for (long i = 0; i < N; i++)
		bad += out[i] != ranksum * i + size;
	long allbad = 0;
	MPI_Reduce(&bad, &allbad, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
	if (rank == 0)
		printf("allreduce of %ld longs on %d ranks: %s\n", N, size, allbad ? "WRONG" : "every element right");
	MPI_Finalize();
	return 0;
}
