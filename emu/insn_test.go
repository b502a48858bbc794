package emu

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
)

func movImm(reg byte, v uint32) []byte { return append([]byte{0xb8 + reg}, le32(v)...) }

const (
	eax, ecx, edx, ebx, esi, edi = 0, 1, 2, 3, 6, 7
)

// pcmpestri xmm1, xmm2/mem, imm with lengths in EAX and EDX (RAX and RDX
// with REX.W): the CPU takes the absolute value saturated to 16 bytes
// (8 words). Unicorn's helper turns -2^31 into a negative length and
// crashed the emulator; a 64-bit 2^32 gave 0.
func TestPcmpestriLengths(t *testing.T) {
	pcmpestri := func(w bool, imm byte) []byte {
		if w {
			return []byte{0x66, 0x48, 0x0f, 0x3a, 0x61, 0xca, imm}
		}
		return []byte{0x66, 0x0f, 0x3a, 0x61, 0xca, imm}
	}
	movRAX := func(v uint64) []byte { return append([]byte{0x48, 0xb8}, binary.LittleEndian.AppendUint64(nil, v)...) }
	movRDX := func(v uint64) []byte { return append([]byte{0x48, 0xba}, binary.LittleEndian.AppendUint64(nil, v)...) }
	// movdqu xmm1, [data]; movdqu xmm2, [data+16]
	load := cat([]byte{0xf3, 0x0f, 0x6f, 0x0c, 0x25}, le32(data), []byte{0xf3, 0x0f, 0x6f, 0x14, 0x25}, le32(data+16))
	store := func(reg byte, off uint32) []byte { // mov [data+off], r64
		return cat([]byte{0x48, 0x89, 0x04 | reg<<3, 0x25}, le32(data+off))
	}
	save := cat([]byte{0x9c}, store(ecx, 0x40), store(eax, 0x48), store(edx, 0x50), // pushfq
		[]byte{0x58}, store(eax, 0x58)) // pop rax
	run := func(t *testing.T, w bool, imm byte, rax, rdx uint64) (ecx, rflags, raxAfter, rdxAfter uint64) {
		t.Helper()
		code := cat(load, movRAX(rax), movRDX(rdx), pcmpestri(w, imm), save, exit64)
		as, cpu := newTask(t, code)
		require.NoError(t, as.WriteForce(data, []byte("abcdefghijklmnopxxxxxabcdefxxxxx")))
		exit, err := cpu.Run(&recorder{})
		require.NoError(t, err)
		require.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
		out := readData(t, as, 0x40, 32)
		le := binary.LittleEndian
		return le.Uint64(out[0:]), le.Uint64(out[24:]) & 0x8d5, le.Uint64(out[8:]), le.Uint64(out[16:])
	}
	for _, c := range []struct {
		w        bool
		rax, rdx uint64
		eq       uint64 // the length the CPU uses for rax
	}{
		{false, 0x80000000, 16, 16},
		{false, 0xffffffff80000000, 16, 16},
		{false, 0xfffffffb, 16, 5}, // -5
		{false, 0x100000005, 16, 5},
		{true, 0x80000000, 16, 16},
		{true, 0x100000000, 16, 16},
		{true, 0x8000000000000000, 16, 16},
		{true, 0xfffffffffffffffb, 16, 5},
		{false, 16, 0x80000000, 16},
	} {
		for _, imm := range []byte{0x00, 0x0c, 0x01} {
			ecx, fl, rax, rdx := run(t, c.w, imm, c.rax, c.rdx)
			rdxLen := c.rdx
			if c.rdx == 0x80000000 {
				rdxLen = 16
			}
			wantECX, wantFl, _, _ := run(t, c.w, imm, c.eq, rdxLen)
			if imm&1 != 0 && c.eq == 16 {
				wantECX, wantFl, _, _ = run(t, c.w, imm, 8, min(rdxLen, 8))
			}
			assert.Equal(t, wantECX, ecx, "rax %#x rdx %#x imm %#x w %v: ECX", c.rax, c.rdx, imm, c.w)
			assert.Equal(t, wantFl, fl, "rax %#x rdx %#x imm %#x w %v: flags", c.rax, c.rdx, imm, c.w)
			assert.Equal(t, c.rax, rax, "RAX is not written")
			assert.Equal(t, c.rdx, rdx, "RDX is not written")
		}
	}
}

// Reserved MXCSR bits are #GP for LDMXCSR, FXRSTOR and XRSTOR.
func TestReservedMXCSRBits(t *testing.T) {
	const image = data + 0x200 // an FXSAVE/XSAVE image, 64-byte aligned
	cases := []struct {
		name      string
		pre, insn []byte
	}{
		{"ldmxcsr", nil, cat([]byte{0x0f, 0xae, 0x14, 0x25}, le32(data))},
		{"fxrstor", nil, cat([]byte{0x0f, 0xae, 0x0c, 0x25}, le32(image))},
		{"fxrstor64", nil, cat([]byte{0x48, 0x0f, 0xae, 0x0c, 0x25}, le32(image))},
		{"xrstor", cat(movImm(eax, 3), movImm(edx, 0)), cat([]byte{0x0f, 0xae, 0x2c, 0x25}, le32(image))},
	}
	for _, c := range cases {
		for _, bad := range []bool{false, true} {
			name := c.name + " good"
			if bad {
				name = c.name + " reserved bit"
			}
			t.Run(name, func(t *testing.T) {
				code := cat(c.pre, c.insn, stmxcsr(data+0x100), exit64)
				as, cpu := newTask(t, code)
				mx := uint32(0x1f80 | 0x6000)
				if bad {
					mx |= 1 << 16
				}
				fp := arch.InitialFP()
				fp.MXCSR = mx
				img := make([]byte, 576)
				fp.PutFXSAVE(img)
				img[512] = 3 // XSTATE_BV: x87 and SSE
				require.NoError(t, as.WriteForce(image, img))
				require.NoError(t, as.WriteForce(data, le32(mx)))
				exit, err := cpu.Run(&recorder{})
				require.NoError(t, err)
				if bad {
					require.Equal(t, arch.ExitInterrupt, exit.Reason, "%+v", exit)
					assert.Equal(t, uint32(arch.VectorGP), exit.Vector)
					assert.Equal(t, uint64(codeAt+len(c.pre)), exit.RIP, "at the instruction")
					fp, err := cpu.FP()
					require.NoError(t, err)
					assert.Equal(t, uint32(arch.InitialMXCSR), fp.MXCSR, "MXCSR unchanged")
					return
				}
				require.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
				assert.Equal(t, le32(mx), readData(t, as, 0x100, 4))
			})
		}
	}
}
