package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// Arithmetic flags of RFLAGS.
const (
	fCF    = 1 << 0
	fPF    = 1 << 2
	fAF    = 1 << 4
	fZF    = 1 << 6
	fSF    = 1 << 7
	fDF    = 1 << 10
	fOF    = 1 << 11
	fArith = fCF | fPF | fAF | fZF | fSF | fOF
	// fLogic are the flags AND, OR, XOR and TEST define (AF is undefined).
	fLogic = fArith &^ fAF
)

// Inst is one generated instruction.
type Inst struct {
	Bytes []byte
	Form  string // the generator's name for its form
	// Undef is the set of flags undefined after it (from it or from
	// earlier instructions whose results no later one redefined).
	Undef uint32
	// Joined: a prefix of the sequence never ends just before this
	// instruction (it balances the stack of the one before).
	Joined bool
}

// Seq is one sequence: a start state and instructions.
type Seq struct {
	Start State
	Insts []Inst
}

// Code is the sequence's machine code.
func (s *Seq) Code() []byte {
	var b []byte
	for _, in := range s.Insts {
		b = append(b, in.Bytes...)
	}
	return b
}

// Cuts are the lengths of the sequence's prefixes that end between
// instructions that may be apart, the whole sequence last.
func (s *Seq) Cuts() []int {
	var cuts []int
	for k := 1; k <= len(s.Insts); k++ {
		if k == len(s.Insts) || !s.Insts[k].Joined {
			cuts = append(cuts, k)
		}
	}
	return cuts
}

// joinLast marks the last instruction as joined to the one before.
func (g *gen) joinLast() { g.seq.Insts[len(g.seq.Insts)-1].Joined = true }

// Prefix is the sequence cut after its first n instructions.
func (s *Seq) Prefix(n int) *Seq {
	return &Seq{Start: s.Start, Insts: s.Insts[:n]}
}

// undefAt is the set of undefined flags when execution stands at the
// instruction at byte offset off (the end of the code for len(code)).
func (s *Seq) undefAt(off int) uint32 {
	undef, pos := uint32(0), 0
	for _, in := range s.Insts {
		if pos >= off {
			break
		}
		pos += len(in.Bytes)
		undef = in.Undef
	}
	return undef
}

// indexAt is the index of the instruction at byte offset off, or -1.
func (s *Seq) indexAt(off int) int {
	pos := 0
	for i, in := range s.Insts {
		if pos == off {
			return i
		}
		pos += len(in.Bytes)
	}
	return -1
}

// gen builds one sequence.
type gen struct {
	r     *rand.Rand
	seq   *Seq
	undef uint32 // flags undefined now
	depth int    // x87 stack depth
}

// usable are the registers random operands use: not RSP (the stack) nor
// R15 (the base of memory operands).
var usable = []int{rAX, rCX, rDX, rBX, rBP, rSI, rDI, r8, r9, r10, r11, r12, r13, r14}

// edges64 are the edge values of integer inputs.
var edges64 = []uint64{
	0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
	0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000,
	0xffffffffffffffff, 0xfffffffffffffffe, 0xffffffff80000000, 0xffffffff7fffffff, 0x5555555555555555,
	0xaaaaaaaaaaaaaaaa, 0x0f0f0f0f0f0f0f0f, 0x8080808080808080, 0x0101010101010101, 0x00ff00ff00ff00ff,
}

// edgesF64 and edgesF32 are floating-point edge values (as bits).
var edgesF64 = []uint64{
	0, 1 << 63, math.Float64bits(1), math.Float64bits(-1), math.Float64bits(0.5), math.Float64bits(1.5),
	math.Float64bits(-2.5), math.Float64bits(3), math.Float64bits(1e300), math.Float64bits(-1e-300),
	0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, 0xfff8000000000001, 0x7ff4000000000000,
	0x0000000000000001, 0x800fffffffffffff, 0x0010000000000000, 0x7fefffffffffffff, math.Float64bits(2147483648),
	math.Float64bits(-2147483649), math.Float64bits(9.223372036854775807e18), math.Float64bits(0.1),
	math.Float64bits(1.0000000000000002), math.Float64bits(4294967296.5),
}
var edgesF32 = []uint32{
	0, 1 << 31, math.Float32bits(1), math.Float32bits(-1), math.Float32bits(0.5), math.Float32bits(-1.5),
	math.Float32bits(2.5), math.Float32bits(3), math.Float32bits(1e30), math.Float32bits(-1e-30),
	0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7fa00000, 0x00000001, 0x807fffff, 0x00800000,
	0x7f7fffff, math.Float32bits(2147483648), math.Float32bits(-2147483904), math.Float32bits(0.1),
	math.Float32bits(16777217),
}

func (g *gen) u64() uint64 {
	switch g.r.IntN(4) {
	case 0, 1:
		return edges64[g.r.IntN(len(edges64))]
	case 2:
		return g.r.Uint64()
	}
	return uint64(g.r.IntN(256)) - 128
}

// lane64 fills 8 bytes of an XMM register or the data area.
func (g *gen) lane64() uint64 {
	switch g.r.IntN(5) {
	case 0:
		return edgesF64[g.r.IntN(len(edgesF64))]
	case 1:
		return uint64(edgesF32[g.r.IntN(len(edgesF32))]) | uint64(edgesF32[g.r.IntN(len(edgesF32))])<<32
	case 2:
		return g.u64()
	case 3:
		// Bytes and words of edge values (and text-like bytes for the
		// string compares).
		var v uint64
		for i := 0; i < 8; i++ {
			b := []byte{0, 0xff, 0x80, 0x7f, 'a', 'b', 'c', 1}[g.r.IntN(8)]
			v |= uint64(b) << (8 * i)
		}
		return v
	}
	return g.r.Uint64()
}

// x87Value is an 80-bit extended value: an edge double converted
// exactly, or an extended-only edge.
func (g *gen) x87Value() [10]byte {
	var b [10]byte
	switch g.r.IntN(6) {
	case 0: // extended denormal, max, pseudo edge-free specials
		specials := [][2]uint64{{0x0000, 0x0000000000000001}, {0x7ffe, 0xffffffffffffffff}, {0x0001, 0x8000000000000000},
			{0x7fff, 0xc000000000000000}, {0x7fff, 0x8000000000000000}, {0xffff, 0xa000000000000000}}
		s := specials[g.r.IntN(len(specials))]
		binary.LittleEndian.PutUint64(b[:], s[1])
		binary.LittleEndian.PutUint16(b[8:], uint16(s[0]))
		return b
	case 1:
		binary.LittleEndian.PutUint64(b[:], g.r.Uint64()|1<<63)
		binary.LittleEndian.PutUint16(b[8:], uint16(0x3fff-70+g.r.IntN(140))|uint16(g.r.IntN(2))<<15)
		return b
	}
	return extended(edgesF64[g.r.IntN(len(edgesF64))])
}

// extended converts a double (bits) to the 80-bit format exactly.
func extended(d uint64) [10]byte {
	var b [10]byte
	sign := uint16(d>>63) << 15
	exp := int(d>>52) & 0x7ff
	frac := d & (1<<52 - 1)
	var e uint16
	var m uint64
	switch {
	case exp == 0x7ff:
		e, m = 0x7fff, 1<<63|frac<<11
	case exp == 0 && frac == 0:
		e, m = 0, 0
	case exp == 0: // denormal double: normal in extended
		shift := 0
		for frac&(1<<52) == 0 {
			frac <<= 1
			shift++
		}
		e, m = uint16(1-1023+16383-shift), frac<<11
	default:
		e, m = uint16(exp-1023+16383), 1<<63|frac<<11
	}
	binary.LittleEndian.PutUint64(b[:], m)
	binary.LittleEndian.PutUint16(b[8:], e|sign)
	return b
}

// newSeq makes a sequence of about n instructions.
func newSeq(r *rand.Rand, n int) *Seq {
	g := &gen{r: r, seq: &Seq{}}
	g.start()
	for len(g.seq.Insts) < n {
		forms[g.pick()].gen(g)
	}
	return g.seq
}

func (g *gen) pick() int {
	x := g.r.IntN(totalWeight)
	for i, f := range forms {
		if x < f.weight {
			return i
		}
		x -= f.weight
	}
	return len(forms) - 1
}

// start fills the start state.
func (g *gen) start() {
	st := &g.seq.Start
	for _, r := range usable {
		st.GPR[r] = g.u64()
	}
	st.GPR[rSP] = stackTop
	st.GPR[r15] = dataBase
	st.RFLAGS = 2 | uint64(g.r.Uint32()&fArith)
	if g.r.IntN(10) == 0 {
		st.RFLAGS |= fDF
	}
	fx := st.FX[:]
	fcw := uint16(0x37f)
	if g.r.IntN(4) == 0 {
		fcw = 0x7f | uint16(g.r.IntN(4))<<8 | uint16(g.r.IntN(4))<<10 // precision, rounding
		if fcw>>8&3 == 1 {
			fcw |= 3 << 8 // reserved precision: use 64-bit
		}
	}
	binary.LittleEndian.PutUint16(fx[0:], fcw)
	g.depth = g.r.IntN(5)
	top := (8 - g.depth) & 7
	binary.LittleEndian.PutUint16(fx[2:], uint16(top)<<11)
	var ftw byte
	for i := 0; i < g.depth; i++ {
		ftw |= 1 << ((top + i) & 7)
		v := g.x87Value()
		copy(fx[32+16*i:], v[:])
	}
	fx[4] = ftw
	mxcsr := uint32(0x1f80)
	if g.r.IntN(4) == 0 {
		mxcsr |= uint32(g.r.IntN(4)) << 13 // rounding
	}
	if g.r.IntN(8) == 0 {
		mxcsr |= 1 << 15 // FZ
	}
	if g.r.IntN(8) == 0 {
		mxcsr |= 1 << 6 // DAZ
	}
	binary.LittleEndian.PutUint32(fx[24:], mxcsr)
	binary.LittleEndian.PutUint32(fx[28:], 0xffff)
	for i := 0; i < 32; i++ {
		binary.LittleEndian.PutUint64(fx[160+8*i:], g.lane64())
	}
	for i := 0; i < dataSize/8; i++ {
		binary.LittleEndian.PutUint64(st.Data[8*i:], g.lane64())
	}
}

// emit appends an instruction that defines the flags def, leaves undef
// undefined and reads use. When it reads a flag that is undefined now, a
// CMP of two registers is put first to define them all.
func (g *gen) emit(form string, e enc, def, undef, use uint32) {
	if use&g.undef != 0 {
		g.emit("cmp", enc{w: true, op: []byte{0x39}, modrm: true, reg: g.reg(), rm: g.reg()}, fArith, 0, 0)
	}
	g.undef = g.undef&^def | undef
	g.seq.Insts = append(g.seq.Insts, Inst{Bytes: e.bytes(), Form: form, Undef: g.undef})
}

func (g *gen) reg() int { return usable[g.r.IntN(len(usable))] }

// rm picks an rm operand: a register, or (one time in four when
// memory is allowed) [r15+disp8] aligned to align bytes inside the data
// area with room for size bytes.
func (g *gen) rm(memOK bool, align, size int) (int, int8) {
	if memOK && g.r.IntN(4) == 0 {
		return memRM, g.disp(align, size)
	}
	return g.reg(), 0
}

func (g *gen) disp(align, size int) int8 {
	if align < 1 {
		align = 1
	}
	n := (256 - size) / align
	return int8(g.r.IntN(n)*align - 128)
}

// setReg puts v in register r (MOV r64, imm64: no flags).
func (g *gen) setReg(r int, v uint64) {
	g.emit("mov_imm64", enc{w: true, op: []byte{0xb8 + byte(r&7)}, rm: r, imm: imm(v, 8), rex: true,
		modrm: false, reg: 0}.withB(r), 0, 0, 0)
}

// withB sets REX.B for an opcode-embedded register (B8+r, C8+r, 58+r).
func (e enc) withB(r int) enc {
	if r >= 8 {
		e.pfx = append(e.pfx[:len(e.pfx):len(e.pfx)], 0x41|boolByte(e.w)<<3)
		e.w, e.rex = false, false
	}
	return e
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// opsize returns the prefixes and REX.W of a GPR operand size.
func opsize(size int) (pfx []byte, w bool) {
	switch size {
	case 2:
		return []byte{0x66}, false
	case 8:
		return nil, true
	}
	return nil, false
}
