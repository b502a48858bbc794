package emu

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/mm"
)

// x87 constants as 80-bit registers.
var (
	x87One = [10]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f}
	x87Pi  = [10]byte{0x35, 0xc2, 0x68, 0x21, 0xa2, 0xda, 0x0f, 0xc9, 0x00, 0x40}
)

const data = 0x7000000 // the test tasks' read-write page

// Instructions of the tests (absolute addresses in the data page).
func fstpTword(addr uint32) []byte { return append([]byte{0xdb, 0x3c, 0x25}, le32(addr)...) }
func fnstcw(addr uint32) []byte    { return append([]byte{0xd9, 0x3c, 0x25}, le32(addr)...) }
func fldcw(addr uint32) []byte     { return append([]byte{0xd9, 0x2c, 0x25}, le32(addr)...) }
func fnstsw(addr uint32) []byte    { return append([]byte{0xdd, 0x3c, 0x25}, le32(addr)...) }
func stmxcsr(addr uint32) []byte   { return append([]byte{0x0f, 0xae, 0x1c, 0x25}, le32(addr)...) }
func fxsave(addr uint32) []byte    { return append([]byte{0x0f, 0xae, 0x04, 0x25}, le32(addr)...) }

// movdqu [addr], xmm(n) for n < 8.
func movdquStore(n byte, addr uint32) []byte {
	return append([]byte{0xf3, 0x0f, 0x7f, 0x04 | n<<3, 0x25}, le32(addr)...)
}

var (
	fld1      = []byte{0xd9, 0xe8}
	fldpi     = []byte{0xd9, 0xeb}
	ud2       = []byte{0x0f, 0x0b}
	exit64    = []byte{0xb8, 60, 0, 0, 0, 0x0f, 0x05}
	cpuidInsn = []byte{0x0f, 0xa2}
)

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func readData(t *testing.T, as *mm.MM, off, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := as.CopyIn(mm.Addr(data+off), b)
	require.NoError(t, err)
	return b
}

func TestNewCPUHasLinuxInitialFPUState(t *testing.T) {
	code := cat(fnstcw(data), fnstsw(data+2), stmxcsr(data+4), fxsave(data+64), exit64)
	as, cpu := newTask(t, code)
	fp, err := cpu.FP()
	require.NoError(t, err)
	assert.Equal(t, arch.InitialFP(), fp)
	_, err = cpu.Run(&recorder{})
	require.NoError(t, err)
	le := binary.LittleEndian
	got := readData(t, as, 0, 8)
	assert.Equal(t, uint16(0x37f), le.Uint16(got[0:]), "FCW")
	assert.Equal(t, uint16(0), le.Uint16(got[2:]), "FSW")
	assert.Equal(t, uint32(0x1f80), le.Uint32(got[4:]), "MXCSR")
	fx := readData(t, as, 64, 512)
	assert.Equal(t, byte(0), fx[4], "FXSAVE's abridged tags: the x87 stack is empty")
	assert.Equal(t, uint32(arch.MXCSRMask), le.Uint32(fx[28:]), "MXCSR_MASK")
}

func TestFPStateReadsTheX87Stack(t *testing.T) {
	code := cat(fld1, fldpi, exit64)
	_, cpu := newTask(t, code)
	_, err := cpu.Run(&recorder{})
	require.NoError(t, err)
	fp, err := cpu.FP()
	require.NoError(t, err)
	assert.Equal(t, 6, fp.Top(), "two pushes")
	assert.Equal(t, uint8(0xc0), fp.FTW, "physical registers 6 and 7 in use")
	assert.Equal(t, x87Pi, fp.ST[0])
	assert.Equal(t, x87One, fp.ST[1])
	assert.Equal(t, uint16(0x0fff), fp.TagWord(), "two valid registers, six empty")
	assert.Equal(t, uint64(codeAt+2), fp.FIP, "FIP: the last x87 instruction")
}

func TestSetFPIsWhatTheGuestSees(t *testing.T) {
	code := cat(fnstcw(data), stmxcsr(data+4), fstpTword(data+16), fstpTword(data+32),
		movdquStore(3, data+48), fnstsw(data+2), exit64)
	as, cpu := newTask(t, code)
	fp := arch.InitialFP()
	fp.FCW = 0x27f
	fp.MXCSR = 0x9fc0 // FZ, DAZ
	fp.FSW = 5 << 11  // TOP = 5: ST(0) is physical 5
	fp.FTW = 1<<5 | 1<<6
	fp.ST[0], fp.ST[1] = x87Pi, x87One
	fp.XMM[3] = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	fp.FIP, fp.FDP, fp.FOP = 0x1234, 0x5678, 0x1ea
	require.NoError(t, cpu.SetFP(&fp))
	back, err := cpu.FP()
	require.NoError(t, err)
	assert.Equal(t, fp, back, "FP returns what SetFP loaded")

	_, err = cpu.Run(&recorder{})
	require.NoError(t, err)
	le := binary.LittleEndian
	assert.Equal(t, uint16(0x27f), le.Uint16(readData(t, as, 0, 2)))
	assert.Equal(t, uint32(0x9fc0), le.Uint32(readData(t, as, 4, 4)))
	assert.Equal(t, x87Pi[:], readData(t, as, 16, 10))
	assert.Equal(t, x87One[:], readData(t, as, 32, 10))
	assert.Equal(t, fp.XMM[3][:], readData(t, as, 48, 16))
	assert.Equal(t, uint16(7<<11), le.Uint16(readData(t, as, 2, 2)), "two pops from TOP 5")
}

func TestSetRegsLoadsTheFPStateItCarries(t *testing.T) {
	_, cpu := newTask(t, exit64)
	fp := arch.InitialFP()
	fp.FCW, fp.MXCSR = 0x7f, 0x1f80|0x6000
	regs, err := cpu.Regs()
	require.NoError(t, err)
	regs.FP = &fp
	require.NoError(t, cpu.SetRegs(&regs))
	back, err := cpu.FP()
	require.NoError(t, err)
	assert.Equal(t, fp, back)
}

func TestFaultResetKeepsTheX87State(t *testing.T) {
	// fldcw 0x27f; fld1; fldpi; ud2; then store both and the control word.
	code := cat(fldcw(data), fld1, fldpi, ud2, fstpTword(data+16), fstpTword(data+32), fnstcw(data+48), exit64)
	as, cpu := newTask(t, code)
	require.NoError(t, as.WriteForce(data, []byte{0x7f, 0x02}))
	exit, err := cpu.Run(&recorder{})
	require.NoError(t, err)
	require.Equal(t, arch.ExitIllegal, exit.Reason)
	regs, err := cpu.Regs()
	require.NoError(t, err)
	regs.RIP += 2
	require.NoError(t, cpu.SetRegs(&regs))
	exit, err = cpu.Run(&recorder{})
	require.NoError(t, err)
	require.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
	assert.Equal(t, x87Pi[:], readData(t, as, 16, 10))
	assert.Equal(t, x87One[:], readData(t, as, 32, 10))
	assert.Equal(t, []byte{0x7f, 0x02}, readData(t, as, 48, 2), "FCW kept")
}

// The CPUID the guests see agrees with what the kernel tells them
// (AT_HWCAP) and with the control registers (OSXSAVE, XCR0).
func TestCPUIDAgreesWithTheAuxvAndCR4(t *testing.T) {
	for _, mode := range []arch.Mode{arch.Mode64, arch.Mode32} {
		t.Run(mode.String(), func(t *testing.T) {
			code := cat(
				[]byte{0xb8, 1, 0, 0, 0}, cpuidInsn, // mov eax, 1; cpuid
				[]byte{0x89, 0x15}, le32(data), // mov [data], edx
				[]byte{0x89, 0x0d}, le32(data+4), // mov [data+4], ecx
				[]byte{0x31, 0xc9, 0x0f, 0x01, 0xd0}, // xor ecx, ecx; xgetbv
				[]byte{0xa3}, le32(data+8),           // mov [data+8], eax (moffs)
			)
			if mode == arch.Mode64 {
				// RIP-relative in 64-bit mode: use SIB absolute forms.
				code = cat(
					[]byte{0xb8, 1, 0, 0, 0}, cpuidInsn,
					[]byte{0x89, 0x14, 0x25}, le32(data),
					[]byte{0x89, 0x0c, 0x25}, le32(data+4),
					[]byte{0x31, 0xc9, 0x0f, 0x01, 0xd0},
					[]byte{0x89, 0x04, 0x25}, le32(data+8),
					exit64)
			} else {
				code = append(code, 0xb8, 1, 0, 0, 0, 0xcd, 0x80) // exit
			}
			as, cpu := newTaskMode(t, mode, code)
			var k arch.Kernel = &recorder{}
			if mode == arch.Mode32 {
				k = &recorder32{}
			}
			exit, err := cpu.Run(k)
			require.NoError(t, err)
			require.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
			le := binary.LittleEndian
			got := readData(t, as, 0, 12)
			assert.Equal(t, uint32(arch.HWCAP), le.Uint32(got[0:]), "CPUID.1:EDX is AT_HWCAP")
			ecx := le.Uint32(got[4:])
			assert.NotZero(t, ecx&(1<<26), "XSAVE")
			assert.NotZero(t, ecx&(1<<27), "OSXSAVE")
			assert.Zero(t, ecx&(1<<28), "no AVX")
			assert.Equal(t, uint32(arch.XCR0), le.Uint32(got[8:]), "XCR0")
		})
	}
}

// newTaskMode is newTask for either mode (the i386 task's code and data
// pages at the same addresses).
func newTaskMode(t *testing.T, mode arch.Mode, code []byte) (*mm.MM, *CPU) {
	t.Helper()
	if mode == arch.Mode64 {
		return newTask(t, code)
	}
	ram, err := mm.NewRAM(32 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	as, err := mm.New(ram, mm.Layout32)
	require.NoError(t, err)
	require.NoError(t, as.MapAnon(mm.AddrRange{Start: codeAt, End: codeAt + mm.PageSize}, mm.ProtRead|mm.ProtExec, ""))
	require.NoError(t, as.WriteForce(codeAt, code))
	require.NoError(t, as.MapAnon(mm.AddrRange{Start: data, End: data + mm.PageSize}, mm.ProtRead|mm.ProtWrite, ""))
	cpu, err := New(as, arch.Mode32)
	require.NoError(t, err)
	t.Cleanup(func() { cpu.Close() })
	require.NoError(t, cpu.SetRegs(&arch.Regs{RIP: codeAt, RSP: data + mm.PageSize}))
	return as, cpu
}
