// The decoder of the instruction check (wrap.c): it finds an
// instruction's length and whether the emulated CPU refuses it with #UD
// although Unicorn would run it: VEX encodings other than BMI1/BMI2
// (the CPU has no AVX), EVEX, XOP, and LOCK on anything but a
// read-modify-write instruction with a memory destination; or with #GP
// at CPL 3 although Unicorn would run it: port I/O (IN, OUT, INS, OUTS,
// which Unicorn runs whatever the privilege) and INT n through a gate
// Linux does not open to user mode (Unicorn delivers it as vector n,
// after the instruction), RDPMC, and SYSRET in 64-bit mode; or ICEBP
// (F1), a #DB trap after it, which Unicorn refuses as #UD. It knows the
// lengths of the one-byte, 0F, 0F38 and 0F3A maps and of the VEX forms
// of BMI1/BMI2; what it does not understand gets length -1.

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "shim.h"

// Properties of an opcode, for lengths.
enum {
	OP_MODRM = 1 << 0, // a ModRM byte follows
	OP_IB = 1 << 1,    // an 8-bit immediate
	OP_IW = 1 << 2,    // a 16-bit immediate
	OP_IZ = 1 << 3,    // a 16- or 32-bit immediate (operand size)
	OP_BAD64 = 1 << 4, // invalid in 64-bit mode
	OP_LOCK = 1 << 5,  // LOCK allowed (with a memory destination)
};

static uint8_t one[256], two[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void set(uint8_t *t, int from, int to, uint8_t f)
{
	for (int i = from; i <= to; i++)
		t[i] |= f;
}

static void init_tables(void)
{
	// One-byte map.
	for (int i = 0; i < 0x40; i += 8) {
		set(one, i, i + 3, OP_MODRM); // ALU r/m forms
		one[i + 4] |= OP_IB;          // AL, imm8
		one[i + 5] |= OP_IZ;          // eAX, imm
		one[i] |= OP_LOCK, one[i + 1] |= OP_LOCK; // r/m, reg
	}
	one[0x38] &= ~OP_LOCK, one[0x39] &= ~OP_LOCK; // cmp
	set(one, 0x06, 0x07, OP_BAD64), set(one, 0x0e, 0x0e, OP_BAD64);
	set(one, 0x16, 0x17, OP_BAD64), set(one, 0x1e, 0x1f, OP_BAD64);
	set(one, 0x27, 0x27, OP_BAD64), set(one, 0x2f, 0x2f, OP_BAD64);
	set(one, 0x37, 0x37, OP_BAD64), set(one, 0x3f, 0x3f, OP_BAD64);
	set(one, 0x60, 0x61, OP_BAD64);
	one[0x62] |= OP_MODRM | OP_BAD64; // BOUND (EVEX is apart)
	one[0x63] |= OP_MODRM;           // ARPL / MOVSXD
	one[0x68] |= OP_IZ;
	one[0x69] |= OP_MODRM | OP_IZ;
	one[0x6a] |= OP_IB;
	one[0x6b] |= OP_MODRM | OP_IB;
	set(one, 0x70, 0x7f, OP_IB); // jcc rel8
	one[0x80] |= OP_MODRM | OP_IB | OP_LOCK;
	one[0x81] |= OP_MODRM | OP_IZ | OP_LOCK;
	one[0x82] |= OP_MODRM | OP_IB | OP_LOCK | OP_BAD64;
	one[0x83] |= OP_MODRM | OP_IB | OP_LOCK;
	set(one, 0x84, 0x85, OP_MODRM);
	set(one, 0x86, 0x87, OP_MODRM | OP_LOCK); // xchg
	set(one, 0x88, 0x8f, OP_MODRM);
	one[0x9a] |= OP_BAD64; // far call: length apart
	one[0xa8] |= OP_IB;
	one[0xa9] |= OP_IZ;
	set(one, 0xb0, 0xb7, OP_IB);
	set(one, 0xc0, 0xc1, OP_MODRM | OP_IB);
	one[0xc2] |= OP_IW;
	set(one, 0xc4, 0xc5, OP_MODRM | OP_BAD64); // LES/LDS (VEX is apart)
	one[0xc6] |= OP_MODRM | OP_IB;
	one[0xc7] |= OP_MODRM | OP_IZ;
	one[0xca] |= OP_IW;
	one[0xcd] |= OP_IB;
	one[0xce] |= OP_BAD64;
	set(one, 0xd0, 0xd3, OP_MODRM);
	set(one, 0xd4, 0xd5, OP_IB | OP_BAD64);
	one[0xd6] |= OP_BAD64;
	set(one, 0xd8, 0xdf, OP_MODRM); // x87
	set(one, 0xe0, 0xe7, OP_IB);     // loop, jcxz, in, out
	set(one, 0xe8, 0xe9, OP_IZ);     // rel32 (rel16 with 66 outside 64-bit mode)
	one[0xea] |= OP_BAD64;
	one[0xeb] |= OP_IB;
	set(one, 0xf6, 0xf7, OP_MODRM | OP_LOCK); // test's immediate is apart
	set(one, 0xfe, 0xff, OP_MODRM | OP_LOCK);

	// Two-byte map (0F xx): most have ModRM.
	set(two, 0x00, 0xff, OP_MODRM);
	static const uint8_t none[] = {0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, 0x30, 0x31, 0x32,
				       0x33, 0x34, 0x35, 0x37, 0x77, 0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa};
	for (size_t i = 0; i < sizeof none; i++)
		two[none[i]] &= ~OP_MODRM;
	for (int i = 0x80; i <= 0x8f; i++)
		two[i] = OP_IZ; // jcc rel32
	for (int i = 0xc8; i <= 0xcf; i++)
		two[i] = 0; // bswap
	set(two, 0x70, 0x73, OP_IB);
	two[0xa4] |= OP_IB, two[0xac] |= OP_IB; // shld/shrd imm8
	two[0xba] |= OP_IB | OP_LOCK;           // bt group
	set(two, 0xc2, 0xc2, OP_IB), set(two, 0xc4, 0xc6, OP_IB);
	two[0xab] |= OP_LOCK, two[0xb3] |= OP_LOCK, two[0xbb] |= OP_LOCK; // bts btr btc
	set(two, 0xb0, 0xb1, OP_LOCK);                                  // cmpxchg
	set(two, 0xc0, 0xc1, OP_LOCK);                                  // xadd
	two[0xc7] |= OP_LOCK;                                           // cmpxchg8b/16b
}

// modrm_len is the length of a ModRM byte with its SIB and displacement
// at p, or -1 past end.
static int modrm_len(const uint8_t *p, const uint8_t *end, int addr16)
{
	if (p >= end)
		return -1;
	int mod = p[0] >> 6, rm = p[0] & 7;
	if (mod == 3)
		return 1;
	if (addr16) {
		if (mod == 0)
			return rm == 6 ? 3 : 1;
		return mod == 1 ? 2 : 3;
	}
	int n = 1;
	if (rm == 4) {
		if (p + 1 >= end)
			return -1;
		n++;
		if (mod == 0 && (p[1] & 7) == 5)
			n += 4;
	} else if (mod == 0 && rm == 5) {
		n += 4;
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n;
}

// lockable says whether LOCK is allowed on the instruction: a lockable
// opcode (with the right ModRM.reg for groups) writing to memory.
static int lockable(int map, uint8_t op, uint8_t modrm)
{
	int reg = (modrm >> 3) & 7;
	if ((modrm >> 6) == 3)
		return 0;
	if (map == 1) {
		if (!(one[op] & OP_LOCK))
			return 0;
		switch (op) {
		case 0x80: case 0x81: case 0x82: case 0x83:
			return reg != 7; // not cmp
		case 0xf6: case 0xf7:
			return reg == 2 || reg == 3; // not, neg
		case 0xfe: case 0xff:
			return reg == 0 || reg == 1; // inc, dec
		}
		return 1;
	}
	if (!(two[op] & OP_LOCK))
		return 0;
	switch (op) {
	case 0xba:
		return reg >= 5; // bts btr btc, not bt
	case 0xc7:
		return reg == 1; // cmpxchg8b/16b
	}
	return 1;
}

// bmi_vex says whether a VEX instruction is one of BMI1/BMI2, which the
// emulated CPU has (map 2 is 0F38, map 3 is 0F3A; pp 0 none, 1 66, 2 F3,
// 3 F2).
static int bmi_vex(int map, uint8_t op, int pp, int l, uint8_t modrm)
{
	if (l != 0)
		return 0;
	if (map == 2) {
		switch (op) {
		case 0xf2: // andn
			return pp == 0;
		case 0xf3: { // blsr, blsmsk, blsi
			int reg = (modrm >> 3) & 7;
			return pp == 0 && reg >= 1 && reg <= 3;
		}
		case 0xf5: // bzhi, pext, pdep
			return pp == 0 || pp == 2 || pp == 3;
		case 0xf6: // mulx
			return pp == 3;
		case 0xf7: // bextr, shlx, sarx, shrx
			return 1;
		}
		return 0;
	}
	return map == 3 && op == 0xf0 && pp == 3; // rorx
}

// user_gate says whether INT n reaches its handler from user mode: Linux's
// IDT opens only #BP (3), #OF (4) and the i386 system call (0x80) to CPL 3;
// every other INT n is #GP at the instruction.
static int user_gate(uint8_t n)
{
	return n == 3 || n == 4 || n == 0x80;
}

// insn_decode decodes the instruction at p: its length, or -1 when it is
// not understood or runs past end. *ud is CMUC_REFUSE_UD when the
// emulated CPU refuses it with #UD although Unicorn would run it, and
// CMUC_REFUSE_GP when the CPU raises #GP for it at CPL 3 where Unicorn
// does not.
static int insn_decode(const uint8_t *s, const uint8_t *end, int is64, int *ud)
{
	const uint8_t *p = s;
	int opsize16 = 0, addr16 = 0, addr32 = 0, lock = 0, legacy = 0, rexw = 0, rex = 0;
	*ud = 0;
	for (;; p++) {
		if (p >= end || p - s >= 15)
			return -1;
		switch (*p) {
		case 0x66:
			opsize16 = 1, legacy = 1;
			continue;
		case 0x67:
			addr16 = !is64, addr32 = is64;
			continue;
		case 0xf0:
			lock = 1;
			continue;
		case 0xf2: case 0xf3:
			legacy = 1;
			continue;
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
			continue;
		}
		break;
	}
	if (is64 && (*p & 0xf0) == 0x40) {
		rex = 1, rexw = (*p >> 3) & 1;
		if (++p >= end)
			return -1;
	}
	uint8_t op = *p++;

	// VEX (C4, C5), EVEX (62), XOP (8F with a map >= 8). Outside 64-bit
	// mode C4, C5 and 62 are LES, LDS and BOUND unless ModRM.mod is 3.
	if (op == 0xc4 || op == 0xc5 || op == 0x62 || op == 0x8f) {
		if (p >= end)
			return -1;
		int escape = op == 0x8f ? (*p & 0x1f) >= 8 : is64 || (*p >> 6) == 3;
		if (escape && (op != 0xc4 && op != 0xc5)) {
			*ud = CMUC_REFUSE_UD; // EVEX or XOP: no AVX-512, no XOP
			return 1;
		}
		if (escape) {
			int map = 1, pp, l;
			if (op == 0xc5) {
				pp = p[0] & 3, l = (p[0] >> 2) & 1;
				p += 1;
			} else {
				if (p + 1 >= end)
					return -1;
				map = p[0] & 0x1f, pp = p[1] & 3, l = (p[1] >> 2) & 1;
				p += 2;
			}
			if (p + 1 >= end)
				return -1;
			uint8_t vop = p[0];
			if (lock || legacy || rex || !bmi_vex(map, vop, pp, l, p[1])) {
				*ud = CMUC_REFUSE_UD;
				return (int)(p - s) + 1;
			}
			p++;
			int m = modrm_len(p, end, addr16);
			if (m < 0)
				return -1;
			p += m + (map == 3 ? 1 : 0);
			return p <= end ? (int)(p - s) : -1;
		}
	}

	int map = 1;
	uint8_t f;
	if (op == 0x0f) {
		if (p >= end)
			return -1;
		op = *p++;
		if (op == 0x38 || op == 0x3a) {
			map = op == 0x38 ? 3 : 4;
			if (p >= end)
				return -1;
			p++; // the opcode
			f = OP_MODRM | (map == 4 ? OP_IB : 0);
		} else {
			map = 2;
			f = two[op];
			if (op == 0x0f) // 3DNow!: ModRM, then an opcode byte
				f = OP_MODRM | OP_IB;
		}
	} else {
		f = one[op];
		if (is64 && (f & OP_BAD64))
			return -1; // Unicorn refuses these itself
		switch (op) {
		case 0x6c: case 0x6d: case 0x6e: case 0x6f: // ins, outs (even with a count of 0)
		case 0xe4: case 0xe5: case 0xe6: case 0xe7: // in, out imm8
		case 0xec: case 0xed: case 0xee: case 0xef: // in, out dx
			*ud = CMUC_REFUSE_GP;
			break;
		case 0xcd:
			if (p < end && !user_gate(*p))
				*ud = CMUC_REFUSE_GP;
			break;
		}
	}
	if (map == 2 && (op == 0x33 || (op == 0x07 && is64)))
		*ud = CMUC_REFUSE_GP; // RDPMC (CR4.PCE is clear), SYSRET at CPL 3
	if (map == 1 && op == 0xf1)
		*ud = CMUC_REFUSE_DB; // ICEBP: Unicorn makes it #UD
	int modrm = -1;
	if (f & OP_MODRM) {
		int m = modrm_len(p, end, addr16);
		if (m < 0)
			return -1;
		modrm = p[0];
		p += m;
	}
	if (lock && (map > 2 || modrm < 0 || !lockable(map, op, (uint8_t)modrm))) {
		*ud = CMUC_REFUSE_UD;
		return (int)(p - s);
	}
	int imm = 0;
	if (f & OP_IB)
		imm += 1;
	if (f & OP_IW)
		imm += 2;
	if (f & OP_IZ)
		imm += opsize16 && !rexw && !(is64 && (map == 2 || op == 0xe8 || op == 0xe9)) ? 2 : 4;
	if (map == 1) {
		switch (op) {
		case 0xa0: case 0xa1: case 0xa2: case 0xa3: // moffs
			imm += is64 ? (addr32 ? 4 : 8) : addr16 ? 2 : 4;
			break;
		case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
			imm += rexw ? 8 : opsize16 ? 2 : 4;
			break;
		case 0xc8: // enter
			imm += 3;
			break;
		case 0x9a: case 0xea: // far pointer
			imm += opsize16 ? 4 : 6;
			break;
		case 0xf6: case 0xf7: // test r/m, imm
			if (((modrm >> 3) & 7) < 2)
				imm += op == 0xf6 ? 1 : opsize16 ? 2 : 4;
			break;
		}
	}
	p += imm;
	return p <= end ? (int)(p - s) : -1;
}

int cmuc_insn_decode(const uint8_t *code, int n, int is64, int *ud)
{
	pthread_once(&tables_once, init_tables);
	return insn_decode(code, code + n, is64, ud);
}

// cmuc_scan_code walks n bytes of code, whole instructions, and returns
// the offset of the first one the CPU would refuse (#UD or #GP), or -1 if there is
// none before the end or before an instruction it does not understand.
int cmuc_scan_code(const uint8_t *code, int n, int is64)
{
	pthread_once(&tables_once, init_tables);
	int off = 0;
	while (off < n) {
		int ud;
		int len = insn_decode(code + off, code + n, is64, &ud);
		if (ud)
			return off;
		if (len <= 0)
			return -1;
		off += len;
	}
	return -1;
}
