// Package cpu is the randomized differential CPU suite: random sequences
// of instructions from a curated list, with edge-valued start states, run
// natively and under cmaemu by testdata/src/cpu_runner.c; the end states
// are compared with the flags the SDM leaves undefined masked, and every
// difference is bisected to one instruction and checked against the
// table of known differences (known.go).
package cpu

// General registers by number, as ModRM and REX encode them.
const (
	rAX = iota
	rCX
	rDX
	rBX
	rSP
	rBP
	rSI
	rDI
	r8
	r9
	r10
	r11
	r12
	r13
	r14
	r15
)

// memRM in an operand's rm stands for the memory operand [r15+disp8].
const memRM = -1

// enc is one instruction to encode: legacy prefixes, REX or VEX, opcode,
// ModRM with an optional disp8, immediate.
type enc struct {
	pfx   []byte // legacy prefixes, in order (F0, 66, F2/F3)
	w     bool   // REX.W (VEX.W)
	rex   bool   // a REX prefix even when no bit is set (byte registers SPL..DIL)
	op    []byte // opcode bytes (for VEX: the opcode byte alone)
	modrm bool
	reg   int  // ModRM.reg: a register or an opcode digit
	rm    int  // ModRM.rm register, or memRM
	disp  int8 // with memRM
	imm   []byte
	// VEX (3-byte C4 form) when vexMap != 0: map 2 = 0F38, 3 = 0F3A; pp
	// 0 none, 1 66, 2 F3, 3 F2; vvvv a register.
	vexMap, vexPP, vvvv int
}

func (e enc) bytes() []byte {
	var b []byte
	b = append(b, e.pfx...)
	rmReg := e.rm
	if e.rm == memRM {
		rmReg = r15
	}
	r, bb := 0, 0
	if e.modrm {
		r, bb = (e.reg>>3)&1, (rmReg>>3)&1
	}
	if e.vexMap != 0 {
		w := 0
		if e.w {
			w = 1
		}
		b = append(b, 0xc4, byte((r^1)<<7|1<<6|(bb^1)<<5|e.vexMap), byte(w<<7|(^e.vvvv&15)<<3|e.vexPP))
	} else if e.w || e.rex || r != 0 || bb != 0 {
		w := 0
		if e.w {
			w = 1
		}
		b = append(b, byte(0x40|w<<3|r<<2|bb))
	}
	b = append(b, e.op...)
	if e.modrm {
		if e.rm == memRM {
			b = append(b, byte(1<<6|(e.reg&7)<<3|(r15&7)), byte(e.disp))
		} else {
			b = append(b, byte(3<<6|(e.reg&7)<<3|(e.rm&7)))
		}
	}
	return append(b, e.imm...)
}

// imm encodes v in n little-endian bytes.
func imm(v uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}
