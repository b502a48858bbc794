package cpu

import (
	"encoding/binary"
	"regexp"
)

// Known is one known difference between cmaemu and the CPU: an
// instruction whose disassembly matches Pattern may differ in Fields.
// Sticky differences are status bits no generated instruction reads
// (MXCSR and FSW flags, C1): after one, the rest of the sequence is
// still compared with those fields left out.
type Known struct {
	Pattern string
	Fields  Field
	Sticky  bool
	Reason  string
	// When, if set, limits the entry to the instruction code that starts
	// from state before.
	When func(code []byte, before *State) bool
	re   *regexp.Regexp
}

// r32 matches a 32-bit general register in x86asm's Intel syntax.
const r32 = `(e[a-z]{2}|r[0-9]+d)`

const (
	allXMM = FXMM0 * 0xffff
	allGPR = FGPR0 * 0xffff
)

// x87RoundingNotNearest: the x87 rounds other than to nearest.
func x87RoundingNotNearest(_ []byte, st *State) bool {
	return binary.LittleEndian.Uint16(st.FX[0:])&0xc00 != 0
}

// known is the one table of the differences that remain. The suite
// fails on any difference not in it.
var known = []Known{
	// Floating-point status the engine keeps only in part: the sticky
	// flags of its arithmetic are folded into MXCSR and FSW, but not
	// all of them.
	{Pattern: `^(add|sub|mul|div|min|max|sqrt|cmp|u?comi|cvt|round|dp|hadd|hsub)`, Fields: FMXFlags, Sticky: true,
		Reason: "MXCSR exception flags differ: DE (denormal operand) is never set, and some others are missed (e.g. IE of MAXPS with a NaN)"},
	{Pattern: `^f`, Fields: FFSWFlags | FFSWC1, Sticky: true,
		Reason: "x87 FSW flags differ: C1 and DE of instructions other than FADD/FSUB/FMUL/FDIV and those run on the host's x87 (FLD, FST, FCOM, ...), and some others are missed"},
	// SSE floating-point results.
	{Pattern: `^(add|sub|mul|div|min|max|sqrt|hadd|hsub|addsub|dp)`, Fields: allXMM | FMXFlags,
		Reason: "NaN propagation: the engine returns the second operand's NaN where x86 returns the first's"},
	{Pattern: `^(rcp|rsqrt)(ps|ss) `, Fields: allXMM | FMXFlags,
		Reason: "RCPPS/RSQRTPS approximations are implementation-specific (relative error <= 1.5*2^-12); the engine computes the exact value with a division, which also sets MXCSR flags the CPU does not"},
	// x87.
	{Pattern: `^fu?comip? `, Fields: FOF | FSF | FAF | FFSWFlags | FFSWC1,
		Reason: "FCOMI/FUCOMI leave OF, SF and AF as they were instead of clearing them"},
	{Pattern: `^fld(pi|l2e|l2t|lg2|ln2) `, Fields: FST0, When: x87RoundingNotNearest,
		Reason: "x87 constant loads ignore the rounding mode"},
	{Pattern: `^fld `, Fields: FST0 | FFSWFlags | FFSWC1,
		Reason: "FLD of a signalling NaN (m32/m64) keeps it signalling and raises no #IA"},
	{Pattern: `^fistt?p? `, Fields: FData | FFSWFlags | FFSWC1,
		Reason: "FIST/FISTTP of an out-of-range value or NaN does not store the integer indefinite"},
	{Pattern: `^fstp? (dword|qword) `, Fields: FData | FFSWFlags | FFSWC1,
		Reason: "FST/FSTP to m32/m64 of a signalling NaN stores it signalling"},
	{Pattern: `^fxam `, Fields: FFSWCC | FFSWC1,
		Reason: "FXAM classifies unsupported 80-bit encodings (unnormals, pseudo-NaNs, pseudo-infinities) as normal numbers"},
	// Integer results left as the engine computes them.
	{Pattern: `^(lock )?cmpxchg dword ptr `, Fields: FGPR0 << rAX,
		Reason: "32-bit CMPXCHG to memory clears the upper half of RAX when the compare succeeds (the CPU writes EAX only when it fails); doing it exactly would cost every 32-bit locked CMPXCHG, the mutexes' instruction, a trip through the carrier (~180 ns)"},
	// Integer results the SDM leaves undefined.
	{Pattern: `^bs[fr] [re]`, Fields: allGPR,
		Reason: "BSF/BSR with a zero source leave the destination undefined (SDM): AMD keeps all 64 bits, the engine zero-extends the 32-bit form"},
}

func init() {
	for i := range known {
		known[i].re = regexp.MustCompile(known[i].Pattern)
	}
}

// lookupKnown returns the entry that explains a difference in fields d
// at the instruction disassembled as asm, or nil.
func lookupKnown(code []byte, asm string, d Field, before *State) *Known {
	for i := range known {
		k := &known[i]
		if d&^k.Fields == 0 && k.re.MatchString(asm) && (k.When == nil || k.When(code, before)) {
			return k
		}
	}
	return nil
}
