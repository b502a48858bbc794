/* cpu_fp_x87: the x87 transcendentals and their friends on edge inputs,
 * with the status word bits the SDM defines for each.
 * Cases:
 *   unary     fsin fcos f2xm1 frndint fsqrt on 0, -0, denormals, 1,
 *             pi, 2^62, 2^63 and beyond (C2 for fsin/fcos), huge,
 *             infinities, NaNs: the result, C1, C2, the exception flags.
 *   pair      fsincos fptan fxtract: both results, and no push when the
 *             operand is out of range.
 *   binary    fpatan fyl2x fyl2xp1 fscale fprem fprem1 over pairs: the
 *             result, C0-C3 (fprem's quotient bits), the flags.
 *   control   frndint under the four rounding modes, fsqrt under the
 *             three precisions, fsin's result under precision 24.
 *   stack     fsin on an empty stack (underflow), fsincos on a full one
 *             (overflow): IE, SF and C1 as the CPU sets them.
 *   unmasked  fsqrt(-1) with IE unmasked: ES and B, and ST0 unchanged.
 *   sticky    the flags of ordinary arithmetic (fdiv by 0, 1/3, overflow,
 *             underflow, an invalid fsub, a NaN compare) seen by fnstsw.
 *   libm      sinl, cosl, tanl, atan2l, expl, logl, log1pl, fmodl,
 *             remainderl, rintl, sqrtl on a few values (the C library
 *             uses these instructions on long double; on i386 also for
 *             double).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static long double ld_bits(uint64_t mant, uint16_t se)
{
	long double v = 0;
	memcpy(&v, &mant, 8);
	memcpy((char *)&v + 8, &se, 2);
	return v;
}

static void show_sw(unsigned sw, unsigned cmask)
{
	printf(" C3=%u C2=%u C1=%u C0=%u", (sw >> 14) & 1 & (cmask >> 3),
	       (sw >> 10) & 1 & (cmask >> 2), (sw >> 9) & 1 & (cmask >> 1), (sw >> 8) & 1 & cmask);
	printf(" flags=%s%s%s%s%s%s%s%s%s\n", sw & 1 ? "I" : "", sw & 2 ? "D" : "", sw & 4 ? "Z" : "",
	       sw & 8 ? "O" : "", sw & 16 ? "U" : "", sw & 32 ? "P" : "", sw & 64 ? "S" : "",
	       sw & 128 ? "E" : "", sw & 0x8000 ? "B" : "");
}

/* Before each instruction: C3=1 and C2=C1=C0=0 (1 compared with itself),
 * so that the bits an instruction leaves alone do not depend on the code
 * that ran before. */
#define SET_C "fld1\n\tfcomp %%st(0)\n\t"

/* C bits each instruction defines, as a mask C3 C2 C1 C0. */
#define C1 2
#define C2 4
#define CALL 15

#define UNARY(name, insn)                                                                                              \
	static long double name(long double x, unsigned *sw)                                                           \
	{                                                                                                              \
		unsigned short s;                                                                                      \
		__asm__ volatile(SET_C "fnclex\n\t" insn "\n\tfnstsw %1" : "+t"(x), "=m"(s));                               \
		*sw = s;                                                                                               \
		return x;                                                                                              \
	}
UNARY(do_fsin, "fsin")
UNARY(do_fcos, "fcos")
UNARY(do_f2xm1, "f2xm1")
UNARY(do_frndint, "frndint")
UNARY(do_fsqrt, "fsqrt")

/* Two in, one out, popping: ST1 op ST0 -> ST0. */
#define BINPOP(name, insn)                                                                                             \
	static long double name(long double st0, long double st1, unsigned *sw)                                        \
	{                                                                                                              \
		unsigned short s;                                                                                      \
		long double r;                                                                                         \
		__asm__ volatile(SET_C "fnclex\n\t" insn "\n\tfnstsw %1" : "=t"(r), "=m"(s) : "0"(st0), "u"(st1) : "st(1)"); \
		*sw = s;                                                                                               \
		return r;                                                                                              \
	}
BINPOP(do_fpatan, "fpatan")
BINPOP(do_fyl2x, "fyl2x")
BINPOP(do_fyl2xp1, "fyl2xp1")

/* Two in, ST0 replaced, ST1 kept. */
#define BINKEEP(name, insn)                                                                                            \
	static long double name(long double st0, long double st1, unsigned *sw)                                        \
	{                                                                                                              \
		unsigned short s;                                                                                      \
		__asm__ volatile(SET_C "fnclex\n\t" insn "\n\tfnstsw %1" : "+t"(st0), "=m"(s) : "u"(st1));                  \
		*sw = s;                                                                                               \
		return st0;                                                                                            \
	}
BINKEEP(do_fscale, "fscale")
BINKEEP(do_fprem, "fprem")
BINKEEP(do_fprem1, "fprem1")

/* One in, maybe two out (pushes unless C2 says out of range). Returns
 * how many values the stack holds after. */
#define PAIR(name, insn)                                                                                               \
	static int name(long double x, long double *st0, long double *st1, unsigned *sw)                              \
	{                                                                                                              \
		unsigned short s;                                                                                      \
		__asm__ volatile("fninit\n\tfldt %2\n\t" SET_C "fnclex\n\t" insn "\n\tfnstsw %0\n\t"                           \
				 "fstpt %1\n\t"                                                                        \
				 : "=m"(s), "=m"(*st0)                                                                \
				 : "m"(x));                                                                           \
		*sw = s;                                                                                               \
		if (((s >> 11) & 7) == 6) {                                                                            \
			__asm__ volatile("fstpt %0" : "=m"(*st1));                                                    \
			return 2;                                                                                      \
		}                                                                                                      \
		return 1;                                                                                              \
	}
PAIR(do_fsincos, "fsincos")
PAIR(do_fptan, "fptan")
PAIR(do_fxtract, "fxtract")

static long double inputs[20];
static const char *names[20];
static int ninputs;

static void add(const char *name, long double v)
{
	names[ninputs] = name;
	inputs[ninputs++] = v;
}

static void unary(void)
{
	static const struct {
		const char *name;
		long double (*fn)(long double, unsigned *);
		unsigned c;
	} ops[] = {
		{"fsin", do_fsin, C1 | C2}, {"fcos", do_fcos, C1 | C2}, {"f2xm1", do_f2xm1, C1},
		{"frndint", do_frndint, C1}, {"fsqrt", do_fsqrt, C1},
	};
	for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
		for (int i = 0; i < ninputs; i++) {
			unsigned sw;
			long double r = ops[o].fn(inputs[i], &sw);
			printf("%s(%s) = %.21Lg", ops[o].name, names[i], r);
			show_sw(sw, ops[o].c);
		}
}

static void pairs(void)
{
	static const struct {
		const char *name;
		int (*fn)(long double, long double *, long double *, unsigned *);
		unsigned c;
	} ops[] = {{"fsincos", do_fsincos, C1 | C2}, {"fptan", do_fptan, C1 | C2}, {"fxtract", do_fxtract, C1}};
	for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
		for (int i = 0; i < ninputs; i++) {
			unsigned sw;
			long double a = 0, b = 0;
			int n = ops[o].fn(inputs[i], &a, &b, &sw);
			printf("%s(%s) = %.21Lg", ops[o].name, names[i], a);
			if (n == 2)
				printf(", %.21Lg", b);
			show_sw(sw, ops[o].c);
		}
}

static void binary(void)
{
	static const struct {
		const char *name;
		long double (*fn)(long double, long double, unsigned *);
		unsigned c;
	} ops[] = {
		{"fpatan", do_fpatan, C1}, {"fyl2x", do_fyl2x, C1},   {"fyl2xp1", do_fyl2xp1, C1},
		{"fscale", do_fscale, C1}, {"fprem", do_fprem, CALL}, {"fprem1", do_fprem1, CALL},
	};
	static const int pick[] = {0, 1, 3, 4, 5, 6, 8, 9, 11, 12, 13, 15};
	int np = sizeof pick / sizeof pick[0];
	for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
		for (int i = 0; i < np; i++)
			for (int j = 0; j < np; j++) {
				unsigned sw;
				long double x = inputs[pick[i]], y = inputs[pick[j]];
				long double r = ops[o].fn(x, y, &sw);
				printf("%s(st0=%s, st1=%s) = %.21Lg", ops[o].name, names[pick[i]], names[pick[j]], r);
				show_sw(sw, ops[o].c);
			}
	/* fprem's quotient bits: Q2 Q1 Q0 in C0 C3 C1 for q = 0..9. */
	for (int q = 0; q < 10; q++) {
		unsigned sw;
		long double r = do_fprem(q * 3.0L + 1.25L, 3.0L, &sw);
		printf("fprem(%d*3+1.25, 3) = %.21Lg", q, r);
		show_sw(sw, CALL);
		r = do_fprem1(q * 3.0L + 1.75L, 3.0L, &sw);
		printf("fprem1(%d*3+1.75, 3) = %.21Lg", q, r);
		show_sw(sw, CALL);
	}
	/* Partial remainder: a huge quotient needs several rounds (C2). */
	unsigned sw;
	long double x = 1e300L, r = x;
	for (int k = 0; k < 100; k++) {
		r = do_fprem(r, 3.0L, &sw);
		printf("fprem(1e300 round %d) = %.21Lg", k, r);
		show_sw(sw, CALL);
		if (!(sw & 0x400))
			break;
	}
}

static void with_cw(unsigned short cw)
{
	__asm__ volatile("fldcw %0" : : "m"(cw));
}

static void control(void)
{
	static const char *rc[] = {"nearest", "down", "up", "zero"};
	static const long double xs[] = {2.5L, -2.5L, 3.5L, 0.49999999999999999L, -7.9L};
	for (int m = 0; m < 4; m++)
		for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
			unsigned sw;
			with_cw((unsigned short)(0x37f | m << 10));
			long double r = do_frndint(xs[i], &sw);
			with_cw(0x37f);
			printf("frndint[%s](%.21Lg) = %.21Lg", rc[m], xs[i], r);
			show_sw(sw, C1);
		}
	static const char *pc[] = {"24", "?", "53", "64"};
	for (int p = 0; p < 4; p++) {
		if (p == 1)
			continue;
		for (int m = 0; m < 4; m++) {
			unsigned sw;
			with_cw((unsigned short)(0x07f | p << 8 | m << 10));
			long double r = do_fsqrt(2.0L, &sw);
			long double s = do_fsin(1.0L, &sw);
			with_cw(0x37f);
			printf("pc%s %s: fsqrt(2) = %.21Lg fsin(1) = %.21Lg", pc[p], rc[m], r, s);
			show_sw(sw, C1 | C2);
		}
	}
}

static void stack(void)
{
	unsigned short s;
	long double r;
	__asm__ volatile("fninit\n\tfsin\n\tfnstsw %0\n\tfstpt %1" : "=m"(s), "=m"(r));
	printf("fsin(empty) = %.21Lg", r);
	show_sw(s, C1 | C2);
	__asm__ volatile("fninit\n\tfld1\n\tfpatan\n\tfnstsw %0\n\tfstpt %1" : "=m"(s), "=m"(r));
	printf("fpatan(st1 empty) = %.21Lg", r);
	show_sw(s, C1);
	long double out[8];
	__asm__ volatile("fninit\n\t"
			 "fld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfldpi\n\t"
			 "fsincos\n\tfnstsw %0\n\t"
			 "fstpt %1\n\tfstpt %2\n\tfstpt %3\n\tfstpt %4\n\tfstpt %5\n\tfstpt %6\n\tfstpt %7\n\tfstpt %8\n\tfninit"
			 : "=m"(s), "=m"(out[0]), "=m"(out[1]), "=m"(out[2]), "=m"(out[3]), "=m"(out[4]), "=m"(out[5]),
			   "=m"(out[6]), "=m"(out[7]));
	printf("fsincos(full) =");
	for (int i = 0; i < 8; i++)
		printf(" %.21Lg", out[i]);
	show_sw(s, C1 | C2);
	__asm__ volatile("fninit\n\t"
			 "fld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfldpi\n\t"
			 "fxtract\n\tfnstsw %0\n\t"
			 "fstpt %1\n\tfstpt %2\n\tfstpt %3\n\tfstpt %4\n\tfstpt %5\n\tfstpt %6\n\tfstpt %7\n\tfstpt %8\n\tfninit"
			 : "=m"(s), "=m"(out[0]), "=m"(out[1]), "=m"(out[2]), "=m"(out[3]), "=m"(out[4]), "=m"(out[5]),
			   "=m"(out[6]), "=m"(out[7]));
	printf("fxtract(full) =");
	for (int i = 0; i < 8; i++)
		printf(" %.21Lg", out[i]);
	show_sw(s, C1);
}

static void unmasked(void)
{
	unsigned short s, cw = 0x37e; /* IE unmasked */
	long double r, m1 = -1.0L;
	__asm__ volatile("fninit\n\tfldt %3\n\tfldcw %2\n\tfsqrt\n\tfnstsw %0\n\tfnclex\n\tfstpt %1\n\tfninit"
			 : "=m"(s), "=m"(r)
			 : "m"(cw), "m"(m1));
	printf("fsqrt(-1) unmasked = %.21Lg", r);
	show_sw(s, C1);
	cw = 0x377; /* PE unmasked: the result is stored, then ES */
	long double three = 3.0L;
	__asm__ volatile("fninit\n\tfldt %3\n\tfldcw %2\n\tfsqrt\n\tfnstsw %0\n\tfnclex\n\tfstpt %1\n\tfninit"
			 : "=m"(s), "=m"(r)
			 : "m"(cw), "m"(three));
	printf("fsqrt(3) PE unmasked = %.21Lg", r);
	show_sw(s, C1);
}

#define ARITH(label, asmtext, a, b)                                                                                    \
	do {                                                                                                           \
		unsigned short s;                                                                                      \
		long double r, x = a, y = b;                                                                           \
		__asm__ volatile("fninit\n\tfldt %2\n\tfldt %3\n\t" asmtext "\n\tfnstsw %0\n\tfstpt %1\n\tfninit"   \
				 : "=m"(s), "=m"(r)                                                                   \
				 : "m"(x), "m"(y));                                                                   \
		printf("%s = %.21Lg flags=%s%s%s%s%s\n", label, r, s & 1 ? "I" : "", s & 4 ? "Z" : "",              \
		       s & 8 ? "O" : "", s & 16 ? "U" : "", s & 32 ? "P" : "");                                         \
	} while (0)

static void sticky(void)
{
	ARITH("1/0", "fdivp", 1.0L, 0.0L);
	ARITH("1/3", "fdivp", 1.0L, 3.0L);
	ARITH("1/4", "fdivp", 1.0L, 4.0L);
	ARITH("big*big", "fmulp", 1e4000L, 1e4000L);
	ARITH("tiny*tiny", "fmulp", 1e-4000L, 1e-4000L);
	ARITH("inf-inf", "fsubp", INFINITY, INFINITY);
	ARITH("2+2", "faddp", 2.0L, 2.0L);
	ARITH("1+eps", "faddp", 1.0L, 1e-30L);
	unsigned short s;
	long double n = NAN;
	__asm__ volatile("fninit\n\tfldt %1\n\tfldz\n\tfcompp\n\tfnstsw %0\n\tfninit" : "=m"(s) : "m"(n));
	printf("fcompp nan flags=%s\n", s & 1 ? "I" : "");
	__asm__ volatile("fninit\n\tfldt %1\n\tfldz\n\tfucompp\n\tfnstsw %0\n\tfninit" : "=m"(s) : "m"(n));
	printf("fucompp nan flags=%s\n", s & 1 ? "I" : "");
	/* fnclex really clears what came before. */
	long double one = 1, three = 3;
	__asm__ volatile("fninit\n\tfldt %1\n\tfldt %2\n\tfdivrp\n\tfnclex\n\tfld1\n\tfaddp\n\tfnstsw %0\n\tfninit"
			 : "=m"(s)
			 : "m"(one), "m"(three));
	printf("after fnclex flags=%s\n", s & 32 ? "P" : "");
}

static void libm(void)
{
	static const long double xs[] = {0.5L, 1.0L, 3.0L, 100.0L, 1e10L, -2.75L};
	for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
		long double x = xs[i];
		printf("x=%Lg: sinl %.21Lg cosl %.21Lg tanl %.21Lg atan2l %.21Lg\n", x, sinl(x), cosl(x), tanl(x),
		       atan2l(x, 3.0L));
		printf("  expl %.21Lg logl %.21Lg log1pl %.21Lg sqrtl %.21Lg\n", expl(x / 8), logl(fabsl(x)),
		       log1pl(fabsl(x)), sqrtl(fabsl(x)));
		printf("  fmodl %.21Lg remainderl %.21Lg rintl %.21Lg\n", fmodl(x, 0.7L), remainderl(x, 0.7L),
		       rintl(x * 1.3L));
		double d = (double)x;
		printf("  sin %.17g exp %.17g log %.17g fmod %.17g sqrt %.17g\n", sin(d), exp(d / 8), log(fabs(d)),
		       fmod(d, 0.7), sqrt(fabs(d)));
	}
}

int main(void)
{
	add("0", 0.0L);
	add("-0", -0.0L);
	add("denorm", ld_bits(1, 0));
	add("-denorm", ld_bits(0x0000000000001234ULL, 0x8000));
	add("1e-300", 1e-300L);
	add("0.5", 0.5L);
	add("1", 1.0L);
	add("-1", -1.0L);
	add("pi", 3.14159265358979323846264338327950288L);
	add("2^62", 0x1p62L);
	add("2^63", 0x1p63L);
	add("-2^64", -0x1p64L);
	add("1e4000", 1e4000L);
	add("inf", INFINITY);
	add("-inf", -INFINITY);
	add("qnan", NAN);
	add("snan", ld_bits(0xa000000000000000ULL, 0x7fff));
	add("unnormal", ld_bits(0x1234, 0x4000));
	unary();
	pairs();
	binary();
	control();
	stack();
	unmasked();
	sticky();
	libm();
	return 0;
}
