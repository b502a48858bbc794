package emu

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/mm"
)

func movImm(reg byte, v uint32) []byte { return append([]byte{0xb8 + reg}, le32(v)...) }

const (
	eax, ecx, edx, ebx, esi, edi = 0, 1, 2, 3, 6, 7
)

// runTo runs code and returns the exit and the registers there.
func runTo(t *testing.T, code []byte) (*mm.MM, arch.Exit, arch.Regs) {
	t.Helper()
	as, cpu := newTask(t, code)
	exit, err := cpu.Run(&recorder{})
	require.NoError(t, err)
	regs, err := cpu.Regs()
	require.NoError(t, err)
	return as, exit, regs
}

// The emulated CPU has no AVX: VEX- and EVEX-encoded instructions are #UD
// (Unicorn runs the VEX forms of SSE instructions with the wrong
// operands), wherever they are in a block: the instructions before them
// run.
func TestVEXIsIllegal(t *testing.T) {
	vaddps := []byte{0xc5, 0xf8, 0x58, 0xc1} // vaddps xmm0, xmm0, xmm1
	cases := []struct {
		name string
		pre  []byte
		insn []byte
	}{
		{"vaddps xmm first in its block", nil, vaddps},
		{"vaddps xmm after others", cat(movImm(eax, 1), movImm(ebx, 2)), vaddps},
		{"vaddps ymm", movImm(eax, 1), []byte{0xc5, 0xfc, 0x58, 0xc1}},
		{"EVEX vaddps zmm", movImm(eax, 1), []byte{0x62, 0xf1, 0x7c, 0x48, 0x58, 0xc1}},
		{"XOP", movImm(eax, 1), []byte{0x8f, 0xe9, 0x78, 0xc2, 0xc1}}, // vprotb
		{"VEX with a 66 prefix", movImm(eax, 1), []byte{0x66, 0xc4, 0xe2, 0xe0, 0xf2, 0xc1}},
		{"andn with VEX.L set", movImm(eax, 1), []byte{0xc4, 0xe2, 0xe4, 0xf2, 0xc1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := cat(c.pre, c.insn, exit64)
			_, exit, regs := runTo(t, code)
			require.Equal(t, arch.ExitIllegal, exit.Reason, "%+v", exit)
			assert.Equal(t, uint64(codeAt+len(c.pre)), exit.RIP)
			assert.Equal(t, exit.RIP, regs.RIP)
			if len(c.pre) > 0 {
				assert.Equal(t, uint64(1), regs.RAX, "the instructions before it ran")
			}
		})
	}
}

// A function built with gcc -mavx -O2 from
//
//	void addv(float *out, const float *a, const float *b) {
//		_mm_storeu_ps(out, _mm_add_ps(_mm_loadu_ps(a), _mm_loadu_ps(b)));
//	}
//
// dies of SIGILL at its first instruction, as on a CPU without AVX,
// instead of storing a wrong sum.
func TestAVXFunctionGetsSIGILL(t *testing.T) {
	addv := []byte{
		0xc5, 0xf8, 0x10, 0x02, // vmovups xmm0, [rdx]
		0xc5, 0xf8, 0x58, 0x06, // vaddps xmm0, xmm0, [rsi]
		0xc5, 0xf8, 0x11, 0x07, // vmovups [rdi], xmm0
		0xc3, // ret
	}
	call := cat(movImm(esi, data), movImm(edx, data+16), movImm(edi, data+32),
		[]byte{0xe8, 7, 0, 0, 0}, exit64) // call addv (after exit64)
	code := cat(call, addv)
	as, exit, _ := runTo(t, code)
	require.Equal(t, arch.ExitIllegal, exit.Reason, "%+v", exit)
	assert.Equal(t, uint64(codeAt+len(call)), exit.RIP)
	assert.Equal(t, make([]byte, 16), readData(t, as, 32, 16), "nothing stored")
}

// BMI1 and BMI2 are VEX-encoded and the emulated CPU has them: they run.
func TestBMIRuns(t *testing.T) {
	code := cat(
		movImm(ebx, 0xf0f0), movImm(ecx, 0x0ff0),
		[]byte{0xc4, 0xe2, 0xe0, 0xf2, 0xc1},       // andn rax, rbx, rcx: ~rbx & rcx
		[]byte{0x48, 0x89, 0x04, 0x25}, le32(data), // mov [data], rax
		movImm(ecx, 4),
		[]byte{0xc4, 0xe2, 0xf1, 0xf7, 0xc3}, // shlx rax, rbx, rcx
		[]byte{0x48, 0x89, 0x04, 0x25}, le32(data+8),
		[]byte{0xc4, 0xe3, 0xfb, 0xf0, 0xc3, 0x08}, // rorx rax, rbx, 8
		[]byte{0x48, 0x89, 0x04, 0x25}, le32(data+16),
		[]byte{0xc4, 0xe2, 0xf8, 0xf3, 0xdb}, // blsi rax, rbx
		[]byte{0x48, 0x89, 0x04, 0x25}, le32(data+24),
		exit64)
	as, exit, _ := runTo(t, code)
	require.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
	got := readData(t, as, 0, 32)
	le := binary.LittleEndian
	assert.Equal(t, uint64(0x0f00), le.Uint64(got[0:]), "andn")
	assert.Equal(t, uint64(0xf0f00), le.Uint64(got[8:]), "shlx")
	assert.Equal(t, uint64(0xf0000000000000f0), le.Uint64(got[16:]), "rorx")
	assert.Equal(t, uint64(0x10), le.Uint64(got[24:]), "blsi")
}

// LOCK is #UD but on read-modify-write instructions with a memory
// destination.
func TestLockPrefix(t *testing.T) {
	mem := le32(data)
	cases := []struct {
		name  string
		insn  []byte
		legal bool
	}{
		{"lock mov [mem], eax", cat([]byte{0xf0, 0x89, 0x04, 0x25}, mem), false},
		{"lock add eax, ebx", []byte{0xf0, 0x01, 0xd8}, false},
		{"lock inc eax", []byte{0xf0, 0xff, 0xc0}, false},
		{"lock bt [mem], eax", cat([]byte{0xf0, 0x0f, 0xa3, 0x04, 0x25}, mem), false},
		{"lock cmp [mem], eax", cat([]byte{0xf0, 0x39, 0x04, 0x25}, mem), false},
		{"lock nop", []byte{0xf0, 0x90}, false},
		{"lock add [mem], eax", cat([]byte{0xf0, 0x01, 0x04, 0x25}, mem), true},
		{"lock bts [mem], eax", cat([]byte{0xf0, 0x0f, 0xab, 0x04, 0x25}, mem), true},
		{"lock xchg [mem], eax", cat([]byte{0xf0, 0x87, 0x04, 0x25}, mem), true},
		{"lock cmpxchg16b [mem]", cat([]byte{0xf0, 0x48, 0x0f, 0xc7, 0x0c, 0x25}, mem), true},
		{"lock neg dword [mem]", cat([]byte{0xf0, 0xf7, 0x1c, 0x25}, mem), true},
		{"lock dec dword [mem]", cat([]byte{0xf0, 0xff, 0x0c, 0x25}, mem), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pre := movImm(ebx, 7)
			_, exit, regs := runTo(t, cat(pre, c.insn, exit64))
			if c.legal {
				assert.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
				return
			}
			require.Equal(t, arch.ExitIllegal, exit.Reason, "%+v", exit)
			assert.Equal(t, uint64(codeAt+len(pre)), exit.RIP)
			assert.Equal(t, uint64(7), regs.RBX)
		})
	}
}

func TestVEXIsIllegalInI386Tasks(t *testing.T) {
	code := cat(movImm(eax, 1), []byte{0xc5, 0xf8, 0x58, 0xc1}, []byte{0xb8, 1, 0, 0, 0, 0xcd, 0x80})
	_, cpu := newTaskMode(t, arch.Mode32, code)
	exit, err := cpu.Run(&recorder32{})
	require.NoError(t, err)
	require.Equal(t, arch.ExitIllegal, exit.Reason, "%+v", exit)
	assert.Equal(t, uint64(codeAt+5), exit.RIP)
}

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

// Port I/O and INT n through a gate closed to user mode are #GP at CPL 3,
// at the instruction: the instructions before it ran, none after it.
// Unicorn runs port I/O whatever the privilege and delivers INT n after
// the instruction.
func TestPrivilegedAreGPAtTheInstruction(t *testing.T) {
	cases := []struct {
		name string
		insn []byte
	}{
		{"in al, 0x80", []byte{0xe4, 0x80}},
		{"out dx, al", []byte{0xee}},
		{"out dx, ax", []byte{0x66, 0xef}},
		{"insb", []byte{0x6c}},
		{"rep outsb with ecx 0", []byte{0xf3, 0x6e}},
		{"int 0x21", []byte{0xcd, 0x21}},
		{"hlt", []byte{0xf4}},
		{"cli", []byte{0xfa}},
		{"rdpmc", []byte{0x0f, 0x33}},
	}
	for _, mode := range []arch.Mode{arch.Mode64, arch.Mode32} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%d/%s", mode, c.name), func(t *testing.T) {
				pre := cat(movImm(eax, 1), movImm(ebx, 0), movImm(ecx, 0))
				code := cat(pre, c.insn, movImm(eax, 2), movImm(ebx, 3), []byte{0x0f, 0x0b})
				_, cpu := newTaskMode(t, mode, code)
				exit, err := cpu.Run(&recorder{})
				require.NoError(t, err)
				regs, err := cpu.Regs()
				require.NoError(t, err)
				require.Equal(t, arch.ExitInterrupt, exit.Reason, "%+v", exit)
				assert.Equal(t, uint32(arch.VectorGP), exit.Vector)
				assert.Equal(t, uint64(codeAt+len(pre)), exit.RIP)
				assert.Equal(t, uint64(1), regs.RAX&0xffffffff)
				assert.Equal(t, uint64(0), regs.RBX&0xffffffff)
			})
		}
	}
	// SYSRET in 64-bit mode (outside it, it depends on the vendor).
	_, exit, regs := runTo(t, cat(movImm(eax, 1), []byte{0x0f, 0x07}, movImm(eax, 2), exit64))
	assert.Equal(t, uint32(arch.VectorGP), exit.Vector, "sysret")
	assert.Equal(t, uint64(codeAt+5), regs.RIP, "sysret")
	// ICEBP traps after itself, read as INT3.
	_, exit, _ = runTo(t, cat([]byte{0xf1}, exit64))
	assert.Equal(t, uint32(arch.VectorBreakpoint), exit.Vector, "icebp")
	assert.Equal(t, uint64(codeAt+1), exit.RIP, "icebp")
	// INT 3 and INT 0x80 reach their handlers.
	_, exit, _ = runTo(t, cat([]byte{0xcd, 0x03}, exit64))
	assert.Equal(t, uint32(arch.VectorBreakpoint), exit.Vector)
}
