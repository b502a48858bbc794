package emu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
)

// FSW bits.
const (
	fswIE = 1 << 0
	fswDE = 1 << 1
	fswPE = 1 << 5
	fswC1 = 1 << 9
)

// runFSW runs code (which ends by exiting) and returns the x87 status
// word there.
func runFSW(t *testing.T, code []byte, exactFP bool) uint16 {
	t.Helper()
	_, cpu := newTask(t, code)
	cpu.uc.SetExactFP(exactFP)
	exit, err := cpu.Run(&recorder{})
	require.NoError(t, err)
	require.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
	fp, err := cpu.FP()
	require.NoError(t, err)
	return fp.FSW
}

// Unicorn's softfloat arithmetic raises the sticky flags the CPU raises;
// they appear in FSW. With exact x87 arithmetic the status word has C1
// (rounded up) and DE (denormal operand) too, which softfloat does not
// compute.
func TestX87ArithmeticStatus(t *testing.T) {
	fldl2e := []byte{0xd9, 0xea}
	fmulp := []byte{0xde, 0xc9}
	faddp := []byte{0xde, 0xc1}
	// fld tbyte [rip+11]: the denormal after the exit.
	fldDenormal := []byte{0xdb, 0x2d, 11, 0, 0, 0}
	denormal := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	cases := []struct {
		name    string
		code    []byte
		exactFP bool
		set     uint16 // bits that must be set
		clear   uint16 // bits that must be clear
	}{
		{"log2(e)*pi is inexact", cat(fldl2e, fldpi, fmulp, exit64), false, fswPE, fswIE},
		{"log2(e)*pi rounds up, exactly", cat(fldl2e, fldpi, fmulp, exit64), true, fswPE | fswC1, fswIE | fswDE},
		{"1+denormal, exactly", cat(fldDenormal, fld1, faddp, exit64, denormal), true, fswDE | fswPE, fswC1 | fswIE},
		{"1+1, exactly", cat(fld1, fld1, faddp, exit64), true, 0, fswPE | fswC1 | fswDE},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsw := runFSW(t, c.code, c.exactFP)
			assert.Equal(t, c.set, fsw&c.set, "FSW %#04x", fsw)
			assert.Zero(t, fsw&c.clear, "FSW %#04x", fsw)
		})
	}
}

// A legacy SSE instruction with a misaligned 16-byte memory operand is
// #GP; the unaligned forms run.
func TestSSEMisalignedOperand(t *testing.T) {
	absolute := func(op []byte, addr uint32) []byte { // op xmm0, [addr]
		return cat(op, []byte{0x04, 0x25}, le32(addr))
	}
	movaps := []byte{0x0f, 0x28}
	addps := []byte{0x0f, 0x58}
	movdqaStore := []byte{0x66, 0x0f, 0x7f}
	movups := []byte{0x0f, 0x10}
	addss := []byte{0xf3, 0x0f, 0x58}
	cases := []struct {
		name  string
		insn  []byte
		fault bool
	}{
		{"movaps aligned", absolute(movaps, 0x7000010), false},
		{"movaps +8", absolute(movaps, 0x7000018), true},
		{"movaps +1", absolute(movaps, 0x7000011), true},
		{"addps +4", absolute(addps, 0x7000014), true},
		{"movdqa store +8", absolute(movdqaStore, 0x7000018), true},
		{"movups +1", absolute(movups, 0x7000011), false},
		{"addss +4", absolute(addss, 0x7000014), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, exit, regs := runTo(t, cat(c.insn, exit64))
			if !c.fault {
				assert.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
				return
			}
			require.Equal(t, arch.ExitInterrupt, exit.Reason, "%+v", exit)
			assert.Equal(t, uint32(arch.VectorGP), exit.Vector)
			assert.Equal(t, uint64(codeAt), regs.RIP, "at the instruction")
		})
	}
}

// STMXCSR stores the exception flags the SSE arithmetic before it raised
// (the engine keeps them apart from MXCSR), in both modes.
func TestSTMXCSRSeesSSEFlags(t *testing.T) {
	divByZero := cat(
		[]byte{0x0f, 0x57, 0xc9}, // xorps xmm1, xmm1
		movImm(eax, 1),
		[]byte{0xf3, 0x0f, 0x2a, 0xc0}, // cvtsi2ss xmm0, eax
		[]byte{0xf3, 0x0f, 0x5e, 0xc1}, // divss xmm0, xmm1
		stmxcsr(data))
	for _, mode := range []arch.Mode{arch.Mode64, arch.Mode32} {
		code := cat(divByZero, exit64)
		var k arch.Kernel = &recorder{}
		if mode == arch.Mode32 {
			code = cat(divByZero, []byte{0xb8, 1, 0, 0, 0, 0xcd, 0x80})
			k = &recorder32{}
		}
		as, cpu := newTaskMode(t, mode, code)
		exit, err := cpu.Run(k)
		require.NoError(t, err)
		require.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
		got := readData(t, as, 0, 4)
		assert.Equal(t, []byte{0x84, 0x1f, 0, 0}, got, "mode %d: MXCSR 0x1f80 with ZE", mode)
	}
}
