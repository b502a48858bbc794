/*
 * CPU-bound, branchy: a small register bytecode interpreter (switch
 * dispatch) running a loop that mixes arithmetic, a memory table and a
 * conditional jump. 160M instructions (40M with -q). Prints interp_s and
 * interp_Mops.
 */
#include "bench.h"

enum { LI, ADD, SUB, MUL, XOR, SHR, AND, LD, ST, JNZ, HALT };

struct insn {
	uint8_t op, a, b, c;
	int32_t imm;
};

static uint64_t mem[256];

static uint64_t run(const struct insn *code, uint64_t *r, uint64_t *count)
{
	uint64_t n = 0;
	for (const struct insn *pc = code;; pc++) {
		n++;
		switch (pc->op) {
		case LI: r[pc->a] = (uint64_t)(int64_t)pc->imm; break;
		case ADD: r[pc->a] = r[pc->b] + r[pc->c]; break;
		case SUB: r[pc->a] = r[pc->b] - r[pc->c]; break;
		case MUL: r[pc->a] = r[pc->b] * r[pc->c]; break;
		case XOR: r[pc->a] = r[pc->b] ^ r[pc->c]; break;
		case SHR: r[pc->a] = r[pc->b] >> (pc->imm & 63); break;
		case AND: r[pc->a] = r[pc->b] & (uint64_t)pc->imm; break;
		case LD: r[pc->a] = mem[r[pc->b] & 255]; break;
		case ST: mem[r[pc->b] & 255] = r[pc->a]; break;
		case JNZ:
			if (r[pc->a])
				pc += pc->imm - 1;
			break;
		case HALT: *count = n; return r[0];
		}
	}
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	int32_t iters = quick ? 4000000 : 16000000;
	/* r0 = acc, r1 = counter, r2 = 1, r3 = multiplier, r4..r6 temps */
	struct insn code[] = {
		{LI, 0, 0, 0, 12345},
		{LI, 1, 0, 0, iters},
		{LI, 2, 0, 0, 1},
		{LI, 3, 0, 0, 0x5bd1e995},
		/* loop: */
		{MUL, 4, 0, 3, 0},   /* t = acc * m */
		{SHR, 5, 4, 0, 29},  /* u = t >> 29 */
		{XOR, 0, 4, 5, 0},   /* acc = t ^ u */
		{AND, 6, 0, 0, 255}, /* i = acc & 255 */
		{LD, 5, 6, 0, 0},    /* u = mem[i] */
		{ADD, 5, 5, 1, 0},   /* u += counter */
		{ST, 5, 6, 0, 0},    /* mem[i] = u */
		{ADD, 0, 0, 5, 0},   /* acc += u */
		{SUB, 1, 1, 2, 0},   /* counter-- */
		{JNZ, 1, 0, 0, -9},  /* back to loop */
		{HALT, 0, 0, 0, 0},
	};
	uint64_t r[8] = {0}, count = 0;
	double t0 = now();
	uint64_t acc = run(code, r, &count);
	double t1 = now();
	report("interp_s", t1 - t0, "insns=%llu", (unsigned long long)count);
	report("interp_Mops", count / (t1 - t0) / 1e6, "insns=%llu", (unsigned long long)count);
	check("interp_acc", acc);
	return 0;
}
