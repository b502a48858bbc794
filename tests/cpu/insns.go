package cpu

// form is one entry of the curated instruction list: a generator of one
// instruction (with whatever set-up it needs) and its weight.
type form struct {
	name   string
	weight int
	gen    func(g *gen)
}

var forms []form
var totalWeight int

func add(name string, weight int, fn func(g *gen)) {
	forms = append(forms, form{name, weight, fn})
	totalWeight += weight
}

var sizes = []int{1, 2, 4, 8}
var sizesNo8 = []int{2, 4, 8}

func (g *gen) size(from []int) int { return from[g.r.IntN(len(from))] }

// condUse is the set of flags condition code cc reads.
func condUse(cc int) uint32 {
	return [8]uint32{fOF, fCF, fZF, fCF | fZF, fSF, fPF, fSF | fOF, fZF | fSF | fOF}[cc>>1]
}

// gpr1 makes the encoding of a one-operand or ModRM-digit GPR instruction
// whose byte form is op and larger forms op+1 (when op1 is true).
func gprEnc(size int, op []byte, reg, rm int, disp int8) enc {
	pfx, w := opsize(size)
	return enc{pfx: pfx, w: w, rex: size == 1, op: op, modrm: true, reg: reg, rm: rm, disp: disp}
}

func withOp(op []byte, size int, byteForm bool) []byte {
	o := append([]byte(nil), op...)
	if byteForm && size != 1 {
		o[len(o)-1]++
	}
	return o
}

func immSize(size int) int {
	if size == 8 {
		return 4
	}
	return size
}

func (g *gen) maybeLock(e *enc, rm int) {
	if rm == memRM && g.r.IntN(2) == 0 {
		e.pfx = append([]byte{0xf0}, e.pfx...)
	}
}

func init() {
	aluNames := []string{"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"}
	aluFlags := func(i int) (def, undef, use uint32) {
		switch i {
		case 1, 4, 6:
			return fLogic, fAF, 0
		case 2, 3:
			return fArith, 0, fCF
		}
		return fArith, 0, 0
	}
	add("alu rm,r", 30, func(g *gen) {
		i, size := g.r.IntN(8), g.size(sizes)
		rm, d := g.rm(true, 1, 8)
		e := gprEnc(size, withOp([]byte{byte(i * 8)}, size, true), g.reg(), rm, d)
		if i != 7 {
			g.maybeLock(&e, rm)
		}
		def, undef, use := aluFlags(i)
		g.emit(aluNames[i], e, def, undef, use)
	})
	add("alu r,rm", 20, func(g *gen) {
		i, size := g.r.IntN(8), g.size(sizes)
		rm, d := g.rm(true, 1, 8)
		def, undef, use := aluFlags(i)
		g.emit(aluNames[i], gprEnc(size, withOp([]byte{byte(i*8 + 2)}, size, true), g.reg(), rm, d), def, undef, use)
	})
	add("alu rm,imm", 20, func(g *gen) {
		i, size := g.r.IntN(8), g.size(sizes)
		rm, d := g.rm(true, 1, 8)
		op, n := byte(0x81), immSize(size)
		if size == 1 {
			op = 0x80
		} else if g.r.IntN(2) == 0 {
			op, n = 0x83, 1
		}
		e := gprEnc(size, []byte{op}, i, rm, d)
		e.imm = imm(g.u64(), n)
		if i != 7 {
			g.maybeLock(&e, rm)
		}
		def, undef, use := aluFlags(i)
		g.emit(aluNames[i], e, def, undef, use)
	})
	add("test", 5, func(g *gen) {
		size := g.size(sizes)
		rm, d := g.rm(true, 1, 8)
		if g.r.IntN(2) == 0 {
			g.emit("test", gprEnc(size, withOp([]byte{0x84}, size, true), g.reg(), rm, d), fLogic, fAF, 0)
			return
		}
		e := gprEnc(size, withOp([]byte{0xf6}, size, true), 0, rm, d)
		e.imm = imm(g.u64(), immSize(size))
		g.emit("test", e, fLogic, fAF, 0)
	})
	add("inc/dec/not/neg", 12, func(g *gen) {
		size := g.size(sizes)
		rm, d := g.rm(true, 1, 8)
		var e enc
		var def uint32
		name := ""
		switch k := g.r.IntN(4); k {
		case 0, 1:
			e, def, name = gprEnc(size, withOp([]byte{0xfe}, size, true), k, rm, d), fArith&^fCF, []string{"inc", "dec"}[k]
		default:
			e, name = gprEnc(size, withOp([]byte{0xf6}, size, true), k, rm, d), []string{"", "", "not", "neg"}[k]
			if k == 3 {
				def = fArith
			}
		}
		g.maybeLock(&e, rm)
		g.emit(name, e, def, 0, 0)
	})
	add("mul/imul/div/idiv", 12, func(g *gen) {
		size := g.size(sizes)
		rm, d := g.rm(true, 1, 8)
		k := 4 + g.r.IntN(4)
		if k >= 6 && g.r.IntN(4) != 0 {
			// Mostly a dividend that fits: RDX cleared or the sign of RAX.
			if k == 6 {
				g.emit("xor", gprEnc(4, []byte{0x31}, rDX, rDX, 0), fLogic, fAF, 0)
			} else if size == 1 {
				g.emit("cbw", enc{pfx: []byte{0x66}, op: []byte{0x98}}, 0, 0, 0)
			} else {
				pfx, w := opsize(size)
				g.emit("cqo", enc{pfx: pfx, w: w, op: []byte{0x99}}, 0, 0, 0)
			}
		}
		def, undef := uint32(fCF|fOF), uint32(fSF|fZF|fAF|fPF)
		if k >= 6 {
			def, undef = 0, fArith
		}
		g.emit([]string{"mul", "imul1", "div", "idiv"}[k-4], gprEnc(size, withOp([]byte{0xf6}, size, true), k, rm, d),
			def, undef, 0)
	})
	add("imul r,rm(,imm)", 8, func(g *gen) {
		size := g.size(sizesNo8)
		rm, d := g.rm(true, 1, 8)
		var e enc
		switch g.r.IntN(3) {
		case 0:
			e = gprEnc(size, []byte{0x0f, 0xaf}, g.reg(), rm, d)
		case 1:
			e = gprEnc(size, []byte{0x6b}, g.reg(), rm, d)
			e.imm = imm(g.u64(), 1)
		default:
			e = gprEnc(size, []byte{0x69}, g.reg(), rm, d)
			e.imm = imm(g.u64(), immSize(size))
		}
		g.emit("imul", e, fCF|fOF, fSF|fZF|fAF|fPF, 0)
	})
	add("shift/rotate", 25, func(g *gen) {
		size := g.size(sizes)
		rm, d := g.rm(true, 1, 8)
		k := g.r.IntN(8)
		if k == 6 {
			k = 4
		}
		count := []int{1, g.r.IntN(8), g.r.IntN(72), size*8 - 1, size * 8, size*8 + 1}[g.r.IntN(6)]
		var e enc
		switch g.r.IntN(3) {
		case 0:
			e = gprEnc(size, withOp([]byte{0xc0}, size, true), k, rm, d)
			e.imm = imm(uint64(count), 1)
		case 1:
			count = 1
			e = gprEnc(size, withOp([]byte{0xd0}, size, true), k, rm, d)
		default:
			if rm == rCX {
				rm = rAX
			}
			g.emit("mov cl", enc{op: []byte{0xb1}, imm: imm(uint64(count), 1)}, 0, 0, 0)
			e = gprEnc(size, withOp([]byte{0xd2}, size, true), k, rm, d)
		}
		def, undef, use := shiftFlags(k, size, count)
		g.emit([]string{"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"}[k], e, def, undef, use)
	})
	add("shld/shrd", 8, func(g *gen) {
		size := g.size(sizesNo8)
		rm, d := g.rm(true, 1, 8)
		maxCount := 64
		if size == 2 {
			maxCount = 17 // larger counts leave the result undefined
		}
		count := g.r.IntN(maxCount)
		op := byte(0xa4 + 8*g.r.IntN(2))
		var e enc
		if g.r.IntN(2) == 0 {
			e = gprEnc(size, []byte{0x0f, op}, g.reg(), rm, d)
			e.imm = imm(uint64(count), 1)
		} else {
			if rm == rCX {
				rm = rAX
			}
			g.emit("mov cl", enc{op: []byte{0xb1}, imm: imm(uint64(count), 1)}, 0, 0, 0)
			e = gprEnc(size, []byte{0x0f, op + 1}, g.reg(), rm, d)
		}
		masked := count & 31
		if size == 8 {
			masked = count & 63
		}
		var def, undef uint32
		if masked != 0 {
			def, undef = fCF|fSF|fZF|fPF|fOF, fAF
			if masked > 1 {
				def, undef = def&^fOF, undef|fOF
			}
			if masked > size*8 {
				def, undef = 0, fArith
			}
		}
		g.emit("shld/shrd", e, def, undef, 0)
	})
	add("bt", 8, func(g *gen) {
		size := g.size(sizesNo8)
		k := g.r.IntN(4)
		if g.r.IntN(2) == 0 {
			g.emit("bt", gprEnc(size, []byte{0x0f, byte(0xa3 + 8*k)}, g.reg(), g.reg(), 0), fCF, fOF|fSF|fAF|fPF, 0)
			return
		}
		rm, d := g.rm(true, 1, 8)
		e := gprEnc(size, []byte{0x0f, 0xba}, 4+k, rm, d)
		e.imm = imm(g.u64(), 1)
		if k > 0 {
			g.maybeLock(&e, rm)
		}
		g.emit("bt", e, fCF, fOF|fSF|fAF|fPF, 0)
	})
	add("bsf/bsr/popcnt/lzcnt/tzcnt", 10, func(g *gen) {
		size := g.size(sizesNo8)
		rm, d := g.rm(true, 1, 8)
		k := g.r.IntN(5)
		op := []byte{0x0f, []byte{0xbc, 0xbd, 0xb8, 0xbd, 0xbc}[k]}
		e := gprEnc(size, op, g.reg(), rm, d)
		def, undef := uint32(fZF), uint32(fCF|fOF|fSF|fAF|fPF)
		if k >= 2 {
			e.pfx = append(e.pfx, 0xf3)
			def, undef = fCF|fZF, fOF|fSF|fAF|fPF
			if k == 2 {
				def, undef = fArith, 0
			}
		}
		g.emit([]string{"bsf", "bsr", "popcnt", "lzcnt", "tzcnt"}[k], e, def, undef, 0)
	})
	add("cmov/setcc", 12, func(g *gen) {
		cc := g.r.IntN(16)
		rm, d := g.rm(true, 1, 8)
		if g.r.IntN(2) == 0 {
			g.emit("cmov", gprEnc(g.size(sizesNo8), []byte{0x0f, byte(0x40 + cc)}, g.reg(), rm, d), 0, 0, condUse(cc))
			return
		}
		g.emit("setcc", gprEnc(1, []byte{0x0f, byte(0x90 + cc)}, 0, rm, d), 0, 0, condUse(cc))
	})
	add("movzx/movsx/bswap/movbe/crc32", 10, func(g *gen) {
		rm, d := g.rm(true, 1, 8)
		switch g.r.IntN(5) {
		case 0:
			op := []byte{0x0f, []byte{0xb6, 0xb7, 0xbe, 0xbf}[g.r.IntN(4)]}
			e := gprEnc(g.size(sizesNo8), op, g.reg(), rm, d)
			e.rex = true
			g.emit("movzx/movsx", e, 0, 0, 0)
		case 1:
			g.emit("movsxd", gprEnc(8, []byte{0x63}, g.reg(), rm, d), 0, 0, 0)
		case 2:
			r := g.reg()
			g.emit("bswap", enc{w: g.r.IntN(2) == 0, op: []byte{0x0f, 0xc8 + byte(r&7)}}.withB(r), 0, 0, 0)
		case 3:
			e := gprEnc(g.size(sizesNo8), []byte{0x0f, 0x38, byte(0xf0 + g.r.IntN(2))}, g.reg(), memRM, g.disp(1, 8))
			g.emit("movbe", e, 0, 0, 0)
		default:
			size := g.size(sizes)
			e := gprEnc(size, withOp([]byte{0x0f, 0x38, 0xf0}, size, true), g.reg(), rm, d)
			e.w = size == 8 || size == 1 && g.r.IntN(2) == 0
			if size == 2 {
				e.pfx = []byte{0x66, 0xf2}
			} else {
				e.pfx = []byte{0xf2}
			}
			g.emit("crc32", e, 0, 0, 0)
		}
	})
	add("xchg/xadd/cmpxchg", 12, func(g *gen) {
		size := g.size(sizes)
		rm, d := g.rm(true, 1, 8)
		switch g.r.IntN(3) {
		case 0:
			g.emit("xchg", gprEnc(size, withOp([]byte{0x86}, size, true), g.reg(), rm, d), 0, 0, 0)
		case 1:
			e := gprEnc(size, withOp([]byte{0x0f, 0xc0}, size, true), g.reg(), rm, d)
			g.maybeLock(&e, rm)
			g.emit("xadd", e, fArith, 0, 0)
		default:
			e := gprEnc(size, withOp([]byte{0x0f, 0xb0}, size, true), g.reg(), rm, d)
			g.maybeLock(&e, rm)
			g.emit("cmpxchg", e, fArith, 0, 0)
		}
	})
	add("cmpxchg8b/16b", 2, func(g *gen) {
		w := g.r.IntN(2) == 0
		e := enc{w: w, op: []byte{0x0f, 0xc7}, modrm: true, reg: 1, rm: memRM, disp: g.disp(16, 16)}
		g.maybeLock(&e, memRM)
		g.emit("cmpxchg8b/16b", e, fZF, 0, 0)
	})
	add("mov/lea/cbw/flags", 10, func(g *gen) {
		switch g.r.IntN(9) {
		case 0:
			g.setReg(g.reg(), g.u64())
		case 1:
			size := g.size(sizes)
			e := gprEnc(size, withOp([]byte{0xc6}, size, true), 0, memRM, g.disp(1, 8))
			e.imm = imm(g.u64(), immSize(size))
			g.emit("mov m,imm", e, 0, 0, 0)
		case 2:
			g.emit("lea", gprEnc(g.size(sizesNo8), []byte{0x8d}, g.reg(), memRM, g.disp(1, 1)), 0, 0, 0)
		case 3:
			pfx, w := opsize(g.size(sizesNo8))
			g.emit("cbw/cwd", enc{pfx: pfx, w: w, op: []byte{byte(0x98 + g.r.IntN(2))}}, 0, 0, 0)
		case 4:
			g.emit("lahf", enc{op: []byte{0x9f}}, 0, 0, fArith&^fOF)
		case 5:
			g.emit("sahf", enc{op: []byte{0x9e}}, fArith&^fOF, 0, 0)
		case 6:
			k := g.r.IntN(3)
			use := uint32(0)
			if k == 0 {
				use = fCF
			}
			g.emit([]string{"cmc", "clc", "stc"}[k], enc{op: []byte{0xf5 + 3*byte(k)}}, fCF, 0, use)
		case 7:
			r := g.reg()
			g.emit("pushf", enc{op: []byte{0x9c}}, 0, 0, fArith)
			g.emit("pop", enc{op: []byte{0x58 + byte(r&7)}}.withB(r), 0, 0, 0)
			g.joinLast()
		default:
			r := g.reg()
			g.setReg(r, g.r.Uint64()&(fArith|fDF)|2)
			g.emit("push", enc{op: []byte{0x50 + byte(r&7)}}.withB(r), 0, 0, 0)
			g.emit("popf", enc{op: []byte{0x9d}}, fArith, 0, 0)
			g.joinLast()
			g.emit("cld", enc{op: []byte{0xfc}}, 0, 0, 0) // DF and TF stay as the runner expects
		}
	})
	add("string", 8, func(g *gen) {
		g.setReg(rSI, dataBase+uint64(g.r.IntN(64))-32)
		g.setReg(rDI, dataBase+uint64(g.r.IntN(64))-32)
		count := g.r.IntN(8)
		g.setReg(rCX, uint64(count))
		if g.r.IntN(4) == 0 {
			g.emit("std", enc{op: []byte{0xfd}}, 0, 0, 0)
		}
		size := g.size(sizes)
		pfx, w := opsize(size)
		k := g.r.IntN(5)
		op := []byte{0xa4, 0xaa, 0xac, 0xa6, 0xae}[k]
		if size != 1 {
			op++
		}
		rep := []byte{0, 0xf3, 0xf2}[g.r.IntN(3)]
		if rep == 0xf2 && k < 3 {
			rep = 0xf3
		}
		if rep != 0 {
			pfx = append(pfx, rep)
		}
		var def uint32
		if k >= 3 && (rep == 0 || count > 0) {
			def = fArith
		}
		g.emit([]string{"movs", "stos", "lods", "cmps", "scas"}[k], enc{pfx: pfx, w: w, op: []byte{op}}, def, 0, 0)
		g.emit("cld", enc{op: []byte{0xfc}}, 0, 0, 0)
	})
	add("bmi", 14, func(g *gen) {
		size := g.size([]int{4, 8})
		rm, d := g.rm(true, 1, 8)
		e := enc{w: size == 8, modrm: true, vexMap: 2, reg: g.reg(), rm: rm, disp: d, vvvv: g.reg()}
		var def, undef uint32
		name := ""
		switch g.r.IntN(12) {
		case 0:
			e.op, name, def, undef = []byte{0xf2}, "andn", fSF|fZF|fCF|fOF, fAF|fPF
		case 1, 2:
			if g.r.IntN(2) == 0 {
				g.setReg(e.vvvv, uint64(g.r.IntN(72))|uint64(g.r.IntN(72))<<8)
			}
			e.op, name, def, undef = []byte{0xf7}, "bextr", fZF|fCF|fOF, fAF|fSF|fPF
		case 3:
			if g.r.IntN(2) == 0 {
				g.setReg(e.vvvv, uint64(g.r.IntN(72)))
			}
			e.op, name, def, undef = []byte{0xf5}, "bzhi", fZF|fCF|fSF|fOF, fAF|fPF
		case 4:
			e.op, e.vexPP, name = []byte{0xf5}, 3, "pdep"
		case 5:
			e.op, e.vexPP, name = []byte{0xf5}, 2, "pext"
		case 6:
			e.op, e.vexPP, name = []byte{0xf6}, 3, "mulx"
		case 7:
			e.op, e.vexMap, e.vexPP, name, e.vvvv = []byte{0xf0}, 3, 3, "rorx", 0
			e.imm = imm(uint64(g.r.IntN(70)), 1)
		case 8, 9:
			e.op, e.vexPP = []byte{0xf7}, 1+g.r.IntN(3)
			name = []string{"", "shlx", "sarx", "shrx"}[e.vexPP]
		default:
			k := 1 + g.r.IntN(3)
			e.op, e.reg, name, def, undef = []byte{0xf3}, k, []string{"", "blsr", "blsmsk", "blsi"}[k], fZF|fSF|fCF|fOF, fAF|fPF
		}
		g.emit(name, e, def, undef, 0)
	})
	addSSE()
	addX87()
}

// shiftFlags are the flags a shift or rotate by count defines, leaves
// undefined and reads (SDM: "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR").
func shiftFlags(k, size, count int) (def, undef, use uint32) {
	masked := count & 31
	if size == 8 {
		masked = count & 63
	}
	if k == 2 || k == 3 {
		use = fCF
	}
	if masked == 0 {
		return 0, 0, use
	}
	if k < 4 { // rotates: CF and OF only
		def = fCF | fOF
		if masked != 1 {
			def, undef = fCF, fOF
		}
		return def, undef, use
	}
	def, undef = fCF|fSF|fZF|fPF|fOF, fAF
	if masked != 1 {
		def, undef = def&^fOF, undef|fOF
	}
	if k != 7 && masked >= size*8 {
		def, undef = def&^fCF, undef|fCF
	}
	return def, undef, use
}
