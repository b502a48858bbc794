/*
 * CPU-bound, memory-latency bound: pointer chasing through a 256 MiB array
 * (64 MiB with -q) of 64-byte nodes linked in one random cycle (a random
 * permutation, Sattolo's algorithm), so every step lands on a random cache
 * line of a random page. Prints the build time, the chase time and ns/step.
 */
#include "bench.h"

struct node {
	uint64_t next; /* index of the next node */
	uint64_t pad[7];
};

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	size_t bytes = (size_t)(quick ? 64 : 256) << 20;
	size_t n = bytes / sizeof(struct node);
	struct node *a = malloc(bytes);
	uint32_t *perm = malloc(n * sizeof *perm);
	if (!a || !perm)
		die("malloc");

	double t0 = now();
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	uint64_t s = 0x2545F4914F6CDD1DULL;
	for (size_t i = n - 1; i > 0; i--) { /* Sattolo: one cycle */
		size_t j = rng_next(&s) % i;
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		a[perm[i]].next = perm[(i + 1) % n];
	free(perm);
	double t1 = now();
	report("chase_build_s", t1 - t0, "bytes=%zu", bytes);

	uint64_t p = 0, sum = 0;
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		p = a[p].next;
		sum += p;
	}
	t1 = now();
	report("chase_s", t1 - t0, "steps=%zu", n);
	report("chase_ns_per_step", (t1 - t0) * 1e9 / n, "steps=%zu", n);
	check("chase_end", p);
	check("chase_sum", sum);
	return 0;
}
