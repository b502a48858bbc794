package cpu

// sseOp is a legacy-SSE instruction xmm, xmm/m128 (or with the operand
// kinds in regG/rmG): mandatory prefix, opcode bytes, an immediate.
type sseOp struct {
	pfx  byte
	op   []byte
	imm  bool
	regG bool // ModRM.reg is a general register (4 or 8 bytes with W)
	rmG  bool // ModRM.rm is a general register or memory
	w    int  // 0 no REX.W, 1 REX.W, 2 either
	memN int  // 0: rm may be memory (16-byte aligned); -1: register only
	def  uint32
	name string
}

var sseOps []sseOp

func sse(pfx byte, op []byte, name string) *sseOp {
	sseOps = append(sseOps, sseOp{pfx: pfx, op: op, name: name})
	return &sseOps[len(sseOps)-1]
}

func op2(b ...byte) []byte { return append([]byte{0x0f}, b...) }

func addSSE() {
	// Integer, 66 0F xx.
	for _, b := range []byte{0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
		0x74, 0x75, 0x76, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1,
		0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6,
		0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe} {
		sse(0x66, op2(b), "sse2 int")
	}
	for _, p := range []byte{0x66, 0xf3, 0xf2} {
		sse(p, op2(0x70), "pshuf").imm = true
	}
	// SSSE3 and SSE4.1/4.2, 66 0F 38 xx.
	for _, b := range []byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x1c, 0x1d, 0x1e,
		0x10, 0x14, 0x15, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
		0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0xdb, 0xdc, 0xdd, 0xde, 0xdf} {
		sse(0x66, op2(0x38, b), "ssse3/sse4 int")
	}
	sse(0x66, op2(0x38, 0x17), "ptest").def = fArith
	// 66 0F 3A xx ib.
	for _, b := range []byte{0x0f, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x21, 0x40, 0x41, 0x42, 0x44, 0xdf} {
		sse(0x66, op2(0x3a, b), "sse4 imm").imm = true
	}
	for _, b := range []byte{0x60, 0x61, 0x62, 0x63} {
		o := sse(0x66, op2(0x3a, b), "pcmpstr")
		o.imm, o.def, o.w = true, fArith, 2
	}
	// Moves between general registers and XMM.
	o := sse(0x66, op2(0xd7), "pmovmskb")
	o.regG, o.memN = true, -1
	o = sse(0x66, op2(0xc5), "pextrw")
	o.regG, o.memN, o.imm = true, -1, true
	sse(0x66, op2(0xc4), "pinsrw").rmG, sseOps[len(sseOps)-1].imm = true, true
	for _, b := range []byte{0x14, 0x15, 0x16, 0x17} {
		o = sse(0x66, op2(0x3a, b), "pextr")
		o.rmG, o.imm, o.w = true, true, 2
	}
	for _, b := range []byte{0x20, 0x22} {
		o = sse(0x66, op2(0x3a, b), "pinsr")
		o.rmG, o.imm, o.w = true, true, 2
	}
	sse(0x66, op2(0x6e), "movd/q x,r").rmG, sseOps[len(sseOps)-1].w = true, 2
	sse(0x66, op2(0x7e), "movd/q r,x").rmG, sseOps[len(sseOps)-1].w = true, 2
	for _, x := range []struct {
		p byte
		b byte
	}{{0xf3, 0x7e}, {0x66, 0xd6}, {0x66, 0x6f}, {0xf3, 0x6f}, {0x66, 0x7f}, {0xf3, 0x7f}} {
		sse(x.p, op2(x.b), "mov")
	}
	// Floating point: ps, pd, ss, sd.
	for _, p := range []byte{0, 0x66, 0xf3, 0xf2} {
		for _, b := range []byte{0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0x51, 0x5a, 0x10} {
			sse(p, op2(b), "sse fp")
		}
		sse(p, op2(0xc2), "cmpps").imm = true
	}
	for _, p := range []byte{0, 0x66} {
		for _, b := range []byte{0x54, 0x55, 0x56, 0x57, 0x14, 0x15, 0x5b, 0x28} {
			sse(p, op2(b), "sse fp logic")
		}
		sse(p, op2(0xc6), "shufps").imm = true
		sse(p, op2(0x2e), "ucomis").def = fArith
		sse(p, op2(0x2f), "comis").def = fArith
		o = sse(p, op2(0x50), "movmskp")
		o.regG, o.memN = true, -1
	}
	for _, x := range []struct {
		p byte
		b byte
	}{{0xf3, 0x5b}, {0xf3, 0xe6}, {0xf2, 0xe6}, {0x66, 0xe6}, {0xf2, 0x7c}, {0x66, 0x7c}, {0xf2, 0xd0}, {0x66, 0xd0},
		{0xf3, 0x16}, {0xf3, 0x12}, {0xf2, 0x12}, {0, 0x52}, {0, 0x53}, {0xf3, 0x52}, {0xf3, 0x53}} {
		sse(x.p, op2(x.b), "sse fp misc")
	}
	for _, b := range []byte{0x12, 0x16} {
		sse(0, op2(b), "movhlps/movlhps").memN = -1
	}
	for _, p := range []byte{0xf3, 0xf2} {
		sse(p, op2(0x2a), "cvtsi2s").rmG, sseOps[len(sseOps)-1].w = true, 2
		for _, b := range []byte{0x2c, 0x2d} {
			o = sse(p, op2(b), "cvt2si")
			o.regG, o.w = true, 2
		}
	}
	add("sse", 60, func(g *gen) {
		o := sseOps[g.r.IntN(len(sseOps))]
		e := enc{op: o.op, modrm: true, reg: g.r.IntN(16), rm: g.r.IntN(16)}
		if o.pfx != 0 {
			e.pfx = []byte{o.pfx}
		}
		if o.regG {
			e.reg = g.reg()
		}
		if o.rmG {
			e.rm = g.reg()
		}
		if o.memN == 0 && g.r.IntN(4) == 0 {
			e.rm, e.disp = memRM, g.disp(16, 16)
		}
		switch o.w {
		case 1:
			e.w = true
		case 2:
			e.w = g.r.IntN(2) == 0
		}
		if o.imm {
			e.imm = imm(g.u64(), 1)
			if o.name == "cmpps" {
				e.imm[0] &= 7
			}
		}
		g.emit(o.name, e, o.def, 0, 0)
	})
	add("sse shift imm", 6, func(g *gen) {
		x := []struct{ op, digit byte }{{0x71, 2}, {0x71, 4}, {0x71, 6}, {0x72, 2}, {0x72, 4}, {0x72, 6},
			{0x73, 2}, {0x73, 3}, {0x73, 6}, {0x73, 7}}[g.r.IntN(10)]
		e := enc{pfx: []byte{0x66}, op: op2(x.op), modrm: true, reg: int(x.digit), rm: g.r.IntN(16),
			imm: imm(uint64(g.r.IntN(70)), 1)}
		g.emit("sse shift", e, 0, 0, 0)
	})
}

// addX87 adds the x87 forms. The generator keeps the stack between 0
// and 8 deep, so no form overflows or underflows it.
func addX87() {
	push := func(g *gen, name string, e enc) {
		if g.depth < 8 {
			g.emit(name, e, 0, 0, 0)
			g.depth++
		}
	}
	add("x87", 20, func(g *gen) {
		i := byte(g.r.IntN(g.depth + 1))
		if g.depth == 0 {
			switch g.r.IntN(3) {
			case 0:
				push(g, "fld1/fldz/fldpi", enc{op: []byte{0xd9, []byte{0xe8, 0xee, 0xeb}[g.r.IntN(3)]}})
			case 1:
				push(g, "fld m64", enc{op: []byte{0xdd}, modrm: true, reg: 0, rm: memRM, disp: g.disp(8, 8)})
			default:
				push(g, "fild m32", enc{op: []byte{0xdb}, modrm: true, reg: 0, rm: memRM, disp: g.disp(4, 4)})
			}
			return
		}
		if i >= byte(g.depth) {
			i = byte(g.depth - 1)
		}
		switch g.r.IntN(12) {
		case 0:
			push(g, "fld st", enc{op: []byte{0xd9, 0xc0 + i}})
		case 1:
			m := []struct {
				op    byte
				digit int
				n     int
			}{{0xdd, 0, 8}, {0xd9, 0, 4}, {0xdb, 0, 4}, {0xdf, 5, 8}, {0xdb, 5, 10}}[g.r.IntN(5)]
			push(g, "fld m", enc{op: []byte{m.op}, modrm: true, reg: m.digit, rm: memRM, disp: g.disp(1, m.n)})
		case 2:
			g.emit("fstp st", enc{op: []byte{0xdd, 0xd8 + i}}, 0, 0, 0)
			g.depth--
		case 3:
			m := []struct {
				op    byte
				digit int
				n     int
				pop   bool
			}{{0xdd, 3, 8, true}, {0xdd, 2, 8, false}, {0xd9, 3, 4, true}, {0xdb, 3, 4, true}, {0xdf, 7, 8, true},
				{0xdb, 7, 10, true}, {0xdb, 1, 4, true}}[g.r.IntN(7)]
			g.emit("fst m", enc{op: []byte{m.op}, modrm: true, reg: m.digit, rm: memRM, disp: g.disp(1, m.n)}, 0, 0, 0)
			if m.pop {
				g.depth--
			}
		case 4:
			g.emit("fxch", enc{op: []byte{0xd9, 0xc8 + i}}, 0, 0, 0)
		case 5, 6:
			// fadd fmul fsub fsubr fdiv fdivr, st0 op st(i) or st(i) op st0.
			k := []byte{0, 1, 4, 5, 6, 7}[g.r.IntN(6)]
			op := []byte{0xd8, 0xdc}[g.r.IntN(2)]
			g.emit("farith st", enc{op: []byte{op, 0xc0 + k<<3 + i}}, 0, 0, 0)
		case 7:
			if g.depth >= 2 && i > 0 {
				k := []byte{0, 1, 4, 5, 6, 7}[g.r.IntN(6)]
				g.emit("farithp", enc{op: []byte{0xde, 0xc0 + k<<3 + i}}, 0, 0, 0)
				g.depth--
				return
			}
			k := []byte{0, 1, 4, 5, 6, 7}[g.r.IntN(6)]
			g.emit("farith m64", enc{op: []byte{0xdc}, modrm: true, reg: int(k), rm: memRM, disp: g.disp(8, 8)}, 0, 0, 0)
		case 8:
			g.emit("fchs/fabs/fsqrt/frndint/ftst/fxam", enc{op: []byte{0xd9, []byte{0xe0, 0xe1, 0xfa, 0xfc, 0xe4, 0xe5}[g.r.IntN(6)]}}, 0, 0, 0)
		case 9:
			g.emit("fcomi/fucomi", enc{op: []byte{0xdb, []byte{0xf0, 0xe8}[g.r.IntN(2)] + i}}, fZF|fPF|fCF|fOF|fSF|fAF, 0, 0)
		case 10:
			cc := g.r.IntN(8)
			use := []uint32{fCF, fZF, fCF | fZF, fPF}[cc&3]
			g.emit("fcmov", enc{op: []byte{0xda + byte(cc>>2), 0xc0 + byte(cc&3)<<3 + i}}, 0, 0, use)
		default:
			g.emit("fnstcw", enc{op: []byte{0xd9}, modrm: true, reg: 7, rm: memRM, disp: g.disp(2, 2)}, 0, 0, 0)
		}
	})
}
