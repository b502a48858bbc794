package cpu

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
)

// Field is a set of parts of the end state, one bit each.
type Field uint64

// The parts of the end state that are compared.
const (
	FGPR0     Field = 1 << iota // RAX; the 16 registers are FGPR0 << n
	fgprEnd   Field = FGPR0 << 15
	FCF       Field = FGPR0 << 16
	FPF       Field = FGPR0 << 17
	FAF       Field = FGPR0 << 18
	FZF       Field = FGPR0 << 19
	FSF       Field = FGPR0 << 20
	FOF       Field = FGPR0 << 21
	FDF       Field = FGPR0 << 22
	FXMM0     Field = FGPR0 << 23 // XMM0; the 16 registers are FXMM0 << n
	FST0      Field = FGPR0 << 39 // ST(0); the 8 registers are FST0 << n
	FFCW      Field = FGPR0 << 47
	FFSWTop   Field = FGPR0 << 48 // TOP
	FFSWCC    Field = FGPR0 << 49 // C0 C2 C3
	FFSWC1    Field = FGPR0 << 50
	FFSWFlags Field = FGPR0 << 51 // exception flags, SF, ES, B
	FFTW      Field = FGPR0 << 52
	FMXFlags  Field = FGPR0 << 53 // MXCSR exception flags
	FMXCtl    Field = FGPR0 << 54 // MXCSR control bits
	FData     Field = FGPR0 << 55
	FSignal   Field = FGPR0 << 56 // the signal and the faulting instruction
)

// FFlags are the arithmetic flags' fields.
const FFlags = FCF | FPF | FAF | FZF | FSF | FOF

var gprNames = []string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
	"r13", "r14", "r15"}

var flagFields = []struct {
	bit   uint64
	field Field
	name  string
}{{fCF, FCF, "CF"}, {fPF, FPF, "PF"}, {fAF, FAF, "AF"}, {fZF, FZF, "ZF"}, {fSF, FSF, "SF"}, {fOF, FOF, "OF"},
	{fDF, FDF, "DF"}}

func (f Field) String() string {
	var parts []string
	for f != 0 {
		b := Field(1) << bits.TrailingZeros64(uint64(f))
		f &^= b
		n := bits.TrailingZeros64(uint64(b))
		switch {
		case n < 16:
			parts = append(parts, gprNames[n])
		case n < 23:
			parts = append(parts, flagFields[n-16].name)
		case n < 39:
			parts = append(parts, fmt.Sprintf("xmm%d", n-23))
		case n < 47:
			parts = append(parts, fmt.Sprintf("st%d", n-39))
		default:
			parts = append(parts, []string{"fcw", "fsw.top", "fsw.cc", "fsw.c1", "fsw.flags", "ftw", "mxcsr.flags",
				"mxcsr.ctl", "data", "signal"}[n-47])
		}
	}
	return strings.Join(parts, " ")
}

// diff is the set of fields in which two end states of seq differ, with
// the flags undefined at the end (or at the fault) left out.
func diff(seq *Seq, a, b *State) Field {
	var d Field
	if a.Signo != b.Signo || a.FaultOff != b.FaultOff {
		d |= FSignal
	}
	for i := 0; i < 16; i++ {
		if a.GPR[i] != b.GPR[i] {
			d |= FGPR0 << i
		}
	}
	end := len(seq.Code())
	if a.Signo != 0 {
		end = int(a.FaultOff)
	}
	undef := uint64(seq.undefAt(end))
	for _, f := range flagFields {
		if f.bit&undef == 0 && (a.RFLAGS^b.RFLAGS)&f.bit != 0 {
			d |= f.field
		}
	}
	d |= diffFX(a.FX[:], b.FX[:])
	if a.Data != b.Data {
		d |= FData
	}
	return d
}

func diffFX(a, b []byte) Field {
	var d Field
	u16 := func(x []byte, off int) uint16 { return binary.LittleEndian.Uint16(x[off:]) }
	if u16(a, 0) != u16(b, 0) {
		d |= FFCW
	}
	fswA, fswB := u16(a, 2), u16(b, 2)
	x := fswA ^ fswB
	if x&0x3800 != 0 {
		d |= FFSWTop
	}
	if x&0x4500 != 0 {
		d |= FFSWCC
	}
	if x&0x0200 != 0 {
		d |= FFSWC1
	}
	if x&0x80ff != 0 {
		d |= FFSWFlags
	}
	if a[4] != b[4] {
		d |= FFTW
	}
	// ST(i) where both say it is valid (a tag difference is FFTW).
	topA := int(fswA>>11) & 7
	for i := 0; i < 8; i++ {
		if a[4]&b[4]&(1<<((topA+i)&7)) != 0 && string(a[32+16*i:42+16*i]) != string(b[32+16*i:42+16*i]) {
			d |= FST0 << i
		}
	}
	mxA, mxB := binary.LittleEndian.Uint32(a[24:]), binary.LittleEndian.Uint32(b[24:])
	if (mxA^mxB)&0x3f != 0 {
		d |= FMXFlags
	}
	if (mxA^mxB)&^0x3f != 0 {
		d |= FMXCtl
	}
	for i := 0; i < 16; i++ {
		if string(a[160+16*i:176+16*i]) != string(b[160+16*i:176+16*i]) {
			d |= FXMM0 << i
		}
	}
	return d
}
